"""Decide which ticket an inbound message belongs to.

In order of certainty:

1. a valid reply token in a recipient address (``support+t12-...@``);
2. In-Reply-To, then References (newest first), naming a Message-ID we
   stored or sent;
3. a subject tag ``[#12]``, but only if the sender already takes part in
   ticket 12 (a stranger cannot attach mail to someone else's ticket);
4. a conservative fallback: the same sender, the same subject once reply and
   forward prefixes are removed, and a ticket that is not closed or was closed
   at most 30 days ago;

otherwise the message opens a new ticket. The decision records which rule
matched, so ``helpdesk rules explain`` and the ticket history can say why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from helpdesk.intake.message import InboundMessage
from helpdesk.store.records import Ticket

REOPEN_WINDOW = timedelta(days=30)
TAG_PATTERN = re.compile(r"\[#(\d{1,12})\]")
# Reply and forward prefixes in the languages customers write in, with an
# optional counter such as "RE[2]:" or "Re^3:"; repeated prefixes are removed.
PREFIX_PATTERN = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|wg|fw|fwd|tr|rv|r|ref|odp|enc|res|resp)"
    r"(?:\s*[\[(^]?\s*\d+\s*[\])]?)?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and ticket tags."""
    previous = None
    text = subject
    while text != previous:
        previous = text
        text = PREFIX_PATTERN.sub("", TAG_PATTERN.sub("", text)).strip()
    return " ".join(text.split())


class TicketLookup(Protocol):
    """What the threader needs to know about existing tickets."""

    def ticket(self, ticket_id: int) -> Ticket | None: ...

    def ticket_for_message_id(self, message_id: str) -> int | None: ...

    def tickets_with_subject(self, customer_email: str, subject: str) -> list[int]: ...


class TokenChecker(Protocol):
    """Validates reply tokens in recipient addresses."""

    def ticket_in(self, addresses: list[str], purpose: str = "ticket") -> int | None: ...


@dataclass(frozen=True)
class ThreadDecision:
    """The ticket a message joins (None: a new one) and why."""

    ticket_id: int | None
    reason: str


def recipients(message: InboundMessage) -> list[str]:
    """Every address the message was sent to, envelope headers included."""
    found = [address.email for address in (*message.to, *message.cc)]
    found.extend(message.delivered_to)
    return found


def find_ticket(
    message: InboundMessage, store: TicketLookup, tokens: TokenChecker, now: datetime
) -> ThreadDecision:
    """Choose the ticket for ``message`` by the rules in this module's docstring."""
    ticket_id = tokens.ticket_in(recipients(message))
    if ticket_id is not None and store.ticket(ticket_id) is not None:
        return ThreadDecision(ticket_id, "reply token")

    if message.in_reply_to:
        ticket_id = store.ticket_for_message_id(message.in_reply_to)
        if ticket_id is not None:
            return ThreadDecision(ticket_id, f"In-Reply-To <{message.in_reply_to}>")
    for reference in reversed(message.references):
        ticket_id = store.ticket_for_message_id(reference)
        if ticket_id is not None:
            return ThreadDecision(ticket_id, f"References <{reference}>")

    sender = message.sender.email if message.sender else ""
    for match in TAG_PATTERN.finditer(message.subject):
        ticket = store.ticket(int(match.group(1)))
        if ticket is not None and sender in ticket.participants:
            return ThreadDecision(ticket.id, f"subject tag [#{ticket.id}] from a participant")

    subject = base_subject(message.subject)
    if sender and subject:
        for candidate in reversed(store.tickets_with_subject(sender, subject)):
            ticket = store.ticket(candidate)
            if ticket is None:
                continue
            if ticket.closed_at and now - datetime.fromisoformat(ticket.closed_at) > REOPEN_WINDOW:
                continue
            return ThreadDecision(ticket.id, "same sender and subject")
    return ThreadDecision(None, "new conversation")
