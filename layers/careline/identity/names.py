"""Patients' names as they type them, and comparing them with the EHR's.

A patient asked for their full name writes "Maria Lopez", "lopez, maria", "my name is Maria del
Carmen Lopez-Garcia", "it's José O'Brien Jr." and so on. `split_full_name` reads given and family
names from that; `candidate_splits` lists the other readings a name of three or more words allows
("Maria Elena Lopez Garcia" may have "Lopez Garcia" as its family name). `names_match` compares a
typed name with the EHR's, ignoring case, accents, hyphens, apostrophes and spacing.

Pure functions, no I/O. Names are PHI: nothing here logs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Said before a name: greetings and "my name is"-style lead-ins (repeated: "hi, yes, this is ...").
_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey|yes|yeah|yep|sure|ok|okay|um+|uh+)\b"
    r"|my\s+(?:full\s+|legal\s+)?name\s+is\b|my\s+name['\u2019]?s\b|(?:full\s+)?name\s*(?:is\b|:)"
    r"|this\s+is\b|it\s+is\b|it['\u2019]?s\b|i\s+am\b|i['\u2019]?m\b|im\b|call\s+me\b|me\s+llamo\b)"
    r"[\s,.:;!-]*",
    re.IGNORECASE,
)
# Where the name ends when more follows in the same message ("... and my dob is ...").
_TAIL = re.compile(
    r"(?:[\s,;.]|^)(?:and|dob|d\.o\.b\.?|born|birthday|bday|b-day|birth|date\s+of\s+birth"
    r"|thanks|thank\s+you|thx|please|pls)\b.*$",
    re.IGNORECASE | re.DOTALL,
)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Lowercase words that belong to the word after them: "de la Cruz", "van Buren", "del Carmen".
_PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "das", "do", "dos", "du", "la", "le", "van", "von"}
)
# Words of a sentence that is not a name ("why do you need that"). Words that are also given names
# (Will, May, June, Grace, Bill, ...) are deliberately absent.
_SENTENCE_WORDS = """
    a an the is are was were am be been this that these those what why how who where when which
    you your yours my mine me we us our it its i to for with from have has had not no nope idk
    dont don't know need want help can cant can't could would should about sorry appointment appt
    reschedule cancel book text call here there just yes ok okay thanks please
"""
_NOT_NAME_WORDS = frozenset(_SENTENCE_WORDS.split())
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]*)*\.?")
# Letters that do not decompose into a base letter and an accent.
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
_MAX_CANDIDATES = 3


@dataclass(frozen=True)
class PersonName:
    """A name as the patient wrote it, split into given name(s) and family name."""

    given: str
    family: str


def split_full_name(text: str) -> PersonName | None:
    """The given and family name in `text`, or None when it does not hold at least two name words.

    "lopez, maria" is read family-first; otherwise the last word, with any particles before it
    ("de la Cruz"), is the family name. Lead-ins ("my name is"), titles and suffixes are dropped.
    """
    candidates = candidate_splits(text)
    return candidates[0] if candidates else None


def candidate_splits(text: str) -> list[PersonName]:
    """Readings of a typed full name, most likely first (at most a few).

    A comma fixes the split ("Lopez Garcia, Maria"); otherwise a name of three or more words also
    yields readings with a longer family name, because compound surnames are often written without
    a hyphen.
    """
    cleaned = _strip_surroundings(text)
    if "," in cleaned:
        family_part, _, given_part = cleaned.partition(",")
        given_words, family_words = _name_words(given_part), _name_words(family_part)
        if not given_words or not family_words or _is_sentence(given_words + family_words):
            return []
        return [PersonName(" ".join(given_words), " ".join(family_words))]
    words = _name_words(cleaned)
    if len(words) < 2 or _is_sentence(words):
        return []
    split = len(words) - 1
    while split > 1 and words[split - 1].lower() in _PARTICLES:
        split -= 1
    readings = [PersonName(" ".join(words[:split]), " ".join(words[split:]))]
    # the other split points, shortest family name first ("Anh Le Nguyen" may be Anh Le, Nguyen)
    for other in range(len(words) - 1, 0, -1):
        if len(readings) >= _MAX_CANDIDATES:
            break
        if other == split:
            continue
        readings.append(PersonName(" ".join(words[:other]), " ".join(words[other:])))
    return readings


def normalize_name(text: str) -> str:
    """A name for comparison: lowercase, no accents or apostrophes, hyphens and periods as spaces,
    single-spaced. "José O'Brien-Smith" → "jose obrien smith"."""
    # Decompose before folding case: compatibility characters ("㏆") decompose into capitals.
    decomposed = unicodedata.normalize("NFKD", text)
    folded = unicodedata.normalize("NFKD", decomposed.casefold().translate(_FOLD))
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    letters = re.sub(r"['\u2019\u2018`]", "", letters)
    letters = re.sub(r"[^\w\s]|[\d_]", " ", letters)
    return " ".join(letters.split())


def name_key(text: str) -> str:
    """`normalize_name` without spaces: "Lopez-Garcia", "Lopez Garcia" and "lopezgarcia" agree."""
    return normalize_name(text).replace(" ", "")


def names_match(typed: PersonName, given_name: str, family_name: str) -> bool:
    """Whether a typed name is the EHR's name: the same full name however it is split, or the same
    family name and a given name that starts with the same word and adds nothing the EHR lacks
    (a typed "Maria" matches the EHR's "Maria Elena"; "Ana" does not match "Maria Ana")."""
    typed_family = _without_suffix(typed.family)
    record_family = _without_suffix(family_name)
    if name_key(typed.given + typed_family) == name_key(given_name + record_family):
        return True
    if not name_key(typed_family) or name_key(typed_family) != name_key(record_family):
        return False
    typed_given = normalize_name(typed.given).split()
    record_given = normalize_name(given_name).split()
    if not typed_given or not record_given or typed_given[0] != record_given[0]:
        return False
    return set(typed_given) <= set(record_given)


def _without_suffix(family: str) -> str:
    words = family.split()
    while len(words) > 1 and name_key(words[-1]) in _SUFFIXES:
        words.pop()
    return " ".join(words)


def _is_sentence(words: list[str]) -> bool:
    return any(w.lower() in _NOT_NAME_WORDS for w in words)


def _strip_surroundings(text: str) -> str:
    cleaned = " ".join(text.split())
    while True:
        stripped = _LEAD_IN.sub("", cleaned, count=1)
        if stripped == cleaned:
            break
        cleaned = stripped
    return _TAIL.sub("", cleaned).strip(" ,.;:!?-")


def _name_words(part: str) -> list[str]:
    words = [w.strip(".") for w in _NAME_WORD.findall(part)]
    words = [w for w in words if w]
    while len(words) > 1 and name_key(words[0]) in _TITLES:
        words.pop(0)
    while len(words) > 1 and name_key(words[-1]) in _SUFFIXES:
        words.pop()
    return words
