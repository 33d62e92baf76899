"""Cold items: a fair chance for what nobody has met yet (every generated piece starts so).

Collaborative sources never propose an item without events, so a few slots on every page
(FEED_COLD_SLOTS) go to cold items chosen by a content model of the viewer: a ridge
regression over item vectors fitted against the whole catalogue, target 1 for what they
engaged with and 0 for everything else, with what they skipped or disliked pulled below 0
(at NEGATIVE_SHARE of its weight). Its normal equations need only the catalogue's mean and
covariance, shared by every viewer and refreshed in the background, and each viewer's
positives: w = (C + a I)^-1 sum_i y_i (x_i - mean), the mean of the likes whitened by the
catalogue, which leaves out what every item shares (a template's words, a format) and keeps
what sets the viewer's items apart. Measured on MovieLens 100K (cold split of `evaluate`, 15%
of the items held out, ratings of 3 read as skips, 909 viewers) the best-scored cold item is
one the viewer later liked for 0.215 of them, against 0.116 for a ridge fitted on the
viewer's own events only and 0.064 for the plain mean of their likes. Negatives cost there
(what someone rated low they had still chosen to watch): at full weight 0.145, at 0.3 0.215,
without 0.227. On a feed a skip is the feed's choice turned down, so they keep that small weight.

The viewer's CANDIDATES best cold items also compete for the rest of the page. There they
lack what warm items are ranked by most (EASE, the sequence and co-engagement scores, and
the popularity and agreement of sources that come with them), so
`imputed` estimates those from content: what warm candidates with the same model score have.
The ranking credits the estimates at the "cold_prior" weight (feed/ranking.py), optimistic
while the item is unproven; its audience is capped all the same.

An item is cold while it has fewer than FEED_COLD_EVENTS events (by default: none yet; from
its first event the sequence table can propose it to viewers whose recent items sit next to
it). The exposure policy: one still cold after FEED_COLD_AUDIENCE impressions had its fair
audience and failed, and leaves the cold slots and loses its estimates (one that succeeds
leaves by gathering events, and the other sources take it up from there).
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db.models import Count

from core.vec import from_bytes
from feed import sources
from generation.models import Video
from profiles import indexes, weights
from profiles.models import Interaction

POOL_MAX = 20_000  # the newest cold items considered; scored with one matrix product
HISTORY = 300  # most recent events per viewer the model is fitted on
CATALOGUE_SAMPLE = 10_000  # the newest items, the catalogue's mean and covariance are estimated from
# The ridge's regulariser in units of the covariance's mean eigenvalue: 1-30 measured within
# 0.03 of each other at one slot on MovieLens 100K and on the simulator; 10 is in the middle.
RIDGE_ALPHA = 10.0
NEGATIVE_SHARE = 0.3  # what a skip or dislike weighs against an engagement (see above)
CANDIDATES = 20  # the viewer's best cold items that compete for the whole page, not only the cold slots
# What a cold item cannot have yet: the collaborative scores, and the evidence warm items carry
# beside them (how popular they are, how many sources proposed them). Without the last two a
# fit that weighs popularity (0.4 on one simulator run) sank every cold candidate below the
# warm ones it would otherwise have beaten: cold share 0.277 against content-only 0.295.
IMPUTED = ("ease", "sequence", "collab", "popularity", "agreement")


def cold_pool(*, index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the public cold items still owed an audience, newest first; shared
    by every viewer and refreshed in the background like the popular list (vectors too, so
    a page does not gather thousands of them from the index)."""
    ids, vectors, _ = _cold_list(index)
    return ids, vectors


def cold_rows(*, index) -> dict[int, tuple]:
    """{video id: (created_at, views, likes, negatives)} of the cold pool: the ranking rows of
    the cold candidates, so a page does not query them."""
    return _cold_list(index)[2]


def _cold_list(index) -> list:
    return sources._global_list("cold", lambda: _cold_arrays(index))


def owed_audience(ids: list[int], *, index) -> np.ndarray:
    """Which of these items are cold and still owed an audience (in the cold pool)."""
    pool_ids, _ = cold_pool(index=index)
    return np.isin(np.asarray(ids, np.int64), pool_ids)


def _cold_arrays(index) -> list:
    rows = _cold_rows()
    ids = np.array(list(rows), np.int64)
    ids = ids[index.present(ids)] if len(ids) else ids
    vectors = index.vectors(ids.tolist()) if len(ids) else np.zeros((0, index.dim), np.float32)
    return [ids, vectors, {int(v): rows[int(v)] for v in ids}]


def _cold_rows() -> dict[int, tuple]:
    from feed.models import Impression

    rows = {
        row[0]: row[1:]
        for row in Video.objects.filter(made_for__isnull=True, embedded_at__isnull=False, views__lt=settings.FEED_COLD_EVENTS)
        .order_by("-created_at", "-id").values_list("id", "created_at", "views", "likes", "negatives")[:POOL_MAX]
    }
    ids = list(rows)
    failed: set[int] = set()
    for start in range(0, len(ids), 5000):
        failed.update(
            Impression.objects.filter(video_id__in=ids[start : start + 5000]).values("video_id")
            .annotate(n=Count("id")).filter(n__gte=settings.FEED_COLD_AUDIENCE).values_list("video_id", flat=True)
        )
    return {v: row for v, row in rows.items() if v not in failed}


def viewer_model(*, user, dim: int, fallback: np.ndarray | None = None, index=None) -> np.ndarray | None:
    """A direction in item space: item . w ranks items by how the viewer will take them. None
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
        weight = float(np.clip(weights.event_weight(kind, fraction), -1.0, 1.0))
        targets[vid] = weight if weight > 0 else NEGATIVE_SHARE * weight
        vectors[vid] = from_bytes(blob)
    if not any(t > 0 for t in targets.values()):
        if fallback is None or not len(fallback):
            return None
        x, y = np.asarray(fallback, np.float32), np.ones(len(fallback), np.float32)
    else:
        ids = list(targets)
        x = np.vstack([vectors[v] for v in ids]).astype(np.float32)
        y = np.array([targets[v] for v in ids], np.float32)
    mean, inverse = catalogue_whitening(index=index if index is not None else indexes.items().ready(), dim=dim)
    return (inverse @ ((x - mean) * y[:, None]).sum(axis=0)).astype(np.float32)


def catalogue_whitening(*, index, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, (C + a I)^-1) of the public catalogue's vectors, C their covariance over the newest
    CATALOGUE_SAMPLE items (384 dimensions need thousands, not millions; ~0.2 s of one core);
    shared and refreshed in the background like the cold pool."""
    mean, inverse = sources._global_list("cold-whitening", lambda: _whitening_arrays(index, dim))
    return mean, inverse


def _whitening_arrays(index, dim: int) -> list:
    ids = np.array(list(Video.objects.filter(made_for__isnull=True, embedded_at__isnull=False).order_by("-id")
                   .values_list("id", flat=True)[:CATALOGUE_SAMPLE]), np.int64)
    ids = ids[index.present(ids)] if len(ids) else ids
    if len(ids) < 2:
        return [np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32)]
    x = index.vectors(ids.tolist()).astype(np.float64)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, bias=True)
    ridge = RIDGE_ALPHA * max(float(np.trace(cov)) / dim, 1e-6)
    return [mean.astype(np.float32), np.linalg.inv(cov + ridge * np.eye(dim)).astype(np.float32)]


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


def imputed(feats: dict[str, np.ndarray], *, cold: np.ndarray, content: np.ndarray | None) -> dict[str, np.ndarray]:
    """Estimates of the features a cold candidate cannot have yet (IMPUTED), optimistic ones:
    for each, what a warm candidate with the same content score (the viewer's model, item . w)
    has on a least-squares line over this viewer's warm candidates, plus one standard deviation
    of the warm candidates around that line (the upper end of what such an item would have, as
    an upper confidence bound credits an untried arm), from 0 up to the warm candidates' maximum
    (1 for the scaled scores, a count of sources for agreement). Missing evidence is then
    neither counted as zero (a cold item could never win a slot on merit) nor as certain;
    `ranking.score` weighs them by the "cold_prior" weight (an exposure policy: `fit_ranker`
    leaves it alone). Keys are "<feature>@cold", 0 for warm ones."""
    n = len(cold)
    out = {f"{name}@cold": np.zeros(n, np.float32) for name in IMPUTED}
    warm = ~cold
    if content is None or not cold.any() or warm.sum() < 2:
        return out
    x = content[warm].astype(np.float64)
    spread = x.var()
    for name in IMPUTED:
        y = feats[name][warm].astype(np.float64)
        slope = float(((x - x.mean()) * (y - y.mean())).mean() / spread) if spread > 0 else 0.0
        line = y.mean() + slope * (x - x.mean())
        estimate = y.mean() + slope * (content[cold] - x.mean()) + (y - line).std()
        out[f"{name}@cold"][cold] = np.clip(estimate, 0.0, y.max())
    return out
