"""Unit tests of ``helpdesk.policy.promises``: reading ``#due`` in business time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.promises import PromiseError, half_business_day, parse_due

# Monday 7 December 2026, 10:00 in London (UTC in winter); open Mon-Fri 09:00-18:00, Sat 10:00-13:00.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HOURS = BusinessHours.parse("Mon-Fri 09:00-18:00, Sat 10:00-13:00", "Europe/London", (date(2026, 12, 25),))


@pytest.mark.parametrize(
    ("text", "due", "what"),
    [
        ("friday", "2026-12-11 18:00", ""),
        ("Fri", "2026-12-11 18:00", ""),
        ("monday", "2026-12-07 18:00", ""),
        ("next monday", "2026-12-14 18:00", ""),
        ("saturday", "2026-12-12 13:00", ""),
        ("today", "2026-12-07 18:00", ""),
        ("tomorrow", "2026-12-08 18:00", ""),
        ("tomorrow 9:30", "2026-12-08 09:30", ""),
        ("tomorrow at 14.00", "2026-12-08 14:00", ""),
        ("friday 15:00", "2026-12-11 15:00", ""),
        ("14:00", "2026-12-07 14:00", ""),
        ("2026-12-18", "2026-12-18 18:00", ""),
        ("2026-12-18 14:00", "2026-12-18 14:00", ""),
        # Closed on Christmas Day: the week's latest closing time.
        ("2026-12-25", "2026-12-25 18:00", ""),
        ("3 days", "2026-12-10 10:00", ""),
        ("3 business days", "2026-12-10 10:00", ""),
        ("2 hours", "2026-12-07 12:00", ""),
        ("10 hours", "2026-12-08 11:00", ""),
        ("1 week", "2026-12-14 10:00", ""),
        ('tomorrow "send the replacement part"', "2026-12-08 18:00", "send the replacement part"),
        ("friday “call back about the refund”", "2026-12-11 18:00", "call back about the refund"),
    ],
)
def test_when_a_promise_falls_due(text: str, due: str, what: str) -> None:
    promise = parse_due(text, NOW, HOURS)
    assert promise.due.astimezone(HOURS.timezone).strftime("%Y-%m-%d %H:%M") == due
    assert promise.what == what


def test_summer_time_is_local_time() -> None:
    summer = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)  # Monday 10:00 in London
    promise = parse_due("tomorrow 14:00", summer, HOURS)
    assert promise.due == datetime(2026, 7, 7, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "says nothing about when"),
        ("soon", "cannot read when 'soon' is"),
        ("yesterday", "cannot read when 'yesterday' is"),
        ("friday 25:00", "'25:00' is not a time of day"),
        ("2026-02-30", "'2026-02-30' is not a date"),
        ("2026-12-01", "has passed already"),
        ("09:00", "has passed already"),
        ("3 fortnights", 'unknown unit "fortnights"'),
    ],
)
def test_what_cannot_be_read_says_why(text: str, problem: str) -> None:
    with pytest.raises(PromiseError, match=problem):
        parse_due(text, NOW, HOURS)


def test_half_a_business_day_is_half_that_days_opening_hours() -> None:
    assert half_business_day(HOURS, datetime(2026, 12, 8, 18, 0, tzinfo=UTC)) == 4.5 * 3600
    assert half_business_day(HOURS, datetime(2026, 12, 12, 13, 0, tzinfo=UTC)) == 1.5 * 3600
    # Closed days (Sunday, Christmas) take the average open day: (5 * 9 + 3) / 6 hours, halved.
    assert half_business_day(HOURS, datetime(2026, 12, 13, 12, 0, tzinfo=UTC)) == 4 * 3600
    assert half_business_day(HOURS, datetime(2026, 12, 25, 12, 0, tzinfo=UTC)) == 4 * 3600
