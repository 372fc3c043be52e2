"""The scenario format's phone-call steps and expectations: what is accepted, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from careline_local.scenario_model import Scenario, ScenarioError, parse_scenario

JOBS = ["expire_ttl"]
HEAD = """\
name: a call
clock: 2026-03-03T10:00:00-08:00
patients:
  - {id: maria, name: Maria Testwoman, birthDate: 1984-03-14, phone: "+15035550142"}
steps:
"""


def load(steps: str) -> Scenario:
    data: Any = yaml.safe_load(HEAD + steps)
    return parse_scenario(data, "call.yaml", JOBS)


def refused(steps: str) -> str:
    with pytest.raises(ScenarioError) as error:
        load(steps)
    return str(error.value)


def test_a_call_with_speech_keys_and_a_hang_up_is_accepted() -> None:
    scenario = load(
        """\
  - from: maria
    channel: voice
    say: "when is my appointment"
    asr_confidence: 0.42
    expect:
      greeting: "(?i)thank you for calling"
      reply: "(?i)date of birth"
      no_transfer: true
      call_ended: false
  - from: maria
    dtmf: "03141984"
    expect: {reply: "(?i)thank", sms_sent: {to: maria}}
  - from: maria
    channel: voice
    say: "can I talk to someone"
    expect: {transfer: front_desk, call_ended: true}
  - from: maria
    channel: voice
    say: "hi again"
  - from: maria
    hangup: true
    expect: {call_ended: true}
"""
    )

    speech, keys, person, _again, hangup = scenario.steps
    assert speech.on_call
    assert speech.asr_confidence == 0.42
    assert speech.expect is not None
    assert speech.expect.voice_checks() == [
        "greeting",
        "no_transfer",
        "call_ended",
    ]
    assert keys.on_call
    assert keys.dtmf == "03141984"
    assert keys.action == "dtmf"
    assert person.expect is not None
    assert person.expect.transfer == "front_desk"
    assert hangup.on_call
    assert hangup.action == "hangup"
    assert speech.describe() == "from maria (voice): say 'when is my appointment'"
    assert keys.describe() == "from maria (voice): dtmf '03141984'"
    assert hangup.describe() == "from maria (voice): hang up"


def test_a_step_without_a_channel_is_still_an_sms() -> None:
    step = load('  - {from: maria, say: "hi"}\n').steps[0]

    assert step.channel == "sms"
    assert not step.on_call
    assert step.describe() == "from maria: say 'hi'"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("  - {from: maria, channel: phone, say: hi}\n", "steps.0.channel: Input should be 'sms' or 'voice'"),
        ("  - {from: maria, dtmf: 314}\n", 'steps.0.dtmf: quote the keys, like dtmf: "03141984"'),
        ("  - {from: maria, dtmf: '12#'}\n", "leave out the # end key"),
        ("  - {from: maria, dtmf: '12a'}\n", "steps.0.dtmf: `dtmf` is keypad keys, digits 0-9 and *"),
        ("  - {from: maria, dtmf: ''}\n", "steps.0.dtmf: `dtmf` is keypad keys"),
        ("  - {dtmf: '1'}\n", "a `dtmf` step needs `from`"),
        ("  - {hangup: true}\n", "a `hangup` step needs `from`"),
        ("  - {from: maria, hangup: false}\n", "steps.0.hangup: write `hangup: true`"),
        ("  - {from: maria, channel: sms, dtmf: '1'}\n", "`dtmf` happens on a call: drop `channel: sms`"),
        (
            "  - {from: maria, channel: voice, say: hi, dtmf: '1'}\n",
            "a step does one thing; this one has say, dtmf",
        ),
        (
            "  - {from: maria, say: hi, asr_confidence: 0.5}\n",
            "`asr_confidence` belongs to a `say` step with",
        ),
        ("  - {from: maria, dtmf: '1', asr_confidence: 0.5}\n", "`asr_confidence` belongs to a `say` step"),
        ("  - {from: maria, channel: voice, say: hi, asr_confidence: 1.5}\n", "steps.0.asr_confidence"),
        ("  - {channel: voice, advance: 1h}\n", "`channel` belongs to a `say` step"),
        (
            "  - {from: maria, advance: 1h}\n",
            "`from` belongs to a `say` step (or a call's `dtmf` or `hangup`)",
        ),
        ("  - {from: nobody, channel: voice, say: hi}\n", "steps.0.from: unknown patient id 'nobody'"),
        (
            "  - {from: maria, channel: voice, say: hi, expect: {greeting: '(oops'}}\n",
            "steps.0.expect.greeting: bad regex",
        ),
        (
            "  - {from: maria, channel: voice, say: hi, expect: {transfer: lobby}}\n",
            "steps.0.expect.transfer: Input should be",
        ),
        (
            "  - {from: maria, channel: voice, say: hi, expect: {no_transfer: false}}\n",
            "use `no_transfer: true`",
        ),
    ],
)
def test_a_bad_voice_step_is_refused_naming_the_key(steps: str, message: str) -> None:
    error = refused(steps)

    assert error.startswith("call.yaml:")
    assert message in error


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "  - {from: maria, say: hi, expect: {transfer: front_desk}}\n",
            "steps.0.expect: transfer check a call: a `say` step with `channel: voice`, or a `dtmf`",
        ),
        (
            "  - {from: maria, say: hi, expect: {greeting: hello, call_ended: true}}\n",
            "steps.0.expect: greeting, call_ended check a call",
        ),
        ("  - {expect: {call_ended: true}}\n", "steps.0.expect: nothing happened before this step to check"),
        (
            "  - {from: maria, channel: voice, say: hi}\n  - {advance: 1h, expect: {no_transfer: true}}\n",
            "steps.1.expect: no_transfer check a call",
        ),
        (
            "  - {from: maria, channel: voice, say: hi, expect: {transfer: nurse, no_transfer: true}}\n",
            "steps.0.expect: `transfer` and `no_transfer` contradict each other",
        ),
        (
            "  - {from: maria, hangup: true}\n",
            "steps.0.hangup: maria is not on a call (a voice step starts one)",
        ),
        (
            "  - {from: maria, channel: voice, say: hi}\n  - {from: maria, hangup: true}\n"
            "  - {from: maria, hangup: true}\n",
            "steps.2.hangup: maria is not on a call",
        ),
        (
            "  - {from: maria, channel: voice, say: hi}\n"
            "  - {from: maria, hangup: true, expect: {reply: bye}}\n",
            "steps.1.expect: reply/not_reply check a `say` step's replies (or a call's `dtmf` step's)",
        ),
        (
            "  - {from: maria, channel: voice, say: hi}\n"
            "  - {from: maria, hangup: true, expect: {greeting: hi, transfer: nurse}}\n",
            "steps.1.expect: greeting, transfer check a turn of a call; a hang-up has none",
        ),
    ],
)
def test_a_voice_expectation_without_a_call_to_check_is_refused(steps: str, message: str) -> None:
    assert message in refused(steps)


def test_a_hang_up_by_number_matches_a_call_by_patient_id() -> None:
    scenario = load('  - {from: maria, channel: voice, say: hi}\n  - {from: "+15035550142", hangup: true}\n')

    assert scenario.steps[1].hangup is True
