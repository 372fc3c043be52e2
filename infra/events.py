"""Careline's own EventBridge bus, where every function publishes its domain events."""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct

BUS_NAME = "careline"


class DomainEventBus(Construct):
    """The custom `careline` bus (event schemas in `events/`)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=BUS_NAME, description="Careline domain events")
