"""The generation bandit: arms recorded, rewards credited, Thompson sampling within its budget,
the A/B holdout, replay of the impression log, and learning on the simulator."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from core.vec import normalize, to_bytes
from feed.models import Impression
from generation import bandit
from generation.bandit_sim import simulate
from generation.models import ArmStat, RenderJob, Video
from generation.writing import script_write_scored
from generation.writing.world import world_get, world_vectors, worlds_all
from profiles.models import Interaction

pytestmark = pytest.mark.django_db(transaction=True)

COOKING = "pasta"


def _world_taste(world_id: str) -> np.ndarray:
    ids = [w.id for w in worlds_all()]
    return normalize(world_vectors()[ids.index(world_id)])


def _piece(n: int, *, arms: dict, context: str, user=None, policy: str = bandit.Policy.BANDIT) -> Video:
    video = Video.objects.create(title=f"piece {n}", source=Video.Source.GENERATED, made_for=user,
                                 embedding=to_bytes(_world_taste(COOKING)))
    RenderJob.objects.create(key=f"k{n}", prompt="p", seed=n, model="storyboard", state="ready", video=video, user=user,
                             arms=arms, arm_context=context, policy=policy, purpose="gap" if user else "cluster")
    return video


def _show(user, video, *, at, events=(), session="s"):
    Impression.objects.create(user=user, video=video, session=f"{session}{user.pk}-{video.pk}", page=1, position=0, source="made",
                              score=1.0, created_at=at)
    for kind, fraction in events:
        Interaction.objects.create(user=user, video=video, kind=kind, watch_fraction=fraction, created_at=at + timedelta(seconds=5))


@pytest.fixture
def settled(settings):
    settings.BANDIT_SETTLE_S = 60.0
    return timezone.now() - timedelta(minutes=30)


def test_writer_applies_the_planners_choices_where_the_world_allows():
    taste = _world_taste(COOKING)
    world = world_get(COOKING)
    tone = [t for t in world.tones if t in ("playful", "cosy", "energetic", "heartfelt")][-1]
    choices = {"world": COOKING, "format": "host", "tone": tone, "music": world.music[-1], "length": "long", "voice": "brisk"}
    script = script_write_scored(taste=taste, seed=3, candidates=2, choices=choices).script
    arms = bandit.arms_of(script)
    assert arms["world"] == COOKING and arms["format"] == "host" and arms["tone"] == tone
    assert arms["music"] == world.music[-1] and arms["length"] == "long" and arms["voice"] == "brisk"
    assert script["duration_s"] == pytest.approx(27.0)
    # A choice the world does not have is ignored, not forced: the writer keeps its own.
    other = script_write_scored(taste=taste, seed=3, candidates=2, choices={"music": "no-such-genre", "format": "no-such"}).script
    assert other["music"]["genre"] in world.music + ("broadway",) and other["format"] in world.formats


def test_rewards_are_credited_to_the_pieces_arms_in_its_cluster_and_viewer(make_user, settled):
    a_arms = {"world": COOKING, "format": "host", "tone": "cosy", "music": "jazz", "length": "short", "voice": "natural",
              "aspect": "9:16", "series": "standalone"}
    b_arms = dict(a_arms, format="documentary", tone="epic", music="orchestral", length="long")
    owner, viewer = make_user(), make_user()
    a = _piece(1, arms=a_arms, context="cluster:cooking")
    b = _piece(2, arms=b_arms, context="cluster:space", user=owner)
    _show(viewer, a, at=settled, events=[("view", 1.0), ("like", None)])
    _show(owner, b, at=settled, events=[("skip", None)])
    # One of a catalogue video is not credited; one that has not settled yet is left for the next run.
    catalogue = Video.objects.create(title="catalogue")
    _show(viewer, catalogue, at=settled, events=[("like", None)])
    _show(viewer, b, at=timezone.now(), events=[("like", None)])

    assert bandit.bandit_refresh() == {"impressions": 2 + 1, "credited": 2}
    stat = {(s.context, s.dimension, s.value): s for s in ArmStat.objects.all()}
    liked = stat[("cluster:cooking", "format", "host")]
    assert liked.impressions == 1 and liked.reward == pytest.approx(1.0)  # watched in full (0.4 + 0.1) and liked (0.5)
    assert stat[("global", "format", "host")].reward == pytest.approx(1.0)
    skipped = stat[("cluster:space", "format", "documentary")]
    assert skipped.impressions == 1 and skipped.reward == 0.0
    assert stat[(f"user:{owner.pk}", "music", "orchestral")].impressions == 1  # a personal piece teaches its viewer's context
    assert ("cluster:space", "format", "host") not in stat and ("cluster:cooking", "format", "documentary") not in stat
    assert stat[("cluster:cooking", "piece", str(a.pk))].reward == pytest.approx(1.0)
    assert not any(k[2] == str(catalogue.pk) for k in stat)
    # Idempotent: nothing is folded twice.
    assert bandit.bandit_refresh() == {"impressions": 0, "credited": 0}
    assert ArmStat.objects.get(context="global", dimension="format", value="host").impressions == 1


def test_an_underperforming_piece_is_shown_less_after_a_fair_first_audience(make_user, settled, settings):
    settings.BANDIT_PIECE_PRIOR = 10.0
    arms = {"format": "host", "length": "short"}
    good, bad, new = (_piece(n, arms=arms, context="cluster:cooking") for n in (1, 2, 3))
    viewers = [make_user() for _ in range(12)]
    for v in viewers:
        _show(v, good, at=settled, events=[("view", 1.0), ("like", None)])
        _show(v, bad, at=settled, events=[("skip", None)])
    _show(viewers[0], new, at=settled, events=[("skip", None)])
    bandit.bandit_refresh()
    weights = bandit.piece_multipliers([good.pk, bad.pk, new.pk])
    assert weights[good.pk] > 1.2 and weights[bad.pk] < 0.8
    assert 0.85 < weights[new.pk] < 1.0  # one skip moves a new piece a little: the prior is its first audience
    # The feed ranks by it: a viewer of the cluster meets the piece its audience liked first,
    # though the other is as near their taste and newer.
    member = make_user()
    Video.objects.filter(pk__in=[good.pk, bad.pk]).update(embedded_at=timezone.now())
    for piece in (good, bad):
        piece.audience.add(member)
    from feed.selectors import ranked_for_user

    page = {item.video.pk: item for item in ranked_for_user(user=member, k=4)}
    assert page[good.pk].score > page[bad.pk].score + 0.1, {k: v.score for k, v in page.items()}


def test_replay_of_the_impression_log_reproduces_the_online_statistics(make_user, settled):
    rng = random.Random(5)
    owners = [make_user() for _ in range(3)]
    pieces = [_piece(n, arms={"format": rng.choice(["host", "musical"]), "tone": rng.choice(["cosy", "epic"]),
                              "length": rng.choice(["short", "long"])},
                     context=rng.choice(["cluster:cooking", "cluster:space"]), user=rng.choice(owners + [None]))
              for n in range(6)]
    viewers = [make_user() for _ in range(5)]
    kinds = [[("view", 0.9), ("like", None)], [("view", 0.05)], [("skip", None)], [("view", 0.5), ("share", None)], []]
    for round_ in range(3):  # engagement arrives in batches; the refresh runs between them, in small chunks
        for v in viewers:
            for p in rng.sample(pieces, 3):
                _show(v, p, at=settled + timedelta(seconds=100 * round_), events=rng.choice(kinds), session=f"r{round_}-")
        bandit.bandit_refresh(chunk=4)
    online = bandit.Stats.load()
    replayed = bandit.replay()
    assert set(online.table) == set(replayed.table) and len(online.table) > 20
    for key, (n, total) in replayed.table.items():
        assert online.table[key][0] == n and online.table[key][1] == pytest.approx(total, abs=1e-9)
    # And so the posterior the planner samples from is the same.
    chain = bandit.contexts_for(cluster="cluster:cooking")
    assert online.mean(chain, "format", "host") == pytest.approx(replayed.mean(chain, "format", "host"))


def test_exploration_never_exceeds_its_budget(settings):
    settings.BANDIT_EXPLORE_SHARE = 0.2
    stats, budget = bandit.Stats(), bandit.Budget()
    rng = random.Random(1)
    taste = _world_taste(COOKING)
    chain = bandit.contexts_for(cluster="cluster:cooking")
    policies = []
    for n in range(150):
        arms, policy = bandit.choose(taste=taste, contexts=chain, stats=stats, budget=budget, rng=random.Random(n))
        budget.record(policy)
        policies.append(policy)
        stats.add(chain, arms, rng.random() * 0.3)  # flat, noisy rewards: Thompson draws disagree with the mean often
        assert budget.explored <= 0.2 * budget.planned + 1e-9
    assert policies.count(bandit.Policy.EXPLORE) >= 20  # the budget is used, not avoided
    # The budget is counted from the recorded jobs as well, so it holds across planning runs.
    for n, policy in enumerate(policies[:50]):
        RenderJob.objects.create(key=f"b{n}", prompt="p", seed=n, model="storyboard", policy=policy)
    loaded = bandit.Budget.load()
    assert loaded.planned == 50 and loaded.explored == policies[:50].count(bandit.Policy.EXPLORE)


def test_the_ab_holdout_is_planned_the_old_way(settings):
    settings.BANDIT_HOLDOUT_SHARE = 0.25
    seeds = range(4000)
    held = [s for s in seeds if bandit.holdout(s)]
    assert 0.22 < len(held) / len(seeds) < 0.28
    taste = _world_taste(COOKING)
    for s in held[:5]:
        choices, policy, _ = bandit.plan_choice(taste=taste, seed=s, cluster="cluster:cooking", stats=bandit.Stats(),
                                                budget=bandit.Budget())
        assert policy == bandit.Policy.HOLDOUT and choices == {}
    free = next(s for s in seeds if not bandit.holdout(s))
    choices, policy, _ = bandit.plan_choice(taste=taste, seed=free, cluster="cluster:cooking", stats=bandit.Stats(),
                                            budget=bandit.Budget())
    assert policy in (bandit.Policy.BANDIT, bandit.Policy.EXPLORE) and set(choices) >= {"world", "format", "length"}


def test_planned_renders_record_their_arms_cluster_and_policy(make_user, settings):
    from generation.planning import renders_plan
    from generation.services import generation_data_load
    from profiles.services import onboarding_apply

    generation_data_load()
    settings.BANDIT_HOLDOUT_SHARE = 0.0
    viewer = make_user()
    onboarding_apply(user=viewer, topics=["cooking"])
    renders_plan(user_ids=[viewer.pk], everyone=True, budget=1)
    job = RenderJob.objects.get()
    assert job.policy in (bandit.Policy.BANDIT, bandit.Policy.EXPLORE, bandit.Policy.FALLBACK)
    assert job.arm_context.startswith("cluster:") and job.arms == bandit.arms_of(job.script)
    assert set(job.arms) == set(bandit.ARM_DIMENSIONS)


def test_an_arm_everyone_skips_loses_its_share_within_a_few_rounds():
    # Everyone skips long pieces (their population effect is -4 logits); nothing in the features says so.
    skip_long = {"length": {"long": -4.0}}
    learning = simulate(policy="learning", seed=3, viewers=300, rounds=6, pieces=15, override=skip_long)
    arms_at_random = simulate(policy="random", seed=3, viewers=300, rounds=6, pieces=15, override=skip_long)
    later = lambda run: float(np.mean([r["lengths"]["long"] for r in run["rounds"][3:]]))  # noqa: E731
    assert later(arms_at_random) > 0.2  # one length in three, when nothing is learnt
    assert later(learning) < 0.08, [r["lengths"] for r in learning["rounds"]]
    today = simulate(policy="today", seed=3, viewers=300, rounds=6, pieces=15, override=skip_long)
    assert learning["rounds"][-1]["like_rate"] > today["rounds"][-1]["like_rate"]


def test_a_piece_that_did_well_earns_its_cluster_a_next_episode(make_user, settled, settings):
    from generation.planning import _script_or_none
    from generation.writing import script_write

    settings.BANDIT_SERIES_MIN_IMPRESSIONS = 10
    settings.BANDIT_HOLDOUT_SHARE = 0.0
    settings.BANDIT_EXPLORE_SHARE = 0.0
    taste = _world_taste(COOKING)
    cluster = bandit.cluster_of(taste)
    good, bad = _piece(1, arms={"format": "host"}, context=cluster), _piece(2, arms={"format": "tutorial"}, context=cluster)
    good.script = script_write(taste=taste, seed=11)
    good.save(update_fields=["script"])
    bad.script = script_write(taste=taste, seed=12)
    bad.save(update_fields=["script"])
    for v in [make_user() for _ in range(12)]:
        _show(v, good, at=settled, events=[("view", 1.0), ("like", None)])
        _show(v, bad, at=settled, events=[("skip", None)])
    bandit.bandit_refresh()
    assert bandit.episode_candidate(cluster) == good
    # Episodes that did well before make the bandit choose one (greedy here: no exploration).
    stats = bandit.Stats.load()
    stats.add(bandit.contexts_for(cluster=cluster), {"series": "episode"}, 1.0)
    for _ in range(30):
        stats.add(bandit.contexts_for(cluster=cluster), {"series": "episode"}, 0.9)
    seed = next(s for s in range(100) if not bandit.holdout(s))
    planned = _script_or_none(taste=taste, seed=seed, stats=stats, budget=bandit.Budget())
    script = planned.written.script
    assert script["series"]["episode"] == 2 and [c["name"] for c in script["cast"]] == [c["name"] for c in good.script["cast"]]
    assert bandit.arms_of(script)["series"] == "episode"
    # Once its next episode exists, the piece is not offered again.
    RenderJob.objects.create(key="ep2", prompt="p", seed=3, model="storyboard", script=script, arm_context=cluster,
                             arms=bandit.arms_of(script))
    assert bandit.episode_candidate(cluster) is None
