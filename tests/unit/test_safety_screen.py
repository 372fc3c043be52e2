"""The first safety screen: fires on emergencies and crises, not on everyday look-alikes."""

from __future__ import annotations

import pytest
from careline.safety import SafetyCategory, SafetyScreen

SCREEN = SafetyScreen()


@pytest.mark.parametrize(
    "text",
    [
        "I have chest pain",
        "CHEST PAIN!!!",
        "my chest feels really tight and heavy",
        "pressure in my chest going down my arm",
        "my wife can't breathe",
        "he is not breathing",
        "i cant brethe",
        "I think dad is having a stroke, his face is drooping",
        "her speech is slurred",
        "my son had a seizure just now",
        "she passed out and won't wake up",
        "he collapsed in the kitchen",
        "bleeding a lot and it won't stop",
        "my toddler swallowed some of the dishwasher pods",
        "allergic reaction, my throat is swelling",
        "I think I'm having a heart attack",
        "this is an emergency",
        "should i call 911",
    ],
)
def test_emergencies_are_flagged(text: str) -> None:
    assert SCREEN.screen(text).category is SafetyCategory.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i want to kil myself",
        "thinking about suicde",
        "I have been feeling suicidal",
        "I want to die",
        "sometimes I wish I was dead",
        "i just want to end it all",
        "I can't go on anymore",
        "there is no reason to live",
        "I've been cutting myself again",
        "my boyfriend hit me and I'm scared",
        "he said he is going to kill me",
        "I'm not safe at home",
        "I want to hurt someone",
        "I took all of my pills",
    ],
)
def test_crises_are_flagged(text: str) -> None:
    assert SCREEN.screen(text).category is SafetyCategory.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to get in this week",
        "refill my nitroglycerin please",
        "no chest pain, just a cough",
        "i am not suicidal, just want to talk about my meds",
        "this traffic is killing me, running late",
        "I walk with a limp since my knee surgery",
        "please update my emergency contact",
        "refill my seizure medication",
        "my father had a stroke in 2019, can he be a new patient",
        "not an emergency but my ear hurts",
        "what are your hours",
        "can I book a physical",
        "",
        "!!!",
    ],
)
def test_look_alikes_do_not_fire(text: str) -> None:
    assert SCREEN.screen(text).category is SafetyCategory.NONE


def test_the_rule_name_is_reported_and_holds_no_patient_words() -> None:
    result = SCREEN.screen("Maria has crushing chest pressure")
    assert result.flagged
    assert result.rule == "chest_pain"


def test_crisis_wins_when_both_fire() -> None:
    assert SCREEN.screen("my chest hurts and I want to die").category is SafetyCategory.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "I took too many pills",
        "my son swallowed way too many of his tablets",
        "i think i had too much insulin, shaky",
    ],
)
def test_taking_too_many_pills_is_an_emergency(text: str) -> None:
    assert SafetyScreen().screen(text).category is SafetyCategory.EMERGENCY


@pytest.mark.parametrize(
    "text", ["do i take too many pills? can someone review my meds", "I have too many pills left over"]
)
def test_talk_about_how_many_pills_is_not_an_overdose(text: str) -> None:
    assert SafetyScreen().screen(text).category is SafetyCategory.NONE
