"""The owner's replies: who may act on a ticket, and what the reply asks for.

A message counts as the owner's only if it is from the owner's address AND
carries proof that it answers one of our notifications: a valid reply token
(owner purpose) in a recipient address, or an In-Reply-To/References naming
a notification Message-ID we generated. Optionally our own mail server's
``Authentication-Results`` (recognised by its authserv-id) must also show
DKIM or SPF passing for the owner's domain. Anything else from the owner's address is refused (and
quarantined by the caller), never acted on.

The owner's new text (quoted history and signature already removed) may hold
command lines: a line starting with ``#``. They are parsed here into a
:class:`ReplyPlan`; the actions apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.message import InboundMessage
from helpdesk.records import PRIORITIES, TAG_NAME
from helpdesk.threads import TicketLookup, TokenChecker, recipients

OWNER_PURPOSE = "owner"
COMMAND_LINE = re.compile(r"^#([a-z]+)\b[ \t]*(.*)$", re.IGNORECASE)
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
        # Priorities and tags are lower case: "#tag VIP" and "#tag vip" are one tag.
        normalised = argument.lower() if name in ("priority", "tag", "untag") else argument
        plan.commands.append(Command(name, normalised, line.strip()))
    plan.body = "\n".join(body_lines).strip()
    return plan


def _check(name: str, argument: str) -> str | None:
    """Why a command line is malformed, or None if it is fine."""
    if name in ("close", "reopen", "pending", "nosend"):
        return "takes no argument" if argument else None
    if name == "priority":
        return None if argument.lower() in PRIORITIES else f"priority must be one of {', '.join(PRIORITIES)}"
    if name in ("tag", "untag"):
        return None if TAG_NAME.fullmatch(argument) else "needs a tag name (letters, digits, - . _)"
    if name == "note":
        return None
    return "unknown command"
