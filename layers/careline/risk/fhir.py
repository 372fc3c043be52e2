"""FHIR R4 resources (plain dicts, as the EHR adapter reads them) → `AppointmentFacts`.

Scoring an appointment in the practice's EHR goes through this mapping and then the same
`risk_features` training used. What it reads:

- `Appointment.start` (the visit's local day and time) and `Appointment.created` (when it was
  booked); an appointment without a start cannot be scored (`RiskInputError`);
- `Patient.birthDate` (age on the visit's day) and `Patient.gender`;
- active `Condition`s coded in ICD-10(-CM) or SNOMED CT: hypertension, diabetes, alcohol use, and
  disabilities (the disability level is how many kinds: mobility, vision, hearing, intellectual);
- active `Coverage`s: public assistance when a type is Medicaid/CHIP in the Source of Payment
  Typology (codes 2x) or a type, class or payor says Medicaid or CHIP;
- the patient's other `Appointment`s with status `fulfilled`, `noshow` or `cancelled`, as history
  (the features count only those on days before the visit).

Whether a reminder was already sent is Careline's own knowledge, passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Final

from careline.risk.facts import AppointmentFacts, CoverageKind, Outcome, PriorAppointment, Sex

_ICD10: Final = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"})
_SNOMED: Final = "http://snomed.info/sct"
_SOPT: Final = frozenset({"https://nahdo.org/sopt", "urn:oid:2.16.840.1.113883.3.221.5"})
_HYPERTENSION: Final = (("I10", "I11", "I12", "I13", "I15", "I16"), {"38341003", "59621000"})
_DIABETES: Final = (("E08", "E09", "E10", "E11", "E13"), {"73211009", "44054006", "46635009"})
_ALCOHOL: Final = (("F10",), {"7200002", "66590003", "15167005"})
_DISABILITIES: Final = {
    "mobility": (("Z99.3", "Z89", "G80", "G82"), {"228308004"}),
    "vision": (("H54",), {"193699007"}),
    "hearing": (("H90", "H91"), {"15188001"}),
    "intellectual": (("F70", "F71", "F72", "F73", "F78", "F79"), {"110359009"}),
}
_PAST_OUTCOMES: Final = {
    "fulfilled": Outcome.ATTENDED,
    "noshow": Outcome.NO_SHOW,
    "cancelled": Outcome.CANCELLED,
}
_INACTIVE: Final = frozenset({"inactive", "resolved", "remission"})
_NOT_TRUE: Final = frozenset({"refuted", "entered-in-error"})
_PUBLIC_WORDS: Final = ("medicaid", "chip")


class RiskInputError(ValueError):
    """A FHIR resource lacks what scoring needs (names the field, never a value)."""


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time())
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _age(birth_date: Any, on: date) -> int | None:
    if not isinstance(birth_date, str):
        return None
    parts = birth_date.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
        day = int(parts[2]) if len(parts) > 2 else 1
    except ValueError:
        return None
    age = on.year - year - ((on.month, on.day) < (month, day))
    return age if age >= 0 else None


def _codings(concepts: Iterable[Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for concept in concepts:
        if isinstance(concept, Mapping):
            out.extend(c for c in concept.get("coding") or () if isinstance(c, Mapping))
    return out


def _words(concepts: Iterable[Any]) -> str:
    parts: list[str] = []
    for concept in concepts:
        if isinstance(concept, Mapping):
            parts.append(str(concept.get("text") or ""))
            parts.extend(str(c.get("display") or "") for c in _codings([concept]))
    return " ".join(parts).lower()


def _is(condition: Mapping[str, Any], codes: tuple[tuple[str, ...], set[str]]) -> bool:
    icd_prefixes, snomed = codes
    for coding in _codings([condition.get("code")]):
        code = str(coding.get("code") or "").upper()
        if coding.get("system") in _ICD10 and code.startswith(icd_prefixes):
            return True
        if coding.get("system") == _SNOMED and code in snomed:
            return True
    return False


def _status(resource: Mapping[str, Any], element: str) -> set[str]:
    return {str(c.get("code")) for c in _codings([resource.get(element)])}


def _active_conditions(conditions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        c
        for c in conditions
        if not (_status(c, "clinicalStatus") & _INACTIVE)
        and not (_status(c, "verificationStatus") & _NOT_TRUE)
    ]


def _coverage(coverages: Sequence[Mapping[str, Any]]) -> CoverageKind:
    for coverage in coverages:
        if coverage.get("status", "active") != "active":
            continue
        types = [coverage.get("type")]
        if any(
            c.get("system") in _SOPT and str(c.get("code") or "").startswith("2") for c in _codings(types)
        ):
            return CoverageKind.PUBLIC_ASSISTANCE
        payors = [p.get("display") for p in coverage.get("payor") or () if isinstance(p, Mapping)]
        classes = [
            c.get("name") or c.get("value") for c in coverage.get("class") or () if isinstance(c, Mapping)
        ]
        words = f"{_words(types)} {' '.join(str(w or '') for w in payors + classes).lower()}"
        if any(word in words.split() or word in words for word in _PUBLIC_WORDS):
            return CoverageKind.PUBLIC_ASSISTANCE
    return CoverageKind.OTHER


def _history(past: Sequence[Mapping[str, Any]], this_id: Any) -> tuple[PriorAppointment, ...]:
    out: list[PriorAppointment] = []
    for resource in past:
        if this_id is not None and resource.get("id") == this_id:
            continue
        outcome = _PAST_OUTCOMES.get(str(resource.get("status")))
        start = _datetime(resource.get("start"))
        if outcome is not None and start is not None:
            out.append(PriorAppointment(start.date(), outcome))
    return tuple(sorted(out, key=lambda p: p.day))


def facts_from_fhir(
    appointment: Mapping[str, Any],
    patient: Mapping[str, Any],
    *,
    conditions: Sequence[Mapping[str, Any]] = (),
    coverages: Sequence[Mapping[str, Any]] = (),
    past_appointments: Sequence[Mapping[str, Any]] = (),
    reminder_sent: bool = False,
) -> AppointmentFacts:
    """The record the risk model scores, from the appointment, its patient and their resources."""
    start = _datetime(appointment.get("start"))
    if start is None:
        raise RiskInputError("Appointment.start is missing or not a dateTime")
    gender = patient.get("gender")
    sex = Sex(gender) if gender in {s.value for s in Sex} else Sex.UNKNOWN
    active = _active_conditions(conditions)
    disabilities = sum(1 for codes in _DISABILITIES.values() if any(_is(c, codes) for c in active))
    return AppointmentFacts(
        starts_on=start.date(),
        starts_at=start.time().replace(tzinfo=None) if len(str(appointment.get("start"))) > 10 else None,
        booked_at=_datetime(appointment.get("created")),
        age=_age(patient.get("birthDate"), start.date()),
        sex=sex,
        reminder_sent=reminder_sent,
        coverage=_coverage(coverages),
        hypertension=any(_is(c, _HYPERTENSION) for c in active),
        diabetes=any(_is(c, _DIABETES) for c in active),
        alcohol_use=any(_is(c, _ALCOHOL) for c in active),
        disability_level=disabilities,
        prior=_history(past_appointments, appointment.get("id")),
    )
