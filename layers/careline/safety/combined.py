"""The safety screen patients get: the rules first, then the learned second reading.

The rules (`screen.RuleScreen`) decide whenever one fires: they name what they read and their
category is the more reliable one. When none fires, the second reading (`learned.LinearModel`)
looks at the whole message; if it finds an emergency or a crisis likely (at or above the
threshold it was trained with), the message is flagged in the category it finds likelier, with
the rule name `second_reading`. A guard that stopped a rule ("no chest pain", "last year") does
not stop the second reading: it learned those contexts too, and a wrong guard must not silence
both readings.
"""

from __future__ import annotations

from typing import Final

from careline.safety.learned import LinearModel, default_model, features_of
from careline.safety.screen import Finding, RuleScreen, SafetyCategory, SafetyResult

SECOND_READING: Final = "second_reading"


class SafetyScreen:
    """`screen(text)` -> emergency, crisis or none, and what decided it (rule names only)."""

    def __init__(self, rules: RuleScreen | None = None, second_reading: LinearModel | None = None) -> None:
        self._rules = rules or RuleScreen()
        self._second = second_reading or default_model()

    def screen(self, text: str) -> SafetyResult:
        """Screen one message's raw text (any channel: SMS as typed, calls as transcribed)."""
        result, view = self._rules.screen_and_read(text)
        if result.flagged:
            return result
        reading = self._second.read_features(features_of(view))
        if not reading.flagged:
            return result
        return SafetyResult(
            category=reading.category,
            rule=SECOND_READING,
            rules=(SECOND_READING,),
            crisis_signal=reading.category is SafetyCategory.CRISIS,
        )

    def explain(self, text: str) -> list[Finding]:
        """Every rule that matched (fired or stopped by a guard), then the second reading if it fired."""
        found = self._rules.explain(text)
        if any(f.fired for f in found):
            return found
        reading = self._second.read(text)
        if reading.flagged:
            found.append(Finding(SECOND_READING, reading.category, True))
        return found
