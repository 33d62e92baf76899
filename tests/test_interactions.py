"""One service records every signal; bad events are reported by field and good ones kept."""

from generation.models import Video
from profiles.models import Interaction
from profiles.services import interactions_ingest


def test_batch_keeps_good_events_and_names_bad_fields(make_user, catalog):
    user = make_user()
    video = catalog["cooking"][0]
    result = interactions_ingest(
        user=user,
        events=[
            {"video": video.pk, "kind": "like", "client_event_id": "e1"},
            {"video": video.pk, "kind": "love"},
            {"video": video.pk, "kind": "view", "watch_fraction": 1.7},
            {"video": 999999, "kind": "like"},
            {"video": video.pk, "kind": "like", "client_event_id": "e1"},
            {"video": video.pk, "kind": "view", "watch_fraction": 0.8, "value": 12.5},
            {"video": video.pk, "kind": "like", "owner": 3},
        ],
    )
    assert result.created == 2 and result.duplicates == 1
    errors = {e["index"]: e["errors"] for e in result.errors}
    assert set(errors) == {1, 2, 3, 6}
    assert "kind" in errors[1] and "watch_fraction" in errors[2] and "video" in errors[3] and "owner" in errors[6]
    assert Interaction.objects.filter(user=user).count() == 2
    video.refresh_from_db()
    assert video.likes == 1 and video.views == 1  # one viewer counts once, however many events


def test_web_endpoint_records_and_rejects(client, make_user, catalog):
    user = make_user()
    client.force_login(user)
    video = catalog["scifi"][0]
    ok = client.post("/interactions", {"video": video.pk, "kind": "like", "client_event_id": "x"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["created"] == 1
    bad = client.post("/interactions", {"video": video.pk, "kind": "nope"}, content_type="application/json")
    assert bad.status_code == 400 and "kind" in bad.json()["errors"][0]["errors"]
    assert Video.objects.get(pk=video.pk).likes == 1
