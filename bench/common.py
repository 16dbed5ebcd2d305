"""What the benchmark scripts share: results files, the machine, timings, profiles and formatting.

Each script in ``bench/`` measures something of its own and says what in its docstring. This
module holds what they all do alike, so that a results file, a profile summary or a progress
line means the same whichever benchmark wrote it:

* where results go (``bench/results/<benchmark>-<timestamp>.json``) and how a run is printed;
* the description of the machine the figures come from;
* :class:`Timing`, repeated timings of one measurement reported by their best run;
* cProfile files and their summaries (time per stage, then the functions with most own time);
* small formatting helpers for the tables.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from helpdesk.demo.imapserver import ImapTestServer
from tests.dovecot import dovecot_version

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
# The start of a run (UTC) in the names of its results and profile files.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

Progress = Callable[[str], None]
# A stage of a profile summary: (label, file suffix, function name). Built-in functions have
# the file "~" and are found by a part of their name; others by their exact name.
Stage = tuple[str, str, str]


# ---------------------------------------------------------------------------------------------
# Running: progress, the work directory, the file system.
# ---------------------------------------------------------------------------------------------


def quiet(_: str) -> None:
    """Progress sink that says nothing."""


def stderr_progress(began: float) -> Progress:
    """Progress lines on stderr, each headed by the seconds since ``began`` (``time.monotonic()``)."""

    def progress(text: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {text}", file=sys.stderr, flush=True)

    return progress


@contextlib.contextmanager
def work_directory(given: Path | None, prefix: str) -> Iterator[Path]:
    """``given`` (created if missing, and kept afterwards), else a temporary directory removed at the end."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def flush_file_system() -> None:
    """Write out everything pending, so that the next timed run starts from a clean state.

    helpdesk flushes the file system itself (``syncfs`` per ingested batch, ``fdatasync`` per
    commit and delivery record); without this a timed run would also pay for the writes of
    whatever came before it: a filled mailbox, a built store, the previous run.
    """
    os.sync()


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """The command that ran ``script`` (``bench/<name>.py``), as the results record it."""
    return " ".join(["python3", script, *(sys.argv[1:] if argv is None else argv)])


# ---------------------------------------------------------------------------------------------
# What was measured, and where.
# ---------------------------------------------------------------------------------------------


def host() -> dict[str, Any]:
    """The Python version and the platform the figures come from."""
    return {"python": platform.python_version(), "platform": platform.platform()}


def imap_server_name(server: ImapTestServer) -> str:
    """The IMAP server a benchmark's figures come from: ``dovecot 2.3.19 (…)`` or ``pymap``."""
    kind = str(getattr(server, "kind", "imap"))
    return f"dovecot {dovecot_version()}" if kind == "dovecot" else kind


def machine(**extra: Any) -> dict[str, Any]:
    """:func:`host` and the number of CPUs, then ``extra`` (what else a benchmark depends on)."""
    return {**host(), "cpus": os.cpu_count(), **extra}


@dataclass
class Timing:
    """Repeated timings of one measurement over the same number of messages."""

    messages: int
    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        """The fastest run: the one least disturbed by anything else on the machine."""
        return min(self.runs)

    @property
    def rate(self) -> float:
        """Messages per second of the fastest run."""
        return self.messages / self.best

    def to_json(self, *, with_messages: bool = True) -> dict[str, Any]:
        """Every run, the best and its rate; ``with_messages`` puts the message count first."""
        figures = {
            "runs_seconds": [round(run, 4) for run in self.runs],
            "best_seconds": round(self.best, 4),
            "rate_per_second": round(self.rate, 1),
        }
        return {"messages": self.messages, **figures} if with_messages else figures


# ---------------------------------------------------------------------------------------------
# Results files and output.
# ---------------------------------------------------------------------------------------------


def file_stamp(moment: datetime) -> str:
    """``moment`` as it appears in the names of results and profile files."""
    return moment.strftime(STAMP_FORMAT)


def to_text(results: dict[str, Any]) -> str:
    """The results as one indented JSON document, as printed and as saved."""
    return json.dumps(results, indent=2, ensure_ascii=False)


def write_results(results: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Save the results as ``<benchmark>-<timestamp>.json`` in ``directory``.

    The name comes from the results themselves: their ``benchmark`` and their ``started``
    time, so that the file says which run it holds.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stamp = file_stamp(datetime.fromisoformat(results["started"]))
    path = directory / f"{results['benchmark']}-{stamp}.json"
    path.write_text(to_text(results) + "\n", encoding="utf-8")
    return path


def publish(
    results: dict[str, Any],
    as_json: bool,
    table: Callable[[dict[str, Any]], str],
    directory: Path = RESULTS_DIR,
) -> Path:
    """Write the results file, then print the results: ``table`` of them, or with ``as_json`` the JSON."""
    path = write_results(results, directory)
    print(to_text(results) if as_json else table(results))
    return path


def finish_run(
    results: dict[str, Any],
    script: str,
    argv: Sequence[str] | None,
    began: float,
    as_json: bool,
    table: Callable[[dict[str, Any]], str],
) -> Path:
    """Record the command and the wall time of a command-line run in ``results``, then :func:`publish`.

    ``began`` is when the run began (``time.monotonic()``); the results go to :data:`RESULTS_DIR`.
    """
    results["command"] = command_line(script, argv)
    results["wall_seconds"] = round(time.monotonic() - began, 1)
    return publish(results, as_json, table)


def verdict(met: bool, missed: str = "MISSED") -> str:
    """How a table says whether a target was met."""
    return "met" if met else missed


def format_runs(values: Sequence[float], digits: int, separator: str = ", ") -> str:
    """Every run of a measurement: seconds to ``digits`` places, counts as they are."""
    return separator.join(
        f"{value:.{digits}f}" if isinstance(value, float) else f"{value}" for value in values
    )


# ---------------------------------------------------------------------------------------------
# Profiles.
# ---------------------------------------------------------------------------------------------


def save_profile(profile: cProfile.Profile, path: Path) -> None:
    """Write ``profile`` where ``python3 -m pstats`` or snakeviz can open it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile.dump_stats(str(path))


def summarise_profile(
    path: Path, stages: Sequence[Stage], top: int = 15, *, stage_calls: bool = True
) -> list[dict[str, Any]]:
    """Cumulative time of each of ``stages``, then the ``top`` functions with most time of their own.

    A recursive function's cumulative time is counted once (cProfile does so for its
    outermost call), so a stage's figure is the time spent inside it. ``stage_calls`` adds
    the number of calls to each stage's row.
    """
    stats = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, _, cumulative, _) in raw.values())
    rows: list[dict[str, Any]] = []
    for label, suffix, name in stages:
        found = [
            (calls, cumulative)
            for (where, _, func), (_, calls, _, cumulative, _) in raw.items()
            if where.endswith(suffix) and (name in func if suffix == "~" else func == name)
        ]
        if found:
            spent = sum(cumulative for _, cumulative in found)
            row: dict[str, Any] = {"kind": "stage", "name": label}
            if stage_calls:
                row["calls"] = sum(calls for calls, _ in found)
            rows.append({**row, "cumulative_seconds": round(spent, 3), "share": round(spent / total, 3)})
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (where, line, func), (_, calls, own, cumulative, _) in ranked:
        rows.append(
            {
                "kind": "function",
                "name": f"{short_path(where)}:{line}({func})",
                "calls": calls,
                "own_seconds": round(own, 3),
                "cumulative_seconds": round(cumulative, 3),
            }
        )
    return rows


def short_path(path: str) -> str:
    """A source path without the site-packages, standard library or repository prefix."""
    for marker in ("site-packages/", f"{REPO_ROOT}/", "/lib/python3."):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3." else tail
    return path


def profile_lines(rows: Sequence[dict[str, Any]], *, name_width: int, seconds_width: int) -> list[str]:
    """The rows of :func:`summarise_profile` as table lines, a stage's calls where it has them."""
    lines = []
    for row in rows:
        if row["kind"] == "stage":
            line = (
                f"  {row['name']:<{name_width}}{row['cumulative_seconds']:>{seconds_width}.2f}s "
                f"{row['share']:>5.0%}"
            )
            lines.append(f"{line}{row['calls']:>10,} calls" if "calls" in row else line)
        else:
            lines.append(
                f"  {row['own_seconds']:>7.2f}s own {row['cumulative_seconds']:>7.2f}s cum "
                f"{row['calls']:>9,}  {row['name']}"
            )
    return lines


@contextlib.contextmanager
def phase_timer(phases: Sequence[tuple[str, type, str]]) -> Iterator[dict[str, float]]:
    """Accumulate the time spent in each of ``phases`` (label, class, method) while the block runs.

    The methods are wrapped on their classes for the duration of the block and call straight
    through, so the cycle under test runs unchanged. A phase whose method no longer exists
    is simply not reported.
    """
    spent: dict[str, float] = {}
    originals: list[tuple[type, str, Any]] = []

    def timed(label: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        return wrapper

    for label, owner, name in phases:
        method = owner.__dict__.get(name)
        if callable(method):
            originals.append((owner, name, method))
            setattr(owner, name, timed(label, method))
    try:
        yield spent
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)
