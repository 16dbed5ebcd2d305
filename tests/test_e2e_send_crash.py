"""End to end: SIGKILL while sending loses nothing and doubles at most the message in flight.

The second test does the same while the sender process delivers a backlog
(``[smtp] sender_process``): the daemon is killed, the sender process notices and
sends nothing more, and the next start delivers the rest.

150 customer mails make 300 outbound messages (an acknowledgement and an
owner notification each). ``helpdesk run`` runs as a child process and is
killed with SIGKILL at random moments while it is sending to an SMTP sink
in this process, then restarted; a last run empties the outbox. The sink
records every message as soon as its data has arrived and only then, after
a short delay, answers 250: a kill during that delay is the worst case, a
message that was delivered but whose delivery the daemon never learnt of.
It is sent again after the restart, and it must be the only one.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller

from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.processes import free_port
from helpdesk.outbound.outbox import Outbox
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, daemon_process, write_config

CUSTOMERS = 150
KINDS = ("acknowledge", "owner-notification")
KILLS = 8
# How long the sink holds each message before its 250: most of a message's
# time is spent here, so most kills land with one message in flight.
SINK_DELAY = 0.02


@dataclass(frozen=True)
class Received:
    """One message the sink accepted the data of."""

    message_id: str
    kind: str
    ticket: str


class SlowSink:
    """An aiosmtpd sink that records each message first and answers 250 after a delay."""

    hostname = "127.0.0.1"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.port = 0
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser(policy=default).parsebytes(envelope.original_content or b"")
        received = Received(
            str(headers["Message-ID"]), str(headers["X-Helpdesk-Kind"]), str(headers["X-Helpdesk-Ticket"])
        )
        with self._lock:
            self._received.append(received)
        await asyncio.sleep(self.delay)
        return "250 2.0.0 OK"

    @property
    def received(self) -> list[Received]:
        """Everything received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def __enter__(self) -> Self:
        self.port = free_port()
        # A fixed server name: aiosmtpd would otherwise look up the host's FQDN.
        self._controller = Controller(
            self, hostname=self.hostname, port=self.port, server_hostname="localhost"
        )
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._controller is not None:
            self._controller.stop()


def wait_until(condition, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def queued(data_dir: Path) -> int:
    """Items waiting in the outbox (read from its files, without opening the outbox)."""
    return Outbox.waiting_in(data_dir)


def copies_waiting(data_dir: Path) -> bool:
    """Whether sent mail waits in the spool for its copy in the Sent folder."""
    spool = data_dir / "sent-copies"
    return spool.is_dir() and any(spool.iterdir())


def sent_message_ids(mailbox: ImapMailbox) -> list[str]:
    """The Message-ID of every message in the account's Sent folder."""
    with mailbox.session() as imap:
        imap.select_folder("Sent", readonly=True)
        found = imap.fetch(imap.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    parser = BytesHeaderParser(policy=default)
    return [
        str(parser.parsebytes(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"]).strip()
        for data in found.values()
    ]


def kill_while_sending(config_path: Path, sink: SlowSink, rng: random.Random) -> bool:
    """Start the daemon, SIGKILL it at a random moment once it sends; True if work was left."""
    before = len(sink.received)
    daemon = daemon_process(config_path)
    try:
        assert wait_until(lambda: len(sink.received) > before or daemon.poll() is not None, 60)
        time.sleep(rng.uniform(0.0, 0.5))
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    assert daemon.returncode == -signal.SIGKILL, "the daemon stopped by itself"
    return len(sink.received) > before and queued(config_path.parent / "data") > 0


@pytest.mark.slow
@pytest.mark.parametrize("save_sent", [False, True], ids=["plain", "save_sent"])
def test_sigkill_while_sending_loses_nothing(tmp_path: Path, mailbox: ImapMailbox, save_sent: bool) -> None:
    mailbox.append_many(
        [
            customer_mail(
                f"customer{i}@example.org", f"Order {1000 + i} question", f"Where is order {1000 + i}?"
            )
            for i in range(CUSTOMERS)
        ]
    )
    expected = {(kind, str(ticket)) for kind in KINDS for ticket in range(1, CUSTOMERS + 1)}
    rng = random.Random(20260303)
    with SlowSink(SINK_DELAY) as sink:
        config_path = write_config(tmp_path, mailbox, sink, imap={"save_sent": save_sent})
        data_dir = tmp_path / "data"
        # Kill only once a run is sending, at a random moment.
        kills_while_sending = sum(kill_while_sending(config_path, sink, rng) for _ in range(KILLS))

        received = send_the_rest(config_path, sink, expected)

    assert kills_while_sending == KILLS, "the daemon was not killed in the middle of sending"
    # (That some were sent again shows the kills hit that moment: the sink's delay makes
    # it most of each message's time.)
    assert_each_sent_once_but_for_kills(received, expected, KILLS, data_dir)

    # With save_sent, the Sent folder holds every message delivered, once, however often it went out.
    in_sent = Counter(sent_message_ids(mailbox))
    if save_sent:
        assert set(in_sent) == {message.message_id for message in received} and set(in_sent.values()) == {1}
    else:
        assert not in_sent


def send_the_rest(config_path: Path, sink: SlowSink, expected: set[tuple[str, str]]) -> list[Received]:
    """A last run sends what is left, then is stopped normally; everything the sink received."""
    data_dir = config_path.parent / "data"
    daemon = daemon_process(config_path)
    try:
        done = wait_until(
            lambda: queued(data_dir) == 0
            and {(r.kind, r.ticket) for r in sink.received} >= expected
            and not copies_waiting(data_dir),
            120,
            interval=0.2,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    received = sink.received
    assert daemon.returncode == 0
    assert done, f"outbox not emptied: {queued(data_dir)} queued, {len(received)} received"
    return received


def assert_each_sent_once_but_for_kills(
    received: list[Received], expected: set[tuple[str, str]], kills: int, data_dir: Path, least: int = 1
) -> None:
    """Every message went out under one Message-ID, each kill sent at most one again (``least`` at least)."""
    ids_of: dict[tuple[str, str], set[str]] = {}
    for message in received:
        ids_of.setdefault((message.kind, message.ticket), set()).add(message.message_id)
    assert set(ids_of) == expected
    assert all(len(ids) == 1 for ids in ids_of.values())
    copies = Counter(message.message_id for message in received)
    duplicates = sum(count - 1 for count in copies.values())
    assert least <= duplicates <= kills

    # The outbox recorded each delivery once, and nothing failed.
    outbox = Outbox(data_dir, "Acme Tea Co.", BUSINESS)
    sent = outbox.sent()
    assert len(sent) == len({item.id for item in sent}) == len(expected)
    assert outbox.queued() == [] and outbox.failed() == []
    assert "Traceback" not in (data_dir.parent / "daemon.log").read_text(encoding="utf-8")


BACKLOG = 40
BACKLOG_ROUNDS = 5


@pytest.mark.slow
def test_sigkill_while_the_sender_process_delivers_a_backlog(tmp_path: Path, mailbox: ImapMailbox) -> None:
    """Every start finds a backlog of new mail, which the sender process delivers; every start is killed."""
    rng = random.Random(20261207)
    customers = 0
    with SlowSink(SINK_DELAY) as sink:
        config_path = write_config(tmp_path, mailbox, sink, smtp={"sender_process": True})
        data_dir = tmp_path / "data"
        kills_while_sending = 0
        for _ in range(BACKLOG_ROUNDS):
            mailbox.append_many(
                [
                    customer_mail(f"buyer{n}@example.org", f"Order {n} question", f"Where is order {n}?")
                    for n in range(customers, customers + BACKLOG)
                ]
            )
            customers += BACKLOG
            kills_while_sending += kill_while_sending(config_path, sink, rng)

        expected = {(kind, str(ticket)) for kind in KINDS for ticket in range(1, customers + 1)}
        received = send_the_rest(config_path, sink, expected)

    assert kills_while_sending == BACKLOG_ROUNDS, "the daemon was not killed in the middle of sending"
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert log.count("delivering from the sender process") >= BACKLOG_ROUNDS
    # The sender process finishes and records the message in flight when its daemon is killed,
    # so none may have gone out twice: at most one a kill.
    assert_each_sent_once_but_for_kills(received, expected, BACKLOG_ROUNDS, data_dir, least=0)
