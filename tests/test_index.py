"""The FAISS item index: a cache of the database that catches up, rebuilds and saves atomically."""

import numpy as np
import pytest

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
    (tmp_path / ".t.1.999.faiss.tmp").write_bytes(b"\0" * 10)
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


def test_kill_during_save_leaves_a_loadable_index(tmp_path):
    """kill -9 a process while it saves, many times at random moments: the index always loads."""
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = Path(__file__).parent / "flows" / "index_saver.py"
    rng = random.Random(0)
    mid_save = 0
    for trial in range(6):
        directory = tmp_path / f"trial{trial}"
        proc = subprocess.Popen([sys.executable, str(script), str(directory), "200000", "64"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "1"  # one complete save exists
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mid_save += any(p.name.endswith(".tmp") for p in directory.iterdir())
        index = VectorIndex("crash", 64, directory)
        assert index.load(), f"trial {trial}: no loadable index after kill -9"
        generation = index.watermark.count
        assert generation >= 1 and len(index) == 200000 + generation
        assert int(index.ids().max()) == 200000 + generation
    assert mid_save >= 1, "no kill landed during a save; the test proved nothing"


def test_large_collections_use_ivf_with_the_same_contract(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((20, 32)).astype(np.float32)
    vectors = centers[rng.integers(0, 20, 3000)] + 0.3 * rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    from profiles.vector_index import Watermark

    index = VectorIndex("big", 32, tmp_path, exact_max=1000, nprobe=16)
    index.replace_all(np.arange(3000), vectors, Watermark(3000, 0.0))
    assert index.kind == "ivf-flat"
    index.remove([0, 1, 2])
    index.upsert(np.array([5000]), vectors[:1])
    assert len(index) == 2998 and 0 not in set(index.ids()) and 5000 in set(index.ids())
    assert np.allclose(index.vectors([5000])[0], vectors[0], atol=1e-6)
    _, ids = index.search(vectors[:1], 1)
    assert ids[0][0] == 5000  # the removed twin (id 0) is gone
    index.save()
    loaded = VectorIndex("big", 32, tmp_path, exact_max=1000, nprobe=16)
    assert loaded.load() and loaded.kind == "ivf-flat" and loaded._index.nprobe == 16
    exact = vectors[3:] @ vectors[10]
    truth = set(np.argsort(-exact)[:20] + 3)
    _, found = loaded.search(vectors[10:11], 20)
    assert len(truth & set(found[0])) >= 18  # recall@20 >= 0.9 on clustered data


@pytest.mark.parametrize("exact_max", [100_000, 500])
def test_search_can_exclude_ids_inside_faiss(tmp_path, exact_max):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    from profiles.vector_index import Watermark

    index = VectorIndex("x", 16, tmp_path, exact_max=exact_max, nprobe=64)
    index.replace_all(np.arange(2000), vectors, Watermark(2000, 0.0))
    _, plain = index.search(vectors[:1], 10)
    banned = set(plain[0][:5].tolist())
    _, filtered = index.search(vectors[:1], 10, exclude=banned)
    assert not banned & set(filtered[0].tolist())
    assert list(filtered[0][:5]) == list(plain[0][5:10])  # the next best fill the page


def test_present_tells_which_ids_the_index_holds(tmp_path):
    rng = np.random.default_rng(1)
    index = VectorIndex("present", 8, tmp_path)
    index.upsert(np.array([5, 9, 2]), rng.standard_normal((3, 8)).astype(np.float32))
    assert index.present([2, 3, 9, 100]).tolist() == [True, False, True, False]
    index.remove([9])
    assert index.present([9, 5]).tolist() == [False, True]
