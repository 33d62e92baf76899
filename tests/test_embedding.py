"""The embedder: batch encoding, the content-hash cache, the int8 ONNX backend, and model paths."""

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
        embedding._backend.cache_clear()

    yield use
    embedding._model.cache_clear()
    embedding._backend.cache_clear()


def test_default_backend_is_int8_and_close_to_fp32(db):
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
