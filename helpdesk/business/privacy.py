"""Privacy: what is held about a customer (``customer export``) and erasing it (``customer forget``).

**Export** reads a snapshot of the store (it works while the daemon runs) and
writes one JSON document of everything held about the customer — the customer
record, every ticket of theirs with its history and its messages with their
text, their messages on other customers' tickets, skipped automatic mail from
them and their invoices — plus the raw archived mail of those messages as
``.eml`` files beside it::

    DIR/helpdesk-export-<email>/customer.json
    DIR/helpdesk-export-<email>/mail/000012.eml

**Forget** erases the customer's personal data everywhere it sits in the data
directory, for all of their addresses (``Customer.other_addresses`` too):

- the store: the customer record, their tickets with messages, pending events
  and index entries, their skip-log entries and automatic-mail rate counters;
  on other customers' tickets where they were a participant (Cc), their
  address leaves ``participants``, their own messages there are deleted and
  their address and name are redacted in the others' to/cc lists, texts and
  the history; then a checkpoint rewrites the changed segments and removes the
  journal, which still held the old lines;
- the raw archive: the files of their messages and of their skipped mail are
  deleted; any other archived message that contains their address or name is
  rewritten with both redacted;
- the outbox: queued and failed items about their tickets or addressed only to
  them are deleted, others naming them are redacted; in ``sent.log`` their
  addresses and names, and the subjects of their tickets' mail, are redacted
  (the lines stay, so that an enqueue replayed after a crash still knows what
  was sent: the delivered ids are hashes, not personal data);
- the quarantine: every entry whose raw bytes or record contain their address
  or name;
- ``daemon-status.json``, should it ever name them.

Files are erased first and the store last, so that a forget interrupted by a
crash can simply be run again: the store still knows what to erase. Invoices
are kept, because tax law requires it (see :func:`keep_invoices`). The
erasure is logged by customer number and counts only, never by name or address.

The mail stays in the IMAP mailbox, which helpdesk never deletes from: the
owner deletes it there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpdesk.business.customers import customer_document
from helpdesk.errors import UsageError
from helpdesk.intake.archive import MailArchive, MailSource
from helpdesk.intake.quarantine import Quarantine
from helpdesk.outbound.outbox import Outbox, OutboxItem
from helpdesk.store.durable import atomic_write
from helpdesk.store.records import Customer, Invoice, StoredMessage, Ticket, iso, utc_now
from helpdesk.store.store import Store

log = logging.getLogger(__name__)

EXPORT_FORMAT = "helpdesk-customer-export/1"
# What an erased address or name becomes where the surrounding record is kept.
REDACTED_ADDRESS = "forgotten@invalid"
REDACTED_TEXT = "[forgotten]"
# Shorter names are not searched for in other people's data: "Al" would match everywhere.
MIN_NAME_LENGTH = 3
STATUS_FILE = "daemon-status.json"


def _address_pattern(address: str) -> str:
    # Not part of a longer address: "zoe@example.org" is not in "bzoe@example.org.uk".
    return rf"(?<![\w.+-]){re.escape(address)}(?![\w-]|\.\w)"


@dataclass(frozen=True)
class Person:
    """Whom an export or erasure is about: the customer (if recorded), their addresses and names."""

    addresses: tuple[str, ...]
    names: tuple[str, ...]
    customer: Customer | None

    @classmethod
    def find(cls, store: Store, email: str) -> Person:
        """The customer who writes from ``email`` (their main or another address)."""
        email = email.strip().lower()
        customer = store.customer(email) or next(
            (item for item in store.customers() if email in item.other_addresses), None
        )
        addresses = [email]
        names: list[str] = []
        if customer is not None:
            addresses = [customer.email, *customer.other_addresses, email]
            names = [customer.name.strip()]
        unique = tuple(dict.fromkeys(address.lower() for address in addresses if address))
        return cls(unique, tuple(name for name in names if len(name) >= MIN_NAME_LENGTH), customer)

    def _texts(self) -> list[tuple[str, str]]:
        """(regex, replacement) pairs for text, the longest first."""
        pairs = [(_address_pattern(address), REDACTED_ADDRESS) for address in self.addresses]
        # A name is a whole word or words: forgetting "Sales" leaves "Salesforce" alone.
        pairs += [(rf"(?<!\w){re.escape(name)}(?!\w)", REDACTED_TEXT) for name in self.names]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def _byte_patterns(self) -> list[tuple[bytes, bytes]]:
        pairs = []
        for pattern, replacement in self._texts():
            pairs.append((pattern.encode("utf-8"), replacement.encode()))
        # The store and the outbox write JSON with the characters themselves, but
        # other writers escape non-ASCII ("Zo\\u00eb"): look for that form too.
        for name in self.names:
            escaped = json.dumps(name)[1:-1]
            if escaped != name:
                pairs.append((rb"(?<!\w)" + re.escape(escaped).encode() + rb"(?!\w)", REDACTED_TEXT.encode()))
        return pairs

    def names_address(self, data: bytes) -> bool:
        """Whether ``data`` contains one of the addresses (a name alone is not enough to delete)."""
        return any(
            re.search(_address_pattern(address).encode(), data, re.IGNORECASE) for address in self.addresses
        )

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` contains one of the addresses or names (in any letter case)."""
        return any(re.search(pattern, data, re.IGNORECASE) for pattern, _ in self._byte_patterns())

    def redact(self, text: str) -> str:
        """``text`` with every address and name replaced."""
        for pattern, replacement in self._texts():
            text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """``data`` with every address and name (UTF-8 and JSON-escaped) replaced."""
        for pattern, replacement in self._byte_patterns():
            data = re.sub(pattern, replacement, data, flags=re.IGNORECASE)
        return data

    def is_theirs(self, address: str) -> bool:
        return address.lower() in self.addresses


def _own_tickets(store: Store, person: Person) -> list[int]:
    return sorted({ticket_id for address in person.addresses for ticket_id in store.tickets_of(address)})


def _participations(store: Store, person: Person, own: set[int]) -> list[int]:
    """Other customers' tickets the person takes part in (Cc)."""
    return sorted(
        int(doc["id"])
        for doc in store.ticket_documents()
        if int(doc["id"]) not in own and any(person.is_theirs(item) for item in doc.get("participants", []))
    )


def _plain(record: Any) -> Any:
    """A record as JSON-shaped data, whatever kind of record it is."""
    if hasattr(record, "to_doc"):
        return record.to_doc()
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return dict(record) if isinstance(record, dict) else record


def _invoices_of(store: Store, person: Person) -> list[Invoice]:
    """The person's invoices and credit notes, under any of their addresses."""
    return [invoice for address in person.addresses for invoice in store.invoices_of(address)]


def keep_invoices(store: Store, person: Person) -> int:
    """Keep the customer's invoices, because tax law requires it, minus what it does not require.

    An issued invoice must be kept for the statutory period (e.g. 8 to 10
    years in the EU, 6 to 8 in India) and names the buyer. The issued PDF is
    that legal document and stays exactly as it was sent (its text is
    compressed and its metadata names no customer). The record beside it keeps
    the number, the amounts, the dates and the buyer's tax id, which tax
    reporting needs, and loses the name and the postal and e-mail addresses,
    which the PDF holds: it then belongs to no customer. Returns how many were kept.
    """
    invoices = _invoices_of(store, person)
    for invoice in invoices:
        invoice.customer = f"forgotten-{invoice.id}@invalid"
        invoice.bill_to = {**invoice.bill_to, "name": REDACTED_TEXT, "email": "", "address": ""}
        invoice.lines = [_redact_document(person, line) for line in invoice.lines]
        invoice.note = person.redact(invoice.note)
        invoice.reference = person.redact(invoice.reference)
        store.save_invoice(invoice)
    return len(invoices)


def _skipped_file(archive: MailArchive, data_dir: Path, source: str) -> Path | None:
    """The archive file of a skip-log entry's source (folder/UIDVALIDITY/UID, or an archive path)."""
    if source.startswith("mail/"):
        return data_dir / source
    folder, _, uid = source.rpartition("/")
    folder, _, uidvalidity = folder.rpartition("/")
    if folder and uidvalidity.isdigit() and uid.isdigit():
        return archive.path_for(MailSource(folder, int(uidvalidity), int(uid)))
    return None


# -- export -------------------------------------------------------------------


def export_directory(output: Path, email: str) -> Path:
    """Where the export of ``email`` goes under ``output``."""
    return output / f"helpdesk-export-{re.sub(r'[^A-Za-z0-9@._+-]', '_', email.strip().lower())}"


def export_customer(store: Store, data_dir: Path, email: str, output: Path) -> Path:
    """Write everything held about the customer of ``email`` under ``output``; returns the directory.

    Reads only (a read-only store is enough). UsageError if nothing is held.
    """
    person = Person.find(store, email)
    own = _own_tickets(store, person)
    if person.customer is None and not own:
        raise UsageError(f"no customer {email}")
    target = export_directory(output, email)
    mail_dir = target / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in mail_dir.glob("*.eml"):
        stale.unlink()

    def public(message: StoredMessage) -> dict[str, Any]:
        document = message.to_public()
        document["raw"] = None
        if message.archive_path:
            source = data_dir / message.archive_path
            if source.is_file():
                name = f"{message.id:06d}.eml"
                atomic_write(mail_dir / name, source.read_bytes(), mode=0o600)
                document["raw"] = f"mail/{name}"
        return document

    tickets = [ticket for ticket in map(store.ticket, own) if ticket is not None]
    elsewhere = []
    for ticket_id in _participations(store, person, set(own)):
        for message in store.messages(ticket_id):
            if person.is_theirs(message.sender):
                elsewhere.append({"ticket": ticket_id, **public(message)})
    held = _invoices_of(store, person)
    customer = (
        customer_document(person.customer, tickets, held) if person.customer is not None
        else {"email": person.addresses[0]}
    )
    # The export holds the invoices whole, not only the summary the record shows.
    invoices = [_plain(invoice) for invoice in held]
    customer["invoices"] = invoices
    skipped = []
    for number, entry in enumerate(
        (item for item in store.skipped if person.is_theirs(str(item.get("from", "")))), start=1
    ):
        entry = {**entry, "raw": None}
        path = _skipped_file(MailArchive(data_dir), data_dir, str(entry.get("source") or ""))
        if path is not None and path.is_file():
            atomic_write(mail_dir / f"skipped-{number:03d}.eml", path.read_bytes(), mode=0o600)
            entry["raw"] = f"mail/skipped-{number:03d}.eml"
        skipped.append(entry)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": iso(utc_now()),
        "addresses": list(person.addresses),
        "customer": customer,
        "record": person.customer.to_doc() if person.customer is not None else None,
        "tickets": [
            {**ticket.to_doc(), "messages": [public(message) for message in store.messages(ticket.id)]}
            for ticket in tickets
        ],
        "messages_on_other_tickets": elsewhere,
        "skipped_mail": skipped,
        "invoices": invoices,
    }
    payload = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    atomic_write(target / "customer.json", payload.encode("utf-8"), mode=0o600)
    return target


# -- forget -------------------------------------------------------------------


@dataclass
class Erasure:
    """What ``forget`` erased: counts only, so that it can be logged."""

    customer_id: int | None
    tickets: int = 0
    messages: int = 0
    archived_files: int = 0
    redacted_files: int = 0
    outbox_items: int = 0
    outbox_redacted: int = 0
    sent_log_lines: int = 0
    quarantined: int = 0
    participations: int = 0
    skipped: int = 0
    events: int = 0
    invoices_kept: int = 0

    def summary(self) -> str:
        """One log line without personal data."""
        who = f"customer #{self.customer_id}" if self.customer_id is not None else "an unrecorded address"
        parts = [
            f"{self.tickets} ticket(s)",
            f"{self.messages} message(s)",
            f"{self.archived_files} archived file(s)",
            f"{self.outbox_items} outbox item(s)",
            f"{self.sent_log_lines} sent-log line(s) redacted",
            f"{self.quarantined} quarantined message(s)",
            f"removed from {self.participations} other ticket(s)",
            f"{self.redacted_files + self.outbox_redacted} other file(s) redacted",
            f"{self.skipped} skip-log entr(ies)",
            f"{self.events} pending event(s)",
        ]
        kept = f"; {self.invoices_kept} invoice(s) kept (tax law)" if self.invoices_kept else ""
        return f"forgot {who}: " + ", ".join(parts) + kept


def _redact_document(person: Person, value: Any) -> Any:
    """Every string in JSON-shaped ``value`` redacted."""
    if isinstance(value, str):
        return person.redact(value)
    if isinstance(value, list):
        return [_redact_document(person, item) for item in value]
    if isinstance(value, dict):
        return {key: _redact_document(person, item) for key, item in value.items()}
    return value


def _redact_sent_line(person: Person, own: set[int], line: bytes) -> bytes:
    try:
        record = json.loads(line)
    except ValueError:
        return person.redact_bytes(line) if person.matches(line) else line
    if not isinstance(record, dict):
        return person.redact_bytes(line) if person.matches(line) else line
    changed = dict(record)
    if record.get("ticket_id") in own:
        changed["subject"] = REDACTED_TEXT
    changed["recipients"] = [
        REDACTED_ADDRESS if person.is_theirs(str(item)) else item for item in record.get("recipients", [])
    ]
    changed = _redact_document(person, changed)
    if changed == record:
        return line
    return json.dumps(changed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def forget_customer(
    store: Store, outbox: Outbox, quarantine: Quarantine, archive: MailArchive, email: str
) -> Erasure:
    """Erase the personal data of the customer of ``email`` from the data directory (see the module).

    ``store`` must be writable (the caller holds the data directory lock).
    Running it again is harmless: what is gone stays gone.
    """
    data_dir = store.data_dir
    person = Person.find(store, email)
    erasure = Erasure(person.customer.id if person.customer is not None else None)
    own = _own_tickets(store, person)
    own_set = set(own)

    # What the store says is theirs: their tickets' messages, and theirs on others' tickets.
    doomed_messages: list[StoredMessage] = []
    for ticket_id in own:
        doomed_messages.extend(store.messages(ticket_id))
    participations: list[tuple[Ticket, list[StoredMessage]]] = []
    for ticket_id in _participations(store, person, own_set):
        ticket = store.ticket(ticket_id)
        if ticket is not None:
            messages = store.messages(ticket_id)
            doomed_messages.extend(message for message in messages if person.is_theirs(message.sender))
            participations.append((ticket, messages))
    doomed_files = {data_dir / message.archive_path for message in doomed_messages if message.archive_path}
    kept_skipped, dropped = [], 0
    for entry in store.skipped:
        if person.is_theirs(str(entry.get("from", ""))):
            dropped += 1
            path = _skipped_file(archive, data_dir, str(entry.get("source") or ""))
            if path is not None:
                doomed_files.add(path)
        else:
            kept_skipped.append(_redact_document(person, entry))
    erasure.skipped = dropped

    # Files first: a crash before the store commit leaves the store knowing what to erase.
    for path in archive.files():
        if path in doomed_files:
            erasure.archived_files += archive.erase(path)
            continue
        raw = path.read_bytes()
        if person.matches(raw):
            archive.rewrite(path, person.redact_bytes(raw))
            erasure.redacted_files += 1
    for item, raw, failed in outbox.held_items():
        record = json.dumps(dataclasses.asdict(item), ensure_ascii=False).encode("utf-8")
        others = [address for address in item.recipients if not person.is_theirs(address)]
        if item.ticket_id in own_set or not others:
            outbox.erase_item(item, failed)
            erasure.outbox_items += 1
        elif person.matches(raw) or person.matches(record):
            fields = {**dataclasses.asdict(item), "recipients": others}
            redacted = OutboxItem(**_redact_document(person, fields))
            outbox.rewrite_item(redacted, person.redact_bytes(raw), failed)
            erasure.outbox_redacted += 1
    erasure.sent_log_lines = outbox.rewrite_sent_log(lambda line: _redact_sent_line(person, own_set, line))
    # Only entries with their address go: someone else's mail that merely shares a word with
    # their name is not theirs to erase.
    erasure.quarantined = quarantine.erase_where(person.names_address)
    for address in person.addresses:
        # An export written into the data directory is personal data too.
        shutil.rmtree(export_directory(data_dir, address), ignore_errors=True)
    status = data_dir / STATUS_FILE
    if status.is_file() and person.matches(status.read_bytes()):
        atomic_write(status, person.redact_bytes(status.read_bytes()), durable=False)

    # Then the store, in one commit, and a checkpoint that removes the journal holding the old lines.
    doomed_ids = {message.id for message in doomed_messages}
    for ticket, messages in participations:
        for message in messages:
            if message.id in doomed_ids:
                store.delete_message(message)
                continue
            redacted = StoredMessage.from_doc(_redact_document(person, message.to_doc()))
            if redacted != message:
                store.add_message(redacted)
        ticket.participants = [item for item in ticket.participants if not person.is_theirs(item)]
        ticket.history = _redact_document(person, ticket.history)
        ticket.subject = person.redact(ticket.subject)
        store.save_ticket(ticket)
    erasure.participations = len(participations)
    for ticket_id in own:
        store.delete_ticket(ticket_id)
    erasure.tickets, erasure.messages = len(own), len(doomed_messages)
    done = set()
    for event in store.pending_events():
        data = json.dumps(event.data, ensure_ascii=False).encode("utf-8")
        if event.ticket_id in own_set or any(re.search(
            _address_pattern(address).encode(), data, re.IGNORECASE) for address in person.addresses
        ):
            done.add(event.sequence)
    store.events_done(done)
    erasure.events = len(done)
    store.replace_skipped(kept_skipped)
    for address in person.addresses:
        store.note_automatic_sent(address, [])
        store.delete_customer(address)
    # Invoices are kept (tax law): the hook says what happens to them.
    erasure.invoices_kept = keep_invoices(store, person)
    store.commit()
    store.checkpoint()
    log.info("%s", erasure.summary())
    return erasure
