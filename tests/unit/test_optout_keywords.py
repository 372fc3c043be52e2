"""Carrier keywords match the whole message only, with case, spaces and punctuation forgiven."""

from __future__ import annotations

import pytest
from careline.conversation.optout import Keyword, match_keyword


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " stop ",
        "Stop.",
        "STOP!!",
        "StopAll",
        "UNSUBSCRIBE",
        "cancel",
        "Cancel.",
        "end",
        "QUIT",
        "optout",
        "OPT OUT",
        "opt-out",
        "Opt  out!",
        "revoke",
        "\tstop\n",
        "'stop'",
    ],
)
def test_opt_out_keywords(text: str) -> None:
    assert match_keyword(text) is Keyword.OPT_OUT


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", " INFO. "])
def test_help_keywords(text: str) -> None:
    assert match_keyword(text) is Keyword.HELP


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "SUBSCRIBE!"])
def test_opt_in_keywords(text: str) -> None:
    assert match_keyword(text) is Keyword.OPT_IN


@pytest.mark.parametrize(
    "text",
    [
        "please stop calling my mom",
        "cancel my appointment",
        "i need help with my bill",
        "stop it",
        "when does the office end today",
        "start time of my appt?",
        "stopp",
        "",
        "...",
    ],
)
def test_a_keyword_inside_a_sentence_is_not_a_keyword(text: str) -> None:
    assert match_keyword(text) is None
