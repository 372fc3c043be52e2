"""The reminder campaign: which reminders are due now, and sending one exactly once.

Two halves, one per step of the reminders state machine (docs/decisions/0016):

- `ReminderCampaign.plan` (the `Plan` state): every watched visit's cadence planned by
  `plan_reminders` against the patient's ledger, and the steps whose planned instant has come
  returned as `DueSend`s, in a line paced to the origination identity's messages-per-second limit:
  each gets `delay_seconds` = its place in line / MPS, which the state machine hands to SQS as the
  message's delay. A line longer than SQS's 15-minute delay allows (or than `MAX_SENDS_PER_RUN`, or
  `MAX_PLAN_BYTES` of state) is cut; the rest are due again at the next run. One run plans every
  visit of a patient together, so two visits' reminders cannot both take the same day's one
  message.
- `ReminderCampaign.deliver` (the sender, per queue message): the visit re-read and the step
  planned again with the ledger as it is now (the plan at that moment is the authority: a STOP,
  a cancellation or another message since the plan is honoured); the ledger key claimed with one
  conditional write, then the message sent. A claim that exists means it went (or is going) out
  already: nothing is sent twice, however often the campaign re-runs or a message is redelivered.
  A send refused for now (`SendUnavailable`, or a table that did not answer) releases its claim and
  raises, so the queue retries it; one that may have gone out (`SendUncertain`) or never will
  (`SendRejected`) keeps its claim and is reported `failed`: silence rather than a second text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from careline.config import PracticeConfig, format_phone
from careline.errors import SendRejected, SendUncertain
from careline.observability import logger
from careline.ports import Clock, Messenger
from careline.reminders.model import VisitOutcome, WatchedVisit
from careline.reminders.policy import (
    WEEK,
    PlannedSend,
    ReminderAppointment,
    SendChannel,
    SentMessage,
    plan_reminders,
)
from careline.reminders.ports import CallTasks, EmailSender, ReminderStore, ReplyScopes
from careline.reminders.text import compose_reminder_sms, visit_when

# SQS delays a message at most 15 minutes
MAX_DELAY_SECONDS: Final = 900
# one run's plan stays well inside Step Functions' 256 KB state and 25,000-event history limits
MAX_SENDS_PER_RUN: Final = 1_500
MAX_PLAN_BYTES: Final = 200_000
# a send re-planned this soon after its planned instant still goes (the queue's own delay)
SEND_TOLERANCE: Final = timedelta(minutes=1)
SCOPE_KEY: Final = "reminder"
# the nightly scoring missed a night (or never ran): the campaign has it run before planning
SCORES_STALE_AFTER: Final = timedelta(hours=26)
_CLOSED: Final = frozenset({VisitOutcome.CANCELLED, VisitOutcome.RESCHEDULED})


@dataclass(frozen=True)
class DueSend:
    appointment_id: str
    key: str
    step: str
    channel: SendChannel
    delay_seconds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "appointment_id": self.appointment_id,
            "key": self.key,
            "step": self.step,
            "channel": self.channel,
            "delay_seconds": self.delay_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DueSend:
        """Raises `ValueError` naming the field for a message that is not a due send."""
        for name in ("appointment_id", "key", "step", "channel"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ValueError(f"due send: {name} missing or not a string")
        channel = data["channel"]
        if channel not in ("sms", "email", "call_task"):
            raise ValueError("due send: channel must be sms, email or call_task")
        if not str(data["key"]).startswith(f"reminder#{data['appointment_id']}#"):
            raise ValueError("due send: key does not belong to the appointment")
        delay = data.get("delay_seconds", 0)
        return cls(data["appointment_id"], data["key"], data["step"], channel, int(delay) if delay else 0)


@dataclass(frozen=True)
class CampaignPlan:
    sends: tuple[DueSend, ...]
    counts: dict[str, int] = field(default_factory=dict)
    # nothing was planned: the scores are stale, and the state machine runs the scoring first
    scores_stale: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "sends": [s.to_json() for s in self.sends],
            "counts": dict(sorted(self.counts.items())),
            "scores_stale": self.scores_stale,
        }


@dataclass(frozen=True)
class Delivery:
    """What became of one due send: `sent` (with its channel), or why not."""

    outcome: str  # sent | skipped | not_yet | dropped | failed (kept as sent: never retried)
    reason: str | None = None
    channel: SendChannel | None = None


class ReminderCampaign:
    def __init__(
        self,
        *,
        config: PracticeConfig,
        store: ReminderStore,
        scopes: ReplyScopes,
        messenger: Messenger,
        calls: CallTasks,
        clock: Clock,
        email: EmailSender | None = None,
    ) -> None:
        self._config = config
        self._policy = config.reminders
        self._store = store
        self._scopes = scopes
        self._messenger = messenger
        self._calls = calls
        self._clock = clock
        self._email = email
        longest = max(step.hours_before for tier in self._policy.tiers for step in tier.cadence)
        self._lookahead = timedelta(hours=longest + 1)
        # a visit scored into a tier the config has since dropped gets the first tier's cadence
        self._tier_names = frozenset(t.name for t in self._policy.tiers)

    # --- the Plan state --------------------------------------------------------------------------

    def plan(self, *, after_scoring: bool = False) -> CampaignPlan:
        """The sends due now. Unless `after_scoring`, a campaign whose scores are older than
        `SCORES_STALE_AFTER` (a missed nightly run, a new deployment) plans nothing and says so."""
        now = self._clock.now().astimezone(UTC)
        last = self._store.last_scoring()
        if not after_scoring and (last is None or now - last > SCORES_STALE_AFTER):
            return CampaignPlan((), {"scores_stale": 1}, scores_stale=True)
        visits = self._store.visits_starting(now, now + self._lookahead)
        counts: Counter[str] = Counter()
        ledgers: dict[str, list[SentMessage]] = {}
        opted_out: dict[str, bool] = {}
        due: list[tuple[datetime, DueSend]] = []
        for visit in visits:
            if not self._open(visit):
                counts["visits_closed"] += 1
                continue
            counts["visits"] += 1
            ledger = ledgers.setdefault(visit.patient_id, self._store.ledger(visit.patient_id, now - WEEK))
            plan = plan_reminders(self._appointment(visit, opted_out), self._policy, ledger, now)
            for skipped in plan.skipped:
                counts[f"skipped_{skipped.reason.value}"] += 1
            for planned in plan.sends:
                if planned.send_at > now:
                    counts["later"] += 1
                    continue
                # what this run sends counts toward the caps of the patient's other visits
                ledger.append(SentMessage(planned.key, planned.send_at, planned.channel))
                item = DueSend(visit.appointment_id, planned.key, planned.step, planned.channel, 0)
                due.append((planned.send_at, item))
        due.sort(key=lambda pair: (pair[0], pair[1].key))
        paced: list[DueSend] = []
        # the origination identity's rate (deployment.sms): the queue releases sends at it
        per_second = self._config.deployment.sms.messages_per_second
        size = 0
        for place, (_, send) in enumerate(due):
            item = DueSend(send.appointment_id, send.key, send.step, send.channel, int(place / per_second))
            size += len(json.dumps(item.to_json())) + 2
            if item.delay_seconds > MAX_DELAY_SECONDS or place >= MAX_SENDS_PER_RUN or size > MAX_PLAN_BYTES:
                counts["next_run"] += len(due) - place
                break
            paced.append(item)
        counts["due"] = len(paced)
        return CampaignPlan(tuple(paced), dict(counts))

    # --- the sender ------------------------------------------------------------------------------

    def deliver(self, send: DueSend) -> Delivery:
        now = self._clock.now().astimezone(UTC)
        visit = self._store.visit(send.appointment_id)
        if visit is None or not self._open(visit) or visit.starts_at <= now:
            return Delivery("dropped", "visit_closed")
        ledger = self._store.ledger(visit.patient_id, now - WEEK)
        plan = plan_reminders(self._appointment(visit, {}), self._policy, ledger, now)
        planned = plan.send(send.step)
        if planned is None:
            reason = plan.reason(send.step)
            return Delivery("skipped", reason.value if reason is not None else "not_in_cadence")
        if planned.send_at > now + SEND_TOLERANCE:
            return Delivery("not_yet", planned.send_at.isoformat())
        if planned.channel == "call_task" and not (visit.call_phone or visit.phone):
            logger.warning("call step without a number on file", extra={"key": planned.key})
            return Delivery("skipped", "no_number")
        if not self._store.claim(visit.patient_id, planned.key, planned.channel, now):
            return Delivery("skipped", "already_sent")
        try:
            channel, text = self._send(visit, planned, now)
        except (SendUncertain, SendRejected) as exc:
            # it may have gone out, or never will: either way the claim stays, so it is not resent
            logger.error("reminder not confirmed sent", extra={"key": planned.key, "code": exc.code})
            return Delivery("failed", f"{type(exc).__name__}:{exc.code}", planned.channel)
        except Exception:
            self._store.release(visit.patient_id, planned.key)
            raise
        if channel != "call_task":
            self._open_scope(visit, planned, text, now)
        self._store.record_outcome(visit.appointment_id, VisitOutcome.REMINDED, now)
        return Delivery("sent", channel=channel)

    def _send(self, visit: WatchedVisit, planned: PlannedSend, now: datetime) -> tuple[SendChannel, str]:
        zone = ZoneInfo(visit.zone)
        name = self._config.practice.name
        if planned.channel == "call_task":
            when = visit_when(visit.starts_at, zone)
            reason = (
                f"Reminder call ({visit.tier} no-show risk, {visit.probability:.0%}): please call to "
                f"confirm the visit {when}."
            )
            return "call_task", self._calls.create_call_task(visit, reason, now)
        if planned.channel == "email" and self._email is not None and visit.email:
            wording = self._policy.wording
            when = visit_when(visit.starts_at, zone)
            subject = wording.email_subject.format(practice_name=name, when=when)
            body = wording.email_body.format(
                practice_name=name, when=when, practice_phone=format_phone(self._config.practice.phone)
            )
            self._email.send_email(visit.email, subject, body)
            return "email", body
        if visit.phone is None:
            raise _Unreachable(visit.appointment_id)
        text = compose_reminder_sms(self._policy.wording, name, visit.starts_at, zone).text
        self._messenger.send_sms(visit.phone, text)
        return "sms", text

    def _open_scope(self, visit: WatchedVisit, planned: PlannedSend, text: str, now: datetime) -> None:
        """Leave the reminder on the patient's conversation, so "C", "R" or "X" acts on this visit."""
        if visit.phone is None:
            return
        scope = {
            "appointment_id": visit.appointment_id,
            "patient_id": visit.patient_id,
            "practitioner_id": visit.practitioner_id,
            "starts_at": visit.starts_at.isoformat(),
            "ends_at": visit.ends_at.isoformat(),
            "zone": visit.zone,
            "step": planned.step,
            "sent_at": now.isoformat(),
        }
        try:
            self._scopes.open_scope(visit.phone, SCOPE_KEY, scope, text, now)
        except Exception:  # noqa: BLE001 - sent and claimed: failing now would not unsend it
            # sent and claimed: never resent. The reply then reaches the ordinary dialogs.
            logger.exception("reminder sent but its reply scope was not saved", extra={"key": planned.key})

    def _open(self, visit: WatchedVisit) -> bool:
        return not visit.cancelled and visit.outcome not in _CLOSED

    def _appointment(self, visit: WatchedVisit, opted_out: dict[str, bool]) -> ReminderAppointment:
        if visit.phone is None:
            stopped = False
        elif visit.phone in opted_out:
            stopped = opted_out[visit.phone]
        else:
            stopped = opted_out[visit.phone] = self._scopes.is_opted_out(visit.phone)
        channel = visit.preferred_channel
        if channel == "email" and (self._email is None or not visit.email):
            channel = "sms" if visit.phone else None
        consent = visit.consent and (visit.phone is not None or channel == "email")
        return ReminderAppointment(
            appointment_id=visit.appointment_id,
            patient_id=visit.patient_id,
            starts_at=visit.starts_at,
            booked_at=visit.booked_at,
            scored_at=visit.scored_at,
            tier=visit.tier if visit.tier in self._tier_names else self._policy.tiers[0].name,
            consent=consent,
            opted_out=stopped,
            preferred_channel=channel,
            zone=ZoneInfo(visit.zone),
        )


class _Unreachable(RuntimeError):
    def __init__(self, appointment_id: str) -> None:
        super().__init__(f"visit {appointment_id}: no number to text and no email to send")
