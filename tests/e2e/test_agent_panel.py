"""The agent panel in a real headless Chromium against `careline local`: a patient texts for a person
on the patient page, the front desk sees the escalation arrive, opens it (saying why), accepts,
replies (the reply reaches the patient's thread) and hands the conversation back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import LocalRuntime, page_wait

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

# A number no other e2e test texts from, so its escalation is this test's own.
PATIENT = "+15035550923"
REPLY = "Hi, this is Dana at the front desk. I can help you with that now."


def agent_api(runtime: LocalRuntime, who: str, path: str) -> tuple[int, Any]:
    """The gateway's agent API as the demo staff member `who` (the local stand-in for a token)."""
    request = urllib.request.Request(
        runtime.url + "/api/agents" + path, headers={"X-Careline-Demo-User": who}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def thread_texts(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#thread .msg.practice .text")]


def test_the_front_desk_takes_an_sms_escalation_replies_and_hands_it_back(
    local_runtime: LocalRuntime, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    local_runtime.set_clock("2026-03-03T10:00:00-08:00")  # a Tuesday morning: the front desk is in
    wait = page_wait(browser)

    # The patient asks for a person on the patient page.
    before = {e["id"] for e in local_runtime.ok("GET", "/api/escalations")["escalations"]}
    browser.get(local_runtime.url)
    patient_tab = browser.current_window_handle
    number = browser.find_element(By.ID, "phone-number")
    number.clear()
    number.send_keys(PATIENT)
    browser.find_element(By.ID, "message").send_keys("can I talk to a real person please")
    browser.find_element(By.ID, "send").click()
    wait.until(lambda d: any("front desk" in text for text in thread_texts(d)))
    (escalation,) = [
        e for e in local_runtime.ok("GET", "/api/escalations")["escalations"] if e["id"] not in before
    ]
    assert (escalation["reason"], escalation["queue"]) == ("human_requested", "front_desk")

    # The front desk signs in on the agent panel and sees it arrive.
    browser.switch_to.new_window("tab")
    agent_tab = browser.current_window_handle
    browser.get(local_runtime.url + "/agents")
    Select(wait.until(lambda d: d.find_element(By.ID, "demo-user"))).select_by_value("dana.frontdesk")
    browser.find_element(By.ID, "local-sign-in-button").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "who-name"), "dana.frontdesk"))
    row = wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#escalations tr[data-escalation-id="{escalation["id"]}"]')
    )
    assert "human requested" in row.text
    assert "front desk" in row.text

    # Opening it asks why first; then the summary, identity and the conversation show.
    row.find_element(By.CSS_SELECTOR, "[data-testid=open-escalation]").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "queue-status"), "Choose why"))
    Select(browser.find_element(By.ID, "why")).select_by_value("accepting")
    row = browser.find_element(By.CSS_SELECTOR, f'#escalations tr[data-escalation-id="{escalation["id"]}"]')
    row.find_element(By.CSS_SELECTOR, "[data-testid=open-escalation]").click()
    summary = wait.until(expected_conditions.visibility_of_element_located((By.ID, "detail-summary")))
    assert "talk to a person" in summary.text
    assert "can I talk to a real person please" in summary.text
    assert browser.find_element(By.ID, "detail-verification").text == "not verified"
    patient_lines = browser.find_elements(By.CSS_SELECTOR, "#transcript li.patient .text")
    assert [line.text for line in patient_lines] == ["can I talk to a real person please"]
    assert browser.find_element(By.ID, "reply-send").get_attribute("disabled") is not None

    # Accept, then reply by text.
    browser.find_element(By.ID, "accept").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "detail-status"), "accepted"))
    assert "dana.frontdesk" in browser.find_element(By.ID, "detail-owner").text
    browser.find_element(By.ID, "reply-text").send_keys(REPLY)
    browser.find_element(By.ID, "reply-send").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "detail-note"), "Sent by text"))
    staff_lines = browser.find_elements(By.CSS_SELECTOR, "#transcript li.staff .text")
    assert [line.text for line in staff_lines] == [REPLY]
    # the escalation has left the queue: it is taken
    wait.until(
        lambda d: (
            not d.find_elements(By.CSS_SELECTOR, f'#escalations tr[data-escalation-id="{escalation["id"]}"]')
        )
    )

    # The reply reaches the patient's thread.
    browser.switch_to.window(patient_tab)
    wait.until(lambda d: REPLY in thread_texts(d))

    # The patient writes again: Careline stays silent, the message waits for the front desk.
    replies_before = len(thread_texts(browser))
    assert local_runtime.text(PATIENT, "thanks, I need to change my address") == []

    # Back on the panel, a refresh shows it; then hand the conversation back to Careline.
    browser.switch_to.window(agent_tab)
    browser.find_element(By.ID, "refresh").click()
    wait.until(
        lambda d: (
            "thanks, I need to change my address"
            in [line.text for line in d.find_elements(By.CSS_SELECTOR, "#transcript li.patient .text")]
        )
    )
    browser.find_element(By.ID, "hand-back").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "detail-status"), "closed"))
    assert "Handed back to Careline" in browser.find_element(By.ID, "detail-note").text
    browser.save_screenshot(str(tmp_path / "agent-panel.png"))

    # The patient is told, and Careline answers again.
    browser.switch_to.window(patient_tab)
    wait.until(
        lambda d: (
            len(thread_texts(d)) > replies_before
            and "Thanks for talking with our team" in thread_texts(d)[-1]
        )
    )
    assert local_runtime.text(PATIENT, "what are your hours today?")


def test_each_group_sees_only_its_queues_through_the_gateway(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock("2026-03-03T10:00:00-08:00")
    local_runtime.text("+15035550924", "can I talk to a real person please")
    front_desk = agent_api(local_runtime, "front_desk", "/escalations")[1]["escalations"]
    nurse = agent_api(local_runtime, "nurse", "/escalations")[1]["escalations"]
    assert front_desk
    assert {e["queue"] for e in front_desk} == {"front_desk"}
    assert not {e["escalation_id"] for e in front_desk} & {e["escalation_id"] for e in nurse}
    item = front_desk[-1]
    path = f"/escalations/{item['party_id']}/{item['escalation_id']}?why=accepting"
    status, body = agent_api(local_runtime, "nurse", path)
    assert status == 403
    assert "front_desk queue" in body["error"]
    assert agent_api(local_runtime, "nobody", "/escalations")[0] == 401
