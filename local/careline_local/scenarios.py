"""`careline scenario run`: each YAML scenario against a fresh in-process local stack.

Per scenario: a fresh moto (`mock_aws`), fresh resources, the local clock at the scenario's
`clock`, the practice timezone overridden by the scenario's `timezone`, and one shared FHIR dev
server reset and seeded with the scenario's practitioners, slots and patients. Steps run in order;
a scenario stops at its first failing step, since later steps would run from the wrong state.
An `ehr: down` step makes the EHR unreachable for the steps after it (a refused connection, as in a
real outage; see `LocalStack.ehr_down`) until an `ehr: up` step or the end of the scenario.
A voice step (`channel: voice`, `dtmf`, `hangup`) is a turn of the patient's call in progress, or
starts a call first (the voice contact function's greeting) when they are on none; calls are the
stack's (`LocalStack.start_call` / `say` / `press` / `hang_up`), running the real voice functions.
The reminder jobs (`risk_scoring`, `reminders`, `waitlist`) run the real scheduled functions on the
scenario's clock; `tier`, `outcome` and `waitlist` read what they stored through the same adapters,
and an `ehr_cancel` step cancels an appointment on the FHIR server behind Careline's back.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from careline.config import PracticeConfig, load_practice_config
from careline.conversation.model import EscalationReason, Queue

from careline_local.agents import AgentDesk, AgentRequestFailed
from careline_local.aws import in_process_aws, scan_items
from careline_local.calls import CallTurn
from careline_local.clock import LocalClock, parse_duration
from careline_local.fhir import (
    FhirClient,
    FhirDevServer,
    find_appointments,
    reset,
    seed_scenario,
)
from careline_local.jobs import job_names
from careline_local.paths import PRACTICE_CONFIG
from careline_local.scenario_model import (
    AgentStep,
    Expect,
    Scenario,
    ScenarioError,
    Step,
    load_scenario,
    scenario_files,
)
from careline_local.stack import EscalationView, LocalStack, Outcome

# appointment statuses that no longer hold their time (FHIR R4 AppointmentStatus)
RELEASED_STATUSES = frozenset({"cancelled", "noshow", "entered-in-error"})


@dataclass(frozen=True)
class StepFailure:
    index: int
    step: str
    expectation: str
    happened: str


@dataclass
class ScenarioResult:
    name: str
    source: Path
    failures: list[StepFailure] = field(default_factory=list)
    error: str | None = None  # the file did not validate or the stack could not start

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


def practice_for(scenario: Scenario, config: PracticeConfig) -> PracticeConfig:
    """The practice config with the scenario's timezone, if it names one."""
    if scenario.timezone is None:
        return config
    practice = config.practice.model_copy(update={"timezone": scenario.timezone})
    return config.model_copy(update={"practice": practice})


@contextlib.contextmanager
def scenario_stack(
    scenario: Scenario, config: PracticeConfig, config_path: Path, fhir_base_url: str | None
) -> Iterator[LocalStack]:
    """A fresh in-process stack for one scenario; the environment is restored afterwards."""
    with in_process_aws(
        config.deployment.region,
        config_path=str(config_path),
        origination_identity=config.practice.phone,
        fhir_base_url=fhir_base_url,
        reminder_concurrency=config.reminders.max_concurrency,
    ) as resources:
        stack = LocalStack(
            resources=resources,
            clock=LocalClock(scenario.clock),
            config=practice_for(scenario, config),
            fhir_base_url=fhir_base_url,
        )
        try:
            yield stack
        finally:
            stack.close()


class FhirForScenarios:
    """One FHIR dev server for a whole run, started on first need, reset and seeded per scenario."""

    def __init__(self) -> None:
        self._server: FhirDevServer | None = None
        self._client: FhirClient | None = None

    def prepare(self, scenario: Scenario, timezone: str) -> str | None:
        """Reset the server and seed `scenario`'s people and slots; returns the FHIR base URL."""
        if self._client is None:
            # Every scenario gets the EHR, seeded or empty, as every deployment has one.
            self._server = FhirDevServer(port=0)
            self._server.start()
            self._client = self._server.client()
        reset(self._client)
        data = scenario.model_dump(
            mode="json",
            by_alias=True,
            exclude_none=True,
            include={"clock", "practitioners", "slots", "patients"},
        )
        seed_scenario(self._client, data, timezone)
        return self._client.base_url

    def appointments(self, patient_id: str) -> list[dict[str, Any]]:
        return find_appointments(self._client, patient_id) if self._client else []

    def cancel_in_ehr(self, appointment_id: str) -> None:
        """Cancel the appointment on the FHIR server itself, as staff would in the EHR's screens:
        its status `cancelled`, the patient's participation declined, its slot free again."""
        if self._client is None:
            raise RuntimeError("no FHIR server for this scenario")
        appointment = self._client.read("Appointment", appointment_id)
        appointment["status"] = "cancelled"
        for participant in appointment.get("participant", []):
            if str(participant.get("actor", {}).get("reference", "")).startswith("Patient/"):
                participant["status"] = "declined"
        self._client.put(appointment)
        for reference in appointment.get("slot", []):
            slot_id = str(reference.get("reference", "")).removeprefix("Slot/")
            if slot_id:
                slot = self._client.read("Slot", slot_id)
                slot["status"] = "free"
                self._client.put(slot)

    def bookings(self, start: datetime, practitioner: str | None) -> list[dict[str, Any]]:
        """Every patient's appointments starting at `start` that still hold their time, with
        `practitioner` among the participants when given (status and id of each)."""
        if self._client is None:
            return []
        found = []
        for appt in self._client.search("Appointment", {"_count": "1000"}):
            begins = appt.get("start")
            if not begins or datetime.fromisoformat(begins) != start:
                continue
            if appt.get("status") in RELEASED_STATUSES:
                continue
            actors = {str(p.get("actor", {}).get("reference", "")) for p in appt.get("participant", [])}
            if practitioner is not None and f"Practitioner/{practitioner}" not in actors:
                continue
            found.append({"id": appt.get("id"), "status": appt.get("status")})
        return found

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.stop()
        self._server = self._client = None


class StepFailed(Exception):
    """An expectation did not hold; carries what was expected and what happened."""

    def __init__(self, expectation: str, happened: str) -> None:
        super().__init__(expectation)
        self.expectation = expectation
        self.happened = happened


def _quote_all(texts: Iterable[str]) -> str:
    quoted = [repr(t) for t in texts]
    return "; ".join(quoted) if quoted else "nothing"


class ScenarioRun:
    """The steps of one scenario against its stack: act, then check what the step said to expect."""

    def __init__(self, scenario: Scenario, stack: LocalStack, fhir: FhirForScenarios) -> None:
        self.scenario = scenario
        self.stack = stack
        self.fhir = fhir
        self.last_action: Step | None = None
        self.last_outcome = Outcome(sent=[], escalations=[])
        self.last_turn: CallTurn | None = None  # the last voice step's turn (None for a hang-up)
        self.last_greeting: str | None = None  # the greeting, when the last step started a call
        self.last_call_id: str | None = None  # the call the last voice step was on
        self.created: list[EscalationView] = []  # every escalation the scenario caused, in order
        self.agent_refusal: int | None = None  # the status of an agent step the panel refused

    def run(self) -> list[StepFailure]:
        for index, step in enumerate(self.scenario.steps):
            try:
                self.act(step)
                if step.expect is not None:
                    self.check(step.expect)
            except StepFailed as failed:
                return [StepFailure(index, step.describe(), failed.expectation, failed.happened)]
            except Exception as exc:  # noqa: BLE001 - a crash is this scenario's failure, not the run's
                happened = f"{type(exc).__name__}: {exc}"
                return [StepFailure(index, step.describe(), "the step to run", happened)]
        leaked = self._identifiers_in_table()
        if leaked:
            return [
                StepFailure(
                    len(self.scenario.steps),
                    "(after the last step) the table",
                    "no patient's name, phone number or date of birth in any key or unencrypted attribute",
                    f"found a patient's {', '.join(sorted(leaked))} in the table",
                )
            ]
        return []

    def _identifiers_in_table(self) -> set[str]:
        """Which kinds of the scenario's patient identifiers appear in the table in plain text.

        Every turn's PHI must be encrypted and every key a hash, so the raw scan of the whole table
        must not contain a seeded name, a sender's number or a date of birth (checked per scenario,
        so every conversation the scenarios hold is checked)."""
        needles: dict[str, str] = {}
        for patient in self.scenario.patients:
            needles[patient.name.lower()] = "name"
            family = patient.name.split()[-1].lower()
            if len(family) >= 4:
                needles[family] = "name"
            needles[patient.birthDate.isoformat()] = "date of birth"
            needles[patient.birthDate.strftime("%m/%d/%Y")] = "date of birth"
            needles[patient.phone[-10:]] = "phone number"
        for step in self.scenario.steps:
            if step.from_ and step.from_.startswith("+"):
                needles[step.from_[-10:]] = "phone number"
        raw = json.dumps(scan_items(self.stack.resources.region, self.stack.resources.table_name)).lower()
        return {kind for needle, kind in needles.items() if needle in raw}

    # -- actions -----------------------------------------------------------------------------------

    def act(self, step: Step) -> None:
        if step.action is None:
            return  # an expect-only step looks at the previous action's outcome
        self.agent_refusal = None
        self.last_action = step
        self.last_outcome = Outcome(sent=[], escalations=[])
        self.last_turn = self.last_greeting = self.last_call_id = None
        if step.on_call:
            self._act_on_call(step)
        elif step.say is not None:
            assert step.from_ is not None  # validated: a `say` step has `from`
            self.last_outcome = self.stack.send_sms(self.scenario.phone_of(step.from_), step.say)
        elif step.advance is not None:
            self.stack.clock.advance(parse_duration(step.advance))
        elif step.run_job is not None:
            report, self.last_outcome = self.stack.run_job(step.run_job)
            dead = report.counts.get("failed", 0) if step.run_job == "reminders" else 0
            if dead:
                # in AWS the dead-letter queue's alarm fires: a scenario never passes over one
                raise StepFailed("every due reminder sent or skipped", f"{report.summary}")
        elif step.ehr == "down":
            self.stack.ehr_down()
        elif step.ehr == "up":
            self.stack.ehr_up()
        elif step.ehr_cancel is not None:
            self.fhir.cancel_in_ehr(step.ehr_cancel)
        elif step.agent is not None:
            self._act_as_staff(step.agent)
        self.created.extend(self.last_outcome.escalations)

    def _act_as_staff(self, agent: AgentStep) -> None:
        """Staff at the panel act on the scenario's newest escalation; a refusal is kept for
        `agent_refused` (and fails the step if nothing expects it)."""
        if not self.created:
            raise StepFailed(f"an escalation for {agent.as_} to {agent.do}", "the scenario has none yet")
        target = self.created[-1].escalation_id
        desk = AgentDesk(self.stack)
        actions = {
            "view": lambda: desk.view(agent.as_, target, why=agent.why or "scenario check"),
            "accept": lambda: desk.accept(agent.as_, target),
            "reply": lambda: desk.reply(agent.as_, target, agent.text or ""),
            "hand_back": lambda: desk.hand_back(agent.as_, target),
        }
        self.agent_refusal = None
        try:
            _result, self.last_outcome = self.stack.observe(actions[agent.do])
        except AgentRequestFailed as refused:
            self.agent_refusal = refused.status

    def _act_on_call(self, step: Step) -> None:
        """A voice step: on the caller's call in progress, or on a new one (not for a hang-up)."""
        assert step.from_ is not None  # validated: a voice step has `from`
        caller = self.scenario.phone_of(step.from_)
        call = self.stack.open_call_from(caller)
        if step.hangup is not None:
            if call is None:
                raise StepFailed(f"a call from {step.from_} to hang up", "they are on no call")
            self.last_call_id = self.stack.hang_up(call.call_id).call_id
            return
        started: Outcome | None = None
        if call is None:
            start = self.stack.start_call(caller)
            self.last_greeting, started, call_id = start.greeting, start.outcome, start.call_id
        else:
            call_id = call.call_id
        self.last_call_id = call_id
        if step.dtmf is not None:
            turn = self.stack.press(call_id, step.dtmf)
        else:
            assert step.say is not None
            turn = self.stack.say(call_id, step.say, asr_confidence=step.asr_confidence)
        self.last_turn = turn
        if started is None:
            self.last_outcome = turn.outcome
        else:
            self.last_outcome = Outcome(
                sent=started.sent + turn.outcome.sent,
                escalations=started.escalations + turn.outcome.escalations,
                emails=started.emails + turn.outcome.emails,
            )

    # -- expectations ------------------------------------------------------------------------------

    def _who(self, phone: str) -> str:
        return self.scenario.name_of(phone)

    def _sent_summary(self) -> str:
        return _quote_all(f"to {self._who(m.to)}: {m.text}" for m in self.last_outcome.sent)

    def _escalation_summary(self) -> str:
        created = self.last_outcome.escalations
        if not created:
            return "no escalation was created"
        listed = "; ".join(", ".join(f"{k}={v}" for k, v in e.fields().items()) for e in created)
        return f"escalations created: {listed}"

    def _replies(self) -> list[str]:
        action = self.last_action
        if action is None or action.from_ is None:
            return []
        if action.on_call:
            # what the turn says (the greeting of a call the step started is checked by `greeting`)
            return list(self.last_turn.spoken) if self.last_turn is not None else []
        sender = self.scenario.phone_of(action.from_)
        return [m.text for m in self.last_outcome.replies_to(sender)]

    def check(self, expect: Expect) -> None:
        self._check_agent(expect)
        self._check_reply(expect)
        self._check_call(expect)
        self._check_sms(expect)
        self._check_escalations(expect)
        self._check_reminders(expect)
        self._check_emails(expect)
        self._check_state(expect)
        self._check_reminder_state(expect)
        self._check_workflow(expect)

    def _check_agent(self, expect: Expect) -> None:
        refused = self.agent_refusal
        if expect.agent_refused is not None and refused != expect.agent_refused:
            happened = f"the panel answered {refused}" if refused else "the panel did it"
            raise StepFailed(f"the panel to refuse with {expect.agent_refused}", happened)
        if expect.agent_refused is None and refused is not None:
            raise StepFailed("the panel to do it", f"the panel refused with {refused}")

    def _check_workflow(self, expect: Expect) -> None:
        if expect.workflow is None:
            return
        if not self.created:
            raise StepFailed(f"an escalation workflow {expect.workflow}", "the scenario has no escalation")
        newest = self.created[-1].escalation_id
        status = self.stack.escalation_executions().get(newest)
        if status != expect.workflow:
            raise StepFailed(f"the newest escalation's workflow {expect.workflow}", f"it is {status}")

    def _check_reply(self, expect: Expect) -> None:
        replies = self._replies()
        joined = "\n".join(replies)
        if expect.reply is not None and not re.search(expect.reply, joined):
            if self.last_action is not None and self.last_action.on_call:
                happened = f"spoken: {_quote_all(replies)}" if replies else "nothing was spoken"
            else:
                happened = f"replies: {_quote_all(replies)}" if replies else "no reply was sent"
            raise StepFailed(f"reply matching /{expect.reply}/", happened)
        if expect.not_reply is not None and re.search(expect.not_reply, joined):
            raise StepFailed(f"no reply matching /{expect.not_reply}/", f"replies: {_quote_all(replies)}")

    def _check_call(self, expect: Expect) -> None:
        turn = self.last_turn
        if expect.greeting is not None:
            if self.last_greeting is None:
                raise StepFailed(
                    f"a new call greeting matching /{expect.greeting}/",
                    "this step joined the call already in progress (no greeting)",
                )
            if not re.search(expect.greeting, self.last_greeting):
                raise StepFailed(
                    f"a greeting matching /{expect.greeting}/", f"greeting: {self.last_greeting!r}"
                )
        queue = turn.transfer_queue if turn is not None else None
        if expect.transfer is not None and queue != expect.transfer:
            happened = self._call_summary()
            raise StepFailed(f"a transfer to the {expect.transfer} queue", happened)
        if expect.no_transfer is not None and queue is not None:
            raise StepFailed("no transfer", self._call_summary())
        if expect.call_ended is not None and self.last_call_id is not None:
            ended = self.stack.call(self.last_call_id).ended
            if ended != expect.call_ended:
                wanted = "the call to have ended" if expect.call_ended else "the call to go on"
                raise StepFailed(wanted, self._call_summary())

    def _call_summary(self) -> str:
        if self.last_call_id is None:
            return "no call"
        call = self.stack.call(self.last_call_id)
        turn = self.last_turn
        action = f"Lex {turn.dialog_action}" if turn is not None else "the caller hung up"
        if call.transfer_queue:
            return f"{action}: transferred to the {call.transfer_queue} queue"
        if call.ended:
            return f"{action}: the call ended ({call.ended_by}), no transfer"
        return f"{action}: the call goes on, no transfer"

    def _check_sms(self, expect: Expect) -> None:
        sent = self.last_outcome.sent
        for wanted in expect.sms_sent:
            phone = self.scenario.phone_of(wanted.to)
            matching = [
                m
                for m in sent
                if m.to == phone and (wanted.matches is None or re.search(wanted.matches, m.text))
            ]
            if not matching:
                pattern = f" matching /{wanted.matches}/" if wanted.matches else ""
                raise StepFailed(f"an SMS to {wanted.to}{pattern}", f"SMS sent: {self._sent_summary()}")
        for unwanted in expect.no_sms_sent:
            if unwanted.to is None:
                if sent:
                    raise StepFailed("no SMS at all", f"SMS sent: {self._sent_summary()}")
                continue
            phone = self.scenario.phone_of(unwanted.to)
            if any(m.to == phone for m in sent):
                raise StepFailed(f"no SMS to {unwanted.to}", f"SMS sent: {self._sent_summary()}")

    def _check_escalations(self, expect: Expect) -> None:
        created = self.last_outcome.escalations
        for wanted in expect.escalation:
            given = wanted.given()
            if not any(given.items() <= e.fields().items() for e in created):
                described = ", ".join(f"{k}={v}" for k, v in given.items()) or "any fields"
                raise StepFailed(f"an escalation with {described}", self._escalation_summary())
        if expect.no_escalation is not None:
            given = expect.no_escalation.given()
            if any(given.items() <= e.fields().items() for e in created):
                described = ", ".join(f"{k}={v}" for k, v in given.items())
                what = f"no escalation with {described}" if given else "no escalation"
                raise StepFailed(what, self._escalation_summary())

    def _is_reminder(self, text: str) -> bool:
        """A text in the practice's reminder wording (either of its two forms)."""
        config = self.stack.config
        wording = config.reminders.wording
        for template in (wording.sms, wording.sms_short):
            pattern = ""
            for literal, name, _spec, _conversion in string.Formatter().parse(template):
                pattern += re.escape(literal)
                if name == "practice_name":
                    pattern += re.escape(config.practice.name)
                elif name is not None:
                    pattern += ".+?"
            if re.fullmatch(pattern, text.strip(), re.DOTALL):
                return True
        return False

    def _check_reminders(self, expect: Expect) -> None:
        by_job = self.last_action is not None and self.last_action.run_job == "reminders"
        for wanted in expect.reminder:
            phone = self.scenario.phone_of(wanted.to)
            reminders = [
                m for m in self.last_outcome.sent if m.to == phone and (by_job or self._is_reminder(m.text))
            ]
            matching = [m for m in reminders if wanted.matches is None or re.search(wanted.matches, m.text)]
            pattern = f" matching /{wanted.matches}/" if wanted.matches else ""
            if wanted.count is None and not matching:
                raise StepFailed(f"a reminder to {wanted.to}{pattern}", f"SMS sent: {self._sent_summary()}")
            if wanted.count is not None and len(matching) != wanted.count:
                raise StepFailed(
                    f"{wanted.count} reminder(s) to {wanted.to}{pattern}",
                    f"{len(matching)}; SMS sent: {self._sent_summary()}",
                )
        for task in expect.call_task:
            party = self.stack.party_of(self.scenario.phone_of(task.patient))
            if not any(
                e.reason == EscalationReason.REMINDER_CALL.value
                and e.queue == Queue.FRONT_DESK.value
                and e.party_id == party
                for e in self.last_outcome.escalations
            ):
                raise StepFailed(
                    f"a reminder call task for {task.patient} on the front desk queue",
                    self._escalation_summary(),
                )

    def _emails_summary(self) -> str:
        return _quote_all(
            f"to {self.scenario.email_owner(e.to)}: {e.subject} / {e.body}" for e in self.last_outcome.emails
        )

    def _check_emails(self, expect: Expect) -> None:
        emails = self.last_outcome.emails
        for wanted in expect.email_sent:
            address = self.scenario.email_of(wanted.to)
            if not any(
                e.to == address
                and (wanted.matches is None or re.search(wanted.matches, f"{e.subject}\n{e.body}"))
                for e in emails
            ):
                pattern = f" matching /{wanted.matches}/" if wanted.matches else ""
                raise StepFailed(
                    f"an email to {wanted.to}{pattern}", f"emails sent: {self._emails_summary()}"
                )
        for unwanted in expect.no_email_sent:
            if unwanted.to is None:
                if emails:
                    raise StepFailed("no email at all", f"emails sent: {self._emails_summary()}")
            elif any(e.to == self.scenario.email_of(unwanted.to) for e in emails):
                raise StepFailed(f"no email to {unwanted.to}", f"emails sent: {self._emails_summary()}")

    def _check_reminder_state(self, expect: Expect) -> None:
        for tier in expect.tier:
            visit = self.stack.watched_visit(tier.appointment)
            if visit is None or visit.tier != tier.value:
                happened = (
                    f"it is {visit.tier} (no-show probability {visit.probability:.3f})"
                    if visit is not None
                    else "no watched visit: scoring has not stored it"
                )
                raise StepFailed(f"visit {tier.appointment} in the {tier.value} tier", happened)
        for outcome in expect.outcome:
            visit = self.stack.watched_visit(outcome.appointment)
            if visit is None or visit.outcome != outcome.value:
                if visit is None:
                    happened = "no watched visit: scoring has not stored it"
                else:
                    happened = f"its outcome is {visit.outcome.value if visit.outcome else 'not recorded'}"
                    happened += ", cancelled" if visit.cancelled else ""
                raise StepFailed(f"visit {outcome.appointment}'s outcome {outcome.value.value}", happened)
        for waiting in expect.waitlist:
            on_list = self.stack.on_waitlist(waiting.patient)
            if on_list != waiting.on_list:
                wanted = "on the waitlist" if waiting.on_list else "off the waitlist"
                raise StepFailed(f"{waiting.patient} {wanted}", f"on the waitlist: {on_list}")

    def _check_state(self, expect: Expect) -> None:
        for opted in expect.opted_out:
            actual = self.stack.is_opted_out(self.scenario.phone_of(opted.phone))
            if actual != opted.value:
                raise StepFailed(f"opted_out of {opted.phone} is {opted.value}", f"it is {actual}")
        for appt in expect.appointment:
            found = self.fhir.appointments(appt.patient)
            if not any(
                a["start"] == appt.start
                and (appt.status is None or a["status"] == appt.status)
                and (appt.practitioner is None or a["practitioner"] == appt.practitioner)
                for a in found
            ):
                wanted = f"an appointment for {appt.patient} at {appt.start.isoformat()}"
                if appt.status:
                    wanted += f", {appt.status}"
                listed = "; ".join(
                    f"{a['start'].isoformat() if a['start'] else '?'} {a['status']} ({a['practitioner']})"
                    for a in found
                )
                raise StepFailed(wanted, f"appointments: {listed or 'none'}")
        for check in expect.bookings:
            held = self.fhir.bookings(check.start, check.practitioner)
            if len(held) != check.count:
                with_whom = f" with {check.practitioner}" if check.practitioner else ""
                wanted = f"{check.count} live appointment(s) at {check.start.isoformat()}{with_whom}"
                listed = "; ".join(f"{a['id']} {a['status']}" for a in held)
                raise StepFailed(wanted, f"{len(held)}: {listed or 'none'}")


def run_scenarios(
    paths: Iterable[str | Path],
    *,
    out: Callable[[str], None] = print,
    config_path: Path = PRACTICE_CONFIG,
) -> list[ScenarioResult]:
    """Run every scenario under `paths`, print one line each (and failures' details), then totals."""
    config = load_practice_config(config_path)
    results: list[ScenarioResult] = []
    fhir = FhirForScenarios()
    try:
        for path in scenario_files(paths):
            result = _run_file(path, config, config_path, fhir)
            results.append(result)
            _print_result(result, out)
    finally:
        fhir.close()
    passed = sum(r.passed for r in results)
    out(f"{passed} passed, {len(results) - passed} failed")
    return results


def _run_file(
    path: Path, config: PracticeConfig, config_path: Path, fhir: FhirForScenarios
) -> ScenarioResult:
    try:
        scenario = load_scenario(path, job_names())
    except ScenarioError as exc:
        return ScenarioResult(name=path.stem, source=path, error=str(exc))
    result = ScenarioResult(name=scenario.name, source=path)
    timezone = scenario.timezone or config.practice.timezone
    fhir_url = fhir.prepare(scenario, timezone)
    with scenario_stack(scenario, config, config_path, fhir_url) as stack:
        result.failures = ScenarioRun(scenario, stack, fhir).run()
    return result


def _print_result(result: ScenarioResult, out: Callable[[str], None]) -> None:
    if result.passed:
        out(f"PASS {result.name}")
        return
    out(f"FAIL {result.name} ({result.source})")
    if result.error:
        out("  invalid scenario: " + result.error.replace("\n", "\n  "))
    for failure in result.failures:
        out(f"  step {failure.index}: {failure.step}")
        out(f"    expected: {failure.expectation}")
        out(f"    happened: {failure.happened}")
