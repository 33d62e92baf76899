"""Human-readable names for interest vectors: the nearest vocabulary topic."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from profiles.topics import TOPICS, topic_text


@lru_cache(maxsize=4)
def _topic_matrix(model: str) -> tuple[list[str], np.ndarray]:
    from profiles.embedding import embed_texts

    slugs = list(TOPICS)
    return slugs, embed_texts([topic_text(s) for s in slugs])


def interest_label(vector: np.ndarray) -> str:
    from profiles.embedding import model_name

    slugs, matrix = _topic_matrix(model_name())
    return TOPICS[slugs[int(np.argmax(matrix @ vector))]][0]
