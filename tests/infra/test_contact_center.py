"""Amazon Connect in the synthesized stack: instance, hours, queues, routing, number, flow, functions,
and the permissions between Connect, Lex and Lambda, each scoped as tight as the services allow."""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

import pytest
from careline.config import (
    PHONE_LINE_REGIONS,
    REGIONS_WITHOUT_NUMBER_CLAIM,
    PracticeConfig,
    load_practice_config,
)
from careline.conversation.model import Channel, Queue
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from infra.contact_center import (
    AGENT_PROFILES,
    CONNECT_DAYS,
    NUMBER_FLOW_CONCURRENCY,
    VOICE_CONTACT_CONCURRENCY,
    exceptional_days,
    spoken,
)
from infra.contact_flow import (
    CHECK_TRANSFER,
    START_LOGGING,
    TALK_WITH_BOT,
    TROUBLE,
    TROUBLE_CLOSED,
    TROUBLE_IN_HOURS,
)
from infra.layers import REPO_ROOT
from infra.voice import VOICE_TURN_CONCURRENCY
from tests.infra.flow_graph import actions_by_id, structural_problems
from tests.infra.phone_lines import BROUGHT_INSTANCE_ARN, BROUGHT_INSTANCE_ID, BROUGHT_PHONE_NUMBER_ARN
from tests.infra.synthesis import ACCOUNT, EHR_SECRET_ARN, EHR_SECRET_KEY_ARN, Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

CFN_LINT_IGNORED = ["W3005"]
ENGINE_QUEUES = ("front_desk", "billing", "nurse", "crisis")


def _ids(synth: Synthesized, resource_type: str, prefix: str = "") -> list[str]:
    return sorted(name for name in synth.resources(resource_type) if name.startswith(prefix))


def _one(synth: Synthesized, resource_type: str, prefix: str = "") -> tuple[str, dict[str, Any]]:
    (logical_id,) = _ids(synth, resource_type, prefix)
    resource: dict[str, Any] = synth.template_json["Resources"][logical_id]
    return logical_id, resource


def _config(synth: Synthesized) -> PracticeConfig:
    return load_practice_config(synth.config_path)


def _instance_arn(synth: Synthesized) -> dict[str, Any]:
    instance_id, _ = _one(synth, "AWS::Connect::Instance")
    return arn_of(instance_id)


def _queues(synth: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """The Connect queues by the engine queue they serve."""
    out = {}
    for logical_id, queue in synth.resources("AWS::Connect::Queue").items():
        (name,) = [q for q in ENGINE_QUEUES if logical_id.startswith(f"ContactCenter{_pascal(q)}Queue")]
        out[name] = (logical_id, queue)
    return out


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _flow(synth: Synthesized) -> dict[str, Any]:
    """The contact flow's Content, parsed, with each CloudFormation reference as `<<LogicalId.Attr>>`."""
    _, flow = _one(synth, "AWS::Connect::ContactFlow", "ContactCenter")
    return _json_with_placeholders(flow["Properties"]["Content"])


def _json_with_placeholders(value: str | dict[str, Any]) -> dict[str, Any]:
    """A JSON string property, literal or joined from references, parsed."""
    if isinstance(value, str):
        literal: dict[str, Any] = json.loads(value)
        return literal
    delimiter, parts = value["Fn::Join"]
    assert delimiter == ""
    joined: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else _placeholder(p) for p in parts))
    return joined


def _placeholder(intrinsic: dict[str, Any]) -> str:
    if "Fn::GetAtt" in intrinsic:
        logical_id, attribute = intrinsic["Fn::GetAtt"]
        return f"<<{logical_id}.{attribute}>>"
    (logical_id,) = intrinsic.values()
    return f"<<{logical_id}>>"


def _statements(synth: Synthesized, policy_prefix: str) -> dict[tuple[str, ...], Any]:
    _, policy = _one(synth, "AWS::IAM::ManagedPolicy", policy_prefix)
    return {
        tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }


# --- the instance --------------------------------------------------------------------------------


def test_the_instance_takes_inbound_calls_only_with_connect_managed_users_and_no_recording(
    synth_phone_line: Synthesized,
) -> None:
    _, instance = _one(synth_phone_line, "AWS::Connect::Instance")
    assert instance["Properties"]["IdentityManagementType"] == "CONNECT_MANAGED"
    assert instance["Properties"]["InstanceAlias"] == "carelinetest-111122223333-us-west-2"
    assert instance["Properties"]["Attributes"] == {
        "InboundCalls": True,
        "OutboundCalls": False,
        "ContactLens": False,
        "ContactflowLogs": False,
    }
    assert instance["DeletionPolicy"] == "Retain"
    # No recording or transcripts: nothing for Connect to store.
    synth_phone_line.template.resource_count_is("AWS::Connect::InstanceStorageConfig", 0)


def test_a_brought_instance_is_used_as_is(synth_brought_number: Synthesized) -> None:
    synth = synth_brought_number
    synth.template.resource_count_is("AWS::Connect::Instance", 0)
    for resource_type in (
        "AWS::Connect::Queue",
        "AWS::Connect::HoursOfOperation",
        "AWS::Connect::ContactFlow",
    ):
        for resource in synth.resources(resource_type).values():
            assert resource["Properties"]["InstanceArn"] == BROUGHT_INSTANCE_ARN
    outputs = synth.template_json["Outputs"]
    assert outputs["ConnectInstanceArn"]["Value"] == BROUGHT_INSTANCE_ARN
    assert outputs["ConnectInstanceId"]["Value"] == BROUGHT_INSTANCE_ID


def test_an_sms_only_practice_has_no_phone_line(synth: Synthesized) -> None:
    types = {resource["Type"] for resource in synth.template_json["Resources"].values()}
    assert not [t for t in types if t.startswith("AWS::Connect::") or t.startswith("Custom::")]
    assert _ids(synth, "AWS::Lambda::Function", "VoiceTurn") == []
    _, alias = _one(synth, "AWS::Lex::BotAlias")
    assert (
        "CodeHookSpecification"
        not in alias["Properties"]["BotAliasLocaleSettings"][0]["BotAliasLocaleSetting"]
    )


# --- hours ---------------------------------------------------------------------------------------


def test_business_hours_are_the_practice_hours_per_weekday_in_its_timezone(
    synth_phone_line: Synthesized,
) -> None:
    config = _config(synth_phone_line)
    _, hours = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterBusinessHours")
    props = hours["Properties"]
    assert props["TimeZone"] == config.practice.timezone == "America/Los_Angeles"
    expected = []
    for weekday, day in enumerate(CONNECT_DAYS):
        interval = config.business_hours.for_weekday(weekday)
        if interval is not None:
            expected.append(
                {
                    "Day": day,
                    "StartTime": {"Hours": interval.opens.hour, "Minutes": interval.opens.minute},
                    "EndTime": {"Hours": interval.closes.hour, "Minutes": interval.closes.minute},
                }
            )
    assert props["Config"] == expected
    # the sample: a late Thursday clinic, a short Friday, closed at the weekend
    assert {
        "Day": "THURSDAY",
        "StartTime": {"Hours": 8, "Minutes": 0},
        "EndTime": {"Hours": 19, "Minutes": 0},
    } in expected
    assert not [entry for entry in props["Config"] if entry["Day"] in ("SATURDAY", "SUNDAY")]


def test_holidays_and_closures_are_overrides_as_the_engine_sees_them(synth_phone_line: Synthesized) -> None:
    config = _config(synth_phone_line)
    _, hours = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterBusinessHours")
    overrides = hours["Properties"]["HoursOfOperationOverrides"]
    first_year = int(overrides[0]["EffectiveFrom"][:4])
    expected_days = exceptional_days(config, config.business_hours, range(first_year, first_year + 2))
    assert [o["EffectiveFrom"] for o in overrides] == [d.day.isoformat() for d in expected_days]
    for override, day in zip(overrides, expected_days, strict=True):
        assert override["EffectiveTill"] == override["EffectiveFrom"]
        assert override["OverrideDescription"] == day.reason
        if day.interval is None:
            assert override["OverrideConfig"] == []
        else:
            assert override["OverrideConfig"] == [
                {
                    "Day": CONNECT_DAYS[day.day.weekday()],
                    "StartTime": {"Hours": day.interval.opens.hour, "Minutes": day.interval.opens.minute},
                    "EndTime": {"Hours": day.interval.closes.hour, "Minutes": day.interval.closes.minute},
                }
            ]
    assert len(overrides) <= 50


def test_the_calendar_overrides_of_a_year_are_the_closed_and_short_days() -> None:
    config = load_practice_config(REPO_ROOT / "config" / "practice.yaml")
    days = {d.day: d for d in exceptional_days(config, config.business_hours, [2026])}
    assert days[date(2026, 11, 26)].interval is None  # Thanksgiving
    assert days[date(2026, 11, 27)].reason == "Day after Thanksgiving"
    assert days[date(2026, 7, 3)].interval is None  # Independence Day, observed on the Friday
    assert date(2026, 7, 4) not in days  # a Saturday: closed anyway
    christmas_eve = days[date(2026, 12, 24)]
    assert christmas_eve.interval is not None
    assert (christmas_eve.interval.opens, christmas_eve.interval.closes) == (time(8), time(12))
    assert all(d.day.year == 2026 for d in days.values())


def test_always_open_is_midnight_to_midnight_every_day(synth_phone_line: Synthesized) -> None:
    _, hours = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterAlwaysOpen")
    midnight = {"Hours": 0, "Minutes": 0}
    assert hours["Properties"]["Config"] == [
        {"Day": day, "StartTime": midnight, "EndTime": midnight} for day in CONNECT_DAYS
    ]
    assert "HoursOfOperationOverrides" not in hours["Properties"]


# --- queues and routing --------------------------------------------------------------------------


def test_each_engine_queue_is_a_connect_queue_on_its_staffing_hours(synth_phone_line: Synthesized) -> None:
    config = _config(synth_phone_line)
    queues = _queues(synth_phone_line)
    assert sorted(queues) == sorted(ENGINE_QUEUES)
    business, _ = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterBusinessHours")
    always, _ = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterAlwaysOpen")
    for name, (_, queue) in queues.items():
        staffed = config.queue(Queue(name)).staffed
        hours = always if staffed == "always" else business
        assert queue["Properties"]["HoursOfOperationArn"] == {"Fn::GetAtt": [hours, "HoursOfOperationArn"]}
        assert queue["Properties"]["InstanceArn"] == _instance_arn(synth_phone_line)
    assert queues["crisis"][1]["Properties"]["HoursOfOperationArn"]["Fn::GetAtt"][0] == always
    names = [queue["Properties"]["Name"] for _, queue in queues.values()]
    assert len(set(names)) == 4
    assert all(name.startswith("Careline - ") for name in names)


def test_routing_profiles_put_crisis_first_one_call_at_a_time_and_take_text_tasks(
    synth_phone_line: Synthesized,
) -> None:
    queues = {name: arn_of_queue for name, (arn_of_queue, _) in _queues(synth_phone_line).items()}
    profiles = {
        resource["Properties"]["Name"]: resource["Properties"]
        for resource in synth_phone_line.resources("AWS::Connect::RoutingProfile").values()
    }
    assert sorted(profiles) == sorted(f"Careline - {p.name}" for p in AGENT_PROFILES)
    assert {"Careline - Front desk", "Careline - Nurse"} <= set(profiles)
    for profile in AGENT_PROFILES:
        props = profiles[f"Careline - {profile.name}"]
        assert props["MediaConcurrencies"] == [
            {"Channel": "VOICE", "Concurrency": 1},
            {"Channel": "TASK", "Concurrency": 3},
        ]
        assert props["DefaultOutboundQueueArn"] == {
            "Fn::GetAtt": [queues[profile.home_queue.value], "QueueArn"]
        }
        for channel in ("VOICE", "TASK"):
            configs = sorted(
                (c for c in props["QueueConfigs"] if c["QueueReference"]["Channel"] == channel),
                key=lambda c: c["Priority"],
            )
            assert [c["QueueReference"]["QueueArn"]["Fn::GetAtt"][0] for c in configs] == [
                queues[q.value] for q in profile.queues
            ]
            assert configs[0]["QueueReference"]["QueueArn"]["Fn::GetAtt"][0] == queues["crisis"]
            assert all(c["Delay"] == 0 for c in configs)
    front_desk = profiles["Careline - Front desk"]["QueueConfigs"]
    nurse = profiles["Careline - Nurse"]["QueueConfigs"]
    assert queues["front_desk"] in {c["QueueReference"]["QueueArn"]["Fn::GetAtt"][0] for c in front_desk}
    assert queues["nurse"] in {c["QueueReference"]["QueueArn"]["Fn::GetAtt"][0] for c in nurse}


# --- the flow ------------------------------------------------------------------------------------


def test_the_inbound_flow_is_a_valid_active_contact_flow(synth_phone_line: Synthesized) -> None:
    _, flow = _one(synth_phone_line, "AWS::Connect::ContactFlow", "ContactCenter")
    assert flow["Properties"]["Type"] == "CONTACT_FLOW"
    assert flow["Properties"]["State"] == "ACTIVE"
    assert flow["Properties"]["InstanceArn"] == _instance_arn(synth_phone_line)
    content = _flow(synth_phone_line)
    assert structural_problems(content) == []
    # Connect refuses a flow naming a bot or function the instance is not associated with.
    assert sorted(flow["DependsOn"]) == _ids(synth_phone_line, "AWS::Connect::IntegrationAssociation")


def test_the_flow_greets_from_voice_contact_and_hands_the_call_to_the_bot_alias(
    synth_phone_line: Synthesized,
) -> None:
    actions = actions_by_id(_flow(synth_phone_line))
    function_id, _ = _one(synth_phone_line, "AWS::Lambda::Function", "ContactCenterVoiceContact")
    alias_id, _ = _one(synth_phone_line, "AWS::Lex::BotAlias")
    assert actions[_flow(synth_phone_line)["StartAction"]]["Parameters"]["LambdaFunctionARN"] == (
        f"<<{function_id}.Arn>>"
    )
    bot = actions[TALK_WITH_BOT]["Parameters"]
    assert bot["LexV2Bot"] == {"AliasArn": f"<<{alias_id}.Arn>>"}
    assert bot["LexSessionAttributes"] == {
        "careline_contact_id": "$.ContactId",
        "careline_caller_number": "$.CustomerEndpoint.Address",
        "careline_dialed_number": "$.SystemEndpoint.Address",
    }


def test_each_queue_value_transfers_to_that_connect_queue(synth_phone_line: Synthesized) -> None:
    actions = actions_by_id(_flow(synth_phone_line))
    queues = _queues(synth_phone_line)
    conditions = actions[CHECK_TRANSFER]["Transitions"]["Conditions"]
    assert sorted(c["Condition"]["Operands"][0] for c in conditions) == sorted(ENGINE_QUEUES)
    for condition in conditions:
        (value,) = condition["Condition"]["Operands"]
        steps = [actions[condition["NextAction"]]]
        while steps[-1]["Type"] != "TransferContactToQueue":
            steps.append(actions[steps[-1]["Transitions"]["NextAction"]])
        (set_queue,) = [step for step in steps if step["Type"] == "UpdateContactTargetQueue"]
        assert set_queue["Parameters"]["QueueId"] == f"<<{queues[value][0]}.QueueArn>>"


def test_the_flow_speaks_the_practices_own_words_from_its_catalog(synth_phone_line: Synthesized) -> None:
    config = _config(synth_phone_line)
    actions = actions_by_id(_flow(synth_phone_line))
    for action_id, key in ((TROUBLE_IN_HOURS, "call_trouble"), (TROUBLE_CLOSED, "call_trouble_after_hours")):
        text = actions[action_id]["Parameters"]["Text"]
        assert text == spoken(config, key) == config.catalog.render(key, Channel.VOICE)
    assert "9 1 1" in spoken(config, "call_trouble_after_hours")


def test_a_message_that_needs_per_call_values_cannot_be_spoken_by_the_flow(
    synth_phone_line: Synthesized,
) -> None:
    with pytest.raises(ValueError, match="per-call values"):
        spoken(_config(synth_phone_line), "call_greeting_after_hours")


def test_trouble_checks_the_front_desk_hours(synth_phone_line: Synthesized) -> None:
    actions = actions_by_id(_flow(synth_phone_line))
    business, _ = _one(synth_phone_line, "AWS::Connect::HoursOfOperation", "ContactCenterBusinessHours")
    assert actions[TROUBLE]["Parameters"] == {"HoursOfOperationId": f"<<{business}.HoursOfOperationArn>>"}


def test_flow_logs_only_where_the_practice_turned_them_on(
    synth_phone_line: Synthesized, synth_brought_number: Synthesized
) -> None:
    assert START_LOGGING not in actions_by_id(_flow(synth_phone_line))
    assert _flow(synth_brought_number)["StartAction"] == START_LOGGING


# --- Connect <-> Lex <-> Lambda ------------------------------------------------------------------


def test_the_bot_and_the_greeting_function_are_associated_with_the_instance(
    synth_phone_line: Synthesized,
) -> None:
    synth = synth_phone_line
    alias_id, _ = _one(synth, "AWS::Lex::BotAlias")
    function_id, _ = _one(synth, "AWS::Lambda::Function", "ContactCenterVoiceContact")
    associations = {
        a["Properties"]["IntegrationType"]: {k: v for k, v in a["Properties"].items() if k != "Tags"}
        for a in synth.resources("AWS::Connect::IntegrationAssociation").values()
    }
    assert associations == {
        "LEX_BOT": {
            "InstanceId": _instance_arn(synth),
            "IntegrationType": "LEX_BOT",
            "IntegrationArn": arn_of(alias_id),
        },
        "LAMBDA_FUNCTION": {
            "InstanceId": _instance_arn(synth),
            "IntegrationType": "LAMBDA_FUNCTION",
            "IntegrationArn": arn_of(function_id),
        },
    }


def test_only_the_instance_may_talk_with_the_bot_alias(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    alias_id, _ = _one(synth, "AWS::Lex::BotAlias")
    policy_id, policy = _one(synth, "AWS::Lex::ResourcePolicy")
    assert policy["Properties"]["ResourceArn"] == arn_of(alias_id)
    assert policy["Properties"]["Policy"]["Statement"] == [
        {
            "Sid": "ConnectInstanceTalksWithTheBot",
            "Effect": "Allow",
            "Principal": {"Service": "connect.amazonaws.com"},
            "Action": ["lex:RecognizeText", "lex:StartConversation"],
            "Resource": arn_of(alias_id),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnEquals": {"aws:SourceArn": _instance_arn(synth)},
            },
        }
    ]
    (bot_association,) = [
        a
        for a in synth.resources("AWS::Connect::IntegrationAssociation").values()
        if a["Properties"]["IntegrationType"] == "LEX_BOT"
    ]
    assert bot_association["DependsOn"] == [policy_id]


def test_the_alias_code_hook_is_voice_turn_and_only_that_alias_may_invoke_it(
    synth_phone_line: Synthesized,
) -> None:
    synth = synth_phone_line
    turn_id, _ = _one(synth, "AWS::Lambda::Function", "VoiceTurn")
    alias_id, alias = _one(synth, "AWS::Lex::BotAlias")
    (locale,) = alias["Properties"]["BotAliasLocaleSettings"]
    assert locale["BotAliasLocaleSetting"]["CodeHookSpecification"] == {
        "LambdaCodeHook": {"CodeHookInterfaceVersion": "1.0", "LambdaArn": arn_of(turn_id)}
    }
    assert _invokers(synth, turn_id) == [("lexv2.amazonaws.com", ACCOUNT, arn_of(alias_id))]


def test_only_the_instance_may_invoke_the_greeting_function(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    function_id, _ = _one(synth, "AWS::Lambda::Function", "ContactCenterVoiceContact")
    assert _invokers(synth, function_id) == [("connect.amazonaws.com", ACCOUNT, _instance_arn(synth))]


def _invokers(synth: Synthesized, function_id: str) -> list[tuple[str, str, Any]]:
    """Who may invoke the function: (principal, source account, source ARN) per permission."""
    permissions = [
        p["Properties"]
        for p in synth.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == arn_of(function_id)
    ]
    assert all(
        set(p) == {"Action", "FunctionName", "Principal", "SourceAccount", "SourceArn"} for p in permissions
    )
    assert all(p["Action"] == "lambda:InvokeFunction" for p in permissions)
    return [(p["Principal"], p["SourceAccount"], p["SourceArn"]) for p in permissions]


# --- the functions -------------------------------------------------------------------------------


def test_voice_turn_has_the_turn_environment_and_answers_within_connects_limit(
    synth_phone_line: Synthesized,
) -> None:
    synth = synth_phone_line
    _, turn = _one(synth, "AWS::Lambda::Function", "VoiceTurn")
    _, sms = _one(synth, "AWS::Lambda::Function", "ConversationSmsInbound")
    assert turn["Properties"]["Environment"] == sms["Properties"]["Environment"]
    assert turn["Properties"]["Timeout"] == 7
    assert turn["Properties"]["MemorySize"] == sms["Properties"]["MemorySize"]
    assert turn["Properties"]["ReservedConcurrentExecutions"] == VOICE_TURN_CONCURRENCY
    assert "DeadLetterConfig" not in turn["Properties"]


def test_voice_turn_is_granted_what_the_sms_turn_is_on_its_own_log_group(
    synth_phone_line: Synthesized,
) -> None:
    synth = synth_phone_line
    turn = _statements(synth, "VoiceTurn")
    sms = _statements(synth, "ConversationSmsInbound")
    logs = ("logs:CreateLogStream", "logs:PutLogEvents")
    (turn_logs,) = _ids(synth, "AWS::Logs::LogGroup", "VoiceTurn")
    assert turn.pop(logs) == arn_of(turn_logs)
    sms.pop(logs)
    assert turn == sms
    assert ("sms-voice:SendTextMessage",) in turn


def test_a_brought_ehr_secret_reaches_voice_turn_too(synth_brought_number: Synthesized) -> None:
    _, turn = _one(synth_brought_number, "AWS::Lambda::Function", "VoiceTurn")
    assert turn["Properties"]["Environment"]["Variables"]["CARELINE_EHR_SECRET_ARN"] == EHR_SECRET_ARN
    statements = _statements(synth_brought_number, "VoiceTurn")
    assert EHR_SECRET_ARN in (statements[("secretsmanager:GetSecretValue",)] or [])
    assert statements[("kms:Decrypt",)] == EHR_SECRET_KEY_ARN


def test_voice_contact_reads_only_the_config_and_answers_in_three_seconds(
    synth_phone_line: Synthesized,
) -> None:
    synth = synth_phone_line
    function_id, function = _one(synth, "AWS::Lambda::Function", "ContactCenterVoiceContact")
    props = function["Properties"]
    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "careline",
        "POWERTOOLS_METRICS_NAMESPACE": "Careline",
        "LOG_LEVEL": "INFO",
        "CARELINE_CONFIG_PATH": "/opt/python/careline_config/practice.yaml",
    }
    assert props["Timeout"] == 3
    assert props["ReservedConcurrentExecutions"] == VOICE_CONTACT_CONCURRENCY
    assert props["Handler"] == "handler.handler"
    (log_group,) = _ids(synth, "AWS::Logs::LogGroup", "ContactCenterVoiceContact")
    assert _statements(synth, "ContactCenterVoiceContact") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(log_group),
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"): "*",
    }
    assert function_id.startswith("ContactCenterVoiceContact")


def test_both_voice_functions_alarm_on_errors_and_throttles(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    watched = {
        (alarm["Properties"]["MetricName"], alarm["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for alarm in synth.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/Lambda"
    }
    for prefix in ("VoiceTurn", "ContactCenterVoiceContact"):
        (function_id,) = _ids(synth, "AWS::Lambda::Function", prefix)
        assert {("Errors", function_id), ("Throttles", function_id)} <= watched


# --- the number ----------------------------------------------------------------------------------


def test_a_new_number_is_claimed_to_the_instance_and_kept(synth_phone_line: Synthesized) -> None:
    number_id, number = _one(synth_phone_line, "AWS::Connect::PhoneNumber")
    props = number["Properties"]
    assert props["TargetArn"] == _instance_arn(synth_phone_line)
    assert (props["CountryCode"], props["Type"]) == ("US", "TOLL_FREE")
    assert number["DeletionPolicy"] == "Retain"
    assert synth_phone_line.template_json["Outputs"]["PhoneNumber"]["Value"] == {
        "Fn::GetAtt": [number_id, "Address"]
    }


def _association(synth: Synthesized) -> dict[str, Any]:
    _, resource = _one(synth, "Custom::PhoneNumberContactFlow")
    return {
        phase: _json_with_placeholders(resource["Properties"][phase])
        for phase in ("Create", "Update", "Delete")
    }


def test_the_number_is_pointed_at_the_flow_and_let_go_of_it_on_delete(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    calls = _association(synth)
    number_id, _ = _one(synth, "AWS::Connect::PhoneNumber")
    assert calls["Create"] == calls["Update"]
    assert calls["Create"]["service"] == "Connect"
    assert calls["Create"]["action"] == "AssociatePhoneNumberContactFlow"
    parameters = calls["Create"]["parameters"]
    assert parameters["PhoneNumberId"] == f"<<{number_id}.PhoneNumberArn>>"
    assert set(parameters) == {"PhoneNumberId", "InstanceId", "ContactFlowId"}
    assert calls["Delete"]["action"] == "DisassociatePhoneNumberContactFlow"
    assert calls["Delete"]["parameters"]["PhoneNumberId"] == parameters["PhoneNumberId"]


def test_a_brought_number_is_pointed_at_the_flow_and_nothing_is_claimed(
    synth_brought_number: Synthesized,
) -> None:
    synth = synth_brought_number
    synth.template.resource_count_is("AWS::Connect::PhoneNumber", 0)
    parameters = _association(synth)["Create"]["parameters"]
    assert parameters["PhoneNumberId"] == BROUGHT_PHONE_NUMBER_ARN
    assert parameters["InstanceId"] == BROUGHT_INSTANCE_ID
    assert synth.template_json["Outputs"]["PhoneNumber"]["Value"] == BROUGHT_PHONE_NUMBER_ARN


def test_the_association_role_may_only_point_this_number_at_this_flow(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    number_id, _ = _one(synth, "AWS::Connect::PhoneNumber")
    flow_id, _ = _one(synth, "AWS::Connect::ContactFlow", "ContactCenter")
    (log_group,) = _ids(synth, "AWS::Logs::LogGroup", "ContactCenterNumberFlow")
    target = [{"Fn::GetAtt": [number_id, "PhoneNumberArn"]}, {"Fn::GetAtt": [flow_id, "ContactFlowArn"]}]
    assert _statements(synth, "ContactCenterNumberFlowPolicy") == {
        ("connect:AssociatePhoneNumberContactFlow",): target,
        ("connect:DisassociatePhoneNumberContactFlow",): target,
        ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(log_group),
    }
    role_id, _ = _one(synth, "AWS::IAM::Role", "ContactCenterNumberFlowRole")
    (provider,) = [
        f
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"]["Role"] == arn_of(role_id)
    ]
    assert provider["Properties"]["ReservedConcurrentExecutions"] == NUMBER_FLOW_CONCURRENCY
    assert provider["Properties"]["LoggingConfig"] == {"LogGroup": ref(log_group)}
    # Only the custom resource's own role: no inline or AWS-managed policy anywhere.
    synth.template.resource_count_is("AWS::IAM::Policy", 0)
    for role in synth.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]
        assert "Policies" not in role["Properties"]


def test_outputs_name_the_instance_number_and_flow(synth_phone_line: Synthesized) -> None:
    outputs = synth_phone_line.template_json["Outputs"]
    assert {"ConnectInstanceId", "ConnectInstanceArn", "PhoneNumber", "ContactFlowId"} <= set(outputs)
    flow_id, _ = _one(synth_phone_line, "AWS::Connect::ContactFlow", "ContactCenter")
    assert outputs["ContactFlowId"]["Value"] == {
        "Fn::Select": [3, {"Fn::Split": ["/", {"Fn::GetAtt": [flow_id, "ContactFlowArn"]}]}]
    }


# --- regions -------------------------------------------------------------------------------------


def test_the_phone_line_template_lints_clean_in_every_region_it_is_offered(
    synth_phone_line: Synthesized, synth_brought_number: Synthesized
) -> None:
    claimable = sorted(PHONE_LINE_REGIONS - REGIONS_WITHOUT_NUMBER_CLAIM)
    for synthesized, regions in (
        (synth_phone_line, claimable),
        (synth_brought_number, sorted(REGIONS_WITHOUT_NUMBER_CLAIM)),
    ):
        template = synthesized.outdir / f"{synthesized.stack.artifact_id}.template.json"
        matches = lint_file(template, ManualArgs(regions=regions, ignore_checks=CFN_LINT_IGNORED))
        assert [f"{m.rule.id} {m.message}" for m in matches] == []
