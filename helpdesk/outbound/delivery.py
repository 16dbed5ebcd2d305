"""Delivering a backlog from a process of its own while the daemon's process works on it.

A cycle over many new messages spends about as long waiting for the SMTP
server as it does reading, recording and answering the mail; done one after
the other, each waits for the other. During such a cycle (a *turn*) a sender
process delivers each batch of queued mail as soon as the outbox has made it
durable, while the daemon's process goes on with the next batch. A thread
would not do: the daemon's process is busy with Python code, and a thread
waiting for the interpreter after every SMTP reply would be slower than no
overlap at all.

Exactly one process sends at any time. Outside a turn the daemon's process
sends (the usual trickle of mail gains nothing from a second process); during
a turn only the sender process does, and only the items the daemon hands it:
everything queued when the turn begins, then the ids of each flush
(:attr:`Outbox.on_flush`). The turn ends with :meth:`BackgroundDelivery.finish`:
the sender delivers what is due, reports what it sent, deferred and failed,
and the daemon's outbox takes that in. Delivery keeps its guarantees, because
it is the same :meth:`Outbox.send_due`: each delivery is recorded durably in
``sent.log`` before the next message's DATA, so a crash of either process
resends at most the one message in flight. If the sender process dies, the
daemon reads the outbox from disk again and sends the rest itself.

The process is spawned on the first backlog (it inherits nothing of the
daemon) and kept until :meth:`BackgroundDelivery.close`; it leaves on its own
when the daemon is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from helpdesk.children import leave_with_parent
from helpdesk.config import SmtpConfig
from helpdesk.outbound.outbox import Outbox, SendReport
from helpdesk.outbound.sentcopy import SentCopies

log = logging.getLogger(__name__)

# How long the daemon waits for the sender process to finish its pass and leave before it is
# terminated (seconds): two SMTP timeouts.
STOP_TIMEOUT = 60.0


class BackgroundDelivery:
    """The daemon's side of the sender process: starts it, hands it work, takes in its reports."""

    def __init__(
        self, data_dir: Path, smtp: SmtpConfig, save_sent: bool, outbox: Outbox, clock: Callable[[], datetime]
    ) -> None:
        self.data_dir = data_dir
        self.smtp = smtp
        self.save_sent = save_sent
        self.outbox = outbox
        self.clock = clock
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        # True during a turn: the sender process, not this one, sends.
        self.active = False
        # The sender process failed during this turn: the outbox must be read again.
        self._lost = False

    def begin(self) -> None:
        """Start a turn (if ``[smtp] sender_process`` is on): from now on the sender process sends."""
        if self.active or not self.smtp.sender_process:
            return
        self.active, self._lost = True, False
        self.outbox.flush()
        try:
            self._start()
        except OSError as exc:
            self._lose(exc)
        self._tell("adopt", self.outbox.handed_over())
        self.outbox.on_flush = lambda files: self._tell("adopt", files)
        log.info("delivering from the sender process while the backlog is worked on")

    def finish(self) -> SendReport | None:
        """End the turn: wait until the sender process has delivered what is due; None if no turn."""
        if not self.active:
            return None
        try:
            self.outbox.flush()
            self.outbox.on_flush = None
            report = self._ask_report()
        finally:
            self.active = False
            self.outbox.on_flush = None
        if report is None:
            # What the sender did is in sent.log and the queue: read it from there.
            self.outbox.reload()
            return None
        self.outbox.absorb(report)
        return report

    def _tell(self, kind: str, files: dict[str, list[str]]) -> None:
        """Hand the sender process committed items; a lost process is noted, never raised."""
        if self._lost or self._connection is None:
            return
        try:
            # Never a new process within a turn: what a lost one did is read from disk at the end.
            self._connection.send((kind, files, self.clock()))
        except (OSError, EOFError, ValueError) as exc:
            self._lose(exc)

    def _ask_report(self) -> SendReport | None:
        if self._lost or self._connection is None:
            return None
        try:
            self._connection.send(("finish", {}, self.clock()))
            report: SendReport = self._connection.recv()
            return report
        except (OSError, EOFError, ValueError) as exc:
            self._lose(exc)
            return None

    def _lose(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        log.error("the sender process failed (%s); sending from the daemon's process", reason)
        self._lost = True
        self._stop_process()

    def _start(self) -> None:
        """Spawn the sender process unless it runs."""
        if self._connection is None or self._process is None or not self._process.is_alive():
            self._stop_process()
            context = multiprocessing.get_context("spawn")
            here, there = context.Pipe()
            process = context.Process(
                target=serve,
                args=(there, self.data_dir, self.smtp, self.outbox.sender_name, self.outbox.sender_email,
                      self.save_sent, os.getpid()),
                name="helpdesk-sender",
                daemon=True,
            )
            process.start()
            there.close()
            self._process, self._connection = process, here

    def close(self) -> None:
        """Stop the sender process (at the end of a turn it has nothing in flight)."""
        if self._connection is not None:
            with contextlib.suppress(OSError, ValueError):
                self._connection.send(("stop", {}, self.clock()))
        self._stop_process()

    def _stop_process(self) -> None:
        """Close the pipe (the process leaves once its pass is done) and wait for it to go."""
        process, self._process = self._process, None
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        if process is not None:
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.terminate()
                process.join()


def serve(
    connection: Connection,
    data_dir: Path,
    smtp: SmtpConfig,
    sender_name: str,
    sender_email: str,
    save_sent: bool,
    parent: int,
) -> None:
    """The sender process: deliver the items handed over, report at the end of each turn.

    Messages are ``(kind, files, now)``, files naming queue files and the ids to send from
    each (:meth:`Outbox.handed_over`): ``adopt`` hands over committed items and
    delivers what is due; ``finish`` delivers what is due and answers with the turn's
    :class:`SendReport`; ``stop`` (or the daemon's end of the pipe closing) ends it.
    """
    leave_with_parent(parent)

    def daemon_lives() -> bool:
        # Once the daemon is gone (killed), its successor owns the queue: not one more message.
        return os.getppid() == parent

    copies = SentCopies(data_dir, save_sent)
    outbox = Outbox(data_dir, sender_name, sender_email, load=False)
    turn = SendReport()
    with asyncio.Runner() as runner:
        transport = copies.transport(smtp)
        while True:
            try:
                kind, files, now = connection.recv()
            except EOFError:
                kind, files, now = "stop", {}, None
            if kind == "stop":
                runner.run(transport.close())
                return
            outbox.adopt(files)
            _add(turn, runner.run(outbox.send_due(transport, now, daemon_lives)))
            if not daemon_lives():
                return
            if kind == "finish":
                runner.run(transport.close())
                connection.send(turn)
                # The daemon's process owns the queue again until the next turn.
                outbox = Outbox(data_dir, sender_name, sender_email, load=False)
                turn = SendReport()


def _add(turn: SendReport, sending: SendReport) -> None:
    """Add a pass's report to the turn's; an item deferred earlier in the turn and sent since is sent."""
    turn.sent.extend(sending.sent)
    turn.failed.extend(sending.failed)
    done = {item.id for item in (*turn.sent, *turn.failed)}
    deferred = {item.id: item for item in (*turn.deferred, *sending.deferred) if item.id not in done}
    turn.deferred[:] = deferred.values()

