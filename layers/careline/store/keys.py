"""`HmacPartyKeys`: the keyed hash that stands in for a phone number in every key and index."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable

from careline.errors import CarelineError

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_FORMATTING = re.compile(r"[\s().\-]")
# A shorter key would make the hash guessable by enumerating the (small) space of phone numbers.
_MIN_KEY_BYTES = 32


class InvalidPhoneNumberError(CarelineError):
    """A string that cannot be read as an E.164 number. The message never repeats the input."""


def normalize_e164(phone: str) -> str:
    """`phone` as E.164 (`+15035550100`); bare 10-digit and 1+10-digit US numbers are accepted."""
    digits = _FORMATTING.sub("", phone.strip())
    if not digits.startswith("+"):
        if len(digits) == 10 and digits.isdigit():
            digits = "+1" + digits
        elif len(digits) == 11 and digits.isdigit() and digits.startswith("1"):
            digits = "+" + digits
    if not _E164.fullmatch(digits):
        raise InvalidPhoneNumberError("not an E.164 phone number")
    return digits


def fetch_secret_string(secret_arn: str, max_age_seconds: int = 3600) -> str:
    """The secret's value through Powertools parameters (cached per container for `max_age_seconds`)."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(secret_arn, max_age=max_age_seconds)
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class HmacPartyKeys:
    """The `PartyKeys` port: HMAC-SHA256 of the normalized E.164 number, as 64 lowercase hex digits.

    The HMAC key is read once (lazily) from Secrets Manager. The result is safe in a DynamoDB key
    (`PARTY#<hex>`), useless to anyone without the key, and stable for the life of the secret.
    """

    def __init__(self, secret_arn: str, fetch_secret: Callable[[str], str] = fetch_secret_string) -> None:
        self._secret_arn = secret_arn
        self._fetch_secret = fetch_secret
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _hmac_key(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    key = self._fetch_secret(self._secret_arn).encode("utf-8")
                    if len(key) < _MIN_KEY_BYTES:
                        raise CarelineError(f"party hash secret must hold at least {_MIN_KEY_BYTES} bytes")
                    self._key = key
        return self._key

    def party_for_phone(self, phone: str) -> str:
        """The party id of `phone`; formatting variants of one number give the same id."""
        normalized = normalize_e164(phone)
        return hmac.new(self._hmac_key(), normalized.encode("ascii"), hashlib.sha256).hexdigest()
