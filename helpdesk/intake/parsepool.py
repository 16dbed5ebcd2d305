"""Parsing fetched mail, on every core when there is a backlog.

Parsing (mail-parser, then helpdesk's own reading of the MIME tree, HTML and
quoted history) is most of the CPU time of ingestion, and every message is
parsed on its own, from its bytes alone. A large batch (an inbox imported on
first start, or mail that piled up while the daemon was down) is therefore
parsed by worker processes, one per core; the daemon's process archives and
records in between. The usual trickle of new mail is parsed in the daemon's
own process: starting workers would cost more than it saves.

Workers are started on first need and kept until :meth:`ParsePool.close`.
They are spawned fresh (no file descriptors, locks or sockets of the daemon
are inherited) and leave on their own when the daemon is gone, even after a
SIGKILL: each watches its parent process. If the pool breaks (a worker
killed, out of memory), parsing goes on in the daemon's process, which is
what it does without workers anyway.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from helpdesk.errors import MessageRejected
from helpdesk.intake.message import InboundMessage, parse_message

log = logging.getLogger(__name__)

# Batches smaller than this are parsed in the daemon's process.
PARALLEL_MINIMUM = 32
# How often a worker checks that the daemon is still there (seconds).
PARENT_CHECK_INTERVAL = 0.5

ParseResult = InboundMessage | MessageRejected


def parse_or_reject(raw: bytes) -> ParseResult:
    """Parse one message; a rejection is returned, not raised (it crosses processes)."""
    try:
        return parse_message(raw)
    except MessageRejected as exc:
        return exc
    except Exception as exc:  # A bad message must never stop the daemon.
        log.exception("unexpected error parsing a message")
        return MessageRejected(f"internal error: {type(exc).__name__}: {exc}")


class ParsePool:
    """Parses batches of raw messages, in worker processes when a batch is large."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._broken = False

    def parse(self, raws: Sequence[bytes]) -> list[ParseResult]:
        """The parse of each message of ``raws``, in order."""
        if len(raws) < PARALLEL_MINIMUM or self.workers < 1 or self._broken:
            return [parse_or_reject(raw) for raw in raws]
        executor = self._start()
        # A few chunks per worker: large enough to keep the per-task overhead
        # small, small enough that no worker is left with most of the batch.
        chunk = max(1, len(raws) // (self.workers * 4))
        try:
            return list(executor.map(parse_or_reject, raws, chunksize=chunk))
        except BrokenProcessPool as exc:
            log.error("parse workers failed (%s); parsing in the daemon's process from now on", exc)
            self._broken = True
            self.close()
            return [parse_or_reject(raw) for raw in raws]

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_leave_with_parent,
                initargs=(os.getpid(),),
            )
            log.info("started %d parse worker(s) for a backlog", self.workers)
        return self._executor

    def close(self) -> None:
        """Stop the workers (they finish nothing: every parse is waited for)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _leave_with_parent(parent: int) -> None:
    """Worker start-up: exit as soon as the daemon that started us is gone.

    Ctrl-C in a terminal reaches the whole process group; the daemon decides
    what it means and stops its workers itself, so they ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_INTERVAL)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
