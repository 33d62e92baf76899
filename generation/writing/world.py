"""Choosing a world (generation/data/worlds.py) for a taste or a brief's subject.

Worlds are embedded once per process (their subject family and description), keyed by a
hash of the data, so an edited world is re-embedded. A taste picks among the nearest few by
cosine with a seeded generator; a brief's subject that no world knows borrows the nearest
world's settings, props and people, with the brief's subject in the lead.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from generation.data.worlds import WORLDS


@dataclass(frozen=True)
class World:
    id: str
    topic: str
    subject: str
    subjects: tuple[str, ...]
    description: str
    settings: tuple[str, ...]
    actions: tuple[str, ...]
    details: tuple[str, ...]
    facts: tuple[str, ...]
    steps: tuple[str, ...]
    task: str
    props: tuple[str, ...]
    host: tuple
    cast: tuple
    mascot: str | None
    adjectives: tuple[str, ...]
    ambience: str
    effects: tuple[str, ...]
    music: tuple[str, ...]
    tones: tuple[str, ...]
    formats: tuple[str, ...]
    borrowed: bool = False  # the subject came from a brief and is not one of the world's own
    affinity: float = 1.0  # for a borrowed world: cosine of the brief to the world

    @property
    def own_subject(self) -> bool:
        return not self.borrowed


def _world(spec: dict, subject: str | None = None) -> World:
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.items()}
    fields["cast"] = tuple(tuple(c) for c in spec["cast"])
    fields["host"] = tuple(spec["host"])
    return World(subject=subject or spec["subjects"][0], **fields)


def world_text(spec: dict) -> str:
    return f"{', '.join(spec['subjects'])}: {spec['description']}"


def _data_hash() -> str:
    return hashlib.sha256(json.dumps(WORLDS, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=2)
def _vectors(data_hash: str) -> np.ndarray:
    from profiles.embedding import embed_texts

    return embed_texts([world_text(spec) for spec in WORLDS])


def world_vectors() -> np.ndarray:
    """(len(WORLDS), dim) unit vectors, one per world, in WORLDS order."""
    return _vectors(_data_hash())


def worlds_all() -> list[World]:
    return [_world(spec) for spec in WORLDS]


def world_get(world_id: str, subject: str | None = None) -> World | None:
    for spec in WORLDS:
        if spec["id"] == world_id:
            world = _world(spec, subject)
            return replace(world, borrowed=bool(subject) and subject.lower() not in {s.lower() for s in spec["subjects"]})
    return None


def worlds_near(taste: np.ndarray, rng: random.Random, n: int, *, pool: int = 4, sharpness: float = 15.0) -> list[World]:
    """n worlds (with repeats) sampled from the `pool` nearest the taste: a world 0.1 less
    near is about 4x less likely, so a clear taste gets its world and a mixed one gets variety."""
    sims = world_vectors() @ np.asarray(taste, dtype=np.float32)
    order = [int(i) for i in np.argsort(-sims)[:pool]]
    weights = [float(np.exp(sharpness * (sims[i] - sims[order[0]]))) for i in order]
    worlds = worlds_all()
    return [worlds[i] for i in rng.choices(order, weights=weights, k=n)]


def _subject_match(subject: str) -> World | None:
    """A world that names this subject (or a near spelling of it) among its own."""
    low = subject.lower()
    stripped = low.removeprefix("a ").removeprefix("an ").removeprefix("the ")
    for spec in WORLDS:
        for own in spec["subjects"]:
            own_low = own.lower()
            own_bare = own_low.removeprefix("a ").removeprefix("an ").removeprefix("the ")
            if stripped in (own_low, own_bare) or stripped.rstrip("s") == own_bare.rstrip("s"):
                return _world(spec, own if own_low == low or own_bare == stripped else subject)
    return None


def world_for_subject(subject: str, query: str = "") -> World:
    """The world of a subject named in a brief: its own, or the nearest one lent to it
    (nearest to `query`, the whole brief, which says more than the subject alone)."""
    from profiles.embedding import embed_texts

    own = _subject_match(subject)
    if own is not None:
        return own
    vector = embed_texts([query or subject], cache=False)[0]  # the viewer's own words: not kept
    sims = world_vectors() @ vector
    best = int(np.argmax(sims))
    return replace(_world(WORLDS[best], subject), borrowed=True, affinity=float(sims[best]))
