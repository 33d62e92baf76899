"""Reads for the feed: retrieve from every source, rank, diversify, filter what was seen."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.vec import from_bytes
from feed import ranking, sources
from generation.models import Video
from generation.selectors import video_visible_to
from profiles import indexes, weights
from profiles.models import Interaction, Interest

logger = logging.getLogger("tailor.feed")
NEGATIVE_MEMORY = 50  # how many recent negative events shape the penalty


@dataclass
class RankedItem:
    video: Video
    score: float
    source: str
    reason: str


def seen_video_ids(*, user) -> set[int]:
    """Everything the viewer has interacted with: never shown again unless asked."""
    return set(Interaction.objects.filter(user=user).values_list("video_id", flat=True))


SOURCES = ("interest", "collab", "popular", "fresh", "made_for_you", "explore")
_COL = {source: n for n, source in enumerate(SOURCES)}


@dataclass
class _Pool:
    """What retrieval found for a viewer, as arrays (cheap to cache and to rank): per candidate
    its ranking row and each source's score (NaN where that source did not bring it) and reason.
    Only candidates the viewer may see, that are embedded and in this index, are kept."""

    stamp: int
    ids: np.ndarray  # int64 (n,)
    created: np.ndarray  # float64 (n,) epoch seconds
    stats: np.ndarray  # float32 (n, 3): views, likes, negatives
    scores: np.ndarray  # float32 (n, sources)
    reasons: np.ndarray  # int32 (n, sources): index into texts
    texts: list[str]

    @classmethod
    def build(cls, candidates: dict[int, sources.Candidate], rows: dict[int, tuple], stamp: int) -> _Pool:
        return cls._empty(stamp).extended(candidates, rows)

    @classmethod
    def _empty(cls, stamp: int) -> _Pool:
        return cls(stamp=stamp, ids=np.zeros(0, np.int64), created=np.zeros(0), stats=np.zeros((0, 3), np.float32),
                   scores=np.zeros((0, len(SOURCES)), np.float32), reasons=np.zeros((0, len(SOURCES)), np.int32), texts=[])

    def extended(self, candidates: dict[int, sources.Candidate], rows: dict[int, tuple]) -> _Pool:
        """A new pool with these candidates merged in: new ones (those with a row) appended, and
        the sources of ones already here added to theirs."""
        texts, text_ids = list(self.texts), {t: n for n, t in enumerate(self.texts)}
        scores, reasons = self.scores.copy(), self.reasons.copy()
        position = {int(v): n for n, v in enumerate(self.ids)}
        new = [vid for vid in candidates if vid not in position and vid in rows]
        add_scores = np.full((len(new), len(SOURCES)), np.nan, np.float32)
        add_reasons = np.zeros((len(new), len(SOURCES)), np.int32)
        slots = {vid: n for n, vid in enumerate(new)}
        for vid, cand in candidates.items():
            if vid in position:
                target_s, target_r, row = scores, reasons, position[vid]
            elif vid in slots:
                target_s, target_r, row = add_scores, add_reasons, slots[vid]
            else:
                continue
            for source, value in cand.sources.items():
                col = _COL[source]
                if np.isnan(target_s[row, col]) or value > target_s[row, col]:
                    target_s[row, col] = value
                    text = cand.reasons[source]
                    if text not in text_ids:
                        text_ids[text] = len(texts)
                        texts.append(text)
                    target_r[row, col] = text_ids[text]
        return _Pool(
            stamp=self.stamp,
            ids=np.concatenate([self.ids, np.array(new, np.int64)]),
            created=np.concatenate([self.created, np.array([rows[v][0].timestamp() for v in new], np.float64)]),
            stats=np.vstack([self.stats, np.array([rows[v][1:4] for v in new], np.float32).reshape(-1, 3)]),
            scores=np.vstack([scores, add_scores]), reasons=np.vstack([reasons, add_reasons]), texts=texts,
        )


def _pool_get(key: str) -> _Pool | None:
    """The session's pool, if the cache has it; a cache outage only costs a retrieval."""
    try:
        pool = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - Redis down or a stale pickle: retrieve instead
        logger.warning("feed pool cache read failed: %s", exc)
        return None
    return pool if isinstance(pool, _Pool) else None


def _pool_set(key: str, pool: _Pool) -> None:
    if not settings.FEED_POOL_TTL_S:
        return
    try:
        cache.set(key, pool, settings.FEED_POOL_TTL_S)
    except Exception as exc:  # noqa: BLE001 - the page is served all the same
        logger.warning("feed pool cache write failed: %s", exc)


def _taste_stamp(interests: list[Interest], seen: set[int]) -> int:
    """Changes whenever the viewer's taste or history does (a like, a skip, a re-clustering)."""
    return hash((tuple((i.pk, i.weight, i.count, i.updated_at.timestamp()) for i in interests), len(seen), hash(frozenset(seen))))


def _rows(*, user, ids: list[int], index, include_generated: bool) -> dict[int, tuple]:
    """Ranking rows (created_at, views, likes, negatives) of the candidates the viewer may see:
    visible, embedded and in this index (the database can be a moment ahead of the index, or a
    swapped-in snapshot a moment behind)."""
    if not ids:
        return {}
    rows = {
        row[0]: row[1:5]
        for row in Video.objects.filter(pk__in=ids, embedded_at__isnull=False).values_list(
            "id", "created_at", "views", "likes", "negatives", "made_for_id"
        )
        if (row[5] is None if not include_generated else video_visible_to(user=user, made_for_id=row[5]))
    }
    held = [vid for vid in ids if vid in rows]
    return {vid: rows[vid] for vid, present in zip(held, index.present(held)) if present}


def _retrieve(*, user, index, interests: list[Interest], ivecs, iweights, excluded: set[int], include_generated: bool,
              stamp: int) -> _Pool:
    if interests:
        candidates = sources.interest_candidates(
            index=index, vectors=ivecs, weights=iweights, labels=[i.label for i in interests], exclude=excluded
        )
    else:
        candidates = {}
    for extra in (
        sources.collab_candidates(user=user),
        sources.popular_candidates(),
        sources.fresh_candidates(user=user) if include_generated else {},
    ):
        for vid, cand in extra.items():
            for source, value in cand.sources.items():
                sources._merge(candidates, vid, source, value, cand.reasons[source])
    rows = _rows(user=user, ids=[vid for vid in candidates if vid not in excluded], index=index,
                 include_generated=include_generated)
    return _Pool.build(candidates, rows, stamp)


def ranked_for_user(
    *,
    user,
    k: int,
    exclude: set[int] | frozenset[int] = frozenset(),
    seed: int = 0,
    include_generated: bool = True,
    explore_slots: int = 0,
    pool_key: str | None = None,
) -> list[RankedItem]:
    """The viewer's best k unseen items, best first. The feed, `recommend` and evaluation all use this.

    With a pool_key (a feed session), what retrieval found is kept for the session's next pages
    for FEED_POOL_TTL_S, as long as the viewer's taste and history stay as they were: a like or a skip
    makes the next page retrieve again. The ranking itself runs on every page."""
    index = indexes.items().ready()
    interests = list(Interest.objects.filter(user=user))
    seen = seen_video_ids(user=user)
    excluded = set(exclude) | seen
    rng = random.Random(seed)
    if interests:
        ivecs = np.vstack([from_bytes(i.vector) for i in interests])
        iweights = np.array([max(i.weight, 1e-3) for i in interests], dtype=np.float32)
    else:
        ivecs, iweights = np.zeros((0, index.dim), np.float32), np.zeros(0, np.float32)

    # 1. Retrieve from every source (or take the session's pool), then filter: seen, hidden,
    #    disliked, served earlier in the session, other viewers' private renders.
    stamp = _taste_stamp(interests, seen)
    pool = _pool_get(pool_key) if pool_key else None
    if pool is None or pool.stamp != stamp or len(pool.ids) - int(np.isin(pool.ids, list(excluded)).sum()) < 2 * k:
        pool = _retrieve(user=user, index=index, interests=interests, ivecs=ivecs, iweights=iweights, excluded=excluded,
                         include_generated=include_generated, stamp=stamp)
        if pool_key:
            _pool_set(pool_key, pool)
    if explore_slots:
        explore = sources.explore_candidates(index=index, rng=rng)
        known = set(pool.ids.tolist())
        fresh = [vid for vid in explore if vid not in known and vid not in excluded]
        pool = pool.extended(explore, _rows(user=user, ids=fresh, index=index, include_generated=include_generated))
    keep = np.flatnonzero(~np.isin(pool.ids, list(excluded)) & index.present(pool.ids))  # a pool can outlive a deleted video
    if not len(keep):
        return []
    ids = pool.ids[keep].tolist()
    source_scores = pool.scores[keep]
    has = ~np.isnan(source_scores)

    # 2. Rank on features from every source.
    vectors = index.vectors(ids)
    negatives = list(
        Interaction.objects.filter(user=user, kind__in=weights.NEGATIVE_KINDS, video__embedding__isnull=False)
        .order_by("-created_at")
        .values_list("video__embedding", flat=True)[:NEGATIVE_MEMORY]
    )
    nvecs = np.vstack([from_bytes(b) for b in negatives]) if negatives else np.zeros((0, index.dim), np.float32)
    stats = pool.stats[keep]
    feats = ranking.features_for(
        item_vectors=vectors,
        interest_vectors=ivecs,
        interest_weights=iweights,
        negative_vectors=nvecs,
        popularity=stats[:, 1] * 3 + stats[:, 0] - 2 * stats[:, 2],
        age_days=((timezone.now().timestamp() - pool.created[keep]) / 86400).astype(np.float32),
        source_counts=has.sum(axis=1).astype(np.float32),
        made_for_you=has[:, _COL["made_for_you"]].astype(np.float32),
        collab=np.nan_to_num(source_scores[:, _COL["collab"]], nan=0.0),
    )
    scores = ranking.score(feats)
    explore_only = has[:, _COL["explore"]] & (has.sum(axis=1) == 1)

    # 3. Diversify the exploited part with MMR; keep a few exploration slots. A video deleted
    #    since the pool was made (the index learns of deletions at its next full check) is
    #    passed over, and the page filled from the rest.
    alive = np.ones(len(ids), dtype=bool)
    for _ in range(3):
        slots = min(explore_slots, int((explore_only & alive).sum()), max(k // 6, 0))
        main = np.flatnonzero(~explore_only & alive)
        top = main[np.argsort(-scores[main], kind="stable")][: max(4 * k, 50)]
        order = [int(top[p]) for p in ranking.mmr(scores[top], vectors[top], k - slots)]
        explore = [int(p) for p in np.flatnonzero(explore_only & alive)][:slots]
        for n, pos in enumerate(explore):
            order.insert(min(len(order), (n + 1) * (k // (slots + 1))), pos)
        order = order[:k]
        videos = Video.objects.in_bulk([ids[pos] for pos in order])
        gone = [pos for pos in order if ids[pos] not in videos]
        if not gone:
            break
        alive[gone] = False
    result = []
    for pos in order:
        if ids[pos] not in videos:
            continue
        source = _why([SOURCES[c] for c in np.flatnonzero(has[pos])], feats, pos)
        reason = pool.texts[int(pool.reasons[keep[pos], _COL[source]])]
        result.append(RankedItem(video=videos[ids[pos]], score=float(scores[pos]), source=source, reason=reason))
    return result


# Which ranking feature each source's evidence shows up in, for "why this".
_SOURCE_FEATURE = {"interest": "relevance", "collab": "collab", "popular": "popularity", "fresh": "freshness",
                   "made_for_you": "made_for_you", "explore": None}


def _why(brought_by: list[str], feats: dict[str, np.ndarray], pos: int) -> str:
    """Of the sources that brought this item, the one whose feature contributed most to its score."""
    def contribution(source: str) -> float:
        feature = _SOURCE_FEATURE.get(source)
        return ranking.current_weights().get(feature, 0.0) * float(feats[feature][pos]) if feature else -1.0

    return max(brought_by, key=contribution)


def recommend_for_external_users(*, external_ids: list[str], k: int):
    """(external user id, [external item ids]) per user: the feed's first-page ranking, without
    generated-video mixing. Unknown users get the cold-start ranking (popular, fresh, explore)."""
    from django.contrib.auth import get_user_model

    from feed.services import feed_seed
    from profiles.models import Profile

    User = get_user_model()
    known = dict(Profile.objects.filter(external_id__in=external_ids).values_list("external_id", "user_id"))
    for external_id in external_ids:
        user = User(pk=known.get(external_id, 0))  # pk 0: no rows, so the cold-start ranking
        items = ranked_for_user(user=user, k=k, include_generated=False, seed=feed_seed(user=user, page=0))
        yield external_id, [item.video.external_id or f"video:{item.video.pk}" for item in items]
