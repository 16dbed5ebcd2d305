"""Opting out of non-essential mail: which mail that is, the customer's unsubscribe address, the record.

Surveys, testimonial requests, loyalty thank-you notes and greetings are
non-essential: each carries an unsubscribe line and a ``List-Unsubscribe``
header naming the customer's own token address (``support+t<id>-<hmac>@…``
under the ``unsubscribe`` purpose, so it cannot be guessed for another
customer). A mail to that address, an "unsubscribe" answer, or the owner's
``#optout`` records the opt-out; ``#optin`` undoes it. Ticket mail
(acknowledgements, the owner's replies, invoices) is never held back.
"""

from __future__ import annotations

from helpdesk.owner.tokens import UNSUBSCRIBE_PURPOSE, ReplyTokens
from helpdesk.store.records import Customer

__all__ = ["NON_ESSENTIAL", "unsubscribe_address", "unsubscribed_customer"]

# The templates of mail a customer can refuse.
NON_ESSENTIAL = frozenset(
    {"thank-you", "testimonial-request", "loyalty-thanks", "birthday", "new-year", "anniversary"}
)


def unsubscribe_address(tokens: ReplyTokens, customer: Customer) -> str:
    """The address that opts ``customer`` out, whoever sends to it."""
    return tokens.address(customer.id, UNSUBSCRIBE_PURPOSE)


def unsubscribed_customer(tokens: ReplyTokens, addresses: list[str]) -> int | None:
    """The id of the customer whose unsubscribe address is among ``addresses``, or None."""
    return tokens.ticket_in(addresses, UNSUBSCRIBE_PURPOSE)
