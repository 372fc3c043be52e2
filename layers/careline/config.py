"""The practice configuration: one YAML file, validated once at load.

Errors name the bad key (`practice.timezone: unknown timezone 'Mars/Base'`), so a cloud engineer
can fix a config without reading code. The CDK app and every Lambda read the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from careline.errors import ConfigError

E164_PATTERN = r"^\+[1-9]\d{7,14}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewNumber(_Strict):
    iso_country_code: str = "US"
    number_type: Literal["TOLL_FREE", "TEN_DLC", "LONG_CODE", "SIMULATOR"] = "TOLL_FREE"
    message_type: Literal["TRANSACTIONAL", "PROMOTIONAL"] = "TRANSACTIONAL"


class SmsDeployment(_Strict):
    existing_origination_identity: str | None = None
    new_number: NewNumber = Field(default_factory=NewNumber)
    messages_per_second: int = Field(default=3, ge=1, le=1000)


class Deployment(_Strict):
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    stack_name: str = "Careline"
    retention_days: int = Field(default=2190, ge=1)
    log_retention_days: int = Field(default=365, ge=1)
    alarm_email: str | None = None
    sms: SmsDeployment = Field(default_factory=SmsDeployment)


class PracticeInfo(_Strict):
    name: str = Field(min_length=1)
    phone: str = Field(pattern=E164_PATTERN)
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


class PracticeConfig(_Strict):
    practice: PracticeInfo
    deployment: Deployment


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{key}: {err['msg']}")
    return f"invalid practice configuration {source}:\n  " + "\n  ".join(lines)


def parse_practice_config(data: Any, source: str = "<data>") -> PracticeConfig:
    """Validate already-parsed config data; raises ConfigError naming each bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid practice configuration {source}: the top level must be a mapping")
    try:
        return PracticeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_practice_config(path: str | Path) -> PracticeConfig:
    """Read and validate the practice configuration YAML at `path`."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"practice configuration not found: {p}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"practice configuration {p} is not valid YAML: {exc}") from None
    return parse_practice_config(data, str(p))
