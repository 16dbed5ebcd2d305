"""Who may act on a ticket: is this message really the owner's?

A message counts as the owner's only if it is from the owner's address AND
carries proof that it answers one of our notifications: a valid reply token
(owner purpose) in a recipient address, or an In-Reply-To/References naming
a notification Message-ID we generated. Optionally our own mail server's
``Authentication-Results`` (recognised by its authserv-id) must also show
DKIM or SPF passing for the owner's domain. Anything else from the owner's address is refused (and
quarantined by the caller), never acted on.
"""

from __future__ import annotations

import re

from helpdesk.intake.message import InboundMessage
from helpdesk.intake.threads import TicketLookup, TokenChecker, recipients

OWNER_PURPOSE = "owner"


class OwnerRejected(Exception):
    """The message claims to be the owner's but is not proven to be."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def authserv_id(header: str) -> str:
    """The authserv-id of an Authentication-Results value: its first word (RFC 8601)."""
    words = header.partition(";")[0].split()
    return words[0].lower() if words else ""


def _authenticated_by_server(message: InboundMessage, owner_email: str, server: str) -> bool:
    """DKIM or SPF pass for the owner's domain, in the verdict of our own mail server.

    Anyone can write an Authentication-Results header into a message, so only
    the ones naming ``server`` count (RFC 8601, section 5), and of those only
    the topmost: the receiving server adds its header above everything the
    sender wrote, so a look-alike further down is a forgery.
    """
    domain = owner_email.rpartition("@")[2].lower()
    ours = [header for header in message.authentication_results if authserv_id(header) == server]
    if not ours:
        return False
    text = ours[0].lower()
    # The domain must be the whole value (or the part after the @), not a
    # prefix or suffix of another domain such as acme.example.evil.net.
    end = r"(?=[\s;()]|$)"
    if re.search(rf"\bdkim=pass\b[^;]*header\.d=@?{re.escape(domain)}{end}", text):
        return True
    return bool(re.search(rf"\bspf=pass\b[^;]*smtp\.mailfrom=(?:[^\s;@]*@)?{re.escape(domain)}{end}", text))


def authenticate(
    message: InboundMessage,
    owner_email: str,
    store: TicketLookup,
    tokens: TokenChecker,
    authenticated_by: str | None = None,
) -> int:
    """The ticket a genuine owner reply belongs to; raise OwnerRejected otherwise.

    With ``authenticated_by`` (an authserv-id), that server's
    Authentication-Results must also show DKIM or SPF passing for the owner.
    """
    sender = message.sender.email if message.sender else ""
    token_ticket = tokens.ticket_in(recipients(message), OWNER_PURPOSE)
    cited = [store.ticket_for_message_id(mid) for mid in (message.in_reply_to, *message.references) if mid]
    cited_tickets = {ticket for ticket in cited if ticket is not None}
    if sender != owner_email:
        if token_ticket is not None:
            raise OwnerRejected(f"an owner reply token used by another sender ({sender or 'unknown'})")
        raise OwnerRejected("not from the owner's address")
    if token_ticket is not None and cited_tickets and token_ticket not in cited_tickets:
        raise OwnerRejected(
            f"reply token of ticket #{token_ticket} on a reply to ticket #{min(cited_tickets)}"
        )
    ticket_id = token_ticket
    if ticket_id is None:
        notified = [
            store.ticket_for_message_id(mid)
            for mid in (message.in_reply_to, *message.references)
            if mid and _is_notification(store, mid)
        ]
        ticket_id = next((ticket for ticket in notified if ticket is not None), None)
    if ticket_id is None or store.ticket(ticket_id) is None:
        raise OwnerRejected("from the owner's address without a valid reply token")
    if authenticated_by is not None and not _authenticated_by_server(message, owner_email, authenticated_by):
        raise OwnerRejected(
            f"owner reply without DKIM/SPF pass in Authentication-Results of {authenticated_by}"
        )
    return ticket_id


def authenticate_console(
    message: InboundMessage, owner_email: str, authenticated_by: str | None = None
) -> None:
    """Accept mail to the owner's command address only from the owner; raise OwnerRejected otherwise.

    The caller has checked that the genuine command address is a recipient (the
    token); here the sender must be the owner and, with ``authenticated_by``,
    our own server must have seen DKIM or SPF pass for the owner's domain:
    exactly what a ticket reply needs.
    """
    sender = message.sender.email if message.sender else ""
    if sender != owner_email:
        raise OwnerRejected(f"the owner's command address used by another sender ({sender or 'unknown'})")
    if authenticated_by is not None and not _authenticated_by_server(message, owner_email, authenticated_by):
        raise OwnerRejected(
            f"owner command without DKIM/SPF pass in Authentication-Results of {authenticated_by}"
        )


def _is_notification(store: TicketLookup, message_id: str) -> bool:
    ticket_id = store.ticket_for_message_id(message_id)
    ticket = store.ticket(ticket_id) if ticket_id is not None else None
    return ticket is not None and message_id in ticket.notifications
