"""Outbound messages: SMS through End User Messaging for AWS, email through SES v2, and in-memory
outboxes for the local runtime."""

from careline.messaging.email import (
    EMAIL_CLIENT_CONFIG,
    EmailRejected,
    EmailUnavailable,
    SesEmailSender,
)
from careline.messaging.outbox import OutboxEmail, OutboxEmailMessage, OutboxMessage, OutboxMessenger
from careline.messaging.sms import SMS_CLIENT_CONFIG, SmsMessenger

__all__ = [
    "EMAIL_CLIENT_CONFIG",
    "SMS_CLIENT_CONFIG",
    "EmailRejected",
    "EmailUnavailable",
    "OutboxEmail",
    "OutboxEmailMessage",
    "OutboxMessage",
    "OutboxMessenger",
    "SesEmailSender",
    "SmsMessenger",
]
