"""Careline's own EventBridge bus, where every function publishes its domain events."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

BUS_NAME = "careline"


class DomainEventBus(Construct):
    """The custom `careline` bus, encrypted at rest with the practice's key.

    Domain events carry ids and reasons, never PHI, but the bus is the practice's record of what
    Careline did, so it is held to the same key as everything else.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=BUS_NAME, description="Careline domain events", kms_key=key
        )
