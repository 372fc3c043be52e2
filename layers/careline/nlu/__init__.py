"""Intent classification: a small local classifier over the one bot model file (`bot_model.yaml`)."""

from careline.nlu.classifier import INTENTS, Interpretation, LocalClassifier, classify, parse_yes_no

__all__ = ["INTENTS", "Interpretation", "LocalClassifier", "classify", "parse_yes_no"]
