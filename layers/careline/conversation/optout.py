"""Carrier keywords (STOP / HELP / START): whole-message matches, honoured before anything else.

Carriers and the TCPA treat these words as commands only when they are the whole message, give or
take case, spaces and punctuation: "Stop." opts out, "please stop calling my mom" does not, and
"cancel" alone opts out while "cancel my appointment" is a request about a visit.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    HELP = "help"
    OPT_IN = "opt_in"


KEYWORDS: Final[dict[str, Keyword]] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE"),
        Keyword.OPT_OUT,
    ),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
    **dict.fromkeys(("START", "UNSTOP", "SUBSCRIBE"), Keyword.OPT_IN),
}

# Anything that is not a letter or digit, at either end of the message.
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_INNER_SEPARATORS = re.compile(r"[\s\-_]+")


def normalize_keyword(text: str) -> str:
    """Upper-case `text` without edge punctuation, with inner spaces/hyphens collapsed to one space."""
    stripped = _EDGES.sub("", text.strip())
    return _INNER_SEPARATORS.sub(" ", stripped).upper()


def match_keyword(text: str) -> Keyword | None:
    """The carrier keyword `text` is, or None. Only a whole-message match counts."""
    return KEYWORDS.get(normalize_keyword(text))
