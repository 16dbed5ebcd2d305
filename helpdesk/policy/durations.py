"""The duration language of rule files: ``"4 business hours"``, ``"3 days"``, ``"30 min"``.

Rules state waiting times as short phrases (``after = "3 days"``,
``response_time = "4 business hours"``). This module reads such a phrase
into a :class:`Duration` and writes it back in one canonical form, with
error messages that say what is wrong and how to write it. It knows nothing
of opening hours: what "business" time means on a calendar is
:mod:`helpdesk.policy.businesstime`'s job, which imports this module (never
the other way round). :class:`BusinessTimeError` lives here, the lower of
the two modules, because both raise it and a configuration loader catches
one error for either.

Plain durations are real elapsed time; ``business`` durations count open
time (minutes, hours) or whole business days (days, weeks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "UNITS",
    "UNIT_SECONDS",
    "US_PER_SECOND",
    "BusinessTimeError",
    "Duration",
    "parse_duration",
]


class BusinessTimeError(ValueError):
    """A business-hours text, a duration or a datetime is unusable.

    Raised here for durations and by :mod:`helpdesk.policy.businesstime` for
    opening hours, time zones and naive datetimes.

    The message says what is wrong and how to write it right, so that a
    configuration loader can show it to the user as it is.
    """


UNITS = ("minutes", "hours", "days", "weeks")
UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
_UNIT_WORDS = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}
_BUSINESS_WORDS = ("business", "working")
_UNIT_HINT = 'use minutes, hours, days or weeks, optionally "business"'
_DURATION_PATTERN = re.compile(r"^(?P<number>[+-]?[0-9.]+)\s*(?P<rest>.*)$", re.DOTALL)
# Durations and instants are counted in whole microseconds, so that sums are exact.
US_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class Duration:
    """A length of time as a rule states it: ``4 business hours``, ``3 days``.

    ``business`` durations count open time only (hours, minutes) or whole
    business days (days, weeks); the others are real elapsed time.
    """

    amount: float
    unit: str
    business: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNIT_SECONDS:
            raise BusinessTimeError(f'unknown unit "{self.unit}" ({_UNIT_HINT})')
        if not self.amount >= 0 or self.amount == float("inf"):
            raise BusinessTimeError(f"a duration must be a finite number of at least 0, got {self.amount!r}")
        if self.business and self.unit in ("days", "weeks") and self.amount != int(self.amount):
            raise BusinessTimeError(
                f'"{self}": business {self.unit} must be a whole number '
                '(use business hours for part of a day, e.g. "12 business hours")'
            )

    @property
    def microseconds(self) -> int:
        """The nominal length in whole microseconds (open time for business hours and minutes)."""
        return round(self.amount * UNIT_SECONDS[self.unit] * US_PER_SECOND)

    @property
    def seconds(self) -> float:
        """The nominal length in seconds: what ``business_seconds_between`` measures for business
        hours and minutes, and real seconds for plain durations. For business days and weeks it
        is only nominal (24 hours a day), because their real length depends on the calendar.
        """
        return self.microseconds / US_PER_SECOND

    def __str__(self) -> str:
        """The canonical text, which :func:`parse_duration` reads back to an equal value."""
        value = float(self.amount)
        # Positional notation, never exponents: "0.00001 hours", not "1e-05 hours".
        amount = str(int(value)) if value.is_integer() else f"{Decimal(repr(value)):f}"
        unit = self.unit[:-1] if value == 1 else self.unit
        return f"{amount} {'business ' if self.business else ''}{unit}"


def parse_duration(text: str) -> Duration:
    """Read a duration such as ``"4 business hours"``, ``"3 days"`` or ``"30 min"``.

    Accepted: a non-negative number (decimals allowed), optionally
    ``business`` (or ``working``), then a unit: minutes (``m``, ``min``),
    hours (``h``, ``hr``), days (``d``) or weeks (``w``, ``wk``), singular or
    plural, in any case. Business days and weeks must be whole numbers.
    """
    if not isinstance(text, str):
        raise BusinessTimeError(f'a duration must be text such as "4 business hours", got {text!r}')
    stripped = " ".join(text.split())
    if not stripped:
        raise BusinessTimeError('empty duration (write e.g. "4 business hours" or "3 days")')
    match = _DURATION_PATTERN.match(stripped)
    if match is None:
        first = stripped.split()[0]
        raise BusinessTimeError(
            f'expected a number at the start of "{stripped}", got "{first}" (write digits, e.g. "4 hours")'
        )
    number_text, rest = match.group("number"), match.group("rest")
    try:
        amount = float(number_text)
    except ValueError:
        raise BusinessTimeError(
            f'"{number_text}" in "{stripped}" is not a number (write digits, e.g. "4 hours" or "1.5 hours")'
        ) from None
    if amount < 0 or number_text.startswith("-"):
        positive = stripped.lstrip("-").strip()
        raise BusinessTimeError(f'"{stripped}": a duration cannot be negative (write e.g. "{positive}")')
    words = rest.split()
    business = bool(words) and words[0].lower() in _BUSINESS_WORDS
    if business:
        words = words[1:]
    if not words:
        raise BusinessTimeError(
            f'missing unit in "{stripped}" (write e.g. "{number_text} hours"; {_UNIT_HINT})'
        )
    unit = _UNIT_WORDS.get(words[0].lower())
    if unit is None:
        raise BusinessTimeError(f'unknown unit "{words[0]}" in "{stripped}" ({_UNIT_HINT})')
    if len(words) > 1:
        raise BusinessTimeError(
            f'unexpected "{" ".join(words[1:])}" after the unit in "{stripped}" '
            '(write only a number and a unit, e.g. "4 business hours")'
        )
    return Duration(amount, unit, business)
