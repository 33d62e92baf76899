"""A simulator for the generation bandit that cannot be won by reading the features.

Viewers have a hidden taste (near one of the writer's worlds, with noise) and, drawn
independently of it, hidden preferences over format, tone, music genre, length and voice pace:
a population-wide effect per option (what most people like) plus each viewer's own. Neither is
visible to a policy; only engagement is.

Each round repeats plan -> render -> feed -> engagement:
- plan: PIECES pieces, shared among the taste clusters (generation/bandit.cluster_of) by size,
  each for the mean taste of a sample of the cluster's viewers; the policy chooses its arms;
- render: the built-in writer writes the script (the null renderer: its embedded text is what
  the feed and the viewers' taste fit see);
- feed: every viewer is shown the SHOWN pieces of the round nearest their taste;
- engagement: a like with probability sigmoid(base + fit + preferences + noise), a watch
  fraction from the same appeal; the reward (profiles/weights.impression_reward) is credited
  to the piece's arms as the live refresh does.

Policies: "learning" (generation/bandit.choose, Thompson sampling with its exploration
budget), "today" (the writer's own choices, as before the bandit) and "random" (uniform arms).
Seeds fix the viewers, their preferences and the noise, so runs repeat exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from core.vec import normalize
from generation import bandit
from generation.writing import phrases as P
from generation.writing.writer import LENGTHS_S, VOICE_PACES

POLICIES = ("learning", "today", "random")
PREFERRED = {
    "format": list(P.FORMATS), "tone": list(P.TONES), "length": list(LENGTHS_S), "voice": list(VOICE_PACES),
}


@dataclass
class Viewers:
    taste: np.ndarray  # (n, dim) unit vectors
    cluster: list[str]
    prefs: dict[str, dict[str, np.ndarray]]  # dimension -> option -> (n,) logit effect


def viewers_make(n: int, seed: int, *, population_sd: float = 0.5, viewer_sd: float = 0.3,
                 override: dict | None = None) -> Viewers:
    """n viewers; `override` ({dimension: {option: effect}}) fixes an option's population effect
    (a test's "everyone skips long pieces")."""
    from generation.writing.world import world_vectors, worlds_all

    rng = np.random.default_rng(seed)
    worlds = world_vectors()
    picks = rng.integers(0, len(worlds), n)
    noise = normalize(rng.standard_normal((n, worlds.shape[1])).astype(np.float32))
    taste = normalize(worlds[picks] + 0.5 * noise)
    topics = [w.topic for w in worlds_all()]
    clusters = [f"cluster:{topics[int(i)]}" for i in np.argmax(taste @ worlds.T, axis=1)]
    music = sorted({m for w in worlds_all() for m in w.music})
    prefs = {}
    for dimension, options in {**PREFERRED, "music": music}.items():
        prefs[dimension] = {o: rng.normal(0, population_sd) + rng.normal(0, viewer_sd, n) for o in options}
    for dimension, effects in (override or {}).items():
        for option, effect in effects.items():
            prefs[dimension][option] = np.full(n, float(effect))
    return Viewers(taste=taste, cluster=clusters, prefs=prefs)


def _appeal(viewers: Viewers, who: np.ndarray, arms: dict, fit: np.ndarray) -> np.ndarray:
    total = -2.0 + 4.0 * (fit - 0.45)
    for dimension in PREFERRED.keys() | {"music"}:
        effects = viewers.prefs[dimension].get(arms.get(dimension, ""))
        if effects is not None:
            total = total + effects[who]
    return total


@dataclass
class _Run:
    """What persists across a simulation's rounds."""

    policy: str
    people: Viewers
    rng: random.Random  # plans: samples of viewers and piece seeds
    noise: np.random.Generator  # engagement
    stats: bandit.Stats
    budget: bandit.Budget
    candidates: int
    members: dict[str, np.ndarray] = field(default_factory=dict)  # cluster -> viewer positions


def _quota(members: dict[str, np.ndarray], pieces: int, viewers: int) -> dict[str, int]:
    """Pieces shared among clusters by size (the largest remainders get the rest)."""
    sizes = {c: len(v) for c, v in members.items()}
    quota = {c: pieces * s / viewers for c, s in sizes.items()}
    counts = {c: int(q) for c, q in quota.items()}
    for c in sorted(quota, key=lambda c: -(quota[c] - counts[c]))[: pieces - sum(counts.values())]:
        counts[c] += 1
    return counts


def _plan(run: _Run, counts: dict[str, int]) -> list[tuple[str, dict, str, str]]:
    """Plan and write each cluster's pieces: (cluster, arms, prompt, policy used) per piece."""
    from generation.writing import script_prompt, script_write_scored

    made = []
    for c in sorted(counts):
        for _ in range(counts[c]):
            sample = run.rng.sample(list(run.members[c]), min(20, len(run.members[c])))
            taste = normalize(run.people.taste[sample].mean(axis=0))
            piece_seed = run.rng.randrange(2**31)
            contexts = bandit.contexts_for(cluster=c)
            if run.policy == "today":
                choices, used = {}, bandit.Policy.HOLDOUT
            else:
                choices, used = bandit.choose(taste=taste, contexts=contexts, stats=run.stats, budget=run.budget,
                                              rng=random.Random(piece_seed),
                                              policy=bandit.Policy.RANDOM if run.policy == "random" else bandit.Policy.BANDIT)
                run.budget.record(used)
            written, used = bandit.written_on_taste(  # the planner's floor on taste fit, as in production
                lambda c: script_write_scored(taste=taste, seed=piece_seed, candidates=run.candidates, choices=c),
                choices, used)
            made.append((c, bandit.arms_of(written.script), script_prompt(written.script), used))
    return made


def _engage(run: _Run, made: list[tuple[str, dict, str, str]], r: int, shown: int) -> tuple[int, float, int]:
    """Feed and engagement: each viewer sees the `shown` pieces nearest their taste; rewards are
    credited to the pieces' arms. Returns likes, summed watch fraction and impressions."""
    from profiles.embedding import embed_texts
    from profiles.weights import impression_reward

    people, noise = run.people, run.noise
    vectors = embed_texts([m[2] for m in made])
    sims = people.taste @ vectors.T
    top = np.argsort(-sims, axis=1)[:, :shown]
    likes = impressions = 0
    watched = 0.0
    for j, (cluster, arms, _, _) in enumerate(made):
        who = np.nonzero((top == j).any(axis=1))[0]
        if not len(who):
            continue
        appeal = _appeal(people, who, arms, sims[who, j]) + noise.normal(0, 0.5, len(who))
        liked = noise.random(len(who)) < 1 / (1 + np.exp(-appeal))
        fraction = np.clip(1 / (1 + np.exp(-(appeal + 2.0 + noise.normal(0, 0.5, len(who))))), 0, 1)
        for v_liked, v_fraction in zip(liked, fraction):
            events = [("view", float(v_fraction))] + ([("like", None)] if v_liked else [])
            run.stats.add(bandit.contexts_for(cluster=cluster), arms, impression_reward(events), piece=f"{r}:{j}")
        likes += int(liked.sum())
        watched += float(fraction.sum())
        impressions += len(who)
    return likes, watched, impressions


def _round_summary(r: int, made: list, likes: int, watched: float, impressions: int) -> dict:
    explored = sum(1 for m in made if m[3] == bandit.Policy.EXPLORE)
    lengths = {k: round(sum(1 for m in made if m[1].get("length") == k) / len(made), 3) for k in LENGTHS_S}
    return {"round": r + 1, "like_rate": round(likes / max(impressions, 1), 4),
            "watch_fraction": round(watched / max(impressions, 1), 4),
            "explore_share": round(explored / len(made), 3), "lengths": lengths}


def simulate(*, policy: str, seed: int = 0, viewers: int = 1000, rounds: int = 10, pieces: int = 20, shown: int = 3,
             candidates: int = 2, override: dict | None = None) -> dict:
    """Per round: like rate and mean watch fraction on the generated pieces shown, the share of
    renders that explored (learning only), and the share of each length among the pieces."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
    people = viewers_make(viewers, seed, override=override)
    run = _Run(policy=policy, people=people, rng=random.Random(f"tailor-sim:{seed}"),
               noise=np.random.default_rng(seed + 1), stats=bandit.Stats(), budget=bandit.Budget(),
               candidates=candidates)
    for c in sorted(set(people.cluster)):
        run.members[c] = np.array([i for i, x in enumerate(people.cluster) if x == c])
    curve = []
    for r in range(rounds):
        made = _plan(run, _quota(run.members, pieces, viewers))
        likes, watched, impressions = _engage(run, made, r, shown)
        curve.append(_round_summary(r, made, likes, watched, impressions))
    return {"policy": policy, "seed": seed, "viewers": viewers, "rounds": curve}


def compare(*, seeds=(0, 1, 2, 3, 4), **kwargs) -> dict:
    """The three policies over the same seeds: per-round means, and the last round's like rate
    ratio of learning to today with its spread over seeds."""
    runs = {p: [simulate(policy=p, seed=s, **kwargs) for s in seeds] for p in POLICIES}
    curves = {}
    for p, per_seed in runs.items():
        rounds = len(per_seed[0]["rounds"])
        curves[p] = [{k: round(float(np.mean([run["rounds"][i][k] for run in per_seed])), 4)
                      for k in ("like_rate", "watch_fraction", "explore_share")} | {"round": i + 1} for i in range(rounds)]
    ratios = [run_l["rounds"][-1]["like_rate"] / max(run_t["rounds"][-1]["like_rate"], 1e-9)
              for run_l, run_t in zip(runs["learning"], runs["today"])]
    last = {p: float(np.mean([run["rounds"][-1]["like_rate"] for run in per_seed])) for p, per_seed in runs.items()}
    return {"curves": curves, "round_10_like_rate": {p: round(v, 4) for p, v in last.items()},
            "ratio_of_mean_like_rates": round(last["learning"] / max(last["today"], 1e-9), 3),
            "final_ratio_learning_over_today": {
        "mean": round(float(np.mean(ratios)), 3), "min": round(min(ratios), 3), "max": round(max(ratios), 3),
        "sd": round(float(np.std(ratios)), 3), "per_seed": [round(x, 3) for x in ratios]}, "seeds": list(seeds)}
