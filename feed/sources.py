"""Candidate sources. Each returns {video_id: Candidate} and can be tested alone."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db.models import F, Q
from django.utils import timezone

from generation.models import Video
from profiles.vector_index import VectorIndex

ANN_BUDGET = 300  # candidates from interests, shared by importance
MAX_K = 4000
logger = logging.getLogger("tailor.feed")


@dataclass
class Candidate:
    video_id: int
    sources: dict[str, float] = field(default_factory=dict)  # source -> similarity or score
    reasons: dict[str, str] = field(default_factory=dict)  # source -> "why this" text


def _merge(into: dict[int, Candidate], video_id: int, source: str, score: float, reason: str) -> None:
    cand = into.setdefault(video_id, Candidate(video_id))
    if score > cand.sources.get(source, -math.inf):
        cand.sources[source] = score
        cand.reasons[source] = reason


def interest_candidates(
    *, index: VectorIndex, vectors: np.ndarray, weights: np.ndarray, labels: list[str], exclude: set[int]
) -> dict[int, Candidate]:
    """Per-interest ANN: each interest retrieves its share of the budget by importance,
    never spending it on what the viewer has already seen."""
    out: dict[int, Candidate] = {}
    if not len(vectors):
        return out
    shares = weights / weights.sum()
    ks = [min(MAX_K, max(20, math.ceil(ANN_BUDGET * s))) for s in shares]
    scores, ids = index.search(vectors, max(ks), exclude=exclude)
    for row, k in enumerate(ks):
        for score, vid in zip(scores[row][:k], ids[row][:k]):
            if vid >= 0:
                _merge(out, int(vid), "interest", float(score), f"Because you like {labels[row]}")
    return out


GLOBAL_TTL_S = 30.0  # popular and newest lists are the same for everyone; recompute twice a minute
_global_cache: dict[str, tuple[float, list]] = {}
_global_lock = threading.Lock()
_refreshing: set[str] = set()
_pinned: list[bool] = []  # inside global_lists_pinned(): no list goes stale


class global_lists_pinned:
    """Inside the block, shared lists are computed in this thread, on this connection, once
    after each global_lists_clear(), and never refreshed in the background. `evaluate` rebuilds
    what the platform learned inside a transaction: a background thread, on its own connection,
    would read the committed data instead (the held-out events included)."""

    def __enter__(self):
        _pinned.append(True)

    def __exit__(self, *exc):
        _pinned.pop()


def _global_list(name: str, compute) -> list:
    """A process-local, short-lived memo of a list every viewer shares. Once stale it is
    served as it is while one background thread recomputes it, so no request waits for a
    scan of the whole catalogue (only the very first one in a process does)."""
    now = time.monotonic()
    hit = _global_cache.get(name)
    if hit is None:
        value = list(compute())
        with _global_lock:
            _global_cache[name] = (now, value)
        return value
    if now - hit[0] >= GLOBAL_TTL_S and not _pinned:
        with _global_lock:
            start = name not in _refreshing
            _refreshing.add(name)
        if start:
            threading.Thread(target=_global_refresh, args=(name, compute), daemon=True, name=f"refresh-{name}").start()
    return hit[1]


def _global_refresh(name: str, compute) -> None:
    from django.db import connection

    try:
        value = list(compute())
        with _global_lock:
            _global_cache[name] = (time.monotonic(), value)
    except Exception:  # keep serving the old list; the next stale read tries again
        logger.exception("refreshing shared list %s failed", name)
    finally:
        with _global_lock:
            _refreshing.discard(name)
        connection.close()


def global_lists_clear() -> None:
    _global_cache.clear()


def popular_candidates(*, limit: int = 100, days: int = 30) -> dict[int, Candidate]:
    since = timezone.now() - timedelta(days=days)
    rows = _global_list(
        f"popular:{limit}",
        lambda: Video.objects.filter(made_for__isnull=True, embedded_at__isnull=False)
        .annotate(pop=F("likes") * 3 + F("views") - F("negatives") * 2)
        .order_by("-pop", "-created_at")
        .values_list("id", "pop", "created_at")[:limit],
    )
    out: dict[int, Candidate] = {}
    for vid, pop, created in rows:
        reason = "Trending now" if created >= since else "Popular on Tailor"
        _merge(out, vid, "popular", float(pop), reason)
    return out


def fresh_candidates(*, user, limit: int = 50) -> dict[int, Candidate]:
    """The newest public videos, and everything rendered for this viewer ("made for you")."""
    out: dict[int, Candidate] = {}
    # Two indexed lookups: an OR across the audience join would scan every video.
    shared = Video.audience.through.objects.filter(user=user).values_list("video_id", flat=True)
    mine = Video.objects.filter(Q(made_for=user) | Q(pk__in=list(shared)), embedded_at__isnull=False)
    for vid in mine.order_by("-created_at").values_list("id", flat=True)[:limit]:
        _merge(out, vid, "made_for_you", 1.0, "Made for you")
    public = _global_list(
        f"fresh:{limit}",
        lambda: Video.objects.filter(made_for__isnull=True, embedded_at__isnull=False)
        .order_by("-created_at")
        .values_list("id", flat=True)[:limit],
    )
    for vid in public:
        _merge(out, vid, "fresh", 1.0, "New on Tailor")
    return out


def explore_candidates(*, index: VectorIndex, rng: random.Random, limit: int = 20) -> dict[int, Candidate]:
    """A few random items from the whole catalogue, so taste can grow beyond what it knows."""
    ids = index.ids()
    out: dict[int, Candidate] = {}
    if not len(ids):
        return out
    for position in rng.sample(range(len(ids)), min(limit, len(ids))):
        _merge(out, int(ids[position]), "explore", 0.0, "Something different")
    return out


RECENT_POSITIVES = 30
RECENCY_DECAY = 0.93  # each older positive item votes a little less


def collab_candidates(*, user, limit: int = 200) -> dict[int, Candidate]:
    """Item-item neighbours of the viewer's most recent positive items (online: the latest like counts)."""
    from feed.collaborative import collaborative_scores, neighbours
    from profiles import weights

    table = neighbours()
    if not len(table.ids):
        return {}
    recent_rows = (
        user.interactions.filter(weights.positive_q())
        .order_by("-created_at")
        .values_list("video_id", flat=True)[: RECENT_POSITIVES * 2]
    ) if user.pk else []
    recent, seen = [], set()
    for vid in recent_rows:
        if vid not in seen:
            seen.add(vid)
            recent.append((vid, RECENCY_DECAY ** len(recent)))
        if len(recent) >= RECENT_POSITIVES:
            break
    scores = collaborative_scores(recent=recent, table=table)
    if not scores:
        return {}
    top = sorted(scores.items(), key=lambda kv: -kv[1][0])[:limit]
    titles = dict(Video.objects.filter(pk__in={src for _, (_, src) in top}).values_list("id", "title"))
    out: dict[int, Candidate] = {}
    for vid, (score, src) in top:
        _merge(out, vid, "collab", float(score), f"Viewers who liked “{titles.get(src, 'this')}” also liked this")
    return out


EASE_CANDIDATES = 300
SEQUENCE_CANDIDATES = 200


def ease_candidates(*, history: list[int], limit: int = EASE_CANDIDATES) -> tuple[dict[int, Candidate], dict[int, float]]:
    """The long-term model's best items for the viewer's whole history: (candidates, every score)."""
    from feed.ease import ease_scores

    ids, scores = ease_scores(history=history)
    every = dict(zip(ids.tolist(), scores.tolist()))
    out: dict[int, Candidate] = {}
    for pos in np.argsort(-scores, kind="stable")[:limit]:
        if scores[pos] > 0:
            _merge(out, int(ids[pos]), "ease", float(scores[pos]), "Viewers with your taste liked this")
    return out, every


def sequence_candidates(*, user, limit: int = SEQUENCE_CANDIDATES) -> tuple[dict[int, Candidate], dict[int, float]]:
    """What viewers meet next to the viewer's last few items: (candidates, every score)."""
    from feed.sequence import context_items, covisit_scores

    scores = covisit_scores(context=context_items(user=user))
    if not scores:
        return {}, {}
    top = sorted(scores.items(), key=lambda kv: -kv[1][0])[:limit]
    titles = dict(Video.objects.filter(pk__in={src for _, (_, src) in top}).values_list("id", "title"))
    out: dict[int, Candidate] = {}
    for vid, (score, src) in top:
        _merge(out, vid, "sequence", float(score), f"Often watched next to “{titles.get(src, 'this')}”")
    return out, {vid: s for vid, (s, _) in scores.items()}
