"""What an owner reply asks for: command lines and the body for the customer.

The owner's new text (quoted history and signature already removed) may hold
command lines: a line starting with ``#``. They are parsed here into a
:class:`ReplyPlan`; the actions apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from helpdesk.business.customers import CUSTOMER_HELP, CustomerFieldError, parse_customer_fields
from helpdesk.business.invoicemath import InvoiceError
from helpdesk.business.invoices import (
    INVOICE_HELP,
    PAID_HELP,
    REFUND_HELP,
    VOID_HELP,
    parse_order,
    parse_paid,
    parse_refund,
    parse_void,
)
from helpdesk.store.records import PRIORITIES, TAG_NAME

COMMAND_LINE = re.compile(r"^#([a-z]+)\b[ \t]*(.*)$", re.IGNORECASE)
# What a "#word" that is no command is told (an answer written from the mailbox ignores it).
UNKNOWN_COMMAND = "unknown command"
# A saved reply's name: templates/replies/NAME.txt.
SAVED_REPLY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DUE_EXAMPLE = '"#due friday" or "#due 2026-12-18 14:00"'
# The line a "#use NAME" command leaves in the body until the saved reply replaces it.
USE_LINE = re.compile(r"^#use ([a-z0-9][a-z0-9_-]{0,63})$")
COMMAND_HELP = (
    "#close",
    "#reopen",
    "#pending",
    "#priority low|normal|high|urgent",
    "#tag NAME",
    "#untag NAME",
    "#note TEXT (internal: nothing goes to the customer)",
    "#nosend (apply the commands only)",
    "#use NAME (put in a saved reply; your own words may come before or after it)",
    '#due friday | tomorrow 14:00 | 3 days | 2026-12-18 14:00 "what you promised"',
    "#done (the promise is kept)",
    "#cause NAME (what the complaint was about)",
    "#thank (send the customer a personal thank-you note)",
    "#optout / #optin (the customer wants no / again thank-you notes, surveys, greetings)",
    CUSTOMER_HELP,
    INVOICE_HELP,
    PAID_HELP,
    REFUND_HELP,
    VOID_HELP,
)
# The invoice lifecycle commands and what checks their syntax (amounts against
# the invoice are checked when they are applied).
LIFECYCLE_PARSERS = {"paid": parse_paid, "refund": parse_refund, "void": parse_void}


@dataclass(frozen=True)
class Command:
    """One command line from the owner: ``name`` and its argument."""

    name: str
    argument: str
    line: str
    # The item lines below an ``#invoice`` line (each holds a ``|``).
    items: tuple[str, ...] = ()


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


def plan_reply(text: str) -> ReplyPlan:
    """Split the owner's new text into commands and the body for the customer."""
    body_lines: list[str] = []
    plan = ReplyPlan(body="")
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        match = COMMAND_LINE.match(line.strip())
        if match is None:
            body_lines.append(line)
            continue
        name, argument = match.group(1).lower(), match.group(2).strip()
        items: tuple[str, ...] = ()
        if name == "invoice":
            # The item lines follow the command, one per line, each with a "|".
            start = index
            while index < len(lines) and "|" in lines[index]:
                index += 1
            items = tuple(item.strip() for item in lines[start:index])
        problem = _check(name, argument, items)
        if problem:
            plan.errors.append(f"{line.strip()}: {problem}")
            continue
        if name == "use":
            # The saved reply goes where the line stands: the line stays in
            # the body until the saved text is put in its place (USE_LINE).
            body_lines.append(f"#use {argument.lower()}")
        if name == "note":
            plan.note = True
        elif name == "nosend":
            plan.nosend = True
        # Priorities and tags are lower case: "#tag VIP" and "#tag vip" are one tag.
        normalised = argument.lower() if name in ("priority", "tag", "untag", "use", "cause") else argument
        plan.commands.append(Command(name, normalised, line.strip(), items))
    plan.body = "\n".join(body_lines).strip()
    return plan


def _check(name: str, argument: str, items: tuple[str, ...] = ()) -> str | None:
    """Why a command line is malformed, or None if it is fine."""
    if name in ("close", "reopen", "pending", "nosend", "thank", "optout", "optin", "done"):
        return "takes no argument" if argument else None
    if name == "use":
        return None if SAVED_REPLY_NAME.fullmatch(argument.lower()) else "needs the name of a saved reply"
    if name == "due":
        return None if argument else "needs a time, e.g. " + DUE_EXAMPLE
    if name == "cause":
        return None if TAG_NAME.fullmatch(argument.lower()) else "needs a cause name (letters, digits, - . _)"
    if name == "priority":
        return None if argument.lower() in PRIORITIES else f"priority must be one of {', '.join(PRIORITIES)}"
    if name in ("tag", "untag"):
        return None if TAG_NAME.fullmatch(argument) else "needs a tag name (letters, digits, - . _)"
    if name == "note":
        return None
    if name == "customer":
        try:
            parse_customer_fields(argument)
        except CustomerFieldError as exc:
            return str(exc)
        return None
    if name == "invoice":
        try:
            # The rate only fills in lines without one: any rate checks the lines.
            parse_order(argument, list(items), Decimal(0))
        except InvoiceError as exc:
            return f"{exc} (nothing was invoiced, no number was used)"
        return None
    if name in LIFECYCLE_PARSERS:
        try:
            LIFECYCLE_PARSERS[name](argument)
        except InvoiceError as exc:
            return f"{exc} (nothing was recorded)"
        return None
    return UNKNOWN_COMMAND
