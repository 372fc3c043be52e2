"""The reminder SMS: the practice's name, the visit's day and time on the patient's clock, how to
reply and how to opt out, in one segment where possible.

The words are the practice's (`reminders.wording` in the config), and the config admits only two
placeholders, `{practice_name}` and `{when}`, and requires STOP: nothing clinical can reach a
reminder (no provider, specialty, visit type or reason), because nothing clinical is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from careline.config import ReminderWording
from careline.messages import is_gsm7, sms_segments
from careline.practice.hours import format_time


@dataclass(frozen=True)
class ReminderText:
    text: str
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    short: bool  # the shorter wording was used


def visit_when(starts_at: datetime, zone: ZoneInfo) -> str:
    """The visit's day and time as a text writes it, on the patient's clock: "Tue Dec 1 at 9:30am"."""
    local = starts_at.astimezone(zone)
    return f"{local:%a} {local:%b} {local.day} at {format_time(local.time())}"


def compose_reminder_sms(
    wording: ReminderWording, practice_name: str, starts_at: datetime, zone: ZoneInfo
) -> ReminderText:
    """The reminder in the practice's wording; the short wording when the first takes more than one
    segment (if both do, the one with fewer segments, so a long name still gets its reminder)."""
    when = visit_when(starts_at, zone)
    full = wording.sms.format(practice_name=practice_name, when=when).strip()
    if sms_segments(full) == 1:
        return _measured(full, short=False)
    brief = wording.sms_short.format(practice_name=practice_name, when=when).strip()
    if sms_segments(brief) <= sms_segments(full):
        return _measured(brief, short=True)
    return _measured(full, short=False)


def _measured(text: str, *, short: bool) -> ReminderText:
    return ReminderText(text, sms_segments(text), "GSM-7" if is_gsm7(text) else "UCS-2", short)
