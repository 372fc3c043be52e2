"""The shipped conversation scenarios pass, and the runner reports a failure usefully."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from careline_local.scenario_model import ScenarioError, load_scenario
from careline_local.scenarios import run_scenarios

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
JOBS = ["expire_ttl"]

HOLIDAY = """\
name: Hours on Christmas Day
clock: 2026-12-25T08:30:00-08:00
steps:
  - from: "+15035550190"
    say: "are you open today"
    expect:
      reply: "{pattern}"
"""


def _run(*paths: Path) -> tuple[list[str], int]:
    lines: list[str] = []
    results = run_scenarios(list(paths), out=lines.append)
    return lines, sum(not r.passed for r in results)


def test_every_shipped_scenario_passes() -> None:
    lines, failed = _run(SCENARIOS)

    scenario_lines = [line for line in lines if line.startswith(("PASS ", "FAIL "))]
    assert failed == 0, "\n".join(lines)
    assert len(scenario_lines) >= 12
    assert lines[-1] == f"{len(scenario_lines)} passed, 0 failed"


def test_a_wrong_expectation_fails_naming_the_step_the_expectation_and_what_happened(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(HOLIDAY.format(pattern="(?i)we are open all day"), encoding="utf-8")

    lines, failed = _run(scenario)

    assert failed == 1
    assert lines[0] == f"FAIL Hours on Christmas Day ({scenario})"
    assert lines[1] == "  step 0: from +15035550190: say 'are you open today'"
    assert lines[2] == "    expected: reply matching /(?i)we are open all day/"
    assert lines[3].startswith("    happened: replies: ")
    assert "Christmas Day" in lines[3]  # what Careline really said
    assert lines[-1] == "0 passed, 1 failed"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    # A subprocess, as a developer runs it: the CLI rewires logging for its whole process.
    return subprocess.run(
        [sys.executable, "-m", "careline_local.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_the_cli_exits_1_when_a_scenario_fails_and_0_when_all_pass(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong" / "holiday.yaml"
    right = tmp_path / "right" / "holiday.yaml"
    for path, pattern in ((wrong, "(?i)open until 5pm"), (right, "(?i)closed today")):
        path.parent.mkdir()
        path.write_text(HOLIDAY.format(pattern=pattern), encoding="utf-8")

    failing = _cli("scenario", "run", str(wrong.parent))
    passing = _cli("scenario", "run", str(right))

    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[-1] == "0 passed, 1 failed"
    assert passing.returncode == 0, passing.stderr
    assert passing.stdout.splitlines() == ["PASS Hours on Christmas Day", "1 passed, 0 failed"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('{from: "+15035550190", say: hi, shout: true}', "steps.0.shout: unknown key"),
        ("{from: maria, say: hi}", "steps.0.from: unknown patient id 'maria'"),
        ("{advance: 2 weeks}", "steps.0.advance: bad duration '2 weeks'"),
        ("{run_job: nightly_magic}", "steps.0.run_job: unknown job 'nightly_magic'"),
        ('{from: "+15035550190", say: hi, expect: {reply: "(unclosed"}}', "steps.0.expect.reply: bad regex"),
        ("{expect: {escalation: {reason: bored}}}", "steps.0.expect.escalation.0.reason"),
    ],
)
def test_an_invalid_scenario_file_is_refused_naming_the_bad_key(
    tmp_path: Path, step: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nclock: 2026-03-03T10:00:00-08:00\nsteps:\n  - {step}\n", encoding="utf-8")

    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, JOBS)

    assert str(path) in str(refused.value)
    assert message in str(refused.value)


def test_an_invalid_file_counts_as_a_failed_scenario(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\nclock: 2026-03-03T10:00:00\nsteps: []\n", encoding="utf-8")

    lines, failed = _run(tmp_path)

    assert failed == 1
    assert lines[0].startswith("FAIL bad")
    assert any("clock: give the time with an offset" in line for line in lines)
    assert any("steps: List should have at least 1 item" in line for line in lines)


def test_a_scenario_fails_when_a_patients_number_reaches_the_table_unencrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's closing check: every scenario's table must hold no plaintext identifier."""
    import json as _json

    from careline.store.cipher import KmsFieldCipher

    # a broken cipher that stores what it is given, as a bug in the store would
    monkeypatch.setattr(KmsFieldCipher, "encrypt", lambda self, value, context: _json.dumps(value))
    monkeypatch.setattr(KmsFieldCipher, "decrypt", lambda self, ciphertext, context: _json.loads(ciphertext))
    scenario = tmp_path / "leak.yaml"
    scenario.write_text(HOLIDAY.format(pattern="(?i)closed"), encoding="utf-8")

    lines, failed = _run(scenario)

    assert failed == 1, "\n".join(lines)
    assert "after the last step" in lines[1]
    assert lines[3] == "    happened: found a patient's phone number in the table"


OUTAGE = """\
name: The EHR goes down and comes back
clock: 2026-11-02T09:30:00-08:00
practitioners:
  - {id: dr-chen, name: "Dr. Lily Chen"}
patients:
  - id: mo
    name: Mortimer Quillfeather
    birthDate: 1980-12-25
    phone: "+15035550190"
    appointments:
      - {id: m1, practitioner: dr-chen, start: 2026-11-05T10:00:00-08:00, minutes: 20}
steps:
  - ehr: down
  - from: mo
    say: "when is my appt"
    expect:
      reply: "(?i)scheduling system isn't answering"
      escalation: {reason: ehr_unavailable, queue: front_desk}
  - ehr: up
  - from: mo
    say: "when is my appt"
    expect:
      reply: "(?i)date of birth"
      no_escalation: true
  - from: mo
    say: "12/25/1980"
    expect:
      reply: "(?i)Thu Nov 5 10am with Dr\\\\. Chen"
"""


def test_an_ehr_outage_step_makes_the_real_adapter_fail_to_connect_until_the_ehr_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from careline.ehr.fhir import FhirTransport
    from careline.ehr.resilience import TransientFailure

    # A spy on the real transport: which base URL each attempt went to, and how it failed.
    attempts: list[tuple[str, str | None]] = []
    real_attempt = FhirTransport._attempt

    def spy(self: FhirTransport, *args: object, **kwargs: object) -> object:
        try:
            response = real_attempt(self, *args, **kwargs)  # type: ignore[arg-type]
        except TransientFailure as failure:
            attempts.append((self.base_url, failure.reason))
            raise
        attempts.append((self.base_url, None))
        return response

    monkeypatch.setattr(FhirTransport, "_attempt", spy)
    before = os.environ.get("CARELINE_FHIR_BASE_URL")
    scenario = tmp_path / "outage.yaml"
    scenario.write_text(OUTAGE, encoding="utf-8")

    lines, failed = _run(scenario)

    assert failed == 0, "\n".join(lines)
    failures = [(url, reason) for url, reason in attempts if reason is not None]
    successes = {url for url, reason in attempts if reason is None}
    assert failures, "the outage never reached the adapter"
    # refused connections on loopback, retried, against a URL that is not the real server's
    assert all(reason == "NewConnectionError" for _url, reason in failures), failures
    assert all(url.startswith("http://127.0.0.1:") for url, _reason in failures)
    assert successes
    assert not successes & {url for url, _reason in failures}
    assert os.environ.get("CARELINE_FHIR_BASE_URL") == before  # restored after the scenario


def test_an_outage_left_on_ends_with_its_scenario(tmp_path: Path) -> None:
    """No `ehr: up` at the end: the next scenario of the same run gets a working EHR."""
    head, _, _ = OUTAGE.partition("  - ehr: up\n")
    people, _, _ = OUTAGE.partition("steps:\n")
    (tmp_path / "a_left_on.yaml").write_text(head, encoding="utf-8")
    (tmp_path / "b_after.yaml").write_text(
        people.replace("The EHR goes down and comes back", "The EHR is up again")
        + 'steps:\n  - from: mo\n    say: "when is my appt"\n    expect:\n      reply: "(?i)date of birth"\n',
        encoding="utf-8",
    )

    lines, failed = _run(tmp_path)

    assert failed == 0, "\n".join(lines)
    assert lines[-1] == "2 passed, 0 failed"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("  - {ehr: sideways}\n", "steps.0.ehr: `ehr` is `down` or `up`, not 'sideways'"),
        ("  - {ehr: off}\n", "steps.0.ehr: write `ehr: down` or `ehr: up`"),
        ("  - {ehr: up}\n", "steps.0.ehr: the EHR is already up"),
        ("  - {ehr: down}\n  - {ehr: down}\n", "steps.1.ehr: the EHR is already down (since steps.0)"),
        ('  - {ehr: down, from: "+15035550190", say: hi}\n', "a step does one thing; this one has say, ehr"),
        (
            "  - {ehr: down, expect: {reply: x}}\n",
            "steps.0.expect: reply/not_reply check a `say` step's replies",
        ),
        (
            "  - {expect: {bookings: {start: 2026-03-03T10:00:00-08:00, count: -1}}}\n",
            "steps.0.expect.bookings.0.count",
        ),
        (
            "  - {expect: {bookings: {start: 2026-03-03T10:00:00-08:00, count: 1, practitioner: dr-who}}}\n",
            "steps.0.expect.bookings.0.practitioner: unknown practitioner 'dr-who'",
        ),
    ],
)
def test_an_invalid_ehr_step_or_bookings_check_is_refused_clearly(
    tmp_path: Path, steps: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nclock: 2026-03-03T10:00:00-08:00\nsteps:\n{steps}", encoding="utf-8")

    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, JOBS)

    assert message in str(refused.value)


def test_a_wrong_bookings_count_names_what_the_ehr_holds(tmp_path: Path) -> None:
    scenario = tmp_path / "count.yaml"
    scenario.write_text(
        OUTAGE.partition("steps:\n")[0]
        + "steps:\n  - expect:\n      bookings:"
        + " {start: 2026-11-05T10:00:00-08:00, practitioner: dr-chen, count: 0}\n",
        encoding="utf-8",
    )

    lines, failed = _run(scenario)

    assert failed == 1
    assert "    expected: 0 live appointment(s) at 2026-11-05T10:00:00-08:00 with dr-chen" in lines
    assert "    happened: 1: m1 booked" in lines
