"""One end-to-end flow, run as its own process against whatever the environment configures.

migrate -> catalogue -> embed job through the configured broker -> onboarding ->
feed -> like -> feed. Prints one JSON line that the test compares across backends.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.jobs import embedded_worker_start  # noqa: E402
from feed.services import feed_page_serve  # noqa: E402
from generation import tasks  # noqa: E402
from generation.models import Video  # noqa: E402
from generation.services import video_upsert  # noqa: E402
from profiles.services import interaction_record, onboarding_apply  # noqa: E402
from tests.conftest import CATALOG  # noqa: E402

call_command("migrate", verbosity=0)
ids = []
for genre, texts in CATALOG.items():
    for n, text in enumerate(texts):
        title, _, desc = text.partition(": ")
        video, _ = video_upsert(external_id=f"{genre}-{n}", title=title, description=desc, tags=[genre])
        ids.append(video.pk)
embedded_worker_start()  # only starts threads on the in-process broker; a real broker has its worker fleet
tasks.embed_videos.send(ids)
deadline = time.monotonic() + 180
while Video.objects.filter(embedded_at__isnull=True).exists():
    if time.monotonic() > deadline:
        sys.exit("embed job did not finish within 180s")
    time.sleep(0.2)

genre_of = {v.pk: v.external_id.rsplit("-", 1)[0] for v in Video.objects.all()}
user = get_user_model().objects.create_user("flow", password="flow-pass-123!")
onboarding_apply(user=user, topics=["gardening"])
first = feed_page_serve(user=user, size=4)
for video in Video.objects.filter(external_id__in=["scifi-0", "scifi-1"]):
    interaction_record(user=user, video=video, kind="like")
second = feed_page_serve(user=user, cursor=first.next_cursor, size=4)
print(json.dumps({
    "database": connection.vendor,
    "broker": settings.BROKER_KIND,
    "first": [genre_of[i.video.pk] for i in first.items],
    "second": [genre_of[i.video.pk] for i in second.items],
}))
