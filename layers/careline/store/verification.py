"""The identity-verification ledger on the single table, and the keyed hashes that name its subjects.

One item per failure: pk `VERIFY#<subject key>`, sk `FAIL#<iso instant>#<token>`, attribute
`counterpart` (a subject key), TTL `expires_at` one window after the failure.

A subject key is a 64-hex HMAC (`HmacSubjectKeys`), never a raw number, patient id or name; the
ledger refuses anything else, so a caller's slip cannot put PHI in a key. The window is a range
condition on the sort key, so counting is one query over a handful of items: TTL removes old ones
eventually, the query never depends on it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from careline.identity.ports import SubjectKind
from careline.observability import logger
from careline.store.context_store import instant_key
from careline.store.keys import HmacPartyKeys

VERIFY_PREFIX = "VERIFY#"
FAILURE_PREFIX = "FAIL#"
_SUBJECT_KEY = re.compile(r"[0-9a-f]{64}")


class HmacSubjectKeys(HmacPartyKeys):
    """The `SubjectKeys` port over the party-id HMAC secret.

    A number's subject key is its party id (so a fraud signal leads to the conversation); a patient
    id or a claimed name is hashed with its kind as a prefix, which no E.164 number can collide with.
    """

    def subject_key(self, kind: SubjectKind, value: str) -> str:
        if kind is SubjectKind.NUMBER:
            return self.party_for_phone(value)
        message = f"{kind.value}:{value}".encode()
        return hmac.new(self._hmac_key(), message, hashlib.sha256).hexdigest()


class VerificationFailureItem(Model):
    """One failed verification against a subject (sk `FAIL#<instant>#<token>`)."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    counterpart = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def _bound_failure_model(
    table_name: str, region: str | None, host: str | None
) -> type[VerificationFailureItem]:
    meta: dict[str, Any] = {"table_name": table_name, "region": region, "host": host}
    return type(
        VerificationFailureItem.__name__,
        (VerificationFailureItem,),
        {"Meta": type("Meta", (), meta), "__module__": __name__},
    )


def _checked(subject_key: str) -> str:
    if not _SUBJECT_KEY.fullmatch(subject_key):
        # never echo the value: it may be the raw number or id that must not be stored
        raise ValueError("a verification subject must be a keyed hash (64 lowercase hex digits)")
    return subject_key


class DynamoVerificationLedger:
    """The `VerificationLedger` port on the single table: one PutItem per failure, one Query per read.

    `window` is how long a failure counts; items carry an `expires_at` TTL that long after it.
    """

    def __init__(
        self,
        table_name: str,
        *,
        window: timedelta = timedelta(hours=24),
        region: str | None = None,
        host: str | None = None,
    ) -> None:
        self._model = _bound_failure_model(table_name, region, host)
        self._window = window

    def record_failure(
        self,
        subject_key: str,
        at: datetime,
        *,
        counterpart: str | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Count one failure; a redelivered attempt (same `attempt_id` and instant) is counted once."""
        token = hashlib.sha256(attempt_id.encode()).hexdigest()[:32] if attempt_id else uuid.uuid4().hex
        item = self._model(
            pk=VERIFY_PREFIX + _checked(subject_key),
            sk=f"{FAILURE_PREFIX}{instant_key(at)}#{token}",
            at=at,
            counterpart=_checked(counterpart) if counterpart is not None else None,
            expires_at=at + self._window,
        )
        try:
            item.save(condition=self._model.sk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            logger.info("verification failure already recorded")

    def failures_since(self, subject_key: str, since: datetime) -> int:
        return int(
            self._model.count(
                VERIFY_PREFIX + _checked(subject_key),
                self._model.sk >= FAILURE_PREFIX + instant_key(since),
                consistent_read=True,
            )
        )

    def counterparts_since(self, subject_key: str, since: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self._model.query(
            VERIFY_PREFIX + _checked(subject_key),
            self._model.sk >= FAILURE_PREFIX + instant_key(since),
            consistent_read=True,
            attributes_to_get=["counterpart"],
        ):
            if item.counterpart:
                counts[item.counterpart] = counts.get(item.counterpart, 0) + 1
        return counts
