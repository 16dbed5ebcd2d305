"""What the owner asks of the helpdesk by mail: the commands of the owner's command address.

Every owner notification and the digest carry the owner's command address
(``support+o-<hmac>@…``, see :meth:`helpdesk.owner.tokens.ReplyTokens.console_address`).
A mail to it from the owner holds command lines, answered by mail:

* ``#list open|pending|overdue|new|mine`` — tickets in that state (``mine``:
  every ticket waiting for the owner's answer);
* ``#find WORDS`` — tickets whose subject, text or customer hold every word;
* ``#show 12`` — one ticket's history;
* ``#customer EMAIL`` — a customer's record;
* ``#invoices open|overdue`` — invoices not yet paid;
* ``#digest`` — the weekly digest, now;
* ``#help`` — this list.

``#new customer@example.com Subject line`` as the first command line starts
a conversation instead: the text below it goes to the customer, and command
lines in it (``#priority``, ``#due``, ``#use``…) act on the new ticket.

This module only reads the mail (:func:`plan_console`); answering is the
policy layer's job (:mod:`helpdesk.policy.console`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.owner.commands import COMMAND_LINE

__all__ = ["CONSOLE_HELP", "ConsolePlan", "ConsoleRequest", "NewConversation", "plan_console"]

CONSOLE_HELP = (
    "#list open|pending|overdue|new|mine",
    "#find WORDS (subject, text and customer; newest first)",
    "#show TICKET-NUMBER",
    "#customer EMAIL",
    "#invoices open|overdue",
    "#digest (the weekly digest, now)",
    "#new customer@example.com Subject line (then your message below it)",
    "#help",
)
LIST_CHOICES = ("open", "pending", "overdue", "new", "mine")
INVOICE_CHOICES = ("open", "overdue")
# A plain address: what #new and #customer take (no display name, no angle brackets).
ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+")


@dataclass(frozen=True)
class ConsoleRequest:
    """One question to the helpdesk: ``name`` (list, find, …), its argument, the line as written."""

    name: str
    argument: str
    line: str


@dataclass(frozen=True)
class NewConversation:
    """``#new``: write to ``email`` about ``subject``; ``text`` is the rest of the mail."""

    email: str
    subject: str
    text: str


@dataclass
class ConsolePlan:
    """What a mail to the command address asks for: questions, or a new conversation, and mistakes."""

    requests: list[ConsoleRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new: NewConversation | None = None


def _check(name: str, argument: str) -> str | None:
    """Why a console command line is malformed, or None if it is fine."""
    if name == "list":
        return None if argument in LIST_CHOICES else f"say which: {' | '.join(LIST_CHOICES)}"
    if name == "invoices":
        return None if argument in ("", *INVOICE_CHOICES) else f"say which: {' | '.join(INVOICE_CHOICES)}"
    if name == "find":
        return None if argument else "needs the words to look for"
    if name == "show":
        return None if argument.lstrip("#").isdigit() else "needs a ticket number, e.g. #show 12"
    if name == "customer":
        example = "needs the customer's address, e.g. #customer zoe@example.com"
        return None if ADDRESS.fullmatch(argument) else example
    if name in ("digest", "help"):
        return "takes no argument" if argument else None
    return "unknown command here (#help lists what the command address understands)"


def _new(argument: str, rest: list[str]) -> NewConversation | str:
    """A ``#new`` line and the text below it; a string says what is wrong."""
    address, _, subject = argument.partition(" ")
    address = address.strip("<>").lower()
    if not ADDRESS.fullmatch(address):
        return "needs the customer's address first, e.g. #new zoe@example.com Your order"
    if not subject.strip():
        return "needs a subject after the address, e.g. #new zoe@example.com Your order"
    text = "\n".join(rest).strip()
    if not text:
        return "has no message below it: write what the customer should read under the #new line"
    return NewConversation(address, subject.strip(), text)


def plan_console(text: str) -> ConsolePlan:
    """Read the owner's new text sent to the command address."""
    plan = ConsolePlan()
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = COMMAND_LINE.match(line.strip())
        if match is None:
            continue
        name, argument = match.group(1).lower(), " ".join(match.group(2).split())
        if name == "new" and not plan.requests:
            found = _new(argument, lines[index + 1 :])
            if isinstance(found, str):
                plan.errors.append(f"{line.strip()}: {found}")
            else:
                plan.new = found
            return plan
        if name in ("list", "invoices"):
            argument = argument.lower()
        problem = _check(name, argument)
        if problem:
            plan.errors.append(f"{line.strip()}: {problem}")
        else:
            plan.requests.append(ConsoleRequest(name, argument, line.strip()))
    if not plan.requests and not plan.errors:
        plan.errors.append("no command found: write one per line, e.g. #list open (#help lists them all)")
    return plan
