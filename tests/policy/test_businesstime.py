"""Unit tests of ``helpdesk.policy.businesstime``: opening hours and business-time arithmetic.

The property tests compare the cached-interval arithmetic against a plain
reference that asks the time-zone database about every single minute, so a
mistake around DST changes, midnight or holidays shows up as a mismatch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.config import BusinessConfig
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import BusinessTimeError, Duration, parse_duration

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")
HOUR = 3600.0


def at(zone: ZoneInfo, *fields: int) -> datetime:
    """A local wall-clock moment in ``zone`` (the first one, if the time repeats)."""
    return datetime(*fields, tzinfo=zone)


def office(zone: str = "Europe/London", holidays: tuple[date, ...] = ()) -> BusinessHours:
    return BusinessHours.parse("Mon-Fri 09:00-18:00", zone, holidays)


# ---------------------------------------------------------------------------
# BusinessHours.parse
# ---------------------------------------------------------------------------


def test_parse_weekdays_nine_to_six() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/London")
    nine_to_six = ((time(9), time(18)),)
    assert hours.weekly == (nine_to_six,) * 5 + ((), ())
    assert str(hours) == "Mon-Fri 09:00-18:00"
    assert hours.timezone == LONDON


def test_parse_groups_with_a_short_friday() -> None:
    hours = BusinessHours.parse("Mon-Thu 09:00-17:00, Fri 09:00-13:00", "UTC")
    assert hours.weekly[3] == ((time(9), time(17)),)
    assert hours.weekly[4] == ((time(9), time(13)),)
    assert hours.weekly[5] == ()
    assert str(hours) == "Mon-Thu 09:00-17:00, Fri 09:00-13:00"


def test_parse_a_list_of_days() -> None:
    hours = BusinessHours.parse("Mon,Wed,Fri 10:00-16:00", "UTC")
    assert [bool(ranges) for ranges in hours.weekly] == [True, False, True, False, True, False, False]
    assert hours.is_open(at(UTC, 2026, 3, 4, 10, 0))
    assert not hours.is_open(at(UTC, 2026, 3, 3, 12, 0))


def test_parse_a_lunch_break() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-12:30 13:30-18:00", "Europe/London")
    assert hours.weekly[0] == ((time(9), time(12, 30)), (time(13, 30), time(18)))
    assert hours.is_open(at(LONDON, 2026, 3, 2, 12, 29))
    assert not hours.is_open(at(LONDON, 2026, 3, 2, 12, 30))
    assert not hours.is_open(at(LONDON, 2026, 3, 2, 13, 29))
    assert hours.is_open(at(LONDON, 2026, 3, 2, 13, 30))
    monday = hours.business_seconds_between(at(LONDON, 2026, 3, 2), at(LONDON, 2026, 3, 3))
    assert monday == 8 * HOUR


def test_parse_always_open() -> None:
    hours = BusinessHours.parse("24/7", "Europe/London")
    assert str(hours) == "24/7"
    assert hours.weekly == (((time(0), None),),) * 7
    assert hours.is_open(at(LONDON, 2026, 3, 1, 3, 0))


def test_parse_is_forgiving_about_spacing_case_and_names() -> None:
    hours = BusinessHours.parse("monday - FRIDAY 9:00 - 18:00", "UTC")
    assert str(hours) == "Mon-Fri 09:00-18:00"


def test_parse_day_ranges_may_wrap_round_the_week() -> None:
    hours = BusinessHours.parse("Sun-Thu 08:00-16:00", "Asia/Dubai")
    assert [bool(ranges) for ranges in hours.weekly] == [True, True, True, True, False, False, True]


def test_parse_joins_touching_ranges() -> None:
    hours = BusinessHours.parse("Mon 09:00-12:00 12:00-18:00, Tue 22:00-24:00", "UTC")
    assert hours.weekly[0] == ((time(9), time(18)),)
    assert hours.weekly[1] == ((time(22), None),)
    assert str(hours) == "Mon 09:00-18:00, Tue 22:00-24:00"


@pytest.mark.parametrize(
    "text",
    ["Mon-Fri 09:00-18:00", "Mon-Thu 09:00-17:00, Fri 09:00-13:00", "Mon 09:00-12:30 13:30-18:00", "24/7"],
)
def test_canonical_hours_read_back_the_same(text: str) -> None:
    hours = BusinessHours.parse(text, "UTC")
    assert BusinessHours.parse(str(hours), "UTC").weekly == hours.weekly


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mnday-Fri 09:00-18:00", 'unknown day "Mnday" in "Mnday-Fri 09:00-18:00"'),
        ("Mnday-Fri 09:00-18:00", 'did you mean "Mon"?'),
        ("Mon-Fri 25:00-18:00", 'invalid time "25:00" in "Mon-Fri 25:00-18:00" (hours 00-23, minutes 00-59'),
        ("Mon-Fri 09:60-18:00", 'invalid time "09:60"'),
        ("Mon-Fri 24:00-18:00", 'invalid time "24:00"'),
        ("Mon-Fri 18:00-09:00", 'the end 09:00 is not after the start 18:00 in "18:00-09:00"'),
        ("Mon-Fri 18:00-09:00", "for hours past midnight write two ranges"),
        ("Mon-Fri 09:00-09:00", "the end 09:00 is not after the start 09:00"),
        (
            "Mon-Fri 09:00-13:00, Fri 12:00-18:00",
            "overlapping opening times on Fri: 09:00-13:00 and 12:00-18:00",
        ),
        ("Mon 09:00-12:00 11:00-14:00", "overlapping opening times on Mon: 09:00-12:00 and 11:00-14:00"),
        ("", "business hours are empty"),
        ("   ", "business hours are empty"),
        ("Mon-Fri", 'no opening times after "Mon-Fri"'),
        ("Mon-Fri 09:00-18:00, Sat", 'no opening times after "Sat"'),
        ("09:00-18:00", 'opening times "09:00-18:00" come before any day'),
        ("Mon-Fri 9-17", 'bad time "9" in "9-17"'),
        ("Mon-Fri 09:00", 'bad time range "09:00"'),
        ("Mon-Fri-Sat 09:00-18:00", 'bad day range "Mon-Fri-Sat"'),
    ],
)
def test_parse_hours_errors_say_what_and_how(text: str, message: str) -> None:
    with pytest.raises(BusinessTimeError) as caught:
        BusinessHours.parse(text, "Europe/London")
    assert message in str(caught.value)


def test_parse_rejects_an_unknown_time_zone() -> None:
    with pytest.raises(BusinessTimeError, match='unknown time zone "Europe/Londn"'):
        BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/Londn")


def test_from_config_uses_hours_timezone_and_holidays() -> None:
    business = BusinessConfig(
        name="Acme",
        email="support@acme.example",
        timezone="Asia/Kolkata",
        hours="Mon-Thu 09:00-17:00, Fri 09:00-13:00",
        holidays=(date(2026, 3, 2),),
    )
    hours = BusinessHours.from_config(business)
    assert hours.timezone == KOLKATA
    assert hours.holidays == frozenset({date(2026, 3, 2)})
    assert str(hours) == "Mon-Thu 09:00-17:00, Fri 09:00-13:00"


def test_naive_datetimes_are_refused() -> None:
    hours = office()
    naive = datetime(2026, 3, 2, 10, 0)
    with pytest.raises(BusinessTimeError, match="naive datetime 2026-03-02T10:00:00"):
        hours.is_open(naive)
    with pytest.raises(BusinessTimeError, match="timezone-aware"):
        hours.add(naive, parse_duration("1 hour"))
    with pytest.raises(BusinessTimeError, match="timezone-aware"):
        hours.business_seconds_between(at(LONDON, 2026, 3, 2), naive)


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------


def test_friday_afternoon_plus_two_business_hours_is_monday_ten() -> None:
    result = office().add(at(LONDON, 2026, 3, 6, 17, 0), parse_duration("2 business hours"))
    assert result == at(LONDON, 2026, 3, 9, 10, 0)
    assert result.tzinfo == LONDON


def test_business_hours_end_at_closing_time_when_used_up() -> None:
    result = office().add(at(LONDON, 2026, 3, 6, 16, 0), parse_duration("2 business hours"))
    assert result == at(LONDON, 2026, 3, 6, 18, 0)


def test_zero_business_time_is_the_start_itself() -> None:
    saturday = at(LONDON, 2026, 3, 7, 12, 0)
    assert office().add(saturday, parse_duration("0 business hours")) == saturday
    assert office().elapsed(saturday, saturday, parse_duration("0 business minutes"))


def test_holidays_are_skipped() -> None:
    hours = office(holidays=(date(2026, 3, 9),))
    result = hours.add(at(LONDON, 2026, 3, 6, 17, 0), parse_duration("2 business hours"))
    assert result == at(LONDON, 2026, 3, 10, 10, 0)
    thursday_to_tuesday = hours.business_seconds_between(
        at(LONDON, 2026, 3, 5, 9), at(LONDON, 2026, 3, 10, 9)
    )
    assert thursday_to_tuesday == 18 * HOUR
    assert not hours.is_open(at(LONDON, 2026, 3, 9, 12, 0))


def test_holidays_are_local_dates_of_the_business() -> None:
    # 03:30 UTC on 9 March is 09:00 on the holiday in Kolkata, although
    # 8 March 22:00 UTC is already the holiday there too.
    hours = office("Asia/Kolkata", holidays=(date(2026, 3, 9),))
    assert not hours.is_open(at(UTC, 2026, 3, 9, 3, 30))
    assert hours.is_open(at(UTC, 2026, 3, 10, 3, 30))
    assert hours.next_open(at(UTC, 2026, 3, 8, 22, 0)) == at(KOLKATA, 2026, 3, 10, 9, 0)


def test_overnight_after_closing_continues_next_morning() -> None:
    result = office().add(at(LONDON, 2026, 3, 2, 17, 30), parse_duration("1 business hour"))
    assert result == at(LONDON, 2026, 3, 3, 9, 30)
    evening_to_morning = office().business_seconds_between(
        at(LONDON, 2026, 3, 2, 17), at(LONDON, 2026, 3, 3, 10)
    )
    assert evening_to_morning == 2 * HOUR


def test_a_night_shift_runs_across_midnight() -> None:
    hours = BusinessHours.parse("Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00", "Europe/London")
    assert hours.is_open(at(LONDON, 2026, 3, 3, 0, 0))
    result = hours.add(at(LONDON, 2026, 3, 2, 23, 0), parse_duration("2 business hours"))
    assert result == at(LONDON, 2026, 3, 3, 1, 0)
    assert hours.business_seconds_between(at(LONDON, 2026, 3, 2, 12), at(LONDON, 2026, 3, 3, 12)) == 8 * HOUR


def test_moments_in_other_zones_are_read_as_instants() -> None:
    hours = office()
    # 08:30 in New York is 13:30 in London (both on winter time on 2 March).
    assert hours.is_open(at(NEW_YORK, 2026, 3, 2, 8, 30))
    result = hours.add(at(NEW_YORK, 2026, 3, 2, 12, 0), parse_duration("2 business hours"))
    assert result == at(LONDON, 2026, 3, 3, 10, 0)


def test_london_spring_forward_counts_real_business_hours() -> None:
    # Open every day; the clocks go forward at 01:00 on Sunday 29 March 2026.
    hours = BusinessHours.parse("Mon-Sun 09:00-18:00", "Europe/London")
    sunday_start, sunday_end = at(LONDON, 2026, 3, 29, 9), at(LONDON, 2026, 3, 29, 18)
    assert sunday_start == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert hours.business_seconds_between(sunday_start, sunday_end) == 9 * HOUR
    assert hours.business_seconds_between(at(LONDON, 2026, 3, 28, 9), at(LONDON, 2026, 3, 30, 9)) == 18 * HOUR
    saturday_five = at(LONDON, 2026, 3, 28, 17, 0)
    assert hours.add(saturday_five, parse_duration("2 business hours")) == at(LONDON, 2026, 3, 29, 10, 0)
    assert not hours.is_open(datetime(2026, 3, 29, 17, 30, tzinfo=UTC))


def test_london_fall_back_counts_real_business_hours() -> None:
    # The clocks go back at 02:00 on Sunday 25 October 2026.
    hours = BusinessHours.parse("Mon-Sun 09:00-18:00", "Europe/London")
    assert (
        hours.business_seconds_between(at(LONDON, 2026, 10, 24, 9), at(LONDON, 2026, 10, 26, 9)) == 18 * HOUR
    )
    assert hours.add(at(LONDON, 2026, 10, 24, 17), parse_duration("2 business hours")) == at(
        LONDON, 2026, 10, 25, 10
    )
    assert hours.is_open(datetime(2026, 10, 25, 17, 30, tzinfo=UTC))


def test_weekday_office_across_both_london_changes() -> None:
    hours = office()
    assert hours.business_seconds_between(at(LONDON, 2026, 3, 27, 9), at(LONDON, 2026, 3, 31, 9)) == 18 * HOUR
    assert (
        hours.business_seconds_between(at(LONDON, 2026, 10, 23, 9), at(LONDON, 2026, 10, 27, 9)) == 18 * HOUR
    )


@pytest.mark.parametrize(
    ("zone", "day", "hours_that_day"),
    [
        (LONDON, date(2026, 3, 29), 23),
        (LONDON, date(2026, 10, 25), 25),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
        (SYDNEY, date(2026, 4, 5), 25),
        (SYDNEY, date(2026, 10, 4), 23),
        (KOLKATA, date(2026, 3, 29), 24),
    ],
)
def test_always_open_days_have_their_real_length(zone: ZoneInfo, day: date, hours_that_day: int) -> None:
    hours = BusinessHours.parse("24/7", zone.key)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert hours.business_seconds_between(start, end) == hours_that_day * HOUR


def test_new_york_office_across_the_spring_change() -> None:
    hours = BusinessHours.parse("Mon-Sun 09:00-18:00", "America/New_York")
    assert (
        hours.business_seconds_between(at(NEW_YORK, 2026, 3, 7, 9), at(NEW_YORK, 2026, 3, 9, 9)) == 18 * HOUR
    )
    assert hours.add(at(NEW_YORK, 2026, 3, 7, 17), parse_duration("2 business hours")) == datetime(
        2026, 3, 8, 14, 0, tzinfo=UTC
    )


def test_sydney_friday_to_monday_over_the_autumn_change() -> None:
    hours = office("Australia/Sydney")
    result = hours.add(at(SYDNEY, 2026, 4, 3, 17, 0), parse_duration("2 business hours"))
    assert result == at(SYDNEY, 2026, 4, 6, 10, 0)
    # Friday 17:00 is +11:00 (AEDT), Monday 10:00 is +10:00 (AEST).
    assert result == datetime(2026, 4, 6, 0, 0, tzinfo=UTC)
    # Sunday 23:30 UTC is already Monday 09:30 in Sydney.
    assert hours.is_open(datetime(2026, 4, 5, 23, 30, tzinfo=UTC))


def test_kolkata_half_hour_offset() -> None:
    hours = office("Asia/Kolkata")
    result = hours.add(at(KOLKATA, 2026, 3, 6, 17, 0), parse_duration("2 business hours"))
    assert result == at(KOLKATA, 2026, 3, 9, 10, 0)
    assert result == datetime(2026, 3, 9, 4, 30, tzinfo=UTC)
    assert hours.is_open(datetime(2026, 3, 2, 3, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 2, 3, 29, tzinfo=UTC))


def test_plain_durations_are_real_time() -> None:
    hours = office()
    # Three real days over the spring change: 10:00 GMT becomes 11:00 BST.
    result = hours.add(at(LONDON, 2026, 3, 27, 10), parse_duration("3 days"))
    assert result == at(LONDON, 2026, 3, 30, 11)
    assert hours.add(at(LONDON, 2026, 3, 7, 10), parse_duration("90 minutes")) == at(
        LONDON, 2026, 3, 7, 11, 30
    )
    assert hours.elapsed(at(LONDON, 2026, 3, 27, 10), at(LONDON, 2026, 3, 30, 11), parse_duration("3 days"))
    assert not hours.elapsed(
        at(LONDON, 2026, 3, 27, 10), at(LONDON, 2026, 3, 30, 10, 59), parse_duration("3 days")
    )


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (at(LONDON, 2026, 3, 4, 10), "2 business days", at(LONDON, 2026, 3, 6, 10)),
        (at(LONDON, 2026, 3, 6, 10), "1 business day", at(LONDON, 2026, 3, 9, 10)),
        (at(LONDON, 2026, 3, 7, 14), "1 business day", at(LONDON, 2026, 3, 10, 9)),
        (at(LONDON, 2026, 3, 2, 20), "1 business day", at(LONDON, 2026, 3, 4, 9)),
        (at(LONDON, 2026, 3, 6, 10), "1 business week", at(LONDON, 2026, 3, 13, 10)),
        (at(LONDON, 2026, 3, 27, 10), "1 business day", at(LONDON, 2026, 3, 30, 10)),
    ],
)
def test_business_days_keep_the_time_of_day(start: datetime, duration: str, expected: datetime) -> None:
    assert office().add(start, parse_duration(duration)) == expected


def test_business_days_move_to_the_next_opening_when_closed_then() -> None:
    hours = BusinessHours.parse("Mon-Thu 09:00-17:00, Fri 09:00-13:00", "Europe/London")
    assert hours.add(at(LONDON, 2026, 3, 5, 15), parse_duration("1 business day")) == at(
        LONDON, 2026, 3, 9, 9
    )


def test_business_days_skip_holidays() -> None:
    hours = office(holidays=(date(2026, 3, 6),))
    assert hours.add(at(LONDON, 2026, 3, 5, 10), parse_duration("1 business day")) == at(
        LONDON, 2026, 3, 9, 10
    )


def test_elapsed_for_escalation_windows() -> None:
    hours = office()
    received = at(LONDON, 2026, 3, 6, 17, 0)
    window = parse_duration("4 business hours")
    assert not hours.elapsed(received, at(LONDON, 2026, 3, 9, 11, 59), window)
    assert hours.elapsed(received, at(LONDON, 2026, 3, 9, 12, 0), window)
    assert not hours.elapsed(received, received - timedelta(hours=1), window)


def test_next_open() -> None:
    hours = office()
    open_moment = at(LONDON, 2026, 3, 2, 10, 15)
    assert hours.next_open(open_moment) == open_moment
    assert hours.next_open(at(LONDON, 2026, 3, 2, 18, 0)) == at(LONDON, 2026, 3, 3, 9, 0)
    assert hours.next_open(at(LONDON, 2026, 3, 6, 19, 0)) == at(LONDON, 2026, 3, 9, 9, 0)


def test_business_seconds_between_is_zero_when_end_is_not_after_start() -> None:
    hours = office()
    assert hours.business_seconds_between(at(LONDON, 2026, 3, 3, 12), at(LONDON, 2026, 3, 2, 12)) == 0
    assert hours.business_seconds_between(at(LONDON, 2026, 3, 3, 12), at(LONDON, 2026, 3, 3, 12)) == 0


# ---------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------

MONDAY_MORNING = at(LONDON, 2026, 3, 2, 10, 0)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (at(LONDON, 2026, 3, 2, 15, 0), "today 15:00"),
        (at(LONDON, 2026, 3, 3, 11, 0), "tomorrow 11:00"),
        (at(LONDON, 2026, 3, 4, 11, 0), "Wednesday 11:00"),
        (at(LONDON, 2026, 3, 8, 9, 30), "Sunday 09:30"),
        (at(LONDON, 2026, 3, 9, 11, 0), "Mon 9 Mar 11:00"),
        (at(LONDON, 2026, 3, 1, 11, 0), "Sun 1 Mar 11:00"),
        (at(LONDON, 2027, 1, 5, 11, 0), "Tue 5 Jan 2027 11:00"),
        (at(LONDON, 2026, 3, 2, 15, 0, 59), "today 15:00"),
    ],
)
def test_describe(moment: datetime, text: str) -> None:
    assert office().describe(moment, MONDAY_MORNING) == text


def test_describe_speaks_in_the_business_time_zone() -> None:
    hours = office("Asia/Kolkata")
    # 20:00 UTC on 1 March is 01:30 on 2 March in Kolkata: the promise of
    # 05:30 UTC on 2 March is "today" there, whatever the UTC dates say.
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    assert hours.describe(datetime(2026, 3, 2, 5, 30, tzinfo=UTC), now) == "today 11:00"


def test_describe_an_acknowledgement_promise() -> None:
    hours = office()
    received = at(LONDON, 2026, 2, 27, 16, 0)
    promise = hours.add(received, parse_duration("4 business hours"))
    assert hours.describe(promise, received) == "Monday 11:00"


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

# Schedules and zones chosen so that no range starts or ends inside a DST
# gap (there a local time does not exist, and the minute-by-minute reference
# below has nothing to compare with).
SCHEDULES = [
    "Mon-Fri 09:00-18:00",
    "Mon-Thu 09:00-17:00, Fri 09:00-13:00",
    "Mon,Wed,Fri 10:00-16:00",
    "Mon-Fri 09:00-12:30 13:30-18:00",
    "24/7",
    "Mon-Sun 00:00-01:00 04:00-24:00",
    "Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00",
]
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
DST_CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 4, 4, 16, tzinfo=UTC),
    datetime(2026, 10, 3, 16, tzinfo=UTC),
]
HOLIDAYS = [date(2026, 3, 9), date(2026, 3, 30), date(2026, 10, 26), date(2026, 4, 6), date(2026, 12, 25)]

calendars = st.builds(
    BusinessHours.parse,
    st.sampled_from(SCHEDULES),
    st.sampled_from(ZONES),
    st.lists(st.sampled_from(HOLIDAYS), max_size=3),
)
# Whole-minute instants, often within a few days of a DST change.
minute_instants = st.one_of(
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(-4000, 4000),
    ),
    st.builds(
        lambda minutes: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        st.integers(0, 2 * 525600),
    ),
)
instants = st.builds(
    lambda moment, us: moment + timedelta(microseconds=us), minute_instants, st.integers(0, 59_999_999)
)
business_spans = st.builds(
    Duration, st.floats(0, 10_000, allow_nan=False), st.sampled_from(["minutes", "hours"]), st.just(True)
)
all_durations = st.one_of(
    business_spans,
    st.builds(Duration, st.integers(0, 15), st.sampled_from(["days", "weeks"]), st.just(True)),
    st.builds(Duration, st.floats(0, 1000, allow_nan=False), st.sampled_from(["minutes", "hours", "days"])),
)


def micro(seconds: float) -> int:
    """Whole microseconds of a number of seconds, so that sums compare exactly."""
    return round(seconds * 1_000_000)


def open_by_the_clock(hours: BusinessHours, moment: datetime) -> bool:
    """Whether ``moment`` falls in opening hours, read straight off the local wall clock."""
    local = moment.astimezone(hours.timezone)
    if local.date() in hours.holidays:
        return False
    clock = local.time().replace(tzinfo=None)
    return any(
        start <= clock and (end is None or clock < end) for start, end in hours.weekly[local.weekday()]
    )


@settings(max_examples=60, deadline=None)
@given(calendars, minute_instants, st.integers(0, 4 * 1440))
def test_business_seconds_match_the_wall_clock_minute_by_minute(
    hours: BusinessHours, start: datetime, minutes: int
) -> None:
    open_minutes = sum(open_by_the_clock(hours, start + timedelta(minutes=step)) for step in range(minutes))
    assert hours.business_seconds_between(start, start + timedelta(minutes=minutes)) == open_minutes * 60.0


@settings(max_examples=200, deadline=None)
@given(calendars, instants)
def test_is_open_and_next_open_agree_with_the_wall_clock(hours: BusinessHours, moment: datetime) -> None:
    assert hours.is_open(moment) == open_by_the_clock(hours, moment)
    opening = hours.next_open(moment)
    assert opening >= moment
    assert hours.is_open(opening)
    assert hours.business_seconds_between(moment, opening) == 0


@settings(max_examples=200, deadline=None)
@given(calendars, instants, business_spans)
def test_add_then_measure_gives_the_duration_back(
    hours: BusinessHours, start: datetime, duration: Duration
) -> None:
    result = hours.add(start, duration)
    assert result >= start
    assert hours.business_seconds_between(start, result) == duration.seconds


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants, instants)
def test_business_seconds_add_up_over_consecutive_spans(
    hours: BusinessHours, first: datetime, second: datetime, third: datetime
) -> None:
    a, b, c = sorted([first, second, third])
    whole = micro(hours.business_seconds_between(a, c))
    assert whole == micro(hours.business_seconds_between(a, b)) + micro(hours.business_seconds_between(b, c))
    assert 0 <= whole <= (c - a) // timedelta(microseconds=1)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants, all_durations, all_durations)
def test_add_is_monotonic(
    hours: BusinessHours, first: datetime, second: datetime, one: Duration, other: Duration
) -> None:
    early, late = sorted([first, second])
    assert hours.add(early, one) <= hours.add(late, one)
    if one.business == other.business and one.unit == other.unit:
        short, long = sorted([one, other], key=lambda duration: duration.amount)
        assert hours.add(early, short) <= hours.add(early, long)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants, all_durations)
def test_elapsed_agrees_with_add(
    hours: BusinessHours, start: datetime, end: datetime, duration: Duration
) -> None:
    due = hours.add(start, duration)
    assert hours.elapsed(start, end, duration) == (end >= due)
    assert hours.elapsed(start, due, duration)
    if due > start:
        assert not hours.elapsed(start, due - timedelta(microseconds=1), duration)
