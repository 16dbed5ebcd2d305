"""Customer care actions: the thank-you with its satisfaction question, testimonials, loyalty notes.

These are non-essential mail: each carries the customer's unsubscribe
address (``List-Unsubscribe`` and a line at the end), none goes to a customer
who opted out, and each is sent at most once for what it is about — one
survey per ticket and at most one per customer per ``[feedback]
min_interval``, one request to quote per glowing answer, one loyalty note per
customer unless the owner sends another with ``#thank``. Like every action
they are idempotent under their key, so a replayed event sends nothing twice;
what was not sent, and why, goes into the ticket's history.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from helpdesk.business.optout import unsubscribe_address
from helpdesk.policy.actions import Actions
from helpdesk.store.records import Customer, Ticket, iso

log = logging.getLogger(__name__)


class CustomerCare:
    """Sends the non-essential mail that looks after customers, through :class:`Actions`."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions
        self.store = actions.store

    def _send(self, ticket: Ticket, customer: Customer, template: str, key: str, **extra: Any) -> str | None:
        """Send ``template`` to the ticket's customer as non-essential mail; its Message-ID, or None."""
        stamp = iso(self.actions.clock())
        if customer.opted_out:
            ticket.record(stamp, "automatic-skipped", f"{template}: the customer opted out")
            self.store.save_ticket(ticket)
            return None
        address = unsubscribe_address(self.actions.tokens, customer)
        self.actions.auto_reply(ticket, template, key, unsubscribe=address, **extra)
        return self.actions.outbox.message_id_of(key)

    def survey(self, ticket: Ticket, template: str, key: str) -> bool:
        """The thank-you note with the satisfaction question, once per ticket; True if sent now."""
        customer = self.store.customer(ticket.customer)
        if customer is None or ticket.survey:
            return False
        now = self.actions.clock()
        interval = timedelta(days=self.actions.config.feedback.min_interval_days)
        if customer.last_survey_at and now - datetime.fromisoformat(customer.last_survey_at) < interval:
            asked = customer.last_survey_at[:10]
            ticket.record(iso(now), "automatic-skipped", f"{template}: the customer was asked on {asked}")
            self.store.save_ticket(ticket)
            return False
        message_id = self._send(ticket, customer, template, key)
        if message_id is None:
            return False
        ticket.survey = {"sent_at": iso(now), "message_id": message_id}
        customer.last_survey_at = iso(now)
        self.store.save_ticket(ticket)
        self.store.save_customer(customer)
        return True

    def request_testimonial(self, ticket: Ticket, template: str, key: str) -> bool:
        """Ask, once, whether a glowing answer may be quoted; True if asked now."""
        customer = self.store.customer(ticket.customer)
        comment = str(ticket.feedback.get("comment", "")).strip()
        if customer is None or ticket.testimonial_request or not comment:
            return False
        message_id = self._send(ticket, customer, template, key, quote=comment)
        if message_id is None:
            return False
        ticket.testimonial_request = {"sent_at": iso(self.actions.clock()), "message_id": message_id}
        self.store.save_ticket(ticket)
        return True

    def thank_customer(self, ticket: Ticket, template: str, key: str, *, once: bool = False) -> bool:
        """A personal thank-you note; with ``once`` (the loyalty rule) never a second one."""
        customer = self.store.customer(ticket.customer)
        if customer is None or (once and customer.loyalty_thanked_at):
            return False
        if self._send(ticket, customer, template, key) is None:
            return False
        customer.loyalty_thanked_at = customer.loyalty_thanked_at or iso(self.actions.clock())
        self.store.save_customer(customer)
        return True
