"""Unit tests of ``helpdesk.clock.scheduler``: schedules, catch-up, restarts, DST, failures.

Every test drives a real :class:`Store` in ``tmp_path`` with a fake clock, so
"the machine was off on Monday" or "the clocks went forward" is a matter of
setting the clock, and a restart is closing the store and building a new
scheduler on the same files, which is what the daemon does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk.clock.scheduler import RETRY_AFTER, JobSpec, Scheduler, ScheduleSpecError, parse_schedule
from helpdesk.config import load_config
from helpdesk.errors import ConfigError
from helpdesk.store.store import Store

REPOSITORY = Path(__file__).resolve().parent.parent.parent
LONDON = "Europe/London"
BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class FakeClock:
    """A clock the test sets and advances; the scheduler's only source of "now"."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Recorder:
    """A job that records the clock's time at each run."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.runs: list[datetime] = []

    def __call__(self) -> None:
        self.runs.append(self.clock())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path)
    yield store
    store.close()


def digest_scheduler(
    store: Store, clock: FakeClock, when: str = "monday 08:00", zone: str = LONDON
) -> tuple[Scheduler, Recorder]:
    scheduler = Scheduler(store, zone, clock)
    job = Recorder(clock)
    scheduler.add("digest", when, job)
    return scheduler, job


def run_until(scheduler: Scheduler, clock: FakeClock, end: datetime, step: timedelta) -> list[str]:
    """Call ``run_pending`` at every ``step`` until ``end``, as the daemon's loop does."""
    ran: list[str] = []
    while clock.now < end:
        clock.now = min(clock.now + step, end)
        ran.extend(scheduler.run_pending())
    return ran


# -- parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec", "canonical"),
    [
        ("monday 08:00", JobSpec("weekly", at=time(8, 0), weekday=0), "monday 08:00"),
        ("  Sunday   23:59 ", JobSpec("weekly", at=time(23, 59), weekday=6), "sunday 23:59"),
        ("FRIDAY 7:05", JobSpec("weekly", at=time(7, 5), weekday=4), "friday 07:05"),
        ("daily 00:00", JobSpec("daily", at=time(0, 0)), "daily 00:00"),
        ("Daily 18:30", JobSpec("daily", at=time(18, 30)), "daily 18:30"),
        ("every 60 seconds", JobSpec("interval", interval=timedelta(seconds=60)), "every 1 minute"),
        ("every 1 second", JobSpec("interval", interval=timedelta(seconds=1)), "every 1 second"),
        ("every 90 minutes", JobSpec("interval", interval=timedelta(minutes=90)), "every 90 minutes"),
        ("every 2 hours", JobSpec("interval", interval=timedelta(hours=2)), "every 2 hours"),
        ("Every 1 Hour", JobSpec("interval", interval=timedelta(hours=1)), "every 1 hour"),
    ],
)
def test_parse_schedule(text: str, spec: JobSpec, canonical: str) -> None:
    assert parse_schedule(text) == spec
    assert str(spec) == canonical
    assert parse_schedule(canonical) == spec


HINT = '(write "monday 08:00", "daily 08:00" or "every 10 minutes")'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"empty schedule {HINT}"),
        ("   ", f"empty schedule {HINT}"),
        ("weekly", f'cannot read "weekly" {HINT}'),
        ("monday", f'cannot read "monday" {HINT}'),
        ("monday 8am", f'cannot read "monday 8am" {HINT}'),
        ("monday 08:00:00", f'cannot read "monday 08:00:00" {HINT}'),
        (
            "mon 08:00",
            'unknown day "mon" in "mon 08:00" (use monday to sunday, or daily; did you mean "monday"?)',
        ),
        (
            "Tuseday 08:00",
            'unknown day "tuseday" in "Tuseday 08:00" (use monday to sunday, or daily; '
            'did you mean "tuesday"?)',
        ),
        (
            "someday 08:00",
            'unknown day "someday" in "someday 08:00" (use monday to sunday, or daily; '
            'did you mean "sunday"?)',
        ),
        ("monday 24:00", 'invalid time "24:00" in "monday 24:00" (use 00:00 to 23:59)'),
        ("daily 12:60", 'invalid time "12:60" in "daily 12:60" (use 00:00 to 23:59)'),
        ("every 5 days", 'unknown unit "days" in "every 5 days" (use seconds, minutes or hours)'),
        ("every 0 minutes", '"every 0 minutes": the interval must be at least 1 minute'),
        (
            "every ten minutes",
            'cannot read "every ten minutes": write "every N seconds", "every N minutes" '
            'or "every N hours", e.g. "every 10 minutes"',
        ),
        (
            "every minute",
            'cannot read "every minute": write "every N seconds", "every N minutes" '
            'or "every N hours", e.g. "every 10 minutes"',
        ),
    ],
)
def test_bad_schedules_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ScheduleSpecError) as raised:
        parse_schedule(text)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_a_schedule_must_be_text() -> None:
    with pytest.raises(ScheduleSpecError, match=r"expected a schedule text .*, got 8$"):
        parse_schedule(8)  # type: ignore[arg-type]


def write_config(tmp_path: Path, schedule_lines: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[business]\nname = "Acme"\nemail = "support@acme.example"\n'
        '[owner]\nemail = "owner@acme.example"\n'
        '[imap]\nhost = "imap.acme.example"\nusername = "support@acme.example"\npassword = "pw"\n'
        '[smtp]\nhost = "smtp.acme.example"\n' + schedule_lines,
        encoding="utf-8",
    )
    return path


def test_a_bad_digest_schedule_fails_at_config_load_naming_file_and_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[schedule]\ndigest = "mondays 8am"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (f'{path}: [schedule] digest: cannot read "mondays 8am" {HINT}')
    assert raised.value.key == "[schedule] digest"


def test_config_keeps_a_good_digest_schedule(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, '[schedule]\ndigest = "Friday 17:30"\n')).digest_schedule == (
        "Friday 17:30"
    )
    assert load_config(write_config(tmp_path, "")).digest_schedule == "monday 08:00"


def test_scheduler_refuses_bad_names_zones_and_clocks(store: Store) -> None:
    with pytest.raises(ValueError, match='unknown time zone "Mars/Olympus"'):
        Scheduler(store, "Mars/Olympus", FakeClock(utc(2026, 3, 2)))
    scheduler = Scheduler(store, LONDON, lambda: datetime(2026, 3, 2, 8, 0))
    scheduler.add("digest", "monday 08:00", lambda: None)
    with pytest.raises(ValueError, match='a job named "digest" is already scheduled'):
        scheduler.add("digest", "daily 08:00", lambda: None)
    with pytest.raises(ScheduleSpecError):
        scheduler.add("other", "fortnightly", lambda: None)
    assert list(scheduler.jobs) == ["digest"]
    with pytest.raises(ValueError, match="must return timezone-aware datetimes"):
        scheduler.run_pending()


# -- the weekly digest ---------------------------------------------------------------


def test_the_digest_goes_once_a_week_at_its_time(store: Store) -> None:
    # Sunday 1 March 2026, noon: London is on GMT until 29 March.
    clock = FakeClock(utc(2026, 3, 1, 12, 0))
    scheduler, digest = digest_scheduler(store, clock)
    assert scheduler.run_pending() == []
    ran = run_until(scheduler, clock, utc(2026, 3, 22, 0, 0), timedelta(minutes=5))
    assert ran == ["digest", "digest", "digest"]
    assert digest.runs == [utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0), utc(2026, 3, 16, 8, 0)]
    assert scheduler.last_runs() == {"digest": "2026-03-16T08:00:00+00:00"}
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 23, 8, 0)}


def test_a_new_install_does_not_send_the_digest_it_was_installed_after(store: Store) -> None:
    # Installed on Tuesday: Monday's digest is not news.
    clock = FakeClock(utc(2026, 3, 3, 10, 0))
    scheduler, digest = digest_scheduler(store, clock)
    assert scheduler.last_runs() == {"digest": None}
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 9, 8, 0)}
    assert scheduler.run_pending() == []
    assert digest.runs == []
    assert scheduler.last_runs() == {"digest": "2026-03-03T10:00:00+00:00"}
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 9, 8, 0)}
    assert scheduler.seconds_until_next() == (utc(2026, 3, 9, 8, 0) - clock.now).total_seconds()
    clock.now = utc(2026, 3, 9, 7, 59, 59)
    assert scheduler.run_pending() == []
    clock.now = utc(2026, 3, 9, 8, 0)
    assert scheduler.run_pending() == ["digest"]
    assert digest.runs == [utc(2026, 3, 9, 8, 0)]


def test_the_digest_missed_while_the_machine_was_off_goes_out_once_on_start(tmp_path: Path) -> None:
    clock = FakeClock(utc(2026, 3, 1, 12, 0))
    store = Store(tmp_path)
    scheduler, digest = digest_scheduler(store, clock)
    run_until(scheduler, clock, utc(2026, 3, 2, 9, 0), timedelta(minutes=10))
    assert digest.runs == [utc(2026, 3, 2, 8, 0)]
    store.close()

    # Off from Monday 2 March 09:00 until Tuesday 10 March 10:00: the Monday 9 March digest was missed.
    clock.now = utc(2026, 3, 10, 10, 0)
    store = Store(tmp_path)
    scheduler, digest = digest_scheduler(store, clock)
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 9, 8, 0)}
    assert scheduler.seconds_until_next() == 0.0
    assert scheduler.run_pending() == ["digest"]
    assert digest.runs == [utc(2026, 3, 10, 10, 0)]
    assert scheduler.last_runs() == {"digest": "2026-03-09T08:00:00+00:00"}
    # Exactly one run, not one per pass until next Monday.
    assert run_until(scheduler, clock, utc(2026, 3, 16, 7, 55), timedelta(minutes=15)) == []
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 16, 8, 0)}
    store.close()


def test_several_missed_digests_go_out_once(tmp_path: Path) -> None:
    clock = FakeClock(utc(2026, 3, 1, 12, 0))
    store = Store(tmp_path)
    scheduler, digest = digest_scheduler(store, clock)
    assert scheduler.run_pending() == []
    store.close()

    # Three Mondays missed (2, 9 and 16 March); started again on Wednesday 18 March.
    clock.now = utc(2026, 3, 18, 9, 30)
    store = Store(tmp_path)
    scheduler, digest = digest_scheduler(store, clock)
    assert scheduler.run_pending() == ["digest"]
    assert scheduler.run_pending() == []
    assert digest.runs == [utc(2026, 3, 18, 9, 30)]
    assert store.job_last_run("digest") == "2026-03-16T08:00:00+00:00"
    store.close()


def test_a_restart_never_runs_a_job_twice(tmp_path: Path) -> None:
    clock = FakeClock(utc(2026, 3, 2, 7, 0))
    store = Store(tmp_path)
    scheduler, digest = digest_scheduler(store, clock)
    tick = Recorder(clock)
    scheduler.add("tick", "every 60 seconds", tick)
    assert scheduler.run_pending() == ["tick"]
    clock.now = utc(2026, 3, 2, 8, 0, 30)
    assert scheduler.run_pending() == ["digest", "tick"]
    store.close()

    # Restarted at once, with the same clock: nothing is due again.
    for _ in range(2):
        store = Store(tmp_path)
        scheduler, digest = digest_scheduler(store, clock)
        tick = Recorder(clock)
        scheduler.add("tick", "every 60 seconds", tick)
        assert scheduler.run_pending() == []
        assert digest.runs == [] and tick.runs == []
        assert scheduler.last_runs() == {
            "digest": "2026-03-02T08:00:00+00:00",
            "tick": "2026-03-02T08:00:30+00:00",
        }
        store.close()

    # Read-only readers (helpdesk status) see the same marks.
    reader = Store(tmp_path, readonly=True)
    assert reader.job_last_run("digest") == "2026-03-02T08:00:00+00:00"
    assert reader.job_last_run("tick") == "2026-03-02T08:00:30+00:00"
    assert reader.job_last_run("unknown") is None


def test_a_crash_before_the_commit_runs_the_job_again(tmp_path: Path) -> None:
    """The mark is durable only with the commit after the job: a crash before it repeats the job."""
    clock = FakeClock(utc(2026, 3, 2, 7, 0))
    store = Store(tmp_path)
    digest_scheduler(store, clock)[0].run_pending()
    store.set_job_last_run("digest", "2026-03-02T08:00:00+00:00")
    # No commit, no close: the process died here (a kill -9 keeps only the journal).
    del store

    clock.now = utc(2026, 3, 2, 8, 1)
    store = Store(tmp_path)
    scheduler, _ = digest_scheduler(store, clock)
    assert store.job_last_run("digest") == "2026-03-02T07:00:00+00:00"
    assert scheduler.run_pending() == ["digest"]
    store.close()


# -- daylight saving -----------------------------------------------------------------------

# In 2026 Europe goes to summer time on Sunday 29 March and back on Sunday 25 October.
DST_CASES = [
    # zone, schedule, from, to, expected runs (UTC), all at 08:00 local
    (
        LONDON,
        "sunday 08:00",
        utc(2026, 3, 21),
        utc(2026, 4, 6),
        [utc(2026, 3, 22, 8, 0), utc(2026, 3, 29, 7, 0), utc(2026, 4, 5, 7, 0)],
    ),
    (
        LONDON,
        "monday 08:00",
        utc(2026, 3, 21),
        utc(2026, 4, 7),
        [utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0), utc(2026, 4, 6, 7, 0)],
    ),
    (
        LONDON,
        "sunday 08:00",
        utc(2026, 10, 17),
        utc(2026, 11, 2),
        [utc(2026, 10, 18, 7, 0), utc(2026, 10, 25, 8, 0), utc(2026, 11, 1, 8, 0)],
    ),
    (
        BERLIN,
        "monday 08:00",
        utc(2026, 3, 21),
        utc(2026, 4, 7),
        [utc(2026, 3, 23, 7, 0), utc(2026, 3, 30, 6, 0), utc(2026, 4, 6, 6, 0)],
    ),
    (
        BERLIN,
        "monday 08:00",
        utc(2026, 10, 17),
        utc(2026, 11, 3),
        [utc(2026, 10, 19, 6, 0), utc(2026, 10, 26, 7, 0), utc(2026, 11, 2, 7, 0)],
    ),
]


@pytest.mark.parametrize(("zone", "when", "start", "end", "expected"), DST_CASES)
def test_weekly_jobs_keep_local_time_across_daylight_saving_changes(
    store: Store, zone: str, when: str, start: datetime, end: datetime, expected: list[datetime]
) -> None:
    clock = FakeClock(start)
    scheduler, job = digest_scheduler(store, clock, when, zone)
    assert scheduler.run_pending() == []
    run_until(scheduler, clock, end, timedelta(minutes=5))
    assert job.runs == expected
    assert [run.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") for run in job.runs] == [
        f"{when[:3].title()} 08:00"
    ] * 3


def test_next_run_is_computed_in_local_time_across_the_change(store: Store) -> None:
    # Saturday 28 March, noon: tomorrow's 08:00 is already summer time.
    clock = FakeClock(utc(2026, 3, 28, 12, 0))
    scheduler, _ = digest_scheduler(store, clock, "sunday 08:00")
    assert scheduler.next_runs() == {"digest": utc(2026, 3, 29, 7, 0)}
    assert scheduler.seconds_until_next() == 19 * 3600.0


def test_daily_jobs_in_the_skipped_and_the_repeated_hour(store: Store) -> None:
    """01:30 does not exist on 29 March in London and happens twice on 25 October."""
    clock = FakeClock(utc(2026, 3, 27, 12, 0))
    scheduler, job = digest_scheduler(store, clock, "daily 01:30")
    scheduler.run_pending()
    run_until(scheduler, clock, utc(2026, 3, 31), timedelta(minutes=5))
    # 28 March at 01:30 GMT; 29 March 01:30 "GMT" is 02:30 BST; 30 March at 01:30 BST.
    assert job.runs == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]

    job.runs.clear()
    clock.now = utc(2026, 10, 24, 12, 0)
    run_until(scheduler, clock, utc(2026, 10, 27), timedelta(minutes=5))
    # The missed days in between go out once, on the first pass; then the
    # repeated 01:30 of 25 October runs once, at its first instance (BST).
    assert job.runs == [
        utc(2026, 10, 24, 12, 5),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


# -- interval jobs ----------------------------------------------------------------------------


def test_every_n_seconds(store: Store) -> None:
    clock = FakeClock(utc(2026, 3, 2, 12, 0, 0))
    scheduler = Scheduler(store, LONDON, clock)
    job = Recorder(clock)
    scheduler.add("tick", "every 10 seconds", job)
    # Never run before: due at once.
    assert scheduler.next_runs() == {"tick": utc(2026, 3, 2, 12, 0, 0)}
    assert scheduler.run_pending() == ["tick"]
    assert scheduler.next_runs() == {"tick": utc(2026, 3, 2, 12, 0, 10)}
    clock.advance(seconds=4)
    assert scheduler.seconds_until_next() == 6.0
    assert scheduler.run_pending() == []
    ran = run_until(scheduler, clock, utc(2026, 3, 2, 12, 0, 40), timedelta(seconds=1))
    assert ran == ["tick"] * 4
    assert job.runs == [utc(2026, 3, 2, 12, 0, second) for second in (0, 10, 20, 30, 40)]
    assert scheduler.last_runs() == {"tick": "2026-03-02T12:00:40+00:00"}


def test_an_interval_job_counts_from_its_last_run_not_from_a_missed_beat(store: Store) -> None:
    clock = FakeClock(utc(2026, 3, 2, 12, 0, 0))
    scheduler = Scheduler(store, LONDON, clock)
    job = Recorder(clock)
    scheduler.add("tick", "every 60 seconds", job)
    scheduler.run_pending()
    # A long mail cycle: the next pass comes 5 minutes later; one run, not five.
    clock.advance(minutes=5)
    assert scheduler.run_pending() == ["tick"]
    assert scheduler.run_pending() == []
    assert scheduler.next_runs() == {"tick": utc(2026, 3, 2, 12, 6, 0)}


def test_a_clock_set_back_does_not_stall_an_interval_job(store: Store) -> None:
    clock = FakeClock(utc(2026, 3, 2, 12, 0, 0))
    scheduler = Scheduler(store, LONDON, clock)
    job = Recorder(clock)
    scheduler.add("tick", "every 60 seconds", job)
    scheduler.run_pending()
    clock.now = utc(2026, 3, 1, 12, 0, 0)
    assert scheduler.run_pending() == ["tick"]
    assert scheduler.last_runs() == {"tick": "2026-03-01T12:00:00+00:00"}


def test_seconds_until_next_with_no_jobs_is_infinite(store: Store) -> None:
    scheduler = Scheduler(store, LONDON, FakeClock(utc(2026, 3, 2)))
    assert scheduler.seconds_until_next() == math.inf
    assert scheduler.run_pending() == []
    assert scheduler.next_runs() == {}


# -- failures --------------------------------------------------------------------------------


def failing(calls: list[datetime], clock: FakeClock, failures: int) -> Callable[[], None]:
    def job() -> None:
        calls.append(clock())
        if len(calls) <= failures:
            raise RuntimeError("smtp queue unreadable")

    return job


def test_a_failing_job_is_logged_and_does_not_block_the_others(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(utc(2026, 3, 2, 7, 0))
    scheduler = Scheduler(store, LONDON, clock)
    calls: list[datetime] = []
    scheduler.add("digest", "monday 08:00", failing(calls, clock, failures=2))
    greetings = Recorder(clock)
    scheduler.add("greetings", "daily 08:00", greetings)
    tick = Recorder(clock)
    scheduler.add("tick", "every 60 seconds", tick)
    scheduler.run_pending()
    tick.runs.clear()

    clock.now = utc(2026, 3, 2, 8, 0)
    with caplog.at_level(logging.DEBUG, logger="helpdesk.clock.scheduler"):
        assert scheduler.run_pending() == ["greetings", "tick"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        "job digest failed, retrying in 60 s: RuntimeError: smtp queue unreadable"
    ]
    assert greetings.runs == [utc(2026, 3, 2, 8, 0)] and tick.runs == [utc(2026, 3, 2, 8, 0)]
    # The mark stays: the digest is still owed.
    assert store.job_last_run("digest") == "2026-03-02T07:00:00+00:00"
    assert scheduler.next_runs()["digest"] == utc(2026, 3, 2, 8, 0) + RETRY_AFTER

    # Not retried in a tight loop: passes within the minute leave it alone.
    for _ in range(10):
        clock.advance(seconds=5)
        scheduler.run_pending()
    assert calls == [utc(2026, 3, 2, 8, 0)]

    # Retried after a minute (fails again), then again a minute later (succeeds), once.
    ran = run_until(scheduler, clock, utc(2026, 3, 2, 8, 5), timedelta(seconds=5))
    assert calls == [utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 8, 1), utc(2026, 3, 2, 8, 2)]
    assert ran.count("digest") == 1
    assert store.job_last_run("digest") == "2026-03-02T08:00:00+00:00"
    assert scheduler.next_runs()["digest"] == utc(2026, 3, 9, 8, 0)


# -- the store's part ----------------------------------------------------------------------------


def test_marks_live_in_the_state_document_and_survive_reopening(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.job_last_run("digest") is None
    store.set_job_last_run("digest", "2026-03-02T08:00:00+00:00")
    store.set_job_last_run("tick", "2026-03-02T08:00:30+00:00")
    store.commit()
    store.close()

    store = Store(tmp_path)
    assert store.job_last_run("digest") == "2026-03-02T08:00:00+00:00"
    # A change after the last commit is not part of it, even after a checkpoint.
    store.set_job_last_run("digest", "2026-03-09T08:00:00+00:00")
    store.checkpoint()
    del store
    store = Store(tmp_path)
    assert store.job_last_run("digest") == "2026-03-02T08:00:00+00:00"
    assert store.job_last_run("tick") == "2026-03-02T08:00:30+00:00"
    store.close()


def test_an_unreadable_mark_is_treated_as_new(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.set_job_last_run("digest", "last tuesday")
    clock = FakeClock(utc(2026, 3, 3, 10, 0))
    scheduler, _ = digest_scheduler(store, clock)
    with caplog.at_level(logging.WARNING, logger="helpdesk.clock.scheduler"):
        assert scheduler.run_pending() == []
    assert "unreadable last-run mark 'last tuesday'" in caplog.text
    assert store.job_last_run("digest") == "2026-03-03T10:00:00+00:00"


def test_only_the_scheduler_imports_schedule() -> None:
    importers = sorted(
        str(path.relative_to(REPOSITORY))
        for path in (REPOSITORY / "helpdesk").rglob("*.py")
        if any(
            line.strip() == "import schedule" or line.strip().startswith("from schedule ")
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert importers == ["helpdesk/clock/scheduler.py"]


def test_a_clock_set_back_past_the_last_run_does_not_stall_a_calendar_job(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # The clock once ran a year ahead; the digest ran "then". Back on the right time, it
    # starts again from now instead of waiting a year for real time to reach that mark.
    clock = FakeClock(utc(2027, 3, 1, 12, 0))
    scheduler, digest = digest_scheduler(store, clock)
    scheduler.run_pending()
    clock.now = utc(2027, 3, 8, 8, 0)
    assert scheduler.run_pending() == ["digest"]
    clock.now = utc(2026, 3, 3, 10, 0)
    with caplog.at_level(logging.WARNING, logger="helpdesk.clock.scheduler"):
        assert scheduler.run_pending() == []
    assert "is in the future; runs from now on" in caplog.text
    assert scheduler.last_runs() == {"digest": "2026-03-03T10:00:00+00:00"}
    clock.now = utc(2026, 3, 9, 8, 0)
    assert scheduler.run_pending() == ["digest"]
    assert digest.runs == [utc(2027, 3, 8, 8, 0), utc(2026, 3, 9, 8, 0)]
