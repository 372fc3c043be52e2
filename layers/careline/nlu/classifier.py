"""A small, fast, local intent classifier built from `bot_model.yaml`.

Runs inside Lambda with no network and no model download: the bot model is read once (lazily, on
first use) and each message is scored by (a) the intent keywords it contains and (b) its nearest
sample utterance (TF-IDF cosine over words and word pairs). SMS shorthand and misspellings are
rewritten first, and unknown words are matched to the closest word the model knows. Phone calls
arrive as speech recognition (ASR) text, which splits words ("a point meant") and writes
homophones ("what are your ours"): split words are joined back and known mishearings rewritten
before that. Words a patient negates ("I don't need a refill, I need to reschedule") count for
nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from difflib import SequenceMatcher, get_close_matches
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import yaml

BOT_MODEL_PATH: Final = Path(__file__).with_name("bot_model.yaml")

INTENTS: Final = (
    "appointment_book",
    "appointment_reschedule",
    "appointment_cancel",
    "appointment_confirm",
    "appointment_status",
    "waitlist_join",
    "refill_request",
    "billing_question",
    "insurance_question",
    "practice_info",
    "clinical_question",
    "speak_to_human",
    "greeting",
    "goodbye",
    "out_of_scope",
)

# Below this, the message is not understood (the engine asks once, then offers a person).
MIN_CONFIDENCE: Final = 0.3
_KEYWORD_WEIGHT: Final = 0.45
_SIMILARITY_WEIGHT: Final = 0.55
# Small talk ("hi", "thanks") gives way to a specific intent only when that intent scores at least
# this share of the small talk's score: "hi, can I book?" is a booking, "thank you!" is not a
# confirmation just because a confirmation sample ends in "thank you".
_SMALLTALK_YIELD: Final = 0.6
# Each keyword beyond the strongest adds this share of its own strength.
_SUPPORTING_HITS: Final = 0.25
# A negated phrase reaches this many words at most, and stops early at a clause boundary.
_NEGATION_REACH: Final = 4
# Speech recognition splits one word into at most this many ("a point meant"), and a word it
# splits is at least this long: shorter words ("to", "care") are left as they are.
_MAX_SPLIT: Final = 3
_MIN_JOINED: Final = 5
# A joined string becomes a model word when it is spelled almost the same (this close, by
# difflib's ratio), or sounds the same (`_sound`) and is spelled at least this much alike.
_JOIN_SPELLING_CUTOFF: Final = 0.88
_JOIN_SOUND_CUTOFF: Final = 0.6


@dataclass(frozen=True)
class Interpretation:
    """What a message asks for. `entities` holds non-PHI slots, e.g. {"topic": "hours", "period": "week"}.

    For the hours topic, `period` is one of:
      "week"      more than one day ("this week", "the weekend", "monday and tuesday")
      "tomorrow"  tomorrow (`days_ahead` "1")
      "day"       one other day, given by `weekday` ("saturday"), `date` ("12-24", month-day),
                  `day_of_month` ("24", from "the 24th") or `days_ahead` ("2")
      "today"     today: said outright (`days_ahead` "0"), or no day the classifier can name,
                  in which case the dialog may still find a holiday or a closure note in the
                  text, since those come from the practice calendar
    """

    intent: str
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)


def _tokens(text: str) -> list[str]:
    lowered = text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", " ", lowered).split()


# How a word sounds, roughly: spellings of one sound made one letter ("sch" "sk", "ph" "f", a soft
# "c" "s"), a silent final "e" dropped, each run of vowels one "a" and doubled letters single.
# "a point meant" and "appointment" both sound "apantmant", "purse in" and "person" "parsan",
# "can sel" and "cancel" "kansal". Deliberately coarse, so it only ever decides between the few
# model words a joined string is already spelled like.
_SOUND_RULES: Final = (
    (re.compile(r"^(?:kn|gn|pn|ps|wr)"), lambda m: m.group()[1]),
    (re.compile(r"^wh"), lambda m: "w"),
    (re.compile(r"(?<=[^aeiouy])e$"), lambda m: ""),
    (re.compile(r"tch"), lambda m: "ch"),
    (re.compile(r"sch"), lambda m: "sk"),
    (re.compile(r"ph"), lambda m: "f"),
    (re.compile(r"ck|q"), lambda m: "k"),
    (re.compile(r"dg"), lambda m: "j"),
    (re.compile(r"(?<=.)[tsc]i(?=[aou])"), lambda m: "X"),
    (re.compile(r"sh|ch"), lambda m: "X"),
    (re.compile(r"th"), lambda m: "0"),
    (re.compile(r"c(?=[eiy])"), lambda m: "s"),
    (re.compile(r"c"), lambda m: "k"),
    (re.compile(r"x"), lambda m: "ks"),
    (re.compile(r"z"), lambda m: "s"),
    (re.compile(r"(?<=.)[hw](?![aeiouy])"), lambda m: ""),
    (re.compile(r"(?<=.)y|[aeiou]"), lambda m: "a"),
    (re.compile(r"(.)\1+"), lambda m: m.group(1)),
)
# A sound match needs this many consonants: "my ear" and "meyer", "mole is" and "miles" sound
# alike too, but too short a word to tell a split word from two words.
_MIN_SOUND_CONSONANTS: Final = 4


def _sound(word: str) -> str:
    """A rough phonetic key for `word` (lower-case letters), see `_SOUND_RULES`."""
    key = word
    for pattern, replace in _SOUND_RULES:
        key = pattern.sub(replace, key)
    return key


def _spelling(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


# Punctuation that ends a clause: a negation never reaches past it ("not a refill, I need ...").
_CLAUSE_BREAK: Final = re.compile(r"[,;!?]|\.(?!\d)| - ")


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(tokens[i : i + n]) == list(phrase) for i in range(len(tokens) - n + 1))


def _phrase_starts(tokens: Sequence[str], longest: int) -> dict[tuple[str, ...], list[int]]:
    """Every run of up to `longest` words in `tokens`, with the positions where it starts."""
    starts: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(tokens)):
        for n in range(1, min(longest, len(tokens) - i) + 1):
            starts.setdefault(tuple(tokens[i : i + n]), []).append(i)
    return starts


def _keyword_strength(
    phrase: tuple[str, ...], intent: str, samples: Mapping[str, Sequence[Set[tuple[str, ...]]]]
) -> float:
    """How strongly `phrase` points to `intent`, in (0, 1]; `samples` holds each sample's phrases.

    A longer phrase is stronger evidence than a single word ("cancel my appointment" beats
    "appointment"), and a phrase the other intents' samples also use is weaker: "appointment"
    appears in booking, cancelling and confirming alike, "cancel" almost only in cancelling.
    """
    by_length = min(1.0, 0.6 + 0.15 * len(phrase))
    own = sum(1 for phrases in samples[intent] if phrase in phrases)
    everywhere = sum(1 for group in samples.values() for phrases in group if phrase in phrases)
    specificity = (own + 1) / (everywhere + 1)
    return by_length * (0.5 + 0.5 * specificity)


def _keyword_score(strengths: Sequence[float]) -> float:
    """Keyword evidence in [0, 1]: the strongest keyword counts most, each other one a little.

    Several generic words that every appointment message shares must not outweigh one phrase
    that names what the patient wants.
    """
    if not strengths:
        return 0.0
    ranked = sorted(strengths, reverse=True)
    return min(1.0, ranked[0] + _SUPPORTING_HITS * sum(ranked[1:]))


def _affirms(
    starts: Mapping[tuple[str, ...], Sequence[int]], phrase: tuple[str, ...], negated: Set[int]
) -> bool:
    """`phrase` occurs at least once where its first word is not negated (`starts`: `_phrase_starts`)."""
    return any(i not in negated for i in starts.get(phrase, ()))


# "12/24" or "12/24/26": month first, as US patients write it; a dash is left alone because
# "open 8-5?" is hours, not a date.
_SLASH_DATE: Final = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(?:\d{4}|\d{2}))?(?![\d/])")
_DAY_NUMBER: Final = re.compile(r"^(\d{1,2})(st|nd|rd|th)?$")
# days in each month of a leap year: Feb 29 is a date; the dialog finds the year it falls in
_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(month: int, day: int) -> str | None:
    """ "MM-DD" when `month`/`day` is a calendar date, else None (so "2/30" is no date at all)."""
    if 1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1]:
        return f"{month:02d}-{day:02d}"
    return None


def _features(tokens: Sequence[str]) -> Counter[str]:
    feats = Counter(tokens)
    feats.update(f"{a} {b}" for a, b in pairwise(tokens))
    return feats


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def _cosine(a: Mapping[str, float], a_norm: float, b: Mapping[str, float], b_norm: float) -> float:
    if not a_norm or not b_norm:
        return 0.0
    return sum(v * b.get(k, 0.0) for k, v in a.items()) / (a_norm * b_norm)


@dataclass(frozen=True)
class _Intent:
    name: str
    # each keyword phrase with its strength in (0, 1]
    keywords: tuple[tuple[tuple[str, ...], float], ...]
    # each sample utterance as a TF-IDF vector and its norm, computed once
    utterances: tuple[tuple[dict[str, float], float], ...]
    smalltalk: bool


class LocalClassifier:
    """The classifier for one bot model. `classify(text)` is pure and takes about a millisecond."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self._shorthand: dict[str, list[str]] = {
            str(k).lower(): str(v).lower().split() for k, v in (model.get("shorthand") or {}).items()
        }
        raw_intents: Mapping[str, Any] = model["intents"]
        unknown = set(raw_intents) - set(INTENTS)
        missing = set(INTENTS) - set(raw_intents)
        if unknown or missing:
            raise ValueError(
                f"bot model intents differ from the label set: +{sorted(unknown)} -{sorted(missing)}"
            )
        # vocabulary before normalization of the samples, so fuzzy matching targets model words
        self._vocab: set[str] = set()
        for spec in raw_intents.values():
            for phrase in [*spec.get("keywords", []), *spec.get("utterances", [])]:
                self._vocab.update(_tokens(str(phrase)))
        for words in (model.get("topics") or {}).values():
            for phrase in words:
                self._vocab.update(_tokens(str(phrase)))
        self._vocab.update(w for words in self._shorthand.values() for w in words)
        # the negation's words are model words too: "calling" (of "not calling about") is not a
        # typo of "cancelling", and "i'm calling about my appointment" is no cancellation
        negation = model.get("negation") or {}
        for phrase in [*negation.get("cues", []), *negation.get("stops", [])]:
            self._vocab.update(_tokens(str(phrase)))
        speech = model.get("speech") or {}
        self._heard_as: dict[tuple[str, ...], list[str]] = {
            tuple(_tokens(str(k))): _tokens(str(v)) for k, v in (speech.get("heard_as") or {}).items()
        }
        self._heard_as.pop((), None)
        self._longest_heard = max((len(k) for k in self._heard_as), default=0)
        self._vocab.update(w for words in self._heard_as.values() for w in words)
        self._keep_apart = frozenset(str(word).lower() for word in speech.get("keep_apart") or [])
        # day words stay themselves: "sept" must not snap to "set", nor "days" to "day" (which
        # would make "open on labor day" a question about the whole week)
        day_words = [*(model.get("week_words") or []), *(model.get("relative_days") or {})]
        for phrase in [*day_words, *(model.get("months") or {})]:
            self._vocab.update(_tokens(str(phrase)))
        self._vocab_by_initial: dict[str, list[str]] = {}
        for word in sorted(self._vocab):
            self._vocab_by_initial.setdefault(word[0], []).append(word)
        # what a split word may be joined back into: a model word, long enough to be split
        self._join_by_initial: dict[str, list[str]] = {}
        self._join_by_sound: dict[str, list[str]] = {}
        for word in sorted(self._vocab):
            if len(word) >= _MIN_JOINED and word.isalpha():
                self._join_by_initial.setdefault(word[0], []).append(word)
                self._join_by_sound.setdefault(_sound(word), []).append(word)
        self._negation_cues = tuple(
            tuple(_tokens(str(cue))) for cue in negation.get("cues", []) if _tokens(str(cue))
        )
        self._negation_stops = frozenset(str(word).lower() for word in negation.get("stops", []))

        sample_words = {
            name: [self.normalize(str(u)) for u in raw_intents[name].get("utterances", [])]
            for name in INTENTS
        }
        keyword_phrases = {
            name: [
                p for p in (tuple(self.normalize(str(k))) for k in raw_intents[name].get("keywords", [])) if p
            ]
            for name in INTENTS
        }
        self._longest_keyword = max((len(p) for ps in keyword_phrases.values() for p in ps), default=1)
        sample_phrases = {
            name: [set(_phrase_starts(words, self._longest_keyword)) for words in sample_words[name]]
            for name in INTENTS
        }

        # inverse document frequency over all sample utterances
        docs = [_features(words) for name in INTENTS for words in sample_words[name]]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        self._idf = {f: math.log((1 + len(docs)) / (1 + n)) + 1.0 for f, n in df.items()}
        self._default_idf = math.log(1 + len(docs)) + 1.0

        self._intents: list[_Intent] = []
        for name in INTENTS:
            keywords = tuple((k, _keyword_strength(k, name, sample_phrases)) for k in keyword_phrases[name])
            vectors = (self._vector(_features(words)) for words in sample_words[name])
            utterances = tuple((v, _norm(v)) for v in vectors)
            smalltalk = bool(raw_intents[name].get("smalltalk"))
            self._intents.append(_Intent(name, keywords, utterances, smalltalk))
        self._topics = {
            topic: tuple(tuple(self.normalize(str(p))) for p in phrases)
            for topic, phrases in (model.get("topics") or {}).items()
        }
        self._weekdays = tuple(str(d) for d in model.get("weekdays") or [])
        self._week_words = tuple(tuple(self.normalize(str(p))) for p in model.get("week_words") or [])
        relative = (model.get("relative_days") or {}).items()
        self._relative_days = sorted(
            ((tuple(self.normalize(str(p))), int(n)) for p, n in relative), key=lambda pn: -len(pn[0])
        )
        self._months: dict[str, int] = {
            str(k).lower(): int(v) for k, v in (model.get("months") or {}).items()
        }
        self._month_names = sorted(name for name in self._months if len(name) >= 5)

    def normalize(self, text: str) -> list[str]:
        """Lower-case words with shorthand expanded and unknown words snapped to the model's vocabulary.

        Speech recognition text is mended first: known mishearings rewritten (`_rehear`), and words
        it split joined back (`_rejoin`).
        """
        out: list[str] = []
        for token in self._rejoin(self._rehear(_tokens(text))):
            if token in self._shorthand:
                out.extend(self._shorthand[token])
            elif token in self._vocab or len(token) < 4 or token.isdigit():
                out.append(token)
            else:
                out.append(self._snap(token))
        return out

    def _rehear(self, tokens: list[str]) -> list[str]:
        """`tokens` with the model's `speech.heard_as` phrases rewritten, the longest phrase first."""
        if not self._heard_as:
            return tokens
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._longest_heard, len(tokens) - i), 0, -1):
                heard = self._heard_as.get(tuple(tokens[i : i + n]))
                if heard is not None:
                    out.extend(heard)
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _fragment(self, token: str) -> bool:
        """`token` may be a piece of a word speech recognition split: a word the model does not know."""
        return token not in self._vocab and token not in self._shorthand and token not in self._keep_apart

    def _rejoin(self, tokens: list[str]) -> list[str]:
        """`tokens` with runs of 2-3 words that speech recognition split from one model word joined.

        "re skedule my a point meant" is "reschedule my appointment". A run is joined only if one of
        its words is unknown to the model (so "can sell", two real words, stays) and the joined
        string is, or is spelled and sounds like, a model word (`_joined`). Where runs overlap
        ("the re schedule": "there" or "reschedule"), the one explaining more letters wins.
        """
        if not any(self._fragment(t) for t in tokens):
            return tokens
        found: list[tuple[float, int, int, str]] = []
        for i in range(len(tokens)):
            for n in range(2, min(_MAX_SPLIT, len(tokens) - i) + 1):
                pieces = tokens[i : i + n]
                if not all(p.isalpha() and p not in self._keep_apart for p in pieces):
                    break
                if not any(self._fragment(p) for p in pieces):
                    continue
                joined = self._joined(pieces)
                if joined is not None:
                    word, similarity = joined
                    found.append((-similarity * len(word), i, n, word))
        if not found:
            return tokens
        taken: dict[int, tuple[int, str]] = {}
        used: set[int] = set()
        for _, i, n, word in sorted(found):
            if used.isdisjoint(range(i, i + n)):
                taken[i] = (n, word)
                used.update(range(i, i + n))
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if i in taken:
                n, word = taken[i]
                out.append(word)
                i += n
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _joined(self, pieces: Sequence[str]) -> tuple[str, float] | None:
        """The model word `pieces` spell when joined, with how alike they are spelled; None if none.

        Every piece must count: dropping the first or the last piece may not match the word as
        well, so "insurnce a" is a typo and a word ("insurance a"), not one split word.
        """
        joined = "".join(pieces)
        if len(joined) < _MIN_JOINED:
            return None
        if joined in self._vocab:
            return joined, 1.0
        sound = _sound(joined)
        sounds_alike: Sequence[str] = ()
        if len(sound.replace("a", "")) >= _MIN_SOUND_CONSONANTS:
            sounds_alike = self._join_by_sound.get(sound, ())
        candidates = set(sounds_alike)
        # spelled alike only: every piece unknown ("ree fill"), else "need us" would be "needs"
        if all(self._fragment(p) for p in pieces):
            candidates.update(
                get_close_matches(
                    joined, self._join_by_initial.get(joined[0], []), n=3, cutoff=_JOIN_SPELLING_CUTOFF
                )
            )
        best: tuple[str, float] | None = None
        for word in sorted(candidates):
            similarity = _spelling(joined, word)
            if similarity < (_JOIN_SOUND_CUTOFF if word in sounds_alike else _JOIN_SPELLING_CUTOFF):
                continue
            shorter = ("".join(pieces[1:]), "".join(pieces[:-1]))
            if any(_spelling(part, word) >= similarity for part in shorter):
                continue
            if best is None or similarity > best[1]:
                best = (word, similarity)
        return best

    def _snap(self, token: str) -> str:
        # Typos rarely change the first letter, while real words one letter apart often do:
        # "killing" is not "billing", "getting" is not "greetings", "uber" is not "number".
        cutoff = 0.8 if len(token) < 7 else 0.75
        candidates = self._vocab_by_initial.get(token[0], [])
        close = get_close_matches(token, candidates, n=1, cutoff=cutoff)
        return close[0] if close else token

    def _clauses(self, text: str) -> list[list[str]]:
        """`normalize(text)` split at clause punctuation; joined, the clauses are `normalize(text)`."""
        return [self.normalize(part) for part in _CLAUSE_BREAK.split(text)]

    def _negated(self, clauses: Sequence[Sequence[str]]) -> set[int]:
        """Positions (in the joined clauses) of words the patient says they do not want.

        "I don't need a refill, I need to reschedule": "a refill" is negated, so it is no evidence
        for refill_request. The negation ends at the clause's end, after a few words, or at a word
        that starts what the patient does want ("i", "but", "just").
        """
        negated: set[int] = set()
        offset = 0
        for clause in clauses:
            for cue in self._negation_cues:
                n = len(cue)
                for start in range(len(clause) - n + 1):
                    if tuple(clause[start : start + n]) != cue:
                        continue
                    for i in range(start + n, min(len(clause), start + n + _NEGATION_REACH)):
                        if clause[i] in self._negation_stops:
                            break
                        negated.add(offset + i)
            offset += len(clause)
        return negated

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        return {f: c * self._idf.get(f, self._default_idf) for f, c in feats.items()}

    def _scores(self, tokens: list[str], negated: frozenset[int] = frozenset()) -> dict[str, float]:
        # negated words are neither keywords nor part of the sentence compared with the samples
        query = self._vector(_features([t for i, t in enumerate(tokens) if i not in negated]))
        query_norm = _norm(query)
        starts = _phrase_starts(tokens, self._longest_keyword)
        whole = tuple(tokens)
        scores: dict[str, float] = {}
        for intent in self._intents:
            keyword_score = _keyword_score(
                # a message that is nothing but the keyword ("refill", "representative") is sure
                [1.0 if k == whole else w for k, w in intent.keywords if _affirms(starts, k, negated)]
            )
            similarity = max(
                (_cosine(query, query_norm, vector, norm) for vector, norm in intent.utterances), default=0.0
            )
            scores[intent.name] = _KEYWORD_WEIGHT * keyword_score + _SIMILARITY_WEIGHT * similarity
        return scores

    def classify(self, text: str) -> Interpretation:
        """The most likely intent of `text`, a confidence in [0, 1], and entities for practice_info."""
        clauses = self._clauses(text)
        tokens = [t for clause in clauses for t in clause]
        if not tokens:
            return Interpretation("out_of_scope", 0.0)
        scores = self._scores(tokens, frozenset(self._negated(clauses)))
        smalltalk = {i.name for i in self._intents if i.smalltalk}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, best_score = ranked[0]
        # "hi, can I book?" is a booking: small talk wins only when nothing specific is asked
        if best in smalltalk:
            specific = [(n, s) for n, s in ranked if n not in smalltalk and n != "out_of_scope"]
            if specific and specific[0][1] >= max(MIN_CONFIDENCE, _SMALLTALK_YIELD * best_score):
                best, best_score = specific[0]
        if best_score < MIN_CONFIDENCE:
            return Interpretation("out_of_scope", round(best_score, 3))
        entities = self._practice_entities(tokens, text) if best == "practice_info" else {}
        return Interpretation(best, round(min(1.0, best_score), 3), entities)

    def _practice_entities(self, tokens: list[str], text: str) -> dict[str, str]:
        best_topic, best_hits = "hours", 0.0
        for topic, phrases in self._topics.items():
            hits = sum(len(p) for p in phrases if p and _contains(tokens, p))
            if hits > best_hits:
                best_topic, best_hits = topic, hits
        entities = {"topic": best_topic}
        if best_topic == "hours":
            entities.update(self._day_entities(tokens, text))
        return entities

    def _day_entities(self, tokens: list[str], text: str) -> dict[str, str]:
        """Which day an hours question is about (see `Interpretation`); no clock is read here."""
        named = sorted({day for day in self._weekdays if day in tokens})
        if len(named) > 1 or any(p and _contains(tokens, p) for p in self._week_words):
            return {"period": "week"}
        month_day = self._date(text)
        if month_day is not None:
            return {"period": "day", "date": month_day}
        day_of_month = self._day_of_month(text)
        if day_of_month is not None:
            return {"period": "day", "day_of_month": day_of_month}
        for phrase, ahead in self._relative_days:
            if phrase and _contains(tokens, phrase):
                period = {0: "today", 1: "tomorrow"}.get(ahead, "day")
                return {"period": period, "days_ahead": str(ahead)}
        if named:
            # "open late on thursdays?" asked on a Thursday is about today: the dialog decides
            return {"period": "day", "weekday": named[0]}
        return {"period": "today"}

    def _month(self, word: str) -> int | None:
        if word in self._months:
            return self._months[word]
        if len(word) < 5:
            return None
        close = get_close_matches(word, self._month_names, n=1, cutoff=0.8)
        return self._months[close[0]] if close else None

    def _date(self, text: str) -> str | None:
        """A month and day: "dec 24", "december 24th", "24th of december", "12/24"."""
        slash = _SLASH_DATE.search(text)
        if slash:
            return _month_day(int(slash.group(1)), int(slash.group(2)))
        # raw words: shorthand would read "dec 2" as "dec to"
        words = _tokens(text)
        for i, word in enumerate(words):
            month = self._month(word)
            if month is None:
                continue
            after = words[i + 1 : i + 3]
            if after and after[0] == "the":
                after = after[1:]
            before = words[max(0, i - 2) : i]
            if before and before[-1] == "of":
                before = before[:-1]
            for candidate in (after[:1], before[-1:]):
                number = _DAY_NUMBER.match(candidate[0]) if candidate else None
                if number:
                    return _month_day(month, int(number.group(1)))
        return None

    @staticmethod
    def _day_of_month(text: str) -> str | None:
        """A day of the month with no month: "the 24th" (an ordinal, so "the 2 of us" is no date)."""
        words = _tokens(text)
        for before, word in pairwise(words):
            number = _DAY_NUMBER.match(word)
            if before == "the" and number and number.group(2) and 1 <= int(number.group(1)) <= 31:
                return str(int(number.group(1)))
        return None


@cache
def default_classifier() -> LocalClassifier:
    """The classifier for the packaged bot model, built once per process."""
    model = yaml.safe_load(BOT_MODEL_PATH.read_text(encoding="utf-8"))
    return LocalClassifier(model)


def classify(text: str) -> Interpretation:
    """Classify one message with the packaged bot model."""
    return default_classifier().classify(text)


_YES: Final = frozenset(
    {
        "yes",
        "y",
        "yeah",
        "yea",
        "yep",
        "yup",
        "ya",
        "sure",
        "ok",
        "okay",
        "k",
        "please",
        "yes please",
        "si",
        "ok please",
    }
)
_NO: Final = frozenset(
    {"no", "n", "nope", "nah", "no thanks", "no thank you", "not now", "nevermind", "never mind"}
)


def parse_yes_no(text: str) -> bool | None:
    """True for a yes ("YES", "yeah!", "sure"), False for a no, None for anything else."""
    phrase = " ".join(_tokens(text))
    if phrase in _YES:
        return True
    if phrase in _NO:
        return False
    return None
