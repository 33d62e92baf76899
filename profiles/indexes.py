"""The process-wide indexes, each wired to the table it mirrors."""

from __future__ import annotations

import threading

import numpy as np
from django.conf import settings
from django.db.models import Count, Max

from core.vec import from_bytes
from profiles import embedding
from profiles.vector_index import SyncedIndex, VectorIndex, Watermark

_lock = threading.Lock()
_items: SyncedIndex | None = None


def _videos():
    from generation.models import Video

    return Video.objects.filter(embedded_at__isnull=False)


def _item_watermark() -> Watermark:
    agg = _videos().aggregate(n=Count("id"), last=Max("embedded_at"))
    return Watermark(count=agg["n"], last=agg["last"].timestamp() if agg["last"] else 0.0)


def _rows(qs) -> tuple[np.ndarray, np.ndarray]:
    ids, vecs = [], []
    for pk, blob in qs.values_list("id", "embedding").iterator(chunk_size=5000):
        ids.append(pk)
        vecs.append(from_bytes(blob))
    dim = embedding.dimension()
    return np.asarray(ids, dtype=np.int64), (np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32))


def _item_changed_since(last: float):
    from datetime import UTC, datetime

    return _rows(_videos().filter(embedded_at__gt=datetime.fromtimestamp(last, tz=UTC)))


def _item_ids() -> np.ndarray:
    return np.fromiter(_videos().values_list("id", flat=True).iterator(chunk_size=20000), dtype=np.int64)


def _item_rows_for(ids: np.ndarray):
    return _rows(_videos().filter(id__in=[int(i) for i in ids]))


def items() -> SyncedIndex:
    """The video index, lazily loaded (or rebuilt) on first use."""
    global _items
    with _lock:
        if _items is None:
            index = VectorIndex("items", embedding.dimension(), settings.INDEX_DIR, settings.INDEX_EXACT_MAX)
            _items = SyncedIndex(
                index,
                watermark=_item_watermark,
                changed_since=_item_changed_since,
                all_ids=_item_ids,
                rows_for=_item_rows_for,
                min_interval=settings.INDEX_SYNC_SECONDS,
            )
        return _items


def reset() -> None:
    """Forget the in-process indexes (tests, and after settings change)."""
    global _items
    with _lock:
        _items = None
