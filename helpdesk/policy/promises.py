"""Promises: what the business promised a customer, and by when (``#due``, ``#done``).

A shopkeeper who writes "I'll send the replacement part by Friday" must not
forget it. ``#due friday "send the replacement part"`` in a reply records the
promise on the ticket; the shipped rules remind the owner half a business day
before it falls due and escalate when it was missed, and the digest lists
missed promises. ``#done`` clears it.

When the owner writes a promise, it is read in the business's time zone and
opening hours (:func:`parse_due`):

* ``today``, ``tomorrow``, a weekday (``friday``, ``fri``, ``next monday``)
  or a date (``2026-12-18``) means that day at closing time (the latest
  closing of the week when the business is closed that day), or at a time
  given after it (``friday 14:00``, ``2026-12-18 at 9:30``);
* ``14:00`` alone means today at that time;
* ``3 days``, ``2 hours``, ``1 week`` count business time from now: three
  business days, two open hours (``3 business days`` says the same);
* an optional quoted text says what was promised.

A promise must lie in the future. Half a business day
(:func:`half_business_day`) is half the opening hours of the day the promise
falls due, in seconds of open time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import BusinessTimeError, Duration, parse_duration

__all__ = ["DUE_HELP", "Promise", "PromiseError", "half_business_day", "parse_due"]

DUE_HELP = '#due friday | tomorrow 14:00 | 3 days | 2026-12-18 14:00, then optionally "what you promised"'

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
_WHAT = re.compile(r"[\"“”„«»'](.*?)[\"“”„«»']?\s*$")
_TIME = re.compile(r"^(?:at\s+)?([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_AMOUNT = re.compile(r"^\d+(?:\.\d+)?\s+[a-z]+(?:\s+[a-z]+)?$")


class PromiseError(ValueError):
    """A ``#due`` line that cannot be read; the message says why, for the owner."""


@dataclass(frozen=True)
class Promise:
    """A promise read from ``#due``: when it falls due (aware, business zone) and what it is."""

    due: datetime
    what: str


def _closing(hours: BusinessHours, day: date) -> time:
    """When the business closes on ``day``: that weekday's last closing, else the week's latest."""
    ranges = hours.weekly[day.weekday()]
    closed = day in hours.holidays or not ranges
    candidates = [end for week_day in hours.weekly for _, end in week_day] if closed else [ranges[-1][1]]
    ends = [end or time(23, 59) for end in candidates]
    return max(ends) if ends else time(18, 0)


def _day(word: str, today: date) -> date | None:
    """The date a day word names (``today``, ``tomorrow``, a weekday, ``next friday``), or None."""
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    following = word.startswith("next ")
    name = word.removeprefix("next ").strip()
    if name not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS[name] - today.weekday()) % 7
    if following and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _moment(text: str, now: datetime, hours: BusinessHours) -> datetime:
    """The due moment a ``#due`` text names (see the module docstring)."""
    zone = hours.timezone
    local = now.astimezone(zone)
    if _AMOUNT.match(text):
        try:
            duration = parse_duration(text)
        except BusinessTimeError as exc:
            raise PromiseError(str(exc)) from None
        return hours.add(now, Duration(duration.amount, duration.unit, business=True))
    only_time = _TIME.match(text)
    if only_time:
        return datetime.combine(local.date(), time(int(only_time[1]), int(only_time[2])), tzinfo=zone)
    words = text.split()
    for split in (3, 2, 1):
        day_text, time_text = " ".join(words[:split]), " ".join(words[split:])
        day = _day(day_text, local.date())
        if day is None:
            found = _DATE.match(day_text)
            if found is None:
                continue
            try:
                day = date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                raise PromiseError(f"{day_text!r} is not a date") from None
        if not time_text:
            return datetime.combine(day, _closing(hours, day), tzinfo=zone)
        clock = _TIME.match(time_text)
        if clock is None:
            raise PromiseError(f"{time_text!r} is not a time of day (write e.g. 14:00)")
        return datetime.combine(day, time(int(clock[1]), int(clock[2])), tzinfo=zone)
    raise PromiseError(f"cannot read when {text!r} is (write e.g. {DUE_HELP})")


def parse_due(argument: str, now: datetime, hours: BusinessHours) -> Promise:
    """Read a ``#due`` argument at ``now`` (aware); raise PromiseError with the reason."""
    text = argument.strip()
    what = ""
    quoted = _WHAT.search(text)
    if quoted is not None and quoted.start() > 0:
        what, text = quoted.group(1).strip(), text[: quoted.start()].strip()
    if not text:
        raise PromiseError(f"says nothing about when (write e.g. {DUE_HELP})")
    due = _moment(re.sub(r"\s+", " ", text.lower().rstrip(".,;")), now, hours)
    if due <= now:
        raise PromiseError(f"{due:%a %d %b %Y %H:%M} has passed already")
    return Promise(due, what)


def half_business_day(hours: BusinessHours, due: datetime) -> float:
    """Half the open time of the day ``due`` falls on, in seconds (of the week's average if closed)."""
    local = due.astimezone(hours.timezone)

    def open_seconds(ranges: tuple[tuple[time, time | None], ...]) -> float:
        total = 0.0
        for start, end in ranges:
            finish = 24 * 3600 if end is None else end.hour * 3600 + end.minute * 60
            total += finish - (start.hour * 3600 + start.minute * 60)
        return total

    today = hours.weekly[local.weekday()]
    if today and local.date() not in hours.holidays:
        return open_seconds(today) / 2
    days = [open_seconds(ranges) for ranges in hours.weekly if ranges]
    return sum(days) / len(days) / 2 if days else 4 * 3600
