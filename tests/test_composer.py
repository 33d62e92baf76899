"""Prompt composition from taste, the brief as inert user text, and safety."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from core.vec import from_bytes, normalize
from generation.composer import BRIEF_MAX_CHARS, compose
from generation.models import SafetyDecision
from generation.safety import safety_check
from generation.services import generation_data_load
from profiles.embedding import embed_texts

COOKING_JAZZ = {"cooking", "kitchen", "chef", "bread", "pasta", "recipe", "food", "baker", "jazz", "saxophone", "piano", "sizzling", "butter", "market", "dumplings", "ramen", "sushi", "cake", "tacos", "barbecue", "café", "diner", "bebop", "swing", "big-band"}


@pytest.fixture
def vocab(db):
    return generation_data_load()


def taste_of(*texts):
    return normalize(embed_texts(list(texts)).mean(axis=0))


def test_vocabulary_is_several_hundred_concepts_in_every_category(vocab):
    from generation.models import Concept, PromptTemplate

    assert Concept.objects.count() >= 300
    assert set(Concept.objects.values_list("category", flat=True)) == {c.value for c in Concept.Category}
    assert PromptTemplate.objects.count() == 6
    assert generation_data_load()["concepts_created"] == 0  # idempotent


def test_cooking_and_jazz_prompts_mention_that_world_and_differ_for_scifi(vocab):
    cooking_jazz = taste_of("home cooking recipe in a warm kitchen", "live jazz saxophone in a smoky club")
    scifi = taste_of("science fiction film about spaceships, robots and alien planets")
    ours = [compose(taste=cooking_jazz, seed=s) for s in range(4)]
    theirs = [compose(taste=scifi, seed=s) for s in range(4)]
    for composed in ours:
        words = set(composed.prompt.lower().replace(",", " ").replace(".", " ").split())
        assert words & COOKING_JAZZ, composed.prompt
    assert not {c.prompt for c in ours} & {c.prompt for c in theirs}
    scifi_prompt_vecs = embed_texts([c.prompt for c in theirs])
    assert (scifi_prompt_vecs @ scifi).mean() > (scifi_prompt_vecs @ cooking_jazz).mean()
    assert all(c.sound and c.negative for c in ours)


def test_composing_is_deterministic_for_a_seed(vocab):
    taste = taste_of("gardening: growing tomatoes on a balcony")
    a, b = compose(taste=taste, seed=7, brief="a garden at night"), compose(taste=taste, seed=7, brief="a garden at night")
    assert (a.prompt, a.sound, a.seed, a.family) == (b.prompt, b.sound, b.seed, b.family)
    assert compose(taste=taste, seed=8).prompt != a.prompt


def test_brief_template_syntax_stays_inert_text(vocab):
    taste = taste_of("an original musical about garlic bread")
    brief = "{{ settings.SECRET_KEY }} {% now 'Y' %} <b>garlic</b>"
    composed = compose(taste=taste, seed=1, brief=brief, family="musical")
    assert "{{ settings.SECRET_KEY }}" in composed.prompt and "{% now &#x27;Y&#x27; %}" in composed.prompt
    assert "&lt;b&gt;garlic&lt;/b&gt;" in composed.prompt  # autoescaped, never markup


def test_brief_over_the_limit_is_a_clear_error(vocab):
    with pytest.raises(ValidationError, match=f"at most {BRIEF_MAX_CHARS} characters"):
        compose(taste=taste_of("jazz"), seed=1, brief="x" * (BRIEF_MAX_CHARS + 1))


@pytest.mark.parametrize("text, category", [
    ("a nude scene on the beach", "sexual"),
    ("show the G.O.R.E in detail", "violence"),  # dotted to dodge the filter
    ("how to make a bomb in the kitchen", "weapons"),
    ("a deepfake of a famous actor", "impersonation"),
])
def test_safety_blocks_with_a_reason_and_logs_every_decision(db, text, category):
    decision = safety_check(text=text, kind="brief")
    assert not decision.allowed and decision.category == category and "not allowed" in decision.reason
    logged = SafetyDecision.objects.get()
    assert logged.allowed == decision.allowed and logged.text == text


def test_safety_allows_ordinary_prompts(db):
    assert safety_check(text="An original musical about garlic bread in a sunlit Italian kitchen", kind="prompt").allowed
    assert SafetyDecision.objects.filter(allowed=True).count() == 1


def test_render_sharing_trades_renders_for_fidelity(vocab):
    from generation.composer import compose
    from generation.sharing import sharing_plan

    texts = ["home cooking pasta recipe", "baking sourdough bread", "live jazz saxophone", "jazz piano trio",
             "spaceship science fiction", "robots on Mars", "wildlife documentary whales", "gardening tomatoes"]
    base = embed_texts(texts)
    rng = np.random.default_rng(0)
    interests = normalize(np.repeat(base, 5, axis=0) + 0.05 * rng.standard_normal((40, base.shape[1])).astype(np.float32))
    owners = np.arange(40) // 2  # 20 viewers with two interests each

    def embed_prompts(tastes, seed):
        return embed_texts([compose(taste=t, seed=seed + n, candidates=2).prompt for n, t in enumerate(tastes)])

    few = sharing_plan(interests=interests, owners=owners, clusters=2, embed_prompts=embed_prompts)
    many = sharing_plan(interests=interests, owners=owners, clusters=8, embed_prompts=embed_prompts)
    assert few.renders == 2 and many.renders == 8
    assert many.fidelity.mean() > few.fidelity.mean()
    topped = sharing_plan(interests=interests, owners=owners, clusters=2, embed_prompts=embed_prompts,
                          min_fidelity=float(np.median(few.fidelity)), per_user_quota=1)
    assert 0 < len(topped.personal) <= 20  # at most one own render per viewer
    assert len({int(owners[p]) for p in topped.personal}) == len(topped.personal)
    assert topped.fidelity.mean() > few.fidelity.mean()
    assert topped.renders == 2 + len(topped.personal)
