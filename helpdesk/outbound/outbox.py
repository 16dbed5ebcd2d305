"""The durable outbox: every outbound message is on disk before the first attempt.

Everything enqueued between two flushes is written as one batch file in
``<data>/outbox/queue/`` (the records with the final message bytes; see
:mod:`helpdesk.outbound.queuefiles`), made durable with one file system sync
(:meth:`Outbox.flush`) before the store commits what queued it. Delivered
items are appended to ``sent.log`` (one fdatasync each) and leave the queue
(a batch file goes with its last item); failed ones move to ``failed/``, as
``ID.eml`` (the bytes, for the owner to open) and ``ID.json`` (the record).

The item id is a hash of an idempotency key chosen by the caller (for
example ``acknowledge:12``): enqueueing a key again, after a crash or a
replay, does nothing, so no message is ever queued twice.

Temporary failures (4xx replies, lost connections) are retried with
exponential backoff; permanent ones (5xx) fail the item at once. When the
server refuses some recipients and accepts the others, the message is sent
to those it accepted and split off for the rest: queued again for the ones
refused for now (4xx), failed for the ones refused for good (5xx), so that
the owner is told. The flush
that records a delivery overlaps the next message's envelope (MAIL, RCPT)
but always completes before that message's DATA: a crash can leave at most
the one message in flight delivered but unrecorded, and only that one is
sent again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from helpdesk.outbound.compose import Outbound, compose, new_message_id
from helpdesk.outbound.items import OutboxItem, SendReport, item_id
from helpdesk.outbound.queuefiles import QueueFiles, count_waiting, parse_record, record_bytes
from helpdesk.outbound.smtp import PermanentFailure, SmtpTransport, TemporaryFailure
from helpdesk.store.durable import atomic_write, remove_stale_temporaries, sync_filesystem
from helpdesk.store.records import iso

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=60)
MAX_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 15


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th temporary failure."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


class Outbox:
    """The queue directory and the sending loop over it."""

    def __init__(self, data_dir: Path, sender_name: str, sender_email: str, *, load: bool = True) -> None:
        """Open the outbox in ``data_dir``.

        ``load=False`` opens it for a sender process (:mod:`helpdesk.outbound.delivery`): it
        reads nothing and sends only the items it is handed (:meth:`adopt`), while the
        daemon's process, which opened it with ``load``, owns the queue and its recovery.
        """
        self.root = data_dir / "outbox"
        self.queue = self.root / "queue"
        self.failed_dir = self.root / "failed"
        self.sent_log = self.root / "sent.log"
        self.sender_name = sender_name
        self.sender_email = sender_email
        self.domain = sender_email.rpartition("@")[2]
        # Open while a sending pass records deliveries (see send_due).
        self._log_file: BinaryIO | None = None
        # Delivered item id -> its Message-ID, so a replayed enqueue can say
        # which message it already sent.
        self._sent_ids: dict[str, str] = {}
        # The records in the queue directory, by id, as they are on disk: read once here and
        # kept in step by every change, so that neither a sending pass nor an enqueue reads
        # the directory again (a pass over thousands of items would read them all).
        self._queued: dict[str, OutboxItem] = {}
        # Which file holds each queued item (see :mod:`helpdesk.outbound.queuefiles`).
        self._files = QueueFiles(self.queue)
        # Enqueued since the last flush, with their bytes: the next batch file.
        self._unflushed: dict[str, tuple[OutboxItem, bytes]] = {}
        # Told the items of every flush (file -> ids): they are committed and may be sent.
        self.on_flush: Callable[[dict[str, list[str]]], None] | None = None
        if load:
            self.reload()

    def reload(self) -> None:
        """Read the outbox from disk again (after another process sent from it) and recover it."""
        self._repair_sent_log()
        self._sent_ids = {item.id: item.message_id for item in self.sent()}
        remove_stale_temporaries(self.failed_dir)
        self._files = QueueFiles(self.queue)
        self._queued = {item.id: item for item in self._files.load(self._gone)}

    def _gone(self, identifier: str) -> bool:
        """Whether an item left the queue: delivered, or failed (its record in ``failed/``)."""
        return identifier in self._sent_ids or (self.failed_dir / f"{identifier}.json").exists()

    def _repair_sent_log(self) -> None:
        """Cut a torn last line (a crash mid-append) so the next record starts on a line of its own."""
        try:
            data = self.sent_log.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            with self.sent_log.open("r+b") as log_file:
                log_file.truncate(data.rfind(b"\n") + 1)
                os.fsync(log_file.fileno())

    def _remove_queued(self, identifier: str) -> None:
        self._files.remove(identifier)
        self._queued.pop(identifier, None)

    def message_id_of(self, key: str) -> str | None:
        """The Message-ID of the item enqueued under ``key`` (in any state), or None."""
        identifier = item_id(key)
        if identifier in self._sent_ids:
            return self._sent_ids[identifier]
        if identifier in self._queued:
            return self._queued[identifier].message_id
        path = self.failed_dir / f"{identifier}.json"
        if path.exists():
            return parse_record(path.read_bytes())[0].message_id
        return None

    def enqueue(
        self,
        key: str,
        outbound: Outbound,
        now: datetime,
        message_id: str | None = None,
        send_at: datetime | None = None,
    ) -> tuple[str, bool]:
        """Render and commit ``outbound`` under ``key`` (with ``message_id`` if given).

        ``send_at`` holds the message back until then (greetings to a long list
        go out over hours); it is dated then. Returns the Message-ID and whether
        it was queued now (False: the key was enqueued before, and that earlier
        message stands).
        """
        earlier = self.message_id_of(key)
        if earlier is not None:
            return earlier, False
        message_id = message_id or new_message_id(self.domain)
        raw = compose(
            outbound,
            sender_name=self.sender_name,
            sender_email=self.sender_email,
            message_id=message_id,
            date=send_at or now,
        )
        item = OutboxItem(
            id=item_id(key),
            key=key,
            kind=outbound.kind,
            ticket_id=outbound.ticket_id,
            message_id=message_id,
            sender=self.sender_email,
            recipients=list(outbound.recipients),
            subject=outbound.subject,
            created_at=iso(now),
            next_attempt_at=iso(max(send_at, now) if send_at else now),
            queued_ns=time.time_ns(),
        )
        # Not written here: :meth:`flush` writes everything enqueued since the last one as
        # one file, made durable with one sync, before the store commit that records it.
        self._unflushed[item.id] = (item, raw)
        self._queued[item.id] = item
        return message_id, True

    def flush(self) -> None:
        """Write what was enqueued since the last flush as one batch file, durably (one file system sync).

        This is the commit point of those enqueues; :attr:`on_flush` is told of them afterwards.
        """
        if not self._unflushed:
            return
        name = self._files.write_batch(list(self._unflushed.values()))
        sync_filesystem(self.queue)
        flushed, self._unflushed = list(self._unflushed), {}
        if self.on_flush is not None:
            self.on_flush({name: flushed})

    def handed_over(self) -> dict[str, list[str]]:
        """Where every item waiting to be sent lies (file -> ids): what a sender process is given."""
        return self._files.locations(item.id for item in self.queued())

    def adopt(self, files: dict[str, list[str]]) -> None:
        """Take committed queue items (file -> ids) into this outbox, a sender process's, to send them."""
        for item in self._files.adopt(files):
            self._queued[item.id] = item

    def absorb(self, report: SendReport) -> None:
        """Take in what a sender process did with the items it was handed (:meth:`adopt` there)."""
        for item in report.sent:
            self._sent_ids[item.id] = item.message_id
        for item in (*report.sent, *report.failed):
            self._remove_queued(item.id)
        for item in report.deferred:
            # The sender process wrote its single file (a retry time, or recipients split off).
            self._files.now_single(item.id)
            self._queued[item.id] = item

    def _save_queued(self, item: OutboxItem, raw: bytes) -> None:
        """Write a queued item's changed record durably (its single file) and keep it in the index."""
        self._files.write_single(item, raw)
        self._queued[item.id] = item

    def _mark_sent(self, item: OutboxItem) -> None:
        """Record a delivery durably (one fdatasync).

        From here on :meth:`queued` skips the item, and a crash before it has
        left the queue files is taken care of when the outbox is read again.
        """
        line = record_bytes(item)
        if self._log_file is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._log_file = self.sent_log.open("ab")
        self._log_file.write(line)
        self._log_file.flush()
        os.fdatasync(self._log_file.fileno())
        self._sent_ids[item.id] = item.message_id

    def _close_log(self) -> None:
        """Close ``sent.log`` after a pass (it stays open while the pass records deliveries)."""
        log_file, self._log_file = self._log_file, None
        if log_file is not None:
            log_file.close()

    def _mark_failed(self, item: OutboxItem, raw: bytes) -> None:
        """Move an item to ``failed/`` with its bytes, for the owner to look at."""
        self._write_failed(item, raw)
        self._remove_queued(item.id)

    def _write_failed(self, item: OutboxItem, raw: bytes) -> None:
        atomic_write(self.failed_dir / f"{item.id}.eml", raw, mode=0o600)
        atomic_write(self.failed_dir / f"{item.id}.json", record_bytes(item), mode=0o600)

    @staticmethod
    def _records(directory: Path) -> list[OutboxItem]:
        if not directory.is_dir():
            return []
        return [parse_record(path.read_bytes())[0] for path in directory.glob("*.json")]

    def queued(self) -> list[OutboxItem]:
        """Every item waiting to be sent, oldest first (copies: changing one changes nothing queued)."""
        waiting = [
            replace(item, recipients=list(item.recipients))
            for item in self._queued.values()
            if item.id not in self._sent_ids
        ]
        return sorted(waiting, key=lambda item: (item.queued_ns, item.id))

    def failed(self) -> list[OutboxItem]:
        """Every item that could not be delivered."""
        return self.failed_in(self.root.parent)

    @classmethod
    def failed_in(cls, data_dir: Path) -> list[OutboxItem]:
        """The failed items of the outbox in ``data_dir``, read only (for the command line)."""
        failed = cls._records(data_dir / "outbox" / "failed")
        return sorted(failed, key=lambda item: (item.created_at, item.id))

    @staticmethod
    def waiting_in(data_dir: Path) -> int:
        """How many items wait in the outbox queue of ``data_dir`` (read only; a hint while it sends)."""
        root = data_dir / "outbox"
        delivered = {item.id for item in _sent_records(root / "sent.log")}
        failed = {path.stem for path in (root / "failed").glob("*.json")}
        left = delivered | failed
        return count_waiting(root / "queue", left.__contains__)

    def sent(self) -> list[OutboxItem]:
        """Every delivered item, in delivery order (a torn last line is ignored)."""
        return _sent_records(self.sent_log)
    def raw(self, item: OutboxItem) -> bytes:
        """The message bytes of a queued item."""
        if item.id in self._unflushed:
            return self._unflushed[item.id][1]
        return self._files.raw(item.id)

    # -- erasure (``helpdesk customer forget``) ---------------------------------

    def held_items(self) -> list[tuple[OutboxItem, bytes, bool]]:
        """Every queued and failed item with its bytes and whether it failed (for erasure)."""
        self.flush()  # Every copy of the bytes is then in a file that erasure can rewrite.
        held = [(item, self.raw(item), False) for item in self.queued()]
        for item in self._records(self.failed_dir):
            path = self.failed_dir / f"{item.id}.eml"
            held.append((item, path.read_bytes() if path.exists() else b"", True))
        return held

    def erase_item(self, item: OutboxItem, failed: bool) -> None:
        """Delete a queued or failed item, bytes and record."""
        if failed:
            (self.failed_dir / f"{item.id}.json").unlink(missing_ok=True)
            (self.failed_dir / f"{item.id}.eml").unlink(missing_ok=True)
        else:
            self._files.erase(item.id)
            self._queued.pop(item.id, None)

    def rewrite_item(self, item: OutboxItem, raw: bytes, failed: bool) -> None:
        """Replace a queued or failed item with a redacted one (same id), atomically."""
        if failed:
            self._write_failed(item, raw)
        else:
            self._files.replace(item, raw)
            self._queued[item.id] = item

    def rewrite_sent_log(self, change: Callable[[bytes], bytes | None]) -> int:
        """Rewrite ``sent.log`` atomically, each line through ``change`` (None drops it).

        Returns how many lines changed. Delivered ids are kept unless a line is
        dropped, so that a replayed enqueue still finds what it sent.
        """
        try:
            lines = self.sent_log.read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            return 0
        changed, kept = 0, []
        for line in lines:
            new = change(line)
            if new != line:
                changed += 1
            if new is not None:
                kept.append(new if new.endswith(b"\n") else new + b"\n")
        if changed:
            self._close_log()
            atomic_write(self.sent_log, b"".join(kept), mode=0o600)
            self._sent_ids = {item.id: item.message_id for item in self.sent()}
        return changed

    def next_due(self) -> datetime | None:
        """When the earliest queued item is due, or None if the queue is empty."""
        times = [datetime.fromisoformat(item.next_attempt_at) for item in self.queued()]
        return min(times) if times else None

    async def send_due(
        self, transport: SmtpTransport, now: datetime, go_on: Callable[[], bool] = lambda: True
    ) -> SendReport:
        """Try every item that is due, in order, over one connection, while ``go_on()`` holds.

        Only the durable record of a delivery (:meth:`_mark_sent`) stands
        between one message and the next message's DATA; it is written while
        the next message's envelope is on the wire. Then the item leaves the
        queue (a batch file goes with its last item). ``go_on`` is asked before
        each message (a sender process stops once its daemon is gone).
        """
        self.flush()  # Committed to disk before the first attempt, whoever enqueued it.
        report = SendReport()
        marking: asyncio.Task[None] | None = None
        marked = ""
        try:
            for item in self.queued():
                if not go_on():
                    break
                if datetime.fromisoformat(item.next_attempt_at) > now:
                    continue
                item.attempts += 1
                raw = self.raw(item)
                try:
                    refused = await transport.send(item.sender, item.recipients, raw, ready=marking)
                except (TemporaryFailure, PermanentFailure) as exc:
                    if marking is not None:
                        await marking
                        marking = None
                        self._remove_queued(marked)
                    if self._failed_attempt(item, raw, exc, now, report):
                        break
                    continue
                if marking is not None:
                    await marking
                    self._remove_queued(marked)
                if refused:
                    self._split_refused(item, raw, refused, now, report)
                item.sent_at = iso(now)
                item.last_error = None
                report.sent.append(item)
                marking = asyncio.create_task(asyncio.to_thread(self._mark_sent, item))
                marked = item.id
        finally:
            try:
                if marking is not None:
                    await marking
                    self._remove_queued(marked)
            finally:
                self._close_log()
        return report

    def _split_refused(
        self, item: OutboxItem, raw: bytes, refused: dict[str, str], now: datetime, report: SendReport
    ) -> None:
        """Queue again (4xx) or fail (5xx) the recipients the server refused of a sent item.

        Written durably before the delivery is recorded; the new items' keys
        derive from the item's, so doing this twice (after a crash) changes nothing.
        """
        for permanent in (False, True):
            recipients = sorted(rcpt for rcpt, reply in refused.items() if reply.startswith("5") == permanent)
            if not recipients:
                continue
            key = f"{item.key}>{','.join(recipients)}"
            part = replace(
                item,
                id=item_id(key),
                key=key,
                recipients=recipients,
                last_error="; ".join(f"{rcpt}: {refused[rcpt]}" for rcpt in recipients),
                next_attempt_at=iso(now + retry_delay(item.attempts)),
            )
            if permanent:
                self._mark_failed(part, raw)
            else:
                self._save_queued(part, raw)
            (report.failed if permanent else report.deferred).append(part)
            log.warning(
                "%s to %s %s: %s", item.kind, ", ".join(recipients),
                "failed" if permanent else "deferred", part.last_error,
            )

    def _failed_attempt(
        self,
        item: OutboxItem,
        raw: bytes,
        exc: TemporaryFailure | PermanentFailure,
        now: datetime,
        report: SendReport,
    ) -> bool:
        """Record a failed attempt; True if the connection is gone and the pass should stop."""
        item.last_error = str(exc)
        recipients = ", ".join(item.recipients)
        if isinstance(exc, PermanentFailure) or item.attempts >= MAX_ATTEMPTS:
            log.error("%s to %s failed after %d attempt(s): %s", item.kind, recipients, item.attempts, exc)
            self._mark_failed(item, raw)
            report.failed.append(item)
            return False
        item.next_attempt_at = iso(now + retry_delay(item.attempts))
        self._save_queued(item, raw)
        report.deferred.append(item)
        log.warning("%s to %s deferred (attempt %d): %s", item.kind, recipients, item.attempts, exc)
        return exc.connection_lost


def _sent_records(sent_log: Path) -> list[OutboxItem]:
    """The records of ``sent.log``, in delivery order (a torn last line is ignored)."""
    try:
        lines = sent_log.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    items = []
    for line in lines:
        try:
            items.append(parse_record(line)[0])
        except (ValueError, TypeError):
            continue
    return items
