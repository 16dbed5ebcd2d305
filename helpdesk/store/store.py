"""The ticket store: the only module that talks TinyDB.

TinyDB rewrites a whole table on every insert or update and serialises the
whole database on every flush, so one big database file would make the cost
of a message grow with the store. The store therefore splits its data into
segments, each a small TinyDB database file:

``db/tickets-NNNNN.json``
    tickets and their messages, 1,000 ticket ids per segment;
``db/customers-NNNNN.json``
    customers, 1,000 customer ids per segment;
``db/events-NNNNN.json``
    events waiting for their actions, 1,000 sequence numbers per segment;
``db/invoices.json``
    invoices and credit notes (few: one segment);
``db/state.json``
    counters (invoice series too), per-folder poll state, skip log, the scheduler's last runs.

Changes are buffered in memory and written once per :meth:`Store.commit`, as
one line appended to ``db/journal.log`` and flushed (``helpdesk.store.journal``):
that flush is the commit point, so several files change together or not at
all. The segment files are rewritten only at a checkpoint, when the journal
has grown past a limit or the store is closed: each changed segment is
replaced atomically (temp file, fsync, rename), then the journal is removed.
A SIGKILL anywhere leaves the segments of the last checkpoint plus a journal
that the next open replays (documents are stored whole, so replaying a commit
twice changes nothing); a commit whose line did not reach the disk whole is
lost entirely. Writing the journal instead of whole segments keeps a commit's
cost proportional to what it changed.

In-memory indexes (Message-ID to ticket, mail source to message, customer to
tickets, sender+subject to tickets) are built when the store opens, so that
no lookup scans. They are built from the index file beside each segment
(``helpdesk.store.indexfile``: only what the indexes need, trusted only if it
was made from exactly the segment file on disk), so that opening reads no
segment: a segment is read when one of its documents is first needed, and a
sweep over every ticket (:meth:`Store.ticket_documents`) keeps the tickets of
a segment in memory without its messages. With 100,000 tickets the store
opens in about a second instead of nine, holding a fraction of the memory.

Readers (``helpdesk tickets`` while the daemon runs) open the store with
``readonly=True``: they read the segments and the journal's complete lines, a
consistent snapshot (re-read if a checkpoint happened meanwhile), and never
write. A reader reads its segments later, when it needs them, so it keeps
each segment file of its snapshot open from the start (a pin): a checkpoint
renames a new version into place but cannot change the file a reader holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import weakref
from bisect import insort
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from helpdesk.errors import StoreError
from helpdesk.store.durable import atomic_write, remove_stale_temporaries
from helpdesk.store.indexfile import (
    FileIdentity,
    SegmentSummary,
    distinct_identity,
    read_index,
    subject_key,
    write_index,
)
from helpdesk.store.journal import Journal, read_entries
from helpdesk.store.records import Customer, Event, FolderState, Invoice, StoredMessage, Ticket, copy_document

SEGMENT_SIZE = 1000
JOURNAL = "journal.log"
# A checkpoint is made once the journal holds this many bytes of commits.
CHECKPOINT_BYTES = 8 * 1024 * 1024
STATE = "state.json"
INVOICES = "invoices.json"
SKIP_LOG_LENGTH = 1000
SNAPSHOT_ATTEMPTS = 20
# A reader pins at most this share of the file descriptors it may open; it reads
# the segments beyond that at once instead (a store of several million tickets).
PIN_SHARE = 4
# The table a segment file begins with, so that it can be read without the rest (see _load_table).
LEADING_TABLE = "tickets"
_DECODER = json.JSONDecoder()


class SegmentStorage(Storage):
    """TinyDB storage of one segment file: read when first needed, written only on :meth:`flush`.

    ``flush`` writes atomically (temp file, fsync, rename), so a segment file
    on disk is always complete. A writer reads the file at its path; a reader
    :meth:`pin` s it first and reads what it pinned. :meth:`read_table` reads
    one table without keeping the others, and :meth:`release` forgets what was
    read, for the memory's sake: both only ever read the same file again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dirty = False
        # The version of the file the documents were read from, or last written to.
        self.identity: FileIdentity | None = None
        self._data: dict[str, Any] | None = None
        # Tables read on their own while the whole segment is not in memory.
        self._tables: dict[str, dict[str, Any]] = {}
        self._pinned: int | None = None
        # Pinned when the file did not exist: the segment is empty for this reader.
        self._absent = False

    def pin(self) -> None:
        """Hold the file as it is now: every later read reads this version, whatever replaces it."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._absent = True
            return
        self._pinned = fd
        weakref.finalize(self, os.close, fd)

    @property
    def loaded(self) -> bool:
        """Whether the whole segment is in memory."""
        return self._data is not None

    def current_identity(self) -> FileIdentity | None:
        """The identity of the file this storage reads (None if there is none)."""
        if self._absent:
            return None
        try:
            status = os.stat(self.path) if self._pinned is None else os.fstat(self._pinned)
        except FileNotFoundError:
            return None
        return FileIdentity.of(status)

    def read(self) -> dict[str, Any] | None:
        if self._data is None:
            self._data = self._load()
            self._tables = {}
        return self._data

    def read_table(self, name: str) -> dict[str, Any]:
        """The documents of table ``name``, reading only that table into memory if nothing else is."""
        if self._data is not None:
            return self._data.get(name, {})
        table = self._tables.get(name)
        if table is None:
            if self._tables:
                # A second table: the segment is wanted whole after all.
                return (self.read() or {}).get(name, {})
            table = self._tables[name] = self._load_table(name)
        return table

    def release(self) -> None:
        """Forget the documents read (unless changed and not yet written); they are read again if needed."""
        if not self.dirty:
            self._data = None
            self._tables = {}

    def _load(self, text: bytes | None = None) -> dict[str, Any]:
        """The whole segment, from ``text`` if the file was read already."""
        text = self._read_file() if text is None else text
        try:
            data = json.loads(text) if text else {}
        except ValueError as exc:
            raise StoreError(f"{self.path}: corrupt store segment: {exc}") from None
        if not _is_segment(data):
            raise StoreError(f"{self.path}: corrupt store segment: not tables of documents")
        return data

    def _load_table(self, name: str) -> dict[str, Any]:
        """Table ``name`` alone: if the file begins with it, only that part is decoded.

        :meth:`flush` writes the tickets first, so a sweep over the tickets
        does not decode their messages (two thirds of a ticket segment).
        """
        text = self._read_file()
        opening = b'{"' + name.encode() + b'":'
        if text.startswith(opening):
            try:
                table, _ = _DECODER.raw_decode(text.decode("utf-8"), len(opening))
            except ValueError:
                table = None
            if _is_segment({name: table}):
                return table
        return self._load(text).get(name, {})

    def _read_file(self) -> bytes:
        """The file's bytes (empty if there is none), noting the identity of the version read."""
        if self._absent:
            return b""
        if self._pinned is not None:
            os.lseek(self._pinned, 0, os.SEEK_SET)
            with open(self._pinned, "rb", closefd=False) as file:
                self.identity = FileIdentity.of(os.fstat(file.fileno()))
                return file.read()
        try:
            with self.path.open("rb") as file:
                self.identity = FileIdentity.of(os.fstat(file.fileno()))
                return file.read()
        except FileNotFoundError:
            return b""

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self._tables = {}
        self.dirty = True

    def flush(self) -> bool:
        """Write the segment if it changed; whether it did."""
        if not self.dirty or self._data is None:
            return False
        tables = {
            name: self._data[name] for name in sorted(self._data, key=lambda name: name != LEADING_TABLE)
        }
        payload = json.dumps(tables, ensure_ascii=False, separators=(",", ":"))
        atomic_write(self.path, payload.encode("utf-8"))
        self.identity = distinct_identity(self.path, self.identity)
        self.dirty = False
        return True

    def close(self) -> None:
        """Nothing to release: files are open only while read or written; a pin closes with the storage."""


def _is_segment(data: Any) -> bool:
    """Whether decoded JSON has the shape TinyDB expects: tables of documents."""
    return isinstance(data, dict) and all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values())
        for table in data.values()
    )


def _is_indexed(name: str) -> bool:
    """Whether segment ``name`` holds documents the indexes are built from (it has an index file)."""
    return name.startswith(("tickets-", "customers-")) or name == INVOICES


def _pin_limit() -> int:
    """How many segment files a reader may hold open (see PIN_SHARE)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 16 if soft == resource.RLIM_INFINITY else soft // PIN_SHARE


def _ticket_segment(ticket_id: int) -> str:
    return f"tickets-{ticket_id // SEGMENT_SIZE:05d}.json"


def _event_segment(sequence: int) -> str:
    return f"events-{sequence // SEGMENT_SIZE:05d}.json"


def _customer_segment(customer_id: int) -> str:
    return f"customers-{customer_id // SEGMENT_SIZE:05d}.json"


class Store:
    """Tickets, messages, customers and poll state, with batched durable commits."""

    def __init__(
        self, data_dir: Path, *, readonly: bool = False, checkpoint_bytes: int = CHECKPOINT_BYTES
    ) -> None:
        self.data_dir = data_dir
        self.db_dir = data_dir / "db"
        self.readonly = readonly
        self.checkpoint_bytes = checkpoint_bytes
        self._journal = Journal(self.db_dir / JOURNAL)
        self._segments: dict[str, TinyDB] = {}
        # Pending changes: segment file -> table -> doc id -> document.
        self._pending: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
        self._before_commit: list[Callable[[], None]] = []
        self._reset_indexes()
        if readonly:
            self._load_snapshot()
        else:
            self.db_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.db_dir)
            self._recover_journal()
            self._open_segments()
            self._index_segments()

    # -- opening ---------------------------------------------------------------

    def _reset_indexes(self) -> None:
        self._segments.clear()
        self._pins_left = _pin_limit()
        self.ticket_ids: set[int] = set()
        self._message_to_ticket: dict[str, int] = {}
        self._source_to_message: dict[str, int] = {}
        self._ticket_messages: dict[int, list[int]] = defaultdict(list)
        self._customer_ids: dict[str, int] = {}
        self._customer_tickets: dict[str, list[int]] = defaultdict(list)
        self._subject_index: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._events: dict[int, dict[str, Any]] = {}
        self._state: dict[str, Any] = {}
        self._invoice_ids: dict[str, int] = {}
        self._customer_invoices: dict[str, list[int]] = defaultdict(list)

    def _segment(self, name: str) -> TinyDB:
        segment = self._segments.get(name)
        if segment is None:
            segment = TinyDB(storage=SegmentStorage, path=self.db_dir / name)
            self._segments[name] = segment
            if self.readonly:
                self._hold(name, segment.storage)
        return segment

    def _hold(self, name: str, storage: SegmentStorage) -> None:
        """A reader's hold on a segment as it is now: pinned to be read when needed, or read at once.

        The state and the events are needed at once anyway; so is every
        segment beyond the reader's share of file descriptors.
        """
        if _is_indexed(name) and self._pins_left > 0:
            storage.pin()
            self._pins_left -= 1
        else:
            storage.read()

    def _segment_names(self) -> list[str]:
        if not self.db_dir.is_dir():
            return []
        return sorted(path.name for path in self.db_dir.glob("*.json") if path.name != STATE)

    def _open_segments(self) -> None:
        """Know every segment file on disk (a reader holds each, see :meth:`_hold`); read none yet."""
        for name in [*self._segment_names(), STATE]:
            self._segment(name)

    def _apply_changes(self, changes: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Write full documents into their segments (in memory); a None document is a deletion."""
        for name, tables in changes.items():
            segment = self._segment(name)
            for table_name, docs in tables.items():
                table = segment.table(table_name)
                ids = [int(doc_id) for doc_id in docs]
                existing = [doc_id for doc_id in ids if table.contains(doc_id=doc_id)]
                if existing:
                    table.remove(doc_ids=existing)
                table.insert_multiple(
                    Document(doc, doc_id=int(doc_id)) for doc_id, doc in docs.items() if doc is not None
                )

    def _recover_journal(self) -> None:
        """Bring the segments up to the last commit in the journal, then remove it."""
        for entry in read_entries(self._journal.path):
            self._apply_changes(entry["changes"])
        self._flush_segments()
        self._journal.remove()

    def _load_snapshot(self) -> None:
        """Read a consistent snapshot while another process may be committing."""
        for _ in range(SNAPSHOT_ATTEMPTS):
            self._reset_indexes()
            before = self._read_state_sequence()
            self._open_segments()
            # Commits up to ``before`` are in the segments already (a journal
            # outlives its checkpoint by a moment); replaying them is harmless.
            for entry in read_entries(self._journal.path):
                if entry["sequence"] > before:
                    self._apply_changes(entry["changes"])
            self._index_segments()
            if self._read_state_sequence() == before:
                return
        raise StoreError(f"{self.db_dir}: the store kept changing while it was read")

    def _read_state_sequence(self) -> int:
        try:
            data = json.loads((self.db_dir / STATE).read_bytes())
        except (FileNotFoundError, ValueError):
            return 0
        state = data.get("state", {}).get("1", {})
        return int(state.get("sequence", 0))

    def _index_segments(self) -> None:
        """Build the indexes, the state and the pending events from the segments known."""
        self._state = dict(self._segment(STATE).storage.read_table("state").get("1") or {})
        self._state.setdefault("sequence", 0)
        self._state.setdefault("next_ticket", 1)
        self._state.setdefault("next_message", 1)
        self._state.setdefault("next_customer", 1)
        self._state.setdefault("folders", {})
        self._state.setdefault("skipped", [])
        self._state.setdefault("next_event", 1)
        self._state.setdefault("automatic_sent", {})
        self._state.setdefault("jobs", {})
        self._state.setdefault("next_invoice", 1)
        self._state.setdefault("series", {})
        for name in sorted(self._segments):
            try:
                if name.startswith("events-"):
                    for key, doc in self._segments[name].storage.read_table("events").items():
                        self._events[int(key)] = dict(doc)
                elif _is_indexed(name):
                    self._index_summary(self._summary(name))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"{self.db_dir / name}: corrupt store segment: {exc!r}") from None

    def _summary(self, name: str) -> SegmentSummary:
        """What the indexes need from segment ``name``.

        From its documents if they are in memory (a segment a journal replay
        touched), else from its index file if that was made from this very
        file, else from the segment read now, which the writer then writes an
        index file for (the next open will not read it again).
        """
        storage: SegmentStorage = self._segments[name].storage
        if storage.loaded:
            return SegmentSummary.of(storage.read() or {})
        identity = storage.current_identity()
        if identity is None:
            return SegmentSummary()
        summary = read_index(storage.path, identity)
        if summary is None:
            summary = SegmentSummary.of(storage.read() or {})
            if not self.readonly and storage.identity is not None:
                write_index(storage.path, storage.identity, summary)
            storage.release()
        return summary

    def _index_summary(self, summary: SegmentSummary) -> None:
        for ticket_id, customer, key, notifications in summary.tickets:
            self._index_ticket_fields(ticket_id, customer, key, notifications)
        for message_id, ticket_id, rfc_message_id, origin, source in summary.messages:
            self._index_message_fields(message_id, ticket_id, (rfc_message_id, origin), source)
        for customer_id, email in summary.customers:
            self._customer_ids[email] = customer_id
        for invoice_id, number, customer in summary.invoices:
            self._index_invoice(number, customer, invoice_id)

    def _index_ticket(self, ticket: Ticket) -> None:
        self._index_ticket_fields(
            ticket.id, ticket.customer, subject_key(ticket.subject), ticket.notifications
        )

    def _index_ticket_fields(self, ticket_id: int, customer: str, key: str, notifications: list[str]) -> None:
        for notification in notifications:
            self._message_to_ticket.setdefault(notification, ticket_id)
        if ticket_id in self.ticket_ids:
            return
        self.ticket_ids.add(ticket_id)
        # Ids grow with age; sorted insertion keeps "oldest first" whatever
        # order the segments hand the documents back in.
        insort(self._customer_tickets[customer], ticket_id)
        insort(self._subject_index[(customer, key)], ticket_id)

    def _index_message(self, message: StoredMessage) -> None:
        self._index_message_fields(
            message.id, message.ticket_id, (message.message_id, message.origin_message_id), message.source
        )

    def _index_message_fields(
        self,
        message_id: int,
        ticket_id: int,
        rfc_message_ids: tuple[str | None, str | None],
        source: str | None,
    ) -> None:
        for rfc_message_id in rfc_message_ids:
            if rfc_message_id:
                self._message_to_ticket.setdefault(rfc_message_id, ticket_id)
        if source:
            self._source_to_message[source] = message_id
        known = self._ticket_messages[ticket_id]
        if message_id not in known:
            known.append(message_id)

    # -- reading ---------------------------------------------------------------

    def _get(self, segment: str, table: str, doc_id: int) -> dict[str, Any] | None:
        # The document itself: the record classes copy on the way in and out
        # (``from_doc``/``to_doc``), so callers never share it.
        pending = self._pending.get(segment, {}).get(table, {}).get(doc_id)
        if pending is not None:
            return pending
        # Every segment on disk is known from the open on: any other holds nothing yet.
        known = self._segments.get(segment)
        if known is None:
            return None
        doc = known.storage.read_table(table).get(str(doc_id))
        return dict(doc) if doc is not None else None

    def ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with ``ticket_id``, or None."""
        if ticket_id not in self.ticket_ids:
            return None
        doc = self._get(_ticket_segment(ticket_id), "tickets", ticket_id)
        return Ticket.from_doc(doc) if doc else None

    def tickets(self) -> Iterator[Ticket]:
        """All tickets in ascending id order."""
        for ticket_id in sorted(self.ticket_ids):
            ticket = self.ticket(ticket_id)
            if ticket is not None:
                yield ticket

    def ticket_documents(self) -> Iterator[dict[str, Any]]:
        """Every ticket as its stored document, read-only and uncopied (for fast sweeps).

        Callers must not change the documents; to change a ticket, load it with
        :meth:`ticket` and :meth:`save_ticket` it. A segment read for the sweep
        keeps its tickets in memory, not its messages.
        """
        for name in sorted(self._segments):
            if not name.startswith("tickets-"):
                continue
            pending = self._pending.get(name, {}).get("tickets", {})
            stored = self._segments[name].storage.read_table("tickets")
            for key, doc in stored.items():
                if int(key) not in pending:
                    yield doc
            yield from pending.values()
        for name, tables in self._pending.items():
            if name not in self._segments and name.startswith("tickets-"):
                yield from tables.get("tickets", {}).values()

    def messages(self, ticket_id: int) -> list[StoredMessage]:
        """The messages of a ticket in the order they were recorded."""
        segment = _ticket_segment(ticket_id)
        found = []
        for message_id in self._ticket_messages.get(ticket_id, []):
            doc = self._get(segment, "messages", message_id)
            if doc is not None:
                found.append(StoredMessage.from_doc(doc))
        return found

    def ticket_for_message_id(self, message_id: str) -> int | None:
        """The ticket a stored or sent Message-ID belongs to."""
        return self._message_to_ticket.get(message_id)

    def has_source(self, source_key: str) -> bool:
        """Whether the message from this folder/UIDVALIDITY/UID is already stored."""
        return source_key in self._source_to_message

    def tickets_of(self, customer_email: str) -> list[int]:
        """Ids of the tickets a customer opened, oldest first."""
        return list(self._customer_tickets.get(customer_email, []))

    def tickets_with_subject(self, customer_email: str, subject: str) -> list[int]:
        """Ids of the customer's tickets whose normalised subject matches."""
        return list(self._subject_index.get((customer_email, subject_key(subject)), []))

    def customer(self, email: str) -> Customer | None:
        """The customer record for ``email`` (lower case), or None."""
        customer_id = self._customer_ids.get(email)
        if customer_id is None:
            return None
        doc = self._get(_customer_segment(customer_id), "customers", customer_id)
        return Customer.from_doc(doc) if doc else None

    def _index_invoice(self, number: str, customer: str, invoice_id: int) -> None:
        self._invoice_ids[number] = invoice_id
        if invoice_id not in self._customer_invoices[customer]:
            insort(self._customer_invoices[customer], invoice_id)

    def invoice(self, number: str) -> Invoice | None:
        """The invoice or credit note numbered ``number``, or None."""
        invoice_id = self._invoice_ids.get(number)
        doc = self._get(INVOICES, "invoices", invoice_id) if invoice_id is not None else None
        return Invoice.from_doc(doc) if doc else None

    def invoices(self) -> Iterator[Invoice]:
        """Every invoice and credit note, in the order they were issued."""
        for number, _ in sorted(self._invoice_ids.items(), key=lambda item: item[1]):
            invoice = self.invoice(number)
            if invoice is not None:
                yield invoice

    def invoices_of(self, customer_email: str) -> list[Invoice]:
        """A customer's invoices and credit notes, oldest first."""
        numbers = {invoice_id: number for number, invoice_id in self._invoice_ids.items()}
        ids = self._customer_invoices.get(customer_email, [])
        found = (self.invoice(numbers[invoice_id]) for invoice_id in ids)
        # An invoice whose customer was forgotten no longer belongs to the address.
        return [invoice for invoice in found if invoice is not None and invoice.customer == customer_email]

    def series_next(self, series: str) -> int:
        """The sequence number the next document of ``series`` gets (numbers are gapless)."""
        return int(self._state["series"].get(series, 0)) + 1

    def issue_invoice(self, invoice: Invoice) -> None:
        """Record a new invoice and consume its number, in one commit (the caller commits).

        The number must be the next of its series: numbers are gapless and
        never reused, and one is consumed only by a complete invoice.
        """
        if invoice.sequence != self.series_next(invoice.series) or invoice.number in self._invoice_ids:
            raise StoreError(f"invoice {invoice.number}: not the next number of {invoice.series}")
        invoice.id = self._next("next_invoice")
        self._state["series"] = {**self._state["series"], invoice.series: invoice.sequence}
        self.save_invoice(invoice)

    def save_invoice(self, invoice: Invoice) -> None:
        """Write an issued invoice (its payments and status change; nothing else does)."""
        self._index_invoice(invoice.number, invoice.customer, invoice.id)
        self._put(INVOICES, "invoices", invoice.id, invoice.to_doc())

    def customers(self) -> Iterator[Customer]:
        """All customers, in the order they first wrote."""
        for email, _ in sorted(self._customer_ids.items(), key=lambda item: item[1]):
            customer = self.customer(email)
            if customer is not None:
                yield customer

    def folder_state(self, folder: str) -> FolderState | None:
        """Saved UIDVALIDITY and last ingested UID of ``folder``."""
        doc = self._state["folders"].get(folder)
        return FolderState.from_doc(doc) if doc else None

    @property
    def skipped(self) -> list[dict[str, str]]:
        """The most recent automatic messages that opened no ticket, with reasons."""
        return list(self._state["skipped"])

    @property
    def counts(self) -> dict[str, int]:
        """Sizes of the store, for ``helpdesk status``."""
        return {
            "tickets": len(self.ticket_ids),
            "messages": sum(len(ids) for ids in self._ticket_messages.values()),
            "customers": len(self._customer_ids),
        }

    # -- writing ---------------------------------------------------------------

    def _put(self, segment: str, table: str, doc_id: int, doc: dict[str, Any] | None) -> None:
        if self.readonly:
            raise StoreError("the store was opened read-only")
        self._pending.setdefault(segment, {}).setdefault(table, {})[doc_id] = doc

    def _next(self, counter: str) -> int:
        value = int(self._state[counter])
        self._state[counter] = value + 1
        return value

    def new_ticket_id(self) -> int:
        """Reserve the next ticket id."""
        return self._next("next_ticket")

    def new_message_id(self) -> int:
        """Reserve the next stored-message id."""
        return self._next("next_message")

    def save_ticket(self, ticket: Ticket) -> None:
        """Insert or update a ticket (written at the next commit)."""
        self._put(_ticket_segment(ticket.id), "tickets", ticket.id, ticket.to_doc())
        self._index_ticket(ticket)

    def add_message(self, message: StoredMessage) -> None:
        """Record a message on its ticket (written at the next commit)."""
        self._put(_ticket_segment(message.ticket_id), "messages", message.id, message.to_doc())
        self._index_message(message)

    def save_customer(self, customer: Customer) -> None:
        """Insert or update a customer; a new one gets an id here."""
        if customer.id == 0:
            customer.id = self._customer_ids.get(customer.email) or self._next("next_customer")
        self._customer_ids[customer.email] = customer.id
        self._put(_customer_segment(customer.id), "customers", customer.id, customer.to_doc())

    def set_folder_state(self, state: FolderState) -> None:
        """Move the poll state of a folder (written at the next commit)."""
        self._state["folders"][state.folder] = state.to_doc()

    def note_skipped(self, entry: dict[str, str]) -> None:
        """Remember an automatic message that opened no ticket, and why."""
        skipped = self._state["skipped"]
        skipped.append(entry)
        del skipped[:-SKIP_LOG_LENGTH]

    def add_event(self, name: str, ticket_id: int | None, message_id: int | None = None, **data: Any) -> None:
        """Queue an event for the actions (committed with the next commit).

        Events live in their own segments (1,000 sequence numbers each), so a
        commit writes only the events it adds or removes, however many wait.
        """
        event = Event(self._next("next_event"), name, ticket_id, message_id, data)
        doc = event.to_doc()
        self._events[event.sequence] = doc
        self._put(_event_segment(event.sequence), "events", event.sequence, doc)

    def pending_events(self) -> list[Event]:
        """Events whose actions have not run yet, oldest first."""
        return [Event.from_doc(self._events[sequence]) for sequence in sorted(self._events)]

    def pending_event_count(self) -> int:
        """How many events wait for their actions (without reading them)."""
        return len(self._events)

    def events_done(self, sequences: set[int]) -> None:
        """Forget these events (their actions ran, or they failed for good)."""
        for sequence in sequences:
            if self._events.pop(sequence, None) is not None:
                self._put(_event_segment(sequence), "events", sequence, None)

    def event_failed(self, sequence: int) -> int:
        """Count a failed attempt at event ``sequence``; returns the failures so far."""
        if sequence not in self._events:
            return 0
        # A copy: the committed document must not change before the next commit.
        doc = self._events[sequence] = copy_document(self._events[sequence])
        doc["data"]["failures"] = int(doc["data"].get("failures", 0)) + 1
        self._put(_event_segment(sequence), "events", sequence, doc)
        return int(doc["data"]["failures"])

    def prune_automatic_sent(self, before: str) -> None:
        """Forget automatic-mail times older than ``before`` (ISO), for every address."""
        recent = {
            address: [stamp for stamp in times if stamp >= before]
            for address, times in self._state["automatic_sent"].items()
        }
        self._state["automatic_sent"] = {address: times for address, times in recent.items() if times}

    def automatic_sent(self, address: str) -> list[str]:
        """When automatic mail went to ``address`` recently (ISO times)."""
        return list(self._state["automatic_sent"].get(address, []))

    def note_automatic_sent(self, address: str, times: list[str]) -> None:
        """Keep the recent automatic-mail times of ``address`` (for the rate limit)."""
        if times:
            self._state["automatic_sent"][address] = times
        else:
            self._state["automatic_sent"].pop(address, None)

    def job_last_run(self, name: str) -> str | None:
        """The scheduler's persisted mark of job ``name`` (ISO 8601), or None if it has none."""
        return self._state["jobs"].get(name)

    def set_job_last_run(self, name: str, moment: str) -> None:
        """Record the scheduler's mark of job ``name`` (written at the next commit)."""
        # A new dict rather than a change in place: the loaded state shares its
        # nested values with the segment, which must keep the committed ones.
        self._state["jobs"] = {**self._state["jobs"], name: moment}

    # -- erasing (``helpdesk customer forget``) ----------------------------------

    def delete_message(self, message: StoredMessage) -> None:
        """Remove a message from its ticket and from the indexes (at the next commit)."""
        self._put(_ticket_segment(message.ticket_id), "messages", message.id, None)
        known = self._ticket_messages.get(message.ticket_id, [])
        if message.id in known:
            known.remove(message.id)
        if message.source and self._source_to_message.get(message.source) == message.id:
            del self._source_to_message[message.source]
        for message_id in (message.message_id, message.origin_message_id):
            if message_id and self._message_to_ticket.get(message_id) == message.ticket_id:
                del self._message_to_ticket[message_id]

    def delete_ticket(self, ticket_id: int) -> None:
        """Remove a ticket, its messages and every index entry naming it (at the next commit)."""
        ticket = self.ticket(ticket_id)
        if ticket is None:
            return
        for message in self.messages(ticket_id):
            self.delete_message(message)
        self._put(_ticket_segment(ticket_id), "tickets", ticket_id, None)
        self.ticket_ids.discard(ticket_id)
        self._ticket_messages.pop(ticket_id, None)
        self._message_to_ticket = {
            key: value for key, value in self._message_to_ticket.items() if value != ticket_id
        }
        owned = self._customer_tickets.get(ticket.customer, [])
        if ticket_id in owned:
            owned.remove(ticket_id)
        if not owned:
            self._customer_tickets.pop(ticket.customer, None)
        subject = (ticket.customer, subject_key(ticket.subject))
        similar = self._subject_index.get(subject, [])
        if ticket_id in similar:
            similar.remove(ticket_id)
        if not similar:
            self._subject_index.pop(subject, None)

    def delete_customer(self, email: str) -> bool:
        """Remove the customer record of ``email`` (at the next commit); False if there is none."""
        customer_id = self._customer_ids.pop(email, None)
        if customer_id is None:
            return False
        self._put(_customer_segment(customer_id), "customers", customer_id, None)
        return True

    def replace_skipped(self, entries: list[dict[str, str]]) -> None:
        """Replace the skip log (to erase or redact entries naming someone)."""
        self._state["skipped"] = list(entries)[-SKIP_LOG_LENGTH:]

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` at the start of every commit (the outbox flushes its queue there)."""
        self._before_commit.append(hook)

    def commit(self) -> None:
        """Make every change since the last commit durable, atomically."""
        if self.readonly:
            raise StoreError("the store was opened read-only")
        for hook in self._before_commit:
            hook()
        self._state["sequence"] = int(self._state["sequence"]) + 1
        # A deep copy: the segment written at the next checkpoint must hold the
        # state of this commit, not changes made after it.
        self._put(STATE, "state", 1, copy_document(self._state))
        changes = {
            segment: {
                table: {str(doc_id): doc for doc_id, doc in docs.items()} for table, docs in tables.items()
            }
            for segment, tables in self._pending.items()
        }
        self._journal.append({"sequence": self._state["sequence"], "changes": changes})
        self._apply_changes(changes)
        self._pending.clear()
        if self._journal.size >= self.checkpoint_bytes:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the changed segments and remove the journal (commits stay as they are)."""
        if self.readonly:
            raise StoreError("the store was opened read-only")
        self._flush_segments()
        self._journal.remove()

    def close(self) -> None:
        """Checkpoint, so that the next open has no journal to replay."""
        if not self.readonly:
            self.checkpoint()

    def _flush_segments(self) -> None:
        # The state segment goes last: it carries the sequence number readers
        # use to detect a commit that happened while they were reading.
        for name, segment in self._segments.items():
            if name != STATE:
                self._flush(name, segment.storage)
        if STATE in self._segments:
            self._segments[STATE].storage.flush()

    def _flush(self, name: str, storage: SegmentStorage) -> None:
        """Write a changed segment, then its index file (a crash between the two leaves a stale one)."""
        if storage.flush() and _is_indexed(name) and storage.identity is not None:
            write_index(storage.path, storage.identity, SegmentSummary.of(storage.read() or {}))


class DataDirectoryLock:
    """An exclusive lock on the data directory: one writing process at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False if another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held_by_other(self) -> bool:
        """Whether another process (the daemon) holds the lock right now."""
        if self.acquire():
            self.release()
            return False
        return True
