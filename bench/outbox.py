"""Outbox benchmark: how fast helpdesk's durable outbox sends, against a bare aiosmtplib loop.

Run from the repository root::

    python3 bench/outbox.py                  # 1,000 messages, best of 3
    python3 bench/outbox.py --json           # one JSON document instead of the table
    python3 bench/outbox.py --profile        # also: cProfile summary of one outbox run

An aiosmtpd sink runs in a child process (this file with ``--serve-sink``): it reads every
message and counts it, nothing more. ``--messages`` realistic messages are rendered from the
shipped templates (acknowledgements, owner notifications and relayed replies: text and HTML
parts, Reply-To tokens, threading headers; about 6 KB each) and committed to a fresh
:class:`helpdesk.outbound.outbox.Outbox` in a temporary data directory. Then, in each of ``--repeat``
rounds, the same messages go to the sink four ways:

1. **bare** — the limit: one ``aiosmtplib.SMTP`` connection, ``sendmail`` of the very same
   bytes and envelopes, one after the other. Nothing is read or written locally.
2. **outbox** — what the daemon does: ``Outbox.send_due`` with one
   :class:`helpdesk.outbound.smtp.SmtpTransport`. For each message it reads the queued bytes, sends
   them and records the delivery (one ``sent.log`` line and fdatasync; the batch file they
   were queued in goes with the last of them). The flush runs in a worker thread while the
   next message's MAIL and RCPT are on the wire, and must be done before that message's DATA.
3. **outbox, flush not overlapped** — the same, but each flush completes before the next
   message's MAIL: what the overlap saves.
4. **fdatasync alone** and **queue-file removal alone** — appending the same number of
   ``sent.log``-sized lines with an fdatasync each, and removing the queue's files (one batch
   file), in the same directory and without any SMTP: the disk's share of a delivery record.

Connecting and QUIT are inside every timed run (one connection each). The file system is
flushed before each timed run. The report gives the best run of each (the one least disturbed
by other work on the machine), the outbox rate as a share of the bare rate (target: at least
70%), and how much of each delivery record the overlap failed to hide (the time DATA waited
for it).
The results are printed (``--json``: one JSON document) and written to
``bench/results/outbox-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosmtplib

from bench import common
from helpdesk.config import SmtpConfig, shipped_directory
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import Outbox, SendReport
from helpdesk.outbound.render import Templates
from helpdesk.outbound.samples import SAMPLE_CONTEXTS
from helpdesk.outbound.smtp import SmtpTransport

DEFAULT_MESSAGES = 1_000
DEFAULT_REPEAT = 3
# The target from the issue: the outbox sends at least 70% as fast as the bare loop.
RATE_TARGET = 0.70

BUSINESS_NAME = "Acme Tea Co."
BUSINESS = "support@acme.example"
OWNER = ("Sam Owner", "owner@acme.example")
LOOPBACK = "127.0.0.1"
# When every message is sent: a fixed instant, so that every queued item is due.
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# The sink: a child process that counts what it receives.
# ---------------------------------------------------------------------------------------------


class CountingHandler:
    """aiosmtpd handler that accepts every message and counts messages and bytes."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        self.bytes += len(envelope.original_content or b"")
        return "250 2.0.0 OK"


async def serve_sink() -> None:
    """Serve on a free loopback port until SIGTERM: print the port first, the counts last."""
    from aiosmtpd.smtp import SMTP

    handler = CountingHandler()
    loop = asyncio.get_running_loop()
    # A fixed server name: aiosmtpd would otherwise look up the host's FQDN per connection.
    server = await loop.create_server(lambda: SMTP(handler, hostname="localhost"), LOOPBACK, 0)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()
    print(json.dumps({"messages": handler.messages, "bytes": handler.bytes}), flush=True)


class SinkProcess:
    """The sink child process, seen from the benchmark."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-sink"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.process.kill()
            raise RuntimeError(f"the SMTP sink did not start (it printed {line!r})")
        self.port = int(line)

    def stop(self) -> dict[str, int]:
        """Stop the sink; returns what it received in total."""
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        lines = output.strip().splitlines()
        return json.loads(lines[-1]) if lines else {"messages": -1, "bytes": -1}


# ---------------------------------------------------------------------------------------------
# Realistic messages.
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = ("Zoë", "Bob", "Ana", "Jürgen", "Mei", "Olu", "Priya", "Lars", "Chloé", "Tom")
LAST_NAMES = ("Martin", "Smith", "García", "Müller", "Wang", "Adeyemi", "Nair", "Berg", "Dubois")
SUBJECTS = (
    "Order {n} arrived broken",
    "Where is my order {n}?",
    "Refund for order {n}",
    "Question about your green teas",
    "Change of delivery address for order {n}",
)
QUESTIONS = (
    "Hello,\n\nmy order {n} arrived today but the teapot lid is cracked. The box looked fine,"
    " so it must have happened before packing. Could you send a replacement lid?\n\nThanks,\n{name}",
    "Hi,\n\nI ordered on Monday and the tracking page still says 'label created'. Is there a"
    " problem with order {n}? I need it before the weekend.\n\nBest regards\n{name}",
    "Good morning,\n\nI would like to return the matcha whisk from order {n}: it is not what I"
    " expected. What is the procedure, and will you refund the shipping too?\n\n{name}",
)


def _person(number: int) -> tuple[str, str]:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last}", f"customer{number}@example.org"


def realistic_messages(count: int) -> list[tuple[str, Outbound]]:
    """``count`` (idempotency key, message) pairs rendered from the shipped templates.

    Acknowledgements, owner notifications and relayed replies in turn, each for its own
    ticket and customer, with the headers the daemon sets (Reply-To token, In-Reply-To,
    References, Auto-Submitted on automatic mail).
    """
    templates = Templates(shipped_directory("templates"), timezone="Europe/London")
    business = {**SAMPLE_CONTEXTS["acknowledge"]["business"], "name": BUSINESS_NAME, "email": BUSINESS}
    owner = {"name": OWNER[0], "email": OWNER[1]}
    messages = []
    for index in range(count):
        ticket_id = 1000 + index
        name, address = _person(index)
        subject = SUBJECTS[index % len(SUBJECTS)].format(n=40_000 + index)
        text = QUESTIONS[index % len(QUESTIONS)].format(n=40_000 + index, name=name.split()[0])
        ticket = {**SAMPLE_CONTEXTS["acknowledge"]["ticket"], "id": ticket_id, "subject": subject}
        customer = {**SAMPLE_CONTEXTS["acknowledge"]["customer"], "name": name, "email": address}
        common = {"business": business, "owner": owner, "ticket": ticket, "customer": customer}
        customer_id = f"{index}.{ticket_id}@mail.example.org"
        token = f"support+t{ticket_id}-{ticket_id * 7919 % 16**16:016x}@acme.example"
        kind = ("acknowledge", "owner-notification", "reply")[index % 3]
        if kind == "acknowledge":
            context = {**common, "message": {"subject": subject, "text": text}}
            to, reply_to, in_reply_to, automatic = ((name, address),), token, customer_id, True
        elif kind == "owner-notification":
            notification = SAMPLE_CONTEXTS["owner-notification"]
            message = {**notification["message"], "from": f"{name} <{address}>", "subject": subject}
            context = {
                **notification,
                **common,
                "message": {**message, "text": text},
                "reply_address": token.replace("-", "o-", 1),
            }
            to, reply_to, in_reply_to, automatic = (OWNER,), token.replace("-", "o-", 1), None, False
        else:
            body = "Thank you for your patience. A replacement is on its way and should arrive on Thursday."
            context = {**common, "body": body, "greeting_name": name.split()[0]}
            to, reply_to, in_reply_to, automatic = ((name, address),), token, customer_id, False
        rendered = templates.render(kind, context)
        outbound = Outbound(
            kind=kind,
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            references=(customer_id,),
            automatic=automatic,
            ticket_id=ticket_id,
        )
        messages.append((f"{kind}:{ticket_id}", outbound))
    return messages


def fill_outbox(data_dir: Path, messages: Sequence[tuple[str, Outbound]]) -> Outbox:
    """A fresh outbox in ``data_dir`` with every message queued and committed (not timed)."""
    outbox = Outbox(data_dir, BUSINESS_NAME, BUSINESS)
    for key, outbound in messages:
        outbox.enqueue(key, outbound, NOW)
    outbox.flush()
    return outbox


# ---------------------------------------------------------------------------------------------
# The measurements.
# ---------------------------------------------------------------------------------------------


def smtp_config(port: int) -> SmtpConfig:
    """The sink as the daemon's ``[smtp]`` section would describe it."""
    return SmtpConfig(host=LOOPBACK, port=port, security="none", username=None, password=None, ca_file=None)


async def send_bare(port: int, envelopes: Sequence[tuple[str, list[str], bytes]]) -> None:
    """The limit: one aiosmtplib connection, ``sendmail`` of each message in turn."""
    client = aiosmtplib.SMTP(hostname=LOOPBACK, port=port, use_tls=False, start_tls=False, timeout=30)
    await client.connect()
    for sender, recipients, raw in envelopes:
        await client.sendmail(sender, recipients, raw)
    await client.quit()


class WaitTimingTransport(SmtpTransport):
    """An :class:`SmtpTransport` that measures how long DATA waits for the previous flush.

    With ``overlap=False`` it waits for the flush before MAIL instead, as a sender without
    the overlap would.
    """

    def __init__(self, config: SmtpConfig, overlap: bool = True) -> None:
        super().__init__(config)
        self.overlap = overlap
        self.waited = 0.0
        self.waits = 0

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes, ready: Awaitable[object] | None = None
    ) -> dict[str, str]:
        if ready is not None and not self.overlap:
            await self._timed(ready)
            ready = None
        elif ready is not None:
            ready = self._timed(ready)
        return await super().send(sender, recipients, raw, ready)

    async def _timed(self, ready: Awaitable[object]) -> None:
        started = time.perf_counter()
        await ready
        self.waited += time.perf_counter() - started
        self.waits += 1


async def send_outbox(outbox: Outbox, transport: SmtpTransport) -> SendReport:
    """What the daemon's send step does: one pass over the queue, then QUIT."""
    try:
        return await outbox.send_due(transport, NOW)
    finally:
        await transport.close()


def fdatasync_alone(directory: Path, count: int, line: bytes) -> float:
    """Seconds to append ``count`` lines with an fdatasync each, as ``sent.log`` does."""
    path = directory / "fdatasync-probe.log"
    started = time.perf_counter()
    with path.open("ab") as log:
        for _ in range(count):
            log.write(line)
            log.flush()
            os.fdatasync(log.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def removal_alone(outbox: Outbox) -> float:
    """Seconds to remove every queue file of ``outbox``, as deliveries do."""
    files = sorted(outbox.queue.iterdir())
    started = time.perf_counter()
    for path in files:
        path.unlink()
    return time.perf_counter() - started


@dataclass
class Results:
    """Everything one benchmark run measured: a :class:`Timing` for each way of sending."""

    messages: int
    message_bytes: int
    bare: common.Timing
    outbox: common.Timing
    serial: common.Timing
    fdatasync: common.Timing
    removal: common.Timing
    # Per outbox run: seconds DATA waited for the previous delivery's record, in total.
    flush_waits: list[float] = field(default_factory=list)
    delivered: dict[str, int] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """The outbox rate as a share of the bare rate."""
        return self.outbox.rate / self.bare.rate

    def to_json(self, started: datetime) -> dict[str, Any]:
        # The wait of the fastest outbox run, which is the one the rate comes from.
        fastest = self.outbox.runs.index(self.outbox.best)
        exposed = self.flush_waits[fastest] / self.messages

        def micro(seconds: float) -> float:
            return round(seconds / self.messages * 1e6, 1)

        return {
            "benchmark": "outbox",
            "started": started.isoformat(timespec="seconds"),
            "host": common.host(),
            "messages": self.messages,
            "average_message_bytes": round(self.message_bytes / self.messages),
            "bare": self.bare.to_json(with_messages=False),
            "outbox": self.outbox.to_json(with_messages=False),
            "outbox_flush_not_overlapped": self.serial.to_json(with_messages=False),
            "fdatasync_alone": self.fdatasync.to_json(with_messages=False),
            "queue_file_removal_alone": self.removal.to_json(with_messages=False),
            "ratio": round(self.ratio, 3),
            "target": RATE_TARGET,
            "target_met": self.ratio >= RATE_TARGET,
            "per_message_microseconds": {
                "bare": micro(self.bare.best),
                "outbox": micro(self.outbox.best),
                "outbox_flush_not_overlapped": micro(self.serial.best),
                "fdatasync": micro(self.fdatasync.best),
                "queue_file_removal": micro(self.removal.best),
                "data_waited_for_record": round(exposed * 1e6, 1),
            },
            "flush_wait_seconds_per_run": [round(wait, 4) for wait in self.flush_waits],
            "sink_received": self.delivered,
            "profile": self.profile,
        }


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took, after flushing the file system."""
    common.flush_file_system()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timed_send(outbox: Outbox, transport: SmtpTransport) -> tuple[float, SendReport]:
    """One timed outbox pass (after flushing the file system) and its report."""
    reports: list[SendReport] = []
    seconds = timed(lambda: reports.append(asyncio.run(send_outbox(outbox, transport))))
    return seconds, reports[0]


def run_benchmark(
    messages: int, repeat: int, workdir: Path, progress: common.Progress, profile: bool = False
) -> Results:
    """Measure every way of sending ``messages`` messages ``repeat`` times, interleaved."""
    progress(f"rendering {messages:,} messages")
    rendered = realistic_messages(messages)
    sink = SinkProcess()
    try:
        template = fill_outbox(workdir / "template", rendered)
        items = template.queued()
        envelopes = [(item.sender, list(item.recipients), template.raw(item)) for item in items]
        size = sum(len(raw) for _, _, raw in envelopes)
        log_line = (json.dumps(asdict(items[0]), separators=(",", ":")) + "\n").encode("utf-8")
        results = Results(messages, size, *(common.Timing(messages) for _ in range(5)))
        for round_number in range(1, repeat + 1):
            progress(f"round {round_number}/{repeat}: bare aiosmtplib loop")
            results.bare.runs.append(timed(lambda: asyncio.run(send_bare(sink.port, envelopes))))
            for overlap, timing in ((True, results.outbox), (False, results.serial)):
                label = "outbox" if overlap else "outbox, flush not overlapped"
                progress(f"round {round_number}/{repeat}: {label}")
                outbox = fill_outbox(workdir / f"run-{round_number}-{overlap}", rendered)
                transport = WaitTimingTransport(smtp_config(sink.port), overlap=overlap)
                seconds, report = timed_send(outbox, transport)
                timing.runs.append(seconds)
                check_report(report, outbox, messages)
                if overlap:
                    results.flush_waits.append(transport.waited)
                shutil.rmtree(outbox.root.parent)
            progress(f"round {round_number}/{repeat}: fdatasync and queue-file removal alone")
            results.fdatasync.runs.append(timed(lambda: fdatasync_alone(workdir, messages, log_line)))
            outbox = fill_outbox(workdir / f"removal-{round_number}", rendered)
            results.removal.runs.append(timed(lambda o=outbox: removal_alone(o)))
            shutil.rmtree(outbox.root.parent)
        if profile:
            progress("profiling one outbox run")
            results.profile = profile_outbox(fill_outbox(workdir / "profile", rendered), sink.port, messages)
    finally:
        delivered = sink.stop()
    results.delivered = delivered
    runs = repeat * 3 + (1 if profile else 0)
    if delivered.get("messages") != runs * messages:
        raise RuntimeError(f"the sink received {delivered} messages, expected {runs * messages}")
    return results


def check_report(report: SendReport, outbox: Outbox, messages: int) -> None:
    """Fail loudly unless the pass sent every message and recorded each delivery."""
    if len(report.sent) != messages or report.deferred or report.failed:
        raise RuntimeError(
            f"outbox pass: {len(report.sent)} sent, {len(report.deferred)} deferred, "
            f"{len(report.failed)} failed of {messages}"
        )
    if outbox.queued() or len(outbox.sent()) != messages:
        raise RuntimeError(f"outbox: {len(outbox.queued())} still queued, {len(outbox.sent())} in sent.log")


def profile_outbox(outbox: Outbox, port: int, messages: int, limit: int = 20) -> list[str]:
    """cProfile of one outbox pass (main thread only: the flush threads are not in it)."""
    profiler = cProfile.Profile()
    transport = WaitTimingTransport(smtp_config(port))
    profiler.enable()
    report = asyncio.run(send_outbox(outbox, transport))
    profiler.disable()
    check_report(report, outbox, messages)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(limit)
    return [line.rstrip() for line in stream.getvalue().splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    """A readable summary of the JSON results."""
    per = results["per_message_microseconds"]
    rows = [
        ("bare aiosmtplib loop (the limit)", results["bare"], per["bare"]),
        ("helpdesk outbox", results["outbox"], per["outbox"]),
        (
            "outbox, flush not overlapped",
            results["outbox_flush_not_overlapped"],
            per["outbox_flush_not_overlapped"],
        ),
        ("fdatasync alone", results["fdatasync_alone"], per["fdatasync"]),
        ("queue-file removal alone", results["queue_file_removal_alone"], per["queue_file_removal"]),
    ]
    lines = [
        f"outbox benchmark: {results['messages']:,} messages of ~{results['average_message_bytes']:,} bytes, "
        f"best of {len(results['bare']['runs_seconds'])}",
        "",
        f"  {'':<36}{'msgs/s':>10}{'µs/msg':>10}   runs (s)",
    ]
    for label, timing, micro in rows:
        runs = common.format_runs(timing["runs_seconds"], 3, separator=" ")
        lines.append(f"  {label:<36}{timing['rate_per_second']:>10,.0f}{micro:>10,.0f}   {runs}")
    met = common.verdict(results["target_met"], missed="NOT met")
    lines += [
        "",
        f"  outbox / bare = {results['ratio']:.0%} (target {results['target']:.0%}: {met})",
        f"  delivery record per message: fdatasync {per['fdatasync']:.0f} µs + queue-file removal "
        f"{per['queue_file_removal']:.0f} µs alone; DATA waited {per['data_waited_for_record']:.0f} µs "
        "for it (the rest overlapped MAIL/RCPT)",
        f"  sink received {results['sink_received']['messages']:,} messages",
    ]
    if results["profile"]:
        lines += ["", "  profile of one outbox run (main thread, by own time):"]
        lines += [f"    {line}" for line in results["profile"]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; see ``--help``."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/outbox.py",
        description="Benchmark helpdesk's outbox against a bare aiosmtplib loop, to an aiosmtpd sink.",
    )
    parser.add_argument(
        "--messages", type=int, default=DEFAULT_MESSAGES, help=f"default {DEFAULT_MESSAGES:,}"
    )
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs of each way (default {DEFAULT_REPEAT})"
    )
    parser.add_argument("--profile", action="store_true", help="also profile one outbox run (cProfile)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--workdir", type=Path, help="directory for the outboxes (default: a temporary one)")
    parser.add_argument(
        "--results-dir", type=Path, default=common.RESULTS_DIR, help="where to write outbox-<timestamp>.json"
    )
    parser.add_argument("--serve-sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.messages < 1 or args.repeat < 1:
        parser.error("--messages and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (the target is reported, not enforced)."""
    args = parse_arguments(argv)
    if args.serve_sink:
        asyncio.run(serve_sink())
        return 0
    progress = common.stderr_progress(time.monotonic())
    started = datetime.now(UTC)
    with common.work_directory(args.workdir, "helpdesk-bench-") as workdir:
        results = run_benchmark(args.messages, args.repeat, workdir, progress, args.profile)
    document = results.to_json(started)
    path = common.publish(document, args.json, table, args.results_dir)
    progress(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
