"""Ingest benchmark: how fast helpdesk turns IMAP mail into tickets, against Dovecot.

Run from the repository root::

    python3 bench/ingest.py                      # 10,000 messages, preload 100,000 tickets
    python3 bench/ingest.py --quick              # 2,000 messages, preload 20,000 tickets
    python3 bench/ingest.py --json --profile     # one JSON document; cProfile summaries
    python3 bench/ingest.py --only end-to-end    # only part 4 (2,000 messages)

It starts a private Dovecot (``tests/dovecot.py``) and an SMTP sink in a process of its own
(``bench/smtp_sink.py``), fills a fresh mailbox with a realistic generated corpus
(``tests/corpus.py``: about 3 KB a message; plain, HTML-only and multipart/alternative mail;
10% with attachments; 20% replies) and measures, in one run:

1. **Raw rate**: the practical limit of the libraries helpdesk is built on. One imapclient
   connection SELECTs, searches the UIDs, fetches ``BODY.PEEK[]`` in batches of helpdesk's
   ``[imap] batch_size`` and runs ``mailparser.parse_from_bytes`` on every message; nothing is
   written anywhere.
2. **helpdesk ingest rate**: what ``Daemon.run_once()`` does from start-up to committed tickets,
   timed end to end: open the data directory (a fresh one), connect, fetch, archive (one file
   system flush per batch), parse (in helpdesk's parse worker processes, as the daemon does
   with a backlog; starting them is part of the time), classify, thread, record and commit
   (``Helpdesk(config)`` + ``Mailbox.connect()`` + ``Helpdesk.ingest_new()`` + closing). The
   same is also timed with ``parse_workers = 0``, everything in one process, to show what the
   workers add; the raw rate is always one process. The automatic mail a cycle then sends is
   left out here (``[smtp] sender_process = false``, so that no rules run along with the
   batches): it is not ingest, and it is measured in 3 and 4. Afterwards every appended
   message must be in the store under its (folder, UIDVALIDITY, UID), or the benchmark fails.
3. **Growth**: complete daemon cycles (``Helpdesk.cycle()``: ingest, the actions of the new
   events, the time rules when due, SMTP delivery, one after the other: without the sender
   process) of 1,000 new messages into a store that
   already holds 1,000 tickets and into one that holds ``--preload`` tickets, with the time of
   each phase. The stores are built directly through the :class:`helpdesk.store.store.Store` API
   (``bench/preload.py``) with records shaped like those the daemon writes, not by ingesting
   mail. Opening a store and the first cycle after it (in which the time rules catch up on
   the preloaded tickets) are start-up costs, timed apart. The time rules sweep every ticket
   at most once a minute whatever the mail, so they are reported apart too, and the
   per-message cost compared between the stores is the cycle without them.
4. **End to end**: ``helpdesk run --once`` (``Daemon.run_once()``, in this process, with the
   shipped rules and templates and the default parse workers) on a fresh data directory over
   ``--end-to-end-messages`` new customer messages, each from an address of its own and
   opening a ticket: every one is acknowledged and notified, two mails sent per message to
   the SMTP sink. Against the practical limit measured in the same run, interleaved: one
   imapclient connection fetching ``BODY.PEEK[]`` in batches, mail-parser on each message and,
   after each, two minimal aiosmtplib sends (a few headers and a line, to the sender and to
   the owner) on one SMTP connection. The run fails unless every message is recorded, the
   sink got exactly two mails per message and the outbox is empty afterwards; the time of
   each phase of the cycle is reported for the best run: ingest (with, for a backlog, the
   actions of each batch: the rules, rendering and queueing), actions (all of them), the wait
   at the end for the sender process to deliver the last batch's mail (``sender_wait``; the
   rest was delivered while the daemon worked), and SMTP delivery from the daemon's process.

Each rate (and the end-to-end pair) is measured ``--repeat`` times (raw and helpdesk runs
interleaved) and each growth cycle ``--rounds`` times (the two stores alternating); the report
gives the best run of each, the one least disturbed by other work on the machine, and lists
every run. The file system is flushed before each timed run, so that no run pays for the
writes of the one before. ``--only`` runs some of the parts (``rates``, ``growth``,
``end-to-end``; repeatable).

The results are printed as a table (``--json``: one JSON document) and written to
``bench/results/ingest-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosmtplib
import mailparser
from imapclient import IMAPClient

from bench import common
from bench.preload import preload_store
from helpdesk.config import Config, default_workers, load_config
from helpdesk.daemon import Daemon, Helpdesk
from helpdesk.demo.imapserver import ImapMailbox, ImapTestServer
from helpdesk.demo.processes import LOOPBACK
from helpdesk.intake.fetch import Mailbox
from helpdesk.intake.ingest import IngestReport
from helpdesk.outbound.delivery import BackgroundDelivery
from helpdesk.outbound.outbox import Outbox
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.store.store import Store
from tests.corpus import generate_corpus
from tests.dovecot import DovecotServer, dovecot_available
from tests.helpers import BUSINESS, OWNER, write_config

DEFAULT_MESSAGES = 10_000
DEFAULT_PRELOAD = 100_000
DEFAULT_BATCH_SIZE = 200
QUICK_MESSAGES = 2_000
QUICK_PRELOAD = 20_000
# The small store of the growth comparison, and the new mail of one growth cycle.
BASE_PRELOAD = 1_000
GROWTH_MESSAGES = 1_000
# New customer messages of the end-to-end measurement, each acknowledged and notified.
DEFAULT_END_TO_END = 2_000
QUICK_END_TO_END = 500
# The outbound mail the shipped rules send for each new customer message: the
# acknowledgement to the customer and the notification to the owner.
MAILS_PER_MESSAGE = 2
# The parts of the benchmark, in the order they run (``--only`` picks some).
PARTS = ("rates", "growth", "end-to-end")

# Targets from the issue: helpdesk ingests at least half as fast as fetch+parse alone, and the
# time per message grows by at most half when the store grows from 1,000 to 100,000 tickets.
RATE_TARGET = 0.5
GROWTH_TARGET = 1.5
# And a whole cycle, mail in to acknowledgement and notification out, runs at least half as
# fast as fetch + parse + two bare SMTP sends per message.
END_TO_END_TARGET = 0.5

CORPUS_SEED = 20_260_105
GROWTH_SEED = 31_337
END_TO_END_SEED = 4_242


# ---------------------------------------------------------------------------------------------
# Records of what was measured.
# ---------------------------------------------------------------------------------------------


@dataclass
class StoreSide:
    """One store of the growth comparison: how it was built and opened, and its cycles."""

    tickets: int
    messages: int = GROWTH_MESSAGES
    build_seconds: float = 0.0
    open_seconds: float = 0.0
    # The first cycle after opening, without new mail: the time rules catch up on the
    # preloaded tickets (escalations, reminders) once, as a long-running daemon has done.
    catch_up_seconds: float = 0.0
    catch_up_mail_sent: int = 0
    # Per round: the whole cycle under "cycle", each phase that took time, and "per_message":
    # the cycle without the time rules, which sweep every ticket at most once a minute
    # whatever the mail, so belong to the clock rather than to the messages.
    rounds: list[dict[str, float]] = field(default_factory=list)
    # Per round: the automatic mail the cycle delivered to the SMTP sink.
    mail_sent: list[int] = field(default_factory=list)

    def add_round(self, times: dict[str, float], sent: int) -> None:
        """Record one timed cycle."""
        self.rounds.append({**times, "per_message": times["cycle"] - times.get(TIME_RULES, 0.0)})
        self.mail_sent.append(sent)

    def best(self, phase: str = "per_message") -> float:
        """The fastest round's time for ``phase``, per 1,000 messages."""
        return min(entry.get(phase, 0.0) for entry in self.rounds) * 1000 / self.messages

    def median(self, phase: str = "per_message") -> float:
        """The median round's time for ``phase``, per 1,000 messages."""
        return statistics.median(entry.get(phase, 0.0) for entry in self.rounds) * 1000 / self.messages

    def slowest(self, phase: str) -> float:
        """The slowest round's time for ``phase`` (for the time rules: a round with a sweep)."""
        return max(entry.get(phase, 0.0) for entry in self.rounds)

    def phases(self) -> list[str]:
        """The phases measured, in the order they run."""
        return list(dict.fromkeys(name for entry in self.rounds for name in entry))

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "build_seconds": round(self.build_seconds, 3),
            "open_seconds": round(self.open_seconds, 3),
            "catch_up_cycle_seconds": round(self.catch_up_seconds, 3),
            "catch_up_mail_sent": self.catch_up_mail_sent,
            "new_messages_per_round": self.messages,
            "rounds_seconds": [
                {name: round(value, 4) for name, value in entry.items()} for entry in self.rounds
            ],
            "best_per_1000_seconds": {name: round(self.best(name), 4) for name in self.phases()},
            "median_per_1000_seconds": {name: round(self.median(name), 4) for name in self.phases()},
            "time_rules_sweep_seconds": round(self.slowest(TIME_RULES), 4),
            "mail_sent_per_round": self.mail_sent,
        }


@dataclass(frozen=True)
class Options:
    """What to run; see ``--help`` for each."""

    messages: int = DEFAULT_MESSAGES
    preload: int = DEFAULT_PRELOAD
    batch_size: int = DEFAULT_BATCH_SIZE
    repeat: int = 3
    rounds: int = 3
    growth_messages: int = GROWTH_MESSAGES
    end_to_end_messages: int = DEFAULT_END_TO_END
    profile: bool = False
    parts: tuple[str, ...] = PARTS


# ---------------------------------------------------------------------------------------------
# The corpus and the servers.
# ---------------------------------------------------------------------------------------------


def make_corpus(count: int, seed: int) -> list[bytes]:
    """``count`` generated customer messages (the issue's mix: 20% replies, 10% attachments)."""
    return [mail.raw for mail in generate_corpus(count, seed=seed, reply_ratio=0.2, attachment_ratio=0.1)]


def describe_corpus(raws: Sequence[bytes]) -> dict[str, Any]:
    """Size and shape of a corpus, read back from the bytes: what was actually measured."""
    parser = BytesHeaderParser()
    kinds: Counter[str] = Counter()
    replies = 0
    for raw in raws:
        headers = parser.parsebytes(raw)
        kinds[headers.get_content_type()] += 1
        replies += headers["In-Reply-To"] is not None
    total = sum(len(raw) for raw in raws)
    return {
        "messages": len(raws),
        "mean_bytes": round(total / len(raws)) if raws else 0,
        "total_bytes": total,
        "text_plain": kinds["text/plain"],
        "text_html_only": kinds["text/html"],
        "multipart_alternative": kinds["multipart/alternative"],
        "with_attachment": kinds["multipart/mixed"],
        "replies": replies,
    }


def append_all(mailbox: ImapMailbox, raws: Sequence[bytes]) -> list[int]:
    """Append ``raws`` to INBOX; returns their UIDs (the server must report them)."""
    uids = mailbox.append_many(raws)
    if len(uids) != len(raws):
        raise RuntimeError(f"appended {len(raws)} messages but the server reported {len(uids)} UIDs")
    return uids


class SmtpSinkProcess:
    """``bench/smtp_sink.py`` in a child process: accepts and counts mail on 127.0.0.1."""

    def __init__(self) -> None:
        self.hostname = LOOPBACK
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SmtpSinkProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_sink"],
            cwd=common.REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.port = int(self._readline())
        except BaseException:
            self.__exit__()
            raise
        return self

    def _readline(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the SMTP sink process stopped")
        return line

    def delivered(self) -> int:
        """How many messages the sink has accepted so far."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        return int(self._readline())

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ---------------------------------------------------------------------------------------------
# Raw fetch + parse: the practical limit.
# ---------------------------------------------------------------------------------------------


def parsed_messages(mailbox: ImapMailbox, batch_size: int) -> Iterator[Any]:
    """Fetch every message of INBOX with BODY.PEEK[] in batches and parse each one, in UID order.

    The least that helpdesk's fetch and parse steps must do, with nothing kept: connect, log
    in, SELECT, UID SEARCH, FETCH per batch, ``mailparser.parse_from_bytes``.
    """
    client = IMAPClient(mailbox.host, mailbox.port, ssl=False, timeout=120)
    try:
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.login(mailbox.username, mailbox.password)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        for start in range(0, len(uids), batch_size):
            chunk = uids[start : start + batch_size]
            response = client.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                yield mailparser.parse_from_bytes(response[uid][b"BODY[]"])
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def fetch_and_parse(mailbox: ImapMailbox, batch_size: int) -> int:
    """:func:`parsed_messages` over INBOX; returns how many messages were parsed."""
    return sum(1 for message in parsed_messages(mailbox, batch_size) if message.message is not None)


def time_raw(mailbox: ImapMailbox, expected: int, batch_size: int) -> float:
    """Seconds for one :func:`fetch_and_parse` pass; fails unless every message was parsed."""
    common.flush_file_system()
    start = time.perf_counter()
    parsed = fetch_and_parse(mailbox, batch_size)
    elapsed = time.perf_counter() - start
    if parsed != expected:
        raise RuntimeError(f"raw pass parsed {parsed} messages, expected {expected}")
    return elapsed


# ---------------------------------------------------------------------------------------------
# helpdesk: ingest, and whole cycles.
# ---------------------------------------------------------------------------------------------


def make_config(
    directory: Path,
    mailbox: ImapMailbox,
    sink: SmtpSinkProcess,
    batch_size: int,
    parse_workers: int | None = None,
    sender_process: bool | None = None,
) -> Config:
    """A configuration for ``mailbox`` and ``sink`` with its data directory at ``directory/data``.

    ``parse_workers`` and ``sender_process`` None leave helpdesk's defaults (one parse worker
    per core, at most four; the sender process on more than one core). Without the sender
    process a cycle runs its phases one after the other, which the ingest rates and the growth
    cycles time apart; with it, a backlog's rules and mail go along with each batch.
    """
    directory.mkdir(parents=True, exist_ok=True)
    imap: dict[str, Any] = {"batch_size": batch_size, "idle": False}
    if parse_workers is not None:
        imap["parse_workers"] = parse_workers
    smtp = {} if sender_process is None else {"sender_process": sender_process}
    path = write_config(directory, mailbox, sink, imap=imap, smtp=smtp)
    return load_config(path)


def ingest_once(config: Config) -> IngestReport:
    """What ``Daemon.run_once()`` does up to committed tickets.

    Open the data directory, connect and log in, ingest everything new, disconnect and release
    the data directory; the actions of the new events and the SMTP delivery that a full cycle
    goes on to do are not run.
    """
    helpdesk = Helpdesk(config)
    mailbox = Mailbox(config.imap)
    try:
        mailbox.connect()
        return helpdesk.ingest_new(mailbox)
    finally:
        mailbox.close()
        helpdesk.close()


def check_report(report: IngestReport, expected: int, what: str) -> None:
    """Fail loudly unless ``report`` recorded exactly ``expected`` messages and nothing else."""
    problems = []
    if report.messages_recorded != expected:
        problems.append(f"{report.messages_recorded} recorded instead of {expected}")
    for name in ("quarantined", "skipped", "duplicates"):
        if getattr(report, name):
            problems.append(f"{getattr(report, name)} {name}")
    if problems:
        raise RuntimeError(f"{what}: " + ", ".join(problems))


def check_stored(store: Store, folder: str, uidvalidity: int, uids: Sequence[int], what: str) -> None:
    """Fail loudly unless every message in ``uids`` is recorded under its mail source."""
    missing = [uid for uid in uids if not store.has_source(f"{folder}/{uidvalidity}/{uid}")]
    if missing:
        raise RuntimeError(f"{what}: {len(missing)} of {len(uids)} messages are not in the store")


def time_ingest(mailbox: ImapMailbox, uids: Sequence[int], directory: Path, config: Config) -> float:
    """Seconds for one :func:`ingest_once` into a fresh data directory; verifies the store."""
    common.flush_file_system()
    start = time.perf_counter()
    report = ingest_once(config)
    elapsed = time.perf_counter() - start
    check_report(report, len(uids), "helpdesk ingest")
    store = Store(config.storage_path, readonly=True)
    check_stored(store, config.imap.folder, mailbox.uidvalidity(), uids, "helpdesk ingest")
    return elapsed


def measure_rates(
    mailbox: ImapMailbox,
    uids: Sequence[int],
    sink: SmtpSinkProcess,
    workdir: Path,
    options: Options,
    progress: common.Progress = common.quiet,
) -> tuple[common.Timing, common.Timing, common.Timing]:
    """Raw, helpdesk and single-process helpdesk timings.

    Interleaved, so that drift on the machine hits all three alike. The single-process runs
    (``parse_workers = 0``) show what the parse workers contribute.
    """
    raw, ingest, single = common.Timing(len(uids)), common.Timing(len(uids)), common.Timing(len(uids))
    for attempt in range(1, options.repeat + 1):
        raw.runs.append(time_raw(mailbox, len(uids), options.batch_size))
        progress(f"raw fetch+parse run {attempt}: {raw.runs[-1]:.2f} s")
        variants = ((ingest, None, "helpdesk ingest"), (single, 0, "single-process ingest"))
        for timing, workers, label in variants:
            directory = workdir / f"ingest-{attempt}"
            config = make_config(directory, mailbox, sink, options.batch_size, workers, sender_process=False)
            timing.runs.append(time_ingest(mailbox, uids, directory, config))
            progress(f"{label} run {attempt}: {timing.runs[-1]:.2f} s")
            shutil.rmtree(directory)
    return raw, ingest, single


TIME_RULES = "time_rules"
# A backlog's mail is delivered by the sender process during the cycle; what is left of it at
# the end of the cycle is waited for here.
SENDER_WAIT = "sender_wait"
# The measures whose growth is held to the target: the per-message work of a cycle, and
# within it the ingest proper.
TARGET_PHASES = ("per_message", "ingest")
# The phases of a daemon cycle that are timed separately: (label, class, method). The actions
# run twice a cycle (for the events of new mail, then for those of the time rules); both
# count as actions.
PHASES: tuple[tuple[str, type, str], ...] = (
    ("ingest", Helpdesk, "ingest_new"),
    ("actions", Dispatcher, "run"),
    (TIME_RULES, Helpdesk, "tick"),
    ("smtp", Helpdesk, "send_outbox"),
    (SENDER_WAIT, BackgroundDelivery, "finish"),
)


# ---------------------------------------------------------------------------------------------
# Growth: does a message cost more when the store is large?
# ---------------------------------------------------------------------------------------------


@dataclass
class _OpenStore:
    """A preloaded data directory, open as the daemon opens it, with its mailbox."""

    side: StoreSide
    mailbox: ImapMailbox
    helpdesk: Helpdesk
    connection: Mailbox


@contextlib.contextmanager
def open_store(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    directory: Path,
    tickets: int,
    options: Options,
    progress: common.Progress = common.quiet,
) -> Iterator[_OpenStore]:
    """Build a store of ``tickets`` tickets, open it as the daemon does, connect a new mailbox."""
    side = StoreSide(tickets, messages=options.growth_messages)
    mailbox = server.new_mailbox()
    config = make_config(directory, mailbox, sink, options.batch_size, sender_process=False)
    start = time.perf_counter()
    preload_store(config.storage_path, tickets)
    side.build_seconds = time.perf_counter() - start
    common.flush_file_system()
    start = time.perf_counter()
    helpdesk = Helpdesk(config)
    side.open_seconds = time.perf_counter() - start
    progress(
        f"store of {tickets:,} tickets: built in {side.build_seconds:.1f} s, "
        f"opened in {side.open_seconds:.2f} s"
    )
    connection = Mailbox(config.imap)
    try:
        connection.connect()
        opened = _OpenStore(side, mailbox, helpdesk, connection)
        delivered = sink.delivered()
        start = time.perf_counter()
        helpdesk.cycle(connection)
        side.catch_up_seconds = time.perf_counter() - start
        side.catch_up_mail_sent = sink.delivered() - delivered
        progress(
            f"store of {tickets:,} tickets: catch-up cycle {side.catch_up_seconds:.2f} s, "
            f"{side.catch_up_mail_sent:,} messages sent"
        )
        yield opened
    finally:
        connection.close()
        helpdesk.close()
        mailbox.close()


def run_cycle(
    opened: _OpenStore, raws: Sequence[bytes], sink: SmtpSinkProcess, profile_to: Path | None = None
) -> tuple[dict[str, float], int]:
    """Append ``raws`` to the store's mailbox and time one daemon cycle that takes them in.

    Returns the time of the whole cycle and of each phase, and how many messages the cycle
    delivered to the SMTP sink. Fails unless every message was recorded and the cycle
    delivered everything it queued. With ``profile_to`` the cycle runs under cProfile (its
    times are then not comparable) and the profile is saved there.
    """
    helpdesk = opened.helpdesk
    uids = append_all(opened.mailbox, raws)
    delivered = sink.delivered()
    common.flush_file_system()
    profile = cProfile.Profile() if profile_to is not None else None
    with common.phase_timer(PHASES) as phases:
        start = time.perf_counter()
        if profile is not None:
            report = profile.runcall(helpdesk.cycle, opened.connection)
        else:
            report = helpdesk.cycle(opened.connection)
        elapsed = time.perf_counter() - start
    if profile is not None and profile_to is not None:
        common.save_profile(profile, profile_to)
    what = f"cycle on the store of {opened.side.tickets:,} tickets"
    check_report(report, len(raws), what)
    check_stored(helpdesk.store, helpdesk.config.imap.folder, opened.connection.uidvalidity, uids, what)
    waiting, failed = len(helpdesk.outbox.queued()), len(helpdesk.outbox.failed())
    if waiting or failed:
        raise RuntimeError(f"{what}: {waiting} outbound messages still queued, {failed} failed")
    return {"cycle": elapsed, **phases}, sink.delivered() - delivered


def growth_corpus(round_number: int, messages: int) -> list[bytes]:
    """New mail for one growth round: the same for both stores, new Message-IDs every round."""
    return make_corpus(messages, GROWTH_SEED + round_number)


def measure_growth(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    workdir: Path,
    options: Options,
    progress: common.Progress = common.quiet,
    profile_to: Path | None = None,
) -> tuple[StoreSide, StoreSide]:
    """Time cycles of new mail into a small and a large preloaded store, alternating.

    With ``profile_to``, one more cycle on the large store runs under cProfile afterwards.
    """
    with contextlib.ExitStack() as stack:
        sides = [
            stack.enter_context(
                open_store(server, sink, workdir / f"store-{side}", tickets, options, progress)
            )
            for side, tickets in (("small", BASE_PRELOAD), ("large", options.preload))
        ]
        for round_number in range(options.rounds):
            raws = growth_corpus(round_number, options.growth_messages)
            for opened in sides:
                times, sent = run_cycle(opened, raws, sink)
                opened.side.add_round(times, sent)
                progress(
                    f"{options.growth_messages:,} new messages into {opened.side.tickets:,} tickets "
                    f"(round {round_number + 1}): "
                    + ", ".join(f"{name} {value:.2f} s" for name, value in times.items())
                    + f"; {sent:,} messages sent"
                )
        if profile_to is not None:
            run_cycle(sides[-1], growth_corpus(options.rounds, options.growth_messages), sink, profile_to)
        return sides[0].side, sides[-1].side


# ---------------------------------------------------------------------------------------------
# End to end: new customer mail in, acknowledgements and notifications out.
# ---------------------------------------------------------------------------------------------


def end_to_end_corpus(count: int) -> list[bytes]:
    """``count`` new customer messages, each from an address of its own.

    No replies: every message opens a ticket, which the shipped rules acknowledge and notify.
    A customer who wrote before gets a fresh address (a numbered local part, everywhere it
    appears in the message): automatic mail is rate-limited per address
    (:data:`helpdesk.policy.actions.AUTOMATIC_LIMIT` an hour), and a frequent writer's sixth
    message would otherwise go unacknowledged.
    """
    mails = generate_corpus(count, seed=END_TO_END_SEED, reply_ratio=0.0, attachment_ratio=0.1)
    written: Counter[str] = Counter()
    raws = []
    for mail in mails:
        written[mail.sender] += 1
        raw = mail.raw
        if written[mail.sender] > 1:
            local, _, domain = mail.sender.partition("@")
            raw = raw.replace(mail.sender.encode(), f"{local}.n{written[mail.sender]}@{domain}".encode())
        raws.append(raw)
    return raws


def bare_reply(recipient: str, in_reply_to: str, number: int) -> bytes:
    """The least a reply needs to be mail: a few headers and one line of text."""
    return (
        f"From: {BUSINESS}\r\nTo: {recipient}\r\nSubject: Received\r\n"
        f"Message-ID: <limit-{number}@acme.example>\r\nIn-Reply-To: {in_reply_to}\r\n"
        "\r\nReceived, thank you.\r\n"
    ).encode()


async def fetch_parse_send(mailbox: ImapMailbox, batch_size: int, sink: SmtpSinkProcess) -> int:
    """:func:`fetch_and_parse`, and after parsing each message two bare sends to the sink.

    The least that a cycle answering every message must do: the fetch and parse of the raw
    rate, then for each message ``sendmail`` of :func:`bare_reply` to its sender and to the
    owner over one aiosmtplib connection (MAIL, RCPT, DATA each). Returns how many messages
    were sent.
    """
    smtp = aiosmtplib.SMTP(hostname=sink.hostname, port=sink.port, use_tls=False, start_tls=False)
    sent = 0
    try:
        await smtp.connect()
        for message in parsed_messages(mailbox, batch_size):
            for recipient in (message.from_[0][1], OWNER):
                reply = bare_reply(recipient, message.message_id, sent)
                await smtp.sendmail(BUSINESS, [recipient], reply)
                sent += 1
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()
    return sent


def time_limit(mailbox: ImapMailbox, expected: int, batch_size: int, sink: SmtpSinkProcess) -> float:
    """Seconds for one :func:`fetch_parse_send` pass; fails unless the sink got every message."""
    common.flush_file_system()
    delivered = sink.delivered()
    start = time.perf_counter()
    sent = asyncio.run(fetch_parse_send(mailbox, batch_size, sink))
    elapsed = time.perf_counter() - start
    received = sink.delivered() - delivered
    if sent != received or received != expected * MAILS_PER_MESSAGE:
        raise RuntimeError(
            f"limit pass sent {sent}, the sink got {received} of {expected * MAILS_PER_MESSAGE} messages"
        )
    return elapsed


def time_run_once(
    mailbox: ImapMailbox, uids: Sequence[int], config: Config, sink: SmtpSinkProcess, what: str
) -> dict[str, float]:
    """Time ``Daemon.run_once()`` (``helpdesk run --once``) on a fresh data directory, and its phases.

    ``run_once`` is the whole of it, start-up and closing included; the phases are parts of it.

    Fails unless every message was recorded, the sink received an acknowledgement and a
    notification for each, and the outbox is empty afterwards.
    """
    common.flush_file_system()
    delivered = sink.delivered()
    with common.phase_timer(PHASES) as phases:
        start = time.perf_counter()
        report = Daemon(config).run_once()
        elapsed = time.perf_counter() - start
    received = sink.delivered() - delivered
    check_report(report, len(uids), what)
    store = Store(config.storage_path, readonly=True)
    check_stored(store, config.imap.folder, mailbox.uidvalidity(), uids, what)
    waiting, failed = Outbox.waiting_in(config.storage_path), len(Outbox.failed_in(config.storage_path))
    if received != len(uids) * MAILS_PER_MESSAGE or waiting or failed:
        raise RuntimeError(
            f"{what}: the sink received {received} of {len(uids) * MAILS_PER_MESSAGE} messages; "
            f"{waiting} still queued, {failed} failed"
        )
    return {"run_once": elapsed, **phases}


def measure_end_to_end(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    workdir: Path,
    options: Options,
    progress: common.Progress = common.quiet,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """Time ``run --once`` over new customer mail against the fetch + parse + send limit, interleaved.

    With ``profile_to``, one more run (in one process: ``parse_workers = 0``) runs under
    cProfile afterwards and its profile is saved there.
    """
    raws = end_to_end_corpus(options.end_to_end_messages)
    corpus = describe_corpus(raws)
    mailbox = server.new_mailbox()
    try:
        uids = append_all(mailbox, raws)
        del raws
        progress(f"end to end: mailbox filled with {len(uids):,} new customer messages")
        limit, helpdesk = common.Timing(len(uids)), common.Timing(len(uids))
        phases: list[dict[str, float]] = []
        for attempt in range(1, options.repeat + 1):
            limit.runs.append(time_limit(mailbox, len(uids), options.batch_size, sink))
            progress(f"fetch+parse+send run {attempt}: {limit.runs[-1]:.2f} s")
            directory = workdir / f"end-to-end-{attempt}"
            config = make_config(directory, mailbox, sink, options.batch_size)
            phases.append(time_run_once(mailbox, uids, config, sink, "helpdesk end to end"))
            helpdesk.runs.append(phases[-1]["run_once"])
            progress(
                f"helpdesk run --once {attempt}: "
                + ", ".join(f"{name} {value:.2f} s" for name, value in phases[-1].items())
            )
            shutil.rmtree(directory)
        if profile_to is not None:
            directory = workdir / "end-to-end-profiled"
            config = make_config(directory, mailbox, sink, options.batch_size, parse_workers=0)
            profile = cProfile.Profile()
            profile.runcall(time_run_once, mailbox, uids, config, sink, "profiled end to end")
            common.save_profile(profile, profile_to)
            shutil.rmtree(directory)
    finally:
        mailbox.close()
    ratio = helpdesk.rate / limit.rate
    best = phases[helpdesk.runs.index(helpdesk.best)]
    return {
        "corpus": corpus,
        "mail_sent_per_run": len(uids) * MAILS_PER_MESSAGE,
        "limit_fetch_parse_send": limit.to_json(),
        "helpdesk_run_once": helpdesk.to_json(),
        "phases_of_best_run_seconds": {name: round(value, 4) for name, value in best.items()},
        "ratio": round(ratio, 3),
        "target": END_TO_END_TARGET,
        "target_met": ratio >= END_TO_END_TARGET,
    }


# ---------------------------------------------------------------------------------------------
# Profiling.
# ---------------------------------------------------------------------------------------------

# Where helpdesk's time goes, by stage: (label, file suffix, function name).
STAGES: tuple[common.Stage, ...] = (
    ("IMAP fetch", "helpdesk/intake/fetch.py", "fetch"),
    ("archive write", "helpdesk/intake/archive.py", "store"),
    ("archive flush (syncfs)", "helpdesk/intake/archive.py", "sync"),
    ("parse (helpdesk.message)", "helpdesk/intake/message.py", "parse_message"),
    ("  mail-parser, within parse", "mailparser/core.py", "parse_from_bytes"),
    ("thread", "helpdesk/intake/threads.py", "find_ticket"),
    ("record ticket/message/customer", "helpdesk/intake/ingest.py", "_record"),
    ("store commit", "helpdesk/store/store.py", "commit"),
    ("copy.deepcopy, anywhere", "copy.py", "deepcopy"),
    ("actions (events to outbox)", "helpdesk/policy/dispatch.py", "run"),
    ("  template rendering, anywhere", "helpdesk/outbound/render.py", "render"),
    ("  outbox enqueue, within actions", "helpdesk/outbound/outbox.py", "enqueue"),
    ("  message composition, anywhere", "helpdesk/outbound/compose.py", "compose"),
    ("outbox flush (one sync per commit)", "helpdesk/outbound/outbox.py", "flush"),
    ("time rules", "helpdesk/daemon.py", "tick"),
    ("SMTP delivery", "helpdesk/daemon.py", "send_outbox"),
)


# ---------------------------------------------------------------------------------------------
# The whole benchmark.
# ---------------------------------------------------------------------------------------------


def run_benchmark(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    options: Options,
    workdir: Path,
    progress: common.Progress = common.quiet,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the measurements of ``options.parts`` against ``server`` and ``sink``; return JSON-ready results.

    Profiles (with ``options.profile``) are saved in ``profile_dir``, else in ``workdir``.
    """
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "benchmark": "ingest",
        "started": started.isoformat(timespec="seconds"),
        "options": asdict(options),
        "machine": common.machine(imap_server=common.imap_server_name(server)),
        "reported": "best run of each measurement (every run is listed)",
        "profiles": {},
    }
    stamp = common.file_stamp(started)
    profile_dir = profile_dir or workdir
    profiles: dict[str, Any] = results["profiles"]

    def profile_path(name: str) -> Path | None:
        return profile_dir / f"ingest-{stamp}-{name}.prof" if options.profile else None

    def add_profile(name: str, path: Path | None) -> None:
        if path is not None:
            profiles[name.replace("-", "_")] = {"file": str(path), "rows": _summary(path)}
            progress(f"profiled the {name.replace('-', ' ')}: {path}")

    if "rates" in options.parts:
        path = profile_path("ingest")
        results.update(_rates_part(server, sink, options, workdir, progress, path))
        add_profile("ingest", path)
    if "growth" in options.parts:
        path = profile_path("large-store-cycle")
        results.update(_growth_part(server, sink, options, workdir, progress, path))
        add_profile("large-store-cycle", path)
    if "end-to-end" in options.parts:
        path = profile_path("end-to-end")
        results["end_to_end"] = measure_end_to_end(server, sink, workdir, options, progress, path)
        add_profile("end-to-end", path)
    return results


def _rates_part(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    options: Options,
    workdir: Path,
    progress: common.Progress,
    profile_to: Path | None,
) -> dict[str, Any]:
    """The raw and helpdesk ingest rates over the main corpus (and a profile of one ingest)."""
    progress(f"generating {options.messages:,} messages")
    raws = make_corpus(options.messages, CORPUS_SEED)
    corpus = describe_corpus(raws)
    mailbox = server.new_mailbox()
    try:
        uids = append_all(mailbox, raws)
        del raws
        progress(f"mailbox filled with {len(uids):,} messages ({corpus['mean_bytes']:,} bytes on average)")
        raw, ingest, single = measure_rates(mailbox, uids, sink, workdir, options, progress)
        if profile_to is not None:
            directory = workdir / "ingest-profiled"
            # In one process: cProfile sees only the process it runs in.
            config = make_config(directory, mailbox, sink, options.batch_size, parse_workers=0)
            profile = cProfile.Profile()
            profile.runcall(time_ingest, mailbox, uids, directory, config)
            common.save_profile(profile, profile_to)
            shutil.rmtree(directory)
    finally:
        mailbox.close()
    rate_ratio = ingest.rate / raw.rate
    return {
        "corpus": corpus,
        "raw_fetch_parse": raw.to_json(),
        "helpdesk_ingest": ingest.to_json(),
        "parse_workers": default_workers(),
        "rate_ratio": round(rate_ratio, 3),
        "helpdesk_ingest_single_process": single.to_json(),
        "single_process_ratio": round(single.rate / raw.rate, 3),
        "rate_target": RATE_TARGET,
        "rate_target_met": rate_ratio >= RATE_TARGET,
    }


def _growth_part(
    server: ImapTestServer,
    sink: SmtpSinkProcess,
    options: Options,
    workdir: Path,
    progress: common.Progress,
    profile_to: Path | None,
) -> dict[str, Any]:
    """Cycles into the small and the large store, and how the large one's compare."""
    small, large = measure_growth(server, sink, workdir, options, progress, profile_to)
    growth = {
        phase: large.best(phase) / small.best(phase)
        for phase in small.phases()
        if phase not in ("cycle", TIME_RULES) and small.best(phase) > 0
    }
    return {
        "growth": {"small": small.to_json(), "large": large.to_json()},
        "growth_ratios": {phase: round(value, 3) for phase, value in growth.items()},
        "growth_target": GROWTH_TARGET,
        "growth_target_met": all(
            growth[phase] <= GROWTH_TARGET for phase in TARGET_PHASES if phase in growth
        ),
    }


def _summary(path: Path) -> list[dict[str, Any]]:
    """The summary of a saved profile by :data:`STAGES` (stage rows without call counts)."""
    return common.summarise_profile(path, STAGES, stage_calls=False)


# ---------------------------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------------------------

_PHASE_LABELS = {
    "per_message": "cycle without time rules (per message)",
    "ingest": "  ingest (fetch to committed tickets)",
    "actions": "  actions (acknowledgements, notifications)",
    "smtp": "  SMTP delivery",
}


def format_report(results: dict[str, Any]) -> str:
    """The results as a readable table: the parts that ran, then the profiles."""
    machine, options = results["machine"], results["options"]
    lines = [
        f"helpdesk ingest benchmark, {results['started']}, {machine['imap_server']}, "
        f"{machine['cpus']} CPUs, Python {machine['python']}",
        f"batch size {options['batch_size']}; best of {options['repeat']} runs of each rate",
    ]
    if "raw_fetch_parse" in results:
        lines += _rates_lines(results)
    if "growth" in results:
        lines += _growth_lines(results)
    if "end_to_end" in results:
        lines += _end_to_end_lines(results["end_to_end"])
    for name, profile in results["profiles"].items():
        lines += [
            "",
            f"profile of the {name.replace('_', ' ')} ({profile['file']}):",
            *common.profile_lines(profile["rows"], name_width=44, seconds_width=8),
        ]
    return "\n".join(lines)


def _corpus_line(corpus: dict[str, Any]) -> str:
    return (
        f"corpus: {corpus['messages']:,} messages of {corpus['mean_bytes']:,} bytes on average: "
        f"{corpus['text_plain']:,} plain, {corpus['multipart_alternative']:,} multipart/alternative, "
        f"{corpus['text_html_only']:,} HTML only, {corpus['with_attachment']:,} with attachments; "
        f"{corpus['replies']:,} replies"
    )


def _rates_lines(results: dict[str, Any]) -> list[str]:
    raw, ingest = results["raw_fetch_parse"], results["helpdesk_ingest"]
    single = results["helpdesk_ingest_single_process"]
    return [
        "",
        _corpus_line(results["corpus"]),
        f"{'':<46}{'time':>10}{'msg/s':>10}",
        _rate_row("raw fetch+parse (imapclient + mail-parser)", raw),
        _rate_row(f"helpdesk ingest, {results['parse_workers']} parse workers", ingest),
        f"{'helpdesk / raw':<46}{'':>10}{results['rate_ratio']:>10.3f}   "
        f"target >= {results['rate_target']:.2f}: {common.verdict(results['rate_target_met'])}",
        _rate_row("helpdesk ingest in one process (no workers)", single),
        f"{'one process / raw':<46}{'':>10}{results['single_process_ratio']:>10.3f}",
        f"raw runs (s): {common.format_runs(raw['runs_seconds'], 2)}; "
        f"helpdesk ingest runs (s): {common.format_runs(ingest['runs_seconds'], 2)}; "
        f"in one process (s): {common.format_runs(single['runs_seconds'], 2)}",
    ]


def _growth_lines(results: dict[str, Any]) -> list[str]:
    small, large = results["growth"]["small"], results["growth"]["large"]
    ratios = results["growth_ratios"]
    lines = [
        "",
        f"growth: best of {results['options']['rounds']} cycles of {small['new_messages_per_round']:,} "
        "messages, per 1,000",
        f"{'1,000 new messages into a store of':<46}{small['tickets']:>10,}{large['tickets']:>10,}"
        "   large/small",
        _pair_row("  store open (start-up, once)", small["open_seconds"], large["open_seconds"]),
        _pair_row(
            "  catch-up cycle after opening (once)",
            small["catch_up_cycle_seconds"],
            large["catch_up_cycle_seconds"],
        ),
    ]
    for phase, label in _PHASE_LABELS.items():
        if phase not in ratios:
            continue
        line = _pair_row(
            label, small["best_per_1000_seconds"][phase], large["best_per_1000_seconds"][phase], ratios[phase]
        )
        if phase in TARGET_PHASES:
            met = ratios[phase] <= results["growth_target"]
            line += f"   target <= {results['growth_target']:.2f}: {common.verdict(met)}"
        lines.append(line)
    return [
        *lines,
        _pair_row(
            "time rules: one sweep of all tickets (<= 1/min)",
            small["time_rules_sweep_seconds"],
            large["time_rules_sweep_seconds"],
        ),
        *(
            f"cycles into {side['tickets']:,} tickets (s): "
            f"{common.format_runs([entry['cycle'] for entry in side['rounds_seconds']], 2)}, of which ingest "
            f"{common.format_runs([entry.get('ingest', 0.0) for entry in side['rounds_seconds']], 2)}; "
            f"automatic mail sent: {', '.join(f'{sent:,}' for sent in side['mail_sent_per_round'])}"
            for side in (small, large)
        ),
    ]


def _end_to_end_lines(end_to_end: dict[str, Any]) -> list[str]:
    limit, helpdesk = end_to_end["limit_fetch_parse_send"], end_to_end["helpdesk_run_once"]
    phases = end_to_end["phases_of_best_run_seconds"]
    return [
        "",
        f"end to end: new customer mail, {end_to_end['mail_sent_per_run']:,} mails sent per run "
        "(an acknowledgement and an owner notification per message)",
        _corpus_line(end_to_end["corpus"]),
        f"{'':<46}{'time':>10}{'msg/s':>10}",
        _rate_row("limit: fetch+parse + 2 bare aiosmtplib sends", limit),
        _rate_row("helpdesk run --once", helpdesk),
        f"{'helpdesk / limit':<46}{'':>10}{end_to_end['ratio']:>10.3f}   "
        f"target >= {end_to_end['target']:.2f}: {common.verdict(end_to_end['target_met'])}",
        "  best run: " + ", ".join(f"{name} {value:.2f} s" for name, value in phases.items()),
        f"limit runs (s): {common.format_runs(limit['runs_seconds'], 2)}; "
        f"helpdesk runs (s): {common.format_runs(helpdesk['runs_seconds'], 2)}",
    ]


def _pair_row(label: str, small: float, large: float, ratio: float | None = None) -> str:
    row = f"{label:<46}{small:>9.2f}s{large:>9.2f}s"
    return row if ratio is None else f"{row}{ratio:>10.3f}"


def _rate_row(label: str, timing: dict[str, Any]) -> str:
    return f"{label:<46}{timing['best_seconds']:>9.2f}s{timing['rate_per_second']:>10,.0f}"


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> tuple[Options, argparse.Namespace]:
    """Options from the command line; ``--quick`` only changes sizes not given explicitly."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/ingest.py",
        description="Benchmark helpdesk's IMAP ingest against a private Dovecot.",
    )
    parser.add_argument("--messages", type=int, help=f"corpus size (default {DEFAULT_MESSAGES:,})")
    parser.add_argument(
        "--preload", type=int, help=f"tickets in the large store (default {DEFAULT_PRELOAD:,})"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"messages per FETCH and per helpdesk commit (default {DEFAULT_BATCH_SIZE}, as helpdesk)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each rate measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="growth cycles per store (default 3)")
    parser.add_argument(
        "--end-to-end-messages",
        type=int,
        help=f"new customer messages of the end-to-end runs (default {DEFAULT_END_TO_END:,})",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable; default: all of them)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_MESSAGES:,} messages, preload {QUICK_PRELOAD:,}, "
        f"{QUICK_END_TO_END:,} end to end",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one ingest, one large-store cycle and one end-to-end run (cProfile)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--workdir", type=Path, help="directory for data (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    messages = args.messages or (QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    preload = args.preload or (QUICK_PRELOAD if args.quick else DEFAULT_PRELOAD)
    end_to_end = args.end_to_end_messages or (QUICK_END_TO_END if args.quick else DEFAULT_END_TO_END)
    limits = (
        ("--messages", messages, 1),
        ("--end-to-end-messages", end_to_end, 1),
        ("--preload", preload, BASE_PRELOAD),
        ("--batch-size", args.batch_size, 1),
        ("--repeat", args.repeat, 1),
        ("--rounds", args.rounds, 1),
    )
    for name, value, least in limits:
        if value < least:
            parser.error(f"{name} must be at least {least:,}")
    options = Options(
        messages=messages,
        preload=preload,
        batch_size=args.batch_size,
        repeat=args.repeat,
        rounds=args.rounds,
        end_to_end_messages=end_to_end,
        profile=args.profile,
        parts=tuple(part for part in PARTS if part in (args.only or PARTS)),
    )
    return options, args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; 0 when it ran (targets are reported, not enforced)."""
    options, args = parse_options(argv)
    if not dovecot_available():
        print("bench/ingest.py: Dovecot (/usr/sbin/dovecot) is not installed", file=sys.stderr)
        return 2
    began = time.monotonic()
    progress = common.stderr_progress(began)
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(common.work_directory(args.workdir, "hd-bench-"))
        server = stack.enter_context(DovecotServer())
        sink = stack.enter_context(SmtpSinkProcess())
        results = run_benchmark(server, sink, options, workdir, progress, profile_dir=common.RESULTS_DIR)
    path = common.finish_run(results, "bench/ingest.py", argv, began, args.json, format_report)
    progress(f"results written to {path.relative_to(common.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
