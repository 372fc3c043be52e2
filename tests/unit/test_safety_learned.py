"""The safety screen's second reading: its features, its arithmetic, its training and its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from careline.safety import SECOND_READING, RuleScreen, SafetyCategory, SafetyScreen
from careline.safety.learned import (
    CLASSES,
    FALSE_ALARM_BUDGET,
    Example,
    LinearModel,
    ModelError,
    choose_threshold,
    default_model,
    features,
    features_of,
    load,
    out_of_fold,
    train,
)

EMERGENCY = SafetyCategory.EMERGENCY
CRISIS = SafetyCategory.CRISIS
NONE = SafetyCategory.NONE


def _model(weights: dict[str, tuple[float, float, float]], threshold: float = 0.5) -> LinearModel:
    # bias leans strongly to "none": only the named features can tip a message over
    return LinearModel(weights, (4.0, 0.0, 0.0), threshold, {})


# ------------------------------------------------------------------------------------ features


def test_features_are_words_pairs_and_pieces_of_long_words() -> None:
    found = features("Hello there")
    assert "w:hello" in found
    assert "w:there" in found
    assert "b:hello_there" in found
    assert {"c:<hel", "c:hell", "c:ello", "c:llo>"} <= set(found)


def test_a_word_within_reach_of_a_negation_is_a_different_word() -> None:
    found = features("no chest pain just a cough")
    assert "w:~chest" in found
    assert "w:~pain" in found
    assert "w:chest" not in found
    # and so are its pieces
    assert "c:~ches" in features("not chesty")
    assert "c:ches" not in features("not chesty")
    # a clause boundary ends the negation's reach
    assert "w:chest" in features("no fever. chest pain")


def test_pairs_never_span_a_clause_boundary() -> None:
    assert "b:fine_chest" not in features("I'm fine. Chest pain.")


def test_the_rules_context_cues_are_features() -> None:
    assert "cue:past" in features("I had a bad fall last year")
    assert "cue:humor" in features("that bill almost killed me lol")


def test_look_alike_idioms_are_blanked_before_the_model_reads_them() -> None:
    # "dying to get in" is a look-alike: its words are not features at all
    assert not any(f in {"w:dying", "b:im_dying"} for f in features("I'm dying to get in this week"))


def test_an_empty_or_punctuation_only_message_has_no_word_features() -> None:
    assert [f for f in features("?!...") if not f.startswith("cue:")] == ["len:0"]
    assert features("") == ["len:0"]


def test_the_length_of_a_message_is_a_feature() -> None:
    assert "len:1" in features("yes")
    assert "len:2-3" in features("alright thanks bye")
    long = (
        "can you tell me what time the office on main street opens on saturday "
        "and whether i need to bring my card"
    )
    assert "len:16+" in features(long)


# ------------------------------------------------------------------------------------ reading


def test_the_chance_is_one_minus_the_chance_of_none() -> None:
    model = _model({"w:help": (0.0, 4.0, 8.0)})
    p_none, p_emergency, p_crisis = model.probabilities(features("help"))
    assert p_none + p_emergency + p_crisis == pytest.approx(1.0)
    reading = model.read("help")
    assert reading.chance == pytest.approx(1.0 - p_none)
    assert reading.category is CRISIS  # the likelier of the two
    assert reading.flagged


def test_below_the_threshold_nothing_is_flagged() -> None:
    model = _model({"w:help": (0.0, 4.0, 0.0)}, threshold=0.9)
    reading = model.read("help")
    assert 0.4 < reading.chance < 0.9
    assert reading.category is EMERGENCY
    assert not reading.flagged


def test_unknown_features_are_ignored() -> None:
    assert _model({}).read("anything at all").chance == pytest.approx(_model({}).read("").chance)


# ------------------------------------------------------------------------------------ the combined screen


def test_the_rules_decide_whenever_one_fires() -> None:
    # a model that would call everything a crisis does not change what a rule decided
    always_crisis = LinearModel({}, (-9.0, 0.0, 9.0), 0.5, {})
    result = SafetyScreen(RuleScreen(), always_crisis).screen("my husband collapsed and is not breathing")
    assert result.category is EMERGENCY
    assert result.rule != SECOND_READING


def test_the_second_reading_flags_what_no_rule_reads() -> None:
    text = "the flamingo protocol has started"
    assert not RuleScreen().screen(text).flagged
    model = _model({"w:flamingo": (0.0, 0.0, 9.0)})
    result = SafetyScreen(RuleScreen(), model).screen(text)
    assert result.category is CRISIS
    assert result.rule == SECOND_READING
    assert result.rules == (SECOND_READING,)
    assert result.crisis_signal
    emergency = SafetyScreen(RuleScreen(), _model({"w:flamingo": (0.0, 9.0, 0.0)})).screen(text)
    assert emergency.category is EMERGENCY
    assert not emergency.crisis_signal


def test_a_quiet_second_reading_leaves_the_message_alone() -> None:
    result = SafetyScreen(RuleScreen(), _model({})).screen("the flamingo protocol has started")
    assert result.category is NONE
    assert result.rule is None


def test_explain_names_the_second_reading_only_when_it_decided() -> None:
    model = _model({"w:flamingo": (0.0, 0.0, 9.0)})
    screen = SafetyScreen(RuleScreen(), model)
    found = screen.explain("the flamingo protocol has started")
    assert [(f.rule, f.fired) for f in found] == [(SECOND_READING, True)]
    assert SECOND_READING not in {f.rule for f in screen.explain("I have chest pain and flamingo")}


# ------------------------------------------------------------------------------------ training

_TOY = [
    ("i want to end it all tonight", CRISIS),
    ("i am going to end it tonight", CRISIS),
    ("end it all, i have the pills", CRISIS),
    ("tonight i end it", CRISIS),
    ("he is not breathing and blue", EMERGENCY),
    ("she is blue and not breathing", EMERGENCY),
    ("baby blue not breathing", EMERGENCY),
    ("not breathing, lips blue", EMERGENCY),
    ("can i book a checkup", NONE),
    ("book me a checkup please", NONE),
    ("need to book a flu shot", NONE),
    ("what time do you open", NONE),
    ("do you open on saturday", NONE),
    ("refill my inhaler please", NONE),
]


def _toy_examples() -> list[Example]:
    # four files, so that the folds have something to hold out
    return [Example(text, label, f"file{i % 4}") for i, (text, label) in enumerate(_TOY)]


def test_training_learns_to_tell_the_classes_apart() -> None:
    examples = _toy_examples()
    model = train(examples, [False] * len(examples), {"toy.jsonl": "0" * 64})
    assert model.read("i will end it all tonight").category is CRISIS
    assert model.read("he is blue and not breathing").category is EMERGENCY
    assert model.read("i want to end it all tonight").chance > model.read("can i book a checkup").chance
    assert model.read("book a checkup please").chance < 0.5
    assert model.trained_on == {"toy.jsonl": "0" * 64}


def test_training_is_deterministic_to_the_byte() -> None:
    examples = _toy_examples()
    first = train(examples, [False] * len(examples), {}).to_json()
    assert train(examples, [False] * len(examples), {}).to_json() == first


def test_out_of_fold_chances_come_from_models_that_never_saw_the_file() -> None:
    examples = _toy_examples()
    assert len(out_of_fold(examples)) == len(examples)
    # a single file has no other file to learn from: no fold can train, every chance stays 0
    assert out_of_fold([Example(t, label, "only") for t, label in _TOY]) == [0.0] * len(_TOY)


def test_the_threshold_keeps_added_false_alarms_within_the_budget() -> None:
    routine = 200
    chances = [i / routine for i in range(routine)] + [0.999, 0.998]
    labels = [NONE] * routine + [CRISIS, EMERGENCY]
    threshold = choose_threshold(chances, labels, [False] * len(labels))
    flagged = sum(1 for c, label in zip(chances, labels, strict=True) if label is NONE and c >= threshold)
    assert flagged <= FALSE_ALARM_BUDGET * routine
    assert threshold <= 0.998  # the positives above the routine messages are still caught


def test_routine_messages_the_rules_already_flag_do_not_count_against_the_budget() -> None:
    chances = [0.95, 0.1, 0.1, 0.1]
    labels = [NONE] * 4
    assert choose_threshold(chances, labels, [True, False, False, False]) == 0.5
    assert choose_threshold(chances, labels, [False] * 4) > 0.95


def test_the_threshold_is_never_below_one_half() -> None:
    assert choose_threshold([0.0, 0.01], [NONE, NONE], [False, False]) == 0.5


# ------------------------------------------------------------------------------------ the file


def test_the_model_file_round_trips(tmp_path: Path) -> None:
    model = LinearModel({"w:a": (0.1, -0.2, 0.3)}, (1.0, 0.0, -1.0), 0.75, {"x.jsonl": "ab"})
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    assert load(path) == model


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "{}",
        json.dumps({"classes": ["none", "crisis", "emergency"], "weights": {}, "bias": [0, 0, 0]}),
        json.dumps({"classes": [c.value for c in CLASSES], "weights": {"w:a": [1]}, "bias": [0, 0, 0]}),
    ],
)
def test_a_malformed_model_file_is_refused_by_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=r"model\.json"):
        load(path)


def test_a_missing_model_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.json"):
        load(tmp_path / "model.json")


def test_the_committed_model_loads_with_a_threshold_above_one_half() -> None:
    model = default_model()
    assert model.threshold >= 0.5
    assert len(model.weights) > 1000
    assert "rules.yaml" in model.trained_on


@pytest.mark.parametrize("text", ["no chest pain just a cough", "I'm dying to get in", "", "thx!"])
def test_the_rules_reading_serves_the_second_reading_unchanged(text: str) -> None:
    # the combined screen reads a message once: what the rules read is what the model scores
    result, view = RuleScreen().screen_and_read(text)
    assert result == RuleScreen().screen(text)
    assert features_of(view) == features(text)
