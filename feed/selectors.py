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
from feed import cold, ranking, sources
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


SOURCES = ("interest", "collab", "ease", "sequence", "popular", "fresh", "made_for_you", "explore", "cold")
COLD_REASON = "New on Tailor, picked for what you like"
_COL = {source: n for n, source in enumerate(SOURCES)}
_AGREEING = [n for n, source in enumerate(SOURCES) if source != "cold"]  # what the agreement feature counts


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
    # A pool pickled by a release with other sources does not fit this one's columns.
    return pool if isinstance(pool, _Pool) and pool.scores.shape[1] == len(SOURCES) else None


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


def _retrieve(*, user, index, interests: list[Interest], ivecs, iweights, excluded: set[int], seen: set[int],
              include_generated: bool, stamp: int) -> _Pool:
    if interests:
        candidates = sources.interest_candidates(
            index=index, vectors=ivecs, weights=iweights, labels=[i.label for i in interests], exclude=excluded
        )
    else:
        candidates = {}
    ease, ease_all = sources.ease_candidates(history=sorted(seen))
    sequence, sequence_all = sources.sequence_candidates(user=user)
    for extra in (
        sources.collab_candidates(user=user),
        ease,
        sequence,
        sources.popular_candidates(),
        sources.fresh_candidates(user=user) if include_generated else {},
    ):
        for vid, cand in extra.items():
            for source, value in cand.sources.items():
                sources._merge(candidates, vid, source, value, cand.reasons[source])
    # The long- and short-term models score every candidate they know, whichever source
    # brought it: a ranking feature, not only a way in.
    for name, every, text in (("ease", ease_all, "Viewers with your taste liked this"),
                              ("sequence", sequence_all, "Often watched next to what you just watched")):
        for vid, cand in candidates.items():
            if name not in cand.sources and every.get(vid, 0.0) > 0:
                sources._merge(candidates, vid, name, every[vid], text)
    rows = _rows(user=user, ids=[vid for vid in candidates if vid not in excluded], index=index,
                 include_generated=include_generated)
    return _Pool.build(candidates, rows, stamp)


@dataclass
class Prepared:
    """One viewer's candidates with their ranking features: what a page is ranked from. The
    ranking itself (`page_order`) is a function of this and the weights, so a fit can try
    many weights on one retrieval."""

    ids: list[int]
    feats: dict[str, np.ndarray]
    vectors: np.ndarray
    has: np.ndarray  # (n, sources) which sources brought each candidate
    explore_only: np.ndarray
    reasons: np.ndarray  # (n, sources) into texts
    texts: list[str]
    cold: list[tuple[int, float]]  # cold picks, best first (more than the slots, for what the page already holds)
    cold_n: int


def prepare_for_user(
    *,
    user,
    k: int,
    exclude: set[int] | frozenset[int] = frozenset(),
    seed: int = 0,
    include_generated: bool = True,
    explore_slots: int = 0,
    pool_key: str | None = None,
) -> Prepared | None:
    index = indexes.items().ready()
    interests = list(Interest.objects.filter(user=user))
    seen = seen_video_ids(user=user)
    excluded = set(exclude) | seen
    if interests:
        ivecs = np.vstack([from_bytes(i.vector) for i in interests])
        iweights = np.array([max(i.weight, 1e-3) for i in interests], dtype=np.float32)
    else:
        ivecs, iweights = np.zeros((0, index.dim), np.float32), np.zeros(0, np.float32)

    # 1. Retrieve from every source (or take the session's pool), then filter: seen, hidden,
    #    disliked, served earlier in the session, other viewers' private renders.
    pool = _pool_for(user=user, index=index, interests=interests, ivecs=ivecs, iweights=iweights, excluded=excluded,
                     seen=seen, k=k, include_generated=include_generated, pool_key=pool_key)
    if explore_slots:
        explore = sources.explore_candidates(index=index, rng=random.Random(seed))
        known = set(pool.ids.tolist())
        fresh = [vid for vid in explore if vid not in known and vid not in excluded]
        pool = pool.extended(explore, _rows(user=user, ids=fresh, index=index, include_generated=include_generated))
    # 2. Cold items: too new for any collaborative source. The viewer's content model
    #    (feed/cold.py) brings its best ones in to compete for the page, and fills the cold
    #    slots (on every page including the first, so `recommend` too).
    cold_n = min(settings.FEED_COLD_SLOTS, k)
    model = cold.viewer_model(user=user, dim=index.dim, fallback=ivecs, index=index)
    picks = cold.cold_picks(user=user, index=index, exclude=excluded, n=max(2 * cold_n, cold.CANDIDATES), model=model)
    if picks:
        known, rows = set(pool.ids.tolist()), cold.cold_rows(index=index)
        pool = pool.extended({vid: sources.Candidate(vid, {"cold": s}, {"cold": COLD_REASON}) for vid, s in picks},
                             {vid: rows[vid] for vid, _ in picks if vid not in known and vid in rows})
    keep = np.flatnonzero(~np.isin(pool.ids, list(excluded)) & index.present(pool.ids))  # a pool can outlive a deleted video
    if not len(keep):
        return None
    ids = pool.ids[keep].tolist()
    has = ~np.isnan(pool.scores[keep])

    # 3. Features from every source; a cold candidate's missing collaborative ones are
    #    estimated from its content (cold.imputed).
    vectors = index.vectors(ids)
    feats = _features(user=user, pool=pool, keep=keep, ids=ids, has=has, vectors=vectors, ivecs=ivecs,
                      iweights=iweights, dim=index.dim)
    feats.update(cold.imputed(feats, cold=cold.owed_audience(ids, index=index),
                              content=vectors @ model if model is not None else None))
    return Prepared(ids=ids, feats=feats, vectors=vectors, has=has,
                    explore_only=has[:, _COL["explore"]] & (has.sum(axis=1) == 1),
                    reasons=pool.reasons[keep], texts=pool.texts, cold=picks, cold_n=cold_n)


def _pool_for(*, user, index, interests, ivecs, iweights, excluded: set[int], seen: set[int], k: int,
              include_generated: bool, pool_key: str | None) -> _Pool:
    """The session's cached pool while it still serves (same taste, enough unseen left), else
    a fresh retrieval (cached under pool_key for the next page)."""
    stamp = _taste_stamp(interests, seen)
    pool = _pool_get(pool_key) if pool_key else None
    if pool is None or pool.stamp != stamp or len(pool.ids) - int(np.isin(pool.ids, list(excluded)).sum()) < 2 * k:
        pool = _retrieve(user=user, index=index, interests=interests, ivecs=ivecs, iweights=iweights, excluded=excluded,
                         seen=seen, include_generated=include_generated, stamp=stamp)
        if pool_key:
            _pool_set(pool_key, pool)
    return pool


def _features(*, user, pool: _Pool, keep: np.ndarray, ids: list[int], has: np.ndarray, vectors: np.ndarray,
              ivecs: np.ndarray, iweights: np.ndarray, dim: int) -> dict[str, np.ndarray]:
    """The ranking features of the kept candidates (feed/ranking.py)."""
    negatives = list(
        Interaction.objects.filter(user=user, kind__in=weights.NEGATIVE_KINDS, video__embedding__isnull=False)
        .order_by("-created_at")
        .values_list("video__embedding", flat=True)[:NEGATIVE_MEMORY]
    )
    nvecs = np.vstack([from_bytes(b) for b in negatives]) if negatives else np.zeros((0, dim), np.float32)
    stats, source_scores = pool.stats[keep], pool.scores[keep]
    return ranking.features_for(
        item_vectors=vectors,
        interest_vectors=ivecs,
        interest_weights=iweights,
        negative_vectors=nvecs,
        popularity=stats[:, 1] * 3 + stats[:, 0] - 2 * stats[:, 2],
        age_days=((timezone.now().timestamp() - pool.created[keep]) / 86400).astype(np.float32),
        source_counts=has[:, _AGREEING].sum(axis=1).astype(np.float32),
        made_for_you=_made_for_you(ids, has[:, _COL["made_for_you"]]),
        collab=source_scores[:, _COL["collab"]],
        ease=source_scores[:, _COL["ease"]],
        sequence=source_scores[:, _COL["sequence"]],
    )


def _made_for_you(ids: list[int], flags: np.ndarray) -> np.ndarray:
    """1 for a piece made for this viewer or their cluster, scaled by what its audience made of
    it so far (generation/bandit.py: a piece that earned more than its cluster's mean ranks
    higher, one that earned less lower, within [0.5, 1.5]); 0 for everything else."""
    from generation.bandit import piece_multipliers

    out = flags.astype(np.float32)
    made = np.flatnonzero(flags)
    if len(made):
        multiplier = piece_multipliers(ids[i] for i in made)
        for i in made:
            out[i] = multiplier.get(ids[i], 1.0)
    return out


def page_order(prep: Prepared, *, k: int, explore_slots: int = 0, weights: dict[str, float] | None = None,
               alive: np.ndarray | None = None) -> tuple[np.ndarray, list[int], list[int]]:
    """(scores, positions of the ranked candidates, cold video ids after them): MMR over the
    exploited part, a few exploration slots, the cold slots at the end (cold items that won a
    place on merit leave them to the next ones)."""
    scores = ranking.score(prep.feats, weights)
    alive = np.ones(len(prep.ids), dtype=bool) if alive is None else alive
    explore_only = prep.explore_only
    slots = min(explore_slots, int((explore_only & alive).sum()), max(k // 6, 0))
    main = np.flatnonzero(~explore_only & alive)
    top = main[np.argsort(-scores[main], kind="stable")][: max(4 * k, 50)]
    diversity = (weights or ranking.current_weights()).get("diversity", ranking.WEIGHTS["diversity"])
    order = [int(top[p]) for p in ranking.mmr(scores[top], prep.vectors[top], k - slots, lam=1.0 - diversity)]
    explore = [int(p) for p in np.flatnonzero(explore_only & alive)][:slots]
    for n, pos in enumerate(explore):
        order.insert(min(len(order), (n + 1) * (k // (slots + 1))), pos)
    on_page = {prep.ids[pos] for pos in order[: k - prep.cold_n]}
    cold_ids = [vid for vid, _ in prep.cold if vid not in on_page][: prep.cold_n]
    return scores, order[: k - len(cold_ids)], cold_ids


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
    prep = prepare_for_user(user=user, k=k, exclude=exclude, seed=seed, include_generated=include_generated,
                            explore_slots=explore_slots, pool_key=pool_key)
    if prep is None:
        return []
    # 4. Rank. A video deleted since the pool was made (the index learns of deletions at its
    #    next full check) is passed over, and the page filled from the rest.
    alive = np.ones(len(prep.ids), dtype=bool)
    for _ in range(3):
        scores, order, cold_ids = page_order(prep, k=k, explore_slots=explore_slots, alive=alive)
        videos = Video.objects.in_bulk([prep.ids[pos] for pos in order] + cold_ids)
        gone = [pos for pos in order if prep.ids[pos] not in videos]
        gone_cold = {vid for vid in cold_ids if vid not in videos}
        if not gone and not gone_cold:
            break
        alive[gone] = False
        prep.cold = [(vid, s) for vid, s in prep.cold if vid not in gone_cold]
    result = []
    for pos in order:
        if prep.ids[pos] not in videos:
            continue
        source = _why([SOURCES[c] for c in np.flatnonzero(prep.has[pos])], prep.feats, pos)
        reason = prep.texts[int(prep.reasons[pos, _COL[source]])]
        result.append(RankedItem(video=videos[prep.ids[pos]], score=float(scores[pos]), source=source, reason=reason))
    cold_scores = dict(prep.cold)
    for vid in cold_ids:
        if vid in videos:
            result.append(RankedItem(video=videos[vid], score=cold_scores[vid], source="cold", reason=COLD_REASON))
    return result


# Which ranking feature each source's evidence shows up in, for "why this".
_SOURCE_FEATURE = {"interest": "relevance", "collab": "collab", "ease": "ease", "sequence": "sequence",
                   "popular": "popularity", "fresh": "freshness", "made_for_you": "made_for_you", "explore": None,
                   "cold": None}


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
