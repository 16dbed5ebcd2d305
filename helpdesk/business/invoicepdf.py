"""The PDF of an invoice or credit note, and the text of the payment QR codes it may carry.

:func:`render_invoice_pdf` lays out an issued :class:`~helpdesk.store.records.Invoice` on A4
pages with fpdf2: everything an invoice must show (the business's legal name, address, tax id
and contact details; title, number, date and due date; the customer's name, email, address and
tax id; the place of supply under GST; every item with its HSN/SAC code, quantity, unit price,
taxable value, tax rate, tax and total; the tax breakdown; the totals; reverse-charge wording;
payment instructions; the terms line; the reference and note) and, when given, a payment QR
code made with segno. The arithmetic was done when the invoice was issued
(:mod:`helpdesk.business.invoicemath`): the amounts are printed as they are stored, never
recomputed.

The text is set in DejaVu Sans, shipped as package data in :mod:`helpdesk.fonts` with its
licence. It covers Latin, Greek and Cyrillic and the rupee sign (U+20B9); it has no Devanagari
or other Indic scripts, whose characters would be left out. Money is formatted with Babel for
the ``locale`` given (``en_IN``: ``₹1,23,456.00``; ``de_DE``: ``1.234,56 €``), dates too; the
labels are English.

The output is deterministic: the same invoice, business and options give the same bytes. The
PDF's creation date is the invoice's date of issue (midnight UTC) and its file id is derived
from its content, so a stored PDF can always be checked against a fresh rendering.

:func:`upi_payload` and :func:`epc_payload` build the text of a UPI (India, INR) or EPC069-12
"GiroCode" (SEPA, EUR) payment QR code for ``qr_payload``.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from copy import copy
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from urllib.parse import quote

import segno
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fontTools import subset as ftsubset
from fontTools import ttLib  # fpdf2's own dependency
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

from helpdesk.business.invoicemath import REVERSE_CHARGE_NOTE, gst_state
from helpdesk.config import BusinessConfig
from helpdesk.store.records import Invoice

# fontTools (fpdf2's font subsetter) logs every glyph it keeps at INFO: not news for the daemon's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

__all__ = [
    "FONT_FAMILY",
    "epc_payload",
    "render_invoice_pdf",
    "tax_id_label",
    "upi_payload",
]

FONT_FAMILY = "DejaVuSans"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# The wording an invoice carries when the customer, not the business, accounts for the tax:
# the EU VAT Directive's for VAT, the CGST Act's for GST.
VAT_REVERSE_CHARGE = REVERSE_CHARGE_NOTE
GST_REVERSE_CHARGE = "Tax is payable on reverse charge basis."

# Page geometry (mm) and type sizes (pt).
_MARGIN = 15.0
_BOTTOM = 18.0
_WIDTH = 210.0 - 2 * _MARGIN
_QR_SIZE = 32.0
_TEXT = 9.0
_SMALL = 7.5
_TABLE = 8.0
_GREY = (90, 90, 90)
_RULE = (170, 170, 170)
_HEAD_FILL = (232, 236, 241)

_GSTIN = re.compile(r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]")
_VAT_ID = re.compile(r"(?:[A-Z]{2}|EL|XI)[0-9A-Z+*]{2,13}")


# --- Payment QR codes ------------------------------------------------------------------------------------


def _plain_amount(amount: Decimal | str, places: int = 2) -> str:
    """``amount`` with ``places`` decimals and a point, no grouping: ``1234.50``."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"amount: expected a number, got {amount!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"amount: expected a positive number, got {amount!r}")
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def upi_payload(
    vpa: str, name: str, amount: Decimal | str | None, currency: str = "INR", note: str = ""
) -> str:
    """The ``upi://pay?…`` link a UPI payment QR code holds (NPCI's UPI linking specification).

    ``vpa`` is the payee's UPI id (``acme@okhdfc``), ``name`` the payee's name, ``amount``
    the amount in rupees (``None``: the payer types it), ``note`` the transaction note (the
    invoice number, say). Values are percent-encoded (a space is ``%20``); UPI pays only in
    INR, so any other ``currency`` is a :class:`ValueError`.
    """
    vpa = vpa.strip()
    if not re.fullmatch(r"[\w.\-]{1,256}@[A-Za-z][\w.\-]{1,63}", vpa):
        raise ValueError(f"UPI id: expected e.g. name@bank, got {vpa!r}")
    if currency.upper() != "INR":
        raise ValueError(f"UPI: payments are in INR only, got {currency!r}")
    fields = [("pa", quote(vpa, safe="@")), ("pn", quote(name.strip(), safe=""))]
    if amount is not None:
        fields.append(("am", _plain_amount(amount)))
    fields.append(("cu", "INR"))
    if note.strip():
        fields.append(("tn", quote(note.strip(), safe="")))
    return "upi://pay?" + "&".join(f"{key}={value}" for key, value in fields)


def epc_payload(name: str, iban: str, bic: str, amount: Decimal | str, remittance: str = "") -> str:
    """The text of an EPC069-12 "GiroCode" (SEPA credit transfer) QR code, version 002, UTF-8.

    Lines: ``BCD``, ``002``, ``1`` (UTF-8), ``SCT``, the BIC (optional in version 002), the
    beneficiary's name (at most 70 characters), the IBAN (spaces removed), ``EUR`` and the
    amount (0.01 to 999999999.99), an empty purpose code, an empty structured reference and
    the unstructured remittance text (at most 140 characters). Trailing empty lines are left
    out, as the guidelines allow. A value out of these bounds is a :class:`ValueError`.
    """
    name = " ".join(name.split())
    iban = "".join(iban.split()).upper()
    bic = "".join(bic.split()).upper()
    remittance = " ".join(remittance.split())
    if not name or len(name) > 70:
        raise ValueError(f"EPC QR: the beneficiary's name must have 1 to 70 characters, got {name!r}")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        raise ValueError(f"EPC QR: not an IBAN: {iban!r}")
    if bic and not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", bic):
        raise ValueError(f"EPC QR: not a BIC: {bic!r}")
    if len(remittance) > 140:
        raise ValueError("EPC QR: the remittance text has more than 140 characters")
    value = _plain_amount(amount)
    if not Decimal("0.01") <= Decimal(value) <= Decimal("999999999.99"):
        raise ValueError(f"EPC QR: the amount must be from 0.01 to 999999999.99 EUR, got {amount!r}")
    lines = ["BCD", "002", "1", "SCT", bic, name, iban, f"EUR{value}", "", "", remittance]
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


def _qr_png(payload: str) -> io.BytesIO:
    """``payload`` as a QR code PNG (error correction M, as EPC069-12 asks; a 4-module quiet zone)."""
    code = segno.make(payload, error="m", micro=False, encoding="utf-8")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=6, border=4)
    buffer.seek(0)
    return buffer


# --- Fonts -----------------------------------------------------------------------------------------------


# Tables fpdf2 has no use for (it does no text shaping here), dropped from the fonts' working
# copies: closing over DejaVu's GSUB and GPOS is most of the time subsetting takes.
_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "kern", "hdmx", "LTSH", "VDMX", "FFTM")
# What the light working copy of each font keeps: Latin (with its extensions and combining
# marks), Greek, Cyrillic, punctuation, currency signs (the rupee and euro signs among them),
# letterlike symbols (No, TM) and the minus sign. Subsetting these ~1,400 glyphs for a document
# is several times faster than subsetting DejaVu's ~6,000. A document that uses any other
# character DejaVu has (Vietnamese, polytonic Greek, Armenian, Georgian, Hebrew, Arabic,
# arrows, ...) is laid out again with the whole fonts.
_LIGHT_RANGES = (
    (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x52F), (0x2000, 0x206F),
    (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2212, 0x2212), (0xFFFD, 0xFFFD),
)  # fmt: skip


def _font_path(style: str) -> str:
    return str(resources.files("helpdesk.fonts").joinpath(_FONT_FILES[style]))


@cache
def _font_bytes(style: str, light: bool) -> bytes:
    """The shipped font without :data:`_UNUSED_TABLES` (``light``: only :data:`_LIGHT_RANGES`), once."""
    data = resources.files("helpdesk.fonts").joinpath(_FONT_FILES[style]).read_bytes()
    font = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False)
    options = ftsubset.Options(
        layout_features=[], notdef_outline=True, glyph_names=True, name_IDs=["*"], name_languages=["*"]
    )
    options.name_legacy = True
    options.drop_tables += list(_UNUSED_TABLES)
    if light:
        unicodes = [code for first, last in _LIGHT_RANGES for code in range(first, last + 1)]
    else:
        unicodes = list(font.getBestCmap())
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    # One Unicode cmap is enough (DejaVu has the same one twice, for two platforms).
    cmap = font["cmap"]
    cmap.tables = [table for table in cmap.tables if (table.platformID, table.platEncID) == (3, 1)]
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@cache
def _parsed_font(style: str, light: bool) -> TTFFont:
    """The font parsed once per process, to copy into each document."""
    fontkey = f"{FONT_FAMILY.lower()}{style}"
    return TTFFont(FPDF(), io.BytesIO(_font_bytes(style, light)), fontkey, style)


def _add_fonts(pdf: FPDF, *, light: bool) -> None:
    """Add the regular and bold fonts to ``pdf``, copies of :func:`_parsed_font`.

    A copy shares the parsed metrics (read only) and gets its own fontTools font, glyph subset
    and usage counters: writing the PDF subsets the font's tables in place. Should fpdf2's
    internals differ from what this expects, the fonts are added the ordinary way.
    """
    for style in _FONT_FILES:
        fontkey = f"{FONT_FAMILY.lower()}{style}"
        try:
            template = _parsed_font(style, light)
            font = copy(template)
            data = io.BytesIO(_font_bytes(style, light))
            # The glyphs are copied as they are: their bounding boxes need no recalculating.
            font.ttfont = ttLib.TTFont(data, recalcBBoxes=False, recalcTimestamp=False, lazy=True)
            font.cw = copy(template.cw)
            font.glyph_ids = dict(template.glyph_ids)
            font.missing_glyphs = []
            font.biggest_size_pt = 0
            font.subset = SubsetMap(font)
            font.i = len(pdf.fonts) + 1
            pdf.fonts[fontkey] = font
        except (AttributeError, TypeError):  # pragma: no cover - another fpdf2 version's internals
            pdf.fonts.pop(fontkey, None)
            pdf.add_font(FONT_FAMILY, style, _font_path(style))


def _missing_glyphs(pdf: FPDF) -> set[int]:
    """The characters the document's text uses that its fonts lack."""
    return {code for font in pdf.fonts.values() for code in getattr(font, "missing_glyphs", ())}


@cache
def _full_coverage() -> frozenset[int]:
    return frozenset(_parsed_font("", False).cmap)


# --- Formatting ------------------------------------------------------------------------------------------


class _Format:
    """Money, numbers and dates for one locale and currency."""

    def __init__(self, locale: str, currency: str):
        try:
            self.locale = Locale.parse(locale.replace("-", "_") or "en")
        except (ValueError, UnknownLocaleError) as error:
            raise ValueError(f"invoice PDF: unknown locale {locale!r}") from error
        self.currency = currency
        pattern = self.locale.currency_formats["standard"].pattern
        # The currency pattern without its sign, for the amounts of the items table.
        self._bare = ";".join(
            part.replace("\u00a4", "").strip(" \u00a0\u202f") for part in pattern.split(";")
        )

    def money(self, amount: str) -> str:
        return format_currency(_decimal(amount), self.currency, locale=self.locale)

    def amount(self, amount: str) -> str:
        return format_currency(_decimal(amount), self.currency, format=self._bare, locale=self.locale)

    def number(self, value: str) -> str:
        return format_decimal(_decimal(value), locale=self.locale, decimal_quantization=False)

    def rate(self, value: str) -> str:
        return f"{self.number(value)}%"

    def date(self, text: str | None) -> str:
        if not text:
            return ""
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return text
        return format_date(day, "medium", locale=self.locale)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(str(text).strip() or "0")
    except InvalidOperation:
        raise ValueError(f"invoice PDF: not an amount: {text!r}") from None


def tax_id_label(tax_id: str) -> str:
    """What to call ``tax_id`` on the invoice: ``GSTIN``, ``VAT No.`` or ``Tax ID``."""
    tax_id = tax_id.strip().upper().replace(" ", "")
    if _GSTIN.fullmatch(tax_id):
        return "GSTIN"
    if _VAT_ID.fullmatch(tax_id):
        return "VAT No."
    return "Tax ID"


def _place_of_supply(value: str) -> str:
    """A GST state code as invoices print it (``29-Karnataka``); anything else as it is."""
    value = value.strip()
    if re.fullmatch(r"\d{1,2}", value):
        try:
            state = gst_state(value)
        except ValueError:
            return value
        return f"{state.code}-{state.name}"
    return value


def _lines(text: str | None) -> list[str]:
    """The non-empty lines of ``text``, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- Layout ----------------------------------------------------------------------------------------------


class _InvoicePDF(FPDF):
    """An A4 page with a footer naming the document and the page."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "", _SMALL)
        self.set_text_color(*_GREY)
        self.cell(0, 4, f"{self.footer_text} \u00b7 Page {self.page_no()} of {{nb}}", align=Align.C)
        self.set_text_color(0, 0, 0)


def render_invoice_pdf(
    invoice: Invoice,
    business: BusinessConfig,
    *,
    locale: str = "en",
    payment_details: str = "",
    terms: str = "",
    qr_payload: str | None = None,
    pdfa: bool = False,
) -> bytes:
    """The PDF of ``invoice`` (an invoice or a credit note) issued by ``business``, as bytes.

    ``locale`` formats money, numbers and dates (Babel: ``en_IN``, ``de_DE``);
    ``payment_details`` (bank account, UPI id or IBAN, one or more lines) is printed under
    "Payment"; ``terms`` is the terms/refund policy line; ``qr_payload``, when given, is printed
    as a payment QR code beside the payment details (see :func:`upi_payload` and
    :func:`epc_payload`); ``pdfa`` makes it a PDF/A-3b document, the archival form a
    Factur-X invoice is built on (:mod:`helpdesk.business.facturx`). The same arguments
    always give the same bytes.
    """
    fmt = _Format(locale, invoice.currency or business.currency)
    options = (fmt, payment_details, terms, qr_payload, pdfa)
    pdf = _layout(invoice, business, *options, light=True)
    if _missing_glyphs(pdf) & _full_coverage():
        pdf = _layout(invoice, business, *options, light=False)
    return bytes(pdf.output())


def _layout(
    invoice: Invoice,
    business: BusinessConfig,
    fmt: _Format,
    payment_details: str,
    terms: str,
    qr_payload: str | None,
    pdfa: bool,
    *,
    light: bool,
) -> FPDF:
    credit_note = invoice.kind == "credit-note"
    title = "Credit Note" if credit_note else ("Tax Invoice" if business.tax_id.strip() else "Invoice")
    seller = business.legal_name.strip() or business.name

    compliance = "PDF/A-3B" if pdfa else None
    pdf = _InvoicePDF(orientation="portrait", unit="mm", format="A4", enforce_compliance=compliance)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_BOTTOM)
    pdf.set_creation_date(_issued_at(invoice.issued_on))
    pdf.set_title(f"{title} {invoice.number}")
    pdf.set_author(seller)
    # The customer is named on the page, not in the metadata: the document stays the legal
    # record when the customer is forgotten, without naming them in plain text.
    pdf.set_subject(f"{title} {invoice.number}")
    pdf.set_creator("helpdesk")
    pdf.set_lang(str(fmt.locale).replace("_", "-"))
    pdf.footer_text = f"{seller} \u00b7 {title} {invoice.number}"
    _add_fonts(pdf, light=light)
    pdf.add_page()

    _header(pdf, invoice, business, fmt, title, seller)
    _bill_to(pdf, invoice)
    _items(pdf, invoice, fmt)
    _totals(pdf, invoice, fmt)
    _closing(pdf, invoice, payment_details, terms, qr_payload)
    return pdf


def _issued_at(issued_on: str) -> datetime:
    try:
        day = date.fromisoformat(issued_on[:10])
    except ValueError:
        raise ValueError(f"invoice PDF: issued_on: expected YYYY-MM-DD, got {issued_on!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# fpdf2's multi_cell and table are general and slow (a table of ten lines costs ~25 ms): the
# invoice wraps its own text, a word at a time, and draws its tables with plain cells.


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` in the current font (a too-long word is cut)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if pdf.get_string_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while pdf.get_string_width(line) > width and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and pdf.get_string_width(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines or [""]


def _text(
    pdf: FPDF,
    width: float,
    text: str,
    *,
    size: float = _TEXT,
    style: str = "",
    align: Align = Align.L,
    height: float | None = None,
    grey: bool = False,
) -> None:
    """One paragraph at the current x, wrapped to ``width``; the cursor then goes to the next line."""
    x = pdf.get_x()
    pdf.set_font(FONT_FAMILY, style, size)
    if grey:
        pdf.set_text_color(*_GREY)
    for line in _wrap(pdf, text, width):
        pdf.set_x(x)
        pdf.cell(width, height or size * 0.45, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_x(x)


def _key_values(pdf: FPDF, x: float, width: float, rows: Iterable[tuple[str, str]]) -> None:
    """Label/value rows, labels grey on the left of ``width``, values right-aligned."""
    label_width = width * 0.42
    for label, value in rows:
        pdf.set_xy(x, pdf.get_y())
        pdf.set_font(FONT_FAMILY, "", _TEXT)
        pdf.set_text_color(*_GREY)
        pdf.cell(label_width, 4.6, label)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(FONT_FAMILY, "B", _TEXT)
        for line in _wrap(pdf, value, width - label_width):
            pdf.set_x(x + label_width)
            pdf.cell(width - label_width, 4.6, line, align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)


class _Column:
    """A table column: its heading, width (mm) and alignment."""

    __slots__ = ("align", "heading", "width")

    def __init__(self, heading: str, width: float, align: Align = Align.R):
        self.heading = heading
        self.width = width
        self.align = align


_CELL_PAD = 1.2
_LINE = 3.6


def _table(pdf: FPDF, columns: list[_Column], rows: Iterable[list[str]]) -> None:
    """A table at the left margin: a shaded heading row, repeated on each page, and ruled rows."""

    def row_lines(cells: list[str]) -> list[list[str]]:
        return [
            _wrap(pdf, cell, column.width - 2 * _CELL_PAD)
            for cell, column in zip(cells, columns, strict=True)
        ]

    def draw(lines: list[list[str]], fill: bool) -> None:
        height = max(len(cell) for cell in lines) * _LINE + 2 * _CELL_PAD
        top = pdf.get_y()
        if fill:
            pdf.set_fill_color(*_HEAD_FILL)
            pdf.rect(_MARGIN, top, sum(column.width for column in columns), height, style="F")
        x = _MARGIN
        for column, cell in zip(columns, lines, strict=True):
            for number, line in enumerate(cell):
                pdf.set_xy(x + _CELL_PAD, top + _CELL_PAD + number * _LINE)
                pdf.cell(column.width - 2 * _CELL_PAD, _LINE, line, align=column.align)
            x += column.width
        pdf.set_xy(_MARGIN, top + height)
        pdf.line(_MARGIN, top + height, x, top + height)

    def heading() -> None:
        pdf.set_font(FONT_FAMILY, "B", _TABLE)
        draw(head, fill=True)
        pdf.set_font(FONT_FAMILY, "", _TABLE)

    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    pdf.set_font(FONT_FAMILY, "B", _TABLE)
    head = row_lines([column.heading for column in columns])
    head_height = max(len(cell) for cell in head) * _LINE + 2 * _CELL_PAD
    pdf.set_font(FONT_FAMILY, "", _TABLE)
    first = True
    for cells in rows:
        lines = row_lines(cells)
        height = max(len(cell) for cell in lines) * _LINE + 2 * _CELL_PAD
        if pdf.get_y() + height + (head_height if first else 0) > pdf.page_break_trigger:
            pdf.add_page()
            first = True
        if first:
            heading()
            first = False
        draw(lines, fill=False)
    if first:
        heading()


def _header(
    pdf: FPDF, invoice: Invoice, business: BusinessConfig, fmt: _Format, title: str, seller: str
) -> None:
    top = pdf.get_y()
    left_width = _WIDTH * 0.56
    pdf.set_xy(_MARGIN, top)
    _text(pdf, left_width, seller, size=14, style="B", height=6.5)
    if business.name and business.name.strip() != seller:
        _text(pdf, left_width, business.name, grey=True)
    pdf.ln(1)
    for line in _lines(business.address):
        _text(pdf, left_width, line)
    if business.tax_id.strip():
        _text(pdf, left_width, f"{tax_id_label(business.tax_id)}: {business.tax_id.strip()}", style="B")
    for label, value in (("Phone", business.phone), ("Email", business.email), ("Web", business.website)):
        if value and value.strip():
            _text(pdf, left_width, f"{label}: {value.strip()}")
    left_bottom = pdf.get_y()

    right_x = _MARGIN + left_width + 6
    right_width = _WIDTH - left_width - 6
    pdf.set_xy(right_x, top)
    _text(pdf, right_width, title, size=18, style="B", align=Align.R, height=8)
    if invoice.kind == "credit-note" and invoice.credit_of:
        _text(pdf, right_width, f"Credits invoice {invoice.credit_of}", style="B", align=Align.R, height=5)
    pdf.ln(2)
    number_label = "Credit note no." if invoice.kind == "credit-note" else "Invoice no."
    rows = [(number_label, invoice.number), ("Date", fmt.date(invoice.issued_on))]
    if invoice.due_on:
        rows.append(("Due date", fmt.date(invoice.due_on)))
    if invoice.place_of_supply:
        rows.append(("Place of supply", _place_of_supply(invoice.place_of_supply)))
    if invoice.reference:
        rows.append(("Reference", invoice.reference))
    if invoice.reverse_charge:
        rows.append(("Reverse charge", "Yes"))
    _key_values(pdf, right_x, right_width, rows)
    pdf.set_xy(_MARGIN, max(left_bottom, pdf.get_y()) + 4)
    _rule(pdf)


def _rule(pdf: FPDF) -> None:
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    pdf.line(_MARGIN, pdf.get_y(), _MARGIN + _WIDTH, pdf.get_y())
    pdf.ln(4)


def _bill_to(pdf: FPDF, invoice: Invoice) -> None:
    bill = {key: (value or "").strip() for key, value in invoice.bill_to.items() if isinstance(value, str)}
    width = _WIDTH * 0.6
    pdf.set_x(_MARGIN)
    _text(pdf, width, "Bill to", size=_SMALL, style="B", grey=True)
    name = bill.get("name") or bill.get("email") or invoice.customer
    _text(pdf, width, name, size=10.5, style="B", height=5)
    for line in _lines(bill.get("address")):
        _text(pdf, width, line)
    email = bill.get("email") or invoice.customer
    if email and email != name:
        _text(pdf, width, f"Email: {email}")
    if bill.get("tax_id"):
        _text(pdf, width, f"{tax_id_label(bill['tax_id'])}: {bill['tax_id']}", style="B")
    if bill.get("state") and not invoice.place_of_supply:
        _text(pdf, width, f"State: {bill['state']}")
    pdf.ln(5)


def _items(pdf: FPDF, invoice: Invoice, fmt: _Format) -> None:
    with_codes = any((line.get("hsn_sac") or "").strip() for line in invoice.lines)
    columns = [_Column("#", 7, Align.L), _Column("Description", 0, Align.L)]
    if with_codes:
        columns.append(_Column("HSN/SAC", 17, Align.L))
    columns += [
        _Column("Qty", 15),
        _Column("Unit price", 21),
        _Column("Taxable value", 22),
        _Column("Tax %", 12),
        _Column("Tax", 19),
        _Column("Amount", 22),
    ]
    columns[1].width = _WIDTH - sum(column.width for column in columns)

    def rows() -> Iterable[list[str]]:
        for position, line in enumerate(invoice.lines, start=1):
            quantity = fmt.number(line.get("quantity", "0"))
            unit = (line.get("unit") or "").strip()
            cells = [str(position), line.get("description", "")]
            if with_codes:
                cells.append((line.get("hsn_sac") or "").strip())
            cells += [
                f"{quantity} {unit}" if unit else quantity,
                fmt.amount(line.get("unit_price", "0")),
                fmt.amount(line.get("taxable", "0")),
                fmt.rate(line.get("tax_rate", "0")),
                fmt.amount(line.get("tax", "0")),
                fmt.amount(line.get("total", "0")),
            ]
            yield cells

    pdf.set_x(_MARGIN)
    _text(pdf, _WIDTH, f"Amounts in {fmt.currency}", size=_SMALL, align=Align.R, grey=True)
    pdf.ln(1)
    _table(pdf, columns, rows())
    pdf.ln(5)


def _totals(pdf: FPDF, invoice: Invoice, fmt: _Format) -> None:
    rows = invoice.tax_rows
    needed = 7 + 5.2 * max(len(rows) + 1, 3) + 6
    if pdf.get_y() + needed > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    # The tax breakdown on the left ...
    if rows:
        pdf.set_x(_MARGIN)
        _text(pdf, 100, "Tax breakdown", size=_SMALL, style="B", grey=True)
        pdf.ln(0.5)
        columns = [
            _Column("Tax", 30, Align.L),
            _Column("Rate", 14),
            _Column("Taxable value", 30),
            _Column("Tax amount", 30),
        ]
        _table(
            pdf,
            columns,
            (
                [
                    row.get("name", ""),
                    fmt.rate(row.get("rate", "0")),
                    fmt.amount(row.get("taxable", "0")),
                    fmt.amount(row.get("amount", "0")),
                ]
                for row in rows
            ),
        )
    left_bottom = pdf.get_y()
    # ... and the totals on the right.
    x = _MARGIN + _WIDTH - 66
    pdf.set_xy(x, top + (4 if rows else 0))
    _total_row(pdf, x, "Net amount", fmt.money(invoice.net), False)
    _total_row(pdf, x, "Tax", fmt.money(invoice.tax), False)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.4)
    pdf.line(x, pdf.get_y() + 0.5, x + 66, pdf.get_y() + 0.5)
    pdf.ln(1.5)
    total_label = "Total credited" if invoice.kind == "credit-note" else "Total"
    _total_row(pdf, x, f"{total_label} ({fmt.currency})", fmt.money(invoice.total), True)
    pdf.set_xy(_MARGIN, max(left_bottom, pdf.get_y()) + 5)


def _total_row(pdf: FPDF, x: float, label: str, value: str, bold: bool) -> None:
    size = 10.5 if bold else _TEXT
    height = 6 if bold else 5.2
    pdf.set_x(x)
    pdf.set_font(FONT_FAMILY, "B" if bold else "", size)
    label_width = max(26.0, pdf.get_string_width(label) + 2)
    pdf.cell(label_width, height, label)
    pdf.cell(66 - label_width, height, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _closing(pdf: FPDF, invoice: Invoice, payment_details: str, terms: str, qr_payload: str | None) -> None:
    if invoice.reverse_charge:
        wording = GST_REVERSE_CHARGE if invoice.place_of_supply else VAT_REVERSE_CHARGE
        pdf.set_x(_MARGIN)
        _text(pdf, _WIDTH, wording, style="B")
        pdf.ln(3)
    note = invoice.note.strip()
    if note and not (invoice.reverse_charge and note in (VAT_REVERSE_CHARGE, GST_REVERSE_CHARGE)):
        pdf.set_x(_MARGIN)
        _text(pdf, _WIDTH, f"Note: {note}")
        pdf.ln(3)

    details = _lines(payment_details)
    if details or qr_payload:
        text_width = _WIDTH - (_QR_SIZE + 8 if qr_payload else 0)
        needed = max(8 + 4.2 * len(details), _QR_SIZE + 6 if qr_payload else 0)
        if pdf.get_y() + needed > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        pdf.set_x(_MARGIN)
        heading = "Refund" if invoice.kind == "credit-note" else "Payment"
        _text(pdf, text_width, heading, size=_SMALL, style="B", grey=True)
        pdf.ln(0.5)
        if invoice.kind != "credit-note" and invoice.due_on:
            _text(pdf, text_width, f"Please pay by the due date, quoting {invoice.number}.")
        for line in details:
            _text(pdf, text_width, line)
        bottom = pdf.get_y()
        if qr_payload:
            x = _MARGIN + _WIDTH - _QR_SIZE
            pdf.image(_qr_png(qr_payload), x=x, y=top, w=_QR_SIZE, h=_QR_SIZE)
            pdf.set_xy(x, top + _QR_SIZE)
            _text(pdf, _QR_SIZE, "Scan to pay", size=_SMALL, align=Align.C, grey=True)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(_MARGIN, bottom + 4)

    if terms.strip():
        pdf.set_x(_MARGIN)
        _text(pdf, _WIDTH, "Terms", size=_SMALL, style="B", grey=True)
        pdf.ln(0.5)
        for line in _lines(terms):
            _text(pdf, _WIDTH, line, size=8)
