"""The prompt composer: from a taste (an interest vector) to text-to-video prompts.

1. Pick concepts near the taste in every category (subject, setting, style, mood, genre,
   camera, music, sound), sampled from the nearest few with a seeded generator and kept
   diverse (MMR), so candidates differ but all stay on taste.
2. Fill a prompt template family (Django templates, editable in the admin). A viewer's
   brief is a context variable, never template source, and is autoescaped.
3. Score each candidate: fit = cosine(prompt, taste); novelty = distance from the nearest
   catalogue video. Keep the best.

Deterministic for a fixed seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.core.exceptions import ValidationError
from django.template import Context, Engine

from core.vec import from_bytes, normalize
from generation.models import Concept, PromptTemplate

BRIEF_MAX_CHARS = 200
CANDIDATES = 4
NOVELTY_WEIGHT = 0.3
CATEGORIES = [c.value for c in Concept.Category]
# Autoescaping on, no loaders, no custom tags: templates are data, and so is the brief.
_engine = Engine(autoescape=True, libraries={}, builtins=["django.template.defaultfilters", "django.template.defaulttags"])


@dataclass
class ComposedPrompt:
    prompt: str
    sound: str
    negative: str
    seed: int
    family: str
    concepts: dict[str, str] = field(default_factory=dict)
    fit: float = 0.0
    novelty: float = 0.0
    score: float = 0.0


def brief_clean(brief: str | None) -> str:
    brief = " ".join((brief or "").split())
    if len(brief) > BRIEF_MAX_CHARS:
        raise ValidationError({"brief": f"must be at most {BRIEF_MAX_CHARS} characters (got {len(brief)})"})
    return brief


@lru_cache(maxsize=8)
def _vocabulary(version: tuple) -> dict[str, tuple[list[str], np.ndarray]]:
    by_cat: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for category, name, blob in Concept.objects.filter(active=True, embedding__isnull=False).values_list("category", "name", "embedding"):
        names, vecs = by_cat.setdefault(category, ([], []))
        names.append(name)
        vecs.append(from_bytes(blob))
    return {cat: (names, np.vstack(vecs)) for cat, (names, vecs) in by_cat.items()}


def vocabulary() -> dict[str, tuple[list[str], np.ndarray]]:
    from django.db.models import Count, Max

    agg = Concept.objects.filter(active=True).aggregate(n=Count("id"), last=Max("id"))
    vocab = _vocabulary((agg["n"], agg["last"], Concept.objects.filter(embedding__isnull=True).count()))
    if not vocab:
        raise ValidationError({"vocabulary": "no concepts loaded: run `manage.py load_generation_data`"})
    return vocab


def _pick(names: list[str], vecs: np.ndarray, taste: np.ndarray, rng: random.Random, n: int, pool: int = 6) -> list[str]:
    """n concepts from the `pool` nearest, sampled by nearness, each unlike those already picked."""
    sims = vecs @ taste
    top = list(np.argsort(-sims)[:pool])
    chosen: list[int] = []
    for _ in range(min(n, len(top))):
        weights = []
        for i in top:
            redundancy = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            weights.append(max(1e-3, float(np.exp(6 * (0.7 * sims[i] - 0.3 * redundancy)))))
        pick = rng.choices(top, weights=weights)[0]
        chosen.append(pick)
        top.remove(pick)
    return [names[i] for i in chosen]


def compose(
    *, taste: np.ndarray, seed: int, brief: str | None = None, family: str | None = None, candidates: int = CANDIDATES,
) -> ComposedPrompt:
    """The best of several candidate prompts for this taste; deterministic for a fixed seed."""
    from profiles.embedding import embed_texts
    from profiles import indexes

    brief = brief_clean(brief)
    taste = normalize(np.asarray(taste, dtype=np.float32))
    vocab = vocabulary()
    templates = {t.family: t for t in PromptTemplate.objects.filter(active=True)}
    if not templates:
        raise ValidationError({"templates": "no prompt templates loaded: run `manage.py load_generation_data`"})
    if family is not None and family not in templates:
        raise ValidationError({"family": f"unknown or inactive family {family!r}; choose from {', '.join(sorted(templates))}"})
    families = [family] if family else sorted(templates)
    rng = random.Random(seed)
    drafts: list[ComposedPrompt] = []
    for n in range(candidates):
        chosen = {}
        for category in CATEGORIES:
            if category in vocab:
                picks = _pick(*vocab[category], taste, rng, 2 if category == "subject" else 1)
                chosen[category] = picks[0]
                if category == "subject" and len(picks) > 1:
                    chosen["subject2"] = picks[1]
        template = templates[families[(seed + n) % len(families)]]
        context = Context({**chosen, "brief": brief}, autoescape=True)
        drafts.append(ComposedPrompt(
            prompt=" ".join(_engine.from_string(template.body).render(context).split()),
            sound=" ".join(_engine.from_string(template.sound).render(context).split()),
            negative=template.negative,
            seed=rng.randrange(2**31),
            family=template.family,
            concepts=chosen,
        ))
    vectors = embed_texts([d.prompt for d in drafts])
    index = indexes.items().ready()
    nearest = index.search(vectors, 1)[0][:, 0] if len(index) else np.zeros(len(drafts))
    for draft, vector, near in zip(drafts, vectors, nearest):
        draft.fit = round(float(vector @ taste), 4)
        draft.novelty = round(float(1.0 - max(near, 0.0)), 4)
        draft.score = round(draft.fit + NOVELTY_WEIGHT * draft.novelty, 4)
    return max(drafts, key=lambda d: (d.score, -drafts.index(d)))
