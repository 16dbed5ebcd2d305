"""Factur-X / ZUGFeRD: the invoice's data as EN 16931 XML inside its PDF, for the customer's accounting.

An EU business customer's bookkeeping software reads a Factur-X invoice
without anyone typing it in. :func:`facturx_data` maps an issued
:class:`~helpdesk.store.records.Invoice` (or credit note) to the field dictionary of the
``factur-x`` package (business terms ``BT-…`` / groups ``BG-…`` of EN 16931),
which writes the Cross Industry Invoice XML and checks it against the official
schema; :func:`embed_facturx` attaches that XML to the PDF (which is then built
as PDF/A-3, see :func:`~helpdesk.business.invoicepdf.render_invoice_pdf`).

Factur-X carries VAT; a GST invoice (India) has no place in it, so the
configuration refuses ``facturx`` together with ``[business] state``. The
addresses on an invoice are free text: the first line goes into address line
1, the rest into lines 2 and 3, and the country is the VAT number's prefix
(the business's from its own VAT number or ``holiday_country``; a customer
without a VAT number is taken to be in the business's country).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import facturx

from helpdesk.business.invoicemath import InvoiceError, vat_country
from helpdesk.config import BusinessConfig
from helpdesk.store.records import Invoice

__all__ = ["FacturXError", "embed_facturx", "facturx_data", "facturx_xml", "seller_country"]

# The factur-x package logs every step at INFO and warns that the schematron
# check (which needs a Saxon server) was skipped: neither is news to the owner.
logging.getLogger("factur-x").setLevel(logging.ERROR)

_INVOICE = "380"
_CREDIT_NOTE = "381"
# UN/ECE Recommendation 20 unit codes for the units the owner writes most;
# anything else is a "unit" (C62), its name kept in the item's description.
_UNIT_CODES = {
    "": "C62", "pcs": "C62", "pc": "C62", "piece": "C62", "pieces": "C62", "unit": "C62", "units": "C62",
    "kg": "KGM", "g": "GRM", "l": "LTR", "m": "MTR", "h": "HUR", "hr": "HUR", "hrs": "HUR",
    "hour": "HUR", "hours": "HUR", "day": "DAY", "days": "DAY", "month": "MON", "months": "MON",
}  # fmt: skip
_SEPA_CREDIT_TRANSFER = "58"
_CREDIT_TRANSFER = "30"


class FacturXError(InvoiceError):
    """The invoice cannot be written as Factur-X: nothing is issued, and the owner is told why."""

    def __init__(self, problem: str):
        super().__init__("Factur-X", problem)


def seller_country(business: BusinessConfig) -> str:
    """The business's ISO country code: its VAT number's prefix, else ``holiday_country``; "" if neither."""
    if business.tax_id.strip():
        try:
            return _iso_country(vat_country(business.tax_id))
        except InvoiceError:
            pass
    return (business.holiday_country or "").upper()


def _iso_country(vat_prefix: str) -> str:
    # Greek VAT numbers start with EL; the country's ISO code is GR.
    return "GR" if vat_prefix == "EL" else vat_prefix


def _address(text: str) -> dict[str, str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fields = {}
    for key, line in zip(("addr_l1", "addr_l2"), lines, strict=False):
        fields[key] = line
    if len(lines) > 2:
        fields["addr_l3"] = ", ".join(lines[2:])
    return fields


def _buyer(invoice: Invoice, country: str) -> dict[str, Any]:
    bill_to = invoice.bill_to
    buyer: dict[str, Any] = {"name": bill_to.get("name") or bill_to.get("email") or invoice.customer}
    tax_id = (bill_to.get("tax_id") or "").replace(" ", "").upper()
    if tax_id:
        try:
            country = _iso_country(vat_country(tax_id))
            buyer["vat_identifier"] = tax_id
        except InvoiceError:
            pass
    buyer.update(_address(bill_to.get("address", "")))
    buyer["country_code"] = country
    if bill_to.get("email"):
        buyer["einvoicing_addr"] = bill_to["email"]
        buyer["einvoicing_addr_schemeid"] = "EM"
    return buyer


def _seller(business: BusinessConfig, country: str) -> dict[str, Any]:
    seller: dict[str, Any] = {"name": business.legal_name.strip() or business.name}
    if business.legal_name.strip() and business.name != business.legal_name.strip():
        seller["biz_name"] = business.name
    if business.tax_id.strip():
        seller["vat_identifier"] = business.tax_id.replace(" ", "").upper()
    seller.update(_address(business.address))
    seller["country_code"] = country
    seller["einvoicing_addr"] = business.email
    seller["einvoicing_addr_schemeid"] = "EM"
    return seller


def _category(rate: Decimal, reverse_charge: bool) -> str:
    """The EN 16931 VAT category: AE reverse charge, S standard rate, Z zero rate."""
    if reverse_charge:
        return "AE"
    return "S" if rate > 0 else "Z"


def _amount(value: str) -> str:
    return str(abs(Decimal(value)))


def _breakdown(invoice: Invoice) -> list[dict[str, str]]:
    rows: dict[Decimal, dict[str, Decimal]] = {}
    for row in invoice.tax_rows:
        totals = rows.setdefault(Decimal(row["rate"]), {"taxable": Decimal(0), "tax": Decimal(0)})
        totals["taxable"] += abs(Decimal(row["taxable"]))
        totals["tax"] += abs(Decimal(row["amount"]))
    result = []
    for rate, totals in sorted(rows.items()):
        category = _category(rate, invoice.reverse_charge)
        entry = {
            "BT-116": str(totals["taxable"]),
            "BT-117": str(totals["tax"]),
            "BT-118": category,
            "BT-119": str(rate),
        }
        if category == "AE":
            entry["BT-120"] = "Reverse charge"
            entry["BT-121"] = "VATEX-EU-AE"
        result.append(entry)
    return result


def _lines(invoice: Invoice) -> list[dict[str, Any]]:
    result = []
    for index, line in enumerate(invoice.lines, start=1):
        unit = line.get("unit", "")
        code = _UNIT_CODES.get(unit.lower())
        name = line["description"] if code or not unit else f"{line['description']} ({unit})"
        rate = Decimal(line["tax_rate"])
        entry: dict[str, Any] = {
            "BT-126": str(index),
            "BT-129": _amount(line["quantity"]),
            "BT-130": code or "C62",
            "BT-131": _amount(line["taxable"]),
            "BT-146": _amount(line["unit_price"]),
            "BT-151": _category(rate, invoice.reverse_charge),
            "BT-152": "0" if invoice.reverse_charge else str(rate),
            "BT-153": name,
        }
        if line.get("hsn_sac"):
            entry["BT-158"] = {"HS": {None: line["hsn_sac"]}}
        result.append(entry)
    return result


def facturx_data(
    invoice: Invoice, business: BusinessConfig, *, payment_terms: str = "", iban: str = "", bic: str = ""
) -> dict[str, Any]:
    """The EN 16931 field dictionary of ``invoice`` issued by ``business``, for the ``factur-x`` package.

    A credit note is type 381 with its amounts positive and the credited
    invoice as preceding reference; ``iban`` (with ``bic``) gives a SEPA
    credit transfer as the means of payment. Raises :class:`FacturXError`
    when the business's country cannot be told.
    """
    country = seller_country(business)
    if not country:
        raise FacturXError("the business's country is unknown: set [business] tax_id or holiday_country")
    credit_note = invoice.kind == "credit-note"
    total = _amount(invoice.total)
    data: dict[str, Any] = {
        "BT-1": invoice.number,
        "BT-2": invoice.issued_on,
        "BT-3": _CREDIT_NOTE if credit_note else _INVOICE,
        "BT-5": invoice.currency,
        "BT-24": "urn:cen.eu:en16931:2017",
        # The date of supply: the invoice is issued for what was supplied that day.
        "BT-72": invoice.issued_on,
        "BG-4": _seller(business, country),
        "BG-7": _buyer(invoice, country),
        "BT-106": _amount(invoice.net),
        "BT-109": _amount(invoice.net),
        "BT-110": _amount(invoice.tax),
        "BT-112": total,
        "BT-115": "0" if credit_note else total,
        "BG-23": _breakdown(invoice),
        "BG-25": _lines(invoice),
    }
    if invoice.due_on and not credit_note:
        data["BT-9"] = invoice.due_on
    if payment_terms.strip():
        data["BT-20"] = payment_terms.strip()
    if invoice.reference:
        data["BT-13"] = invoice.reference[:35]
    if credit_note and invoice.credit_of:
        data["BG-3"] = [{"BT-25": invoice.credit_of}]
    if invoice.note:
        data["BG-1"] = [{"BT-22": invoice.note}]
    if not credit_note:
        data["BT-81"] = _SEPA_CREDIT_TRANSFER if iban else _CREDIT_TRANSFER
        data["BT-83"] = invoice.number
        if iban:
            data["BT-84"] = iban
            if bic:
                data["BT-86"] = bic
    return data


def facturx_xml(invoice: Invoice, business: BusinessConfig, **payment: str) -> bytes:
    """The Factur-X (EN 16931 profile) XML of ``invoice``, checked against the official schema."""
    data = facturx_data(invoice, business, **payment)
    try:
        return facturx.generate_xml(data, level="en16931", check_xsd=True, check_schematron=False)
    except Exception as exc:  # the package raises plain Exception for a schema failure
        raise FacturXError(f"the XML of {invoice.number} is not valid: {exc}") from exc


def embed_facturx(pdf: bytes, invoice: Invoice, business: BusinessConfig, **payment: str) -> bytes:
    """``pdf`` (a PDF/A-3 document) with the invoice's Factur-X XML attached as ``factur-x.xml``."""
    xml = facturx_xml(invoice, business, **payment)
    title = "Credit Note" if invoice.kind == "credit-note" else "Invoice"
    metadata = {
        "author": business.legal_name.strip() or business.name,
        "keywords": "Factur-X",
        "title": f"{title} {invoice.number}",
        "subject": f"{title} {invoice.number}",
    }
    try:
        return bytes(
            facturx.generate_from_binary(
                pdf, xml, flavor="factur-x", level="en16931", check_xsd=False, pdf_metadata=metadata
            )
        )
    except Exception as exc:  # the package raises plain Exception
        raise FacturXError(f"the XML could not be attached to {invoice.number}: {exc}") from exc
