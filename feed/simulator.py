"""A viewer simulator for development: synthetic viewers with hidden multi-interest tastes
watch, like and skip through the same services the web feed uses.

It compares feeds by like rate over sessions (Tailor against random and popular
feeds). It is a development tool: the numbers that count come from `evaluate` on
imported real interactions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model

from core.vec import from_bytes
from feed.services import feed_page_serve
from feed.sources import global_lists_clear, global_lists_pinned
from generation.models import Video
from profiles.services import interaction_record

POLICIES = ("tailor", "popular", "random")


@dataclass
class HiddenTaste:
    anchors: np.ndarray  # unit vectors the viewer truly likes (one per interest)

    def affinity(self, item: np.ndarray) -> float:
        return float((self.anchors @ item).max())


def like_probability(affinity: float) -> float:
    # Steep around the "same topic" cosine: near items are liked often, far ones rarely.
    return 1.0 / (1.0 + math.exp(-(affinity - 0.45) * 14.0))


def hidden_tastes(*, n: int, seed: int) -> list[HiddenTaste]:
    """Each viewer loves 1-3 anchors drawn from different corners of the catalogue."""
    rng = random.Random(seed)
    rows = list(Video.objects.filter(made_for__isnull=True, embedding__isnull=False).order_by("id").values_list("id", "embedding"))
    if len(rows) < 10:
        raise ValueError("the simulator needs an embedded catalogue of at least 10 videos (run seed_demo)")
    vectors = np.vstack([from_bytes(b) for _, b in rows])
    tastes = []
    for _ in range(n):
        anchors = [vectors[rng.randrange(len(vectors))]]
        for _ in range(rng.randint(0, 2)):
            # A second or third interest far from the first ones.
            far = np.flatnonzero((vectors @ np.vstack(anchors).T).max(axis=1) < 0.2)
            if len(far):
                anchors.append(vectors[rng.choice(far.tolist())])
        tastes.append(HiddenTaste(np.vstack(anchors)))
    return tastes


def _random_page(user, size: int, rng: random.Random) -> list[Video]:
    seen = set(user.interactions.values_list("video_id", flat=True))
    ids = [v for v in Video.objects.filter(made_for__isnull=True, embedding__isnull=False).order_by("id").values_list("id", flat=True) if v not in seen]
    picked = rng.sample(ids, min(size, len(ids)))
    videos = Video.objects.in_bulk(picked)
    return [videos[i] for i in picked]


def _popular_page(user, size: int) -> list[Video]:
    seen = set(user.interactions.values_list("video_id", flat=True))
    qs = Video.objects.filter(made_for__isnull=True, embedding__isnull=False).order_by("-likes", "-views", "id")
    return [v for v in qs[: size + len(seen)] if v.pk not in seen][:size]


def simulate(
    *, users: int = 30, sessions: int = 6, page_size: int = 8, seed: int = 0,
    policies: tuple[str, ...] = POLICIES, progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Run every policy on its own copy of the same hidden viewers; like rate per session."""
    unknown = set(policies) - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown policies: {', '.join(sorted(unknown))}")
    tastes = hidden_tastes(n=users, seed=seed)
    # expected_like_rate is the mean like probability of what was shown: the same comparison
    # without the coin flips' noise, which at a few hundred impressions a session is larger
    # than the gap between two feeds.
    report: dict = {"viewers": users, "sessions": sessions, "page_size": page_size, "like_rate": {}, "expected_like_rate": {}}
    # Shared lists (popular, cold) are recomputed at each session's start in this thread, not
    # refreshed in the background on a timer: the same seed then gives the same logs.
    with global_lists_pinned():
        for policy in policies:
            rates, expected = _simulate_policy(policy, users=users, sessions=sessions, page_size=page_size, seed=seed,
                                               tastes=tastes, progress=progress)
            report["like_rate"][policy] = rates
            report["expected_like_rate"][policy] = expected
    global_lists_clear()
    return report


def _simulate_policy(policy: str, *, users: int, sessions: int, page_size: int, seed: int, tastes: list[HiddenTaste],
                     progress: Callable[[str], None]) -> tuple[list[float], list[float]]:
    User = get_user_model()
    rng = random.Random(seed + 1)
    viewers = []
    for n in range(users):
        user, _ = User.objects.get_or_create(username=f"sim-{seed}-{policy}-{n}")
        user.interactions.all().delete()
        user.interests.all().delete()
        viewers.append(user)
    rates, expected = [], []
    for session in range(sessions):
        global_lists_clear()
        likes = shown = 0
        chance = 0.0
        for user, taste in zip(viewers, tastes):
            if policy == "tailor":
                page = [item.video for item in feed_page_serve(user=user, size=page_size).items]
            elif policy == "popular":
                page = _popular_page(user, page_size)
            else:
                page = _random_page(user, page_size, rng)
            for video in page:
                affinity = taste.affinity(from_bytes(video.embedding))
                shown += 1
                chance += like_probability(affinity)
                if rng.random() < like_probability(affinity):
                    likes += 1
                    interaction_record(user=user, video=video, kind="like")
                elif rng.random() < 0.5:
                    fraction = min(1.0, max(0.0, affinity + rng.gauss(0, 0.15)))
                    interaction_record(user=user, video=video, kind="view", watch_fraction=round(fraction, 3))
                else:
                    interaction_record(user=user, video=video, kind="skip")
        rates.append(round(likes / max(shown, 1), 4))
        expected.append(round(chance / max(shown, 1), 4))
        progress(f"{policy}: session {session + 1}/{sessions} like rate {rates[-1]:.3f}")
    return rates, expected
