"""The escalation workflow's infrastructure: the state machine from the ASL file, its role, logs and
tracing; the start rule and function; the Lambda steps' exact grants; the page topics; the Connect
task flow; and the failure queue, rules and alarms that keep a failed execution from vanishing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from careline.escalation.workflow import ON_CALL_TOPIC, SUPERVISOR_TOPIC, TASK_FUNCTIONS

from infra.escalation import ASL_FILE, STEP_CONCURRENCY, TASK_CHECK_QUEUE, task_flow
from tests.infra.flow_graph import actions_by_id, paths, reachable
from tests.infra.phone_lines import BROUGHT_INSTANCE_ARN
from tests.infra.synthesis import ACCOUNT, REGION, STACK_NAME, Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

STATE_MACHINE_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            f":states:{REGION}:{ACCOUNT}:stateMachine:{STACK_NAME}-escalation",
        ],
    ]
}
STEP_IDS = {
    "HandOffFunctionArn": "EscalationHandOff",
    "AgentTaskFunctionArn": "EscalationAgentTask",
    "AwaitAgentFunctionArn": "EscalationAwaitAgent",
    "SlaExpiredFunctionArn": "EscalationSlaExpired",
    "TimeToAcceptFunctionArn": "EscalationTimeToAccept",
}


def _id(synth: Synthesized, resource_type: str, prefix: str) -> str:
    (logical_id,) = [name for name in synth.resources(resource_type) if name.startswith(prefix)]
    return logical_id


def _resource(synth: Synthesized, resource_type: str, prefix: str) -> dict[str, Any]:
    resource: dict[str, Any] = synth.template_json["Resources"][_id(synth, resource_type, prefix)]
    return resource


def _statements(synth: Synthesized, policy_prefix: str) -> dict[tuple[str, ...], Any]:
    policy = _resource(synth, "AWS::IAM::ManagedPolicy", policy_prefix)
    out: dict[tuple[str, ...], Any] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        out[tuple(actions) if isinstance(actions, list) else (actions,)] = statement["Resource"]
    return out


def _machine(synth: Synthesized) -> dict[str, Any]:
    return _resource(synth, "AWS::StepFunctions::StateMachine", "EscalationStateMachine")


def test_the_state_machine_is_standard_named_and_loaded_from_the_asl_file(synth: Synthesized) -> None:
    props = _machine(synth)["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == f"{STACK_NAME}-escalation"
    key = props["DefinitionS3Location"]["Key"]
    shipped = json.loads((synth.outdir / f"asset.{key}").read_text(encoding="utf-8"))
    assert shipped == json.loads(ASL_FILE.read_text(encoding="utf-8"))


def test_every_placeholder_is_substituted_with_its_function_or_topic(synth: Synthesized) -> None:
    substitutions = _machine(synth)["Properties"]["DefinitionSubstitutions"]
    assert set(substitutions) == {*TASK_FUNCTIONS, ON_CALL_TOPIC, SUPERVISOR_TOPIC}
    for placeholder, prefix in STEP_IDS.items():
        assert substitutions[placeholder] == arn_of(_id(synth, "AWS::Lambda::Function", prefix))
    assert substitutions[ON_CALL_TOPIC] == ref(_id(synth, "AWS::SNS::Topic", "EscalationOnCallTopic"))
    assert substitutions[SUPERVISOR_TOPIC] == ref(_id(synth, "AWS::SNS::Topic", "EscalationSupervisorTopic"))


def test_it_logs_everything_to_a_cmk_encrypted_vended_log_group_and_traces(synth: Synthesized) -> None:
    props = _machine(synth)["Properties"]
    log_group_id = _id(synth, "AWS::Logs::LogGroup", "EscalationStateMachineLogs")
    assert props["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": arn_of(log_group_id)}}],
        "IncludeExecutionData": True,
        "Level": "ALL",
    }
    assert props["TracingConfiguration"] == {"Enabled": True}
    log_group = synth.template_json["Resources"][log_group_id]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/vendedlogs/states/{STACK_NAME}-escalation"
    assert log_group["KmsKeyId"] == arn_of(_id(synth, "AWS::KMS::Key", "Encryption"))


def test_its_role_invokes_only_its_five_functions_and_publishes_only_to_its_topics(
    synth: Synthesized,
) -> None:
    role = _resource(synth, "AWS::IAM::Role", "EscalationStateMachineRole")["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    statements = _statements(synth, "EscalationStateMachinePolicy")
    assert statements[("lambda:InvokeFunction",)] == [
        arn_of(_id(synth, "AWS::Lambda::Function", prefix)) for prefix in STEP_IDS.values()
    ]
    assert statements[("sns:Publish",)] == [
        ref(_id(synth, "AWS::SNS::Topic", "EscalationOnCallTopic")),
        ref(_id(synth, "AWS::SNS::Topic", "EscalationSupervisorTopic")),
    ]
    assert statements[("kms:Decrypt", "kms:GenerateDataKey")] == arn_of(
        _id(synth, "AWS::KMS::Key", "Encryption")
    )
    wildcard = [actions for actions, resource in statements.items() if resource == "*"]
    assert all(a.startswith(("logs:", "xray:")) for actions in wildcard for a in actions)


def test_both_page_topics_are_cmk_encrypted_and_tls_only(synth: Synthesized) -> None:
    key = arn_of(_id(synth, "AWS::KMS::Key", "Encryption"))
    for prefix in ("EscalationOnCallTopic", "EscalationSupervisorTopic"):
        topic_id = _id(synth, "AWS::SNS::Topic", prefix)
        assert synth.template_json["Resources"][topic_id]["Properties"]["KmsMasterKeyId"] == key
        (policy,) = [
            p
            for p in synth.resources("AWS::SNS::TopicPolicy").values()
            if p["Properties"]["Topics"] == [ref(topic_id)]
        ]
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_pages_reach_the_numbers_and_addresses_the_deployment_gives(tmp_path: Any) -> None:
    from tests.infra.phone_lines import SMS_ONLY
    from tests.infra.synthesis import synthesize, write_practice_config

    paging = {
        "on_call_phone": "+15035550111",
        "supervisor_email": "supervisor@riverbend.example",
        "agent_panel_url": "https://panel.riverbend.example/prod",
    }
    config = write_practice_config(tmp_path / "practice.yaml", voice=SMS_ONLY, escalation=paging)
    synth = synthesize(config, tmp_path / "cdk.out")
    subscriptions = {
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"], s["Properties"]["TopicArn"]["Ref"][:20])
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] in ("sms", "email")
    }
    assert ("sms", "+15035550111", "EscalationOnCallTopi") in subscriptions
    assert ("email", "supervisor@riverbend.example", "EscalationSupervisor") in subscriptions
    task = _resource(synth, "AWS::Lambda::Function", "EscalationAgentTask")["Properties"]
    assert (
        task["Environment"]["Variables"]["CARELINE_AGENT_PANEL_URL"] == "https://panel.riverbend.example/prod"
    )


def test_the_start_rule_sends_escalation_requested_to_the_start_function(synth: Synthesized) -> None:
    rule = _resource(synth, "AWS::Events::Rule", "EscalationStartRule")["Properties"]
    assert rule["EventBusName"] == ref(_id(synth, "AWS::Events::EventBus", "EventsBus"))
    assert rule["EventPattern"] == {"source": ["careline"], "detail-type": ["escalation_requested"]}
    (target,) = rule["Targets"]
    assert target["Arn"] == arn_of(_id(synth, "AWS::Lambda::Function", "EscalationStart"))
    assert target["DeadLetterConfig"] == {
        "Arn": arn_of(_id(synth, "AWS::SQS::Queue", "EscalationStartDeadLetters"))
    }
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 8}


def test_the_start_function_may_only_start_this_state_machine(synth: Synthesized) -> None:
    function = _resource(synth, "AWS::Lambda::Function", "EscalationStart")["Properties"]
    dead_letters = arn_of(_id(synth, "AWS::SQS::Queue", "EscalationStartDeadLetters"))
    assert function["DeadLetterConfig"] == {"TargetArn": dead_letters}
    assert function["Environment"]["Variables"]["CARELINE_ESCALATION_STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    statements = _statements(synth, "EscalationStartPolicy")
    assert statements[("states:StartExecution",)] == STATE_MACHINE_ARN
    assert statements[("sqs:SendMessage",)] == dead_letters


def test_each_step_gets_exactly_what_it_uses(synth: Synthesized) -> None:
    table = arn_of(_id(synth, "AWS::DynamoDB::GlobalTable", "Store"))
    key = arn_of(_id(synth, "AWS::KMS::Key", "Encryption"))
    hand_off = _statements(synth, "EscalationHandOffPolicy")
    assert hand_off[("dynamodb:GetItem", "dynamodb:Query")] == table
    assert hand_off[("kms:Decrypt",)] == key
    await_agent = _statements(synth, "EscalationAwaitAgentPolicy")
    assert await_agent[("dynamodb:Query", "dynamodb:UpdateItem")] == table
    assert await_agent[("states:SendTaskSuccess",)] == STATE_MACHINE_ARN
    sla = _statements(synth, "EscalationSlaExpiredPolicy")
    assert sla[("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")] == key
    assert ("sms-voice:SendTextMessage",) in sla
    accepted = _statements(synth, "EscalationTimeToAcceptPolicy")
    assert accepted[("dynamodb:Query",)] == table
    for prefix in STEP_IDS.values():
        props = _resource(synth, "AWS::Lambda::Function", prefix)["Properties"]
        assert props["ReservedConcurrentExecutions"] == STEP_CONCURRENCY
        assert props["TracingConfig"] == {"Mode": "Active"}
        for actions in _statements(synth, f"{prefix}Policy"):
            assert not any(a.startswith("secretsmanager:") or a == "events:PutEvents" for a in actions)


def test_without_a_phone_line_no_task_is_created(synth: Synthesized) -> None:
    assert not [i for i in synth.resources("AWS::Connect::ContactFlow") if i.startswith("Escalation")]
    variables = _resource(synth, "AWS::Lambda::Function", "EscalationAgentTask")["Properties"]["Environment"]
    assert "CARELINE_CONNECT_INSTANCE_ID" not in variables["Variables"]
    assert not any(
        a.startswith("connect:")
        for actions in _statements(synth, "EscalationAgentTaskPolicy")
        for a in actions
    )


def test_with_a_phone_line_tasks_run_the_task_flow_in_this_instance(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    flow_id = _id(synth, "AWS::Connect::ContactFlow", "EscalationTaskFlow")
    flow = synth.template_json["Resources"][flow_id]["Properties"]
    instance_arn = arn_of(_id(synth, "AWS::Connect::Instance", "ContactCenterInstance"))
    assert flow["InstanceArn"] == instance_arn
    assert flow["Type"] == "CONTACT_FLOW"
    variables = _resource(synth, "AWS::Lambda::Function", "EscalationAgentTask")["Properties"]["Environment"]
    assert variables["Variables"]["CARELINE_CONNECT_TASK_FLOW_ID"] == {
        "Fn::Select": [3, {"Fn::Split": ["/", {"Fn::GetAtt": [flow_id, "ContactFlowArn"]}]}]
    }
    statements = _statements(synth, "EscalationAgentTaskPolicy")
    assert statements[("connect:StartTaskContact",)] == [
        {"Fn::GetAtt": [flow_id, "ContactFlowArn"]},
        {"Fn::Join": ["", [instance_arn, "/contact/*"]]},
    ]


def test_a_brought_instance_gets_its_task_flow_and_grant(synth_brought_number: Synthesized) -> None:
    synth = synth_brought_number
    flow = _resource(synth, "AWS::Connect::ContactFlow", "EscalationTaskFlow")["Properties"]
    assert flow["InstanceArn"] == BROUGHT_INSTANCE_ARN
    statements = _statements(synth, "EscalationAgentTaskPolicy")
    assert statements[("connect:StartTaskContact",)][1] == f"{BROUGHT_INSTANCE_ARN}/contact/*"


def test_the_task_flow_moves_each_queue_to_its_own_connect_queue() -> None:
    from careline.conversation.model import Queue

    arns = {queue: f"arn:queue/{queue.value}" for queue in Queue}
    flow = task_flow(arns)
    by_id = actions_by_id(flow)
    assert reachable(flow) == set(by_id)
    check = by_id[TASK_CHECK_QUEUE]
    for condition in check["Transitions"]["Conditions"]:
        (queue,) = condition["Condition"]["Operands"]
        set_queue = by_id[condition["NextAction"]]
        assert set_queue["Parameters"] == {"QueueId": f"arn:queue/{queue}"}
        assert by_id[set_queue["Transitions"]["NextAction"]]["Type"] == "TransferContactToQueue"
    # an unknown queue goes to the front desk; every path ends by disconnecting
    assert check["Transitions"]["NextAction"] == "task-set-queue-front_desk"
    for path in paths(flow, TASK_CHECK_QUEUE):
        assert by_id[path[-1]]["Type"] == "DisconnectParticipant"


def test_a_failed_execution_lands_on_the_failure_queue_and_alarms(synth: Synthesized) -> None:
    rule = _resource(synth, "AWS::Events::Rule", "EscalationFailureRule")["Properties"]
    assert "EventBusName" not in rule  # Step Functions reports to the default bus
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [STATE_MACHINE_ARN]},
    }
    failures = _id(synth, "AWS::SQS::Queue", "EscalationWorkflowFailures")
    (target,) = rule["Targets"]
    assert target["Arn"] == arn_of(failures)
    queue = synth.template_json["Resources"][failures]["Properties"]
    assert queue["KmsMasterKeyId"] == arn_of(_id(synth, "AWS::KMS::Key", "Encryption"))
    for prefix in ("AlarmsEscalationWorkflowDeadLetters", "AlarmsEscalationStartDeadLetters"):
        alarm = _resource(synth, "AWS::CloudWatch::Alarm", prefix)["Properties"]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Threshold"] == 0
    for step in ("Start", "HandOff", "AgentTask", "AwaitAgent", "SlaExpired", "TimeToAccept"):
        _id(synth, "AWS::CloudWatch::Alarm", f"AlarmsEscalation{step}Errors")
        _id(synth, "AWS::CloudWatch::Alarm", f"AlarmsEscalation{step}Throttles")


def test_the_key_admits_eventbridge_only_for_the_two_escalation_rules(synth: Synthesized) -> None:
    key = _resource(synth, "AWS::KMS::Key", "Encryption")["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in key if s.get("Sid") == "AllowEventBridgeEscalationRules"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    rules = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    for rule, name in zip(
        rules, ("careline/CarelineTest-escalation-requested", "CarelineTest-escalation-failed"), strict=True
    ):
        assert rule["Fn::Join"][1][-1] == f":events:{REGION}:{ACCOUNT}:rule/{name}"
    names = {r["Properties"]["Name"] for r in synth.resources("AWS::Events::Rule").values()}
    assert {"CarelineTest-escalation-requested", "CarelineTest-escalation-failed"} <= names


def test_the_state_machine_arn_is_an_output(synth: Synthesized) -> None:
    output = synth.template_json["Outputs"]["EscalationStateMachineArn"]
    assert output["Value"] == ref(_id(synth, "AWS::StepFunctions::StateMachine", "EscalationStateMachine"))
