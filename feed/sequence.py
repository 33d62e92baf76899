"""Sequence neighbours: which items viewers meet next to which, in the order they meet them.

Each viewer's history is read as the sequence of items in the order they were first met
(any kind of event: a view, a rating, a skip is an exposure, not only a like). Two items
within WINDOW positions of each other co-occur, in both directions, a pair d positions apart
adding DISTANCE_DECAY ** (d - 1). The sums live in one sparse table (feed.CoVisit), added to
by the ingest path as events arrive, so a like is a context item on the very next page; a
periodic trim keeps each item's KEEP strongest pairs. `covisit_rebuild` makes the same table
from the stored log (evaluation, or after a change of the constants).

At request time the viewer's last CONTEXT items vote for their pairs, the newest most
(CONTEXT_DECAY per step back), each pair normalised by how often both items were met
(w / (n_a^0.5 * n_b^BETA)), so a blockbuster next to everything does not win every page.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime

import numpy as np
from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from feed.models import CoVisit
from profiles import weights
from profiles.models import Interaction

logger = logging.getLogger("tailor.feed")

WINDOW = 10
DISTANCE_DECAY = 0.9
KEEP = 200  # pairs kept per item by the trim (heavy hitters; the rest of the tail carries little)
CONTEXT = 10
CONTEXT_DECAY = 0.8
BETA = 0.5  # how much a popular neighbour's count discounts it


# --- building ------------------------------------------------------------------

def first_exposures(users: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From (user, video) rows in chronological order per user, keep each pair's first row."""
    if not len(users):
        return users, videos
    key = users.astype(np.int64) << 32 | videos.astype(np.int64)
    _, first = np.unique(key, return_index=True)
    first.sort()
    return users[first], videos[first]


def sequence_pairs(users: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item_a, item_b, weight) summed over every viewer's sequence: rows grouped by user, in order."""
    parts_a, parts_b, parts_w = [], [], []
    for d in range(1, WINDOW + 1):
        if d >= len(users):
            break
        same = users[d:] == users[:-d]
        later, earlier = videos[d:][same], videos[:-d][same]
        w = np.full(len(later), DISTANCE_DECAY ** (d - 1), np.float32)
        parts_a += [later, earlier]
        parts_b += [earlier, later]
        parts_w += [w, w]
    if not parts_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    a, b, w = np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_w)
    keys, inverse = np.unique(a.astype(np.int64) << 32 | b.astype(np.int64), return_inverse=True)
    return keys >> 32, keys & 0xFFFFFFFF, np.bincount(inverse, weights=w).astype(np.float32)


def _history(*, user_ids=None) -> tuple[np.ndarray, np.ndarray]:
    qs = Interaction.objects.all()
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    rows = np.array(list(qs.order_by("user_id", "created_at", "id").values_list("user_id", "video_id").iterator(chunk_size=50_000)),
                    dtype=np.int64).reshape(-1, 2)
    return first_exposures(rows[:, 0], rows[:, 1])


def covisit_rebuild() -> int:
    """Replace the table with one made from the stored log (the same sums the ingest path
    adds up, trimmed to KEEP per item). Returns the number of pairs kept. Holds the pairs in
    memory (~20 per event): past a few tens of millions of events, trim instead of rebuilding."""
    started = time.monotonic()
    a, b, w = sequence_pairs(*_history())
    if len(a):
        order = np.lexsort((b, -w, a))
        a, b, w = a[order], b[order], w[order]
        starts = np.r_[0, np.flatnonzero(np.diff(a)) + 1]
        rank = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
        keep = rank < KEEP
        a, b, w = a[keep], b[keep], w[keep]
    with transaction.atomic():
        CoVisit.objects.all().delete()
        _insert(list(zip(a.tolist(), b.tolist(), w.tolist())), add=False)
    logger.info("covisit rebuilt pairs=%d ms=%.0f", len(a), 1000 * (time.monotonic() - started))
    return len(a)


def _insert(rows: list[tuple[int, int, float]], *, add: bool) -> None:
    """Upsert (item_a, item_b, weight) rows; with add, a pair already there adds its weight."""
    if not rows:
        return
    table = connection.ops.quote_name(CoVisit._meta.db_table)
    sql = f"INSERT INTO {table} (item_a_id, item_b_id, weight) VALUES (%s, %s, %s)"
    if add:
        sql += f" ON CONFLICT (item_a_id, item_b_id) DO UPDATE SET weight = {table}.weight + excluded.weight"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def covisit_add(*, events: list[tuple[int, int, datetime]]) -> int:
    """Fold new events (user id, video id, time), not yet stored, into the table: each one met
    for the first time pairs with the viewer's WINDOW items before it. Call inside the
    transaction that stores them. Returns the number of pair updates."""
    if not events:
        return 0
    events = sorted(events, key=lambda e: e[2])
    users = {u for u, _, _ in events}
    already = set(
        Interaction.objects.filter(user_id__in=users, video_id__in={v for _, v, _ in events}).values_list("user_id", "video_id")
    )
    # The last few stored events per viewer: their distinct items, in the order first met there.
    recent = (
        Interaction.objects.filter(user_id__in=users)
        .annotate(n=Window(RowNumber(), partition_by=[F("user_id")], order_by=[F("created_at").desc(), F("id").desc()]))
        .filter(n__lte=3 * WINDOW)
        .values_list("user_id", "video_id", "n")
    )
    tails: dict[int, list[int]] = defaultdict(list)
    for user_id, video_id, n in sorted(recent, key=lambda r: (r[0], -r[2])):
        if video_id not in tails[user_id]:
            tails[user_id].append(video_id)
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for user_id, video_id, _ in events:
        if (user_id, video_id) in already:
            continue
        already.add((user_id, video_id))
        tail = tails[user_id]
        for d, earlier in enumerate(reversed(tail[-WINDOW:]), 1):
            w = DISTANCE_DECAY ** (d - 1)
            pairs[(video_id, earlier)] += w
            pairs[(earlier, video_id)] += w
        tail.append(video_id)
    # Sorted: concurrent writers take the rows' locks in the same order.
    _insert([(a, b, w) for (a, b), w in sorted(pairs.items())], add=True)
    return len(pairs)


def covisit_trim(*, keep: int = KEEP) -> int:
    """Keep each item's `keep` strongest pairs (only items over twice that are looked at)."""
    table = connection.ops.quote_name(CoVisit._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE (item_a_id, item_b_id) IN ("
            f" SELECT item_a_id, item_b_id FROM ("
            f"  SELECT item_a_id, item_b_id, ROW_NUMBER() OVER (PARTITION BY item_a_id ORDER BY weight DESC, item_b_id) AS rn"
            f"  FROM {table} WHERE item_a_id IN (SELECT item_a_id FROM {table} GROUP BY item_a_id HAVING COUNT(*) > %s)"
            f" ) ranked WHERE rn > %s)",
            [2 * keep, keep],
        )
        return cursor.rowcount


# --- reading -------------------------------------------------------------------

def context_items(*, user, n: int = CONTEXT) -> list[tuple[int, float]]:
    """The viewer's last n distinct items (any event but a dislike or a hide), newest first,
    with their recency weights."""
    if not user.pk:
        return []
    rows = (
        Interaction.objects.filter(user=user).exclude(kind__in=weights.EXCLUDED_KINDS)
        .order_by("-created_at", "-id").values_list("video_id", flat=True)[: 3 * n]
    )
    out, seen = [], set()
    for vid in rows:
        if vid not in seen:
            seen.add(vid)
            out.append((vid, CONTEXT_DECAY ** len(out)))
            if len(out) >= n:
                break
    return out


def covisit_scores(*, context: list[tuple[int, float]]) -> dict[int, tuple[float, int]]:
    """Votes of the context items for their pairs: {video id: (score, strongest context item)}."""
    if not context:
        return {}
    weight_of = dict(context)
    rows = CoVisit.objects.filter(item_a_id__in=list(weight_of)).values_list(
        "item_a_id", "item_b_id", "weight", "item_a__views", "item_b__views"
    )
    out: dict[int, tuple[float, int]] = {}
    for a, b, w, n_a, n_b in rows:
        s = weight_of[a] * w / (max(n_a, 1) ** 0.5 * max(n_b, 1) ** BETA)
        prev = out.get(b)
        if prev is None:
            out[b] = (s, a)
        else:
            out[b] = (prev[0] + s, prev[1] if prev[0] >= s else a)
    return out
