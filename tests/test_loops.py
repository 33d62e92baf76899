"""Storyboard loops for the media-less demo catalogue: moving pictures, idempotent, served publicly."""

import io

import pytest

from core import storage
from generation.encoding import mp4_probe
from generation.loops import loop_render, loops_pending, loops_queue

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_catalogue_video_without_media_gets_a_loop_once(catalog, client):
    video = catalog["gardening"][0]
    assert video.pk in loops_pending()
    assert loop_render(video_id=video.pk) is True
    video.refresh_from_db()
    assert video.video_key.startswith("loops/") and video.thumbnail_key.endswith(".jpg")
    streams = mp4_probe(io.BytesIO(storage.media_read(video.video_key)))["streams"]
    assert (streams["video"]["width"], streams["video"]["height"]) == (540, 960) and streams["audio"]["codec"] == "aac"
    assert 3.0 <= video.duration_s <= 6.0
    assert video.pk not in loops_pending()
    key = video.video_key
    assert loop_render(video_id=video.pk) is False  # idempotent: media it has is kept
    video.refresh_from_db()
    assert video.video_key == key
    if not storage.backend_name().startswith("s3"):  # a public video's loop is anyone's to watch
        assert client.get(f"/media/{key}").status_code == 200
        assert client.get(f"/media/loops/{video.pk}-0000000000000000.mp4").status_code == 404


def test_loops_can_be_turned_off(settings, catalog):
    settings.DEMO_LOOPS = False
    assert loops_queue() == 0
