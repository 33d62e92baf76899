"""Content safety for prompts, briefs and scripts, checked before anything is queued. A blocked
text gets a clear reason and never reaches a GPU. Every decision is logged, allowed or not.

Policy. Tailor renders videos for a general audience. Blocked: sexual content and nudity;
minors in any sexual context; graphic violence and gore; self-harm and suicide; hate against
a group; instructions for weapons or drugs; deepfakes that impersonate real people. Allowed:
mild fictional action (a sword fight, a car chase, a horror film with a ghost), history,
war told as history, medicine, nature (a lion hunts a zebra), cooking, sport. Decisions on
look-alikes: "Suicide Squad" (a film title), "pornstar martini" (a cocktail), "Al Gore",
"Gore-Tex" and "nude" as a colour (nude lipstick, nude heels) are allowed; "goring" and
"assassin" are not blocked words at all; "suicide prevention" is still blocked (we would
rather an operator look at it than render it unreviewed). Profanity is not a category.

Two checks, in this order:
1. A blocklist of word stems by category, matched on folded views of the text (_views): NFKC,
   format characters (zero-width space, soft hyphen...) dropped, accents and confusables
   transliterated by Unidecode (Cyrillic е -> e, ü -> u), lowercase, "n u d e" and "n.u.d.e"
   joined, "nu-de" squashed, and a second, leet-folded view (p0rn -> porn). Stems are
   word-bounded, so Scunthorpe, Essex and therapist pass.
2. A semantic check: each sentence's embedding (profiles.embedding) against exemplar phrases
   per category and benign ones (generation.data.safety_exemplars). A sentence is blocked when
   its best unsafe cosine reaches SEMANTIC_THRESHOLD *and* beats its best benign cosine by
   SEMANTIC_MARGIN. Both were fitted on the fit part of generation.data.safety_labelled
   (bench/safety_bench.py: fit_semantic), then moved into the middle of the range that scores
   best, so that another CPU's int8 vectors (cosine ~0.98 to ours) land on the same side.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np
from unidecode import unidecode

from generation.models import SafetyDecision

MAX_CHARS = 10_000  # a check reads at most this much of a text (or of a script, all lines together)
MAX_SENTENCES = 64  # and embeds at most this many sentences of it
SENTENCE_WORDS = 48  # a longer sentence is embedded in pieces of this many words
MIN_WORDS = 12  # and a shorter one together with the next

# Category -> word stems (regex, matched whole-word on the folded views). Order matters: the
# first category that matches names the decision, so "child porn" is minors, not sexual.
BLOCKLIST: dict[str, list[str]] = {
    "minors": [
        r"child (?:porn\w*|abuse\w*|sex\w*|molest\w*|nud\w*|erotic\w*)", r"underage", r"lol(?:i|is|icon)",
        r"shota(?:con)?", r"p(?:a|ae|e)edo(?:s|phile\w*|philia)?", r"paedo\w*", r"jailbait",
        r"minors? (?:in|being) (?:sexual|nude)\w*",
    ],
    "sexual": [
        r"porn\w*", r"nsfw", r"xxx", r"nude", r"nudes", r"nudity", r"nudis[mt]\w*", r"nudie\w*", r"naked\w*",
        r"sex (?:scene|tape|video|act|show)s?", r"having sex", r"(?:explicit|hardcore|oral|anal) sex\w*",
        r"sexually explicit", r"erotic\w*", r"fetish\w*", r"hentai", r"masturbat\w*", r"orgy", r"orgies", r"topless",
        r"strip ?teases?", r"strip ?clubs?", r"onlyfans", r"bdsm", r"blow ?jobs?", r"hand ?jobs?", r"genitals?",
        r"rape", r"raped", r"rapes", r"raping", r"rapists?", r"molest\w*", r"softcore", r"uncensored",
    ],
    "violence": [
        r"gore", r"gory", r"gor(?:ier|iest)", r"gorefest\w*", r"behead\w*", r"decapitat\w*", r"dismember\w*",
        r"disembowel\w*", r"eviscerat\w*", r"mutilat\w*", r"tortur(?:e|es|ed|ing|er|ers)", r"snuff (?:film|movie|video)s?",
        r"mass (?:shooting|murder|killing)s?", r"school shoot(?:ing|er)s?", r"suicide (?:bomb\w*|attack\w*|vests?)",
        r"lynching", r"lynched", r"lynch mob", r"blood ?bath", r"severed (?:head|limb|arm|leg|hand)s?",
        r"throat (?:slit|cut)", r"slit\w* (?:his|her|their|a man's|a woman's|someone's) throat",
    ],
    "self_harm": [
        r"suicid\w*", r"self ?harm\w*", r"self ?injur\w*", r"kill(?:ing|ed|s)? (?:my|your|him|her|them|our)sel(?:f|ves)",
        r"cutting (?:my|your|him|her|them)sel(?:f|ves)", r"(?:slit|slash|cut)\w* (?:my|your|his|her|their) wrists?",
        r"pro ?ana", r"thinspo\w*", r"(?:take|takes|took|taking) (?:my|his|her|their|your|our) own li(?:fe|ves)",
    ],
    "hate": [
        r"ethnic cleansing", r"white power", r"white supremac\w*", r"genocide (?:is|was) (?:good|right|justified)",
        r"racial slurs?", r"nazi propaganda", r"neo ?nazi\w*", r"kkk", r"heil hitler", r"sieg heil",
        r"holocaust (?:denial|never happened|was a hoax|is a hoax|is a lie|was a lie)", r"subhumans?",
        r"nigg(?:er|a)s?", r"faggots?", r"kikes?", r"wetbacks?", r"ragheads?", r"trann(?:y|ies)",
    ],
    "weapons": [
        r"(?:make|making|build|building|assembl\w*|construct\w*|how to make|recipe for) (?:a |an |your own |homemade )?"
        r"(?:bomb|explosive|pipe bomb|ied|gun|ghost gun|silencer|suppressor|detonator|molotov\w*|napalm|thermite|nerve agent)s?",
        r"pipe bombs?", r"ghost guns?", r"nerve (?:agent|gas)\w*", r"sarin", r"ricin", r"molotov cocktails?",
        r"(?:explosive|suicide) vests?", r"(?:homemade|improvised) (?:bomb|explosive|explosive device|napalm)s?",
        r"3d print\w* (?:a |an )?(?:working )?(?:gun|pistol|rifle|firearm)s?",
    ],
    "drugs": [
        r"(?:cook|cooking|make|making|synthesi[sz]\w*|produc\w*|manufactur\w*|extract\w*|press\w*) (?:your own )?"
        r"(?:meth\w*|crystal meth|crack|heroin|fentanyl|cocaine|lsd|mdma|ecstasy|ghb|dmt|ketamine)",
        r"(?:meth|heroin|fentanyl|crack|cocaine) labs?", r"lines? of (?:coke|cocaine)",
        r"(?:shoot\w*|inject\w*) (?:up )?heroin", r"lac(?:e|ed|ing) (?:someone's|her|his|their|a) drinks?",
    ],
    "impersonation": [
        r"deep ?fakes?\w*", r"face ?swap\w*", r"voice clon\w*", r"clon\w* (?:the |my |his |her |their )?(?:\w+'?s )?voice",
        r"fake (?:speech|video|footage|clip|news)\w* (?:of|showing|where) (?:the )?"
        r"(?:president|prime minister|pm|chancellor|senator|king|queen|pope|ceo)\w*",
    ],
}
_COMPILED = {cat: re.compile(r"\b(?:" + "|".join(p) + r")\b") for cat, p in BLOCKLIST.items()}

# Innocent phrases that contain a blocked stem (see the policy above) -> what they mean, put in
# their place before either check, so neither the blocklist nor the embedder sees the stem.
# Each is a decision: add one only for a phrase whose every use is innocent.
ALLOWED_PHRASES: dict[str, str] = {
    r"suicide squad": "a superhero team film", r"suicide doors?": "rear-hinged car doors",
    r"pornstar martinis?": "a passion fruit cocktail", r"al gore": "a former vice president",
    r"gore\W?tex": "waterproof fabric", r"rapeseed\w*": "canola",
    r"(?:spot|spotting|detect\w*|recogni[sz]\w*|identify\w*) (?:a )?deep ?fakes?": "spot fake videos",
    # and words the embedder would hear as blocked ones (its tokens: "sex ##tant")
    r"sextants?": "a navigation instrument", r"(?:es|sus|wes|middle)sex": "an english county",
    r"scunthorpe": "an english town", r"goring": "charging", r"nudibranch\w*": "sea slugs",
    r"kill(?:s|ed|ing)? the (?:lights?|music|engine|power)": "turn off the lights",
    r"nude (?:lipsticks?|lips?|heels?|shoes?|shades?|colou?rs?|tones?|palettes?|make ?up|tights|nail\w*|beige|pink)":
        "beige makeup",
}
_ALLOWED = [(re.compile(r"\b" + pattern + r"\b"), meaning) for pattern, meaning in ALLOWED_PHRASES.items()]


def _replace_allowed(text: str) -> str:
    for pattern, meaning in _ALLOWED:
        text = pattern.sub(meaning, text)
    return text


# A sexual text that also speaks of a child is the minors category.
_MINOR_WORDS = re.compile(
    r"\b(?:child|children|kids?|toddlers?|minors?|underage|preteens?|teens?|teenagers?|schoolgirls?|schoolboys?|"
    r"schoolchildren|little (?:girl|boy)s?|young (?:girl|boy)s?|(?:[1-9]|1[0-7]|one|two|three|four|five|six|seven|"
    r"eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen) ?years? ?old)\b"
)

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET_L = {**_LEET, "1": "l"}
_SEP = r"[\s.\-_*~+|/\\,:;'\"`^=]"
# A run of three or more single characters with separators between them: "n u d e", "g.o.r.e".
_SPELLED = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$](?:" + _SEP + r"+[a-z0-9@$](?![a-z0-9@$])){2,}")
_INNER_SEP = re.compile(r"(?<=[a-z0-9@$])[.\-_*~+|'`^=]+(?=[a-z0-9@$])")  # "nu-de", "self-harm"
# For the embedder, leet only where it sits between letters: "sh0wing", not "1920s" or "4k".
_LEET_INSIDE = re.compile(r"\S*[a-z][013457@$!]+[a-z]\S*")
_LEET_TABLE = str.maketrans(_LEET)
_REPEATS = re.compile(r"([a-z])\1{2,}")  # "nuuude"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    category: str = ""
    reason: str = ""


def fold(text: str) -> str:
    """The plain folded view: HTML entities decoded, NFKC, format characters dropped, transliterated to ASCII by
    Unidecode (confusables and accents: Cyrillic е -> e, ü -> u), lowercase, spaces collapsed."""
    text = unicodedata.normalize("NFKC", html.unescape(text[:MAX_CHARS]))  # composed prompts are autoescaped
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # ZWSP, ZWJ, soft hyphen, BOM
    text = unidecode(text).lower()
    text = _SPELLED.sub(_join, text)
    return re.sub(r"[ \t]+", " ", text)


def _join(match: re.Match) -> str:
    # "a n u d e" is "a nude": a leading article stays a word of its own.
    run = match.group(0)
    head = ""
    if run[0] in "ai" and run[1] == " " and len(re.sub(_SEP, "", run)) > 3:
        head, run = run[:2], run[2:]
    return head + re.sub(_SEP, "", run)


def _leet(text: str, table: dict[str, str]) -> str:
    # Only words that have a letter in them: "1950s" and "4k" stay, "p0rn" becomes "porn".
    return re.sub(r"\S*[a-z]\S*", lambda m: m.group(0).translate(str.maketrans(table)), text)


def _views(text: str) -> list[str]:
    """Every view the blocklist is matched on, innocent phrases masked in each."""
    plain = fold(text)
    views = []
    for base in (plain, _leet(plain, _LEET), _leet(plain, _LEET_L)):
        base = _SPELLED.sub(_join, base)  # "n 0 d e" once leet-folded
        squashed = _REPEATS.sub(r"\1", _INNER_SEP.sub("", base))
        for view in (base, squashed):
            view = _replace_allowed(view)
            if view not in views:
                views.append(view)
    return views


def _label(category: str) -> str:
    return category.replace("_", " ")


def blocklist_check(text: str) -> Decision:
    """The word check alone: the first category with a stem in any view of the text."""
    views = _views(text)
    for category, pattern in _COMPILED.items():
        for view in views:
            match = pattern.search(view)
            if match:
                if category == "sexual" and any(_MINOR_WORDS.search(v) for v in views):
                    category = "minors"
                return Decision(False, category, f"blocked ({_label(category)}): “{match.group(0)}” is not allowed")
    return Decision(True)


# --- The semantic check ------------------------------------------------------------------------

# Fitted by bench/safety_bench.py:fit_semantic on the fit part of the labelled set (see there).
SEMANTIC_THRESHOLD = 0.36
SEMANTIC_MARGIN = 0.05
# Each sentence of a long text or script is one more chance of a chance hit (a multiple
# comparison), so the margin grows with the log of their number: +0.05 at 20 sentences. Set on
# Tailor's own composed prompts and scripts (bench/safety_bench.py: own_output), not fitted.
SEMANTIC_MARGIN_PER_DOUBLING = 0.012


def sentences(text: str) -> list[str]:
    """The folded text cut into pieces to embed, at most MAX_SENTENCES: sentences, with short
    ones joined to the next (a fragment such as "a light bed of pop" alone is near anything)
    and long ones cut at SENTENCE_WORDS words."""
    # Allowed phrases by their meaning: "a review of Suicide Squad" is about a film, not a suicide.
    text = _LEET_INSIDE.sub(lambda m: m.group(0).translate(_LEET_TABLE), _replace_allowed(fold(text)))
    words_of = [p.split() for p in re.split(r"(?<=[.!?])\s+|\n+", text)]
    out, pending = [], []
    for words in words_of:
        pending += words
        while len(pending) >= SENTENCE_WORDS:
            out.append(pending[:SENTENCE_WORDS])
            pending = pending[SENTENCE_WORDS:]
        if len(pending) >= MIN_WORDS:
            out.append(pending)
            pending = []
    if pending:
        if out and len(pending) < MIN_WORDS and len(out[-1]) + len(pending) <= SENTENCE_WORDS:
            out[-1] = out[-1] + pending
        else:
            out.append(pending)
    pieces = [" ".join(words) for words in out]
    return [p for p in pieces if re.search(r"[a-z]{2}", p)][:MAX_SENTENCES]


class _Exemplars:
    """The exemplar phrases' vectors, embedded once per process and embedder."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key = None
        self._value = None

    def get(self):
        from django.conf import settings

        from generation.data.safety_exemplars import BENIGN, UNSAFE
        from profiles.embedding import backend_name, embed_texts, model_name

        key = (model_name(), backend_name(), settings.EMBEDDER_PERTURB)
        with self._lock:
            if self._key != key:
                categories = list(UNSAFE)
                unsafe = [embed_texts([fold(t) for t in UNSAFE[c]]) for c in categories]
                benign = embed_texts([fold(t) for t in BENIGN])
                self._value, self._key = (categories, unsafe, benign), key
            return self._value


exemplars = _Exemplars()


def semantic_scores(vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """For unit vectors (n, d): the categories, each vector's best cosine per category (n, k)
    and its best cosine to a benign exemplar (n,)."""
    categories, unsafe, benign = exemplars.get()
    per_category = np.stack([(vectors @ u.T).max(axis=1) for u in unsafe], axis=1)
    return categories, per_category, (vectors @ benign.T).max(axis=1)


def semantic_decide(
    categories: list[str], per_category: np.ndarray, benign: np.ndarray,
    threshold: float = SEMANTIC_THRESHOLD, margin: float = SEMANTIC_MARGIN,
) -> Decision:
    """Blocked if any sentence is close to a category and clearly closer to it than to anything benign."""
    best = per_category.max(axis=1)
    margin += SEMANTIC_MARGIN_PER_DOUBLING * float(np.log2(max(len(best), 1)))
    hits = (best >= threshold) & (best - benign >= margin)
    if not hits.any():
        return Decision(True)
    row = int(np.argmax(np.where(hits, best - benign, -np.inf)))
    category = categories[int(np.argmax(per_category[row]))]
    return Decision(False, category, f"blocked ({_label(category)}): too close to {_DESCRIPTIONS[category]}")


_DESCRIPTIONS = {
    "sexual": "sexual content", "minors": "minors in a sexual context", "violence": "graphic violence",
    "self_harm": "self-harm", "hate": "hate against a group", "weapons": "weapon instructions",
    "drugs": "drug instructions", "impersonation": "impersonating a real person",
}


def classify(texts: list[str], *, embed=None) -> Decision:
    """The decision for a text made of these parts (a prompt, or a script's lines), logging
    nothing. `embed` (list[str] -> unit vectors) defaults to profiles.embedding without its
    cache: a viewer's words are personal."""
    budget, parts = MAX_CHARS, []
    for text in texts:  # a script is read up to MAX_CHARS in all, like one long text
        if budget <= 0:
            break
        parts.append(text[:budget])
        budget -= len(parts[-1])
    for part in parts:
        decision = blocklist_check(part)
        if not decision.allowed:
            return decision
    # A script's short texts (a name, a prop, "calm") are embedded joined into sentences of
    # MIN_WORDS or more: alone, a fragment sits near everything and would trip the check.
    chunks = sentences("\n".join(parts))
    if not chunks:
        return Decision(True)
    if embed is None:
        from profiles.embedding import embed_texts

        vectors = embed_texts(chunks, cache=False)
    else:
        vectors = embed(chunks)
    return semantic_decide(*semantic_scores(np.asarray(vectors, dtype=np.float32)))


def _log(decision: Decision, *, text: str, kind: str, user) -> Decision:
    SafetyDecision.objects.create(
        user=user if getattr(user, "pk", None) else None, kind=kind, text=text[:2000],
        allowed=decision.allowed, category=decision.category, reason=decision.reason[:300],
    )
    return decision


def safety_check(*, text: str, kind: str, user=None) -> Decision:
    """Check a prompt or brief; logs the decision either way."""
    return _log(classify([text]), text=text, kind=kind, user=user)


def safety_check_texts(*, texts: list[str], kind: str, user=None) -> Decision:
    """Check many texts as one (a script's lines): blocked if any is; one decision logged."""
    return _log(classify(list(texts)), text="\n".join(texts), kind=kind, user=user)
