"""The process-wide indexes, each wired to the table it mirrors.

items:     one vector per embedded video (Video.embedding), changes by Video.embedded_at
interests: one vector per viewer interest (Interest.vector), changes by Interest.updated_at
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, QuerySet

from core.vec import from_bytes
from profiles import embedding
from profiles.snapshots import SnapshotSource
from profiles.vector_index import SyncedIndex, VectorIndex, Watermark

_lock = threading.Lock()
_indexes: dict[str, SyncedIndex] = {}


def _synced(name: str, rows: Callable[[], QuerySet], vector_field: str, changed_field: str) -> SyncedIndex:
    def watermark() -> Watermark:
        agg = rows().aggregate(n=Count("id"), last=Max(changed_field))
        return Watermark(count=agg["n"], last=agg["last"].timestamp() if agg["last"] else 0.0)

    def latest() -> float:
        last = rows().aggregate(last=Max(changed_field))["last"]  # an indexed column: cheap
        return last.timestamp() if last else 0.0

    def load(qs) -> tuple[np.ndarray, np.ndarray]:
        ids, vecs = [], []
        for pk, blob in qs.values_list("id", vector_field).iterator(chunk_size=5000):
            ids.append(pk)
            vecs.append(from_bytes(blob))
        dim = embedding.dimension()
        return np.asarray(ids, dtype=np.int64), (np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32))

    def changed_since(last: float):
        return load(rows().filter(**{f"{changed_field}__gt": datetime.fromtimestamp(last, tz=UTC)}))

    def all_ids() -> np.ndarray:
        return np.fromiter(rows().values_list("id", flat=True).iterator(chunk_size=20000), dtype=np.int64)

    def rows_for(ids: np.ndarray):
        return load(rows().filter(id__in=[int(i) for i in ids]))

    index = VectorIndex(name, embedding.dimension(), settings.INDEX_DIR, settings.INDEX_EXACT_MAX, settings.INDEX_NPROBE)
    return SyncedIndex(
        index,
        watermark=watermark,
        changed_since=changed_since,
        all_ids=all_ids,
        rows_for=rows_for,
        latest=latest,
        min_interval=settings.INDEX_SYNC_SECONDS,
        full_interval=max(settings.INDEX_SYNC_SECONDS, 30.0),
        snapshots=SnapshotSource(name),
    )


def _get(name: str, build: Callable[[], SyncedIndex]) -> SyncedIndex:
    with _lock:
        if name not in _indexes:
            _indexes[name] = build()
        return _indexes[name]


def items() -> SyncedIndex:
    """The video index, lazily loaded (or rebuilt) on first use."""
    from generation.models import Video

    return _get("items", lambda: _synced("items", lambda: Video.objects.filter(embedded_at__isnull=False), "embedding", "embedded_at"))


def interests() -> SyncedIndex:
    """Every viewer's interest vectors: for neighbours in taste and for taste clusters."""
    from profiles.models import Interest

    return _get("interests", lambda: _synced("interests", lambda: Interest.objects.all(), "vector", "updated_at"))


ALL = {"items": items, "interests": interests}


def reset() -> None:
    """Forget the in-process indexes (tests, and after settings change)."""
    with _lock:
        _indexes.clear()
