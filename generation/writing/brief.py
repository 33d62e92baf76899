"""Understanding a viewer's brief: "a musical about garlic bread" is a format (musical) and a
subject (garlic bread), not a phrase to paste into a template.

Recognised: format words and their synonyms (song, doc, how to, sketch, vlog, lofi ...),
"about X" / "starring X" / "featuring X" / "ode to X" / "how to VERB X" for the subject, and
"X in Y" / "X at Y" for a setting. What is left after the filler ("make me", "a video", "please")
is the subject. Articles are stripped from the subject; its own capitals are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

FORMAT_PATTERNS: list[tuple[str, str]] = [
    ("tutorial", r"how to|how do (?:i|you)|tutorial|guide to|guide|recipe for|recipe|learn(?:ing)? to|step[- ]by[- ]step|lesson"),
    ("musical", r"musical|song|sing-along|singalong|sing|opera|ballad|anthem|music video|ode|jingle|rap"),
    ("documentary", r"documentary|docu-?series|docu|doc|nature film|wildlife film|behind the scenes"),
    ("explainer", r"explainer|explained|explain|why do|why does|why is|why are|what is|what are|how does|how do they|science of"),
    ("comedy_sketch", r"comedy sketch|sketch|comedy|funny video|funny|parody|spoof|skit|sitcom|joke"),
    ("host", r"vlog|talk show|presenter|hosted|host|chat|check-in|update|message"),
    ("ambient", r"ambient|lo-?fi|chill|relaxing|relax|asmr|loop|calm|meditation|meditative|sleep"),
    ("short_film", r"short film|short story|film|movie|story|tale|adventure|fable|cartoon|animation"),
]
_FORMAT_RE = [(fmt, re.compile(rf"\b(?:{pat})\b", re.I)) for fmt, pat in FORMAT_PATTERNS]
_SUBJECT_MARKERS = re.compile(
    r"\b(?:all about|about|starring|featuring|called|on the topic of|ode to|ballad of|story of|tale of|life of|"
    r"secret life of|history of|science of|guide to|recipe for)\s+", re.I)
_HOW_TO = re.compile(r"\bhow (?:to|do (?:i|you))\s+(?P<task>.+)$", re.I)
_LEADING_FILLER = re.compile(
    r"^(?:(?:please|pls|hey|ok|okay)[, ]+)?(?:(?:can|could|would) you\s+)?(?:i(?:'d| would)? (?:like|want|love)(?: to see)?\s+)?"
    r"(?:(?:make|write|create|give|show|generate|do|tell|film|render)\s+(?:me|us)?\s*)?", re.I)
_FILLER_WORDS = re.compile(
    r"\b(?:a|an|the|some|little|short|quick|tiny|new|original|fun|cool|nice|video|clip|piece|something|one|please|"
    r"for me|for us|episode|kind of|sort of)\b", re.I)
_SETTING_SPLIT = re.compile(r"\s+(?:in|at|inside|on top of|aboard|set in|set on|on(?= (?:a|an|the) | [A-Z]))\s+(?=\S)")
_ARTICLE = re.compile(r"^(?:a|an|the|some|my|our|your)\s+", re.I)
_DETERMINERS = ("a ", "an ", "the ", "my ", "our ", "your ", "his ", "her ", "their ", "this ", "that ")
_BARE_PLACES = {"space", "outer space", "orbit", "town", "school", "bed", "heaven", "nature", "the wild", "winter",
                "summer", "autumn", "spring", "paradise", "the future", "the past", "deep space", "home"}


@dataclass(frozen=True)
class Brief:
    text: str
    format: str | None = None
    subject: str = ""
    setting: str = ""
    task: str = ""  # for how-to briefs: "make sourdough"
    article: str = ""  # the article the subject came with ("a dragon"), for prose


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" .,!?:;\"'“”")
    return text


def _strip_article(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _ARTICLE.sub("", text).strip()
    return text


def _format_of(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """The format the text names: the last format word before the subject marker (the head
    noun: 'a funny song about X' is a song), else the first by priority."""
    marker = _SUBJECT_MARKERS.search(text)
    head = text[: marker.start()] if marker else text
    if _HOW_TO.search(text) and not marker:
        return "tutorial", None
    found = []
    for fmt, pattern in _FORMAT_RE:
        for match in pattern.finditer(head):
            found.append((match.start(), fmt, match.span()))
    if not found:
        return None, None
    if marker:
        _, fmt, span = max(found)
        return fmt, span
    priority = [f for f, _ in FORMAT_PATTERNS]
    _, fmt, span = min(found, key=lambda f: (priority.index(f[1]), f[0]))
    return fmt, span


def _setting_of(text: str) -> tuple[str, str]:
    parts = _SETTING_SPLIT.split(text, maxsplit=1)
    if len(parts) == 2 and parts[0].strip() and parts[1].strip():
        return parts[0].strip(), setting_normal(parts[1].strip())
    return text, ""


def setting_normal(setting: str) -> str:
    """A setting that reads after 'in': 'bakery' -> 'a bakery', 'space' and 'Paris' stay."""
    setting = _tidy(setting)
    low = setting.lower()
    if not setting or low.startswith(_DETERMINERS) or low in _BARE_PLACES or setting[0].isupper():
        return setting
    from generation.writing.grammar import is_plural, with_article

    return setting if is_plural(setting) else with_article(setting)


_MARKER_FORMATS = {"ode to": "musical", "ballad of": "musical", "story of": "short_film", "tale of": "short_film",
                   "secret life of": "documentary", "history of": "documentary", "life of": "documentary",
                   "science of": "explainer", "guide to": "tutorial", "recipe for": "tutorial"}


@lru_cache(maxsize=1)
def _proper_nouns() -> frozenset[str]:
    """Capitalised words the worlds use (Lisbon, Kyoto, Mars): names, not sentence case."""
    from generation.data.worlds import WORLDS

    words = set()
    for spec in WORLDS:
        for phrase in [*spec["subjects"], *spec["settings"], spec["description"]]:
            words.update(w.strip(",.:;'") for w in phrase.split(" ")[1:] if w[:1].isupper())
            if phrase.split(" ")[0][:1].isupper():
                words.add(phrase.split(" ")[0])
    return frozenset(words)


def brief_parse(text: str) -> Brief:
    """Format, subject, setting and task from a viewer's brief (already length-checked)."""
    text = _tidy(" ".join((text or "").split()))
    if not text:
        return Brief(text="")
    fmt, span = _format_of(text)
    body = _LEADING_FILLER.sub("", text).strip()
    task = ""
    how = _HOW_TO.search(body)
    marker = _SUBJECT_MARKERS.search(body)
    if marker:
        subject = body[marker.end():]
        fmt = fmt or _MARKER_FORMATS.get(" ".join(marker.group(0).lower().split()))
    elif how:
        task = _tidy(how.group("task"))
        task_words = task.split(" ", 1)
        subject = task_words[1] if len(task_words) > 1 else task_words[0]
    else:
        subject = body
        for _, pattern in _FORMAT_RE:  # "snow leopard documentary" -> "snow leopard"
            subject = pattern.sub(" ", subject)
    subject, setting = _setting_of(_tidy(subject))
    if task:
        task, _ = _setting_of(task)
        subject = re.sub(r"\b(?:at home|from scratch|properly|the right way|like a pro|easily|fast|quickly)\b", "", subject, flags=re.I)
        task = _tidy(task)
    subject = _FILLER_WORDS.sub(" ", subject) if not marker and not how else subject
    subject = _tidy(subject)
    lead = _ARTICLE.match(subject)
    article = lead.group(0).strip().lower() if lead else ""
    subject = _strip_article(subject)
    first = subject.split(" ")[0] if subject else ""
    if first and text.split(" ")[0] == first and first[1:].islower() and first not in _proper_nouns():
        subject = subject[:1].lower() + subject[1:]  # "Garlic bread musical": sentence case, not a name
    return Brief(text=text, format=fmt, subject=subject, setting=setting, task=task, article=article)


def subject_in_prose(brief: Brief) -> str:
    """The subject as a sentence names it: 'a dragon', 'the Vikings', 'garlic bread'."""
    from generation.writing.grammar import with_article

    if brief.article == "the":
        return f"the {brief.subject}"
    if brief.article in ("a", "an", "my", "our", "your") and not brief.subject[:1].isupper():
        return with_article(brief.subject)
    return brief.subject
