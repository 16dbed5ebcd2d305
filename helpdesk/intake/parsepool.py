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
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from helpdesk.children import leave_with_parent
from helpdesk.errors import MessageRejected
from helpdesk.intake.message import InboundMessage, parse_message

log = logging.getLogger(__name__)

# Batches smaller than this are parsed in the daemon's process.
PARALLEL_MINIMUM = 32

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


def parse_all(raws: Sequence[bytes]) -> list[ParseResult]:
    """Parse a chunk of messages (one task of a worker)."""
    return [parse_or_reject(raw) for raw in raws]


@dataclass(frozen=True)
class _Ahead:
    """A message whose parse was started ahead (:meth:`ParsePool.prepare`)."""

    raw: bytes
    future: Future[list[ParseResult]]
    index: int
    generation: int


class ParsePool:
    """Parses batches of raw messages, in worker processes when a batch is large."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._broken = False
        # Parses started ahead, by the id of the message's bytes; each prepare() is a generation.
        self._ahead: dict[int, _Ahead] = {}
        self._generation = 0

    def prepare(self, raws: Sequence[bytes]) -> None:
        """Start parsing ``raws`` in the workers now; :meth:`parse` collects the results later.

        The daemon hands over a backlog's next batch before it records and answers the
        current one: the workers parse while the daemon's process works, instead of the
        daemon's process waiting for them. A small batch is left to :meth:`parse`.
        """
        if not self._parallel(raws):
            return
        executor = self._start()
        self._generation += 1
        chunk = self._chunk(len(raws))
        try:
            for start in range(0, len(raws), chunk):
                piece = list(raws[start : start + chunk])
                future = executor.submit(parse_all, piece)
                for index, raw in enumerate(piece):
                    self._ahead[id(raw)] = _Ahead(raw, future, index, self._generation)
        except BrokenProcessPool as exc:
            self._break(exc)

    def parse(self, raws: Sequence[bytes]) -> list[ParseResult]:
        """The parse of each message of ``raws``, in order (started ahead, or now)."""
        ahead = [self._take_ahead(raw) for raw in raws]
        missing = [raw for raw, entry in zip(raws, ahead, strict=True) if entry is None]
        parsed_now = iter(self._parse_now(missing))
        try:
            results = [
                next(parsed_now) if entry is None else entry.future.result()[entry.index] for entry in ahead
            ]
        except BrokenProcessPool as exc:
            self._break(exc)
            return parse_all(raws)
        taken = [entry.generation for entry in ahead if entry is not None]
        if taken:
            # Messages prepared with these but never asked for (duplicates skipped) are dropped.
            newest = max(taken)
            self._ahead = {key: entry for key, entry in self._ahead.items() if entry.generation > newest}
        return results

    def _take_ahead(self, raw: bytes) -> _Ahead | None:
        entry = self._ahead.pop(id(raw), None)
        return entry if entry is not None and entry.raw is raw else None

    def _parallel(self, raws: Sequence[bytes]) -> bool:
        return len(raws) >= PARALLEL_MINIMUM and self.workers >= 1 and not self._broken

    def _chunk(self, count: int) -> int:
        # A few chunks per worker: large enough to keep the per-task overhead
        # small, small enough that no worker is left with most of the batch.
        return max(1, count // (self.workers * 4))

    def _parse_now(self, raws: Sequence[bytes]) -> list[ParseResult]:
        if not self._parallel(raws):
            return parse_all(raws)
        executor = self._start()
        try:
            return list(executor.map(parse_or_reject, raws, chunksize=self._chunk(len(raws))))
        except BrokenProcessPool as exc:
            self._break(exc)
            return parse_all(raws)

    def _break(self, exc: BaseException) -> None:
        log.error("parse workers failed (%s); parsing in the daemon's process from now on", exc)
        self._broken = True
        self._ahead = {}
        self.close()

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=leave_with_parent,
                initargs=(os.getpid(),),
            )
            log.info("started %d parse worker(s) for a backlog", self.workers)
        return self._executor

    def close(self) -> None:
        """Stop the workers (they finish nothing: every parse is waited for)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
