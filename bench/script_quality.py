"""Script quality: the built-in script writer against today's one-line prompt composer.

200 pieces: 20 varied tastes x 5 seeds, and 20 briefs x 5 seeds. Both are measured the same
way where they can be:
- taste fit: cosine of the embedded text (script_prompt / the composed prompt) to the taste;
- subject-setting fit: the subject and the setting, each embedded, have the same nearest
  world (generation/data/worlds.py), a judge neither writer chooses by;
- a/an grammar: the share of pieces with an article error anywhere;
- nested brief: the share of brief-led pieces that paste the brief into a phrase;
- diversity: distinct premises and titles (prompts for the composer) per taste.
The writer alone: looks present in every shot showing the character, the brief's format
honoured, the title about the subject. Ten example scripts go to bench/results/script_examples.md.

`python -m bench script_quality` after registering it in bench/benchmarks.py, or
`python bench/script_quality.py` on its own (a throwaway database, like `make bench`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

TASTES = [
    "home cooking and baking bread", "wildlife documentaries about big cats", "science fiction, robots and spaceships",
    "relaxing lo-fi, rain and coffee shops", "football highlights and tactics", "ancient history: Rome, Egypt and Vikings",
    "cute dogs and cats", "live jazz in a smoky club", "woodworking and DIY projects", "astronomy and black holes",
    "ghost stories and haunted houses", "yoga and home workouts", "classic cars and motorsport", "gardening on a balcony",
    "street food and barbecue", "ocean life, whales and coral reefs", "video games and speedruns", "office comedy sketches",
    "travel vlogs in old European cities", "science experiments and physics",
]
BRIEFS = [
    "a musical about garlic bread", "a documentary about snow leopards", "how to make sourdough", "a funny sketch about robots",
    "an explainer about black holes", "a short film about a lonely lighthouse", "a song about my cat", "lofi rain in Tokyo",
    "a vlog about Lisbon", "how to grow tomatoes on a balcony", "a documentary about penguins", "a comedy sketch about office meetings",
    "a story about a dragon", "ode to pizza", "a musical about dumplings", "how to build a birdhouse", "an explainer about volcanoes",
    "a documentary about the Vikings", "a short film about a time machine", "a jazz song about coffee",
]
SEEDS = 5


def _nearest_world(vectors: np.ndarray) -> np.ndarray:
    from generation.writing.world import world_vectors

    return np.argmax(vectors @ world_vectors().T, axis=1)


def _same_world(subjects: list[str], settings: list[str]) -> float:
    from profiles.embedding import embed_texts

    vecs = embed_texts(subjects + settings, cache=False)
    near = _nearest_world(vecs)
    return float(np.mean(near[: len(subjects)] == near[len(subjects):]))


def script_quality(examples_path: Path | None = None) -> dict:
    from django.core.management import call_command

    from core.vec import normalize
    from profiles.embedding import embed_texts

    call_command("load_generation_data", verbosity=0)
    tastes = normalize(embed_texts(TASTES))
    started = time.perf_counter()
    new_rows, old_rows = _pieces_write(tastes)
    elapsed = time.perf_counter() - started
    result = _pieces_score(tastes, new_rows, old_rows)
    result["writer_and_composer_s_per_piece"] = round(elapsed / len(new_rows), 3)
    result["examples_file"] = _examples_write(new_rows, examples_path)
    return result


def _pieces_write(tastes: np.ndarray) -> tuple[list[dict], list[dict]]:
    """Every piece by both writers: each taste x seed, then each brief x seed (on a taste that
    turns with the seed). Rows hold the writer's result under "w", the composer's under "c"."""
    from generation.composer import compose
    from generation.writing import script_write_scored

    new_rows, old_rows = [], []
    for t, taste in enumerate(tastes):
        for seed in range(SEEDS):
            written = script_write_scored(taste=taste, seed=1000 * t + seed)
            composed = compose(taste=taste, seed=1000 * t + seed)
            new_rows.append({"taste": t, "brief": "", "w": written})
            old_rows.append({"taste": t, "brief": "", "c": composed})
    for b, brief in enumerate(BRIEFS):
        for seed in range(SEEDS):
            taste = tastes[(b + seed) % len(tastes)]
            new_rows.append({"taste": None, "brief": brief, "w": script_write_scored(taste=taste, seed=50_000 + 100 * b + seed, brief=brief)})
            old_rows.append({"taste": None, "brief": brief, "c": compose(taste=taste, seed=50_000 + 100 * b + seed, brief=brief)})
    return new_rows, old_rows


def _pieces_score(tastes: np.ndarray, new_rows: list[dict], old_rows: list[dict]) -> dict:
    """The measures of both writers (the module docstring lists them), rounded, by name."""
    from generation.writing import script_texts

    taste_new = [r for r in new_rows if r["taste"] is not None]
    taste_old = [r for r in old_rows if r["taste"] is not None]
    fit_new, fit_old = _taste_fits(tastes, taste_new, taste_old)
    new_texts = [script_texts(r["w"].script) for r in new_rows]  # the title comes first
    old_texts = [[r["c"].prompt, r["c"].sound] for r in old_rows]
    brief_new = [r for r in new_rows if r["brief"]]
    brief_old = [r for r in old_rows if r["brief"]]
    checks = [r["w"].checks for r in new_rows]
    per_taste_titles, per_taste_premises, per_taste_old = _per_taste_variety(taste_new, taste_old)
    honoured = _briefs_honoured(brief_new)
    return {
        "scripts": len(new_rows), "tastes": len(TASTES), "briefs": len(BRIEFS), "seeds_per_case": SEEDS,
        "candidates_per_script": 4,
        "writer_taste_fit_mean": round(float(fit_new.mean()), 4), "composer_taste_fit_mean": round(float(fit_old.mean()), 4),
        "writer_taste_fit_p10": round(float(np.percentile(fit_new, 10)), 4), "composer_taste_fit_p10": round(float(np.percentile(fit_old, 10)), 4),
        "writer_subject_setting_same_world": round(_same_world([r["w"].script["world"]["subject"] for r in new_rows],
                                                               [r["w"].script["world"]["setting"] for r in new_rows]), 4),
        "composer_subject_setting_same_world": round(_same_world([r["c"].concepts["subject"] for r in old_rows],
                                                                 [r["c"].concepts["setting"] for r in old_rows]), 4),
        "writer_article_error_rate": round(_article_error_rate(new_texts), 4),
        "composer_article_error_rate": round(_article_error_rate(old_texts), 4),
        "writer_nested_brief_rate": round(float(np.mean([_pasted(r["brief"], script_texts(r["w"].script)) for r in brief_new])), 4),
        "composer_nested_brief_rate": round(float(np.mean([_pasted(r["brief"], [r["c"].prompt, r["c"].sound]) for r in brief_old])), 4),
        "writer_setting_in_world_rate": round(float(np.mean([c["setting_in_world"] for c in checks])), 4),
        "writer_looks_in_every_shot_rate": round(float(np.mean([c["looks_in_shots"] for c in checks])), 4),
        "writer_coherence_mean": round(float(np.mean([r["w"].coherence for r in new_rows])), 4),
        "writer_brief_honoured_rate": round(float(np.mean(honoured)), 4),
        "writer_distinct_titles_per_taste": round(float(np.mean(per_taste_titles)), 4),
        "writer_distinct_premises_per_taste": round(float(np.mean(per_taste_premises)), 4),
        "composer_distinct_subject_settings_per_taste": round(float(np.mean(per_taste_old)), 4),
        "writer_worlds_used": len({r["w"].script["world"]["family"] for r in new_rows}),
        "writer_formats_used": len({r["w"].script["format"] for r in new_rows}),
    }


def _taste_fits(tastes: np.ndarray, taste_new: list[dict], taste_old: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Taste fit of each taste-led piece: the cosine of its embedded text (the writer's
    script_prompt, the composer's prompt) to its taste."""
    from generation.writing import script_prompt
    from profiles.embedding import embed_texts

    new_vecs = embed_texts([script_prompt(r["w"].script) for r in taste_new])
    old_vecs = embed_texts([r["c"].prompt for r in taste_old])
    fit_new = np.array([float(v @ tastes[r["taste"]]) for v, r in zip(new_vecs, taste_new)])
    fit_old = np.array([float(v @ tastes[r["taste"]]) for v, r in zip(old_vecs, taste_old)])
    return fit_new, fit_old


def _article_error_rate(text_lists: list[list[str]]) -> float:
    """The share of pieces with an a/an error in any of their texts."""
    from generation.writing import grammar as g

    return float(np.mean([any(g.article_errors(t) for t in texts) for texts in text_lists]))


def _pasted(brief: str, texts: list[str]) -> bool:
    """The brief dropped into a phrase ("bursts into song about a musical about garlic bread"),
    or used as the title. "shows how to make sourdough" is a sentence, not a paste."""
    low = brief.lower()
    framed = low.startswith(("a ", "an ", "the ")) or " about " in f" {low} "
    return (framed and low in " ".join(texts).lower()) or texts[0].lower().strip(" .!?") == low


def _per_taste_variety(taste_new: list[dict], taste_old: list[dict]) -> tuple[list[float], list[float], list[float]]:
    """Per taste, the share of its seeds that gave a distinct writer title, a distinct writer
    premise (world, format, setting), and a distinct composer subject and setting."""
    per_taste_titles = [len({r["w"].script["title"] for r in taste_new if r["taste"] == t}) / SEEDS for t in range(len(TASTES))]
    per_taste_premises = [len({(r["w"].script["world"]["family"], r["w"].script["format"], r["w"].script["world"]["setting"])
                               for r in taste_new if r["taste"] == t}) / SEEDS for t in range(len(TASTES))]
    per_taste_old = [len({(r["c"].concepts.get("subject"), r["c"].concepts.get("setting")) for r in taste_old if r["taste"] == t}) / SEEDS
                     for t in range(len(TASTES))]
    return per_taste_titles, per_taste_premises, per_taste_old


def _briefs_honoured(brief_new: list[dict]) -> list[bool]:
    """For each brief-led script: the brief's format (if it names one) kept, and the subject in the title."""
    from generation.writing import grammar as g
    from generation.writing.brief import brief_parse

    honoured = []
    for r in brief_new:
        parsed = brief_parse(r["brief"])
        script = r["w"].script
        honoured.append((parsed.format is None or script["format"] == parsed.format)
                        and g.title_case(parsed.subject).lower().split()[-1] in script["title"].lower())
    return honoured


def _examples_write(new_rows: list[dict], examples_path: Path | None) -> str:
    """Write ten example scripts (seven taste-led, three brief-led) as Markdown; returns the
    file's path, relative to the repository where it lies inside it."""
    from generation.writing.script import script_as_text

    brief_new = [r for r in new_rows if r["brief"]]
    picks = [new_rows[i] for i in (0, 6, 11, 17, 36, 62, 88)] + [brief_new[i * SEEDS] for i in (0, 2, 13)]
    out = ["# Example scripts (bench/script_quality.py)", "",
           "Ten scripts from the built-in writer: seven from tastes, three from briefs. Each as a readable rendering, then the JSON.", ""]
    for r in picks:
        label = f"brief: “{r['brief']}”" if r["brief"] else f"taste: “{TASTES[r['taste']]}”"
        out += [f"## {r['w'].script['title']} ({label})", "",
                f"fit {r['w'].fit}, novelty {r['w'].novelty}, coherence {r['w'].coherence}", "",
                "```text", script_as_text(r["w"].script), "```", "", "```json",
                json.dumps(r["w"].script, indent=2, ensure_ascii=False), "```", ""]
    path = examples_path or Path(__file__).resolve().parent / "results" / "script_examples.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))
    return str(path.relative_to(Path(__file__).resolve().parent.parent)) if path.is_relative_to(Path(__file__).resolve().parent.parent) else str(path)


if __name__ == "__main__":
    import os
    import shutil
    import sys
    import tempfile

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    data = tempfile.mkdtemp(prefix="tailor-bench-")
    for var in ("DATABASE_URL", "DRAMATIQ_BROKER_URL", "USE_S3"):
        os.environ.pop(var, None)
    os.environ["TAILOR_DATA_DIR"] = data
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        result = {"benchmark": "script_quality", "cpu_count": os.cpu_count(), **script_quality()}
        result["wall_s"] = round(time.perf_counter() - started, 2)
        line = json.dumps(result)
        print(line)
        (root / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (root / "bench" / "results" / "script_quality.json").write_text(line + "\n")
    finally:
        shutil.rmtree(data, ignore_errors=True)
