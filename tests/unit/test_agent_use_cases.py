"""The agent panel's use cases over fakes: queue policy, the audit before any PHI, accept, reply,
hand back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from careline.agents import (
    AccessPurpose,
    AgentPanel,
    AuditEntry,
    AuditOutcome,
    ConflictingState,
    EscalationNotFound,
    InvalidRequest,
    NotPermitted,
    StaffUser,
)
from careline.config import PracticeConfig
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    EscalationRequest,
    Queue,
    TimelineEntry,
    TimelineKind,
    Urgency,
)
from careline.escalation import EscalationRecord, EscalationStatus
from careline.identity import Stage, VerificationState

from tests.unit.fakes import FixedClock, InMemoryContextStore, InMemoryEscalationStore, RecordingMessenger

NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
PHONE = "+15035550142"
PARTY = "a" * 64
FRONT_DESK = StaffUser("dana.frontdesk", ("front_desk",))
OTHER_FRONT_DESK = StaffUser("lee.frontdesk", ("front_desk",))
NURSE = StaffUser("nina.nurse", ("nurse",))
SUPERVISOR = StaffUser("sam.supervisor", ("supervisor",))


def request(
    escalation_id: str,
    queue: Queue,
    *,
    reason: EscalationReason = EscalationReason.HUMAN_REQUESTED,
    urgency: Urgency = Urgency.ROUTINE,
    summary: str = "Patient wants to talk to a person. Channel: sms.",
    minutes_ago: int = 3,
) -> EscalationRequest:
    return EscalationRequest(
        escalation_id=escalation_id,
        reason=reason,
        urgency=urgency,
        queue=queue,
        summary=summary,
        created_at=NOW - timedelta(minutes=minutes_ago),
        channel=Channel.SMS,
    )


class FakeEscalations(InMemoryEscalationStore):
    """The escalation store's in-memory fake, noting each accept in the shared call log."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def accept(self, party_id: str, escalation_id: str, agent: str, at: datetime) -> EscalationRecord:
        self.log.append("accept")
        return super().accept(party_id, escalation_id, agent, at)


@dataclass
class CallLog:
    calls: list[str] = field(default_factory=list)


@dataclass
class RecordingAudit:
    log: CallLog
    entries: list[AuditEntry] = field(default_factory=list)
    broken: bool = False

    def record(self, entry: AuditEntry) -> None:
        if self.broken:
            raise RuntimeError("audit table unavailable")
        self.log.calls.append("audit")
        self.entries.append(entry)


@dataclass
class RecordingWorkflow:
    log: CallLog
    waiting: bool = True
    notified: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def accepted(self, task_token: str, output: str) -> bool:
        self.log.calls.append("workflow")
        self.notified.append((task_token, json.loads(output)))
        return self.waiting


class ObservedContexts(InMemoryContextStore):
    """The in-memory store, noting each read and ownership change in the shared call log."""

    def __init__(self, log: CallLog) -> None:
        super().__init__()
        self._log = log

    def load(self, party_id: str) -> ConversationContext | None:
        self._log.calls.append("load")
        return super().load(party_id)

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        self._log.calls.append("timeline")
        return super().timeline(party_id, limit)

    def set_human_owner(self, party_id: str, owner: str | None) -> None:
        self._log.calls.append(f"owner={owner}")
        super().set_human_owner(party_id, owner)


@dataclass
class Desk:
    panel: AgentPanel
    log: CallLog
    escalations: FakeEscalations
    contexts: ObservedContexts
    audit: RecordingAudit
    workflow: RecordingWorkflow
    messenger: RecordingMessenger
    clock: FixedClock


@pytest.fixture
def desk(practice: PracticeConfig) -> Desk:
    log = CallLog()
    clock = FixedClock(NOW)
    escalations = FakeEscalations(log=log.calls)
    contexts = ObservedContexts(log)
    verified = VerificationState(
        stage=Stage.VERIFIED, patient_id="pat-77", verified_at=NOW - timedelta(minutes=5), last_activity=NOW
    )
    contexts.contexts[PARTY] = ConversationContext(
        party_id=PARTY, phone=PHONE, flow_state={"verification": verified.to_dict()}, version=3
    )
    contexts.timelines[PARTY] = [
        TimelineEntry(NOW - timedelta(minutes=9), TimelineKind.INBOUND, Channel.VOICE, text="hi"),
        TimelineEntry(NOW - timedelta(minutes=2), TimelineKind.INBOUND, Channel.SMS, text="a person please"),
        TimelineEntry(
            at=NOW - timedelta(minutes=2),
            kind=TimelineKind.OUTBOUND,
            channel=Channel.SMS,
            text="Someone from our front desk will text you.",
            data={"purpose": "reply", "message_key": "handoff_in_hours"},
        ),
        TimelineEntry(
            at=NOW - timedelta(minutes=2),
            kind=TimelineKind.EVENT,
            channel=Channel.SMS,
            event="escalated",
            data={"reason": "human_requested"},
        ),
    ]
    escalations.add(request("esc-front", Queue.FRONT_DESK), PARTY)
    escalations.await_agent(PARTY, "esc-front", "token-front")  # the workflow waits on this one
    escalations.add(
        request(
            "esc-nurse",
            Queue.NURSE,
            reason=EscalationReason.CLINICAL_QUESTION,
            summary="Patient asked whether to double a dose.",
        ),
        PARTY,
    )
    escalations.add(
        request(
            "esc-crisis", Queue.CRISIS, reason=EscalationReason.CRISIS, urgency=Urgency.CRISIS, minutes_ago=1
        ),
        "b" * 64,
    )
    audit = RecordingAudit(log)
    workflow = RecordingWorkflow(log)
    messenger = RecordingMessenger()
    panel = AgentPanel(
        escalations=escalations,
        contexts=contexts,
        messenger=messenger,
        audit=audit,
        workflow=workflow,
        clock=clock,
        catalog=practice.catalog,
    )
    return Desk(panel, log, escalations, contexts, audit, workflow, messenger, clock)


# -- who sees what -----------------------------------------------------------------------------


def test_each_group_lists_only_the_escalations_of_its_queues(desk: Desk) -> None:
    def listed(user: StaffUser) -> list[str]:
        return [item.escalation_id for item in desk.panel.list_escalations(user)]

    assert listed(FRONT_DESK) == ["esc-front"]
    assert listed(NURSE) == ["esc-nurse", "esc-crisis"]
    assert listed(SUPERVISOR) == ["esc-front", "esc-nurse", "esc-crisis"]
    assert listed(StaffUser("someone", ("interns",))) == []


def test_the_queue_shows_no_phi_so_listing_writes_no_audit_record(desk: Desk) -> None:
    items = desk.panel.list_escalations(SUPERVISOR)
    for item in items:
        assert "summary" not in item.to_json()
        assert PHONE not in str(item.to_json())
    assert desk.audit.entries == []


def test_a_front_desk_user_cannot_read_a_nurse_queue_escalation(desk: Desk) -> None:
    with pytest.raises(NotPermitted, match="nurse queue"):
        desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-nurse", "accepting")

    # the refused attempt is on the audit log, and nothing of the patient was read
    [entry] = desk.audit.entries
    assert entry.outcome is AuditOutcome.DENIED
    assert entry.fields == ()
    assert (entry.user_id, entry.escalation_id) == ("dana.frontdesk", "esc-nurse")
    assert "load" not in desk.log.calls
    assert "timeline" not in desk.log.calls


def test_a_front_desk_user_cannot_accept_reply_to_or_hand_back_a_nurse_escalation(desk: Desk) -> None:
    with pytest.raises(NotPermitted):
        desk.panel.accept(FRONT_DESK, PARTY, "esc-nurse")
    with pytest.raises(NotPermitted):
        desk.panel.reply(FRONT_DESK, PARTY, "esc-nurse", "hello")
    with pytest.raises(NotPermitted):
        desk.panel.hand_back(FRONT_DESK, PARTY, "esc-nurse")
    assert desk.messenger.sent == []
    assert desk.escalations.records[(PARTY, "esc-nurse")].status is EscalationStatus.OPEN


def test_a_nurse_reads_the_crisis_queue_and_a_supervisor_reads_everything(desk: Desk) -> None:
    desk.contexts.contexts["b" * 64] = ConversationContext(party_id="b" * 64, phone="+15035550199")
    assert desk.panel.view_escalation(NURSE, "b" * 64, "esc-crisis", "replying").item.queue == "crisis"
    assert (
        desk.panel.view_escalation(SUPERVISOR, PARTY, "esc-front", "supervision").item.queue == "front_desk"
    )


def test_an_unknown_escalation_is_not_found(desk: Desk) -> None:
    with pytest.raises(EscalationNotFound):
        desk.panel.view_escalation(SUPERVISOR, PARTY, "esc-missing", "review")
    with pytest.raises(EscalationNotFound):
        desk.panel.accept(SUPERVISOR, PARTY, "esc-missing")


# -- reading a patient's context ---------------------------------------------------------------


def test_a_view_is_audited_before_the_patients_context_is_read(desk: Desk) -> None:
    detail = desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", "accepting")

    assert desk.log.calls[:3] == ["audit", "load", "timeline"]
    [entry] = desk.audit.entries
    assert entry.to_json() == {
        "audit_id": detail.audit_id,
        "at": NOW.isoformat(),
        "user_id": "dana.frontdesk",
        "groups": ["front_desk"],
        "action": "view_escalation",
        "party_id": PARTY,
        "escalation_id": "esc-front",
        "fields": ["reason", "summary", "verification_status", "transcript"],
        "why": "accepting",
        "outcome": "granted",
    }


def test_no_audit_record_no_read(desk: Desk) -> None:
    desk.audit.broken = True
    with pytest.raises(RuntimeError, match="audit"):
        desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", "accepting")
    assert "load" not in desk.log.calls
    assert "timeline" not in desk.log.calls


@pytest.mark.parametrize("why", [None, "", "   ", "curious", "just looking"])
def test_a_view_needs_a_reason_from_the_list(desk: Desk, why: str | None) -> None:
    with pytest.raises(InvalidRequest, match="accepting, replying, follow_up, review, supervision"):
        desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", why)
    assert desk.audit.entries == []


def test_the_reason_is_read_leniently(desk: Desk) -> None:
    desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", " Follow-up ")
    assert desk.audit.entries[0].why is AccessPurpose.FOLLOW_UP


def test_a_view_holds_verification_reason_summary_and_the_cross_channel_transcript(desk: Desk) -> None:
    detail = desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", "accepting").to_json()

    assert detail["reason"] == "human_requested"
    assert detail["summary"].startswith("Patient wants to talk to a person")
    assert detail["verification"]["status"] == "verified"
    assert detail["verification"]["description"] == "verified as EHR patient pat-77"
    assert [(line["speaker"], line["channel"]) for line in detail["transcript"]] == [
        ("patient", "voice"),
        ("patient", "sms"),
        ("careline", "sms"),
        ("event", "sms"),
    ]
    assert detail["transcript"][3]["event"] == "escalated"
    assert detail["owner"] is None
    assert detail["opted_out"] is False


# -- accept ------------------------------------------------------------------------------------


def test_accept_records_it_then_resumes_the_workflow_then_takes_the_conversation(desk: Desk) -> None:
    accepted = desk.panel.accept(FRONT_DESK, PARTY, "esc-front")

    assert desk.log.calls == ["accept", "workflow", "owner=dana.frontdesk"]
    assert desk.workflow.notified == [("token-front", {"escalation_id": "esc-front", "status": "accepted"})]
    assert accepted.workflow == "notified"
    assert accepted.to_json()["status"] == "accepted"
    assert desk.contexts.contexts[PARTY].human_owner == "dana.frontdesk"
    stored = desk.escalations.get(PARTY, "esc-front")
    assert stored is not None
    assert (stored.accepted_by, stored.accepted_at) == ("dana.frontdesk", NOW)


def test_accept_without_a_task_token_is_recorded_and_says_no_workflow_waited(desk: Desk) -> None:
    accepted = desk.panel.accept(NURSE, PARTY, "esc-nurse")

    assert accepted.workflow == "no_token"
    assert "accept is recorded" in accepted.to_json()["note"]
    assert desk.workflow.notified == []
    assert desk.contexts.contexts[PARTY].human_owner == "nina.nurse"


def test_accept_when_the_workflow_no_longer_waits_still_stands(desk: Desk) -> None:
    desk.workflow.waiting = False
    accepted = desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    assert accepted.workflow == "not_waiting"
    assert desk.contexts.contexts[PARTY].human_owner == "dana.frontdesk"


def test_an_escalation_someone_else_took_cannot_be_accepted(desk: Desk) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    with pytest.raises(ConflictingState, match=r"already taken by dana\.frontdesk"):
        desk.panel.accept(OTHER_FRONT_DESK, PARTY, "esc-front")
    assert desk.contexts.contexts[PARTY].human_owner == "dana.frontdesk"


def test_accepting_again_what_one_accepted_repeats_the_notice_and_the_ownership(desk: Desk) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    desk.log.calls.clear()
    again = desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    assert again.workflow == "notified"
    assert desk.log.calls == ["accept", "workflow", "owner=dana.frontdesk"]


# -- reply -------------------------------------------------------------------------------------


def test_the_owner_replies_by_text_and_the_reply_is_on_the_timeline_as_staff(desk: Desk) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    desk.clock.advance(timedelta(minutes=1))
    replied = desk.panel.reply(FRONT_DESK, PARTY, "esc-front", "  Hi, this is Dana at the front desk.  ")

    assert desk.messenger.sent == [(PHONE, "Hi, this is Dana at the front desk.")]
    entry = desk.contexts.timelines[PARTY][-1]
    assert entry.kind is TimelineKind.OUTBOUND
    assert entry.channel is Channel.SMS
    assert entry.text == "Hi, this is Dana at the front desk."
    assert entry.data == {
        "purpose": "staff_reply",
        "staff": "dana.frontdesk",
        "escalation_id": "esc-front",
        "provider_message_id": replied.provider_message_id,
    }
    assert replied.sent_at == NOW + timedelta(minutes=1)

    detail = desk.panel.view_escalation(FRONT_DESK, PARTY, "esc-front", "replying").to_json()
    assert detail["transcript"][-1]["speaker"] == "staff"
    assert detail["transcript"][-1]["staff"] == "dana.frontdesk"
    assert detail["owner"] == "dana.frontdesk"


def test_only_the_owner_or_a_supervisor_may_reply(desk: Desk) -> None:
    with pytest.raises(NotPermitted, match="nobody has accepted it"):
        desk.panel.reply(FRONT_DESK, PARTY, "esc-front", "hello")
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    with pytest.raises(NotPermitted, match="someone else's"):
        desk.panel.reply(OTHER_FRONT_DESK, PARTY, "esc-front", "hello")
    assert desk.messenger.sent == []

    desk.panel.reply(SUPERVISOR, PARTY, "esc-front", "A supervisor here.")
    assert desk.messenger.sent == [(PHONE, "A supervisor here.")]
    assert desk.contexts.timelines[PARTY][-1].data["staff"] == "sam.supervisor"


def test_an_opted_out_patient_is_never_texted(desk: Desk) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    desk.contexts.contexts[PARTY].opted_out = True
    entries = len(desk.contexts.timelines[PARTY])

    with pytest.raises(ConflictingState, match="opted out"):
        desk.panel.reply(FRONT_DESK, PARTY, "esc-front", "hello")
    assert desk.messenger.sent == []
    assert len(desk.contexts.timelines[PARTY]) == entries


@pytest.mark.parametrize("text", [None, "", "   ", "x" * 1001])
def test_a_reply_must_be_some_text_and_not_too_long(desk: Desk, text: str | None) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    with pytest.raises(InvalidRequest):
        desk.panel.reply(FRONT_DESK, PARTY, "esc-front", text)
    assert desk.messenger.sent == []


# -- hand back ---------------------------------------------------------------------------------


def test_hand_back_returns_the_conversation_to_careline_and_closes_the_escalation(
    desk: Desk, practice: PracticeConfig
) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    desk.contexts.contexts[PARTY].escalation_open = True
    handed = desk.panel.hand_back(FRONT_DESK, PARTY, "esc-front")

    context = desk.contexts.contexts[PARTY]
    assert context.human_owner is None
    assert context.escalation_open is False
    stored = desk.escalations.get(PARTY, "esc-front")
    assert stored is not None
    assert stored.status is EscalationStatus.CLOSED
    assert stored.closed_by == "dana.frontdesk"
    told = practice.catalog.render("staff_handed_back", Channel.SMS)
    assert handed.patient_told is True
    assert desk.messenger.sent == [(PHONE, told)]
    assert desk.contexts.timelines[PARTY][-1].data["purpose"] == "handed_back"


def test_hand_back_to_an_opted_out_patient_sends_nothing(desk: Desk) -> None:
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    desk.contexts.contexts[PARTY].opted_out = True
    assert desk.panel.hand_back(FRONT_DESK, PARTY, "esc-front").patient_told is False
    assert desk.messenger.sent == []
    assert desk.contexts.contexts[PARTY].human_owner is None


def test_hand_back_needs_an_accepted_escalation_and_its_owner_or_a_supervisor(desk: Desk) -> None:
    with pytest.raises(ConflictingState, match="accept it first"):
        desk.panel.hand_back(FRONT_DESK, PARTY, "esc-front")
    desk.panel.accept(FRONT_DESK, PARTY, "esc-front")
    with pytest.raises(NotPermitted):
        desk.panel.hand_back(OTHER_FRONT_DESK, PARTY, "esc-front")
    desk.panel.hand_back(SUPERVISOR, PARTY, "esc-front")
    assert desk.contexts.contexts[PARTY].human_owner is None
