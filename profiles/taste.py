"""Multi-interest taste (PinnerSage-style), updated online from each event.

Each viewer has a few unit vectors with importance weights. A positive event
moves the nearest interest toward the item (or starts a new one when nothing
is near); a negative event pushes the nearest interest away. Importance decays
with a half-life (TASTE_HALF_LIFE_DAYS), so old tastes fade unless they are fed.

`fold` is the pure update on in-memory interests; `taste_update` applies it to
one event under a row lock, and bulk ingest applies it to many events per user
with one read and one write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.vec import from_bytes, normalize, to_bytes
from profiles.models import Interest

MAX_INTERESTS = 8
# Cosine above which an item joins an existing interest. MiniLM puts single items of one
# topic at a median ~0.3-0.55 and unrelated ones at ~0.1-0.2; an interest that has seen a
# few items sits closer to its topic than any single item does.
JOIN_COSINE = 0.30
MIN_STEP = 0.08  # an interest with many events still moves on each new one
PUSH_STEP = 0.15
# A negative event pushes the nearest interest if the item is at all related to it.
PUSH_COSINE = 0.20
MIN_WEIGHT = 0.05


def decayed(weight: float, since: datetime, now: datetime) -> float:
    """The weight an interest has left after the time since its last event (TASTE_HALF_LIFE_DAYS)."""
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    return weight * math.pow(0.5, days / settings.TASTE_HALF_LIFE_DAYS)


@dataclass
class Fold:
    """What folding events changed: interests to save, to create, and to delete."""

    changed: set[int] = field(default_factory=set)  # positions in the interests list
    deleted: list[Interest] = field(default_factory=list)


def fold(interests: list[Interest], item_vector: np.ndarray, weight: float, now: datetime, *, user, result: Fold) -> Interest | None:
    """Fold one event into in-memory interests (new ones are appended unsaved). Returns the interest touched."""
    item = normalize(item_vector)
    nearest, cosine = None, -1.0
    if interests:
        sims = np.vstack([from_bytes(i.vector) for i in interests]) @ item
        best = int(np.argmax(sims))
        nearest, cosine = interests[best], float(sims[best])

    if weight > 0:
        if nearest is not None and cosine >= JOIN_COSINE:
            step = max(1.0 / (nearest.count + 1), MIN_STEP) * min(weight, 2.0)
            nearest.vector = to_bytes(normalize((1 - step) * from_bytes(nearest.vector) + step * item))
            nearest.weight = decayed(nearest.weight, nearest.updated_at, now) + weight
            nearest.count += 1
            nearest.updated_at = now
            if nearest.origin != Interest.Origin.ONBOARDING:
                nearest.label = ""  # relabelled on save: the interest may have drifted
            result.changed.add(id(nearest))
            return nearest
        if len(interests) >= MAX_INTERESTS:
            # Full: the faintest interest makes room for the new one.
            weakest = min(interests, key=lambda i: decayed(i.weight, i.updated_at, now))
            interests.remove(weakest)
            result.changed.discard(id(weakest))
            if weakest.pk:
                result.deleted.append(weakest)
        created = Interest(user=user, vector=to_bytes(item), weight=weight, count=1, updated_at=now)
        interests.append(created)
        result.changed.add(id(created))
        return created

    if nearest is not None and cosine >= PUSH_COSINE:
        # Push away from the disliked item, within the interest's own neighbourhood.
        step = PUSH_STEP * min(-weight, 2.0)
        nearest.vector = to_bytes(normalize(from_bytes(nearest.vector) - step * cosine * item))
        nearest.weight = max(decayed(nearest.weight, nearest.updated_at, now) + 0.25 * weight, MIN_WEIGHT)
        nearest.updated_at = now
        result.changed.add(id(nearest))
        return nearest
    return None


def fold_save(interests: list[Interest], result: Fold) -> None:
    """Write what fold changed: deletes, then updates, then inserts (labels filled in)."""
    fold_save_many([(interests, result)])


def fold_save_many(folds: list[tuple[list[Interest], Fold]]) -> None:
    """fold_save for many viewers at once: one delete, one bulk update and one bulk insert."""
    from profiles.labels import interest_label

    deleted = [i.pk for _, result in folds for i in result.deleted]
    if deleted:
        Interest.objects.filter(pk__in=deleted).delete()
    updates, inserts = [], []
    for interests, result in folds:
        for interest in interests:
            if id(interest) not in result.changed:
                continue
            if not interest.label:
                interest.label = interest_label(from_bytes(interest.vector))
            (updates if interest.pk else inserts).append(interest)
    if updates:
        _bulk_update_rows(updates)
    if inserts:
        Interest.objects.bulk_create(inserts, batch_size=500)


_UPDATED = ("vector", "weight", "count", "updated_at", "label")


def _bulk_update_rows(interests: list[Interest]) -> None:
    """One prepared UPDATE run for many rows. Django's bulk_update builds a CASE per field
    and row, which cost more than the taste maths itself in bulk ingest."""
    from django.db import connection

    meta = Interest._meta
    fields = [meta.get_field(name) for name in _UPDATED]
    table = connection.ops.quote_name(meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    rows = [
        [f.get_db_prep_save(getattr(i, f.attname), connection) for f in fields] + [i.pk]
        for i in interests
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", rows)


@transaction.atomic
def taste_update(*, user, item_vector: np.ndarray, weight: float, at: datetime | None = None) -> Interest | None:
    """Fold one event into the user's interests; returns the interest it touched."""
    interests = list(Interest.objects.select_for_update().filter(user=user))
    result = Fold()
    touched = fold(interests, item_vector, weight, at or timezone.now(), user=user, result=result)
    fold_save(interests, result)
    return touched


def interests_replay(*, user_ids: list[int], progress=None) -> int:
    """Rebuild learned taste from stored interactions, oldest first, through the same fold as
    live events (for evaluation, and after a change to the weights). Onboarding interests stay."""
    from profiles import weights
    from profiles.models import Interaction

    Interest.objects.filter(user_id__in=user_ids).exclude(origin=Interest.Origin.ONBOARDING).delete()
    done = 0
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        interests: dict[int, list[Interest]] = {u: [] for u in chunk}
        for interest in Interest.objects.filter(user_id__in=chunk):
            interests[interest.user_id].append(interest)
        results = {u: Fold() for u in chunk}
        rows = (
            Interaction.objects.filter(user_id__in=chunk, video__embedding__isnull=False)
            .order_by("created_at", "id")
            .values_list("user_id", "kind", "watch_fraction", "created_at", "video__embedding")
        )
        from django.contrib.auth import get_user_model

        users = {u: get_user_model()(pk=u) for u in chunk}
        for user_id, kind, fraction, at, blob in rows.iterator(chunk_size=5000):
            fold(interests[user_id], from_bytes(blob), weights.event_weight(kind, fraction), at, user=users[user_id],
                 result=results[user_id])
        fold_save_many([(interests[u], results[u]) for u in chunk])
        done += len(chunk)
        if progress:
            progress(done, len(user_ids))
    return done
