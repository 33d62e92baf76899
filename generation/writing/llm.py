"""An optional language-model writer behind any OpenAI-compatible chat endpoint (vLLM,
Ollama, llama.cpp server), with the built-in writer as its fallback.

The model is asked for the Script as one JSON object (response_format json_object) and its
answer is accepted only if it passes `script_validate`. Anything else (HTTP error, timeout,
not JSON, a schema failure, a refusal) is logged with the reason and the fallback's script
is returned, so a flaky endpoint never costs a viewer their video. Plain urllib: one POST
needs no client library.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Callable

from django.core.exceptions import ValidationError

from generation.writing.script import CAMERAS, FORMATS, LINE_KINDS, TRANSITIONS, script_validate

logger = logging.getLogger("tailor.writer")

_EXAMPLE = {
    "version": 1, "title": "Garlic Bread: The Musical", "logline": "A loaf of garlic bread sings its way out of the oven.",
    "format": "musical", "tone": "playful", "duration_s": 12.0, "aspect": "9:16",
    "world": {"subject": "garlic bread", "setting": "a cosy bakery kitchen"},
    "cast": [{"id": "c1", "name": "Gus", "role": "lead singer", "look": "a golden loaf of garlic bread with a tiny chef's hat",
              "voice": {"rate": 1.0, "pitch": 2.0}, "seed": 1234}],
    "shots": [
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus rises in the oven", "camera": "push-in",
         "characters": ["c1"], "props": ["oven", "bread"], "transition": "cut",
         "prompt": "Bright stage-musical scene: a golden loaf of garlic bread with a tiny chef's hat rises in a glowing oven"},
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus sings on the counter", "camera": "orbit",
         "characters": ["c1"], "props": ["butter"], "transition": "cut",
         "prompt": "Bright stage-musical scene: a golden loaf of garlic bread with a tiny chef's hat sings on a flour-dusted counter"},
        {"duration_s": 4.0, "setting": "a cosy bakery kitchen", "action": "Gus takes a bow", "camera": "pull-out",
         "characters": ["c1"], "props": ["bread"], "transition": "fade",
         "prompt": "Bright stage-musical scene: a golden loaf of garlic bread with a tiny chef's hat takes a bow in a spotlight"},
    ],
    "lines": [
        {"shot": 0, "kind": "narration", "speaker": None, "text": "In a little bakery, something is rising."},
        {"shot": 1, "kind": "lyric", "speaker": "c1", "text": "Butter and garlic, golden and bright", "beat": 0},
        {"shot": 2, "kind": "dialogue", "speaker": "c1", "text": "Take a bite!"},
    ],
    "music": {"genre": "broadway", "mood": "joyful", "tempo_bpm": 112, "key": "C major"},
    "sound": {"ambience": "kitchen bustle", "effects": ["oven ding"]},
    "negative": "blurry, distorted", "seed": 42, "series": None,
}


def _system_prompt() -> str:
    return (
        "You write short vertical videos as JSON scripts. Answer with ONE JSON object and nothing else, in exactly "
        "the shape of this example (version 1):\n" + json.dumps(_EXAMPLE) + "\n"
        f"Rules: format is one of {', '.join(FORMATS)}; aspect is 9:16, 16:9 or 1:1; 0 to 3 cast members with ids "
        "c1, c2, c3; 3 to 8 shots; shot durations add up to duration_s, which is 8 to 30 seconds; camera is one of "
        f"{', '.join(CAMERAS)}; transition is one of {', '.join(TRANSITIONS)}; line kind is one of {', '.join(LINE_KINDS)}; "
        "a line's shot is a shot index; a speaker is a cast id or null; lyric lines carry a beat index; music key is "
        "like 'C major' or 'A minor'; series is null unless given. Every shot prompt that shows a character must contain "
        "that character's look text word for word. Write about the subject itself: never paste the request into the "
        "script, never use the request as the title. Keep it coherent: settings, props and people from one world."
    )


def _user_prompt(taste_summary: str, brief: str, kw: dict) -> str:
    parts = [f"The viewer enjoys: {taste_summary or 'anything'}."]
    if brief:
        parts.append(f"The viewer asked for: {brief}")
    for key in ("format", "aspect", "duration_s", "addressee", "seed"):
        if kw.get(key) not in (None, ""):
            parts.append(f"{key}: {kw[key]}")
    if kw.get("series"):
        series = {k: kw["series"][k] for k in ("id", "episode", "previously", "cast", "world") if k in kw["series"]}
        parts.append(f"This is the next episode of a series; keep the same cast (names, looks, voices, seeds) and world: {json.dumps(series)}")
    parts.append("Reply with the JSON script only.")
    return "\n".join(parts)


def _endpoint(url: str) -> str:
    url = url.rstrip("/")
    return f"{url}/chat/completions" if url.endswith("/v1") else f"{url}/v1/chat/completions"


def script_write_llm(
    *, url: str, model: str, taste_summary: str, brief: str, fallback: Callable[[], dict], timeout_s: float = 20,
    api_key: str = "", temperature: float = 0.8, **kw,
) -> dict:
    """A validated script from the language model at `url`, else `fallback()` (the reason is logged).
    kw: format, aspect, duration_s, addressee, seed, series: passed to the model as requirements."""
    body = {
        "model": model,
        "messages": [{"role": "system", "content": _system_prompt()},
                     {"role": "user", "content": _user_prompt(taste_summary, brief, kw)}],
        "response_format": {"type": "json_object"},
        "temperature": temperature,
    }
    if kw.get("seed") is not None:
        body["seed"] = int(kw["seed"])
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(_endpoint(url), data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = json.loads(response.read().decode("utf-8"))
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        if message.get("refusal") or choice.get("finish_reason") == "content_filter":
            raise _Refused(str(message.get("refusal") or choice.get("finish_reason")))
        content = message.get("content") or ""
        script = json.loads(_strip_fence(content))
        script = script_validate(script)
        for key in ("format", "aspect"):  # a requirement the model ignored is a failure, not a preference
            if kw.get(key) and script.get(key) != kw[key]:
                raise ValidationError({key: f"asked for {kw[key]!r}, got {script.get(key)!r}"})
    except _Refused as exc:
        return _fall_back(fallback, "refusal", exc, model)
    except urllib.error.HTTPError as exc:
        return _fall_back(fallback, f"HTTP {exc.code}", exc, model)
    except (TimeoutError, socket.timeout) as exc:
        return _fall_back(fallback, "timeout", exc, model)
    except urllib.error.URLError as exc:
        reason = "timeout" if isinstance(exc.reason, (TimeoutError, socket.timeout)) else "unreachable"
        return _fall_back(fallback, reason, exc, model)
    except ValidationError as exc:
        return _fall_back(fallback, "invalid script", exc, model)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _fall_back(fallback, "not JSON", exc, model)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        return _fall_back(fallback, "malformed response", exc, model)
    except OSError as exc:  # connection reset and the like
        return _fall_back(fallback, "connection error", exc, model)
    logger.info("writer llm model=%s accepted script title=%r", model, script["title"])
    return script


class _Refused(Exception):
    pass


def _strip_fence(content: str) -> str:
    """Some servers wrap JSON in a ```json fence even in JSON mode."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def _fall_back(fallback: Callable[[], dict], reason: str, exc: Exception, model: str) -> dict:
    detail = exc.message_dict if isinstance(exc, ValidationError) and hasattr(exc, "error_dict") else str(exc)
    logger.warning("writer llm model=%s failed (%s): %s; using the built-in writer", model, reason, str(detail)[:500])
    return fallback()
