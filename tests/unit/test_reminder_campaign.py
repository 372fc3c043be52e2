"""The reminder campaign: what is due, paced to the sender's rate, and sent exactly once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from careline.config import PracticeConfig, load_practice_config
from careline.errors import SendRejected, SendUncertain
from careline.reminders.campaign import DueSend, ReminderCampaign
from careline.reminders.conversation import ConversationScopes
from careline.reminders.model import VisitOutcome, WatchedVisit
from careline.reminders.policy import SentMessage

from tests.unit.fakes import (
    SAMPLE_CONFIG,
    FakePartyKeys,
    FixedClock,
    InMemoryContextStore,
    RecordingMessenger,
    local,
)
from tests.unit.reminder_fakes import (
    FailingMessenger,
    InMemoryReminderStore,
    RecordingCallTasks,
    RecordingEmail,
)

VISIT_AT = local(2026, 6, 11, 10, 0)  # Thursday 10am Portland


def watched(appointment_id: str = "a1", patient_id: str = "p1", **changes: object) -> WatchedVisit:
    base = WatchedVisit(
        appointment_id=appointment_id,
        patient_id=patient_id,
        practitioner_id="dr-chen",
        starts_at=VISIT_AT,
        ends_at=VISIT_AT + timedelta(minutes=20),
        booked_at=VISIT_AT - timedelta(days=20),
        scored_at=VISIT_AT - timedelta(days=10),
        probability=0.1,
        tier="low",
        model_version="test",
        zone="America/Los_Angeles",
        phone="+15035550111",
        email=None,
        consent=True,
        preferred_channel="sms",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class Rig:
    def __init__(self, *visits: WatchedVisit, at: datetime, config: PracticeConfig | None = None) -> None:
        self.config = config or load_practice_config(SAMPLE_CONFIG)
        self.store = InMemoryReminderStore()
        self.store.save_visits(visits)
        self.store.scoring_finished(at)  # the nightly scoring has just run
        self.contexts = InMemoryContextStore()
        self.keys = FakePartyKeys()
        self.clock = FixedClock(at)
        self.messenger: RecordingMessenger | FailingMessenger = RecordingMessenger()
        self.email = RecordingEmail()
        self.calls = RecordingCallTasks()

    def campaign(self, *, email: bool = False) -> ReminderCampaign:
        return ReminderCampaign(
            config=self.config,
            store=self.store,
            scopes=ConversationScopes(self.contexts, self.keys),
            messenger=self.messenger,
            calls=self.calls,
            clock=self.clock,
            email=self.email if email else None,
        )

    def run(self, *, email: bool = False) -> list[str]:
        """One campaign run: plan, then deliver every due send (as the queue would)."""
        campaign = self.campaign(email=email)
        plan = campaign.plan()
        if plan.scores_stale:  # as the state machine does: score, then plan again
            self.store.scoring_finished(self.clock.at)
            plan = campaign.plan(after_scoring=True)
        outcomes = []
        for send in plan.sends:
            # each send is delivered after its pacing delay
            delivered_at = self.clock.at
            self.clock.at = delivered_at + timedelta(seconds=send.delay_seconds)
            outcomes.append(campaign.deliver(send).outcome)
            self.clock.at = delivered_at
        return outcomes


def test_a_low_risk_visit_gets_one_text_48_hours_before_and_nothing_early() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=49))
    assert rig.campaign().plan().sends == ()
    rig.clock.at = VISIT_AT - timedelta(hours=48)
    assert rig.run() == ["sent"]
    ((to, body),) = rig.messenger.sent
    assert to == "+15035550111"
    assert body.startswith("Riverbend Family Medicine: reminder of your visit Thu Jun 11 at 10am")
    assert "STOP" in body
    assert rig.store.keys_sent("p1") == ["reminder#a1#48h"]
    assert rig.store.visits["a1"].outcome is VisitOutcome.REMINDED


def test_a_rerun_campaign_and_a_redelivered_message_send_nothing_twice() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    campaign = rig.campaign()
    send = campaign.plan().sends[0]
    assert campaign.deliver(send).outcome == "sent"
    again = campaign.deliver(send)  # SQS delivered the same message twice
    assert (again.outcome, again.reason) == ("skipped", "already_sent")
    assert rig.run() == []  # the next run plans nothing for it
    rig.clock.advance(timedelta(minutes=15))
    assert rig.run() == []
    assert len(rig.messenger.sent) == 1


def test_the_reply_scope_is_left_on_the_patients_conversation() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    rig.run()
    context = rig.contexts.load(rig.keys.party_for_phone("+15035550111"))
    assert context is not None
    scope = context.flow_state["reminder"]
    assert scope["appointment_id"] == "a1"
    assert scope["starts_at"] == VISIT_AT.isoformat()
    (entry,) = rig.contexts.timeline(context.party_id)
    assert entry.data == {"purpose": "reminder", "automated": True}


def test_a_high_risk_visit_gets_texts_at_72_and_24_hours_and_a_call_task_at_48() -> None:
    rig = Rig(watched(tier="high", probability=0.5), at=VISIT_AT - timedelta(hours=72))
    assert rig.run() == ["sent"]
    rig.clock.at = VISIT_AT - timedelta(hours=48)
    assert rig.run() == ["sent"]
    assert [a for a, _ in rig.calls.tasks] == ["a1"]
    assert "high no-show risk" in rig.calls.tasks[0][1]
    rig.clock.at = VISIT_AT - timedelta(hours=24)
    assert rig.run() == ["sent"]
    assert len(rig.messenger.sent) == 2


def test_sends_are_paced_to_the_origination_identitys_rate() -> None:
    visits = [watched(f"a{i}", f"p{i}", phone=f"+150355501{i:02d}") for i in range(7)]
    rig = Rig(*visits, at=VISIT_AT - timedelta(hours=48))
    config = rig.config
    rig.config = config.model_copy(
        update={
            "deployment": config.deployment.model_copy(
                update={"sms": config.deployment.sms.model_copy(update={"messages_per_second": 2})}
            )
        }
    )
    plan = rig.campaign().plan()
    assert [s.delay_seconds for s in plan.sends] == [0, 0, 1, 1, 2, 2, 3]
    assert plan.counts["due"] == 7


def test_one_run_never_gives_two_visits_of_one_patient_the_same_days_message() -> None:
    second = watched(
        "a2", starts_at=VISIT_AT + timedelta(hours=1), ends_at=VISIT_AT + timedelta(hours=1, minutes=20)
    )
    rig = Rig(watched(), second, at=VISIT_AT - timedelta(hours=47))
    plan = rig.campaign().plan()
    assert [s.appointment_id for s in plan.sends] == ["a1"]
    assert plan.counts["skipped_cap_day"] == 1


def test_another_automated_message_today_holds_the_reminder() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    rig.store.sent["p1"] = {
        "waitlist#x": SentMessage("waitlist#x", VISIT_AT - timedelta(hours=50), "sms")  # 8am same day
    }
    assert rig.run() == []
    assert rig.messenger.sent == []


def test_an_opted_out_or_cancelled_visit_gets_nothing() -> None:
    rig = Rig(
        watched(),
        watched("a2", "p2", phone="+15035550102", cancelled=True),
        at=VISIT_AT - timedelta(hours=48),
    )
    rig.contexts.contexts[rig.keys.party_for_phone("+15035550111")] = _opted_out(rig, "+15035550111")
    assert rig.run() == []
    plan = rig.campaign().plan()
    assert plan.counts["skipped_opted_out"] == 1
    assert plan.counts["visits_closed"] == 1


def test_a_stop_between_plan_and_send_is_honoured() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    campaign = rig.campaign()
    send = campaign.plan().sends[0]
    rig.contexts.contexts[rig.keys.party_for_phone("+15035550111")] = _opted_out(rig, "+15035550111")
    delivery = campaign.deliver(send)
    assert (delivery.outcome, delivery.reason) == ("skipped", "opted_out")
    assert rig.messenger.sent == []


def test_quiet_hours_hold_a_step_due_at_night_until_8am_on_the_patients_clock() -> None:
    # a 7am (New York) video visit: its 48-hour text comes due at 7am New York, 4am in Portland
    new_york = watched(zone="America/New_York", phone="+12125550100", starts_at=local(2026, 6, 11, 4, 0))
    rig = Rig(new_york, at=local(2026, 6, 9, 4, 30))  # 7:30am New York: due, but too early there
    assert rig.run() == []
    rig.clock.at = local(2026, 6, 9, 5, 0)  # 8:00am New York, 5am in Portland
    assert rig.run() == ["sent"]
    # and a Portland patient's text due at 4am waits for 8am Portland
    portland = watched("a2", "p2", phone="+15035550112", starts_at=local(2026, 6, 11, 4, 0))
    rig = Rig(portland, at=local(2026, 6, 9, 5, 0))
    assert rig.run() == []
    rig.clock.at = local(2026, 6, 9, 8, 0)
    assert rig.run() == ["sent"]


def test_a_send_that_fails_is_released_and_retried_later() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    rig.messenger = FailingMessenger(failures=1)
    campaign = rig.campaign()
    send = campaign.plan().sends[0]
    with pytest.raises(RuntimeError):
        campaign.deliver(send)
    assert rig.store.keys_sent("p1") == []
    assert campaign.deliver(send).outcome == "sent"
    assert len(rig.messenger.sent) == 1


def test_a_send_no_longer_in_its_window_waits_for_the_next_run() -> None:
    rig = Rig(watched(), at=local(2026, 6, 9, 20, 59))
    campaign = rig.campaign()
    send = campaign.plan().sends[0]
    rig.clock.at = local(2026, 6, 9, 21, 5)  # the queue held it past 9pm
    assert campaign.deliver(send).outcome == "not_yet"
    assert rig.messenger.sent == []


def test_a_patient_who_prefers_email_gets_an_email_without_clinical_detail() -> None:
    rig = Rig(watched(email="pat@example.org", preferred_channel="email"), at=VISIT_AT - timedelta(hours=48))
    assert rig.run(email=True) == ["sent"]
    ((to, subject, body),) = rig.email.sent
    assert to == "pat@example.org"
    assert "Thu Jun 11 at 10am" in subject
    assert "Riverbend" in subject
    assert "Chen" not in body
    assert "STOP" in body
    assert rig.messenger.sent == []


def test_without_an_email_sender_the_patient_who_prefers_email_is_texted() -> None:
    rig = Rig(watched(email="pat@example.org", preferred_channel="email"), at=VISIT_AT - timedelta(hours=48))
    assert rig.run(email=False) == ["sent"]
    assert len(rig.messenger.sent) == 1


def test_a_due_send_message_is_checked_before_use() -> None:
    good = {"appointment_id": "a1", "key": "reminder#a1#s", "step": "s", "channel": "sms", "delay_seconds": 3}
    assert DueSend.from_json(good).delay_seconds == 3
    for bad in ({**good, "channel": "fax"}, {**good, "key": "reminder#a2#s"}, {"appointment_id": "a1"}):
        with pytest.raises(ValueError, match="due send"):
            DueSend.from_json(bad)


def _opted_out(rig: Rig, phone: str):  # type: ignore[no-untyped-def]
    from careline.conversation.model import ConversationContext

    return ConversationContext(
        party_id=rig.keys.party_for_phone(phone), phone=phone, opted_out=True, opted_out_at=datetime.now(UTC)
    )


@pytest.mark.parametrize(
    "error", [SendUncertain("no answer", "ReadTimeoutError"), SendRejected("no", "ConflictException")]
)
def test_a_send_that_may_have_gone_or_never_will_is_not_retried(error: Exception) -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))

    class Failing:
        def send_sms(self, to_number: str, body: str) -> str:
            raise error

    rig.messenger = Failing()  # type: ignore[assignment]
    campaign = rig.campaign()
    send = campaign.plan().sends[0]
    assert campaign.deliver(send).outcome == "failed"
    assert rig.store.keys_sent("p1") == ["reminder#a1#48h"]  # kept: a retry sends nothing
    assert campaign.deliver(send).reason == "already_sent"


def test_a_high_risk_patient_with_only_a_landline_gets_the_call_but_no_texts() -> None:
    landline = watched(tier="high", probability=0.5, phone=None, consent=False, preferred_channel=None)
    rig = Rig(replace(landline, call_phone="+15035550177"), at=VISIT_AT - timedelta(hours=72))
    assert rig.run() == []  # no consent to texts
    rig.clock.at = VISIT_AT - timedelta(hours=48)
    assert rig.run() == ["sent"]
    assert [a for a, _ in rig.calls.tasks] == ["a1"]
    assert rig.messenger.sent == []


def test_a_call_step_with_no_number_at_all_is_skipped_not_retried() -> None:
    rig = Rig(
        watched(tier="high", probability=0.5, phone=None, consent=False), at=VISIT_AT - timedelta(hours=48)
    )
    campaign = rig.campaign()
    (send,) = campaign.plan().sends
    assert campaign.deliver(send).reason == "no_number"


def test_a_line_too_long_for_one_run_is_cut_and_the_rest_wait_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import careline.reminders.campaign as campaign_module

    monkeypatch.setattr(campaign_module, "MAX_PLAN_BYTES", 400)  # about three sends' worth of state
    visits = [watched(f"a{i}", f"p{i}", phone=f"+150355501{i:02d}") for i in range(6)]
    rig = Rig(*visits, at=VISIT_AT - timedelta(hours=48))
    plan = rig.campaign().plan()
    assert 0 < len(plan.sends) < 6
    assert plan.counts["next_run"] == 6 - len(plan.sends)
    assert len(json.dumps(plan.to_json()["sends"])) <= 400


def test_stale_scores_plan_nothing_until_scored_again() -> None:
    rig = Rig(watched(), at=VISIT_AT - timedelta(hours=48))
    rig.store.scored_at = VISIT_AT - timedelta(hours=48 + 27)  # last night's run never happened
    stale = rig.campaign().plan()
    assert stale.scores_stale
    assert stale.sends == ()
    assert stale.to_json()["scores_stale"] is True
    assert len(rig.campaign().plan(after_scoring=True).sends) == 1
    rig.store.scored_at = None  # a new deployment: never scored
    assert rig.campaign().plan().scores_stale
