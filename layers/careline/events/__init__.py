"""Domain events out: Careline's EventBridge bus in AWS, a recording bus locally."""

from careline.events.bus import EventBridgeBus, EventPublishError, RecordingEventBus

__all__ = ["EventBridgeBus", "EventPublishError", "RecordingEventBus"]
