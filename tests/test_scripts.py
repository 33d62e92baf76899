"""Scripts: the schema, the built-in writer (briefs, series, grammar, coherence) and the
language-model writer with its fallback, against a real local OpenAI-compatible server."""

import copy
import json
import logging
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from core.vec import normalize
from generation.writing import (
    SCRIPT_SCHEMA, script_coherence, script_prompt, script_texts, script_validate, script_write, script_write_llm,
    script_write_scored, series_next,
)
from generation.writing import grammar as g
from generation.writing.brief import brief_parse
from generation.writing.script import script_as_text
from tests.flows.fake_openai_server import SCRIPT as VALID

TASTES = [
    "funny home cooking videos in a warm kitchen", "wildlife documentary about snow leopards in the mountains",
    "science fiction robots and spaceships", "relaxing rain, coffee and lo-fi", "football highlights and tactics",
    "ancient Rome and the Vikings, history documentaries", "cute puppies and kittens", "jazz piano in a smoky club",
    "woodworking and DIY furniture", "astronomy, black holes and the night sky", "haunted houses and ghost stories",
    "yoga and home workouts", "vintage cars and motorcycles", "gardening tomatoes on a balcony",
    "street food tacos and barbecue", "coral reefs and ocean life", "video games and speedruns", "office comedy sketches",
]


def taste_of(text):
    from profiles.embedding import embed_texts

    return normalize(embed_texts([text])[0])


def errors_of(data) -> dict:
    with pytest.raises(ValidationError) as caught:
        script_validate(data)
    return caught.value.message_dict


# ---- the schema ----------------------------------------------------------------------------

def test_a_valid_script_passes_and_the_schema_is_versioned():
    assert script_validate(copy.deepcopy(VALID)) == VALID
    assert SCRIPT_SCHEMA["properties"]["version"] == {"const": 1}
    with_series = dict(copy.deepcopy(VALID), series={"id": "s1", "episode": 2, "previously": ["Gus rose."]}, addressee="Sam")
    script_validate(with_series)


@pytest.mark.parametrize("break_it, field", [
    (lambda s: s.pop("title"), "title"),
    (lambda s: s.update(version=2), "version"),
    (lambda s: s.update(format="opera"), "format"),
    (lambda s: s.update(aspect="4:3"), "aspect"),
    (lambda s: s.update(duration_s=45.0), "duration_s"),
    (lambda s: s.update(surprise=1), "surprise"),
    (lambda s: s["shots"][0].update(camera="zoom"), "shots.0.camera"),
    (lambda s: s["shots"][2].update(transition="spin"), "shots.2.transition"),
    (lambda s: s.update(shots=s["shots"][:2]), "shots"),
    (lambda s: s["lines"][1].update(kind="song"), "lines.1.kind"),
    (lambda s: s["cast"][0]["voice"].pop("pitch"), "cast.0.voice.pitch"),
    (lambda s: s["music"].update(key="H major"), "music.key"),
    (lambda s: s.update(series={"id": "s", "episode": 0, "previously": []}), "series"),
    (lambda s: s["lines"].append({"shot": 7, "kind": "narration", "speaker": None, "text": "Hi."}), "lines.3.shot"),
    (lambda s: s["lines"][2].update(speaker="c9"), "lines.2.speaker"),
    (lambda s: s["shots"][0].update(characters=["c2"]), "shots.0.characters"),
    (lambda s: s["shots"][1].update(prompt="a loaf of bread sings on the counter"), "shots.1.prompt"),
    (lambda s: s["shots"][0].update(duration_s=9.0), "shots"),
])
def test_each_kind_of_bad_script_is_rejected_naming_the_field(break_it, field):
    data = copy.deepcopy(VALID)
    break_it(data)
    errors = errors_of(data)
    assert field in errors, errors


def test_script_texts_cover_every_text_and_the_prompt_summarises():
    texts = script_texts(VALID)
    for needle in ["Garlic Bread: The Musical", VALID["cast"][0]["look"], "Take a bite!", VALID["shots"][2]["prompt"], "Gus rises in the oven"]:
        assert needle in texts
    prompt = script_prompt(VALID)
    assert "garlic bread" in prompt and "musical" in prompt and "\n" not in prompt


# ---- grammar and brief parsing (no database) ------------------------------------------------------

def test_articles_plurals_and_agreement():
    assert [g.with_article(w) for w in ["adventurous film", "hour", "unicorn", "oven", "MRI", "UFO", "one-man band", "apple"]] == [
        "an adventurous film", "an hour", "a unicorn", "an oven", "an MRI", "a UFO", "a one-man band", "an apple"]
    assert g.article_errors("A adventurous documentary") and g.article_errors("an  oven") and not g.article_errors("An oven and a hat")
    assert [g.plural(w) for w in ["oven", "tomato", "berry", "bread", "wolf"]] == ["ovens", "tomatoes", "berries", "bread", "wolves"]
    assert [g.comparative(w) for w in ["fast", "brave", "big", "happy", "bright", "good", "delicious", "roaring", "last-minute",
                                       "clever", "tiny"]] == [
        "faster", "braver", "bigger", "happier", "brighter", "better", "more delicious", "more roaring", "more last-minute",
        "more clever", "tinier"]
    assert g.singular("snow leopards") == "snow leopard" and g.singular("butterflies") == "butterfly"
    assert g.agree("snow leopards", "pad along the ridge") == "pad along the ridge"
    assert g.agree("garlic bread", "rise in the oven") == "rises in the oven"
    assert g.title_case("the secret life of snow leopards") == "The Secret Life of Snow Leopards"


@pytest.mark.parametrize("brief, fmt, subject, setting", [
    ("a musical about garlic bread", "musical", "garlic bread", ""),
    ("Garlic bread musical", "musical", "garlic bread", ""),
    ("a documentary about snow leopards", "documentary", "snow leopards", ""),
    ("how to make sourdough", "tutorial", "sourdough", ""),
    ("make me a funny song about cats in a bakery", "musical", "cats", "a bakery"),
    ("a sketch starring a grumpy robot", "comedy_sketch", "grumpy robot", ""),
    ("lofi rain in Tokyo", "ambient", "rain", "Tokyo"),
    ("ode to pizza", "musical", "pizza", ""),
    ("an explainer about black holes", "explainer", "black holes", ""),
    ("a vlog about Lisbon", "host", "Lisbon", ""),
    ("a story about a dragon in space", "short_film", "dragon", "space"),
])
def test_a_brief_is_understood_not_pasted(brief, fmt, subject, setting):
    parsed = brief_parse(brief)
    assert (parsed.format, parsed.subject, parsed.setting) == (fmt, subject, setting)


# ---- the built-in writer ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_brief_that_names_a_format_gets_that_format():
    taste = taste_of("funny cooking videos")
    musical = script_write(taste=taste, seed=1, brief="a musical about garlic bread")
    assert musical["format"] == "musical" and musical["world"]["subject"] == "garlic bread"
    assert "Garlic Bread" in musical["title"] and musical["title"].lower() != "a musical about garlic bread"
    everything = " ".join(script_texts(musical)).lower()
    assert "musical about" not in everything and "about a musical" not in everything
    assert any(line["kind"] == "lyric" for line in musical["lines"])
    assert [ln["beat"] for ln in musical["lines"] if ln["kind"] == "lyric"] == list(range(sum(ln["kind"] == "lyric" for ln in musical["lines"])))
    assert any("garlic bread" in ln["text"].lower() for ln in musical["lines"] if ln["kind"] == "lyric")

    doc = script_write(taste=taste, seed=2, brief="a documentary about snow leopards")
    assert doc["format"] == "documentary" and doc["world"]["family"] == "snow_leopards"
    assert doc["world"]["setting"] in {"a snowy Himalayan ridge", "a rocky valley above the clouds", "a frozen mountain stream at dusk"}

    tutorial = script_write(taste=taste, seed=3, brief="how to make sourdough")
    assert tutorial["format"] == "tutorial" and tutorial["world"]["subject"] == "sourdough"
    assert tutorial["title"] == "How to Make Sourdough" or "Make Sourdough" in tutorial["title"]
    assert tutorial["world"]["family"] == "bakery"  # a subject no world names borrows the nearest world
    assert sum(ln["text"].startswith(("First", "Next", "Then", "Finally")) for ln in tutorial["lines"]) >= 3


@pytest.mark.django_db
def test_an_unknown_subject_gets_a_world_built_for_it():
    script = script_write(taste=taste_of("gardening"), seed=4, brief="a musical about pickles")
    assert script["format"] == "musical" and script["world"]["subject"] == "pickles"
    assert "Pickles" in script["title"]
    assert script_coherence(script, brief="a musical about pickles")["setting_in_world"]


@pytest.mark.django_db
def test_a_series_keeps_its_cast_and_world_across_three_episodes():
    taste = taste_of("science fiction robots and spaceships")
    first = script_write(taste=taste, seed=11, format="short_film", series={"id": "robots-1", "episode": 1, "previously": []})
    second = script_write(taste=taste, seed=12, series=series_next(first))
    third = script_write(taste=taste, seed=13, series=series_next(second))
    assert first["cast"] and first["cast"] == second["cast"] == third["cast"]  # names, looks, voices, seeds
    assert first["world"] == second["world"] == third["world"]
    assert first["format"] == second["format"] == third["format"] == "short_film"
    assert first["title"].endswith("Episode 1") and second["title"].endswith("Episode 2") and third["title"].endswith("Episode 3")
    assert third["series"] == {"id": "robots-1", "episode": 3, "previously": [first["logline"], second["logline"]]}
    assert third["lines"][0]["text"].startswith("Previously:") and second["logline"].rstrip(".") in third["lines"][0]["text"]
    for episode in (first, second, third):
        looks = {c["id"]: c["look"] for c in episode["cast"]}
        assert all(looks[c] in shot["prompt"] for shot in episode["shots"] for c in shot["characters"])


@pytest.mark.django_db
def test_grammar_holds_and_writing_is_deterministic_over_many_seeds():
    tastes = [taste_of(t) for t in TASTES[:6]]
    for seed in range(24):
        script = script_write(taste=tastes[seed % len(tastes)], seed=seed, candidates=2)
        for text in script_texts(script):
            assert not g.article_errors(text), (text, script["title"])
            assert "  " not in text and "{" not in text, text
            assert "a adventurous" not in text.lower()
        for line in script["lines"]:
            assert line["text"][0].isupper() or line["text"][0] in "“\"", line["text"]
    a = script_write(taste=tastes[0], seed=7, brief="a musical about garlic bread")
    b = script_write(taste=tastes[0], seed=7, brief="a musical about garlic bread")
    assert a == b
    assert script_write(taste=tastes[0], seed=8, brief="a musical about garlic bread") != a


@pytest.mark.django_db
def test_over_many_tastes_the_setting_belongs_to_the_subjects_world():
    from generation.data.worlds import WORLDS

    by_id = {w["id"]: w for w in WORLDS}
    worlds_seen = set()
    for n, text in enumerate(TASTES):
        scored = script_write_scored(taste=taste_of(text), seed=100 + n, candidates=3)
        script = scored.script
        world = by_id[script["world"]["family"]]
        worlds_seen.add(world["id"])
        assert script["world"]["setting"] in world["settings"]
        assert all(shot["setting"] in world["settings"] for shot in script["shots"])
        assert script["world"]["subject"] in world["subjects"]
        assert scored.coherence == 1.0, scored.checks
        assert scored.fit > 0.2, (text, script_prompt(script))
    assert len(worlds_seen) >= 12  # tastes reach different worlds


@pytest.mark.django_db
def test_a_host_greets_the_viewer_and_mentions_what_they_enjoyed():
    script = script_write(taste=taste_of("wildlife documentaries"), seed=5, format="host", addressee="Priya",
                          enjoyed=["snow-leopard documentaries"])
    assert script["format"] == "host" and script["addressee"] == "Priya"
    spoken = " ".join(ln["text"] for ln in script["lines"])
    assert "Priya" in spoken and "snow-leopard documentaries" in spoken


@pytest.mark.django_db
def test_the_check_hook_rejects_drafts_and_the_next_best_is_used():
    taste = taste_of("jazz piano in a smoky club")
    seen = []

    def reject_first(script):
        seen.append(script["title"])
        return len(seen) > 1

    chosen = script_write(taste=taste, seed=9, check=reject_first)
    assert len(seen) == 2 and chosen["title"] == seen[1]
    with pytest.raises(ValidationError, match="no draft passed"):
        script_write(taste=taste, seed=9, check=lambda s: False)


@pytest.mark.django_db
def test_bad_arguments_are_clear_errors():
    taste = taste_of("jazz")
    with pytest.raises(ValidationError, match="unknown format"):
        script_write(taste=taste, seed=1, format="opera")
    with pytest.raises(ValidationError, match="aspect"):
        script_write(taste=taste, seed=1, aspect="4:3")
    with pytest.raises(ValidationError, match="at most"):
        script_write(taste=taste, seed=1, brief="x" * 500)
    script = script_write(taste=taste, seed=1, aspect="16:9", duration_s=12.0)
    assert script["aspect"] == "16:9" and abs(sum(s["duration_s"] for s in script["shots"]) - 12.0) < 0.01


@pytest.mark.django_db
def test_five_example_scripts_read_well(capsys):
    """Prints the examples (pytest -s shows them): the garlic-bread musical and four tastes."""
    jobs = [("funny cooking videos", "a musical about garlic bread"), ("wildlife documentary about snow leopards", ""),
            ("science fiction robots and spaceships", ""), ("cute puppies and kittens", ""), ("history of ancient Rome", "")]
    for n, (text, brief) in enumerate(jobs):
        script = script_write(taste=taste_of(text), seed=20 + n, brief=brief)
        assert script_coherence(script, brief=brief) == dict.fromkeys(script_coherence(script, brief=brief), True)
        with capsys.disabled():
            print("\n" + script_as_text(script))


# ---- the language-model writer ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def llm_server():
    script = Path(__file__).parent / "flows" / "fake_openai_server.py"
    proc = subprocess.Popen([sys.executable, str(script), "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _last_request(url):
    with urllib.request.urlopen(f"{url}/last", timeout=5) as response:
        return json.loads(response.read())


def test_a_valid_model_answer_is_used(llm_server):
    fallback_calls = []
    script = script_write_llm(url=llm_server, model="valid", taste_summary="cooking, musicals", brief="a musical about garlic bread",
                              fallback=lambda: fallback_calls.append(1) or {}, timeout_s=5, format="musical")
    assert script == VALID and not fallback_calls
    sent = _last_request(llm_server)
    assert sent["model"] == "valid" and sent["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "a musical about garlic bread" in sent["messages"][1]["content"] and "cooking, musicals" in sent["messages"][1]["content"]
    assert '"version": 1' in sent["messages"][0]["content"]


@pytest.mark.parametrize("model, reason", [
    ("garbage", "not JSON"), ("invalid", "invalid script"), ("slow", "timeout"), ("refusal", "refusal"), ("error", "HTTP 500"),
])
def test_a_bad_model_answer_falls_back_to_the_built_in_writer(llm_server, caplog, model, reason):
    built_in = copy.deepcopy(VALID) | {"title": "The Built-in One"}
    with caplog.at_level(logging.WARNING, logger="tailor.writer"):
        script = script_write_llm(url=llm_server, model=model, taste_summary="cooking", brief="", fallback=lambda: built_in,
                                  timeout_s=1.5)
    assert script is built_in
    assert any(r.name == "tailor.writer" and reason in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_an_unreachable_server_falls_back():
    script = script_write_llm(url="http://127.0.0.1:9", model="valid", taste_summary="", brief="", fallback=lambda: {"ok": 1}, timeout_s=1)
    assert script == {"ok": 1}


@pytest.mark.django_db
def test_the_llm_writer_falls_back_to_a_real_built_in_script(llm_server):
    taste = taste_of("funny cooking videos")
    script = script_write_llm(url=llm_server + "/v1", model="garbage", taste_summary="cooking", brief="a musical about garlic bread",
                              timeout_s=2, fallback=lambda: script_write(taste=taste, seed=3, brief="a musical about garlic bread"))
    assert script_validate(script)["format"] == "musical" and "Garlic Bread" in script["title"]
