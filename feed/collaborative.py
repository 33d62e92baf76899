"""Collaborative signal: item-item neighbours from co-engagement.

A batch job builds, for each video, its nearest videos by cosine similarity over
the viewers who engaged positively with both (item-kNN, the strong classic
baseline), shrunk toward zero for pairs with little support. The table is a file
derived from the database, saved atomically and reloaded by every process when it
changes. At request time the viewer's most recent positive items (including a like
from a second ago) vote for their neighbours, so the signal is online where it
matters: retrieval follows the latest likes with no batch job in between.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import sparse

from profiles import weights
from profiles.models import Interaction

logger = logging.getLogger("tailor.collab")

NEIGHBOURS = 50
HISTORY_PER_USER = 300  # most recent positive items per viewer used to build the table
SHRINK = 5.0  # cosine * n / (n + SHRINK): pairs seen together only once or twice count less


@dataclass
class Neighbours:
    """CSR rows of (neighbour id, score) per video id."""

    ids: np.ndarray  # video ids with a row, sorted
    indptr: np.ndarray
    neighbours: np.ndarray
    scores: np.ndarray
    built_at: float = 0.0

    def of(self, video_id: int) -> tuple[np.ndarray, np.ndarray]:
        row = np.searchsorted(self.ids, video_id)
        if row >= len(self.ids) or self.ids[row] != video_id:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        lo, hi = self.indptr[row], self.indptr[row + 1]
        return self.neighbours[lo:hi], self.scores[lo:hi]


EMPTY = Neighbours(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def positive_pairs(*, until=None) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, video ids) of positive engagements, newest first per user, capped per user."""
    qs = Interaction.objects.filter(weights.positive_q())
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    rows = np.array(list(qs.order_by("user_id", "-created_at").values_list("user_id", "video_id")), dtype=np.int64)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    users, videos = rows[:, 0], rows[:, 1]
    # Keep the newest HISTORY_PER_USER per user (rows are grouped by user, newest first).
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    rank = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    keep = rank < HISTORY_PER_USER
    return users[keep], videos[keep]


def neighbours_build(users: np.ndarray, videos: np.ndarray, *, k: int = NEIGHBOURS) -> Neighbours:
    """Item-item cosine over the binary viewer x video matrix, top k per video, with shrinkage."""
    if not len(users):
        return EMPTY
    uids, urow = np.unique(users, return_inverse=True)
    vids, vcol = np.unique(videos, return_inverse=True)
    x = sparse.csr_matrix((np.ones(len(urow), np.float32), (urow, vcol)), shape=(len(uids), len(vids)))
    x.data[:] = 1.0  # repeated engagements count once
    x = x.tocsc()
    co = (x.T @ x).tocsr()  # co-engagement counts
    deg = np.asarray(co.diagonal(), dtype=np.float32)
    co.setdiag(0)
    co.eliminate_zeros()
    coo = co.tocoo()
    counts = coo.data.astype(np.float32)
    cosine = counts / np.sqrt(deg[coo.row] * deg[coo.col])
    score = cosine * counts / (counts + SHRINK)
    return top_k_table(vids[coo.row], vids[coo.col], score, k=k)


def top_k_table(rows: np.ndarray, cols: np.ndarray, score: np.ndarray, *, k: int) -> Neighbours:
    """The k highest-scoring (col, score) pairs of each row id, as a Neighbours table."""
    if not len(rows):
        return EMPTY
    order = np.lexsort((-score, rows))
    rows, cols, score = rows[order], cols[order], score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    keep = rank < k
    rows, cols, score = rows[keep], cols[keep], score[keep]
    present, counts = np.unique(rows, return_counts=True)
    indptr = np.r_[0, np.cumsum(counts)]
    return Neighbours(present.astype(np.int64), indptr.astype(np.int64), cols.astype(np.int64), score.astype(np.float32),
                      time.time())


# --- the shared, file-backed table ------------------------------------------------

_lock = threading.Lock()
_loaded: dict[str, tuple[float, Neighbours]] = {}


def _path() -> Path:
    return Path(settings.INDEX_DIR) / "covisit.npz"


def neighbours_refresh() -> Neighbours:
    """Rebuild the table from the database and save it atomically (the batch job)."""
    started = time.monotonic()
    table = neighbours_build(*positive_pairs())
    table_save(_path(), table)
    logger.info("collab neighbours rebuilt items=%d pairs=%d ms=%.0f", len(table.ids), len(table.neighbours),
                1000 * (time.monotonic() - started))
    return table


def table_save(path: Path, table: Neighbours, **meta) -> None:
    """Write a neighbour table beside the index: a temporary file, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, ids=table.ids, indptr=table.indptr, neighbours=table.neighbours, scores=table.scores,
             meta=np.frombuffer(json.dumps({"built_at": table.built_at, **meta}).encode(), dtype=np.uint8))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with _lock:
        _loaded[str(path)] = (path.stat().st_mtime, table)


def table_load(path: Path) -> Neighbours:
    """The table saved at path, reloaded when the file changes; empty until the first save."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return EMPTY
    key = str(path)
    cached = _loaded.get(key)
    if cached and cached[0] == mtime:
        return cached[1]
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        table = Neighbours(data["ids"], data["indptr"], data["neighbours"], data["scores"], meta["built_at"])
    with _lock:
        _loaded[key] = (mtime, table)
    return table


_override: list[Neighbours] = []


class neighbours_override:
    """Use this table instead of the saved one inside the block (offline evaluation)."""

    def __init__(self, table: Neighbours):
        self.table = table

    def __enter__(self):
        _override.append(self.table)
        return self.table

    def __exit__(self, *exc):
        _override.pop()


def neighbours() -> Neighbours:
    """The current table, reloaded when the file changes; empty until the first build."""
    if _override:
        return _override[-1]
    return table_load(_path())


def neighbours_reset() -> None:
    with _lock:
        _loaded.clear()


def collaborative_scores(*, recent: list[tuple[int, float]], table: Neighbours | None = None) -> dict[int, tuple[float, int]]:
    """Votes from the viewer's recent positive items: {video id: (score, strongest source item)}."""
    table = table or neighbours()
    out: dict[int, tuple[float, int]] = {}
    for source, weight in recent:
        ids, scores = table.of(source)
        for vid, s in zip(ids.tolist(), (scores * weight).tolist()):
            prev = out.get(vid)
            if prev is None:
                out[vid] = (s, source)
            else:
                out[vid] = (prev[0] + s, prev[1] if prev[0] >= s else source)
    return out


def table_votes(table: Neighbours, sources: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each source row's neighbours, scaled by that source's weight and summed: (ids, scores)."""
    sources = np.asarray(sources, np.int64)
    if not len(sources) or not len(table.ids):
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    rows = np.minimum(np.searchsorted(table.ids, sources), len(table.ids) - 1)
    found = table.ids[rows] == sources
    rows, weights = rows[found], np.asarray(weights, np.float32)[found]
    lo, hi = table.indptr[rows], table.indptr[rows + 1]
    lengths = hi - lo
    if not lengths.sum():
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    # Positions lo..hi-1 of every row, flattened without a Python loop.
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.repeat(lo, lengths) + offsets
    ids, inverse = np.unique(table.neighbours[positions], return_inverse=True)
    return ids, np.bincount(inverse, weights=table.scores[positions] * np.repeat(weights, lengths)).astype(np.float32)
