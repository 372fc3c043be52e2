"""`encrypted_queue`: an SQS queue as every Careline queue is, encrypted with the CMK, TLS only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# What a dead-letter queue keeps: SQS's longest, for a person to look at and redrive.
DEAD_LETTER_RETENTION = cdk.Duration.days(14)


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: cdk.Duration = DEAD_LETTER_RETENTION,
    visibility_timeout: cdk.Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """A queue in `scope` encrypted with `key`, refusing plain HTTP, keeping messages `retention`."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        # Reused data keys keep KMS calls (and cost) down.
        data_key_reuse=cdk.Duration.hours(1),
        enforce_ssl=True,
        retention_period=retention,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
    )
