"""Is the patient frustrated with Careline? Then a person should take over, before they give up.

Plain rules over the message, no model: words of exasperation aimed at the conversation ("this is
useless", "I already told you", "stupid bot", "waste of my time", "are you even listening"), or
shouting (mostly capitals with several exclamation marks). What is frustration with something
else ("frustrated with my back pain") or said in passing ("not frustrated, just asking") does not
count. It never reads safety: the safety screen runs first.
"""

from __future__ import annotations

import re
from typing import Final

_AT_US: Final = re.compile(
    r"\b(?:"
    r"(?:this|that|it|you|u)(?:'?s|'re| is| are| r)?\s+(?:so\s+|really\s+|completely\s+|totally\s+)?"
    r"(?:useless|ridiculous|absurd|a joke|pointless|worthless|hopeless|not helping|no help|unhelpful|"
    r"stupid|dumb|annoying|infuriating|maddening)"
    r"|(?:stupid|dumb|useless|worthless|pointless)\s+(?:bot|robot|machine|system|computer|app|thing)"
    r"|(?:not|isn'?t|is not|are not|aren'?t|you'?re not)\s+(?:being\s+)?(?:helpful|helping)"
    r"|(?:i|ive|i'?ve|i have)\s+already\s+(?:told|said|gave|given|answered|explained|texted|sent)"
    r"|(?:already|just)\s+(?:told|said)\s+(?:you|u)\b"
    r"|how many times"
    r"|waste of (?:my )?time|wasting my time"
    r"|(?:sick|tired)\s+(?:and\s+tired\s+)?of\s+(?:this|you|these|talking to)"
    r"|fed up"
    r"|(?:are|r)\s+(?:you|u)\s+(?:even\s+)?(?:listening|reading|paying attention)"
    r"|(?:listen|read)\s+to\s+(?:me|what i)"
    r"|answer (?:my|the) (?:damn |freaking |fucking )?question"
    r"|what the (?:hell|heck|fuck|f)\b|\bwtf\b"
    r"|i (?:hate|can'?t stand) (?:this|you|these|talking)"
    r"|(?:so|very|really|getting|im|i'?m|i am)\s+(?:so\s+|really\s+)?"
    r"(?:frustrated|annoyed|fed up|pissed|mad|angry)"
    # ... at the conversation, or said on its own: "frustrated with my back pain" is not about us
    r"(?=\s*(?:$|[.!?,]|(?:with|at|by)\s+(?:you|u|this|these|the (?:bot|system|texts|app|robot))\b))"
    r")",
    re.IGNORECASE,
)
_NOT_FRUSTRATED: Final = re.compile(
    r"\b(?:not|never|n't)\s+(?:frustrated|annoyed|angry|mad|upset)\b", re.IGNORECASE
)
_SHOUT_LETTERS: Final = 12
# shouting for joy is not frustration
_GLAD: Final = re.compile(r"\b(?:thank|thanks|thx|great|awesome|perfect|love|wonderful|yay)", re.IGNORECASE)


def sounds_frustrated(text: str) -> bool:
    """True when the message is exasperation with the conversation itself (see the module)."""
    if _NOT_FRUSTRATED.search(text):
        return False
    if _AT_US.search(text):
        return True
    letters = [ch for ch in text if ch.isalpha()]
    shouting = len(letters) >= _SHOUT_LETTERS and sum(ch.isupper() for ch in letters) / len(letters) > 0.8
    return shouting and text.count("!") >= 2 and not _GLAD.search(text)
