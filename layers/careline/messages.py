"""The message catalog: every patient-facing string, per channel, and SMS segment arithmetic.

The practice writes the words in `config/practice.yaml` (`messages:`); the code only names a key and
supplies values. `MESSAGE_PLACEHOLDERS` is the contract between the two: the placeholders each key
is rendered with. The config loader checks every template against it, so a typo in a placeholder is
a `ConfigError` at load, never a broken text to a patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Final

from careline.conversation.model import Channel

# Supplied to every message.
COMMON_PLACEHOLDERS: Final = frozenset({"practice_name", "practice_phone", "website"})

# The placeholders each message key supplies, on top of COMMON_PLACEHOLDERS.
MESSAGE_PLACEHOLDERS: Final[Mapping[str, frozenset[str]]] = {
    # keywords (carrier rules)
    "opt_out_ack": frozenset(),
    "help": frozenset(),
    "opt_in_ack": frozenset(),
    # safety protocol
    "safety_emergency": frozenset(),
    "safety_crisis": frozenset(),
    # an emergency with crisis signs too (an attempt in progress): 911 first, and 988 as well
    "safety_emergency_and_crisis": frozenset(),
    # small talk
    "greeting": frozenset(),
    "goodbye": frozenset(),
    # practice information
    "hours_open_now": frozenset({"closes"}),
    "hours_opens_later_today": frozenset({"opens", "closes"}),
    "hours_closed_now": frozenset({"next_open"}),
    "hours_closed_today": frozenset({"reason", "next_open"}),
    "hours_week": frozenset({"week"}),
    # one day asked about ("open saturday?", "open christmas eve?"): `day` names it, with the
    # holiday or closure in brackets; `next_open` is when we open again after it
    "hours_day_open": frozenset({"day", "opens", "closes"}),
    "hours_day_closed": frozenset({"day", "next_open"}),
    "hours_day_closed_observed": frozenset({"day", "observed", "next_open"}),
    "hours_tomorrow_open": frozenset({"day", "opens", "closes"}),
    "hours_tomorrow_closed": frozenset({"day", "next_open"}),
    # hours for the one office a question names: `office` is its short name ("St. Johns"),
    # `answer` one of the hours messages above, worded for that office
    "hours_at_office": frozenset({"office", "answer"}),
    # several offices whose hours differ on the day(s) asked: one line per office (or offices
    # sharing hours), each rendered from a `hours_office_*` line below
    "hours_today_by_office": frozenset({"offices"}),
    "hours_office_open_now": frozenset({"office", "closes"}),
    "hours_office_opens_later_today": frozenset({"office", "opens", "closes"}),
    "hours_office_closed_now": frozenset({"office", "next_open"}),
    "hours_office_closed_today": frozenset({"office", "next_open"}),
    "hours_day_by_office": frozenset({"day", "offices"}),
    "hours_tomorrow_by_office": frozenset({"day", "offices"}),
    "hours_office_day_open": frozenset({"office", "opens", "closes"}),
    "hours_office_day_closed": frozenset({"office"}),
    # the week: the main office's seven days, then how each other office differs (`days`, e.g.
    # "Mon, Tue 8:30am-5pm; Wed closed"), one `hours_week_office_differs` line each
    "hours_week_by_office": frozenset({"office", "week", "others"}),
    "hours_week_office_differs": frozenset({"office", "days"}),
    # when we open next, if the offices open at different times: the earliest opening, then
    # `others`, the other offices' openings, each a `hours_office_next_open`
    "hours_next_open_by_office": frozenset({"next_open", "others"}),
    "hours_office_next_open": frozenset({"office", "next_open"}),
    "address": frozenset({"locations"}),
    "directions": frozenset({"locations"}),
    "parking": frozenset({"locations"}),
    "what_to_bring": frozenset({"answer"}),
    "new_patients": frozenset({"answer"}),
    "fax": frozenset({"fax"}),
    "fax_location": frozenset({"location", "fax"}),
    "phone": frozenset(),
    "phone_location": frozenset({"location", "phone"}),
    # hand-off to a person
    "handoff_in_hours": frozenset({"queue_label", "minutes"}),
    "handoff_after_hours": frozenset({"queue_label", "next_open"}),
    "handoff_already_open": frozenset(),
    # the same hand-off, worded for a clinical question (never answered by Careline) and for a
    # patient frustrated with Careline
    "clinical_in_hours": frozenset({"queue_label", "minutes"}),
    "clinical_after_hours": frozenset({"queue_label", "next_open"}),
    "frustration_in_hours": frozenset({"queue_label", "minutes"}),
    "frustration_after_hours": frozenset({"queue_label", "next_open"}),
    "offer_declined": frozenset(),
    # the escalation workflow, when nobody accepted within the SLA (texts only): staffed for a while
    # yet; closed or closing (`next_open`, and `on_call_line` for urgent needs); an emergency or
    # crisis (back to 911 / 988)
    "escalation_delayed_in_hours": frozenset({"queue_label"}),
    "escalation_delayed_after_hours": frozenset({"queue_label", "next_open", "on_call_line"}),
    "escalation_delayed_crisis": frozenset(),
    # a staff member hands the conversation back to Careline (agent panel)
    "staff_handed_back": frozenset(),
    # what is not built yet: say so honestly and offer a person
    "appointments_offer_person": frozenset(),
    "refills_offer_person": frozenset(),
    "billing_offer_person": frozenset(),
    "insurance_offer_person": frozenset(),
    # identity verification, before any PHI (appointments)
    "verify_ask_dob": frozenset(),
    "verify_ask_name_dob": frozenset(),
    "verify_dob_unreadable": frozenset(),
    "verify_need_name": frozenset(),
    "verify_need_dob": frozenset(),
    "verify_failed_dob": frozenset({"attempts_left"}),
    "verify_failed_name_dob": frozenset({"attempts_left"}),
    "verify_locked": frozenset(),
    "verify_needs_person": frozenset(),
    # appointments: `appointment` is an `appointment_line`; `slots`/`appointments` are numbered
    # `choice_line`s, one per line
    "appointment_line": frozenset({"when", "provider", "location"}),
    # `number` is the digit ("1"), `ordinal` the word a call reads ("first")
    "choice_line": frozenset({"number", "ordinal", "when", "provider"}),
    "ehr_unavailable": frozenset(),
    "booking_ask_type": frozenset(),
    "booking_ask_provider": frozenset({"providers"}),
    "booking_ask_when": frozenset(),
    "booking_offers": frozenset({"slots"}),
    "booking_offers_fallback": frozenset({"slots"}),
    "booking_slot_taken": frozenset({"slots"}),
    "booking_no_slots": frozenset(),
    "booking_pick_which": frozenset(),
    "booking_confirm_slot": frozenset({"appointment"}),
    "booking_done": frozenset({"appointment"}),
    "booking_not_booked": frozenset(),
    "appointment_flow_stopped": frozenset(),
    "appointment_step_unclear": frozenset(),
    "appointments_none_upcoming": frozenset(),
    "appointments_pick": frozenset({"appointments"}),
    "reschedule_confirm_which": frozenset({"appointment"}),
    "reschedule_done": frozenset({"appointment", "old"}),
    "cancel_confirm": frozenset({"appointment"}),
    "cancel_ask_reason": frozenset(),
    "cancel_done": frozenset({"appointment"}),
    "cancel_kept": frozenset(),
    "confirm_done": frozenset({"appointment"}),
    "status_list": frozenset({"appointments"}),
    # replies to a reminder text (C / R / X): `when` is the visit's day and time as the reminder
    # wrote it ("Tue Dec 1 at 9:30am", the patient's clock); never a provider or a visit type
    "reminder_confirmed": frozenset({"when"}),
    "reminder_cancel_confirm": frozenset({"when"}),
    "reminder_cancelled": frozenset({"when"}),
    "reminder_cancel_kept": frozenset({"when"}),
    # the visit a reminder named was cancelled or moved since it was sent
    "reminder_visit_changed": frozenset(),
    # the waitlist for an earlier time: joined (`when`: the visit they keep until then), left, not on it
    "waitlist_joined": frozenset({"when"}),
    "waitlist_left": frozenset(),
    "waitlist_not_on_list": frozenset(),
    # the backfill's offer of a freed time (`appointment` an `appointment_line`, `hold_until` a
    # time of day, e.g. "10:30am"), and the replies to the patient's answer
    "waitlist_offer": frozenset({"appointment", "hold_until"}),
    "waitlist_offer_taken": frozenset({"appointment"}),
    "waitlist_offer_gone": frozenset(),
    "waitlist_offer_declined": frozenset(),
    # one patient across channels: a flow left open on another channel, offered back on a new call
    # once the caller is verified; "text me the options" on a call
    "resume_ask_dob": frozenset(),
    "resume_ask_name_dob": frozenset(),
    "resume_reschedule": frozenset({"appointment"}),
    "resume_cancel": frozenset({"appointment"}),
    "resume_book": frozenset(),
    "options_texted": frozenset(),
    "options_text_opted_out": frozenset(),
    # the phone line: the greeting the contact flow plays, the line before a transfer to a person,
    # a turn with nothing heard, and the kind fallback when a turn cannot be answered in time
    "call_greeting": frozenset(),
    "call_greeting_after_hours": frozenset({"next_open"}),
    "call_transferring": frozenset({"queue_label"}),
    "call_nothing_heard": frozenset(),
    "call_trouble": frozenset(),
    # spoken by the contact flow itself when a call fails while the front desk is closed
    "call_trouble_after_hours": frozenset(),
    # not understood
    "fallback_rephrase": frozenset(),
    "fallback_offer_person": frozenset(),
}

CATALOG_CHANNELS: Final = ("sms", "voice")


def template_placeholders(template: str) -> set[str]:
    """The named placeholders a template uses. Raises ValueError on malformed or positional fields."""
    names: set[str] = set()
    for _, field_name, format_spec, conversion in Formatter().parse(template):
        if field_name is None:
            continue
        if not field_name.isidentifier():
            raise ValueError(f"placeholder {{{field_name}}} must be a plain name like {{practice_name}}")
        if format_spec or conversion:
            raise ValueError(f"placeholder {{{field_name}}} must not carry a format spec or conversion")
        names.add(field_name)
    return names


def check_template(key: str, template: str) -> None:
    """Raise ValueError if `template` uses a placeholder that message `key` does not supply."""
    if key not in MESSAGE_PLACEHOLDERS:
        raise ValueError(f"unknown message key {key!r}")
    allowed = COMMON_PLACEHOLDERS | MESSAGE_PLACEHOLDERS[key]
    unknown = template_placeholders(template) - allowed
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}; "
            f"this message supplies {', '.join('{' + a + '}' for a in sorted(allowed))}"
        )


@dataclass(frozen=True)
class MessageCatalog:
    """Templates by key and channel, plus the values common to every message."""

    templates: Mapping[str, Mapping[str, str]]
    common: Mapping[str, str]

    def render(self, key: str, channel: Channel, **values: str) -> str:
        """Render message `key` for `channel` (chat and email use the SMS wording).

        `values` must be exactly the placeholders the key supplies, so a caller that forgets one
        fails in tests rather than sending a hole to a patient.
        """
        expected = MESSAGE_PLACEHOLDERS[key]
        if set(values) != expected:
            raise ValueError(f"message {key!r} takes {sorted(expected)}, got {sorted(values)}")
        variant = "voice" if channel is Channel.VOICE else "sms"
        template = self.templates[key][variant]
        return template.format_map({**self.common, **values}).strip()


# --- SMS encoding and segments -------------------------------------------------------------------

# GSM 03.38 basic character set (the escape code 0x1B is not a character of its own).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67


def is_gsm7(text: str) -> bool:
    """True when every character of `text` is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str, gsm: bool) -> list[int]:
    """The cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_length(text: str) -> int:
    """Length in the units a carrier counts: septets (GSM-7) or UTF-16 code units (UCS-2)."""
    return sum(_units(text, is_gsm7(text)))


def sms_segments(text: str) -> int:
    """How many SMS segments `text` takes (an empty message is still one SMS).

    GSM-7 fits 160 septets in one segment, 153 per segment when concatenated; UCS-2 fits 70 code
    units, 67 when concatenated. An escape pair or a surrogate pair is never split across segments.
    """
    gsm = is_gsm7(text)
    units = _units(text, gsm)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if gsm else (UCS2_SINGLE, UCS2_MULTI)
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for cost in units:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return segments
