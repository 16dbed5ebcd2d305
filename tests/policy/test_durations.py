"""Unit tests of ``helpdesk.policy.durations``: reading and writing durations such as "4 business hours"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.policy.durations import BusinessTimeError, Duration, parse_duration

HOUR = 3600.0


# ---------------------------------------------------------------------------
# Reading durations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 business hours", Duration(4, "hours", True)),
        ("3 days", Duration(3, "days", False)),
        ("90 minutes", Duration(90, "minutes", False)),
        ("2 business days", Duration(2, "days", True)),
        ("1 week", Duration(1, "weeks", False)),
        ("30 min", Duration(30, "minutes", False)),
        ("1 business hour", Duration(1, "hours", True)),
        ("1.5 hours", Duration(1.5, "hours", False)),
        ("4h", Duration(4, "hours", False)),
        ("  2   Working   DAYS ", Duration(2, "days", True)),
        ("0 business minutes", Duration(0, "minutes", True)),
    ],
)
def test_parse_duration_accepts_the_usual_forms(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("4 business hours", "4 business hours"),
        ("1 business hour", "1 business hour"),
        ("30 min", "30 minutes"),
        ("1 wk", "1 week"),
        ("1.5 h", "1.5 hours"),
        ("2 working days", "2 business days"),
    ],
)
def test_duration_text_is_canonical(text: str, canonical: str) -> None:
    assert str(parse_duration(text)) == canonical


def test_duration_seconds_are_nominal() -> None:
    assert parse_duration("4 business hours").seconds == 4 * HOUR
    assert parse_duration("90 minutes").seconds == 5400.0
    assert parse_duration("1 week").seconds == 7 * 86400.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "4 business hourz",
            'unknown unit "hourz" in "4 business hourz" '
            '(use minutes, hours, days or weeks, optionally "business")',
        ),
        ("four hours", 'expected a number at the start of "four hours", got "four"'),
        ("-3 days", '"-3 days": a duration cannot be negative (write e.g. "3 days")'),
        ("3", 'missing unit in "3" (write e.g. "3 hours"'),
        ("4 business", 'missing unit in "4 business"'),
        ("", "empty duration"),
        ("1.2.3 hours", '"1.2.3" in "1.2.3 hours" is not a number'),
        ("4 hours please", 'unexpected "please" after the unit in "4 hours please"'),
        ("1.5 business days", "business days must be a whole number"),
    ],
)
def test_parse_duration_errors_say_what_and_how(text: str, message: str) -> None:
    with pytest.raises(BusinessTimeError) as caught:
        parse_duration(text)
    assert message in str(caught.value)


def test_duration_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match='unknown unit "fortnights"'):
        Duration(1, "fortnights")
    with pytest.raises(ValueError, match="at least 0"):
        Duration(-1, "hours")


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

# Every kind of duration: business time (whole business days and weeks) and
# plain elapsed time.
durations = st.one_of(
    st.builds(
        Duration, st.floats(0, 10_000, allow_nan=False), st.sampled_from(["minutes", "hours"]), st.just(True)
    ),
    st.builds(Duration, st.integers(0, 15), st.sampled_from(["days", "weeks"]), st.just(True)),
    st.builds(Duration, st.floats(0, 1000, allow_nan=False), st.sampled_from(["minutes", "hours", "days"])),
)


@given(durations)
def test_duration_text_reads_back_equal(duration: Duration) -> None:
    assert parse_duration(str(duration)) == duration
