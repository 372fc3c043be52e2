"""The escalation workflow's rules: SLA per urgency and queue, paging, work items, and what a patient
nobody reached in time is told (in hours, closing soon, after hours, a crisis, a call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from careline.config import PracticeConfig, load_practice_config
from careline.conversation.model import Channel, EscalationReason, Queue, Urgency
from careline.errors import ConfigError
from careline.escalation import EscalationRecord, EscalationStatus
from careline.escalation.policy import (
    delay_notice,
    needs_agent_task,
    pages_on_call,
    panel_link,
    sla_deadline,
    sla_minutes,
    task_name,
)

from tests.unit.fakes import SAMPLE_CONFIG, local


@pytest.fixture(scope="module")
def practice() -> PracticeConfig:
    return load_practice_config(SAMPLE_CONFIG)


def record(
    *,
    urgency: Urgency = Urgency.ROUTINE,
    queue: Queue = Queue.FRONT_DESK,
    channel: Channel = Channel.SMS,
    created_at: datetime | None = None,
) -> EscalationRecord:
    return EscalationRecord(
        escalation_id="esc-1",
        party_id="party-1",
        reason=EscalationReason.HUMAN_REQUESTED,
        urgency=urgency,
        queue=queue,
        channel=channel,
        status=EscalationStatus.OPEN,
        created_at=created_at or local(2026, 3, 3, 10),
        summary="Patient asked to talk to a person.",
    )


def test_sla_is_the_urgencys_unless_the_queue_promised_a_reply_sooner(practice: PracticeConfig) -> None:
    # routine allows 60 minutes, but the front desk promises patients 15
    assert sla_minutes(practice, Urgency.ROUTINE, Queue.FRONT_DESK) == 15
    assert sla_minutes(practice, Urgency.ROUTINE, Queue.BILLING) == 60
    assert sla_minutes(practice, Urgency.EMERGENCY, Queue.FRONT_DESK) == 2
    assert sla_minutes(practice, Urgency.CRISIS, Queue.CRISIS) == 5
    assert sla_deadline(practice, record()) == local(2026, 3, 3, 10, 15)


def test_emergencies_and_crises_page_on_call_and_nothing_else_does() -> None:
    assert [u for u in Urgency if pages_on_call(u)] == [Urgency.EMERGENCY, Urgency.CRISIS]


def test_a_call_needs_no_task_because_the_flow_already_queued_it() -> None:
    assert not needs_agent_task(Channel.VOICE)
    assert needs_agent_task(Channel.SMS)


def test_a_task_links_to_the_escalation_in_the_agent_panel_and_names_no_phi(practice: PracticeConfig) -> None:
    assert (
        panel_link("https://panel.example/prod/", "p1", "e1")
        == "https://panel.example/prod/escalations/p1/e1"
    )
    assert panel_link(None, "p1", "e1") is None
    assert task_name(practice, record()) == "Careline routine: front desk (human requested)"


def test_in_hours_the_patient_hears_someone_will_contact_them_today(practice: PracticeConfig) -> None:
    notice = delay_notice(practice, record(), local(2026, 3, 3, 10, 16))  # a Tuesday morning
    assert notice is not None
    assert notice.key == "escalation_delayed_in_hours"
    assert "as soon as possible today" in notice.text
    assert "within" not in notice.text  # the promised minutes no longer hold
    assert "front desk" in notice.text


def test_a_queue_about_to_close_is_not_promised_for_today(practice: PracticeConfig) -> None:
    # Friday 3:45pm: the front desk closes at 4pm, too soon to promise "today"
    notice = delay_notice(practice, record(), local(2026, 3, 6, 15, 45))
    assert notice is not None
    assert notice.key == "escalation_delayed_after_hours"
    assert "Monday at 8am" in notice.text


def test_after_hours_the_patient_hears_the_next_opening_and_the_on_call_line(
    practice: PracticeConfig,
) -> None:
    notice = delay_notice(practice, record(), local(2026, 3, 7, 11))  # Saturday
    assert notice is not None
    assert notice.key == "escalation_delayed_after_hours"
    assert "Monday at 8am" in notice.text
    assert "(503) 555-0100" in notice.text  # no on-call line configured: the practice's number
    assert "911" in notice.text


def test_the_next_opening_skips_a_holiday(practice: PracticeConfig) -> None:
    # Thanksgiving 2026 is Thursday Nov 26, the Friday after is a closure: next opening is Monday
    notice = delay_notice(practice, record(), local(2026, 11, 25, 18))
    assert notice is not None
    assert "Monday at 8am" in notice.text


def test_a_configured_on_call_line_is_the_one_given(practice: PracticeConfig) -> None:
    policy = practice.escalation.model_copy(update={"on_call_line": "+15035550111"})
    config = practice.model_copy(update={"escalation": policy})
    notice = delay_notice(config, record(), local(2026, 3, 7, 11))
    assert notice is not None
    assert "(503) 555-0111" in notice.text


@pytest.mark.parametrize("urgency", [Urgency.EMERGENCY, Urgency.CRISIS])
def test_an_emergency_or_crisis_goes_back_to_911_and_988(practice: PracticeConfig, urgency: Urgency) -> None:
    notice = delay_notice(practice, record(urgency=urgency, queue=Queue.CRISIS), local(2026, 3, 7, 3))
    assert notice is not None
    assert notice.key == "escalation_delayed_crisis"
    assert "988" in notice.text
    assert "911" in notice.text


def test_a_call_escalation_is_texted_nothing(practice: PracticeConfig) -> None:
    assert delay_notice(practice, record(channel=Channel.VOICE), local(2026, 3, 3, 10, 16)) is None


def test_every_delay_text_fits_two_segments(practice: PracticeConfig) -> None:
    from careline.messages import sms_segments

    moments = [local(2026, 3, 3, 10, 16), local(2026, 3, 7, 11), datetime(2026, 3, 7, 11, tzinfo=UTC)]
    for at in moments:
        for urgency in Urgency:
            notice = delay_notice(practice, record(urgency=urgency), at + timedelta(minutes=1))
            assert notice is not None
            assert sms_segments(notice.text) <= 2, notice.key


def test_the_escalation_section_names_a_missing_urgency() -> None:
    import yaml
    from careline.config import parse_practice_config

    data = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["escalation"] = {"sla_minutes": {"emergency": 2, "crisis": 5, "urgent": 15}}
    with pytest.raises(ConfigError, match=r"escalation\.sla_minutes: missing urgency\(ies\): routine"):
        parse_practice_config(data)
    data["escalation"] = {"sla_minutes": {"emergency": 0, "crisis": 5, "urgent": 15, "routine": 60}}
    with pytest.raises(ConfigError, match=r"escalation\.sla_minutes\.emergency"):
        parse_practice_config(data)


def test_pages_go_only_where_the_deployment_says() -> None:
    import yaml
    from careline.config import parse_practice_config

    data = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["deployment"]["escalation"] = {"on_call_phone": "555-0100"}
    with pytest.raises(ConfigError, match=r"deployment\.escalation\.on_call_phone"):
        parse_practice_config(data)
    del data["escalation"]
    data["deployment"]["escalation"] = {"agent_panel_url": "https://panel.example/prod/"}
    config = parse_practice_config(data)
    assert config.escalation.sla_minutes[Urgency.ROUTINE] == 60  # the defaults
    assert config.deployment.escalation.agent_panel_url == "https://panel.example/prod/"
