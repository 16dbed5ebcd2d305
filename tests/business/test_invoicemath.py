"""Unit and property tests of ``helpdesk.business.invoicemath``: item lines, rounding, GST, VAT.

Every expected amount below was worked out by hand from the rounding rule in
the module docstring (half-up, per line, to the currency's minor unit), so a
change of the rule shows up here as a change of figures, not only of code.
"""

from __future__ import annotations

from decimal import Decimal

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.business import invoicemath
from helpdesk.business.invoicemath import (
    EU_VAT_PREFIXES,
    GST_STATES,
    REVERSE_CHARGE_NOTE,
    InvoiceError,
    InvoiceLine,
    Supply,
    SupplyKind,
    TaxRow,
    compute_invoice,
    currency_precision,
    format_item_line,
    gst_state,
    gst_supply,
    gstin_state,
    is_eu_reverse_charge,
    parse_amount,
    parse_item_line,
    parse_item_lines,
    round_money,
    validate_gstin,
    vat_country,
    vat_supply,
)

D = Decimal
VAT = Supply(SupplyKind.STANDARD)
INTRA = Supply(SupplyKind.GST_INTRA_STATE, place_of_supply="29", tax_label="GST")
INTER = Supply(SupplyKind.GST_INTER_STATE, place_of_supply="27", tax_label="GST")
REVERSE = Supply(SupplyKind.REVERSE_CHARGE)
# Real, published GSTINs whose check characters are right.
MAHARASHTRA_GSTIN = "27AAPFU0939F1ZV"
KARNATAKA_GSTIN = "29AAGCB7383J1Z4"


def line(
    description: str, qty: str, price: str, rate: str = "0", code: str = "", unit: str = ""
) -> InvoiceLine:
    return InvoiceLine(description, D(qty), D(price), D(rate), code=code, unit=unit)


# --- Parsing item lines ----------------------------------------------------------------------------------


def test_parse_a_full_line() -> None:
    parsed = parse_item_line("Repair of laptop | 1 | 1,250.00 | 18 | 998713", D("5"))
    assert parsed == InvoiceLine("Repair of laptop", D("1"), D("1250.00"), D("18"), code="998713")


def test_parse_takes_the_default_rate_when_the_tax_field_is_missing_or_empty() -> None:
    assert parse_item_line("Consulting | 2 | 100", D("19")).tax_rate == D("19")
    with_code = parse_item_line("Consulting | 2 | 100 |  | 998311", D("19"))
    assert (with_code.tax_rate, with_code.code) == (D("19"), "998311")


@pytest.mark.parametrize(
    ("text", "quantity", "unit", "price", "rate"),
    [
        ("Flour | 0.5 kg | 40 | 5", "0.5", "kg", "40", "5"),
        ("Flour | 0.5kg | 40 | 5%", "0.5", "kg", "40", "5"),
        ("Mehl | 0,5 kg | 12,50 | 7 %", "0.5", "kg", "12.50", "7"),
        ("Support | 3 h | 1234.50 | 12,5", "3", "h", "1234.50", "12.5"),
        ("Server | 1 | 1,23,456.50 | 18", "1", "", "123456.50", "18"),
        ("Server | 1 | 1,234,567 | 18", "1", "", "1234567", "18"),
        ("Server | 1,000.5 | 1,234.5 | 0", "1000.5", "", "1234.5", "0"),
        ("Server | 2 | .5 | 100", "2", "", "0.5", "100"),
        ("Stickers | 10 Stück | 0,05", "10", "Stück", "0.05", "0"),
    ],
)
def test_parse_numbers(text: str, quantity: str, unit: str, price: str, rate: str) -> None:
    parsed = parse_item_line(text, D("0"))
    assert (parsed.quantity, parsed.unit, parsed.unit_price, parsed.tax_rate) == (
        D(quantity),
        unit,
        D(price),
        D(rate),
    )


def test_parse_collapses_whitespace_in_the_description() -> None:
    assert parse_item_line("  Blue\u00a0 widget\t(large) | 1 | 2", D(0)).description == "Blue widget (large)"


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (" | 1 | 5", "description", "must not be empty"),
        ("Widget", "line", "missing qty and unit price"),
        ("Widget | 1", "line", "missing unit price"),
        ("Widget | 1 | 5 | 18 | 9983 | extra", "line", "too many fields (6)"),
        ("Widget | 0 | 5", "qty", "positive"),
        ("Widget | -1 | 5", "qty", "positive"),
        ("Widget | two | 5", "qty", "positive number"),
        ("Widget |  | 5", "qty", "positive number"),
        ("Widget | 1e3 | 5", "qty", "positive number"),
        ("Widget | 2 kg extra | 5", "qty", "positive number"),
        ("Widget | 1 | -5", "unit price", "must not be negative"),
        ("Widget | 1 | - 5.00", "unit price", "must not be negative"),
        ("Widget | 1 | abc", "unit price", "expected a number, got 'abc'"),
        ("Widget | 1 | €12", "unit price", "expected a number"),
        ("Widget | 1 | 12 EUR", "unit price", "expected a number"),
        ("Widget | 1 |  | 18", "unit price", "is empty"),
        ("Widget | 1 | NaN", "unit price", "expected a number"),
        ("Widget | 1 | Infinity", "unit price", "expected a number"),
        ("Widget | 1 | 1_000", "unit price", "expected a number"),
        ("Widget | 1 | 1 234,50", "unit price", "expected a number"),
        ("Widget | 1 | +5", "unit price", "expected a number"),
        ("Widget | 1 | 1,234", "unit price", "ambiguous"),
        ("Widget | 1 | 12,345", "unit price", "ambiguous"),
        ("Widget | 1 | 0,500", "unit price", "ambiguous"),
        ("Widget | 1 | 1.234,50", "unit price", "a point as the decimal separator"),
        ("Widget | 1 | 1,2345", "unit price", "expected a number"),
        ("Widget | 1 | 12,34.50", "unit price", "expected a number"),
        ("Widget | 1 | 1234567890123", "unit price", "too many digits"),
        ("Widget | 1 | 1.1234567", "unit price", "too many digits"),
        ("Widget | 1 | 5 | 101", "tax %", "from 0 to 100"),
        ("Widget | 1 | 5 | -1", "tax %", "from 0 to 100"),
        ("Widget | 1 | 5 | high", "tax %", "expected a number"),
        ("Widget | 1 | 5 | 18 | 12345", "HSN/SAC code", "4, 6 or 8 digits"),
        ("Widget | 1 | 5 | 18 | 99A3", "HSN/SAC code", "4, 6 or 8 digits"),
    ],
)
def test_parse_errors_name_the_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(InvoiceError) as caught:
        parse_item_line(text, D("18"))
    assert caught.value.field == field
    assert fragment in caught.value.problem
    assert caught.value.text == text
    assert str(caught.value) == f"{field}: {caught.value.problem}"


def test_the_ambiguity_error_says_what_to_write() -> None:
    with pytest.raises(InvoiceError) as caught:
        parse_item_line("Widget | 1 | 1,234", D(0))
    assert "write 1234 or 1.234" in str(caught.value)


def test_parse_item_lines_points_at_the_bad_line() -> None:
    lines = parse_item_lines(["Widget | 1 | 2", "", "Gadget | 3 | 4 | 5"], D("18"))
    assert [item.description for item in lines] == ["Widget", "Gadget"]
    with pytest.raises(InvoiceError) as caught:
        parse_item_lines(["Widget | 1 | 2", "", "Gadget | x | 4"], D("18"))
    assert caught.value.line_number == 3
    assert caught.value.text == "Gadget | x | 4"
    assert str(caught.value).startswith("line 3: qty: ")
    with pytest.raises(InvoiceError, match="no item lines"):
        parse_item_lines(["", "  "], D("18"))


def test_invoice_line_refuses_floats_and_bad_values() -> None:
    with pytest.raises(TypeError):
        InvoiceLine("Widget", D(1), 2.5, D(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_item_line("Widget | 1 | 2", 18.0)  # type: ignore[arg-type]
    with pytest.raises(InvoiceError, match=r"'\|'"):
        line("Wid|get", "1", "2")
    with pytest.raises(InvoiceError, match="line breaks"):
        line("Wid\nget", "1", "2")
    with pytest.raises(InvoiceError, match="spaces around"):
        line(" Widget", "1", "2")
    with pytest.raises(InvoiceError, match="expected a number"):
        line("Widget", "NaN", "2")
    with pytest.raises(InvoiceError, match="too many digits"):
        line("Widget", "1", "0.0000001")
    with pytest.raises(InvoiceError, match="positive"):
        line("Widget", "0", "2")
    with pytest.raises(InvoiceError, match="unit"):
        line("Widget", "1", "2", unit="k g")
    # Trailing zeros are no extra precision.
    assert line("Widget", "1", "2.500000000").unit_price == D("2.5")


def test_format_item_line_writes_every_field() -> None:
    item = line("Flour", "0.50", "1E+3", "18", code="1101", unit="kg")
    assert format_item_line(item) == "Flour | 0.50 kg | 1000 | 18 | 1101"
    assert format_item_line(line("Support", "2", "10.00", "19")) == "Support | 2 | 10.00 | 19"


def test_parse_amount() -> None:
    assert parse_amount("1,234.50") == D("1234.50")
    assert parse_amount(" 12,50 ") == D("12.50")
    with pytest.raises(InvoiceError, match="amount: must not be negative"):
        parse_amount("-3")
    with pytest.raises(InvoiceError, match="payment: expected a number"):
        parse_amount("lots", field="payment")


# --- Currencies and rounding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("INR", 2), ("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3)],
)
def test_currency_precision(currency: str, digits: int) -> None:
    assert currency_precision(currency) == digits


def test_babel_agrees_with_the_fallback_table() -> None:
    for currency, digits in invoicemath._FALLBACK_PRECISION.items():
        assert currency_precision(currency) == digits, currency


@pytest.mark.parametrize("currency", ["eur", "EURO", "QQQ", "", "12A"])
def test_unknown_currencies_are_refused(currency: str) -> None:
    with pytest.raises(InvoiceError) as caught:
        currency_precision(currency)
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    ("amount", "precision", "rounded"),
    [
        ("0.005", 2, "0.01"),
        ("0.0049", 2, "0.00"),
        ("2.675", 2, "2.68"),
        ("2.665", 2, "2.67"),
        ("-0.005", 2, "-0.01"),
        ("0.5", 0, "1"),
        ("1.5", 0, "2"),
        ("2.5", 0, "3"),
        ("1.2345", 3, "1.235"),
        ("100", 2, "100.00"),
    ],
)
def test_round_money_is_half_up(amount: str, precision: int, rounded: str) -> None:
    result = round_money(D(amount), precision)
    assert result == D(rounded)
    assert str(result) == rounded


# --- Totals ----------------------------------------------------------------------------------------------


def test_half_a_cent_rounds_up() -> None:
    totals = compute_invoice([line("Sticker", "1", "0.005", "0")], "EUR", supply=VAT)
    assert (totals.net, totals.tax, totals.total) == (D("0.01"), D("0.00"), D("0.01"))
    assert str(totals.total) == "0.01"


def test_2_675_times_1_is_2_68_not_the_float_2_67() -> None:
    totals = compute_invoice([line("Pen", "1", "2.675", "10")], "EUR", supply=VAT)
    # 2.675 -> 2.68; tax 10% of 2.68 = 0.268 -> 0.27.
    assert (totals.net, totals.tax, totals.total) == (D("2.68"), D("0.27"), D("2.95"))


def test_fractional_quantity() -> None:
    totals = compute_invoice([line("Cheese", "0.5", "3.33", "5", unit="kg")], "EUR", supply=VAT)
    # 0.5 x 3.33 = 1.665 -> 1.67; 5% of 1.67 = 0.0835 -> 0.08.
    (amounts,) = totals.lines
    assert (amounts.taxable, amounts.tax, amounts.total) == (D("1.67"), D("0.08"), D("1.75"))


def test_tax_is_rounded_per_line_not_on_the_total() -> None:
    lines = [line(f"Clip {n}", "1", "0.05", "10") for n in range(3)]
    totals = compute_invoice(lines, "EUR", supply=VAT)
    # Each line: 10% of 0.05 = 0.005 -> 0.01, so 0.03; 10% of the net 0.15 would have been 0.02.
    assert [item.tax for item in totals.lines] == [D("0.01")] * 3
    assert (totals.net, totals.tax, totals.total) == (D("0.15"), D("0.03"), D("0.18"))


def test_vat_with_several_rates_has_one_row_per_rate() -> None:
    lines = [
        line("Widget", "3", "19.99", "19"),  # 59.97, tax 11.3943 -> 11.39
        line("Book", "2", "12.50", "7"),  # 25.00, tax 1.75
        line("Gadget", "1", "10.00", "19"),  # 10.00, tax 1.90
        line("Food", "4", "0.99", "0"),  # 3.96, tax 0.00
    ]
    totals = compute_invoice(lines, "EUR", supply=vat_supply("DE123456789", None))
    assert [(item.taxable, item.tax) for item in totals.lines] == [
        (D("59.97"), D("11.39")),
        (D("25.00"), D("1.75")),
        (D("10.00"), D("1.90")),
        (D("3.96"), D("0.00")),
    ]
    assert (totals.net, totals.tax, totals.total) == (D("98.93"), D("15.04"), D("113.97"))
    assert totals.breakdown == (
        TaxRow("VAT", D("0"), D("3.96"), D("0.00")),
        TaxRow("VAT", D("7"), D("25.00"), D("1.75")),
        TaxRow("VAT", D("19"), D("69.97"), D("13.29")),
    )
    assert not totals.reverse_charge
    assert totals.note == ""


def test_gst_within_the_state_splits_the_odd_paisa() -> None:
    lines = [
        line("Repair", "1", "100.50", "18", code="998713"),  # tax 18.09: CGST 9.045 -> 9.05, SGST 9.04
        line("Cable", "1", "10.10", "5", code="8544"),  # tax 0.505 -> 0.51: CGST 0.255 -> 0.26, SGST 0.25
        line("Manual", "2", "50", "18"),  # 100.00, tax 18.00: 9.00 each
    ]
    totals = compute_invoice(lines, "INR", supply=gst_supply("29", customer_gstin=KARNATAKA_GSTIN))
    assert totals.supply.kind is SupplyKind.GST_INTRA_STATE
    assert totals.supply.place_of_supply_label == "29-Karnataka"
    repair, cable, manual = totals.lines
    assert [(part.name, part.rate, part.amount) for part in repair.parts] == [
        ("CGST", D("9"), D("9.05")),
        ("SGST", D("9"), D("9.04")),
    ]
    assert [(part.name, part.rate, part.amount) for part in cable.parts] == [
        ("CGST", D("2.5"), D("0.26")),
        ("SGST", D("2.5"), D("0.25")),
    ]
    assert [part.amount for part in manual.parts] == [D("9.00"), D("9.00")]
    assert (totals.net, totals.tax, totals.total) == (D("210.60"), D("36.60"), D("247.20"))
    assert totals.breakdown == (
        TaxRow("CGST", D("2.5"), D("10.10"), D("0.26")),
        TaxRow("SGST", D("2.5"), D("10.10"), D("0.25")),
        TaxRow("CGST", D("9"), D("200.50"), D("18.05")),
        TaxRow("SGST", D("9"), D("200.50"), D("18.04")),
    )


def test_gst_to_another_state_is_igst() -> None:
    supply = gst_supply("KA", customer_gstin=MAHARASHTRA_GSTIN)
    assert supply == INTER
    assert supply.place_of_supply_label == "27-Maharashtra"
    totals = compute_invoice(
        [line("Repair", "1", "100.50", "18"), line("Cable", "1", "10.10", "5")], "INR", supply=supply
    )
    assert [(part.name, part.rate, part.amount) for item in totals.lines for part in item.parts] == [
        ("IGST", D("18"), D("18.09")),
        ("IGST", D("5"), D("0.51")),
    ]
    assert totals.breakdown == (
        TaxRow("IGST", D("5"), D("10.10"), D("0.51")),
        TaxRow("IGST", D("18"), D("100.50"), D("18.09")),
    )
    assert (totals.net, totals.tax, totals.total) == (D("110.60"), D("18.60"), D("129.20"))


def test_reverse_charge_charges_no_vat_and_says_so() -> None:
    supply = vat_supply("DE123456789", "FR12345678901")
    assert supply.kind is SupplyKind.REVERSE_CHARGE
    totals = compute_invoice(
        [line("Consulting", "10", "120.00", "19"), line("Book", "1", "30", "7")], "EUR", supply=supply
    )
    assert totals.reverse_charge
    assert totals.note == REVERSE_CHARGE_NOTE
    assert REVERSE_CHARGE_NOTE == (
        "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
    )
    assert [(item.tax_rate, item.tax) for item in totals.lines] == [(D(0), D("0.00")), (D(0), D("0.00"))]
    assert (totals.net, totals.tax, totals.total) == (D("1230.00"), D("0.00"), D("1230.00"))
    assert totals.breakdown == (TaxRow("VAT", D(0), D("1230.00"), D("0.00")),)


def test_yen_have_no_decimals() -> None:
    totals = compute_invoice(
        [line("Tea", "3", "333", "10"), line("Candy", "1", "0.5", "8")],
        "JPY",
        supply=Supply(SupplyKind.STANDARD, tax_label="Tax"),
    )
    # 999, tax 99.9 -> 100; 0.5 -> 1, tax 0.08 -> 0.
    assert [(str(item.taxable), str(item.tax)) for item in totals.lines] == [("999", "100"), ("1", "0")]
    assert (str(totals.net), str(totals.tax), str(totals.total)) == ("1000", "100", "1100")
    assert totals.breakdown[0].name == "Tax"


def test_dinars_have_three_decimals() -> None:
    totals = compute_invoice([line("Oil", "1", "1.2345", "5")], "KWD", supply=VAT)
    # 1.2345 -> 1.235; 5% = 0.06175 -> 0.062.
    assert (str(totals.net), str(totals.tax), str(totals.total)) == ("1.235", "0.062", "1.297")


def test_an_invoice_needs_lines_and_a_known_currency() -> None:
    with pytest.raises(InvoiceError, match="at least one item line"):
        compute_invoice([], "EUR", supply=VAT)
    with pytest.raises(InvoiceError, match="currency"):
        compute_invoice([line("Widget", "1", "1")], "euro", supply=VAT)


# --- GST states, GSTINs and the place of supply ----------------------------------------------------------


def test_the_state_code_table() -> None:
    codes = [state.code for state in GST_STATES]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    assert gst_state("29").name == "Karnataka"
    assert gst_state("07").name == gst_state("7").name == "Delhi"
    assert gst_state("37").name == "Andhra Pradesh"
    assert gst_state("36").name == "Telangana"
    assert gst_state("38").name == "Ladakh"
    assert gst_state("26").alpha == "DH"
    assert gst_state("97").name == "Other Territory"
    assert [state.code for state in GST_STATES if state.code <= "38"] == [f"{n:02}" for n in range(1, 39)]


def test_the_alpha_codes_are_the_holidays_packages_subdivisions() -> None:
    alphas = {state.alpha for state in GST_STATES if state.alpha}
    assert alphas <= set(holidays.India.subdivisions)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("29", "29"),
        ("KA", "29"),
        ("ka", "29"),
        ("Karnataka", "29"),
        (" tamil  NADU ", "33"),
        ("TG", "36"),
        ("Jammu & Kashmir", "01"),
        ("OR", "21"),
    ],
)
def test_gst_state_lookups(value: str, code: str) -> None:
    assert gst_state(value).code == code


@pytest.mark.parametrize("value", ["XX", "40", "", "Bavaria", "029"])
def test_unknown_states_are_refused(value: str) -> None:
    with pytest.raises(InvoiceError) as caught:
        gst_state(value)
    assert caught.value.field == "state"


def test_gstin_validation() -> None:
    assert validate_gstin(" 27aapfu0939f1zv ") == MAHARASHTRA_GSTIN
    assert gstin_state(KARNATAKA_GSTIN).name == "Karnataka"
    for bad, fragment in [
        ("27AAPFU0939F1ZA", "check character"),
        ("27AAPFU0939F1Z", "15 characters"),
        ("27AAPF10939F1ZV", "15 characters"),
        ("45AAPFU0939F1ZV", "no GST state code"),
    ]:
        with pytest.raises(InvoiceError, match=fragment) as caught:
            validate_gstin(bad)
        assert caught.value.field == "GSTIN"


def test_place_of_supply() -> None:
    assert gst_supply("29").kind is SupplyKind.GST_INTRA_STATE
    assert gst_supply("Karnataka", customer_state="KA").kind is SupplyKind.GST_INTRA_STATE
    assert gst_supply("29", customer_state="27") == INTER
    # The owner's word on the state beats the GSTIN's (goods delivered elsewhere).
    assert (
        gst_supply("29", customer_state="29", customer_gstin=MAHARASHTRA_GSTIN).kind
        is SupplyKind.GST_INTRA_STATE
    )
    assert gst_supply("29", customer_gstin=KARNATAKA_GSTIN).kind is SupplyKind.GST_INTRA_STATE
    abroad = gst_supply("29", customer_state="96")
    assert (abroad.kind, abroad.place_of_supply_label) == (SupplyKind.GST_INTER_STATE, "96-Other Countries")
    with pytest.raises(InvoiceError, match="GSTIN"):
        gst_supply("29", customer_gstin="27AAPFU0939F1ZA")
    with pytest.raises(InvoiceError, match="Indian state"):
        gst_supply("96")


# --- EU VAT ----------------------------------------------------------------------------------------------


def test_vat_country_prefixes() -> None:
    assert vat_country("de 123 456 789") == "DE"
    assert vat_country("ATU12345678") == "AT"
    assert vat_country("EL094259216") == "EL"
    assert vat_country("GR094259216") == "EL"
    assert "EL" in EU_VAT_PREFIXES and "GR" not in EU_VAT_PREFIXES
    assert len(EU_VAT_PREFIXES) == 27
    for bad in ["123456789", "D", "DE1", "DE 12345678901234567"]:
        with pytest.raises(InvoiceError) as caught:
            vat_country(bad)
        assert caught.value.field == "VAT number"


@pytest.mark.parametrize(
    ("business", "customer", "reverse"),
    [
        ("DE123456789", "FR12345678901", True),
        ("ATU12345678", "el094259216", True),
        ("EL094259216", "GR094259216", False),
        ("DE123456789", "DE987654321", False),
        ("GB123456789", "DE123456789", False),
        ("DE123456789", "GB123456789", False),
        ("DE123456789", "CHE123456789", False),
    ],
)
def test_eu_reverse_charge(business: str, customer: str, reverse: bool) -> None:
    assert is_eu_reverse_charge(business, customer) is reverse
    expected = SupplyKind.REVERSE_CHARGE if reverse else SupplyKind.STANDARD
    assert vat_supply(business, customer).kind is expected


def test_no_reverse_charge_without_both_numbers() -> None:
    assert vat_supply("DE123456789", None).kind is SupplyKind.STANDARD
    assert vat_supply(None, "FR12345678901").kind is SupplyKind.STANDARD
    assert vat_supply("", "").kind is SupplyKind.STANDARD


# --- Properties ------------------------------------------------------------------------------------------

CURRENCIES = ["INR", "EUR", "USD", "JPY", "KWD"]
SUPPLIES = [VAT, INTRA, INTER, REVERSE]

quantities = st.decimals(min_value=D("0.001"), max_value=D("10000"), places=3)
prices = st.decimals(min_value=D("0"), max_value=D("1000000"), places=4)
rates = st.one_of(
    st.sampled_from(
        [D(rate) for rate in ("0", "0.25", "2.5", "5", "5.5", "7", "12", "18", "19", "20", "28")]
    ),
    st.decimals(min_value=D("0"), max_value=D("100"), places=2),
)
descriptions = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"), blacklist_characters="|"
    ),
    min_size=1,
    max_size=30,
) | st.sampled_from(["Repair of laptop", "Ремонт", "修理", "Café crème"])
invoice_lines = st.builds(
    InvoiceLine,
    description=descriptions,
    quantity=quantities,
    unit_price=prices,
    tax_rate=rates,
    code=st.sampled_from(["", "9983", "998713", "84713010"]),
    unit=st.sampled_from(["", "kg", "h", "pcs", "Stück"]),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(invoice_lines, min_size=1, max_size=12),
    currency=st.sampled_from(CURRENCIES),
    supply=st.sampled_from(SUPPLIES),
)
def test_totals_are_the_sums_of_the_lines(lines: list[InvoiceLine], currency: str, supply: Supply) -> None:
    totals = compute_invoice(lines, currency, supply=supply)
    precision = currency_precision(currency)
    minor = D(1).scaleb(-precision)
    assert totals.net == sum(item.taxable for item in totals.lines)
    assert totals.tax == sum(item.tax for item in totals.lines)
    assert totals.total == totals.net + totals.tax
    assert totals.total == sum(item.total for item in totals.lines)
    assert sum(row.amount for row in totals.breakdown) == totals.tax
    amounts = [totals.net, totals.tax, totals.total]
    for item in totals.lines:
        assert sum(part.amount for part in item.parts) == item.tax
        exact_taxable = item.line.quantity * item.line.unit_price
        assert abs(item.taxable - exact_taxable) <= minor / 2
        if supply.reverse_charge:
            assert item.tax == 0
        else:
            assert abs(item.tax - item.taxable * item.line.tax_rate / 100) <= minor / 2
        if supply.kind is SupplyKind.GST_INTRA_STATE:
            central, state = item.parts
            assert (central.name, state.name) == ("CGST", "SGST")
            assert central.amount + state.amount == item.tax
            assert 0 <= central.amount - state.amount <= minor
        amounts += [item.taxable, item.tax, item.total, *(part.amount for part in item.parts)]
    amounts += [row.amount for row in totals.breakdown] + [row.taxable for row in totals.breakdown]
    for amount in amounts:
        assert amount.as_tuple().exponent == -precision, amount


@settings(max_examples=300, deadline=None)
@given(item=invoice_lines, default=rates)
def test_formatted_lines_parse_back(item: InvoiceLine, default: Decimal) -> None:
    assert parse_item_line(format_item_line(item), default) == item


@settings(max_examples=300, deadline=None)
@given(price=st.decimals(min_value=D("0"), max_value=D("999999999"), places=2))
def test_grouped_and_decimal_comma_prices_parse_to_the_same_value(price: Decimal) -> None:
    assert parse_item_line(f"Widget | 1 | {price:,.2f}", D(0)).unit_price == price
    assert parse_item_line(f"Widget | 1 | {price:.2f}", D(0)).unit_price == price
    if price < 1000:
        assert parse_item_line(f"Widget | 1 | {price:.2f}".replace(".", ","), D(0)).unit_price == price
