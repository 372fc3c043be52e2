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

- phone calls: `channel: voice` on a `say` step (the default is `sms`) makes it what the caller
  says on a call, as Lex hears it (a Speech turn through the real voice turn function, with an
  optional `asr_confidence: 0.42`, Lex's transcription confidence, 0 to 1). A `dtmf: "03141984"`
  step is keypad input (digits and `*`, quoted so YAML keeps leading zeros; Lex's `#` end key is
  not part of it) and `hangup: true` hangs up; both are voice steps without saying so. A voice
  step from a patient uses their call in progress, and starts one when there is none (the voice
  contact function greets the caller; a call ends when the caller hangs up, or when the practice
  closes it: a goodbye, or a transfer to a queue). `reply` / `not_reply` match what that turn
  says, as plain text (SSML tags removed); `sms_sent`, `escalation` and the rest work as on SMS,
  so "text me the options" on a call expects an `sms_sent`. Voice expectations:
  `greeting: <regex>` (the greeting of the call that step started; failing if it joined a call
  in progress), `transfer: <queue>` (front_desk, billing, nurse or crisis) or `no_transfer: true`,
  and `call_ended: true` (or `false`: the call is still open).

      - from: maria
        channel: voice
        say: "I'd like to talk to someone"
        expect:
          greeting: "(?i)thank you for calling"
          reply: "(?i)connecting you with our front desk"
          transfer: front_desk
          call_ended: true
      - from: maria
        dtmf: "03141984"
      - from: maria
        hangup: true

- staff at the agent panel: `agent: {as: <group>, do: view|accept|reply|hand_back}` (with `text` for a
  reply, optional `why` for a view) acts, as the demo member of that group (front_desk, billing,
  nurse, supervisor), on the scenario's newest escalation, through the very agent API handler. A
  refusal fails the step unless it expects `agent_refused: 403` (or 400, 404, 409). `workflow:
  SUCCEEDED` (or RUNNING, FAILED, TIMED_OUT, ABORTED) checks the Step Functions execution of the
  scenario's newest escalation; `run_job: escalation_sla` fails the waits whose SLA the local clock
  has passed.

      - agent: {as: nurse, do: accept}
        expect:
          workflow: SUCCEEDED
      - agent: {as: nurse, do: reply, text: "Hi, this is Sam, a nurse here."}
        expect:
          sms_sent: {to: maria, matches: "(?i)this is Sam"}
      - agent: {as: front_desk, do: view}
        expect:
          agent_refused: 403

- reminders and the waitlist (issue 6). A patient may carry what the nightly risk scoring and the
  campaign read from the EHR: `address: {state: NY, city?, postalCode?}` (the patient's time zone
  for quiet hours), `email`, `phone_use` (`mobile`, the default: a number the patient gave for
  texts; `home` or `work`: a landline, so no consent to automated texts), `email_preferred: true`
  (the email ranked ahead of the number: reminders go by email), `gender`, `conditions` (ICD-10
  codes, active Conditions) and `coverage` (`medicaid`, `private` or `none`). An appointment may
  be in the past with status `fulfilled`, `noshow` or `cancelled` (the patient's history the risk
  model reads; `fulfilled` and `noshow` must start before the scenario's clock), and may say when
  it was `booked` (FHIR `Appointment.created`; by default 7 days before the clock, or before its
  start when that is earlier). The jobs `risk_scoring`, `reminders` and `waitlist` run the nightly
  scoring, one campaign run and the waitlist backfill on the local clock, so `advance` + `run_job`
  walks a campaign through its days.

      patients:
        - id: jules
          name: Jules Ortega
          birthDate: 2004-02-11
          phone: "+12125550147"
          address: {state: NY, city: Brooklyn}
          coverage: medicaid
          appointments:
            - {id: j-past-1, practitioner: dr-chen, start: 2025-11-03T10:00:00-08:00, minutes: 20,
               status: noshow}
            - {id: j1, practitioner: dr-chen, start: 2026-03-19T09:00:00-07:00, minutes: 20,
               booked: 2026-01-20T11:00:00-08:00}

  Expectations: `reminder: {to, count?, matches?}` (reminder texts the step sent the patient: every
  SMS of a `run_job: reminders` step, else the SMS whose text has the reminder wording; `count` is
  exact, without it at least one), `email_sent: {to, matches?}` / `no_email_sent: {to?}` (`to`: a
  patient id or an address; `matches` is tried on the subject and the body), `call_task: {patient}`
  (the step created a `reminder_call` escalation on the front desk queue for that patient),
  `tier: {appointment, value}` and `outcome: {appointment, value}` (the watched visit as stored:
  its risk tier, and how it ended: reminded, confirmed, rescheduled, cancelled, no_show, attended)
  and `waitlist: {patient, on_list}` (whether the patient is on the waitlist now).

      - run_job: risk_scoring
        expect:
          tier: {appointment: j1, value: high}
      - run_job: reminders
        expect:
          reminder: {to: jules, count: 1, matches: "Thu Mar 19 at 12pm"}
      - from: jules
        say: "C"
        expect:
          outcome: {appointment: j1, value: confirmed}

- the step action `ehr_cancel: <appointment id>`: the appointment is cancelled in the EHR itself
  (as the front desk would in the EHR's own screens: its status `cancelled`, its slot free again),
  so Careline learns of it only on its next sync, the `risk_scoring` job.
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
from careline.reminders.model import VisitOutcome
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from careline_local.clock import parse_duration

E164 = re.compile(E164_PATTERN)
ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
# an ICD-10(-CM) code: a letter, two characters, then optionally a dot and up to four more
ICD10 = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"
# appointment statuses that say the visit already happened (or did not): they need a past start
PAST_STATUSES = ("fulfilled", "noshow")


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
    # when it was booked (FHIR Appointment.created): the risk model's lead time
    booked: datetime | None = None

    _aware_start = field_validator("start")(_aware)

    @field_validator("booked")
    @classmethod
    def _booked_before_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        _aware(value)
        start = info.data.get("start")
        if isinstance(start, datetime) and start.tzinfo is not None and value > start:
            raise ValueError("must be at or before `start` (a visit is booked before it happens)")
        return value


class Address(_Strict):
    """Where the patient lives: the state gives their time zone for quiet hours."""

    state: str = Field(pattern=r"^[A-Z]{2}$")
    city: str | None = Field(default=None, min_length=1)
    postalCode: str | None = Field(default=None, pattern=r"^\d{5}(-\d{4})?$")  # the FHIR spelling


class Patient(_Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    birthDate: date  # the FHIR spelling, as in the format
    phone: str
    # a mobile number is one the patient gave for texts; a home or work number is a landline
    phone_use: Literal["mobile", "home", "work"] = "mobile"
    email: str | None = Field(default=None, pattern=EMAIL)
    email_preferred: bool = False
    address: Address | None = None
    gender: Literal["female", "male", "other", "unknown"] | None = None
    mrn: str | None = None
    conditions: list[str] = Field(default_factory=list)
    coverage: Literal["medicaid", "private", "none"] | None = None
    appointments: list[Appointment] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("phone must be E.164, like +15035550142")
        return value

    @field_validator("conditions")
    @classmethod
    def _icd10(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not re.match(ICD10, code)]
        if bad:
            raise ValueError(f"not ICD-10 codes: {', '.join(bad)} (like E11.9 or I10)")
        return value

    @field_validator("email_preferred")
    @classmethod
    def _email_for_preference(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("email") is None:
            raise ValueError("needs the patient's `email` (there is nothing to prefer without one)")
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


class ReminderCheck(_Strict):
    """Reminder texts the step sent `to`: exactly `count` when given, else at least one."""

    to: str
    count: int | None = Field(default=None, ge=0)
    matches: str | None = None

    _regex_matches = field_validator("matches")(_regex)


class EmailSent(_Strict):
    """An email the step sent `to` (a patient id or an address), subject or body matching `matches`."""

    to: str
    matches: str | None = None

    _regex_matches = field_validator("matches")(_regex)


class NoEmailSent(_Strict):
    """No email from this step to `to`; without `to`, none at all."""

    to: str | None = None


class CallTaskCheck(_Strict):
    """The step asked the front desk to call `patient` about a visit (a `reminder_call` escalation)."""

    patient: str


class TierCheck(_Strict):
    """The stored risk tier of a watched visit."""

    appointment: str
    value: str = Field(pattern=ID)


class OutcomeCheck(_Strict):
    """How a watched visit ended, as recorded."""

    appointment: str
    value: VisitOutcome


class WaitlistCheck(_Strict):
    patient: str
    on_list: bool


def _one_or_many(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


class Expect(_Strict):
    reply: str | None = None
    not_reply: str | None = None
    greeting: str | None = None
    transfer: Queue | None = None
    no_transfer: Literal[True] | None = None
    call_ended: bool | None = None
    sms_sent: list[SmsSent] = Field(default_factory=list)
    no_sms_sent: list[NoSmsSent] = Field(default_factory=list)
    escalation: list[EscalationFields] = Field(default_factory=list)
    no_escalation: EscalationFields | None = None
    appointment: list[AppointmentCheck] = Field(default_factory=list)
    bookings: list[BookingsCheck] = Field(default_factory=list)
    opted_out: list[OptedOutCheck] = Field(default_factory=list)
    # the escalation workflow (Step Functions execution) of the scenario's newest escalation
    workflow: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] | None = None
    # an `agent` step the panel refused (403: not their queue, 409: already taken or opted out)
    agent_refused: Literal[400, 403, 404, 409] | None = None
    # reminders and the waitlist
    reminder: list[ReminderCheck] = Field(default_factory=list)
    email_sent: list[EmailSent] = Field(default_factory=list)
    no_email_sent: list[NoEmailSent] = Field(default_factory=list)
    call_task: list[CallTaskCheck] = Field(default_factory=list)
    tier: list[TierCheck] = Field(default_factory=list)
    outcome: list[OutcomeCheck] = Field(default_factory=list)
    waitlist: list[WaitlistCheck] = Field(default_factory=list)

    _regexes = field_validator("reply", "not_reply", "greeting")(_regex)

    @field_validator(
        "sms_sent",
        "no_sms_sent",
        "escalation",
        "appointment",
        "bookings",
        "opted_out",
        "reminder",
        "email_sent",
        "no_email_sent",
        "call_task",
        "tier",
        "outcome",
        "waitlist",
        mode="before",
    )
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _one_or_many(value)

    @field_validator("no_transfer", mode="before")
    @classmethod
    def _no_transfer(cls, value: Any) -> Any:
        if value is False:
            raise ValueError("use `no_transfer: true`; `false` checks nothing")
        return value

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
            or self.agent_refused is not None
            or self.reminder
            or self.email_sent
            or self.no_email_sent
            or self.call_task
            or self.voice_checks()
        )

    def voice_checks(self) -> list[str]:
        """The call expectations given (they need a voice step before them)."""
        names = ("greeting", "transfer", "no_transfer", "call_ended")
        return [name for name in names if getattr(self, name) is not None]


ACTIONS = ("say", "dtmf", "hangup", "advance", "run_job", "ehr", "ehr_cancel", "agent")
# Actions of a person (they take `from`); `dtmf` and `hangup` happen on a call.
PERSON_ACTIONS = ("say", "dtmf", "hangup")
CALL_ONLY_ACTIONS = ("dtmf", "hangup")
EHR_STATES = ("down", "up")
DTMF_DIGITS = re.compile(r"^[0-9*]{1,64}$")


class AgentStep(_Strict):
    """Staff at the agent panel, signed in as the demo member of a group, acting on the newest
    escalation of the scenario: `view` (an audited read, `why` required by the panel), `accept`,
    `reply` (`text`, sent to the patient by SMS) or `hand_back`."""

    as_: Literal["front_desk", "billing", "nurse", "supervisor"] = Field(alias="as")
    do: Literal["view", "accept", "reply", "hand_back"]
    text: str | None = Field(default=None, min_length=1)
    why: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _text_for_reply(self) -> AgentStep:
        if (self.do == "reply") != (self.text is not None):
            raise ValueError("`text` is what a `reply` says, and only a reply has it")
        if self.why is not None and self.do != "view":
            raise ValueError("`why` belongs to `view`")
        return self


class Step(_Strict):
    from_: str | None = Field(default=None, alias="from")
    channel: Literal["sms", "voice"] = "sms"
    say: str | None = None
    dtmf: str | None = None
    hangup: Literal[True] | None = None
    asr_confidence: float | None = Field(default=None, ge=0, le=1)
    advance: str | None = None
    run_job: str | None = None
    ehr: Literal["down", "up"] | None = None
    # an appointment cancelled in the EHR itself (Careline sees it on its next sync)
    ehr_cancel: str | None = Field(default=None, pattern=ID)
    agent: AgentStep | None = None
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

    @field_validator("dtmf", mode="before")
    @classmethod
    def _keypad(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                'quote the keys, like dtmf: "03141984" (YAML reads bare digits as a number,'
                " dropping leading zeros)"
            )
        if not isinstance(value, str) or not DTMF_DIGITS.match(value):
            detail = " (leave out the # end key)" if isinstance(value, str) and "#" in value else ""
            raise ValueError(f'`dtmf` is keypad keys, digits 0-9 and *, like "03141984"{detail}')
        return value

    @field_validator("hangup", mode="before")
    @classmethod
    def _hangup(cls, value: Any) -> Any:
        if value is False:
            raise ValueError("write `hangup: true`; `false` does nothing")
        return value

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
        action = actions[0] if actions else None
        if action in PERSON_ACTIONS and self.from_ is None:
            raise ValueError(f"a `{action}` step needs `from` (a patient id or an E.164 number)")
        if action not in PERSON_ACTIONS and self.from_ is not None:
            raise ValueError("`from` belongs to a `say` step (or a call's `dtmf` or `hangup`)")
        if "channel" in self.model_fields_set and action not in PERSON_ACTIONS:
            raise ValueError("`channel` belongs to a `say` step")
        if action in CALL_ONLY_ACTIONS and self.channel != "voice" and "channel" in self.model_fields_set:
            raise ValueError(f"`{action}` happens on a call: drop `channel: sms` (it is a voice step)")
        if self.asr_confidence is not None and not (action == "say" and self.channel == "voice"):
            raise ValueError("`asr_confidence` belongs to a `say` step with `channel: voice`")
        if not actions and self.expect is None:
            raise ValueError(
                "an empty step: give say, dtmf, hangup, advance, run_job, ehr, ehr_cancel, agent or expect"
            )
        return self

    @property
    def action(self) -> str | None:
        for name in ACTIONS:
            if getattr(self, name) is not None:
                return name
        return None

    @property
    def on_call(self) -> bool:
        """True for a step on a phone call: a voice `say`, a `dtmf` or a `hangup`."""
        return (
            self.dtmf is not None
            or self.hangup is not None
            or (self.say is not None and self.channel == "voice")
        )

    def describe(self) -> str:
        """The step as written, one line (no expectation)."""
        if self.say is not None:
            channel = f" ({self.channel})" if self.channel != "sms" else ""
            return f"from {self.from_}{channel}: say {self.say!r}"
        if self.dtmf is not None:
            return f"from {self.from_} (voice): dtmf {self.dtmf!r}"
        if self.hangup is not None:
            return f"from {self.from_} (voice): hang up"
        if self.advance is not None:
            return f"advance {self.advance}"
        if self.run_job is not None:
            return f"run_job {self.run_job}"
        if self.ehr is not None:
            return f"ehr {self.ehr}"
        if self.ehr_cancel is not None:
            return f"ehr_cancel {self.ehr_cancel}"
        if self.agent is not None:
            return f"agent ({self.agent.as_}): {self.agent.do}"
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

    def email_of(self, ref: str) -> str:
        """An email reference as an address (a patient id with an `email`, or the address itself)."""
        patient = self.patient(ref)
        return (patient.email or "") if patient else ref

    def email_owner(self, address: str) -> str:
        """How a failure report names an email address: the patient id when it is one's."""
        return next((p.id for p in self.patients if p.email == address), "an address")

    def appointment_ids(self) -> set[str]:
        return {a.id for p in self.patients for a in p.appointments}


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
    appointment_ids: set[str] = set()
    for i, patient in enumerate(scenario.patients):
        if patient.id in seen:
            yield f"patients.{i}.id: duplicate patient id {patient.id!r}"
        seen.add(patient.id)
        for j, appt in enumerate(patient.appointments):
            where = f"patients.{i}.appointments.{j}"
            if appt.id in appointment_ids:
                yield f"{where}.id: duplicate appointment id {appt.id!r}"
            appointment_ids.add(appt.id)
            if appt.status in PAST_STATUSES and appt.start >= scenario.clock:
                yield f"{where}.start: a {appt.status} visit happened before the scenario's clock"

    def patient_ref(where: str, ref: str) -> Iterator[str]:
        if ref not in patients:
            yield f"{where}: unknown patient id {ref!r} (patients: {', '.join(sorted(patients)) or 'none'})"

    def appointment_ref(where: str, ref: str) -> Iterator[str]:
        if ref not in appointment_ids:
            known = ", ".join(sorted(appointment_ids)) or "none"
            yield f"{where}: unknown appointment id {ref!r} (appointments: {known})"

    def mailbox(where: str, ref: str | None) -> Iterator[str]:
        if ref is None or re.match(EMAIL, ref):
            return
        patient = scenario.patient(ref)
        if patient is None:
            yield f"{where}: neither a patient id nor an email address: {ref!r}"
        elif patient.email is None:
            yield f"{where}: patient {ref!r} has no `email`"

    previous_action: Step | None = None
    ehr_down_since: int | None = None  # the EHR starts up
    calling: set[str] = set()  # who may be on a call (a call can also end by the practice closing it)
    for i, step in enumerate(scenario.steps):
        where = f"steps.{i}"
        yield from person(f"{where}.from", step.from_)
        if step.from_ is not None and step.on_call:
            caller = scenario.phone_of(step.from_)
            if step.hangup is not None:
                if caller not in calling:
                    yield f"{where}.hangup: {step.from_} is not on a call (a voice step starts one)"
                calling.discard(caller)
            else:
                calling.add(caller)
        if step.run_job is not None and step.run_job not in jobs:
            yield f"{where}.run_job: unknown job {step.run_job!r} (jobs: {', '.join(sorted(jobs))})"
        if step.ehr_cancel is not None:
            yield from appointment_ref(f"{where}.ehr_cancel", step.ehr_cancel)
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
            previous_action is None or (previous_action.say is None and previous_action.dtmf is None)
        ):
            yield f"{where}.expect: reply/not_reply check a `say` step's replies (or a call's `dtmf` step's)"
        if expect.agent_refused is not None and (previous_action is None or previous_action.agent is None):
            yield f"{where}.expect: agent_refused checks an `agent` step"
        voice_checks = expect.voice_checks()
        if voice_checks and previous_action is not None and not previous_action.on_call:
            yield (
                f"{where}.expect: {', '.join(voice_checks)} check a call: a `say` step with `channel: voice`,"
                " or a `dtmf` or `hangup` step"
            )
        elif previous_action is not None and previous_action.hangup is not None:
            said = [
                name for name in ("greeting", "transfer", "no_transfer") if getattr(expect, name) is not None
            ]
            if said:
                yield f"{where}.expect: {', '.join(said)} check a turn of a call; a hang-up has none"
        if expect.transfer is not None and expect.no_transfer is not None:
            yield f"{where}.expect: `transfer` and `no_transfer` contradict each other"
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
        for j, reminder in enumerate(expect.reminder):
            yield from person(f"{where}.expect.reminder.{j}.to", reminder.to)
        for j, email in enumerate(expect.email_sent):
            yield from mailbox(f"{where}.expect.email_sent.{j}.to", email.to)
        for j, no_email in enumerate(expect.no_email_sent):
            yield from mailbox(f"{where}.expect.no_email_sent.{j}.to", no_email.to)
        for j, task in enumerate(expect.call_task):
            yield from patient_ref(f"{where}.expect.call_task.{j}.patient", task.patient)
        for j, waiting in enumerate(expect.waitlist):
            yield from patient_ref(f"{where}.expect.waitlist.{j}.patient", waiting.patient)
        for j, tier in enumerate(expect.tier):
            yield from appointment_ref(f"{where}.expect.tier.{j}.appointment", tier.appointment)
        for j, outcome in enumerate(expect.outcome):
            yield from appointment_ref(f"{where}.expect.outcome.{j}.appointment", outcome.appointment)


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
