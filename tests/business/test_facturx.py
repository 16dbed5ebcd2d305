"""Factur-X: the EN 16931 XML of invoices and credit notes, valid against the schema, inside a PDF/A-3."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import facturx
import pytest
from pypdf import PdfReader

from helpdesk.business.facturx import FacturXError, embed_facturx, facturx_xml, seller_country
from helpdesk.business.invoicepdf import render_invoice_pdf
from tests.business.test_invoicepdf import GERMANY, item, text_of, vat_invoice

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def parsed(xml: bytes) -> dict:
    """The XML read back by the factur-x package (checked against the XSD on the way)."""
    return facturx.parse_ubl_cii_xml(xml, check_xsd=True)


def two_rate_invoice():
    """Coffee at 19% and a book at 7%: two VAT rates, two breakdown rows."""
    return vat_invoice(
        lines=[
            item("Espresso-Bohnen, 1 kg", qty="2", unit="kg", price="617.28", rate="19", tax="234.57"),
            item("Kaffeebuch", qty="1", unit="", price="24.30", rate="7", tax="1.70", code="4901"),
        ],
        tax_rows=[
            {"name": "VAT", "rate": "7", "taxable": "24.30", "amount": "1.70"},
            {"name": "VAT", "rate": "19", "taxable": "1234.56", "amount": "234.57"},
        ],
        net="1258.86",
        tax="236.27",
        total="1495.13",
        bill_to={
            "name": "Kunde AG",
            "email": "einkauf@kunde.example",
            "address": "Ring 1\n1010 Wien\nÖsterreich",
            "tax_id": "ATU12345678",
        },
    )


def test_an_invoice_is_valid_en16931_xml_whose_amounts_add_up() -> None:
    invoice = two_rate_invoice()
    data = parsed(facturx_xml(invoice, GERMANY, payment_terms="Payable by 2026-03-16", iban=IBAN, bic=BIC))
    assert (data["BT-1"], data["BT-3"], data["BT-5"]) == ("INV-2026-0042", "380", "EUR")
    assert str(data["BT-2"]) == "2026-03-02" and str(data["BT-9"]) == "2026-03-16"
    seller, buyer = data["BG-4"], data["BG-7"]
    assert (seller["name"], seller["vat_identifier"], seller["country_code"]) == (
        "Kaffeerösterei Huber GmbH",
        "DE123456789",
        "DE",
    )
    assert seller["addr_l1"] == "Hauptstraße 5"
    buyer_fields = (buyer["name"], buyer["vat_identifier"], buyer["country_code"])
    assert buyer_fields == ("Kunde AG", "ATU12345678", "AT")
    lines = data["BG-25"]
    assert [line["BT-153"] for line in lines] == ["Espresso-Bohnen, 1 kg", "Kaffeebuch"]
    assert [line["BT-130"] for line in lines] == ["KGM", "C62"]
    # EN 16931 BR-CO-10, BR-CO-13, BR-CO-14, BR-CO-15: the sums hold.
    assert sum(Decimal(line["BT-131"]) for line in lines) == Decimal(data["BT-106"]) == Decimal("1258.86")
    breakdown = data["BG-23"]
    assert sorted((Decimal(row["BT-119"]), row["BT-118"]) for row in breakdown) == [
        (Decimal(7), "S"),
        (Decimal(19), "S"),
    ]
    assert sum(Decimal(row["BT-117"]) for row in breakdown) == Decimal(data["BT-110"]) == Decimal("236.27")
    assert Decimal(data["BT-109"]) + Decimal(data["BT-110"]) == Decimal(data["BT-112"]) == Decimal("1495.13")
    assert Decimal(data["BT-115"]) == Decimal("1495.13")
    # Paid by SEPA credit transfer to the business's IBAN, the number as remittance.
    assert (data["BT-81"], data["BT-83"], data["BT-84"]) == ("58", "INV-2026-0042", IBAN)


def test_a_reverse_charge_invoice_is_category_ae_with_no_vat() -> None:
    invoice = vat_invoice(
        lines=[item("Beratung", qty="3", unit="h", price="100.00", rate="19", tax="0.00")],
        tax_rows=[{"name": "VAT", "rate": "0", "taxable": "300.00", "amount": "0.00"}],
        net="300.00",
        tax="0.00",
        total="300.00",
        reverse_charge=True,
        bill_to={
            "name": "Klant BV",
            "email": "inkoop@klant.example",
            "address": "Dam 1",
            "tax_id": "NL123456789B01",
        },
    )
    data = parsed(facturx_xml(invoice, GERMANY))
    [row] = data["BG-23"]
    assert (row["BT-118"], Decimal(row["BT-119"]), Decimal(row["BT-117"])) == ("AE", 0, 0)
    assert row["BT-120"] == "Reverse charge"
    [line] = data["BG-25"]
    assert (line["BT-151"], Decimal(line["BT-152"]), line["BT-130"]) == ("AE", 0, "HUR")
    assert data["BG-7"]["country_code"] == "NL"


def test_a_credit_note_is_type_381_referring_to_its_invoice() -> None:
    note = vat_invoice(
        number="CN-2026-0003",
        kind="credit-note",
        series="CN",
        credit_of="INV-2026-0042",
        lines=[item("Espresso-Bohnen, 1 kg", qty="1", unit="kg", price="617.28", rate="19", tax="117.28")],
        tax_rows=[{"name": "VAT", "rate": "19", "taxable": "617.28", "amount": "117.28"}],
        net="617.28",
        tax="117.28",
        total="734.56",
        due_on=None,
    )
    data = parsed(facturx_xml(note, GERMANY))
    assert (data["BT-1"], data["BT-3"]) == ("CN-2026-0003", "381")
    assert [ref["BT-25"] for ref in data["BG-3"]] == ["INV-2026-0042"]
    assert Decimal(data["BT-112"]) == Decimal("734.56") and Decimal(data["BT-115"]) == 0
    assert "BT-81" not in data


def test_the_pdf_is_pdfa3_with_the_xml_attached_and_still_reads_as_the_invoice() -> None:
    invoice = two_rate_invoice()
    plain = render_invoice_pdf(invoice, GERMANY, locale="de_DE", pdfa=True)
    pdf = embed_facturx(plain, invoice, GERMANY, iban=IBAN, bic=BIC)
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    assert parsed(xml)["BT-1"] == "INV-2026-0042"
    reader = PdfReader(io.BytesIO(pdf))
    metadata = reader.xmp_metadata
    assert metadata is not None
    xmp = metadata.stream.get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp or 'pdfaid:part="3"' in xmp
    assert "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    text, _ = text_of(pdf)
    assert "INV-2026-0042" in text and "1.495,13 €" in text


def test_the_business_country_comes_from_its_vat_number_or_holiday_country() -> None:
    assert seller_country(GERMANY) == "DE"
    assert seller_country(replace(GERMANY, tax_id="EL094259216")) == "GR"
    assert seller_country(replace(GERMANY, tax_id="", holiday_country="fr")) == "FR"
    unknown = replace(GERMANY, tax_id="", holiday_country=None)
    assert seller_country(unknown) == ""
    with pytest.raises(FacturXError, match="country is unknown"):
        facturx_xml(vat_invoice(), unknown)


def test_a_buyer_without_vat_number_is_taken_to_be_in_the_business_country() -> None:
    data = parsed(facturx_xml(vat_invoice(), GERMANY))
    assert data["BG-7"]["country_code"] == "DE"
    assert "vat_identifier" not in data["BG-7"]
    assert data["BG-7"]["addr_l1"] == "Ring 1" and data["BG-7"]["addr_l2"] == "1010 Wien"
