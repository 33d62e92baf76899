"""RenderJob.media_token: random object names for renders (they were the job's key, a digest of
prompt, seed and parameters). Jobs that exist keep their key as their token, so the objects
they already wrote keep their names and every Video.video_key stays valid."""

from django.db import migrations, models
from django.db.models import F

import generation.models


def tokens_backfill(apps, schema_editor):
    RenderJob = apps.get_model("generation", "RenderJob")
    RenderJob.objects.filter(media_token__isnull=True).update(media_token=F("key"))


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0005_fleet"),
    ]

    operations = [
        migrations.AddField(
            model_name="renderjob",
            name="media_token",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(tokens_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="renderjob",
            name="media_token",
            field=models.CharField(default=generation.models.media_token_new, editable=False, max_length=64, unique=True),
        ),
    ]
