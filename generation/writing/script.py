"""The Script: what the writer hands the renderer, as versioned JSON.

Version 1. The storyboard renderer renders from exactly this shape, and a language model's
answer is accepted only if it passes `script_validate`. Two layers:
1. JSON Schema (structure, types, enums, ranges), reported with the field path.
2. Checks a schema cannot express: references between parts (a line's shot, a speaker, a
   shot's characters), every shot prompt carrying each shown character's look word for word
   (that is what keeps a character looking the same from shot to shot), and shot durations
   adding up to the whole.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

SCRIPT_VERSION = 1
FORMATS = ["short_film", "musical", "documentary", "tutorial", "host", "comedy_sketch", "ambient", "explainer"]
ASPECTS = ["9:16", "16:9", "1:1"]
CAMERAS = ["static", "push-in", "pull-out", "pan-left", "pan-right", "overhead", "tilt-up", "hyperlapse", "handheld", "orbit"]
TRANSITIONS = ["cut", "dissolve", "fade", "wipe"]
LINE_KINDS = ["narration", "dialogue", "lyric"]
DURATION_MIN_S, DURATION_MAX_S = 8.0, 30.0
DURATION_TOLERANCE_S = 0.5

_text = {"type": "string", "minLength": 1, "maxLength": 600}
_short = {"type": "string", "minLength": 1, "maxLength": 200}

SCRIPT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://tailor.example/schemas/script-v1.json",
    "title": "Tailor script, version 1",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "title", "logline", "format", "tone", "duration_s", "aspect", "world", "cast", "shots",
                 "lines", "music", "sound", "negative", "seed", "series"],
    "properties": {
        "version": {"const": SCRIPT_VERSION},
        "title": {"type": "string", "minLength": 1, "maxLength": 120},
        "logline": {"type": "string", "minLength": 1, "maxLength": 300},
        "format": {"enum": FORMATS},
        "tone": {"type": "string", "minLength": 1, "maxLength": 40},
        "duration_s": {"type": "number", "minimum": DURATION_MIN_S, "maximum": DURATION_MAX_S},
        "aspect": {"enum": ASPECTS},
        "addressee": {"type": "string", "maxLength": 60},
        "world": {
            "type": "object",
            "required": ["subject", "setting"],
            "properties": {"subject": _short, "setting": _short, "family": {"type": "string", "maxLength": 60}},
            "additionalProperties": False,
        },
        "cast": {
            "type": "array", "minItems": 0, "maxItems": 3,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "role", "look", "voice", "seed"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,15}$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 60},
                    "role": {"type": "string", "minLength": 1, "maxLength": 80},
                    "look": {"type": "string", "minLength": 3, "maxLength": 200},
                    "voice": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["rate", "pitch"],
                        "properties": {
                            "rate": {"type": "number", "minimum": 0.5, "maximum": 2.0},
                            "pitch": {"type": "number", "minimum": -12, "maximum": 12},
                        },
                    },
                    "seed": {"type": "integer", "minimum": 0},
                },
            },
        },
        "shots": {
            "type": "array", "minItems": 3, "maxItems": 8,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["duration_s", "setting", "action", "camera", "characters", "props", "transition", "prompt"],
                "properties": {
                    "duration_s": {"type": "number", "exclusiveMinimum": 0, "maximum": DURATION_MAX_S},
                    "setting": _short,
                    "action": {"type": "string", "minLength": 1, "maxLength": 300},
                    "camera": {"enum": CAMERAS},
                    "characters": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": True},
                    "props": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 40}, "maxItems": 6},
                    "transition": {"enum": TRANSITIONS},
                    "prompt": {"type": "string", "minLength": 1, "maxLength": 1200},
                },
            },
        },
        "lines": {
            "type": "array", "maxItems": 40,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["shot", "kind", "speaker", "text"],
                "properties": {
                    "shot": {"type": "integer", "minimum": 0},
                    "kind": {"enum": LINE_KINDS},
                    "speaker": {"type": ["string", "null"]},
                    "text": {"type": "string", "minLength": 1, "maxLength": 400},
                    "beat": {"type": "integer", "minimum": 0},
                },
            },
        },
        "music": {
            "type": "object",
            "additionalProperties": False,
            "required": ["genre", "mood", "tempo_bpm", "key"],
            "properties": {
                "genre": _short, "mood": _short,
                "tempo_bpm": {"type": "integer", "minimum": 40, "maximum": 220},
                "key": {"type": "string", "pattern": "^[A-G][#b]? (major|minor)$"},
            },
        },
        "sound": {
            "type": "object",
            "additionalProperties": False,
            "required": ["ambience", "effects"],
            "properties": {"ambience": _short, "effects": {"type": "array", "items": _short, "maxItems": 8}},
        },
        "negative": {"type": "string", "maxLength": 400},
        "seed": {"type": "integer", "minimum": 0},
        "series": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "episode", "previously"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "maxLength": 100},
                        "episode": {"type": "integer", "minimum": 1},
                        "previously": {"type": "array", "items": _text, "maxItems": 10},
                    },
                },
            ]
        },
    },
}


def _path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":  # name the missing field itself, not its parent
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        parts += missing[:1]
    elif error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        parts += extra[:1]
    return ".".join(parts) or "script"


def _semantic_errors(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    cast_ids = [c["id"] for c in data["cast"]]
    if len(set(cast_ids)) != len(cast_ids):
        add("cast", f"cast ids must be unique (got {cast_ids})")
    looks = {c["id"]: c["look"] for c in data["cast"]}
    for n, shot in enumerate(data["shots"]):
        for who in shot["characters"]:
            if who not in looks:
                add(f"shots.{n}.characters", f"{who!r} is not a cast id (cast: {', '.join(cast_ids) or 'none'})")
            elif looks[who] not in shot["prompt"]:
                add(f"shots.{n}.prompt", f"must contain the look of {who!r} word for word: {looks[who]!r}")
    for n, line in enumerate(data["lines"]):
        if line["shot"] >= len(data["shots"]):
            add(f"lines.{n}.shot", f"shot {line['shot']} does not exist (there are {len(data['shots'])})")
        if line["speaker"] is not None and line["speaker"] not in looks:
            add(f"lines.{n}.speaker", f"{line['speaker']!r} is not a cast id")
        if line["kind"] == "dialogue" and line["speaker"] is None:
            add(f"lines.{n}.speaker", "dialogue needs a speaker")
    total = sum(s["duration_s"] for s in data["shots"])
    if abs(total - data["duration_s"]) > DURATION_TOLERANCE_S:
        add("shots", f"shot durations add up to {total:.1f} s, not duration_s {data['duration_s']:.1f} s (±{DURATION_TOLERANCE_S})")
    return errors


def script_validate(data: dict) -> dict:
    """The script if it is a valid version-1 script; else ValidationError keyed by field path."""
    from jsonschema import Draft202012Validator

    if not isinstance(data, dict):
        raise ValidationError({"script": f"must be a JSON object, got {type(data).__name__}"})
    validator = Draft202012Validator(SCRIPT_SCHEMA)
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.setdefault(_path(error), []).append(error.message)
    if errors:
        raise ValidationError(errors)
    errors = _semantic_errors(data)
    if errors:
        raise ValidationError(errors)
    return data


_FORMAT_WORDS = {
    "short_film": "short film", "musical": "musical number", "documentary": "documentary", "tutorial": "tutorial",
    "host": "host-to-camera video", "comedy_sketch": "comedy sketch", "ambient": "ambient video", "explainer": "explainer",
}


def script_prompt(script: dict) -> str:
    """One paragraph that says what the piece is: for embedding, search and the Video's description."""
    world = script["world"]
    people = "; ".join(f"{c['name']}, {c['look']}" for c in script["cast"])
    music = script["music"]
    parts = [
        f"{script['title']}. A {script['tone']} {_FORMAT_WORDS.get(script['format'], script['format'])} about {world['subject']},"
        f" set in {world['setting']}.",
        script["logline"],
        f"Starring {people}." if people else "",
        f"{music['genre'].capitalize()} music, {music['mood']}; the sound of {script['sound']['ambience']}.",
    ]
    return " ".join(p for p in parts if p)


def script_texts(script: dict) -> list[str]:
    """Every text a viewer could see or hear, or a renderer could draw: for the safety check."""
    texts = [script["title"], script["logline"], script["world"]["subject"], script["world"]["setting"]]
    if script.get("addressee"):
        texts.append(script["addressee"])
    for member in script["cast"]:
        texts += [member["name"], member["role"], member["look"]]
    for shot in script["shots"]:
        texts += [shot["setting"], shot["action"], shot["prompt"], *shot["props"]]
    texts += [line["text"] for line in script["lines"]]
    texts += [script["music"]["genre"], script["music"]["mood"], script["sound"]["ambience"], *script["sound"]["effects"]]
    if script.get("series"):
        texts += list(script["series"].get("previously", []))
    return [t for t in texts if t]


def script_as_text(script: dict) -> str:
    """A screenplay-like reading of the script, for people (examples, the admin, reviews)."""
    names = {c["id"]: c["name"] for c in script["cast"]}
    out = [f"# {script['title']}", f"_{script['logline']}_", "",
           f"{script['format']} · {script['tone']} · {script['duration_s']:g} s · {script['aspect']} · "
           f"{script['world']['subject']} / {script['world']['setting']}"]
    for c in script["cast"]:
        out.append(f"- {c['name']} ({c['role']}): {c['look']}; voice rate {c['voice']['rate']}, pitch {c['voice']['pitch']:+g}")
    music = script["music"]
    out.append(f"Music: {music['genre']}, {music['mood']}, {music['tempo_bpm']} bpm, {music['key']}. "
               f"Sound: {script['sound']['ambience']}; {', '.join(script['sound']['effects'])}.")
    for n, shot in enumerate(script["shots"]):
        out += ["", f"SHOT {n + 1} ({shot['duration_s']:g} s, {shot['camera']}, then {shot['transition']}): {shot['action']}",
                f"  [prompt] {shot['prompt']}"]
        for line in script["lines"]:
            if line["shot"] == n:
                who = names.get(line["speaker"], "NARRATOR")
                mark = "♪ " if line["kind"] == "lyric" else ""
                out.append(f"  {who}: {mark}{line['text']}")
    return "\n".join(out)
