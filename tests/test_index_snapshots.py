"""Index snapshots in media storage: a new replica starts from the newest one instead of
rebuilding, catches up from the database, and swaps in a newer one without failing a search."""

import threading
import time

import numpy as np
import pytest

from core import storage
from generation.services import video_upsert, videos_embed
from profiles import indexes
from profiles.snapshots import snapshot_pointer, snapshot_publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _snapshot_dir(settings, tmp_path):
    settings.INDEX_SNAPSHOT_DIR = tmp_path / "index-snapshots"  # local disk: outside MEDIA_ROOT


def test_a_new_replica_starts_from_the_snapshot_and_catches_up(settings, catalog, tmp_path, caplog):
    settings.INDEX_SNAPSHOTS = True
    pointer = snapshot_publish(name="items")
    assert pointer["ntotal"] == 24 and snapshot_pointer("items")["version"] == pointer["version"]
    assert pointer["key"] in storage.media_keys("index-snapshots/items/", area="private")
    assert not storage.media_keys("index-snapshots/") or settings.USE_S3  # nothing of it under MEDIA_ROOT

    # A video lands after the snapshot; then a replica with an empty index directory starts.
    video, _ = video_upsert(external_id="late", title="A late arrival", description="published after the snapshot")
    videos_embed(video_ids=[video.pk])
    settings.INDEX_DIR = tmp_path / "replica-index"
    indexes.reset()
    caplog.clear()
    with caplog.at_level("INFO", logger="tailor.index"):
        index = indexes.items().ready()
    messages = [r.getMessage() for r in caplog.records]
    assert any("snapshot loaded" in m for m in messages), messages
    assert not any("rebuilt" in m for m in messages), messages  # it did not rebuild from the database
    assert len(index) == 25 and video.pk in set(index.ids().tolist())


def test_a_newer_snapshot_is_swapped_in_while_searches_go_on(settings, catalog, tmp_path):
    settings.INDEX_SNAPSHOTS, settings.INDEX_SNAPSHOT_CHECK_S = True, 1.0
    snapshot_publish(name="items")
    settings.INDEX_DIR = tmp_path / "replica-index"
    indexes.reset()
    replica = indexes.items()
    index = replica.ready()
    query = index.vectors([catalog["cooking"][0].pk])
    errors, searches, stop = [], [0], threading.Event()

    def search_loop():
        while not stop.is_set():
            try:
                scores, ids = index.search(query, 5)
                assert ids[0][0] >= 0
                searches[0] += 1
            except Exception as exc:  # noqa: BLE001 - any failure during the swap is the finding
                errors.append(exc)

    reader = threading.Thread(target=search_loop)
    reader.start()
    try:
        # The writer publishes a newer snapshot (after a new video); the replica takes it on its next check.
        video, _ = video_upsert(external_id="newer", title="Newer still", description="another one")
        videos_embed(video_ids=[video.pk])
        from profiles.snapshots import snapshot_load

        newer = snapshot_publish(name="items")
        time.sleep(1.1)
        replica._checked_at = 0.0
        replica.ready()
        assert replica._snapshots.seen == newer["version"]
        assert video.pk in set(index.ids().tolist())
        assert not snapshot_load(index, name="items")  # nothing newer now
    finally:
        stop.set()
        reader.join()
    assert not errors and searches[0] > 0
    np.testing.assert_equal(len(index), 25)
