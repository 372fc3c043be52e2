"""The patient page's call mode in a real headless Chromium: call, speak, key a date of birth on the
keypad, text mid-call, hang up."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import LocalRuntime, page_wait

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

SPOKEN = "#call-log .msg.practice .text"


def spoken(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, SPOKEN)]


def wait_for_spoken(wait: WebDriverWait[webdriver.Chrome], count: int) -> list[str]:
    """The practice's lines once there are `count` of them."""
    lines: list[str] = wait.until(lambda d: (found := spoken(d)) and len(found) >= count and found)
    return lines


def key(driver: webdriver.Chrome, digit: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#keypad [data-key="{digit}"]')


def test_a_caller_speaks_keys_a_date_of_birth_texts_mid_call_and_hangs_up(
    local_runtime: LocalRuntime, demo_phones: list[str], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    maria = demo_phones[0]  # Maria Lopez, born 1984-03-14, a follow-up with Dr. Chen
    local_runtime.set_clock("2026-03-03T10:00:00-08:00")  # a Tuesday morning: open until 5pm
    browser.get(local_runtime.url)
    wait = page_wait(browser)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "demo-patient")).options) > 1)
    Select(browser.find_element(By.ID, "demo-patient")).select_by_value(maria)
    assert browser.find_element(By.ID, "say-text").get_attribute("disabled") is not None

    browser.find_element(By.ID, "call-button").click()
    [greeting] = wait_for_spoken(wait, 1)
    assert greeting.startswith("Thank you for calling Riverbend Family Medicine.")
    assert browser.find_element(By.ID, "call-button").text == "Hang up"

    browser.find_element(By.ID, "say-text").send_keys("what are your hours today")
    browser.find_element(By.ID, "say-button").click()
    assert wait_for_spoken(wait, 2)[-1] == "We are open now, until 5pm today."

    browser.find_element(By.ID, "say-text").send_keys("when is my appointment")
    browser.find_element(By.ID, "say-button").click()
    assert "date of birth" in wait_for_spoken(wait, 3)[-1]

    for digit in "03141984":
        key(browser, digit).click()
    assert browser.find_element(By.ID, "dtmf-digits").text == "03141984"
    key(browser, "#").click()
    visits = wait_for_spoken(wait, 4)[-1]
    assert "Dr. Chen" in visits
    said = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#call-log .msg.patient .text")]
    assert said == ["what are your hours today", "when is my appointment", "03141984"]
    assert browser.find_element(By.ID, "dtmf-digits").text == ""

    # the SMS side still works while the call is on
    browser.find_element(By.ID, "message").send_keys("are you open today?")
    browser.find_element(By.ID, "send").click()
    reply = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#thread .msg.practice .text"))
    assert "open now until 5pm today" in reply[-1].text
    assert browser.find_element(By.ID, "call-button").text == "Hang up"

    browser.save_screenshot(str(tmp_path / "call-mode.png"))
    browser.find_element(By.ID, "call-button").click()
    wait.until(lambda d: d.find_element(By.ID, "call-button").text == "Call")
    notes = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#call-log .msg.note")]
    assert notes == ["You hung up."]
    assert browser.find_element(By.ID, "say-text").get_attribute("disabled") is not None
    assert key(browser, "1").get_attribute("disabled") is not None
    assert (tmp_path / "call-mode.png").stat().st_size > 10_000
