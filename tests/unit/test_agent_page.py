"""The agent panel page: one document, its script and style admitted by hash, no data in it."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from careline.agents.page import DemoStaff, PanelSettings, render_panel

COGNITO = PanelSettings(
    mode="cognito",
    api_base="/panel",
    timezone="America/Los_Angeles",
    auth_domain="https://careline-111122223333.auth.us-west-2.amazoncognito.com",
    client_id="abc123",
    redirect_uri="https://a1b2c3.execute-api.us-west-2.amazonaws.com/panel/",
)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_policy_admits_exactly_the_inline_script_and_style() -> None:
    page = render_panel(COGNITO)
    scripts = re.findall(r"<script>(.*?)</script>", page.html, flags=re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", page.html, flags=re.DOTALL)
    assert len(scripts) == 1
    assert len(styles) == 1
    policy = dict(part.split(" ", 1) for part in page.content_security_policy.split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _hash(scripts[0])
    assert policy["style-src"] == _hash(styles[0])
    assert policy["connect-src"] == f"'self' {COGNITO.auth_domain}"
    assert "https://*.my.connect.aws" in policy["frame-ancestors"]
    assert page.headers()["Content-Security-Policy"] == page.content_security_policy


def test_the_page_carries_its_sign_in_settings_and_nothing_else() -> None:
    page = render_panel(COGNITO)
    block = re.search(r'<script type="application/json" id="panel-config">(.*?)</script>', page.html)
    assert block is not None
    assert json.loads(block.group(1)) == {
        "mode": "cognito",
        "api_base": "/panel",
        "timezone": "America/Los_Angeles",
        "cognito": {
            "domain": COGNITO.auth_domain,
            "client_id": "abc123",
            "redirect_uri": COGNITO.redirect_uri,
        },
    }


def test_the_local_page_offers_the_demo_staff_and_cannot_be_broken_out_of() -> None:
    local = PanelSettings(
        mode="local",
        api_base="/api/agents",
        demo_staff=(DemoStaff("nina.nurse", "Nina </script><b>", "nurse"),),
        frame_ancestors=(),
    )
    page = render_panel(local)
    assert "</script><b>" not in page.html
    block = re.search(r'id="panel-config">(.*?)</script>', page.html)
    assert block is not None
    assert json.loads(block.group(1))["users"] == [
        {"username": "nina.nurse", "name": "Nina </script><b>", "group": "nurse"}
    ]
    assert "frame-ancestors 'self'" in page.content_security_policy
