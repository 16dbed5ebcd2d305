"""The owner's replies: who may act on a ticket, and what the reply asks for.

A message counts as the owner's only if it is from the owner's address AND
carries proof that it answers one of our notifications: a valid reply token
(owner purpose) in a recipient address, or an In-Reply-To/References naming
a notification Message-ID we generated. Optionally the server's
``Authentication-Results`` must also show DKIM or SPF passing for the
owner's domain. Anything else from the owner's address is refused (and
quarantined by the caller), never acted on.

The owner's new text (quoted history and signature already removed) may hold
command lines: a line starting with ``#``. They are parsed here into a
:class:`ReplyPlan`; the actions apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.message import InboundMessage
from helpdesk.records import PRIORITIES
from helpdesk.threads import TicketLookup, TokenChecker, recipients

OWNER_PURPOSE = "owner"
COMMAND_LINE = re.compile(r"^#([a-z]+)\b[ \t]*(.*)$", re.IGNORECASE)
TAG_NAME = re.compile(r"^[\w][\w.-]{0,39}$")
COMMAND_HELP = (
    "#close",
    "#reopen",
    "#pending",
    "#priority low|normal|high|urgent",
    "#tag NAME",
    "#untag NAME",
    "#note TEXT (internal: nothing goes to the customer)",
    "#nosend (apply the commands only)",
)


class OwnerRejected(Exception):
    """The message claims to be the owner's but is not proven to be."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Command:
    """One command line from the owner: ``name`` and its argument."""

    name: str
    argument: str
    line: str


@dataclass
class ReplyPlan:
    """What an owner reply asks for."""

    body: str
    commands: list[Command] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    note: bool = False
    nosend: bool = False

    @property
    def relays(self) -> bool:
        """Whether the body goes to the customer."""
        return bool(self.body) and not (self.note or self.nosend or self.errors)


def _authenticated_by_server(message: InboundMessage, owner_email: str) -> bool:
    """DKIM or SPF pass for the owner's domain in Authentication-Results."""
    domain = owner_email.rpartition("@")[2].lower()
    for header in message.authentication_results:
        text = header.lower()
        # The domain must be the whole value (or the part after the @), not a
        # prefix or suffix of another domain such as acme.example.evil.net.
        end = r"(?=[\s;()]|$)"
        if re.search(rf"\bdkim=pass\b[^;]*header\.d=@?{re.escape(domain)}{end}", text):
            return True
        if re.search(rf"\bspf=pass\b[^;]*smtp\.mailfrom=(?:[^\s;@]*@)?{re.escape(domain)}{end}", text):
            return True
    return False


def authenticate(
    message: InboundMessage,
    owner_email: str,
    require_authenticated: bool,
    store: TicketLookup,
    tokens: TokenChecker,
) -> int:
    """The ticket a genuine owner reply belongs to; raise OwnerRejected otherwise."""
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
    if require_authenticated and not _authenticated_by_server(message, owner_email):
        raise OwnerRejected("owner reply without DKIM/SPF pass in Authentication-Results")
    return ticket_id


def _is_notification(store: TicketLookup, message_id: str) -> bool:
    ticket_id = store.ticket_for_message_id(message_id)
    ticket = store.ticket(ticket_id) if ticket_id is not None else None
    return ticket is not None and message_id in ticket.notifications


def plan_reply(text: str) -> ReplyPlan:
    """Split the owner's new text into commands and the body for the customer."""
    body_lines: list[str] = []
    plan = ReplyPlan(body="")
    for line in text.splitlines():
        match = COMMAND_LINE.match(line.strip())
        if match is None:
            body_lines.append(line)
            continue
        name, argument = match.group(1).lower(), match.group(2).strip()
        problem = _check(name, argument)
        if problem:
            plan.errors.append(f"{line.strip()}: {problem}")
            continue
        if name == "note":
            plan.note = True
        elif name == "nosend":
            plan.nosend = True
        plan.commands.append(
            Command(name, argument.lower() if name == "priority" else argument, line.strip())
        )
    plan.body = "\n".join(body_lines).strip()
    return plan


def _check(name: str, argument: str) -> str | None:
    """Why a command line is malformed, or None if it is fine."""
    if name in ("close", "reopen", "pending", "nosend"):
        return "takes no argument" if argument else None
    if name == "priority":
        return None if argument.lower() in PRIORITIES else f"priority must be one of {', '.join(PRIORITIES)}"
    if name in ("tag", "untag"):
        return None if TAG_NAME.match(argument) else "needs a tag name (letters, digits, - . _)"
    if name == "note":
        return None
    return "unknown command"
