"""Issuing invoices: from the owner's ``#invoice`` order to a numbered, stored, immutable invoice.

The owner writes, in a reply to a ticket::

    #invoice due=14d ref=PO-77 note="Thank you for your order"
    Blue teapot | 1 | 45.00
    Sencha 100 g | 3 | 8.50 | 5 | 0902

Every line and option is checked before anything happens (:func:`parse_order`);
a mistake names the line and the field, and no number is used. Then
:func:`prepare_invoice` works out the amounts (:mod:`helpdesk.business.invoicemath`),
the tax treatment (GST within or between states, VAT, EU reverse charge) and
the next number of the series (:mod:`helpdesk.business.numbering`), and
:func:`issue_invoice` writes the PDF bytes once (temp file, fsync, rename)
and records the invoice and its number in the store. The caller commits:
the invoice and the consumed number become durable together, so a crash
leaves either both or neither, and numbers stay gapless.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency

from helpdesk.business.invoicemath import (
    InvoiceError,
    InvoiceLine,
    InvoiceTotals,
    Supply,
    SupplyKind,
    compute_invoice,
    gst_supply,
    parse_item_lines,
    validate_gstin,
    vat_supply,
)
from helpdesk.business.numbering import format_number, series_key
from helpdesk.config import Config
from helpdesk.store.durable import atomic_write
from helpdesk.store.records import Customer, Invoice
from helpdesk.store.store import Store

INVOICE_HELP = (
    '#invoice [due=14d] [ref=…] [note="…"], then one line per item: description | qty | price [| tax %]'
)
INVOICE_DIRECTORY = "invoices"
_OPTIONS = ("due", "ref", "note")
_MAX_OPTION = 200


@dataclass(frozen=True)
class InvoiceOrder:
    """What the owner asked to invoice: the checked items and options."""

    lines: tuple[InvoiceLine, ...]
    due_days: int | None = None
    reference: str = ""
    note: str = ""


def parse_order(options: str, item_lines: list[str], default_tax_rate: Decimal) -> InvoiceOrder:
    """Check an ``#invoice`` command: its options and item lines; InvoiceError names what is wrong."""
    due_days, reference, note = None, "", ""
    try:
        words = shlex.split(options)
    except ValueError as exc:
        problem = f"cannot read the options ({exc}): put values with spaces in quotes"
        raise InvoiceError("line", problem) from None
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or key.lower() not in _OPTIONS:
            raise InvoiceError("option", f"{word!r}: use due=14d, ref=… or note=\"…\"")
        if len(value) > _MAX_OPTION:
            raise InvoiceError(key, f"at most {_MAX_OPTION} characters")
        if key.lower() == "due":
            due_days = _due_days(value)
        elif key.lower() == "ref":
            reference = value.strip()
        else:
            note = value.strip()
    if not [line for line in item_lines if line.strip()]:
        raise InvoiceError("line", f"no items: put one line per item below #invoice ({INVOICE_HELP})")
    return InvoiceOrder(parse_item_lines(item_lines, default_tax_rate), due_days, reference, note)


def _due_days(value: str) -> int:
    text = value.strip().lower().removesuffix("days").removesuffix("d").strip()
    if not text.isdigit() or int(text) > 365:
        raise InvoiceError("due", f"{value!r}: write the days until payment is due, e.g. due=14d")
    return int(text)


def supply_for(config: Config, customer: Customer | None) -> Supply:
    """The tax treatment of a sale to ``customer``: GST (intra- or inter-state), VAT, reverse charge, none."""
    business = config.business
    tax_id = customer.tax_id if customer else ""
    if business.state:
        gstin = tax_id if tax_id and _is_gstin(tax_id) else None
        return gst_supply(business.state, customer_gstin=gstin)
    if business.tax_id:
        return vat_supply(business.tax_id, tax_id or None)
    return Supply(SupplyKind.STANDARD)


def _is_gstin(value: str) -> bool:
    try:
        validate_gstin(value)
    except InvoiceError:
        return False
    return True


def prepare_invoice(
    config: Config,
    store: Store,
    order: InvoiceOrder,
    customer_email: str,
    ticket_id: int | None,
    today: date,
    created_at: str,
) -> tuple[Invoice, InvoiceTotals]:
    """A complete invoice with the next number of its series, not yet recorded."""
    settings = config.invoices
    customer = store.customer(customer_email)
    supply = supply_for(config, customer)
    totals = compute_invoice(order.lines, config.business.currency, supply=supply)
    series = series_key(settings.number_format, today, settings.year_start)
    sequence = store.series_next(series)
    number = format_number(settings.number_format, sequence, today, settings.year_start)
    due_days = settings.due_days if order.due_days is None else order.due_days
    invoice = Invoice(
        id=0,
        number=number,
        kind="invoice",
        series=series,
        sequence=sequence,
        issued_on=today.isoformat(),
        due_on=(today + timedelta(days=due_days)).isoformat(),
        customer=customer_email,
        currency=totals.currency,
        bill_to={
            "name": customer.name if customer else "",
            "email": customer_email,
            "address": customer.postal_address if customer else "",
            "tax_id": customer.tax_id if customer else "",
        },
        ticket_id=ticket_id,
        lines=[
            {
                "description": amounts.line.description,
                "quantity": str(amounts.line.quantity),
                "unit": amounts.line.unit,
                "unit_price": str(amounts.line.unit_price),
                "tax_rate": str(amounts.tax_rate),
                "hsn_sac": amounts.line.code,
                "taxable": str(amounts.taxable),
                "tax": str(amounts.tax),
                "total": str(amounts.total),
            }
            for amounts in totals.lines
        ],
        tax_rows=[
            {"name": row.name, "rate": str(row.rate), "taxable": str(row.taxable), "amount": str(row.amount)}
            for row in totals.breakdown
        ],
        net=str(totals.net),
        tax=str(totals.tax),
        total=str(totals.total),
        reverse_charge=totals.reverse_charge,
        place_of_supply=supply.place_of_supply_label,
        reference=order.reference,
        note=order.note,
        created_at=created_at,
    )
    return invoice, totals


def invoice_pdf_path(invoice: Invoice) -> str:
    """Where an invoice's PDF lives, relative to the data directory (``/`` in numbers become ``_``)."""
    return f"{INVOICE_DIRECTORY}/{invoice.number.replace('/', '_')}.pdf"


def issue_invoice(store: Store, data_dir: Path, invoice: Invoice, pdf: bytes) -> None:
    """Write the PDF once and record the invoice; the caller's next commit makes both final.

    A PDF left by a crash before that commit belongs to no invoice: the same
    number is issued again, and its file rewritten, on the next attempt.
    """
    invoice.pdf_path = invoice_pdf_path(invoice)
    invoice.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    atomic_write(data_dir / invoice.pdf_path, pdf)
    store.issue_invoice(invoice)


def format_amount(amount: str, currency: str, locale: str) -> str:
    """An amount as people in ``locale`` write it: ``₹1,23,456.00`` (en_IN), ``1.234,56 €`` (de_DE)."""
    return format_currency(Decimal(amount), currency, locale=locale)


def invoice_summary(invoice: Invoice, locale: str) -> dict[str, str]:
    """What the invoice mail's templates show: number, dates and the amounts, formatted."""
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "issued_on": invoice.issued_on,
        "due_on": invoice.due_on or "",
        "net": format_amount(invoice.net, invoice.currency, locale),
        "tax": format_amount(invoice.tax, invoice.currency, locale),
        "total": format_amount(invoice.total, invoice.currency, locale),
        "reference": invoice.reference,
        "note": invoice.note,
        "reverse_charge": "yes" if invoice.reverse_charge else "",
    }
