"""Reading a short reply to a message the practice sent ("C", "yes I'll be there", "can I move it").

The whole message must be made of the words a reply is expected to use: phrases that say what the
patient wants (each phrase belongs to one meaning, e.g. "confirm" or "cancel"), and filler that
says nothing either way ("please", "my appointment", "tomorrow at 10"). One stray word the reader
does not know, and the message is no reply at all: it goes on to the ordinary dialogs, which read
it afresh. Guessing is never worth acting on someone's visit.

A longer message gets a second, loose look (`loose_meanings`): the phrases found anywhere in it.
Its callers act on that only where a wrong reading costs nothing: a cancel is asked back before
anything happens, a reschedule passes the identity gate, and a yes counts only when the message
opens with it and nothing in it negates or questions it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from careline.conversation.dialogs.turn import Turn

_Scope = TypeVar("_Scope")

# The longest phrase a lexicon may hold, in words.
_LONGEST: Final = 7

_WEEKDAYS: Final = re.compile(
    r"^(?:mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|"
    r"sun|sunday)s?$"
)
_CLOCK: Final = re.compile(r"^\d{1,2}(?:\d{2})?(?:am|pm|a|p)?$|^\d{1,2}(?:st|nd|rd|th)$")
# A thumbs-up or a check mark is a yes; other symbols and emoji are dropped.
_EMOJI_WORDS: Final = {
    "\N{THUMBS UP SIGN}": " yes ",
    "\N{WHITE HEAVY CHECK MARK}": " yes ",
    "\N{OK HAND SIGN}": " ok ",
}


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes dropped ("I'll" -> "ill", "can't" -> "cant"), digits kept."""
    for symbol, word in _EMOJI_WORDS.items():
        text = text.replace(symbol, word)
    lowered = text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", " ", lowered).split()


# Words that add nothing to what a reply means.
FILLER: Final = frozenset(
    words(
        "a am an and actually appointment appointments appt apt at be can could do doctor dr for hey "
        "hi hello i id is it just like me morning afternoon evening my need next of oh on one our pls "
        "plz please pm so sorry that the then this time to today tomorrow tmrw tonight um uh us visit "
        "want wanna we week would you your"
    )
)


def lexicon(groups: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Phrases by their words, each naming its meaning; each group's phrases are separated by
    commas: {"confirm": "c, see you then"} -> {("c",): "confirm", ("see", "you", "then"): "confirm"}."""
    table: dict[tuple[str, ...], str] = {}
    for meaning, phrases in groups.items():
        for phrase in (p.strip() for p in phrases.split(",")):
            key = tuple(words(phrase))
            if not key or len(key) > _LONGEST:
                raise ValueError(f"reply phrase {phrase!r} must have 1 to {_LONGEST} words")
            if table.setdefault(key, meaning) != meaning:
                raise ValueError(f"reply phrase {phrase!r} means two things")
    return table


def _scan(tokens: list[str], table: Mapping[tuple[str, ...], str]) -> Iterator[tuple[int, str | None]]:
    """Each phrase of `table` in `tokens`, longest first at each word, as (its first word's place,
    its meaning); each word in no phrase as (its place, None)."""
    i = 0
    while i < len(tokens):
        for n in range(min(_LONGEST, len(tokens) - i), 0, -1):
            meaning = table.get(tuple(tokens[i : i + n]))
            if meaning is not None:
                yield i, meaning
                i += n
                break
        else:
            yield i, None
            i += 1


def meanings(text: str, table: Mapping[tuple[str, ...], str]) -> set[str] | None:
    """The meanings the phrases of `text` carry, longest phrase first at each word; None when a
    word is neither part of a phrase nor filler (or nothing is said at all)."""
    tokens = words(text)
    found: set[str] = set()
    for place, meaning in _scan(tokens, table):
        if meaning is not None:
            found.add(meaning)
            continue
        token = tokens[place]
        if token not in FILLER and not _WEEKDAYS.match(token) and not _CLOCK.match(token):
            return None
    return found if tokens else None


# Words that turn what follows (or precedes) around: a loose reading that meets one outside its
# phrases does not act on a yes ("I can't confirm yet", "not sure that works").
NEGATIONS: Final = frozenset(
    words("not no nope nah never dont doesnt didnt cant cannot wont isnt arent aint unable unsure maybe if")
)
_QUESTION_OPENERS: Final = frozenset(
    words("can could is are what when where how why do does will would which who")
)


@dataclass(frozen=True)
class LooseReading:
    """The meanings of the phrases found anywhere in a longer message, and what may undo a yes."""

    meanings: frozenset[str]
    negated: bool  # a negation outside the phrases found
    question: bool  # a question mark, or opening with a question word
    opens_with: str | None  # the meaning of a phrase at the very start, if any


def loose_meanings(text: str, table: Mapping[tuple[str, ...], str]) -> LooseReading:
    """Phrases found anywhere, longest first, other words skipped: the second look at a reply that
    is longer than the lexicon ("ugh something came up at work, I can't make it"). Callers act on it
    only where a wrong reading costs nothing (a question asked back, the identity gate) or where
    nothing in the message says otherwise."""
    tokens = words(text)
    found: set[str] = set()
    negated = False
    opens_with: str | None = None
    for place, meaning in _scan(tokens, table):
        if meaning is None:
            negated = negated or tokens[place] in NEGATIONS
            continue
        found.add(meaning)
        if place == 0:
            opens_with = meaning
    question = "?" in text or bool(tokens and tokens[0] in _QUESTION_OPENERS)
    return LooseReading(frozenset(found), negated, question, opens_with)


def pending_scope(
    turn: Turn, key: str, read: Callable[[Any], _Scope | None], until: Callable[[_Scope], datetime]
) -> _Scope | None:
    """What a message the practice sent left at `flow_state[key]` (a reminder, an offer), while a
    reply can still act on it: before `until` of it. One that has run out, or cannot be read, is
    dropped."""
    raw = turn.context.flow_state.get(key)
    if raw is None:
        return None
    scope = read(raw)
    if scope is None or turn.now >= until(scope):
        turn.context.flow_state.pop(key, None)
        return None
    return scope
