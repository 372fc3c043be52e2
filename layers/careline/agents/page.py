"""The agent panel's web page: one HTML document with its script and style inline.

One document, so it is served by a single route wherever it lives (the agent API's `GET /` in
AWS, the local gateway's `/agents`) and works inside the Connect agent workspace as a third-party
app. Its Content-Security-Policy admits exactly the inline script and style by hash, the API on
the same origin, and the Cognito sign-in domain. The page holds no data: it fetches everything
from the API, signed in.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

# Amazon Connect's agent workspace frames third-party apps from these origins.
CONNECT_WORKSPACE_ORIGINS = ("https://*.my.connect.aws", "https://*.awsapps.com")


@dataclass(frozen=True)
class DemoStaff:
    """A local runtime's demo staff member (no Cognito locally)."""

    username: str
    name: str
    group: str


@dataclass(frozen=True)
class PanelSettings:
    """How the page signs in and where the API is.

    `mode` "cognito": the Cognito managed login (authorization code + PKCE) at `auth_domain` for
    app client `client_id`, coming back to `redirect_uri` (the page's own address). `mode`
    "local": pick one of `demo_staff`. `api_base`: the API's path on the page's origin.
    """

    mode: Literal["cognito", "local"]
    api_base: str
    timezone: str | None = None
    auth_domain: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    demo_staff: tuple[DemoStaff, ...] = ()
    frame_ancestors: tuple[str, ...] = field(default=CONNECT_WORKSPACE_ORIGINS)

    def page_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"mode": self.mode, "api_base": self.api_base, "timezone": self.timezone}
        if self.mode == "cognito":
            config["cognito"] = {
                "domain": self.auth_domain,
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
            }
        else:
            config["users"] = [
                {"username": s.username, "name": s.name, "group": s.group} for s in self.demo_staff
            ]
        return config


@dataclass(frozen=True)
class RenderedPage:
    html: str
    content_security_policy: str

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": self.content_security_policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }


@cache
def _asset(name: str) -> str:
    return resources.files("careline.agents").joinpath("web", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render_panel(settings: PanelSettings) -> RenderedPage:
    """The page for `settings`, with a CSP that admits nothing but what it holds and calls."""
    script, style = _asset("panel.js"), _asset("panel.css")
    # `</` cannot end the data block early: JSON allows the escaped slash
    config = json.dumps(settings.page_config()).replace("</", "<\\/")
    html = (
        _asset("panel.html")
        .replace("{{config}}", config)
        .replace("{{style}}", style)
        .replace("{{script}}", script)
    )
    connect = ["'self'"]
    form_action = ["'self'"]
    if settings.mode == "cognito" and settings.auth_domain:
        connect.append(settings.auth_domain)
        form_action.append(settings.auth_domain)
    ancestors = " ".join(("'self'", *settings.frame_ancestors))
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            f"connect-src {' '.join(connect)}",
            "img-src 'self' data:",
            "base-uri 'none'",
            f"form-action {' '.join(form_action)}",
            f"frame-ancestors {ancestors}",
        ]
    )
    return RenderedPage(html=html, content_security_policy=policy)
