"""The reminder side's infrastructure: the three schedules in the practice's time zone, the campaign
state machine from the ASL file with its bounded Map, the send queue feeding `reminder_send`, the
four functions' environment and exact grants, and the alarms that keep a failure from vanishing."""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Any

import pytest
import yaml
from careline.config import PracticeConfig, load_practice_config
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from infra.layers import REPO_ROOT
from infra.reminders import (
    ASL_FILE,
    ENQUEUE_STATE,
    PLAN_FUNCTION,
    SCORING_FUNCTION,
    SEND_QUEUE,
    SEND_VISIBILITY_TIMEOUT,
    campaign_definition,
    daily_at,
    every_minutes,
    send_concurrency,
)
from tests.infra.phone_lines import SMS_ONLY
from tests.infra.synthesis import (
    ACCOUNT,
    EHR_SECRET_ARN,
    EHR_SECRET_KEY_ARN,
    REGION,
    STACK_NAME,
    Synthesized,
    arn_of,
    nag_findings,
    ref,
    synthesize,
)

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

# CDK itself adds `DependsOn` on a function's role next to the `GetAtt` that already implies it.
CFN_LINT_IGNORED = ["W3005"]

EMAIL_FROM = "reminders@mail.riverbend.example"
# A practice that tunes every reminder knob away from the defaults and sends email reminders.
TUNED_REMINDERS: dict[str, Any] = {
    "scoring_time": "05:30",
    "campaign_every_minutes": 30,
    "max_concurrency": 8,
    "waitlist": {"every_minutes": 1},
}
TUNED_TIMEZONE = "America/New_York"

FUNCTIONS = {
    "risk_scoring": "RemindersRiskScoring",
    "reminder_plan": "RemindersReminderPlan",
    "reminder_send": "RemindersReminderSend",
    "waitlist_offers": "RemindersWaitlistOffers",
}
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
STORAGE = {"CARELINE_CONFIG_PATH", "CARELINE_TABLE_NAME", "CARELINE_KMS_KEY_ARN"}
TEXTING = {"CARELINE_MESSENGER", "CARELINE_ORIGINATION_IDENTITY", "CARELINE_SMS_CONFIGURATION_SET"}
# The runtime contract's environment per function, without the optional variables.
ENVIRONMENT = {
    "risk_scoring": STORAGE,
    "reminder_plan": STORAGE | {"CARELINE_HASH_SECRET_ARN"},
    "reminder_send": STORAGE | {"CARELINE_HASH_SECRET_ARN", "CARELINE_EVENT_BUS_NAME"} | TEXTING,
    "waitlist_offers": STORAGE | {"CARELINE_HASH_SECRET_ARN"} | TEXTING,
}
READS_THE_EHR = ("risk_scoring", "waitlist_offers")


@pytest.fixture(scope="module")
def synth_tuned(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The sample practice in another time zone, with every reminder knob moved and an SES sender."""
    root = tmp_path_factory.mktemp("synth-tuned-reminders")
    data = yaml.safe_load((REPO_ROOT / "config" / "practice.yaml").read_text(encoding="utf-8"))
    data["practice"]["timezone"] = TUNED_TIMEZONE
    data["reminders"] = {**data.get("reminders", {}), **TUNED_REMINDERS}
    data["deployment"] = {
        **data.get("deployment", {}),
        "account": ACCOUNT,
        "region": REGION,
        "stack_name": STACK_NAME,
        "voice": SMS_ONLY,
        "reminder_email_from": EMAIL_FROM,
    }
    config_path = root / "practice.yaml"
    config_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return synthesize(config_path, root / "cdk.out")


# --- helpers --------------------------------------------------------------------------------------


def _id(synth: Synthesized, resource_type: str, prefix: str = "") -> str:
    (logical_id,) = [name for name in synth.resources(resource_type) if name.startswith(prefix)]
    return logical_id


def _props(synth: Synthesized, resource_type: str, prefix: str) -> dict[str, Any]:
    props: dict[str, Any] = synth.template_json["Resources"][_id(synth, resource_type, prefix)]["Properties"]
    return props


def _config(synth: Synthesized) -> PracticeConfig:
    return load_practice_config(synth.config_path)


def _grants(synth: Synthesized, policy_prefix: str) -> list[tuple[tuple[str, ...], Any]]:
    """Each statement of the policy as (actions, resource), in order."""
    document = _props(synth, "AWS::IAM::ManagedPolicy", policy_prefix)["PolicyDocument"]
    return [
        (tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],), s["Resource"])
        for s in document["Statement"]
    ]


def _statements(synth: Synthesized, policy_prefix: str) -> dict[tuple[str, ...], Any]:
    """The policy's statements by their actions (each action list appears once where used)."""
    return dict(_grants(synth, policy_prefix))


def _actions(synth: Synthesized, policy_prefix: str) -> set[str]:
    return {action for actions in _statements(synth, policy_prefix) for action in actions}


def _function_arn(synth: Synthesized, name: str) -> dict[str, list[str]]:
    return arn_of(_id(synth, "AWS::Lambda::Function", FUNCTIONS[name]))


def _schedules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        props["Name"]: props
        for props in (r["Properties"] for r in synth.resources("AWS::Scheduler::Schedule").values())
    }


def _definition(synth: Synthesized) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(
        _props(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine")["DefinitionString"]
    )
    return definition


def _key(synth: Synthesized) -> dict[str, list[str]]:
    return arn_of(_id(synth, "AWS::KMS::Key", "Encryption"))


def _queue(synth: Synthesized, prefix: str) -> str:
    return _id(synth, "AWS::SQS::Queue", f"Reminders{prefix}")


# --- schedules ------------------------------------------------------------------------------------


def test_three_schedules_run_in_the_practice_time_zone_to_the_minute(synth: Synthesized) -> None:
    schedules = _schedules(synth)
    assert sorted(schedules) == [
        f"{STACK_NAME}-reminder-campaign",
        f"{STACK_NAME}-risk-scoring",
        f"{STACK_NAME}-waitlist-offers",
    ]
    timezone = _config(synth).practice.timezone
    for schedule in schedules.values():
        assert schedule["ScheduleExpressionTimezone"] == timezone
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["State"] == "ENABLED"
        target = schedule["Target"]
        assert target["DeadLetterConfig"] == {"Arn": arn_of(_queue(synth, "JobFailures"))}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400


def test_scoring_runs_nightly_the_campaign_and_the_waitlist_every_few_minutes(synth: Synthesized) -> None:
    schedules = _schedules(synth)
    policy = _config(synth).reminders
    scoring = schedules[f"{STACK_NAME}-risk-scoring"]
    assert scoring["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert scoring["Target"]["Arn"] == _function_arn(synth, "risk_scoring")
    campaign = schedules[f"{STACK_NAME}-reminder-campaign"]
    assert campaign["ScheduleExpression"] == f"rate({policy.campaign_every_minutes} minutes)"
    assert campaign["Target"]["Arn"] == ref(_id(synth, "AWS::StepFunctions::StateMachine", "Reminders"))
    waitlist = schedules[f"{STACK_NAME}-waitlist-offers"]
    assert waitlist["ScheduleExpression"] == f"rate({policy.waitlist.every_minutes} minutes)"
    assert waitlist["Target"]["Arn"] == _function_arn(synth, "waitlist_offers")
    # each run says which job it is and when Scheduler meant it to run
    for job, schedule in (("risk_scoring", scoring), ("reminders", campaign), ("waitlist_offers", waitlist)):
        assert json.loads(schedule["Target"]["Input"]) == {
            "job": job,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
        }


def test_the_schedules_follow_the_practice_config(synth_tuned: Synthesized) -> None:
    schedules = _schedules(synth_tuned)
    assert {s["ScheduleExpressionTimezone"] for s in schedules.values()} == {TUNED_TIMEZONE}
    assert schedules[f"{STACK_NAME}-risk-scoring"]["ScheduleExpression"] == "cron(30 5 * * ? *)"
    assert schedules[f"{STACK_NAME}-reminder-campaign"]["ScheduleExpression"] == "rate(30 minutes)"
    assert schedules[f"{STACK_NAME}-waitlist-offers"]["ScheduleExpression"] == "rate(1 minute)"


def test_daily_and_every_few_minutes_expressions() -> None:
    assert daily_at(time(2, 0)) == "cron(0 2 * * ? *)"
    assert daily_at(time(23, 45)) == "cron(45 23 * * ? *)"
    assert every_minutes(1) == "rate(1 minute)"
    assert every_minutes(15) == "rate(15 minutes)"


def test_each_schedule_has_its_own_role_that_may_start_only_its_target(synth: Synthesized) -> None:
    roles = set()
    for prefix, action, target in (
        ("RemindersScoringSchedule", "lambda:InvokeFunction", _function_arn(synth, "risk_scoring")),
        (
            "RemindersCampaignSchedule",
            "states:StartExecution",
            ref(_id(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine")),
        ),
        ("RemindersWaitlistSchedule", "lambda:InvokeFunction", _function_arn(synth, "waitlist_offers")),
    ):
        role_id = _id(synth, "AWS::IAM::Role", f"{prefix}Role")
        (trust,) = _props(synth, "AWS::IAM::Role", f"{prefix}Role")["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
        schedule = _props(synth, "AWS::Scheduler::Schedule", prefix)
        assert schedule["Target"]["RoleArn"] == arn_of(role_id)
        assert _statements(synth, f"{prefix}Policy") == {
            (action,): target,
            ("sqs:SendMessage",): arn_of(_queue(synth, "JobFailures")),
            ("kms:Decrypt", "kms:GenerateDataKey"): _key(synth),
        }
        roles.add(role_id)
    assert len(roles) == 3


# --- the campaign state machine -------------------------------------------------------------------


def test_the_asl_file_keeps_only_string_placeholders_and_a_literal_concurrency() -> None:
    text = ASL_FILE.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+)\}", text)) == {PLAN_FUNCTION, SCORING_FUNCTION, SEND_QUEUE}
    assert isinstance(json.loads(text)["States"][ENQUEUE_STATE]["MaxConcurrency"], int)


def test_the_campaign_definition_is_the_asl_file_with_the_configured_concurrency() -> None:
    shipped = json.loads(ASL_FILE.read_text(encoding="utf-8"))
    rendered = json.loads(campaign_definition(9))
    assert rendered["States"][ENQUEUE_STATE]["MaxConcurrency"] == 9
    rendered["States"][ENQUEUE_STATE]["MaxConcurrency"] = shipped["States"][ENQUEUE_STATE]["MaxConcurrency"]
    assert rendered == shipped


def test_the_campaign_plans_then_enqueues_each_send_a_bounded_number_at_a_time(synth: Synthesized) -> None:
    props = _props(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine")
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == f"{STACK_NAME}-reminders"
    definition = _definition(synth)
    assert definition["StartAt"] == "Plan"
    assert definition["TimeoutSeconds"] > 0
    plan = definition["States"]["Plan"]
    assert plan["Resource"] == "arn:aws:states:::lambda:invoke"
    assert plan["Parameters"]["FunctionName"] == "${PlanFunctionArn}"
    assert plan["OutputPath"] == "$.Payload"
    (retry,) = plan["Retry"]
    assert set(retry["ErrorEquals"]) == {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    }
    assert states_after(definition, "Plan") == ENQUEUE_STATE

    enqueue = definition["States"][ENQUEUE_STATE]
    assert enqueue["Type"] == "Map"
    assert enqueue["ItemsPath"] == "$.sends"
    assert enqueue["MaxConcurrency"] == _config(synth).reminders.max_concurrency
    assert enqueue["ResultPath"] is None  # the execution's output stays the plan, not N results
    processor = enqueue["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "INLINE"}
    (send,) = processor["States"].values()
    assert send["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert send["Parameters"] == {
        "QueueUrl": "${SendQueueUrl}",
        "MessageBody.$": "$",
        "DelaySeconds.$": "$.delay_seconds",
    }
    assert {"SQS.SdkClientException", "SQS.AmazonSQSException"} <= set(send["Retry"][0]["ErrorEquals"])
    assert send["End"] is True
    assert definition["States"][enqueue["Next"]] == {"Type": "Succeed"}


def states_after(definition: dict[str, Any], state: str) -> str:
    """Where `state` leads when the scores are fresh (through the staleness check)."""
    following = definition["States"][definition["States"][state]["Next"]]
    return str(following["Default"] if following["Type"] == "Choice" else definition["States"][state]["Next"])


def test_the_map_concurrency_follows_the_config(synth_tuned: Synthesized) -> None:
    assert _definition(synth_tuned)["States"][ENQUEUE_STATE]["MaxConcurrency"] == 8


def test_the_placeholders_are_the_plan_and_scoring_functions_and_the_send_queue(synth: Synthesized) -> None:
    props = _props(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine")
    assert props["DefinitionSubstitutions"] == {
        PLAN_FUNCTION: _function_arn(synth, "reminder_plan"),
        SCORING_FUNCTION: _function_arn(synth, "risk_scoring"),
        SEND_QUEUE: ref(_queue(synth, "SendQueue")),
    }


def test_stale_scores_are_scored_first_then_planned_again(synth: Synthesized) -> None:
    states = _definition(synth)["States"]
    choice = states[states["Plan"]["Next"]]
    assert choice["Type"] == "Choice"
    (stale,) = choice["Choices"]
    assert stale == {"Variable": "$.scores_stale", "BooleanEquals": True, "Next": "Score"}
    assert choice["Default"] == ENQUEUE_STATE
    score = states["Score"]
    assert score["Parameters"]["FunctionName"] == "${ScoringFunctionArn}"
    assert score["ResultPath"] is None
    again = states[score["Next"]]
    assert again["Parameters"] == {"FunctionName": "${PlanFunctionArn}", "Payload": {"after_scoring": True}}
    assert again["Next"] == ENQUEUE_STATE


def test_it_logs_every_transition_without_data_to_a_cmk_encrypted_group_and_traces(
    synth: Synthesized,
) -> None:
    props = _props(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine")
    log_group_id = _id(synth, "AWS::Logs::LogGroup", "RemindersStateMachineLogs")
    assert props["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": arn_of(log_group_id)}}],
        "IncludeExecutionData": False,
        "Level": "ALL",
    }
    assert props["TracingConfiguration"] == {"Enabled": True}
    log_group = _props(synth, "AWS::Logs::LogGroup", "RemindersStateMachineLogs")
    assert log_group["LogGroupName"] == f"/aws/vendedlogs/states/{STACK_NAME}-reminders"
    assert log_group["KmsKeyId"] == _key(synth)


def test_its_role_invokes_only_the_plan_and_the_scoring_and_sends_only_to_the_send_queue(
    synth: Synthesized,
) -> None:
    (trust,) = _props(synth, "AWS::IAM::Role", "RemindersStateMachineRole")["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    statements = _statements(synth, "RemindersStateMachinePolicy")
    assert statements[("lambda:InvokeFunction",)] == [
        _function_arn(synth, "reminder_plan"),
        _function_arn(synth, "risk_scoring"),
    ]
    assert statements[("sqs:SendMessage",)] == arn_of(_queue(synth, "SendQueue"))
    assert statements[("kms:Decrypt", "kms:GenerateDataKey")] == _key(synth)
    wildcard = [actions for actions, resource in statements.items() if resource == "*"]
    assert all(a.startswith(("logs:", "xray:")) for actions in wildcard for a in actions)


def test_the_state_machine_arn_is_an_output(synth: Synthesized) -> None:
    output = synth.template_json["Outputs"]["RemindersStateMachineArn"]
    assert output["Value"] == ref(_id(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine"))


# --- the send queue -------------------------------------------------------------------------------


def test_the_send_queue_is_encrypted_tls_only_and_parks_a_send_after_five_receives(
    synth: Synthesized,
) -> None:
    queue = _props(synth, "AWS::SQS::Queue", "RemindersSendQueue")
    assert queue["KmsMasterKeyId"] == _key(synth)
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn_of(_queue(synth, "SendDeadLetters")),
        "maxReceiveCount": 5,
    }
    send_timeout = _props(synth, "AWS::Lambda::Function", FUNCTIONS["reminder_send"])["Timeout"]
    assert queue["VisibilityTimeout"] == SEND_VISIBILITY_TIMEOUT.to_seconds() >= 6 * send_timeout
    for prefix in ("SendQueue", "SendDeadLetters", "JobFailures"):
        queue_id = _queue(synth, prefix)
        props = synth.template_json["Resources"][queue_id]["Properties"]
        assert props["KmsMasterKeyId"] == _key(synth)
        (policy,) = [
            p
            for p in synth.resources("AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [ref(queue_id)]
        ]
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_sender_takes_ten_at_a_time_reports_partial_failures_and_is_capped(synth: Synthesized) -> None:
    mapping = _props(synth, "AWS::Lambda::EventSourceMapping", "RemindersSendQueueMapping")
    expected = max(2, _config(synth).reminders.max_concurrency)
    assert mapping["EventSourceArn"] == arn_of(_queue(synth, "SendQueue"))
    assert mapping["FunctionName"] == ref(_id(synth, "AWS::Lambda::Function", FUNCTIONS["reminder_send"]))
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": expected}
    # reserved concurrency no lower than the poller's, so the mapping is never throttled
    function = _props(synth, "AWS::Lambda::Function", FUNCTIONS["reminder_send"])
    assert function["ReservedConcurrentExecutions"] >= expected
    statements = _statements(synth, f"{FUNCTIONS['reminder_send']}Policy")
    assert statements[
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
    ] == arn_of(_queue(synth, "SendQueue"))


def test_the_sender_concurrency_follows_the_config_but_never_below_two(synth_tuned: Synthesized) -> None:
    mapping = _props(synth_tuned, "AWS::Lambda::EventSourceMapping", "RemindersSendQueueMapping")
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 8}
    assert send_concurrency(1) == 2
    assert send_concurrency(5) == 5


# --- the functions --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_runs_like_every_careline_function(name: str, synth: Synthesized) -> None:
    props = _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] >= 1
    assert props["Layers"] == [
        ref(_id(synth, "AWS::Lambda::LayerVersion", "LayersDependencies")),
        ref(_id(synth, "AWS::Lambda::LayerVersion", "LayersCode")),
    ]
    log_group = _props(synth, "AWS::Logs::LogGroup", f"{FUNCTIONS[name]}Logs")
    assert log_group["KmsKeyId"] == _key(synth)
    assert log_group["RetentionInDays"] == 365


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_environment_is_the_runtime_contract(name: str, synth: Synthesized) -> None:
    variables = _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])["Environment"]["Variables"]
    assert set(variables) == POWERTOOLS | ENVIRONMENT[name]
    assert variables["CARELINE_TABLE_NAME"] == ref(_id(synth, "AWS::DynamoDB::GlobalTable"))
    assert variables["CARELINE_KMS_KEY_ARN"] == _key(synth)
    if "CARELINE_HASH_SECRET_ARN" in variables:
        assert variables["CARELINE_HASH_SECRET_ARN"] == ref(_id(synth, "AWS::SecretsManager::Secret"))
    if "CARELINE_MESSENGER" in variables:
        assert variables["CARELINE_MESSENGER"] == "sms"
        assert variables["CARELINE_SMS_CONFIGURATION_SET"] == ref(
            _id(synth, "AWS::SMSVOICE::ConfigurationSet")
        )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_with_an_ehr_the_scoring_and_waitlist_functions_read_its_secret(
    name: str, synth_brought_number: Synthesized
) -> None:
    synth = synth_brought_number
    variables = _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])["Environment"]["Variables"]
    grants = _grants(synth, f"{FUNCTIONS[name]}Policy")
    if name in READS_THE_EHR:
        assert set(variables) == POWERTOOLS | ENVIRONMENT[name] | {"CARELINE_EHR_SECRET_ARN"}
        assert variables["CARELINE_EHR_SECRET_ARN"] == EHR_SECRET_ARN
        assert (("secretsmanager:GetSecretValue",), EHR_SECRET_ARN) in grants
        assert (("kms:Decrypt",), EHR_SECRET_KEY_ARN) in grants
    else:
        assert set(variables) == POWERTOOLS | ENVIRONMENT[name]
        assert EHR_SECRET_ARN not in json.dumps(grants)
        assert EHR_SECRET_KEY_ARN not in json.dumps(grants)


def test_each_function_gets_exactly_what_it_uses(synth: Synthesized) -> None:
    table = [
        arn_of(_id(synth, "AWS::DynamoDB::GlobalTable")),
        {"Fn::Join": ["", [arn_of(_id(synth, "AWS::DynamoDB::GlobalTable")), "/index/gsi1"]]},
    ]
    hash_secret = ref(_id(synth, "AWS::SecretsManager::Secret"))
    sms_send = [
        {"Fn::GetAtt": [_id(synth, "AWS::SMSVOICE::PhoneNumber"), "Arn"]},
        arn_of(_id(synth, "AWS::SMSVOICE::ConfigurationSet")),
    ]
    scoring = _statements(synth, "RemindersRiskScoringPolicy")
    plan = _statements(synth, "RemindersReminderPlanPolicy")
    send = _statements(synth, "RemindersReminderSendPolicy")
    waitlist = _statements(synth, "RemindersWaitlistOffersPolicy")

    # planning only reads
    assert plan[("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")] == table
    assert plan[("kms:Decrypt",)] == _key(synth)
    assert plan[("secretsmanager:GetSecretValue",)] == hash_secret
    assert not [
        a for a in _actions(synth, "RemindersReminderPlanPolicy") if a.startswith(("sms-voice:", "ses:"))
    ]

    for statements in (scoring, send, waitlist):
        writes = [r for a, r in statements.items() if "dynamodb:PutItem" in a]
        assert writes == [table]
        assert statements[("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")] == _key(synth)
    for statements in (send, waitlist):
        assert statements[("sms-voice:SendTextMessage",)] == sms_send
        assert statements[("secretsmanager:GetSecretValue",)] == hash_secret
    assert not [a for a in _actions(synth, "RemindersRiskScoringPolicy") if a.startswith("sms-voice:")]
    # a call task is an escalation: only the sender publishes `escalation_requested`
    assert send[("events:PutEvents",)] == arn_of(_id(synth, "AWS::Events::EventBus", "EventsBus"))
    for prefix in ("RemindersRiskScoring", "RemindersReminderPlan", "RemindersWaitlistOffers"):
        assert "events:PutEvents" not in _actions(synth, f"{prefix}Policy")
    # no SES sender configured: no email grant, no email variable
    for prefix in FUNCTIONS.values():
        assert not [a for a in _actions(synth, f"{prefix}Policy") if a.startswith("ses:")]
    send_variables = _props(synth, "AWS::Lambda::Function", FUNCTIONS["reminder_send"])["Environment"]
    assert "CARELINE_EMAIL_FROM" not in send_variables["Variables"]


def test_with_an_email_sender_only_the_sender_may_send_from_its_address_and_domain(
    synth_tuned: Synthesized,
) -> None:
    synth = synth_tuned
    for name in FUNCTIONS:
        variables = _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])["Environment"]["Variables"]
        # scoring picks each patient's channel by it; the sender sends from it
        if name in ("risk_scoring", "reminder_send"):
            assert set(variables) == POWERTOOLS | ENVIRONMENT[name] | {"CARELINE_EMAIL_FROM"}
            assert variables["CARELINE_EMAIL_FROM"] == EMAIL_FROM
        else:
            assert set(variables) == POWERTOOLS | ENVIRONMENT[name]
    identities = _statements(synth, "RemindersReminderSendPolicy")[("ses:SendEmail",)]
    assert [part["Fn::Join"][1][-1] for part in identities] == [
        f":ses:{REGION}:{ACCOUNT}:identity/mail.riverbend.example",
        f":ses:{REGION}:{ACCOUNT}:identity/{EMAIL_FROM}",
    ]
    for name in ("risk_scoring", "reminder_plan", "waitlist_offers"):
        assert not [a for a in _actions(synth, f"{FUNCTIONS[name]}Policy") if a.startswith("ses:")]


def test_the_scheduled_functions_park_what_fails_on_the_job_failure_queue(synth: Synthesized) -> None:
    job_failures = arn_of(_queue(synth, "JobFailures"))
    for name in ("risk_scoring", "waitlist_offers"):
        props = _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])
        assert props["DeadLetterConfig"] == {"TargetArn": job_failures}
        statements = _statements(synth, f"{FUNCTIONS[name]}Policy")
        assert statements[("sqs:SendMessage",)] == job_failures
        invoke = _props(synth, "AWS::Lambda::EventInvokeConfig", f"{FUNCTIONS[name]}Function")
        assert invoke["FunctionName"] == ref(_id(synth, "AWS::Lambda::Function", FUNCTIONS[name]))
        assert invoke["MaximumEventAgeInSeconds"] >= 60
    # the synchronous ones (the state machine's task, the queue's consumer) need none
    for name in ("reminder_plan", "reminder_send"):
        assert "DeadLetterConfig" not in _props(synth, "AWS::Lambda::Function", FUNCTIONS[name])


# --- alarms ---------------------------------------------------------------------------------------


def _alarm(synth: Synthesized, prefix: str) -> dict[str, Any]:
    alarm = _props(synth, "AWS::CloudWatch::Alarm", prefix)
    topic = ref(_id(synth, "AWS::SNS::Topic", "AlarmsTopic"))
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    return alarm


def test_dead_letters_and_every_function_raise_alarms(synth: Synthesized) -> None:
    for prefix, queue in (
        ("AlarmsReminderJobsDeadLetters", "JobFailures"),
        ("AlarmsReminderSendDeadLetters", "SendDeadLetters"),
    ):
        alarm = _alarm(synth, prefix)
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [_queue(synth, queue), "QueueName"]}}
        ]
        assert alarm["Threshold"] == 0
    for name in ("RiskScoring", "ReminderPlan", "ReminderSend", "WaitlistOffers"):
        assert _alarm(synth, f"Alarms{name}Errors")["MetricName"] == "Errors"
        assert _alarm(synth, f"Alarms{name}Throttles")["MetricName"] == "Throttles"


def test_a_stuck_send_queue_raises_an_alarm_after_an_hour(synth: Synthesized) -> None:
    alarm = _alarm(synth, "RemindersSendQueueStuck")
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [_queue(synth, "SendQueue"), "QueueName"]}}
    ]
    assert alarm["Threshold"] == 3600


def test_a_failed_or_timed_out_campaign_raises_an_alarm(synth: Synthesized) -> None:
    machine = ref(_id(synth, "AWS::StepFunctions::StateMachine", "RemindersStateMachine"))
    for prefix, metric in (
        ("RemindersCampaignFailed", "ExecutionsFailed"),
        ("RemindersCampaignTimedOut", "ExecutionsTimedOut"),
    ):
        alarm = _alarm(synth, prefix)
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["MetricName"] == metric
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine}]
        assert alarm["Threshold"] == 0


def test_visits_the_nightly_scoring_could_not_score_raise_an_alarm(synth: Synthesized) -> None:
    alarm = _alarm(synth, "RemindersScoringFailures")
    assert alarm["Namespace"] == "Careline"
    assert alarm["MetricName"] == "ScoringFailures"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "careline"}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_tuned_practice_passes_cdk_nag_and_cfn_lint(synth_tuned: Synthesized) -> None:
    assert nag_findings(synth_tuned.outdir) == []
    assert synth_tuned.validation_error is None
    template = synth_tuned.outdir / f"{synth_tuned.stack.artifact_id}.template.json"
    matches = lint_file(template, ManualArgs(regions=[REGION], ignore_checks=CFN_LINT_IGNORED))
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []
