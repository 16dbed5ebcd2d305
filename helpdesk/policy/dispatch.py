"""Run the rules for queued events and for the periodic tick, and the actions they call.

Events come from ingestion, committed together with the records that caused
them. Each is handled, then marked done in the same store commit as the
changes its actions made. Actions are idempotent (outbox keys name the rule,
the ticket and the window), so an event replayed after a crash, or a tick run
again after a restart, sends nothing twice.

Policy lives in the rule files. Built in are only what is not policy: the
owner's own instructions (commands and replies), the warning about mail that
pretends to be the owner's, and telling the owner about undeliverable mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from markupsafe import Markup

from helpdesk.business.customers import apply_customer_edit, parse_customer_fields, purchases
from helpdesk.business.invoicemath import InvoiceError
from helpdesk.business.invoices import parse_order, parse_paid, parse_refund, parse_void
from helpdesk.outbound.outbox import OutboxItem
from helpdesk.outbound.render import paragraphs
from helpdesk.owner.commands import UNKNOWN_COMMAND, USE_LINE, Command, ReplyPlan, plan_reply
from helpdesk.owner.console import plan_console
from helpdesk.policy.actions import AUTOMATIC_WINDOW, Actions
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.care import CustomerCare
from helpdesk.policy.conditions import Facts
from helpdesk.policy.console import Console
from helpdesk.policy.durations import parse_duration
from helpdesk.policy.promises import PromiseError, parse_due
from helpdesk.policy.rules import ActionCall, Match, Rule, RuleSet
from helpdesk.store.records import Event, StoredMessage, Ticket, add_tag, iso, remove_tag
from helpdesk.store.store import Store

log = logging.getLogger(__name__)

STATUS_COMMANDS = {"close": "closed", "reopen": "open", "pending": "pending"}
# An event whose actions keep failing is retried on later cycles, then given up.
MAX_EVENT_FAILURES = 3
# A tick fires at most this many rules; the rest fire on the next ticks, so a
# catch-up after downtime never keeps the daemon from its mailbox for long.
MAX_FIRINGS_PER_TICK = 500


class Dispatcher:
    """Maps events and the tick to rules, and rules to actions."""

    def __init__(
        self,
        store: Store,
        actions: Actions,
        rules: RuleSet,
        hours: BusinessHours,
        data_dir: Path,
        clock: Callable[[], datetime],
        send_digest: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.actions = actions
        self.care = CustomerCare(actions)
        # ``#digest`` to the command address sends the digest (the daemon's job) under a key.
        self.console = Console(actions, hours, send_digest or (lambda key: False))
        self.rules = rules
        self.hours = hours
        self.data_dir = data_dir
        self.clock = clock

    # -- events ------------------------------------------------------------------------

    def run(self, commit_every: int | None = None) -> int:
        """Handle every pending event once; returns how many were handled.

        What they did is committed at the end, and with ``commit_every`` also after that many
        events: the daemon's sender process delivers a backlog's mail from each commit on.
        """
        handled = 0
        tried: set[int] = set()
        # Handling an event may queue more (a command closes a ticket): loop until none are new.
        while events := [event for event in self.store.pending_events() if event.sequence not in tried]:
            done: set[int] = set()
            for number, event in enumerate(events):
                if commit_every and number and number % commit_every == 0:
                    self.store.events_done(done)
                    handled += len(done)
                    done = set()
                    self.store.commit()
                tried.add(event.sequence)
                try:
                    self._handle(event)
                except Exception:  # One failing event must not block the others.
                    failures = self.store.event_failed(event.sequence)
                    log.exception(
                        "event %s for ticket %s failed (%d of %d)",
                        event.name,
                        event.ticket_id,
                        failures,
                        MAX_EVENT_FAILURES,
                    )
                    if failures < MAX_EVENT_FAILURES:
                        continue
                done.add(event.sequence)
            self.store.events_done(done)
            handled += len(done)
            self.store.commit()
        return handled

    def _message(self, ticket: Ticket, message_id: int | None) -> StoredMessage | None:
        if message_id is None:
            return None
        return next((m for m in self.store.messages(ticket.id) if m.id == message_id), None)

    def _handle(self, event: Event) -> None:
        if event.name == "owner.console":
            text = str(event.data.get("text", ""))
            self.console.answer(plan_console(text), str(event.data["mail_id"]), text)
            return
        if event.name == "owner.rejected":
            data = event.data
            self.actions.warn_owner(
                str(data["quarantine_id"]),
                str(data.get("sender", "")),
                str(data.get("subject", "")),
                str(data.get("reason", "")),
            )
            return
        ticket = self.store.ticket(event.ticket_id) if event.ticket_id is not None else None
        if ticket is None:
            return
        message = self._message(ticket, event.message_id)
        if event.name == "owner.replied" and message is not None:
            relay = event.data.get("relay", True) is not False
            self._owner_replied(ticket, message, str(event.data.get("text", "")), relay)
        elif event.name == "delivery.bounced":
            # Keyed by the event: two bounces in one batch are two notices.
            key = f"bounce:{ticket.id}:event:{event.sequence}"
            self.actions.bounce_notice(ticket, str(event.data.get("reason", "")), key)
        ticket = self.store.ticket(ticket.id)
        assert ticket is not None
        self.apply_rules(event.name, ticket, message, f"event:{event.sequence}")

    def apply_rules(
        self, event: str, ticket: Ticket, message: StoredMessage | None, window: str
    ) -> list[Match]:
        """Fire every rule for ``event`` that holds for ``ticket``, in order, until a stop."""
        fired = []
        # The ticket and its customer as the conditions see them: read once, and again after a
        # rule fired (its actions may have changed them).
        doc: dict[str, Any] = ticket.to_doc()
        customers: dict[str, dict[str, Any] | None] = {}
        for rule in self.rules.for_event(event):
            match = self.rules.match(rule, self._facts(doc, message, rule, customers))
            if match is None:
                continue
            fired.append(match)
            if self._fire(match, ticket, message, window):
                break
            doc, customers = ticket.to_doc(), {}
        return fired

    def _facts(
        self,
        ticket: Mapping[str, Any],
        message: StoredMessage | None,
        rule: Rule | None,
        customers: dict[str, dict[str, Any] | None] | None = None,
    ) -> Facts:
        """What the conditions of ``rule`` look at; ``customers`` keeps customer facts already read."""
        customer = None
        if rule is None or rule.needs_customer:
            email = str(ticket.get("customer", ""))
            if customers is not None and email in customers:
                customer = customers[email]
            else:
                customer = self._customer_facts(email)
                if customers is not None:
                    customers[email] = customer
        return Facts(
            ticket=ticket,
            now=self.clock(),
            hours=self.hours,
            customer=customer,
            subject=message.subject if message else str(ticket.get("subject", "")),
            text=message.text if message else "",
            has_attachment=bool(message.attachments) if message else False,
        )

    def _customer_facts(self, email: str) -> dict[str, Any] | None:
        """The customer record of ``email`` with what they spent, as conditions see it."""
        found = self.store.customer(email)
        if found is None:
            return None
        spent, _ = purchases(self.store.invoices_of(found.email))
        return {**found.to_doc(), "spent": str(spent)}

    # -- the tick ------------------------------------------------------------------------

    def tick(self) -> int:
        """Evaluate every time rule over every ticket; returns how many rules fired."""
        now = self.clock()
        self.store.prune_automatic_sent(iso(now - AUTOMATIC_WINDOW))
        rules = self.rules.for_event("tick")
        if not rules:
            return 0
        due: list[tuple[int, Rule, str]] = []
        # Rules that can hold for each (status, priority): most tickets (closed ones,
        # say) are dismissed by one lookup, before any window or business-time work.
        applicable: dict[tuple[str, str], list[Rule]] = {}
        for doc in self.store.ticket_documents():
            if len(due) >= MAX_FIRINGS_PER_TICK:
                break
            # Imported history has no clock running until something new happens on it.
            if doc.get("imported"):
                continue
            kind = (doc.get("status", ""), doc.get("priority", ""))
            candidates = applicable.get(kind)
            if candidates is None:
                candidates = applicable[kind] = [rule for rule in rules if rule.admits(*kind)]
            for rule in candidates:
                window = rule.window(doc) if rule.timed else iso(now)[:10]
                if window is None or doc.get("fired", {}).get(rule.name) == window:
                    continue
                if self.rules.match(rule, self._facts(doc, None, rule)) is not None:
                    due.append((int(doc["id"]), rule, window))
        fired = 0
        stopped: set[int] = set()
        for ticket_id, rule, window in due:
            ticket = self.store.ticket(ticket_id) if ticket_id not in stopped else None
            if ticket is None:
                continue
            # Earlier firings in this tick may have changed the ticket: check again.
            match = self.rules.match(rule, self._facts(ticket.to_doc(), None, rule))
            if match is None or ticket.fired.get(rule.name) == window:
                continue
            if self._fire(match, ticket, None, window):
                stopped.add(ticket_id)
            fired += 1
        if fired or self.store.pending_events():
            self.store.commit()
        return fired

    # -- firing ---------------------------------------------------------------------------

    def _fire(self, match: Match, ticket: Ticket, message: StoredMessage | None, window: str) -> bool:
        """Run the actions of a matching rule; True if it says stop."""
        rule = match.rule
        stamp = iso(self.clock())
        ticket.fired[rule.name] = window
        ticket.record(stamp, "rule", f"{rule.name}: {match.reason}")
        self.store.save_ticket(ticket)
        stop = False
        for position, call in enumerate(rule.actions):
            key = f"rule:{rule.name}:{ticket.id}:{window}:{position}"
            if call.name == "stop":
                stop = True
                continue
            self._act(call, ticket, message, key, stamp, f"rule:{rule.name}")
        return stop

    def _act(
        self,
        call: ActionCall,
        ticket: Ticket,
        message: StoredMessage | None,
        key: str,
        stamp: str,
        by: str,
    ) -> None:
        params = call.params
        if call.name == "reply":
            extra = {}
            promise = self.response_promise(ticket)
            if promise:
                extra["expected_reply"] = promise
            overdue = self.actions.overdue_invoice(ticket) if ticket.open_invoices else None
            if overdue is not None:
                extra["invoice"] = overdue
            self.actions.auto_reply(ticket, params["template"], key, message, **extra)
        elif call.name == "notify-owner":
            self.actions.notify_owner(ticket, message, params["template"], key if message is None else None)
        elif call.name == "escalate":
            self._escalate(ticket, params["template"], int(params["max"]), key, stamp)
        elif call.name == "schedule-follow-up":
            ticket.follow_up_at = iso(self.hours.add(self.clock(), parse_duration(params["after"])))
            self.store.save_ticket(ticket)
        elif call.name == "survey":
            self.care.survey(ticket, params["template"], key)
        elif call.name == "request-testimonial":
            self.care.request_testimonial(ticket, params["template"], key)
        elif call.name == "thank-customer":
            self.care.thank_customer(ticket, params["template"], key, once=True)
        else:
            self._change(call, ticket, stamp, by)

    def _change(self, call: ActionCall, ticket: Ticket, stamp: str, by: str) -> None:
        """Actions that only change the ticket or the customer."""
        params = call.params
        if call.name in ("set-status", "close"):
            self.set_status(ticket, "closed" if call.name == "close" else params["status"], stamp, by)
        elif call.name == "set-priority":
            ticket.priority = params["priority"]
        elif call.name == "add-tag":
            add_tag(ticket.tags, params["tag"])
        elif call.name == "remove-tag":
            remove_tag(ticket.tags, params["tag"])
        elif call.name == "tag-customer":
            customer = self.store.customer(ticket.customer)
            if customer is not None and params["tag"].lower() not in map(str.lower, customer.tags):
                add_tag(customer.tags, params["tag"])
                self.store.save_customer(customer)
        self.store.save_ticket(ticket)

    def _escalate(self, ticket: Ticket, template: str, maximum: int, key: str, stamp: str) -> None:
        if ticket.escalation_level >= maximum:
            return
        ticket.escalation_level += 1
        ticket.last_escalated_at = stamp
        ticket.record(stamp, "escalated", f"level {ticket.escalation_level} of {maximum}")
        self.store.save_ticket(ticket)
        self.actions.notify_owner(ticket, None, template, key, escalation_level=ticket.escalation_level)

    def set_status(self, ticket: Ticket, status: str, stamp: str, by: str = "owner") -> None:
        """Change the status, keeping closed_at, closed_by and the history right; queue ticket.closed.

        ``by`` is who changes it: "owner", "rule:<name>", "customer" or "cli"
        (the ``closed_by`` condition of the thank-you rule reads it).
        """
        if ticket.status == status:
            return
        ticket.status = status
        ticket.closed_at = stamp if status == "closed" else None
        ticket.closed_by = by if status == "closed" else None
        ticket.record(stamp, "status", status if status != "closed" or by == "owner" else f"closed ({by})")
        self.store.save_ticket(ticket)
        if status == "closed":
            self.store.add_event("ticket.closed", ticket.id)

    def response_promise(self, ticket: Ticket) -> str | None:
        """When the customer can expect an answer, by the escalation rules, in words."""
        duration = self.rules.response_time(self._facts(ticket.to_doc(), None, None))
        if duration is None:
            return None
        start = datetime.fromisoformat(ticket.created_at)
        return self.hours.describe(self.hours.add(start, duration), self.clock())

    # -- the owner's replies ------------------------------------------------------------

    def _owner_replied(self, ticket: Ticket, message: StoredMessage, text: str, relay: bool = True) -> None:
        """Apply the owner's commands and relay the owner's words (or explain why not).

        ``relay`` False: the owner wrote from the support mailbox itself, and the
        customer has the words already; only the commands apply.
        """
        plan = plan_reply(text)
        stamp = iso(self.clock())
        status_set = False
        # The owner answered: the escalation clock stops and starts again from zero.
        ticket.escalation_level = 0
        ticket.last_escalated_at = None
        for position, command in enumerate(plan.commands):
            if command.name in STATUS_COMMANDS:
                self.set_status(ticket, STATUS_COMMANDS[command.name], stamp)
                status_set = True
            elif command.name == "priority":
                ticket.priority = command.argument
            elif command.name == "tag":
                add_tag(ticket.tags, command.argument)
            elif command.name == "untag":
                remove_tag(ticket.tags, command.argument)
            if command.name == "invoice":
                self._invoice(ticket, command, plan, stamp, f"invoice:{ticket.id}:{message.id}:{position}")
            elif command.name in ("paid", "refund", "void"):
                key = f"{command.name}:{ticket.id}:{message.id}:{position}"
                self._lifecycle(ticket, command, plan, stamp, key)
            if command.name in ("due", "done", "cause"):
                self._promise_or_cause(ticket, command, plan, stamp)
            if command.name == "thank":
                key = f"thank:{ticket.id}:{message.id}:{position}"
                self.care.thank_customer(ticket, "loyalty-thanks", key)
            elif command.name in ("optout", "optin"):
                self._opt(ticket, command.name, stamp)
            if command.name == "customer":
                # The history names what changed, not the personal data itself.
                changes = self._edit_customer(ticket, command.argument, stamp)
                ticket.record(stamp, "command", "#customer: " + (", ".join(changes) or "no change"))
            elif command.name not in ("note", "nosend"):
                ticket.record(stamp, "command", command.line)
        if not relay:
            # A "#word" that is no command was plain text to the customer: no command-result for it.
            plan.errors = [error for error in plan.errors if not error.endswith(f": {UNKNOWN_COMMAND}")]
            plan.nosend = True
            if plan.body and not status_set and ticket.status != "closed":
                self.set_status(ticket, "pending", stamp)
        body, body_html = self._with_saved_replies(ticket, plan) if plan.relays else (plan.body, None)
        if plan.relays and body != message.text:
            # The ticket keeps what the customer reads: the saved replies, not the "#use" lines.
            message.text = body
            self.store.add_message(message)
        if plan.relays:
            self.actions.relay_reply(ticket, message, body, self._raw(message.archive_path), body_html)
            if not status_set and ticket.status != "closed":
                self.set_status(ticket, "pending", stamp)
        if plan.errors:
            results = [
                {"command": error.partition(":")[0], "ok": False, "detail": error} for error in plan.errors
            ]
            self.actions.command_result(
                ticket, f"command-result:{ticket.id}:{message.id}", plan, results, text
            )
        ticket.updated_at = stamp
        self.store.save_ticket(ticket)

    def _invoice(self, ticket: Ticket, command: Command, plan: ReplyPlan, stamp: str, key: str) -> None:
        """Issue the invoice an ``#invoice`` command asks for (checked when the reply was read).

        Should it still fail (a PDF or template problem), nothing is issued and
        no number is used, and the owner is told why rather than left waiting.
        """
        rate = Decimal(str(self.actions.config.business.tax_rate))
        try:
            order = parse_order(command.argument, list(command.items), rate)
            invoice = self.actions.invoice(ticket, order, key)
        except Exception as exc:  # Told to the owner; the reply's other commands still apply.
            log.exception("invoice for ticket %s failed", ticket.id)
            plan.errors.append(f"{command.line}: not issued: {exc}")
            return
        ticket.record(stamp, "invoice", f"{invoice.number} issued: {invoice.total} {invoice.currency}")

    def _lifecycle(self, ticket: Ticket, command: Command, plan: ReplyPlan, stamp: str, key: str) -> None:
        """Apply ``#paid``, ``#refund`` or ``#void`` (their syntax was checked when the reply was read).

        Amounts are checked against the invoice here: an over-payment, an unknown
        number, another customer's invoice or voiding a paid one records nothing
        and the owner gets a ``command-result`` naming it.
        """
        try:
            if command.name == "paid":
                invoice = self.actions.record_payment(ticket, parse_paid(command.argument), key)
                detail = f"{invoice.number}: payment recorded, paid {invoice.paid} {invoice.currency}"
            else:
                parse = parse_refund if command.name == "refund" else parse_void
                note = self.actions.credit_note(ticket, parse(command.argument), key)
                detail = f"{note.number} issued for {note.credit_of}: {note.total} {note.currency}"
        except InvoiceError as exc:
            plan.errors.append(f"{command.line}: {exc} (nothing was recorded)")
            return
        except Exception as exc:  # Told to the owner; the reply's other commands still apply.
            log.exception("#%s for ticket %s failed", command.name, ticket.id)
            plan.errors.append(f"{command.line}: not recorded: {exc}")
            return
        ticket.record(stamp, "invoice", detail)

    def _promise_or_cause(self, ticket: Ticket, command: Command, plan: ReplyPlan, stamp: str) -> None:
        """``#due`` records a promise, ``#done`` clears it, ``#cause`` says what a complaint was about.

        A ``#due`` that cannot be read, or a cause not in ``[feedback] causes``,
        changes nothing and goes back to the owner in a ``command-result``.
        """
        if command.name == "done":
            ticket.promise = {}
            return
        if command.name == "cause":
            causes = self.actions.config.feedback.causes
            if command.argument not in causes:
                plan.errors.append(f"{command.line}: unknown cause (use one of: {', '.join(causes)})")
                return
            ticket.cause, ticket.cause_at = command.argument, stamp
            return
        try:
            promise = parse_due(command.argument, self.clock(), self.hours)
        except PromiseError as exc:
            plan.errors.append(f"{command.line}: {exc} (nothing was recorded)")
            return
        ticket.promise = {"due": iso(promise.due), "what": promise.what, "set_at": stamp}

    def _with_saved_replies(self, ticket: Ticket, plan: ReplyPlan) -> tuple[str, Markup | None]:
        """The body for the customer with each ``#use NAME`` line replaced by that saved reply.

        Also the HTML form of the body when a saved reply has its own HTML. An
        unknown name is an error for the owner (with the list of saved replies),
        and nothing goes to the customer.
        """
        lines = plan.body.splitlines()
        if not any(USE_LINE.match(line) for line in lines):
            return plan.body, None
        available = self.actions.templates.saved_replies()
        texts: list[str] = []
        htmls: list[Markup] = []
        has_html = False
        for line in lines:
            found = USE_LINE.match(line)
            if found is None:
                texts.append(line)
                htmls.append(paragraphs(line) if line.strip() else Markup(""))
                continue
            name = found.group(1)
            if name not in available:
                listed = ", ".join(available) or "none yet: add templates/replies/NAME.txt"
                plan.errors.append(f"#use {name}: no saved reply of that name (saved replies: {listed})")
                continue
            text, html = self.actions.saved_reply(ticket, name)
            texts.append(text)
            htmls.append(html if html is not None else paragraphs(text))
            has_html = has_html or html is not None
        body = "\n".join(texts).strip()
        return body, Markup("\n").join(htmls) if has_html else None

    def _opt(self, ticket: Ticket, name: str, stamp: str) -> None:
        """``#optout`` / ``#optin``: the customer wants no (or again) non-essential mail."""
        customer = self.store.customer(ticket.customer)
        if customer is None:
            return
        changed = customer.opt_out(stamp) if name == "optout" else customer.opt_in()
        if changed:
            self.store.save_customer(customer)

    def _edit_customer(self, ticket: Ticket, argument: str, stamp: str) -> list[str]:
        """Apply a ``#customer`` line (checked when the reply was read) to the ticket's customer."""
        customer = self.store.customer(ticket.customer)
        if customer is None:
            return []
        changes = apply_customer_edit(customer, parse_customer_fields(argument), stamp)
        self.store.save_customer(customer)
        return changes

    def _raw(self, archive_path: str | None) -> bytes | None:
        if not archive_path:
            return None
        try:
            return (self.data_dir / archive_path).read_bytes()
        except OSError:
            return None

    def delivery_failed(self, items: list[OutboxItem]) -> None:
        """Tell the owner about messages that could not be delivered; run delivery.failed rules.

        Safe to call again for the same items: the notices and rules are idempotent.
        """
        for item in items:
            self.actions.delivery_failure(item)
            ticket = self.store.ticket(item.ticket_id) if item.ticket_id is not None else None
            if ticket is not None:
                self.apply_rules("delivery.failed", ticket, None, f"delivery:{item.id}")
        if items:
            self.store.commit()
