"""Which reminders an appointment gets, and exactly when: the rules every automated send keeps.

`plan_reminders` is pure: given the appointment, the practice's `ReminderPolicy`, what was already
sent to the patient (`SentMessage`s) and the clock, it returns each cadence step as a
`PlannedSend` (its idempotency key, channel and the exact instant it may go out) or a
`SkippedStep` with a named reason. The scheduler runs it again right before sending, with the
ledger as it is then; the plan at that moment is the authority (docs/decisions/0015).

Rules, in the order a step meets them:
1. already_sent: its key (`reminder#<appointment_id>#<step>`) is in the ledger, so a retried or
   re-run campaign never sends it twice.
2. no_consent / opted_out: automated messages only to a patient who consented and has not opted
   out. A staff call task is not an automated message and is not held back by either.
3. When: the step's due instant (`hours_before` elapsed hours before the visit), or the booking,
   the risk score, or now if any is later; then the first instant inside the send window on the
   patient's local clock. too_close when that is less than `min_lead_minutes` before the visit.
4. cap_day / cap_week: at most `max_per_day` automated messages on the patient's local calendar
   day and `max_per_week` in any rolling 7 x 24 hours, counting the ledger and this plan's sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from careline.config import ReminderPolicy, ReminderStep, SendWindow

WEEK = timedelta(days=7)
SendChannel = Literal["sms", "email", "call_task"]
MessageChannel = Literal["sms", "email"]


class SkipReason(StrEnum):
    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    TOO_CLOSE = "too_close"
    CAP_DAY = "cap_day"
    CAP_WEEK = "cap_week"
    ALREADY_SENT = "already_sent"


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class ReminderAppointment:
    """What the reminder rules need about one booked visit and its patient (no clinical detail)."""

    appointment_id: str
    patient_id: str
    starts_at: datetime
    booked_at: datetime
    scored_at: datetime  # when its no-show risk was scored (its tier is from that score)
    tier: str
    consent: bool  # the patient agreed to automated messages
    opted_out: bool  # and has not since opted out (STOP)
    preferred_channel: MessageChannel | None
    zone: ZoneInfo  # the patient's (careline.reminders.timezones.patient_zone)

    def __post_init__(self) -> None:
        if not self.appointment_id or "#" in self.appointment_id:
            raise ValueError("appointment_id must be non-empty and without '#' (it is part of a key)")
        for name in ("starts_at", "booked_at", "scored_at"):
            _require_aware(name, getattr(self, name))


@dataclass(frozen=True)
class SentMessage:
    """One entry of the patient's ledger: something already sent (or a call task already made).

    `key` is the idempotency key for reminders, any unique id for other automated messages. Every
    `sms` and `email` entry counts toward the caps, whatever sent it.
    """

    key: str
    sent_at: datetime
    channel: SendChannel

    def __post_init__(self) -> None:
        _require_aware("sent_at", self.sent_at)

    @property
    def is_message(self) -> bool:
        return self.channel != "call_task"


@dataclass(frozen=True)
class PlannedSend:
    key: str
    step: str
    channel: SendChannel
    send_at: datetime  # UTC

    @property
    def is_message(self) -> bool:
        return self.channel != "call_task"


@dataclass(frozen=True)
class SkippedStep:
    key: str
    step: str
    reason: SkipReason


@dataclass(frozen=True)
class ReminderPlan:
    sends: tuple[PlannedSend, ...]
    skipped: tuple[SkippedStep, ...]

    def reason(self, step: str) -> SkipReason | None:
        """Why `step` is skipped, or None when it is planned."""
        return next((s.reason for s in self.skipped if s.step == step), None)

    def send(self, step: str) -> PlannedSend | None:
        return next((s for s in self.sends if s.step == step), None)


def reminder_key(appointment_id: str, step: ReminderStep) -> str:
    """The idempotency key of one cadence step of one appointment: `reminder#<id>#<step>`."""
    return f"reminder#{appointment_id}#{step.name}"


def plan_reminders(
    appointment: ReminderAppointment,
    policy: ReminderPolicy,
    ledger: Iterable[SentMessage],
    now: datetime,
) -> ReminderPlan:
    """Each cadence step of the appointment's tier, planned at its exact allowed instant or skipped
    with its reason. Raises KeyError for a tier the policy does not have."""
    _require_aware("now", now)
    # All arithmetic in UTC: Python adds and compares two datetimes of one zone on the wall clock,
    # which would make "72 h before" wrong across a DST change.
    starts_at = appointment.starts_at.astimezone(UTC)
    entries = tuple(ledger)
    done = {entry.key for entry in entries}
    messages_sent = [entry.sent_at.astimezone(UTC) for entry in entries if entry.is_message]
    cutoff = starts_at - timedelta(minutes=policy.min_lead_minutes)
    earliest = max(
        appointment.booked_at.astimezone(UTC), appointment.scored_at.astimezone(UTC), now.astimezone(UTC)
    )
    # steps in the order they come due (most hours before first), so deferral keeps their order
    steps = sorted(policy.tier(appointment.tier).cadence, key=lambda s: -s.hours_before)

    sends: list[PlannedSend] = []
    skipped: list[SkippedStep] = []
    for step in steps:
        key = reminder_key(appointment.appointment_id, step)

        def skip(reason: SkipReason, key: str = key, step: ReminderStep = step) -> None:
            skipped.append(SkippedStep(key, step.name, reason))

        if key in done:
            skip(SkipReason.ALREADY_SENT)
            continue
        if step.is_message and not appointment.consent:
            skip(SkipReason.NO_CONSENT)
            continue
        if step.is_message and appointment.opted_out:
            skip(SkipReason.OPTED_OUT)
            continue
        due = starts_at - timedelta(hours=step.hours_before)
        send_at = next_allowed(max(due, earliest), policy.send_window, appointment.zone)
        if send_at is None or send_at > cutoff:
            skip(SkipReason.TOO_CLOSE)
            continue
        if step.is_message:
            if _day_count(messages_sent, send_at, appointment.zone) >= policy.max_per_day:
                skip(SkipReason.CAP_DAY)
                continue
            if _busiest_week(messages_sent, send_at) >= policy.max_per_week:
                skip(SkipReason.CAP_WEEK)
                continue
            messages_sent.append(send_at)
        channel: SendChannel = step.channel
        if step.is_message and appointment.preferred_channel is not None:
            channel = appointment.preferred_channel
        sends.append(PlannedSend(key, step.name, channel, send_at))
    return ReminderPlan(tuple(sends), tuple(skipped))


def next_allowed(instant: datetime, window: SendWindow, zone: ZoneInfo) -> datetime | None:
    """The first instant at or after `instant` whose wall time in `zone` is inside the window.

    The wall clock enters the window when it reaches `earliest`, or when a DST change makes it
    jump into the window; both are tried, each read from a real instant, so a skipped or repeated
    hour cannot move a send outside it. None only if no window opens within three days.
    """
    instant = instant.astimezone(UTC)
    if window.allows(instant.astimezone(zone).time()):
        return instant
    first_day = instant.astimezone(zone).date()
    candidates = _clock_changes(instant, instant + timedelta(days=3), zone)
    for offset in range(3):
        candidates += _readings(first_day + timedelta(days=offset), window.earliest, zone)
    for candidate in sorted(candidates):
        if candidate >= instant and window.allows(candidate.astimezone(zone).time()):
            return candidate
    return None


def _readings(day: date, wall: time, zone: ZoneInfo) -> list[datetime]:
    """The instants on `day` at which the wall clock in `zone` reads `wall`: two in a repeated hour,
    none in a skipped one (the clock change itself is a candidate of its own)."""
    found = []
    for fold in (0, 1):
        utc = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        back = utc.astimezone(zone)
        if back.date() == day and back.time() == wall:
            found.append(utc)
    return found


def _clock_changes(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants in [start, end] at which `zone`'s UTC offset changes (to the second)."""

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, zone).utcoffset()

    changes = []
    hour = 3600
    ts, last = int(start.timestamp()), int(end.timestamp())
    while ts < last:
        after = min(ts + hour, last)
        if offset(ts) != offset(after):
            low, high = ts, after  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == offset(ts):
                    low = middle
                else:
                    high = middle
            changes.append(datetime.fromtimestamp(high, UTC))
        ts = after
    return changes


def _day_count(sent: Sequence[datetime], at: datetime, zone: ZoneInfo) -> int:
    day = at.astimezone(zone).date()
    return sum(1 for s in sent if s.astimezone(zone).date() == day)


def _busiest_week(sent: Sequence[datetime], at: datetime) -> int:
    """The most messages in any 7 x 24 h window [start, start + 7 days) that would also hold `at`.

    The busiest such window starts at `at` or at one of the messages before it, so only those
    starts are tried.
    """
    starts = [at, *(s for s in sent if at - WEEK < s <= at)]
    return max(sum(1 for s in sent if start <= s < start + WEEK) for start in starts)
