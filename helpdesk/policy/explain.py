"""``helpdesk rules explain``: what the rules would do with one message, and why.

The message is parsed and threaded against a read-only snapshot of the
store, exactly as the daemon would, then the rules of each event it would
raise are evaluated condition by condition. Ticket changes made by earlier
rules (a raised priority, a tag) are applied to a scratch copy so that later
rules see them, as they would for real. Nothing is written and nothing sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from helpdesk.config import Config
from helpdesk.errors import MessageRejected, UsageError
from helpdesk.intake.answers import read_answer
from helpdesk.intake.message import InboundMessage, parse_message
from helpdesk.intake.threads import base_subject, find_ticket
from helpdesk.owner.tokens import read_tokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.conditions import Facts
from helpdesk.policy.rules import ActionCall, Rule, RuleSet
from helpdesk.store.records import Ticket, add_tag, iso, remove_tag, utc_now
from helpdesk.store.store import Store


def _describe_call(call: ActionCall) -> str:
    params = " ".join(f"{key}={value}" for key, value in call.params.items())
    return f"{call.name} {params}".strip()


def _apply(call: ActionCall, ticket: Ticket) -> None:
    """Mirror the ticket changes of an action on the scratch ticket."""
    if call.name == "set-priority":
        ticket.priority = call.params["priority"]
    elif call.name in ("set-status", "close"):
        ticket.status = "closed" if call.name == "close" else call.params["status"]
    elif call.name == "add-tag":
        add_tag(ticket.tags, call.params["tag"])
    elif call.name == "remove-tag":
        remove_tag(ticket.tags, call.params["tag"])


def _customer(store: Store, email: str, new_ticket: bool) -> dict[str, Any]:
    """The customer record as the rules will see it, after ingestion counted a new ticket."""
    customer = store.customer(email)
    document = customer.to_doc() if customer else {"email": email, "ticket_count": 0, "tags": []}
    if new_ticket:
        document["ticket_count"] = int(document.get("ticket_count", 0)) + 1
    return document


def _facts(
    ticket: Ticket, message: InboundMessage, customer: dict[str, Any], hours: BusinessHours, now: datetime
) -> Facts:
    return Facts(
        ticket=ticket.to_doc(),
        now=now,
        hours=hours,
        customer=customer,
        subject=message.subject,
        text=message.text,
        has_attachment=bool(message.attachments),
    )


def _evaluate(rule: Rule, facts: Facts) -> tuple[bool, list[str]]:
    """Whether the rule holds, with a reason for every condition checked."""
    reasons = []
    for condition in rule.conditions:
        reason = condition.check(facts)
        if reason is None:
            reasons.append(f"{condition.key} does not hold")
            return False, reasons
        reasons.append(reason)
    return True, reasons


def explain(
    config: Config, rules: RuleSet, hours: BusinessHours, raw: bytes, ticket_id: int | None
) -> Iterator[str]:
    """Lines describing what the daemon would do with ``raw``."""
    now = utc_now()
    try:
        message = parse_message(raw)
    except MessageRejected as exc:
        yield f"The message would be quarantined: {exc.reason}"
        return
    store = Store(config.storage_path, readonly=True)
    sender = message.sender.email if message.sender else ""
    yield f"Message <{message.message_id}> from {sender or '(no sender)'}: {message.subject!r}"
    if message.is_automatic:
        yield f"Automatic mail ({message.automatic_reason}): recorded if it threads; no rules run."
        return
    if not sender:
        yield "The message would be quarantined: no sender address."
        return
    if sender == config.owner.email:
        yield "From the owner's address: an owner reply (commands, relay) if its reply token is valid."
        return
    events = ["message.received"]
    if ticket_id is not None:
        found = store.ticket(ticket_id)
        if found is None:
            raise UsageError(f"no ticket #{ticket_id}")
        ticket = replace(found, tags=list(found.tags), fired=dict(found.fired))
        yield f"As a message on ticket #{ticket.id} (--ticket)."
    else:
        decision = find_ticket(message, store, read_tokens(config.storage_path, config.business.email), now)
        found = store.ticket(decision.ticket_id) if decision.ticket_id is not None else None
        if found is not None:
            ticket = replace(found, tags=list(found.tags), fired=dict(found.fired))
            yield f"Threads into ticket #{ticket.id} ({decision.reason})."
        else:
            stamp = iso(now)
            ticket = Ticket(0, sender, base_subject(message.subject) or "(no subject)", stamp, stamp)
            yield "Opens a new ticket."
            events.append("ticket.created")
    reading = read_answer(ticket, message.text, message.in_reply_to) if sender == ticket.customer else None
    if reading is not None:
        yield f"Reads as an {reading.reason}."
        if reading.kind == "rating":
            ticket.feedback = {"score": reading.score, "comment": reading.comment, "at": iso(now)}
        if not reading.reopen:
            # The answer is all the message says: it is recorded, nothing else fires.
            events = ["feedback.received"] if reading.kind == "rating" else []
        elif reading.kind == "rating":
            events.insert(0, "feedback.received")
    if ticket.status == "closed" and (reading is None or reading.reopen):
        events.append("ticket.reopened")
    if reading is None or reading.reopen:
        ticket.status = "open" if ticket.status in ("closed", "pending") else ticket.status
    ticket.last_customer_at = iso(now)
    customer = _customer(store, ticket.customer, "ticket.created" in events)
    for event in [*events, "tick"]:
        yield f"\nEvent {event}:" if event != "tick" else "\nTime rules (tick), as of now:"
        stopped = False
        for rule in rules.for_event(event):
            if stopped:
                yield f"  (stopped) {rule.name}"
                continue
            holds, reasons = _evaluate(rule, _facts(ticket, message, customer, hours, now))
            where = Path(rule.file).name
            if not holds:
                yield f"  no     {rule.name} ({where}): {'; '.join(reasons)}"
                continue
            yield f"  FIRES  {rule.name} ({where}): {'; '.join(reasons) or 'no conditions'}"
            for call in rule.actions:
                note = ""
                if call.name == "reply" and call.params.get("template") == "acknowledge":
                    duration = rules.response_time(_facts(ticket, message, customer, hours, now))
                    if duration is not None:
                        note = f" (promises an answer by {hours.describe(hours.add(now, duration), now)})"
                yield f"         -> {_describe_call(call)}{note}"
                _apply(call, ticket)
                stopped = stopped or call.name == "stop"
    yield "\nNothing was sent or changed."
