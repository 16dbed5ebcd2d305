"""Latency benchmark: from a customer's mail arriving to its acknowledgement, the daemon under IDLE.

Run from the repository root::

    python3 bench/latency.py                          # 100 messages, one every 1.5 s
    python3 bench/latency.py --messages 20 --json     # fewer; one JSON document

It starts a private Dovecot (``tests/dovecot.py``), an SMTP sink in this process that notes
when each message arrives (aiosmtpd in a thread of its own), and the real daemon — ``helpdesk
run``, a child process — on a fresh data directory and an empty mailbox, waiting for mail with
IMAP IDLE. Once the daemon has finished its first cycle, ``--warm-up`` messages are delivered
and acknowledged first (not measured: the first mail a daemon handles also pays for imports
and template compilation). Then ``--messages`` new customer messages (the end-to-end corpus
of ``bench/ingest.py``: realistic mail, every message from an address of its own, so that no
rate limit holds an acknowledgement back) are APPENDed one at a time, one every
``--interval`` seconds, on one IMAP connection, as an MTA delivers them.

For each message it records, on this process's monotonic clock:

* **APPEND**: when the APPEND command was sent — the mail is the server's from then on;
* **announced**: when a second IMAP connection of this process, IDLEing on the same folder,
  got the server's EXISTS for it. Dovecot announces new mail about half a second after the
  APPEND (a delay of its own, the same for any IDLE client): the floor under any latency;
* **acknowledged**: when the SMTP sink accepted the acknowledgement (found by its
  ``In-Reply-To``: the customer message's Message-ID);
* **notified**: when it accepted the owner's notification of the same ticket.

The report gives the 50th and 95th percentiles and the maximum of APPEND to acknowledgement
against the targets (p50 < 1.0 s, p95 < 1.5 s), and the same for the server's announcement and
for announcement to acknowledgement. The latter is the daemon's own work only when the server
told both IDLE connections at the same moment, which it mostly does: Dovecot tells each
connection on a schedule of its own, so now and then the observer hears at once and the daemon
half a second later, which shows in the p95. Every message must be acknowledged within
``--settle`` seconds of the last APPEND, or the benchmark fails. The daemon's log is kept in the
work directory (``--workdir``) for diagnosis. The results are printed as a table (``--json``:
one JSON document) and written to ``bench/results/latency-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imapclient import IMAPClient

from bench import common
from bench.ingest import end_to_end_corpus
from helpdesk.daemon import STATUS_FILE
from helpdesk.demo.imapserver import ImapMailbox, ImapTestServer, close_quietly
from helpdesk.demo.processes import LOOPBACK, free_port, terminate
from tests.dovecot import DovecotServer, dovecot_available
from tests.helpers import write_config

DEFAULT_MESSAGES = 100
DEFAULT_INTERVAL = 1.5
DEFAULT_WARM_UP = 2
DEFAULT_SETTLE = 30.0
# How long the daemon may take to start and finish its first cycle, and a warm-up message
# to be acknowledged.
START_TIMEOUT = 60.0
# The targets for APPEND to acknowledgement, in seconds.
P50_TARGET = 1.0
P95_TARGET = 1.5


@dataclass(frozen=True)
class Options:
    """What to run; see ``--help`` for each."""

    messages: int = DEFAULT_MESSAGES
    interval: float = DEFAULT_INTERVAL
    warm_up: int = DEFAULT_WARM_UP
    settle: float = DEFAULT_SETTLE


# ---------------------------------------------------------------------------------------------
# The SMTP sink, and the IDLE observer: what arrived when.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One message the sink accepted: when (monotonic seconds) and what it answers."""

    at: float
    kind: str
    ticket: str
    in_reply_to: str


class TimedSink:
    """An SMTP sink on 127.0.0.1 (aiosmtpd in a thread) that notes each message's arrival.

    The arrival time is taken when the message's data is complete, just before the sink says
    250: the moment the daemon's delivery is done as far as the SMTP server is concerned.
    """

    def __init__(self) -> None:
        self.hostname = LOOPBACK
        self.port = 0
        self.arrivals: list[Arrival] = []
        self._condition = threading.Condition()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.monotonic()
        headers = BytesHeaderParser().parsebytes(envelope.original_content or b"")
        arrival = Arrival(
            at=at,
            kind=str(headers["X-Helpdesk-Kind"] or ""),
            ticket=str(headers["X-Helpdesk-Ticket"] or ""),
            in_reply_to=bare_id(str(headers["In-Reply-To"] or "")),
        )
        with self._condition:
            self.arrivals.append(arrival)
            self._condition.notify_all()
        return "250 2.0.0 OK"

    def __enter__(self) -> TimedSink:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        # A fixed server name: aiosmtpd would otherwise look up the host's FQDN per connection.
        self._controller = Controller(self, hostname=LOOPBACK, port=self.port, server_hostname="localhost")
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def wait_for(self, found: Callable[[list[Arrival]], bool], timeout: float) -> bool:
        """Wait until ``found`` holds for the arrivals so far; False if ``timeout`` passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: found(self.arrivals), timeout)

    def acknowledgement_of(self, message_id: str) -> Arrival | None:
        """The acknowledgement answering the customer message ``message_id``, if it arrived."""
        with self._condition:
            found = (item for item in self.arrivals if item.kind == "acknowledge")
            return next((item for item in found if item.in_reply_to == message_id), None)

    def notification_of(self, ticket: str) -> Arrival | None:
        """The owner's notification about ticket ``ticket``, if it arrived."""
        with self._condition:
            found = (item for item in self.arrivals if item.kind == "owner-notification")
            return next((item for item in found if item.ticket == ticket), None)


class IdleObserver:
    """A second IMAP connection IDLEing on INBOX, noting when the server announces each message.

    An ``EXISTS`` response carries the folder's message count: the time of the first
    announcement of each count is kept.
    """

    def __init__(self, mailbox: ImapMailbox) -> None:
        self.mailbox = mailbox
        self.announced: dict[int, float] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="idle-observer", daemon=True)
        self._failure: BaseException | None = None

    def __enter__(self) -> IdleObserver:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the IDLE observer did not start")
        if self._failure is not None:
            raise RuntimeError(f"the IDLE observer failed: {self._failure}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        client: IMAPClient | None = None
        try:
            client = self.mailbox.client()
            client.select_folder("INBOX", readonly=True)
            client.idle()
            self._ready.set()
            while not self._stop.is_set():
                for response in client.idle_check(timeout=0.2):
                    if len(response) > 1 and response[1] == b"EXISTS":
                        self.announced.setdefault(int(response[0]), time.monotonic())
            client.idle_done()
        except BaseException as exc:  # Reported by __enter__, or as missing announcements.
            self._failure = exc
            self._ready.set()
        finally:
            if client is not None:
                close_quietly(client)


# ---------------------------------------------------------------------------------------------
# The daemon.
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def daemon(config_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``helpdesk run`` on ``config_path`` in a child process, its log in ``daemon.log`` beside it.

    Yields once the daemon has written its first status file (``helpdesk.daemon.STATUS_FILE``,
    after its first cycle: it is about to wait for mail); stops it with SIGTERM at the end.
    """
    status = config_path.parent / "data" / STATUS_FILE
    with (config_path.parent / "daemon.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpdesk", "--config", str(config_path), "run"],
            cwd=common.REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not status.exists():
            if process.poll() is not None:
                raise RuntimeError(f"the daemon exited with {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not finish its first cycle in {START_TIMEOUT:.0f} s")
            time.sleep(0.05)
        yield process
    finally:
        terminate(process, timeout=20)


# ---------------------------------------------------------------------------------------------
# The measurement.
# ---------------------------------------------------------------------------------------------


def bare_id(value: str) -> str:
    """A Message-ID without its angle brackets and surrounding space."""
    return value.strip().strip("<>").strip()


def message_id_of(raw: bytes) -> str:
    """The Message-ID of a raw message, without angle brackets."""
    return bare_id(str(BytesHeaderParser().parsebytes(raw)["Message-ID"] or ""))


@dataclass
class Delivery:
    """One measured customer message: its Message-ID and the moments it went through."""

    message_id: str
    appended: float = 0.0
    append_returned: float = 0.0
    announced: float | None = None
    acknowledged: float | None = None
    notified: float | None = None

    def since_append(self, moment: float | None) -> float | None:
        """Seconds from the APPEND to ``moment`` (None if it never came)."""
        return None if moment is None else moment - self.appended


@dataclass
class Measured:
    """Everything the run recorded."""

    deliveries: list[Delivery] = field(default_factory=list)
    warm_up_seconds: list[float] = field(default_factory=list)


def deliver(sink: TimedSink, mailbox: ImapMailbox, raws: Sequence[bytes], options: Options) -> Measured:
    """APPEND the warm-up messages, each acknowledged before the next, then the measured ones on schedule."""
    measured = Measured()
    client = mailbox.client()
    try:
        for raw in raws[: options.warm_up]:
            answered = _acknowledges(message_id_of(raw))
            start = time.monotonic()
            client.append("INBOX", raw)
            if not sink.wait_for(answered, START_TIMEOUT):
                raise RuntimeError(f"a warm-up message was not acknowledged in {START_TIMEOUT:.0f} s")
            measured.warm_up_seconds.append(time.monotonic() - start)
        began = time.monotonic()
        for number, raw in enumerate(raws[options.warm_up :]):
            time.sleep(max(0.0, began + number * options.interval - time.monotonic()))
            delivery = Delivery(message_id_of(raw))
            delivery.appended = time.monotonic()
            client.append("INBOX", raw)
            delivery.append_returned = time.monotonic()
            measured.deliveries.append(delivery)
    finally:
        close_quietly(client)
    return measured


def _acknowledges(*message_ids: str) -> Callable[[list[Arrival]], bool]:
    """Whether arrivals include an acknowledgement of each of ``message_ids``."""
    expected = set(message_ids)

    def found(arrivals: list[Arrival]) -> bool:
        return expected <= {item.in_reply_to for item in arrivals if item.kind == "acknowledge"}

    return found


def collect(
    sink: TimedSink, observer: IdleObserver, measured: Measured, first_count: int, settle: float
) -> None:
    """Wait (at most ``settle`` seconds) for every acknowledgement, then note each message's moments.

    ``first_count`` is the folder's message count after the first measured APPEND.
    """
    sink.wait_for(_acknowledges(*(delivery.message_id for delivery in measured.deliveries)), settle)
    # The notification of the last ticket follows its acknowledgement closely.
    time.sleep(0.5)
    for number, delivery in enumerate(measured.deliveries):
        delivery.announced = observer.announced.get(first_count + number)
        acknowledgement = sink.acknowledgement_of(delivery.message_id)
        if acknowledgement is not None:
            delivery.acknowledged = acknowledgement.at
            notification = sink.notification_of(acknowledgement.ticket)
            delivery.notified = notification.at if notification is not None else None
    missing = sum(delivery.acknowledged is None for delivery in measured.deliveries)
    if missing:
        raise RuntimeError(f"{missing} of {len(measured.deliveries)} messages were not acknowledged in time")


def percentiles(values: Sequence[float | None]) -> dict[str, float] | None:
    """p50, p95, the maximum and the mean of ``values`` (seconds, rounded to the millisecond).

    Missing values (None) are left out; None if there are none at all.
    """
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    # The nearest-rank 95th percentile: the value below which 95% of the runs fall.
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def run_benchmark(
    server: ImapTestServer, options: Options, workdir: Path, progress: common.Progress = common.quiet
) -> dict[str, Any]:
    """Run the daemon against ``server`` and measure ``options.messages`` deliveries; JSON-ready results."""
    started = datetime.now(UTC)
    workdir.mkdir(parents=True, exist_ok=True)
    raws = end_to_end_corpus(options.warm_up + options.messages)
    mailbox = server.new_mailbox()
    try:
        with TimedSink() as sink:
            config_path = write_config(workdir, mailbox, sink, imap={"idle": True, "poll_interval": 60})
            with daemon(config_path), IdleObserver(mailbox) as observer:
                progress("daemon started and waiting for mail (IDLE)")
                measured = deliver(sink, mailbox, raws, options)
                progress(f"{options.messages} messages appended; waiting for the last acknowledgements")
                collect(sink, observer, measured, options.warm_up + 1, options.settle)
    finally:
        mailbox.close()
    deliveries = measured.deliveries
    acknowledged = [item.since_append(item.acknowledged) for item in deliveries]
    announced = [item.since_append(item.announced) for item in deliveries]
    own = [
        item.acknowledged - item.announced
        for item in deliveries
        if item.acknowledged is not None and item.announced is not None
    ]
    notified = [item.since_append(item.notified) for item in deliveries]
    latency = percentiles(acknowledged)
    assert latency is not None  # collect() fails unless every message was acknowledged.
    return {
        "benchmark": "latency",
        "started": started.isoformat(timespec="seconds"),
        "options": asdict(options),
        "machine": common.machine(imap_server=common.imap_server_name(server)),
        "messages": len(deliveries),
        "append_to_acknowledgement_seconds": latency,
        "append_to_announcement_seconds": percentiles(announced),
        "announcement_to_acknowledgement_seconds": percentiles(own),
        "append_to_notification_seconds": percentiles(notified),
        "append_command_seconds": percentiles([item.append_returned - item.appended for item in deliveries]),
        "warm_up_seconds": [round(value, 3) for value in measured.warm_up_seconds],
        "targets": {"p50": P50_TARGET, "p95": P95_TARGET},
        "targets_met": {"p50": latency["p50"] < P50_TARGET, "p95": latency["p95"] < P95_TARGET},
        "acknowledgement_seconds_each": [round(value, 3) for value in acknowledged],
    }


# ---------------------------------------------------------------------------------------------
# Output and command line.
# ---------------------------------------------------------------------------------------------

_ROWS = (
    ("APPEND to acknowledgement accepted by the sink", "append_to_acknowledgement_seconds"),
    ("  APPEND to the server's IDLE announcement", "append_to_announcement_seconds"),
    ("  announcement to acknowledgement", "announcement_to_acknowledgement_seconds"),
    ("APPEND to owner notification accepted", "append_to_notification_seconds"),
    ("the APPEND command itself", "append_command_seconds"),
)


def format_report(results: dict[str, Any]) -> str:
    """The results as a readable table."""
    machine, options = results["machine"], results["options"]
    lines = [
        f"helpdesk latency benchmark, {results['started']}, {machine['imap_server']}, "
        f"{machine['cpus']} CPUs, Python {machine['python']}",
        f"{results['messages']} new customer messages, one every {options['interval']:.2f} s, the daemon "
        f"under IDLE (after {options['warm_up']} warm-up messages)",
        "",
        f"{'seconds':<48}{'p50':>8}{'p95':>8}{'max':>8}{'mean':>8}",
    ]
    for label, key in _ROWS:
        figures = results[key]
        if figures is not None:
            lines.append(
                f"{label:<48}" + "".join(f"{figures[name]:>8.3f}" for name in ("p50", "p95", "max", "mean"))
            )
    targets, met = results["targets"], results["targets_met"]
    latency = results["append_to_acknowledgement_seconds"]
    lines += [
        "",
        f"target p50 < {targets['p50']:.1f} s: {latency['p50']:.3f} s, {common.verdict(met['p50'])}; "
        f"target p95 < {targets['p95']:.1f} s: {latency['p95']:.3f} s, {common.verdict(met['p95'])}",
    ]
    return "\n".join(lines)


def parse_options(argv: Sequence[str] | None = None) -> tuple[Options, argparse.Namespace]:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/latency.py",
        description="Time from a customer's mail arriving (APPEND) to its acknowledgement, under IDLE.",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help=f"messages measured (default {DEFAULT_MESSAGES})",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help=f"seconds between APPENDs (default {DEFAULT_INTERVAL})",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=DEFAULT_WARM_UP,
        help=f"messages handled first, not measured (default {DEFAULT_WARM_UP})",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=DEFAULT_SETTLE,
        help="seconds to wait for acknowledgements after the last APPEND (default 30)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--workdir", type=Path, help="directory for data (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.warm_up < 0 or args.interval < 0 or args.settle <= 0:
        parser.error("--messages must be at least 1, --warm-up and --interval at least 0, --settle above 0")
    options = Options(
        messages=args.messages, interval=args.interval, warm_up=args.warm_up, settle=args.settle
    )
    return options, args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; 0 when it ran (targets are reported, not enforced)."""
    options, args = parse_options(argv)
    if not dovecot_available():
        print("bench/latency.py: Dovecot (/usr/sbin/dovecot) is not installed", file=sys.stderr)
        return 2
    began = time.monotonic()
    progress = common.stderr_progress(began)
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(common.work_directory(args.workdir, "hd-latency-"))
        server = stack.enter_context(DovecotServer())
        results = run_benchmark(server, options, workdir, progress)
    path = common.finish_run(results, "bench/latency.py", argv, began, args.json, format_report)
    progress(f"results written to {path.relative_to(common.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
