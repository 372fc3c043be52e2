"""A pytest plugin that proves the suite's logs hold no patient identifiers.

Every test's captured stdout, stderr and log records, and every file the local runtime writes under
`CARELINE_LOG_DIR` during the session, are scanned for the names, phone numbers and dates of birth
of every patient this repository seeds or its tests text as (`config/demo_patients.yaml`, the
scenarios' `patients`, and `tests/fixtures/patients.yaml` for the numbers and names the unit and
integration tests use).
A hit fails the session and names where it was found, never the value itself.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = [
    ROOT / "config" / "demo_patients.yaml",
    ROOT / "tests" / "fixtures" / "patients.yaml",
    *sorted((ROOT / "tests" / "scenarios").rglob("*.yaml")),
]


@dataclass(frozen=True)
class Identifier:
    kind: str  # "name" | "phone" | "birth date"
    pattern: re.Pattern[str]


def _walk_patients(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        has_birth_date = any(k in node for k in ("birthDate", "birth_date", "dob"))
        has_phone = len(re.sub(r"\D", "", str(node.get("phone", "")))) >= 10
        if (has_birth_date and "name" in node) or has_phone:
            yield node
        for value in node.values():
            yield from _walk_patients(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_patients(item)


def _phone_patterns(phone: str) -> list[re.Pattern[str]]:
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return [re.compile(re.escape(phone))]
    area, exch, line = digits[:3], digits[3:6], digits[6:]
    # +15035550142, 5035550142, (503) 555-0142, 503-555-0142, 503.555.0142
    sep = r"[\s.\-]?"
    return [re.compile(rf"(?<!\d)(?:\+?1{sep})?\(?{area}\)?{sep}{exch}{sep}{line}(?!\d)")]


def _dob_patterns(value: Any) -> list[re.Pattern[str]]:
    d = value if isinstance(value, date) else date.fromisoformat(str(value))
    month_name = d.strftime("%B")
    return [
        re.compile(re.escape(d.isoformat())),
        re.compile(rf"(?<!\d)0?{d.month}[/-]0?{d.day}[/-](?:{d.year}|{d.year % 100:02d})(?!\d)"),
        re.compile(rf"(?i){month_name}\s+{d.day}(?:st|nd|rd|th)?,?\s+{d.year}"),
    ]


def _name_patterns(name: str) -> list[re.Pattern[str]]:
    parts = [p for p in re.split(r"\s+", name.strip()) if p]
    patterns = [re.compile(rf"(?i)\b{re.escape(name.strip())}\b")]
    family = parts[-1] if parts else ""
    if len(family) >= 4:
        patterns.append(re.compile(rf"\b{re.escape(family)}\b"))
    return patterns


def seeded_identifiers() -> list[Identifier]:
    """Every identifier of every patient the repository seeds, as search patterns."""
    found: list[Identifier] = []
    for path in SEED_FILES:
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for patient in _walk_patients(data):
            name = patient.get("name")
            if isinstance(name, dict):  # {given, family}
                name = " ".join(str(v) for v in (name.get("given"), name.get("family")) if v)
            if name:
                found += [Identifier("name", p) for p in _name_patterns(str(name))]
            for key in ("phone", "mobile", "telecom"):
                if len(re.sub(r"\D", "", str(patient.get(key, "")))) >= 10:
                    found += [Identifier("phone", p) for p in _phone_patterns(str(patient[key]))]
            for key in ("birthDate", "birth_date", "dob"):
                if patient.get(key):
                    found += [Identifier("birth date", p) for p in _dob_patterns(patient[key])]
    return found


class PhiGuard:
    def __init__(self) -> None:
        self.identifiers = seeded_identifiers()
        self.hits: list[str] = []
        self.scanned_chunks = 0
        self.log_dir = Path(tempfile.mkdtemp(prefix="careline-logs-"))
        os.environ["CARELINE_LOG_DIR"] = str(self.log_dir)

    def scan(self, where: str, text: str) -> None:
        if not text:
            return
        self.scanned_chunks += 1
        for ident in self.identifiers:
            if ident.pattern.search(text):
                self.hits.append(f"{where}: a seeded patient's {ident.kind}")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for section, content in report.sections:
            if section.startswith("Captured"):
                self.scan(f"{report.nodeid} [{section}]", content)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(session.config, "workerinput"):
            return  # workers' reports reach the controller, which scans them
        for path in sorted(self.log_dir.rglob("*")):
            if path.is_file():
                self.scan(str(path), path.read_text(encoding="utf-8", errors="replace"))
        if self.hits:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if self.hits:
            tr.section("PHI in logs", red=True)
            for hit in sorted(set(self.hits)):
                tr.line(hit)
        else:
            tr.line(
                f"phi-guard: {len(self.identifiers)} seeded identifiers, "
                f"{self.scanned_chunks} captured outputs and log files scanned, no PHI found"
            )


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(PhiGuard(), "careline-phi-guard")
