"""The invoice PDF: every legal field in its text, non-Latin text, determinism, paging, QR payloads."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest

pypdf = pytest.importorskip("pypdf")

from helpdesk.business.invoicepdf import (  # noqa: E402
    epc_payload,
    render_invoice_pdf,
    tax_id_label,
    upi_payload,
)
from helpdesk.config import BusinessConfig  # noqa: E402
from helpdesk.store.records import Invoice  # noqa: E402

INDIA = BusinessConfig(
    name="Acme Tea",
    legal_name="Acme Tea Private Limited",
    email="billing@acmetea.example",
    address="12 MG Road\nBengaluru 560001\nKarnataka, India",
    phone="+91 80 1234 5678",
    website="https://acmetea.example",
    tax_id="29ABCDE1234F1Z5",
    currency="INR",
    timezone="Asia/Kolkata",
)
GERMANY = BusinessConfig(
    name="Kaffeerösterei Huber",
    legal_name="Kaffeerösterei Huber GmbH",
    email="rechnung@huber.example",
    address="Hauptstraße 5\n80331 München\nDeutschland",
    phone="+49 89 123456",
    website="https://huber.example",
    tax_id="DE123456789",
    currency="EUR",
    timezone="Europe/Berlin",
)


def item(description: str, *, qty: str = "1", unit: str = "", price: str, rate: str, tax: str,
         code: str = "") -> dict[str, str]:  # fmt: skip
    taxable = Decimal(qty) * Decimal(price)
    return {
        "description": description,
        "quantity": qty,
        "unit": unit,
        "unit_price": price,
        "tax_rate": rate,
        "hsn_sac": code,
        "taxable": f"{taxable:.2f}",
        "tax": tax,
        "total": f"{taxable + Decimal(tax):.2f}",
    }


def gst_invoice(**changes: object) -> Invoice:
    """An intra-state GST invoice for a customer with a Cyrillic name: ₹1,23,456.00 net."""
    invoice = Invoice(
        id=1,
        number="INV/2026-27/0001",
        kind="invoice",
        series="INV",
        sequence=1,
        issued_on="2026-04-12",
        due_on="2026-04-26",
        customer="olga@example.ru",
        currency="INR",
        bill_to={
            "name": "Ольга Петрова",
            "email": "olga@example.ru",
            "address": "Flat 4, 7 Residency Road\nBengaluru 560025",
            "tax_id": "29AAACB1234C1Z9",
            "state": "29",
        },
        lines=[
            item(
                "Darjeeling first flush, 250 g tin",
                qty="2",
                unit="pcs",
                price="61000.00",
                rate="18",
                tax="21960.00",
                code="0902",
            ),
            item(
                "Tasting session (Σοφία Παπαδοπούλου hosting)",
                price="1456.00",
                rate="18",
                tax="262.08",
                code="998596",
            ),
        ],
        tax_rows=[
            {"name": "CGST", "rate": "9", "taxable": "123456.00", "amount": "11111.04"},
            {"name": "SGST", "rate": "9", "taxable": "123456.00", "amount": "11111.04"},
        ],
        net="123456.00",
        tax="22222.08",
        total="145678.08",
        place_of_supply="29",
        reference="PO-4471",
        note="Thank you for your order.",
    )
    return replace(invoice, **changes)


def vat_invoice(**changes: object) -> Invoice:
    invoice = Invoice(
        id=2,
        number="INV-2026-0042",
        kind="invoice",
        series="INV",
        sequence=42,
        issued_on="2026-03-02",
        due_on="2026-03-16",
        customer="einkauf@kunde.example",
        currency="EUR",
        bill_to={"name": "Kunde AG", "email": "einkauf@kunde.example", "address": "Ring 1\n1010 Wien"},
        lines=[item("Espresso-Bohnen, 1 kg", qty="2", unit="kg", price="617.28", rate="19", tax="234.57")],
        tax_rows=[{"name": "VAT", "rate": "19", "taxable": "1234.56", "amount": "234.57"}],
        net="1234.56",
        tax="234.57",
        total="1469.13",
    )
    return replace(invoice, **changes)


def text_of(pdf: bytes) -> tuple[str, int]:
    """The extracted text (spaces of any kind made plain) and the number of pages."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for space in ("\u00a0", "\u202f"):
        text = text.replace(space, " ")
    return text, len(reader.pages)


def test_gst_invoice_carries_every_legal_field() -> None:
    pdf = render_invoice_pdf(
        gst_invoice(),
        INDIA,
        locale="en_IN",
        payment_details="Bank: HDFC Bank, A/c 50100012345678, IFSC HDFC0000123\nUPI: acmetea@okhdfc",
        terms="Returns accepted within 7 days of delivery.",
    )
    assert pdf.startswith(b"%PDF-")
    text, pages = text_of(pdf)
    assert pages == 1
    expected = [
        "Tax Invoice",
        # The business.
        "Acme Tea Private Limited", "12 MG Road", "Bengaluru 560001", "GSTIN: 29ABCDE1234F1Z5",
        "+91 80 1234 5678", "billing@acmetea.example", "https://acmetea.example",
        # The document.
        "INV/2026-27/0001", "12 Apr 2026", "26 Apr 2026", "29-Karnataka", "PO-4471",
        # The customer, in Cyrillic, and their GSTIN.
        "Ольга Петрова", "olga@example.ru", "Flat 4, 7 Residency Road", "29AAACB1234C1Z9",
        # The items: HSN/SAC, quantity and unit, unit price, taxable value, rate, tax, total.
        "HSN/SAC", "0902", "998596", "2 pcs", "61,000.00", "1,22,000.00", "18%", "21,960.00", "1,43,960.00",
        "Σοφία Παπαδοπούλου",
        # The tax breakdown and the totals, with the rupee sign.
        "CGST", "SGST", "9%", "11,111.04", "₹1,23,456.00", "₹22,222.08", "₹1,45,678.08",
        # Payment, terms, note.
        "HDFC0000123", "acmetea@okhdfc", "Returns accepted within 7 days of delivery.",
        "Thank you for your order.",
    ]  # fmt: skip
    flat = " ".join(text.split())  # a wrapped description continues on the next line
    missing = [field for field in expected if field not in flat]
    assert not missing, f"not in the PDF text: {missing}\n---\n{text}"
    assert "reverse charge" not in text.lower()


def test_german_vat_invoice_formats_euros_for_de_de() -> None:
    text, _ = text_of(render_invoice_pdf(vat_invoice(), GERMANY, locale="de_DE", payment_details="IBAN DE89"))
    for field in ("Tax Invoice", "Kaffeerösterei Huber GmbH", "Hauptstraße 5", "VAT No.: DE123456789",
                  "1.234,56 €", "234,57 €", "1.469,13 €", "02.03.2026", "16.03.2026", "2 kg", "617,28",
                  "Kunde AG", "Ring 1"):  # fmt: skip
        assert field in text, field
    assert "HSN/SAC" not in text  # no line has a code: no column
    assert "Place of supply" not in text


def test_business_without_tax_id_issues_an_invoice() -> None:
    business = replace(GERMANY, tax_id="")
    text, _ = text_of(render_invoice_pdf(vat_invoice(), business, locale="de_DE"))
    assert "Tax Invoice" not in text
    assert "Invoice" in text
    assert "VAT No." not in text


def test_reverse_charge_wording() -> None:
    invoice = vat_invoice(
        reverse_charge=True,
        bill_to={"name": "Klant BV", "email": "a@klant.example", "tax_id": "NL123456789B01"},
        tax_rows=[{"name": "VAT", "rate": "0", "taxable": "1234.56", "amount": "0.00"}],
        tax="0.00",
        total="1234.56",
    )
    text, _ = text_of(render_invoice_pdf(invoice, GERMANY, locale="de_DE"))
    assert "VAT to be accounted for by the recipient" in " ".join(text.split())
    assert "VAT No.: NL123456789B01" in text
    gst_text, _ = text_of(render_invoice_pdf(gst_invoice(reverse_charge=True), INDIA, locale="en_IN"))
    assert "Tax is payable on reverse charge basis." in gst_text


def test_credit_note_title_and_reference() -> None:
    credit = gst_invoice(
        number="CN/2026-27/0001",
        kind="credit-note",
        series="CN",
        credit_of="INV/2026-27/0001",
        due_on=None,
        issued_on="2026-05-01",
    )
    text, _ = text_of(render_invoice_pdf(credit, INDIA, locale="en_IN", payment_details="Refund to source"))
    for field in ("Credit Note", "Credits invoice INV/2026-27/0001", "CN/2026-27/0001", "Credit note no.",
                  "Acme Tea Private Limited", "GSTIN: 29ABCDE1234F1Z5", "Ольга Петрова", "₹1,45,678.08",
                  "1 May 2026", "Total credited"):  # fmt: skip
        assert field in text, field
    assert "Tax Invoice" not in text
    assert "Due date" not in text


def test_same_input_gives_the_same_bytes() -> None:
    options = {"locale": "en_IN", "payment_details": "UPI: acmetea@okhdfc", "terms": "No returns."}
    qr = upi_payload("acmetea@okhdfc", "Acme Tea", "145678.08", "INR", "INV/2026-27/0001")
    first = render_invoice_pdf(gst_invoice(), INDIA, qr_payload=qr, **options)
    second = render_invoice_pdf(gst_invoice(), INDIA, qr_payload=qr, **options)
    assert first == second
    assert b"/CreationDate (D:20260412000000" in first
    assert render_invoice_pdf(gst_invoice(number="INV/2026-27/0002"), INDIA, **options) != first


def test_many_lines_flow_onto_more_pages_with_the_heading_repeated() -> None:
    lines = [
        item(
            f"Item {n:02d}: " + "a description long enough to wrap in its column " * (n % 3),
            price="100.00",
            rate="18",
            tax="18.00",
            code="0902",
        )
        for n in range(1, 61)
    ]
    invoice = gst_invoice(lines=lines, net="6000.00", tax="1080.00", total="7080.00")
    text, pages = text_of(render_invoice_pdf(invoice, INDIA, locale="en_IN", payment_details="UPI: a@b"))
    assert pages >= 2
    for n in range(1, 61):
        assert f"Item {n:02d}:" in text
    assert text.count("Unit price") >= 2  # the table's heading, on every page it runs over
    assert "Page 1 of" in text
    assert f"Page {pages} of {pages}" in text
    assert "₹7,080.00" in text


def test_qr_code_is_placed_on_the_page() -> None:
    qr = epc_payload("Kaffeerösterei Huber GmbH", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX", "1469.13",
                     "INV-2026-0042")  # fmt: skip
    plain = render_invoice_pdf(vat_invoice(), GERMANY, locale="de_DE", payment_details="IBAN …")
    with_qr = render_invoice_pdf(
        vat_invoice(), GERMANY, locale="de_DE", payment_details="IBAN …", qr_payload=qr
    )
    reader = pypdf.PdfReader(io.BytesIO(with_qr))
    assert len(reader.pages[0].images) == 1
    assert not pypdf.PdfReader(io.BytesIO(plain)).pages[0].images
    assert "Scan to pay" in text_of(with_qr)[0]


def test_characters_outside_the_light_fonts_still_render() -> None:
    invoice = gst_invoice(bill_to={"name": "Nguyễn Thị Hương — Գայանե", "email": "h@example.vn"})
    text, _ = text_of(render_invoice_pdf(invoice, INDIA, locale="en_IN"))
    assert "Nguyễn Thị Hương — Գայանե" in text


def test_upi_payload() -> None:
    assert (
        upi_payload("acmetea@okhdfc", "Acme Tea & Co", Decimal("145678.08"), "INR", "INV/2026-27/0001")
        == "upi://pay?pa=acmetea@okhdfc&pn=Acme%20Tea%20%26%20Co&am=145678.08&cu=INR&tn=INV%2F2026-27%2F0001"
    )
    assert upi_payload("a.b@upi", "Ольга", "10", "INR", "") == (
        "upi://pay?pa=a.b@upi&pn=%D0%9E%D0%BB%D1%8C%D0%B3%D0%B0&am=10.00&cu=INR"
    )
    with pytest.raises(ValueError, match="INR"):
        upi_payload("a@upi", "A", "1", "EUR", "")
    with pytest.raises(ValueError, match="UPI id"):
        upi_payload("not an id", "A", "1", "INR", "")


def test_epc_payload() -> None:
    assert epc_payload(
        "Kaffeerösterei Huber GmbH", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX", "1469.13", "INV-2026-0042"
    ) == (
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nKaffeerösterei Huber GmbH\nDE89370400440532013000\nEUR1469.13\n\n\n"
        "INV-2026-0042"
    )
    # Version 002: the BIC may be left out; trailing empty fields are dropped.
    assert epc_payload("Huber", "DE89370400440532013000", "", Decimal("5"), "") == (
        "BCD\n002\n1\nSCT\n\nHuber\nDE89370400440532013000\nEUR5.00"
    )
    for bad in (
        {"name": "x" * 71},
        {"iban": "DE89"},
        {"amount": "0"},
        {"amount": "1000000000"},
        {"remittance": "r" * 141},
        {"bic": "NOTABIC"},
    ):
        arguments = {"name": "Huber", "iban": "DE89370400440532013000", "bic": "", "amount": "1",
                     "remittance": "", **bad}  # fmt: skip
        with pytest.raises(ValueError):
            epc_payload(**arguments)


def test_tax_id_labels() -> None:
    assert tax_id_label("29ABCDE1234F1Z5") == "GSTIN"
    assert tax_id_label("DE123456789") == "VAT No."
    assert tax_id_label("12-3456789") == "Tax ID"
