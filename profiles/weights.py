"""How much each kind of interaction says about taste: the one place these numbers live.

Positive weights pull the nearest interest toward the item; negative weights push
it away and mark the item for ranking penalties. The scale follows the published
feed rankers: an explicit negative outweighs several positives (X weights a
report at -369 against a like at 0.5), and a view counts by how much was watched.
"""

from __future__ import annotations

from django.db.models import Q

from profiles.models import Interaction

Kind = Interaction.Kind

WEIGHTS: dict[str, float] = {
    Kind.LIKE: 1.0,
    Kind.SHARE: 1.5,
    Kind.VIEW: 0.5,  # scaled by watch fraction, see event_weight
    Kind.SKIP: -0.3,
    Kind.DISLIKE: -1.0,
    Kind.HIDE: -2.0,
}

# A view below this watch fraction says the viewer moved on: treated as a weak skip.
VIEW_SKIP_FRACTION = 0.15

NEGATIVE_KINDS = frozenset({Kind.SKIP, Kind.DISLIKE, Kind.HIDE})
# Never shown again unless the viewer asks.
EXCLUDED_KINDS = frozenset({Kind.DISLIKE, Kind.HIDE})


def event_weight(kind: str, watch_fraction: float | None = None) -> float:
    weight = WEIGHTS[kind]
    if kind == Kind.VIEW and watch_fraction is not None:
        if watch_fraction < VIEW_SKIP_FRACTION:
            return WEIGHTS[Kind.SKIP] * 0.5
        return weight * min(watch_fraction, 1.0)
    return weight


def positive_q() -> Q:
    """Interactions that count as positive engagement: positive kinds, minus views abandoned
    early (under VIEW_SKIP_FRACTION; a view with no fraction counts)."""
    positive = [k for k, w in WEIGHTS.items() if w > 0]
    return Q(kind__in=positive) & ~Q(kind=Kind.VIEW, watch_fraction__lt=VIEW_SKIP_FRACTION)


# What one impression of a generated piece was worth to the planner that chose its arms
# (generation/bandit.py): summed over the viewer's events on it, clipped to [0, 1]. Watching
# counts by the fraction watched, finishing it a little more; an explicit negative cancels it.
REWARD_WEIGHTS: dict[str, float] = {
    "watch": 0.4,  # times the watch fraction
    "complete": 0.1,  # watched at least COMPLETE_FRACTION
    Kind.LIKE: 0.5,
    Kind.SHARE: 0.5,
    Kind.SKIP: -0.3,
    Kind.DISLIKE: -1.0,
    Kind.HIDE: -1.0,
}
COMPLETE_FRACTION = 0.9


def impression_reward(events) -> float:
    """An impression's reward from the (kind, watch_fraction) events that followed it."""
    total, watched, kinds = 0.0, 0.0, set()
    for kind, fraction in events:
        if kind == Kind.VIEW:
            watched = max(watched, min(float(fraction if fraction is not None else 1.0), 1.0))
        else:
            kinds.add(kind)
    if watched and watched < VIEW_SKIP_FRACTION:
        kinds.add(Kind.SKIP)
        watched = 0.0
    total += REWARD_WEIGHTS["watch"] * watched + (REWARD_WEIGHTS["complete"] if watched >= COMPLETE_FRACTION else 0.0)
    total += sum(REWARD_WEIGHTS[k] for k in kinds if k in REWARD_WEIGHTS)
    return float(min(max(total, 0.0), 1.0))
