"""The FAISS item index: a cache of the database that catches up, rebuilds and saves atomically."""

import numpy as np

from generation.models import Video
from generation.services import video_upsert, videos_embed
from profiles import indexes
from profiles.vector_index import VectorIndex


def test_incremental_index_equals_rebuilt(catalog, settings, tmp_path):
    synced = indexes.items()
    live = synced.ready()
    new, _ = video_upsert(external_id="new-1", title="Jazz trio at midnight", description="saxophone solo")
    videos_embed(video_ids=[new.pk])
    Video.objects.filter(pk=catalog["cars"][0].pk).delete()
    changed = catalog["cooking"][0]
    Video.objects.filter(pk=changed.pk).update(title="Completely different: a space opera")
    videos_embed(video_ids=[changed.pk])
    synced.ready(force=True)

    settings.INDEX_DIR = tmp_path / "rebuilt"
    indexes.reset()
    rebuilt_synced = indexes.items()
    rebuilt_synced.rebuild()
    rebuilt = rebuilt_synced.index
    assert sorted(live.ids()) == sorted(rebuilt.ids())
    query = np.random.default_rng(0).standard_normal((5, live.dim)).astype(np.float32)
    s1, i1 = live.search(query, 10)
    s2, i2 = rebuilt.search(query, 10)
    assert (i1 == i2).all() and np.allclose(s1, s2, atol=1e-5)


def test_missing_index_rebuilds_from_database(catalog, settings):
    index = indexes.items().ready()
    assert index.path.exists()
    index.path.unlink()
    indexes.reset()
    again = indexes.items().ready()
    assert len(again) == sum(len(v) for v in catalog.values())


def test_torn_save_leaves_previous_index_loadable(tmp_path):
    index = VectorIndex("t", 4, tmp_path)
    index.upsert(np.array([1, 2]), np.eye(4, dtype=np.float32)[:2])
    index.save()
    # A crash after writing half a temporary file leaves a stray .tmp but the old pair intact.
    (tmp_path / ".t.faiss.999.tmp").write_bytes(b"\0" * 10)
    index.upsert(np.array([3]), np.eye(4, dtype=np.float32)[2:3])  # not saved
    fresh = VectorIndex("t", 4, tmp_path)
    assert fresh.load() and sorted(fresh.ids()) == [1, 2]
    # A data file that does not match its metadata is refused (and so rebuilt), never trusted.
    index.path.write_bytes(index.path.read_bytes()[:-8])
    assert not VectorIndex("t", 4, tmp_path).load()


def test_upsert_replaces_rather_than_duplicates(tmp_path):
    index = VectorIndex("u", 4, tmp_path)
    eye = np.eye(4, dtype=np.float32)
    index.upsert(np.array([7]), eye[:1])
    index.upsert(np.array([7]), eye[1:2])
    assert len(index) == 1
    scores, ids = index.search(eye[1:2], 1)
    assert ids[0][0] == 7 and scores[0][0] > 0.99
