"""The patient page's call mode in a real headless Chromium: call, speak, key a date of birth on the
keypad, text mid-call, hang up."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import LocalRuntime
from tests.e2e.test_patient_page import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

SPOKEN = "#call-log .msg.practice .text"


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Chromium and its driver are needed at {CHROMIUM} and {CHROMEDRIVER}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must install Debian's chromium and chromium-driver)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def spoken(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, SPOKEN)]


def wait_for_spoken(wait: WebDriverWait[webdriver.Chrome], count: int) -> list[str]:
    """The practice's lines once there are `count` of them."""
    lines: list[str] = wait.until(lambda d: (found := spoken(d)) and len(found) >= count and found)
    return lines


def key(driver: webdriver.Chrome, digit: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#keypad [data-key="{digit}"]')


def test_a_caller_speaks_keys_a_date_of_birth_texts_mid_call_and_hangs_up(
    local_runtime: LocalRuntime, demo_phones: list[str], chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    maria = demo_phones[0]  # Maria Lopez, born 1984-03-14, a follow-up with Dr. Chen
    local_runtime.set_clock("2026-03-03T10:00:00-08:00")  # a Tuesday morning: open until 5pm
    chromium.get(local_runtime.url)
    wait = WebDriverWait(chromium, 20)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "demo-patient")).options) > 1)
    Select(chromium.find_element(By.ID, "demo-patient")).select_by_value(maria)
    assert chromium.find_element(By.ID, "say-text").get_attribute("disabled") is not None

    chromium.find_element(By.ID, "call-button").click()
    [greeting] = wait_for_spoken(wait, 1)
    assert greeting.startswith("Thank you for calling Riverbend Family Medicine.")
    assert chromium.find_element(By.ID, "call-button").text == "Hang up"

    chromium.find_element(By.ID, "say-text").send_keys("what are your hours today")
    chromium.find_element(By.ID, "say-button").click()
    assert wait_for_spoken(wait, 2)[-1] == "We are open now, until 5pm today."

    chromium.find_element(By.ID, "say-text").send_keys("when is my appointment")
    chromium.find_element(By.ID, "say-button").click()
    assert "date of birth" in wait_for_spoken(wait, 3)[-1]

    for digit in "03141984":
        key(chromium, digit).click()
    assert chromium.find_element(By.ID, "dtmf-digits").text == "03141984"
    key(chromium, "#").click()
    visits = wait_for_spoken(wait, 4)[-1]
    assert "Dr. Chen" in visits
    said = [e.text for e in chromium.find_elements(By.CSS_SELECTOR, "#call-log .msg.patient .text")]
    assert said == ["what are your hours today", "when is my appointment", "03141984"]
    assert chromium.find_element(By.ID, "dtmf-digits").text == ""

    # the SMS side still works while the call is on
    chromium.find_element(By.ID, "message").send_keys("are you open today?")
    chromium.find_element(By.ID, "send").click()
    reply = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#thread .msg.practice .text"))
    assert "open now until 5pm today" in reply[-1].text
    assert chromium.find_element(By.ID, "call-button").text == "Hang up"

    chromium.save_screenshot(str(tmp_path / "call-mode.png"))
    chromium.find_element(By.ID, "call-button").click()
    wait.until(lambda d: d.find_element(By.ID, "call-button").text == "Call")
    notes = [e.text for e in chromium.find_elements(By.CSS_SELECTOR, "#call-log .msg.note")]
    assert notes == ["You hung up."]
    assert chromium.find_element(By.ID, "say-text").get_attribute("disabled") is not None
    assert key(chromium, "1").get_attribute("disabled") is not None
    assert (tmp_path / "call-mode.png").stat().st_size > 10_000
