"""Run the actions for queued events, then forget the events.

Events come from ingestion (committed with the records that caused them).
Each is handled, then marked done in the same store commit as the changes
its actions made; actions are idempotent, so an event replayed after a crash
sends nothing twice.

The policy here is the built-in default: acknowledge new tickets, tell the
owner about every customer message, act on the owner's replies, warn the
owner about mail that only pretends to be theirs, and report bounces and
delivery failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from helpdesk.actions import Actions
from helpdesk.outbox import OutboxItem
from helpdesk.owner import plan_reply
from helpdesk.records import Event, Ticket, iso
from helpdesk.store import Store

log = logging.getLogger(__name__)

STATUS_COMMANDS = {"close": "closed", "reopen": "open", "pending": "pending"}


class Dispatcher:
    """Maps each event to its actions."""

    def __init__(self, store: Store, actions: Actions, data_dir: Path, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.actions = actions
        self.data_dir = data_dir
        self.clock = clock

    def run(self) -> int:
        """Handle every pending event; returns how many were handled."""
        events = self.store.pending_events()
        for event in events:
            try:
                self._handle(event)
            except Exception:  # One failing event must not block the others.
                log.exception("event %s for ticket %s failed", event.name, event.ticket_id)
            self.store.events_done(event.sequence)
        if events:
            self.store.commit()
        return len(events)

    def _ticket(self, event: Event) -> Ticket | None:
        return self.store.ticket(event.ticket_id) if event.ticket_id is not None else None

    def _handle(self, event: Event) -> None:
        ticket = self._ticket(event)
        message = None
        if ticket is not None and event.message_id is not None:
            message = next((m for m in self.store.messages(ticket.id) if m.id == event.message_id), None)
        if event.name == "ticket.created" and ticket is not None:
            first = self.store.messages(ticket.id)
            if first:
                self.actions.acknowledge(ticket, first[0])
        elif event.name == "message.received" and ticket is not None and message is not None:
            self.actions.notify_owner(ticket, message)
        elif event.name == "owner.replied" and ticket is not None and message is not None:
            self._owner_replied(ticket, message, str(event.data.get("text", "")))
        elif event.name == "owner.rejected":
            data = event.data
            self.actions.warn_owner(
                str(data["quarantine_id"]),
                str(data.get("sender", "")),
                str(data.get("subject", "")),
                str(data.get("reason", "")),
            )

    def _owner_replied(self, ticket: Ticket, message, text: str) -> None:
        """Apply the owner's commands and relay the owner's words (or explain why not)."""
        plan = plan_reply(text)
        stamp = iso(self.clock())
        status_set = False
        for command in plan.commands:
            if command.name in STATUS_COMMANDS:
                self._set_status(ticket, STATUS_COMMANDS[command.name], stamp)
                status_set = True
            elif command.name == "priority":
                ticket.priority = command.argument
            elif command.name == "tag" and command.argument not in ticket.tags:
                ticket.tags.append(command.argument)
            elif command.name == "untag" and command.argument in ticket.tags:
                ticket.tags.remove(command.argument)
            if command.name not in ("note", "nosend"):
                ticket.record(stamp, "command", command.line)
        if plan.relays:
            raw = self._raw(message.archive_path)
            self.actions.relay_reply(ticket, message, plan.body, raw)
            if not status_set and ticket.status != "closed":
                self._set_status(ticket, "pending", stamp)
        if plan.errors:
            results = [
                {"command": error.partition(":")[0], "ok": False, "detail": error} for error in plan.errors
            ]
            self.actions.command_result(
                ticket, f"command-result:{ticket.id}:{message.id}", plan, results, text
            )
        ticket.updated_at = stamp
        self.store.save_ticket(ticket)

    def _set_status(self, ticket: Ticket, status: str, stamp: str) -> None:
        if ticket.status == status:
            return
        ticket.status = status
        ticket.closed_at = stamp if status == "closed" else None
        ticket.record(stamp, "status", status)

    def _raw(self, archive_path: str | None) -> bytes | None:
        if not archive_path:
            return None
        try:
            return (self.data_dir / archive_path).read_bytes()
        except OSError:
            return None

    def delivery_failed(self, items: list[OutboxItem]) -> None:
        """Tell the owner about messages that could not be delivered."""
        for item in items:
            self.actions.delivery_failure(item)
        if items:
            self.store.commit()
