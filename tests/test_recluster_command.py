from django.core.management import call_command
from django.core.management.base import CommandError
import pytest

from profiles.models import Interest
from profiles.services import interaction_record


def test_recluster_command_reports_progress(make_user, catalog, capsys):
    user = make_user(username="clustered-viewer")
    for video in catalog["cooking"][:3]:
        interaction_record(user=user, video=video, kind="like")
    call_command("recluster_interests", "--all")
    out = capsys.readouterr().out
    assert "reclustered 1/1 viewers" in out
    assert list(Interest.objects.filter(user=user).values_list("origin", flat=True)) == ["clustered"]
    with pytest.raises(CommandError, match="no such user: ghost"):
        call_command("recluster_interests", "--user", "ghost")
