"""The safety screen: emergencies and crises as patients type and say them, not their look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest
from careline.safety import SafetyCategory, SafetyScreen
from careline.safety.screen import RULES_PATH, RulesError, load_model, normalize

SCREEN = SafetyScreen()
EMERGENCY = SafetyCategory.EMERGENCY
CRISIS = SafetyCategory.CRISIS
NONE = SafetyCategory.NONE
RULE_NAMES = frozenset(rule.name for rule in load_model().rules)


def category(text: str) -> SafetyCategory:
    return SCREEN.screen(text).category


# ------------------------------------------------------------------------------ emergencies


@pytest.mark.parametrize(
    "text",
    [
        # chest pain, heart attack
        "I have chest pain",
        "CHEST PAIN!!!",
        "my chest feels really tight and heavy",
        "pressure in my chest going down my arm",
        "I think I'm having a heart attack",
        "feels like an elephant is sitting on my chest",
        "pain radiating to my left arm and jaw",
        "my dad is clutching his chest",
        # breathing
        "my wife can't breathe",
        "he is not breathing",
        "my toddler's lips are turning blue",
        "my inhaler isnt helping and im wheezing bad",
        "i can't tell if the baby is breathing",
        # stroke
        "I think dad is having a stroke, his face is drooping",
        "her speech is slurred",
        "sudden weakness on my left side",
        "my mom can't move her right arm",
        "worst headache of my life",
        # unresponsive, seizure
        "she passed out and won't wake up",
        "he collapsed in the kitchen",
        "we found him unresponsive",
        "my son had a seizure just now",
        "she's been seizing for 5 minutes",
        # bleeding, pregnancy
        "bleeding a lot and it won't stop",
        "blood everywhere, deep cut on his leg",
        "i'm 12 weeks pregnant and bleeding",
        "soaking a pad every hour after the delivery",
        # overdose, poisoning, anaphylaxis, choking, burns
        "my toddler swallowed some of the dishwasher pods",
        "my grandson ate a button battery",
        "I think he overdosed",
        "she took a whole bottle of tylenol",
        "allergic reaction, my throat is swelling",
        "ate peanuts and my lips are swelling up",
        "my son is choking on a grape",
        "spilled boiling water all over her arm",
        # a declared emergency
        "this is an emergency",
        "should i call 911",
    ],
)
def test_emergencies_are_flagged(text: str) -> None:
    assert category(text) is EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "chest pian and my arm is numb",
        "cant breath",
        "i cant brethe",
        "my husband is unconcious",
        "my daughter is having a siezure",
        "anaphalactic reaction to shrimp",
        "help my son is chokeing",
        "my husband od'd on heroin",
        "im having a hart attack",
    ],
)
def test_misspelled_emergencies_are_flagged(text: str) -> None:
    assert category(text) is EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        # speech recognition on a call: lower case, no punctuation, split words, mishearings
        "my chest is tight and i can't catch my breath",
        "i can't breed",
        "my husband is having chess pain",
        "my son took an over dose of his medicine",
        "i think she's having a stroke her face is droop in",
        "my wife passed out and hit her head",
        "the baby isn't breathing",
        "i think i'm having a hard attack",
    ],
)
def test_voice_transcripts_of_emergencies_are_flagged(text: str) -> None:
    assert category(text) is EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "I took too many pills",
        "I took all of my pills",
        "i took a bottle of pills",
        "my son swallowed way too many of his tablets",
        "i think i had too much insulin, shaky",
        "i took like 30 of my xanax",
        "my sister cut her wrists",
        "he tried to hang himself, we just got him down",
    ],
)
def test_an_overdose_or_attempt_in_progress_is_an_emergency(text: str) -> None:
    assert category(text) is EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        # what a caller sees, with no diagnosis and no "emergency": one family of signs each
        "my aunt suddenly isn't making any sense and keeps nodding off",  # mind
        "he's very drowsy since he fell off his bike",  # drowsy after a red flag
        "the baby's chest is caving in when she breathes",  # breathing
        "his fingernails look kind of grayish and he's panting",  # colour
        "my father is clammy and rubbing his left arm, says his chest is heavy",  # cardiac
        "my watch says my heart rate is 190 and i feel faint",  # rhythm
        "worst pain ever in my head, came on out of nowhere",  # sudden severe pain
        "grandma's eyes rolled up and her arms are jerking",  # seizure
        "there's black tarry poop and she's light headed",  # bleeding with shock
        "i'm 34 weeks and seeing spots with a splitting headache",  # pregnancy
        "my 6 week old has a fever",  # young infant
        "the baby hasn't had a wet diaper since last night and her soft spot is sunken",  # infant
        "my son has a stiff neck and a fever and light hurts his eyes",  # meningitis
        "she's diabetic, sweating and shaking and her sugar reads 38",  # low sugar
        "we pulled my nephew out of the lake and he's coughing and sleepy",  # drowning
        "my grandpa fell in the yard and he can't get up",  # fall
        "my dad took his heart pills twice by mistake and now his pulse is slow",  # medicine mistake
        "my toddler bit into a laundry pod",  # ingestion
        "um so my um my wife she she is uh talking funny and her face is uh hanging",  # transcript
    ],
)
def test_emergencies_described_by_their_signs_are_flagged(text: str) -> None:
    assert category(text) is EMERGENCY


# ------------------------------------------------------------------------------ crises


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "thinking about suicide",
        "I have been feeling suicidal",
        "I want to die",
        "sometimes I wish I was dead",
        "i just want to end it all",
        "I can't go on anymore",
        "there is no reason to live",
        "I've been cutting myself again",
        "I want to hurt someone",
        "I'm having thoughts of hurting my baby",
        "I don't want to live",
    ],
)
def test_crises_are_flagged(text: str) -> None:
    assert category(text) is CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "i don't want to wake up tomorrow",
        "everyone would be better off without me",
        "I've been thinking of ending it",
        "no reason to go on",
        "nobody would even notice if i was gone",
        "i'm so tired of living",
        "what's the point of living",
        "I've been saving up my pills",
        "I just want to go to sleep and never wake up",
        "i have a plan and i wrote goodbye letters",
        "my son told me he wants to die",
        "my daughter keeps talking about killing herself",
    ],
)
def test_indirect_suicidal_thoughts_are_a_crisis(text: str) -> None:
    assert category(text) is CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "sucidal",
        "i want to kil myself",
        "honestly i just want to kms",
        "im suicidle",
        "feel like killin myself",
    ],
)
def test_misspelled_and_shorthand_crises_are_flagged(text: str) -> None:
    assert category(text) is CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "i've been having sue aside thoughts",
        "i don't want to be alive anymore",
        "i'm having thoughts of killing my self",
        "i want to hurt my self",
    ],
)
def test_voice_transcripts_of_crises_are_flagged(text: str) -> None:
    assert category(text) is CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "my boyfriend hit me and I'm scared",
        "he hits me when he drinks",
        "he said he is going to kill me",
        "I'm not safe at home",
        "im afraid to go home",
        "my husband threatened to kill me last night",
        "my stepdad touches me",
        "the lady who takes care of my mom hits her",
        "i think my neighbor's kid is being abused",
        "he takes my phone and won't let me leave the house",
    ],
)
def test_danger_at_home_is_a_crisis(text: str) -> None:
    assert category(text) is CRISIS


@pytest.mark.parametrize(
    "text",
    [
        # indirect and euphemistic: themes, not keywords
        "i am sick of being a burden to my family",  # burden
        "i won't be a bother to them much longer",  # finality
        "i've given away my jewelry, i won't need it where i'm going",  # farewell behaviour
        "been putting my affairs in order so my kids don't have to after i'm gone",  # arrangements
        "i know exactly how i'm going to do it",  # plan
        "i have the rope",  # means
        "i keep driving to the bridge and thinking about it",  # a place
        "the voices keep telling me to hurt my mother",  # command voices
        "i'm scared i'll do something stupid tonight",  # euphemism
        "my brother says he's going to shoot his boss",  # harm to others, third person
        "the aide pinches my dad and he has bruises he won't explain",  # elder abuse
        "he put his hands around my throat",  # danger at home
        "ppl wud be happier w/o me",  # SMS shorthand
    ],
)
def test_indirect_crisis_themes_are_flagged(text: str) -> None:
    assert category(text) is CRISIS


# ------------------------------------------------------------------------------ look-alikes


@pytest.mark.parametrize(
    "text",
    [
        # idioms
        "I'm dying to get in this week",
        "killing time till my appt",
        "this wait is killing me",
        "I'd kill for a sooner slot",
        "this traffic is killing me, running late",
        "my back is killing me, can I get in today",
        "bored to death in the waiting room",
        "that price nearly gave me a heart attack",
        "my boss is going to kill me for being late again",
        "my husband is going to kill me if I miss this appointment again lol",
        "he hit me up about the appointment time",
        "I can't go on Tuesday, can we do Wednesday",
        "I don't want to wake up the baby, can you text instead",
        "i cant wake up early enough for 8am",
        # medicines, tests, services
        "refill my nitroglycerin please",
        "refill my seizure medication",
        "I need a refill on my epipen",
        "chest x-ray results?",
        "blood test results",
        "allergy shot appointment",
        "please update my emergency contact",
        "my husband stopped breathing treatments, does he still need the nebulizer",
        "can't breathe through my nose with this sinus infection",
        "I walk with a limp since my knee surgery",
        "not an emergency but my ear hurts",
        # routine
        "what are your hours",
        "can I book a physical",
        "",
        "!!!",
    ],
)
def test_look_alikes_do_not_fire(text: str) -> None:
    assert category(text) is NONE


@pytest.mark.parametrize(
    "text",
    [
        # routine messages that share words with the signs and themes above
        "i'm confused about the charges on my statement",
        "dad gets confused in the evenings, is there a dementia support group",
        "my son is very sleepy after his shots, is that normal",
        "my pulse was 45 overnight on my fitbit, i feel fine, can i mention it at my physical",
        "heart rate hit 170 on my run, is that ok for my age",
        "i sweat a lot at night, menopause?",
        "his lips were purple from the grape popsicle lol",
        "i've been feeling blue, can i see a counselor",
        "the baby gurgles and coos all day",
        "my husband snores and stops breathing sometimes at night, can he get a sleep study",
        "last winter i had pneumonia and couldn't breathe, can i get the vaccine",
        "after my surgery i had trouble breathing for a day, now fine, surgeon wants a follow up",
        "is chest pain a side effect of the new vaccine",
        "i'm 20 weeks pregnant, when is my anatomy scan",
        "i'm done with my antibiotics, do i need a follow up",
        "we made arrangements for mom to move to assisted living, please update her address",
        "i won't need my inhaler anymore, please cancel the refill",
        "i want it all to stop - the reminder texts, i get five a day",
        "i gave my old crutches to a neighbor",
        "i bought a rope for the tire swing",
        "my dog ate my pills, can you send a replacement",
        "grandma can't feel her feet because of her neuropathy",
        "please cancel, i had a family emergency last week",
        "this is my last message before i go on vacation",
    ],
)
def test_look_alikes_of_the_signs_and_themes_do_not_fire(text: str) -> None:
    assert category(text) is NONE


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain, just a cough",
        "no chest pain just a cough",
        "i'm not having chest pain or trouble breathing, just a rash",
        "i am not suicidal, just want to talk about my meds",
        "no thoughts of hurting myself",
        "no i'm not thinking about hurting myself",
        "never been suicidal, just anxious",
        "she's no longer having seizures since the new med",
        "I don't want to die, I just want my back fixed",
    ],
)
def test_negated_symptoms_and_screening_answers_do_not_fire(text: str) -> None:
    assert category(text) is NONE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no fever but I can't breathe", EMERGENCY),
        ("I don't have chest pain but I can't breathe", EMERGENCY),
        ("i'm not okay i've been thinking about ending my life", CRISIS),
        ("not sure if it's a stroke but his face is drooping", EMERGENCY),
        ("I don't know what to do, my husband collapsed", EMERGENCY),
        ("I don't want to live like this anymore", CRISIS),
    ],
)
def test_a_negation_reaches_only_its_own_clause(text: str, expected: SafetyCategory) -> None:
    assert category(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "my dad had a heart attack last year, need his records",
        "my father had a stroke in 2019, can he be a new patient",
        "history of seizures, need a refill",
        "she had a seizure 3 years ago and is doing fine",
        "I was suicidal years ago but I'm doing well",
        "my grandpa died of a heart attack, should I get my cholesterol checked",
        "is it ok to exercise after a heart attack? mine was in 2021",
        "I went to the ER last week for chest pain, need a follow up",
        "I fainted at my last blood draw so can I lie down this time?",
        "my brother overdosed last year and I want to learn about narcan",
        "we lost my dad to suicide last year, my mom needs grief counseling",
    ],
)
def test_history_and_records_do_not_fire(text: str) -> None:
    assert category(text) is NONE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my dad had a heart attack last year and now he has chest pain again", EMERGENCY),
        ("she had a seizure last month and is having another one now", EMERGENCY),
        ("I hurt myself on purpose last night and want to do it again", CRISIS),
    ],
)
def test_history_does_not_hide_what_is_happening_now(text: str, expected: SafetyCategory) -> None:
    assert category(text) is expected


def test_a_dated_clause_carries_into_a_past_tense_clause_but_not_into_now() -> None:
    assert category("last winter i had pneumonia and couldn't breathe") is NONE
    assert category("last winter i had pneumonia and now i can't breathe") is EMERGENCY
    findings = {f.rule: f for f in SCREEN.explain("in 2019 i had a fall and broke my hip")}
    assert (findings["fall_or_crash"].fired, findings["fall_or_crash"].stopped_by) == (False, "past")


@pytest.mark.parametrize(
    "text",
    [
        "what are the signs of a stroke?",
        "what are symptoms of a heart attack in women",
        "what should I do if my child has a seizure at school?",
        "Dr said to call if the chest pain comes back, it hasn't",
        "the doctor said my chest pain was just acid reflux",
        "do you do suicide risk screening for teens",
        "the form asks if I ever had thoughts of self harm",
    ],
)
def test_questions_about_a_condition_and_hypotheticals_do_not_fire(text: str) -> None:
    assert category(text) is NONE


@pytest.mark.parametrize(
    "text",
    ["I think I'm having a stroke", "is this a heart attack? my chest is burning", "am I having a stroke?"],
)
def test_asking_whether_it_is_happening_now_still_fires(text: str) -> None:
    assert category(text) is EMERGENCY


@pytest.mark.parametrize(
    "text", ["do i take too many pills? can someone review my meds", "I have too many pills left over"]
)
def test_talk_about_how_many_pills_is_not_an_overdose(text: str) -> None:
    assert category(text) is NONE


# ------------------------------------------------------------------------------ the result


def test_the_rule_name_is_reported_and_holds_no_patient_words() -> None:
    result = SCREEN.screen("Maria has crushing chest pressure")
    assert result.flagged
    assert result.rule == "chest_pain"


def test_a_physical_emergency_comes_first_but_the_crisis_is_kept() -> None:
    result = SCREEN.screen("my chest hurts and I want to die")
    assert result.category is EMERGENCY
    assert result.crisis_signal
    assert result.rules == ("chest_pain", "death_wish")


def test_an_overdose_with_suicidal_words_is_an_emergency_with_the_crisis_signal() -> None:
    result = SCREEN.screen("I took all my pills, I want to die")
    assert (result.category, result.rule, result.crisis_signal) == (EMERGENCY, "overdose", True)


def test_a_crisis_beats_a_general_emergency_cue() -> None:
    result = SCREEN.screen("this is an emergency, I want to kill myself")
    assert result.category is CRISIS
    assert result.rules[-1] == "declared_emergency"


def test_nothing_flagged_has_no_rule_and_no_signal() -> None:
    result = SCREEN.screen("what time do you open tomorrow")
    assert (result.flagged, result.rule, result.rules, result.crisis_signal) == (False, None, (), False)


@pytest.mark.parametrize(
    "text",
    [
        "Maria Lopez DOB 03/14/1984 has crushing chest pressure at 12 Elm Street",
        "this is Jordan Reyes, 503-555-0142, I want to kill myself",
        "no chest pain, Dr Okafor said my MRN is 88231",
    ],
)
def test_results_and_explanations_carry_rule_names_only(text: str) -> None:
    result = SCREEN.screen(text)
    assert result.rule is None or result.rule in RULE_NAMES
    assert set(result.rules) <= RULE_NAMES
    findings = SCREEN.explain(text)
    assert {f.rule for f in findings} <= RULE_NAMES
    shown = repr(result) + repr(findings)
    for word in ("maria", "lopez", "1984", "jordan", "reyes", "0142", "okafor", "88231", "elm"):
        assert word not in shown.lower()


def test_explain_names_the_guard_that_stopped_a_match() -> None:
    findings = {f.rule: f for f in SCREEN.explain("no chest pain, my dad had a stroke in 2019")}
    assert (findings["chest_pain"].fired, findings["chest_pain"].stopped_by) == (False, "negation")
    assert (findings["stroke"].fired, findings["stroke"].stopped_by) == (False, "past")


def test_screening_is_deterministic() -> None:
    text = "my husband is having chess pain and cant breed"
    assert SCREEN.screen(text) == SCREEN.screen(text) == SafetyScreen().screen(text)


def test_normalization_reads_typing_and_speech_the_same_way() -> None:
    assert normalize("I can't breathe!! Chest pian…") == "i cant breathe | chest pain"
    assert normalize("i can't breed") == "i cant breathe"
    assert normalize("sue aside thoughts") == "suicide thoughts"
    assert normalize("unconsious") == "unconscious"
    # fillers and stutters from calls say nothing; SMS slashes are words
    assert normalize("um my my husband uh he is not breathing") == "my husband he isnt breathing"
    assert normalize("ppl wud be better w/o me") == "people would be better without me"
    # real words are never "corrected" into a key word
    assert normalize("billing cooking spelling") == "billing cooking spelling"


# ------------------------------------------------------------------------------ the rules file


def test_the_rules_file_loads_and_names_every_rule_once() -> None:
    model = load_model(RULES_PATH)
    assert len(RULE_NAMES) == len(model.rules) >= 20
    assert {r.category for r in model.rules} == {EMERGENCY, CRISIS}


def _broken_rules(tmp_path: Path, old: str, new: str) -> Path:
    text = RULES_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("guards: [negation, past, hypothetical]", "guards: [negation, sometimes]", r"unknown guard"),
        ("    tier: attempt", "    tier: urgent", r"tier must be"),
        ("    category: crisis", "    category: none", r"category must be"),
        ("'\\bsuicid\\w*'", "'\\bsuicid(\\w*'", r"rules\.suicidal.*bad pattern"),
        ("'\\bsuicid\\w*'", "'\\b{NOPE}'", r"unknown macro \{NOPE\}"),
    ],
)
def test_a_broken_rules_file_is_refused_with_the_rule_named(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(RulesError, match=message):
        load_model(_broken_rules(tmp_path, old, new))
