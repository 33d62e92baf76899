"""Ranking: features per candidate, a weighted score, then MMR diversification.

The weights are explicit so an offline fit can replace them. Negative feedback
carries the largest weights, as in the published rankers (YouTube, X): an item
close to something the viewer disliked or hid sinks far below a neutral one.
"""

from __future__ import annotations

import math

import numpy as np

WEIGHTS: dict[str, float] = {
    # Defaults follow the measurement on public interaction data in issue #19: the best system
    # there was EASE and the sequence source (what viewers meet next to the last few items),
    # each scaled per viewer, blended with equal weight; item-kNN and content add a little.
    # Content relevance also carries newcomers, small catalogues and new items, and makes a
    # like show on the next page. Negative feedback keeps a clear weight. `fit_ranker` refits
    # them on an operator's own history (validation split).
    "relevance": 0.5,  # best interest cosine, scaled by that interest's importance
    "collab": 0.5,  # item-item co-engagement votes from recent likes, scaled to [0, 1] per viewer
    "ease": 1.0,  # the long-term model (feed/ease.py) over the whole history, scaled to [0, 1] per viewer
    "sequence": 1.0,  # votes of the last few items for what viewers meet next to them (feed/sequence.py), [0, 1]
    "popularity": 0.1,
    "freshness": 0.05,
    "negative": -1.0,  # cosine to the nearest disliked/hidden/skipped item, above NEGATIVE_FLOOR
    "agreement": 0.1,  # per extra source that proposed the item
    "made_for_you": 0.35,
    # Not features. How much MMR trades score for novelty on the page (1 - lambda):
    "diversity": 0.25,
    # How much a cold item's estimated features (feed/cold.py `imputed`: the upper end of what
    # warm items with its content score have) count against the measured ones of warm items:
    # 1.5, optimism while it is unproven (its audience is capped). An exposure policy like the
    # cold slots, so `fit_ranker` leaves it alone. Cold split of `evaluate` (share of viewers
    # shown a held-out item they liked, against content-only), four simulator runs (seeds 0, 2,
    # 3, 4): at 1.5 0.635/0.284, 0.622/0.258, 0.662/0.280, 0.647/0.265, warm HR@10 at most 0.009
    # below its figure without the slot, and the simulated viewers' live like rate above the
    # popular feed's (seeds 2-4: 0.138-0.162 against 0.117-0.124). With estimates capped at 1 and a fit
    # from one start: at 1.0 one of three runs fell to 0.252/0.305; at 2.0 the like rate fell
    # to 0.005 above the popular feed's on one run. MovieLens 100K at 1.5: 0.431/0.239, warm
    # HR@10 0.206 (0.220 without the slot). Before the estimates covered popularity and
    # agreement and added the deviation, the fit could sink every cold candidate (0.277/0.295
    # on one simulator run).
    "cold_prior": 1.5,
}
NOT_FEATURES = frozenset({"diversity", "cold_prior"})
NEGATIVE_FLOOR = 0.35
_active: list[dict[str, float]] = []  # overrides: fitted weights, or a trial during a fit
FRESH_HALF_LIFE_DAYS = 14.0


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
    ease: np.ndarray | None = None,
    sequence: np.ndarray | None = None,
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
    return {
        "collab": per_viewer_scaled(collab, n),
        "ease": per_viewer_scaled(ease, n),
        "sequence": per_viewer_scaled(sequence, n),
        "relevance": relevance,
        "popularity": pop,
        "freshness": np.power(0.5, age_days / FRESH_HALF_LIFE_DAYS),
        "negative": negative,
        "agreement": np.clip(source_counts - 1, 0, None),
        "made_for_you": made_for_you,
    }


def per_viewer_scaled(values: np.ndarray | None, n: int) -> np.ndarray:
    """A source's scores divided by their maximum for this viewer (negatives to 0): sources on
    different scales, and viewers with long or short histories, blend on equal terms."""
    if values is None or not len(values):
        return np.zeros(n, np.float32)
    values = np.clip(np.nan_to_num(values, nan=0.0), 0, None)
    top = values.max()
    return values / top if top > 0 else values


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
    fit = _fitted()
    return {**WEIGHTS, **fit["weights"]} if fit else None


def fitted_extra() -> dict:
    """What else `fit_ranker` chose on validation (the EASE lambda), {} before a fit."""
    fit = _fitted()
    return {k: v for k, v in fit.items() if k != "weights"} if fit else {}


def _fitted() -> dict | None:
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
    fit = json.loads(path.read_text())
    fit["weights"] = {k: float(v) for k, v in fit["weights"].items() if k in WEIGHTS}
    _fitted_cache[str(path)] = (mtime, fit)
    return fit


_fitted_cache: dict[str, tuple[float, dict]] = {}


def score(features: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> np.ndarray:
    weights = weights or current_weights()
    total = None
    for name, value in features.items():
        base, imputed, _ = name.partition("@cold")
        weight = weights.get(base, 0.0) * (weights.get("cold_prior", WEIGHTS["cold_prior"]) if imputed else 1.0)
        part = weight * value
        total = part if total is None else total + part
    return total


def mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lam: float | None = None) -> list[int]:
    """Maximal marginal relevance: positions of k items, each trading score against similarity to those chosen."""
    n = len(scores)
    if n == 0:
        return []
    if lam is None:
        lam = 1.0 - current_weights().get("diversity", WEIGHTS["diversity"])
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
