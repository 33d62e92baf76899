"""Content safety for prompts and briefs: a blocklist by category, checked before anything is
queued. A blocked text gets a clear reason and never reaches a GPU. Every decision is logged."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from generation.models import SafetyDecision

# Category -> patterns (word-bounded, case-insensitive, after Unicode normalisation).
BLOCKLIST: dict[str, list[str]] = {
    "sexual": [r"porn\w*", r"nsfw", r"nude\w*", r"naked", r"explicit sex\w*", r"sex scene", r"erotic\w*", r"fetish\w*"],
    "minors": [r"child (?:porn|abuse)\w*", r"underage", r"\bloli\w*", r"minor(?:s)? (?:in|being) (?:sexual|nude)\w*"],
    "violence": [r"gore", r"beheading\w*", r"dismember\w*", r"torture\w*", r"mass shooting\w*", r"massacre\w*", r"snuff"],
    "self_harm": [r"suicide", r"self[- ]harm\w*", r"kill (?:my|your)self", r"cutting (?:my|your)self"],
    "hate": [r"ethnic cleansing", r"white power", r"genocide (?:is|was) (?:good|right)", r"racial slur\w*", r"nazi propaganda"],
    "weapons": [r"(?:make|build|assemble) (?:a |an )?(?:bomb|explosive|pipe bomb|gun|ghost gun)\w*", r"nerve agent"],
    "drugs": [r"(?:cook|make|synthesi[sz]e) (?:meth|crack|heroin|fentanyl)\w*"],
    "impersonation": [r"deepfake\w*", r"fake (?:speech|video) of (?:president|prime minister)\w*"],
}
_COMPILED = {cat: re.compile(r"\b(?:" + "|".join(p) + r")\b", re.IGNORECASE) for cat, p in BLOCKLIST.items()}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    category: str = ""
    reason: str = ""


def _normalise(text: str) -> str:
    # Fold look-alike characters and collapse separators people use to dodge filters (n.u.d.e, n-u-d-e).
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"(?<=\w)[._*-](?=\w\b|\w[._*-])", "", folded)


def safety_check(*, text: str, kind: str, user=None) -> Decision:
    """Check a prompt or brief; logs the decision either way."""
    normalised = _normalise(text)
    decision = Decision(allowed=True)
    for category, pattern in _COMPILED.items():
        match = pattern.search(normalised)
        if match:
            decision = Decision(False, category, f"blocked ({category.replace('_', ' ')}): “{match.group(0)}” is not allowed")
            break
    SafetyDecision.objects.create(
        user=user if getattr(user, "pk", None) else None, kind=kind, text=text[:2000],
        allowed=decision.allowed, category=decision.category, reason=decision.reason,
    )
    return decision
