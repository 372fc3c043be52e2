"""Reminders that cut no-shows: what `careline/reminders/` and `careline/waitlist/` run on a
schedule, and what `statemachines/reminders.asl.json` orchestrates.

- `functions/risk_scoring`, started nightly at `reminders.scoring_time` (practice time) by
  EventBridge Scheduler: scores every booked visit of the next `horizon_days` from the EHR;
- the reminder campaign, a Standard state machine started every `reminders.campaign_every_minutes`:
  `functions/reminder_plan` answers the due sends, a Map (at most `reminders.max_concurrency` at a
  time) puts each on the send queue with its place in line as a delay, so texts leave at the
  number's messages-per-second limit without a sleep loop anywhere;
- `functions/reminder_send` on that queue (partial batch failures; a send failing five times waits
  on the send dead-letter queue), claiming each appointment+step once before it texts, emails
  (SES, only with `deployment.reminder_email_from`) or asks staff to call (`escalation_requested`);
- `functions/waitlist_offers`, every `reminders.waitlist.every_minutes`: offers freed slots to the
  waitlist one candidate at a time;
- each schedule with its own role (its one target, its dead-letter queue), in the practice's time
  zone, no flexible window; what a schedule cannot deliver and what the two scheduled functions
  fail on waits on one CMK-encrypted queue;
- alarms on that queue, the send queue (dead letters, oldest message), the campaign's failed and
  timed-out executions, nightly scoring failures and every function.
"""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from careline.config import PracticeConfig
from constructs import Construct

from infra.data import ConversationStore
from infra.events import DomainEventBus
from infra.function import POWERTOOLS_ENVIRONMENT, CarelineFunction
from infra.layers import REPO_ROOT, CarelineLayers
from infra.messaging import SmsChannel
from infra.observability import Alarms
from infra.queues import encrypted_queue
from infra.state_machine import logged_state_machine
from infra.turn_access import TABLE_ACTIONS

ASL_FILE = REPO_ROOT / "statemachines" / "reminders.asl.json"
# The definition substitutions the ASL file names, and the Map whose concurrency the config sets.
PLAN_FUNCTION = "PlanFunctionArn"
SCORING_FUNCTION = "ScoringFunctionArn"
SEND_QUEUE = "SendQueueUrl"
ENQUEUE_STATE = "Enqueue"

TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
FIELD_ENCRYPTION = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
# What a producer (and SQS on its behalf) needs of the key to write to a CMK-encrypted queue.
QUEUE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
QUEUE_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)

# Scoring reads every booked visit of the next two weeks from the EHR, one patient at a time.
SCORING_TIMEOUT = cdk.Duration.minutes(15)
# Planning is pure work (about 150 us a visit) over what scoring stored.
PLAN_TIMEOUT = cdk.Duration.minutes(2)
# A batch of ten sends: a re-plan, a conditional write and one text, email or task each.
SEND_TIMEOUT = cdk.Duration.seconds(30)
WAITLIST_TIMEOUT = cdk.Duration.seconds(60)
# One scoring run and one backfill at a time: two offering the same slot at once would race.
JOB_CONCURRENCY = 1
PLAN_CONCURRENCY = 2
# Lambda's SQS poller needs at least two concurrent invocations.
MIN_SEND_CONCURRENCY = 2
SEND_BATCH_SIZE = 10
# A send that fails this many receives is parked on the send dead-letter queue.
SEND_MAX_RECEIVES = 5
# Lambda's guidance: a queue's visibility timeout at least six times its consumer's timeout.
SEND_VISIBILITY_TIMEOUT = cdk.Duration.seconds(6 * SEND_TIMEOUT.to_seconds())
# A reminder is planned for its instant: one still queued after a day is no use any more.
SEND_RETENTION = cdk.Duration.days(1)
# Plan delays are at most 15 minutes: a send older than an hour means the sender is stuck.
SEND_AGE_ALARM = cdk.Duration.hours(1)
# The scoring job's count of visits it could not score (Powertools metric, `service` dimension).
SCORING_FAILURES_METRIC = "ScoringFailures"

# Scheduler retries a delivery it could not make (the target throttled or unavailable). Scoring is
# still worth running late in the night; the frequent runs are simply replaced by the next one.
SCORING_DELIVERY_RETRIES = 5
SCORING_DELIVERY_MAX_AGE = cdk.Duration.hours(3)
FREQUENT_DELIVERY_RETRIES = 2
# Lambda then retries a failing scoring run twice; a failed backfill run is left to the next one.
SCORING_ASYNC_RETRIES = 2
SCORING_ASYNC_MAX_AGE = cdk.Duration.hours(6)

_FIVE_MINUTES = cdk.Duration.minutes(5)


def campaign_definition(max_concurrency: int) -> str:
    """The campaign's ASL: `statemachines/reminders.asl.json` with the Map's concurrency set to
    `max_concurrency` (a number cannot be a definition substitution); `${...}` placeholders stay."""
    definition: dict[str, Any] = json.loads(ASL_FILE.read_text(encoding="utf-8"))
    definition["States"][ENQUEUE_STATE]["MaxConcurrency"] = max_concurrency
    return json.dumps(definition, indent=2)


def daily_at(at: time) -> str:
    """The Scheduler expression for every day at `at` (read in the schedule's time zone)."""
    return f"cron({at.minute} {at.hour} * * ? *)"


def every_minutes(minutes: int) -> str:
    """The Scheduler expression for every `minutes` minutes."""
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


def send_concurrency(max_concurrency: int) -> int:
    """The sender's concurrency: the campaign's, but at least what Lambda's SQS poller needs."""
    return max(MIN_SEND_CONCURRENCY, max_concurrency)


class Reminders(Construct):
    """Everything the reminder side runs on (see the module docstring)."""

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
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployment = config.deployment
        policy = config.reminders
        timezone = config.practice.timezone
        self._key = key
        self._layers = layers
        self._log_retention_days = log_retention_days
        self.state_machine_name = f"{stack.stack_name}-reminders"

        table = [store.table.table_arn, *store.index_arns]
        storage = {
            "CARELINE_TABLE_NAME": store.table.table_name,
            "CARELINE_KMS_KEY_ARN": key.key_arn,
        }
        hashing = {"CARELINE_HASH_SECRET_ARN": store.hash_secret.secret_arn}
        ehr = {"CARELINE_EHR_SECRET_ARN": deployment.ehr_secret_arn} if deployment.ehr_secret_arn else {}
        texting = {
            "CARELINE_MESSENGER": "sms",
            "CARELINE_ORIGINATION_IDENTITY": sms.origination_identity,
            "CARELINE_SMS_CONFIGURATION_SET": sms.configuration_set_name,
        }

        # --- queues -------------------------------------------------------------------------------
        # What a schedule could not deliver, and what the two scheduled functions failed on.
        self.job_failures = encrypted_queue(self, "JobFailures", key=key)
        cdk.Validations.of(self.job_failures).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the dead-letter store of the three reminder schedules and "
                "of the scoring and waitlist functions' failed invocations; its alarm fires on the first "
                "message and a person redrives it. Nothing consumes it, so a redrive policy could never "
                "apply.",
            )
        )
        self.send_dead_letters = encrypted_queue(self, "SendDeadLetters", key=key)
        self.send_queue = encrypted_queue(
            self,
            "SendQueue",
            key=key,
            retention=SEND_RETENTION,
            visibility_timeout=SEND_VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.send_dead_letters, max_receive_count=SEND_MAX_RECEIVES
            ),
        )

        # --- the functions ------------------------------------------------------------------------
        email_from = deployment.reminder_email_from
        # Scoring picks each patient's channel: email only counts when the practice sends email.
        emailing = {"CARELINE_EMAIL_FROM": email_from} if email_from else {}
        self.scoring = self._function(
            "RiskScoring",
            "risk_scoring",
            "Reminders: score every booked visit of the next days for no-show risk (nightly)",
            {**storage, **ehr, **emailing},
            timeout=SCORING_TIMEOUT,
            memory_size=1024,
            reserved_concurrency=JOB_CONCURRENCY,
        )
        self.scoring.allow(TABLE_ACTIONS, table)
        self.scoring.allow(FIELD_ENCRYPTION, [key.key_arn])
        self._allow_ehr(self.scoring, deployment.ehr_secret_arn, deployment.ehr_secret_kms_key_arn)
        self._dead_letters_to_job_failures(self.scoring, SCORING_ASYNC_RETRIES, SCORING_ASYNC_MAX_AGE)

        self.plan = self._function(
            "ReminderPlan",
            "reminder_plan",
            "Reminders: the sends that have come due, each with its place in line",
            {**storage, **hashing},
            timeout=PLAN_TIMEOUT,
            memory_size=1024,
            reserved_concurrency=PLAN_CONCURRENCY,
        )
        # Planning only reads: visits, the send ledger, opt-outs.
        self.plan.allow(TABLE_READ, table)
        self.plan.allow(["kms:Decrypt"], [key.key_arn])
        self.plan.allow(["secretsmanager:GetSecretValue"], [store.hash_secret.secret_arn])
        self.plan.acknowledge_synchronous(
            "Invoked synchronously by the reminder campaign state machine, which retries it; a failed "
            "execution raises the campaign alarm and the next scheduled run plans the same sends again. "
            "A DLQ only receives failed asynchronous invocations.",
        )

        self.send = self._function(
            "ReminderSend",
            "reminder_send",
            "Reminders: claim each due send once, then text, email or ask staff to call",
            {
                **storage,
                **hashing,
                "CARELINE_EVENT_BUS_NAME": events_bus.bus.event_bus_name,
                **texting,
                **emailing,
            },
            timeout=SEND_TIMEOUT,
            reserved_concurrency=send_concurrency(policy.max_concurrency),
        )
        self.send.allow(TABLE_ACTIONS, table)
        self.send.allow(FIELD_ENCRYPTION, [key.key_arn])
        self.send.allow(["secretsmanager:GetSecretValue"], [store.hash_secret.secret_arn])
        self.send.allow(["sms-voice:SendTextMessage"], sms.send_resources)
        # A call task is an escalation: its `escalation_requested` event starts the workflow.
        self.send.allow(["events:PutEvents"], [events_bus.bus.event_bus_arn])
        self.send.allow(QUEUE_CONSUME, [self.send_queue.queue_arn])
        if email_from:
            domain = email_from.split("@", 1)[1]
            self.send.allow(
                ["ses:SendEmail"],
                [
                    stack.format_arn(service="ses", resource="identity", resource_name=domain),
                    stack.format_arn(service="ses", resource="identity", resource_name=email_from),
                ],
            )
        self.send.acknowledge_synchronous(
            "Invoked synchronously by its SQS event source mapping with partial batch responses: a "
            "send that fails returns to the queue and, after five receives, is parked on the send "
            "dead-letter queue (alarmed). A DLQ only receives failed asynchronous invocations.",
        )
        # The mapping is created with exactly the grants above (the function's role takes no
        # policy updates, so the L2 event source's grant helper could not add them).
        self.send_mapping = lambda_.EventSourceMapping(
            self,
            "SendQueueMapping",
            target=self.send.function,
            event_source_arn=self.send_queue.queue_arn,
            batch_size=SEND_BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=send_concurrency(policy.max_concurrency),
        )
        self.send_mapping.node.add_dependency(self.send.policy)

        self.waitlist = self._function(
            "WaitlistOffers",
            "waitlist_offers",
            "Reminders: offer freed slots to the waitlist, one candidate at a time",
            {**storage, **hashing, **ehr, **texting},
            timeout=WAITLIST_TIMEOUT,
            reserved_concurrency=JOB_CONCURRENCY,
        )
        self.waitlist.allow(TABLE_ACTIONS, table)
        self.waitlist.allow(FIELD_ENCRYPTION, [key.key_arn])
        self.waitlist.allow(["secretsmanager:GetSecretValue"], [store.hash_secret.secret_arn])
        self.waitlist.allow(["sms-voice:SendTextMessage"], sms.send_resources)
        self._allow_ehr(self.waitlist, deployment.ehr_secret_arn, deployment.ehr_secret_kms_key_arn)
        waitlist_interval = cdk.Duration.minutes(policy.waitlist.every_minutes)
        self._dead_letters_to_job_failures(self.waitlist, 0, _at_least_a_minute(waitlist_interval))

        # --- the campaign state machine -----------------------------------------------------------
        machine = logged_state_machine(
            self,
            name=self.state_machine_name,
            label="reminder campaign",
            role_grants="its plan and scoring functions and send queue only",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    # the scoring only when the scores are stale (a missed nightly run)
                    resources=[self.plan.function.function_arn, self.scoring.function.function_arn],
                ),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.send_queue.queue_arn]),
                # the queue is encrypted with the CMK: sending encrypts with a data key
                iam.PolicyStatement(actions=list(QUEUE_KEY_ACTIONS), resources=[key.key_arn]),
            ],
            named_services="Lambda, SQS and KMS",
            definition_body=sfn.DefinitionBody.from_string(campaign_definition(policy.max_concurrency)),
            definition_substitutions={
                PLAN_FUNCTION: self.plan.function.function_arn,
                SCORING_FUNCTION: self.scoring.function.function_arn,
                SEND_QUEUE: self.send_queue.queue_url,
            },
            key=key,
            log_retention_days=log_retention_days,
            # Every state transition, without its data: the sends are ids, but none need keeping.
            include_execution_data=False,
        )
        self.log_group, self.role, self.policy = machine.log_group, machine.role, machine.policy
        self.state_machine = machine.state_machine

        # --- schedules (practice time) ------------------------------------------------------------
        self.scoring_schedule = self._schedule(
            "ScoringSchedule",
            name=f"{stack.stack_name}-risk-scoring",
            description="Careline: score the coming visits for no-show risk, nightly",
            expression=daily_at(policy.scoring_time),
            timezone=timezone,
            target_arn=self.scoring.function.function_arn,
            action="lambda:InvokeFunction",
            job="risk_scoring",
            retries=SCORING_DELIVERY_RETRIES,
            max_age=SCORING_DELIVERY_MAX_AGE,
        )
        campaign_interval = cdk.Duration.minutes(policy.campaign_every_minutes)
        self.campaign_schedule = self._schedule(
            "CampaignSchedule",
            name=f"{stack.stack_name}-reminder-campaign",
            description="Careline: send the reminders that have come due",
            expression=every_minutes(policy.campaign_every_minutes),
            timezone=timezone,
            target_arn=self.state_machine.state_machine_arn,
            action="states:StartExecution",
            job="reminders",
            retries=FREQUENT_DELIVERY_RETRIES,
            max_age=_at_least_a_minute(campaign_interval),
        )
        self.waitlist_schedule = self._schedule(
            "WaitlistSchedule",
            name=f"{stack.stack_name}-waitlist-offers",
            description="Careline: offer freed slots to the waitlist and move on after each hold",
            expression=every_minutes(policy.waitlist.every_minutes),
            timezone=timezone,
            target_arn=self.waitlist.function.function_arn,
            action="lambda:InvokeFunction",
            job="waitlist_offers",
            retries=FREQUENT_DELIVERY_RETRIES,
            max_age=_at_least_a_minute(waitlist_interval),
        )

        # --- alarms -------------------------------------------------------------------------------
        alarms.watch_dead_letter_queue("ReminderJobs", self.job_failures)
        alarms.watch_dead_letter_queue("ReminderSend", self.send_dead_letters)
        alarms.watch_functions(
            {
                "RiskScoring": self.scoring.function,
                "ReminderPlan": self.plan.function,
                "ReminderSend": self.send.function,
                "WaitlistOffers": self.waitlist.function,
            }
        )
        alarms.watch_metric(
            self,
            "SendQueueStuck",
            self.send_queue.metric_approximate_age_of_oldest_message(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            "careline reminders: a send has waited on the send queue for over an hour; the sender is "
            "failing or throttled",
            threshold=SEND_AGE_ALARM.to_seconds(),
        )
        alarms.watch_metric(
            self,
            "CampaignFailed",
            self.state_machine.metric_failed(period=_FIVE_MINUTES, statistic="Sum"),
            "careline reminders: a campaign execution failed; its sends are planned again next run",
        )
        alarms.watch_metric(
            self,
            "CampaignTimedOut",
            self.state_machine.metric_timed_out(period=_FIVE_MINUTES, statistic="Sum"),
            "careline reminders: a campaign execution timed out; its sends are planned again next run",
        )
        alarms.watch_metric(
            self,
            "ScoringFailures",
            cloudwatch.Metric(
                namespace=POWERTOOLS_ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"],
                metric_name=SCORING_FAILURES_METRIC,
                dimensions_map={"service": POWERTOOLS_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]},
                period=cdk.Duration.hours(1),
                statistic="Sum",
            ),
            "careline reminders: the nightly scoring could not score some visits (the EHR unreachable or "
            "a record it could not read); see the risk_scoring logs",
        )

    # --- helpers ----------------------------------------------------------------------------------

    def _function(
        self,
        construct_id: str,
        name: str,
        description: str,
        environment: dict[str, str],
        *,
        timeout: cdk.Duration,
        reserved_concurrency: int,
        memory_size: int = 512,
    ) -> CarelineFunction:
        return CarelineFunction(
            self,
            construct_id,
            name=name,
            description=description,
            layers=self._layers,
            key=self._key,
            log_retention_days=self._log_retention_days,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrency=reserved_concurrency,
            environment=environment,
        )

    @staticmethod
    def _allow_ehr(function: CarelineFunction, secret_arn: str | None, secret_key_arn: str | None) -> None:
        if secret_arn:
            function.allow(["secretsmanager:GetSecretValue"], [secret_arn])
            if secret_key_arn:
                function.allow(["kms:Decrypt"], [secret_key_arn])

    def _dead_letters_to_job_failures(
        self, function: CarelineFunction, retries: int, max_age: cdk.Duration
    ) -> None:
        """A scheduled (asynchronous) invocation that still fails after `retries` lands on the job
        failure queue, with only the two KMS actions a producer needs of its key."""
        function.park_failures_on(self.job_failures, retry_attempts=retries, max_event_age=max_age)
        function.allow(QUEUE_KEY_ACTIONS, [self._key.key_arn])

    def _schedule(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        expression: str,
        timezone: str,
        target_arn: str,
        action: str,
        job: str,
        retries: int,
        max_age: cdk.Duration,
    ) -> scheduler.CfnSchedule:
        """A schedule with its own role: it may start its one target and write its dead letters."""
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"careline {name}: start its target, park what it cannot deliver",
        )
        policy = iam.ManagedPolicy(
            self,
            f"{construct_id}Policy",
            description=f"careline {name}: least-privilege grants",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=[action], resources=[target_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.job_failures.queue_arn]),
                iam.PolicyStatement(actions=list(QUEUE_KEY_ACTIONS), resources=[self._key.key_arn]),
            ],
        )
        schedule = scheduler.CfnSchedule(
            self,
            construct_id,
            name=name,
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            # Reminders are planned to the minute (quiet hours): never shifted by a flexible window.
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target_arn,
                role_arn=role.role_arn,
                # `<aws.scheduler.scheduled-time>` is filled in by Scheduler at each run.
                input=json.dumps({"job": job, "scheduled_time": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=retries,
                    maximum_event_age_in_seconds=int(max_age.to_seconds()),
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.job_failures.queue_arn
                ),
            ),
        )
        schedule.node.add_dependency(policy)
        return schedule


def _at_least_a_minute(duration: cdk.Duration) -> cdk.Duration:
    """Scheduler and Lambda keep an event at least a minute."""
    return cdk.Duration.seconds(max(60, int(duration.to_seconds())))
