"""The practice configuration: one YAML file, validated once at load.

Errors name the bad key (`practice.timezone: unknown timezone 'Mars/Base'`), so a cloud engineer
can fix a config without reading code. The CDK app and every Lambda read the same file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from careline.conversation.model import Queue, Urgency
from careline.conversation.optout import Keyword, match_keyword
from careline.errors import ConfigError
from careline.messages import (
    CATALOG_CHANNELS,
    MESSAGE_PLACEHOLDERS,
    MessageCatalog,
    check_template,
    template_placeholders,
)

E164_PATTERN = r"^\+[1-9]\d{7,14}$"
ID_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- deployment (read by the CDK app) --------------------------------------------------------------


class NewNumber(_Strict):
    iso_country_code: str = "US"
    number_type: Literal["TOLL_FREE", "TEN_DLC", "LONG_CODE", "SIMULATOR"] = "TOLL_FREE"
    message_type: Literal["TRANSACTIONAL", "PROMOTIONAL"] = "TRANSACTIONAL"


class SmsDeployment(_Strict):
    existing_origination_identity: str | None = None
    new_number: NewNumber = Field(default_factory=NewNumber)
    messages_per_second: int = Field(default=3, ge=1, le=1000)


# Where the phone line can run: regions offering both Amazon Connect and Amazon Lex V2 (the resource
# types CloudFormation registers per region agree: AWS::Connect::Instance and AWS::Lex::Bot).
# Lex V2 is not in us-east-2; Connect is not in eu-west-1 and many others.
PHONE_LINE_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-west-2",
        "af-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-2",
        "us-gov-west-1",
    }
)
# CloudFormation cannot claim a Connect phone number there (no AWS::Connect::PhoneNumber).
REGIONS_WITHOUT_NUMBER_CLAIM: frozenset[str] = frozenset({"us-gov-west-1"})

_CONNECT_INSTANCE_ARN = r"^arn:aws[a-z-]*:connect:([a-z0-9-]+):(\d{12}):instance/[0-9a-f-]{36}$"
_CONNECT_PHONE_NUMBER_ARN = r"^arn:aws[a-z-]*:connect:([a-z0-9-]+):(\d{12}):phone-number/[0-9a-f-]{36}$"
# Connect instance aliases: lower-case letters, digits and single hyphens, at most 45 characters,
# never starting with "d-" (reserved for directory ids). The alias is the agents' sign-in address
# (https://<alias>.my.connect.aws), so it must be unique across all of AWS, not just this account.
_INSTANCE_ALIAS = r"^[a-z0-9]+(-[a-z0-9]+)*$"
INSTANCE_ALIAS_MAX = 45


class VoiceNumber(_Strict):
    """A phone number the stack claims for the practice's Connect instance."""

    country_code: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    type: Literal["TOLL_FREE", "DID"] = "TOLL_FREE"
    # E.164 prefix the number should start with, e.g. "+1503" for a Portland number
    prefix: str | None = Field(default=None, pattern=r"^\+[1-9]\d{0,14}$")


class VoiceDeployment(_Strict):
    """The phone line: an Amazon Connect instance, its number, queues and inbound contact flow."""

    enabled: bool = True
    # Use an existing Connect instance instead of creating one (full ARN).
    existing_instance_arn: str | None = Field(default=None, pattern=_CONNECT_INSTANCE_ARN)
    # The new instance's alias; default: from the stack name, account and region.
    instance_alias: str | None = Field(
        default=None, min_length=1, max_length=INSTANCE_ALIAS_MAX, pattern=_INSTANCE_ALIAS
    )
    # A number already claimed to the instance (full ARN) instead of claiming a new one.
    existing_phone_number_arn: str | None = Field(default=None, pattern=_CONNECT_PHONE_NUMBER_ARN)
    new_number: VoiceNumber = Field(default_factory=VoiceNumber)
    # Connect flow logs record contact attributes and the caller's number (PHI) in a log group
    # Connect manages: off unless the practice turns them on to debug the flow.
    flow_logs: bool = False

    @field_validator("instance_alias")
    @classmethod
    def _not_a_directory_id(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("d-"):
            raise ValueError("must not start with 'd-' (Connect reserves it for directory ids)")
        return value


class EscalationDeployment(_Strict):
    """Where the escalation workflow's pages go (SNS topics the stack creates, one subscription per
    address given) and the agent panel's address, which each agent task links to."""

    # paged at once for an emergency or a crisis escalation (ids, urgency and queue only)
    on_call_phone: str | None = Field(default=None, pattern=E164_PATTERN)
    on_call_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    # told when an escalation's SLA passes, or a page cannot be sent
    supervisor_phone: str | None = Field(default=None, pattern=E164_PATTERN)
    supervisor_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    # the agent panel (https); a task links to <agent_panel_url>/escalations/<party id>/<escalation id>
    agent_panel_url: str | None = Field(default=None, pattern=r"^https://\S+$")


class Deployment(_Strict):
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    stack_name: str = "Careline"
    # conversation timeline TTL; 6 years matches HIPAA documentation retention
    retention_days: int = Field(default=2190, ge=1)
    log_retention_days: int = Field(default=365, ge=1)
    alarm_email: str | None = None
    sms: SmsDeployment = Field(default_factory=SmsDeployment)
    # The EHR connection (FHIR base URL, SMART client id, token URL, private key) lives in a
    # Secrets Manager secret the practice creates; its full ARN here. None: no EHR, and
    # appointment requests are handed to staff.
    ehr_secret_arn: str | None = Field(
        default=None,
        # the full ARN, with the six-character suffix Secrets Manager adds, so the grant is exact
        pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$",
    )
    # the key that secret is encrypted with, when it is not the AWS managed key
    ehr_secret_kms_key_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$"
    )
    voice: VoiceDeployment = Field(default_factory=VoiceDeployment)
    escalation: EscalationDeployment = Field(default_factory=EscalationDeployment)
    # reminders by email (SES v2) for patients who prefer it: the verified sender address. None:
    # those patients get their reminders by text.
    reminder_email_from: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

    @model_validator(mode="after")
    def _phone_line_fits_the_region(self) -> Deployment:
        voice = self.voice
        if not voice.enabled:
            return self
        problems: list[str] = []
        if self.region not in PHONE_LINE_REGIONS:
            problems.append(
                f"deployment.region: the phone line needs Amazon Connect and Amazon Lex V2, which "
                f"{self.region} does not offer; deploy in one of {', '.join(sorted(PHONE_LINE_REGIONS))}"
            )
        elif self.region in REGIONS_WITHOUT_NUMBER_CLAIM and not voice.existing_phone_number_arn:
            problems.append(
                f"deployment.voice.new_number: CloudFormation cannot claim a Connect number in "
                f"{self.region}; claim one to the instance and set deployment.voice.existing_phone_number_arn"
            )
        for key, arn in (
            ("existing_instance_arn", voice.existing_instance_arn),
            ("existing_phone_number_arn", voice.existing_phone_number_arn),
        ):
            if arn is None:
                continue
            region, account = arn.split(":")[3:5]
            if (region, account) != (self.region, self.account):
                problems.append(
                    f"deployment.voice.{key}: must be in the stack's account and region "
                    f"({self.account}, {self.region}), not ({account}, {region})"
                )
        if problems:
            raise _CrossCheckError(problems)
        return self

    @property
    def connect_instance_alias(self) -> str:
        """`voice.instance_alias`, else one made from the stack name, account and region (the alias
        is a sign-in address unique across AWS, so the account and region keep it unique)."""
        if self.voice.instance_alias:
            return self.voice.instance_alias
        suffix = f"-{self.account}-{self.region}"
        base = re.sub(r"[^a-z0-9]+", "-", self.stack_name.lower()).strip("-").removeprefix("d-")
        if base in ("", "d"):
            base = "careline"
        return f"{base[: INSTANCE_ALIAS_MAX - len(suffix)].rstrip('-')}{suffix}"


# --- practice identity -----------------------------------------------------------------------------


class PracticeInfo(_Strict):
    name: str = Field(min_length=1)
    phone: str = Field(pattern=E164_PATTERN)
    timezone: str
    website: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- hours -----------------------------------------------------------------------------------------


class OpenInterval(_Strict):
    """Opening and closing time on one day, local time; `opens` is before `closes`."""

    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_before_closes(self) -> OpenInterval:
        if self.opens >= self.closes:
            raise ValueError(
                f"opening {self.opens:%H:%M} must be before closing {self.closes:%H:%M} "
                "(overnight hours are not supported)"
            )
        return self


def _parse_interval(value: Any) -> Any:
    """Accept "08:00-17:00" (the YAML form) as well as a mapping; "closed" means no interval."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "closed":
            return None
        m = _HOURS_RE.match(text)
        if not m:
            raise ValueError(f"expected 'HH:MM-HH:MM' or 'closed', got {value!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"not a time of day in {value!r}")
        return {"opens": time(h1, m1), "closes": time(h2, m2)}
    if isinstance(value, int):
        # PyYAML reads unquoted 9:00 as a base-60 integer; refuse rather than misread it.
        raise ValueError(f'write hours as a quoted string like "08:00-17:00", got {value!r}')
    return value


class WeeklyHours(_Strict):
    """Opening hours for each weekday; every day must be given, `closed` where the office is shut."""

    monday: OpenInterval | None
    tuesday: OpenInterval | None
    wednesday: OpenInterval | None
    thursday: OpenInterval | None
    friday: OpenInterval | None
    saturday: OpenInterval | None
    sunday: OpenInterval | None

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _parse_interval(value)

    def for_weekday(self, weekday: int) -> OpenInterval | None:
        """Hours for `weekday` (0 = Monday, as `date.weekday()`)."""
        interval: OpenInterval | None = getattr(self, WEEKDAYS[weekday])
        return interval


def _known_us_holiday_names() -> frozenset[str]:
    names: set[str] = set()
    for name in holidays.country_holidays("US", years=range(2024, 2031)).values():
        names.update(_base_holiday_name(n) for n in str(name).split("; "))
    return frozenset(names)


def _base_holiday_name(name: str) -> str:
    return name.removesuffix(" (observed)").strip()


class HolidayPolicy(_Strict):
    """Which US federal holidays close the practice (names as the `holidays` package spells them)."""

    closed_on: tuple[str, ...] = (
        "New Year's Day",
        "Memorial Day",
        "Independence Day",
        "Labor Day",
        "Thanksgiving Day",
        "Christmas Day",
    )
    # closed on the weekday a weekend holiday is observed on, too
    observed: bool = True

    @field_validator("closed_on")
    @classmethod
    def _known_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = _known_us_holiday_names()
        for name in value:
            if name not in known:
                raise ValueError(f"unknown US holiday {name!r}; known: {', '.join(sorted(known))}")
        return value


class Closure(_Strict):
    """A practice closure on one date (staff training, ...). With `hours`, open only those hours."""

    date: date
    note: str = Field(default="closed", min_length=1)
    hours: OpenInterval | None = None

    @field_validator("hours", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _parse_interval(value)


# --- places, people, services ----------------------------------------------------------------------


class Location(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    address_lines: tuple[str, ...] = Field(min_length=1)
    city: str = Field(min_length=1)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str = Field(pattern=r"^\d{5}(-\d{4})?$")
    phone: str = Field(pattern=E164_PATTERN)
    fax: str | None = Field(default=None, pattern=E164_PATTERN)
    parking: str = Field(min_length=1)
    directions: str = Field(min_length=1)
    hours: WeeklyHours | None = None

    @property
    def one_line_address(self) -> str:
        return f"{', '.join(self.address_lines)}, {self.city}, {self.state} {self.zip}"


class AppointmentType(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    minutes: int = Field(ge=5, le=480)


class Provider(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    location_ids: tuple[str, ...] = Field(min_length=1)
    appointment_types: tuple[str, ...] = Field(min_length=1)


class Faq(_Strict):
    what_to_bring: str = Field(min_length=1)
    new_patients: str = Field(min_length=1)
    fax_number: str = Field(pattern=E164_PATTERN)


# Minutes an agent has to accept an escalation, by urgency (what the sample practice promises).
DEFAULT_SLA_MINUTES: dict[Urgency, int] = {
    Urgency.EMERGENCY: 2,
    Urgency.CRISIS: 5,
    Urgency.URGENT: 15,
    Urgency.ROUTINE: 60,
}
# Step Functions waits at most a year; a day is the most an SLA here may be.
SlaMinutes = Annotated[int, Field(ge=1, le=1440)]


class EscalationPolicy(_Strict):
    """The escalation workflow's promises: how long an agent has to accept, by urgency; how long it
    keeps waiting after that before it alarms; the line patients may call for urgent needs."""

    sla_minutes: dict[Urgency, SlaMinutes] = Field(default_factory=lambda: dict(DEFAULT_SLA_MINUTES))
    follow_up_hours: int = Field(default=72, ge=1, le=720)
    # told to a patient nobody reached before the queue closed; default: the practice's number
    on_call_line: str | None = Field(default=None, pattern=E164_PATTERN)

    @field_validator("sla_minutes")
    @classmethod
    def _every_urgency(cls, value: dict[Urgency, int]) -> dict[Urgency, int]:
        missing = [u.value for u in Urgency if u not in value]
        if missing:
            raise ValueError(f"missing urgency(ies): {', '.join(missing)}")
        return value


class QueueConfig(_Strict):
    """An escalation queue: who answers, when they are there, and how fast they promise to reply."""

    label: str = Field(min_length=1)
    # "business_hours", "always" (24x7), or a weekly schedule of its own
    staffed: Literal["business_hours", "always"] | WeeklyHours = "business_hours"
    reply_within_minutes: int = Field(ge=1, le=1440)


class MessageTemplates(_Strict):
    sms: str = Field(min_length=1)
    voice: str = Field(min_length=1)


# --- reminders (docs/decisions/0015) ---------------------------------------------------------------


class ReminderStep(_Strict):
    """One step of a cadence: this many hours before the visit, a text/e-mail or a staff call task.

    `sms` and `email` both mean an automated message (it goes by the patient's preferred channel
    when they have one); `call_task` is work for staff, not a message to the patient.
    """

    hours_before: float = Field(gt=0, le=24 * 60)
    channel: Literal["sms", "email", "call_task"]

    @property
    def name(self) -> str:
        """The step's stable name in idempotency keys: "72h", "48h-call"."""
        suffix = "-call" if self.channel == "call_task" else ""
        return f"{self.hours_before:g}h{suffix}"

    @property
    def is_message(self) -> bool:
        return self.channel != "call_task"


class ReminderTier(_Strict):
    """A risk tier: visits scored at `from_probability` or more (up to the next tier's) get `cadence`."""

    name: str = Field(pattern=ID_PATTERN)
    from_probability: float = Field(ge=0.0, le=1.0)
    cadence: tuple[ReminderStep, ...] = Field(min_length=1)

    @field_validator("cadence")
    @classmethod
    def _steps_distinct(cls, value: tuple[ReminderStep, ...]) -> tuple[ReminderStep, ...]:
        names = [step.name for step in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"two steps share the same time and kind: {', '.join(duplicates)}")
        return value


class SendWindow(_Strict):
    """When automated messages may go out, in the patient's local time: `earliest` <= t < `latest`."""

    earliest: time
    latest: time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        parsed = _parse_interval(value)
        if parsed is None:
            raise ValueError("a send window cannot be 'closed'")
        if isinstance(parsed, dict) and "opens" in parsed:
            return {"earliest": parsed["opens"], "latest": parsed["closes"]}
        return parsed

    @model_validator(mode="after")
    def _earliest_before_latest(self) -> SendWindow:
        if self.earliest >= self.latest:
            raise ValueError(
                f"earliest {self.earliest:%H:%M} must be before latest {self.latest:%H:%M} "
                "(a window across midnight is not supported)"
            )
        return self

    def allows(self, wall: time) -> bool:
        return self.earliest <= wall < self.latest


# Only these two: a reminder names the practice and the visit's day and time, nothing clinical.
REMINDER_PLACEHOLDERS: frozenset[str] = frozenset({"practice_name", "when"})


class ReminderWording(_Strict):
    """The reminder SMS, and a shorter one used when the first is over one segment."""

    sms: str = Field(
        default=(
            "{practice_name}: reminder of your visit {when}. "
            "Reply C to confirm, R to reschedule, X to cancel. Reply STOP to opt out."
        ),
        min_length=1,
    )
    sms_short: str = Field(
        default="{practice_name}: visit {when}. Reply C=confirm, R=reschedule, X=cancel, STOP=opt out",
        min_length=1,
    )

    # by email, for a patient who prefers it (SES v2): no reply keywords (a reply to an email is not read)
    email_subject: str = Field(default="{practice_name}: reminder of your visit {when}", min_length=1)
    email_body: str = Field(
        default=(
            "This is a reminder from {practice_name} of your visit {when}.\n\n"
            "To confirm, reschedule or cancel, call us at {practice_phone}. "
            "To stop these reminders, call us or reply STOP to any of our texts."
        ),
        min_length=1,
    )

    @field_validator("email_subject", "email_body")
    @classmethod
    def _email_says_nothing_clinical(cls, value: str) -> str:
        allowed = REMINDER_PLACEHOLDERS | {"practice_phone"}
        unknown = sorted(template_placeholders(value) - allowed)
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; a reminder email "
                "supplies only {practice_name}, {when} and {practice_phone} (nothing clinical)"
            )
        if "{when}" not in value and "{practice_name}" not in value:
            raise ValueError("must name the practice or the visit's time")
        return value

    @field_validator("sms", "sms_short")
    @classmethod
    def _follows_the_rules(cls, value: str) -> str:
        used = template_placeholders(value)
        unknown = sorted(used - REMINDER_PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; a reminder "
                "supplies only {practice_name} and {when} (nothing clinical)"
            )
        missing = sorted(REMINDER_PLACEHOLDERS - used)
        if missing:
            raise ValueError(f"must use {', '.join('{' + m + '}' for m in missing)}")
        if not re.search(r"\bSTOP\b", value):
            raise ValueError("must say how to opt out (the word STOP)")
        # A whole-message reply of CANCEL, END, QUIT... is a carrier opt-out, not a visit change.
        for word in re.findall(r"\b[A-Z]{2,}\b", value):
            if match_keyword(word) is Keyword.OPT_OUT and word != "STOP":
                raise ValueError(f"{word} is a carrier opt-out keyword; offer another reply")
        return value


class WaitlistPolicy(_Strict):
    """Backfilling a freed slot from the waitlist: one candidate at a time, each holding it a while."""

    # a candidate has this long to say yes before the slot is offered to the next one
    hold_minutes: int = Field(default=30, ge=5, le=24 * 60)
    # a slot starting sooner than this is not offered (nobody could make it)
    min_lead_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    # at most this many candidates are offered one slot, one after another
    max_offers_per_slot: int = Field(default=5, ge=1, le=50)
    # how often the backfill looks for freed slots and expired holds
    every_minutes: int = Field(default=5, ge=1, le=60)


def _default_tiers() -> tuple[ReminderTier, ...]:
    sms: Literal["sms"] = "sms"
    return (
        ReminderTier(name="low", from_probability=0.0, cadence=(ReminderStep(hours_before=48, channel=sms),)),
        ReminderTier(
            name="medium",
            from_probability=0.15,
            cadence=(ReminderStep(hours_before=72, channel=sms), ReminderStep(hours_before=24, channel=sms)),
        ),
        ReminderTier(
            name="high",
            from_probability=0.30,
            cadence=(
                ReminderStep(hours_before=72, channel=sms),
                ReminderStep(hours_before=48, channel="call_task"),
                ReminderStep(hours_before=24, channel=sms),
            ),
        ),
    )


class ReminderPolicy(_Strict):
    """Appointment reminders: the cadence per no-show risk tier and the rules every send keeps."""

    send_window: SendWindow = Field(default_factory=lambda: SendWindow(earliest=time(8), latest=time(21)))
    # every automated message to the patient counts: per patient-local calendar day, and in any
    # rolling 7 x 24 hours
    max_per_day: int = Field(default=1, ge=1)
    max_per_week: int = Field(default=3, ge=1)
    # a reminder that could only go out later than this before the visit is skipped (too_close)
    min_lead_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    tiers: tuple[ReminderTier, ...] = Field(default_factory=_default_tiers, min_length=1)
    wording: ReminderWording = Field(default_factory=ReminderWording)
    # nightly scoring: every booked visit starting within this many days, at this practice-local time
    horizon_days: int = Field(default=14, ge=1, le=60)
    scoring_time: time = time(2, 0)
    # how often the campaign runs (it sends what has come due since, each at its planned instant)
    campaign_every_minutes: int = Field(default=15, ge=5, le=60)
    # at most this many sends run at once (the campaign map's and the sender's concurrency)
    max_concurrency: int = Field(default=5, ge=1, le=40)
    waitlist: WaitlistPolicy = Field(default_factory=lambda: WaitlistPolicy())

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, value: tuple[ReminderTier, ...]) -> tuple[ReminderTier, ...]:
        if value[0].from_probability != 0.0:
            raise ValueError("the first tier must start at from_probability 0 (every visit has a tier)")
        for lower, upper in itertools.pairwise(value):
            if upper.from_probability <= lower.from_probability:
                raise ValueError(
                    f"tiers must be in rising from_probability: {upper.name!r} "
                    f"({upper.from_probability}) after {lower.name!r} ({lower.from_probability})"
                )
        names = [t.name for t in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tier name(s): {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _day_within_week(self) -> ReminderPolicy:
        if self.max_per_day > self.max_per_week:
            raise ValueError(
                f"max_per_day ({self.max_per_day}) cannot be more than max_per_week ({self.max_per_week})"
            )
        return self

    def tier(self, name: str) -> ReminderTier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)


class PracticeConfig(_Strict):
    practice: PracticeInfo
    business_hours: WeeklyHours
    holidays: HolidayPolicy = Field(default_factory=HolidayPolicy)
    closures: tuple[Closure, ...] = ()
    locations: tuple[Location, ...] = Field(min_length=1)
    appointment_types: tuple[AppointmentType, ...] = ()
    providers: tuple[Provider, ...] = ()
    faq: Faq
    queues: dict[Queue, QueueConfig]
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    reminders: ReminderPolicy = Field(default_factory=ReminderPolicy)
    messages: dict[str, MessageTemplates]
    deployment: Deployment

    @field_validator("messages")
    @classmethod
    def _catalog_complete(cls, value: dict[str, MessageTemplates]) -> dict[str, MessageTemplates]:
        unknown = sorted(set(value) - set(MESSAGE_PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown message key(s): {', '.join(unknown)}")
        missing = sorted(set(MESSAGE_PLACEHOLDERS) - set(value))
        if missing:
            raise ValueError(f"missing message key(s): {', '.join(missing)}")
        return value

    @field_validator("queues")
    @classmethod
    def _every_queue(cls, value: dict[Queue, QueueConfig]) -> dict[Queue, QueueConfig]:
        missing = [q.value for q in Queue if q not in value]
        if missing:
            raise ValueError(f"missing queue(s) the engine routes to: {', '.join(missing)}")
        return value

    @model_validator(mode="after")
    def _cross_check(self) -> PracticeConfig:
        # Cross-references are raised as errors with an exact key path so the operator can find them.
        problems: list[str] = []
        problems += _duplicates("locations", [loc.id for loc in self.locations])
        problems += _duplicates("appointment_types", [a.id for a in self.appointment_types])
        problems += _duplicates("providers", [p.id for p in self.providers])
        problems += _duplicates("closures", [c.date.isoformat() for c in self.closures])
        location_ids = {loc.id for loc in self.locations}
        type_ids = {a.id for a in self.appointment_types}
        for i, provider in enumerate(self.providers):
            for j, loc_id in enumerate(provider.location_ids):
                if loc_id not in location_ids:
                    problems.append(f"providers.{i}.location_ids.{j}: unknown location {loc_id!r}")
            for j, type_id in enumerate(provider.appointment_types):
                if type_id not in type_ids:
                    problems.append(
                        f"providers.{i}.appointment_types.{j}: unknown appointment type {type_id!r}"
                    )
        for key, templates in self.messages.items():
            for channel in CATALOG_CHANNELS:
                try:
                    check_template(key, getattr(templates, channel))
                except ValueError as exc:
                    problems.append(f"messages.{key}.{channel}: {exc}")
        if problems:
            raise _CrossCheckError(problems)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return self.practice.tz

    def location(self, location_id: str) -> Location:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise KeyError(location_id)

    def queue(self, queue: Queue) -> QueueConfig:
        return self.queues[queue]

    @property
    def catalog(self) -> MessageCatalog:
        """The message catalog, with the values every message may use (built on use: cheap, never stale)."""
        common = {
            "practice_name": self.practice.name,
            "practice_phone": format_phone(self.practice.phone),
            "website": self.practice.website or "",
        }
        templates = {k: {"sms": t.sms, "voice": t.voice} for k, t in self.messages.items()}
        return MessageCatalog(templates=templates, common=common)


class _CrossCheckError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _duplicates(key: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for i, item in enumerate(ids):
        if item in seen:
            out.append(f"{key}.{i}: duplicate id {item!r}")
        seen.add(item)
    return out


def format_phone(e164: str) -> str:
    """A US E.164 number as people write it: +15035550100 -> (503) 555-0100."""
    digits = e164.removeprefix("+1")
    if e164.startswith("+1") and len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return e164


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        ctx_error = err.get("ctx", {}).get("error")
        if isinstance(ctx_error, _CrossCheckError):
            lines.extend(ctx_error.problems)
            continue
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {msg}")
    return f"invalid practice configuration {source}:\n  " + "\n  ".join(lines)


def parse_practice_config(data: Any, source: str = "<data>") -> PracticeConfig:
    """Validate already-parsed config data; raises ConfigError naming each bad key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"invalid practice configuration {source}: the top level must be a mapping")
    try:
        return PracticeConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_practice_config(path: str | Path) -> PracticeConfig:
    """Read and validate the practice configuration YAML at `path`."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"practice configuration not found: {p}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"practice configuration {p} is not valid YAML: {exc}") from None
    return parse_practice_config(data, str(p))
