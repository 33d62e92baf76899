"""Multi-interest taste (PinnerSage-style), updated online from each event.

Each viewer has a few unit vectors with importance weights. A positive event
moves the nearest interest toward the item (or starts a new one when nothing
is near); a negative event pushes the nearest interest away. Importance decays
with a half-life, so old tastes fade unless they are fed.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.vec import from_bytes, normalize, to_bytes
from profiles.models import Interest

MAX_INTERESTS = 8
# Cosine above which an item belongs to an existing interest (MiniLM: same topic ~0.4-0.7).
JOIN_COSINE = 0.40
HALF_LIFE_DAYS = 21.0
MIN_STEP = 0.08  # an interest with many events still moves on each new one
PUSH_STEP = 0.15


def decayed(weight: float, since: datetime, now: datetime) -> float:
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    return weight * math.pow(0.5, days / HALF_LIFE_DAYS)


def interest_vectors(interests) -> np.ndarray:
    return np.vstack([from_bytes(i.vector) for i in interests]) if interests else np.zeros((0, 0), np.float32)


@transaction.atomic
def taste_update(*, user, item_vector: np.ndarray, weight: float, at: datetime | None = None) -> Interest | None:
    """Fold one event into the user's interests; returns the interest it touched."""
    now = at or timezone.now()
    interests = list(Interest.objects.select_for_update().filter(user=user))
    item = normalize(item_vector)
    nearest, cosine = None, -1.0
    if interests:
        sims = interest_vectors(interests) @ item
        best = int(np.argmax(sims))
        nearest, cosine = interests[best], float(sims[best])

    if weight > 0:
        if nearest is not None and cosine >= JOIN_COSINE:
            step = max(1.0 / (nearest.count + 1), MIN_STEP) * min(weight, 2.0)
            moved = normalize((1 - step) * from_bytes(nearest.vector) + step * item)
            nearest.vector = to_bytes(moved)
            nearest.weight = decayed(nearest.weight, nearest.updated_at, now) + weight
            nearest.count += 1
            nearest.updated_at = now
            nearest.save(update_fields=["vector", "weight", "count", "updated_at"])
            return nearest
        if len(interests) >= MAX_INTERESTS:
            # Full: the faintest interest makes room for the new one.
            weakest = min(interests, key=lambda i: decayed(i.weight, i.updated_at, now))
            weakest.delete()
        from profiles.labels import interest_label

        return Interest.objects.create(
            user=user, vector=to_bytes(item), weight=weight, count=1, updated_at=now, label=interest_label(item)
        )

    if nearest is not None and cosine >= JOIN_COSINE:
        # Push away from the disliked item, within the interest's own neighbourhood.
        step = PUSH_STEP * min(-weight, 2.0)
        vec = from_bytes(nearest.vector)
        moved = normalize(vec - step * cosine * item)
        nearest.vector = to_bytes(moved)
        nearest.weight = max(decayed(nearest.weight, nearest.updated_at, now) + 0.25 * weight, 0.05)
        nearest.updated_at = now
        nearest.save(update_fields=["vector", "weight", "updated_at"])
        return nearest
    return None
