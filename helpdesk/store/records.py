"""The records helpdesk keeps: tickets, messages, customers, folder state.

Plain dataclasses with a lossless ``to_doc``/``from_doc`` round trip to the
JSON documents the store writes. Times are ISO 8601 strings in UTC so that
documents stay readable and sort correctly as text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Self

STATUSES = ("new", "open", "pending", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
DIRECTIONS = ("in", "out", "note")
# How mail that was in a folder before the daemon saw it is taken: "history"
# (recorded, nothing sent, one summary to the owner), "process" (as new mail),
# "rescan" (after a UIDVALIDITY change: history, without a summary).
EXISTING_MAIL = ("history", "process", "rescan")
# A tag: letters, digits, "-", "." and "_", at most 40 characters. Tags are
# kept in lower case, so that "VIP" and "vip" are one tag.
TAG_NAME = re.compile(r"[\w][\w.-]{0,39}")


def add_tag(tags: list[str], tag: str) -> None:
    """Add ``tag`` (lower-cased) to ``tags`` unless it is there in any case."""
    if tag.lower() not in (existing.lower() for existing in tags):
        tags.append(tag.lower())


def remove_tag(tags: list[str], tag: str) -> None:
    """Remove ``tag`` from ``tags`` in whatever case it was stored."""
    tags[:] = [existing for existing in tags if existing.lower() != tag.lower()]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A UTC ISO 8601 string for ``moment`` (second precision)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def copy_document(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: copy_document(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [copy_document(item) for item in value]
    return value


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(item.name for item in fields(cls))


class _Document:
    """Conversion between a dataclass record and its stored document.

    Both directions copy, so that a record changed after saving (or a document
    changed after loading) never changes the other behind the store's back.
    """

    def to_doc(self) -> dict[str, Any]:
        return {key: copy_document(value) for key, value in vars(self).items()}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Self:
        names = _field_names(cls)
        return cls(**{key: copy_document(value) for key, value in doc.items() if key in names})


@dataclass
class HistoryEntry(_Document):
    """One thing that happened to a ticket, for the audit trail."""

    at: str
    event: str
    detail: str = ""


@dataclass
class Ticket(_Document):
    """A customer conversation and its state."""

    id: int
    customer: str
    subject: str
    created_at: str
    updated_at: str
    status: str = "new"
    priority: str = "normal"
    tags: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    closed_at: str | None = None
    last_customer_at: str | None = None
    last_owner_at: str | None = None
    escalation_level: int = 0
    history: list[dict[str, str]] = field(default_factory=list)
    # Message-IDs of the notifications sent to the owner about this ticket:
    # an owner reply that cites one of them belongs to this ticket.
    notifications: list[str] = field(default_factory=list)
    last_escalated_at: str | None = None
    follow_up_at: str | None = None
    # Rule name -> the condition window it last fired in (fire once per window).
    fired: dict[str, str] = field(default_factory=dict)
    # Imported as history on a first sync: no time rule runs for it until
    # something new happens on it (the customer writes again, the owner answers).
    imported: bool = False
    # The open invoices issued on this ticket: number -> the moment it is
    # overdue (the start of the day after its due date, in the business's
    # timezone). Kept by the invoice actions, so that the rule tick sees overdue
    # invoices without reading them (the ``invoice_overdue_for`` condition).
    open_invoices: dict[str, str] = field(default_factory=dict)
    # Who closed it last: "owner" (#close), "rule:<name>" (an automatic close),
    # "customer" or "cli"; the thank-you rule asks for it (``closed_by``).
    closed_by: str | None = None
    # The thank-you with its satisfaction question, once sent: "sent_at" and
    # "message_id"; the customer's answer: "score" (1-5), "comment", "at";
    # the request to quote a glowing answer, once sent: "sent_at", "message_id",
    # and "answer" ("yes"/"no") when it came.
    survey: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    testimonial_request: dict[str, Any] = field(default_factory=dict)
    # What the business promised and by when (``#due``): "due" (ISO, UTC),
    # "what", "set_at"; empty when there is none or it was kept (``#done``).
    promise: dict[str, Any] = field(default_factory=dict)
    # What a complaint was about (``#cause``, one of ``[feedback] causes``) and when it was said.
    cause: str | None = None
    cause_at: str | None = None

    def record(self, at: str, event: str, detail: str = "") -> None:
        """Append an entry to the ticket's history."""
        self.history.append(HistoryEntry(at, event, detail).to_doc())


@dataclass
class StoredMessage(_Document):
    """One message of a ticket: inbound, outbound or an internal note."""

    id: int
    ticket_id: int
    direction: str
    message_id: str
    sender: str
    to: list[str]
    subject: str
    date: str
    text: str
    cc: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    archive_path: str | None = None
    source: str | None = None
    automatic: str | None = None
    references: list[str] = field(default_factory=list)
    # For an owner reply relayed to the customer: the Message-ID of the
    # owner's own mail (``message_id`` is the one the customer received).
    origin_message_id: str | None = None

    def to_public(self) -> dict[str, Any]:
        """The JSON shape of a message in ``helpdesk show --json``."""
        return {
            "direction": self.direction,
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "text": self.text,
            "date": self.date,
            "message_id": self.message_id,
            "attachments": self.attachments,
            "automatic": self.automatic,
        }


@dataclass
class Customer(_Document):
    """Someone who has written to the business."""

    id: int
    email: str
    name: str
    first_contact: str
    last_contact: str
    ticket_count: int = 0
    tags: list[str] = field(default_factory=list)
    # What the owner records by mail (``#customer``): the postal address, the
    # tax id of a business customer (GSTIN, VAT number), the language to
    # write in (ISO 639-1), the birthday (YYYY-MM-DD) and dated notes.
    postal_address: str = ""
    tax_id: str = ""
    language: str = ""
    birthday: str | None = None
    notes: list[dict[str, str]] = field(default_factory=list)
    # Other addresses the customer writes from, and whether they want no
    # mail beyond their tickets (greetings, surveys).
    other_addresses: list[str] = field(default_factory=list)
    opted_out: bool = False
    # A name the owner gave (``#customer name=``) is kept: the display name
    # of the customer's next mail does not replace it.
    name_from_owner: bool = False
    # Feedback: every rating the customer gave ("ticket", "score", "comment",
    # "at"), when the last survey went out (one per [feedback] min_interval),
    # the year each greeting was last sent ("birthday", "new-year",
    # "anniversary"), and when the one-time loyalty thank-you was sent.
    ratings: list[dict[str, Any]] = field(default_factory=list)
    last_survey_at: str | None = None
    greeted: dict[str, int] = field(default_factory=dict)
    loyalty_thanked_at: str | None = None
    opted_out_at: str | None = None
    # Quotes the customer allowed the business to use ("quote", "name" as
    # they chose to be named, "score", "ticket", "at"): nothing else is used.
    testimonials: list[dict[str, Any]] = field(default_factory=list)

    def opt_out(self, stamp: str) -> bool:
        """Record that the customer wants no more non-essential mail; False if they had said so already."""
        if self.opted_out:
            return False
        self.opted_out, self.opted_out_at = True, stamp
        return True

    def opt_in(self) -> bool:
        """Undo an opt-out; False if the customer was not opted out."""
        if not self.opted_out:
            return False
        self.opted_out, self.opted_out_at = False, None
        return True


@dataclass
class FolderState(_Document):
    """How far ingestion has got in one IMAP folder (getmail-style poll state)."""

    folder: str
    uidvalidity: int
    last_uid: int
    # UIDs up to this one were in the folder when the daemon first saw it (or
    # when its UIDVALIDITY changed), and how they are taken: see EXISTING_MAIL.
    existing_until: int = 0
    existing_as: str = ""
    # A first-sync import whose summary to the owner is not yet queued, and
    # what it has imported so far ("messages", "tickets", "customers").
    import_pending: bool = False
    imported: dict[str, int] = field(default_factory=dict)

    @property
    def history_until(self) -> int:
        """The highest UID that is imported as history (0: none)."""
        return self.existing_until if self.existing_as in ("history", "rescan") else 0


@dataclass
class Event(_Document):
    """Something that happened, waiting (durably) for the actions it triggers.

    Events are committed together with the records that caused them and
    removed only after their actions ran, so a crash in between replays them;
    actions are idempotent, so a replay sends nothing twice.
    """

    sequence: int
    name: str
    ticket_id: int | None = None
    message_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Invoice(_Document):
    """An issued invoice or credit note: immutable once issued, but for its payments and status.

    Amounts are decimal strings in the currency's minor unit (``"1234.50"``),
    never floats. ``bill_to`` is the customer as they were on the day of issue
    (name, email, address, tax id, state): an invoice does not change when the
    customer record does. The PDF bytes sit in the data directory at
    ``pdf_path`` with their ``pdf_sha256``; they are written once.
    """

    id: int
    number: str
    kind: str
    series: str
    sequence: int
    issued_on: str
    customer: str
    currency: str
    bill_to: dict[str, str] = field(default_factory=dict)
    ticket_id: int | None = None
    due_on: str | None = None
    # One dict per item: description, quantity, unit, unit_price, tax_rate,
    # hsn_sac, taxable, tax, total; and the tax breakdown rows.
    lines: list[dict[str, str]] = field(default_factory=list)
    tax_rows: list[dict[str, str]] = field(default_factory=list)
    net: str = "0"
    tax: str = "0"
    total: str = "0"
    reverse_charge: bool = False
    place_of_supply: str = ""
    reference: str = ""
    note: str = ""
    pdf_path: str = ""
    pdf_sha256: str = ""
    # "open", "paid" (nothing outstanding), "credited" (fully credited by
    # #refund), "void" (cancelled by #void); a credit note stays "open".
    status: str = "open"
    # Money received, net: the sum of ``payments`` (payments positive, money
    # paid back to the customer negative, see helpdesk.business.invoices).
    paid: str = "0"
    payments: list[dict[str, str]] = field(default_factory=list)
    # For a credit note: the number of the invoice it credits.
    credit_of: str | None = None
    # For an invoice: the total of its credit notes, and their numbers.
    credited: str = "0"
    credit_notes: list[str] = field(default_factory=list)
    created_at: str = ""
    # What asked for it (the owner's reply, a command-line request): asked
    # again after a crash, the same request finds its invoice instead of a second one.
    origin: str = ""
    # Issued, its mail not yet queued: the mail is queued only once the invoice
    # is committed, so no mail ever carries a number the store does not hold.
    mail_pending: bool = False
