"""Amazon Connect contact-flow Lambda invocations: the call-start event, and the greeting the inbound
flow plays before it hands the caller to the Lex bot.

The event is the one the "Invoke AWS Lambda function" block sends (Amazon Connect administrator
guide, "Grant Amazon Connect access to your AWS Lambda functions" / "Invoke a Lambda function from a
flow"): `{"Name": "ContactFlowEvent", "Details": {"ContactData": {...}, "Parameters": {...}}}`.
Careline reads `ContactData.ContactId`, `Channel` (only VOICE is served here),
`CustomerEndpoint.Address` and `SystemEndpoint.Address` (E.164 for a phone call; the customer's may
be null, or not a number, when the caller withholds it) and `InstanceARN`. The answer must be a flat map
of strings, which the flow reads as `$.External.<key>`.

Malformed events raise `MalformedEventError` naming fields only, never a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from careline.channels.voice import to_ssml
from careline.config import E164_PATTERN, PracticeConfig
from careline.conversation.model import Channel
from careline.errors import MalformedEventError
from careline.practice.hours import PracticeCalendar, describe_opening

_E164 = re.compile(E164_PATTERN)
_ID = re.compile(r"^[A-Za-z0-9._:/\-]{1,256}$")


@dataclass(frozen=True)
class CallStart:
    """A call arriving at the practice's number, as the contact flow reports it."""

    contact_id: str
    caller_number: str | None  # None: the caller withheld their number
    dialed_number: str | None
    instance_arn: str | None


def _fail(reason: str) -> MalformedEventError:
    return MalformedEventError(f"Connect contact-flow event: {reason}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"{where} is not an object")
    return value


def _address(data: dict[str, Any], key: str) -> str | None:
    endpoint = data.get(key)
    if endpoint is None:
        return None
    endpoint = _object(endpoint, f"Details.ContactData.{key}")
    address = endpoint.get("Address")
    if address is None or address == "":
        return None
    if not isinstance(address, str):
        raise _fail(f"Details.ContactData.{key}.Address is not a string")
    # a withheld or unusual caller id ("anonymous", a short code) is no number to know them by
    return address if _E164.fullmatch(address) else None


def parse_call_start(event: Any) -> CallStart:
    """The contact-flow event -> `CallStart`. Raises `MalformedEventError` for anything else."""
    event = _object(event, "event")
    if event.get("Name") != "ContactFlowEvent":
        raise _fail("Name is not ContactFlowEvent")
    details = _object(event.get("Details"), "Details")
    data = _object(details.get("ContactData"), "Details.ContactData")
    contact_id = data.get("ContactId")
    if not isinstance(contact_id, str) or not _ID.fullmatch(contact_id):
        raise _fail("Details.ContactData.ContactId is missing or not an id")
    if data.get("Channel") != "VOICE":
        raise _fail("Details.ContactData.Channel is not VOICE")
    instance = data.get("InstanceARN")
    if instance is not None and (not isinstance(instance, str) or not instance.startswith("arn:")):
        raise _fail("Details.ContactData.InstanceARN is not an ARN")
    return CallStart(
        contact_id=contact_id,
        caller_number=_address(data, "CustomerEndpoint"),
        dialed_number=_address(data, "SystemEndpoint"),
        instance_arn=instance,
    )


def greeting(config: PracticeConfig, now: datetime) -> dict[str, str]:
    """What the flow says first, and whether the practice is closed now (a flat string map).

    Nothing here depends on who is calling: no one is verified yet, so nothing is said about them.
    """
    calendar = PracticeCalendar(config)
    if calendar.is_open(now):
        text = config.catalog.render("call_greeting", Channel.VOICE)
        after_hours = False
    else:
        opening = calendar.next_opening(now)
        when = describe_opening(opening, now, config.tz) if opening else "as soon as we can"
        text = config.catalog.render("call_greeting_after_hours", Channel.VOICE, next_open=when)
        after_hours = True
    return {"greeting": to_ssml(text), "greeting_text": text, "after_hours": str(after_hours).lower()}
