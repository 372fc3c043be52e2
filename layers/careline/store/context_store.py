"""`DynamoContextStore`: the `ContextStore` port over the single table, PHI encrypted per field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from careline.conversation.model import (
    Channel,
    ConversationContext,
    DomainEvent,
    EscalationRequest,
    OutboundMessage,
    TimelineEntry,
    TimelineKind,
)
from careline.errors import ConcurrentTurnError
from careline.observability import logger
from careline.ports import Clock
from careline.store.cipher import FieldCipher
from careline.store.models import (
    CONTEXT_SK,
    ESCALATION_PREFIX,
    PATIENT_FLOW_SK,
    QUEUE_PREFIX,
    TIMELINE_PREFIX,
    ContextItem,
    EscalationItem,
    TableModels,
    TimelineItem,
    bind_models,
    party_pk,
    patient_pk,
)

# how long the record of where a patient's open flow lives is kept (a flow is resumed within a day)
PATIENT_FLOW_KEPT = timedelta(days=1)


def instant_key(at: datetime) -> str:
    """A fixed-width UTC instant that sorts lexicographically in time order."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: Careline stores timezone-aware instants only")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timeline_item(
    models: TableModels,
    cipher: FieldCipher,
    pk: str,
    party_id: str,
    entry: TimelineEntry,
    sk: str,
    expires_at: datetime,
) -> TimelineItem:
    """The item for one timeline entry under `sk`, its text encrypted for its party and key (every
    writer of the timeline builds its items here: a turn, a staff reply, a workflow notice)."""
    return models.timeline(
        pk=pk,
        sk=sk,
        at=entry.at,
        kind=entry.kind.value,
        channel=entry.channel.value,
        text_enc=(
            cipher.encrypt(entry.text, DynamoContextStore._enc_context(party_id, sk, "text"))
            if entry.text is not None
            else None
        ),
        event=entry.event,
        data=entry.data or None,
        expires_at=expires_at,
    )


def timeline_sk(at: datetime, version: int, index: int) -> str:
    """`TL#<instant>#<seq>`; seq is the turn's context version and the entry's place in the turn.

    Two turns at the same instant (a frozen local clock) still get distinct keys, in turn order,
    and a replayed turn produces the very same keys, which the write refuses.
    """
    return f"{TIMELINE_PREFIX}{instant_key(at)}#{version:010d}-{index:03d}"


def escalation_sk(at: datetime, escalation_id: str) -> str:
    return f"{ESCALATION_PREFIX}{instant_key(at)}#{escalation_id}"


class PartyTableStore:
    """What every store over the single table shares: its models, the field cipher, one
    connection, and the `expires_at` TTL of the items it writes.

    `retention_days` sets that TTL; `clock` supplies "now" for it, so the local runtime's clock
    governs it too.
    """

    def __init__(
        self,
        table_name: str,
        cipher: FieldCipher,
        retention_days: int,
        clock: Clock,
        *,
        region: str | None = None,
        host: str | None = None,
    ) -> None:
        self._models: TableModels = bind_models(table_name, region=region, host=host)
        self._cipher = cipher
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        # One connection (and so one botocore client) for the container: pynamodb builds a new
        # client per Connection, which costs more than the write itself.
        self._connection = Connection(region=region, host=host)

    def _expires_at(self) -> datetime:
        return self._clock.now() + self._retention

    @staticmethod
    def _enc_context(party_id: str, sk: str, field: str) -> dict[str, str]:
        # Bound to the party and the field, not the item: the Encryption SDK's data-key cache is
        # partitioned by encryption context, so a per-item context would call KMS for every field
        # written. A ciphertext still cannot be read as another patient's or another field's.
        del sk
        return {"party": party_id, "field": field}


class DynamoContextStore(PartyTableStore):
    """The `ContextStore` port: one GetItem to load, one TransactWriteItems to save a turn. Every
    item written gets the TTL (renewed on each save for the context).
    """

    # -- reads -------------------------------------------------------------------------------------

    def load(self, party_id: str) -> ConversationContext | None:
        """The party's context (PHI decrypted), or None if Careline has never saved one."""
        try:
            item = self._models.context.get(party_pk(party_id), CONTEXT_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return self._context_from_item(party_id, item)

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        """The party's timeline, oldest first, in one query (`limit` keeps the most recent N)."""
        condition = self._models.timeline.sk.startswith(TIMELINE_PREFIX)
        items = list(
            self._models.timeline.query(
                party_pk(party_id),
                condition,
                scan_index_forward=limit is None,
                limit=limit,
                consistent_read=True,
            )
        )
        if limit is not None:
            items.reverse()
        return [self._entry_from_item(party_id, item) for item in items]

    def set_human_owner(self, party_id: str, owner: str | None) -> None:
        """A staff member takes the conversation over (`owner`), or hands it back to Careline (None,
        which also closes the open-escalation flag). Moves the version, so a turn decided on the
        old context is refused and decided again. Raises `KeyError` for a party Careline has never
        saved."""
        model = self._models.context
        actions: list[Action] = [
            model.human_owner.set(owner) if owner is not None else model.human_owner.remove(),
            model.version.add(1),
        ]
        if owner is None:
            actions.append(model.escalation_open.set(False))
        try:
            model(pk=party_pk(party_id), sk=CONTEXT_SK).update(actions=actions, condition=model.pk.exists())
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise KeyError("no conversation for this party") from None
            raise

    def record_staff_message(self, party_id: str, entry: TimelineEntry) -> None:
        """Add a message staff sent (agent panel reply) to the party's timeline, outside any turn:
        its own key (`TL#<instant>#staff-<random>`), the text encrypted like every entry."""
        expires_at = self._expires_at()
        sk = f"{TIMELINE_PREFIX}{instant_key(entry.at)}#staff-{uuid.uuid4().hex}"
        item = self._timeline_item(party_pk(party_id), party_id, entry, sk, expires_at)
        item.save(condition=self._models.timeline.sk.does_not_exist())

    def party_with_open_flow(self, patient_key: str) -> str | None:
        try:
            key = patient_pk(patient_key)
            item = self._models.patient_flow.get(key, PATIENT_FLOW_SK, consistent_read=True)
        except DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= self._clock.now():
            return None  # DynamoDB deletes expired items lazily: an expired one is not there
        return str(item.party_id)

    # -- the one write of a turn -------------------------------------------------------------------

    def save_turn(
        self,
        context: ConversationContext,
        entries: Sequence[TimelineEntry],
        escalations: Sequence[EscalationRequest] = (),
        *,
        patient_key: str | None = None,
    ) -> None:
        """Write context, timeline entries and escalations in one transaction (with `patient_key`,
        also the record that this party holds that patient's open flow).

        The context is written only if its stored version still equals `context.version` (or, for
        a new party, if none is stored); on success `context.version` is advanced by one. Raises
        `ConcurrentTurnError` when another turn got there first.
        """
        expires_at = self._expires_at()
        pk = party_pk(context.party_id)
        new_version = context.version + 1
        ctx_item = self._context_item(context, new_version, expires_at)
        ctx_condition: Condition
        if context.version == 0:
            ctx_condition = self._models.context.pk.does_not_exist()
        else:
            ctx_condition = self._models.context.version == context.version

        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(ctx_item, condition=ctx_condition)
                for index, entry in enumerate(entries):
                    sk = timeline_sk(entry.at, new_version, index)
                    item = self._timeline_item(pk, context.party_id, entry, sk, expires_at)
                    transaction.save(item, condition=self._models.timeline.sk.does_not_exist())
                for escalation in escalations:
                    esc_item = self._escalation_item(pk, context.party_id, escalation, expires_at)
                    transaction.save(esc_item, condition=self._models.escalation.sk.does_not_exist())
                if patient_key is not None:
                    now = self._clock.now()
                    transaction.save(
                        self._models.patient_flow(
                            pk=patient_pk(patient_key),
                            sk=PATIENT_FLOW_SK,
                            party_id=context.party_id,
                            updated_at=now,
                            expires_at=now + PATIENT_FLOW_KEPT,
                        )
                    )
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if "ConditionalCheckFailed" in reasons:
                logger.warning(
                    "turn save refused",
                    extra={"version": context.version, "cancellation_reasons": reasons},
                )
                raise ConcurrentTurnError(
                    f"context version {context.version} moved, or this turn was already saved"
                ) from None
            raise
        context.version = new_version

    # -- item <-> domain ---------------------------------------------------------------------------

    def _context_item(self, context: ConversationContext, version: int, expires_at: datetime) -> ContextItem:
        enc = self._cipher.encrypt
        return self._models.context(
            pk=party_pk(context.party_id),
            sk=CONTEXT_SK,
            phone_enc=enc(context.phone, self._enc_context(context.party_id, CONTEXT_SK, "phone")),
            flow_state_enc=(
                enc(context.flow_state, self._enc_context(context.party_id, CONTEXT_SK, "flow_state"))
                if context.flow_state
                else None
            ),
            opted_out=context.opted_out,
            opted_out_at=context.opted_out_at,
            active_flow=context.active_flow,
            failed_understandings=context.failed_understandings,
            escalation_open=context.escalation_open,
            human_owner=context.human_owner,
            last_activity=context.last_activity,
            version=version,
            last_inbound_id=context.last_inbound_id,
            pending_enc=(
                enc(_pending_to_json(context), self._enc_context(context.party_id, CONTEXT_SK, "pending"))
                if context.pending_delivery or context.pending_events
                else None
            ),
            expires_at=expires_at,
        )

    def _context_from_item(self, party_id: str, item: ContextItem) -> ConversationContext:
        dec = self._cipher.decrypt
        flow_state: dict[str, Any] = {}
        if item.flow_state_enc:
            flow_state = dec(item.flow_state_enc, self._enc_context(party_id, CONTEXT_SK, "flow_state"))
        replies: list[OutboundMessage] = []
        events: list[DomainEvent] = []
        if item.pending_enc:
            replies, events = _pending_from_json(
                dec(item.pending_enc, self._enc_context(party_id, CONTEXT_SK, "pending"))
            )
        return ConversationContext(
            party_id=party_id,
            phone=dec(item.phone_enc, self._enc_context(party_id, CONTEXT_SK, "phone")),
            opted_out=bool(item.opted_out),
            opted_out_at=item.opted_out_at,
            active_flow=item.active_flow,
            flow_state=flow_state,
            failed_understandings=int(item.failed_understandings),
            escalation_open=bool(item.escalation_open),
            human_owner=item.human_owner,
            last_activity=item.last_activity,
            version=int(item.version),
            last_inbound_id=item.last_inbound_id,
            pending_delivery=replies,
            pending_events=events,
        )

    def _timeline_item(
        self, pk: str, party_id: str, entry: TimelineEntry, sk: str, expires_at: datetime
    ) -> TimelineItem:
        return timeline_item(self._models, self._cipher, pk, party_id, entry, sk, expires_at)

    def _entry_from_item(self, party_id: str, item: TimelineItem) -> TimelineEntry:
        text = None
        if item.text_enc is not None:
            text = self._cipher.decrypt(item.text_enc, self._enc_context(party_id, item.sk, "text"))
        return TimelineEntry(
            at=item.at,
            kind=TimelineKind(item.kind),
            channel=Channel(item.channel),
            text=text,
            event=item.event,
            data=dict(item.data or {}),
        )

    def _escalation_item(
        self, pk: str, party_id: str, escalation: EscalationRequest, expires_at: datetime
    ) -> EscalationItem:
        sk = escalation_sk(escalation.created_at, escalation.escalation_id)
        status = "open"
        return self._models.escalation(
            pk=pk,
            sk=sk,
            escalation_id=escalation.escalation_id,
            party_id=party_id,
            reason=escalation.reason.value,
            urgency=escalation.urgency.value,
            queue=escalation.queue.value,
            status=status,
            channel=escalation.channel.value,
            created_at=escalation.created_at,
            summary_enc=self._cipher.encrypt(escalation.summary, self._enc_context(party_id, sk, "summary")),
            gsi1pk=f"{QUEUE_PREFIX}{escalation.queue.value}",
            gsi1sk=f"{status}#{instant_key(escalation.created_at)}",
            expires_at=expires_at,
        )


def _pending_to_json(context: ConversationContext) -> dict[str, Any]:
    return {
        "replies": [
            {"to": r.to_number, "text": r.text, "channel": r.channel.value, "purpose": r.purpose}
            for r in context.pending_delivery
        ],
        "events": [
            {"detail_type": e.detail_type, "detail": e.detail, "at": e.at.isoformat()}
            for e in context.pending_events
        ],
    }


def _pending_from_json(data: dict[str, Any]) -> tuple[list[OutboundMessage], list[DomainEvent]]:
    replies = [
        OutboundMessage(
            to_number=r["to"], text=r["text"], channel=Channel(r["channel"]), purpose=r["purpose"]
        )
        for r in data.get("replies", [])
    ]
    events = [
        DomainEvent(detail_type=e["detail_type"], detail=e["detail"], at=datetime.fromisoformat(e["at"]))
        for e in data.get("events", [])
    ]
    return replies, events
