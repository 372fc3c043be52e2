"""`TurnService`: load, decide, save once, publish, then send, through in-memory ports."""

from __future__ import annotations

import json

import pytest
from careline.config import PracticeConfig
from careline.conversation.engine import ConversationEngine
from careline.conversation.model import Channel, InboundMessage, TimelineKind
from careline.conversation.service import TurnService
from careline.errors import ConcurrentTurnError

from tests.unit.fakes import (
    FakePartyKeys,
    FixedClock,
    InMemoryContextStore,
    RecordingEventBus,
    RecordingMessenger,
    local,
)

PATIENT = "+15035550142"
AT = local(2026, 12, 22, 10, 0)


class Harness:
    def __init__(self, practice: PracticeConfig) -> None:
        self.clock = FixedClock(AT)
        self.store = InMemoryContextStore()
        self.keys = FakePartyKeys()
        self.messenger = RecordingMessenger()
        self.bus = RecordingEventBus()
        self.service = TurnService(
            ConversationEngine(practice, self.clock),
            self.store,
            self.keys,
            self.messenger,
            self.bus,
            self.clock,
        )
        self.count = 0

    def text(self, body: str, channel: Channel = Channel.SMS) -> dict[str, object]:
        self.count += 1
        inbound = InboundMessage(f"in-{self.count}", channel, PATIENT, "+15035550100", body, self.clock.now())
        return self.service.handle(inbound)


@pytest.fixture
def harness(practice: PracticeConfig) -> Harness:
    return Harness(practice)


def test_a_turn_is_saved_once_then_replied(harness: Harness) -> None:
    outcome = harness.text("are you open today")
    party = harness.keys.party_for_phone(PATIENT)
    assert harness.store.saves == 1
    assert harness.store.contexts[party].version == 1
    assert [e.kind for e in harness.store.timeline(party)] == [TimelineKind.INBOUND, TimelineKind.OUTBOUND]
    assert harness.messenger.sent == [(PATIENT, harness.store.timeline(party)[1].text)]
    assert outcome["replies_sent"] == 1
    assert outcome["intent"] == "practice_info"


def test_the_next_turn_continues_from_the_saved_context(harness: Harness) -> None:
    harness.text("STOP")
    harness.text("what are your hours")
    assert len(harness.messenger.sent) == 1  # only the opt-out acknowledgment
    harness.text("START")
    assert len(harness.messenger.sent) == 2


def test_escalations_are_saved_with_the_turn_and_events_published(harness: Harness) -> None:
    outcome = harness.text("talk to a person")
    party = harness.keys.party_for_phone(PATIENT)
    [saved] = harness.store.escalations[party]
    assert outcome["escalation_ids"] == [saved.escalation_id]
    assert [e.detail_type for e in harness.bus.published] == ["escalation_requested"]


def test_a_concurrent_turn_is_retried_once_on_fresh_context(harness: Harness) -> None:
    harness.store.conflicts = 1
    outcome = harness.text("hi")
    assert harness.store.loads == 2
    assert harness.store.saves == 1
    assert outcome["replies_sent"] == 1


def test_a_second_conflict_gives_up_without_replying(harness: Harness) -> None:
    harness.store.conflicts = 2
    with pytest.raises(ConcurrentTurnError):
        harness.text("hi")
    assert harness.messenger.sent == []
    assert harness.bus.published == []


def test_voice_replies_are_not_texted(harness: Harness) -> None:
    outcome = harness.text("what are your hours", channel=Channel.VOICE)
    assert harness.messenger.sent == []
    assert outcome["replies_sent"] == 0


def test_the_outcome_is_json_safe_and_holds_no_phi(harness: Harness) -> None:
    outcome = harness.text("Maria Lopez here, talk to a person please")
    dumped = json.dumps(outcome)
    assert PATIENT not in dumped
    assert "Maria" not in dumped
    assert outcome["party_id"] == harness.keys.party_for_phone(PATIENT)


class FailingOnce:
    """Raises on the first call, then does what the wrapped callable does."""

    def __init__(self, wrapped, error: Exception) -> None:
        self.wrapped, self.error, self.calls = wrapped, error, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return self.wrapped(*args, **kwargs)


def _redeliver(harness: Harness, body: str) -> tuple[InboundMessage, dict[str, object]]:
    inbound = InboundMessage("in-retry", Channel.SMS, PATIENT, "+15035550100", body, harness.clock.now())
    with pytest.raises(ConnectionError):
        harness.service.handle(inbound)
    return inbound, harness.service.handle(inbound)


def test_a_failed_send_is_delivered_from_the_saved_turn_not_decided_again(harness: Harness) -> None:
    harness.messenger.send_sms = FailingOnce(harness.messenger.send_sms, ConnectionError("timeout"))
    _, outcome = _redeliver(harness, "STOP")
    party = harness.keys.party_for_phone(PATIENT)

    assert outcome["redelivered"] is True
    assert len(harness.messenger.sent) == 1
    assert "START" in harness.messenger.sent[0][1]
    assert harness.store.saves == 1
    assert [e.kind for e in harness.store.timeline(party)].count(TimelineKind.INBOUND) == 1


def test_a_failed_publish_is_published_and_replied_on_redelivery(harness: Harness) -> None:
    harness.bus.publish = FailingOnce(harness.bus.publish, ConnectionError("EventBridge down"))
    _, outcome = _redeliver(harness, "talk to a person")

    assert outcome["redelivered"] is True
    assert [e.detail_type for e in harness.bus.published] == ["escalation_requested"]
    assert len(harness.messenger.sent) == 1
    assert len(outcome["escalation_ids"]) == 0  # escalations were saved with the first attempt
    assert len(harness.store.escalations[harness.keys.party_for_phone(PATIENT)]) == 1


def test_a_new_message_after_a_redelivery_is_decided_afresh(harness: Harness) -> None:
    harness.messenger.send_sms = FailingOnce(harness.messenger.send_sms, ConnectionError("timeout"))
    _redeliver(harness, "hi")
    outcome = harness.text("what are your hours")
    assert outcome["redelivered"] is False
    assert outcome["intent"] == "practice_info"
