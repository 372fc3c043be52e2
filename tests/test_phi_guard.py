"""The log guard must recognise a seeded identifier in the forms logs would show it."""

from __future__ import annotations

import pytest

from tests.phi_guard import ROOT, _dob_patterns, _name_patterns, _phone_patterns


def test_phone_is_found_in_national_and_e164_forms() -> None:
    (pattern,) = _phone_patterns("+15035550142")
    for text in ("to=+15035550142", "call (503) 555-0142", "503.555.0142", "5035550142"):
        assert pattern.search(text), text
    assert not pattern.search("+150355501420")
    assert not pattern.search("party PARTY#a1b2c3")


def test_birth_date_is_found_in_iso_us_and_spelled_forms() -> None:
    patterns = _dob_patterns("1984-03-14")
    for text in ("dob 1984-03-14", "born 3/14/84", "03-14-1984", "March 14th, 1984"):
        assert any(p.search(text) for p in patterns), text
    assert not any(p.search("2026-03-14 and 1984") for p in patterns)


def test_full_and_family_name_are_found_but_not_inside_other_words() -> None:
    patterns = _name_patterns("Maria Lopez")
    assert any(p.search("patient maria lopez verified") for p in patterns)
    assert any(p.search("Dear Ms. Lopez") for p in patterns)
    assert not any(p.search("Lopezville clinic") for p in patterns)


@pytest.mark.parametrize(
    ("logged", "exit_code", "summary"),
    [
        ("reply sent to +15035550142", 1, ["*PHI in logs*", "*test_logs*a seeded patient's phone*"]),
        ("reply sent to party 3f9a", 0, ["*no PHI found*"]),
    ],
    ids=["a seeded number fails the session", "ids only pass"],
)
def test_the_guard_fails_a_session_whose_logs_hold_a_seeded_identifier(
    pytester, monkeypatch, logged: str, exit_code: int, summary: list[str]
) -> None:
    pytester.makepyfile(
        test_logs=f"""
        import logging

        def test_logs():
            logging.getLogger("careline").warning({logged!r})
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.phi_guard", "-p", "no:cacheprovider")
    assert result.ret == exit_code
    result.stdout.fnmatch_lines(summary)
