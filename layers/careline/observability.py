"""The one Logger, Tracer and Metrics every Careline module and handler imports.

Log ids, intents, counts and reasons, never PHI: no message text, names, phone numbers or dates of
birth. Creating these objects opens no connection, so importing this module is safe anywhere.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "careline"
METRICS_NAMESPACE = "Careline"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=METRICS_NAMESPACE)

__all__ = ["METRICS_NAMESPACE", "SERVICE", "logger", "metrics", "tracer"]
