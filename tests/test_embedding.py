"""The embedder: batch encoding, the content-hash cache, the int8 ONNX backend, and model paths."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from profiles import embedding
from profiles.models import EmbeddingCache

TEXTS = [
    "Garlic bread in 20 minutes: a home cook bakes crusty bread",
    "The last signal from Europa station, a science fiction short",
    "Late-night jazz: a saxophone ballad in a smoky club",
    "Growing tomatoes on a balcony",
]


@pytest.fixture
def fresh_embedder(settings):
    def use(**overrides):
        for key, value in overrides.items():
            setattr(settings, key, value)
        embedding._model.cache_clear()
        embedding._backend_build.cache_clear()

    yield use
    embedding._model.cache_clear()
    embedding._backend_build.cache_clear()


def test_default_backend_is_int8_and_close_to_fp32(db, fresh_embedder):
    fresh_embedder(EMBEDDER_BACKEND="auto", EMBEDDER_PERTURB=0.0)  # whatever the suite runs under
    assert embedding.backend_name() == "onnx-int8"
    fast = embedding._encode(TEXTS)
    exact = embedding.encode_torch(TEXTS)
    assert fast.shape == exact.shape == (4, 384)
    cosines = (fast * exact).sum(axis=1)
    assert cosines.min() > 0.97, cosines
    # Quantisation must not reorder what is near what.
    assert ((fast @ fast.T).argsort(axis=1)[:, -2] == (exact @ exact.T).argsort(axis=1)[:, -2]).all()


def test_same_text_is_embedded_once(db):
    first = embedding.embed_texts(TEXTS + TEXTS[:1])
    assert EmbeddingCache.objects.count() == 4
    assert np.allclose(first[0], first[4])
    again = embedding.embed_texts(TEXTS)
    assert EmbeddingCache.objects.count() == 4
    assert np.array_equal(first[:4], again)
    assert np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)


def test_any_model_path_works_through_the_setting(db, fresh_embedder, tmp_path):
    link = tmp_path / "my-model"
    link.symlink_to(embedding.model_name())
    fresh_embedder(EMBEDDER_MODEL=str(link), EMBEDDER_BACKEND="torch")
    assert embedding.model_name() == str(link)
    assert embedding.backend_name() == "torch"
    vectors = embedding.embed_texts(TEXTS[:2])
    assert vectors.shape == (2, 384)
    # The cache key includes the model and backend: nothing is reused across them.
    assert EmbeddingCache.objects.count() == 2


def test_perturbation_moves_each_vector_to_the_asked_cosine_the_same_way_every_time():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"text {n}" for n in range(200)]
    moved = embedding.perturb(texts, vectors, 0.98)
    cosines = (moved * vectors).sum(axis=1)
    assert abs(cosines.mean() - 0.98) < 0.003 and cosines.min() > 0.97
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(moved, embedding.perturb(texts, vectors, 0.98))  # seeded by the text


_EXPORT = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from pathlib import Path
from profiles import embedding
embedding.onnx_export(embedding._model(), Path(sys.argv[1]))
"""


def test_the_onnx_export_runs_once_and_quietly_across_threads_and_processes(tmp_path):
    """Two threads and a second process ask for the export of a fresh directory at once (a CPU
    worker's threads at start-up; torch.onnx.export is not re-entrant): one export, no errors,
    and no library warnings on the other process's stderr."""
    target = tmp_path / "onnx"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TAILOR_DATA_DIR": str(tmp_path / "data")}
    other = subprocess.Popen([sys.executable, "-c", _EXPORT, str(target)], cwd=Path(__file__).resolve().parent.parent,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    model, errors, paths = embedding._model(), [], []

    def export():
        try:
            paths.append(embedding.onnx_export(model, target))
        except Exception as exc:  # collected: an assertion in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=export) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, stderr = other.communicate(timeout=300)
    assert other.returncode == 0 and not errors, (stderr, errors)
    assert paths == [target / "model-int8.onnx"] * 2 and paths[0].stat().st_size > 1_000_000
    assert sorted(p.name for p in target.iterdir()) == ["model-int8.onnx"]  # no part-files left
    noise = [line for line in stderr.splitlines() if "Warning" in line or "pre-processing" in line or "http" in line]
    assert not noise, noise
