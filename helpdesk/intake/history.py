"""Finishing a first-sync import: settle the imported conversations and sum them up.

Mail that was in the folder before the daemon first saw it is recorded as
history (see :mod:`helpdesk.intake.ingest`). Once all of it is in, each
imported conversation gets its place: one whose last message is ours, or
whose last message is older than :data:`STALE_AFTER`, is closed; the rest
stay open, and those of the last ``recent_days`` are the unanswered
conversations the owner is told about, in one summary mail.

Nothing here sends mail or raises events: closing an imported conversation
is bookkeeping, not news, so no ``ticket.closed`` rule fires for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.store.records import FolderState, iso
from helpdesk.store.store import Store

STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class Unanswered:
    """An imported conversation waiting for the business's answer."""

    ticket_id: int
    customer: str
    name: str
    subject: str
    since: str
    waiting_seconds: float

    @property
    def age(self) -> str:
        """How long it has waited, in words a person says: "3 days", "5 hours"."""
        return age_text(self.waiting_seconds)


def age_text(seconds: float) -> str:
    """A duration in the largest whole unit that fits: minutes, hours or days."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now"


@dataclass
class ImportSummary:
    """What a first sync imported, for the owner's summary mail."""

    folder: str
    messages: int
    tickets: int
    customers: int
    closed: int = 0
    open: int = 0
    recent_days: int = 14
    unanswered: list[Unanswered] = field(default_factory=list)


def finish_import(store: Store, state: FolderState, now: datetime, recent_days: int) -> ImportSummary:
    """Close what is answered or stale, list what waits; the caller commits and sends."""
    summary = ImportSummary(
        folder=state.folder,
        messages=state.imported.get("messages", 0),
        tickets=state.imported.get("tickets", 0),
        customers=state.imported.get("customers", 0),
        recent_days=recent_days,
    )
    stamp = iso(now)
    stale_before = iso(now - STALE_AFTER)
    recent_after = iso(now - timedelta(days=recent_days))
    imported = [doc for doc in store.ticket_documents() if doc.get("imported") and doc["status"] != "closed"]
    for doc in imported:
        ticket = store.ticket(int(doc["id"]))
        assert ticket is not None
        messages = [message for message in store.messages(ticket.id) if message.direction in ("in", "out")]
        if not messages:
            continue
        last = max(messages, key=lambda message: message.date)
        if last.direction == "out" or last.date < stale_before:
            why = "answered" if last.direction == "out" else "no message for 30 days"
            ticket.status = "closed"
            ticket.closed_at = last.date
            ticket.record(stamp, "status", f"closed: imported conversation, {why}")
            store.save_ticket(ticket)
            summary.closed += 1
            continue
        summary.open += 1
        if last.date >= recent_after:
            customer = store.customer(ticket.customer)
            summary.unanswered.append(
                Unanswered(
                    ticket_id=ticket.id,
                    customer=ticket.customer,
                    name=customer.name if customer else "",
                    subject=ticket.subject,
                    since=last.date,
                    waiting_seconds=(now - datetime.fromisoformat(last.date)).total_seconds(),
                )
            )
    summary.unanswered.sort(key=lambda item: item.since)
    return summary
