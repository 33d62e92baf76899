"""What to make next, learnt from how audiences engage with what was made.

Every generated piece is a combination of arms, one per dimension (ARM_DIMENSIONS): its world,
format, tone, voice pace, music genre, length, aspect, and whether it is a series episode.
Each impression of a piece earns a reward in [0, 1] (profiles/weights.impression_reward, beside
the event weights) that is credited to each of its arms, in each context it was made for:
"global", the taste cluster ("cluster:<topic>", the topic of the world nearest the taste), and
for a personal piece its viewer ("user:<id>"). The piece itself is an arm too (dimension
"piece"), so the feed can show a piece that underperforms its cluster less.

The policy is Thompson sampling over these factored Beta posteriors. A context borrows its prior
from the context above it (PRIOR_STRENGTH pseudo-impressions at the parent's mean), so a new
cluster starts from what the platform knows, and a new viewer from their cluster. Guards:
- options come from the taste: worlds within WORLD_FLOOR of the nearest, and the formats,
  tones and music that world has; the writer applies a choice only where it fits;
- exploration (a choice other than the posterior mean's best) is limited to EXPLORE_SHARE of
  renders, counted over the recent window;
- a HOLDOUT_SHARE of renders is planned the old way (the writer's own choices): the always-on
  A/B the dashboard reports the lift against.

The statistics (ArmStat) are folded incrementally from the impression log by `bandit_refresh`
once an impression has settled (SETTLE_S, so its engagement has arrived); `replay` folds the
same log from scratch, and gives the same table.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from generation.writing import phrases as P
from generation.writing.writer import LENGTHS_S, VOICE_PACES

logger = logging.getLogger("tailor.bandit")

ARM_DIMENSIONS = ("world", "format", "tone", "voice", "music", "length", "aspect", "series")
# What the policy chooses, in this order (a world's formats, tones and music depend on it).
CHOSEN = ("world", "format", "tone", "music", "length", "voice", "series")
GLOBAL = "global"


class Policy:
    BANDIT = "bandit"  # Thompson sampling, exploiting: every arm is the posterior mean's best
    EXPLORE = "explore"  # Thompson sampling, one or more arms other than the best
    HOLDOUT = "holdout"  # the old planner: the writer's own choices
    RANDOM = "random"  # uniform arms (the simulator's baseline)
    FALLBACK = "fallback"  # the bandit's arms fit the taste too poorly: the writer's own instead
    NONE = ""  # not planned by the bandit (an old piece, or a brief that fixed everything)


# ---- arms of a piece -------------------------------------------------------------------------------

def length_arm(duration_s: float) -> str:
    """The length bucket of a duration: the LENGTHS_S entry nearest it."""
    return min(LENGTHS_S, key=lambda k: abs(LENGTHS_S[k] - float(duration_s)))


def voice_arm(rate: float) -> str:
    return min(VOICE_PACES, key=lambda k: abs(VOICE_PACES[k] - float(rate)))


def arms_of(script: dict) -> dict[str, str]:
    """The arms a script was made from, read from the script itself (so a piece is credited
    with what it is, whichever policy or writer made it)."""
    if not script:
        return {}
    cast = script.get("cast") or []
    rate = (cast[0].get("voice") or {}).get("rate", 1.0) if cast else 1.0
    series = script.get("series") or {}
    return {
        "world": str((script.get("world") or {}).get("family", "")),
        "format": str(script.get("format", "")),
        "tone": str(script.get("tone", "")),
        "voice": voice_arm(rate),
        "music": str((script.get("music") or {}).get("genre", "")),
        "length": length_arm(script.get("duration_s", 20.0)),
        "aspect": str(script.get("aspect", "")),
        "series": "episode" if series and int(series.get("episode", 1)) > 1 else "standalone",
    }


def cluster_of(taste: np.ndarray) -> str:
    """The taste cluster a taste belongs to: the topic of its nearest world. Worlds are fixed,
    so the clusters are stable across planning runs (k-means clusters of the day are not)."""
    from generation.writing.world import world_vectors, worlds_all

    sims = world_vectors() @ np.asarray(taste, dtype=np.float32)
    return f"cluster:{worlds_all()[int(np.argmax(sims))].topic}"


def contexts_for(*, cluster: str, user_id: int | None = None) -> list[str]:
    """The contexts a piece's reward is credited in, broadest first."""
    return [GLOBAL, cluster] + ([f"user:{user_id}"] if user_id else [])


# ---- statistics and posteriors -------------------------------------------------------------------

@dataclass
class Stats:
    """Impressions and summed reward per (context, dimension, value): what ArmStat rows hold."""

    table: dict[tuple[str, str, str], list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))

    def add(self, contexts: Iterable[str], arms: dict[str, str], reward: float, piece: str | None = None) -> None:
        items = list(arms.items()) + ([("piece", piece)] if piece else [])
        for context in contexts:
            for dimension, value in items:
                if value:
                    row = self.table[(context, dimension, value)]
                    row[0] += 1
                    row[1] += float(reward)

    def get(self, context: str, dimension: str, value: str) -> tuple[int, float]:
        n, total = self.table.get((context, dimension, value), (0, 0.0))
        return int(n), float(total)

    def mean(self, contexts: list[str], dimension: str, value: str) -> tuple[float, float]:
        """(a, b) of the Beta posterior at the last context, each context's prior borrowed from
        the one before it at PRIOR_STRENGTH pseudo-impressions; the first starts at Beta(1, 1)."""
        strength = float(settings.BANDIT_PRIOR_STRENGTH)
        a, b = 1.0, 1.0
        for depth, context in enumerate(contexts):
            n, total = self.get(context, dimension, value)
            if depth:
                m = a / (a + b)
                a, b = strength * m, strength * (1.0 - m)
            a, b = a + total, b + (n - total)
        return a, b

    def context_mean(self, context: str) -> float:
        """The mean reward of every piece in a context (all its impressions)."""
        rows = [(n, t) for (c, d, _), (n, t) in self.table.items() if c == context and d == "piece"]
        n = sum(r[0] for r in rows)
        return (sum(r[1] for r in rows) + 1.0) / (n + 2.0)

    @classmethod
    def load(cls, contexts: Iterable[str] | None = None) -> Stats:
        from generation.models import ArmStat

        qs = ArmStat.objects.all() if contexts is None else ArmStat.objects.filter(context__in=list(contexts))
        stats = cls()
        for context, dimension, value, n, total in qs.values_list("context", "dimension", "value", "impressions", "reward"):
            stats.table[(context, dimension, value)] = [n, total]
        return stats


# ---- the policy ------------------------------------------------------------------------------------

@dataclass
class Budget:
    """Renders planned and explored over the window: exploration stays within its share."""

    planned: int = 0
    explored: int = 0

    def may_explore(self) -> bool:
        return self.explored + 1 <= settings.BANDIT_EXPLORE_SHARE * (self.planned + 1)

    def record(self, policy: str) -> None:
        if policy in (Policy.BANDIT, Policy.EXPLORE):
            self.planned += 1
            self.explored += policy == Policy.EXPLORE

    @classmethod
    def load(cls) -> Budget:
        from generation.models import RenderJob

        since = timezone.now() - timedelta(days=settings.BANDIT_BUDGET_WINDOW_DAYS)
        rows = dict(RenderJob.objects.filter(created_at__gte=since, policy__in=[Policy.BANDIT, Policy.EXPLORE])
                    .values_list("policy").annotate(n=Count("id")))
        bandit, explore = rows.get(Policy.BANDIT, 0), rows.get(Policy.EXPLORE, 0)
        return cls(planned=bandit + explore, explored=explore)


def holdout(seed: int) -> bool:
    """Whether a render falls in the A/B holdout: a stable hash of its seed, not a coin toss,
    so a retried plan makes the same decision."""
    u = int.from_bytes(hashlib.sha256(f"tailor-holdout:{seed}".encode()).digest()[:8], "big") / 2**64
    return u < settings.BANDIT_HOLDOUT_SHARE


def options_for(taste: np.ndarray) -> dict:
    """What the policy may choose for this taste: nearby worlds (within WORLD_FLOOR of the
    nearest, at most 4) and, per world, its formats, tones and music."""
    from generation.writing.world import world_vectors, worlds_all

    sims = world_vectors() @ np.asarray(taste, dtype=np.float32)
    order = [int(i) for i in np.argsort(-sims)[:4]]
    worlds = worlds_all()
    near = [worlds[i] for i in order if sims[i] >= sims[order[0]] - settings.BANDIT_WORLD_FLOOR]
    return {w.id: w for w in near}


def _allowed(dimension: str, chosen: dict, worlds: dict) -> list[str]:
    world = worlds[chosen["world"]] if chosen.get("world") in worlds else None
    if dimension == "world":
        return list(worlds)
    if dimension == "format":
        return [f for f in (world.formats if world else ()) if f in P.FORMATS]
    if dimension == "tone":
        allowed = P.FORMAT_TONES.get(chosen.get("format", ""), list(P.TONES))
        return [t for t in (world.tones if world else ()) if t in allowed] or [t for t in allowed if t in P.TONES]
    if dimension == "music":
        return list(world.music) if world else []
    if dimension == "length":
        return list(LENGTHS_S)
    if dimension == "voice":
        return list(VOICE_PACES)
    if dimension == "series":  # offered where a piece of this cluster has earned a next episode
        return ["standalone", "episode"] if chosen.get("_episode_ok") else []
    return []


def choose(*, taste: np.ndarray, contexts: list[str], stats: Stats, budget: Budget, rng: random.Random,
           policy: str = Policy.BANDIT, worlds: dict | None = None, episode_ok: bool = False) -> tuple[dict[str, str], str]:
    """The arms of the next piece for this taste, and the policy that chose them. Under the
    bandit, each dimension is a Thompson draw among its allowed options; if any draw differs
    from the posterior mean's best and the exploration budget is spent, every arm is the best.
    episode_ok offers the series arm (a next episode of a piece that did well)."""
    worlds = options_for(taste) if worlds is None else worlds
    if policy == Policy.HOLDOUT or not worlds:
        return {}, Policy.HOLDOUT
    start = {"_episode_ok": "1"} if episode_ok else {}
    if policy == Policy.RANDOM:
        chosen: dict[str, str] = dict(start)
        for dimension in CHOSEN:
            options = _allowed(dimension, chosen, worlds)
            if options:
                chosen[dimension] = rng.choice(options)
        chosen.pop("_episode_ok", None)
        return chosen, Policy.RANDOM

    def pick(sampled: bool) -> dict[str, str]:
        chosen: dict[str, str] = dict(start)
        draw = random.Random(rng_seed)
        for dimension in CHOSEN:
            options = _allowed(dimension, chosen, worlds)
            if not options:
                continue
            scores = []
            for value in options:
                a, b = stats.mean(contexts, dimension, value)
                scores.append(draw.betavariate(a, b) if sampled else a / (a + b))
            chosen[dimension] = options[int(np.argmax(scores))]
        chosen.pop("_episode_ok", None)
        return chosen

    rng_seed = rng.randrange(2**63)
    sampled, best = pick(True), pick(False)
    if sampled == best:
        return best, Policy.BANDIT
    if budget.may_explore():
        return sampled, Policy.EXPLORE
    return best, Policy.BANDIT


def plan_choice(*, taste: np.ndarray, seed: int, cluster: str, user_id: int | None = None,
                stats: Stats | None = None, budget: Budget | None = None,
                episode_ok: bool = False) -> tuple[dict[str, str], str, list[str]]:
    """Arms, policy and contexts for a planned render (the planner's entry point)."""
    contexts = contexts_for(cluster=cluster, user_id=user_id)
    if not settings.BANDIT_ENABLED or holdout(seed):
        return {}, Policy.HOLDOUT, contexts
    stats = Stats.load(contexts) if stats is None else stats
    budget = Budget.load() if budget is None else budget
    arms, policy = choose(taste=taste, contexts=contexts, stats=stats, budget=budget, rng=random.Random(seed),
                          episode_ok=episode_ok)
    budget.record(policy)
    return arms, policy, contexts


TASTE_BEARING = ("world", "format")  # the arms that move a script's taste fit; the rest barely do


def written_on_taste(write, choices: dict, policy: str):
    """The guard on taste fit: `write(choices)` writes a script (a WrittenScript with .fit). The
    bandit's script is kept if its fit to the taste is within FIT_SLACK of the writer's own
    choices, the cosine it may trade for the engagement it expects. Else its world and format
    give way to the writer's (tone, music, length and voice stay the bandit's), and failing that
    the writer's own script is kept, as FALLBACK. Returns (written, policy)."""
    chosen = write(choices)
    if not choices:
        return chosen, policy
    own = write({})
    floor = (own.fit or 0.0) - settings.BANDIT_FIT_SLACK
    if (chosen.fit or 0.0) >= floor:
        return chosen, policy
    neutral = {k: v for k, v in choices.items() if k not in TASTE_BEARING}
    if neutral:
        kept = write(neutral)
        if (kept.fit or 0.0) >= floor:
            return kept, policy
    logger.debug("bandit choices %s fit the taste at %.3f against %.3f: the writer's own", choices, chosen.fit or 0.0,
                own.fit or 0.0)
    return own, Policy.FALLBACK


# ---- rewards from the impression log ------------------------------------------------------------------

def _rewards(impressions: list[tuple]) -> list[float]:
    """The reward of each (impression id, user id, video id, shown at) from the events that
    followed it: those before SETTLE_S has passed and before the piece was shown to the viewer
    again (an event belongs to the last impression before it)."""
    from bisect import bisect_right

    from feed.models import Impression
    from profiles.models import Interaction
    from profiles.weights import impression_reward

    if not impressions:
        return []
    settle = timedelta(seconds=settings.BANDIT_SETTLE_S)
    start = min(i[3] for i in impressions) - timedelta(seconds=1)
    users, videos = {i[1] for i in impressions}, {i[2] for i in impressions}
    events: dict[tuple[int, int], list] = defaultdict(list)
    for user_id, video_id, kind, fraction, at in Interaction.objects.filter(
            video_id__in=videos, user_id__in=users, created_at__gte=start).values_list(
            "user_id", "video_id", "kind", "watch_fraction", "created_at"):
        events[(user_id, video_id)].append((at, kind, fraction))
    shown_at: dict[tuple[int, int], list] = defaultdict(list)
    for user_id, video_id, at in Impression.objects.filter(video_id__in=videos, user_id__in=users, created_at__gte=start
                                                           ).values_list("user_id", "video_id", "created_at"):
        shown_at[(user_id, video_id)].append(at)
    rewards = []
    for _, u, v, shown in impressions:
        times = sorted(shown_at[(u, v)])
        after = times[bisect_right(times, shown):]
        end = min(after[0], shown + settle) if after else shown + settle
        rewards.append(impression_reward((k, f) for at, k, f in events[(u, v)] if shown - timedelta(seconds=1) <= at < end))
    return rewards


def _credits(chunk: list[tuple]) -> list[tuple[list[str], dict, float, str]]:
    """(contexts, arms, reward, piece) for each impression of a generated piece in the chunk."""
    from generation.models import RenderJob

    from core.vec import from_bytes

    jobs = {video_id: (arms, context, user_id, embedding) for video_id, arms, context, user_id, embedding in
            RenderJob.objects.filter(video_id__in={i[2] for i in chunk}).exclude(arms={})
            .values_list("video_id", "arms", "arm_context", "user_id", "video__embedding")}
    mine = [i for i in chunk if i[2] in jobs]
    out = []
    for (_, _, video_id, _), reward in zip(mine, _rewards(mine)):
        arms, context, owner, embedding = jobs[video_id]
        if not context:  # a piece not planned by the bandit: its cluster is where its own text lies
            context = cluster_of(from_bytes(embedding)) if embedding else "cluster:unknown"
        out.append((contexts_for(cluster=context, user_id=owner), arms, reward, str(video_id)))
    return out


def _settled(after_id: int, limit: int) -> list[tuple]:
    from feed.models import Impression

    cutoff = timezone.now() - timedelta(seconds=settings.BANDIT_SETTLE_S)
    rows = list(Impression.objects.filter(pk__gt=after_id).order_by("pk")
                .values_list("pk", "user_id", "video_id", "created_at")[:limit])
    settled = []
    # In id order, stopping at the first that has not settled, so none is skipped: an id is only
    # passed once every earlier one has settled, far longer than any transaction stays open.
    for row in rows:
        if row[3] > cutoff:
            break
        settled.append(row)
    return settled


def bandit_refresh(*, chunk: int = 5000, progress=None) -> dict[str, int]:
    """Fold the settled impressions since the last run into ArmStat. Idempotent: the cursor
    and the statistics move in one transaction, so a retry or a concurrent run folds nothing twice."""
    from generation.models import BanditCursor

    folded = credited = 0
    while True:
        with transaction.atomic():
            cursor, _ = BanditCursor.objects.select_for_update().get_or_create(name="impressions")
            rows = _settled(cursor.position, chunk)
            if not rows:
                break
            stats = Stats()
            for contexts, arms, reward, piece in _credits(rows):
                stats.add(contexts, arms, reward, piece)
                credited += 1
            _stats_save(stats)
            cursor.position = rows[-1][0]
            cursor.save(update_fields=["position"])
            folded += len(rows)
        if progress:
            progress(folded)
    if folded:
        logger.info("bandit refresh folded=%d credited=%d", folded, credited)
    return {"impressions": folded, "credited": credited}


def _stats_save(stats: Stats) -> None:
    from django.db.models import F

    from generation.models import ArmStat

    for (context, dimension, value), (n, total) in stats.table.items():
        updated = ArmStat.objects.filter(context=context, dimension=dimension, value=value).update(
            impressions=F("impressions") + n, reward=F("reward") + total)
        if not updated:
            ArmStat.objects.create(context=context, dimension=dimension, value=value, impressions=n, reward=total)


def replay(*, until_id: int | None = None) -> Stats:
    """The statistics folded from scratch from the logged impressions (up to until_id): what
    the online table must equal. The check that the log is enough to reproduce the policy."""
    stats = Stats()
    position = 0
    while True:
        rows = _settled(position, 5000)
        if until_id is not None:
            rows = [r for r in rows if r[0] <= until_id]
        if not rows:
            return stats
        for contexts, arms, reward, piece in _credits(rows):
            stats.add(contexts, arms, reward, piece)
        position = rows[-1][0]


def episode_candidate(cluster: str, stats: Stats | None = None):
    """The piece of this cluster that has earned a next episode: at least SERIES_MIN_IMPRESSIONS
    settled impressions, a mean reward above its cluster's, and no next episode made yet; the
    best such, or None."""
    from generation.models import ArmStat, RenderJob, Video

    stats = Stats.load([cluster]) if stats is None else stats
    base = stats.context_mean(cluster)
    rows = [(int(v), t / n) for v, n, t in ArmStat.objects.filter(
        context=cluster, dimension="piece", impressions__gte=settings.BANDIT_SERIES_MIN_IMPRESSIONS)
        .values_list("value", "impressions", "reward") if t / n > base]
    made = {(s.get("id"), int(s.get("episode", 0))) for s in RenderJob.objects.filter(arm_context=cluster)
            .exclude(script={}).values_list("script__series", flat=True) if s}
    for video_id, _ in sorted(rows, key=lambda r: -r[1]):
        video = Video.objects.filter(pk=video_id, made_for__isnull=True).exclude(script={}).first()
        if video is None:
            continue
        series = video.script.get("series") or {"id": f"series-{video.script.get('seed')}", "episode": 1}
        if (series["id"], int(series["episode"]) + 1) not in made:
            return video
    return None


# ---- the feed: pieces that underperform their cluster are shown less -------------------------------------

def piece_multipliers(video_ids: Iterable[int]) -> dict[int, float]:
    """A ranking multiplier per generated piece: its posterior mean reward (prior: its cluster's
    mean at PIECE_PRIOR impressions, a fair first audience) over the cluster's mean, clipped to
    [0.5, 1.5], in the cluster it was planned for (global for a piece the bandit did not plan).
    Videos that are not generated pieces are left out (multiplier 1)."""
    from generation.models import ArmStat, RenderJob

    jobs = {v: c or GLOBAL for v, c in RenderJob.objects.filter(video_id__in=list(video_ids)).exclude(arms={})
            .values_list("video_id", "arm_context")}
    if not jobs:
        return {}
    stats = Stats.load(set(jobs.values()))
    rows = {(int(v), c): (n, t) for c, v, n, t in ArmStat.objects.filter(
        dimension="piece", value__in=[str(v) for v in jobs], context__in=set(jobs.values()))
        .values_list("context", "value", "impressions", "reward")}
    prior = float(settings.BANDIT_PIECE_PRIOR)
    out = {}
    for video_id, context in jobs.items():
        base = stats.context_mean(context)
        n, total = rows.get((video_id, context), (0, 0.0))
        mean = (prior * base + total) / (prior + n)
        out[video_id] = float(min(max(mean / base, 0.5), 1.5))
    return out


# ---- what operators see ----------------------------------------------------------------------------

def _posterior_mean(ab: tuple[float, float]) -> float:
    return ab[0] / (ab[0] + ab[1])


def bandit_report(*, top: int = 3, since_days: int = 30) -> dict:
    """Per cluster (and global): each chosen dimension's best arms by posterior mean with their
    impressions; and the A/B: mean reward and like rate per impression of pieces the bandit
    planned against the holdout planned the old way, with the lift."""
    from feed.models import Impression
    from profiles.models import Interaction

    from generation.models import ArmStat, RenderJob

    stats = Stats.load()
    contexts = sorted({c for c, _, _ in stats.table if not c.startswith("user:")}, key=lambda c: (c != GLOBAL, c))
    clusters = []
    for context in contexts:
        chain = [GLOBAL] if context == GLOBAL else [GLOBAL, context]
        dims = {}
        for dimension in CHOSEN:
            values = [v for (c, d, v) in stats.table if c == context and d == dimension]
            means = {v: _posterior_mean(stats.mean(chain, dimension, v)) for v in values}
            ranked = sorted(values, key=lambda v: (-means[v], v))
            dims[dimension] = [{"arm": v, "mean": round(means[v], 3), "impressions": stats.get(context, dimension, v)[0]}
                               for v in ranked[:top]]
        pieces = sum(1 for (c, d, _) in stats.table if c == context and d == "piece")
        clusters.append({"context": context, "pieces": pieces, "arms": dims})
    since = timezone.now() - timedelta(days=since_days)
    arms_ab = {}
    for label, policies in (("bandit", [Policy.BANDIT, Policy.EXPLORE]), ("holdout", [Policy.HOLDOUT])):
        videos = list(RenderJob.objects.filter(policy__in=policies, video__isnull=False, created_at__gte=since)
                      .values_list("video_id", flat=True))
        shown = Impression.objects.filter(video_id__in=videos).count()
        liked = Interaction.objects.filter(video_id__in=videos, kind=Interaction.Kind.LIKE).values("user_id", "video_id").distinct().count()
        rows = ArmStat.objects.filter(context=GLOBAL, dimension="piece", value__in=[str(v) for v in videos])
        n = sum(r.impressions for r in rows)
        arms_ab[label] = {"pieces": len(videos), "impressions": shown, "like_rate": round(liked / shown, 4) if shown else None,
                          "mean_reward": round(sum(r.reward for r in rows) / n, 4) if n else None}
    b, h = arms_ab["bandit"]["like_rate"], arms_ab["holdout"]["like_rate"]
    arms_ab["lift"] = round(b / h, 3) if b is not None and h else None
    arms_ab["holdout_share"] = settings.BANDIT_HOLDOUT_SHARE
    return {"clusters": clusters, "ab": arms_ab}
