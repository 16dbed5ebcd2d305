"""The scheduler: named jobs run by the clock, with their last runs kept in the store.

The daemon has work that the clock starts rather than mail: the rule tick
(``every 60 seconds``), the weekly digest to the owner (``[schedule] digest =
"monday 08:00"``) and, later, greetings and reminders (``daily 09:00``). A job
is a name, a schedule text and a function; :meth:`Scheduler.run_pending` runs
the ones that are due, between two mail cycles.

This is the only module that imports ``schedule``. It reads the schedule texts
with it (``every().monday.at("08:00")`` checks the day, the unit and the time
of day), but it does not let it decide when a job is due: ``schedule`` asks
``datetime.now()`` itself, counts in naive local time, needs pytz for other
zones and forgets everything when the process ends. Due-ness comes instead
from an injected clock and from a mark kept per job in the store, so that
tests can drive time and a restart neither repeats nor loses a job:

* **Calendar jobs** (``monday 08:00``, ``daily 08:00``) are due at local wall
  time in the business time zone, computed with zoneinfo for each date, so
  08:00 is 08:00 on both sides of a daylight-saving change (07:00 or 08:00
  UTC in London). A time that a spring-forward skips runs at the same
  number of minutes after the gap's start (01:30 on a day that jumps from
  01:00 to 02:00 runs at 02:30); a time that repeats in the autumn runs at
  its first instance. The *due occurrence* is the most recent scheduled
  moment at or before now. The job runs when its mark is before that
  occurrence, and the occurrence becomes the mark. So a digest missed while
  the machine was off goes out once when it starts again, however many
  Mondays it missed, and the next one waits for next Monday.
* **Interval jobs** (``every 60 seconds``) run when their interval has passed
  since the mark, which is the moment they last ran; a job never run before
  runs at once.
* **First sight.** When the scheduler meets a calendar job that has no mark
  (a new install, a newly added job), it marks it with the current moment
  and runs nothing: an occurrence from before the helpdesk existed is not
  news. Every occurrence after that is caught up as above.

The mark is committed in the same store commit as the job's own changes,
one commit per job, so a restart after a job finished never runs it again.
A crash while a job runs (before its commit) runs it again at the next
start: jobs must be idempotent (DESIGN 5.5: thin jobs that check persisted
state and enqueue work), and because a failing job's changes are not
rolled back, they may also be committed by the next job's commit.

A job that raises is logged in one line and does not stop the others; its
mark stays where it was, so it is retried, but only after
:data:`RETRY_AFTER`, never in a tight loop.

Jobs run in the daemon's loop between mail cycles, so a long job holds up
mail intake: every job must be bounded (the rule tick fires at most 500
rules per tick; the digest renders one message into the outbox) and leave
the rest for its next run.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import schedule

if TYPE_CHECKING:
    from helpdesk.store.store import Store

__all__ = [
    "RETRY_AFTER",
    "JobSpec",
    "ScheduleSpecError",
    "Scheduler",
    "parse_schedule",
]

log = logging.getLogger(__name__)

# A job that failed is tried again after this long, not at every pass.
RETRY_AFTER = timedelta(seconds=60)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAILY = "daily"
_UNITS = {
    "second": "seconds",
    "seconds": "seconds",
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
}
_UNIT_SIZES = ((3600, "hour"), (60, "minute"), (1, "second"))
_HINT = 'write "monday 08:00", "daily 08:00" or "every 10 minutes"'
_CALENDAR_PATTERN = re.compile(r"^(?P<day>[a-z]+) (?P<hour>\d{1,2}):(?P<minute>\d{2})$")
_INTERVAL_PATTERN = re.compile(r"^every (?P<count>\d+) (?P<unit>[a-z]+)$")


class ScheduleSpecError(ValueError):
    """A schedule text is unusable.

    The message says what is wrong and how to write it right; the caller
    adds the file and key (``config.toml: [schedule] digest: ...``).
    """


@dataclass(frozen=True)
class JobSpec:
    """When a job runs: weekly or daily at a local time, or every so often.

    ``kind`` is ``"weekly"`` (with ``weekday``, Monday = 0, and ``at``),
    ``"daily"`` (with ``at``) or ``"interval"`` (with ``interval``). ``at`` is
    a wall-clock time in the business time zone.
    """

    kind: str
    at: time | None = None
    weekday: int | None = None
    interval: timedelta | None = None

    @property
    def calendar(self) -> bool:
        """Whether the job runs at set local times (weekly, daily) rather than every so often."""
        return self.kind != "interval"

    def __str__(self) -> str:
        """The canonical text, which :func:`parse_schedule` reads back to an equal spec."""
        if self.kind == "interval":
            assert self.interval is not None
            seconds = int(self.interval.total_seconds())
            # The largest unit that divides the interval: "every 60 seconds" is "every 1 minute".
            size, unit = next((size, unit) for size, unit in _UNIT_SIZES if seconds % size == 0)
            count = seconds // size
            return f"every {count} {unit}{'' if count == 1 else 's'}"
        assert self.at is not None
        day = WEEKDAYS[self.weekday] if self.kind == "weekly" and self.weekday is not None else DAILY
        return f"{day} {self.at:%H:%M}"

    def _step(self) -> timedelta:
        return timedelta(days=7 if self.kind == "weekly" else 1)

    def _moment(self, day: date, zone: ZoneInfo) -> datetime:
        """The scheduled moment on local date ``day``, in UTC."""
        assert self.at is not None
        return datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)

    def latest(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The most recent scheduled moment at or before ``now`` (calendar jobs), in UTC."""
        day = now.astimezone(zone).date()
        if self.kind == "weekly":
            assert self.weekday is not None
            day -= timedelta(days=(day.weekday() - self.weekday) % 7)
        moment = self._moment(day, zone)
        while moment > now:
            day -= self._step()
            moment = self._moment(day, zone)
        return moment

    def following(self, after: datetime, zone: ZoneInfo) -> datetime:
        """The first scheduled moment strictly after ``after`` (calendar jobs), in UTC."""
        day = after.astimezone(zone).date()
        if self.kind == "weekly":
            assert self.weekday is not None
            day += timedelta(days=(self.weekday - day.weekday()) % 7)
        moment = self._moment(day, zone)
        while moment <= after:
            day += self._step()
            moment = self._moment(day, zone)
        return moment


def parse_schedule(text: str) -> JobSpec:
    """Read a schedule: ``"<weekday> HH:MM"``, ``"daily HH:MM"`` or ``"every N seconds|minutes|hours"``.

    Weekdays are ``monday`` to ``sunday``; case and extra spaces do not
    matter. Times are 24-hour wall-clock times in the business time zone.
    Raises :class:`ScheduleSpecError` with a message that says how to fix it.
    """
    if not isinstance(text, str):
        raise ScheduleSpecError(f"expected a schedule text ({_HINT}), got {text!r}")
    normal = " ".join(text.lower().split())
    if not normal:
        raise ScheduleSpecError(f"empty schedule ({_HINT})")
    if normal.split()[0] == "every":
        return _parse_interval(text, normal)
    return _parse_calendar(text, normal)


def _parse_interval(text: str, normal: str) -> JobSpec:
    match = _INTERVAL_PATTERN.match(normal)
    if match is None:
        raise ScheduleSpecError(
            f'cannot read "{text}": write "every N seconds", "every N minutes" or "every N hours", '
            'e.g. "every 10 minutes"'
        )
    count, word = int(match.group("count")), match.group("unit")
    unit = _UNITS.get(word)
    if unit is None:
        raise ScheduleSpecError(f'unknown unit "{word}" in "{text}" (use seconds, minutes or hours)')
    if count < 1:
        raise ScheduleSpecError(f'"{text}": the interval must be at least 1 {unit[:-1]}')
    # schedule's Job checks the unit; its interval and unit are what we keep.
    job = getattr(schedule.Scheduler().every(count), unit)
    return JobSpec("interval", interval=timedelta(**{job.unit: job.interval}))


def _parse_calendar(text: str, normal: str) -> JobSpec:
    match = _CALENDAR_PATTERN.match(normal)
    if match is None:
        raise ScheduleSpecError(f'cannot read "{text}" ({_HINT})')
    day, hour, minute = match.group("day"), int(match.group("hour")), int(match.group("minute"))
    if day != DAILY and day not in WEEKDAYS:
        suggestion = difflib.get_close_matches(day, [*WEEKDAYS, DAILY], n=1, cutoff=0.5)
        hint = f'; did you mean "{suggestion[0]}"?' if suggestion else ""
        raise ScheduleSpecError(
            f'unknown day "{match.group("day")}" in "{text}" (use monday to sunday, or daily{hint})'
        )
    if hour > 23 or minute > 59:
        raise ScheduleSpecError(f'invalid time "{hour}:{minute:02d}" in "{text}" (use 00:00 to 23:59)')
    job = schedule.Scheduler().every()
    job = job.day if day == DAILY else getattr(job, day)
    try:
        job.at(f"{hour:02d}:{minute:02d}")
    except schedule.ScheduleError as exc:
        raise ScheduleSpecError(f'cannot read "{text}": {exc} ({_HINT})') from None
    if job.start_day is None:
        return JobSpec("daily", at=job.at_time)
    return JobSpec("weekly", at=job.at_time, weekday=WEEKDAYS.index(job.start_day))


@dataclass
class _Job:
    name: str
    spec: JobSpec
    func: Callable[[], object]
    # When the last attempt failed (the injected clock's time); None after a success.
    failed_at: datetime | None = None


class Scheduler:
    """Named jobs with schedules, run by :meth:`run_pending` when due (see the module docstring).

    ``clock`` returns the current time as an aware datetime (the daemon's
    ``utc_now``; a fake one in tests); it is the only source of "now".
    ``timezone`` is the IANA name of the business time zone, in which
    calendar jobs' times of day are read.
    """

    def __init__(self, store: Store, timezone: str, clock: Callable[[], datetime]) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(
                f'unknown time zone "{timezone}" (use an IANA name such as "Europe/London" or "UTC")'
            ) from None
        self._store = store
        self._clock = clock
        self._jobs: dict[str, _Job] = {}

    @property
    def timezone(self) -> ZoneInfo:
        """The zone in which calendar jobs' times are local wall-clock times."""
        return self._zone

    @property
    def jobs(self) -> dict[str, JobSpec]:
        """The registered jobs and their schedules, in the order they were added (and run)."""
        return {name: job.spec for name, job in self._jobs.items()}

    def add(self, name: str, when: str | JobSpec, func: Callable[[], object]) -> JobSpec:
        """Register job ``name`` to call ``func()`` on schedule ``when`` (text or :class:`JobSpec`).

        The name is the key of the job's mark in the store: keep it stable.
        Raises :class:`ScheduleSpecError` for a bad schedule and ValueError
        for a name already taken.
        """
        if not name:
            raise ValueError("a job needs a name")
        if name in self._jobs:
            raise ValueError(f'a job named "{name}" is already scheduled')
        spec = when if isinstance(when, JobSpec) else parse_schedule(when)
        self._jobs[name] = _Job(name, spec, func)
        return spec

    # -- due-ness ----------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"the scheduler's clock must return timezone-aware datetimes, got {now!r}")
        return now.astimezone(UTC)

    def _mark(self, name: str) -> datetime | None:
        """The job's persisted mark: every occurrence at or before it is dealt with."""
        text = self._store.job_last_run(name)
        if text is None:
            return None
        try:
            mark = datetime.fromisoformat(text)
        except ValueError:
            mark = None
        if mark is None or mark.tzinfo is None:
            log.warning("job %s: unreadable last-run mark %r in the store; treating it as new", name, text)
            return None
        return mark.astimezone(UTC)

    def _due(self, job: _Job, mark: datetime | None, now: datetime) -> datetime | None:
        """The moment to record if ``job`` should run now (ignoring failures), else None."""
        spec = job.spec
        if spec.calendar:
            if mark is None:
                return None
            occurrence = spec.latest(now, self._zone)
            return occurrence if occurrence > mark else None
        assert spec.interval is not None
        # A mark far in the future means the clock was set back: run, and mark again.
        if mark is None or now >= mark + spec.interval or mark > now + spec.interval:
            return now
        return None

    def _next(self, job: _Job, mark: datetime | None, now: datetime) -> datetime:
        spec = job.spec
        if spec.calendar:
            if mark is None:
                moment = spec.following(now, self._zone)
            else:
                due = self._due(job, mark, now)
                moment = due if due is not None else spec.following(max(now, mark), self._zone)
        else:
            assert spec.interval is not None
            due = self._due(job, mark, now)
            moment = due if due is not None or mark is None else mark + spec.interval
        if job.failed_at is not None:
            moment = max(moment, job.failed_at + RETRY_AFTER)
        return moment

    # -- running -----------------------------------------------------------------

    def run_pending(self) -> list[str]:
        """Run every due job once, in the order added; returns the names of those that succeeded.

        After each successful job its mark is set and the store committed,
        so the job's own changes and its mark become durable together. A
        job that raises is logged, keeps its mark, and is retried after
        :data:`RETRY_AFTER`. Calendar jobs seen for the first time are
        marked (and committed) without running.
        """
        now = self._now()
        first_seen = []
        for job in self._jobs.values():
            mark = self._mark(job.name) if job.spec.calendar else None
            if job.spec.calendar and mark is not None and mark > now:
                # The clock was set back past the last run: start again from now,
                # or the job would wait until real time reached the old mark.
                log.warning("job %s: last run %s is in the future; runs from now on", job.name, mark)
                first_seen.append(job.name)
            elif job.spec.calendar and mark is None:
                first_seen.append(job.name)
        for name in first_seen:
            self._store.set_job_last_run(name, now.isoformat())
            log.info("job %s (%s): first seen; runs from %s on", name, self._jobs[name].spec, now.isoformat())
        if first_seen:
            self._store.commit()
        ran: list[str] = []
        for job in self._jobs.values():
            moment = self._due(job, self._mark(job.name), now)
            if moment is None:
                continue
            if job.failed_at is not None and now < job.failed_at + RETRY_AFTER:
                continue
            try:
                job.func()
            except Exception as exc:
                job.failed_at = now
                log.error(
                    "job %s failed, retrying in %d s: %s: %s",
                    job.name,
                    RETRY_AFTER.total_seconds(),
                    type(exc).__name__,
                    exc,
                )
                log.debug("job %s traceback", job.name, exc_info=True)
                continue
            job.failed_at = None
            self._store.set_job_last_run(job.name, moment.isoformat())
            self._store.commit()
            ran.append(job.name)
        return ran

    # -- questions for the daemon and for ``helpdesk status`` -------------------

    def next_runs(self) -> dict[str, datetime]:
        """When each job will next be due, in UTC (a moment not after now for a job due now)."""
        now = self._now()
        return {name: self._next(job, self._mark(name), now) for name, job in self._jobs.items()}

    def seconds_until_next(self) -> float:
        """Seconds until the next job is due: 0 if one is due now, ``math.inf`` with no jobs."""
        runs = self.next_runs()
        if not runs:
            return math.inf
        return max(0.0, (min(runs.values()) - self._now()).total_seconds())

    def last_runs(self) -> dict[str, str | None]:
        """Each job's persisted mark (ISO 8601, UTC), or None if the store has none yet.

        For a calendar job the mark is the occurrence it last ran for, or the
        moment it was first seen if it has not run since; for an interval
        job it is when it last ran.
        """
        return {name: self._store.job_last_run(name) for name in self._jobs}
