"""Replies to appointment reminders are not a crisis; "make it" as surviving still is.

Reminders ("... your visit Thu Jun 11 at 10am. Reply C to confirm, R to reschedule, X to cancel")
draw replies such as "won't make it tomorrow", which the second reading once flagged as a crisis:
it had seen "not going to make it" only in goodbyes. `data/safety/routine_visit_replies.jsonl`
taught it the everyday sense, and `rules.yaml` holds both sides of the phrase as categories: a
look-alike for "make it" with a visit, a day or a time as its object, and `finality` patterns for
"make it" through the night, to morning, much longer, out of this.

The first lists are the replies that were flagged in the field; the others were written for this
test and are not in any training file, so they check the categories rather than the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from careline.safety import RuleScreen, SafetyCategory, SafetyScreen
from careline.safety.screen import normalize, reading_for_learning

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "data" / "safety"

SCREEN = SafetyScreen()
RULES = RuleScreen()

# flagged as a crisis (`second_reading`) when reminders first went out
FIELD_REPLIES = [
    "I won't be able to make it",
    "sorry, won't be able to make it",
    "won't make it tomorrow",
    "Not gonna make it sorry",
    "I'm not going to make it to my appointment",
    "not going to make it",
    "I can't make it",
    "can't make it, something came up",
]

# written for this test, in no training file
MORE_REPLIES = [
    "so sorry, I won't be able to make it to my 10am",
    "wont make it thurs, can u call me to rebook",
    "I'm not going to make it on Thursday",
    "not gonna make it to my check up",
    "Can't make it tomorrow, my car is in the shop",
    "Hi, I'm not going to be able to make it to my appointment",
    "Not making it today sorry",
    "won't be able to make it, please cancel",
    "my son won't be able to make it to his physical",
    "No voy a poder llegar mañana",
    "nah not gonna make it",
]

# "make it" as surviving: a rule reads each of these, so they do not rest on the second reading
SURVIVAL = [
    "I'm not going to make it through the night",
    "I don't think I'll make it till morning",
    "I won't survive past tonight",
    "I doubt I'll make it through this weekend",
    "I'm not going to make it out of this",
    "can't make it another day like this",
    "cancel it, I won't be alive on Thursday",
    # a visit as the object, but a farewell beside it: the look-alike stands back
    "I'm not going to make it to my appointment. Tell my kids I love them",
    "Not going to make it. Please tell the nurse I'm sorry and thank you for everything",
]

# the visit is off, and something dangerous is said beside it
WITH_DANGER = [
    ("not gonna make it to my appt, I'm going to end my life tonight", SafetyCategory.CRISIS),
    ("not going to make it to the appointment, I keep thinking about killing myself", SafetyCategory.CRISIS),
    ("won't make it tomorrow. I took a whole bottle of my sleeping pills", SafetyCategory.EMERGENCY),
    ("won't make it Thursday, I have crushing chest pain right now", SafetyCategory.EMERGENCY),
]


def _corpus_texts() -> set[str]:
    texts: set[str] = set()
    for path in CORPUS.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.add(normalize(json.loads(line)["text"]))
    return texts


def test_the_written_examples_are_in_no_training_file() -> None:
    corpus = _corpus_texts()
    written = MORE_REPLIES + SURVIVAL + [text for text, _ in WITH_DANGER]
    assert [text for text in written if normalize(text) in corpus] == []


@pytest.mark.parametrize("text", FIELD_REPLIES + MORE_REPLIES)
def test_a_reply_to_a_reminder_is_not_flagged(text: str) -> None:
    result = SCREEN.screen(text)
    assert result.category is SafetyCategory.NONE, (text, result.rule)


@pytest.mark.parametrize("text", SURVIVAL)
def test_make_it_as_surviving_is_a_crisis_by_rule(text: str) -> None:
    assert RULES.screen(text).category is SafetyCategory.CRISIS, text
    assert SCREEN.screen(text).category is SafetyCategory.CRISIS, text


@pytest.mark.parametrize(("text", "category"), WITH_DANGER)
def test_danger_beside_a_missed_visit_is_still_caught(text: str, category: SafetyCategory) -> None:
    assert SCREEN.screen(text).category is category, text


def _words_read(text: str) -> tuple[str, ...]:
    return reading_for_learning(text)[0]


def test_the_look_alike_blanks_only_a_visit_day_or_time() -> None:
    # with a visit or a day as its object the phrase is blanked, for the rules and the second
    # reading alike; bare, surviving until a day, or beside a farewell, it is read as written
    assert "make" not in _words_read("I'm not going to make it to my appointment")
    assert "make" not in _words_read("sorry, won't make it thursday")
    assert "make" in _words_read("I'm not going to make it")
    assert "make" in _words_read("I won't make it to Thursday")
    assert "make" in _words_read("I won't make it to my appt, thank you for everything")
    assert "make" in _words_read("Thank you for everything. I won't make it to my appt")
