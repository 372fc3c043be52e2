"""Put a practice into the FHIR dev server: the demo practice from config, or a scenario's own.

Every resource gets a stable id (PUT with id), so seeding twice gives the same server and a
scenario can name what it expects: `Practitioner/dr-chen`, `Schedule/dr-chen`,
`Slot/dr-chen-20261228T1700Z` (provider and UTC start), `Patient/maria-lopez`, `Appointment/<id>`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from careline.config import Location, PracticeConfig, Provider, load_practice_config
from careline.practice.hours import PracticeCalendar
from pydantic import BaseModel, ConfigDict, Field

from careline_local.fhir.client import FhirClient, FhirError, Resource

_CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
DEMO_PATIENTS_PATH = _CONFIG_DIR / "demo_patients.yaml"
PRACTICE_CONFIG_PATH = _CONFIG_DIR / "practice.yaml"

ORGANIZATION_ID = "practice"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# Source of Payment Typology: 2 Medicaid, 5 private health insurance
SOPT_SYSTEM = "https://nahdo.org/sopt"
COVERAGES = {
    "medicaid": ("2", "Medicaid", "State Medicaid"),
    "private": ("5", "Private health insurance", "Private insurer"),
}
# a booked visit the scenario gives no `booked` time was booked this long before the clock
DEFAULT_LEAD = timedelta(days=7)
APPOINTMENT_TYPE_SYSTEM = "urn:careline:appointment-type"
MRN_SYSTEM = "urn:careline:mrn"
SLOT_LOCATION_EXTENSION = "urn:careline:fhir:extension:slot-location"

# Appointment statuses that hold their slot; any other status (cancelled, noshow, ...) frees it.
_HOLDS_SLOT = frozenset({"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"})

OpenHours = tuple[datetime, datetime]
HoursFor = Callable[[Location, date], OpenHours | None]


# --- demo patients file ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoAppointment(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    provider: str
    type: str
    in_days: int = Field(ge=-365, le=365)
    time: str = Field(pattern=r"^\d{2}:\d{2}$")
    # when the visit was booked (Appointment.created), in days before the moment of seeding: the
    # no-show score reads the lead time from it
    booked_days_ago: int = Field(default=7, ge=0, le=365)
    status: Literal[
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "checked-in",
        "waitlist",
    ] = "booked"


class DemoPatient(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    mrn: str | None = None
    name: str = Field(min_length=1)
    gender: Literal["male", "female", "other", "unknown"] = "unknown"
    birthDate: date
    phone: str = Field(pattern=r"^\+1\d{10}$")
    appointments: tuple[DemoAppointment, ...] = ()


class DemoPatients(_Strict):
    patients: tuple[DemoPatient, ...]


def load_demo_patients(path: Path = DEMO_PATIENTS_PATH) -> tuple[DemoPatient, ...]:
    """Read and validate `config/demo_patients.yaml`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return DemoPatients.model_validate(data).patients


# --- hours -----------------------------------------------------------------------------------------


def config_hours(config: PracticeConfig) -> HoursFor:
    """Opening hours of a location on a date, from the practice calendar (holidays, closures).

    A location's own weekly hours replace the practice's; a closure's hours are kept inside the
    location's weekly hours, so a half-day closure never opens a location that is shut that day.
    """
    tz = ZoneInfo(config.practice.timezone)
    calendars: dict[str, PracticeCalendar] = {}

    def hours_for(location: Location, day: date) -> OpenHours | None:
        calendar = calendars.setdefault(location.id, PracticeCalendar(config, weekly=location.hours))
        interval = calendar.hours_on(day).interval
        weekly = (location.hours or config.business_hours).for_weekday(day.weekday())
        if interval is None or weekly is None:
            return None
        opens, closes = max(interval.opens, weekly.opens), min(interval.closes, weekly.closes)
        if opens >= closes:
            return None
        return _at(day, opens, tz), _at(day, closes, tz)

    return hours_for


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


# --- slots -----------------------------------------------------------------------------------------


@dataclass
class PlannedSlot:
    """One slot of a provider's day, before it is written to the server."""

    provider_id: str
    location_id: str
    start: datetime
    end: datetime
    appointment_type: str | None
    status: str = "free"

    @property
    def id(self) -> str:
        return slot_id(self.provider_id, self.start)


def slot_id(practitioner_id: str, start: datetime) -> str:
    """`dr-chen-20261228T1700Z`: stable, unique per provider and start, legal as a FHIR id."""
    return f"{practitioner_id}-{start.astimezone(UTC):%Y%m%dT%H%MZ}"


def plan_slots(
    config: PracticeConfig,
    now: datetime,
    days: int = 30,
    hours_for: HoursFor | None = None,
) -> list[PlannedSlot]:
    """Free slots for each provider for `days` days from `now`'s practice-local date.

    A provider with several locations works at one per day, rotating by date, at the first of
    them that is open that day. Each day is filled from opening time with slots that cycle through
    the provider's appointment types at their durations, so every type is bookable every open day;
    no slot starts before `now` or runs past closing.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    hours_for = hours_for or config_hours(config)
    tz = ZoneInfo(config.practice.timezone)
    minutes = {t.id: t.minutes for t in config.appointment_types}
    first_day = now.astimezone(tz).date()
    planned: list[PlannedSlot] = []
    for provider in config.providers:
        types = [t for t in provider.appointment_types if t in minutes]
        if not types:
            continue
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            where = _provider_location(config, provider, day, hours_for)
            if where is None:
                continue
            location, (opens, closes) = where
            planned.extend(_fill_day(provider.id, location.id, opens, closes, types, minutes, now))
    return planned


def _provider_location(
    config: PracticeConfig, provider: Provider, day: date, hours_for: HoursFor
) -> tuple[Location, OpenHours] | None:
    ids = provider.location_ids
    rotated = [ids[(day.toordinal() + i) % len(ids)] for i in range(len(ids))]
    for location_id in rotated:
        location = config.location(location_id)
        hours = hours_for(location, day)
        if hours is not None:
            return location, hours
    return None


def _fill_day(
    provider_id: str,
    location_id: str,
    opens: datetime,
    closes: datetime,
    types: Sequence[str],
    minutes: Mapping[str, int],
    now: datetime,
) -> Iterator[PlannedSlot]:
    cursor, turn = opens, 0
    while True:
        # The next type in the cycle that still fits before closing.
        fitting = [
            types[(turn + k) % len(types)]
            for k in range(len(types))
            if cursor + timedelta(minutes=minutes[types[(turn + k) % len(types)]]) <= closes
        ]
        if not fitting:
            return
        type_id = fitting[0]
        end = cursor + timedelta(minutes=minutes[type_id])
        if cursor >= now:
            yield PlannedSlot(provider_id, location_id, cursor, end, type_id)
        cursor, turn = end, turn + 1


# --- FHIR resources --------------------------------------------------------------------------------


def _ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _human_name(full_name: str, suffix: str | None = None) -> dict[str, Any]:
    parts = full_name.split()
    name: dict[str, Any] = {"use": "official", "text": full_name, "family": parts[-1]}
    if len(parts) > 1:
        name["given"] = parts[:-1]
    if suffix:
        name["suffix"] = [suffix]
    return name


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _appointment_type(config: PracticeConfig | None, type_id: str) -> dict[str, Any]:
    display = (
        next((t.name for t in config.appointment_types if t.id == type_id), type_id) if config else type_id
    )
    return {
        "coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": type_id, "display": display}],
        "text": display,
    }


_FHIR_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours_of_operation(config: PracticeConfig, location: Location) -> list[dict[str, Any]]:
    weekly = location.hours or config.business_hours
    out = []
    for weekday, code in enumerate(_FHIR_DAYS):
        interval = weekly.for_weekday(weekday)
        if interval is not None:
            out.append(
                {
                    "daysOfWeek": [code],
                    "openingTime": interval.opens.strftime("%H:%M:%S"),
                    "closingTime": interval.closes.strftime("%H:%M:%S"),
                }
            )
    return out


def practice_resources(config: PracticeConfig, now: datetime, days: int) -> list[Resource]:
    """Organization, Locations, Practitioners, PractitionerRoles and Schedules from the config."""
    org_ref = _ref("Organization", ORGANIZATION_ID)
    resources: list[Resource] = [
        {
            "resourceType": "Organization",
            "id": ORGANIZATION_ID,
            "active": True,
            "name": config.practice.name,
            "telecom": [{"system": "phone", "value": config.practice.phone, "use": "work"}],
        }
    ]
    for location in config.locations:
        telecom = [{"system": "phone", "value": location.phone, "use": "work"}]
        if location.fax:
            telecom.append({"system": "fax", "value": location.fax, "use": "work"})
        resources.append(
            {
                "resourceType": "Location",
                "id": location.id,
                "status": "active",
                "name": location.name,
                "description": location.directions,
                "mode": "instance",
                "telecom": telecom,
                "address": {
                    "use": "work",
                    "line": list(location.address_lines),
                    "city": location.city,
                    "state": location.state,
                    "postalCode": location.zip,
                    "country": "US",
                },
                "managingOrganization": org_ref,
                "hoursOfOperation": _hours_of_operation(config, location),
            }
        )
    horizon = {"start": _iso(now), "end": _iso(now + timedelta(days=days))}
    for provider in config.providers:
        locations = [_ref("Location", loc) for loc in provider.location_ids]
        types = [_appointment_type(config, t) for t in provider.appointment_types]
        resources += [
            {
                "resourceType": "Practitioner",
                "id": provider.id,
                "active": True,
                "name": [_human_name(provider.name, provider.title)],
            },
            {
                "resourceType": "PractitionerRole",
                "id": provider.id,
                "active": True,
                "practitioner": _ref("Practitioner", provider.id),
                "organization": org_ref,
                "location": locations,
                "code": [{"text": provider.title}],
            },
            {
                "resourceType": "Schedule",
                "id": provider.id,
                "active": True,
                "serviceType": types,
                "actor": [
                    _ref("Practitioner", provider.id),
                    _ref("PractitionerRole", provider.id),
                    *locations,
                ],
                "planningHorizon": horizon,
            },
        ]
    return resources


def slot_resource(slot: PlannedSlot, config: PracticeConfig | None = None) -> Resource:
    resource: Resource = {
        "resourceType": "Slot",
        "id": slot.id,
        "schedule": _ref("Schedule", slot.provider_id),
        "status": slot.status,
        "start": _iso(slot.start),
        "end": _iso(slot.end),
    }
    if slot.appointment_type:
        resource["appointmentType"] = _appointment_type(config, slot.appointment_type)
    if slot.location_id:
        # R4 Slot has no location element; where the provider sits that day travels as an extension.
        resource["extension"] = [
            {"url": SLOT_LOCATION_EXTENSION, "valueReference": _ref("Location", slot.location_id)}
        ]
    return resource


def patient_resource(
    patient_id: str,
    name: str,
    birth_date: date,
    phone: str,
    gender: str | None = None,
    mrn: str | None = None,
    *,
    phone_use: str = "mobile",
    email: str | None = None,
    email_preferred: bool = False,
    address: Mapping[str, Any] | None = None,
) -> Resource:
    """A Patient. With an email, `rank` orders the two ways to reach them (1 first): the number
    unless `email_preferred`; a `home` or `work` number is a landline."""
    phone_point: dict[str, Any] = {"system": "phone", "value": phone, "use": phone_use}
    telecom = [phone_point]
    if email:
        email_point: dict[str, Any] = {"system": "email", "value": email, "use": "home"}
        phone_point["rank"], email_point["rank"] = (2, 1) if email_preferred else (1, 2)
        telecom.append(email_point)
    resource: Resource = {
        "resourceType": "Patient",
        "id": patient_id,
        "active": True,
        "name": [_human_name(name)],
        "telecom": telecom,
        "birthDate": birth_date.isoformat(),
    }
    if gender:
        resource["gender"] = gender
    if mrn:
        resource["identifier"] = [{"use": "usual", "system": MRN_SYSTEM, "value": mrn}]
    if address:
        resource["address"] = [{"use": "home", **{k: str(v) for k, v in address.items()}, "country": "US"}]
    return resource


def condition_resource(condition_id: str, patient_id: str, icd10: str) -> Resource:
    """An active, confirmed Condition coded in ICD-10-CM."""
    return {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [{"system": ICD10_SYSTEM, "code": icd10}], "text": icd10},
        "subject": _ref("Patient", patient_id),
    }


def coverage_resource(coverage_id: str, patient_id: str, kind: str) -> Resource:
    """An active Coverage of `kind` (`medicaid` or `private`), typed in the Source of Payment Typology."""
    code, display, payor = COVERAGES[kind]
    return {
        "resourceType": "Coverage",
        "id": coverage_id,
        "status": "active",
        "type": {"coding": [{"system": SOPT_SYSTEM, "code": code, "display": display}], "text": display},
        "beneficiary": _ref("Patient", patient_id),
        "payor": [{"display": payor}],
    }


def appointment_resource(
    appointment_id: str,
    *,
    patient_id: str,
    practitioner_id: str,
    start: datetime,
    end: datetime,
    status: str,
    location_id: str | None = None,
    slot: str | None = None,
    appointment_type: Mapping[str, Any] | None = None,
    created: datetime | None = None,
) -> Resource:
    participant_status = "declined" if status == "cancelled" else "accepted"
    participants = [
        {"actor": _ref("Patient", patient_id), "required": "required", "status": participant_status},
        {"actor": _ref("Practitioner", practitioner_id), "required": "required", "status": "accepted"},
    ]
    if location_id:
        participants.append(
            {"actor": _ref("Location", location_id), "required": "required", "status": "accepted"}
        )
    resource: Resource = {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "start": _iso(start),
        "end": _iso(end),
        "minutesDuration": int((end - start).total_seconds() // 60),
        "participant": participants,
    }
    if slot:
        resource["slot"] = [_ref("Slot", slot)]
    if appointment_type:
        resource["appointmentType"] = dict(appointment_type)
    if created is not None:
        resource["created"] = _iso(created)
    return resource


# --- the demo practice -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    """Counts of what was seeded (counts only: nothing here identifies a patient)."""

    resources: int
    free_slots: int
    busy_slots: int
    patients: int
    appointments: int


def seed_demo_practice(
    client: FhirClient,
    config: PracticeConfig | None = None,
    now: datetime | None = None,
    days: int = 30,
    *,
    patients_path: Path = DEMO_PATIENTS_PATH,
    hours_for: HoursFor | None = None,
) -> SeedSummary:
    """Seed the practice from `config` and the demo patients, with free slots for `days` days.

    `config` defaults to the file named by CARELINE_CONFIG_PATH (else `config/practice.yaml`),
    `now` to the real time. The server is not reset first: call `client.reset()` for a fresh one.
    """
    if config is None:
        config = load_practice_config(os.environ.get("CARELINE_CONFIG_PATH") or PRACTICE_CONFIG_PATH)
    now = now or datetime.now(UTC)
    hours_for = hours_for or config_hours(config)
    tz = ZoneInfo(config.practice.timezone)
    slots = plan_slots(config, now, days, hours_for)
    resources = practice_resources(config, now, days)
    type_minutes = {t.id: t.minutes for t in config.appointment_types}
    providers = {p.id: p for p in config.providers}
    demo = load_demo_patients(patients_path)
    appointments: list[Resource] = []
    for patient in demo:
        resources.append(
            patient_resource(
                patient.id, patient.name, patient.birthDate, patient.phone, patient.gender, patient.mrn
            )
        )
        for visit in patient.appointments:
            if visit.provider not in providers:
                raise ValueError(f"demo appointment {visit.id}: unknown provider {visit.provider!r}")
            if visit.type not in type_minutes:
                raise ValueError(f"demo appointment {visit.id}: unknown appointment type {visit.type!r}")
            appointments.append(
                _place_demo_appointment(config, patient.id, visit, slots, type_minutes, now, tz, hours_for)
            )
    resources += [slot_resource(s, config) for s in slots]
    resources += appointments
    client.batch_put(resources)
    busy = sum(1 for s in slots if s.status == "busy")
    return SeedSummary(
        resources=len(resources),
        free_slots=len(slots) - busy,
        busy_slots=busy,
        patients=len(demo),
        appointments=len(appointments),
    )


def _place_demo_appointment(
    config: PracticeConfig,
    patient_id: str,
    visit: DemoAppointment,
    slots: list[PlannedSlot],
    type_minutes: Mapping[str, int],
    now: datetime,
    tz: ZoneInfo,
    hours_for: HoursFor,
) -> Resource:
    day = now.astimezone(tz).date() + timedelta(days=visit.in_days)
    at = time.fromisoformat(visit.time)
    wanted = _at(day, at, tz)
    if visit.status in _HOLDS_SLOT:
        # The first free slot of that provider and type at or after the wanted time-of-day.
        for slot in slots:
            if (
                slot.provider_id == visit.provider
                and slot.appointment_type == visit.type
                and slot.status == "free"
                and slot.start >= wanted
                and slot.start.astimezone(tz).time() >= at
            ):
                slot.status = "busy"
                return appointment_resource(
                    visit.id,
                    patient_id=patient_id,
                    practitioner_id=visit.provider,
                    start=slot.start,
                    end=slot.end,
                    status=visit.status,
                    location_id=slot.location_id,
                    slot=slot.id,
                    appointment_type=_appointment_type(config, visit.type),
                    created=min(now - timedelta(days=visit.booked_days_ago), slot.start),
                )
        raise ValueError(
            f"demo appointment {visit.id}: no free {visit.type} slot for {visit.provider} from day {day}"
        )
    # Past or cancelled visits hold no slot; keep them on a day the office was open.
    provider = next(p for p in config.providers if p.id == visit.provider)
    for back in range(14):
        where = _provider_location(config, provider, day - timedelta(days=back), hours_for)
        if where is not None:
            location, (opens, closes) = where
            length = timedelta(minutes=type_minutes[visit.type])
            start = max(opens, min(_at(opens.date(), at, tz), closes - length))
            end = start + length
            return appointment_resource(
                visit.id,
                patient_id=patient_id,
                practitioner_id=visit.provider,
                start=start,
                end=end,
                status=visit.status,
                location_id=location.id,
                appointment_type=_appointment_type(config, visit.type),
            )
    raise ValueError(f"demo appointment {visit.id}: {visit.provider} has no open day near {day}")


# --- scenarios -------------------------------------------------------------------------------------


def _instant(value: Any, tz: ZoneInfo, what: str) -> datetime:
    """A scenario time: a YAML timestamp or an ISO string; a time without offset is practice-local."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{what}: bad time {value!r}, use ISO 8601 like 2026-12-28T09:00:00-08:00"
            ) from None
    else:
        raise ValueError(f"{what}: bad time {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _birth_date(value: Any, what: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what}: birthDate must be YYYY-MM-DD") from None


def seed_scenario(client: FhirClient, scenario: Mapping[str, Any], tz: ZoneInfo | str) -> SeedSummary:
    """Create a scenario's practitioners, slots and patients (with appointments) at their ids.

    Shapes, as in the scenario YAML: `practitioners: [{id, name}]`,
    `slots: [{practitioner, start, minutes, status?}]`, `patients: [{id, name, birthDate, phone,
    phone_use?, email?, email_preferred?, address?, gender?, mrn?, conditions?, coverage?,
    appointments: [{id, practitioner, start, minutes, status, booked?}]}]`. An appointment that
    holds its slot (booked, pending, ...) marks the slot at its start busy, creating it if the
    scenario listed none. `conditions` (ICD-10 codes) become active Conditions and `coverage`
    (`medicaid` or `private`; `none` has no Coverage) a Coverage. An appointment's `booked` is its
    `created`; without it, with the scenario's `clock` given, it is `DEFAULT_LEAD` before the clock
    (or before its start, if earlier). Times without an offset are read in `tz`.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    clock = _instant(scenario["clock"], zone, "clock") if scenario.get("clock") is not None else None
    resources: list[Resource] = []
    practitioners: set[str] = set()
    for item in scenario.get("practitioners") or []:
        pid = str(item["id"])
        practitioners.add(pid)
        resources += [
            {
                "resourceType": "Practitioner",
                "id": pid,
                "active": True,
                "name": [_human_name(str(item["name"]))],
            },
            {
                "resourceType": "PractitionerRole",
                "id": pid,
                "active": True,
                "practitioner": _ref("Practitioner", pid),
            },
            {
                "resourceType": "Schedule",
                "id": pid,
                "active": True,
                "actor": [_ref("Practitioner", pid), _ref("PractitionerRole", pid)],
            },
        ]

    def known_practitioner(pid: str, what: str) -> str:
        if pid in practitioners:
            return pid
        try:
            client.read("Schedule", pid)
        except FhirError as exc:
            if exc.status == 404:
                raise ValueError(
                    f"{what}: unknown practitioner {pid!r}; list it under practitioners"
                ) from None
            raise
        practitioners.add(pid)
        return pid

    slots: dict[str, PlannedSlot] = {}
    for i, item in enumerate(scenario.get("slots") or []):
        what = f"slots.{i}"
        pid = known_practitioner(str(item["practitioner"]), what)
        start = _instant(item["start"], zone, what)
        planned = PlannedSlot(
            pid,
            "",
            start,
            start + timedelta(minutes=int(item.get("minutes", 20))),
            None,
            str(item.get("status", "free")),
        )
        slots[planned.id] = planned

    appointments: list[Resource] = []
    patients = scenario.get("patients") or []
    for i, item in enumerate(patients):
        what = f"patients.{i}"
        patient_id = str(item["id"])
        resources.append(
            patient_resource(
                patient_id,
                str(item["name"]),
                _birth_date(item["birthDate"], what),
                str(item["phone"]),
                item.get("gender"),
                item.get("mrn"),
                phone_use=str(item.get("phone_use") or "mobile"),
                email=item.get("email"),
                email_preferred=bool(item.get("email_preferred")),
                address=item.get("address"),
            )
        )
        for k, code in enumerate(item.get("conditions") or []):
            resources.append(condition_resource(f"{patient_id}-condition-{k + 1}", patient_id, str(code)))
        coverage = item.get("coverage")
        if coverage in COVERAGES:
            resources.append(coverage_resource(f"{patient_id}-coverage", patient_id, str(coverage)))
        for j, visit in enumerate(item.get("appointments") or []):
            vwhat = f"{what}.appointments.{j}"
            pid = known_practitioner(str(visit["practitioner"]), vwhat)
            start = _instant(visit["start"], zone, vwhat)
            if visit.get("booked") is not None:
                created: datetime | None = _instant(visit["booked"], zone, f"{vwhat}.booked")
            else:
                created = min(clock, start) - DEFAULT_LEAD if clock is not None else None
            end = start + timedelta(minutes=int(visit.get("minutes", 20)))
            status = str(visit.get("status", "booked"))
            sid = None
            if status in _HOLDS_SLOT:
                sid = slot_id(pid, start)
                held = slots.setdefault(sid, PlannedSlot(pid, "", start, end, None))
                held.status = "busy"
            appointments.append(
                appointment_resource(
                    str(visit["id"]),
                    patient_id=patient_id,
                    practitioner_id=pid,
                    start=start,
                    end=end,
                    status=status,
                    slot=sid,
                    created=created,
                )
            )
    resources += [slot_resource(s) for s in slots.values()]
    resources += appointments
    if resources:
        client.batch_put(resources)
    busy = sum(1 for s in slots.values() if s.status == "busy")
    return SeedSummary(
        resources=len(resources),
        free_slots=len(slots) - busy,
        busy_slots=busy,
        patients=len(patients),
        appointments=len(appointments),
    )


# --- checking expectations -------------------------------------------------------------------------


def _reference_id(reference: str, resource_type: str) -> str | None:
    prefix = f"{resource_type}/"
    return reference.removeprefix(prefix) if reference.startswith(prefix) else None


def find_appointments(client: FhirClient, patient_id: str) -> list[dict[str, Any]]:
    """A patient's appointments, soonest first, as plain dicts.

    Keys: `id`, `practitioner` (Practitioner id or None), `location` (Location id or None),
    `start` and `end` (timezone-aware datetimes), `status`, `slot` (Slot id or None).
    """
    found = client.search("Appointment", {"actor": f"Patient/{patient_id}"})
    out: list[dict[str, Any]] = []
    for appt in found:
        actors = [str(p.get("actor", {}).get("reference", "")) for p in appt.get("participant", [])]
        slot_refs = [str(s.get("reference", "")) for s in appt.get("slot", [])]
        out.append(
            {
                "id": appt["id"],
                "practitioner": next((i for a in actors if (i := _reference_id(a, "Practitioner"))), None),
                "location": next((i for a in actors if (i := _reference_id(a, "Location"))), None),
                "start": datetime.fromisoformat(appt["start"]) if appt.get("start") else None,
                "end": datetime.fromisoformat(appt["end"]) if appt.get("end") else None,
                "status": appt.get("status"),
                "slot": next((i for s in slot_refs if (i := _reference_id(s, "Slot"))), None),
            }
        )
    far_future = datetime.max.replace(tzinfo=UTC)
    out.sort(key=lambda a: (a["start"] or far_future, a["id"]))
    return out
