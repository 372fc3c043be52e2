"""The safety screen: possible emergencies and crises, caught on every turn before anything else.

`SafetyScreen().screen(text)` reads one message twice (`careline.safety.combined`): by the rules
(`careline.safety.screen`, phrases in `rules.yaml`) and, when no rule fires, by a small learned
model (`careline.safety.learned`, weights in `model.json`). `careline.safety.evaluate` scores it
on labelled messages (`careline safety evaluate FILE.jsonl`); `careline safety train` retrains
the model from the labelled corpus in `data/safety/`.
"""

from careline.safety.combined import SECOND_READING, SafetyScreen
from careline.safety.screen import Finding, RuleScreen, SafetyCategory, SafetyResult

__all__ = ["SECOND_READING", "Finding", "RuleScreen", "SafetyCategory", "SafetyResult", "SafetyScreen"]
