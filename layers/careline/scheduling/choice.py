"""Which of the offered slots a patient picks, and whether they said yes or no.

Careline offers up to three numbered slots. Patients answer by number ("2", "#2", "the second
one", voice "number two", "the last one"), by what they see in a slot ("the 9:30", "tuesday one",
"the afternoon one", "the one with dr chen"), or turn them all down ("none of those", "something
later in the day", "other days"). An answer that fits more than one slot is `Ambiguous`, never a
guess: booking the wrong appointment is worse than asking again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher
from typing import Final, Literal
from zoneinfo import ZoneInfo

from careline.ehr.model import FreeSlot, Practitioner
from careline.scheduling.text import MONTHS, WEEKDAYS, normalize, ordinal_value
from careline.scheduling.when import (
    AFTERNOON,
    EVENING,
    MORNING,
    TimeOfDay,
    TimePreference,
    parse_time_preference,
)


@dataclass(frozen=True)
class Picked:
    """The patient picked `slot`, the `position`-th offered (1-based)."""

    slot: FreeSlot
    position: int


@dataclass(frozen=True)
class Ambiguous:
    """The answer fits more than one offered slot (or contradicts itself): ask which."""

    candidates: tuple[FreeSlot, ...]


OtherWish = Literal["none", "later", "earlier", "later_in_day", "earlier_in_day", "other_days", "specific"]


@dataclass(frozen=True)
class WantsOther:
    """None of the offered slots: `wish` says what instead; `preference` is a time the patient named
    that no offered slot fits ("thursday instead?"), when `now` was given to read it."""

    wish: OtherWish
    preference: TimePreference | None = None


@dataclass(frozen=True)
class NotAChoice:
    """The message picks nothing and declines nothing (a question, another topic)."""


Choice = Picked | Ambiguous | WantsOther | NotAChoice

# Words around a number that do not change which slot it picks: "option 2 please", "#2 works".
_FILLER: Final = frozenset(
    {"the", "one", "please", "i", "ill", "will", "take", "want", "id", "like", "pick", "choose", "go"}
    | {"with", "lets", "do", "number", "option", "choice", "slot", "#", "ok", "okay", "yes", "that"}
    | {"works", "is", "good", "fine", "great", "perfect", "thanks", "thank", "you", "sounds", "for"}
    | {"me", "a", "an", "would", "be", "can", "it", "im", "am", "book", "lets", "yeah", "sure", "no"}
    | {".", "!", ",", "?", "-", ":", "s", "plz", "pls", "ty", "thx", "oh", "um", "uh", "hmm", "well"}
)
_MARKERS: Final = frozenset({"#", "number", "option", "choice", "slot", "no", "num", "opt"})
_NEGATIONS: Final = frozenset({"not", "except", "but", "cannot", "without"})
_TITLES: Final = frozenset({"dr", "doctor", "md", "do", "np", "pa", "fnp", "c", "rn", "mr", "ms", "mrs"})

_DECLINES: Final[tuple[tuple[tuple[str, ...], OtherWish], ...]] = (
    (("later", "in", "the", "day"), "later_in_day"),
    (("later", "that", "day"), "later_in_day"),
    (("later", "in", "the", "afternoon"), "later_in_day"),
    (("later", "time"), "later_in_day"),
    (("later", "times"), "later_in_day"),
    (("earlier", "in", "the", "day"), "earlier_in_day"),
    (("earlier", "that", "day"), "earlier_in_day"),
    (("earlier", "time"), "earlier_in_day"),
    (("earlier", "times"), "earlier_in_day"),
    (("other", "days"), "other_days"),
    (("other", "day"), "other_days"),
    (("different", "day"), "other_days"),
    (("different", "days"), "other_days"),
    (("another", "day"), "other_days"),
    (("later", "date"), "later"),
    (("later", "in", "the", "week"), "later"),
    (("further", "out"), "later"),
    (("anything", "sooner"), "earlier"),
    (("something", "sooner"), "earlier"),
    (("sooner",), "earlier"),
    (("earlier",), "earlier"),
    (("later",), "later"),
    (("none",), "none"),
    (("neither",), "none"),
    (("nothing",), "none"),
    (("not", "those"), "none"),
    (("not", "these"), "none"),
    (("do", "not", "work"), "none"),
    (("does", "not", "work"), "none"),
    (("cannot", "make"), "none"),
    (("cannot", "do"), "none"),
    (("something", "else"), "none"),
    (("anything", "else"), "none"),
    (("other", "times"), "none"),
    (("other", "options"), "none"),
    (("different", "time"), "none"),
    (("another", "time"), "none"),
)

_Filter = Callable[[FreeSlot], bool]


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> int:
    """The index where `phrase` starts in `tokens`, or -1."""
    n = len(phrase)
    for i in range(len(tokens) - n + 1):
        if tuple(tokens[i : i + n]) == tuple(phrase):
            return i
    return -1


def _position(tokens: Sequence[str], count: int) -> int | None:
    """A slot named by its place: "2", "#2", "option 3", "the second one", "the last one"."""
    for i, piece in enumerate(tokens[:-1]):
        if piece in _MARKERS and tokens[i + 1].isdigit():
            return int(tokens[i + 1])
    rest = [t for t in tokens if t not in _FILLER]
    if len(rest) != 1:
        return None
    word = rest[0]
    if word.isdigit() and len(word) <= 2:
        return int(word)
    if word == "last":
        return count
    if word == "middle" and count == 3:
        return 2
    return ordinal_value(word)


def _clock_filters(tokens: Sequence[str], tz: ZoneInfo) -> list[_Filter]:
    """ "the 9:30", "930", "nine thirty", "the 2pm one", "the 2 oclock", "at 2"."""
    filters: list[_Filter] = []
    for i, piece in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        before = tokens[i - 1] if i > 0 else ""
        hour: int | None = None
        minute: int | None = None
        if re.fullmatch(r"\d{1,2}:\d{2}", piece):
            hour, minute = (int(p) for p in piece.split(":"))
        elif piece.isdigit() and len(piece) in (3, 4):
            hour, minute = int(piece[:-2]), int(piece[-2:])
        elif piece.isdigit() and len(piece) <= 2 and before not in _MARKERS:
            if len(after) == 2 and after.isdigit():
                hour, minute = int(piece), int(after)
            elif after in ("am", "pm", "oclock") or before in ("at", "around", "about"):
                hour = int(piece)
        elif piece == "noon":
            hour, minute = 12, 0
        if hour is None or not 0 <= hour <= 23:
            continue
        meridiem = after if after in ("am", "pm") else None
        if minute is None or meridiem is None:
            nxt = tokens[i + 2] if i + 2 < len(tokens) else ""
            meridiem = meridiem or (nxt if nxt in ("am", "pm") else None)
        filters.append(_clock_filter(hour, minute, meridiem, tz))
    return filters


def _clock_filter(hour: int, minute: int | None, meridiem: str | None, tz: ZoneInfo) -> _Filter:
    def fits(slot: FreeSlot) -> bool:
        local = slot.start.astimezone(tz)
        if minute is not None and local.minute != minute:
            return False
        if meridiem is not None or hour > 12:
            wanted = hour if hour > 12 else hour % 12 + (12 if meridiem == "pm" else 0)
            return local.hour == wanted
        return local.hour % 12 == hour % 12

    return fits


def _on_weekday(weekday: int, tz: ZoneInfo) -> _Filter:
    return lambda slot: slot.start.astimezone(tz).weekday() == weekday


def _on_day(day: date, tz: ZoneInfo) -> _Filter:
    return lambda slot: slot.start.astimezone(tz).date() == day


def _on_month_day(month: int, day: int, tz: ZoneInfo) -> _Filter:
    def fits(slot: FreeSlot) -> bool:
        local = slot.start.astimezone(tz)
        return (local.month, local.day) == (month, day)

    return fits


def _during(span: TimeOfDay, tz: ZoneInfo) -> _Filter:
    return lambda slot: span.contains(slot.start.astimezone(tz).time())


def _day_filters(tokens: Sequence[str], tz: ZoneInfo, now: datetime | None) -> list[_Filter]:
    """ "tuesday one", "tomorrow's", "the dec 3", "the afternoon one"."""
    filters: list[_Filter] = []
    for i, piece in enumerate(tokens):
        name = piece[:-1] if piece.endswith("s") and piece[:-1] in WEEKDAYS else piece
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if name in WEEKDAYS:
            filters.append(_on_weekday(WEEKDAYS[name], tz))
        elif piece in ("today", "tomorrow", "tomorrows") and now is not None:
            ahead = 0 if piece == "today" else 1
            filters.append(_on_day(now.astimezone(tz).date() + timedelta(days=ahead), tz))
        elif piece in MONTHS:
            number = ordinal_value(following) or (int(following) if following.isdigit() else None)
            if number is not None:
                filters.append(_on_month_day(MONTHS[piece], number, tz))
    for part, span in (("morning", MORNING), ("afternoon", AFTERNOON), ("evening", EVENING)):
        if part in tokens or f"{part}s" in tokens:
            filters.append(_during(span, tz))
    return filters


def _name_words(name: str) -> list[str]:
    return [w for w in normalize(name) if w.isalpha() and len(w) >= 3 and w not in _TITLES]


def _practitioner_filters(tokens: Sequence[str], practitioners: Sequence[Practitioner]) -> list[_Filter]:
    named: set[str] = set()
    for practitioner in practitioners:
        for word in _name_words(practitioner.name):
            if any(
                t == word or (len(word) >= 5 and SequenceMatcher(None, t, word).ratio() >= 0.8)
                for t in tokens
            ):
                named.add(practitioner.id)
    if not named:
        return []
    return [lambda s: s.practitioner_id in named]


def _filters(
    tokens: Sequence[str], tz: ZoneInfo, now: datetime | None, practitioners: Sequence[Practitioner]
) -> list[_Filter]:
    return [
        *_clock_filters(tokens, tz),
        *_day_filters(tokens, tz, now),
        *_practitioner_filters(tokens, practitioners),
    ]


def _order_pick(tokens: Sequence[str]) -> Literal["earliest", "latest"] | None:
    """ "the earlier one", "the earliest", "the later one", "the latest"."""
    for i, piece in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        prev = tokens[i - 1] if i > 0 else ""
        if piece in ("earliest", "soonest") or (piece == "earlier" and (nxt == "one" or prev == "the")):
            return "earliest"
        if piece == "latest" or (piece == "later" and (nxt == "one" or prev == "the")):
            return "latest"
    return None


def _decline(tokens: Sequence[str]) -> OtherWish | None:
    for phrase, wish in _DECLINES:
        if _contains(tokens, phrase) >= 0:
            return wish
    if tokens[:1] == ["no"] and len([t for t in tokens if t not in _FILLER]) == 0:
        return "none"
    return None


def parse_choice(
    text: str,
    offered: Sequence[FreeSlot],
    tz: ZoneInfo,
    *,
    practitioners: Sequence[Practitioner] = (),
    now: datetime | None = None,
) -> Choice:
    """Which of `offered` (in the order they were numbered) the patient's `text` picks.

    `practitioners` lets "the one with dr chen" pick by name; `now` lets "tomorrow's" pick by day
    and lets a newly named time ("thursday instead") come back as `WantsOther.preference`.
    """
    tokens = normalize(text)
    count = len(offered)
    negation = next((i for i, t in enumerate(tokens) if t in _NEGATIONS), len(tokens))
    position = _position(tokens, count)
    if position is not None and negation == len(tokens) and 1 <= position <= count:
        return Picked(offered[position - 1], position)

    wanted, unwanted = tokens[:negation], tokens[negation + 1 :]
    order = _order_pick(wanted)
    keep = _filters(wanted, tz, now, practitioners)
    drop = _filters(unwanted, tz, now, practitioners)
    unwanted_position = _position(unwanted, count)
    if unwanted_position is not None and 1 <= unwanted_position <= count:
        dropped = offered[unwanted_position - 1]
        drop.append(lambda s: s is dropped)

    decline = None if order else _decline(tokens)
    if not (keep or drop or order):
        if decline is not None:
            return WantsOther(decline, _preference(text, now, tz))
        return NotAChoice()

    candidates = [s for s in offered if all(f(s) for f in keep) and not any(f(s) for f in drop)]
    if order is not None and candidates:
        pick = min if order == "earliest" else max
        candidates = [pick(candidates, key=lambda s: s.start)]
    if len(candidates) == 1:
        return Picked(candidates[0], offered.index(candidates[0]) + 1)
    if candidates:
        return Ambiguous(tuple(candidates))
    preference = _preference(text, now, tz)
    if decline is not None or preference is not None:
        return WantsOther(decline or "specific", preference)
    return Ambiguous(())


def _preference(text: str, now: datetime | None, tz: ZoneInfo) -> TimePreference | None:
    return None if now is None else parse_time_preference(text, now, tz)


_YES: Final = frozenset(
    {"yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "ye", "yes please", "sure", "ok", "okay", "k"}
    | {"kk", "okey", "okie", "alright", "all right", "sounds good", "sounds great", "that works"}
    | {"works", "works for me", "that works for me", "perfect", "great", "good", "fine", "thats fine"}
    | {"that is fine", "correct", "thats right", "right", "confirm", "confirmed", "book it", "do it"}
    | {"go ahead", "absolutely", "definitely", "of course", "for sure", "uh huh", "mhm", "mm hmm"}
    | {"mmhmm", "please", "please do", "affirmative", "cool", "no problem", "no worries", "yes mam"}
    | {"yes sir", "sure thing", "lets do it", "that is great", "that sounds good", "sounds perfect"}
    | {"\U0001f44d", "\U0001f44c", "\u2705", "\u2714"}
)
_NO: Final = frozenset(
    {"no", "n", "nah", "no thanks", "no thank you", "not really", "cancel", "cancel that", "never mind"}
    | {"nevermind", "nvm", "negative", "wrong", "not that", "do not", "no way", "not now", "uh uh"}
    | {"not interested", "that does not work", "does not work", "that will not work", "i cannot"}
    | {"cannot", "i can not", "\U0001f44e", "\u274c", "\u2716"}
)
_YES_OPENERS: Final = frozenset({"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "y", "ya", "absolutely"})
_NO_OPENERS: Final = frozenset({"no", "nah", "n", "negative"})
_POLITE: Final = frozenset({"thanks", "thank", "you", "ty", "thx", "so", "much", "lol", "haha", "then"})
_DOUBT: Final = frozenset({"but", "not", "no", "cancel", "actually", "wait", "?", "maybe", "instead"})


def parse_yes_no(text: str, *, keypad: bool = False) -> bool | None:
    """True for a yes ("yep", "sounds good", "👍", voice "uh huh"), False for a no ("nope",
    "not really", "cancel that"), None for anything else or a mix of both.

    `keypad`: the question said "press 1 for yes, 2 for no", so a lone "1" or "2" answers it.
    """
    words = [w for w in normalize(text) if w not in {".", ",", "!"}]
    if keypad and len(words) == 1 and words[0] in ("1", "2"):
        return words[0] == "1"
    phrase = " ".join(words)
    polite = " ".join(w for w in words if w not in _POLITE)
    for candidate in (phrase, polite):
        if candidate in _YES:
            return True
        if candidate in _NO:
            return False
    if not words:
        return None
    # "yes that works, see you then": a yes opener and no doubt after it
    if words[0] in _YES_OPENERS and not _DOUBT & set(words[1:]):
        return True
    if words[0] in _NO_OPENERS and not ({"problem", "worries"} & set(words)):
        rest = " ".join(words[1:])
        if (
            not any(yes in rest.split() for yes in ("yes", "yeah", "sure", "ok", "okay"))
            and "fine" not in rest
        ):
            return False
    return None
