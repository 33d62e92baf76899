"""Reads for the feed: retrieve from every source, rank, diversify, filter what was seen."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from core.vec import from_bytes
from feed import ranking, sources
from generation.models import Video
from generation.selectors import videos_visible
from profiles import indexes, weights
from profiles.models import Interaction, Interest

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


def ranked_for_user(
    *,
    user,
    k: int,
    exclude: set[int] | frozenset[int] = frozenset(),
    seed: int = 0,
    include_generated: bool = True,
    explore_slots: int = 0,
) -> list[RankedItem]:
    """The viewer's best k unseen items, best first. The feed, `recommend` and evaluation all use this."""
    index = indexes.items().ready()
    interests = list(Interest.objects.filter(user=user))
    now = timezone.now()
    excluded = set(exclude) | seen_video_ids(user=user)
    rng = random.Random(seed)

    # 1. Retrieve from every source.
    if interests:
        ivecs = np.vstack([from_bytes(i.vector) for i in interests])
        iweights = np.array([max(i.weight, 1e-3) for i in interests], dtype=np.float32)
        candidates = sources.interest_candidates(
            index=index, vectors=ivecs, weights=iweights, labels=[i.label for i in interests], exclude=excluded
        )
    else:
        ivecs, iweights = np.zeros((0, index.dim), np.float32), np.zeros(0, np.float32)
        candidates = {}
    for extra in (
        sources.collab_candidates(user=user),
        sources.popular_candidates(),
        sources.fresh_candidates(user=user) if include_generated else {},
        sources.explore_candidates(index=index, rng=rng) if explore_slots else {},
    ):
        for vid, cand in extra.items():
            for source, value in cand.sources.items():
                sources._merge(candidates, vid, source, value, cand.reasons[source])

    # 2. Filter: seen, hidden, disliked, other viewers' private renders.
    ids = [vid for vid in candidates if vid not in excluded]
    visible = videos_visible(user=user) if include_generated else Video.objects.filter(made_for__isnull=True)
    rows = {
        row[0]: row
        for row in visible.filter(pk__in=ids, embedded_at__isnull=False).values_list(
            "id", "created_at", "views", "likes", "negatives", "made_for_id"
        )
    }
    ids = [vid for vid in ids if vid in rows]
    ids = [vid for vid, held in zip(ids, index.present(ids)) if held]  # not yet (or no longer) in this index
    if not ids:
        return []

    # 3. Rank on features from every source.
    vectors = index.vectors(ids)
    negatives = list(
        Interaction.objects.filter(user=user, kind__in=weights.NEGATIVE_KINDS, video__embedding__isnull=False)
        .order_by("-created_at")
        .values_list("video__embedding", flat=True)[:NEGATIVE_MEMORY]
    )
    nvecs = np.vstack([from_bytes(b) for b in negatives]) if negatives else np.zeros((0, index.dim), np.float32)
    stats = np.array([(r[2], r[3], r[4]) for r in (rows[v] for v in ids)], dtype=np.float32)
    feats = ranking.features_for(
        item_vectors=vectors,
        interest_vectors=ivecs,
        interest_weights=iweights,
        negative_vectors=nvecs,
        popularity=stats[:, 1] * 3 + stats[:, 0] - 2 * stats[:, 2],
        age_days=np.array([(now - rows[v][1]).total_seconds() / 86400 for v in ids], np.float32),
        source_counts=np.array([len(candidates[v].sources) for v in ids], np.float32),
        made_for_you=np.array([1.0 if "made_for_you" in candidates[v].sources else 0.0 for v in ids], np.float32),
        collab=np.array([candidates[v].sources.get("collab", 0.0) for v in ids], np.float32),
    )
    scores = ranking.score(feats)
    explore_only = np.array([set(candidates[v].sources) == {"explore"} for v in ids])

    # 4. Diversify the exploited part with MMR; keep a few exploration slots.
    slots = min(explore_slots, int(explore_only.sum()), max(k // 6, 0))
    main = np.flatnonzero(~explore_only)
    top = main[np.argsort(-scores[main], kind="stable")][: max(4 * k, 50)]
    order = [int(top[p]) for p in ranking.mmr(scores[top], vectors[top], k - slots)]
    explore = [int(p) for p in np.flatnonzero(explore_only)][:slots]
    for n, pos in enumerate(explore):
        order.insert(min(len(order), (n + 1) * (k // (slots + 1))), pos)

    picked = [ids[pos] for pos in order[:k]]
    videos = Video.objects.in_bulk(picked)
    result = []
    for pos, vid in zip(order, picked):
        source = _why(candidates[vid], feats, pos)
        result.append(RankedItem(video=videos[vid], score=float(scores[pos]), source=source, reason=candidates[vid].reasons[source]))
    return result


# Which ranking feature each source's evidence shows up in, for "why this".
_SOURCE_FEATURE = {"interest": "relevance", "collab": "collab", "popular": "popularity", "fresh": "freshness",
                   "made_for_you": "made_for_you", "explore": None}


def _why(cand, feats: dict[str, np.ndarray], pos: int) -> str:
    """The source whose feature contributed most to this item's score."""
    def contribution(source: str) -> float:
        feature = _SOURCE_FEATURE.get(source)
        return ranking.current_weights().get(feature, 0.0) * float(feats[feature][pos]) if feature else -1.0

    return max(cand.sources, key=contribution)


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
