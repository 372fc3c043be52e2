"""`careline local`'s reminder jobs through its API, and the page's Reminders section in Chromium.

The demo practice is seeded relative to the real date, so the clock is set to 11pm practice time
today: the nightly scoring finds the demo visits of the next two weeks, and the campaign, run in
quiet hours, sends nothing (so the other tests sharing this runtime see no reminder texts).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.e2e.conftest import LocalRuntime, page_wait

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

PRACTICE = ZoneInfo("America/Los_Angeles")
# demo visits within the scoring horizon (config/demo_patients.yaml: in 1, 3 and 8 days)
DEMO_VISITS = {"demo-priya-sick", "demo-maria-followup", "demo-james-physical"}


def _tonight() -> str:
    return datetime.now(PRACTICE).replace(hour=23, minute=0, second=0, microsecond=0).isoformat()


def test_the_jobs_score_the_demo_visits_and_send_nothing_in_quiet_hours(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(_tonight())

    scored = local_runtime.ok("POST", "/api/jobs/risk_scoring")
    campaign = local_runtime.ok("POST", "/api/jobs/reminders")
    backfill = local_runtime.ok("POST", "/api/jobs/waitlist")
    shown = local_runtime.ok("GET", "/api/reminders")

    assert scored["counts"]["scored"] >= len(DEMO_VISITS)
    assert scored["counts"]["failed"] == 0
    assert campaign["counts"]["sent"] == 0
    assert campaign["sent"] == []
    assert campaign["emails"] == []
    assert backfill["counts"]["offered"] == 0
    watched = {v["appointment_id"]: v for v in shown["visits"]}
    assert set(watched) >= DEMO_VISITS
    assert {v["tier"] for v in watched.values()} <= {"low", "medium", "high"}
    assert all(0 <= v["probability"] <= 1 for v in watched.values())
    # nothing has settled yet tonight: every tier is listed, with no rate before a visit's day
    rows = {row["tier"]: row for row in shown["no_show_by_tier"]}
    assert set(rows) == {v["tier"] for v in shown["visits"]}
    assert all(row["no_show_rate"] is None for row in rows.values())


def test_the_page_lists_the_watched_visits_with_their_tiers(
    local_runtime: LocalRuntime, browser: webdriver.Chrome
) -> None:
    local_runtime.set_clock(_tonight())
    local_runtime.ok("POST", "/api/jobs/risk_scoring")
    visits = local_runtime.ok("GET", "/api/reminders")["visits"]

    browser.get(local_runtime.url)
    wait = page_wait(browser)
    rows = wait.until(
        lambda driver: (
            [
                row.text
                for row in driver.find_elements(By.CSS_SELECTOR, "#watched-visits tr")
                if "demo-" in row.text
            ]
            or False
        )
    )

    # other tests on this runtime may have booked visits of their own: the demo ones are checked
    assert len(rows) == len([v for v in visits if v["appointment_id"].startswith("demo-")])
    priya = next(row for row in rows if "demo-priya-sick" in row)
    tier = next(v["tier"] for v in visits if v["appointment_id"] == "demo-priya-sick")
    assert tier in priya
    assert browser.find_element(By.ID, "reminders-title").text == "Reminders"
    assert "Run reminders" in browser.find_element(By.ID, "jobs").text
