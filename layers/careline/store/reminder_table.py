"""`ReminderTableStore`: what the reminder and waitlist stores (careline.store.reminders,
careline.store.waitlist) share over the single table: the reminder models, the field cipher with
each ciphertext bound to its item and field, and patients keyed by a keyed hash, never their id."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from careline.store.cipher import FieldCipher
from careline.store.models import ReminderModels, bind_reminder_models

CONDITION_FAILED = "ConditionalCheckFailedException"
_PATIENT_KEY = re.compile(r"[0-9a-f]{64}")

_Item = TypeVar("_Item", bound=Model)


def item_field_context(pk: str, sk: str, field: str) -> dict[str, str]:
    """The encryption context of one field of one item: a ciphertext copied onto another item, or
    into another field, does not decrypt. Holds keys only (the context is stored in clear)."""
    return {"item": f"{pk}|{sk}", "field": field}


def condition_failed(exc: PutError | UpdateError | DeleteError) -> bool:
    return exc.cause_response_code == CONDITION_FAILED


class ReminderTableStore:
    """The base of the reminder and waitlist stores: their models bound to `table_name`, the field
    cipher, and `patient_key`, which turns a patient id into its keyed hash (64 lowercase hex
    digits; the composition root passes the HMAC subject key of kind `patient`)."""

    def __init__(
        self,
        table_name: str,
        cipher: FieldCipher,
        patient_key: Callable[[str], str],
        *,
        region: str | None = None,
        host: str | None = None,
    ) -> None:
        self._items: ReminderModels = bind_reminder_models(table_name, region=region, host=host)
        self._cipher = cipher
        self._patient_key = patient_key

    def _key(self, patient_id: str) -> str:
        """The keyed hash of `patient_id`, refused unless it looks like one (64 lowercase hex
        digits), so a wrongly wired key function cannot put a patient id in a key."""
        key = self._patient_key(patient_id)
        if not _PATIENT_KEY.fullmatch(key):
            # never echo the value: it may be the raw id
            raise ValueError("a patient key must be a keyed hash (64 lowercase hex digits)")
        return key

    @staticmethod
    def _get(model: type[_Item], pk: str, sk: str) -> _Item | None:
        """The item at `pk`/`sk`, read consistently; None when there is none."""
        try:
            return model.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return None
