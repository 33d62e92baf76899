"""Offline evaluation on whatever interactions are stored: chronological leave-last-out.

For each viewer, the last positive engagement with an item they had not seen before
is held out. Everything the platform learned is rebuilt from the rest inside a
transaction that is rolled back at the end: video counters, taste (replayed through
the same online fold), and the co-engagement table. Then the feed's own ranking
(`ranked_for_user`, the code `recommend` uses) is scored against popularity and
item-kNN baselines computed in the same run, over the whole catalogue.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q

from feed import ranking, sources
from feed.collaborative import neighbours_build, neighbours_override, positive_pairs
from feed.selectors import ranked_for_user
from feed.services import feed_seed
from generation.models import Video
from profiles import weights
from profiles.models import Interaction
from profiles.taste import interests_replay


class _Rollback(Exception):
    pass


def _is_positive(kind: str, fraction: float | None) -> bool:
    return weights.event_weight(kind, fraction) > 0


def holdout_split(*, max_users: int | None, seed: int) -> dict[int, tuple[int, int]]:
    """{user id: (held-out interaction id, video id)} for viewers with a usable last positive."""
    by_user: dict[int, list[tuple]] = defaultdict(list)
    rows = Interaction.objects.order_by("user_id", "created_at", "id").values_list(
        "user_id", "id", "video_id", "kind", "watch_fraction"
    )
    for user_id, iid, vid, kind, fraction in rows.iterator(chunk_size=20000):
        by_user[user_id].append((iid, vid, kind, fraction))
    split = {}
    for user_id, events in by_user.items():
        for pos in range(len(events) - 1, 0, -1):
            iid, vid, kind, fraction = events[pos]
            if not _is_positive(kind, fraction):
                continue
            earlier = {e[1] for e in events[:pos]}
            if vid not in earlier and any(_is_positive(e[2], e[3]) for e in events[:pos]):
                split[user_id] = (iid, vid)
            break
    users = sorted(split)
    if max_users and len(users) > max_users:
        users = sorted(random.Random(seed).sample(users, max_users))
    return {u: split[u] for u in users}


def _metrics(recs: dict[int, list[int]], truth: dict[int, int], popularity: Counter, n_users: int, n_items: int, k: int):
    hits, ndcg, rec_items, novelty = 0, 0.0, set(), []
    for user, items in recs.items():
        items = items[:k]
        rec_items.update(items)
        target = truth[user]
        if target in items:
            hits += 1
            ndcg += 1.0 / math.log2(items.index(target) + 2)
        novelty.extend(-math.log2((popularity.get(i, 0) + 1) / (n_users + 1)) for i in items)
    n = max(len(recs), 1)
    return {
        f"hr_at_{k}": round(hits / n, 4),
        f"ndcg_at_{k}": round(ndcg / n, 4),
        "coverage": round(len(rec_items) / max(n_items, 1), 4),
        "novelty_bits": round(float(np.mean(novelty)) if novelty else 0.0, 3),
    }


def evaluate(
    *, k: int = 10, max_users: int | None = 2000, seed: int = 0, fit: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """The report; with fit, also coordinate-ascent ranking weights on NDCG@k (report["fit"])."""
    split = holdout_split(max_users=max_users, seed=seed)
    if not split:
        raise ValueError("no viewer has two positive engagements with different videos: nothing to evaluate")
    truth = {u: vid for u, (_, vid) in split.items()}
    n_items = Video.objects.filter(made_for__isnull=True).count()
    progress(f"evaluating {len(split)} viewers over {n_items} videos (k={k})")
    report: dict = {}
    try:
        with transaction.atomic():
            # Forget the held-out events and everything after them, per viewer.
            held = dict(Interaction.objects.filter(pk__in=[iid for iid, _ in split.values()]).values_list("user_id", "created_at"))
            viewers = list(split)
            for start in range(0, len(viewers), 200):
                cutoff = Q()
                for user_id in viewers[start : start + 200]:
                    cutoff |= Q(user_id=user_id, created_at__gte=held[user_id])
                Interaction.objects.filter(cutoff).delete()
            _counters_rebuild()
            interests_replay(user_ids=list(split), progress=lambda d, t: progress(f"replaying taste {d}/{t}"))
            users, videos = positive_pairs()
            table = neighbours_build(users, videos)
            knn_table = neighbours_build(users, videos, k=200)
            popularity = Counter(videos.tolist())
            n_users = len(set(users.tolist()))
            sources.global_lists_clear()
            seen = defaultdict(set)
            for u, v in Interaction.objects.filter(user_id__in=list(split)).values_list("user_id", "video_id"):
                seen[u].add(v)

            User = get_user_model()

            def rank_all(weights: dict[str, float] | None) -> dict[int, list[int]]:
                ranked: dict[int, list[int]] = {}
                with neighbours_override(table), ranking.weights_override(weights):
                    for n, user_id in enumerate(split, 1):
                        user = User(pk=user_id)
                        items = ranked_for_user(user=user, k=k, include_generated=False, seed=feed_seed(user=user, page=0))
                        ranked[user_id] = [i.video.pk for i in items]
                        if n % 500 == 0:
                            progress(f"ranked {n}/{len(split)} viewers")
                return ranked

            if fit:
                report["fit"] = _fit(rank_all, lambda recs: _metrics(recs, truth, popularity, 1, 1, k)[f"ndcg_at_{k}"], progress)
                ours = rank_all(report["fit"]["weights"])
            else:
                ours = rank_all(None)
            public = set(Video.objects.filter(made_for__isnull=True).values_list("id", flat=True))
            by_pop = [v for v, _ in popularity.most_common() if v in public]
            popular = {u: [v for v in by_pop if v not in seen[u]][:k] for u in split}
            item_knn = {}
            for user_id in split:
                scores: dict[int, float] = defaultdict(float)
                for v in seen[user_id]:
                    ids, sims = knn_table.of(v)
                    for i, s in zip(ids.tolist(), sims.tolist()):
                        scores[i] += s
                ranked = [i for i, _ in sorted(scores.items(), key=lambda kv: -kv[1]) if i not in seen[user_id] and i in public]
                item_knn[user_id] = (ranked + [v for v in by_pop if v not in seen[user_id] and v not in scores])[:k]
            report.update({
                "viewers": len(split),
                "videos": n_items,
                "positive_pairs_used": len(users),
                "tailor": _metrics(ours, truth, popularity, n_users, n_items, k),
                "item_knn": _metrics(item_knn, truth, popularity, n_users, n_items, k),
                "popularity": _metrics(popular, truth, popularity, n_users, n_items, k),
            })
            raise _Rollback
    except _Rollback:
        pass
    finally:
        sources.global_lists_clear()
    return report


def _counters_rebuild() -> None:
    """Video engagement counters from the interactions that remain."""
    counts = (
        Interaction.objects.values("video_id")
        .annotate(
            views=Count("id"),
            likes=Count("id", filter=Q(kind__in=["like", "share"])),
            negatives=Count("id", filter=Q(kind__in=list(weights.NEGATIVE_KINDS))),
        )
    )
    Video.objects.update(views=0, likes=0, negatives=0)
    updates = [Video(pk=c["video_id"], views=c["views"], likes=c["likes"], negatives=c["negatives"]) for c in counts]
    Video.objects.bulk_update(updates, ["views", "likes", "negatives"], batch_size=1000)


FIT_FEATURES = ("relevance", "collab", "popularity", "freshness", "negative", "agreement")
FIT_SCALES = (0.0, 0.5, 2.0)


def _fit(rank_all, objective, progress, rounds: int = 2) -> dict:
    """Coordinate ascent over the ranking weights, each tried at a few multiples of its value."""
    best_weights = dict(ranking.WEIGHTS)
    best = objective(rank_all(best_weights))
    start = best
    for round_no in range(rounds):
        improved = False
        for feature in FIT_FEATURES:
            for scale in FIT_SCALES:
                trial = dict(best_weights)
                base = trial[feature] if trial[feature] != 0 else (-0.5 if feature == "negative" else 0.5)
                trial[feature] = round(base * scale, 4)
                value = objective(rank_all(trial))
                if value > best + 1e-4:
                    best, best_weights, improved = value, trial, True
                    progress(f"fit round {round_no + 1}: {feature}={trial[feature]} -> ndcg {value:.4f}")
        if not improved:
            break
    return {"weights": best_weights, "objective_ndcg": round(best, 4), "start_ndcg": round(start, 4)}
