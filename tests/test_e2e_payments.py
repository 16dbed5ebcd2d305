"""End to end: payments, refunds, voiding and the payment reminder of an invoice.

Real IMAP server (Dovecot in CI) and SMTP sink, the harness's clock moved by
hand. The owner invoices a customer from a reply, then records payments with
``#paid``, issues credit notes with ``#refund`` and cancels with ``#void``;
an invoice left unpaid a week past its due date gets exactly one reminder.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.corpus import customer_mail
from tests.helpers import OWNER
from tests.test_e2e_invoices import INVOICING, notification, pdf_of
from tests.test_e2e_outbound import Harness, owner_reply, text_of

CUSTOMER = "zoe@example.org"


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink, business=INVOICING)
    yield running
    running.close()


def kind(harness: Harness, address: str, name: str) -> list:
    return [m for m in harness.to(address) if m["X-Helpdesk-Kind"] == name]


def invoiced(harness: Harness, items: str = "Blue teapot | 1 | 45.00", options: str = "due=7d") -> None:
    """A customer writes, and the owner invoices them (£54.00: 45.00 + 20% tax)."""
    harness.mailbox.append(customer_mail(CUSTOMER, "Order 12", "Please invoice me.", name="Zoë Martin"))
    harness.cycle()
    say(harness, f"#invoice {options}\n{items}")
    assert [invoice.number for invoice in harness.helpdesk.store.invoices()] == ["INV-2026-0001"]


def say(harness: Harness, text: str) -> None:
    harness.mailbox.append(owner_reply(notification(harness), text))
    harness.cycle()


def invoice(harness: Harness, number: str = "INV-2026-0001"):
    found = harness.helpdesk.store.invoice(number)
    assert found is not None
    return found


def test_paid_in_full_thanks_the_customer_and_marks_the_invoice_paid(harness: Harness) -> None:
    invoiced(harness)
    say(harness, "#paid INV-2026-0001")
    [thanks] = kind(harness, CUSTOMER, "payment-thanks")
    assert "we received £54.00 for invoice INV-2026-0001" in text_of(thanks)
    assert "paid in full" in text_of(thanks)
    paid = invoice(harness)
    assert (paid.status, paid.paid) == ("paid", "54.00")
    assert [(p["kind"], p["amount"]) for p in paid.payments] == [("payment", "54.00")]
    # Paying again is refused: nothing is outstanding.
    say(harness, "#paid INV-2026-0001 1.00")
    [result] = kind(harness, OWNER, "command-result")
    assert "nothing is outstanding" in text_of(result)
    assert invoice(harness).paid == "54.00" and len(kind(harness, CUSTOMER, "payment-thanks")) == 1


def test_a_part_payment_shows_what_remains_and_an_over_payment_is_refused(harness: Harness) -> None:
    invoiced(harness)
    say(harness, "#paid INV-2026-0001 10.00 2026-03-02")
    [thanks] = kind(harness, CUSTOMER, "payment-thanks")
    assert "we received £10.00" in text_of(thanks) and "Still to pay: £44.00" in text_of(thanks)
    partly = invoice(harness)
    assert (partly.status, partly.paid, partly.payments[0]["on"]) == ("open", "10.00", "2026-03-02")
    say(harness, "#paid INV-2026-0001 50.00")
    [result] = kind(harness, OWNER, "command-result")
    assert "more than the 44.00 GBP outstanding" in text_of(result)
    assert invoice(harness).paid == "10.00"
    say(harness, "#paid INV-2026-0099")
    assert any(
        "there is no invoice INV-2026-0099" in text_of(m) for m in kind(harness, OWNER, "command-result")
    )
    say(harness, "#paid INV-2026-0001")
    assert invoice(harness).status == "paid"
    assert "Still to pay" not in text_of(kind(harness, CUSTOMER, "payment-thanks")[-1])


def test_a_refund_issues_a_credit_note_with_its_pdf(harness: Harness) -> None:
    invoiced(harness)
    say(harness, "#paid INV-2026-0001")
    say(harness, "#refund INV-2026-0001 12.00 lid was chipped")
    [mail] = [m for m in kind(harness, CUSTOMER, "invoice") if "Credit note" in str(m["Subject"])]
    assert str(mail["Subject"]) == "Credit note CN-2026-0001 from Acme Tea Co. [#1]"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_of(mail))).pages)
    for field in ("Credit Note", "CN-2026-0001", "INV-2026-0001", "Refund for invoice INV-2026-0001"):
        assert field in text
    note = invoice(harness, "CN-2026-0001")
    # 12.00 gross at 20%: 10.00 taxable and 2.00 tax.
    assert (note.kind, note.credit_of, note.net, note.tax, note.total) == (
        "credit-note",
        "INV-2026-0001",
        "10.00",
        "2.00",
        "12.00",
    )
    credited = invoice(harness)
    assert (credited.credited, credited.paid, credited.status) == ("12.00", "42.00", "paid")
    assert credited.payments[-1]["kind"] == "refund" and credited.payments[-1]["amount"] == "-12.00"
    # More than is left to credit is refused; the rest credits it fully.
    say(harness, "#refund INV-2026-0001 50.00")
    assert "not yet credited" in text_of(kind(harness, OWNER, "command-result")[-1])
    say(harness, "#refund INV-2026-0001")
    full = invoice(harness)
    assert (full.credited, full.paid, full.status, full.credit_notes) == (
        "54.00",
        "0.00",
        "credited",
        ["CN-2026-0001", "CN-2026-0002"],
    )


def test_void_cancels_an_unpaid_invoice_and_refuses_a_paid_one(harness: Harness) -> None:
    invoiced(harness)
    say(harness, "#void INV-2026-0001")
    void = invoice(harness)
    assert (void.status, void.credited, void.credit_notes) == ("void", "54.00", ["CN-2026-0001"])
    assert invoice(harness, "CN-2026-0001").total == "54.00"
    assert len([m for m in kind(harness, CUSTOMER, "invoice") if "Credit note" in str(m["Subject"])]) == 1
    # The second invoice is paid: voiding it is refused, the owner is told to refund.
    say(harness, "#invoice\nSencha | 1 | 10.00")
    say(harness, "#paid INV-2026-0002")
    say(harness, "#void INV-2026-0002")
    [result] = kind(harness, OWNER, "command-result")
    assert "cannot be voided" in text_of(result) and "#refund INV-2026-0002" in text_of(result)
    assert invoice(harness, "INV-2026-0002").status == "paid"
    assert harness.helpdesk.store.invoice("CN-2026-0002") is None


def test_an_overdue_invoice_gets_exactly_one_reminder(harness: Harness) -> None:
    invoiced(harness)  # 3 March, due 10 March: overdue from 11 March, reminded from 18 March.
    due = harness.clock.now.replace(day=18, hour=0, minute=0)
    harness.clock.now = due - timedelta(hours=1)
    harness.cycle()
    assert kind(harness, CUSTOMER, "payment-reminder") == []
    harness.clock.now = due + timedelta(minutes=5)
    harness.cycle()
    [reminder] = kind(harness, CUSTOMER, "payment-reminder")
    assert "INV-2026-0001" in str(reminder["Subject"])
    assert "Amount outstanding: £54.00" in text_of(reminder) and "2026-03-10" in text_of(reminder)
    for _ in range(3):
        harness.clock.advance(days=1)
        harness.cycle()
    assert len(kind(harness, CUSTOMER, "payment-reminder")) == 1
    [ticket] = list(harness.helpdesk.store.tickets())
    assert any("payment-reminder" in entry["detail"] for entry in ticket.history)


def test_a_paid_invoice_gets_no_reminder(harness: Harness) -> None:
    invoiced(harness)
    say(harness, "#paid INV-2026-0001")
    harness.clock.advance(days=20)
    harness.cycle()
    assert kind(harness, CUSTOMER, "payment-reminder") == []
