"""Sorting a provider's failure into what the caller can do about it (`careline.errors`): retry
(`SendUnavailable`), give up (`SendRejected`), or treat as possibly sent (`SendUncertain`)."""

from __future__ import annotations

from typing import Final

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
)

from careline.errors import SendError, SendRejected, SendUnavailable, SendUncertain
from careline.observability import logger

# error codes across End User Messaging and SES v2 that mean "not now" rather than "not ever"
RETRYABLE_CODES: Final = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
    }
)


def classify(exc: BotoCoreError | ClientError, what: str) -> SendError:
    """The `SendError` for a failed send of `what` ("sms", "email"), logged by code only."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        retryable = code in RETRYABLE_CODES or status == 429 or status >= 500
        logger.warning(
            f"{what} not sent", extra={"error_code": code, "http_status": status, "retryable": retryable}
        )
        if retryable:
            return SendUnavailable(f"{what} not sent now: {code}", code)
        return SendRejected(f"{what} refused: {code}", code)
    code = type(exc).__name__
    if isinstance(exc, ReadTimeoutError | ConnectionClosedError):
        logger.warning(f"{what} may have been sent", extra={"error_code": code})
        return SendUncertain(f"no answer to the {what} send: {code}", code)
    logger.warning(f"{what} not sent", extra={"error_code": code, "retryable": True})
    return SendUnavailable(f"{what} provider could not be reached: {code}", code)
