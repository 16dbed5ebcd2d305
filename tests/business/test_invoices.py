"""The invoice lifecycle's arithmetic: payments, credit amounts, the refusals, the payment QR code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.business.invoicemath import InvoiceError
from helpdesk.business.invoices import (
    PaymentOrder,
    RefundOrder,
    apply_credit,
    check_credit,
    check_payment,
    credit_amounts,
    outstanding,
    overdue_from,
    parse_paid,
    parse_refund,
    parse_void,
    record_payment,
)
from helpdesk.config import BusinessConfig, InvoicesConfig
from helpdesk.policy.actions import Actions
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.conditions import CONDITIONS, Facts
from helpdesk.store.records import Invoice


def line(taxable: str, rate: str, tax: str) -> dict[str, str]:
    total = str(Decimal(taxable) + Decimal(tax))
    return {"description": "x", "quantity": "1", "unit": "", "unit_price": taxable, "tax_rate": rate,
            "hsn_sac": "", "taxable": taxable, "tax": tax, "total": total}  # fmt: skip


def invoice(*lines: dict[str, str], number: str = "INV-2026-0001") -> Invoice:
    net = sum((Decimal(item["taxable"]) for item in lines), Decimal(0))
    tax = sum((Decimal(item["tax"]) for item in lines), Decimal(0))
    return Invoice(
        id=1, number=number, kind="invoice", series="s", sequence=1, issued_on="2026-03-03",
        customer="zoe@example.org", currency="GBP", lines=list(lines), net=str(net), tax=str(tax),
        total=str(net + tax), due_on="2026-03-10",
        tax_rows=[{"name": "VAT", "rate": item["tax_rate"], "taxable": item["taxable"], "amount": item["tax"]}
                  for item in lines],
    )  # fmt: skip


def credit_note(source: Invoice, amounts: list[tuple[Decimal, Decimal, Decimal]], number: str) -> Invoice:
    lines = [line(str(taxable), str(rate), str(tax)) for rate, taxable, tax in amounts]
    note = invoice(*lines, number=number)
    note.kind, note.credit_of = "credit-note", source.number
    return note


# -- syntax ----------------------------------------------------------------------------------


def test_paid_reads_number_amount_and_date_in_any_order() -> None:
    assert parse_paid("INV-2026-0001") == PaymentOrder("INV-2026-0001")
    assert parse_paid("INV-2026-0001 10.50 2026-03-04") == PaymentOrder(
        "INV-2026-0001", Decimal("10.50"), date(2026, 3, 4)
    )
    assert parse_paid("INV/2026-27/0001 2026-03-04").on == date(2026, 3, 4)


@pytest.mark.parametrize(
    ("argument", "problem"),
    [
        ("", "name the invoice"),
        ("INV-2026-0001 ten", "amount"),
        ("INV-2026-0001 0", "more than 0"),
        ("INV-2026-0001 2026-02-30", "not a date"),
        ("INV-2026-0001 1 2 3", "expected"),
        ("A-VERY-LONG-NUMBER-0001", "not an invoice number"),
    ],
)
def test_a_malformed_paid_is_refused(argument: str, problem: str) -> None:
    with pytest.raises(InvoiceError, match=problem):
        parse_paid(argument)


def test_refund_takes_an_optional_amount_then_the_reason() -> None:
    assert parse_refund("INV-1") == RefundOrder("INV-1")
    assert parse_refund("INV-1 12.00 lid was chipped") == RefundOrder(
        "INV-1", Decimal("12.00"), "lid was chipped"
    )
    assert parse_refund("INV-1 broken lid") == RefundOrder("INV-1", None, "broken lid")
    assert parse_void("INV-1").void
    with pytest.raises(InvoiceError, match="only the invoice number"):
        parse_void("INV-1 because")


# -- payments ---------------------------------------------------------------------------------


def test_payments_add_up_and_the_last_one_makes_it_paid() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    record_payment(
        item, check_payment(item, PaymentOrder(item.number, Decimal("10"))), date(2026, 3, 4), "t", "a"
    )
    assert (item.paid, item.status, outstanding(item)) == ("10.00", "open", Decimal("44.00"))
    record_payment(item, check_payment(item, PaymentOrder(item.number)), date(2026, 3, 5), "t", "b")
    assert (item.paid, item.status, outstanding(item)) == ("54.00", "paid", Decimal("0.00"))
    assert [p["amount"] for p in item.payments] == ["10.00", "44.00"]


def test_over_payments_fractions_of_a_penny_and_paying_a_paid_invoice_are_refused() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    with pytest.raises(InvoiceError, match=r"more than the 54\.00 GBP outstanding"):
        check_payment(item, PaymentOrder(item.number, Decimal("54.01")))
    with pytest.raises(InvoiceError, match="at most 2 decimals"):
        check_payment(item, PaymentOrder(item.number, Decimal("1.005")))
    record_payment(item, Decimal("54.00"), date(2026, 3, 4), "t", "a")
    with pytest.raises(InvoiceError, match="paid already"):
        check_payment(item, PaymentOrder(item.number))


# -- credits ----------------------------------------------------------------------------------


def test_a_full_credit_mirrors_the_lines_of_each_rate() -> None:
    item = invoice(line("45.00", "20", "9.00"), line("25.50", "5", "1.28"))
    assert credit_amounts(item, [], Decimal("80.78")) == [
        (Decimal("5"), Decimal("25.50"), Decimal("1.28")),
        (Decimal("20"), Decimal("45.00"), Decimal("9.00")),
    ]


def test_a_part_credit_is_spread_over_the_rates_and_adds_up() -> None:
    item = invoice(line("45.00", "20", "9.00"), line("25.50", "5", "1.28"))
    amounts = credit_amounts(item, [], Decimal("10.00"))
    assert sum(taxable + tax for _, taxable, tax in amounts) == Decimal("10.00")
    by_rate = {rate: (taxable, tax) for rate, taxable, tax in amounts}
    # 54.00 of 80.78 is at 20%: 6.68 of the 10.00, split 5.57 + 1.11; the rest at 5%: 3.32, split 3.16 + 0.16.
    assert by_rate[Decimal("20")] == (Decimal("5.57"), Decimal("1.11"))
    assert by_rate[Decimal("5")] == (Decimal("3.16"), Decimal("0.16"))


@given(
    st.lists(st.integers(min_value=1, max_value=10_000_00), min_size=1, max_size=4),
    st.lists(st.sampled_from(["0", "5", "12", "20"]), min_size=4, max_size=4),
    st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5),
)
def test_credits_never_exceed_what_was_invoiced_at_any_rate(
    cents: list[int], rates: list[str], parts: list[int]
) -> None:
    lines = []
    for amount, rate in zip(cents, rates, strict=False):
        taxable = Decimal(amount).scaleb(-2)
        tax = (taxable * Decimal(rate) / 100).quantize(Decimal("0.01"))
        lines.append(line(str(taxable), rate, str(tax)))
    item = invoice(*lines)
    notes: list[Invoice] = []
    for position, part in enumerate(parts):
        left = Decimal(item.total) - sum((Decimal(n.total) for n in notes), Decimal(0))
        if left <= 0:
            break
        wanted = max(Decimal("0.01"), (left * part / 100).quantize(Decimal("0.01")))
        amount = left if position == len(parts) - 1 else min(wanted, left)
        amounts = credit_amounts(item, notes, amount)
        assert sum(taxable + tax for _, taxable, tax in amounts) == amount
        assert all(taxable >= 0 and tax >= 0 for _, taxable, tax in amounts)
        notes.append(credit_note(item, amounts, f"CN-{position}"))
    for rate in {item_line["tax_rate"] for item_line in item.lines}:
        invoiced = [(Decimal(x["taxable"]), Decimal(x["tax"])) for x in item.lines if x["tax_rate"] == rate]
        credited = [(Decimal(x["taxable"]), Decimal(x["tax"])) for n in notes for x in n.lines
                    if Decimal(x["tax_rate"]) == Decimal(rate)]  # fmt: skip
        assert sum(t for t, _ in credited) <= sum(t for t, _ in invoiced)
        assert sum(t for _, t in credited) <= sum(t for _, t in invoiced)


def test_a_credit_beyond_what_is_left_and_voiding_a_paid_invoice_are_refused() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    with pytest.raises(InvoiceError, match="not yet credited"):
        check_credit(item, RefundOrder(item.number, Decimal("54.01")))
    assert check_credit(item, RefundOrder(item.number)) == Decimal("54.00")
    record_payment(item, Decimal("5.00"), date(2026, 3, 4), "t", "a")
    with pytest.raises(InvoiceError, match="use #refund"):
        check_credit(item, RefundOrder(item.number, void=True))


def test_crediting_a_paid_invoice_pays_the_difference_back() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    record_payment(item, Decimal("54.00"), date(2026, 3, 4), "t", "a")
    note = credit_note(item, credit_amounts(item, [], Decimal("12.00")), "CN-1")
    assert apply_credit(item, note, date(2026, 3, 5), "t", void=False) == Decimal("12.00")
    assert (item.credited, item.paid, item.status) == ("12.00", "42.00", "paid")
    assert item.payments[-1] == {"kind": "refund", "amount": "-12.00", "on": "2026-03-05", "recorded_at": "t",
                                 "origin": "", "credit_note": "CN-1"}  # fmt: skip
    rest = credit_note(item, credit_amounts(item, [note], Decimal("42.00")), "CN-2")
    apply_credit(item, rest, date(2026, 3, 5), "t", void=False)
    assert (item.credited, item.paid, item.status) == ("54.00", "0.00", "credited")
    with pytest.raises(InvoiceError, match="fully credited"):
        check_credit(item, RefundOrder(item.number))


def test_voiding_an_unpaid_invoice_credits_it_all() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    amount = check_credit(item, RefundOrder(item.number, void=True))
    apply_credit(
        item, credit_note(item, credit_amounts(item, [], amount), "CN-1"), date(2026, 3, 5), "t", True
    )
    assert (item.status, item.credited, outstanding(item)) == ("void", "54.00", Decimal("0.00"))
    with pytest.raises(InvoiceError, match="void already"):
        check_credit(item, RefundOrder(item.number))
    with pytest.raises(InvoiceError, match="void"):
        check_payment(item, PaymentOrder(item.number))


# -- the overdue condition, the QR code ----------------------------------------------------------


def test_invoice_overdue_for_holds_a_week_after_the_due_day_ended() -> None:
    item = invoice(line("45.00", "20", "9.00"))
    moment = overdue_from(item, "Europe/London")
    assert moment == "2026-03-11T00:00:00+00:00"
    check = CONDITIONS["invoice_overdue_for"]("7 days")
    hours = BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/London")
    ticket = {"open_invoices": {item.number: moment}}
    assert check.anchor is not None and check.anchor(ticket) == moment
    assert check.check(Facts(ticket, datetime(2026, 3, 17, 23, tzinfo=UTC), hours)) is None
    assert check.check(Facts(ticket, datetime(2026, 3, 18, 0, tzinfo=UTC), hours)) is not None
    assert check.check(Facts({"open_invoices": {}}, datetime(2027, 1, 1, tzinfo=UTC), hours)) is None


def qr(currency: str, **settings: str) -> str | None:
    config = SimpleNamespace(
        invoices=InvoicesConfig(**settings),
        business=BusinessConfig(name="Acme", email="support@acme.example", legal_name="Acme Ltd"),
    )
    actions = Actions.__new__(Actions)
    actions.config = config  # type: ignore[assignment]
    item = invoice(line("45.00", "20", "9.00"))
    item.currency = currency
    return actions.qr_payload(item)


def test_the_payment_qr_code_is_upi_for_inr_and_epc_for_eur() -> None:
    assert (
        qr("INR", upi_id="acme@okhdfc")
        == "upi://pay?pa=acme@okhdfc&pn=Acme%20Ltd&am=54.00&cu=INR&tn=INV-2026-0001"
    )
    epc = qr("EUR", iban="DE89370400440532013000", bic="COBADEFFXXX")
    assert epc is not None and epc.splitlines()[4:8] == [
        "COBADEFFXXX",
        "Acme Ltd",
        "DE89370400440532013000",
        "EUR54.00",
    ]
    assert qr("GBP", upi_id="acme@okhdfc", iban="DE89370400440532013000") is None
    assert qr("EUR") is None
