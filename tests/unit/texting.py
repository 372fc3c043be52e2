"""A patient texting the engine, with every port the reminder and waitlist replies reach: the EHR,
identity verification, `VisitChanges` and the waitlist (shared by the reply and waitlist tests).
The practice's people, Rosalind's visit, `free_slot` and `TextingPhone` are shared by the
appointment dialog tests too."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from careline.config import PracticeConfig
from careline.conversation.engine import ConversationEngine
from careline.conversation.model import (
    Channel,
    ConversationContext,
    InboundMessage,
    TimelineEntry,
    TimelineKind,
    TurnResult,
)
from careline.ehr.model import AppointmentRecord, AppointmentStatus, FreeSlot, PatientRecord, Practitioner
from careline.identity import IdentityVerifier, InMemoryVerificationLedger
from careline.waitlist.model import FreedSlot

from tests.unit.fakes import PORTLAND, FakeSubjectKeys, FixedClock, InMemoryEhr, RecordingVisitChanges, local
from tests.unit.reminder_fakes import InMemoryWaitlistStore

PRACTICE_NUMBER = "+15035550100"
ROSALIND_PHONE = "+15035550142"
WEN_PHONE = "+15035550177"
ROSALIND = PatientRecord("pat-rq", "Rosalind", "Quenby", date(1984, 3, 14), (ROSALIND_PHONE,))
WEN = PatientRecord("pat-wl", "Wen", "Liang", date(1990, 7, 4), (WEN_PHONE,))
CHEN = Practitioner("dr-chen", "Dr. Lily Chen")
OKAFOR = Practitioner("dr-okafor", "Dr. Daniel Okafor")
MONDAY_10AM = local(2026, 11, 30, 10, 0)
# Rosalind's booked visit: Thursday Dec 10, 11am, Dr. Chen at Hawthorne
VISIT = AppointmentRecord(
    "appt-old",
    ROSALIND.id,
    CHEN.id,
    local(2026, 12, 10, 11, 0),
    local(2026, 12, 10, 11, 20),
    AppointmentStatus.BOOKED,
    slot_id="slot-old",
    appointment_type="follow-up",
    location_id="hawthorne",
)
WEN_VISIT = AppointmentRecord(
    "appt-wen",
    WEN.id,
    CHEN.id,
    local(2026, 12, 14, 9, 0),
    local(2026, 12, 14, 9, 20),
    AppointmentStatus.BOOKED,
    slot_id="slot-wen",
    appointment_type="follow-up",
    location_id="hawthorne",
)
# a time with Dr. Chen freed by someone's cancellation, earlier than both visits
FREED = FreeSlot(
    "slot-freed",
    CHEN.id,
    local(2026, 12, 2, 14, 0),
    local(2026, 12, 2, 14, 20),
    "follow-up",
    "hawthorne",
    "1",
)
_ids = itertools.count(1)


def free_slot(
    slot_id: str, who: Practitioner, start: datetime, kind: str = "follow-up", where: str = "hawthorne"
) -> FreeSlot:
    """A 20-minute bookable time with `who` (EHR version "1")."""
    return FreeSlot(slot_id, who.id, start, start + timedelta(minutes=20), kind, where, "1")


def open_times() -> list[FreeSlot]:
    return [
        free_slot("s-tue-930", CHEN, local(2026, 12, 1, 9, 30)),
        free_slot("s-tue-1400", OKAFOR, local(2026, 12, 1, 14, 0)),
        free_slot("s-wed-1000", CHEN, local(2026, 12, 2, 10, 0)),
        free_slot("s-fri-1500", CHEN, local(2026, 12, 4, 15, 0)),
        free_slot("s-tue2-1100", CHEN, local(2026, 12, 8, 11, 0)),
    ]


@dataclass
class Practice:
    """One practice's ports, shared by every patient texting it."""

    config: PracticeConfig
    clock: FixedClock = field(default_factory=lambda: FixedClock(MONDAY_10AM))
    ehr: InMemoryEhr = field(
        default_factory=lambda: InMemoryEhr(
            patients=[ROSALIND, WEN],
            staff=[CHEN, OKAFOR],
            slots=open_times(),
            appointments=[VISIT, WEN_VISIT],
        )
    )
    changes: RecordingVisitChanges = field(default_factory=RecordingVisitChanges)
    waitlist: InMemoryWaitlistStore = field(default_factory=InMemoryWaitlistStore)
    ledger: InMemoryVerificationLedger = field(default_factory=InMemoryVerificationLedger)

    def engine(self, *, with_waitlist: bool = True) -> ConversationEngine:
        verifier = IdentityVerifier(self.ehr, self.ledger, self.clock, FakeSubjectKeys(), timezone=PORTLAND)
        return ConversationEngine(
            self.config,
            self.clock,
            ehr=self.ehr,
            verifier=verifier,
            changes=self.changes,
            waitlist=self.waitlist if with_waitlist else None,
        )

    def free(self, slot: FreeSlot) -> None:
        """A booked time was cancelled: free in the EHR and recorded for the waitlist."""
        self.ehr.slots.append(slot)
        self.waitlist.slot_freed(
            FreedSlot(
                FreedSlot.key_for(slot.practitioner_id, slot.start),
                slot.practitioner_id,
                slot.start,
                slot.end,
                self.clock.now(),
                slot.appointment_type,
                slot.location_id,
            )
        )


class TextingPhone:
    """One phone texting `engine`, whose clock is `clock`; the context carried from turn to turn as
    the store would (under `party_id`, by default one of the phone's own)."""

    def __init__(
        self, engine: ConversationEngine, clock: FixedClock, phone: str, *, party_id: str | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.phone = phone
        self.context = ConversationContext(party_id=party_id or f"party-{phone}", phone=phone)
        self.results: list[TurnResult] = []

    def says(self, text: str, channel: Channel = Channel.SMS) -> str:
        inbound = InboundMessage(
            message_id=f"m-{next(_ids)}",
            channel=channel,
            from_number=self.phone,
            to_number=PRACTICE_NUMBER,
            text=text,
            received_at=self.clock.now(),
            session_id="call-1" if channel is Channel.VOICE else None,
        )
        result = self.engine.take_turn(inbound, self.context)
        self.context = result.context
        self.results.append(result)
        return "\n".join(r.text for r in result.replies)

    def verified(self, request: str, date_of_birth: str = "3/14/1984") -> str:
        """Make `request`, answer the date of birth, and return the reply after verification."""
        assert "date of birth" in self.says(request)
        return self.says(date_of_birth)

    @property
    def last(self) -> TurnResult:
        return self.results[-1]

    def events(self) -> list[TimelineEntry]:
        return [e for r in self.results for e in r.timeline if e.kind is TimelineKind.EVENT]

    def event_names(self) -> list[str]:
        return [e.event for e in self.events() if e.event]


class TextingPatient(TextingPhone):
    """One phone texting the practice, with the practice's every port."""

    def __init__(
        self, practice: Practice, phone: str = ROSALIND_PHONE, *, with_waitlist: bool = True
    ) -> None:
        self.practice = practice
        super().__init__(practice.engine(with_waitlist=with_waitlist), practice.clock, phone)

    def reminded(self, visit: AppointmentRecord = VISIT, *, sent: timedelta = timedelta(hours=1)) -> None:
        """The reminder job texted this phone about `visit`, `sent` ago (its scope, as it leaves it)."""
        self.context.flow_state["reminder"] = reminder_scope(visit, self.practice.clock.now() - sent)

    def offered(
        self, slot: FreeSlot, visit: AppointmentRecord, *, sent: timedelta = timedelta(minutes=5)
    ) -> None:
        """The backfill job offered this phone `slot` for `visit`, `sent` ago."""
        at = self.practice.clock.now() - sent
        self.context.flow_state["waitlist_offer"] = {
            "slot_key": FreedSlot.key_for(slot.practitioner_id, slot.start),
            "patient_id": visit.patient_id,
            "practitioner_id": slot.practitioner_id,
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "appointment_type": slot.appointment_type,
            "appointment_id": visit.id,
            "hold_until": (at + timedelta(minutes=30)).isoformat(),
            "offered_at": at.isoformat(),
            "zone": "America/Los_Angeles",
        }


def reminder_scope(visit: AppointmentRecord, sent_at: datetime) -> dict[str, Any]:
    return {
        "appointment_id": visit.id,
        "patient_id": visit.patient_id,
        "practitioner_id": visit.practitioner_id,
        "starts_at": visit.start.isoformat(),
        "ends_at": visit.end.isoformat(),
        "zone": "America/Los_Angeles",
        "step": "72h",
        "sent_at": sent_at.isoformat(),
    }


def status_of(practice: Practice, appointment_id: str) -> AppointmentStatus:
    return next(a.status for a in practice.ehr.appointments if a.id == appointment_id)
