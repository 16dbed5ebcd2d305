"""Business-time arithmetic: opening hours, holidays and durations measured on them.

Rule files say things like "escalate when the owner has not replied within
4 business hours" or "follow up after 3 days", and the acknowledgement
promises "we will answer by Tuesday 11:00". This module turns the
``[business]`` settings (``hours``, ``timezone``, ``holidays``, and the public
holidays of ``holiday_country`` / ``holiday_subdivision``, see
:mod:`helpdesk.policy.holidays`) into a :class:`BusinessHours` calendar and
answers the questions those rules ask: is the business open now, how much
business time lies between two moments, when will a duration have passed,
and how to say that moment to a customer. Reading the duration phrases
themselves (``"4 business hours"``) is :mod:`helpdesk.policy.durations`.

Conventions, chosen so that every answer is exact and cheap:

* Every datetime going in must be timezone-aware; a naive one is a
  :class:`BusinessTimeError`, because guessing its zone silently shifts every
  deadline. Results are returned in the business time zone.
* Opening hours are local wall-clock times in the business time zone, and
  holidays are local dates there. Each local date is turned once into its
  open intervals as integer microseconds since the Unix epoch (UTC) and
  cached, so the hot paths (:meth:`BusinessHours.business_seconds_between`,
  :meth:`BusinessHours.elapsed`) do integer arithmetic on cached days and
  never consult the time-zone database in their loops. DST changes are
  therefore handled by construction: 09:00-18:00 is nine real hours on both
  the spring-forward and the fall-back day, and a 24-hour business has a
  23-hour and a 25-hour day.
* Intervals are half-open: open at 09:00:00, closed at 18:00:00.
* Business durations (``"4 business hours"``) count only open time. The
  result of :meth:`BusinessHours.add` is the *earliest* moment by which that
  much open time has passed, so Friday 16:00 + 2 business hours is Friday
  18:00 (closing time), not Monday 09:00, and ``elapsed`` agrees with ``add``
  exactly.
* Business days (``"2 business days"``) move whole business days: see
  :meth:`BusinessHours.add` for the rule. A business week is as many
  business days as the schedule has open weekdays (five for Mon-Fri).
* Plain durations (``"3 days"``) are real elapsed time, added in UTC: three
  days after 10:00 the day before a DST change is 11:00 or 09:00 local.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.policy.durations import US_PER_SECOND, BusinessTimeError, Duration
from helpdesk.policy.holidays import HolidayCalendar

if TYPE_CHECKING:
    from helpdesk.config import BusinessConfig

__all__ = ["BusinessHours"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_ABBREVIATIONS = tuple(name[:3] for name in DAY_NAMES)
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_WORDS = {
    **{name.lower(): index for index, name in enumerate(DAY_NAMES)},
    **{name.lower(): index for index, name in enumerate(_DAY_ABBREVIATIONS)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_DAY_HINT = "use Mon, Tue, Wed, Thu, Fri, Sat, Sun or the full names"
_HOURS_EXAMPLE = 'e.g. "Mon-Fri 09:00-18:00" or "Mon-Thu 09:00-17:00, Fri 09:00-13:00"'
_ALWAYS_OPEN = "24/7"
_TIME_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})$")
_MINUTES_PER_DAY = 24 * 60
_DAY_US = 86400 * US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_ONE_US = timedelta(microseconds=1)
# Searching forward for an opening gives up after this many days of closure,
# which only a holiday list covering years on end could cause.
_MAX_CLOSED_DAYS = 3660
# The per-date cache is dropped when it grows past this many dates; a busy
# helpdesk touches a few hundred.
_MAX_CACHED_DAYS = 50_000

# The minutes of the day a weekday is open, as sorted (start, end) pairs.
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Day:
    """One local date, resolved to UTC microseconds since the epoch.

    ``start`` and ``end`` are the first instants of this date and of the next
    (local midnights); ``intervals`` are the open intervals, half-open and
    sorted; ``total`` is their summed length.
    """

    ordinal: int
    start: int
    end: int
    intervals: tuple[tuple[int, int], ...]
    total: int


def _minute_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _range_text(span: tuple[int, int]) -> str:
    return f"{_minute_text(span[0])}-{_minute_text(span[1])}"


def _parse_day(word: str, text: str) -> int:
    """The weekday index (Monday = 0) of a day name."""
    index = _DAY_WORDS.get(word.lower())
    if index is not None:
        return index
    suggestion = difflib.get_close_matches(word.lower(), list(_DAY_WORDS), n=1, cutoff=0.6)
    hint = f'; did you mean "{DAY_NAMES[_DAY_WORDS[suggestion[0]]][:3]}"?' if suggestion else ""
    raise BusinessTimeError(f'unknown day "{word}" in "{text}" ({_DAY_HINT}{hint})')


def _parse_days(token: str, text: str) -> list[int]:
    """The weekdays of ``Mon`` or a range ``Mon-Fri`` (ranges may wrap: ``Sun-Thu``)."""
    first, dash, last = token.partition("-")
    if not dash:
        return [_parse_day(token, text)]
    if not first or not last or "-" in last:
        raise BusinessTimeError(f'bad day range "{token}" in "{text}" (write e.g. "Mon-Fri")')
    start, end = _parse_day(first, text), _parse_day(last, text)
    return [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]


def _parse_time(value: str, token: str, text: str, is_end: bool) -> int:
    """Minutes after midnight of ``HH:MM``; ``24:00`` is allowed as an end."""
    match = _TIME_PATTERN.match(value)
    if match is None:
        raise BusinessTimeError(
            f'bad time "{value}" in "{token}" of "{text}" (write HH:MM-HH:MM, e.g. "09:00-18:00")'
        )
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0 and is_end:
        return _MINUTES_PER_DAY
    if hour > 23 or minute > 59:
        raise BusinessTimeError(
            f'invalid time "{value}" in "{text}" (hours 00-23, minutes 00-59; 24:00 only as an end)'
        )
    return hour * 60 + minute


def _parse_range(token: str, text: str) -> tuple[int, int]:
    """The (start, end) minutes of ``09:00-18:00``."""
    start_text, dash, end_text = token.partition("-")
    if not dash or "-" in end_text:
        raise BusinessTimeError(
            f'bad time range "{token}" in "{text}" (write HH:MM-HH:MM, e.g. "09:00-18:00")'
        )
    start = _parse_time(start_text, token, text, is_end=False)
    end = _parse_time(end_text, token, text, is_end=True)
    if end <= start:
        raise BusinessTimeError(
            f'the end {end_text} is not after the start {start_text} in "{token}" of "{text}" '
            '(for hours past midnight write two ranges, e.g. "Fri 22:00-24:00, Sat 00:00-02:00")'
        )
    return start, end


def _tokens(text: str) -> list[str]:
    """Split hours text into day and time-range tokens, tolerating spaces around dashes."""
    normal = text.replace("\u2013", "-").replace("\u2014", "-")
    normal = re.sub(r"\s*-\s*", "-", normal)
    return [token for token in re.split(r"[\s,;]+", normal) if token]


def _parse_week(text: str) -> tuple[Ranges, ...]:
    """The opening ranges of each weekday (Monday first) described by ``text``."""
    if text.strip() == _ALWAYS_OPEN:
        return (((0, _MINUTES_PER_DAY),),) * 7
    tokens = _tokens(text)
    if not tokens:
        raise BusinessTimeError(f'business hours are empty (write {_HOURS_EXAMPLE}, or "24/7")')
    week: list[list[tuple[int, int]]] = [[] for _ in DAY_NAMES]
    days: set[int] = set()
    ranges: list[tuple[int, int]] = []
    last_days = ""

    def close_group() -> None:
        if days and not ranges:
            raise BusinessTimeError(
                f'no opening times after "{last_days}" in "{text}" (write e.g. "{last_days} 10:00-14:00")'
            )
        for day in days:
            week[day].extend(ranges)

    for token in tokens:
        if token[0].isdigit():
            if not days:
                raise BusinessTimeError(
                    f'opening times "{token}" come before any day in "{text}" '
                    '(start with the days, e.g. "Mon-Fri 09:00-18:00")'
                )
            ranges.append(_parse_range(token, text))
            continue
        if ranges:
            # A day after times starts the next group: "Mon-Thu 09:00-17:00, Fri ...".
            close_group()
            days, ranges, last_days = set(), [], ""
        days.update(_parse_days(token, text))
        last_days = f"{last_days},{token}" if last_days else token
    close_group()
    return tuple(_merge_day(DAY_NAMES[index], spans, text) for index, spans in enumerate(week))


def _merge_day(day_name: str, spans: list[tuple[int, int]], text: str) -> Ranges:
    """Sort one weekday's ranges, join touching ones and reject overlapping ones."""
    merged: list[tuple[int, int]] = []
    for span in sorted(spans):
        if merged and span[0] < merged[-1][1]:
            raise BusinessTimeError(
                f"overlapping opening times on {day_name[:3]}: {_range_text(merged[-1])} and "
                f'{_range_text(span)} in "{text}" (list each time once, e.g. "09:00-12:00 13:00-18:00")'
            )
        if merged and span[0] == merged[-1][1]:
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return tuple(merged)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BusinessTimeError(
            f'unknown time zone "{name}" (use an IANA name such as "Europe/London" or "UTC")'
        ) from None


def _to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime; naive ones are refused."""
    try:
        delta = moment - _EPOCH
    except TypeError:
        if isinstance(moment, datetime):
            raise BusinessTimeError(
                f"naive datetime {moment.isoformat()}: give a timezone-aware datetime "
                '(e.g. datetime(..., tzinfo=ZoneInfo("Europe/London")))'
            ) from None
        raise BusinessTimeError(f"expected a timezone-aware datetime, got {moment!r}") from None
    return (delta.days * 86400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def _from_us(us: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


class BusinessHours:
    """The opening hours of a business in its time zone, with its holidays.

    Build one with :meth:`parse` (or :meth:`from_config`). An instance is
    immutable as far as callers can see; it keeps a private cache of
    resolved dates, which is what makes the per-ticket questions cheap.
    """

    def __init__(
        self, week: tuple[Ranges, ...], zone: ZoneInfo, holidays: frozenset[date] | HolidayCalendar
    ) -> None:
        if len(week) != 7 or not any(week):
            raise BusinessTimeError(f'business hours are never open (write {_HOURS_EXAMPLE}, or "24/7")')
        self._week = week
        self._zone = zone
        self._holidays = holidays
        self._days: dict[int, _Day] = {}
        # A fixed offset near the zone's usual one: a first guess of the
        # local date of an instant that is never more than a day off.
        offset = datetime(2000, 1, 1, tzinfo=zone).utcoffset() or timedelta(0)
        self._guess_us = offset // _ONE_US
        self._open_weekdays = sum(1 for ranges in week if ranges)

    # -- construction ------------------------------------------------------

    @classmethod
    def parse(
        cls, hours: str, timezone: str, holidays: Iterable[date] | HolidayCalendar = ()
    ) -> BusinessHours:
        """Read opening hours such as ``"Mon-Fri 09:00-18:00"`` in the IANA ``timezone``.

        The text is groups of days followed by time ranges: days are names
        (``Mon``, ``Monday``), ranges (``Mon-Fri``, wrapping ``Sun-Thu``) or
        lists (``Mon,Wed,Fri``); times are ``HH:MM-HH:MM`` (``24:00`` may end
        a range), several per group for breaks (``09:00-12:30 13:30-18:00``).
        Groups are separated by commas: ``"Mon-Thu 09:00-17:00, Fri
        09:00-13:00"``. ``"24/7"`` means always open. Hours past midnight are
        written as two ranges on the two days. ``holidays`` are local dates
        on which the business is closed all day (also when it is 24/7): dates,
        or a :class:`~helpdesk.policy.holidays.HolidayCalendar`, which is kept
        as it is (it computes each year's public holidays on first lookup).
        """
        if not isinstance(hours, str):
            raise BusinessTimeError(f"business hours must be text ({_HOURS_EXAMPLE}), got {hours!r}")
        week = _parse_week(hours)
        if isinstance(holidays, HolidayCalendar):
            return cls(week, _zone(timezone), holidays)
        try:
            closed = frozenset(date(day.year, day.month, day.day) for day in holidays)
        except (AttributeError, TypeError):
            raise BusinessTimeError(f"holidays must be dates (datetime.date), got {holidays!r}") from None
        return cls(week, _zone(timezone), closed)

    @classmethod
    def from_config(cls, business: BusinessConfig) -> BusinessHours:
        """The calendar of the ``[business]`` section.

        Its ``hours``, ``timezone`` and ``holidays``, plus the public holidays
        of ``holiday_country`` (and ``holiday_subdivision``) when it is set.
        """
        if business.holiday_country is None:
            return cls.parse(business.hours, business.timezone, business.holidays)
        calendar = HolidayCalendar(business.holidays, business.holiday_country, business.holiday_subdivision)
        return cls.parse(business.hours, business.timezone, calendar)

    @property
    def timezone(self) -> ZoneInfo:
        """The business time zone: hours and holidays are local to it, results are given in it."""
        return self._zone

    @property
    def holidays(self) -> frozenset[date] | HolidayCalendar:
        """The local dates on which the business is closed; ask with ``day in hours.holidays``.

        A frozenset when only explicit dates were given; a
        :class:`~helpdesk.policy.holidays.HolidayCalendar` (explicit dates plus
        a country's public holidays, any year) when ``holiday_country`` is set.
        """
        return self._holidays

    @property
    def weekly(self) -> tuple[tuple[tuple[time, time | None], ...], ...]:
        """The opening ranges of each weekday, Monday first; an end of ``None`` means midnight (24:00)."""

        def as_time(minute: int) -> time | None:
            return None if minute == _MINUTES_PER_DAY else time(minute // 60, minute % 60)

        return tuple(
            tuple((time(start // 60, start % 60), as_time(end)) for start, end in ranges)
            for ranges in self._week
        )

    def __str__(self) -> str:
        """The canonical form of the weekly hours, e.g. ``Mon-Fri 09:00-18:00``."""
        if all(ranges == ((0, _MINUTES_PER_DAY),) for ranges in self._week):
            return _ALWAYS_OPEN
        groups: list[str] = []
        index = 0
        while index < 7:
            end = index
            while end + 1 < 7 and self._week[end + 1] == self._week[index]:
                end += 1
            if self._week[index]:
                days = _DAY_ABBREVIATIONS[index]
                if end > index:
                    days += f"-{_DAY_ABBREVIATIONS[end]}"
                groups.append(f"{days} {' '.join(_range_text(span) for span in self._week[index])}")
            index = end + 1
        return ", ".join(groups)

    def __repr__(self) -> str:
        holidays = self._holidays if isinstance(self._holidays, HolidayCalendar) else len(self._holidays)
        return f"BusinessHours({str(self)!r}, {self._zone.key!r}, holidays={holidays!r})"

    # -- the per-date cache ---------------------------------------------------

    def _local_us(self, day: date, minute: int) -> int:
        """UTC microseconds of a local wall-clock time (the first one if it repeats)."""
        if minute == _MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        return _to_us(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self._zone))

    def _day(self, ordinal: int) -> _Day:
        """The resolved local date ``ordinal`` (from the cache, or built once)."""
        found = self._days.get(ordinal)
        if found is not None:
            return found
        if len(self._days) >= _MAX_CACHED_DAYS:
            self._days.clear()
        day = date.fromordinal(ordinal)
        start = self._local_us(day, 0)
        end = self._local_us(day, _MINUTES_PER_DAY)
        intervals: list[tuple[int, int]] = []
        if day not in self._holidays:
            for first, last in self._week[day.weekday()]:
                # Clamping to the date keeps dates disjoint even where the
                # zone skips a whole local day or a time falls in a DST gap.
                low = max(self._local_us(day, first), start)
                high = min(self._local_us(day, last), end)
                if high <= low:
                    continue
                if intervals and low <= intervals[-1][1]:
                    intervals[-1] = (intervals[-1][0], max(high, intervals[-1][1]))
                else:
                    intervals.append((low, high))
        resolved = _Day(ordinal, start, end, tuple(intervals), sum(high - low for low, high in intervals))
        self._days[ordinal] = resolved
        return resolved

    def _locate(self, us: int) -> _Day:
        """The local date that contains the instant ``us``."""
        day = self._day(_EPOCH_ORDINAL + (us + self._guess_us) // _DAY_US)
        while us < day.start:
            day = self._day(day.ordinal - 1)
        while us >= day.end:
            day = self._day(day.ordinal + 1)
        return day

    def _next_open_us(self, us: int) -> int:
        """The first open instant at or after ``us``."""
        day = self._locate(us)
        for _ in range(_MAX_CLOSED_DAYS):
            for low, high in day.intervals:
                if us < high:
                    return max(low, us)
            day = self._day(day.ordinal + 1)
        raise BusinessTimeError(f"the business is closed for more than {_MAX_CLOSED_DAYS} days after this")

    def _open_us_between(self, start: int, end: int, enough: int | None = None) -> int:
        """Open microseconds in [start, end); stops early once ``enough`` is reached."""
        if end <= start:
            return 0
        day = self._locate(start)
        total = 0
        while True:
            if start <= day.start and day.end <= end:
                total += day.total
            else:
                for low, high in day.intervals:
                    low, high = max(low, start), min(high, end)
                    if high > low:
                        total += high - low
            if day.end >= end or (enough is not None and total >= enough):
                return total
            day = self._day(day.ordinal + 1)

    def _add_open_us(self, start: int, amount: int) -> int:
        """The earliest instant by which ``amount`` open microseconds have passed since ``start``."""
        if amount <= 0:
            return start
        day = self._locate(start)
        closed_days = 0
        while True:
            for low, high in day.intervals:
                if high <= start:
                    continue
                low = max(low, start)
                if amount <= high - low:
                    return low + amount
                amount -= high - low
            closed_days = 0 if day.intervals else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise BusinessTimeError(f"the business is closed for more than {_MAX_CLOSED_DAYS} days")
            day = self._day(day.ordinal + 1)

    def _add_business_days(self, start: int, count: int) -> int:
        """``count`` business days after ``start``: see :meth:`add`."""
        if count <= 0:
            return start
        base = self._next_open_us(start)
        local = _from_us(base, self._zone)
        day = self._locate(base)
        skipped = 0
        while count:
            day = self._day(day.ordinal + 1)
            if day.intervals:
                count -= 1
                skipped = 0
            else:
                skipped += 1
                if skipped > _MAX_CLOSED_DAYS:
                    raise BusinessTimeError(f"the business is closed for more than {_MAX_CLOSED_DAYS} days")
        target_date = date.fromordinal(day.ordinal)
        target = datetime.combine(target_date, local.time(), tzinfo=self._zone)
        # Clamp into the target date, in case its time-of-day falls in a
        # DST gap that the zone resolves onto a neighbouring date.
        target_us = min(max(_to_us(target), day.start), day.end - 1)
        return self._next_open_us(target_us)

    # -- public questions ------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        """Whether the business is open at ``moment`` (opening instant included, closing excluded)."""
        us = _to_us(moment)
        return any(low <= us < high for low, high in self._locate(us).intervals)

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself if the business is open then, else the next opening, in the business zone."""
        return _from_us(self._next_open_us(_to_us(moment)), self._zone)

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of open time in [start, end); 0 if ``end`` is not after ``start``.

        Costs one cached-date step per local date spanned, with no time-zone
        lookups once the dates are cached.
        """
        return self._open_us_between(_to_us(start), _to_us(end)) / US_PER_SECOND

    def add(self, start: datetime, duration: Duration) -> datetime:
        """The moment ``duration`` after ``start``, in the business time zone.

        * Business minutes and hours: the earliest moment by which that much
          open time has passed since ``start``, walking forward through the
          open intervals (so a duration that ends exactly at closing time
          gives the closing time, and zero gives ``start``).
        * Business days (and weeks, as days times open weekdays): start from
          the first open moment at or after ``start`` (``start`` itself during
          opening hours); go forward that many business days (local dates with
          opening hours that are not holidays); keep the local time of day. If
          the business is closed at that time, the result is the next opening
          after it. So Wednesday 10:00 + 2 business days is Friday 10:00;
          Saturday 14:00 + 1 business day is Tuesday 09:00 (Monday 09:00 is
          the first open moment); on "Mon-Thu 09:00-17:00, Fri 09:00-13:00",
          Thursday 15:00 + 1 business day is Monday 09:00.
        * Anything else: real elapsed time, added in UTC.
        """
        start_us = _to_us(start)
        if not duration.business:
            return _from_us(start_us + duration.microseconds, self._zone)
        if duration.unit in ("minutes", "hours"):
            return _from_us(self._add_open_us(start_us, duration.microseconds), self._zone)
        days = int(duration.amount) * (self._open_weekdays if duration.unit == "weeks" else 1)
        return _from_us(self._add_business_days(start_us, days), self._zone)

    def elapsed(self, start: datetime, end: datetime, duration: Duration) -> bool:
        """Whether ``duration`` has passed between ``start`` and ``end``: ``end >= add(start, duration)``.

        For business minutes and hours this counts open time and stops as
        soon as enough is found, so a long-open ticket costs no more than the
        days it takes to reach ``duration``.
        """
        start_us, end_us = _to_us(start), _to_us(end)
        if not duration.business:
            return end_us - start_us >= duration.microseconds
        if duration.unit in ("minutes", "hours"):
            needed = duration.microseconds
            if end_us < start_us:
                return False
            return self._open_us_between(start_us, end_us, enough=needed) >= needed
        return end_us >= _to_us(self.add(start, duration))

    def describe(self, moment: datetime, now: datetime) -> str:
        """Say ``moment`` as a promise to a customer who reads it at ``now``, in the business zone.

        ``today 15:00``, ``tomorrow 11:00``, the weekday (``Tuesday 11:00``)
        up to six days ahead, else the date (``Tue 3 Mar 11:00``, with the
        year when it is not the current one). Seconds are not shown.
        """
        local = _from_us(_to_us(moment), self._zone)
        today = _from_us(_to_us(now), self._zone).date()
        clock = f"{local.hour:02d}:{local.minute:02d}"
        days_ahead = (local.date() - today).days
        if days_ahead == 0:
            return f"today {clock}"
        if days_ahead == 1:
            return f"tomorrow {clock}"
        if 2 <= days_ahead <= 6:
            return f"{DAY_NAMES[local.weekday()]} {clock}"
        year = f" {local.year}" if local.year != today.year else ""
        weekday = _DAY_ABBREVIATIONS[local.weekday()]
        return f"{weekday} {local.day} {_MONTH_ABBREVIATIONS[local.month - 1]}{year} {clock}"
