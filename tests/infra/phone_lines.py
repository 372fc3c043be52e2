"""The phone-line deployments the infra tests synthesize: the sample's own, and one brought."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesis import ACCOUNT, REGION

BROUGHT_INSTANCE_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
BROUGHT_INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{BROUGHT_INSTANCE_ID}"
BROUGHT_PHONE_NUMBER_ARN = (
    f"arn:aws:connect:{REGION}:{ACCOUNT}:phone-number/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

# No phone line: SMS only (the Lex bot is still built, with no code hook).
SMS_ONLY: dict[str, Any] = {"enabled": False}
# The sample practice's phone line: a new Connect instance and a new toll-free number.
NEW_INSTANCE: dict[str, Any] = {"enabled": True}
# The practice's own Connect instance and number, with flow logs on.
BROUGHT_INSTANCE: dict[str, Any] = {
    "enabled": True,
    "existing_instance_arn": BROUGHT_INSTANCE_ARN,
    "existing_phone_number_arn": BROUGHT_PHONE_NUMBER_ARN,
    "flow_logs": True,
}
