"""The patient-phone page in a real headless Chromium: text about hours, see the answer appear."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import LocalRuntime, page_wait

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]


def test_a_demo_patient_texts_about_hours_and_sees_the_answer(
    local_runtime: LocalRuntime, demo_phones: list[str], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    phone = demo_phones[4]
    local_runtime.set_clock("2026-03-03T10:00:00-08:00")  # a Tuesday morning: open until 5pm
    browser.get(local_runtime.url)
    wait = page_wait(browser)
    wait.until(lambda driver: len(Select(driver.find_element(By.ID, "demo-patient")).options) > 1)

    Select(browser.find_element(By.ID, "demo-patient")).select_by_value(phone)
    browser.find_element(By.ID, "message").send_keys("hi, what are your hours today?")
    browser.find_element(By.ID, "send").click()

    reply = wait.until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "#thread .msg.practice .text"))
    )
    screenshot = tmp_path / "patient-phone.png"
    browser.save_screenshot(str(screenshot))
    assert "open now until 5pm today" in reply.text
    assert browser.find_element(By.ID, "phone-number").get_attribute("value") == phone
    sent = browser.find_elements(By.CSS_SELECTOR, "#thread .msg.patient .text")
    assert [s.text for s in sent] == ["hi, what are your hours today?"]
    assert screenshot.stat().st_size > 10_000
