"""The local intent classifier: the label set, shorthand and typos, practice_info topics, yes/no."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from careline.nlu import INTENTS, classify, parse_yes_no
from careline.nlu.classifier import BOT_MODEL_PATH, LocalClassifier, default_classifier


def test_the_bot_model_defines_exactly_the_label_set() -> None:
    model = yaml.safe_load(BOT_MODEL_PATH.read_text(encoding="utf-8"))
    assert set(model["intents"]) == set(INTENTS)
    for name, spec in model["intents"].items():
        assert spec["description"], name
        assert len(spec["utterances"]) >= 5, name


def test_a_bot_model_missing_an_intent_is_refused() -> None:
    model = yaml.safe_load(BOT_MODEL_PATH.read_text(encoding="utf-8"))
    del model["intents"]["goodbye"]
    with pytest.raises(ValueError, match="goodbye"):
        LocalClassifier(model)


@pytest.mark.parametrize(
    ("text", "topic", "period"),
    [
        ("hrs", "hours", "today"),
        ("wat time r u open", "hours", "today"),
        ("are you open today?", "hours", "today"),
        ("what are your hours this week", "hours", "week"),
        ("r u open sat", "hours", "day"),
        ("are u open tmrw", "hours", "tomorrow"),
        ("open this weekend?", "hours", "week"),
        ("adress", "address", None),
        ("where are you located", "address", None),
        ("wher do i park", "parking", None),
        ("how do i get to your office", "directions", None),
        ("what should I bring to my appt", "what_to_bring", None),
        ("whats ur fax number", "fax", None),
    ],
)
def test_practice_info_topics_through_shorthand_and_typos(text: str, topic: str, period: str | None) -> None:
    result = classify(text)
    assert result.intent == "practice_info"
    assert result.entities.get("topic") == topic
    assert result.entities.get("period") == period


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("are you open today?", {"period": "today", "days_ahead": "0"}),
        ("are you open tomorrow", {"period": "tomorrow", "days_ahead": "1"}),
        ("r u open tmrw?", {"period": "tomorrow", "days_ahead": "1"}),
        ("open the day after tomorrow?", {"period": "day", "days_ahead": "2"}),
        ("when do you open monday", {"period": "day", "weekday": "monday"}),
        ("are you open on saturdays", {"period": "day", "weekday": "saturday"}),
        ("what are your hours dec 24", {"period": "day", "date": "12-24"}),
        ("are you open december 24th?", {"period": "day", "date": "12-24"}),
        ("open on the 24th of december", {"period": "day", "date": "12-24"}),
        ("are you open 12/24", {"period": "day", "date": "12-24"}),
        ("open 1/2/27?", {"period": "day", "date": "01-02"}),
        ("you open dec 2?", {"period": "day", "date": "12-02"}),
        ("you open sept 7?", {"period": "day", "date": "09-07"}),
        ("open decmber 31?", {"period": "day", "date": "12-31"}),
        ("what time do you open on the 3rd", {"period": "day", "day_of_month": "3"}),
        ("hours for monday and tuesday", {"period": "week"}),
        ("what days are you open", {"period": "week"}),
        ("what are your hours this week", {"period": "week"}),
        # names of holidays and closures are the dialog's to resolve, from the practice calendar
        ("open on labor day?", {"period": "today"}),
        ("are you open christmas eve", {"period": "today"}),
        # not dates: an hours range, an impossible day
        ("are you open 8-5", {"period": "today"}),
        ("are you open 2/30", {"period": "today"}),
    ],
)
def test_hours_questions_name_the_day_they_ask_about(text: str, day: dict[str, str]) -> None:
    result = classify(text)
    assert result.intent == "practice_info"
    assert result.entities == {"topic": "hours", **day}


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("where is your st johns clinic", "address"),
        ("parking at hawthorne?", "parking"),
        ("directions to the lombard office", "directions"),
        ("whats the number for the st johns office", "phone"),
        ("fax number for hawthorne", "fax"),
    ],
)
def test_a_named_location_does_not_change_the_topic(text: str, topic: str) -> None:
    result = classify(text)
    assert (result.intent, result.entities) == ("practice_info", {"topic": topic})


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi", "greeting"),
        ("hello there", "greeting"),
        ("thanks bye", "goodbye"),
        ("talk to a person please", "speak_to_human"),
        ("PERSON", "speak_to_human"),
        ("can i make an appt for next week", "appointment_book"),
        ("hi, i need to schedule a checkup", "appointment_book"),
        ("need to resched my appt", "appointment_reschedule"),
        ("cancel my appointment", "appointment_cancel"),
        ("when is my next appointment", "appointment_status"),
        ("i need a refil on my inhaler", "refill_request"),
        ("how much do i owe", "billing_question"),
        ("do u take medicare", "insurance_question"),
        ("is it normal to get a fever after a shot", "clinical_question"),
        ("tell me a joke", "out_of_scope"),
        ("asdfgh qwerty", "out_of_scope"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert classify(text).intent == intent


def test_confidence_is_between_zero_and_one() -> None:
    for text in ("hours", "zzzz", "I want to talk to a real person right now please"):
        assert 0.0 <= classify(text).confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("YES", True),
        ("yes!", True),
        ("Yeah", True),
        ("ok", True),
        ("no", False),
        ("No thanks.", False),
        ("maybe", None),
        ("yes i want to book", None),
    ],
)
def test_yes_no(text: str, answer: bool | None) -> None:
    assert parse_yes_no(text) is answer


def test_classifying_is_fast() -> None:
    classify("warm up")
    start = time.perf_counter()
    for _ in range(100):
        classify("wat time r u open on saturday")
    assert (time.perf_counter() - start) / 100 < 0.01


def test_importing_the_classifier_loads_nothing_heavy() -> None:
    # Lambda cold starts: the module must not pull in AWS libraries or read the model at import
    code = "import sys, careline.nlu; print(any(m.startswith(('boto', 'botocore')) for m in sys.modules))"
    layers = str(Path(__file__).resolve().parents[2] / "layers")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": layers}
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i dont need a refill i need to reschedule", "appointment_reschedule"),
        ("not calling about my appointment, i need my inhaler refilled", "refill_request"),
        ("i don't want to cancel, i want to book another visit for my wife", "appointment_book"),
    ],
)
def test_what_the_patient_says_they_do_not_need_does_not_count(text: str, intent: str) -> None:
    assert classify(text).intent == intent


def test_the_same_words_without_the_negation_still_count() -> None:
    assert classify("i need a refill").intent == "refill_request"


@pytest.mark.parametrize(
    "text",
    ["please cancel my appointment on monday", "we won't need the appointment anymore", "cxl my appt"],
)
def test_cancelling_an_appointment_is_not_an_opt_out(text: str) -> None:
    # the carrier keyword "cancel" opts out only as the whole message (careline.conversation.optout)
    assert classify(text).intent == "appointment_cancel"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("can't make it friday, can we do another day", "appointment_reschedule"),
        ("C", "appointment_confirm"),
        ("c u tomorrow", "appointment_confirm"),
        ("what time is my appt on thursday", "appointment_status"),
    ],
)
def test_the_appointment_intents_are_told_apart(text: str, intent: str) -> None:
    assert classify(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i need an appointment for my rash", "appointment_book"),
        ("can i come in to get my blood pressure checked", "appointment_book"),
        ("is this rash something i should worry about", "clinical_question"),
        ("are my results back", "clinical_question"),
    ],
)
def test_asking_to_be_seen_is_a_booking_and_asking_for_advice_is_clinical(text: str, intent: str) -> None:
    assert classify(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i got charged for a visit my insurance should have paid", "billing_question"),
        ("can i pay my bill by card", "billing_question"),
        ("do you take aetna", "insurance_question"),
        ("is my deductible going to apply", "insurance_question"),
    ],
)
def test_a_bill_is_billing_and_coverage_is_insurance(text: str, intent: str) -> None:
    assert classify(text).intent == intent


def test_thanks_is_a_goodbye_even_though_a_confirmation_sample_says_thank_you() -> None:
    assert classify("thank you!").intent == "goodbye"


def test_typos_snap_to_model_words_but_real_words_are_not_respelled() -> None:
    classifier = default_classifier()
    assert classifier.normalize("insurnce apointment") == ["insurance", "appointment"]
    # close to "billing" and "anything", yet other words: a typo rarely changes the first letter
    assert classifier.normalize("killing wanting") == ["killing", "wanting"]


# Phone calls: speech recognition (ASR) splits words and writes homophones that texting does not.


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("yeah hi i need to make an a point meant for next week", "appointment_book"),
        ("i'd like to book an up pointment with doctor chen", "appointment_book"),
        ("i need to can sel my visit on friday", "appointment_cancel"),
        ("i want to can sell my appointment for tomorrow", "appointment_cancel"),
        ("can i ree schedule my appointment", "appointment_reschedule"),
        ("can i re schedule to the after noon", "appointment_reschedule"),
        ("i need to con firm my appointment for thursday", "appointment_confirm"),
        ("i need a re fill on my in haler", "refill_request"),
        ("can you re new my pre scription", "refill_request"),
        ("let me speak with a re presentative", "speak_to_human"),
        ("i want to speak to a real purse in", "speak_to_human"),
        ("put me through to the recep shun ist", "speak_to_human"),
        ("can you trans fer me to the front desk", "speak_to_human"),
        ("do you accept medic aid", "insurance_question"),
        ("is my in surance accepted", "insurance_question"),
        ("i've had a head ache for two days", "clinical_question"),
    ],
)
def test_words_speech_recognition_split_or_misheard_are_understood(text: str, intent: str) -> None:
    assert classify(text).intent == intent


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("what are your office ours", {"topic": "hours", "period": "today"}),
        ("our you open on satur day", {"topic": "hours", "period": "day", "weekday": "saturday"}),
        ("what time do you clothes today", {"topic": "hours", "period": "today", "days_ahead": "0"}),
        ("wear is your office", {"topic": "address"}),
        ("wear can i park", {"topic": "parking"}),
    ],
)
def test_practice_questions_through_speech_recognition(text: str, entities: dict[str, str]) -> None:
    result = classify(text)
    assert (result.intent, result.entities) == ("practice_info", entities)


@pytest.mark.parametrize(
    ("heard", "words"),
    [
        ("re skedule my up pointment", "reschedule my appointment"),
        ("i need a re newel", "i need a renewal"),
        # where two joins overlap, the one that explains more letters wins: not "there schedule"
        ("the re schedule", "the reschedule"),
        ("bill ing", "billing"),
    ],
)
def test_split_words_are_joined_back(heard: str, words: str) -> None:
    assert default_classifier().normalize(heard) == words.split()


@pytest.mark.parametrize(
    "text",
    [
        # real words side by side stay apart, though joined they would spell a model word
        "is a point of care test available",
        "can i get a check up",
        "is there a co pay",
        "hello is any one there",
        "where can i sell my car",
        # one of them unknown, but too short a word to tell: "miles", "meyer", "throat", "needs"
        "my mole is itchy",
        "my ear hurts",
        "my son got into the rat poison",
        "they need us to call",
        # the model's `speech.keep_apart`: a title and "voice" are not pieces of "forms", "invoice"
        "i need an appointment for ms jones",
        "i left it in voice mail",
        # "ours" and "wear" are rewritten only where they cannot mean themselves
        "that charge is not ours",
        "what should i wear to my physical",
        "our insurance is aetna",
    ],
)
def test_typed_words_are_not_joined_or_reheard(text: str) -> None:
    classifier = default_classifier()
    tokens = text.lower().replace("'", "").split()
    assert classifier._rejoin(classifier._rehear(tokens)) == tokens


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("is a point of care test available", "appointment_book"),
        ("where can i sell my car", "out_of_scope"),
        ("that charge is not ours", "billing_question"),
        ("i need an appointment for ms jones", "appointment_book"),
    ],
)
def test_typed_messages_keep_their_meaning(text: str, intent: str) -> None:
    assert classify(text).intent == intent


def test_a_point_of_care_is_not_an_appointment() -> None:
    text = "is a point of care test available"
    assert default_classifier().normalize(text) == text.split()


def test_a_caller_saying_calling_is_not_cancelling() -> None:
    # "calling" is a model word (the negation cue "not calling about"), not a typo of "cancelling"
    assert "cancelling" not in default_classifier().normalize("hi i'm calling about my appointment tomorrow")
    assert classify("i'm calling about my appointment tomorrow").intent == "appointment_status"
    assert classify("hi this is maria calling about my son").intent != "appointment_cancel"


def test_the_speech_section_is_data_in_the_bot_model() -> None:
    model = yaml.safe_load(BOT_MODEL_PATH.read_text(encoding="utf-8"))
    assert LocalClassifier(model).normalize("what are your ours") == ["what", "are", "your", "hours"]
    model["speech"]["heard_as"]["hole on"] = "hold on"
    assert LocalClassifier(model).normalize("hole on") == ["hold", "on"]
    del model["speech"]
    # without it, the split words are still joined; "ours" is left to the typo snap
    bare = LocalClassifier(model)
    assert bare.normalize("what are your ours") == ["what", "are", "your", "our"]
    assert bare.normalize("a point meant") == ["appointment"]


def test_joining_split_words_is_deterministic_and_fast() -> None:
    text = "yeah um so i need to re skedule my a point meant with doctor ramirez cuz my son is sick"
    first = classify(text)
    start = time.perf_counter()
    for _ in range(100):
        assert classify(text) == first
    assert (time.perf_counter() - start) / 100 < 0.01
