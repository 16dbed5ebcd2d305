"""Unit and property tests of ``helpdesk.business.numbering``: financial years, templates, series keys.

The allocation of numbers against the store is tested where it lives; these
tests pin the pure parts: which financial year a day is in, what a template
writes, which templates are refused and which counter a number is drawn from.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.business.numbering import (
    MAX_NUMBER_LENGTH,
    NumberingError,
    financial_year,
    financial_year_dates,
    format_number,
    parse_year_start,
    series_key,
    validate_template,
)

INDIA = "04-01"
CALENDAR = "01-01"


# --- Financial years -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year_start", "expected"),
    [
        (date(2026, 5, 10), INDIA, (2026, 2027)),
        (date(2026, 3, 31), INDIA, (2025, 2026)),
        (date(2026, 4, 1), INDIA, (2026, 2027)),
        (date(2027, 1, 15), INDIA, (2026, 2027)),
        (date(2026, 1, 1), CALENDAR, (2026, 2026)),
        (date(2025, 12, 31), CALENDAR, (2025, 2025)),
        (date(2026, 6, 30), "07-01", (2025, 2026)),
        (date(2026, 7, 1), "07-01", (2026, 2027)),
        (date(2024, 2, 29), "03-01", (2023, 2024)),
    ],
)
def test_financial_year(day: date, year_start: str, expected: tuple[int, int]) -> None:
    assert financial_year(day, year_start) == expected


def test_the_default_financial_year_is_the_calendar_year() -> None:
    assert financial_year(date(2026, 3, 31)) == (2026, 2026)


def test_financial_year_dates() -> None:
    assert financial_year_dates(date(2026, 3, 31), INDIA) == (date(2025, 4, 1), date(2026, 3, 31))
    assert financial_year_dates(date(2026, 4, 1), INDIA) == (date(2026, 4, 1), date(2027, 3, 31))
    assert financial_year_dates(date(2026, 7, 4)) == (date(2026, 1, 1), date(2026, 12, 31))
    # The last day before a 1 March start is 29 February in a leap year.
    assert financial_year_dates(date(2023, 6, 1), "03-01") == (date(2023, 3, 1), date(2024, 2, 29))


def test_parse_year_start() -> None:
    assert parse_year_start("04-01") == (4, 1)
    assert parse_year_start("12-31") == (12, 31)


@pytest.mark.parametrize(
    "year_start", ["4-1", "13-01", "00-10", "02-29", "04-31", "", "0401", "04/01", " 04-01"]
)
def test_bad_year_starts_are_refused(year_start: str) -> None:
    with pytest.raises(NumberingError, match="year_start"):
        financial_year(date(2026, 1, 1), year_start)


# --- Formatting numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "sequence", "day", "year_start", "number"),
    [
        ("INV/{fy}/{seq:04}", 1, date(2026, 5, 10), INDIA, "INV/2026-27/0001"),
        ("INV/{fy}/{seq:04}", 42, date(2027, 3, 31), INDIA, "INV/2026-27/0042"),
        ("INV/{fy}/{seq:04}", 9999, date(2026, 4, 1), INDIA, "INV/2026-27/9999"),
        ("CN/{fy}/{seq:04}", 3, date(2026, 3, 31), INDIA, "CN/2025-26/0003"),
        ("INV-{year}-{seq:04}", 1, date(2026, 5, 10), CALENDAR, "INV-2026-0001"),
        ("INV/{fy_short}/{seq:03}", 7, date(2026, 5, 10), INDIA, "INV/26-27/007"),
        ("INV/{fy_short}/{seq}", 7, date(2026, 5, 10), CALENDAR, "INV/26/7"),
        ("INV/{fy}/{seq}", 12345, date(2026, 5, 10), CALENDAR, "INV/2026/12345"),
        ("{fy_start}-{fy_end}/{seq:05}", 12, date(2026, 5, 10), INDIA, "2026-2027/00012"),
        ("R{yy}{seq:06}", 5, date(2009, 5, 10), CALENDAR, "R09000005"),
        ("FY{fy_end}-{seq:04}", 1, date(2099, 12, 1), "10-01", "FY2100-0001"),
    ],
)
def test_format_number(template: str, sequence: int, day: date, year_start: str, number: str) -> None:
    validate_template(template, year_start)
    assert format_number(template, sequence, day, year_start) == number


def test_the_16_character_limit() -> None:
    assert len(format_number("INV/{fy}/{seq:04}", 9999, date(2026, 5, 10), INDIA)) == MAX_NUMBER_LENGTH == 16
    with pytest.raises(NumberingError, match="17 characters long, more than 16"):
        format_number("INV/{fy}/{seq:04}", 10000, date(2026, 5, 10), INDIA)
    # A sequence written without padding fits until it does not.
    assert format_number("INVOIC-{fy}-{seq}", 9999, date(2026, 5, 10), CALENDAR) == "INVOIC-2026-9999"
    with pytest.raises(NumberingError, match="no room for sequence 10000"):
        format_number("INVOIC-{fy}-{seq}", 10000, date(2026, 5, 10), CALENDAR)


@pytest.mark.parametrize("sequence", [0, -1, True, 1.0, "1"])
def test_bad_sequences_are_refused(sequence: object) -> None:
    with pytest.raises(NumberingError, match="sequence"):
        format_number("INV/{fy}/{seq:04}", sequence, date(2026, 5, 10), INDIA)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("template", "year_start", "fragment"),
    [
        ("", INDIA, "must not be empty"),
        ("INV-{fy}", INDIA, "has no {seq}"),
        ("INV{seq}-{fy}-{seq}", INDIA, "more than once"),
        ("INV-{seq:04}", INDIA, "has no year part"),
        ("INV/{fy}/{seq:4}", INDIA, "zero-padded width"),
        ("INV/{fy}/{seq:010}", INDIA, "zero-padded width"),
        ("INV/{fy}/{seq:x}", INDIA, "zero-padded width"),
        ("INV/{month}/{fy}/{seq}", INDIA, "unknown placeholder {month}"),
        ("INV/{FY}/{seq}", INDIA, "unknown placeholder {FY}"),
        ("INV/{}/{seq}", INDIA, "unknown placeholder {}"),
        ("INV/{fy:02}/{seq}", INDIA, "{fy:02} takes no format"),
        ("INV/{fy/{seq}", INDIA, "stray brace"),
        ("INV}/{fy}/{seq}", INDIA, "stray brace"),
        ("INV {fy} {seq}", INDIA, "the character ' '"),
        ("INV.{fy}.{seq}", INDIA, "the character '.'"),
        ("RÉ/{fy}/{seq}", INDIA, "the character 'É'"),
        ("INV-{year}-{seq:04}", INDIA, "{year} is the calendar year"),
        ("INV-{yy}-{seq:04}", INDIA, "{yy} is the calendar year"),
        ("INVOICE/{fy}/{seq:04}", INDIA, "can give 20 characters (INVOICE/2026-27/9999), more than 16"),
        ("INV/{fy}/{seq:05}", INDIA, "can give 17 characters"),
        ("INVOICE-NO-{fy}/{seq}", CALENDAR, "can give 20 characters"),
        ("INV/{fy}/{seq}", "4-1", "year_start"),
    ],
)
def test_bad_templates_are_refused(template: str, year_start: str, fragment: str) -> None:
    with pytest.raises(NumberingError) as caught:
        validate_template(template, year_start)
    assert fragment in str(caught.value)
    # format_number and series_key refuse them alike.
    with pytest.raises(NumberingError):
        format_number(template, 1, date(2026, 5, 10), year_start)
    with pytest.raises(NumberingError):
        series_key(template, date(2026, 5, 10), year_start)


def test_calendar_year_parts_are_fine_with_a_calendar_financial_year() -> None:
    validate_template("INV-{year}-{seq:04}", CALENDAR)
    validate_template("INV-{yy}-{seq:04}", CALENDAR)


# --- Series keys -----------------------------------------------------------------------------------------


def test_series_key_fills_in_the_year_and_leaves_the_sequence() -> None:
    assert series_key("INV/{fy}/{seq:04}", date(2026, 5, 10), INDIA) == "INV/2026-27/{seq}"
    assert series_key("INV-{year}-{seq:04}", date(2026, 5, 10), CALENDAR) == "INV-2026-{seq}"
    assert series_key("CN/{fy}/{seq:04}", date(2026, 5, 10), INDIA) == "CN/2026-27/{seq}"


def test_each_financial_year_has_its_own_counter() -> None:
    template = "INV/{fy}/{seq:04}"
    april = series_key(template, date(2026, 4, 1), INDIA)
    assert series_key(template, date(2027, 3, 31), INDIA) == april
    assert series_key(template, date(2026, 3, 31), INDIA) != april
    assert series_key(template, date(2027, 4, 1), INDIA) != april


def test_invoices_and_credit_notes_count_apart() -> None:
    day = date(2026, 5, 10)
    assert series_key("INV/{fy}/{seq:04}", day, INDIA) != series_key("CN/{fy}/{seq:04}", day, INDIA)


def test_changing_only_the_padding_keeps_the_counter() -> None:
    day = date(2026, 5, 10)
    assert series_key("INV-{fy}-{seq:04}", day, CALENDAR) == series_key("INV-{fy}-{seq:06}", day, CALENDAR)
    assert series_key("INV-{fy}-{seq}", day, CALENDAR) == "INV-2026-{seq}"


# --- Properties ------------------------------------------------------------------------------------------

TEMPLATES = [
    "INV/{fy}/{seq:04}",
    "CN/{fy}/{seq:04}",
    "INV-{fy_start}-{seq:04}",
    "I{fy_short}-{seq:04}",
    "{fy_end}/{seq}",
    "INV{fy_start}{fy_end}{seq:04}",
]
YEAR_STARTS = [INDIA, CALENDAR, "07-01", "10-01", "03-01", "12-31"]
# Two-digit years repeat after a century: keep the days within one.
days = st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31))
sequences = st.integers(min_value=1, max_value=9999)


@settings(max_examples=300, deadline=None)
@given(
    template=st.sampled_from(TEMPLATES),
    year_start=st.sampled_from(YEAR_STARTS),
    first=days,
    second=days,
    sequence=sequences,
    other_sequence=sequences,
)
def test_numbers_are_unique_and_belong_to_their_financial_years_counter(
    template: str, year_start: str, first: date, second: date, sequence: int, other_sequence: int
) -> None:
    number = format_number(template, sequence, first, year_start)
    other = format_number(template, other_sequence, second, year_start)
    assert len(number) <= MAX_NUMBER_LENGTH
    same_year = financial_year(first, year_start) == financial_year(second, year_start)
    assert (series_key(template, first, year_start) == series_key(template, second, year_start)) == same_year
    if number == other:
        assert same_year and sequence == other_sequence
    # The key, with the sequence written in, is the number.
    width = int(match[1]) if (match := re.search(r"\{seq:0(\d)\}", template)) else 1
    assert series_key(template, first, year_start).replace("{seq}", str(sequence).zfill(width)) == number


@settings(max_examples=200, deadline=None)
@given(day=days, year_start=st.sampled_from(YEAR_STARTS))
def test_a_day_lies_within_its_financial_year(day: date, year_start: str) -> None:
    start, end = financial_year_dates(day, year_start)
    assert start <= day <= end
    assert (
        financial_year(start, year_start)
        == financial_year(end, year_start)
        == financial_year(day, year_start)
    )
    assert (start.year, end.year) == financial_year(day, year_start)
