"""Unit tests of ``helpdesk.policy.holidays``: public holidays from the ``holidays`` package.

The dates asserted here are the ones the library returns (holidays 0.50+):
India's Republic Day on 26 January, Makar Sankranti on 14 January 2026 in
Karnataka only, Epiphany on 6 January in Bavaria only. Business-time
arithmetic must skip them exactly as it skips the explicit ``holidays`` list.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk.config import BusinessConfig, load_config
from helpdesk.errors import ConfigError
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import parse_duration
from helpdesk.policy.holidays import HolidayCalendar, HolidayRegionError, check_region

REPOSITORY = Path(__file__).resolve().parent.parent.parent
KOLKATA = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
COUNTRY_HINT = 'use an ISO 3166 country code such as "IN", "GB", "DE" or "US"'


def india(holidays: tuple[date, ...] = (), subdivision: str | None = None) -> BusinessHours:
    business = BusinessConfig(
        name="Chai & Co",
        email="help@chai.example",
        timezone="Asia/Kolkata",
        hours="Mon-Fri 09:00-18:00",
        holidays=holidays,
        holiday_country="IN",
        holiday_subdivision=subdivision,
    )
    return BusinessHours.from_config(business)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: ZoneInfo = KOLKATA
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


# -- the calendar ------------------------------------------------------------------------


def test_republic_day_is_closed_and_skipped_by_business_time() -> None:
    hours = india()
    assert date(2026, 1, 26) in hours.holidays
    assert hours.holidays.name(date(2026, 1, 26)) == "Republic Day"  # type: ignore[union-attr]
    # Monday 26 January 2026, 10:00 in Kolkata: closed.
    assert not hours.is_open(local(2026, 1, 26, 10))
    assert hours.next_open(local(2026, 1, 26, 10)) == local(2026, 1, 27, 9)
    # Friday 17:00 + 2 business hours: one hour on Friday, one on Tuesday.
    assert hours.add(local(2026, 1, 23, 17), parse_duration("2 business hours")) == local(2026, 1, 27, 10)
    assert hours.add(local(2026, 1, 23, 10), parse_duration("1 business day")) == local(2026, 1, 27, 10)
    assert hours.business_seconds_between(local(2026, 1, 23, 18), local(2026, 1, 27, 9)) == 0.0
    assert hours.business_seconds_between(local(2026, 1, 23, 9), local(2026, 1, 28, 9)) == 2 * 9 * 3600.0
    # Without the country the same Monday is an ordinary working day.
    plain = BusinessHours.parse("Mon-Fri 09:00-18:00", "Asia/Kolkata")
    assert plain.is_open(local(2026, 1, 26, 10))
    assert plain.add(local(2026, 1, 23, 17), parse_duration("2 business hours")) == local(2026, 1, 26, 10)


def test_the_calendar_covers_any_year_it_is_asked_about() -> None:
    hours = india()
    # Republic Day in years nobody listed: Tuesday 26 January 2027 is closed.
    for year in (2019, 2027, 2031):
        assert date(year, 1, 26) in hours.holidays
    assert not hours.is_open(local(2027, 1, 26, 10))
    # In 2031 it is a Sunday, and India moves it to no other day: Monday is open.
    assert date(2031, 1, 27) not in hours.holidays
    assert hours.is_open(local(2031, 1, 27, 10))
    # Independence Day 2029 is a Wednesday.
    assert not hours.is_open(local(2029, 8, 15, 12))
    assert hours.is_open(local(2029, 8, 16, 12))


def test_a_subdivision_adds_its_own_holidays() -> None:
    # Makar Sankranti, Wednesday 14 January 2026: a holiday in Karnataka, not India-wide or in Maharashtra.
    karnataka = india(subdivision="KA")
    assert not karnataka.is_open(local(2026, 1, 14, 11))
    assert karnataka.holidays.name(date(2026, 1, 14)) == "Makar Sankranti"  # type: ignore[union-attr]
    assert india().is_open(local(2026, 1, 14, 11))
    assert india(subdivision="MH").is_open(local(2026, 1, 14, 11))
    # The national holidays still apply in the state.
    assert not karnataka.is_open(local(2026, 1, 26, 11))
    # Ugadi, Thursday 19 March 2026, in Karnataka.
    assert karnataka.add(local(2026, 3, 18, 17), parse_duration("2 business hours")) == local(2026, 3, 20, 10)


def test_bavaria_closes_on_epiphany_and_berlin_does_not() -> None:
    bavaria = HolidayCalendar((), "DE", "BY")
    berlin = HolidayCalendar((), "DE", "BE")
    assert date(2026, 1, 6) in bavaria and date(2026, 1, 6) not in berlin
    assert date(2026, 6, 4) in bavaria  # Corpus Christi
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin", bavaria)
    assert hours.holidays is bavaria
    assert hours.next_open(local(2026, 1, 6, 10, zone=BERLIN)) == local(2026, 1, 7, 9, zone=BERLIN)
    # The library's subdivision names work too.
    assert HolidayCalendar((), "de", "Bayern") == bavaria


def test_explicit_dates_are_merged_with_the_public_holidays() -> None:
    # The business also closes on Tuesday 27 January, the day after Republic Day.
    hours = india(holidays=(date(2026, 1, 27),))
    calendar = hours.holidays
    assert isinstance(calendar, HolidayCalendar)
    assert calendar.explicit == frozenset({date(2026, 1, 27)})
    assert date(2026, 1, 26) in calendar and date(2026, 1, 27) in calendar
    assert date(2026, 1, 28) not in calendar
    assert calendar.name(date(2026, 1, 27)) == "holiday"
    assert calendar.name(date(2026, 1, 28)) is None
    assert hours.add(local(2026, 1, 23, 17), parse_duration("2 business hours")) == local(2026, 1, 28, 10)
    assert HolidayCalendar([date(2026, 1, 27)], "IN", "KA").between(date(2026, 1, 1), date(2026, 1, 31)) == [
        date(2026, 1, 14),
        date(2026, 1, 26),
        date(2026, 1, 27),
    ]


def test_the_calendar_answers_only_about_dates() -> None:
    calendar = HolidayCalendar([date(2026, 12, 24)], "IN")
    assert datetime(2026, 12, 25, 15, 0) in calendar
    assert "2026-12-25" not in calendar
    assert None not in calendar
    assert repr(calendar) == "HolidayCalendar(public=IN, explicit=1)"
    assert repr(india(subdivision="KA")) == (
        "BusinessHours('Mon-Fri 09:00-18:00', 'Asia/Kolkata', "
        "holidays=HolidayCalendar(public=IN-KA, explicit=0))"
    )


def test_years_the_library_does_not_cover_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    calendar = HolidayCalendar((), "IN")
    with caplog.at_level(logging.WARNING, logger="helpdesk.policy.holidays"):
        # India's lunar holidays are computed for 2001-2035 only; Republic Day has a fixed date.
        assert date(2040, 1, 26) in calendar
        assert date(2040, 1, 27) not in calendar
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("public holidays of IN in 2040: ")


def test_without_a_country_the_holidays_stay_a_frozenset() -> None:
    business = BusinessConfig(name="Acme", email="support@acme.example", holidays=(date(2026, 3, 2),))
    hours = BusinessHours.from_config(business)
    assert hours.holidays == frozenset({date(2026, 3, 2)})


# -- regions -----------------------------------------------------------------------------


def test_check_region_normalises_codes_and_aliases() -> None:
    assert check_region("in") == ("IN", None)
    assert check_region(" IN ", "ka") == ("IN", "KA")
    assert check_region("UK") == ("GB", None)
    assert check_region("deu") == ("DE", None)
    assert check_region("GB", "Scotland") == ("GB", "SCT")
    assert check_region("DE", "") == ("DE", None)


@pytest.mark.parametrize(
    ("country", "subdivision", "key", "message"),
    [
        ("XX", None, "holiday_country", f'no holiday calendar for "XX" ({COUNTRY_HINT})'),
        (
            "India",
            None,
            "holiday_country",
            f'no holiday calendar for "India" ({COUNTRY_HINT}; did you mean "IN"?)',
        ),
        (
            "Germany",
            None,
            "holiday_country",
            f'no holiday calendar for "Germany" ({COUNTRY_HINT}; did you mean "DE"?)',
        ),
        (
            "United Kingdom",
            None,
            "holiday_country",
            f'no holiday calendar for "United Kingdom" ({COUNTRY_HINT}; did you mean "GB"?)',
        ),
        (
            "DE",
            "XY",
            "holiday_subdivision",
            'DE has no subdivision "XY" (use one of BB, BE, BW, BY, HB, HE, ',
        ),
        (
            "IS",
            "R",
            "holiday_subdivision",
            "the holiday calendar of IS has no subdivisions: remove the setting",
        ),
    ],
)
def test_unknown_regions_are_refused_with_a_hint(
    country: str, subdivision: str | None, key: str, message: str
) -> None:
    with pytest.raises(HolidayRegionError) as raised:
        check_region(country, subdivision)
    assert raised.value.key == key
    assert str(raised.value).startswith(message)


# -- configuration -----------------------------------------------------------------------


def write_config(tmp_path: Path, business_lines: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[business]\nname = "Chai & Co"\nemail = "help@chai.example"\ntimezone = "Asia/Kolkata"\n'
        + business_lines
        + '[owner]\nemail = "owner@chai.example"\n'
        '[imap]\nhost = "imap.chai.example"\nusername = "help@chai.example"\npassword = "pw"\n'
        '[smtp]\nhost = "smtp.chai.example"\n',
        encoding="utf-8",
    )
    return path


def test_config_reads_country_and_subdivision(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, 'holiday_country = "in"\nholiday_subdivision = "ka"\nholidays = ["2026-01-27"]\n'
    )
    business = load_config(path).business
    assert business.holiday_country == "IN"
    assert business.holiday_subdivision == "KA"
    assert business.holidays == (date(2026, 1, 27),)
    hours = BusinessHours.from_config(business)
    assert hours.holidays == HolidayCalendar([date(2026, 1, 27)], "IN", "KA")
    assert not hours.is_open(local(2026, 1, 14, 11))


def test_config_without_a_country_has_no_public_holidays(tmp_path: Path) -> None:
    business = load_config(write_config(tmp_path, "")).business
    assert business.holiday_country is None and business.holiday_subdivision is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            'holiday_country = "XX"\n',
            f'[business] holiday_country: no holiday calendar for "XX" ({COUNTRY_HINT})',
        ),
        (
            'holiday_country = "India"\n',
            '[business] holiday_country: no holiday calendar for "India" '
            f'({COUNTRY_HINT}; did you mean "IN"?)',
        ),
        ("holiday_country = 91\n", "[business] holiday_country: expected a string, got 91"),
        (
            'holiday_country = "IN"\nholiday_subdivision = "ZZ"\n',
            '[business] holiday_subdivision: IN has no subdivision "ZZ" (use one of AN, AP, AR, ',
        ),
        (
            'holiday_subdivision = "BY"\n',
            '[business] holiday_subdivision: needs holiday_country as well (e.g. "DE" with "BY")',
        ),
    ],
)
def test_config_errors_name_the_file_and_the_key(tmp_path: Path, lines: str, message: str) -> None:
    path = write_config(tmp_path, lines)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: {message}")


def test_the_daemon_builds_its_business_hours_with_the_country(tmp_path: Path) -> None:
    from helpdesk.daemon import load_policy

    config = load_config(write_config(tmp_path, 'holiday_country = "IN"\n'))
    _, _, hours = load_policy(config)
    assert not hours.is_open(local(2026, 1, 26, 10))
    assert hours.is_open(local(2026, 1, 27, 10))


def test_only_one_module_imports_holidays() -> None:
    importers = sorted(
        str(path.relative_to(REPOSITORY))
        for path in (REPOSITORY / "helpdesk").rglob("*.py")
        if any(
            line.strip().startswith(("import holidays", "from holidays "))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert importers == ["helpdesk/policy/holidays.py"]
