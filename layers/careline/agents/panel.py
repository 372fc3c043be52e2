"""The agent panel's use cases: the queue, a patient's context, accept, reply, hand back.

Rules this module keeps (docs/decisions/0011-agent-panel.md):
- a staff member sees only the escalations of their groups' queues (`careline.agents.access`);
- every read of a patient's context is audited first, with who, what, when and why: if the audit
  record cannot be written, nothing is read and nothing returned;
- accepting tells the escalation workflow a person took it (a missing task token is not an
  error: a call's escalation may have none, or the workflow has not reached its wait yet), then
  the accepting staff member owns the conversation and Careline stays silent but for safety;
- only the owner, or a supervisor, replies (by SMS, never to an opted-out number) or hands the
  conversation back to Careline.

No AWS here: the stores, the messenger, the audit log and the workflow are ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from careline.agents.access import StaffUser
from careline.agents.audit import AccessPurpose, AuditAction, AuditEntry, AuditOutcome
from careline.agents.errors import ConflictingState, EscalationNotFound, InvalidRequest, NotPermitted
from careline.agents.ports import AuditLog, EscalationWorkflow
from careline.conversation.model import Channel, ConversationContext, TimelineEntry, TimelineKind
from careline.escalation import (
    AlreadyTaken,
    EscalationRecord,
    EscalationStatus,
    EscalationStore,
    task_success_output,
)
from careline.escalation import EscalationNotFound as NoSuchEscalation
from careline.identity import Stage, VerificationState
from careline.messages import MessageCatalog
from careline.observability import logger
from careline.ports import Clock, ContextStore, Messenger

# One staff reply: about seven SMS segments; a longer answer belongs on a call.
MAX_REPLY_CHARS = 1000
# The most recent timeline lines shown with an escalation (texts and calls alike).
TRANSCRIPT_LIMIT = 200
# What a view reads, as recorded in the audit log.
VIEW_FIELDS = ("reason", "summary", "verification_status", "transcript")
STAFF_REPLY_PURPOSE = "staff_reply"
HANDED_BACK_PURPOSE = "handed_back"
HANDED_BACK_MESSAGE = "staff_handed_back"

WorkflowNotice = Literal["notified", "not_waiting", "no_token"]


@dataclass(frozen=True)
class QueueItem:
    """An escalation as the queue shows it: no PHI (no summary, no number, no text)."""

    escalation_id: str
    party_id: str
    reason: str
    urgency: str
    queue: str
    channel: str
    status: str
    created_at: datetime
    accepted_by: str | None = None

    @classmethod
    def of(cls, record: EscalationRecord) -> QueueItem:
        return cls(
            escalation_id=record.escalation_id,
            party_id=record.party_id,
            reason=str(record.reason),
            urgency=str(record.urgency),
            queue=str(record.queue),
            channel=str(record.channel),
            status=str(record.status),
            created_at=record.created_at,
            accepted_by=record.accepted_by,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "escalation_id": self.escalation_id,
            "party_id": self.party_id,
            "reason": self.reason,
            "urgency": self.urgency,
            "queue": self.queue,
            "channel": self.channel,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "accepted_by": self.accepted_by,
        }


@dataclass(frozen=True)
class Verification:
    """Who the agent is talking to, as far as Careline knows (PHI: the EHR patient id)."""

    status: Literal["verified", "in_progress", "locked", "needs_person", "not_verified"]
    description: str
    patient_id: str | None = None
    verified_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "description": self.description,
            "patient_id": self.patient_id,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
        }


def verification_of(context: ConversationContext) -> Verification:
    """The conversation's identity verification, worded for staff. Careline's own session (30
    minutes idle) is not the agent's concern: verified means the patient proved it in this
    conversation, and when."""
    state = VerificationState.from_dict(context.flow_state.get("verification"))
    if state.stage is Stage.VERIFIED and state.patient_id:
        return Verification(
            status="verified",
            description=f"verified as EHR patient {state.patient_id}",
            patient_id=state.patient_id,
            verified_at=state.verified_at,
        )
    if state.stage is Stage.LOCKED:
        return Verification(
            status="locked",
            description=f"locked after {state.failures} failed checks: verify before discussing anything",
        )
    if state.stage is Stage.NEEDS_PERSON:
        return Verification(
            status="needs_person", description="could not be verified automatically: verify by hand"
        )
    if state.stage in (Stage.AWAITING_DATE_OF_BIRTH, Stage.AWAITING_NAME_AND_DATE_OF_BIRTH):
        return Verification(status="in_progress", description="not verified (a check was in progress)")
    return Verification(status="not_verified", description="not verified")


@dataclass(frozen=True)
class TranscriptLine:
    """One line of the cross-channel transcript (PHI: `text`)."""

    at: datetime
    speaker: Literal["patient", "careline", "staff", "event"]
    channel: str
    text: str | None
    event: str | None = None
    staff: str | None = None

    @classmethod
    def of(cls, entry: TimelineEntry) -> TranscriptLine:
        speaker: Literal["patient", "careline", "staff", "event"]
        staff = entry.data.get("staff")
        if entry.kind is TimelineKind.INBOUND:
            speaker = "patient"
        elif entry.kind is TimelineKind.EVENT:
            speaker = "event"
        elif entry.data.get("purpose") == STAFF_REPLY_PURPOSE:
            speaker = "staff"
        else:
            speaker = "careline"
        return cls(
            at=entry.at,
            speaker=speaker,
            channel=entry.channel.value,
            text=entry.text,
            event=entry.event,
            staff=str(staff) if speaker == "staff" and staff else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "speaker": self.speaker,
            "channel": self.channel,
            "text": self.text,
            "event": self.event,
            "staff": self.staff,
        }


@dataclass(frozen=True)
class EscalationDetail:
    """An escalation with the patient's context: what `view_escalation` returns (PHI)."""

    item: QueueItem
    summary: str
    verification: Verification
    transcript: list[TranscriptLine]
    owner: str | None
    opted_out: bool
    accepted_at: datetime | None
    time_to_accept_seconds: float | None
    audit_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            **self.item.to_json(),
            "summary": self.summary,
            "verification": self.verification.to_json(),
            "transcript": [line.to_json() for line in self.transcript],
            "owner": self.owner,
            "opted_out": self.opted_out,
            "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
            "time_to_accept_seconds": self.time_to_accept_seconds,
            "audit_id": self.audit_id,
        }


@dataclass(frozen=True)
class Accepted:
    item: QueueItem
    owner: str
    workflow: WorkflowNotice

    def to_json(self) -> dict[str, Any]:
        notes = {
            "notified": "the escalation workflow was told a person took it",
            "not_waiting": "no escalation workflow was waiting on it any more (it may have timed out)",
            "no_token": "no escalation workflow was waiting on it yet; the accept is recorded",
        }
        return {
            **self.item.to_json(),
            "owner": self.owner,
            "workflow": self.workflow,
            "note": notes[self.workflow],
        }


@dataclass(frozen=True)
class Replied:
    escalation_id: str
    sent_at: datetime
    provider_message_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "escalation_id": self.escalation_id,
            "sent_at": self.sent_at.isoformat(),
            "provider_message_id": self.provider_message_id,
        }


@dataclass(frozen=True)
class HandedBack:
    escalation_id: str
    patient_told: bool

    def to_json(self) -> dict[str, Any]:
        return {"escalation_id": self.escalation_id, "status": "closed", "patient_told": self.patient_told}


def parse_purpose(why: str | None) -> AccessPurpose:
    """The reason a user gives for reading a patient's context; required, from the fixed list."""
    allowed = ", ".join(p.value for p in AccessPurpose)
    if why is None or not why.strip():
        raise InvalidRequest(f"say why you are opening this patient's context: `why` is one of {allowed}")
    try:
        return AccessPurpose(why.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise InvalidRequest(f"`why` must be one of {allowed}") from None


class AgentPanel:
    """The use cases behind the agent panel API, over ports only."""

    def __init__(
        self,
        *,
        escalations: EscalationStore,
        contexts: ContextStore,
        messenger: Messenger,
        audit: AuditLog,
        workflow: EscalationWorkflow,
        clock: Clock,
        catalog: MessageCatalog | None = None,
    ) -> None:
        self._escalations = escalations
        self._contexts = contexts
        self._messenger = messenger
        self._audit = audit
        self._workflow = workflow
        self._clock = clock
        # with a catalog, the patient is told (by text) when the conversation is handed back
        self._catalog = catalog

    # -- reads -------------------------------------------------------------------------------------

    def list_escalations(self, user: StaffUser) -> list[QueueItem]:
        """The open escalations of the user's queues, oldest first. No PHI, so no audit record."""
        queues = sorted(user.queues)
        if not queues:
            return []
        return [QueueItem.of(r) for r in self._escalations.open_in_queues(queues)]

    def view_escalation(
        self, user: StaffUser, party_id: str, escalation_id: str, why: str | None
    ) -> EscalationDetail:
        """The escalation and the patient's context: verification, reason, summary, and the
        transcript across texts and calls. Audited before anything is read; a refused read (an
        escalation outside the user's queues) is audited too, as denied."""
        purpose = parse_purpose(why)
        record = self._escalations.get(party_id, escalation_id)
        if record is None:
            raise EscalationNotFound(f"no escalation {escalation_id} for this party")
        if not user.may_see(record.queue):
            self._record_read(user, record, purpose, AuditOutcome.DENIED)
            raise NotPermitted(f"escalation {escalation_id} is in the {record.queue} queue, not one of yours")
        audit_id = self._record_read(user, record, purpose, AuditOutcome.GRANTED)
        context = self._contexts.load(party_id)
        if context is None:
            raise EscalationNotFound(f"no conversation behind escalation {escalation_id}")
        timeline = self._contexts.timeline(party_id, limit=TRANSCRIPT_LIMIT)
        return EscalationDetail(
            item=QueueItem.of(record),
            summary=record.summary,
            verification=verification_of(context),
            transcript=[TranscriptLine.of(entry) for entry in timeline],
            owner=context.human_owner,
            opted_out=context.opted_out,
            accepted_at=record.accepted_at,
            time_to_accept_seconds=record.time_to_accept_seconds,
            audit_id=audit_id,
        )

    # -- actions -----------------------------------------------------------------------------------

    def accept(self, user: StaffUser, party_id: str, escalation_id: str) -> Accepted:
        """Take the escalation: record it (open or past its SLA -> accepted, once), tell the workflow
        waiting on it, and make the user the conversation's owner. Accepting again what one already
        accepted repeats the last two steps (a retry after a failure half-way is safe)."""
        self._visible(user, party_id, escalation_id)
        try:
            accepted = self._escalations.accept(party_id, escalation_id, user.user_id, self._clock.now())
        except AlreadyTaken as exc:
            taken = f"taken by {exc.accepted_by}" if exc.accepted_by else exc.status
            raise ConflictingState(f"escalation {escalation_id} is already {taken}") from None
        except NoSuchEscalation:
            raise EscalationNotFound(f"no escalation {escalation_id} for this party") from None
        workflow = self._notify_workflow(accepted)
        try:
            self._contexts.set_human_owner(party_id, user.user_id)
        except KeyError:
            raise EscalationNotFound(f"no conversation behind escalation {escalation_id}") from None
        logger.info(
            "escalation accepted",
            extra={
                "escalation_id": escalation_id,
                "party_id": party_id,
                "queue": str(accepted.queue),
                "user_id": user.user_id,
                "workflow": workflow,
                "time_to_accept_seconds": accepted.time_to_accept_seconds,
            },
        )
        return Accepted(item=QueueItem.of(accepted), owner=user.user_id, workflow=workflow)

    def reply(self, user: StaffUser, party_id: str, escalation_id: str, text: str | None) -> Replied:
        """Text the patient as staff (the owner, or a supervisor); recorded on the timeline with
        the staff member's id. Never to a number that opted out (STOP)."""
        body = (text or "").strip()
        if not body:
            raise InvalidRequest("`text` must be a non-empty reply")
        if len(body) > MAX_REPLY_CHARS:
            raise InvalidRequest(f"`text` is longer than {MAX_REPLY_CHARS} characters")
        self._visible(user, party_id, escalation_id)
        context = self._owned_context(user, party_id, escalation_id, "reply to")
        if context.opted_out:
            raise ConflictingState("the patient has opted out of texts (STOP): call them instead")
        now = self._clock.now()
        provider_id = self._text_patient(
            party_id, context.phone, body, now, {"purpose": STAFF_REPLY_PURPOSE}, user, escalation_id
        )
        logger.info(
            "staff reply sent",
            extra={"escalation_id": escalation_id, "party_id": party_id, "user_id": user.user_id},
        )
        return Replied(escalation_id=escalation_id, sent_at=now, provider_message_id=provider_id)

    def hand_back(self, user: StaffUser, party_id: str, escalation_id: str) -> HandedBack:
        """Give the conversation back to Careline (the owner, or a supervisor) and close the
        escalation; with a message catalog, tell the patient by text (unless they opted out)."""
        record = self._visible(user, party_id, escalation_id)
        if record.status is not EscalationStatus.ACCEPTED:
            raise ConflictingState(f"escalation {escalation_id} is {record.status}: accept it first")
        context = self._owned_context(user, party_id, escalation_id, "hand back")
        self._contexts.set_human_owner(party_id, None)
        now = self._clock.now()
        self._escalations.close(party_id, escalation_id, now, by=user.user_id)
        told = False
        if self._catalog is not None and not context.opted_out:
            text = self._catalog.render(HANDED_BACK_MESSAGE, Channel.SMS)
            purpose = {"purpose": HANDED_BACK_PURPOSE, "message_key": HANDED_BACK_MESSAGE}
            self._text_patient(party_id, context.phone, text, now, purpose, user, escalation_id)
            told = True
        logger.info(
            "conversation handed back",
            extra={"escalation_id": escalation_id, "party_id": party_id, "user_id": user.user_id},
        )
        return HandedBack(escalation_id=escalation_id, patient_told=told)

    def _text_patient(
        self,
        party_id: str,
        phone: str,
        text: str,
        at: datetime,
        purpose: dict[str, str],
        user: StaffUser,
        escalation_id: str,
    ) -> str:
        """Send `text` to the patient as staff and put it on their timeline; the provider's id."""
        provider_id = self._messenger.send_sms(phone, text)
        data = {**purpose, "staff": user.user_id, "escalation_id": escalation_id}
        self._contexts.record_staff_message(
            party_id,
            TimelineEntry(
                at=at,
                kind=TimelineKind.OUTBOUND,
                channel=Channel.SMS,
                text=text,
                data={**data, "provider_message_id": provider_id},
            ),
        )
        return provider_id

    # -- rules -------------------------------------------------------------------------------------

    def _visible(self, user: StaffUser, party_id: str, escalation_id: str) -> EscalationRecord:
        record = self._escalations.get(party_id, escalation_id)
        if record is None:
            raise EscalationNotFound(f"no escalation {escalation_id} for this party")
        if not user.may_see(record.queue):
            logger.warning(
                "escalation outside the user's queues",
                extra={"escalation_id": escalation_id, "queue": str(record.queue), "user_id": user.user_id},
            )
            raise NotPermitted(f"escalation {escalation_id} is in the {record.queue} queue, not one of yours")
        return record

    def _owned_context(
        self, user: StaffUser, party_id: str, escalation_id: str, doing: str
    ) -> ConversationContext:
        context = self._contexts.load(party_id)
        if context is None:
            raise EscalationNotFound(f"no conversation behind escalation {escalation_id}")
        if context.human_owner != user.user_id and not user.is_supervisor:
            owner = "nobody has accepted it" if context.human_owner is None else "it is someone else's"
            raise NotPermitted(
                f"only the staff member who accepted the conversation, or a supervisor, may {doing} "
                f"it ({owner})"
            )
        return context

    def _notify_workflow(self, record: EscalationRecord) -> WorkflowNotice:
        if not record.task_token:
            return "no_token"
        waiting = self._workflow.accepted(record.task_token, task_success_output(record))
        return "notified" if waiting else "not_waiting"

    def _record_read(
        self, user: StaffUser, record: EscalationRecord, why: AccessPurpose, outcome: AuditOutcome
    ) -> str:
        entry = AuditEntry(
            at=self._clock.now(),
            user_id=user.user_id,
            groups=user.group_names,
            action=AuditAction.VIEW_ESCALATION,
            party_id=record.party_id,
            escalation_id=record.escalation_id,
            fields=VIEW_FIELDS if outcome is AuditOutcome.GRANTED else (),
            why=why,
            outcome=outcome,
        )
        self._audit.record(entry)
        # the same record as a structured log line: ids, names of fields, a purpose; no PHI
        logger.info(
            "patient context read" if outcome is AuditOutcome.GRANTED else "patient context read refused",
            extra={"audit": entry.to_json()},
        )
        return entry.audit_id
