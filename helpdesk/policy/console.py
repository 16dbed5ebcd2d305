"""Answers to the owner's command address: lists, searches, a ticket's history, by mail.

:mod:`helpdesk.owner.console` reads what the owner asked; this module works
out the answers from the store and sends them in one ``console-answer`` mail.
Every ticket in an answer carries its own owner reply address, so the owner
answers a customer straight from the list; the answer's own Reply-To is the
command address again (or, for ``#show`` of one ticket, that ticket's reply
address, so that replying answers the customer).

An answer is sent once per question mail (keyed by its Message-ID), so a
replay after a crash sends nothing twice. Reading never changes a ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.business.customers import customer_document
from helpdesk.business.invoices import format_amount, outstanding
from helpdesk.clock.digest import DEFAULT_RESPONSE_TIME
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.commands import COMMAND_HELP
from helpdesk.owner.console import CONSOLE_HELP, ConsolePlan, ConsoleRequest
from helpdesk.policy.actions import Actions
from helpdesk.policy.businesstime import BusinessHours

__all__ = ["ANSWER_LIMIT", "FIND_LIMIT", "Console", "TicketRow"]

# Tickets listed per answer (the rest are counted), and matches of #find.
ANSWER_LIMIT = 30
FIND_LIMIT = 20
# Characters of each message shown by #show.
MESSAGE_LIMIT = 1500
_LIST_TITLES = {
    "open": "Open tickets (not closed)",
    "pending": "Waiting on the customer",
    "overdue": "Overdue: unanswered for over " + str(DEFAULT_RESPONSE_TIME),
    "new": "New tickets, not answered yet",
    "mine": "Waiting for your answer",
}


@dataclass(frozen=True)
class TicketRow:
    """One ticket as an answer lists it, with the address that answers it."""

    id: int
    subject: str
    customer: str
    name: str
    status: str
    priority: str
    updated_at: str
    waiting_since: str | None
    promise_due: str | None
    reply_address: str


@dataclass
class Answer:
    """One section of an answer: a title, a one-line summary, tickets, lines of text, messages."""

    title: str
    summary: str = ""
    tickets: list[TicketRow] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


def _waiting_since(doc: dict[str, Any]) -> str | None:
    """The customer's last message if the owner has not answered it since (and the ticket is not closed)."""
    customer_at, owner_at = doc.get("last_customer_at"), doc.get("last_owner_at")
    if doc.get("status") == "closed" or not customer_at or (owner_at and owner_at >= customer_at):
        return None
    return str(customer_at)


class Console:
    """Answers mail to the owner's command address."""

    def __init__(self, actions: Actions, hours: BusinessHours, send_digest: Callable[[str], bool]) -> None:
        self.actions = actions
        self.store = actions.store
        self.hours = hours
        self.send_digest = send_digest

    def answer(self, plan: ConsolePlan, message_id: str, original_text: str) -> None:
        """Work out and send the answers to one mail (``message_id`` keys it: sent once)."""
        key = f"console:{message_id}"
        answers = [self._answer(request, key) for request in plan.requests]
        shown = [request for request in plan.requests if request.name == "show"]
        ticket = None
        if len(shown) == 1 and not plan.errors:
            ticket = self.store.ticket(int(shown[0].argument.lstrip("#")))
        self.actions.console_answer(
            key,
            [asdict(answer) for answer in answers],
            list(plan.errors),
            original_text,
            ticket,
        )

    def _answer(self, request: ConsoleRequest, key: str) -> Answer:
        if request.name == "list":
            return self._list(request.argument)
        if request.name == "find":
            return self._find(request.argument)
        if request.name == "show":
            return self._show(int(request.argument.lstrip("#")))
        if request.name == "customer":
            return self._customer(request.argument.lower())
        if request.name == "invoices":
            return self._invoices(request.argument or "open")
        if request.name == "digest":
            self.send_digest(f"digest:{key}")
            return Answer("Digest", "The digest is on its way to you in a mail of its own.")
        return self._help()

    # -- the answers -------------------------------------------------------------

    def _row(self, doc: dict[str, Any]) -> TicketRow:
        customer = self.store.customer(str(doc["customer"]))
        promise = doc.get("promise") or {}
        return TicketRow(
            id=int(doc["id"]),
            subject=str(doc.get("subject", "")),
            customer=str(doc["customer"]),
            name=customer.name if customer else "",
            status=str(doc.get("status", "new")),
            priority=str(doc.get("priority", "normal")),
            updated_at=str(doc.get("updated_at", doc.get("created_at", ""))),
            waiting_since=_waiting_since(doc),
            promise_due=promise.get("due"),
            reply_address=self.actions.tokens.address(int(doc["id"]), OWNER_PURPOSE),
        )

    def _selected(self, choice: str) -> Iterator[dict[str, Any]]:
        """The ticket documents a ``#list`` choice selects."""
        now = self.actions.clock()
        for doc in self.store.ticket_documents():
            status = doc.get("status")
            if choice == "open":
                # As in the digest: every ticket not closed, waiting on either side.
                if status != "closed":
                    yield doc
                continue
            if choice in ("pending", "new"):
                if status == choice:
                    yield doc
                continue
            since = _waiting_since(doc)
            if since is None:
                continue
            if choice == "mine" or self.hours.elapsed(
                datetime.fromisoformat(since), now, DEFAULT_RESPONSE_TIME
            ):
                yield doc

    def _list(self, choice: str) -> Answer:
        docs = list(self._selected(choice))
        # Waiting tickets longest-waiting first; others by their last change, newest first.
        if choice in ("overdue", "mine"):
            docs.sort(key=lambda doc: str(_waiting_since(doc)))
        else:
            docs.sort(key=lambda doc: str(doc.get("updated_at", "")), reverse=True)
        summary = f"{len(docs)} ticket{'s' if len(docs) != 1 else ''}"
        if len(docs) > ANSWER_LIMIT:
            summary += f", the first {ANSWER_LIMIT} shown"
        return Answer(_LIST_TITLES[choice], summary, [self._row(doc) for doc in docs[:ANSWER_LIMIT]])

    def _find(self, words_text: str) -> Answer:
        words = [word.casefold() for word in words_text.split()]
        docs = sorted(
            self.store.ticket_documents(), key=lambda doc: str(doc.get("updated_at", "")), reverse=True
        )
        found = []
        for doc in docs:
            if self._matches(doc, words):
                found.append(doc)
                if len(found) == FIND_LIMIT:
                    break
        summary = f"{len(found)} ticket{'s' if len(found) != 1 else ''} with {words_text!r}"
        if len(found) == FIND_LIMIT:
            summary += f" (the newest {FIND_LIMIT}; add words to narrow it down)"
        return Answer(f"Found: {words_text}", summary, [self._row(doc) for doc in found])

    def _matches(self, doc: dict[str, Any], words: list[str]) -> bool:
        """Whether every word is in the ticket's subject, customer or messages (read only if needed)."""
        customer = self.store.customer(str(doc["customer"]))
        heading = f"{doc.get('subject', '')} {doc['customer']} {customer.name if customer else ''}".casefold()
        missing = [word for word in words if word not in heading]
        if not missing:
            return True
        texts = " ".join(message.text for message in self.store.messages(int(doc["id"]))).casefold()
        return all(word in texts for word in missing)

    def _show(self, ticket_id: int) -> Answer:
        ticket = self.store.ticket(ticket_id)
        if ticket is None:
            return Answer(f"Ticket #{ticket_id}", "There is no such ticket.")
        row = self._row(ticket.to_doc())
        lines = [f"Customer: {row.name + ' ' if row.name else ''}<{ticket.customer}>"]
        lines.append(f"Status {ticket.status}, priority {ticket.priority}, opened {ticket.created_at}")
        if ticket.tags:
            lines.append("Tags: " + ", ".join(ticket.tags))
        if ticket.promise:
            what = ticket.promise.get("what") or "(no text given)"
            lines.append(f"Promised by {ticket.promise['due']}: {what}")
        if ticket.cause:
            lines.append(f"Cause: {ticket.cause}")
        messages = [
            {
                "direction": message.direction,
                "from": message.sender,
                "date": message.date,
                "subject": message.subject,
                "text": message.text[:MESSAGE_LIMIT] + ("…" if len(message.text) > MESSAGE_LIMIT else ""),
            }
            for message in self.store.messages(ticket_id)
        ]
        return Answer(f"Ticket #{ticket_id}: {ticket.subject}", "", [row], lines, messages)

    def _customer(self, email: str) -> Answer:
        customer = self.store.customer(email)
        if customer is None:
            return Answer(f"Customer {email}", "No customer with that address has written yet.")
        tickets = [found for found in map(self.store.ticket, self.store.tickets_of(email)) if found]
        document = customer_document(customer, tickets, self.store.invoices_of(email))
        lines = [f"{customer.name or '(no name)'} <{customer.email}>"]
        lines.append(f"First contact {customer.first_contact}, last contact {customer.last_contact}")
        for label, value in (
            ("Address", customer.postal_address),
            ("Tax id", customer.tax_id),
            ("Language", customer.language),
            ("Birthday", customer.birthday),
            ("Tags", ", ".join(customer.tags)),
        ):
            if value:
                lines.append(f"{label}: {value}")
        lines.append(f"Spent {document['total_spent']}, outstanding {document['outstanding']}")
        if customer.opted_out:
            lines.append("Wants no thank-you notes, surveys or greetings (opted out)")
        lines.extend(f"Rated {item['score']}/5: {item.get('comment', '')}" for item in customer.ratings[-3:])
        lines.extend(f"Note: {note['text']}" for note in customer.notes[-3:])
        rows = [self._row(ticket.to_doc()) for ticket in reversed(tickets[-ANSWER_LIMIT:])]
        return Answer(f"Customer {customer.name or email}", f"{len(tickets)} ticket(s)", rows, lines)

    def _invoices(self, choice: str) -> Answer:
        today = self.actions.clock().astimezone(self.hours.timezone).date().isoformat()
        locale = self.actions.config.business.locale
        chosen = [
            invoice
            for invoice in self.store.invoices()
            if invoice.kind == "invoice"
            and invoice.status == "open"
            and (choice == "open" or (invoice.due_on is not None and invoice.due_on < today))
        ]
        lines = [
            f"{invoice.number}  {invoice.customer}  "
            f"{format_amount(str(outstanding(invoice)), invoice.currency, locale)} to pay"
            + (f", due {invoice.due_on}" if invoice.due_on else "")
            + (f" (ticket #{invoice.ticket_id})" if invoice.ticket_id is not None else "")
            for invoice in chosen
        ]
        title = "Open invoices" if choice == "open" else "Overdue invoices"
        return Answer(title, f"{len(chosen)} invoice{'s' if len(chosen) != 1 else ''}", lines=lines)

    def _help(self) -> Answer:
        lines = ["Write to this address, one command per line:", *CONSOLE_HELP, ""]
        lines += ["In a reply to a ticket:", *COMMAND_HELP]
        saved = self.actions.templates.saved_replies()
        if saved:
            lines += ["", "Saved replies (#use NAME): " + ", ".join(saved)]
        return Answer("Help", "", lines=lines)
