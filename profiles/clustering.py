"""Batch re-clustering of a viewer's interests from their history (PinnerSage).

Online updates drift; this rebuilds the learned interests from scratch: Ward
clustering over the items the viewer engaged with, one interest per cluster,
represented by its medoid (a real item, so it stays on the item manifold and
never becomes the blurry average of two tastes) and weighted by the time-decayed
engagement in the cluster. Onboarding interests are kept: they fade by decay.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.utils import timezone
from scipy.cluster.hierarchy import fcluster, linkage

from core.vec import from_bytes, to_bytes
from profiles import weights
from profiles.labels import interest_label
from profiles.models import Interaction, Interest
from profiles.taste import MAX_INTERESTS, decayed

HISTORY = 400  # most recent engagements considered
# Ward merge distance above which two groups count as different tastes. With MiniLM, merges
# within one topic stay below ~1.3 while merges across topics jump to 1.5-2.5 (measured on
# the demo library: samples of three genres split cleanly at 1.5).
WARD_CUT = 1.5


def medoid(vectors: np.ndarray) -> int:
    """Position of the member closest (in summed squared distance) to all the others."""
    sims = vectors @ vectors.T
    return int(np.argmax(sims.sum(axis=1)))


def clusters_from_history(vectors: np.ndarray, importance: np.ndarray) -> list[tuple[int, float, int]]:
    """[(medoid position, importance, size)], most important first, at most MAX_INTERESTS."""
    if len(vectors) == 1:
        return [(0, float(importance[0]), 1)]
    labels = fcluster(linkage(vectors, method="ward"), t=WARD_CUT, criterion="distance")
    out = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        out.append((int(members[medoid(vectors[members])]), float(importance[members].sum()), len(members)))
    out.sort(key=lambda c: -c[1])
    return out[:MAX_INTERESTS]


@transaction.atomic
def interests_recluster(*, user) -> list[Interest]:
    """Rebuild the viewer's learned interests from their engagement history; returns them."""
    now = timezone.now()
    rows = list(
        Interaction.objects.filter(user=user, video__embedding__isnull=False)
        .exclude(kind__in=weights.NEGATIVE_KINDS)
        .order_by("-created_at")
        .values_list("video_id", "kind", "watch_fraction", "created_at", "video__embedding")[:HISTORY]
    )
    by_video: dict[int, tuple[np.ndarray, float]] = {}
    for video_id, kind, fraction, at, blob in rows:
        w = weights.event_weight(kind, fraction)
        if w <= 0:
            continue
        vec, total = by_video.get(video_id, (from_bytes(blob), 0.0))
        by_video[video_id] = (vec, total + decayed(w, at, now))
    Interest.objects.select_for_update().filter(user=user).exclude(origin=Interest.Origin.ONBOARDING).delete()
    if not by_video:
        return []
    vectors = np.vstack([v for v, _ in by_video.values()])
    importance = np.array([w for _, w in by_video.values()], dtype=np.float32)
    created = []
    for position, weight, size in clusters_from_history(vectors, importance):
        vec = vectors[position]
        created.append(
            Interest.objects.create(
                user=user, vector=to_bytes(vec), weight=weight, count=size, label=interest_label(vec),
                origin=Interest.Origin.CLUSTERED, updated_at=now,
            )
        )
    return created
