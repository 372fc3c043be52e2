"""A first keyword screen for emergencies (call 911) and crises (988, self-harm, danger at home).

It errs towards firing: a false alarm costs a kind message and a human look, a miss can cost a
life. It still avoids the everyday look-alikes that would make patients stop trusting it: idioms
("I'm dying to get in", "this bill is killing me"), negations ("no chest pain", "not suicidal"),
history ("had a stroke in 2020") and medicine names ("refill my seizure medication").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class SafetyCategory(StrEnum):
    EMERGENCY = "emergency"
    CRISIS = "crisis"
    NONE = "none"


@dataclass(frozen=True)
class SafetyResult:
    """What the screen found. `rule` names the pattern that fired (safe to log: no patient words)."""

    category: SafetyCategory
    rule: str | None = None

    @property
    def flagged(self) -> bool:
        return self.category is not SafetyCategory.NONE


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    # "had a stroke in 2020" is history, "I want to die" is never history
    historical_guard: bool = False


def _rule(name: str, pattern: str, *, historical_guard: bool = False) -> _Rule:
    return _Rule(name, re.compile(pattern), historical_guard)


# Patterns run on normalized text: lower case, apostrophes dropped ("can't" -> "cant"),
# punctuation turned into single spaces.
_BREATH = r"bre?a?the?\w*"
_CRISIS_RULES: Final = (
    _rule("suicide", r"\b(suicid\w*|sucid\w*|suiside\w*|suicde\w*|suiced\w*)\b", historical_guard=True),
    _rule(
        "self_harm",
        r"\b(kil+|kil+ing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|shoot)"
        r" (my ?self|myself|my self)\b"
        r"|\bself ?harm\w*\b|\bkms\b|\b(on|to) myself\b.{0,20}\b(razor|blade|knife|pills|gun)\b"
        r"|\b(razor|blade|knife|gun)\b.{0,30}\b(on|to) myself\b",
    ),
    _rule(
        "others_self_harm",
        r"\b(kill|killing|hurt|hurting|cut|cutting|hang) (him|her|them)sel(f|ves)\b",
        historical_guard=True,
    ),
    _rule(
        "end_life",
        r"\b(end|ending|take|taking) (my|my own) life\b|\bend(ing)? it (all|tonight|today|now)\b"
        r"|\b(plan|planning|going|gonna|want|wanna|ready) to end (it|things|everything)\b",
    ),
    _rule(
        "want_to_die",
        r"\b(want|wanna|wanting|going|gonna|ready|plan|planning) (to )?die\b"
        r"|\bwish (i|id) (was|were|wasnt|werent) (dead|alive|born|here)\b|\bbetter off (dead|without me)\b"
        r"|\b(dont|do not) want to (live|be alive|wake up|be here)\b",
    ),
    _rule(
        "hopeless",
        r"\b(cant|cannot|can not) (go on|keep living|keep going|live like this|take it anymore)\b"
        r"|\b(no|any|a) (reason|point) (to|in) (keep )?(live|living|going on|be alive)\b"
        r"|\blife (isnt|is not|aint|is no longer|not) worth\b|\bnot worth living\b",
    ),
    _rule("jump", r"\bjump\w* (off|from|in front of)\b"),
    _rule(
        "intentional_overdose",
        r"\btook (the whole|a whole|all (of )?(my|the|her|his)|a bunch of|a handful of)\b",
    ),
    _rule(
        "harm_others",
        r"\b(want|wanna|going|gonna|plan|planning|about) (to )?(hurt|kill|shoot|stab)"
        r" (him|her|them|someone|somebody|people|the)\b",
    ),
    _rule(
        "danger_at_home",
        r"\b(he|she|they|husband|boyfriend|partner|wife|girlfriend|dad|father|mom|mother|ex)\b.{0,15}"
        r"\b(hit|hits|hitting|beat|beats|beating|choked|chokes|strangled|hurts|hurting|threatened) (me|us)\b"
        r"|\b(kill|hurt) me if\b|\b(going|gonna|will|threatened|threatening) to (kill|hurt) me\b"
        r"|\bnot safe (at home|here|with him|with her)\b|\bafraid (to go home|for my life)\b"
        r"|\blocked (me )?in\b.{0,30}\b(hurt|kill|hit|beat)\b",
    ),
    _rule("suicide_note", r"\b(suicide|goodbye) (note|letter)\b"),
)

_EMERGENCY_RULES: Final = (
    _rule(
        "chest_pain",
        r"\bche?st\b.{0,25}\b(pain\w*|hurt\w*|pressure|tight\w*|heavy|crushing|squeez\w*)\b"
        r"|\b(pain|pressure|tightness|crushing|heaviness|squeezing)\b.{0,20}\bche?st\b",
    ),
    _rule(
        "breathing",
        r"\b(cant|cannot|can not|couldnt|unable to|hard to|trouble|struggling to|difficulty)"
        rf" (catch (my|his|her) )?{_BREATH}"
        rf"|\b(not|stopped|barely|isnt|wasnt) {_BREATH}|\bshort(ness)? of {_BREATH}"
        r"|\bgasping\b|\bturning blue\b"
        r"|\blips? (are |is |turning )?blue\b",
    ),
    _rule(
        "stroke",
        r"\b(having|had|has|is having) a stroke\b|\bstroke (symptoms|signs)\b"
        r"|\b(face|mouth|smile|lip)\b.{0,10}\b(droop\w*|numb)\b|\bslurr\w*\b"
        r"|\b(cant|cannot) (talk|speak) (right|straight|clearly)\b"
        r"|\b(arm|leg|side)\b.{0,10}\b(went |is |gone )?(limp|numb|dead)\b"
        r"|\bcant (move|feel) (my|his|her|one)\b",
        historical_guard=True,
    ),
    _rule("heart_attack", r"\bheart attack\b", historical_guard=True),
    _rule(
        "unresponsive",
        r"\b(passed|passing) out\b|\bfaint(ed|ing)\b|\bcollaps\w*\b|\bunconc?s?ious\b|\bunresponsive\b"
        r"|\b(wont|cant|will not|not) wak(e|ing)( up)?\b|\b(is|went|gone|and) limp\b|\bnot responding\b",
    ),
    _rule(
        "seizure", r"\b(seiz(ure|ures|ing)|siez(ure|ures|ing)|seisure|convuls\w*)\b", historical_guard=True
    ),
    _rule(
        "bleeding",
        r"\bble+d(ing)? (a lot|heavily|badly|so much|wont stop|through|everywhere|profusely|out)\b"
        r"|\b(lot of|lots of|so much) blood\b|\bblood (everywhere|wont stop)\b|\bcant stop (the )?bleed\w*\b"
        r"|\bpregnan\w*\b.{0,40}\bble+d\w*\b|\bble+d\w*\b.{0,40}\bpregnan\w*\b",
    ),
    _rule(
        "poisoning",
        r"\b(ate|swallowed|drank|ingested|got into)\b.{0,25}\b(poison\w*|bleach|batter(y|ies)|detergent|pods?"
        r"|antifreeze|pills|medicine|meds|chemicals?|cleaner)\b|\boverdos\w*\b|\bpoison control\b"
        r"|\b(took|taken|swallowed|had)\b.{0,12}\b(too many|too much|way too many|a lot of)\b"
        r".{0,20}\b(pills?|meds|medicines?|medication\w*|tablets?|capsules?|tylenol|insulin|doses?)\b",
    ),
    _rule(
        "anaphylaxis",
        r"\ballergic reaction\b|\banaphyla\w*\b|\bthroat\b.{0,20}\b(closing|swell\w*|tight\w*)\b"
        r"|\b(tongue|lips?|face)\b.{0,10}\b(swell\w*|swollen)\b",
    ),
    _rule("choking", r"\bchok(ing|ed) on\b|\bis choking\b"),
    _rule(
        "declared_emergency",
        r"\b(this is|its|having|theres|there is) an? (medical )?emergency\b"
        r"|\b(call|calling|called|dial) 911\b"
        r"|\bneed an ambulance\b|\bcall an ambulance\b",
    ),
)

_NEGATIONS: Final = frozenset({"no", "not", "without", "denies", "deny", "never", "nothing", "negative"})
_MEDICINE_WORDS: Final = re.compile(
    r"\b(refill\w*|prescription\w*|script|med|meds|medication\w*|medicine\w*|pills?|renew\w*)\b"
)
_HISTORY: Final = re.compile(
    r"\b(\d+|a|one|two|three|few|a few|several|many) (years?|yrs?|months?) (ago|back)\b"
    r"|\bin (19|20)\d\d\b|\bhistory of\b|\bused to\b|\bwhen i was\b|\blast year\b"
)


def normalize(text: str) -> str:
    """Lower case, apostrophes dropped, everything but letters and digits turned into single spaces."""
    lowered = text.lower().replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", lowered).split())


def _negated(text: str, start: int) -> bool:
    """True when one of the three words before the match negates it ("no chest pain")."""
    before = text[:start].split()[-3:]
    return any(word in _NEGATIONS for word in before)


def _about_medicine(text: str, start: int, end: int) -> bool:
    """True when the match is a medicine's purpose ("my seizure meds", "refill my epipen")."""
    window = " ".join(text[:start].split()[-3:] + text[end:].split()[:2])
    return bool(_MEDICINE_WORDS.search(window))


def _fires(rule: _Rule, text: str, historical: bool) -> bool:
    if rule.historical_guard and historical:
        return False
    for match in rule.pattern.finditer(text):
        if _negated(text, match.start()):
            continue
        if rule.historical_guard and _about_medicine(text, match.start(), match.end()):
            continue
        return True
    return False


class SafetyScreen:
    """`screen(text)` -> emergency, crisis or none. Crisis wins over emergency (988 and a human)."""

    def screen(self, text: str) -> SafetyResult:
        """Screen one message's raw text."""
        normalized = normalize(text)
        if not normalized:
            return SafetyResult(SafetyCategory.NONE)
        historical = bool(_HISTORY.search(normalized))
        for rule in _CRISIS_RULES:
            if _fires(rule, normalized, historical):
                return SafetyResult(SafetyCategory.CRISIS, rule.name)
        for rule in _EMERGENCY_RULES:
            if _fires(rule, normalized, historical):
                return SafetyResult(SafetyCategory.EMERGENCY, rule.name)
        return SafetyResult(SafetyCategory.NONE)
