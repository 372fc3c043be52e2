"""The safety screen: possible emergencies and crises, caught on every turn before anything else."""

from careline.safety.screen import SafetyCategory, SafetyResult, SafetyScreen

__all__ = ["SafetyCategory", "SafetyResult", "SafetyScreen"]
