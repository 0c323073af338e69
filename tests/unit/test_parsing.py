"""The one parser of integers and dates from people and URLs: what it accepts and refuses."""

from __future__ import annotations

from datetime import date

import pytest

from governance.parsing import ID_MAX, parse_date, parse_int


@pytest.mark.parametrize(("text", "number"), [("1", 1), (" 42 ", 42), (str(ID_MAX), ID_MAX)])
def test_a_whole_number_in_range_is_read(text, number):
    assert parse_int(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-1",
        str(ID_MAX + 1),  # beyond PostgreSQL's INTEGER
        "9223372036854775808",  # beyond 64 bits
        "99999999999999999999",
        "1.5",
        "1_000",  # int() reads it; no form offers it
        "١٢",  # Arabic-Indic digits: int() reads them too
        "²",  # str.isdigit() says yes, int() says no
        "abc",
        "",
        "a\x00b",
        "x" * 10240,
    ],
)
def test_anything_else_is_refused_with_the_range(text):
    with pytest.raises(ValueError, match=f"Enter a whole number from 1 to {ID_MAX}."):
        parse_int(text)


def test_the_range_can_be_narrowed_or_widened():
    assert parse_int("-5", minimum=-10, maximum=0) == -5
    with pytest.raises(ValueError, match="from 1 to 10"):
        parse_int("11", maximum=10)


def test_a_date_is_read_within_the_centuries_the_app_computes_with():
    assert parse_date("2030-12-31") == date(2030, 12, 31)
    assert parse_date("1900-01-01") == date(1900, 1, 1)
    for text in ("0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"):
        with pytest.raises(ValueError, match=r"Dates must be between 1900-01-01 and 2999-12-31\."):
            parse_date(text)
    for text in ("2026-02-30", "yesterday", "", "a\x00b"):
        with pytest.raises(ValueError, match="Enter the date as YYYY-MM-DD"):
            parse_date(text)


def test_the_id_converter_pattern_matches_exactly_the_ids_a_column_holds():
    import re

    from governance.web.params import IdConverter

    pattern = re.compile(IdConverter.regex)
    for number in (1, 9, 10, 999_999_999, 1_000_000_000, 2_147_483_639, ID_MAX):
        assert pattern.fullmatch(str(number)), number
    for text in ("0", "007", str(ID_MAX + 1), "2147483650", "9999999999", "-1", "1.5"):
        assert not pattern.fullmatch(text), text


def test_a_stored_or_posted_id_is_read_or_dropped():
    from governance.parsing import id_or_none

    assert [id_or_none(raw) for raw in (7, "7", " 7 ", str(ID_MAX))] == [7, 7, 7, ID_MAX]
    for raw in (None, True, 0, -1, "²", "99999999999999999999", "abc", "", 1.5):
        assert id_or_none(raw) is None, raw
