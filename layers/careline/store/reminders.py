"""`DynamoReminderStore`: the `ReminderStore` port (careline.reminders.ports) over the single table.

Items (no PHI in any key; the phone and email encrypted, each bound to its item and field):
- watched visit: pk `VISIT#<appointment id>`, sk `VISIT`; GSI `gsi1`: `gsi1pk=VISITS`,
  `gsi1sk=<start instant>#<appointment id>`, so the visits starting in a window are one index
  query; `expires_at` `retention_days` after the visit starts.
- ledger entry: pk `LEDGER#<keyed hash of the patient id>`, sk `SENT#<idempotency key>`, with
  `sent_at` (an `instant_key`) and `channel`; `expires_at` 8 days after it was sent (the weekly
  cap looks back 7 days).
- the last scoring run: pk `SCORING`, sk `LAST`, `finished_at`.

Scoring a visit again rewrites what scoring knows and never what happened since (`cancelled`,
`outcome`): one UpdateItem that does not name them. An outcome only moves forward: the condition
of its one UpdateItem admits only outcomes ranked below it, so two writers cannot move it back.
Claiming a ledger key is one conditional PutItem, so a re-run or a redelivery never sends twice.
DynamoDB's own failures (throttling after pynamodb's retries, service errors) surface as
pynamodb's exceptions, as from every store here; only a failed condition is an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from careline.observability import logger
from careline.reminders.model import OUTCOME_RANK, MessageChannel, VisitOutcome, WatchedVisit
from careline.reminders.policy import SendChannel, SentMessage
from careline.store.cipher import FieldCipher
from careline.store.context_store import instant_key
from careline.store.models import (
    SENT_PREFIX,
    VISIT_SK,
    VISITS_INDEX_PK,
    WatchedVisitItem,
    ledger_pk,
    visit_pk,
)
from careline.store.reminder_table import ReminderTableStore, condition_failed, item_field_context

# the ledger is read back 7 days (the weekly cap); a day more so an entry never expires while counted
LEDGER_KEPT = timedelta(days=8)
_SEND_CHANNELS: dict[str, SendChannel] = {"sms": "sms", "email": "email", "call_task": "call_task"}
_MESSAGE_CHANNELS: dict[str, MessageChannel] = {"sms": "sms", "email": "email"}
SCORING_PK, SCORING_SK = "SCORING", "LAST"


def visit_index_sort_key(starts_at: datetime, appointment_id: str) -> str:
    """`gsi1sk` of a watched visit: its start (fixed-width UTC, so text order is time order), then id."""
    return f"{instant_key(starts_at)}#{appointment_id}"


class DynamoReminderStore(ReminderTableStore):
    """The `ReminderStore` port over the single table.

    `retention_days` is how long a watched visit is kept after it starts (`expires_at`);
    `patient_key` turns a patient id into its keyed hash (64 lowercase hex digits), the ledger's
    partition (the composition root passes the HMAC subject key of kind `patient`).
    """

    def __init__(
        self,
        table_name: str,
        cipher: FieldCipher,
        retention_days: int,
        patient_key: Callable[[str], str],
        *,
        region: str | None = None,
        host: str | None = None,
    ) -> None:
        super().__init__(table_name, cipher, patient_key, region=region, host=host)
        self._retention = timedelta(days=retention_days)

    # -- watched visits ----------------------------------------------------------------------------

    def save_visits(self, visits: Sequence[WatchedVisit]) -> None:
        """One UpdateItem per visit, naming only what scoring knows: an outcome or cancellation
        already stored stays. A visit that comes with its own outcome records it (forward only)."""
        for visit in visits:
            self._save_scoring(visit)
            if visit.outcome is not None:
                self.record_outcome(visit.appointment_id, visit.outcome, visit.outcome_at or visit.scored_at)

    def visit(self, appointment_id: str) -> WatchedVisit | None:
        item = self._get(self._items.visit, visit_pk(appointment_id), VISIT_SK)
        return self._visit_from_item(item) if item is not None else None

    def visits_starting(self, start: datetime, end: datetime) -> list[WatchedVisit]:
        return [self._visit_from_item(item) for item in self._visit_items(start, end)]

    def record_outcome(self, appointment_id: str, outcome: VisitOutcome, at: datetime) -> None:
        model = self._items.visit
        below = [o.value for o, rank in OUTCOME_RANK.items() if rank < OUTCOME_RANK[outcome]]
        may_move: Condition = model.outcome.does_not_exist()
        if below:
            may_move = may_move | model.outcome.is_in(*below)
        item = model(pk=visit_pk(appointment_id), sk=VISIT_SK)
        try:
            item.update(
                actions=[model.outcome.set(outcome.value), model.outcome_at.set(at)],
                condition=model.pk.exists() & may_move,
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            # an unknown visit, or one whose outcome is already as final: both are left as they are
            logger.debug("visit outcome kept", extra={"appointment_id": appointment_id, "outcome": outcome})

    def mark_cancelled(self, appointment_id: str, at: datetime) -> None:
        """Set `cancelled` (the first `cancelled_at` is kept); an unknown visit is ignored."""
        model = self._items.visit
        item = model(pk=visit_pk(appointment_id), sk=VISIT_SK)
        try:
            item.update(
                actions=[model.cancelled.set(True), model.cancelled_at.set(model.cancelled_at | at)],
                condition=model.pk.exists(),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            logger.debug("cancelled visit not watched", extra={"appointment_id": appointment_id})

    def outcomes_by_tier(self, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        """Per tier: `total`, and how many ended each way (every `VisitOutcome` value, zeros too).
        Each visit counts once, under its outcome; a visit flagged cancelled whose outcome is not
        yet as final as a cancellation counts as `cancelled`. Reads no PHI."""
        counts: dict[str, dict[str, int]] = {}
        attributes = ["tier", "outcome", "cancelled"]
        for item in self._visit_items(start, end, attributes_to_get=attributes):
            tier = counts.setdefault(str(item.tier), {"total": 0, **{o.value: 0 for o in VisitOutcome}})
            tier["total"] += 1
            ended = _effective_outcome(item.outcome, bool(item.cancelled))
            if ended is not None:
                tier[ended] = tier.get(ended, 0) + 1
        return counts

    # -- the send ledger ---------------------------------------------------------------------------

    def scoring_finished(self, at: datetime) -> None:
        self._items.scoring_run(pk=SCORING_PK, sk=SCORING_SK, finished_at=at).save()

    def last_scoring(self) -> datetime | None:
        item = self._get(self._items.scoring_run, SCORING_PK, SCORING_SK)
        return item.finished_at if item is not None else None

    def ledger(self, patient_id: str, since: datetime) -> list[SentMessage]:
        model = self._items.sent
        items = model.query(
            ledger_pk(self._key(patient_id)),
            model.sk.startswith(SENT_PREFIX),
            filter_condition=model.sent_at >= instant_key(since),
            consistent_read=True,
        )
        sent = [
            SentMessage(
                key=item.sk.removeprefix(SENT_PREFIX),
                sent_at=datetime.fromisoformat(item.sent_at),
                channel=_SEND_CHANNELS[item.channel],
            )
            for item in items
        ]
        return sorted(sent, key=lambda m: (m.sent_at, m.key))

    def claim(self, patient_id: str, key: str, channel: SendChannel, at: datetime) -> bool:
        if not key:
            raise ValueError("a ledger key must not be empty")
        model = self._items.sent
        item = model(
            pk=ledger_pk(self._key(patient_id)),
            sk=f"{SENT_PREFIX}{key}",
            sent_at=instant_key(at),
            channel=_SEND_CHANNELS[channel],
            expires_at=at + LEDGER_KEPT,
        )
        try:
            item.save(condition=model.pk.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release(self, patient_id: str, key: str) -> None:
        self._items.sent(pk=ledger_pk(self._key(patient_id)), sk=f"{SENT_PREFIX}{key}").delete()

    # -- items -------------------------------------------------------------------------------------

    def _visit_items(
        self, start: datetime, end: datetime, attributes_to_get: list[str] | None = None
    ) -> list[WatchedVisitItem]:
        """Visits starting in [start, end), soonest first: `<end instant>` sorts after every key of a
        visit starting before `end` and before every key of one starting at `end`."""
        if end <= start:
            return []
        model = self._items.visit
        return list(
            model.by_start.query(
                VISITS_INDEX_PK,
                model.gsi1sk.between(instant_key(start), instant_key(end)),
                attributes_to_get=attributes_to_get,
            )
        )

    def _save_scoring(self, visit: WatchedVisit) -> None:
        model = self._items.visit
        pk = visit_pk(visit.appointment_id)

        def enc(value: str | None, field: str) -> str | None:
            return self._cipher.encrypt(value, item_field_context(pk, VISIT_SK, field)) if value else None

        # (attribute, value): what scoring knows, set (or removed when None) on every save
        values: list[tuple[Any, Any]] = [
            (model.gsi1pk, VISITS_INDEX_PK),
            (model.gsi1sk, visit_index_sort_key(visit.starts_at, visit.appointment_id)),
            (model.appointment_id, visit.appointment_id),
            (model.patient_id, visit.patient_id),
            (model.practitioner_id, visit.practitioner_id),
            (model.starts_at, visit.starts_at),
            (model.ends_at, visit.ends_at),
            (model.booked_at, visit.booked_at),
            (model.scored_at, visit.scored_at),
            (model.probability, visit.probability),
            (model.tier, visit.tier),
            (model.model_version, visit.model_version),
            (model.zone, visit.zone),
            (model.phone_enc, enc(visit.phone, "phone")),
            (model.email_enc, enc(visit.email, "email")),
            (model.call_phone_enc, enc(visit.call_phone, "call_phone")),
            (model.consent, visit.consent),
            (model.preferred_channel, visit.preferred_channel),
            (model.slot_id, visit.slot_id),
            (model.appointment_type, visit.appointment_type),
            (model.location_id, visit.location_id),
            (model.expires_at, visit.starts_at + self._retention),
        ]
        actions: list[Action] = [
            attribute.set(value) if value is not None else attribute.remove() for attribute, value in values
        ]
        # a cancellation scoring saw is recorded; one recorded since is never undone by scoring
        actions.append(model.cancelled.set(True if visit.cancelled else model.cancelled | False))
        if visit.cancelled:
            actions.append(model.cancelled_at.set(model.cancelled_at | visit.scored_at))
        model(pk=pk, sk=VISIT_SK).update(actions=actions)

    def _visit_from_item(self, item: WatchedVisitItem) -> WatchedVisit:
        def dec(ciphertext: str | None, field: str) -> str | None:
            if ciphertext is None:
                return None
            return str(self._cipher.decrypt(ciphertext, item_field_context(item.pk, item.sk, field)))

        return WatchedVisit(
            appointment_id=item.appointment_id,
            patient_id=item.patient_id,
            practitioner_id=item.practitioner_id,
            starts_at=item.starts_at,
            ends_at=item.ends_at,
            booked_at=item.booked_at,
            scored_at=item.scored_at,
            probability=float(item.probability),
            tier=item.tier,
            model_version=item.model_version,
            zone=item.zone,
            phone=dec(item.phone_enc, "phone"),
            email=dec(item.email_enc, "email"),
            call_phone=dec(item.call_phone_enc, "call_phone"),
            consent=bool(item.consent),
            preferred_channel=(
                _MESSAGE_CHANNELS[item.preferred_channel] if item.preferred_channel is not None else None
            ),
            slot_id=item.slot_id,
            appointment_type=item.appointment_type,
            location_id=item.location_id,
            cancelled=bool(item.cancelled),
            outcome=VisitOutcome(item.outcome) if item.outcome is not None else None,
            outcome_at=item.outcome_at,
        )


def _effective_outcome(outcome: str | None, cancelled: bool) -> str | None:
    """How a visit ended for reporting: its outcome, or `cancelled` when it was flagged cancelled
    and nothing at least as final was recorded."""
    recorded = VisitOutcome(outcome) if outcome is not None else None
    if cancelled and (recorded is None or OUTCOME_RANK[recorded] < OUTCOME_RANK[VisitOutcome.CANCELLED]):
        return VisitOutcome.CANCELLED.value
    return recorded.value if recorded is not None else None
