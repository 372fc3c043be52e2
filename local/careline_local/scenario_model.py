"""The scenario file format, validated with errors that name the file, the key and the problem.

One scenario per YAML file. The format is the one of issue 2 (see tests/scenarios/ for examples),
kept backward compatible; extensions: `description`, lists under `sms_sent` / `escalation`,
`no_escalation` taking either `true` (none at all) or fields (none matching them), and:

- the step action `ehr: down` / `ehr: up`: the EHR becomes unreachable for the steps that follow
  (and reachable again), as a real outage looks to Careline: the FHIR base URL the composition root
  reads points at a loopback port that refuses connections, so the handler's `FhirEhr` fails to
  connect, retries and gives up. The EHR starts up; `down` while down (or `up` while up) is an error,
  and an outage still on after the last step simply ends with the scenario.

      - ehr: down
      - from: maria
        say: "yes"
        expect:
          reply: "(?i)scheduling system isn't answering"
          escalation: {reason: ehr_unavailable}
      - ehr: up

- the expectation `bookings: {start, practitioner?, count}` (one or a list): how many appointments
  on the FHIR server, of any patient, start at `start` (with `practitioner`, when given) and still
  hold their time (any status but cancelled, noshow or entered-in-error). `count: 1` proves a slot
  was booked exactly once, when two patients reached for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from careline.config import E164_PATTERN
from careline.conversation.model import EscalationReason, Queue, Urgency
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from careline_local.clock import parse_duration

E164 = re.compile(E164_PATTERN)
ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the file and every bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with an offset, e.g. 2026-12-25T08:30:00-08:00")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regex {value!r}: {exc}") from None
    return value


class Practitioner(_Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)


class Slot(_Strict):
    practitioner: str
    start: datetime
    minutes: int = Field(gt=0, le=480)
    status: Literal["free", "busy"] = "free"

    _aware_start = field_validator("start")(_aware)


class Appointment(_Strict):
    id: str = Field(pattern=ID)
    practitioner: str
    start: datetime
    minutes: int = Field(gt=0, le=480)
    status: Literal["proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow"] = "booked"

    _aware_start = field_validator("start")(_aware)


class Patient(_Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    birthDate: date  # the FHIR spelling, as in the format
    phone: str
    gender: Literal["female", "male", "other", "unknown"] | None = None
    mrn: str | None = None
    appointments: list[Appointment] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("phone must be E.164, like +15035550142")
        return value


class SmsSent(_Strict):
    """An outbound SMS the step caused, to `to` (patient id or E.164), whose text matches `matches`."""

    to: str
    matches: str | None = None

    _regex_matches = field_validator("matches")(_regex)


class NoSmsSent(_Strict):
    """No outbound SMS from this step to `to`; without `to`, none at all."""

    to: str | None = None


class EscalationFields(_Strict):
    reason: EscalationReason | None = None
    urgency: Urgency | None = None
    queue: Queue | None = None
    channel: Literal["sms", "voice", "email", "chat"] | None = None
    status: str | None = None

    def given(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.model_dump(exclude_none=True).items()}


class AppointmentCheck(_Strict):
    patient: str
    start: datetime
    status: str | None = None
    practitioner: str | None = None

    _aware_start = field_validator("start")(_aware)


class BookingsCheck(_Strict):
    """How many live appointments (any patient) start at `start`, with `practitioner` if given."""

    start: datetime
    count: int = Field(ge=0)
    practitioner: str | None = None

    _aware_start = field_validator("start")(_aware)


class OptedOutCheck(_Strict):
    phone: str
    value: bool


def _one_or_many(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


class Expect(_Strict):
    reply: str | None = None
    not_reply: str | None = None
    sms_sent: list[SmsSent] = Field(default_factory=list)
    no_sms_sent: list[NoSmsSent] = Field(default_factory=list)
    escalation: list[EscalationFields] = Field(default_factory=list)
    no_escalation: EscalationFields | None = None
    appointment: list[AppointmentCheck] = Field(default_factory=list)
    bookings: list[BookingsCheck] = Field(default_factory=list)
    opted_out: list[OptedOutCheck] = Field(default_factory=list)

    _regexes = field_validator("reply", "not_reply")(_regex)

    @field_validator(
        "sms_sent", "no_sms_sent", "escalation", "appointment", "bookings", "opted_out", mode="before"
    )
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _one_or_many(value)

    @field_validator("no_escalation", mode="before")
    @classmethod
    def _no_escalation(cls, value: Any) -> Any:
        if value is True:
            return {}  # no escalation at all
        if value is False:
            raise ValueError("use `no_escalation: true` or fields; `false` checks nothing")
        return value

    def looks_at_action(self) -> bool:
        """True if any expectation is about what the action step caused (not state after it)."""
        return bool(
            self.reply is not None
            or self.not_reply is not None
            or self.sms_sent
            or self.no_sms_sent
            or self.escalation
            or self.no_escalation is not None
        )


ACTIONS = ("say", "advance", "run_job", "ehr")
EHR_STATES = ("down", "up")


class Step(_Strict):
    from_: str | None = Field(default=None, alias="from")
    channel: Literal["sms", "voice"] = "sms"
    say: str | None = None
    advance: str | None = None
    run_job: str | None = None
    ehr: Literal["down", "up"] | None = None
    expect: Expect | None = None

    @field_validator("ehr", mode="before")
    @classmethod
    def _ehr_state(cls, value: Any) -> Any:
        if value is None or value in EHR_STATES:
            return value
        if isinstance(value, bool):
            # YAML reads on/off/yes/no as booleans
            raise ValueError("write `ehr: down` or `ehr: up` (on/off/yes/no read as true/false in YAML)")
        raise ValueError(f"`ehr` is `down` or `up`, not {value!r}")

    @field_validator("advance")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(actions) > 1:
            raise ValueError(f"a step does one thing; this one has {', '.join(actions)}")
        if self.say is not None and self.from_ is None:
            raise ValueError("a `say` step needs `from` (a patient id or an E.164 number)")
        if self.say is None and self.from_ is not None:
            raise ValueError("`from` belongs to a `say` step")
        if not actions and self.expect is None:
            raise ValueError("an empty step: give say, advance, run_job, ehr or expect")
        return self

    @property
    def action(self) -> str | None:
        for name in ACTIONS:
            if getattr(self, name) is not None:
                return name
        return None

    def describe(self) -> str:
        """The step as written, one line (no expectation)."""
        if self.say is not None:
            channel = f" ({self.channel})" if self.channel != "sms" else ""
            return f"from {self.from_}{channel}: say {self.say!r}"
        if self.advance is not None:
            return f"advance {self.advance}"
        if self.run_job is not None:
            return f"run_job {self.run_job}"
        if self.ehr is not None:
            return f"ehr {self.ehr}"
        return "expect only"


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    clock: datetime
    timezone: str | None = None
    practitioners: list[Practitioner] = Field(default_factory=list)
    slots: list[Slot] = Field(default_factory=list)
    patients: list[Patient] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    _aware_clock = field_validator("clock")(_aware)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {value!r}") from None
        return value

    def patient(self, ref: str) -> Patient | None:
        return next((p for p in self.patients if p.id == ref), None)

    def phone_of(self, ref: str) -> str:
        """A `from`/`to`/`phone` reference as an E.164 number (a patient id, or the number itself)."""
        patient = self.patient(ref)
        return patient.phone if patient else ref

    def name_of(self, phone: str) -> str:
        """How a failure report names a number: the patient id when it is one (never the number)."""
        return next((p.id for p in self.patients if p.phone == phone), phone)


def _cross_reference_errors(scenario: Scenario, known_jobs: Iterable[str]) -> Iterator[str]:
    practitioners = {p.id for p in scenario.practitioners}
    patients = {p.id for p in scenario.patients}
    jobs = set(known_jobs)

    def person(where: str, ref: str | None) -> Iterator[str]:
        if ref is not None and ref not in patients and not E164.match(ref):
            yield f"{where}: unknown patient id {ref!r} (patients: {', '.join(sorted(patients)) or 'none'})"

    for i, slot in enumerate(scenario.slots):
        if slot.practitioner not in practitioners:
            yield f"slots.{i}.practitioner: unknown practitioner {slot.practitioner!r}"
    for i, patient in enumerate(scenario.patients):
        for j, appt in enumerate(patient.appointments):
            if appt.practitioner not in practitioners:
                where = f"patients.{i}.appointments.{j}.practitioner"
                yield f"{where}: unknown practitioner {appt.practitioner!r}"
    seen: set[str] = set()
    for i, patient in enumerate(scenario.patients):
        if patient.id in seen:
            yield f"patients.{i}.id: duplicate patient id {patient.id!r}"
        seen.add(patient.id)

    previous_action: Step | None = None
    ehr_down_since: int | None = None  # the EHR starts up
    for i, step in enumerate(scenario.steps):
        where = f"steps.{i}"
        yield from person(f"{where}.from", step.from_)
        if step.run_job is not None and step.run_job not in jobs:
            yield f"{where}.run_job: unknown job {step.run_job!r} (jobs: {', '.join(sorted(jobs))})"
        if step.ehr == "down":
            if ehr_down_since is not None:
                yield f"{where}.ehr: the EHR is already down (since steps.{ehr_down_since})"
            else:
                ehr_down_since = i
        elif step.ehr == "up":
            if ehr_down_since is None:
                yield f"{where}.ehr: the EHR is already up (it starts up; `ehr: down` first)"
            ehr_down_since = None
        if step.action is not None:
            previous_action = step
        expect = step.expect
        if expect is None:
            continue
        if expect.looks_at_action() and previous_action is None:
            yield f"{where}.expect: nothing happened before this step to check"
        if (expect.reply is not None or expect.not_reply is not None) and (
            previous_action is None or previous_action.say is None
        ):
            yield f"{where}.expect: reply/not_reply check a `say` step's replies"
        for j, sent in enumerate(expect.sms_sent):
            yield from person(f"{where}.expect.sms_sent.{j}.to", sent.to)
        for j, none_sent in enumerate(expect.no_sms_sent):
            yield from person(f"{where}.expect.no_sms_sent.{j}.to", none_sent.to)
        for j, appt_check in enumerate(expect.appointment):
            if appt_check.patient not in patients:
                yield f"{where}.expect.appointment.{j}.patient: unknown patient id {appt_check.patient!r}"
        for j, bookings in enumerate(expect.bookings):
            if bookings.practitioner is not None and bookings.practitioner not in practitioners:
                where_b = f"{where}.expect.bookings.{j}.practitioner"
                yield f"{where_b}: unknown practitioner {bookings.practitioner!r}"
        for j, opted in enumerate(expect.opted_out):
            yield from person(f"{where}.expect.opted_out.{j}.phone", opted.phone)


def _format_validation(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        lines.append(f"{key}: {message}")
    return lines


def parse_scenario(data: Any, source: str, known_jobs: Iterable[str]) -> Scenario:
    """Validate one scenario's parsed YAML; raises ScenarioError listing every problem."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario file holds one mapping (name, clock, steps, ...)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}:\n  " + "\n  ".join(_format_validation(exc))) from None
    problems = list(_cross_reference_errors(scenario, known_jobs))
    if problems:
        raise ScenarioError(f"{source}:\n  " + "\n  ".join(problems))
    return scenario


def load_scenario(path: Path, known_jobs: Iterable[str]) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(data, str(path), known_jobs)


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The `*.yaml`/`*.yml` files named, or found (recursively, sorted) under named folders."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    return found
