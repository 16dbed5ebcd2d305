"""Unit tests of ``helpdesk.business.customers``: the ``#customer`` line and the record it edits."""

from __future__ import annotations

import pytest

from helpdesk.business.customers import (
    CustomerFieldError,
    apply_customer_edit,
    customer_document,
    parse_customer_fields,
)
from helpdesk.store.records import Customer, Invoice, Ticket

STAMP = "2026-12-04T10:00:00+00:00"


def customer() -> Customer:
    return Customer(id=1, email="zoe@example.org", name="zoe", first_contact=STAMP, last_contact=STAMP)


def test_every_field_is_read_and_applied() -> None:
    record = customer()
    edit = parse_customer_fields(
        'name="Zoë  Martin" address="3 Rue Haute, 75001 Paris" taxid="fr 40 303265045" '
        'birthday=1990-05-01 lang=FR tag=Wholesale note="prefers phone calls" optout=yes'
    )
    changes = apply_customer_edit(record, edit, STAMP)
    assert (record.name, record.postal_address) == ("Zoë Martin", "3 Rue Haute, 75001 Paris")
    assert (record.tax_id, record.birthday, record.language) == ("FR40303265045", "1990-05-01", "fr")
    assert record.tags == ["wholesale"] and record.opted_out is True
    assert record.notes == [{"at": STAMP, "text": "prefers phone calls"}]
    # The history gets what changed, never the values (they are personal data).
    assert "Zoë" not in " ".join(changes) and "postal_address set" in changes and "note added" in changes


def test_empty_values_clear_and_a_minus_removes_a_tag() -> None:
    record = customer()
    record.tax_id, record.tags = "29ABCDE1234F1Z5", ["vip", "wholesale"]
    changes = apply_customer_edit(record, parse_customer_fields('taxid="" tag=-VIP birthday='), STAMP)
    assert record.tax_id == "" and record.tags == ["wholesale"] and record.birthday is None
    assert changes == ["tax_id cleared", "untag vip"]


def test_notes_add_up_and_are_never_overwritten() -> None:
    record = customer()
    apply_customer_edit(record, parse_customer_fields('note="first"'), STAMP)
    apply_customer_edit(record, parse_customer_fields('note="second"'), "2026-12-05T10:00:00+00:00")
    assert [note["text"] for note in record.notes] == ["first", "second"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("", "needs at least one field"),
        ("lang", "'lang': write key=value"),
        ("colour=blue", "unknown field 'colour'"),
        ("birthday=1990-13-01", "birthday: '1990-13-01' is not a date (YYYY-MM-DD)"),
        ("birthday=1850-01-01", "birthday: '1850-01-01' is not a plausible birthday"),
        ("lang=german", "lang: 'german' is not a two-letter language code"),
        ("taxid=#!?", "taxid: '#!?' is not a tax id"),
        ("tag=two words", "'words': write key=value"),
        ('tag="two words"', "tag: 'two words' is not a tag name"),
        ('name="unclosed', "cannot read the fields"),
        ("optout=maybe", "optout: 'maybe': write optout=yes or optout=no"),
        ('note=""', "note: empty"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_applied(line: str, problem: str) -> None:
    with pytest.raises(CustomerFieldError) as caught:
        parse_customer_fields(f"lang=de {line}" if line else line)
    assert problem in str(caught.value)


def test_the_json_document_has_the_contract_fields() -> None:
    record = customer()
    ticket = Ticket(id=7, customer=record.email, subject="Lid", created_at=STAMP, updated_at=STAMP)
    paid = Invoice(
        1,
        "INV-1",
        "invoice",
        "INV-{seq}",
        1,
        "2026-01-02",
        record.email,
        "EUR",
        total="100.00",
        paid="100.00",
        status="paid",
    )
    half = Invoice(
        2, "INV-2", "invoice", "INV-{seq}", 2, "2026-02-02", record.email, "EUR", total="50.00", paid="20.00"
    )
    # A credit note of 10.00 on the second: 50.00 - 10.00 credited - 20.00 paid = 20.00 owed.
    half.credited = "10.00"
    document = customer_document(record, [ticket], [paid, half])
    assert {"email", "name", "tickets", "invoices", "total_spent", "opted_out", "ratings"} <= set(document)
    assert document["tickets"] == [{"id": 7, "subject": "Lid", "status": "new", "created_at": STAMP}]
    assert [item["number"] for item in document["invoices"]] == ["INV-1", "INV-2"]
    assert (document["total_spent"], document["outstanding"]) == ("120.00", "20.00")
