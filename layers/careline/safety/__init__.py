"""The safety screen: possible emergencies and crises, caught on every turn before anything else.

`SafetyScreen().screen(text)` reads one message (`careline.safety.screen`, phrases in
`rules.yaml`); `careline.safety.evaluate` scores it on labelled messages
(`careline safety evaluate FILE.jsonl`).
"""

from careline.safety.screen import Finding, SafetyCategory, SafetyResult, SafetyScreen

__all__ = ["Finding", "SafetyCategory", "SafetyResult", "SafetyScreen"]
