"""Small English helpers for filled-in phrases: a/an by sound, plurals, verb agreement,
capitalisation and title case. Heuristics, but tested over every phrase the writer uses."""

from __future__ import annotations

import re

# Words whose first letter misleads: "an hour", "a unicorn", "a one-man band", "an MRI".
_AN_SILENT_H = ("hour", "honest", "honour", "honor", "heir", "herb")
_A_VOWEL_LETTER = ("uni", "use", "usu", "uti", "ure", "eu", "ewe", "one", "once", "ubiq", "uk", "ufo", "url")
_AN_LETTERS = set("aefhilmnorsx")  # spelled-out initials that start with a vowel sound: an F1 car, an MRI
_MASS_OR_SINGULAR_S = {
    "news", "physics", "chess", "jazz", "gymnastics", "athletics", "mathematics", "economics", "electronics",
    "robotics", "couscous", "hummus", "asparagus", "citrus", "moss", "grass", "glass", "bus", "gas", "cactus",
    "octopus", "hibiscus", "lotus", "walrus", "christmas", "paris", "texas", "mars", "venus", "tennis", "swiss",
    "business", "darkness", "wilderness", "process", "fitness", "bass", "boss", "class", "compass", "moss",
}
_PLURAL_NOT_S = {"people", "mice", "geese", "children", "sheep", "fish", "deer", "cattle", "teeth", "feet", "bison"}
_MASS = {"bread", "butter", "garlic", "flour", "dough", "pasta", "rice", "water", "snow", "sand", "paint", "clay", "yarn",
         "wood", "honey", "coffee", "tea", "music", "equipment", "sushi", "popcorn", "lava", "ice", "soil", "grass", "moss",
         "jazz", "cheese", "chocolate", "fire", "lightning", "coral", "spaghetti", "smoke", "steam", "gold", "salt", "milk",
         "ramen", "barbecue", "sourdough", "yoga", "football", "basketball", "cycling", "surfing", "pottery", "knitting",
         "painting", "coding", "woodworking", "ballet", "salsa", "breakdancing", "time travel", "history", "art"}
_SMALL = {"a", "an", "the", "of", "and", "in", "on", "to", "with", "for", "at", "by", "or", "vs.", "from", "as", "but"}


def article(phrase: str) -> str:
    """'a' or 'an' for the phrase that follows, by the sound of its first word."""
    word = phrase.strip().split(" ", 1)[0].strip("\"'(“")
    low = word.lower()
    if not low:
        return "a"
    if word.isupper() and len(word) > 1 and word.isalpha():  # an initialism: an MRI, a UFO
        return "an" if word[0].lower() in _AN_LETTERS else "a"
    if low[0].isdigit():
        return "an" if low.startswith(("8", "11", "18")) and not low.startswith(("80", "800")) else "a"
    if low.startswith(_AN_SILENT_H):
        return "an"
    if low.startswith(_A_VOWEL_LETTER):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


def is_mass(noun: str) -> bool:
    return noun.lower() in _MASS or noun.lower().split(" ")[-1] in _MASS


def some(noun: str) -> str:
    """A noun as it is named in a list: 'an oven', 'butter', 'chopsticks'."""
    return noun if is_plural(noun) or is_mass(noun) else with_article(noun)


def is_plural(noun_phrase: str) -> bool:
    """Whether a bare noun phrase ('snow leopards', 'garlic bread') takes a plural verb."""
    head = noun_phrase.strip().lower().split(" ")
    if head[0] in ("a", "an", "one", "the") and len(head) > 1 and head[0] != "the":
        return False
    last = re.sub(r"[^a-z'-]", "", head[-1])
    if " and " in f" {noun_phrase.lower()} ":
        return True
    if last in _PLURAL_NOT_S:
        return True
    if last in _MASS_OR_SINGULAR_S or last.endswith(("ss", "us", "is", "'s")):
        return False
    return last.endswith("s")


def singular(noun_phrase: str) -> str:
    """'snow leopards' -> 'snow leopard', 'butterflies' -> 'butterfly', 'wolves' -> 'wolf'."""
    if not is_plural(noun_phrase):
        return noun_phrase
    words = noun_phrase.split(" ")
    last = words[-1]
    irregular = {"people": "person", "mice": "mouse", "geese": "goose", "children": "child", "wolves": "wolf",
                 "leaves": "leaf", "loaves": "loaf", "knives": "knife", "teeth": "tooth", "feet": "foot"}
    if last.lower() in irregular:
        last = irregular[last.lower()]
    elif last.lower() in _PLURAL_NOT_S:
        pass
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "xes", "sses", "zes", "oes")):
        last = last[:-2]
    elif last.endswith("s"):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def plural(noun: str) -> str:
    """'oven' -> 'ovens', 'tomato' -> 'tomatoes', 'berry' -> 'berries'; mass nouns stay."""
    if is_plural(noun):
        return noun
    words = noun.split(" ")
    last = words[-1]
    low = last.lower()
    if low in _MASS or low in ("sheep", "fish", "deer"):
        return noun
    if low.endswith(("s", "sh", "ch", "x", "z")):
        last += "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif low.endswith(("tomato", "potato", "volcano", "echo", "hero")):
        last += "es"
    elif low.endswith("f") and low not in ("roof", "chef", "reef", "cliff", "surf"):
        last = last[:-1] + "ves"
    elif low.endswith("fe"):
        last = last[:-2] + "ves"
    else:
        last += "s"
    return " ".join([*words[:-1], last])


def third_person(verb_phrase: str) -> str:
    """'knead the dough' -> 'kneads the dough'; 'carry on' -> 'carries on'; 'be' -> 'is'."""
    first, _, rest = verb_phrase.partition(" ")
    special = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    low = first.lower()
    if low in special:
        first = special[low]
    elif low.endswith(("s", "sh", "ch", "x", "z")) or low in ("echo", "veto", "torpedo"):
        first += "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        first = first[:-1] + "ies"
    else:
        first += "s"
    return f"{first} {rest}".strip()


def agree(subject: str, verb_phrase: str) -> str:
    """The verb phrase in the form that agrees with the subject (base form is plural)."""
    return verb_phrase if is_plural(subject) else third_person(verb_phrase)


def be(subject: str) -> str:
    return "are" if is_plural(subject) else "is"


_COMPARATIVE = {"good": "better", "bad": "worse", "far": "farther", "little": "less", "many": "more", "much": "more"}


def comparative(adj: str) -> str:
    """"faster", "braver", "bigger", "happier", "more delicious": one-syllable adjectives (and
    two-syllable ones in -y) take -er, the rest "more"; hyphenated and -ing/-ed forms "more"."""
    word = adj.strip()
    if word in _COMPARATIVE:
        return _COMPARATIVE[word]
    syllables = len(re.findall(r"[aeiouy]+", re.sub(r"(?<=[^aeiou])e$", "", word))) or 1
    if "-" in word or " " in word or word.endswith(("ing", "ed")) or syllables > 2 or (syllables == 2 and not word.endswith("y")):
        return f"more {word}"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ier"
    if word.endswith("e"):
        return word + "r"
    if re.search(r"[^aeiou][aeiou][bdgmnpt]$", word) and syllables == 1:
        return word + word[-1] + "er"
    return word + "er"


def capfirst(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def title_case(text: str) -> str:
    """Title Case with small words kept small (not the first or the one after a colon)."""
    out = []
    after_colon = True
    for word in text.split(" "):
        if not word:
            continue
        if after_colon or word.lower() not in _SMALL:
            word = word if word[:1].isupper() else word[:1].upper() + word[1:]
            if "-" in word:
                word = "-".join(p[:1].upper() + p[1:] for p in word.split("-"))
        else:
            word = word.lower()
        out.append(word)
        after_colon = word.endswith(":")
    return " ".join(out)


def join_and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def sentence(text: str) -> str:
    """Tidy a filled-in sentence: single spaces, a capital first letter, end punctuation."""
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = capfirst(text)
    if text and text[-1] not in ".!?…\"”":
        text += "."
    return text


_ARTICLE_RE = re.compile(r"\b([Aa]n?) ([A-Za-z0-9][\w'-]*)")


def article_errors(text: str) -> list[str]:
    """Every 'a X' / 'an X' in the text whose article does not fit X's sound."""
    errors = []
    for match in _ARTICLE_RE.finditer(text):
        art, word = match.group(1).lower(), match.group(2)
        # "A" opening a sentence may be the letter itself ("A is for apple"): only real words count.
        if article(word) != art:
            errors.append(match.group(0))
    if re.search(r"\b[Aa]n?\s{2,}|\b[Aa]n?\s*$", text):
        errors.append("dangling article")
    return errors
