"""`DynamoEscalationStore`: the `EscalationStore` port over the escalation items the turn saved.

Same table and models as `DynamoContextStore` (pk `PARTY#<party id>`, sk `ESC#<instant>#<id>`); the
summary is decrypted with the very encryption context the context store wrote it under. Every
status change is one conditional UpdateItem that also moves the queue index key
(`gsi1sk = <status>#<instant>`), so a queue's open escalations are one index query and two agents
accepting at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from careline.conversation.model import (
    Channel,
    EscalationReason,
    Queue,
    TimelineEntry,
    TimelineKind,
    Urgency,
)
from careline.escalation.errors import AlreadyTaken, EscalationNotFound
from careline.escalation.model import EscalationRecord, EscalationStatus, time_to_accept
from careline.observability import logger
from careline.store.context_store import PartyTableStore, instant_key, timeline_item
from careline.store.models import (
    ESCALATION_PREFIX,
    QUEUE_PREFIX,
    TIMELINE_PREFIX,
    EscalationItem,
    TableModels,
    party_pk,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


def queue_index_sort_key(status: EscalationStatus, at: datetime) -> str:
    """`gsi1sk`: the status, then the instant the list is ordered by (created for open and timed
    out, so the oldest comes first; accepted or closed for the others)."""
    return f"{status.value}#{instant_key(at)}"


def notice_timeline_sk(at: datetime, escalation_id: str) -> str:
    """The timeline key of the workflow's text to the patient: one per escalation, so a retried
    step cannot write it twice."""
    return f"{TIMELINE_PREFIX}{instant_key(at)}#escalation-{escalation_id}"


def find_escalation_item(models: TableModels, party_id: str, escalation_id: str) -> EscalationItem | None:
    """An escalation's item, or None. The sort key starts with the instant, which the caller does
    not know: one consistent query over the party's escalations (a handful), matching the id."""
    model = models.escalation
    items = model.query(
        party_pk(party_id),
        model.sk.startswith(ESCALATION_PREFIX),
        filter_condition=model.escalation_id == escalation_id,
        consistent_read=True,
    )
    return next(iter(items), None)


class DynamoEscalationStore(PartyTableStore):
    """The `EscalationStore` port (careline.escalation.ports) over the single table. The timeline
    note it writes gets the same TTL every timeline entry gets.
    """

    # -- reads -------------------------------------------------------------------------------------

    def get(self, party_id: str, escalation_id: str) -> EscalationRecord | None:
        item = self._item(party_id, escalation_id)
        return self._record(item) if item is not None else None

    def open_in_queues(self, queues: Iterable[Queue]) -> list[EscalationRecord]:
        model = self._models.escalation
        records: list[EscalationRecord] = []
        for queue in dict.fromkeys(Queue(q) for q in queues):
            prefix = f"{EscalationStatus.OPEN.value}#"
            for item in model.by_queue.query(f"{QUEUE_PREFIX}{queue.value}", model.gsi1sk.startswith(prefix)):
                records.append(self._record(item))
        return sorted(records, key=lambda r: (r.created_at, r.escalation_id))

    # -- status changes ----------------------------------------------------------------------------

    def await_agent(self, party_id: str, escalation_id: str, task_token: str) -> EscalationRecord:
        model = self._models.escalation
        item = self._existing(party_id, escalation_id)
        condition = model.status.is_in(EscalationStatus.OPEN.value, EscalationStatus.TIMED_OUT.value)
        if not self._update(item, [model.task_token.set(task_token)], condition):
            raise self._taken(party_id, escalation_id)
        return self._record(item)

    def accept(self, party_id: str, escalation_id: str, agent: str, at: datetime) -> EscalationRecord:
        model = self._models.escalation
        item = self._existing(party_id, escalation_id)
        seconds = time_to_accept(item.created_at, at)
        actions: list[Action] = [
            model.status.set(EscalationStatus.ACCEPTED.value),
            model.accepted_by.set(agent),
            model.accepted_at.set(at),
            model.time_to_accept_seconds.set(seconds),
            model.gsi1sk.set(queue_index_sort_key(EscalationStatus.ACCEPTED, at)),
        ]
        condition = model.status.is_in(EscalationStatus.OPEN.value, EscalationStatus.TIMED_OUT.value)
        if self._update(item, actions, condition):
            logger.info(
                "escalation accepted",
                extra={"escalation_id": escalation_id, "time_to_accept_seconds": seconds},
            )
            return self._record(item)
        current = self._existing(party_id, escalation_id)
        if current.status == EscalationStatus.ACCEPTED.value and current.accepted_by == agent:
            return self._record(current)  # the same agent again: a retried request
        raise AlreadyTaken(escalation_id, current.status, current.accepted_by)

    def time_out(self, party_id: str, escalation_id: str, at: datetime) -> EscalationRecord:
        model = self._models.escalation
        item = self._existing(party_id, escalation_id)
        actions: list[Action] = [
            model.status.set(EscalationStatus.TIMED_OUT.value),
            model.timed_out_at.set(at),
            model.task_token.remove(),
            model.gsi1sk.set(queue_index_sort_key(EscalationStatus.TIMED_OUT, item.created_at)),
        ]
        if self._update(item, actions, model.status == EscalationStatus.OPEN.value):
            return self._record(item)
        current = self._existing(party_id, escalation_id)
        if current.status == EscalationStatus.TIMED_OUT.value:
            return self._record(current)
        raise AlreadyTaken(escalation_id, current.status, current.accepted_by)

    def close(
        self, party_id: str, escalation_id: str, at: datetime, by: str | None = None
    ) -> EscalationRecord:
        model = self._models.escalation
        item = self._existing(party_id, escalation_id)
        actions: list[Action] = [
            model.status.set(EscalationStatus.CLOSED.value),
            model.closed_at.set(at),
            model.closed_by.set(by) if by is not None else model.closed_by.remove(),
            model.gsi1sk.set(queue_index_sort_key(EscalationStatus.CLOSED, at)),
        ]
        if self._update(item, actions, model.status != EscalationStatus.CLOSED.value):
            return self._record(item)
        return self._record(self._existing(party_id, escalation_id))

    def record_patient_notice(
        self, party_id: str, escalation_id: str, text: str, at: datetime, data: Mapping[str, Any]
    ) -> bool:
        """Set `patient_told_at` and add the text to the patient's timeline in one transaction."""
        model = self._models.escalation
        item = self._existing(party_id, escalation_id)
        sk = notice_timeline_sk(at, escalation_id)
        notice = TimelineEntry(at, TimelineKind.OUTBOUND, Channel.SMS, text=text, data=dict(data))
        expires_at = self._expires_at()
        entry = timeline_item(
            self._models, self._cipher, party_pk(party_id), party_id, notice, sk, expires_at
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(
                    item,
                    actions=[model.patient_told_at.set(at)],
                    condition=model.patient_told_at.does_not_exist(),
                )
                transaction.save(entry, condition=self._models.timeline.sk.does_not_exist())
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if "ConditionalCheckFailed" in reasons:
                return False
            raise
        return True

    # -- items -------------------------------------------------------------------------------------

    def _item(self, party_id: str, escalation_id: str) -> EscalationItem | None:
        return find_escalation_item(self._models, party_id, escalation_id)

    def _existing(self, party_id: str, escalation_id: str) -> EscalationItem:
        item = self._item(party_id, escalation_id)
        if item is None:
            raise EscalationNotFound(escalation_id)
        return item

    @staticmethod
    def _update(item: EscalationItem, actions: list[Action], condition: Condition) -> bool:
        """One conditional UpdateItem; `item` holds the new image on success. False: condition failed."""
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def _taken(self, party_id: str, escalation_id: str) -> AlreadyTaken:
        current = self._existing(party_id, escalation_id)
        return AlreadyTaken(escalation_id, current.status, current.accepted_by)

    def _record(self, item: EscalationItem) -> EscalationRecord:
        party_id = str(item.party_id)
        summary = self._cipher.decrypt(item.summary_enc, self._enc_context(party_id, item.sk, "summary"))
        seconds = item.time_to_accept_seconds
        return EscalationRecord(
            escalation_id=str(item.escalation_id),
            party_id=party_id,
            reason=EscalationReason(item.reason),
            urgency=Urgency(item.urgency),
            queue=Queue(item.queue),
            channel=Channel(item.channel),
            status=EscalationStatus(item.status),
            created_at=item.created_at,
            summary=str(summary),
            accepted_by=item.accepted_by,
            accepted_at=item.accepted_at,
            timed_out_at=item.timed_out_at,
            closed_at=item.closed_at,
            closed_by=item.closed_by,
            time_to_accept_seconds=float(seconds) if seconds is not None else None,
            patient_told_at=item.patient_told_at,
            task_token=item.task_token,
        )
