"""First-sync benchmark: the first start on a mailbox that already holds mail, against Dovecot.

Run from the repository root::

    python3 bench/firstsync.py                    # 10,000 messages, best of 3 runs of each mode
    python3 bench/firstsync.py --messages 2000    # a smaller mailbox
    python3 bench/firstsync.py --json             # one JSON document instead of the table

It starts a private Dovecot (``tests/dovecot.py``) and an SMTP sink in a process of its own
(``bench/smtp_sink.py``), fills one mailbox with ``--messages`` generated customer messages (the
corpus of ``bench/ingest.py``: ``tests/corpus.py``, about 3 KB a message, 20% replies, 10% with
attachments) and times the daemon's first start on it, ``Daemon.run_once()`` from opening a fresh
data directory to closing it again (open, connect, one ``Helpdesk.cycle()``: ingest, the actions
of the new events, the time rules, SMTP delivery; close), in three ways:

1. **history** (``[imap] first_sync = "history"``, the default): the mail already in the folder is
   imported as history: recorded as tickets, settled (answered or stale conversations closed) and
   summed up in one mail to the owner. Nothing else may be sent: unless the SMTP sink received
   exactly one message the benchmark fails.
2. **process** (``first_sync = "process"``): the same mail taken as new mail, as a brand-new support
   address does: an ordinary ingest, then the shipped rules' acknowledgements and owner
   notifications, queued and delivered in the same cycle.
3. **process, no rules**: the same with an empty rules directory, so that nothing is queued or
   sent: pure ingest, like for like with the history import (which also sends next to nothing).

helpdesk only reads the mailbox (``BODY.PEEK[]``, no flags set), so every run uses the same
mailbox with a fresh data directory, which the daemon sees for the first time. Each mode runs
``--repeat`` times (the modes interleaved, so that drift on the machine hits all alike) and the
report gives the best run of each and every run; the file system is flushed before each timed
run. After each run every message must be in the store under its (folder, UIDVALIDITY, UID)
and the outbox must be empty (everything queued was delivered), or the benchmark fails.

The results are printed as a table (``--json``: one JSON document) and written to
``bench/results/firstsync-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.ingest import (
    CORPUS_SEED,
    DEFAULT_BATCH_SIZE,
    SmtpSinkProcess,
    append_all,
    check_report,
    check_stored,
    describe_corpus,
    make_corpus,
)
from helpdesk.config import Config, default_workers, load_config
from helpdesk.daemon import Helpdesk
from helpdesk.demo.imapserver import ImapMailbox, ImapTestServer
from helpdesk.intake.fetch import Mailbox
from helpdesk.intake.ingest import IngestReport
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.store.store import Store
from tests.dovecot import DovecotServer, dovecot_available
from tests.helpers import write_config

DEFAULT_MESSAGES = 10_000
DEFAULT_REPEAT = 3
# What a history import may send: the one summary to the owner.
HISTORY_MAIL = 1

HISTORY = "history"
PROCESS = "process"
PROCESS_NO_RULES = "process_no_rules"
# The modes, in the order each round runs them: (name, [imap] first_sync, shipped rules).
MODES: tuple[tuple[str, str, bool], ...] = (
    (HISTORY, "history", True),
    (PROCESS, "process", True),
    (PROCESS_NO_RULES, "process", False),
)
LABELS = {
    HISTORY: 'first_sync = "history" (import, one summary)',
    PROCESS: 'first_sync = "process" (ordinary ingest + mail)',
    PROCESS_NO_RULES: '"process", empty rules directory',
}

# The parts of a cycle that are timed separately: (label, class, method). The history import's
# settling and summary (``finish_import``) runs within the ingest; the actions run twice a cycle;
# the time rules run once, on the first start (their tick is due at once).
PHASES: tuple[tuple[str, type, str], ...] = (
    ("ingest", Helpdesk, "ingest_new"),
    ("finish_import", Helpdesk, "finish_import"),
    ("actions", Dispatcher, "run"),
    ("time_rules", Dispatcher, "tick"),
    ("smtp", Helpdesk, "send_outbox"),
)


@dataclass(frozen=True)
class Options:
    """What to run; see ``--help`` for each."""

    messages: int = DEFAULT_MESSAGES
    batch_size: int = DEFAULT_BATCH_SIZE
    repeat: int = DEFAULT_REPEAT
    no_rules: bool = True


@dataclass
class ModeRuns:
    """Every timed run of one mode: the whole start, its phases and what it produced."""

    messages: int
    runs: list[dict[str, float]] = field(default_factory=list)
    mail_sent: list[int] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    open_tickets: list[int] = field(default_factory=list)
    # Warnings helpdesk logged per run (e.g. parse workers failed, so it parsed in one process).
    warnings: list[int] = field(default_factory=list)

    @property
    def timing(self) -> common.Timing:
        return common.Timing(self.messages, [run["total"] for run in self.runs])

    def to_json(self) -> dict[str, Any]:
        best = min(self.runs, key=lambda run: run["total"])
        return {
            **self.timing.to_json(),
            "best_run_phases_seconds": {name: round(value, 4) for name, value in best.items()},
            "runs_phases_seconds": [
                {name: round(value, 4) for name, value in run.items()} for run in self.runs
            ],
            "mail_sent_per_run": self.mail_sent,
            "tickets_created_per_run": self.tickets,
            "customers_per_run": self.customers,
            "open_tickets_per_run": self.open_tickets,
            "warnings_logged_per_run": self.warnings,
        }


# ---------------------------------------------------------------------------------------------
# One first start.
# ---------------------------------------------------------------------------------------------


class _Warnings(logging.Handler):
    """Collects the warnings helpdesk logs during a run (a parse-worker failure, say)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def logged_warnings() -> Iterator[list[str]]:
    """The warnings logged while the block runs: a run that logged any is not a clean run."""
    handler = _Warnings()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.messages
    finally:
        root.removeHandler(handler)


def make_config(
    directory: Path,
    mailbox: ImapMailbox,
    sink: SmtpSinkProcess,
    first_sync: str,
    rules: bool,
    batch_size: int,
) -> Config:
    """A configuration with its data directory at ``directory/data``; ``rules`` False: none at all."""
    directory.mkdir(parents=True, exist_ok=True)
    sections: dict[str, dict[str, Any]] = {
        "imap": {"first_sync": first_sync, "batch_size": batch_size, "idle": False}
    }
    if not rules:
        empty = directory / "no-rules"
        empty.mkdir(exist_ok=True)
        sections["rules"] = {"path": str(empty)}
    return load_config(write_config(directory, mailbox, sink, **sections))


def first_start(config: Config) -> tuple[IngestReport, float, int, int]:
    """``Daemon.run_once()`` on a fresh data directory, timed; the outbox is read outside the time.

    Returns the report, the seconds from opening the data directory to having closed it, and
    the outbox items still queued and failed after the cycle (both must be 0).
    """
    start = time.perf_counter()
    helpdesk = Helpdesk(config)
    mailbox = Mailbox(config.imap)
    try:
        mailbox.connect()
        report = helpdesk.cycle(mailbox)
        cycle_end = time.perf_counter()
        waiting, failed = len(helpdesk.outbox.queued()), len(helpdesk.outbox.failed())
        close_start = time.perf_counter()
    finally:
        mailbox.close()
        helpdesk.close()
    end = time.perf_counter()
    return report, (cycle_end - start) + (end - close_start), waiting, failed


def run_mode(
    mailbox: ImapMailbox,
    uids: Sequence[int],
    sink: SmtpSinkProcess,
    directory: Path,
    mode: str,
    options: Options,
) -> tuple[dict[str, float], int, dict[str, int]]:
    """One timed first start in ``mode``; returns its times, the mail it sent and the store's counts.

    Fails loudly unless every message was recorded, everything queued was delivered and, for a
    history import, exactly the one summary was sent.
    """
    _, first_sync, rules = next(entry for entry in MODES if entry[0] == mode)
    config = make_config(directory, mailbox, sink, first_sync, rules, options.batch_size)
    what = f"first start, {LABELS[mode]}"
    delivered = sink.delivered()
    common.flush_file_system()
    with logged_warnings() as warnings, common.phase_timer(PHASES) as phases:
        report, elapsed, waiting, failed = first_start(config)
    sent = sink.delivered() - delivered
    check_report(report, len(uids), what)
    if waiting or failed:
        raise RuntimeError(f"{what}: {waiting} outbound messages still queued, {failed} failed")
    if mode == HISTORY and sent != HISTORY_MAIL:
        raise RuntimeError(f"{what}: the SMTP sink received {sent} messages, expected exactly {HISTORY_MAIL}")
    store = Store(config.storage_path, readonly=True)
    check_stored(store, config.imap.folder, mailbox.uidvalidity(), uids, what)
    if report.tickets_created != store.counts["tickets"]:
        raise RuntimeError(
            f"{what}: {report.tickets_created} tickets reported, {store.counts['tickets']} in the store"
        )
    state = store.folder_state(config.imap.folder)
    if state is None or state.import_pending:
        raise RuntimeError(f"{what}: the first sync of {config.imap.folder} did not finish")
    counts = {
        "tickets": report.tickets_created,
        "customers": store.counts["customers"],
        "open": sum(1 for ticket in store.tickets() if ticket.status != "closed"),
        "warnings": len(warnings),
    }
    return {"total": elapsed, **phases}, sent, counts


# ---------------------------------------------------------------------------------------------
# The whole benchmark.
# ---------------------------------------------------------------------------------------------


def run_benchmark(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    options: Options,
    workdir: Path,
    progress: common.Progress = common.quiet,
) -> dict[str, Any]:
    """Run every measurement against ``server`` and ``sink``; return JSON-ready results."""
    started = datetime.now(UTC)
    progress(f"generating {options.messages:,} messages")
    raws = make_corpus(options.messages, CORPUS_SEED)
    corpus = describe_corpus(raws)
    modes = [name for name, _, _ in MODES if options.no_rules or name != PROCESS_NO_RULES]
    measured = {name: ModeRuns(options.messages) for name in modes}
    mailbox = server.new_mailbox()
    try:
        start = time.perf_counter()
        uids = append_all(mailbox, raws)
        del raws
        progress(
            f"mailbox filled with {len(uids):,} messages ({corpus['mean_bytes']:,} bytes on average) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        for attempt in range(1, options.repeat + 1):
            for name in modes:
                directory = workdir / f"{name}-{attempt}"
                times, sent, counts = run_mode(mailbox, uids, sink, directory, name, options)
                runs = measured[name]
                runs.runs.append(times)
                runs.mail_sent.append(sent)
                runs.tickets.append(counts["tickets"])
                runs.customers.append(counts["customers"])
                runs.open_tickets.append(counts["open"])
                runs.warnings.append(counts["warnings"])
                progress(
                    f"{name} run {attempt}: {times['total']:.2f} s ("
                    + ", ".join(
                        f"{phase} {value:.2f} s" for phase, value in times.items() if phase != "total"
                    )
                    + f"); {sent:,} messages sent, {counts['tickets']:,} tickets"
                )
                shutil.rmtree(directory)
    finally:
        mailbox.close()
    history = measured[HISTORY].timing.rate
    ratios = {
        f"history_over_{name}": round(history / measured[name].timing.rate, 3)
        for name in modes
        if name != HISTORY
    }
    return {
        "benchmark": "firstsync",
        "started": started.isoformat(timespec="seconds"),
        "options": asdict(options),
        "machine": common.machine(
            imap_server=common.imap_server_name(server), parse_workers=default_workers()
        ),
        "reported": "best run of each mode (every run is listed)",
        "run": "Daemon.run_once() on a fresh data directory, open to close",
        "corpus": corpus,
        "modes": {name: runs.to_json() for name, runs in measured.items()},
        "ratios": ratios,
    }


# ---------------------------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------------------------

_PHASE_COLUMNS = (
    ("total", "total"),
    ("ingest", "ingest"),
    ("finish_import", "settle"),
    ("actions", "actions"),
    ("time_rules", "rules"),
    ("smtp", "smtp"),
)


def format_report(results: dict[str, Any]) -> str:
    """The results as a readable table."""
    corpus, machine, options = results["corpus"], results["machine"], results["options"]
    modes = results["modes"]
    lines = [
        f"helpdesk first-sync benchmark, {results['started']}, {machine['imap_server']}, "
        f"{machine['cpus']} CPUs ({machine['parse_workers']} parse workers), Python {machine['python']}",
        f"mailbox: {corpus['messages']:,} messages of {corpus['mean_bytes']:,} bytes on average "
        f"({corpus['replies']:,} replies, {corpus['with_attachment']:,} with attachments); "
        f"first start = Daemon.run_once() on a fresh data directory; best of {options['repeat']} runs",
        "",
        f"{'':<50}{'time':>9}{'msg/s':>8}{'mail':>8}{'tickets':>9}{'open':>7}",
    ]
    for name, entry in modes.items():
        best = entry["runs_seconds"].index(min(entry["runs_seconds"]))
        lines.append(
            f"{LABELS[name]:<50}{entry['best_seconds']:>8.2f}s{entry['rate_per_second']:>8,.0f}"
            f"{entry['mail_sent_per_run'][best]:>8,}{entry['tickets_created_per_run'][best]:>9,}"
            f"{entry['open_tickets_per_run'][best]:>7,}"
        )
    lines.append("")
    for key, value in results["ratios"].items():
        other = key.removeprefix("history_over_")
        lines.append(f"{'history / ' + other.replace('_', ' '):<50}{'':>9}{value:>8.2f}")
    lines += ["", "phases of the best run (s): " + "  ".join(f"{label:>8}" for _, label in _PHASE_COLUMNS)]
    for name, entry in modes.items():
        phases = entry["best_run_phases_seconds"]
        lines.append(
            f"  {name:<25}" + "  ".join(f"{phases.get(phase, 0.0):>8.2f}" for phase, _ in _PHASE_COLUMNS)
        )
    lines.append("")
    for name, entry in modes.items():
        lines.append(
            f"{name} runs (s): {common.format_runs(entry['runs_seconds'], 2)}; "
            f"mail sent: {common.format_runs(entry['mail_sent_per_run'], 0)}; "
            f"warnings logged: {common.format_runs(entry['warnings_logged_per_run'], 0)}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> tuple[Options, argparse.Namespace]:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/firstsync.py",
        description="Benchmark helpdesk's first start on a full mailbox (history import vs ordinary ingest).",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help=f"mail in the folder (default {DEFAULT_MESSAGES:,})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"messages per FETCH and per helpdesk commit (default {DEFAULT_BATCH_SIZE}, as helpdesk)",
    )
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs of each mode (default {DEFAULT_REPEAT})"
    )
    parser.add_argument(
        "--no-empty-rules", action="store_true", help='skip the "process" run with an empty rules directory'
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--workdir", type=Path, help="directory for data (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    for name, value in (
        ("--messages", args.messages),
        ("--batch-size", args.batch_size),
        ("--repeat", args.repeat),
    ):
        if value < 1:
            parser.error(f"{name} must be at least 1")
    options = Options(
        messages=args.messages,
        batch_size=args.batch_size,
        repeat=args.repeat,
        no_rules=not args.no_empty_rules,
    )
    return options, args


def main(
    argv: Sequence[str] | None = None,
    server: ImapTestServer | None = None,
    results_dir: Path = common.RESULTS_DIR,
) -> int:
    """Run the benchmark from the command line; 0 when it ran (a failed check raises).

    ``server`` is an IMAP server to use instead of a private Dovecot started here, and
    ``results_dir`` where the results file goes (both for the smoke test).
    """
    options, args = parse_options(argv)
    if server is None and not dovecot_available():
        print("bench/firstsync.py: Dovecot (/usr/sbin/dovecot) is not installed", file=sys.stderr)
        return 2
    began = time.monotonic()
    progress = common.stderr_progress(began)
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(common.work_directory(args.workdir, "hd-bench-"))
        if server is None:
            server = stack.enter_context(DovecotServer())
        sink = stack.enter_context(SmtpSinkProcess())
        results = run_benchmark(server, sink, options, workdir, progress)
    results["command"] = common.command_line("bench/firstsync.py", argv)
    results["wall_seconds"] = round(time.monotonic() - began, 1)
    path = common.publish(results, args.json, format_report, results_dir)
    progress(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
