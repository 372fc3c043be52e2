"""The escalation workflow: what `careline/escalation/` runs and `statemachines/escalation.asl.json`
orchestrates.

- the Standard state machine, loaded from the ASL file (`DefinitionBody.from_file` with the
  functions' and topics' ARNs as definition substitutions), logging ALL events with execution data
  (ids only) to a CMK-encrypted `/aws/vendedlogs/states/...` group, X-Ray on, its own role that may
  invoke only its five functions and publish only to its two topics;
- `functions/escalation_start`, invoked by a rule on the Careline bus for `escalation_requested`
  (it names the execution by the escalation id: one per escalation), with the target's and the
  function's failures on one CMK-encrypted queue;
- the state machine's Lambda tasks (`functions/escalation_*`), each with its exact grants;
- the on-call and supervisor SNS topics (CMK, TLS-only; SMS and e-mail subscriptions from
  `deployment.escalation`);
- with a Connect instance (the phone line), the task flow a Connect task runs: it moves the task to
  the Connect queue of its `careline_queue` attribute;
- a rule on the default bus sending every FAILED, TIMED_OUT or ABORTED execution to a CMK-encrypted
  queue, and alarms on both queues and every function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from careline.config import PracticeConfig
from careline.conversation.model import Queue
from careline.escalation.workflow import (
    ON_CALL_TOPIC,
    START_EVENT_PATTERN,
    START_FUNCTION,
    SUPERVISOR_TOPIC,
    TASK_FUNCTIONS,
)
from constructs import Construct

from infra.contact_center import ContactCenter
from infra.contact_flow import FLOW_LANGUAGE_VERSION, _action, _layout
from infra.data import ConversationStore
from infra.events import BUS_NAME, DomainEventBus
from infra.function import CarelineFunction
from infra.layers import REPO_ROOT, CarelineLayers
from infra.messaging import SmsChannel
from infra.observability import Alarms
from infra.queues import encrypted_queue
from infra.state_machine import logged_state_machine

ASL_FILE = REPO_ROOT / "statemachines" / "escalation.asl.json"

# Each step is a few DynamoDB, KMS and SNS calls; Connect's API answers in well under a second.
STEP_TIMEOUT = cdk.Duration.seconds(20)
# Escalations arrive a few an hour; a cap keeps a loop from exhausting the account's concurrency
# (a throttled step is retried by the state machine, a throttled start by Lambda's async queue).
STEP_CONCURRENCY = 5
START_CONCURRENCY = 2
# EventBridge retries a failed delivery of the start event for up to a day; Lambda then retries a
# failing start twice. Whatever still fails waits on the start queue.
START_EVENT_RETRIES = 8
START_EVENT_MAX_AGE = cdk.Duration.hours(24)
FAILED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"]

TABLE_READ = ("dynamodb:GetItem", "dynamodb:Query")
TABLE_WRITE = ("dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem")

# The task flow (Connect flow language): read the queue, set it, transfer; anything else ends it.
TASK_CHECK_QUEUE = "task-check-queue"
TASK_END = "task-end"
TASK_QUEUE_ATTRIBUTE = "careline_queue"


def task_flow(queue_arns: Mapping[Queue, str]) -> dict[str, Any]:
    """The flow a Careline task runs (type CONTACT_FLOW): to the Connect queue its `careline_queue`
    attribute names (the front desk's when it names none it knows), then the flow ends."""
    actions: list[dict[str, Any]] = [
        _action(
            TASK_CHECK_QUEUE,
            "Compare",
            {"ComparisonValue": f"$.Attributes.{TASK_QUEUE_ATTRIBUTE}"},
            next_action=f"task-set-queue-{Queue.FRONT_DESK.value}",
            errors={"NoMatchingCondition": f"task-set-queue-{Queue.FRONT_DESK.value}"},
            conditions={queue.value: f"task-set-queue-{queue.value}" for queue in Queue},
        )
    ]
    for queue in Queue:
        actions += [
            _action(
                f"task-set-queue-{queue.value}",
                "UpdateContactTargetQueue",
                {"QueueId": queue_arns[queue]},
                next_action=f"task-transfer-{queue.value}",
                errors={"NoMatchingError": TASK_END},
            ),
            _action(
                f"task-transfer-{queue.value}",
                "TransferContactToQueue",
                {},
                next_action=TASK_END,
                errors={"QueueAtCapacity": TASK_END, "NoMatchingError": TASK_END},
            ),
        ]
    actions.append(_action(TASK_END, "DisconnectParticipant", {}))
    return {
        "Version": FLOW_LANGUAGE_VERSION,
        "StartAction": TASK_CHECK_QUEUE,
        "Metadata": _layout(TASK_CHECK_QUEUE, actions),
        "Actions": actions,
    }


class EscalationWorkflow(Construct):
    """Everything the escalation workflow runs on (see the module docstring)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PracticeConfig,
        key: kms.IKey,
        store: ConversationStore,
        events_bus: DomainEventBus,
        sms: SmsChannel,
        layers: CarelineLayers,
        alarms: Alarms,
        log_retention_days: int,
        contact_center: ContactCenter | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        paging = config.deployment.escalation
        self._key = key
        self._layers = layers
        self._log_retention_days = log_retention_days

        # Named, so the functions that answer its waits (and the rule) can name it without a
        # reference cycle: the state machine refers to the functions, not the other way round.
        self.state_machine_name = f"{stack.stack_name}-escalation"
        self.state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        start_rule_name = f"{stack.stack_name}-escalation-requested"
        failure_rule_name = f"{stack.stack_name}-escalation-failed"

        # --- pages ------------------------------------------------------------------------------
        self.on_call_topic = self._topic("OnCallTopic", "Careline on-call pages")
        self.supervisor_topic = self._topic("SupervisorTopic", "Careline supervisor notices")
        for topic, phone, email in (
            (self.on_call_topic, paging.on_call_phone, paging.on_call_email),
            (self.supervisor_topic, paging.supervisor_phone, paging.supervisor_email),
        ):
            if phone:
                topic.add_subscription(subscriptions.SmsSubscription(phone))
            if email:
                topic.add_subscription(subscriptions.EmailSubscription(email))

        # --- queues that keep what failed -------------------------------------------------------
        self.start_dead_letters = encrypted_queue(self, "StartDeadLetters", key=key)
        self.workflow_failures = encrypted_queue(self, "WorkflowFailures", key=key)
        cdk.Validations.of(self.workflow_failures).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the escalation workflow's dead-letter store: EventBridge puts "
                "each failed, timed-out or aborted execution here for a person to redrive, and its alarm "
                "fires on the first message. Nothing consumes it, so a redrive policy could never apply.",
            )
        )
        # EventBridge writes to both queues (the start target's DLQ; the failure rule's target):
        # the key admits it for these two rules only (ARNs spelled out: a reference would be a cycle).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeEscalationRules",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {
                        "aws:SourceArn": [
                            self._rule_arn(start_rule_name, BUS_NAME),
                            self._rule_arn(failure_rule_name, None),
                        ]
                    },
                },
            )
        )

        # --- the Lambda tasks -------------------------------------------------------------------
        storage = {
            "CARELINE_TABLE_NAME": store.table.table_name,
            "CARELINE_KMS_KEY_ARN": key.key_arn,
        }
        table = [store.table.table_arn]
        self.hand_off = self._step(
            "HandOff",
            "escalation_handoff",
            "Escalation workflow: load the escalation and the context, answer the routing",
            storage,
        )
        self.hand_off.allow(TABLE_READ, table)
        self.hand_off.allow(["kms:Decrypt"], [key.key_arn])

        task_environment = dict(storage)
        if paging.agent_panel_url:
            task_environment["CARELINE_AGENT_PANEL_URL"] = paging.agent_panel_url
        self.task_flow: connect.CfnContactFlow | None = None
        if contact_center is not None:
            self.task_flow = connect.CfnContactFlow(
                self,
                "TaskFlow",
                instance_arn=contact_center.instance_arn,
                name=f"Careline - Escalation task ({stack.stack_name})",
                description="Careline: an escalation's task, to the queue its careline_queue attribute names",
                type="CONTACT_FLOW",
                state="ACTIVE",
                content=stack.to_json_string(
                    task_flow({queue: q.attr_queue_arn for queue, q in contact_center.queues.items()})
                ),
            )
            task_environment["CARELINE_CONNECT_INSTANCE_ID"] = contact_center.instance_id
            task_environment["CARELINE_CONNECT_TASK_FLOW_ID"] = cdk.Fn.select(
                3, cdk.Fn.split("/", self.task_flow.attr_contact_flow_arn)
            )
        self.agent_task = self._step(
            "AgentTask",
            "escalation_task",
            "Escalation workflow: an Amazon Connect task in the queue, linking to the agent panel",
            task_environment,
        )
        self.agent_task.allow(["dynamodb:Query"], table)
        self.agent_task.allow(["kms:Decrypt"], [key.key_arn])
        if contact_center is not None and self.task_flow is not None:
            # The contact does not exist before the call creates it: only the instance's contacts.
            self.agent_task.allow(
                ["connect:StartTaskContact"],
                [self.task_flow.attr_contact_flow_arn, f"{contact_center.instance_arn}/contact/*"],
            )
            cdk.Validations.of(self.agent_task.policy).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{self._instance_in_finding(contact_center)}/contact/*]",
                    reason="connect:StartTaskContact authorizes on the contact it creates, whose id does "
                    "not exist before the call; the grant is limited to this instance's contacts and the "
                    "stack's task flow.",
                )
            )

        self.await_agent = self._step(
            "AwaitAgent",
            "escalation_await",
            "Escalation workflow: keep the wait's task token on the escalation for the agent panel",
            {**storage, "CARELINE_ESCALATION_STATE_MACHINE_ARN": self.state_machine_arn},
        )
        self.await_agent.allow(["dynamodb:Query", "dynamodb:UpdateItem"], table)
        self.await_agent.allow(["kms:Decrypt"], [key.key_arn])
        self.await_agent.allow(["states:SendTaskSuccess"], [self.state_machine_arn])

        self.sla_expired = self._step(
            "SlaExpired",
            "escalation_sla",
            "Escalation workflow: nobody accepted within the SLA; mark it and tell the patient",
            {
                **storage,
                "CARELINE_ORIGINATION_IDENTITY": sms.origination_identity,
                "CARELINE_SMS_CONFIGURATION_SET": sms.configuration_set_name,
                "CARELINE_MESSENGER": "sms",
            },
        )
        self.sla_expired.allow([*TABLE_READ, *TABLE_WRITE], table)
        self.sla_expired.allow(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn])
        self.sla_expired.allow(["sms-voice:SendTextMessage"], sms.send_resources)

        self.time_to_accept = self._step(
            "TimeToAccept",
            "escalation_accepted",
            "Escalation workflow: an agent accepted; record the time to accept",
            storage,
        )
        self.time_to_accept.allow(["dynamodb:Query"], table)
        self.time_to_accept.allow(["kms:Decrypt"], [key.key_arn])

        steps = {
            "HandOffFunctionArn": self.hand_off,
            "AgentTaskFunctionArn": self.agent_task,
            "AwaitAgentFunctionArn": self.await_agent,
            "SlaExpiredFunctionArn": self.sla_expired,
            "TimeToAcceptFunctionArn": self.time_to_accept,
        }
        assert set(steps) == set(TASK_FUNCTIONS), "a state machine task without its function"

        # --- the state machine ------------------------------------------------------------------
        substitutions = {name: step.function.function_arn for name, step in steps.items()}
        substitutions[ON_CALL_TOPIC] = self.on_call_topic.topic_arn
        substitutions[SUPERVISOR_TOPIC] = self.supervisor_topic.topic_arn
        machine = logged_state_machine(
            self,
            name=self.state_machine_name,
            label="escalation workflow",
            role_grants="its five functions and two topics only",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[step.function.function_arn for step in steps.values()],
                ),
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    resources=[self.on_call_topic.topic_arn, self.supervisor_topic.topic_arn],
                ),
                # the topics are encrypted with the CMK: publishing encrypts with a data key
                iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
            ],
            named_services="Lambda, SNS and KMS",
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions=substitutions,
            key=key,
            log_retention_days=log_retention_days,
            include_execution_data=True,
        )
        self.log_group, self.role, self.policy = machine.log_group, machine.role, machine.policy
        self.state_machine = machine.state_machine

        # --- starting it ------------------------------------------------------------------------
        self.start = CarelineFunction(
            self,
            "Start",
            name=START_FUNCTION,
            description="Escalation workflow: start one execution per escalation_requested event",
            layers=layers,
            key=key,
            log_retention_days=log_retention_days,
            reserved_concurrency=START_CONCURRENCY,
            timeout=STEP_TIMEOUT,
            environment={"CARELINE_ESCALATION_STATE_MACHINE_ARN": self.state_machine_arn},
        )
        self.start.allow(["states:StartExecution"], [self.state_machine_arn])
        self.start.park_failures_on(
            self.start_dead_letters, retry_attempts=2, max_event_age=cdk.Duration.hours(6)
        )
        self.start_rule = events.Rule(
            self,
            "StartRule",
            rule_name=start_rule_name,
            description="Careline: start the escalation workflow for each escalation the engine decides",
            event_bus=events_bus.bus,
            event_pattern=events.EventPattern(
                source=list(START_EVENT_PATTERN["source"]),
                detail_type=list(START_EVENT_PATTERN["detail-type"]),
            ),
            targets=[
                targets.LambdaFunction(
                    self.start.function,
                    dead_letter_queue=self.start_dead_letters,
                    retry_attempts=START_EVENT_RETRIES,
                    max_event_age=START_EVENT_MAX_AGE,
                )
            ],
        )

        # --- what fails is kept and alarms --------------------------------------------------------
        self.failure_rule = events.Rule(
            self,
            "FailureRule",
            rule_name=failure_rule_name,
            description="Careline: every escalation execution that fails, times out or is aborted",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": FAILED_STATUSES, "stateMachineArn": [self.state_machine_arn]},
            ),
            targets=[targets.SqsQueue(self.workflow_failures)],
        )
        alarms.watch_dead_letter_queue("EscalationStart", self.start_dead_letters)
        alarms.watch_dead_letter_queue("EscalationWorkflow", self.workflow_failures)
        alarms.watch_functions(
            {
                "EscalationStart": self.start.function,
                "EscalationHandOff": self.hand_off.function,
                "EscalationAgentTask": self.agent_task.function,
                "EscalationAwaitAgent": self.await_agent.function,
                "EscalationSlaExpired": self.sla_expired.function,
                "EscalationTimeToAccept": self.time_to_accept.function,
            }
        )

    # --- helpers ----------------------------------------------------------------------------------

    def _step(
        self, construct_id: str, name: str, description: str, environment: dict[str, str]
    ) -> CarelineFunction:
        step = CarelineFunction(
            self,
            construct_id,
            name=name,
            description=description,
            layers=self._layers,
            key=self._key,
            log_retention_days=self._log_retention_days,
            timeout=STEP_TIMEOUT,
            reserved_concurrency=STEP_CONCURRENCY,
            environment=environment,
        )
        step.acknowledge_synchronous(
            "Invoked synchronously by the escalation state machine, which retries it with backoff and "
            "catches what still fails; a failed execution lands on the workflow failure queue. A DLQ "
            "only receives failed asynchronous invocations."
        )
        return step

    def _topic(self, construct_id: str, display_name: str) -> sns.Topic:
        return sns.Topic(
            self, construct_id, display_name=display_name, master_key=self._key, enforce_ssl=True
        )

    def _rule_arn(self, rule_name: str, bus_name: str | None) -> str:
        resource_name = f"{bus_name}/{rule_name}" if bus_name else rule_name
        return cdk.Stack.of(self).format_arn(service="events", resource="rule", resource_name=resource_name)

    @staticmethod
    def _instance_in_finding(contact_center: ContactCenter) -> str:
        """How cdk-nag writes the instance ARN in a finding: `<LogicalId.Arn>` for the instance the
        stack creates, the ARN itself for one the practice brings."""
        if contact_center.instance is None:
            return contact_center.instance_arn
        stack = cdk.Stack.of(contact_center)
        return f"<{stack.resolve(stack.get_logical_id(contact_center.instance))}.Arn>"
