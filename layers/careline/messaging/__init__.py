"""Outbound SMS: End User Messaging for AWS, an in-memory outbox for the local runtime."""

from careline.messaging.outbox import OutboxMessage, OutboxMessenger
from careline.messaging.sms import SMS_CLIENT_CONFIG, SmsMessenger

__all__ = ["SMS_CLIENT_CONFIG", "OutboxMessage", "OutboxMessenger", "SmsMessenger"]
