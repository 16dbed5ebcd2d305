"""Invoice and credit note numbers: financial years, number templates and the counter a number belongs to.

Numbers are sequential and gapless within one financial year and restart at 1
in the next (GST rule 46(b): at most 16 characters, letters, digits, ``-`` and
``/``, unique for a financial year). ``[invoices] year_start`` is the first day
of the financial year as ``MM-DD``: ``"04-01"`` in India (2026-05-10 falls in FY
2026-27), ``"01-01"`` (the default) for a calendar year.

A template (``[invoices] number_format``; credit notes have their own, e.g.
``CN/{fy}/{seq:04}``) is literal text with placeholders:

=============== ======================================= ===================== ==============
placeholder     meaning                                 year_start ``04-01``  ``01-01``
=============== ======================================= ===================== ==============
``{seq}``       the sequence number in its year          ``7``                 ``7``
``{seq:04}``    the same, zero-padded to 4 digits (1-9)  ``0007``              ``0007``
``{fy}``        the financial year                       ``2026-27``           ``2026``
``{fy_short}``  the same, two-digit years                ``26-27``             ``26``
``{fy_start}``  the year the financial year starts in    ``2026``              ``2026``
``{fy_end}``    the year it ends in                      ``2027``              ``2026``
``{year}``      the calendar year (``01-01`` only)       --                    ``2026``
``{yy}``        the same, two digits (``01-01`` only)    --                    ``26``
=============== ======================================= ===================== ==============

So ``INV/{fy}/{seq:04}`` gives ``INV/2026-27/0001`` and ``INV-{year}-{seq:04}``
``INV-2026-0001``. A template is refused (:class:`NumberingError`, naming the
problem) when it has an unknown placeholder or a stray brace, has no ``{seq}``
or more than one, has no year part (the numbers of two years would repeat),
uses ``{year}``/``{yy}`` with a financial year that does not start on 1 January
(an invoice of March 2026 and one of April 2026 would both say 2026 but count
in different years), holds a character other than letters, digits, ``-`` and
``/``, or can give a number longer than 16 characters for a sequence up to 9999.

:func:`series_key` names the counter a number is drawn from: the template with
its year parts filled in and ``{seq}`` left, so that each financial year of each
template counts from 1 (a change of the zero-padding alone keeps counting).
Allocating the numbers durably is the store's job, not this module's: this one
does no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "MAX_NUMBER_LENGTH",
    "MAX_PLANNED_SEQUENCE",
    "NumberingError",
    "financial_year",
    "financial_year_dates",
    "format_number",
    "parse_year_start",
    "series_key",
    "validate_template",
]

MAX_NUMBER_LENGTH = 16
# A template must leave room for this many numbers a year within MAX_NUMBER_LENGTH.
MAX_PLANNED_SEQUENCE = 9999

_YEAR_PARTS = frozenset({"fy", "fy_short", "fy_start", "fy_end", "year", "yy"})
_CALENDAR_ONLY = frozenset({"year", "yy"})
_TOKEN = re.compile(r"\{(?P<name>[^{}:]*)(?::(?P<spec>[^{}]*))?\}")
_LITERAL = re.compile(r"[A-Za-z0-9/-]*", re.ASCII)
_YEAR_START = re.compile(r"(\d{2})-(\d{2})", re.ASCII)


class NumberingError(ValueError):
    """A number template, ``year_start`` or sequence number is invalid; the message says which and why."""


@dataclass(frozen=True)
class _Part:
    """One piece of a template: literal ``text``, or a placeholder ``name`` (and ``width`` for ``seq``)."""

    text: str = ""
    name: str = ""
    width: int = 0


def parse_year_start(year_start: str) -> tuple[int, int]:
    """``year_start`` (``"MM-DD"``, e.g. ``"04-01"``) as ``(month, day)``.

    A day that is not in every year (``"02-29"``) is refused, so that every
    financial year has a first day.
    """
    match = _YEAR_START.fullmatch(year_start) if isinstance(year_start, str) else None
    if match is None:
        raise NumberingError(f"year_start: expected MM-DD such as 04-01, got {year_start!r}")
    month, day = int(match[1]), int(match[2])
    try:
        date(2001, month, day)  # 2001 is no leap year: 02-29 fails here.
    except ValueError:
        raise NumberingError(f"year_start: {year_start!r} is not a day of every year") from None
    return month, day


def financial_year(day: date, year_start: str = "01-01") -> tuple[int, int]:
    """The financial year ``day`` falls in, as (the year it starts in, the year it ends in).

    With ``year_start="04-01"``: 2026-05-10 is ``(2026, 2027)`` and 2026-03-31 is
    ``(2025, 2026)``. With the default ``"01-01"`` both are the calendar year:
    ``(2026, 2026)``.
    """
    month, first = parse_year_start(year_start)
    start = day.year if (day.month, day.day) >= (month, first) else day.year - 1
    end = start if (month, first) == (1, 1) else start + 1
    return start, end


def financial_year_dates(day: date, year_start: str = "01-01") -> tuple[date, date]:
    """The first and the last day of the financial year ``day`` falls in."""
    month, first = parse_year_start(year_start)
    start, _ = financial_year(day, year_start)
    return date(start, month, first), date(start + 1, month, first) - timedelta(days=1)


@functools.lru_cache(maxsize=64)
def _parse(template: str, year_start: str) -> tuple[_Part, ...]:
    """``template`` split into parts and validated against ``year_start`` (see the module docstring)."""
    if not isinstance(template, str) or not template:
        raise NumberingError(f"number format: must not be empty, got {template!r}")
    month_day = parse_year_start(year_start)
    parts: list[_Part] = []
    position = 0
    for match in _TOKEN.finditer(template):
        parts.extend(_literal(template, template[position : match.start()]))
        parts.append(_placeholder(template, match, calendar=month_day == (1, 1), year_start=year_start))
        position = match.end()
    parts.extend(_literal(template, template[position:]))

    names = [part.name for part in parts if part.name]
    if names.count("seq") != 1:
        problem = "has no {seq}" if "seq" not in names else "has {seq} more than once"
        raise NumberingError(f"number format {template!r}: {problem}: it must hold the sequence number once")
    if not _YEAR_PARTS.intersection(names):
        raise NumberingError(
            f"number format {template!r}: has no year part ({{fy}}, {{fy_short}}, {{year}}, ...): "
            "numbers restart each financial year, so they would repeat"
        )
    # Every year has four digits, so the year 2026 stands for all of them in the longest number.
    sample_years = (2026, 2026) if month_day == (1, 1) else (2026, 2027)
    longest = _render(parts, MAX_PLANNED_SEQUENCE, sample_years, date(2026, 12, 31))
    if len(longest) > MAX_NUMBER_LENGTH:
        raise NumberingError(
            f"number format {template!r}: can give {len(longest)} characters ({longest}), "
            f"more than {MAX_NUMBER_LENGTH}"
        )
    return tuple(parts)


def _literal(template: str, text: str) -> list[_Part]:
    if not text:
        return []
    if not _LITERAL.fullmatch(text):
        bad = next(character for character in text if not _LITERAL.fullmatch(character))
        what = "a stray brace" if bad in "{}" else f"the character {bad!r}"
        raise NumberingError(
            f"number format {template!r}: has {what}: only letters, digits, '-', '/' and placeholders "
            "such as {seq:04} and {fy} are allowed"
        )
    return [_Part(text=text)]


def _placeholder(template: str, match: re.Match[str], *, calendar: bool, year_start: str) -> _Part:
    name, spec = match["name"], match["spec"]
    if name == "seq":
        if spec is None:
            return _Part(name="seq", width=1)
        width = re.fullmatch(r"0([1-9])", spec)
        if width is None:
            raise NumberingError(
                f"number format {template!r}: {match[0]}: the sequence takes a zero-padded width "
                "such as {seq:04}"
            )
        return _Part(name="seq", width=int(width[1]))
    if name not in _YEAR_PARTS:
        known = ", ".join(f"{{{known}}}" for known in ["seq", *sorted(_YEAR_PARTS)])
        raise NumberingError(f"number format {template!r}: unknown placeholder {match[0]} (known: {known})")
    if spec is not None:
        raise NumberingError(f"number format {template!r}: {match[0]} takes no format")
    if name in _CALENDAR_ONLY and not calendar:
        raise NumberingError(
            f"number format {template!r}: {match[0]} is the calendar year, which does not name the "
            f"financial year starting {year_start}: use {{fy}}, {{fy_short}}, {{fy_start}} or {{fy_end}}"
        )
    return _Part(name=name)


def _year_text(name: str, years: tuple[int, int], day: date) -> str:
    start, end = years
    split = start != end
    if name == "fy":
        return f"{start}-{end % 100:02}" if split else f"{start}"
    if name == "fy_short":
        return f"{start % 100:02}-{end % 100:02}" if split else f"{start % 100:02}"
    if name == "fy_start":
        return f"{start}"
    if name == "fy_end":
        return f"{end}"
    if name == "year":
        return f"{day.year}"
    return f"{day.year % 100:02}"  # yy


def _render(
    parts: tuple[_Part, ...] | list[_Part], sequence: int | None, years: tuple[int, int], day: date
) -> str:
    """The parts filled in; with ``sequence`` None the sequence stays the placeholder ``{seq}``."""
    pieces: list[str] = []
    for part in parts:
        if not part.name:
            pieces.append(part.text)
        elif part.name == "seq":
            pieces.append("{seq}" if sequence is None else str(sequence).zfill(part.width))
        else:
            pieces.append(_year_text(part.name, years, day))
    return "".join(pieces)


def validate_template(template: str, year_start: str) -> None:
    """Raise :class:`NumberingError` unless ``template`` is a valid number template for ``year_start``.

    For checking ``[invoices] number_format`` when the configuration is loaded,
    long before the first invoice.
    """
    _parse(template, year_start)


def format_number(template: str, sequence: int, day: date, year_start: str) -> str:
    """The number ``sequence`` (from 1) of the financial year of ``day``, written by ``template``.

    ``format_number("INV/{fy}/{seq:04}", 1, date(2026, 5, 10), "04-01")`` is
    ``"INV/2026-27/0001"``. Raises :class:`NumberingError` for an invalid
    template, a sequence below 1, or a number longer than 16 characters (a
    sequence above 9999 can make it so).
    """
    parts = _parse(template, year_start)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise NumberingError(f"sequence: expected a whole number from 1, got {sequence!r}")
    number = _render(parts, sequence, financial_year(day, year_start), day)
    if len(number) > MAX_NUMBER_LENGTH:
        raise NumberingError(
            f"number {number!r} is {len(number)} characters long, more than {MAX_NUMBER_LENGTH}: "
            f"the format {template!r} has no room for sequence {sequence}"
        )
    return number


def series_key(template: str, day: date, year_start: str) -> str:
    """The name of the counter the numbers of ``template`` for ``day`` are drawn from.

    The template with its year parts filled in for the financial year of
    ``day`` and the sequence written ``{seq}``: ``"INV/2026-27/{seq}"`` for
    ``INV/{fy}/{seq:04}`` on any day of FY 2026-27. Every financial year has its
    own key, so its numbers start at 1; invoices and credit notes have their own
    templates, so their own keys.
    """
    parts = _parse(template, year_start)
    return _render(parts, None, financial_year(day, year_start), day)
