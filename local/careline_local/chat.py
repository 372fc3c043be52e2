"""`careline chat`: text the local runtime from a terminal, as one phone number; or, with
`--voice`, call it.

Each line typed is sent through the gateway's `POST /api/sms`; the replies print below it.
Lines starting with `/` are commands: `/advance 2h`, `/clock`, `/job NAME`, `/quit`.

On a call (`--voice`) the call starts with `POST /api/voice/calls` and prints the greeting; each
line is what the caller says (`POST /api/voice/calls/<id>/say`, a Speech turn), a line starting
with `#` is keypad input (`#03141984` sends the digits 03141984 as one DTMF turn), and `/hangup`
hangs up. What Lex would say prints below, then any transfer and any text sent to a phone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

HELP = "Type a message and press Enter. Commands: /advance 2h, /clock, /job NAME, /quit"
VOICE_HELP = (
    "Say something and press Enter; #03141984 presses keys. Commands: /hangup, /advance 2h, /clock, /job NAME"
)


class GatewayError(RuntimeError):
    pass


class GatewayClient:
    def __init__(self, base_url: str, timeout_seconds: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the local gateway's
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
            raise GatewayError(f"{exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise GatewayError(
                f"cannot reach {self.base_url} ({exc.reason}); is `careline local` running?"
            ) from None


def _command(client: GatewayClient, line: str) -> bool:
    """Run a `/command`; returns False when the user wants to leave."""
    name, _, arg = line[1:].partition(" ")
    if name in {"quit", "exit", "q"}:
        return False
    if name == "clock":
        print(f"  clock: {client.call('GET', '/api/clock')['local']}")
    elif name == "advance" and arg:
        print(f"  clock: {client.call('POST', '/api/clock', {'advance': arg.strip()})['local']}")
    elif name == "job" and arg:
        report = client.call("POST", f"/api/jobs/{arg.strip()}")
        print(f"  job {report['job']}: {report['summary']}")
        for message in report["sent"]:
            print(f"  sent to {message['to']}: {message['text']}")
    else:
        print(f"  {HELP}")
    return True


def chat(phone: str, url: str) -> int:
    client = GatewayClient(url)
    try:
        client.call("GET", "/api/health")
    except GatewayError as exc:
        print(f"careline chat: {exc}")
        return 1
    print(f"Texting the practice as {phone} via {url}. {HELP}")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        try:
            if line.startswith("/"):
                if not _command(client, line):
                    return 0
                continue
            result = client.call("POST", "/api/sms", {"from": phone, "text": line})
        except GatewayError as exc:
            print(f"  error: {exc}")
            continue
        if not result["replies"]:
            print("  (no reply)")
        for reply in result["replies"]:
            print(f"practice> {reply['text']}")


def _print_turn(result: dict[str, Any], phone: str) -> None:
    """What Lex would say, then texts sent to a phone, then how the call ended."""
    if not result["spoken"]:
        print("  (Lex says nothing)")
    for line in result["spoken"]:
        print(f"practice> {line}")
    for message in result.get("sms", []):
        whose = "your phone" if message["to"] == phone else message["to"]
        print(f"  text to {whose}: {message['text']}")
    if result.get("transfer_queue"):
        print(f"  (transferred to the {result['transfer_queue']} queue; the call leaves Lex)")
    elif result.get("ended"):
        print("  (the practice ended the call)")


def call(phone: str, url: str) -> int:
    """`careline chat --voice`: one phone call, in the terminal."""
    client = GatewayClient(url)
    try:
        started = client.call("POST", "/api/voice/calls", {"from": phone})
    except GatewayError as exc:
        print(f"careline chat: {exc}")
        return 1
    call_id = started["call_id"]
    after_hours = " (after hours)" if started.get("after_hours") else ""
    print(f"Calling the practice as {phone} via {url}{after_hours}. {VOICE_HELP}")
    print(f"practice> {started['greeting']}")
    while True:
        try:
            line = input("caller> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            line = "/hangup"
        if not line:
            continue
        try:
            if line in {"/hangup", "/quit", "/exit", "/q"}:
                client.call("POST", f"/api/voice/calls/{call_id}/hangup", {})
                print("  (you hung up)")
                return 0
            if line.startswith("/"):
                _command(client, line)
                continue
            if line.startswith("#"):
                digits = line[1:].replace(" ", "")
                result = client.call("POST", f"/api/voice/calls/{call_id}/say", {"dtmf": digits})
            else:
                result = client.call("POST", f"/api/voice/calls/{call_id}/say", {"text": line})
        except GatewayError as exc:
            print(f"  error: {exc}")
            if exc.args and str(exc.args[0]).startswith("409"):
                return 0  # the call has ended
            continue
        _print_turn(result, phone)
        if result["ended"]:
            return 0
