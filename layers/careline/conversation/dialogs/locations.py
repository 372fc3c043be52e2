"""Which of the practice's locations a message names, matched from the config alone.

A location is named by its configured name ("Riverbend St. Johns"), its id, or a distinctive word
of its name or street ("johns", "lombard", "hawthorne"): one no other location shares, and not
a word every address has ("street", "suite", "north"). Nothing here knows any practice's places.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Final

from careline.config import Location
from careline.practice.dates import words

# Words of a name or street that say nothing about which office: street types, compass points,
# and what people call any office. "St" is "Saint" as often as "Street", so it is generic too.
_GENERIC: Final = frozenset(
    {
        "street", "st", "avenue", "ave", "av", "boulevard", "blvd", "road", "rd", "drive", "dr",
        "lane", "ln", "way", "court", "ct", "place", "pl", "parkway", "pkwy", "highway", "hwy",
        "suite", "ste", "unit", "floor", "fl", "building", "bldg",
        "n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west",
        "office", "clinic", "center", "centre", "medical", "health", "family", "medicine",
        "the", "of", "at", "and", "saint",
    }
)  # fmt: skip
_MIN_WORD: Final = 4


def _own_words(location: Location) -> set[str]:
    street = location.address_lines[0] if location.address_lines else ""
    found = words(f"{location.name} {street} {location.id}")
    return {w for w in found if len(w) >= _MIN_WORD and not w.isdigit() and w not in _GENERIC}


def _similar(word: str, wanted: str) -> bool:
    # a typo in a long word still names the place ("hawthorn", "lombart"); short words must match
    if word == wanted:
        return True
    return len(word) >= _MIN_WORD and SequenceMatcher(None, word, wanted).ratio() >= 0.85


def named_location(text: str, locations: Sequence[Location]) -> Location | None:
    """The one location `text` names, or None when it names none or several."""
    if len(locations) < 2:
        return None  # one office: every answer is already about it
    own = {loc.id: _own_words(loc) for loc in locations}
    text_words = words(text)
    named = []
    for loc in locations:
        others = set().union(*(own[o.id] for o in locations if o.id != loc.id))
        distinctive = own[loc.id] - others
        full_name = " ".join(words(loc.name))
        if full_name in " ".join(text_words) or any(_similar(w, d) for w in text_words for d in distinctive):
            named.append(loc)
    return named[0] if len(named) == 1 else None


def short_names(locations: Sequence[Location]) -> dict[str, str]:
    """What to call each location in a short answer, by id: its name without the leading words
    every location's name shares ("Riverbend St. Johns" -> "St. Johns"), else its whole name.

    Short names keep a per-office hours answer inside an SMS segment or two.
    """
    split = [loc.name.split() for loc in locations]
    shared = 0
    if len(split) > 1:
        while all(len(name) > shared + 1 for name in split) and len({n[shared].lower() for n in split}) == 1:
            shared += 1
    return {loc.id: " ".join(name[shared:]) for loc, name in zip(locations, split, strict=True)}
