"""Appointment reminders that cut no-shows: the rules, pure (docs/decisions/0015).

`tier_for` (`careline.reminders.tiers`) turns a visit's calibrated no-show probability into its
reminder tier; `patient_zone` (`careline.reminders.timezones`) finds the zone a patient's quiet hours
are counted in; `plan_reminders` (`careline.reminders.policy`) plans each cadence step at its exact
allowed instant or skips it with a named reason; `compose_reminder_sms` (`careline.reminders.text`)
writes the text. The campaign state machine and the scheduler that send them are later work.
"""

from careline.reminders.policy import (
    PlannedSend,
    ReminderAppointment,
    ReminderPlan,
    SentMessage,
    SkippedStep,
    SkipReason,
    next_allowed,
    plan_reminders,
    reminder_key,
)
from careline.reminders.text import ReminderText, compose_reminder_sms, visit_when
from careline.reminders.tiers import tier_for
from careline.reminders.timezones import PatientZone, ZoneSource, area_code, patient_zone

__all__ = [
    "PatientZone",
    "PlannedSend",
    "ReminderAppointment",
    "ReminderPlan",
    "ReminderText",
    "SentMessage",
    "SkipReason",
    "SkippedStep",
    "ZoneSource",
    "area_code",
    "compose_reminder_sms",
    "next_allowed",
    "patient_zone",
    "plan_reminders",
    "reminder_key",
    "tier_for",
    "visit_when",
]
