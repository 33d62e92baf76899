"""The built-in script writer: from a taste (and perhaps a brief) to a coherent Script.

1. Understand the brief (generation/writing/brief.py): its format, subject, setting, task.
2. Choose the world: the brief's subject's world, the series' world, or one of the worlds
   nearest the taste. Everything on screen comes from that one world, so a snow leopard
   stays on its ridge.
3. Choose the format (argument, brief, series, else the world's formats nearest the taste)
   and a tone the format can carry, nearest the taste.
4. Cast: names, roles, looks, distinct voices, a seed per character (kept across a series).
5. Write one shot per story beat of the format, with lines from phrase templates filled
   from the world, grammar checked (a/an, agreement, capitals).
6. Draft several candidates; embed all of their summaries in one call; score each on taste
   fit, novelty against the catalogue and coherence checks; keep the best that the caller's
   `check` hook (safety) accepts.

Deterministic for a fixed seed.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.core.exceptions import ValidationError

from core.vec import normalize
from generation.writing import grammar as g
from generation.writing import phrases as P
from generation.writing.brief import Brief, brief_parse, subject_in_prose
from generation.writing.script import (
    ASPECTS, DURATION_MAX_S, DURATION_MIN_S, FORMATS, SCRIPT_VERSION, script_prompt, script_texts, script_validate,
)
from generation.writing.world import World, world_for_subject, world_get, worlds_near

logger = logging.getLogger("tailor.writer")

CANDIDATES = 4
NOVELTY_WEIGHT = 0.3
COHERENCE_WEIGHT = 1.0
# Measured on the packaged Piper voice as the storyboard places lines (a lead-in per shot, a gap
# after each line, lyrics waiting for the beat): budgeting less makes the piece run long.
WORDS_PER_S = 2.2
# The planner's choices of voice pace and length (generation/bandit.py), as the writer applies them.
VOICE_PACES = {"measured": 0.94, "natural": 1.0, "brisk": 1.08}
LENGTHS_S = {"short": 12.0, "medium": 19.0, "long": 27.0}
SUNG_WORDS_PER_S = 1.8
LINE_GAP_S = 0.35
SHOT_OVERHEAD_S = 0.8
TITLE_CARD_S = 1.9


@dataclass
class WrittenScript:
    script: dict
    fit: float = 0.0
    novelty: float = 0.0
    coherence: float = 0.0
    score: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)


# ---- where things happen -------------------------------------------------------------------

_ON = {"ridge", "beach", "pad", "stage", "pitch", "court", "plain", "shelf", "floe", "deck", "rooftop", "roof", "street",
       "road", "highway", "trail", "pass", "rim", "line", "balcony", "island", "hill", "cliff", "porch", "track",
       "slope", "viaduct", "sea", "boat", "windowsill", "riverbank", "bank", "coast", "circuit", "path", "top", "bridge", "grid",
       "iceberg", "reef", "savanna", "allotment", "lake", "moon", "mars", "planet", "floor"}
_AT = {"edge", "hole", "fair", "truck", "stall", "station", "desk", "window", "waterfall", "pyramids", "wall", "break",
       "table", "feast", "rave", "barbecue", "row", "observatory", "counter", "river", "market", "site", "stands", "gig",
       "drawbridge", "corner", "viewpoint"}
_BY = {"campfire", "fire", "stream", "fireplace"}
_STOP = {"of", "in", "on", "at", "above", "under", "over", "with", "by", "between", "full", "for", "from", "near", "after",
         "turned", "lit", "cleared", "covered", "filled", "beneath", "across", "along", "through", "where", "that", "a", "an",
         "the", "to", "into", "during", "before"}


def located(setting: str) -> str:
    """The setting with the preposition it takes: 'on a snowy Himalayan ridge', 'in a bakery'."""
    words = setting.split(" ")
    head = words[0]
    for n, word in enumerate(words):
        if n > 0 and word.lower() in _STOP:
            break
        head = word
    head = head.lower().strip(",.")
    if setting.lower() in ("space", "outer space", "deep space", "orbit"):
        return f"in {setting}"
    if "space station" in setting.lower():  # on board, not at the kerb like a train station
        return f"on {setting}"
    if head in _BY:
        return f"by {setting}"
    if head in _AT:
        return f"at {setting}"
    if head in _ON or head.rstrip("s") in _ON:
        return f"on {setting}"
    return f"in {setting}"


# ---- embeddings of the writer's own vocabulary -----------------------------------------------

@lru_cache(maxsize=1)
def _label_vectors() -> dict[str, dict[str, np.ndarray]]:
    from profiles.embedding import embed_texts

    formats = list(P.FORMATS)
    tones = list(P.TONES)
    vecs = embed_texts([P.FORMATS[f]["description"] for f in formats] + [f"{t}: {P.TONES[t]['description']}" for t in tones])
    return {"format": dict(zip(formats, vecs[: len(formats)])), "tone": dict(zip(tones, vecs[len(formats):]))}


def _weighted(rng: random.Random, options: list[str], sims: list[float], sharpness: float = 10.0) -> str:
    top = max(sims)
    return rng.choices(options, weights=[float(np.exp(sharpness * (s - top))) for s in sims])[0]


def _choose_format(taste: np.ndarray, world: World, rng: random.Random) -> str:
    vectors = _label_vectors()["format"]
    options = [f for f in world.formats if f in vectors] or list(vectors)
    # The world's own order says where it shines; the taste decides among them.
    sims = [float(vectors[f] @ taste) + 0.02 * (len(options) - i) for i, f in enumerate(options)]
    return _weighted(rng, options, sims)


def _choose_tone(taste: np.ndarray, world: World, fmt: str, rng: random.Random) -> str:
    vectors = _label_vectors()["tone"]
    allowed = P.FORMAT_TONES.get(fmt, list(P.TONES))
    options = [t for t in world.tones if t in allowed] or [t for t in allowed if t in vectors]
    sims = [float(vectors[t] @ taste) + 0.02 * (len(options) - i) for i, t in enumerate(options)]
    return _weighted(rng, options, sims)


# ---- cast --------------------------------------------------------------------------------------

def _character_seed(script_seed: int, name: str) -> int:
    return int(hashlib.sha256(f"{script_seed}:{name}".encode()).hexdigest()[:8], 16) % (2**31)


def _is_mascot(role: str) -> bool:
    """The subject itself as a character ('singing garlic bread'), not a person in its world."""
    return role.startswith(("singing ", "talking "))


def _mascot_noun(look: str, subject: str) -> str:
    """What the mascot is, for its role: the subject if the look shows it, else the look's noun."""
    bare = g.singular(_bare(subject))
    if bare.lower() in look.lower():
        return bare
    head = re.split(r"\s+(?:with|in|on|and|for)\s+", look, maxsplit=1)[0]
    return head.split(" ")[-1]


def _singer_name(subject: str, rng: random.Random, taken: set[str]) -> str:
    letter = next((c for c in g.singular(_bare(subject)).lower() if c.isalpha()), "p")
    pool = [n for n in P.NAMES_BY_LETTER.get(letter, P.NAMES_BY_LETTER["p"]) if n not in taken]
    return rng.choice(pool or ["Pip"])


def _mascot_look(world: World, subject: str) -> str | None:
    if world.mascot and not world.borrowed:
        return world.mascot.format(subject=subject)
    if world.borrowed:
        return f"a cheerful cartoon {g.singular(_bare(subject))} with big round eyes and a tiny bow tie"
    return None


def _cast(world: World, fmt: str, subject: str, rng: random.Random, seed: int, subject_named: bool = False) -> list[dict]:
    slots = list(P.FORMATS[fmt]["cast"])
    if fmt == "explainer" and rng.random() < 0.5:
        slots = ["host"]
    story = list(world.cast)
    rng.shuffle(story)
    people: list[tuple[str, str, str]] = []  # (name, role, look)
    taken: set[str] = set()
    for slot in slots:
        if slot == "host":
            role, look, names = world.host
        elif slot == "star":
            mascot = _mascot_look(world, subject)
            if mascot and (subject_named or rng.random() < 0.8):
                noun = _mascot_noun(mascot, subject)
                name = _singer_name(noun, rng, taken)
                people.append((name, f"singing {noun}", mascot))
                taken.add(name)
                continue
            role, look, names = story.pop(0) if story else world.host
        elif fmt == "comedy_sketch" and not people and world.mascot and not world.borrowed and rng.random() < 0.3:
            mascot = _mascot_look(world, subject)
            noun = _mascot_noun(mascot, subject)
            name = _singer_name(noun, rng, taken)
            people.append((name, f"talking {noun}", mascot))
            taken.add(name)
            continue
        else:
            role, look, names = story.pop(0) if story else world.host
        if any(look == p[2] for p in people):
            continue
        name = rng.choice([n for n in names if n not in taken] or list(names))
        taken.add(name)
        people.append((name, role, look))
    # Within the range the voice stays intelligible in (generation/storyboard/voice.py), 1.5
    # semitones apart at least, so any two characters sound different.
    pitches = [-1.0, 0.5, 2.0, 3.5, 5.0]
    rng.shuffle(pitches)
    cast = []
    for n, (name, role, look) in enumerate(people):
        pitch = min(pitches[n] + (1.5 if _is_mascot(role) else 0.0), 5.0)
        cast.append({
            "id": f"c{n + 1}", "name": name, "role": role, "look": look,
            "voice": {"rate": round(rng.choice([0.92, 0.97, 1.0, 1.05, 1.1]), 2), "pitch": pitch},
            "seed": _character_seed(seed, name),
        })
    return cast


# ---- filling phrases -----------------------------------------------------------------------------

def _bare(subject: str) -> str:
    return re.sub(r"^(?:a|an|the)\s+", "", subject, flags=re.I)


def _name_role(person: dict | None) -> str:
    """'Mia the apprentice', but 'Captain Holt', not 'Captain Holt the captain'."""
    if not person:
        return ""
    if set(person["role"].lower().split()) & set(person["name"].lower().replace(".", "").split()):
        return person["name"]
    return f"{person['name']} the {person['role']}"


class _Filler(dict):
    """Slots for str.format_map that fail loudly on a slot a template should not have used."""

    def __missing__(self, key):
        raise KeyError(f"phrase slot {{{key}}} has no value")


def _slots(*, world: World, subject: str, setting: str, cast: list[dict], rng: random.Random, task: str,
           addressee: str, n_steps: int) -> _Filler:
    plural = g.is_plural(subject)
    adjectives = list(P.GENERIC_ADJECTIVES if world.borrowed else world.adjectives)
    rng.shuffle(adjectives)
    lead = cast[0] if cast else None
    second = cast[1] if len(cast) > 1 else None
    bare = _bare(subject)
    at_setting = located(setting)
    # In a lyric a singular thing is someone's: "my cat has been here all along".
    lyr = bare if plural or g.is_mass(bare) or bare[:1].isupper() else f"my {bare}"
    return _Filler(
        subject=subject, Subject=g.capfirst(subject), bare=bare, Bare=g.capfirst(bare), T=g.title_case(bare),
        lyr=lyr, Lyr=g.capfirst(lyr),
        AdjLyr=f"My {adjectives[0]} {bare}" if lyr.startswith("my ") else f"{g.capfirst(adjectives[0])} {bare}",
        setting=setting, Setting=g.capfirst(setting), at_setting=at_setting, At_setting=g.capfirst(at_setting),
        **{"is": "are" if plural else "is"}, has="have" if plural else "has", keeps="keep" if plural else "keeps",
        its="their" if plural else "its", it="them" if plural else "it", they="they" if plural else "it",
        looks="look" if plural else "looks",
        lead=lead["name"] if lead else "", Lead=lead["name"] if lead else "", role=lead["role"] if lead else "",
        lead_role=_name_role(lead), Lead_role=_name_role(lead),
        second=second["name"] if second else "someone", Second=second["name"] if second else "Everyone",
        task=task, Task=g.title_case(task), adj=adjectives[0], more_adj=g.comparative(adjectives[0]), adj2=adjectives[1 % len(adjectives)],
        Adj=g.capfirst(adjectives[0]), ambience=world.ambience, addressee=addressee or "friends", n=n_steps,
    )


def _fill(template: str, slots: dict, **extra) -> str:
    text = template.format_map(_Filler({**slots, **extra}))
    return g.sentence(text) if text[-1:] not in "!?" else " ".join(text.split())


def _lyric(template: str, slots: dict) -> str:
    text = " ".join(template.format_map(_Filler(slots)).split())
    return g.capfirst(text)


# ---- one draft ------------------------------------------------------------------------------------

def _durations(weights: list[float], total: float) -> list[float]:
    raw = [w * total / sum(weights) for w in weights]
    out = [max(1.5, round(r * 2) / 2) for r in raw]
    out[-1] = round(total - sum(out[:-1]), 2)
    if out[-1] < 1.0:  # rounding took too much from the last shot: even out instead
        out = [round(total / len(weights), 2)] * len(weights)
        out[-1] = round(total - sum(out[:-1]), 2)
    return out


def _enjoyed_phrase(enjoyed: Iterable[str]) -> str:
    for item in enjoyed:
        item = " ".join(str(item).split()).strip(" .")
        if item:
            if len(item.split()) > 3 or any(w[:1].isupper() for w in item.split()):
                return f"“{item[:80]}”"
            return item[:80]
    return ""


@dataclass
class _Plan:
    """What every shot of one draft is written from, chosen before the first shot."""

    rng: random.Random
    world: World
    parsed: Brief
    series: dict | None
    fmt: str
    tone: str
    subject: str
    setting: str
    task: str
    cast: list[dict]
    beats: list[str]
    steps: list[str]
    slots: _Filler
    meets_subject: bool
    details: list[str]  # shuffled; each shot takes the next
    facts: list[str]
    actions: list[str]

    @property
    def spec(self) -> dict:
        return P.FORMATS[self.fmt]

    @property
    def tone_spec(self) -> dict:
        return P.TONES[self.tone]

    @property
    def lead(self) -> dict | None:
        return self.cast[0] if self.cast else None

    @property
    def second(self) -> dict | None:
        return self.cast[1] if len(self.cast) > 1 else None


@dataclass
class _Written:
    """The shots and lines written so far, and what the next beat must know of them."""

    shots: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    used_alternatives: dict[str, set[int]] = field(default_factory=dict)
    lyric_beat: int = 0
    step_n: int = 0
    part_n: int = 0
    words_per_shot: list[float] = field(default_factory=list)
    cameras_used: list[str] = field(default_factory=list)


def _format_and_tone(*, taste: np.ndarray, world: World, parsed: Brief, fmt_arg: str | None, series: dict | None,
                     choices: dict, rng: random.Random) -> tuple[str, str]:
    fmt = fmt_arg or parsed.format or (series or {}).get("format") or _choose_format(taste, world, rng)
    tone = (series or {}).get("tone") or _choose_tone(taste, world, fmt, rng)
    if choices.get("tone") in P.FORMAT_TONES.get(fmt, list(P.TONES)) and not (series or {}).get("tone"):
        tone = choices["tone"]
    return fmt, tone


def _subject_and_setting(world: World, parsed: Brief, series_world: dict, rng: random.Random) -> tuple[str, str]:
    # The first subject is the one the world's details and facts are written around.
    own_phrase = world.own_subject and world.subject != parsed.subject  # "snow leopard" -> the world's "snow leopards"
    subject = series_world.get("subject") or (parsed.subject and (world.subject if own_phrase else subject_in_prose(parsed)))
    subject = subject or (world.subjects[0] if rng.random() < 0.6 else rng.choice(world.subjects))
    settings = list(world.settings)
    if parsed.subject and not parsed.setting:  # "a lonely lighthouse" belongs on the lighthouse
        words = set(re.findall(r"[a-z]{4,}", parsed.subject.lower()))
        settings = [st for st in settings if words & set(re.findall(r"[a-z]{4,}", st.lower()))] or settings
    setting = series_world.get("setting") or parsed.setting or rng.choice(settings)
    if parsed.subject and not parsed.setting and not series_world and world.borrowed and settings != list(world.settings):
        setting = subject  # the subject is a place ("a lonely lighthouse"): the story happens there
    return subject, setting


def _plan(*, taste: np.ndarray, seed: int, rng: random.Random, parsed: Brief, fmt_arg: str | None,
          series: dict | None, addressee: str, world: World, choices: dict) -> _Plan:
    """The format, tone, subject, setting and cast, and what the shots draw on (the rng's first calls)."""
    series_cast = (series or {}).get("cast") or None
    fmt, tone = _format_and_tone(taste=taste, world=world, parsed=parsed, fmt_arg=fmt_arg, series=series,
                                 choices=choices, rng=rng)
    subject, setting = _subject_and_setting(world, parsed, (series or {}).get("world") or {}, rng)
    task = parsed.task or world.task.format(subject=subject)
    if series_cast:
        cast = [dict(c, voice=dict(c["voice"])) for c in series_cast]
    else:
        cast = _cast(world, fmt, subject, rng, seed, subject_named=bool(parsed.subject))

    beats = list(P.FORMATS[fmt]["beats"])
    steps = list(world.steps)
    if world.borrowed and parsed.task and world.affinity < 0.5:  # the world's how-to is not this one
        steps = list(P.GENERIC_STEPS)
    if fmt == "tutorial":
        beats = ["intro", *(["step"] * min(4, len(steps))), "result"]
    slots = _slots(world=world, subject=subject, setting=setting, cast=cast, rng=rng, task=task, addressee=addressee,
                   n_steps=len(steps) if fmt == "tutorial" else 3)
    # A story the brief names a subject for must show it, unless a cast member already is it.
    shown = any(g.singular(_bare(subject)).lower() in c["look"].lower() for c in cast)
    meets_subject = bool(parsed.subject) and setting != subject and fmt in ("short_film", "comedy_sketch") and not shown
    details = list(world.details)
    facts = list(world.facts)
    actions = list(world.actions)
    rng.shuffle(details)
    rng.shuffle(facts)
    rng.shuffle(actions)
    return _Plan(rng=rng, world=world, parsed=parsed, series=series, fmt=fmt, tone=tone, subject=subject, setting=setting,
                 task=task, cast=cast, beats=beats, steps=steps, slots=slots, meets_subject=meets_subject,
                 details=details, facts=facts, actions=actions)


def _take(pool: list[str], fallback: list[str]) -> str:
    if not pool:
        pool.extend(fallback)
    return pool.pop(0)


def _beat_lines(plan: _Plan, out: _Written, index: int, beat: str) -> list[tuple[str, str, str]]:
    """The beat's (kind, who, template) lines."""
    rng, world, fmt = plan.rng, plan.world, plan.fmt
    # Lines: a beat's alternatives, never the same one twice in a script (but a chorus repeats).
    alternatives = P.LINES[fmt].get(beat, [[]])
    if beat == "chorus" and "chorus" in out.used_alternatives:
        choice = next(iter(out.used_alternatives["chorus"]))
    elif fmt == "host" and beat == "topic" and "topic" not in out.used_alternatives:
        choice = 0  # the first topic line introduces the subject
    else:
        free = [i for i in range(len(alternatives)) if i not in out.used_alternatives.get(beat, set())] or list(range(len(alternatives)))
        choice = rng.choice(free)
    out.used_alternatives.setdefault(beat, set()).add(choice)
    chosen_lines = list(alternatives[choice])
    if plan.meets_subject and beat in P.MEETS_SUBJECT_LINES:  # the brief's subject walks into the story
        chosen_lines = list(P.MEETS_SUBJECT_LINES[beat])
    if world.borrowed and any("{fact}" in t.lower() for _, _, t in chosen_lines):
        # The world's facts are about its own subjects, not about one it lends itself to.
        factless = [alt for alt in alternatives if alt and not any("{fact}" in t.lower() for _, _, t in alt)]
        chosen_lines = list(P.BORROWED_LINES.get(beat) or (rng.choice(factless) if factless else []))
    if fmt == "musical" and index == len(plan.beats) - 1:
        chosen_lines.append(("dialogue", "lead", rng.choice(P.TAGLINES.get(world.topic, P.TAGLINES["default"]))))
    return chosen_lines


def _beat_slots(plan: _Plan, out: _Written, beat: str, chosen_lines: list[tuple[str, str, str]]) -> dict:
    """The phrase slots for this beat: the next detail, fact (where a line tells one) and action."""
    world = plan.world
    if not plan.details and beat in ("reveal", "wide", "answer", "payoff"):
        plan.details.append(f"a last wide view of {plan.setting}")  # close on the place, not a repeated detail
    detail = _take(plan.details, list(world.details))
    # A fact is spent only where a line says it, so none is told twice.
    uses_fact = any("{fact}" in t or "{Fact}" in t for _, _, t in chosen_lines)
    fact = _take(plan.facts, list(world.facts)) if uses_fact else ""
    action = _take(plan.actions, list(world.actions))
    beat_slots = dict(plan.slots, detail=detail, Detail=g.capfirst(detail), fact=fact, Fact=g.capfirst(fact), action=action)
    steps, step_n = plan.steps, out.step_n
    if beat == "step":
        beat_slots.update(step=steps[step_n], Ordinal=P.ORDINALS[min(step_n, 3)] if step_n < len(steps) - 1 else "Finally")
    if beat == "part":
        beat_slots.update(Ordinal=P.EXPLAINER_ORDINALS[out.part_n])
    if plan.fmt == "comedy_sketch":
        beat_slots.update(step=plan.rng.choice(steps))
    return beat_slots


def _lines_write(plan: _Plan, out: _Written, index: int, beat: str, chosen_lines: list[tuple[str, str, str]],
                 beat_slots: dict) -> tuple[list[str], float]:
    """Appends the beat's lines; returns who speaks and the seconds the lines take."""
    lead, second, series = plan.lead, plan.second, plan.series
    speakers: list[str] = []
    shot_words = 0.0
    for kind, who, template in chosen_lines:
        if beat == "verse" or beat == "verse2" or beat == "chorus":
            template = template.replace("{Bare} {has}", "{Lyr} {has}").replace("{Bare} {is}", "{Lyr} {is}")
        person = {"lead": lead, "second": second}.get(who) if who else None
        if who and person is None:
            kind, person = "narration", None
        if kind == "lyric":
            text = _lyric(template, beat_slots)
            line = {"shot": index, "kind": kind, "speaker": person["id"] if person else None, "text": text, "beat": out.lyric_beat}
            out.lyric_beat += 1
            shot_words += len(text.split()) / SUNG_WORDS_PER_S + LINE_GAP_S
        else:
            text = _fill(template, beat_slots)
            line = {"shot": index, "kind": kind, "speaker": person["id"] if person else None, "text": text}
            shot_words += len(text.split()) / WORDS_PER_S + LINE_GAP_S
        if person and person["id"] not in speakers:
            speakers.append(person["id"])
        out.lines.append(line)
    if index == 0 and series and int(series.get("episode", 1)) > 1 and series.get("previously"):
        last = " ".join(str(series["previously"][-1]).split()).rstrip(".")
        out.lines.insert(0, {"shot": 0, "kind": "narration", "speaker": None, "text": g.sentence(f"Previously: {last}")})
        shot_words += len(last.split()) / WORDS_PER_S + 0.5
    return speakers, shot_words


def _on_screen(plan: _Plan, beat: str, speakers: list[str]) -> list[str]:
    # Who is on screen, and what they do.
    lead, second, fmt = plan.lead, plan.second, plan.fmt
    on_screen = list(speakers)
    if lead and fmt in ("short_film", "musical", "tutorial", "host", "comedy_sketch") and lead["id"] not in on_screen:
        on_screen.insert(0, lead["id"])
    if fmt == "explainer" and lead and beat in ("question", "answer") and lead["id"] not in on_screen:
        on_screen.insert(0, lead["id"])
    if second and beat in ("payoff", "punchline") and second["id"] not in on_screen:
        on_screen.append(second["id"])
    return on_screen


def _verb(plan: _Plan, index: int, beat: str, beat_slots: dict) -> str:
    fmt, lead, rng = plan.fmt, plan.lead, plan.rng
    if fmt == "musical" and beat == "intro" and lead and _is_mascot(lead["role"]):
        return rng.choice(P.MUSICAL_ACTIONS["intro"])
    if fmt == "musical" and index == len(plan.beats) - 1:
        return "strike a big final pose"
    if fmt == "musical" and beat in P.MUSICAL_ACTIONS and beat != "intro":
        return rng.choice(P.MUSICAL_ACTIONS[beat])
    if fmt == "comedy_sketch":
        return P.COMEDY_ACTIONS.get(beat, "try to {action}").format(action=beat_slots["action"])
    if fmt == "tutorial" and beat == "step":
        return f"show how to {beat_slots['step']}"
    if fmt == "host" and beat == "greeting":
        return "wave hello to the camera"
    if fmt == "host" and beat == "signoff":
        return "wave goodbye to the camera"
    if fmt == "tutorial" and beat == "result":
        return "hold up the finished result with a grin"
    return beat_slots["action"]


def _shot(plan: _Plan, out: _Written, index: int, beat: str, on_screen: list[str], verb: str, detail: str) -> dict:
    rng, fmt, setting, subject = plan.rng, plan.fmt, plan.setting, plan.subject
    people = [c for c in plan.cast if c["id"] in on_screen]
    at_setting = located(setting)
    if people:
        doer = people[0]
        action_text = f"{doer['name']} {g.third_person(verb)}"
        core = f"{doer['look']} {g.third_person(verb)}"
        if len(people) > 1:
            action_text += f", with {' and '.join(p['name'] for p in people[1:])}"
            core += f", beside {' and '.join(p['look'] for p in people[1:])}"
        if plan.meets_subject and beat in P.MEETS_SUBJECT_LINES:
            core += f", face to face with {subject}"
        elif fmt in ("documentary", "explainer", "host", "short_film") and beat in ("topic", "turn", "part"):
            core += f"; {detail}"
    else:
        action_text = g.capfirst(detail)
        core = f"{subject} {at_setting}: {detail}" if fmt in ("documentary", "explainer") else detail
    kind = P.BEAT_KIND.get(beat, "middle")
    options = [c for c in P.BEAT_CAMERAS[kind] if not out.cameras_used or c != out.cameras_used[-1]]
    camera = rng.choice(options)
    out.cameras_used.append(camera)
    props_pool = list(plan.world.props)
    props = rng.sample(props_pool, k=min(2, len(props_pool)))
    where = "" if setting in core else f" {at_setting}"
    prompt = (f"{plan.spec['style']}: {core}{where}. {g.capfirst(P.CAMERA_PHRASES[camera])}, {plan.tone_spec['light']}, "
              f"{plan.tone} mood. {g.capfirst(g.join_and([g.some(p) for p in props]))} in view.")
    transition = "cut" if index == 0 else rng.choice(plan.tone_spec["transitions"])
    return {
        "duration_s": 0.0, "setting": setting, "action": action_text, "camera": camera, "characters": on_screen,
        "props": props, "transition": transition, "prompt": prompt,
    }


def _shots_write(plan: _Plan) -> _Written:
    """One shot per beat, with its lines; the rng's calls beat by beat, in this order."""
    out = _Written()
    beats, spec = plan.beats, plan.spec
    for index, beat in enumerate(beats):
        chosen_lines = _beat_lines(plan, out, index, beat)
        beat_slots = _beat_slots(plan, out, beat, chosen_lines)
        speakers, shot_words = _lines_write(plan, out, index, beat, chosen_lines, beat_slots)
        on_screen = _on_screen(plan, beat, speakers)
        verb = _verb(plan, index, beat, beat_slots)
        out.shots.append(_shot(plan, out, index, beat, on_screen, verb, beat_slots["detail"]))
        floor = spec["seconds"] / len(beats) * (1.0 if plan.fmt == "ambient" else 0.6)
        out.words_per_shot.append(max(floor, shot_words + SHOT_OVERHEAD_S + (TITLE_CARD_S if index == 0 else 0.0)))
        if beat == "step":
            out.step_n += 1
        if beat == "part":
            out.part_n += 1
    out.shots[-1]["transition"] = "fade"
    return out


def _length_fit(out: _Written, duration_s: float | None, spec: dict) -> float:
    """Drops lines until the piece fits, then times the shots; returns the piece's length."""
    shots, lines, words_per_shot = out.shots, out.lines, out.words_per_shot
    # A piece runs at most DURATION_MAX_S: where the lines would need longer, the busiest shot
    # gives up its last line but one (a repeated chorus goes first), until they fit.
    limit = float(duration_s) if duration_s is not None else DURATION_MAX_S
    if any(line["kind"] == "lyric" for line in lines):
        limit -= 1.0  # sung lines wait for the next beat: room for that
    while sum(words_per_shot) > limit:
        counts = [sum(1 for line in lines if line["shot"] == i) for i in range(len(shots))]
        busiest = max((i for i in range(len(shots)) if counts[i] > 1), key=lambda i: words_per_shot[i], default=None)
        if busiest is None:
            break
        drop = max(j for j, line in enumerate(lines) if line["shot"] == busiest and j != min(
            k for k, other in enumerate(lines) if other["shot"] == busiest))
        line = lines.pop(drop)
        rate = SUNG_WORDS_PER_S if line["kind"] == "lyric" else WORDS_PER_S
        words_per_shot[busiest] -= len(line["text"].split()) / rate + LINE_GAP_S
    for place, line in enumerate(line for line in lines if line["kind"] == "lyric"):
        line["beat"] = place  # the song's lines in order, after any were given up

    if duration_s is None:
        total = float(min(max(sum(words_per_shot), spec["seconds"] * 0.8, DURATION_MIN_S), DURATION_MAX_S))
        total = round(total * 2) / 2
    else:
        total = float(duration_s)
    for shot, seconds in zip(shots, _durations(words_per_shot, total)):
        shot["duration_s"] = seconds
    return total


def _title(plan: _Plan) -> str:
    fmt, subject, lead, second, parsed, series = plan.fmt, plan.subject, plan.lead, plan.second, plan.parsed, plan.series
    title_slots = dict(plan.slots, Second=second["name"] if second else "Friends", Lead=lead["name"] if lead else _bare(subject),
                       T=subject, TB=_bare(subject), Task=plan.task)
    subject_words = set(re.findall(r"[a-z]+", subject.lower()))
    titles = [t for t in P.TITLES[fmt] if ("{Lead}" not in t or lead) and ("{Second}" not in t or second)
              and not (set(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", "", t).lower())) - g._SMALL) & subject_words] or P.TITLES[fmt][:1]
    if parsed.subject:  # a brief's subject is in its title
        titles = [t for t in titles if re.search(r"\{TB?\}|\{Task\}", t) and (fmt == "tutorial" or "{Task}" not in t)] or titles
    title = g.title_case(plan.rng.choice(titles).format_map(_Filler(title_slots)))
    if title.lower().strip(" .!?") == parsed.text.lower().strip(" .!?"):  # never the brief itself
        others = [t for t in titles if g.title_case(t.format_map(_Filler(title_slots))) != title]
        title = g.title_case((others or ["{TB}, Again"])[0].format_map(_Filler(title_slots)))
    if series:
        base = series.get("title") or title
        title = f"{base}, Episode {int(series.get('episode', 1))}"
    return title


def _logline(plan: _Plan) -> str:
    rng, world, fmt, lead, second = plan.rng, plan.world, plan.fmt, plan.lead, plan.second
    logline_slots = dict(plan.slots, detail=rng.choice(world.details), fact=rng.choice(world.facts))
    loglines = [t for t in P.LOGLINES[fmt] if ("{lead" not in t.lower() or lead) and ("{second}" not in t.lower() or second)]
    if fmt == "musical" and lead and _is_mascot(lead["role"]):
        loglines = P.MASCOT_LOGLINES
    if plan.meets_subject and lead:
        loglines = P.MEETS_SUBJECT_LOGLINES
    return _fill(rng.choice(loglines or ["A short piece about {subject} {at_setting}."]), logline_slots)


def _music(plan: _Plan, choices: dict) -> dict:
    rng, world, tone_spec = plan.rng, plan.world, plan.tone_spec
    low, high = tone_spec["tempo"]
    music = {"genre": rng.choice(world.music), "mood": tone_spec["mood"], "tempo_bpm": rng.randint(low, high),
             "key": rng.choice(tone_spec["keys"])}
    if plan.fmt == "musical" and world.music[0] not in ("broadway",) and rng.random() < 0.3:
        music["genre"] = "broadway"
    if choices.get("music") in world.music:
        music["genre"] = choices["music"]
    return music


def _draft(*, taste: np.ndarray, seed: int, n: int, parsed: Brief, fmt_arg: str | None, aspect: str,
           duration_s: float | None, series: dict | None, addressee: str, enjoyed: list[str], world: World,
           choices: dict | None = None) -> dict:
    # One rng for the whole draft: the steps below draw from it in this order, so the same seed
    # writes the same script.
    rng = random.Random(f"tailor-writer:{seed}:{n}")
    choices = choices or {}
    plan = _plan(taste=taste, seed=seed, rng=rng, parsed=parsed, fmt_arg=fmt_arg, series=series, addressee=addressee,
                 world=world, choices=choices)
    fmt, cast, lead = plan.fmt, plan.cast, plan.lead
    out = _shots_write(plan)
    total = _length_fit(out, duration_s, plan.spec)
    title = _title(plan)
    logline = _logline(plan)
    music = _music(plan, choices)
    pace = VOICE_PACES.get(choices.get("voice", ""))
    if pace and not (series or {}).get("cast"):
        for member in cast:
            member["voice"]["rate"] = round(pace, 2)
    sound = {"ambience": world.ambience, "effects": rng.sample(list(world.effects), k=min(2, len(world.effects)))}
    lines = out.lines
    script = {
        "version": SCRIPT_VERSION, "title": title, "logline": logline, "format": fmt, "tone": plan.tone,
        "duration_s": total, "aspect": aspect,
        "world": {"subject": plan.subject, "setting": plan.setting, "family": world.id},
        "cast": cast, "shots": out.shots, "lines": lines, "music": music, "sound": sound,
        "negative": plan.spec["negative"], "seed": rng.randrange(2**31),
        "series": None,
    }
    if addressee:
        script["addressee"] = addressee
    if enjoyed and fmt == "host":
        phrase = _enjoyed_phrase(enjoyed)
        if phrase:
            lines.insert(1, {"shot": 0, "kind": "dialogue", "speaker": lead["id"],
                             "text": f"Since you've been enjoying {phrase}, I think you'll love this one."})
    if series:
        script["series"] = {"id": str(series["id"]), "episode": int(series.get("episode", 1)),
                            "previously": [str(p) for p in series.get("previously", [])][-10:]}
    return script


# ---- coherence ------------------------------------------------------------------------------------

_NESTED = re.compile(r"\b(?:musical|documentary|tutorial|song|film|sketch|video|explainer|vlog|story)\s+(?:about|of)\s+"
                     r"(?:a|an|the)?\s*(?:musical|documentary|tutorial|song|film|sketch|video|explainer|vlog|story)\b", re.I)


def _framed(brief: str) -> bool:
    """A brief that reads as a request ("a musical about X"), which pasted anywhere is a bug;
    "how to make sourdough" can sit in a sentence."""
    return len(brief.split()) >= 3 and (brief.startswith(("a ", "an ", "the ")) or " about " in f" {brief} ")


def script_coherence(script: dict, *, brief: str = "") -> dict[str, bool]:
    """Checks a reader would make: one world, looks on every shot, no pasted brief, grammar."""
    from generation.data.worlds import WORLDS

    family = next((w for w in WORLDS if w["id"] == script["world"].get("family")), None)
    settings = set(family["settings"]) if family else set()
    if brief:
        parsed = brief_parse(brief)
        settings.update(x for x in (parsed.setting, script["world"]["subject"]) if x)  # the viewer chose it
    looks = {c["id"]: c["look"] for c in script["cast"]}
    texts = script_texts(script)
    prose = [script["title"], script["logline"], *(ln["text"] for ln in script["lines"]), *(s["action"] for s in script["shots"])]
    brief_norm = " ".join(brief.lower().split())
    return {
        "setting_in_world": bool(family) and all(s["setting"] in settings for s in script["shots"]),
        "looks_in_shots": all(looks[c] in s["prompt"] for s in script["shots"] for c in s["characters"] if c in looks),
        "no_nested_brief": not any(_NESTED.search(t) for t in texts)
        and not (_framed(brief_norm) and any(brief_norm in t.lower() for t in prose)),
        "articles": not any(g.article_errors(t) for t in texts),
        "no_slots": not any("{" in t or "}" in t for t in texts),
        "title_not_brief": not brief_norm or script["title"].lower().strip(" .!?") != brief_norm.strip(" .!?"),
    }


# ---- the entry point --------------------------------------------------------------------------------

def _world_for(parsed: Brief, series: dict | None, taste: np.ndarray, seed: int, candidates: int) -> list[World]:
    if series and series.get("world"):
        world = series["world"]
        found = world_get(world.get("family", ""), world.get("subject")) if world.get("family") else None
        return [found or world_for_subject(world["subject"])] * candidates
    if parsed.subject:
        return [world_for_subject(parsed.subject, query=parsed.text)] * candidates
    return worlds_near(taste, random.Random(f"tailor-worlds:{seed}"), candidates, pool=4)


def _arguments_check(*, format: str | None, aspect: str, duration_s: float | None, series: dict | None) -> None:
    if format is not None and format not in FORMATS:
        raise ValidationError({"format": f"unknown format {format!r}; choose from {', '.join(FORMATS)}"})
    if aspect not in ASPECTS:
        raise ValidationError({"aspect": f"must be one of {', '.join(ASPECTS)} (got {aspect!r})"})
    if duration_s is not None and not DURATION_MIN_S <= float(duration_s) <= DURATION_MAX_S:
        raise ValidationError({"duration_s": f"must be between {DURATION_MIN_S:g} and {DURATION_MAX_S:g} seconds"})
    if series is not None and (not series.get("id") or int(series.get("episode", 1)) < 1):
        raise ValidationError({"series": "needs an id and an episode number of 1 or more"})


def _choices_apply(*, parsed: Brief, series: dict | None, taste: np.ndarray, seed: int, candidates: int, choices: dict,
                   format: str | None, duration_s: float | None) -> tuple[list[World], str | None, float | None]:
    """Each draft's world, the format and the length, with the planner's choices where they are allowed."""
    worlds = _world_for(parsed, series, taste, seed, candidates)
    chosen_world = world_get(choices["world"]) if choices.get("world") and not parsed.subject and not series else None
    if chosen_world is not None:
        worlds = [chosen_world] * candidates
    if format is None and choices.get("format") and not parsed.format and not (series or {}).get("format"):
        allowed = {f for w in worlds for f in w.formats}
        format = choices["format"] if choices["format"] in allowed and choices["format"] in FORMATS else None
    if duration_s is None and choices.get("length") in LENGTHS_S:
        duration_s = LENGTHS_S[choices["length"]]
    return worlds, format, duration_s


def _scored(draft: dict, vector: np.ndarray, near: float, taste: np.ndarray, brief: str) -> WrittenScript:
    checks = script_coherence(draft, brief=brief)
    coherence = sum(checks.values()) / len(checks)
    fit = float(vector @ taste)
    novelty = float(1.0 - max(float(near), 0.0))
    return WrittenScript(script=draft, fit=round(fit, 4), novelty=round(novelty, 4), coherence=round(coherence, 4),
                         score=round(fit + NOVELTY_WEIGHT * novelty + COHERENCE_WEIGHT * coherence, 4), checks=checks)


def _best_accepted(scored: list[WrittenScript], check: Callable[[dict], object] | None) -> WrittenScript:
    """The best scored draft the check accepts."""
    order = sorted(range(len(scored)), key=lambda i: (-scored[i].score, i))
    for i in order:
        if check is None:
            return scored[i]
        try:
            verdict = check(scored[i].script)
        except ValidationError as exc:
            logger.info("writer draft %s rejected by check: %s", i, exc)
            continue
        if verdict is None or verdict is True or bool(getattr(verdict, "allowed", verdict)):
            return scored[i]
        logger.info("writer draft %s rejected by check", i)
    raise ValidationError({"script": "no draft passed the check"})


def script_write_scored(
    *, taste: np.ndarray, seed: int, brief: str = "", format: str | None = None, aspect: str = "9:16",
    duration_s: float | None = None, series: dict | None = None, addressee: str = "", enjoyed: Iterable[str] = (),
    candidates: int = CANDIDATES, check: Callable[[dict], object] | None = None, choices: dict | None = None,
) -> WrittenScript:
    """The best of `candidates` drafts with its scores; see `script_write`. `choices` are the
    planner's arms (generation/bandit.py): world, format, tone, music, length, voice; each is
    applied where this world and format allow it, the writer's own choice otherwise."""
    from generation.composer import brief_clean
    from profiles import indexes
    from profiles.embedding import embed_texts

    brief = brief_clean(brief)
    _arguments_check(format=format, aspect=aspect, duration_s=duration_s, series=series)
    addressee = " ".join((addressee or "").split())[:60]
    taste = normalize(np.asarray(taste, dtype=np.float32))
    parsed = brief_parse(brief)
    candidates = max(1, int(candidates))
    choices = dict(choices or {})
    worlds, format, duration_s = _choices_apply(parsed=parsed, series=series, taste=taste, seed=seed,
                                                candidates=candidates, choices=choices, format=format,
                                                duration_s=duration_s)
    drafts = [
        _draft(taste=taste, seed=seed, n=n, parsed=parsed, fmt_arg=format, aspect=aspect, duration_s=duration_s,
               series=series, addressee=addressee, enjoyed=list(enjoyed), world=worlds[n], choices=choices)
        for n in range(candidates)
    ]
    for draft in drafts:
        script_validate(draft)  # a failure here is a bug in the writer: loud, not silent
    vectors = embed_texts([script_prompt(d) for d in drafts], cache=not brief and not addressee)
    index = indexes.items().ready()
    nearest = index.search(vectors, 1)[0][:, 0] if len(index) else np.zeros(len(drafts))
    scored = [_scored(draft, vector, near, taste, brief) for draft, vector, near in zip(drafts, vectors, nearest)]
    return _best_accepted(scored, check)


def script_write(
    *, taste: np.ndarray, seed: int, brief: str = "", format: str | None = None, aspect: str = "9:16",
    duration_s: float | None = None, series: dict | None = None, addressee: str = "", enjoyed: Iterable[str] = (),
    candidates: int = CANDIDATES, check: Callable[[dict], object] | None = None,
) -> dict:
    """A version-1 Script for this taste (and brief); deterministic for a fixed seed.

    format/aspect/duration_s fix those choices; series = {"id", "episode", "previously", and
    from the last episode "cast", "world" (and optionally "format", "tone", "title")} keeps
    the cast and world; addressee is the viewer's display name a host greets, enjoyed the
    public titles or topics they have been watching. check(script) is the caller's hook
    (safety on script_texts): return falsy, or raise ValidationError, to reject a draft; the
    next best is tried."""
    return script_write_scored(
        taste=taste, seed=seed, brief=brief, format=format, aspect=aspect, duration_s=duration_s, series=series,
        addressee=addressee, enjoyed=enjoyed, candidates=candidates, check=check,
    ).script


def series_next(script: dict, *, previously: list[str] | None = None) -> dict:
    """The `series` argument for the episode after this script: same cast, world, format, tone."""
    series = script.get("series") or {"id": f"series-{script['seed']}", "episode": 1, "previously": []}
    title = re.sub(r", Episode \d+$", "", script["title"])
    return {
        "id": series["id"], "episode": int(series["episode"]) + 1,
        "previously": [*(previously if previously is not None else series.get("previously", [])), script["logline"]][-10:],
        "cast": script["cast"], "world": script["world"], "format": script["format"], "tone": script["tone"], "title": title,
    }
