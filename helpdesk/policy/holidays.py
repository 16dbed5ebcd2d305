"""Public holidays from the ``holidays`` package, merged with the business's own list.

``[business] holiday_country = "IN"`` (an ISO 3166 country code) and the
optional ``holiday_subdivision = "KA"`` (a state, province or region) give the
business the public holidays of that place, as the well-kept ``holidays``
package computes them, movable feasts and observed days included. The dates in
``[business] holidays`` are closed as well, so a business adds its own days
(a company holiday, the week between Christmas and New Year) to the public
ones without typing in a calendar every year.

This is the only module that imports ``holidays``. Its calendars compute a
year when a date of that year is first looked up, so a
:class:`HolidayCalendar` covers any year that business-time arithmetic
touches, without a list of years fixed at start-up. Some calendars cover a
limited range of years (India's lunar holidays: 2001-2035) and warn
outside it; the warning is logged once per year, and that year has what
the library could compute (fixed-date holidays) plus the explicit dates.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import holidays as holiday_library

__all__ = ["HolidayCalendar", "HolidayRegionError", "check_region"]

log = logging.getLogger(__name__)

_COUNTRY_HINT = 'use an ISO 3166 country code such as "IN", "GB", "DE" or "US"'


class HolidayRegionError(ValueError):
    """``holiday_country`` or ``holiday_subdivision`` names no calendar the library has.

    ``key`` is the offending setting, so the configuration loader can name it.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(problem)


def _entity(code: str) -> Any:
    """The library's calendar class for a supported country code."""
    return getattr(holiday_library, code)


def _country_hint(text: str) -> str:
    """A suggestion for a country written as a name or a three-letter code ("India", "DEU")."""
    words = text.replace("-", " ").replace("_", " ").split()
    for candidate in (text.upper(), "".join(word.capitalize() for word in words)):
        entity = getattr(holiday_library, candidate, None) if candidate.isidentifier() else None
        code = getattr(entity, "country", None)
        if isinstance(code, str):
            return f'; did you mean "{code}"?'
    return ""


def check_region(country: str, subdivision: str | None = None) -> tuple[str, str | None]:
    """The canonical country and subdivision codes, or :class:`HolidayRegionError`.

    Codes are read case-insensitively; a subdivision may also be given by
    the name the library knows (``"Bayern"`` for ``BY``). Aliases of a
    country (``UK``) become its ISO code (``GB``).
    """
    text = country.strip()
    code = text.upper()
    if code not in holiday_library.list_supported_countries(include_aliases=True):
        raise HolidayRegionError(
            "holiday_country", f'no holiday calendar for "{text}" ({_COUNTRY_HINT}{_country_hint(text)})'
        )
    entity = _entity(code)
    code = entity.country
    if subdivision is None or not subdivision.strip():
        return code, None
    wanted = subdivision.strip()
    known: tuple[str, ...] = tuple(entity.subdivisions)
    if not known:
        raise HolidayRegionError(
            "holiday_subdivision", f"the holiday calendar of {code} has no subdivisions: remove the setting"
        )
    by_code = {item.upper(): item for item in known}
    aliases = getattr(entity, "subdivisions_aliases", {}) or {}
    by_name = {name.casefold(): item for name, item in aliases.items()}
    found = by_code.get(wanted.upper()) or by_name.get(wanted.casefold())
    if found is None:
        raise HolidayRegionError(
            "holiday_subdivision",
            f'{code} has no subdivision "{wanted}" (use one of {", ".join(known)})',
        )
    return code, found


class HolidayCalendar:
    """The local dates on which a business is closed: its own list plus a country's public holidays.

    ``day in calendar`` is the question business-time arithmetic asks; the
    country's calendar computes each year on its first lookup. There is no
    length or iteration, because the public holidays go on for ever: ask
    :meth:`between` for the dates of a period.
    """

    def __init__(
        self, explicit: Iterable[date] = (), country: str | None = None, subdivision: str | None = None
    ) -> None:
        self._explicit = frozenset(explicit)
        self._country: str | None = None
        self._subdivision: str | None = None
        self._public: Any = None
        self._years: set[int] = set()
        if country is not None:
            self._country, self._subdivision = check_region(country, subdivision)
            self._public = holiday_library.country_holidays(self._country, subdiv=self._subdivision)
        elif subdivision is not None:
            raise HolidayRegionError("holiday_subdivision", "needs holiday_country as well")

    @property
    def explicit(self) -> frozenset[date]:
        """The business's own closed dates (``[business] holidays``)."""
        return self._explicit

    @property
    def country(self) -> str | None:
        """The ISO code of the country whose public holidays are closed days, if any."""
        return self._country

    @property
    def subdivision(self) -> str | None:
        """The subdivision (state, region) of :attr:`country`, if any."""
        return self._subdivision

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        if not isinstance(day, date):
            return False
        if day in self._explicit:
            return True
        if self._public is None:
            return False
        self._expand(day.year)
        return day in self._public

    def _expand(self, year: int) -> None:
        """Have the library compute ``year`` (once), logging its warnings instead of raising them."""
        if year not in self._years:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                _ = date(year, 1, 1) in self._public
            for warning in caught:
                log.warning("public holidays of %s in %d: %s", self._region(), year, warning.message)
            self._years.add(year)

    def _region(self) -> str:
        return "-".join(part for part in (self._country, self._subdivision) if part) or "none"

    def name(self, day: date) -> str | None:
        """What the holiday on ``day`` is called (``"Republic Day"``), or None if it is not one."""
        if self._public is not None:
            self._expand(day.year)
            if day in self._public:
                return str(self._public.get(day))
        return "holiday" if day in self._explicit else None

    def between(self, start: date, end: date) -> list[date]:
        """The closed dates from ``start`` to ``end``, both included, in order."""
        days = {day for day in self._explicit if start <= day <= end}
        if self._public is not None and start <= end:
            # Once its years are computed, the calendar holds every holiday in them.
            for year in range(start.year, end.year + 1):
                self._expand(year)
            days.update(day for day in self._public if start <= day <= end)
        return sorted(days)

    def _key(self) -> tuple[frozenset[date], str | None, str | None]:
        return self._explicit, self._country, self._subdivision

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HolidayCalendar):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"HolidayCalendar(public={self._region()}, explicit={len(self._explicit)})"
