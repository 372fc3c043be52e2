"""`FhirEhr`: the `Ehr` port over FHIR R4 REST (urllib3), for any EHR with a FHIR R4 API.

Every call runs under `careline.ehr.resilience` (timeouts, bounded retries of reads only, a
circuit breaker), so a slow or absent EHR surfaces as `EhrUnavailable` and never as a transport
exception. Bookings are one transaction Bundle: the Slot is PUT busy with `ifMatch` on the version
just read, and the Appointment is POSTed with a Careline booking identifier. Two patients racing
for one slot cannot both win: the second PUT fails its precondition (412/409) and becomes
`SlotTaken`. Servers that do not roll a failed transaction back (Medplum's in-memory repository is
one) may keep the losing Appointment, so on a conflict the adapter looks it up by its booking
identifier and deletes it.

Logs carry resource ids, counts and statuses only: never a search parameter (a phone number or
birth date) and never a body.
"""

from __future__ import annotations

import functools
import json
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from careline.ehr.errors import EhrError, EhrUnavailable, NotFound, SlotTaken
from careline.ehr.model import (
    AppointmentRecord,
    AppointmentStatus,
    FreeSlot,
    PatientRecord,
    Practitioner,
    SlotQuery,
)
from careline.ehr.resilience import Resilience, ResiliencePolicy, TransientFailure, TurnBudget
from careline.ehr.smart import EhrConnection, SmartBackendAuth, WallClock
from careline.observability import logger

Resource = dict[str, Any]
Params = Sequence[tuple[str, str]]

# The coding systems Careline writes, shared with the local seeder (careline_local.fhir.seed).
APPOINTMENT_TYPE_SYSTEM = "urn:careline:appointment-type"
SLOT_LOCATION_EXTENSION = "urn:careline:fhir:extension:slot-location"
BOOKING_IDENTIFIER_SYSTEM = "urn:careline:booking"
COMMUNICATION_IDENTIFIER_SYSTEM = "urn:careline:communication"
CHANNEL_SYSTEM = "urn:careline:channel"
PARTICIPATION_MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
# v3 ParticipationMode has no SMS code; a text message is "written".
_PARTICIPATION_MODE = {
    "sms": ("WRITTEN", "written"),
    "voice": ("PHONE", "telephone"),
    "email": ("EMAILWRIT", "email"),
    "chat": ("ONLINEWRIT", "online written"),
}
_COMMUNICATION_NAMESPACE = uuid.UUID("8f1c2a4e-5b7d-4e0a-9c3f-6d2e1b0a7c55")
_MAX_PAGES = 5
_FHIR_JSON = "application/fhir+json"


# --- transport -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FhirResponse:
    status: int
    body: Resource
    location: str | None = None
    etag: str | None = None


class _Unauthorized(Exception):
    """A 401: the cached token was revoked or expired early; fetch a new one and try once more."""


class FhirTransport:
    """FHIR JSON over HTTP with keep-alive, under a `Resilience`. Safe to share between threads.

    Returns every answered response (including 4xx) except 5xx/429, which are transient; 404
    becomes `NotFound`. Transport errors never escape: they become `EhrUnavailable`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        resilience: Resilience,
        auth: SmartBackendAuth | None = None,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.resilience = resilience
        self._auth = auth
        policy = resilience.policy
        timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
        self._pool = pool or urllib3.PoolManager(maxsize=10, retries=False, timeout=timeout)

    def close(self) -> None:
        self._pool.clear()

    def url(self, path: str, params: Params | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        # quote_via=quote keeps "+" of an E.164 number from arriving as a space.
        return url + ("?" + urlencode(list(params), quote_via=quote) if params else "")

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> FhirResponse:
        if not url.startswith(self.base_url):
            # A paging link pointing elsewhere must never receive our bearer token.
            raise EhrError("the EHR returned a link outside its base URL")
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        for last_try in (False, True):
            sent = {"Accept": _FHIR_JSON, **(headers or {})}
            if payload is not None:
                sent["Content-Type"] = _FHIR_JSON
            if self._auth is not None:
                sent["Authorization"] = self._auth.authorization()
            try:
                response = self.resilience.run(
                    functools.partial(self._attempt, method, url, payload, sent), idempotent=idempotent
                )
            except _Unauthorized:
                if self._auth is None or last_try:
                    raise EhrUnavailable("the EHR refused Careline's credentials (401)") from None
                self._auth.invalidate()
                continue
            if response.status == 404:
                raise NotFound(f"{method} {_path_only(url, self.base_url)} -> 404")
            if response.status == 403:
                raise EhrUnavailable("the EHR refused access (403); check the client's scopes")
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, method: str, url: str, payload: bytes | None, headers: Mapping[str, str]
    ) -> FhirResponse:
        connect, read = self.resilience.attempt_timeouts()
        try:
            raw = self._pool.request(
                method,
                url,
                body=payload,
                headers=dict(headers),
                timeout=urllib3.Timeout(connect=connect, read=read),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TransientFailure(type(exc).__name__) from None
        status = raw.status
        if status == 401:
            raise _Unauthorized
        if status == 429 or status >= 500:
            raise TransientFailure(f"status_{status}", _retry_after(raw.headers.get("Retry-After")))
        try:
            data: Any = json.loads(raw.data) if raw.data else {}
        except ValueError:
            raise TransientFailure("body_not_json") from None
        return FhirResponse(
            status=status,
            body=data if isinstance(data, dict) else {},
            location=raw.headers.get("Location"),
            etag=raw.headers.get("ETag"),
        )


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _path_only(url: str, base_url: str) -> str:
    # Search parameters can hold a phone number or a birth date: keep them out of every message.
    return url.removeprefix(base_url).split("?", 1)[0] or "/"


def _urllib3_post_form(pool: urllib3.PoolManager, timeout: urllib3.Timeout) -> Callable[..., tuple[int, Any]]:
    def post_form(url: str, fields: Mapping[str, str]) -> tuple[int, Any]:
        try:
            raw = pool.request(
                "POST",
                url,
                body=urlencode(dict(fields)).encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                timeout=timeout,
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TransientFailure(type(exc).__name__) from None
        if raw.status == 429 or raw.status >= 500:
            raise TransientFailure(f"status_{raw.status}", _retry_after(raw.headers.get("Retry-After")))
        try:
            return raw.status, json.loads(raw.data) if raw.data else {}
        except ValueError:
            return raw.status, {}

    return post_form


# --- mapping helpers -------------------------------------------------------------------------------


def normalize_phone(value: str) -> str | None:
    """A phone number as E.164, reading US national forms ("(503) 555-0142", "503.555.0142",
    "1-503-555-0142"); None for what cannot be read as one."""
    text = value.strip().removeprefix("tel:")
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return None


def phone_search_variants(e164: str) -> list[str]:
    """The forms an EHR may have stored an E.164 number in: FHIR token search matches exactly."""
    variants = [e164, e164[1:], f"tel:{e164}"]
    if e164.startswith("+1") and len(e164) == 12:
        n = e164[2:]
        a, b, c = n[:3], n[3:6], n[6:]
        variants += [
            n,
            f"({a}) {b}-{c}",
            f"({a}){b}-{c}",
            f"{a}-{b}-{c}",
            f"{a}.{b}.{c}",
            f"{a} {b} {c}",
            f"1-{a}-{b}-{c}",
            f"1 ({a}) {b}-{c}",
            f"+1 {a}-{b}-{c}",
            f"+1 ({a}) {b}-{c}",
            f"+1 {a} {b} {c}",
            f"+1-{a}-{b}-{c}",
        ]
    return variants


def fold_name(value: str) -> str:
    """Case- and accent-insensitive form of a name: "José  Núñez-Ávila" -> "jose nunez avila"."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", bare.casefold()).split())


def _current_names(patient: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [n for n in patient.get("name", []) if n.get("use") not in ("old", "maiden")]


def _name_matches(patient: Mapping[str, Any], given_name: str, family_name: str) -> bool:
    given, family = fold_name(given_name), fold_name(family_name)
    if not given or not family:
        return False
    names = _current_names(patient)
    givens: set[str] = set()
    families: set[str] = set()
    for name in names:
        parts = [fold_name(g) for g in name.get("given", []) if isinstance(g, str)]
        if parts:
            givens.add(parts[0])
            givens.add(" ".join(parts))
        if isinstance(name.get("family"), str):
            families.add(fold_name(name["family"]))
    return given in givens and family in families


def _reference_id(reference: Any, resource_type: str) -> str | None:
    """The id in "Type/id" (or an absolute ".../Type/id"), else None."""
    if not isinstance(reference, str):
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type and parts[-1]:
        return parts[-1]
    return None


def parse_instant(value: Any) -> datetime | None:
    """A FHIR instant (with its offset) as an aware datetime; None for anything else (a date alone)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _codes(concept: Any) -> list[tuple[str | None, str]]:
    if not isinstance(concept, dict):
        return []
    return [(c.get("system"), c["code"]) for c in concept.get("coding", []) if isinstance(c.get("code"), str)]


def _type_code(*concepts: Any) -> str | None:
    """Careline's own appointment-type code if present, else the first code found."""
    codes = [code for concept in concepts for code in _codes(concept)]
    for system, code in codes:
        if system == APPOINTMENT_TYPE_SYSTEM:
            return code
    return codes[0][1] if codes else None


def _version(resource: Mapping[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    return etag.removeprefix("W/").strip('"') or None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("datetimes sent to the EHR must be timezone-aware")
    return value.isoformat(timespec="seconds")


def _status(value: Any) -> int:
    # R4 allows "201 Created" as well as "201" in a transaction-response entry.
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError):
        return 0


def to_patient(resource: Mapping[str, Any]) -> PatientRecord:
    names = _current_names(resource)
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = [g for g in official.get("given", []) if isinstance(g, str)]
    birth = resource.get("birthDate")
    try:
        birth_date = date.fromisoformat(birth) if isinstance(birth, str) else None
    except ValueError:
        birth_date = None  # a partial date ("1974-12") cannot verify anyone
    phones: list[str] = []
    for telecom in resource.get("telecom", []):
        if telecom.get("system") in (None, "phone", "sms") and isinstance(telecom.get("value"), str):
            e164 = normalize_phone(telecom["value"])
            if e164 and e164 not in phones:
                phones.append(e164)
    return PatientRecord(
        id=str(resource["id"]),
        given_name=given[0] if given else "",
        family_name=str(official.get("family", "")),
        birth_date=birth_date,
        phones=tuple(phones),
    )


def _practitioner_name(resource: Mapping[str, Any]) -> str:
    names = resource.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if isinstance(name.get("text"), str) and name["text"].strip():
        display = str(name["text"]).strip()
    else:
        display = " ".join(str(p) for p in [*name.get("given", []), name.get("family", "")] if p).strip()
    # Patients are told who they will see the way the front desk says it: "Dr. Lily Chen".
    prefixes = [str(p) for p in name.get("prefix", []) if p]
    suffixes = {str(s).upper().replace(".", "") for s in name.get("suffix", [])}
    if prefixes and not display.lower().startswith(prefixes[0].lower()):
        display = f"{prefixes[0]} {display}"
    elif suffixes & {"MD", "DO"} and not display.lower().startswith("dr"):
        display = f"Dr. {display}"
    return display


def to_appointment(resource: Mapping[str, Any]) -> AppointmentRecord | None:
    """The Careline view of an Appointment; None if it has no start/end or no patient."""
    start, end = parse_instant(resource.get("start")), parse_instant(resource.get("end"))
    actors = [p.get("actor", {}).get("reference") for p in resource.get("participant", [])]
    patient = next((i for a in actors if (i := _reference_id(a, "Patient"))), None)
    if start is None or end is None or patient is None:
        return None
    try:
        status = AppointmentStatus(str(resource.get("status")))
    except ValueError:
        return None
    slots = [_reference_id(s.get("reference"), "Slot") for s in resource.get("slot", [])]
    return AppointmentRecord(
        id=str(resource["id"]),
        patient_id=patient,
        practitioner_id=next((i for a in actors if (i := _reference_id(a, "Practitioner"))), ""),
        start=start,
        end=end,
        status=status,
        slot_id=next((s for s in slots if s), None),
        appointment_type=_type_code(resource.get("appointmentType"), *resource.get("serviceType", [])),
        location_id=next((i for a in actors if (i := _reference_id(a, "Location"))), None),
        version=_version(resource),
    )


def _slot_location(slot: Mapping[str, Any]) -> str | None:
    for extension in slot.get("extension", []):
        if extension.get("url") == SLOT_LOCATION_EXTENSION:
            return _reference_id(extension.get("valueReference", {}).get("reference"), "Location")
    return None


@dataclass(frozen=True)
class _ScheduleOwner:
    practitioner_id: str
    location_id: str | None


# --- the adapter -----------------------------------------------------------------------------------


class FhirEhr:
    """The practice's EHR over FHIR R4 REST. Implements `careline.ports.Ehr`."""

    def __init__(self, transport: FhirTransport) -> None:
        self._http = transport

    @classmethod
    def connect(
        cls,
        connection: EhrConnection,
        *,
        policy: ResiliencePolicy | None = None,
        budget: TurnBudget | None = None,
        now: WallClock,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> FhirEhr:
        """An adapter for `connection`: SMART backend auth unless it says `auth: none`."""
        policy = policy or ResiliencePolicy()
        resilience = Resilience(policy, clock=monotonic, sleep=sleep, budget=budget)
        timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
        pool = urllib3.PoolManager(maxsize=10, retries=False, timeout=timeout)
        auth = None
        if connection.auth == "smart":
            auth = SmartBackendAuth(
                connection, post_form=_urllib3_post_form(pool, timeout), now=now, resilience=resilience
            )
        return cls(FhirTransport(connection.fhir_base_url, resilience=resilience, auth=auth, pool=pool))

    @property
    def transport(self) -> FhirTransport:
        return self._http

    def _transaction(self, entries: list[Resource]) -> FhirResponse:
        """POST one transaction Bundle of `entries` (never retried by the transport: it writes)."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        return self._http.request("POST", self._http.url(""), body=bundle, idempotent=False)

    # --- reads -------------------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> Resource:
        """One resource by id (for readers of raw resources: the no-show scoring's schedule).
        Raises `NotFound` when the server has no such resource."""
        url = self._http.url(f"{resource_type}/{quote(resource_id, safe='')}")
        response = self._http.request("GET", url, idempotent=True)
        if response.status in (404, 410):
            raise NotFound(f"{resource_type} not found")
        if response.status != 200:
            raise EhrError(f"read {resource_type} -> {response.status}")
        return response.body

    def search(self, resource_type: str, params: Params, *, max_pages: int = 1_000) -> list[Resource]:
        """Every match of a search, across pages (raw resources, for the same readers). A search with
        more than `max_pages` pages raises `EhrError` rather than returning part of the answer."""
        return self._search(resource_type, params, max_pages=max_pages, complete=True)

    def _read(self, resource_type: str, resource_id: str) -> Resource:
        url = self._http.url(f"{resource_type}/{quote(resource_id, safe='')}")
        return self._http.request("GET", url, idempotent=True).body

    def _search(
        self, resource_type: str, params: Params, *, max_pages: int = _MAX_PAGES, complete: bool = False
    ) -> list[Resource]:
        url: str | None = self._http.url(resource_type, params)
        found: list[Resource] = []
        pages = 0
        while url and pages < max_pages:
            response = self._http.request("GET", url, idempotent=True)
            if response.status != 200:
                raise EhrError(f"search {resource_type} -> {response.status}")
            bundle = response.body
            for entry in bundle.get("entry", []):
                resource = entry.get("resource")
                mode = entry.get("search", {}).get("mode", "match")
                if (
                    isinstance(resource, dict)
                    and resource.get("resourceType") == resource_type
                    and mode == "match"
                ):
                    found.append(resource)
            url = next(
                (link.get("url") for link in bundle.get("link", []) if link.get("relation") == "next"), None
            )
            pages += 1
        if complete and url:
            raise EhrError(f"search {resource_type} has more than {max_pages} pages")
        total = bundle.get("total") if pages else None
        if complete and isinstance(total, int) and total > len(found):
            # the server counted more matches than it handed over, with no next page to read them
            raise EhrError(f"search {resource_type} answered {len(found)} of {total} matches")
        return found

    def find_patients_by_phone(self, phone: str) -> list[PatientRecord]:
        """Patients whose telecom holds this number, in E.164 or any US national form."""
        e164 = normalize_phone(phone)
        if e164 is None:
            return []
        resources = self._search(
            "Patient", [("phone", ",".join(phone_search_variants(e164))), ("_count", "50")]
        )
        patients = _unique(to_patient(r) for r in resources if r.get("active") is not False)
        # The server matched some stored form; keep only patients whose number really is this one.
        matches = [p for p in patients if e164 in p.phones]
        logger.info("ehr patients by phone", extra={"matches": len(matches)})
        return matches

    def find_patients_by_name_and_birth_date(
        self, given_name: str, family_name: str, birth_date: date
    ) -> list[PatientRecord]:
        """Patients born on `birth_date` whose current name matches, ignoring case and accents.

        The birth date narrows the search on the server; names are compared here, because FHIR
        string search is a prefix match and few servers fold accents.
        """
        resources = self._search("Patient", [("birthdate", birth_date.isoformat()), ("_count", "100")])
        matches = _unique(
            to_patient(r)
            for r in resources
            if r.get("active") is not False
            and r.get("birthDate") == birth_date.isoformat()
            and _name_matches(r, given_name, family_name)
        )
        logger.info("ehr patients by name and birth date", extra={"matches": len(matches)})
        return matches

    def practitioners(self) -> list[Practitioner]:
        resources = self._search("Practitioner", [("_count", "200")])
        found = [
            Practitioner(id=str(r["id"]), name=_practitioner_name(r))
            for r in resources
            if r.get("active") is not False
        ]
        return sorted(found, key=lambda p: (p.name, p.id))

    def upcoming_appointments(self, patient_id: str, after: datetime) -> list[AppointmentRecord]:
        """The patient's booked appointments starting at or after `after`, soonest first."""
        resources = self._search(
            "Appointment",
            [
                ("patient", f"Patient/{patient_id}"),
                ("date", f"ge{_iso(after)}"),
                ("status", AppointmentStatus.BOOKED.value),
                ("_sort", "date"),
                ("_count", "100"),
            ],
        )
        records = [a for r in resources if (a := to_appointment(r)) is not None]
        upcoming = [
            a
            for a in records
            if a.patient_id == patient_id and a.status is AppointmentStatus.BOOKED and a.start >= after
        ]
        return sorted(upcoming, key=lambda a: (a.start, a.id))

    def _schedule_owners(self, practitioner_id: str | None) -> dict[str, _ScheduleOwner]:
        params: list[tuple[str, str]] = [("_count", "200")]
        if practitioner_id:
            params.append(("actor", f"Practitioner/{practitioner_id}"))
        owners: dict[str, _ScheduleOwner] = {}
        for schedule in self._search("Schedule", params):
            if schedule.get("active") is False:
                continue
            refs = [a.get("reference") for a in schedule.get("actor", [])]
            practitioner = next((i for r in refs if (i := _reference_id(r, "Practitioner"))), None)
            if practitioner is None or (practitioner_id and practitioner != practitioner_id):
                continue  # a room's or a device's schedule: nobody to book with
            locations = [i for r in refs if (i := _reference_id(r, "Location"))]
            owners[str(schedule["id"])] = _ScheduleOwner(
                practitioner, locations[0] if len(locations) == 1 else None
            )
        return owners

    def free_slots(self, query: SlotQuery) -> list[FreeSlot]:
        """Free slots in [earliest, latest), by practitioner (via Schedule.actor) and appointment
        type (Slot.appointmentType or Slot.serviceType), earliest first, at most `query.limit`."""
        owners = self._schedule_owners(query.practitioner_id)
        if not owners or query.limit <= 0:
            return []
        resources = self._search(
            "Slot",
            [
                ("schedule", ",".join(f"Schedule/{sid}" for sid in sorted(owners))),
                ("start", f"ge{_iso(query.earliest)}"),
                ("start", f"lt{_iso(query.latest)}"),
                ("status", "free"),
                ("_sort", "start"),
                ("_count", str(min(max(query.limit * 4, 50), 500))),
            ],
        )
        slots: list[FreeSlot] = []
        for resource in resources:
            owner = owners.get(_reference_id(resource.get("schedule", {}).get("reference"), "Schedule") or "")
            start, end = parse_instant(resource.get("start")), parse_instant(resource.get("end"))
            if owner is None or start is None or end is None or resource.get("status") != "free":
                continue
            if not query.earliest <= start < query.latest:
                continue
            concepts = [resource.get("appointmentType"), *resource.get("serviceType", [])]
            codes = {code for concept in concepts for _, code in _codes(concept)}
            # A slot that names no type is open to any visit (many EHRs leave it unset); one
            # that names types is offered only for those.
            if query.appointment_type and codes and query.appointment_type not in codes:
                continue
            slots.append(
                FreeSlot(
                    id=str(resource["id"]),
                    practitioner_id=owner.practitioner_id,
                    start=start,
                    end=end,
                    appointment_type=_type_code(*concepts),
                    location_id=_slot_location(resource) or owner.location_id,
                    version=_version(resource),
                )
            )
        slots.sort(key=lambda s: (s.start, s.id))
        return slots[: query.limit]

    # --- writes ------------------------------------------------------------------------------------

    def book(self, patient_id: str, slot: FreeSlot, appointment_type: str | None = None) -> AppointmentRecord:
        """Create the Appointment and mark the Slot busy in one transaction, conditional on the
        Slot's current version; `SlotTaken` if it is no longer free or someone else won the race.

        The Slot is read first: a slot that moved or was taken since it was offered is refused
        before anything is written. A slot that changed version but is still free at the offered
        time is booked: the patient gets what they were offered.
        """
        try:
            current = self._read("Slot", slot.id)
        except NotFound:
            raise SlotTaken(f"slot {slot.id} no longer exists") from None
        start, end = parse_instant(current.get("start")), parse_instant(current.get("end"))
        if (
            current.get("status") != "free"
            or start != slot.start
            or end != slot.end
            or start is None
            or end is None
        ):
            raise SlotTaken(f"slot {slot.id} is no longer free at the offered time")
        version = _version(current)
        booking_id = str(uuid.uuid4())
        appointment = self._appointment_for(
            patient_id, slot, current, start, end, appointment_type, booking_id
        )
        busy = {k: v for k, v in current.items() if k != "meta"} | {"status": "busy"}
        slot_request: Resource = {"method": "PUT", "url": f"Slot/{slot.id}"}
        if version:
            slot_request["ifMatch"] = f'W/"{version}"'
        entries: list[Resource] = [
            {"resource": busy, "request": slot_request},
            {
                "fullUrl": f"urn:uuid:{booking_id}",
                "resource": appointment,
                "request": {"method": "POST", "url": "Appointment"},
            },
        ]
        try:
            # A booking is never retried blindly: a timed-out POST may have happened.
            response = self._transaction(entries)
        except EhrUnavailable:
            booked = self._find_booking(booking_id)
            if booked is not None:
                logger.info("ehr booking confirmed after timeout", extra={"appointment_id": booked.id})
                return booked
            raise
        if response.status in (409, 412):
            self._remove_orphans(booking_id)
            logger.info("ehr slot taken", extra={"slot_id": slot.id, "status": response.status})
            raise SlotTaken(f"slot {slot.id} was booked by someone else")
        if response.status >= 400:
            self._remove_orphans(booking_id)
            raise EhrError(f"booking slot {slot.id} -> {response.status}")
        appointment_id, appointment_version = self._created_appointment(response.body)
        if appointment_id is None:
            found = self._find_booking(booking_id)
            if found is None:
                raise EhrError(f"booking slot {slot.id}: the EHR did not say which Appointment it created")
            return found
        record = to_appointment(
            {**appointment, "id": appointment_id, "meta": {"versionId": appointment_version}}
        )
        assert record is not None  # built above with patient, start and end
        logger.info("ehr appointment booked", extra={"appointment_id": appointment_id, "slot_id": slot.id})
        return record

    def _appointment_for(
        self,
        patient_id: str,
        slot: FreeSlot,
        current: Mapping[str, Any],
        start: datetime,
        end: datetime,
        appointment_type: str | None,
        booking_id: str,
    ) -> Resource:
        participants: list[Resource] = [
            {"actor": {"reference": f"Patient/{patient_id}"}, "required": "required", "status": "accepted"},
            {
                "actor": {"reference": f"Practitioner/{slot.practitioner_id}"},
                "required": "required",
                "status": "accepted",
            },
        ]
        if slot.location_id:
            participants.append(
                {
                    "actor": {"reference": f"Location/{slot.location_id}"},
                    "required": "required",
                    "status": "accepted",
                }
            )
        resource: Resource = {
            "resourceType": "Appointment",
            "identifier": [{"system": BOOKING_IDENTIFIER_SYSTEM, "value": booking_id}],
            "status": AppointmentStatus.BOOKED.value,
            "start": _iso(start),
            "end": _iso(end),
            "minutesDuration": int((end - start).total_seconds() // 60),
            "slot": [{"reference": f"Slot/{slot.id}"}],
            "participant": participants,
        }
        slot_type = current.get("appointmentType")
        wanted = appointment_type or slot.appointment_type
        if isinstance(slot_type, dict) and (wanted is None or wanted in {c for _, c in _codes(slot_type)}):
            resource["appointmentType"] = slot_type
        elif wanted:
            resource["appointmentType"] = {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": wanted}]}
        return resource

    @staticmethod
    def _created_appointment(bundle: Mapping[str, Any]) -> tuple[str | None, str | None]:
        for entry in bundle.get("entry", []):
            answer = entry.get("response", {})
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") == "Appointment":
                return str(resource["id"]), _version(resource)
            appointment_id = _reference_id(
                str(answer.get("location", "")).split("/_history/")[0], "Appointment"
            )
            if appointment_id and _status(answer.get("status")) == 201:
                return appointment_id, _etag_version(answer.get("etag"))
        return None, None

    def _bookings(self, booking_id: str) -> list[Resource]:
        return self._search("Appointment", [("identifier", f"{BOOKING_IDENTIFIER_SYSTEM}|{booking_id}")])

    def _find_booking(self, booking_id: str) -> AppointmentRecord | None:
        try:
            found = self._bookings(booking_id)
        except EhrError:
            return None
        records = [a for r in found if (a := to_appointment(r)) is not None]
        return next((a for a in records if a.status is AppointmentStatus.BOOKED), None)

    def _remove_orphans(self, booking_id: str) -> None:
        """Delete what a failed, non-atomic transaction left behind (nothing, on a server that rolls back)."""
        try:
            for orphan in self._bookings(booking_id):
                url = self._http.url(f"Appointment/{quote(str(orphan['id']), safe='')}")
                self._http.request("DELETE", url, idempotent=True)
                logger.warning("ehr orphan appointment removed", extra={"appointment_id": orphan["id"]})
        except EhrError:
            logger.warning("ehr orphan appointment check failed")

    def cancel(self, appointment: AppointmentRecord, reason: str) -> AppointmentRecord:
        """Cancel with `reason` (Appointment.cancelationReason.text) and free its slot, in one
        transaction conditional on both versions; cancelling a cancelled appointment is a no-op."""
        for attempt in (1, 2):
            current = self._read("Appointment", appointment.id)
            record = to_appointment(current)
            if record is None:
                raise EhrError(f"appointment {appointment.id} cannot be read as a booking")
            if record.status is AppointmentStatus.CANCELLED:
                return record
            entries: list[Resource] = []
            for slot_id in {
                s for ref in current.get("slot", []) if (s := _reference_id(ref.get("reference"), "Slot"))
            }:
                try:
                    slot = self._read("Slot", slot_id)
                except NotFound:
                    continue
                if slot.get("status") == "busy":
                    entries.append(_conditional_put(slot, {"status": "free"}))
            cancelled = {k: v for k, v in current.items() if k not in ("meta", "slot")} | {
                "status": AppointmentStatus.CANCELLED.value,
                "cancelationReason": {"text": reason},
            }
            # The slot goes first: on a server that applies entries one by one, a failure then
            # leaves a freed slot and a booked appointment, which the second attempt finishes.
            entries.append(_conditional_put({**cancelled, "meta": current.get("meta", {})}, {}))
            response = self._transaction(entries)
            if response.status in (409, 412) and attempt == 1:
                continue  # changed under us: read again and retry once
            if response.status >= 400:
                raise EhrError(f"cancelling appointment {appointment.id} -> {response.status}")
            logger.info("ehr appointment cancelled", extra={"appointment_id": appointment.id})
            done = to_appointment({**cancelled, "meta": {}})
            assert done is not None
            return done
        raise AssertionError("unreachable")  # pragma: no cover

    def confirm(self, appointment: AppointmentRecord) -> AppointmentRecord:
        """Record that the patient confirmed: their participant's status becomes `accepted`.

        FHIR R4 has no "confirmed" Appointment.status (a confirmed visit stays `booked`); the
        patient's answer lives on their participant. One conditional update on the version just
        read, retried once if the appointment changed meanwhile; a participant already `accepted`
        is left as it is. `NotFound` when the appointment is gone or no longer booked.
        """
        for attempt in (1, 2):
            current = self._read("Appointment", appointment.id)
            record = to_appointment(current)
            if record is None:
                raise EhrError(f"appointment {appointment.id} cannot be read as a booking")
            if record.status is not AppointmentStatus.BOOKED:
                raise NotFound(f"appointment {appointment.id} is {record.status.value}, not booked")
            participants: list[Resource] = [dict(p) for p in current.get("participant", [])]
            patients = [
                p for p in participants if _reference_id(p.get("actor", {}).get("reference"), "Patient")
            ]
            if all(p.get("status") == "accepted" for p in patients):
                return record
            for participant in patients:
                participant["status"] = "accepted"
            accepted = {**current, "participant": participants}
            response = self._transaction([_conditional_put(accepted, {})])
            if response.status in (409, 412) and attempt == 1:
                continue  # changed under us: read again and retry once
            if response.status >= 400:
                raise EhrError(f"confirming appointment {appointment.id} -> {response.status}")
            logger.info("ehr appointment confirmed", extra={"appointment_id": appointment.id})
            done = to_appointment({**accepted, "meta": {}})
            assert done is not None
            return done
        raise AssertionError("unreachable")  # pragma: no cover

    def reschedule(self, appointment: AppointmentRecord, slot: FreeSlot) -> AppointmentRecord:
        """Book `slot`, then cancel `appointment`; if cancelling fails, cancel the new booking
        (freeing its slot) and re-raise, so the patient never holds two appointments."""
        booked = self.book(appointment.patient_id, slot, appointment.appointment_type)
        try:
            self.cancel(appointment, "Rescheduled by the patient")
        except EhrError:
            try:
                self.cancel(booked, "Booking undone: the appointment it replaced could not be cancelled")
                logger.warning(
                    "ehr reschedule undone",
                    extra={"appointment_id": appointment.id, "undone_appointment_id": booked.id},
                )
            except EhrError:
                logger.error(
                    "ehr reschedule undo failed",
                    extra={"appointment_id": appointment.id, "undone_appointment_id": booked.id},
                )
            raise
        return booked

    def record_communication(self, patient_id: str, summary: str, channel: str, sent: datetime) -> str:
        """Write a finished conversation as a completed Communication on the patient.

        Conditional create on an identifier derived from patient, channel and time, so a retry
        (ours, or a redelivered event's) never writes the same conversation twice.
        """
        key = str(uuid.uuid5(_COMMUNICATION_NAMESPACE, f"{patient_id}|{channel}|{_iso(sent)}"))
        mode, display = _PARTICIPATION_MODE.get(channel, ("ELECTRONIC", "electronic data"))
        resource = {
            "resourceType": "Communication",
            "identifier": [{"system": COMMUNICATION_IDENTIFIER_SYSTEM, "value": key}],
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "sent": _iso(sent),
            "medium": [
                {
                    "coding": [
                        {"system": PARTICIPATION_MODE_SYSTEM, "code": mode, "display": display},
                        {"system": CHANNEL_SYSTEM, "code": channel},
                    ],
                    "text": channel,
                }
            ],
            "payload": [{"contentString": summary}],
        }
        response = self._http.request(
            "POST",
            self._http.url("Communication"),
            body=resource,
            headers={"If-None-Exist": f"identifier={COMMUNICATION_IDENTIFIER_SYSTEM}|{key}"},
            idempotent=True,
        )
        if response.status >= 400:
            raise EhrError(f"writing a Communication -> {response.status}")
        communication_id = response.body.get("id") or _reference_id(
            (response.location or "").split("/_history/")[0], "Communication"
        )
        if not communication_id:
            raise EhrError("the EHR did not say which Communication it created")
        logger.info(
            "ehr communication recorded", extra={"communication_id": communication_id, "channel": channel}
        )
        return str(communication_id)


def _conditional_put(resource: Mapping[str, Any], changes: Mapping[str, Any]) -> Resource:
    version = _version(resource)
    request: Resource = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    if version:
        request["ifMatch"] = f'W/"{version}"'
    body = {k: v for k, v in resource.items() if k != "meta"} | dict(changes)
    return {"resource": body, "request": request}


def _unique(patients: Iterable[PatientRecord]) -> list[PatientRecord]:
    seen: dict[str, PatientRecord] = {}
    for patient in patients:
        seen.setdefault(patient.id, patient)
    return list(seen.values())
