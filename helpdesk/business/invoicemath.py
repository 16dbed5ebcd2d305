"""Invoice arithmetic: item lines, per-line tax, totals and the tax breakdown, in ``Decimal`` only.

The owner writes item lines such as ``Repair of laptop | 1 | 1,250.00 | 18 | 998713``;
:func:`parse_item_line` turns one into an :class:`InvoiceLine` or raises an
:class:`InvoiceError` naming the field that is wrong, so that the owner's
``command-result`` mail can point at the line. :func:`compute_invoice` turns the
lines into :class:`InvoiceTotals`: the amounts every line shows, the totals and
the tax breakdown (CGST + SGST or IGST for Indian GST, one row per rate for VAT,
nothing charged under the EU reverse charge). The helpers :func:`gst_supply` and
:func:`vat_supply` decide which of these applies from the business's and the
customer's state, GSTIN or VAT number.

This module does no I/O and never uses ``float``: money that went through a
binary float is no longer the amount the owner typed.

Rounding rule (quoted in README.md):

    Amounts are rounded half-up (0.005 becomes 0.01) to the currency's minor unit
    (2 decimals for INR, EUR, USD, GBP; 0 for JPY; 3 for KWD and BHD), once per
    line and per amount: a line's taxable value is quantity x unit price, rounded;
    its tax is that rounded taxable value x the line's tax rate, rounded. Under GST
    within the business's state the line's tax is split into CGST, half of it
    rounded half-up, and SGST, the rest, so that CGST + SGST is exactly the line's
    tax (an odd paisa goes to CGST). The invoice's net amount, tax and each row of
    the tax breakdown are sums of the rounded line amounts, and the total is net +
    tax, so the totals always equal the sum of the lines and nothing is rounded twice.

How numbers in item lines are read (quantities, unit prices, tax rates):

* A point is the decimal point: ``1234.50``, ``0.5``.
* Commas group thousands, in Western (``1,234,567.50``) or Indian (``1,23,456.50``)
  style. A number with a single comma followed by exactly three digits and no
  decimal point (``1,234``) is rejected as ambiguous: it is 1234 in English and
  1.234 in German. Write ``1234``, ``1,234.00`` or ``1.234``.
* A single comma followed by one or two digits, and nothing else, is a decimal
  comma: ``12,50`` is 12.50 and ``0,5`` is 0.5.
* Nothing else is a number: no signs (a negative price is an error, not a
  discount), no currency symbols, no spaces or points as thousands separators
  (``1.234,50`` is rejected), no exponents, at most 12 digits before and 6 after
  the decimal point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum

try:
    from babel.numbers import get_currency_precision as _babel_precision
    from babel.numbers import list_currencies as _babel_currencies
except ImportError:  # pragma: no cover - babel is a dependency; the table below is the fallback
    _babel_precision = None
    _babel_currencies = None

__all__ = [
    "EU_VAT_PREFIXES",
    "GST_STATES",
    "ITEM_LINE_FORMAT",
    "REVERSE_CHARGE_NOTE",
    "GstState",
    "InvoiceError",
    "InvoiceLine",
    "InvoiceTotals",
    "LineAmounts",
    "Supply",
    "SupplyKind",
    "TaxPart",
    "TaxRow",
    "compute_invoice",
    "currency_precision",
    "format_item_line",
    "gst_state",
    "gst_supply",
    "gstin_state",
    "is_eu_reverse_charge",
    "parse_amount",
    "parse_item_line",
    "parse_item_lines",
    "round_money",
    "validate_gstin",
    "vat_country",
    "vat_supply",
]

ITEM_LINE_FORMAT = "description | qty | unit price [| tax %] [| HSN/SAC code]"
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
)

# Limits on the numbers an item line may hold. They keep every product and sum
# far inside the precision of _CONTEXT, so that no multiplication or addition
# here is ever rounded by the decimal context itself.
MAX_INTEGER_DIGITS = 12
MAX_FRACTION_DIGITS = 6
MAX_DESCRIPTION_LENGTH = 300

# All arithmetic runs in this context: 64 significant digits hold any product of
# two numbers within the limits above, and a sum of millions of them, exactly.
_CONTEXT = Context(prec=64, rounding=ROUND_HALF_UP)

# Minor-unit digits of the currencies the project names, used when babel is
# missing. A test checks that babel agrees with every entry.
_FALLBACK_PRECISION = {"INR": 2, "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KWD": 3, "BHD": 3}

_HUNDRED = Decimal(100)
_TWO = Decimal(2)


class InvoiceError(ValueError):
    """An item line, amount, currency or tax id is invalid.

    ``field`` names what is wrong (``"qty"``, ``"unit price"``, ``"tax %"``,
    ``"GSTIN"``, ...), ``problem`` says how, with the offending value, ``text``
    is the whole item line when there is one and ``line_number`` its 1-based
    position among the owner's lines when known. ``str()`` of the error is one
    line the owner can act on, e.g. ``line 2: qty: expected a positive number,
    got 'two'``.
    """

    def __init__(self, field: str, problem: str, *, text: str | None = None, line_number: int | None = None):
        self.field = field
        self.problem = problem
        self.text = text
        self.line_number = line_number
        where = f"line {line_number}: " if line_number is not None else ""
        super().__init__(f"{where}{field}: {problem}")


class SupplyKind(StrEnum):
    """How tax is charged on an invoice.

    ``GST_INTRA_STATE``: Indian GST, place of supply in the business's state:
    each line's tax is split into CGST and SGST. ``GST_INTER_STATE``: Indian GST
    to another state (or abroad): IGST. ``STANDARD``: one tax (VAT, sales tax)
    at each line's rate, one breakdown row per rate. ``REVERSE_CHARGE``: EU B2B
    supply to a customer registered for VAT in another member state: no VAT is
    charged and the invoice carries :data:`REVERSE_CHARGE_NOTE`.
    """

    GST_INTRA_STATE = "gst-intra-state"
    GST_INTER_STATE = "gst-inter-state"
    STANDARD = "standard"
    REVERSE_CHARGE = "reverse-charge"


@dataclass(frozen=True)
class Supply:
    """The tax situation of one invoice: its :class:`SupplyKind` and what an invoice must show of it.

    ``place_of_supply`` is the GST state code (``"29"``) for GST supplies, else
    ``""``. ``tax_label`` names the tax of ``STANDARD`` and ``REVERSE_CHARGE``
    supplies on the invoice (``"VAT"``, ``"Tax"``); GST supplies use CGST, SGST
    and IGST.
    """

    kind: SupplyKind
    place_of_supply: str = ""
    tax_label: str = "VAT"

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SupplyKind):
            raise TypeError(f"Supply.kind must be a SupplyKind, got {self.kind!r}")
        if self.place_of_supply and self.place_of_supply not in _STATES_BY_CODE:
            raise InvoiceError("state", f"unknown GST state code {self.place_of_supply!r}")
        if not self.tax_label.strip():
            raise InvoiceError("tax label", "must not be empty")

    @property
    def is_gst(self) -> bool:
        """Whether the invoice is under Indian GST (CGST/SGST or IGST)."""
        return self.kind in (SupplyKind.GST_INTRA_STATE, SupplyKind.GST_INTER_STATE)

    @property
    def reverse_charge(self) -> bool:
        """Whether the customer, not the business, accounts for the VAT."""
        return self.kind is SupplyKind.REVERSE_CHARGE

    @property
    def place_of_supply_label(self) -> str:
        """The place of supply as GST invoices print it, ``"29-Karnataka"``; ``""`` when not GST."""
        if not self.place_of_supply:
            return ""
        return f"{self.place_of_supply}-{_STATES_BY_CODE[self.place_of_supply].name}"


@dataclass(frozen=True)
class InvoiceLine:
    """One item of an invoice as the owner wrote it.

    ``quantity`` is positive, ``unit_price`` at least 0, ``tax_rate`` a percentage
    from 0 to 100, all ``Decimal`` within the module's digit limits (a ``float`` is
    refused: it cannot hold most prices exactly). ``unit`` is an optional unit
    written after the quantity (``0.5 kg``); ``code`` the optional HSN/SAC code
    (4, 6 or 8 digits). The description holds no ``|`` and no line break, so that
    :func:`format_item_line` can always write the line back.
    """

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    code: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        _check_description(self.description)
        numbers = (("qty", self.quantity), ("unit price", self.unit_price), ("tax %", self.tax_rate))
        for name, value in numbers:
            if not isinstance(value, Decimal):
                raise TypeError(f"InvoiceLine {name} must be a Decimal, got {type(value).__name__}")
            if not value.is_finite():
                raise InvoiceError(name, f"expected a number, got {value}")
            _check_digits(name, value)
        if self.quantity <= 0:
            raise InvoiceError("qty", f"expected a positive number, got {_plain(self.quantity)}")
        if self.unit_price < 0:
            raise InvoiceError("unit price", f"must not be negative, got {_plain(self.unit_price)}")
        _check_rate(self.tax_rate)
        if self.code and not _HSN_SAC.fullmatch(self.code):
            raise InvoiceError("HSN/SAC code", f"expected 4, 6 or 8 digits, got {self.code!r}")
        if self.unit and not _UNIT.fullmatch(self.unit):
            raise InvoiceError("qty", f"unit {self.unit!r}: expected a word such as kg, h or pcs")


@dataclass(frozen=True)
class TaxPart:
    """One tax charged on one line: ``name`` (``"CGST"``, ``"IGST"``, ``"VAT"``), rate in percent, amount."""

    name: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class LineAmounts:
    """What one invoice line shows: its taxable value, tax rate, tax, the tax's parts and the line total.

    ``tax_rate`` is the rate actually charged: the line's own rate, or 0 under
    the reverse charge. The amounts of ``parts`` add up to ``tax`` exactly.
    """

    line: InvoiceLine
    taxable: Decimal
    tax_rate: Decimal
    tax: Decimal
    parts: tuple[TaxPart, ...]

    @property
    def total(self) -> Decimal:
        """Taxable value plus tax."""
        return _CONTEXT.add(self.taxable, self.tax)


@dataclass(frozen=True)
class TaxRow:
    """One row of the tax breakdown: a tax at one rate, the taxable value it applies to and its amount."""

    name: str
    rate: Decimal
    taxable: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    """Everything :func:`compute_invoice` works out for one invoice.

    ``net`` is the sum of the lines' taxable values, ``tax`` the sum of their tax
    and ``total`` is ``net + tax``. ``breakdown`` has one row per tax and rate,
    ordered by rate and then CGST before SGST. ``note`` is the wording the
    invoice must carry (:data:`REVERSE_CHARGE_NOTE`), else ``""``.
    """

    currency: str
    precision: int
    supply: Supply
    lines: tuple[LineAmounts, ...]
    net: Decimal
    tax: Decimal
    total: Decimal
    breakdown: tuple[TaxRow, ...]

    @property
    def reverse_charge(self) -> bool:
        """Whether no VAT is charged because the customer accounts for it."""
        return self.supply.reverse_charge

    @property
    def note(self) -> str:
        """The legal note the invoice must print, or ``""``."""
        return REVERSE_CHARGE_NOTE if self.supply.reverse_charge else ""


# --- Numbers ---------------------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+", re.ASCII)
_GROUPED_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3})(?:\.\d+)?", re.ASCII)
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}", re.ASCII)
_HSN_SAC = re.compile(r"\d{4}|\d{6}|\d{8}", re.ASCII)
_UNIT = re.compile(r"[^\W\d_]{1,12}\.?")
_QUANTITY = re.compile(r"(?P<number>[0-9.,+-]+)\s*(?P<unit>\S*)", re.ASCII)
_NUMBER_HINT = "write e.g. 1234.50 or 1,234.50"


def _read_number(text: str) -> Decimal:
    """The non-negative number ``text`` spells under the module's rules; ``ValueError(reason)`` if none.

    A leading ``-`` is read, so that callers can say "must not be negative"
    rather than "not a number"; every other sign or symbol is refused.
    """
    value = text.strip()
    negative = value.startswith("-")
    if negative:
        value = value[1:].lstrip()
    if _PLAIN_NUMBER.fullmatch(value):
        digits = value
    elif _GROUPED_NUMBER.fullmatch(value):
        if "." not in value and value.count(",") == 1:
            raise ValueError(
                f"{text.strip()!r} is ambiguous (thousands separator or decimal comma?): "
                f"write {value.replace(',', '')} or {value.replace(',', '.')}"
            )
        digits = value.replace(",", "")
    elif _DECIMAL_COMMA.fullmatch(value):
        digits = value.replace(",", ".")
    elif "," in value and "." in value and value.rfind(",") > value.rfind("."):
        raise ValueError(f"expected a point as the decimal separator, got {text.strip()!r}: {_NUMBER_HINT}")
    else:
        raise ValueError(f"expected a number, got {text.strip()!r}: {_NUMBER_HINT}")
    whole, _, fraction = digits.partition(".")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction.rstrip("0")) > MAX_FRACTION_DIGITS:
        raise ValueError(
            f"too many digits in {text.strip()!r} (at most {MAX_INTEGER_DIGITS} before "
            f"and {MAX_FRACTION_DIGITS} after the decimal point)"
        )
    number = Decimal(digits)
    return -number if negative else number


def parse_amount(text: str, field: str = "amount") -> Decimal:
    """An amount of money (a payment, a refund, a unit price) the owner typed, as a ``Decimal`` >= 0.

    The number rules of the module docstring apply; ``field`` names the value
    in the :class:`InvoiceError` when ``text`` is not one.
    """
    try:
        value = _read_number(text)
    except ValueError as error:
        raise InvoiceError(field, str(error)) from None
    if value < 0:
        raise InvoiceError(field, f"must not be negative, got {text.strip()!r}")
    return value


def _check_digits(field: str, value: Decimal) -> None:
    """Refuse a value with more digits than an item line may hold (trailing zeros do not count)."""
    _, digits, exponent = value.normalize(_CONTEXT).as_tuple()
    assert isinstance(exponent, int)  # finite, checked by the caller
    fraction = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if whole > MAX_INTEGER_DIGITS or fraction > MAX_FRACTION_DIGITS:
        raise InvoiceError(
            field,
            f"too many digits in {_plain(value)} (at most {MAX_INTEGER_DIGITS} before "
            f"and {MAX_FRACTION_DIGITS} after the decimal point)",
        )


def _check_rate(rate: Decimal) -> None:
    if not 0 <= rate <= _HUNDRED:
        raise InvoiceError("tax %", f"expected a rate from 0 to 100, got {_plain(rate)}")


def _check_description(description: str) -> None:
    if not isinstance(description, str) or not description.strip():
        raise InvoiceError("description", "must not be empty")
    if description != description.strip():
        raise InvoiceError("description", f"has spaces around it: {description!r}")
    if "|" in description:
        raise InvoiceError("description", f"must not contain '|': {description!r}")
    if any(not character.isprintable() for character in description):
        raise InvoiceError("description", f"must not hold control characters or line breaks: {description!r}")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvoiceError(
            "description", f"is {len(description)} characters long, at most {MAX_DESCRIPTION_LENGTH}"
        )


def _plain(value: Decimal) -> str:
    """``value`` in positional notation (never ``1E+3``)."""
    return format(value, "f")


# --- Item lines ------------------------------------------------------------------------------------------


def parse_item_line(text: str, default_tax_rate: Decimal) -> InvoiceLine:
    """One owner's item line ``description | qty | unit price [| tax %] [| HSN/SAC code]`` as an InvoiceLine.

    ``qty`` may carry a unit (``0.5 kg``, ``3 h``); ``tax %`` may end in ``%``
    and, left out or empty, is ``default_tax_rate`` (the ``[business] tax_rate``).
    Numbers follow the rules of the module docstring. Raises
    :class:`InvoiceError` naming the first field that is wrong, with ``text``
    set to the line.
    """
    if not isinstance(default_tax_rate, Decimal):
        raise TypeError(f"default_tax_rate must be a Decimal, got {type(default_tax_rate).__name__}")
    try:
        return _parse_item_line(text, default_tax_rate)
    except InvoiceError as error:
        raise InvoiceError(error.field, error.problem, text=text) from None


def _parse_item_line(text: str, default_tax_rate: Decimal) -> InvoiceLine:
    fields = [part.strip() for part in text.split("|")]
    if len(fields) > 5:
        raise InvoiceError("line", f"too many fields ({len(fields)}): expected {ITEM_LINE_FORMAT}")
    if len(fields) < 3:
        missing = "qty and unit price" if len(fields) == 1 else "unit price"
        raise InvoiceError("line", f"missing {missing}: expected {ITEM_LINE_FORMAT}")
    description, quantity_text, price_text = fields[:3]
    # Mail clients put tabs and no-break spaces into text: inside a description they are one space.
    description = " ".join(description.split())
    rate_text = fields[3] if len(fields) > 3 else ""
    code = fields[4] if len(fields) > 4 else ""
    _check_description(description)

    quantity, unit = _parse_quantity(quantity_text)

    if not price_text:
        raise InvoiceError("unit price", f"is empty: expected {ITEM_LINE_FORMAT}")
    try:
        price = _read_number(price_text)
    except ValueError as error:
        raise InvoiceError("unit price", str(error)) from None
    if price < 0:
        raise InvoiceError("unit price", f"must not be negative, got {price_text!r}")

    if rate_text:
        number = rate_text.removesuffix("%").rstrip()
        try:
            rate = _read_number(number)
        except ValueError as error:
            raise InvoiceError("tax %", str(error)) from None
    else:
        rate = default_tax_rate
    _check_rate(rate)

    if code and not _HSN_SAC.fullmatch(code):
        raise InvoiceError("HSN/SAC code", f"expected 4, 6 or 8 digits, got {code!r}")
    return InvoiceLine(description, quantity, price, rate, code=code, unit=unit)


def _parse_quantity(text: str) -> tuple[Decimal, str]:
    expected = f"expected a positive number, optionally with a unit (2, 0.5 kg), got {text!r}"
    match = _QUANTITY.fullmatch(text)
    if not text or match is None:
        raise InvoiceError("qty", expected)
    unit = match["unit"]
    if unit and not _UNIT.fullmatch(unit):
        raise InvoiceError("qty", expected)
    try:
        quantity = _read_number(match["number"])
    except ValueError as error:
        raise InvoiceError("qty", str(error)) from None
    if quantity <= 0:
        raise InvoiceError("qty", f"expected a positive number, got {text!r}")
    return quantity, unit


def parse_item_lines(texts: Iterable[str], default_tax_rate: Decimal) -> tuple[InvoiceLine, ...]:
    """Every item line of ``texts`` parsed; the first bad one raises with its 1-based ``line_number``.

    Blank lines are skipped but counted, so that the number matches the line
    the owner sees among the item lines they wrote.
    """
    lines: list[InvoiceLine] = []
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            continue
        try:
            lines.append(parse_item_line(text, default_tax_rate))
        except InvoiceError as error:
            raise InvoiceError(error.field, error.problem, text=text, line_number=number) from None
    if not lines:
        raise InvoiceError("line", f"no item lines: expected {ITEM_LINE_FORMAT}")
    return tuple(lines)


def format_item_line(line: InvoiceLine) -> str:
    """``line`` written back as an item line that :func:`parse_item_line` reads as the same line.

    The tax rate is always written, so that the result does not depend on the
    default rate; numbers are written plainly with a decimal point.
    """
    quantity = _plain(line.quantity) + (f" {line.unit}" if line.unit else "")
    fields = [line.description, quantity, _plain(line.unit_price), _plain(line.tax_rate)]
    if line.code:
        fields.append(line.code)
    return " | ".join(fields)


# --- Currencies and rounding -----------------------------------------------------------------------------


def currency_precision(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit (ISO 4217 code): 2 for INR, 0 for JPY, 3 for KWD.

    From babel's CLDR data when babel is installed, else from a small table of
    the currencies the project names. An unknown code is an :class:`InvoiceError`.
    """
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvoiceError("currency", f"expected a three-letter ISO 4217 code such as EUR, got {currency!r}")
    if _babel_precision is not None and _babel_currencies is not None:
        if currency not in _babel_currencies():
            raise InvoiceError("currency", f"unknown currency {currency!r}")
        return int(_babel_precision(currency))
    if currency not in _FALLBACK_PRECISION:  # pragma: no cover - only without babel
        raise InvoiceError("currency", f"unknown currency {currency!r} (install babel for all currencies)")
    return _FALLBACK_PRECISION[currency]  # pragma: no cover - only without babel


def round_money(amount: Decimal, precision: int) -> Decimal:
    """``amount`` rounded half-up to ``precision`` decimals: 0.005 -> 0.01, 2.675 -> 2.68, 0.5 -> 1 (JPY)."""
    return amount.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP, context=_CONTEXT)


# --- The invoice -----------------------------------------------------------------------------------------


def compute_invoice(lines: Sequence[InvoiceLine], currency: str, *, supply: Supply) -> InvoiceTotals:
    """The amounts, totals and tax breakdown of an invoice of ``lines`` in ``currency`` under ``supply``.

    Follows the rounding rule of the module docstring. Raises
    :class:`InvoiceError` for an unknown currency or no lines.
    """
    precision = currency_precision(currency)
    if not lines:
        raise InvoiceError("line", f"an invoice needs at least one item line: {ITEM_LINE_FORMAT}")
    with localcontext(_CONTEXT):
        amounts = tuple(_line_amounts(line, precision, supply) for line in lines)
        net = sum((item.taxable for item in amounts), _zero(precision))
        tax = sum((item.tax for item in amounts), _zero(precision))
        breakdown = _breakdown(amounts, precision)
        return InvoiceTotals(
            currency=currency,
            precision=precision,
            supply=supply,
            lines=amounts,
            net=net,
            tax=tax,
            total=net + tax,
            breakdown=breakdown,
        )


def _zero(precision: int) -> Decimal:
    return Decimal(0).scaleb(-precision)


def _line_amounts(line: InvoiceLine, precision: int, supply: Supply) -> LineAmounts:
    if not isinstance(line, InvoiceLine):
        raise TypeError(f"expected an InvoiceLine, got {type(line).__name__}")
    taxable = round_money(line.quantity * line.unit_price, precision)
    if supply.kind is SupplyKind.REVERSE_CHARGE:
        zero = _zero(precision)
        return LineAmounts(line, taxable, Decimal(0), zero, (TaxPart(supply.tax_label, Decimal(0), zero),))
    rate = line.tax_rate
    tax = round_money(taxable * rate / _HUNDRED, precision)
    if supply.kind is SupplyKind.GST_INTRA_STATE:
        central = round_money(tax / _TWO, precision)
        half_rate = rate / _TWO
        parts = (TaxPart("CGST", half_rate, central), TaxPart("SGST", half_rate, tax - central))
    elif supply.kind is SupplyKind.GST_INTER_STATE:
        parts = (TaxPart("IGST", rate, tax),)
    else:
        parts = (TaxPart(supply.tax_label, rate, tax),)
    return LineAmounts(line, taxable, rate, tax, parts)


def _breakdown(amounts: tuple[LineAmounts, ...], precision: int) -> tuple[TaxRow, ...]:
    """One row per (tax, rate), summing the lines' parts, ordered by rate and then by the part's position."""
    rows: dict[tuple[Decimal, int, str], list[Decimal]] = {}
    for item in amounts:
        for position, part in enumerate(item.parts):
            key = (part.rate, position, part.name)
            taxable, amount = rows.setdefault(key, [_zero(precision), _zero(precision)])
            rows[key] = [taxable + item.taxable, amount + part.amount]
    return tuple(
        TaxRow(name, rate, taxable, amount) for (rate, _, name), (taxable, amount) in sorted(rows.items())
    )


# --- GST: states, GSTINs, place of supply ----------------------------------------------------------------


@dataclass(frozen=True)
class GstState:
    """A state or union territory of India as GST numbers it.

    ``code`` is the two-digit GST state code (the first two digits of a GSTIN),
    ``name`` its name and ``alpha`` its ISO 3166-2:IN subdivision code as the
    ``holidays`` package uses it (``"KA"``), ``""`` for the codes that are no
    state (96, 97, 99) or no longer in use (25, 28).
    """

    code: str
    name: str
    alpha: str = ""


# The official GST state code table (first two digits of every GSTIN).
GST_STATES: tuple[GstState, ...] = (
    GstState("01", "Jammu and Kashmir", "JK"),
    GstState("02", "Himachal Pradesh", "HP"),
    GstState("03", "Punjab", "PB"),
    GstState("04", "Chandigarh", "CH"),
    GstState("05", "Uttarakhand", "UK"),
    GstState("06", "Haryana", "HR"),
    GstState("07", "Delhi", "DL"),
    GstState("08", "Rajasthan", "RJ"),
    GstState("09", "Uttar Pradesh", "UP"),
    GstState("10", "Bihar", "BR"),
    GstState("11", "Sikkim", "SK"),
    GstState("12", "Arunachal Pradesh", "AR"),
    GstState("13", "Nagaland", "NL"),
    GstState("14", "Manipur", "MN"),
    GstState("15", "Mizoram", "MZ"),
    GstState("16", "Tripura", "TR"),
    GstState("17", "Meghalaya", "ML"),
    GstState("18", "Assam", "AS"),
    GstState("19", "West Bengal", "WB"),
    GstState("20", "Jharkhand", "JH"),
    GstState("21", "Odisha", "OD"),
    GstState("22", "Chhattisgarh", "CG"),
    GstState("23", "Madhya Pradesh", "MP"),
    GstState("24", "Gujarat", "GJ"),
    # Daman and Diu had code 25 until it merged into 26 on 26 January 2020; old GSTINs still carry it.
    GstState("25", "Daman and Diu"),
    GstState("26", "Dadra and Nagar Haveli and Daman and Diu", "DH"),
    GstState("27", "Maharashtra", "MH"),
    # Code 28 is Andhra Pradesh before Telangana was formed (2014); today's Andhra Pradesh is 37.
    GstState("28", "Andhra Pradesh (Old)"),
    GstState("29", "Karnataka", "KA"),
    GstState("30", "Goa", "GA"),
    GstState("31", "Lakshadweep", "LD"),
    GstState("32", "Kerala", "KL"),
    GstState("33", "Tamil Nadu", "TN"),
    GstState("34", "Puducherry", "PY"),
    GstState("35", "Andaman and Nicobar Islands", "AN"),
    GstState("36", "Telangana", "TS"),
    GstState("37", "Andhra Pradesh", "AP"),
    GstState("38", "Ladakh", "LA"),
    # Not states: the place of supply of exports, other territory, and the centre's own registrations.
    GstState("96", "Other Countries"),
    GstState("97", "Other Territory"),
    GstState("99", "Centre Jurisdiction"),
)
_STATES_BY_CODE = {state.code: state for state in GST_STATES}
# Other spellings of alpha codes in use (vehicle registration, older ISO codes).
_ALPHA_ALIASES = {"TG": "TS", "OR": "OD", "CT": "CG", "UT": "UK", "UA": "UK", "DD": "DH", "DN": "DH"}


def _name_key(name: str) -> str:
    return " ".join(name.replace("&", " and ").lower().split())


_STATES_BY_KEY: dict[str, GstState] = {}
for _state in GST_STATES:
    _STATES_BY_KEY[_state.code] = _state
    _STATES_BY_KEY[_name_key(_state.name)] = _state
    if _state.alpha:
        _STATES_BY_KEY[_state.alpha.lower()] = _state
for _alias, _alpha in _ALPHA_ALIASES.items():
    _STATES_BY_KEY[_alias.lower()] = next(state for state in GST_STATES if state.alpha == _alpha)
del _state, _alias, _alpha


def gst_state(value: str) -> GstState:
    """The state ``value`` names: GST code (``"29"``, ``"7"``), ISO code (``"KA"``) or name (``"Karnataka"``).

    Case and spacing do not matter, ``&`` stands for ``and``. An unknown value
    is an :class:`InvoiceError` (field ``state``).
    """
    key = _name_key(value)
    if key.isdigit() and len(key) == 1:
        key = "0" + key
    state = _STATES_BY_KEY.get(key)
    if state is None:
        raise InvoiceError(
            "state", f"unknown Indian state {value!r}: expected a GST state code (29), KA or a name"
        )
    return state


_GSTIN = re.compile(r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]", re.ASCII)
_GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _gstin_check_character(first14: str) -> str:
    """The GSTIN check character: a Luhn mod 36 over the first 14 characters."""
    total = 0
    for position, character in enumerate(first14):
        product = _GSTIN_ALPHABET.index(character) * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return _GSTIN_ALPHABET[(36 - total % 36) % 36]


def validate_gstin(gstin: str) -> str:
    """``gstin`` upper-cased and without spaces, if it is a well-formed GSTIN with a correct check character.

    A GSTIN is 15 characters: the state code, the holder's PAN (5 letters, 4
    digits, 1 letter), the registration number within the state, ``Z`` and a
    check character. A typo in the customer's GSTIN would cost them the input
    tax credit, so a wrong check character is an :class:`InvoiceError` (field ``GSTIN``).
    """
    value = "".join(gstin.split()).upper()
    if not _GSTIN.fullmatch(value):
        raise InvoiceError("GSTIN", f"expected 15 characters like 29ABCDE1234F1Z5, got {gstin!r}")
    if value[:2] not in _STATES_BY_CODE:
        raise InvoiceError("GSTIN", f"{gstin!r} starts with {value[:2]}, which is no GST state code")
    if _gstin_check_character(value[:14]) != value[14]:
        raise InvoiceError("GSTIN", f"{gstin!r} has a wrong check character (a typo?)")
    return value


def gstin_state(gstin: str) -> GstState:
    """The state of registration of ``gstin``: its first two digits (``29...`` is Karnataka). Validates it."""
    return _STATES_BY_CODE[validate_gstin(gstin)[:2]]


def gst_supply(
    business_state: str, *, customer_state: str | None = None, customer_gstin: str | None = None
) -> Supply:
    """The GST :class:`Supply` of an invoice: intra-state (CGST + SGST) or inter-state (IGST).

    The place of supply is ``customer_state`` when given (the owner knows where
    the goods go), else the state of ``customer_gstin``, else the business's own
    state: for an unregistered customer whose state is unknown, the supplier's
    location is the place of supply. It is intra-state when it equals
    ``business_state``. A customer abroad has ``customer_state="96"`` (Other
    Countries): IGST. States are read by :func:`gst_state`.
    """
    business = gst_state(business_state)
    if business.code in ("96", "99"):
        raise InvoiceError("state", f"the business's state must be an Indian state, got {business_state!r}")
    if customer_state:
        place = gst_state(customer_state)
    elif customer_gstin:
        place = gstin_state(customer_gstin)
    else:
        place = business
    kind = SupplyKind.GST_INTRA_STATE if place.code == business.code else SupplyKind.GST_INTER_STATE
    return Supply(kind, place_of_supply=place.code, tax_label="GST")


# --- EU VAT: reverse charge ------------------------------------------------------------------------------

# The VAT number prefixes of the EU member states: ISO 3166 codes except Greece, EL.
EU_VAT_PREFIXES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)


def vat_country(vat_id: str) -> str:
    """The country prefix of a VAT number, upper-cased: ``"de 123456789"`` -> ``"DE"``.

    ``GR`` (Greece's ISO code) is taken as ``EL``, the prefix its VAT numbers
    carry. A value that does not start with two letters followed by at least
    two letters or digits is an :class:`InvoiceError` (field ``VAT number``).
    """
    value = re.sub(r"[\s.\-]", "", vat_id).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z+*]{2,13}", value, re.ASCII):
        raise InvoiceError(
            "VAT number", f"expected a country prefix and number like DE123456789, got {vat_id!r}"
        )
    prefix = value[:2]
    return "EL" if prefix == "GR" else prefix


def is_eu_reverse_charge(business_vat_id: str, customer_vat_id: str) -> bool:
    """Whether a B2B supply falls under the EU reverse charge: both VAT numbers are EU, of different states.

    Only the prefixes are compared; whether the customer's number is valid
    (VIES) is for the owner to check. Covers services under Art. 196 of the VAT
    Directive; supplies of goods between member states (exempt under Art. 138)
    need other wording and are not decided here.
    """
    business = vat_country(business_vat_id)
    customer = vat_country(customer_vat_id)
    return business in EU_VAT_PREFIXES and customer in EU_VAT_PREFIXES and business != customer


def vat_supply(business_vat_id: str | None, customer_vat_id: str | None, *, tax_label: str = "VAT") -> Supply:
    """The VAT :class:`Supply` of an invoice: reverse charge when :func:`is_eu_reverse_charge`, else standard.

    Without either VAT number (a consumer, or a business not registered) VAT is
    charged at each line's rate.
    """
    if business_vat_id and customer_vat_id and is_eu_reverse_charge(business_vat_id, customer_vat_id):
        return Supply(SupplyKind.REVERSE_CHARGE, tax_label=tax_label)
    return Supply(SupplyKind.STANDARD, tax_label=tax_label)
