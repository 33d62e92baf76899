"""The long-term model: EASE (Steck 2019), a closed-form item-item regression.

B = I - P / diag(P) with P = (X'X + lambda I)^-1, X the binary viewer x item matrix of every
exposure (a rating or a watch says the viewer chose the item, whatever they thought of it).
A viewer's score for an item is the sum of its B entries from everything they met. The
inverse is dense in the items, so it is fitted over the MAX_ITEMS most-met items with at
least MIN_USERS viewers (a 20k x 20k float32 inverse is 1.6 GB and a few minutes of CPU);
past that the long tail is served by the sequence table and content, which scale with the
events. For catalogues whose head alone outgrows that, the scalable equivalent is the same
regression restricted to each item's item-kNN neighbourhood (SLIM-style), not done here.

The periodic job (feed.tasks.collab_refresh) fits it and saves each item's NEIGHBOURS
largest entries (in magnitude; more for smaller catalogues, within TABLE_ENTRIES) beside
the index, as the item-kNN table is; nothing dense is kept.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import linalg, sparse

from feed.collaborative import EMPTY, Neighbours, table_load, table_save, table_votes, top_k_table
from profiles.models import Interaction

logger = logging.getLogger("tailor.feed")

MAX_ITEMS = 20_000
MIN_USERS = 2
NEIGHBOURS = 200
# The table's size: what MAX_ITEMS items at NEIGHBOURS entries each take (4M entries, ~48 MB).
# A smaller catalogue keeps more entries per item, every one up to ~2,000 items (the dense
# model exactly). On one simulator run (333 items, ~250 viewers, lambda 25 chosen on
# validation) the top 200 of each row scored the test split at HR@10 0.328 against the dense
# model's 0.436 (0.468 against 0.464 on its validation split, and within 0.01 of it at lambda
# 50 and above): with fewer viewers than items and a small lambda, B's entries are large and
# cancel in the sums, which cutting rows breaks. On MovieLens 100K (1,682 items) the top 200,
# 500 and 1,000 each scored within 0.007 of the dense model at lambda 100 and 200.
TABLE_ENTRIES = MAX_ITEMS * NEIGHBOURS
DEFAULT_LAMBDA = 200.0
LAMBDAS = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0)  # tried on the validation split
REFIT_S = 3600.0


def exposures(*, user_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, video ids) of every stored event, one row per pair."""
    qs = Interaction.objects.all()
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    rows = np.array(list(qs.values_list("user_id", "video_id").distinct().iterator(chunk_size=50_000)), np.int64)
    return (rows[:, 0], rows[:, 1]) if len(rows) else (np.zeros(0, np.int64), np.zeros(0, np.int64))


class Gram:
    """X'X over the items EASE covers, computed once and refitted for any lambda."""

    def __init__(self, users: np.ndarray, videos: np.ndarray, *, max_items: int = MAX_ITEMS):
        vids, counts = np.unique(videos, return_counts=True)
        keep = vids[counts >= MIN_USERS]
        if len(keep) > max_items:
            keep = np.sort(vids[np.argsort(-counts, kind="stable")[:max_items]])
        self.ids = keep
        mask = np.isin(videos, keep)
        uids, urow = np.unique(users[mask], return_inverse=True)
        col = np.searchsorted(keep, videos[mask])
        x = sparse.csr_matrix((np.ones(len(col), np.float32), (urow, col)), shape=(len(uids), len(keep)))
        self.gram = (x.T @ x).toarray().astype(np.float32) if len(keep) else np.zeros((0, 0), np.float32)

    def fit(self, lam: float) -> np.ndarray:
        """The dense B for this lambda (zero diagonal)."""
        n = len(self.ids)
        if not n:
            return np.zeros((0, 0), np.float32)
        g = self.gram.copy()
        g[np.diag_indices(n)] += lam
        p = linalg.inv(g, overwrite_a=True, check_finite=False)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices(n)] = 0.0
        return b.astype(np.float32)

    def table(self, lam: float, *, k: int | None = None) -> Neighbours:
        """Each row's k largest entries (by default as many as TABLE_ENTRIES allows, at least NEIGHBOURS)."""
        b = self.fit(lam)
        if not len(b):
            return EMPTY
        # Each row's k largest entries in magnitude: what that item, once met, adds to or takes
        # from every other item. The negative ones matter as much as the positive: an item met
        # beside its substitutes pushes them down. Keeping only the positive entries had the
        # feed's EASE score miss the model's own top 10 for every viewer of the simulator
        # (HR@10 / NDCG@10 0.440 / 0.325 against the dense model's 0.468 / 0.376; by magnitude
        # 0.452 / 0.368 at k=200 of 333 items, identical lists once k holds every item), and on
        # MovieLens 100K (1,682 items) EASE with the sequence source went from 0.222 / 0.114 to
        # 0.232 / 0.120 (k=500: 0.240 / 0.123, within the noise of ~0.013).
        if k is None:
            k = max(NEIGHBOURS, TABLE_ENTRIES // len(b))
        k = min(k, len(b) - 1) or 1
        top = np.argpartition(-np.abs(b), k - 1, axis=1)[:, :k]
        rows = np.repeat(self.ids, k)
        scores = np.take_along_axis(b, top, axis=1).ravel()
        kept = scores != 0
        return top_k_table(rows[kept], self.ids[top.ravel()][kept], scores[kept], k=k)


def _path() -> Path:
    return Path(settings.INDEX_DIR) / "ease.npz"


def ease_refresh(*, lam: float | None = None) -> Neighbours:
    """Fit on every stored exposure and save the table (the periodic job). lambda: the one
    `fit_ranker` chose on validation if it saved one, else DEFAULT_LAMBDA."""
    from feed.ranking import fitted_extra

    started = time.monotonic()
    lam = lam or float(fitted_extra().get("ease_lambda", DEFAULT_LAMBDA))
    table = Gram(*exposures()).table(lam)
    table_save(_path(), table, lam=lam)
    logger.info("ease fitted items=%d pairs=%d lambda=%g ms=%.0f", len(table.ids), len(table.neighbours), lam,
                1000 * (time.monotonic() - started))
    return table


def ease_refresh_due(*, every_s: float = REFIT_S) -> Neighbours | None:
    """ease_refresh if the saved fit is older than every_s (the periodic job runs every 10
    minutes; a fit over 20k items takes minutes of CPU, and taste moves slower than that)."""
    if time.time() - ease_table().built_at < every_s:
        return None
    return ease_refresh()


_override: list[Neighbours] = []


class ease_override:
    """Use this table instead of the saved one inside the block (offline evaluation)."""

    def __init__(self, table: Neighbours):
        self.table = table

    def __enter__(self):
        _override.append(self.table)
        return self.table

    def __exit__(self, *exc):
        _override.pop()


def ease_table() -> Neighbours:
    if _override:
        return _override[-1]
    return table_load(_path())


def ease_scores(*, history: list[int], table: Neighbours | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(video ids, scores) for everything the viewer's history points to."""
    table = table if table is not None else ease_table()
    return table_votes(table, np.array(history, np.int64), np.ones(len(history), np.float32))
