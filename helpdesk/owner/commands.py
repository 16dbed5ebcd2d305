"""What an owner reply asks for: command lines and the body for the customer.

The owner's new text (quoted history and signature already removed) may hold
command lines: a line starting with ``#``. They are parsed here into a
:class:`ReplyPlan`; the actions apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.business.customers import CUSTOMER_HELP, CustomerFieldError, parse_customer_fields
from helpdesk.store.records import PRIORITIES, TAG_NAME

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
    CUSTOMER_HELP,
)


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
    if name == "customer":
        try:
            parse_customer_fields(argument)
        except CustomerFieldError as exc:
            return str(exc)
        return None
    return "unknown command"
