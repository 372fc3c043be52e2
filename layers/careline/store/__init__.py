"""The conversation store: the single DynamoDB table, PHI encrypted per field, keys hashed."""

from careline.store.cipher import FieldCipher, KmsFieldCipher
from careline.store.context_store import DynamoContextStore, instant_key, timeline_sk
from careline.store.keys import HmacPartyKeys, InvalidPhoneNumberError, normalize_e164
from careline.store.models import TableModels, bind_models
from careline.store.table import create_table

__all__ = [
    "DynamoContextStore",
    "FieldCipher",
    "HmacPartyKeys",
    "InvalidPhoneNumberError",
    "KmsFieldCipher",
    "TableModels",
    "bind_models",
    "create_table",
    "instant_key",
    "normalize_e164",
    "timeline_sk",
]
