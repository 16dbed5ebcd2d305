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
import re
import shlex
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_currency

from helpdesk.business.invoicemath import (
    InvoiceError,
    InvoiceLine,
    InvoiceTotals,
    Supply,
    SupplyKind,
    compute_invoice,
    currency_precision,
    gst_supply,
    parse_amount,
    parse_item_lines,
    round_money,
    validate_gstin,
    vat_supply,
)
from helpdesk.business.numbering import format_number, series_key
from helpdesk.config import Config
from helpdesk.store.durable import atomic_write
from helpdesk.store.records import Customer, Invoice, iso
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


# -- the lifecycle: payments, credit notes, voiding ------------------------------------------------
#
# Money on an invoice, all Decimal strings in the currency's minor unit:
#
# * ``total``: what was invoiced; ``credited``: the sum of its credit notes'
#   totals (``credit_notes`` names them). What the customer owes is
#   ``total - credited``; a credit never exceeds it.
# * ``payments``: one entry per movement of money, ``{"kind", "amount", "on",
#   "recorded_at", "origin"}``: a ``payment`` (positive, from ``#paid``) or a
#   ``refund`` (negative: money paid back because a credit note left the
#   customer having paid more than they owe; it names the ``credit_note``).
#   ``paid`` is their sum, so it never exceeds what is owed.
# * ``outstanding = total - credited - paid``.
#
# Status: "void" once ``#void`` cancelled it, "credited" once fully credited,
# "paid" when nothing is outstanding, else "open".

PAID_HELP = "#paid INV-NUMBER [amount] [YYYY-MM-DD] (records a payment; default: what is outstanding)"
REFUND_HELP = "#refund INV-NUMBER [amount] [reason…] (issues a credit note; default: all not yet credited)"
VOID_HELP = "#void INV-NUMBER (cancels an unpaid invoice by a full credit note)"
_NUMBER = re.compile(r"[^\s|]{1,16}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_REASON = 200


@dataclass(frozen=True)
class PaymentOrder:
    """A ``#paid`` command: the invoice, the amount (None: what is outstanding), the day (None: today)."""

    number: str
    amount: Decimal | None = None
    on: date | None = None


@dataclass(frozen=True)
class RefundOrder:
    """A ``#refund`` (or ``#void``) command: the invoice, the amount (None: all), the reason."""

    number: str
    amount: Decimal | None = None
    reason: str = ""
    void: bool = False


def _invoice_number(words: list[str], help_text: str) -> str:
    if not words:
        raise InvoiceError("number", f"name the invoice: {help_text}")
    if not _NUMBER.fullmatch(words[0]):
        raise InvoiceError("number", f"{words[0]!r} is not an invoice number (e.g. INV-2026-0001)")
    return words[0]


def _positive_amount(text: str) -> Decimal:
    amount = parse_amount(text)
    if amount == 0:
        raise InvoiceError("amount", "must be more than 0")
    return amount


def parse_paid(argument: str) -> PaymentOrder:
    """Check a ``#paid INV-NUMBER [amount] [YYYY-MM-DD]`` argument; InvoiceError names what is wrong."""
    words = argument.split()
    number = _invoice_number(words, PAID_HELP)
    amount: Decimal | None = None
    on: date | None = None
    for word in words[1:]:
        if _DATE.fullmatch(word) and on is None:
            try:
                on = date.fromisoformat(word)
            except ValueError:
                raise InvoiceError("date", f"{word!r} is not a date (YYYY-MM-DD)") from None
        elif amount is None and on is None:
            amount = _positive_amount(word)
        else:
            raise InvoiceError("paid", f"{word!r}: expected {PAID_HELP}")
    return PaymentOrder(number, amount, on)


def parse_refund(argument: str) -> RefundOrder:
    """Check a ``#refund INV-NUMBER [amount] [reason…]`` argument.

    A second word that is a number is the amount; the rest is the reason (so a
    reason starting with a number needs the amount before it).
    """
    words = argument.split()
    number = _invoice_number(words, REFUND_HELP)
    rest = words[1:]
    amount = None
    if rest and re.fullmatch(r"[\d.,]+", rest[0]):
        amount = _positive_amount(rest[0])
        rest = rest[1:]
    reason = " ".join(rest)
    if len(reason) > _MAX_REASON:
        raise InvoiceError("reason", f"at most {_MAX_REASON} characters")
    return RefundOrder(number, amount, reason)


def parse_void(argument: str) -> RefundOrder:
    """Check a ``#void INV-NUMBER`` argument."""
    words = argument.split()
    number = _invoice_number(words, VOID_HELP)
    if len(words) > 1:
        raise InvoiceError("void", f"takes only the invoice number: {VOID_HELP}")
    return RefundOrder(number, None, "cancelled", void=True)


def money(value: str) -> Decimal:
    """A stored amount as a Decimal."""
    return Decimal(value or "0")


def owed(invoice: Invoice) -> Decimal:
    """What the customer owes in all: the total less the credit notes."""
    return money(invoice.total) - money(invoice.credited)


def outstanding(invoice: Invoice) -> Decimal:
    """What is still to be paid."""
    return owed(invoice) - money(invoice.paid)


def _status(invoice: Invoice) -> str:
    if invoice.status == "void":
        return "void"
    if money(invoice.credited) >= money(invoice.total) and money(invoice.credited) > 0:
        return "credited"
    if outstanding(invoice) <= 0:
        return "paid"
    return "open"


def _in_minor_units(amount: Decimal, currency: str, what: str) -> Decimal:
    precision = currency_precision(currency)
    if amount != round_money(amount, precision):
        raise InvoiceError("amount", f"{what} {amount} {currency}: at most {precision} decimals")
    return round_money(amount, precision)


def lifecycle_target(store: Store, number: str, customer_email: str) -> Invoice:
    """The invoice ``number`` of ``customer_email``; InvoiceError when unknown or someone else's."""
    # Numbers are printed in capitals; "#paid inv-2026-0001" means the same invoice.
    invoice = store.invoice(number) or store.invoice(number.upper())
    if invoice is None:
        raise InvoiceError("number", f"there is no invoice {number}")
    if invoice.kind != "invoice":
        raise InvoiceError("number", f"{number} is a credit note, not an invoice")
    if invoice.customer.lower() != customer_email.lower():
        raise InvoiceError("number", f"invoice {number} belongs to another customer, not {customer_email}")
    return invoice


def check_payment(invoice: Invoice, order: PaymentOrder) -> Decimal:
    """The amount ``order`` pays on ``invoice``; InvoiceError if it cannot (nothing due, too much)."""
    if invoice.status in ("void", "credited"):
        raise InvoiceError("number", f"invoice {invoice.number} is {invoice.status}: nothing is due")
    due = outstanding(invoice)
    if due <= 0:
        raise InvoiceError("number", f"invoice {invoice.number} is paid already: nothing is outstanding")
    amount = due if order.amount is None else _in_minor_units(order.amount, invoice.currency, "payment")
    if amount > due:
        raise InvoiceError(
            "amount",
            f"{amount} {invoice.currency} is more than the {due} {invoice.currency} outstanding "
            f"on {invoice.number}: nothing was recorded",
        )
    return amount


def record_payment(invoice: Invoice, amount: Decimal, on: date, recorded_at: str, origin: str) -> None:
    """Add a checked payment (:func:`check_payment`) to ``invoice`` and update its status."""
    invoice.payments.append(
        {
            "kind": "payment",
            "amount": str(amount),
            "on": on.isoformat(),
            "recorded_at": recorded_at,
            "origin": origin,
        }
    )
    invoice.paid = str(money(invoice.paid) + amount)
    invoice.status = _status(invoice)


def check_credit(invoice: Invoice, order: RefundOrder) -> Decimal:
    """The total the credit note for ``order`` credits; InvoiceError when it cannot be issued."""
    if invoice.status == "void":
        raise InvoiceError("number", f"invoice {invoice.number} is void already")
    remaining = owed(invoice)
    if remaining <= 0:
        raise InvoiceError("number", f"invoice {invoice.number} is fully credited already")
    if order.void:
        if money(invoice.paid) != 0:
            raise InvoiceError(
                "number",
                f"invoice {invoice.number} is (partly) paid and cannot be voided: "
                f"use #refund {invoice.number} [amount] [reason] instead",
            )
        if money(invoice.credited) != 0:
            raise InvoiceError(
                "number", f"invoice {invoice.number} has credit notes: use #refund for the rest instead"
            )
        return remaining
    if order.amount is None:
        return remaining
    amount = _in_minor_units(order.amount, invoice.currency, "refund")
    if amount > remaining:
        raise InvoiceError(
            "amount",
            f"{amount} {invoice.currency} is more than the {remaining} {invoice.currency} of "
            f"{invoice.number} not yet credited: nothing was issued",
        )
    return amount


@dataclass
class _Group:
    """An invoice's lines at one tax rate: what they invoiced less what credit notes credited."""

    rate: Decimal
    taxable: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.taxable + self.tax


def _groups(invoice: Invoice, credit_notes: list[Invoice]) -> list[_Group]:
    groups: dict[Decimal, _Group] = {}
    for line in invoice.lines:
        rate = Decimal(line["tax_rate"])
        group = groups.setdefault(rate, _Group(rate, Decimal(0), Decimal(0)))
        group.taxable += Decimal(line["taxable"])
        group.tax += Decimal(line["tax"])
    for note in credit_notes:
        for line in note.lines:
            group = groups[Decimal(line["tax_rate"])]
            group.taxable -= Decimal(line["taxable"])
            group.tax -= Decimal(line["tax"])
    return [group for _, group in sorted(groups.items()) if group.gross > 0]


def credit_amounts(
    invoice: Invoice, credit_notes: list[Invoice], amount: Decimal
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """How a credit of ``amount`` (gross) is spread over the invoice's tax rates: (rate, taxable, tax).

    The credit is proportional: each rate gets its share of what is left to
    credit at that rate (what its lines invoiced less earlier credit notes), the
    last rate the rounding remainder. Within a rate, the share is split into
    taxable value and tax at the rate, rounded half-up, and never beyond what is
    left of either. Crediting all that is left credits exactly that, line for
    line, so a full credit mirrors the invoice. The results add up to ``amount``.
    """
    precision = currency_precision(invoice.currency)
    groups = _groups(invoice, credit_notes)
    left = sum((group.gross for group in groups), Decimal(0))
    if not Decimal(0) < amount <= left:
        raise InvoiceError("amount", f"{amount}: the credit must be more than 0 and at most {left}")
    if amount == left:
        return [(group.rate, group.taxable, group.tax) for group in groups]
    shares = [round_money(amount * group.gross / left, precision) for group in groups]
    shares[-1] = amount - sum(shares[:-1], Decimal(0))
    # Rounding may push a share past what is left at its rate: move the excess on.
    for index, group in enumerate(groups):
        excess = shares[index] - group.gross
        if excess > 0:
            shares[index] = group.gross
            for other, spare in enumerate(groups):
                room = min(excess, spare.gross - shares[other])
                if room > 0:
                    shares[other] += room
                    excess -= room
    result = []
    for group, share in zip(groups, shares, strict=True):
        if share <= 0:
            continue
        if share == group.gross:
            result.append((group.rate, group.taxable, group.tax))
            continue
        taxable = min(round_money(share * 100 / (100 + group.rate), precision), group.taxable)
        tax = share - taxable
        if tax > group.tax:
            tax, taxable = group.tax, share - group.tax
        result.append((group.rate, taxable, tax))
    return result


def _tax_rows(invoice: Invoice, amounts: list[tuple[Decimal, Decimal, Decimal]]) -> list[dict[str, str]]:
    """The credit note's tax breakdown, in the invoice's own taxes (CGST + SGST, IGST, VAT...)."""
    precision = currency_precision(invoice.currency)
    names = {Decimal(row["rate"]): row["name"] for row in invoice.tax_rows}
    split = any(row["name"] == "CGST" for row in invoice.tax_rows)
    fallback = invoice.tax_rows[0]["name"] if invoice.tax_rows else "Tax"
    rows = []
    for rate, taxable, tax in amounts:
        if split:
            central = round_money(tax / 2, precision)
            half = rate / 2
            for name, part in (("CGST", central), ("SGST", tax - central)):
                rows.append({"name": name, "rate": str(half), "taxable": str(taxable), "amount": str(part)})
        else:
            name = names.get(rate, fallback)
            rows.append({"name": name, "rate": str(rate), "taxable": str(taxable), "amount": str(tax)})
    return rows


def prepare_credit_note(
    config: Config,
    store: Store,
    invoice: Invoice,
    amount: Decimal,
    reason: str,
    today: date,
    created_at: str,
) -> Invoice:
    """A credit note of ``amount`` (checked by :func:`check_credit`) for ``invoice``, not yet recorded.

    Its own series (``[invoices] credit_note_format``), gapless like invoices;
    the customer as on the invoice; one line per tax rate of the invoice,
    "Refund for invoice X: reason", spread by :func:`credit_amounts`.
    """
    settings = config.invoices
    earlier = [note for note in map(store.invoice, invoice.credit_notes) if note is not None]
    amounts = credit_amounts(invoice, earlier, amount)
    series = series_key(settings.credit_note_format, today, settings.year_start)
    sequence = store.series_next(series)
    number = format_number(settings.credit_note_format, sequence, today, settings.year_start)
    description = f"Refund for invoice {invoice.number}" + (f": {reason}" if reason else "")
    lines = []
    for rate, taxable, tax in amounts:
        label = f"{description} ({rate}% tax)" if len(amounts) > 1 else description
        lines.append(
            {
                "description": label,
                "quantity": "1",
                "unit": "",
                "unit_price": str(taxable),
                "tax_rate": str(rate),
                "hsn_sac": "",
                "taxable": str(taxable),
                "tax": str(tax),
                "total": str(taxable + tax),
            }
        )
    net = sum((taxable for _, taxable, _ in amounts), Decimal(0))
    tax = sum((tax for _, _, tax in amounts), Decimal(0))
    return Invoice(
        id=0,
        number=number,
        kind="credit-note",
        series=series,
        sequence=sequence,
        issued_on=today.isoformat(),
        customer=invoice.customer,
        currency=invoice.currency,
        bill_to=dict(invoice.bill_to),
        ticket_id=invoice.ticket_id,
        lines=lines,
        tax_rows=_tax_rows(invoice, amounts),
        net=str(net),
        tax=str(tax),
        total=str(net + tax),
        reverse_charge=invoice.reverse_charge,
        place_of_supply=invoice.place_of_supply,
        reference=invoice.reference,
        note=reason,
        credit_of=invoice.number,
        created_at=created_at,
    )


def apply_credit(invoice: Invoice, credit_note: Invoice, on: date, recorded_at: str, void: bool) -> Decimal:
    """Record ``credit_note`` on the invoice it credits; returns the money to pay back (0 if none).

    When the customer has paid more than they now owe, the difference is paid
    back: a negative ``refund`` entry in the invoice's payments.
    """
    invoice.credit_notes.append(credit_note.number)
    invoice.credited = str(money(invoice.credited) + money(credit_note.total))
    refund = max(money(invoice.paid) - owed(invoice), Decimal(0))
    if refund > 0:
        invoice.payments.append(
            {
                "kind": "refund",
                "amount": str(-refund),
                "on": on.isoformat(),
                "recorded_at": recorded_at,
                "origin": credit_note.origin,
                "credit_note": credit_note.number,
            }
        )
        invoice.paid = str(money(invoice.paid) - refund)
    invoice.status = "void" if void else _status(invoice)
    return refund


def overdue_from(invoice: Invoice, timezone: str) -> str | None:
    """When ``invoice`` becomes overdue: the start of the day after its due date, in ``timezone`` (ISO)."""
    if not invoice.due_on:
        return None
    day = date.fromisoformat(invoice.due_on) + timedelta(days=1)
    start = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone))
    return iso(start)


def payment_summary(invoice: Invoice, locale: str) -> dict[str, str]:
    """:func:`invoice_summary` and what has been paid and is outstanding, formatted."""
    return {
        **invoice_summary(invoice, locale),
        "status": invoice.status,
        "paid": format_amount(invoice.paid, invoice.currency, locale),
        "credited": format_amount(invoice.credited, invoice.currency, locale),
        "outstanding": format_amount(str(outstanding(invoice)), invoice.currency, locale),
    }
