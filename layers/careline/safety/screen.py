"""The safety screen: a possible emergency (911), a crisis (988), or neither, for one message.

Pure and deterministic: phrases in `rules.yaml` (read once, on first use), no model, no network.
It errs towards firing (a false alarm costs a kind message and a person's look; a miss can cost a
life) but reads a message the way a person would, so that everyday look-alikes do not fire.

How a message is read:

1. Normalized: lower case, apostrophes dropped, sentence punctuation turned into a clause
   boundary token `|`, other characters into spaces; then rewritten: negations to one spelling
   ("can not" -> "cant"), SMS shorthand ("kms", "rn"), common misspellings ("chest pian",
   "sucidal", "cant breath") and speech-recognition splits or mishearings from calls
   ("sue aside", "over dose", "I can't breed"); fillers and stutters from calls ("um", "uh",
   "he he") are dropped, a decimal point is not a sentence end ("a temp of 100.6"), and accents,
   censored spellings ("s*icide") and a little Spanish ("dolor de pecho") are read too. Words one
   typing slip away from a key word ("unconsious") are read as that word unless they are real
   words themselves.
2. Look-alikes are blanked: idioms ("dying to get in", "this wait is killing me", "I'd kill for a
   slot"), services and tests ("chest x-ray", "blood test", "emergency contact", "seizure
   medication"); their words can then neither fire nor negate.
3. Each rule's patterns are matched. A match counts unless one of the rule's guards applies:

   - `negation`: a negating word shortly before it in the same clause ("no chest pain", "not
     suicidal", "no thoughts of hurting myself"). Hedges are not negations ("not sure if it's a
     stroke", "I don't know what to do"). A clause ends at punctuation, at "but", "and", "just",
     "now"..., and, for negation only, where a new subject starts ("I'm not okay I want to die");
   - `hypothetical`: a question about a condition, a condition or what a clinician said, before
     it in the same clause ("what are the signs of a stroke", "if he has a seizure", "the doctor
     said my chest pain was reflux");
   - `past`: the clause is about the past ("last year", "in 2019", "as a kid", "history of"), or the
     match directly follows an anchor ("after a heart attack", "died of a stroke"), unless the
     clause also says it is happening now ("now", "again", "still", "this morning") or the
     message goes on to say it is happening again ("... and is having another one now"). A dated
     clause carries into the next one when that one is in the past tense ("last winter I had
     pneumonia and couldn't breathe"), never into one that says "now";
   - `admin`: the clause is about records, bills or insurance, unless it is happening now;
   - `resolved`: it went away ("the chest pain went away"), said after it;
   - `chronic`: recurring or long-standing ("chokes on his food sometimes", "for months");
   - `humor`: the message laughs ("lol", "jk") - only for the idiom-prone harm rules, never for
     wishing to die.

   A rule may also name `requires` (words that must appear somewhere, e.g. "pregnant" for
   bleeding in pregnancy) and `unless` (words in the same clause or the one before that make the
   match ordinary, e.g. "I cut myself shaving"; `explain` reports it as the guard "unless").
   `requires` is how a sign that is ordinary on its own counts only beside a second one: "very
   sleepy" after a fall or a swallowed pill, "sweating" with an arm or jaw that hurts, "bleeding"
   with dizziness, "she doesn't know who I am" with a fever or a sudden start.
4. The category: an attempt in progress (an overdose, cut wrists) or a specific physical emergency
   is `emergency` even when crisis words fire too (call 911 first; `crisis_signal` says the crisis
   rule fired, so the reply can give 988 as well); otherwise any crisis rule gives `crisis`; a
   general emergency cue ("this is an emergency", "should I call 911") gives `emergency`.

The result names the rule that decided it and every rule that fired: rule names only, never the
patient's words, so it is safe to log. `explain(text)` also lists the matches a guard stopped
(for developers; still names only).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

RULES_PATH: Final = Path(__file__).with_name("rules.yaml")


class SafetyCategory(StrEnum):
    EMERGENCY = "emergency"
    CRISIS = "crisis"
    NONE = "none"


@dataclass(frozen=True)
class SafetyResult:
    """What the screen found. Rule names only (safe to log: no patient words).

    `rule` is the rule that decided the category, `rules` every rule that fired (deciding rule
    first), `crisis_signal` whether any crisis rule fired (also when the category is emergency,
    e.g. "I took all my pills, I want to die").
    """

    category: SafetyCategory
    rule: str | None = None
    rules: tuple[str, ...] = ()
    crisis_signal: bool = False

    @property
    def flagged(self) -> bool:
        return self.category is not SafetyCategory.NONE


@dataclass(frozen=True)
class Finding:
    """One rule that matched a message: whether it fired, or the guard that stopped it."""

    rule: str
    category: SafetyCategory
    fired: bool
    stopped_by: str | None = None


GUARDS: Final = frozenset({"negation", "hypothetical", "past", "admin", "resolved", "chronic", "humor"})
TIERS: Final = ("attempt", "specific", "general")
_CUE_CLASSES: Final = (
    "negation",
    "hypothetical",
    "past",
    "past_tense",
    "anchor",
    "now",
    "recurrence",
    "resolved",
    "admin",
    "chronic",
    "humor",
)
# A negating word reaches this many words ahead at most ("not having chest pain or trouble breathing").
NEGATION_REACH: Final = 6
# An anchor ("died of", "after his") may sit this many words before the match ("died of a stroke").
ANCHOR_REACH: Final = 2
_BOUNDARY: Final = "|"
_BLANK: Final = "~"
# as `reading_for_learning` gives them: a clause boundary, and a word of a blanked look-alike
CLAUSE_MARK: Final = _BOUNDARY
BLANK_MARK: Final = _BLANK
# A clause ends before these words (and at punctuation).
_CLAUSE_WORDS: Final = frozenset(
    {
        "but",
        "and",
        "though",
        "although",
        "however",
        "so",
        "because",
        "now",
        "then",
        "also",
        "plus",
        "except",
        "just",
        "anyway",
        "anyways",
        "whereas",
        "otherwise",
        "meanwhile",
        "please",
        "help",
    }
)
# For negation only, a new subject starts a new clause ("no fever my chest hurts").
_SUBJECT_WORDS: Final = frozenset(
    {"i", "im", "ive", "id", "ill", "he", "hes", "she", "shes", "they", "theyre", "we"}
)
_POSSESSIVES: Final = frozenset({"my", "his", "her", "their", "our"})
# ... but not a possessive that belongs to the words before it ("no pain in my chest").
_POSSESSIVE_BINDERS: Final = frozenset(
    {
        "in",
        "on",
        "of",
        "to",
        "for",
        "with",
        "from",
        "at",
        "about",
        "into",
        "across",
        "around",
        "have",
        "has",
        "had",
        "having",
        "feel",
        "feeling",
        "get",
        "got",
        "any",
        "hurting",
        "hurt",
        "harming",
        "killing",
        "kill",
        "see",
        "tell",
        "told",
        "is",
        "and",
    }
)
_PUNCTUATION: Final = re.compile(r"[.,;:!?\n\r]+")
_NOT_WORD: Final = re.compile(r"[^a-z0-9|]+")
_MACRO: Final = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_MIN_FUZZY: Final = 6
_WORD_START: Final = "(?<![a-z0-9])"


class RulesError(ValueError):
    """`rules.yaml` is malformed: names the rule or section."""


@dataclass(frozen=True)
class _Rule:
    name: str
    category: SafetyCategory
    tier: int
    pattern: re.Pattern[str]
    guards: frozenset[str]
    requires: re.Pattern[str] | None
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class _Model:
    raw_rewrites: tuple[tuple[re.Pattern[str], str], ...]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]
    spellings: Mapping[str, str]
    fuzzy_words: frozenset[str]
    fuzzy_index: Mapping[str, frozenset[str]]
    real_words: frozenset[str]
    look_alikes: re.Pattern[str]
    cues: Mapping[str, re.Pattern[str]]
    rules: tuple[_Rule, ...]


# ------------------------------------------------------------------------------------ loading


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    for _ in range(10):
        expanded = _MACRO.sub(lambda m: _macro(m.group(1), macros, where), pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise RulesError(f"{where}: macros nest too deeply")


def _macro(name: str, macros: Mapping[str, str], where: str) -> str:
    if name not in macros:
        raise RulesError(f"{where}: unknown macro {{{name}}}")
    return macros[name]


def _compile(
    pattern: str, macros: Mapping[str, str], where: str, *, word_start: bool = True
) -> re.Pattern[str]:
    # A phrase starts at the start of a word: saying so up front lets the regex engine skip the
    # positions inside words at once (about twice as fast over all the rules).
    expanded = _expand(pattern, macros, where)
    try:
        return re.compile(f"{_WORD_START}(?:{expanded})" if word_start else expanded)
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern ({exc})") from None


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of strings")
    return value


def _pairs(
    value: Any, macros: Mapping[str, str], where: str, *, word_start: bool = True
) -> tuple[tuple[re.Pattern[str], str], ...]:
    if not isinstance(value, list):
        raise RulesError(f"{where}: expected a list of [pattern, replacement] pairs")
    pairs = []
    for index, pair in enumerate(value):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise RulesError(f"{where}[{index}]: expected [pattern, replacement]")
        pairs.append((_compile(pair[0], macros, f"{where}[{index}]", word_start=word_start), pair[1]))
    return tuple(pairs)


def _rule(raw: Any, macros: Mapping[str, str], index: int) -> _Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise RulesError(f"rules[{index}]: expected a mapping with a name")
    name = raw["name"]
    where = f"rules.{name}"
    try:
        category = SafetyCategory(str(raw.get("category")))
    except ValueError:
        raise RulesError(f"{where}: category must be emergency or crisis") from None
    if category is SafetyCategory.NONE:
        raise RulesError(f"{where}: category must be emergency or crisis")
    tier = raw.get("tier")
    if tier not in TIERS:
        raise RulesError(f"{where}: tier must be one of {', '.join(TIERS)}")
    guards = frozenset(_strings(raw.get("guards", []), f"{where}.guards"))
    if unknown := guards - GUARDS:
        raise RulesError(f"{where}: unknown guard(s) {sorted(unknown)}")
    patterns = _strings(raw.get("patterns"), f"{where}.patterns")
    if not patterns:
        raise RulesError(f"{where}: no patterns")
    combined = "|".join(f"(?:{_expand(p, macros, where)})" for p in patterns)
    requires, unless = raw.get("requires"), raw.get("unless")
    return _Rule(
        name=name,
        category=category,
        tier=TIERS.index(tier),
        pattern=_compile(combined, macros, f"{where}.patterns"),
        guards=guards,
        requires=_compile(requires, macros, f"{where}.requires") if isinstance(requires, str) else None,
        unless=_compile(unless, macros, f"{where}.unless") if isinstance(unless, str) else None,
    )


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def load_model(path: Path = RULES_PATH) -> _Model:
    """Read and compile `rules.yaml`; raises `RulesError` naming what is wrong."""
    # libyaml's loader when the wheel has it (ten times faster at a cold start), else pure Python
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    if not isinstance(data, dict):
        raise RulesError(f"{path.name}: expected a mapping")
    macros = data.get("macros", {})
    if not isinstance(macros, dict) or not all(isinstance(v, str) for v in macros.values()):
        raise RulesError("macros: expected a mapping of names to patterns")
    spellings = data.get("spellings", {})
    if not isinstance(spellings, dict) or not all(isinstance(v, str) for v in spellings.values()):
        raise RulesError("spellings: expected a mapping of words to words")
    fuzzy = data.get("fuzzy", {})
    fuzzy_words = frozenset(_strings(fuzzy.get("words", []), "fuzzy.words"))
    index: dict[str, set[str]] = {}
    for word in fuzzy_words:
        for key in {word} | _deletions(word):
            index.setdefault(key, set()).add(word)
    cues_raw = data.get("cues", {})
    if not isinstance(cues_raw, dict) or set(cues_raw) != set(_CUE_CLASSES):
        raise RulesError(f"cues: expected exactly {', '.join(_CUE_CLASSES)}")
    cues = {name: _compile(pattern, macros, f"cues.{name}") for name, pattern in cues_raw.items()}
    look_alikes = _strings(data.get("look_alikes", []), "look_alikes")
    rules_raw = data.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise RulesError("rules: expected a list")
    rules = tuple(_rule(raw, macros, i) for i, raw in enumerate(rules_raw))
    if len({r.name for r in rules}) != len(rules):
        raise RulesError("rules: two rules share a name")
    return _Model(
        # before normalization: an emoji may follow a letter ("haha😂")
        raw_rewrites=_pairs(data.get("raw_rewrites", []), macros, "raw_rewrites", word_start=False),
        rewrites=_pairs(data.get("rewrites", []), macros, "rewrites"),
        spellings={str(k): v for k, v in spellings.items()},
        fuzzy_words=fuzzy_words,
        fuzzy_index={k: frozenset(v) for k, v in index.items()},
        real_words=frozenset(_strings(fuzzy.get("real_words", []), "fuzzy.real_words")),
        look_alikes=_compile("|".join(f"(?:{p})" for p in look_alikes), macros, "look_alikes"),
        cues=cues,
        rules=rules,
    )


@cache
def _model() -> _Model:
    return load_model()


# ------------------------------------------------------------------------------------ reading


def _one_slip(a: str, b: str) -> bool:
    """True when `a` becomes `b` by one added, dropped or changed letter, or two swapped ones."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(long_) - len(short) == 1 and short in _deletions(long_)


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    model = _model()
    if word in model.spellings:
        return model.spellings[word]
    if len(word) < _MIN_FUZZY or word in model.fuzzy_words or word in model.real_words or not word.isalpha():
        return word
    candidates: set[str] = set()
    for key in {word} | _deletions(word):
        candidates |= model.fuzzy_index.get(key, frozenset())
    matches = sorted(c for c in candidates if _one_slip(word, c))
    # ambiguous slips ("seizurs": seizure or seizures) still name one key word: take the first
    return matches[0] if matches else word


def normalize(text: str) -> str:
    """The text as the rules read it: see the module docstring (step 1)."""
    model = _model()
    lowered = text.lower()
    for pattern, replacement in model.raw_rewrites:
        lowered = pattern.sub(replacement, lowered)
    lowered = lowered.replace("'", "").replace("\u2019", "").replace("`", "")
    marked = _PUNCTUATION.sub(f" {_BOUNDARY} ", lowered)
    words = _NOT_WORD.sub(" ", marked).split()
    # one boundary at a time, none at either end
    tokens: list[str] = []
    for word in words:
        if word == _BOUNDARY and (not tokens or tokens[-1] == _BOUNDARY):
            continue
        tokens.append(word)
    while tokens and tokens[-1] == _BOUNDARY:
        tokens.pop()
    joined = " ".join(tokens)
    for pattern, replacement in model.rewrites:
        joined = pattern.sub(replacement, joined)
    return " ".join(_corrected(word) for word in joined.split())


def _blank_look_alikes(text: str, model: _Model) -> str:
    return model.look_alikes.sub(lambda m: " ".join(_BLANK for _ in m.group().split()), text)


@dataclass(frozen=True)
class _Reading:
    """A normalized, blanked message with its clauses and cues, ready for the rules."""

    text: str
    tokens: tuple[str, ...]
    starts: tuple[int, ...]  # character offset of each token
    clause: tuple[int, ...]  # per token: clause number (punctuation and clause words)
    phrase: tuple[int, ...]  # per token: finer clause for negation (also new subjects)
    spans: tuple[tuple[int, int], ...]  # per clause number: its characters in `text`
    cues: Mapping[str, tuple[tuple[int, int], ...]]  # cue class -> (first token, last token)

    def token_at(self, offset: int) -> int:
        return _token_at(self.starts, offset)


def _read(text: str, model: _Model) -> _Reading:
    normalized = normalize(text)
    blanked = _blank_look_alikes(normalized, model)
    tokens = tuple(blanked.split(" ")) if blanked else ()
    starts = _starts(tokens)
    clause: list[int] = []
    phrase: list[int] = []
    current = fine = 0
    for i, token in enumerate(tokens):
        if token == _BOUNDARY or token in _CLAUSE_WORDS:
            current += 1
            fine += 1
        elif i and (
            token in _SUBJECT_WORDS or (token in _POSSESSIVES and tokens[i - 1] not in _POSSESSIVE_BINDERS)
        ):
            fine += 1
        clause.append(current)
        phrase.append(fine)
    spans = _clause_spans(tokens, clause, starts)
    # Negation is read after blanking (the "no" of a look-alike negates nothing); the other cues
    # before it ("at my last blood draw" dates a faint even though "blood draw" is a look-alike).
    # Blanking keeps the words in place, so token numbers agree; character offsets do not.
    unblanked_starts = _starts(normalized.split(" ") if normalized else [])
    cues: dict[str, tuple[tuple[int, int], ...]] = {}
    for name, pattern in model.cues.items():
        text, offsets = (blanked, starts) if name == "negation" else (normalized, unblanked_starts)
        cues[name] = tuple(
            (_token_at(offsets, m.start()), _token_at(offsets, max(m.start(), m.end() - 1)))
            for m in pattern.finditer(text)
        )
    return _Reading(blanked, tokens, tuple(starts), tuple(clause), tuple(phrase), spans, cues)


def _starts(tokens: Sequence[str]) -> list[int]:
    starts: list[int] = []
    offset = 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return starts


def _token_at(starts: Sequence[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1


def _clause_spans(
    tokens: Sequence[str], clause: Sequence[int], starts: Sequence[int]
) -> tuple[tuple[int, int], ...]:
    """Per clause number: its (first character, end character) in the text."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, number in enumerate(clause):
        first.setdefault(number, starts[i])
        last[number] = starts[i] + len(tokens[i])
    return tuple((first.get(n, 0), last.get(n, 0)) for n in range(clause[-1] + 1 if clause else 0))


def _now_in(reading: _Reading, clause: int) -> bool:
    resolved = reading.cues["resolved"]
    return any(
        reading.clause[first] == clause and not any(r0 <= first <= r1 for r0, r1 in resolved)
        for first, _ in reading.cues["now"]
    )


def _past_carries_into(reading: _Reading, clause: int) -> bool:
    """A dated clause carries into the next one when that one is told in the past tense too.

    "last winter I had pneumonia and couldn't breathe": the second clause is still last winter.
    It carries one clause only, and never into a clause that says it is happening now.
    """
    cues = reading.cues
    return (
        clause > 0
        and any(reading.clause[first] == clause for first, _ in cues["past_tense"])
        and any(reading.clause[first] == clause - 1 for first, _ in cues["past"])
        and not _now_in(reading, clause - 1)
        and not _now_in(reading, clause)
    )


def _stopped_by(rule: _Rule, reading: _Reading, start: int, end: int) -> str | None:
    """The first guard that stops a match spanning tokens start..end, or None when it counts."""
    clause = reading.clause[start]
    cues = reading.cues
    if rule.unless is not None:
        # this clause and the one before it: "I cut myself | shaving", "fall asleep | and not wake up"
        lo, hi = reading.spans[max(clause - 1, 0)][0], reading.spans[clause][1]
        if rule.unless.search(reading.text, lo, hi):
            return "unless"
    if "negation" in rule.guards and any(
        start - NEGATION_REACH <= first < start and reading.phrase[first] == reading.phrase[start]
        for first, _ in cues["negation"]
    ):
        return "negation"
    if "hypothetical" in rule.guards and any(
        first < start and reading.clause[first] == clause for first, _ in cues["hypothetical"]
    ):
        return "hypothetical"
    if "past" in rule.guards and not any(first > start for first, _ in cues["recurrence"]):
        if any(start - ANCHOR_REACH <= last < start for _, last in cues["anchor"]):
            return "past"
        if any(reading.clause[first] == clause for first, _ in cues["past"]) and not _now_in(reading, clause):
            return "past"
        if _past_carries_into(reading, clause):
            return "past"
    if (
        "admin" in rule.guards
        and any(reading.phrase[first] == reading.phrase[start] for first, _ in cues["admin"])
        and not _now_in(reading, clause)
    ):
        return "admin"
    if "resolved" in rule.guards and any(
        # the same clause, or the next one ("trouble breathing for a day, now fine": the comma and
        # the clause word "now" make two boundaries)
        first > end and clause <= reading.clause[first] <= clause + 2
        for first, _ in cues["resolved"]
    ):
        return "resolved"
    if "chronic" in rule.guards and any(reading.clause[first] == clause for first, _ in cues["chronic"]):
        return "chronic"
    if "humor" in rule.guards and cues["humor"]:
        return "humor"
    return None


def _findings(reading: _Reading, model: _Model) -> list[Finding]:
    found: list[Finding] = []
    for rule in model.rules:
        if rule.requires is not None and not rule.requires.search(reading.text):
            continue
        first_stop: str | None = None
        fired = False
        for match in rule.pattern.finditer(reading.text):
            start = reading.token_at(match.start())
            end = reading.token_at(max(match.start(), match.end() - 1))
            stop = _stopped_by(rule, reading, start, end)
            if stop is None:
                fired = True
                break
            first_stop = first_stop or stop
        if fired:
            found.append(Finding(rule.name, rule.category, True))
        elif first_stop is not None:
            found.append(Finding(rule.name, rule.category, False, first_stop))
    return found


def _decide(fired: Sequence[_Rule]) -> SafetyResult:
    """The category from the rules that fired (module docstring, step 4)."""
    if not fired:
        return SafetyResult(SafetyCategory.NONE)

    def rank(rule: _Rule) -> tuple[int, int]:
        # attempt / specific emergency, then any crisis, then a general emergency cue
        if rule.category is SafetyCategory.CRISIS:
            return (1, rule.tier)
        return (0, rule.tier) if rule.tier < TIERS.index("general") else (2, rule.tier)

    ordered = sorted(fired, key=rank)
    return SafetyResult(
        category=ordered[0].category,
        rule=ordered[0].name,
        rules=tuple(r.name for r in ordered),
        crisis_signal=any(r.category is SafetyCategory.CRISIS for r in fired),
    )


LearningView = tuple[tuple[str, ...], frozenset[str]]


def _learning_view(reading: _Reading) -> LearningView:
    if not reading.text:
        return (), frozenset()
    return reading.tokens, frozenset(name for name, found in reading.cues.items() if found)


def reading_for_learning(text: str) -> LearningView:
    """The message as the rules read it (normalized, look-alikes blanked, clauses marked `|`) and
    the context cue classes found in it: what the second reading (`learned.py`) learns from."""
    return _learning_view(_read(text, _model()))


class RuleScreen:
    """The first reading: `screen(text)` -> emergency, crisis or none, with the rule that decided it.

    `careline.safety.SafetyScreen` adds the second reading (`learned.py`) for what no rule reads."""

    def __init__(self) -> None:
        self._model = _model()
        self._rules = {rule.name: rule for rule in self._model.rules}

    def screen(self, text: str) -> SafetyResult:
        """Screen one message's raw text (any channel: SMS as typed, calls as transcribed)."""
        return self.screen_and_read(text)[0]

    def screen_and_read(self, text: str) -> tuple[SafetyResult, LearningView]:
        """`screen(text)`, and the message as `reading_for_learning` gives it, from one reading:
        the second reading then need not normalize the message again."""
        reading = _read(text, self._model)
        if not reading.text:
            return SafetyResult(SafetyCategory.NONE), _learning_view(reading)
        fired = [self._rules[f.rule] for f in _findings(reading, self._model) if f.fired]
        return _decide(fired), _learning_view(reading)

    def explain(self, text: str) -> list[Finding]:
        """Every rule that matched, and whether it fired or which guard stopped it (names only)."""
        reading = _read(text, self._model)
        return _findings(reading, self._model) if reading.text else []
