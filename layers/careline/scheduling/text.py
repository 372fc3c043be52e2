"""Scheduling answers as tokens: SMS shorthand, typos and voice transcripts made regular.

The intent classifier's own shorthand cannot be reused here: it reads "2" as "to" and "4" as
"for", which is right for "need 2 reschedule" and wrong for "between 2 and 4". This module keeps
numbers as numbers and turns spoken numbers ("nine thirty", "three p m", "the fifteenth") into
digits, so the time and choice parsers see one form however the patient wrote or said it.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Final

WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}

MONTHS: Final[dict[str, int]] = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

# Whole-word rewrites. Plural weekdays stay plural ("mondays" means every Monday).
_SHORTHAND: Final[dict[str, tuple[str, ...]]] = {
    "tmrw": ("tomorrow",),
    "tmw": ("tomorrow",),
    "tmr": ("tomorrow",),
    "tmrow": ("tomorrow",),
    "tmrrw": ("tomorrow",),
    "tomm": ("tomorrow",),
    "tom": ("tomorrow",),
    "tomo": ("tomorrow",),
    "tdy": ("today",),
    "tonite": ("tonight",),
    "nite": ("night",),
    "mon": ("monday",),
    "tue": ("tuesday",),
    "tues": ("tuesday",),
    "tu": ("tuesday",),
    "wed": ("wednesday",),
    "weds": ("wednesday",),
    "thu": ("thursday",),
    "thur": ("thursday",),
    "thurs": ("thursday",),
    "thr": ("thursday",),
    "fri": ("friday",),
    "sat": ("saturday",),
    "sun": ("sunday",),
    "wk": ("week",),
    "wks": ("weeks",),
    "nxt": ("next",),
    "morn": ("morning",),
    "aft": ("afternoon",),
    "aftn": ("afternoon",),
    "arvo": ("afternoon",),
    "eve": ("evening",),
    "evng": ("evening",),
    "btwn": ("between",),
    "betw": ("between",),
    "bfr": ("before",),
    "aftr": ("after",),
    "abt": ("about",),
    "approx": ("about",),
    "til": ("until",),
    "till": ("until",),
    "thru": ("through",),
    "ish": ("ish",),
    "asap": ("asap",),
    "anytime": ("any", "time"),
    "sometime": ("some", "time"),
    "whenevs": ("whenever",),
    "nope": ("no",),
    "cant": ("cannot",),
    "dont": ("do", "not"),
    "doesnt": ("does", "not"),
    "wont": ("will", "not"),
    "isnt": ("is", "not"),
    "mornings": ("mornings",),
    "midweek": ("mid", "week"),
    "weekdays": ("weekdays",),
    "oclock": ("oclock",),
    "num": ("number",),
    "opt": ("option",),
}

# Words typed with a slip are snapped to these (only words of five letters or more, so short
# words are never rewritten into something else). Number words are left out on purpose: "there"
# must not become "three".
_SNAP_VOCABULARY: Final = sorted(
    {
        *WEEKDAYS,
        *(f"{day}s" for day in WEEKDAYS),
        *(m for m in MONTHS if len(m) >= 5),
        "tomorrow",
        "tonight",
        "today",
        "morning",
        "mornings",
        "afternoon",
        "afternoons",
        "evening",
        "evenings",
        "available",
        "availability",
        "between",
        "before",
        "after",
        "around",
        "weekend",
        "weekends",
        "weekday",
        "weekdays",
        "earliest",
        "soonest",
        "possible",
        "lunchtime",
        "following",
        "anytime",
        "whenever",
        "option",
        "second",
        "third",
        "number",
        "practitioner",
        "doctor",
        "appointment",
        "opening",
        "o'clock",
        "quarter",
        "month",
        "weeks",
        "later",
        "earlier",
    }
)

_UNITS: Final[dict[str, int]] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS: Final[dict[str, int]] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS: Final[dict[str, int]] = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50}
_ORDINAL_UNITS: Final[dict[str, int]] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORDINALS: Final[dict[str, int]] = {
    **{k: v for k, v in _ORDINAL_UNITS.items() if k != "first"},
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
# "one" is a number only where a number is expected: "the afternoon one" is a pronoun.
_ONE_AS_NUMBER_AFTER: Final = frozenset(
    {"number", "option", "choice", "slot", "#", "at", "around", "about", "after", "before", "by"}
    | {"between", "and", "to", "until", "from", "or", "in", "pick", "take", "want", "do"}
)

_GLUED: Final = (
    (re.compile(r"\b2mor+ow\b|\b2mor+o\b|\b2moro+w?\b"), " tomorrow "),
    (re.compile(r"\b2day\b"), " today "),
    (re.compile(r"\b2nite\b|\b2night\b"), " tonight "),
    (re.compile(r"\bb4\b"), " before "),
    (re.compile(r"\bl8r\b"), " later "),
    (re.compile(r"\b([ap])\.\s?m\b\.?"), r"\1m "),
    (re.compile(r"(\d)([ap])\b"), r"\1 \2m"),
    (re.compile(r"(\d)(am|pm|ish|oclock)\b"), r"\1 \2"),
    (re.compile(r"\bo\s*clock\b"), " oclock "),
    (re.compile(r"(\d)\.(\d\d)\b"), r"\1:\2"),
)
_TOKEN: Final = re.compile(
    r"\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}:\d{2}|\d+(?:st|nd|rd|th)\b|\d+|[a-z]+|[#@&,;.?!/-]|[^\s\w]"
)


def _snap(word: str) -> str:
    if len(word) < 5 or word in _SNAP_VOCABULARY:
        return word
    cutoff = 0.8 if len(word) < 7 else 0.75
    close = get_close_matches(word, _SNAP_VOCABULARY, n=1, cutoff=cutoff)
    return close[0] if close else word


def _raw_tokens(text: str) -> list[str]:
    lowered = text.lower().replace("\u2019", "'").replace("'", "")
    for pattern, replacement in _GLUED:
        lowered = pattern.sub(replacement, lowered)
    return _TOKEN.findall(lowered)


def _numbers(words: list[str]) -> list[str]:
    """Spoken numbers to digits: "nine thirty" -> 9 30, "nine oh five" -> 9 05, "twenty third" -> 23rd."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        after = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i > 0 else ""
        if word in _TENS:
            if after in _UNITS:
                out.append(str(_TENS[word] + _UNITS[after]))
                i += 2
                continue
            if after in _ORDINAL_UNITS:
                out.append(f"{_TENS[word] + _ORDINAL_UNITS[after]}th")
                i += 2
                continue
            out.append(str(_TENS[word]))
        elif word == "oh" and after in _UNITS and out and out[-1].isdigit():
            out.append(f"0{_UNITS[after]}")
            i += 2
            continue
        elif word == "one":
            out.append("1" if i == 0 or before in _ONE_AS_NUMBER_AFTER or before.isdigit() else word)
        elif word in _UNITS:
            out.append(str(_UNITS[word]))
        elif word in _TEENS:
            out.append(str(_TEENS[word]))
        elif word in _ORDINALS:
            out.append(f"{_ORDINALS[word]}th")
        else:
            out.append(word)
        i += 1
    return out


def normalize(text: str) -> list[str]:
    """Tokens of a scheduling answer: lower case, shorthand expanded, typos snapped, numbers as digits.

    Clock times stay whole ("9:30"), as do slash dates ("12/3") and ordinals ("15th"); "3pm" and
    "three p m" both become ["3", "pm"]; punctuation that separates ideas ("," "-" "/") is kept.
    """
    words: list[str] = []
    for piece in _raw_tokens(text):
        if piece in _SHORTHAND:
            words.extend(_SHORTHAND[piece])
        elif piece.isalpha():
            words.append(_snap(piece))
        else:
            words.append(piece)
    merged: list[str] = []
    for word in _numbers(words):
        # "3 p m" (a voice transcript) -> "3 pm"
        if word == "m" and len(merged) >= 2 and merged[-1] in ("a", "p") and merged[-2][:1].isdigit():
            merged[-1] += "m"
            continue
        merged.append(word)
    return merged


def ordinal_value(piece: str) -> int | None:
    """The number an ordinal piece stands for: "15th" -> 15, "first" -> 1; None otherwise."""
    if piece == "first":
        return 1
    match = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)", piece)
    return int(match.group(1)) if match else None
