"""Unit tests of ``helpdesk.outbound.compose``: the bytes of every outbound message.

Each test composes a message and reads it back with the standard library's
parser (``policy.default``), the way a receiving mail client would, so that
what is checked is what a recipient sees: header names and values, MIME
structure, decoded text and attachment bytes.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.intake.message import parse_message
from helpdesk.outbound.compose import (
    MAX_REFERENCES,
    POLICY,
    Outbound,
    OutboundAttachment,
    clean_header,
    compose,
    new_message_id,
)

DATE = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SENDER_NAME = "Acme Tea Co."
SENDER = "support@acme.example"
MESSAGE_ID = "fixed.1@acme.example"
INJECTION = "x\r\nBcc: evil@attacker.example\r\n\r\nInjected body"
# An id of the length Exchange Online writes (80 characters with the brackets).
OUTLOOK_ID = "AM0PR04MB6451E2B4C0C3A1B6A7B2D8C9E8A10@AM0PR04MB6451.eurprd04.prod.outlook.com"

# The headers every composed message has, whatever it carries.
BASE_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "x-helpdesk-kind",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def outbound(**fields: object) -> Outbound:
    """A plain reply to one customer; ``fields`` override any field."""
    values: dict[str, object] = {
        "kind": "reply",
        "to": (("Kim Lee", "kim@example.org"),),
        "subject": "Re: Order 5 [#1]",
        "text": "Hello Kim,\n\nyour order is on its way.\n",
    }
    values.update(fields)
    return Outbound(**values)  # type: ignore[arg-type]


def build(message: Outbound, *, sender_name: str = SENDER_NAME, message_id: str = MESSAGE_ID) -> bytes:
    return compose(message, sender_name=sender_name, sender_email=SENDER, message_id=message_id, date=DATE)


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_names(message: EmailMessage) -> set[str]:
    return {name.lower() for name in message}


def addresses(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    return [(item.display_name, item.addr_spec) for item in message[name].addresses]


def text_of(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    # The parser keeps the CRLF line ends of the wire format.
    return part.get_content().replace("\r\n", "\n")


# -- headers ----------------------------------------------------------------------------------


def test_a_plain_reply_has_exactly_the_basic_headers() -> None:
    parsed = parse(build(outbound()))

    assert header_names(parsed) == BASE_HEADERS
    assert addresses(parsed, "From") == [(SENDER_NAME, SENDER)]
    assert addresses(parsed, "To") == [("Kim Lee", "kim@example.org")]
    assert parsed["Subject"] == "Re: Order 5 [#1]"
    assert parsed["Date"] == format_datetime(DATE)
    assert parsed["Date"].datetime == DATE
    assert parsed["Message-ID"] == f"<{MESSAGE_ID}>"
    assert parsed["X-Helpdesk-Kind"] == "reply"
    assert parsed.get_content_type() == "text/plain"
    assert text_of(parsed) == "Hello Kim,\n\nyour order is on its way.\n"


def test_cc_reply_to_threading_and_ticket_headers() -> None:
    message = outbound(
        cc=(("", "colleague@example.org"), ("Ann Boss", "boss@example.org")),
        reply_to="support+t1-0123456789abcdef@acme.example",
        in_reply_to="c1@mail.example.org",
        references=("c0@mail.example.org", "c1@mail.example.org"),
        ticket_id=1,
    )
    parsed = parse(build(message))

    assert addresses(parsed, "Cc") == [("", "colleague@example.org"), ("Ann Boss", "boss@example.org")]
    assert addresses(parsed, "Reply-To") == [(SENDER_NAME, "support+t1-0123456789abcdef@acme.example")]
    assert parsed["In-Reply-To"] == "<c1@mail.example.org>"
    assert parsed["References"] == "<c0@mail.example.org> <c1@mail.example.org>"
    assert parsed["X-Helpdesk-Ticket"] == "1"


def test_references_keep_only_the_newest_twenty_in_order() -> None:
    chain = tuple(f"r{index}@mail.example.org" for index in range(25))
    parsed = parse(build(outbound(references=("", *chain))))

    kept = re.findall(r"<([^<>]+)>", str(parsed["References"]))
    assert len(kept) == MAX_REFERENCES == 20
    assert kept == list(chain[-20:])


def test_no_threading_headers_without_ids() -> None:
    parsed = parse(build(outbound(in_reply_to=None, references=("",))))
    assert "In-Reply-To" not in parsed
    assert "References" not in parsed


@pytest.mark.parametrize("automatic", [True, False])
def test_auto_submitted_only_on_automatic_mail(automatic: bool) -> None:
    parsed = parse(build(outbound(automatic=automatic)))
    if automatic:
        assert parsed["Auto-Submitted"] == "auto-replied"
        assert parsed["X-Auto-Response-Suppress"] == "All"
    else:
        assert "Auto-Submitted" not in parsed
        assert "X-Auto-Response-Suppress" not in parsed


# -- header injection -------------------------------------------------------------------------


INJECTED_FIELDS = {
    "to name": {"to": ((INJECTION, "kim@example.org"),)},
    "cc name": {"cc": ((INJECTION, "cc@example.org"),)},
    "subject": {"subject": INJECTION},
    "subject with NUL": {"subject": "Order\x00 5\rBcc: evil@attacker.example"},
    "in-reply-to": {"in_reply_to": INJECTION},
    "references": {"references": ("ok@mail.example.org", INJECTION)},
    "reply-to": {"reply_to": "support@acme.example\r\nBcc: evil@attacker.example"},
    "attachment name": {
        "attachments": (OutboundAttachment(INJECTION + ".pdf", "application/pdf", b"%PDF-1.4"),)
    },
}


@pytest.mark.parametrize("fields", INJECTED_FIELDS.values(), ids=INJECTED_FIELDS.keys())
def test_cr_lf_nul_in_a_field_never_make_a_header(fields: dict[str, object]) -> None:
    raw = build(outbound(**fields))
    parsed = parse(raw)

    assert "bcc" not in header_names(parsed)
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)
    assert b"\x00" not in raw
    assert "Injected body" not in text_of(parsed)
    for part in parsed.walk():
        for name, value in part.items():
            assert "\r" not in str(value) and "\n" not in str(value), name
            assert "\x00" not in str(value), name


def test_cr_lf_in_the_sender_name_and_message_id_never_make_a_header() -> None:
    raw = build(outbound(), sender_name=INJECTION, message_id="id@acme.example\r\nBcc: evil@attacker.example")
    parsed = parse(raw)
    assert header_names(parsed) == BASE_HEADERS
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)
    assert "\n" not in str(parsed["From"]) and "\n" not in str(parsed["Message-ID"])


def test_clean_header_makes_one_line_of_single_spaces() -> None:
    assert clean_header("a\r\nb\x00c\td\x7fe  f\n") == "a b c d e f"
    assert clean_header("Zoë 王芳 \U0001f600") == "Zoë 王芳 \U0001f600"


def test_cr_lf_in_a_content_id_never_make_a_header() -> None:
    attachment = OutboundAttachment(
        "logo.png", "image/png", b"\x89PNG", content_id="logo@x\r\nBcc: e@evil.example"
    )
    raw = build(outbound(attachments=(attachment,)))
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)


# -- non-ASCII --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Zoë Martin", "Re: Théière cassée [#7]"),
        ("王芳", "回复\uff1a订单 42 [#8]"),
        ("Kim \U0001f600 Lee", "Re: \U0001f375 tea time \U0001f600 [#9]"),
        ('Ann "The Boss", CEO', 'Re: quotes "and" commas, [#10]'),
    ],
)
def test_non_ascii_names_and_subjects_round_trip(name: str, subject: str) -> None:
    raw = build(outbound(to=((name, "kim@example.org"),), subject=subject, text=f"Hello {name}!\n"))
    parsed = parse(raw)

    assert raw.isascii(), "the SMTP policy must encode everything to 7-bit"
    assert addresses(parsed, "To") == [(name, "kim@example.org")]
    assert parsed["Subject"] == subject
    assert text_of(parsed) == f"Hello {name}!\n"


def test_a_non_ascii_sender_name_round_trips() -> None:
    parsed = parse(build(outbound(), sender_name="Thé Zoë \U0001f375"))
    assert addresses(parsed, "From") == [("Thé Zoë \U0001f375", SENDER)]


def test_a_long_non_ascii_subject_is_folded_into_short_lines() -> None:
    subject = "Re: Bestellung 4711: Die Teekanne ist zerbrochen angekommen, bitte um Rückerstattung [#3]"
    raw = build(outbound(subject=subject))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert parse(raw)["Subject"] == subject


@pytest.mark.parametrize(
    "subject",
    [
        "Re: " + "Théière cassée, 订单 " * 8 + "[#11]",
        "Re: " + "订单问题 " * 40 + "[#12]",
    ],
    ids=["latin-and-chinese", "chinese"],
)
def test_a_long_non_ascii_subject_keeps_every_space(subject: str) -> None:
    assert parse(build(outbound(subject=subject)))["Subject"] == subject


def test_long_message_ids_stay_plain_in_threading_headers() -> None:
    message = outbound(in_reply_to=OUTLOOK_ID, references=("short@mail.example.org", OUTLOOK_ID))
    raw = build(message)
    header_block = raw.split(b"\r\n\r\n", 1)[0]

    assert b"=?" not in header_block
    # The project's own inbound parser reads the ids back, as a customer's client would.
    inbound = parse_message(raw)
    assert inbound.in_reply_to == OUTLOOK_ID
    assert inbound.references == ("short@mail.example.org", OUTLOOK_ID)


# -- bodies and attachments -------------------------------------------------------------------


def test_text_and_html_make_a_multipart_alternative() -> None:
    parsed = parse(build(outbound(html="<p>Hello <b>Zoë</b></p>", text="Hello Zoë\n")))

    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert text_of(parsed) == "Hello Zoë\n"
    assert text_of(parsed, "html") == "<p>Hello <b>Zoë</b></p>\n"


def test_attachments_and_an_inline_image_keep_bytes_names_and_content_id() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    message = outbound(
        html='<p>See <img src="cid:logo.1@acme.example"></p>',
        attachments=(
            OutboundAttachment("Rechnung für Zoë.pdf", "application/pdf", pdf),
            OutboundAttachment("logo.png", "image/png", png, content_id="logo.1@acme.example"),
            OutboundAttachment("data", "", b"\x00\x01"),
        ),
    )
    parsed = parse(build(message))

    assert parsed.get_content_type() == "multipart/mixed"
    assert text_of(parsed, "html").startswith("<p>See")
    files = list(parsed.iter_attachments())
    assert [part.get_filename() for part in files] == ["Rechnung für Zoë.pdf", "logo.png", "data"]
    assert [part.get_content_type() for part in files] == [
        "application/pdf",
        "image/png",
        "application/octet-stream",
    ]
    assert [part.get_content() for part in files] == [pdf, png, b"\x00\x01"]
    assert files[1]["Content-ID"] == "<logo.1@acme.example>"
    assert "Content-ID" not in files[0]


def test_an_attachment_name_is_one_clean_line() -> None:
    attachment = OutboundAttachment("in\r\nvoice\x00.pdf", "application/pdf", b"%PDF")
    [part] = parse(build(outbound(attachments=(attachment,)))).iter_attachments()
    assert part.get_filename() == "in voice .pdf"


# -- recipients and ids -----------------------------------------------------------------------


def test_recipients_are_to_then_cc_once_each_in_lower_case() -> None:
    message = outbound(
        to=(("Kim", "Kim@Example.org"), ("", "ann@example.org")),
        cc=(("", "kim@example.org"), ("", "BOSS@example.org"), ("", "Ann@Example.org")),
    )
    assert message.recipients == ("kim@example.org", "ann@example.org", "boss@example.org")


def test_the_to_header_keeps_the_address_as_given() -> None:
    parsed = parse(build(outbound(to=(("Kim", "Kim@Example.org"),))))
    assert addresses(parsed, "To") == [("Kim", "Kim@Example.org")]


def test_new_message_ids_are_unique_bare_and_on_the_domain() -> None:
    ids = {new_message_id("acme.example") for _ in range(200)}
    assert len(ids) == 200
    for identifier in ids:
        assert identifier.endswith("@acme.example")
        assert "<" not in identifier and ">" not in identifier
    parsed = parse(build(outbound(), message_id=next(iter(ids))))
    assert parsed["Message-ID"] == f"<{next(iter(ids))}>"


def test_compose_is_deterministic_for_the_same_inputs_except_boundaries() -> None:
    message = outbound(html="<p>x</p>")
    first, second = build(message), build(replace(message))
    strip = re.compile(rb"=_helpdesk_[0-9a-f]{24}")
    assert strip.sub(b"B", first) == strip.sub(b"B", second)
    assert first != second  # Each message has boundaries of its own.


def test_no_part_can_contain_the_boundary() -> None:
    """A text that looks like a boundary is quoted-printable in the message: its ``=`` is ``=3D``."""
    first = build(outbound(html="<p>x</p>"))
    boundary = re.search(rb'boundary="(=_helpdesk_[0-9a-f]{24})"', first).group(1).decode()
    lookalike = f"--{boundary}\n--{boundary}--\n"
    raw = build(outbound(text=lookalike, html=f"<p>{lookalike}</p>"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [part.get_content_type() for part in parsed.walk()]
    assert parts == ["multipart/alternative", "text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == lookalike


@settings(max_examples=2000, deadline=None)
@given(
    name=st.sampled_from(
        ["Subject", "To", "From", "Reply-To", "Message-ID", "References", "X-Helpdesk-Kind"]
    ),
    value=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=90),
)
def test_short_plain_headers_are_written_as_compat32_writes_them(name: str, value: str) -> None:
    assert POLICY.fold_binary(name, value) == email.policy.compat32.clone(linesep="\r\n").fold_binary(
        name, value
    )


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?Caf=C3=A9?=",
        "Zoe Martin <zoe@example.org>",
        '"Martin, Zoe" <zoe@example.org>',
        "<a@x> <b@x> <c@x>",
        "Re: Teapot lid [#12]",
        "word " * 20,
        "two  spaces",
        " leading",
        "",
    ],
)
def test_header_values_helpdesk_writes_are_written_as_compat32_writes_them(value: str) -> None:
    assert POLICY.fold_binary("Subject", value) == email.policy.compat32.clone(linesep="\r\n").fold_binary(
        "Subject", value
    )
