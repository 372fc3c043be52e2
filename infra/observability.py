"""Alarms that page the practice's cloud engineer, on a KMS-encrypted topic."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

_FIVE_MINUTES = cdk.Duration.minutes(5)


class Alarms(Construct):
    """The alarm topic, the alarms every Careline function and DLQ gets, and any other alarm that
    pages on the topic (`watch_metric`)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, alarm_email: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Topic", display_name="Careline alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)

    def watch_function(self, name: str, function: lambda_.IFunction) -> None:
        """Any error or throttle of `function` raises an alarm."""
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            f"careline {name}: the function failed; events are retried, then parked on its DLQ",
        )
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            f"careline {name}: invocations were throttled at its reserved concurrency",
        )

    def watch_dead_letter_queue(self, name: str, queue: sqs.IQueue) -> None:
        """A message waiting on `queue` is a turn nobody answered: alarm at once."""
        self._alarm(
            f"{name}DeadLetters",
            queue.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES, statistic="Maximum"),
            f"careline {name}: messages are waiting on the dead-letter/quarantine queue",
        )

    def watch_functions(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        """`watch_function` for each of `functions`, by name."""
        for name, function in functions.items():
            self.watch_function(name, function)

    def watch_metric(
        self,
        scope: Construct,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 0,
    ) -> None:
        """An alarm in `scope` (its construct id `construct_id`) when `metric` goes over
        `threshold`, paging on this topic."""
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        self.watch_metric(self, construct_id, metric, description)
