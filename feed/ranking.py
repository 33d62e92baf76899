"""Ranking: features per candidate, a weighted score, then MMR diversification.

The weights are explicit so an offline fit can replace them. Negative feedback
carries the largest weights, as in the published rankers (YouTube, X): an item
close to something the viewer disliked or hid sinks far below a neutral one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WEIGHTS: dict[str, float] = {
    # Defaults follow the literature and were checked with `fit_ranker` on simulated logs:
    # where a viewer has co-engagement evidence it outranks content similarity (item-kNN is
    # the strong baseline on real logs); content relevance carries cold starts and new items.
    "relevance": 0.5,  # best interest cosine, scaled by that interest's importance
    "collab": 1.5,  # item-item co-engagement votes from recent likes, scaled to [0, 1] per request
    "popularity": 0.1,
    "freshness": 0.05,
    "negative": -1.2,  # cosine to the nearest disliked/hidden/skipped item, above NEGATIVE_FLOOR
    "agreement": 0.1,  # per extra source that proposed the item
    "made_for_you": 0.35,
}
NEGATIVE_FLOOR = 0.35
_active: list[dict[str, float]] = []  # overrides: fitted weights, or a trial during a fit
FRESH_HALF_LIFE_DAYS = 14.0
MMR_LAMBDA = 0.75


@dataclass
class Scored:
    video_id: int
    score: float
    source: str
    reason: str
    features: dict[str, float]


def features_for(
    *,
    item_vectors: np.ndarray,
    interest_vectors: np.ndarray,
    interest_weights: np.ndarray,
    negative_vectors: np.ndarray,
    popularity: np.ndarray,
    age_days: np.ndarray,
    source_counts: np.ndarray,
    made_for_you: np.ndarray,
    collab: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    n = len(item_vectors)
    if len(interest_vectors):
        importance = (interest_weights / interest_weights.max()) ** 0.3
        relevance = (item_vectors @ interest_vectors.T * importance).max(axis=1)
    else:
        relevance = np.zeros(n, np.float32)
    if len(negative_vectors):
        negative = np.clip((item_vectors @ negative_vectors.T).max(axis=1) - NEGATIVE_FLOOR, 0, None)
    else:
        negative = np.zeros(n, np.float32)
    pop = np.log1p(np.clip(popularity, 0, None))
    pop = pop / pop.max() if len(pop) and pop.max() > 0 else pop
    if collab is None or not len(collab) or collab.max() <= 0:
        collab = np.zeros(n, np.float32)
    else:
        collab = collab / collab.max()
    return {
        "collab": collab,
        "relevance": relevance,
        "popularity": pop,
        "freshness": np.power(0.5, age_days / FRESH_HALF_LIFE_DAYS),
        "negative": negative,
        "agreement": np.clip(source_counts - 1, 0, None),
        "made_for_you": made_for_you,
    }


class weights_override:
    """Rank with these weights inside the block (None: no change)."""

    def __init__(self, weights: dict[str, float] | None):
        self.weights = weights

    def __enter__(self):
        if self.weights is not None:
            _active.append(self.weights)

    def __exit__(self, *exc):
        if self.weights is not None:
            _active.pop()


def current_weights() -> dict[str, float]:
    """The weights in force: an override, else fitted weights saved by `fit_ranker`, else the defaults."""
    if _active:
        return _active[-1]
    return fitted_weights() or WEIGHTS


def fitted_weights() -> dict[str, float] | None:
    import json

    from django.conf import settings

    path = settings.DATA_DIR / "ranker_weights.json"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _fitted_cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    weights = {k: float(v) for k, v in json.loads(path.read_text())["weights"].items() if k in WEIGHTS}
    _fitted_cache[str(path)] = (mtime, {**WEIGHTS, **weights})
    return _fitted_cache[str(path)][1]


_fitted_cache: dict[str, tuple[float, dict[str, float]]] = {}


def score(features: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> np.ndarray:
    weights = weights or current_weights()
    total = None
    for name, value in features.items():
        part = weights.get(name, 0.0) * value
        total = part if total is None else total + part
    return total


def mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lam: float = MMR_LAMBDA) -> list[int]:
    """Maximal marginal relevance: positions of k items, each trading score against similarity to those chosen."""
    n = len(scores)
    if n == 0:
        return []
    spread = scores.max() - scores.min()
    rel = (scores - scores.min()) / spread if spread > 0 else np.ones(n)
    chosen: list[int] = []
    max_sim = np.full(n, -math.inf)
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        value = lam * rel - (1 - lam) * penalty
        value[~available] = -math.inf
        pick = int(np.argmax(value))
        chosen.append(pick)
        available[pick] = False
        max_sim = np.maximum(max_sim, vectors @ vectors[pick])
    return chosen
