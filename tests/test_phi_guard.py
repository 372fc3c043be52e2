"""The log guard must recognise a seeded identifier in the forms logs would show it."""

from __future__ import annotations

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


def test_a_session_that_logs_a_seeded_phone_number_fails(pytester, monkeypatch) -> None:
    pytester.makepyfile(
        test_leak="""
        import logging

        def test_logs_a_number():
            logging.getLogger("careline").warning("reply sent to +15035550142")
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.phi_guard", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*PHI in logs*", "*test_logs_a_number*a seeded patient's phone*"])


def test_a_session_with_clean_logs_passes(pytester, monkeypatch) -> None:
    pytester.makepyfile(
        test_clean="""
        import logging

        def test_logs_an_id():
            logging.getLogger("careline").warning("reply sent to party 3f9a")
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.phi_guard", "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*no PHI found*"])
