"""Customer records: what the owner keeps about each customer, and edits by mail.

The daemon records every customer who writes (name, address, first and last
contact, ticket count). The owner adds the rest with one command line in a
reply, e.g.::

    #customer name="Zoë Martin" address="3 Rue Haute, 75001 Paris" taxid=FR40303265045
    #customer birthday=1990-05-01 lang=fr tag=wholesale note="prefers phone calls"

Fields are ``key=value`` or ``key="value with spaces"``. Every field is checked
before anything changes: one bad field rejects the whole line, and the owner
is told which field and why (a ``command-result`` mail). An empty value
(``taxid=""``) clears a field; ``tag=-NAME`` removes a tag; ``note`` adds a
dated note (notes are never overwritten); ``optout=yes|no`` records whether
the customer wants mail beyond their tickets.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from helpdesk.business.invoices import outstanding
from helpdesk.store.records import TAG_NAME, Customer, Invoice, Ticket, add_tag, remove_tag

FIELDS = ("name", "address", "taxid", "birthday", "lang", "tag", "note", "optout")
CUSTOMER_HELP = '#customer name="…" address="…" taxid=… birthday=YYYY-MM-DD lang=de tag=… note="…"'
# A tax id: GSTIN (15 characters), EU VAT numbers (country prefix and up to 12), and the like.
_TAX_ID = re.compile(r"[A-Z0-9][A-Z0-9 .-]{3,19}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_MAX_TEXT = 500
_YES = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


class CustomerFieldError(ValueError):
    """A ``#customer`` field that cannot be applied; the message names the field."""


@dataclass
class CustomerEdit:
    """The checked fields of one ``#customer`` line, ready to apply."""

    values: dict[str, Any] = field(default_factory=dict)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_customer_fields(argument: str) -> CustomerEdit:
    """Read and check the fields of a ``#customer`` line; CustomerFieldError names the bad one."""
    try:
        words = shlex.split(argument)
    except ValueError as exc:
        problem = f"cannot read the fields ({exc}): put values with spaces in quotes"
        raise CustomerFieldError(problem) from None
    if not words:
        raise CustomerFieldError(f"needs at least one field: {CUSTOMER_HELP}")
    edit = CustomerEdit()
    for word in words:
        key, equals, value = word.partition("=")
        key = key.lower()
        if not equals:
            raise CustomerFieldError(f"{word!r}: write key=value, e.g. lang=de")
        if key not in FIELDS:
            raise CustomerFieldError(f"unknown field {key!r}: use {', '.join(FIELDS)}")
        _check_field(edit, key, value.strip())
    return edit


def _check_field(edit: CustomerEdit, key: str, value: str) -> None:
    if len(value) > _MAX_TEXT:
        raise CustomerFieldError(f"{key}: at most {_MAX_TEXT} characters")
    if key == "name":
        edit.values["name"] = " ".join(value.split())
        # An empty name hands the name back to the customer's own mail.
        edit.values["name_from_owner"] = bool(edit.values["name"])
    elif key == "address":
        edit.values["postal_address"] = value
    elif key == "taxid":
        tax_id = value.upper().replace(" ", "")
        if tax_id and not _TAX_ID.fullmatch(tax_id):
            problem = f"taxid: {value!r} is not a tax id (letters and digits, e.g. 29ABCDE1234F1Z5)"
            raise CustomerFieldError(problem)
        edit.values["tax_id"] = tax_id
    elif key == "birthday":
        edit.values["birthday"] = _birthday(value)
    elif key == "lang":
        language = value.lower()
        if language and not _LANGUAGE.fullmatch(language):
            raise CustomerFieldError(f"lang: {value!r} is not a two-letter language code (de, fr, hi, ...)")
        edit.values["language"] = language
    elif key == "tag":
        name = value.removeprefix("-")
        if not TAG_NAME.fullmatch(name):
            raise CustomerFieldError(f"tag: {value!r} is not a tag name (letters, digits, - . _)")
        (edit.remove_tags if value.startswith("-") else edit.add_tags).append(name)
    elif key == "note":
        if not value:
            raise CustomerFieldError("note: empty")
        edit.notes.append(value)
    else:
        choice = _YES.get(value.lower())
        if choice is None:
            raise CustomerFieldError(f"optout: {value!r}: write optout=yes or optout=no")
        edit.values["opted_out"] = choice


def _birthday(value: str) -> str | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CustomerFieldError(f"birthday: {value!r} is not a date (YYYY-MM-DD)") from None
    if not 1900 <= day.year <= date.today().year:
        raise CustomerFieldError(f"birthday: {value!r} is not a plausible birthday")
    return day.isoformat()


def apply_customer_edit(customer: Customer, edit: CustomerEdit, stamp: str) -> list[str]:
    """Apply a checked edit to ``customer``; returns what changed, in words, for the ticket history."""
    changes = []
    for attribute, value in edit.values.items():
        if attribute == "name_from_owner":
            customer.name_from_owner = value
        elif getattr(customer, attribute) != value:
            setattr(customer, attribute, value)
            changes.append(f"{attribute} set" if value not in ("", None) else f"{attribute} cleared")
    for tag in edit.add_tags:
        add_tag(customer.tags, tag)
        changes.append(f"tag {tag.lower()}")
    for tag in edit.remove_tags:
        remove_tag(customer.tags, tag)
        changes.append(f"untag {tag.lower()}")
    for note in edit.notes:
        customer.notes.append({"at": stamp, "text": note})
        changes.append("note added")
    return changes


def purchases(invoices: list[Invoice]) -> tuple[Decimal, Decimal]:
    """What a customer has paid on their invoices (net of refunds), and what is still owed.

    Owed on an open invoice: its total, less its credit notes, less what was paid.
    """
    spent = sum((Decimal(item.paid) for item in invoices if item.kind == "invoice"), Decimal(0))
    owing = sum(
        (outstanding(item) for item in invoices if item.kind == "invoice" and item.status == "open"),
        Decimal(0),
    )
    return spent, owing


def customer_document(customer: Customer, tickets: list[Ticket], invoices: list[Invoice]) -> dict[str, Any]:
    """The JSON shape of ``helpdesk customer show --json``: their tickets and invoices, oldest first.

    ``ratings`` are the customer's answers to satisfaction questions, oldest first;
    ``testimonials`` the quotes they allowed the business to use.
    """
    spent, outstanding = purchases(invoices)
    return {
        "email": customer.email,
        "name": customer.name,
        "other_addresses": list(customer.other_addresses),
        "postal_address": customer.postal_address,
        "tax_id": customer.tax_id,
        "language": customer.language,
        "birthday": customer.birthday,
        "tags": list(customer.tags),
        "notes": [dict(note) for note in customer.notes],
        "opted_out": customer.opted_out,
        "first_contact": customer.first_contact,
        "last_contact": customer.last_contact,
        "tickets": [
            {"id": item.id, "subject": item.subject, "status": item.status, "created_at": item.created_at}
            for item in tickets
        ],
        "invoices": [
            {
                "number": item.number,
                "kind": item.kind,
                "date": item.issued_on,
                "total": item.total,
                "paid": item.paid,
                "currency": item.currency,
                "status": item.status,
            }
            for item in invoices
        ],
        "total_spent": str(spent),
        "outstanding": str(outstanding),
        "ratings": [dict(rating) for rating in customer.ratings],
        "testimonials": [dict(quote) for quote in customer.testimonials],
        "last_survey_at": customer.last_survey_at,
        "greeted": dict(customer.greeted),
        "loyalty_thanked_at": customer.loyalty_thanked_at,
    }
