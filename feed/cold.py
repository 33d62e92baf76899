"""Cold items: a fair chance for what nobody has met yet (every generated piece starts so).

Collaborative sources never propose an item without events, so a few slots on every page
(FEED_COLD_SLOTS) go to cold items chosen by a content model of the viewer: a ridge
regression over item vectors, fitted per request on what they engaged with (positive) and
what they skipped, disliked or were shown without engaging (negative). Without negatives it
learns only "close to what I like"; with them it learns which parts of that neighbourhood
the viewer turns down, which is what picks a good item among a thousand unknown ones.

An item is cold while it has fewer than FEED_COLD_EVENTS events (by default: none yet; from
its first event the sequence table can propose it to viewers whose recent items sit next to
it). The exposure policy: one still cold after FEED_COLD_AUDIENCE impressions had its fair
audience and failed, and leaves the cold slots (one that succeeds leaves by gathering
events, and the other sources take it up from there).
"""

from __future__ import annotations

import random

import numpy as np
from django.conf import settings
from django.db.models import Count

from core.vec import from_bytes, normalize
from feed import sources
from generation.models import Video
from profiles import weights
from profiles.models import Interaction

POOL_MAX = 20_000  # the newest cold items considered; scored with one matrix product
HISTORY = 300  # most recent events per viewer the model is fitted on
RIDGE_ALPHA = 5.0  # regularises a viewer's few hundred items against 384 dimensions (not tuned here)
SAMPLED_NEGATIVE = -0.5  # target of an item the viewer was only exposed to (shown, or popular)


def cold_pool(*, index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the public cold items still owed an audience, newest first; shared
    by every viewer and refreshed in the background like the popular list (vectors too, so
    a page does not gather thousands of them from the index)."""
    ids, vectors = sources._global_list("cold", lambda: _cold_arrays(index))
    return ids, vectors


def _cold_arrays(index) -> list:
    ids = np.array(_cold_ids(), np.int64)
    ids = ids[index.present(ids)] if len(ids) else ids
    vectors = index.vectors(ids.tolist()) if len(ids) else np.zeros((0, index.dim), np.float32)
    return [ids, vectors]


def _cold_ids() -> list[int]:
    from feed.models import Impression

    ids = list(
        Video.objects.filter(made_for__isnull=True, embedded_at__isnull=False, views__lt=settings.FEED_COLD_EVENTS)
        .order_by("-created_at", "-id").values_list("id", flat=True)[:POOL_MAX]
    )
    failed: set[int] = set()
    for start in range(0, len(ids), 5000):
        failed.update(
            Impression.objects.filter(video_id__in=ids[start : start + 5000]).values("video_id")
            .annotate(n=Count("id")).filter(n__gte=settings.FEED_COLD_AUDIENCE).values_list("video_id", flat=True)
        )
    return [v for v in ids if v not in failed]


def viewer_model(*, user, dim: int, fallback: np.ndarray | None = None, seed: int = 0) -> np.ndarray | None:
    """A direction in item space: item . w predicts how the viewer takes an item. None
    without any positive (and no fallback, such as onboarding interests, to stand in)."""
    rows = list(
        Interaction.objects.filter(user=user, video__embedding__isnull=False)
        .order_by("-created_at").values_list("video_id", "kind", "watch_fraction", "video__embedding")[:HISTORY]
    ) if user.pk else []
    targets: dict[int, float] = {}
    vectors: dict[int, np.ndarray] = {}
    for vid, kind, fraction, blob in rows:
        if vid in targets:
            continue  # the newest event on an item says how it ended
        targets[vid] = float(np.clip(weights.event_weight(kind, fraction), -1.0, 1.0))
        vectors[vid] = from_bytes(blob)
    positives = sum(1 for t in targets.values() if t > 0)
    if not positives:
        return normalize(fallback.mean(axis=0)) if fallback is not None and len(fallback) else None
    negatives = sum(1 for t in targets.values() if t < 0)
    if negatives < positives:
        # Too few turned down: items they were exposed to and did not take stand in, first
        # what the feed showed them, then what was popular around them.
        for vid, blob in _exposed_unengaged(user=user, exclude=set(targets), n=positives - negatives, seed=seed):
            targets[vid], vectors[vid] = SAMPLED_NEGATIVE, from_bytes(blob)
    ids = list(targets)
    x = np.vstack([vectors[v] for v in ids]).astype(np.float32)
    y = np.array([targets[v] for v in ids], np.float32)
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc = x - x_mean
    # Dual form: n samples (a few hundred) rather than dim features.
    alpha = np.linalg.solve(xc @ xc.T + RIDGE_ALPHA * np.eye(len(ids), dtype=np.float32), y - y_mean)
    return (xc.T @ alpha).astype(np.float32)


def _exposed_unengaged(*, user, exclude: set[int], n: int, seed: int) -> list[tuple[int, bytes]]:
    from feed.models import Impression

    shown = list(
        Impression.objects.filter(user=user, video__embedding__isnull=False).exclude(video_id__in=exclude)
        .order_by("-created_at").values_list("video_id", "video__embedding")[:n]
    ) if user.pk else []
    if len(shown) >= n:
        return shown
    taken = exclude | {v for v, _ in shown}
    popular = [v for v in sources.popular_candidates(limit=500) if v not in taken]
    picked = random.Random(seed).sample(popular, min(n - len(shown), len(popular)))
    return shown + list(Video.objects.filter(pk__in=picked).values_list("id", "embedding"))


def cold_picks(*, user, index, model: np.ndarray | None, exclude: set[int], n: int,
               extra: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, float]]:
    """The n cold items the viewer's model rates highest: [(video id, score)]. extra: more
    (ids, vectors) that are cold for this viewer only (their own new renders)."""
    if not n or model is None:
        return []
    ids, vectors = cold_pool(index=index)
    if extra is not None and len(extra[0]):
        ids, vectors = np.concatenate([extra[0], ids]), np.vstack([extra[1], vectors])
    if not len(ids):
        return []
    scores = vectors @ model
    out: list[tuple[int, float]] = []
    for pos in np.argsort(-scores, kind="stable"):
        vid = int(ids[pos])
        if vid not in exclude and all(vid != v for v, _ in out):
            out.append((vid, float(scores[pos])))
            if len(out) >= n:
                break
    return out
