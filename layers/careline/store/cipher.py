"""Client-side field encryption of PHI, behind the small `FieldCipher` protocol.

`KmsFieldCipher` uses Powertools data masking with the AWS Encryption SDK provider: one KMS data key
encrypts many fields and is cached per container, so a routine turn makes no KMS call once warm.
Every ciphertext carries an encryption context naming its party and field, so a ciphertext copied
onto another patient's item, or into another field, fails to decrypt. (Not its item: the data-key
cache is partitioned by encryption context, and a per-item context would defeat it.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from aws_encryption_sdk.identifiers import Algorithm
from aws_lambda_powertools.shared.functions import base64_decode, bytes_to_string
from aws_lambda_powertools.utilities.data_masking import DataMasking
from aws_lambda_powertools.utilities.data_masking.exceptions import (
    DataMaskingDecryptKeyError,
    DataMaskingDecryptValueError,
)
from aws_lambda_powertools.utilities.data_masking.provider.kms.aws_encryption_sdk import (
    AWSEncryptionSDKProvider,
    KMSKeyProvider,
)

# The writer and the reader are the same service with the same key grant, so the ECDSA signature of
# the default suite buys nothing here; the committing, unsigned suite is faster and ~200 bytes smaller.
_ALGORITHM = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
_CONTEXT_PURPOSE = "careline-field"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str) -> Any:
    return json.loads(text)


class FieldCipher(Protocol):
    def encrypt(self, value: Any, context: Mapping[str, str]) -> str:
        """Encrypt a JSON-serialisable value; `context` binds the ciphertext to its item and field."""
        ...

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> Any:
        """Decrypt what `encrypt` produced under the same `context`."""
        ...


class _CachingKmsKeyProvider(KMSKeyProvider):
    """Powertools' KMS key provider, decrypting through the caching materials manager too.

    Upstream decrypts with the bare key provider, which calls KMS Decrypt for every field read; going
    through the same cache makes a warm container's reads free of KMS calls as well.
    """

    def decrypt(
        self, data: str, provider_options: dict[str, Any] | None = None, **encryption_context: str
    ) -> Any:
        self._validate_encryption_context(encryption_context)
        try:
            ciphertext = base64_decode(data)
        except ValueError:
            raise DataMaskingDecryptValueError("field ciphertext is not base64") from None
        try:
            plaintext, header = self.client.decrypt(
                source=ciphertext, materials_manager=self.cache_cmm, **(provider_options or {})
            )
        except AWSEncryptionSDKClientError as exc:
            raise DataMaskingDecryptKeyError(f"field decryption failed: {type(exc).__name__}") from None
        self._compare_encryption_context(dict(header.encryption_context), encryption_context)
        return self.json_deserializer(bytes_to_string(plaintext))


class KmsFieldCipher:
    """`FieldCipher` over a customer-managed KMS key, with per-container data-key caching."""

    def __init__(
        self,
        key_arn: str,
        *,
        cache_capacity: int = 100,
        max_cache_age_seconds: float = 300.0,
        max_messages_encrypted: int = 10_000,
    ) -> None:
        key_provider = _CachingKmsKeyProvider(
            keys=[key_arn],
            json_serializer=_dumps,
            json_deserializer=_loads,
            local_cache_capacity=cache_capacity,
            max_cache_age_seconds=max_cache_age_seconds,
            max_messages_encrypted=max_messages_encrypted,
        )
        provider = AWSEncryptionSDKProvider(
            keys=[key_arn],
            key_provider=key_provider,
            local_cache_capacity=cache_capacity,
            max_cache_age_seconds=max_cache_age_seconds,
            max_messages_encrypted=max_messages_encrypted,
        )
        self._masking = DataMasking(provider=provider)

    def encrypt(self, value: Any, context: Mapping[str, str]) -> str:
        return self._masking.encrypt(value, {"algorithm": _ALGORITHM}, **self._context(context))

    def decrypt(self, ciphertext: str, context: Mapping[str, str]) -> Any:
        return self._masking.decrypt(ciphertext, None, **self._context(context))

    @staticmethod
    def _context(context: Mapping[str, str]) -> dict[str, str]:
        return {"purpose": _CONTEXT_PURPOSE, **context}
