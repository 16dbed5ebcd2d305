"""Tests of helpdesk.intake.forwarded: the customer's mail inside the owner's forward.

The fixtures in ``tests/fixtures/forwarded`` are whole messages as the owner's
clients send them to the support address (Gmail plain and HTML-only, in
English, German and French; Outlook desktop, German and the older
``-----Original Message-----`` form; Apple Mail quoted and German;
Thunderbird English and German; a forward as attachment; a forward of a
forward), and mails that are no forward at all. The unit tests below pin down
dates, the stops at quoted history, the Outlook subject rule, and that
nothing raises.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.intake.forwarded import ForwardedMail, find_forwarded
from helpdesk.intake.headers import Address
from helpdesk.intake.message import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forwarded"


def _find(raw: bytes) -> ForwardedMail | None:
    """Parse ``raw`` and look for the forwarded message in it."""
    return find_forwarded(parse_message(raw), raw)


def _fixture(name: str) -> ForwardedMail | None:
    """The forward found in the fixture ``NAME.eml``."""
    return _find((FIXTURES / f"{name}.eml").read_bytes())


def _mail(body: str, subject: str = "Fwd: Order 1042", content_type: str = "text/plain") -> bytes:
    """A message from the owner to support with ``body``, CRLF line ends as on the wire."""
    text = (
        "From: Sam Owner <sam@owner.example>\n"
        "To: support@acme.example\n"
        f"Subject: {subject}\n"
        "Date: Tue, 3 Mar 2026 09:14:05 +0100\n"
        "Message-ID: <fwd-test@owner.example>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: {content_type}; charset="UTF-8"\n'
        "Content-Transfer-Encoding: 8bit\n"
        "\n" + body
    )
    return text.replace("\n", "\r\n").encode("utf-8")


# ---------------------------------------------------------------------------
# Fixtures: one per client format
# ---------------------------------------------------------------------------

# name -> (sender, date, subject, text, note, how)
EXPECTED: dict[str, tuple[Address, datetime | None, str, str, str, str]] = {
    "gmail_plain": (
        Address("Jane Doe", "jane.doe@example.com"),
        None,
        "My vase arrived broken",
        "Hello Sam,\n\nthe vase I ordered last week (order 1042) arrived in pieces.\n"
        "Could you send a new one?\n\nThanks,\nJane",
        "Can you take care of this one? She wrote to my private address.\n\nSam",
        "gmail",
    ),
    "gmail_html": (
        Address("Paul Müller", "paul@kunde.example"),
        None,
        "Question about delivery times",
        "Hi,\n\nhow long does shipping to Austria take?\n\nBest regards,\nPaul",
        "Please answer him, he is a good customer.",
        "gmail",
    ),
    "gmail_de": (
        Address("Jürgen Weiß", "jw@contoso.example"),
        None,
        "Rechnung 2026-031 doppelt",
        "Guten Tag,\n\ndie Rechnung 2026-031 wurde mir zweimal abgebucht.\n"
        "Bitte erstatten Sie den doppelten Betrag.\n\nMit freundlichen Grüßen\nJürgen Weiß",
        "",
        "gmail",
    ),
    "gmail_fr": (
        Address("Claire Martin", "claire.martin@exemple.example"),
        None,
        "Colis non reçu",
        "Bonjour,\n\nje n'ai toujours pas reçu mon colis (commande 1051).\n\nCordialement,\nClaire",
        "Voir ci-dessous.",
        "gmail",
    ),
    "outlook_en": (
        Address("Kim O'Neil", "kim.oneil@contoso.example"),
        None,
        "Refund for order 1077",
        "Hello,\n\nwe returned order 1077 two weeks ago and still have no refund.\n\n"
        "Kind regards\nKim O'Neil\nContoso Ltd.",
        "Customer asking for a refund, see below.",
        "outlook",
    ),
    "outlook_de": (
        Address("Monika Schröder", "m.schroeder@firma.example"),
        None,
        "Falsche Farbe geliefert",
        "Sehr geehrter Herr Owner,\n\nstatt der blauen Vorhänge kamen grüne. Bitte tauschen Sie sie um.\n\n"
        "Mit freundlichen Grüßen\nMonika Schröder",
        "Bitte kümmern.\n\nGrüße\nSam",
        "outlook",
    ),
    "outlook_original_message": (
        Address("Tom Baker", "tom@bakery.example"),
        None,
        "Catalogue request",
        "Hi, could you send me your 2026 catalogue as a PDF?\n\nTom",
        "",
        "outlook",
    ),
    "apple_mail_quoted": (
        Address("Lena Fischer", "lena@fischer.example"),
        datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC),
        "Engraving on the watch",
        'Dear Sam,\n\nthe engraving on my watch reads "Lnea" instead of "Lena".\nCan you fix it?\n\nLena',
        "Important, please reply today.\n\nSam",
        "apple-mail",
    ),
    "apple_mail_de": (
        Address("Thomas Becker", "thomas.becker@web.example"),
        datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC),
        "Termin verschieben",
        "Hallo Sam,\n\nkönnen wir den Termin am Freitag auf Montag verschieben?\n\nGruß\nThomas",
        "",
        "apple-mail",
    ),
    "thunderbird": (
        Address("Bob Smith", "bob.smith@example.org"),
        datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC),
        "Wrong size delivered",
        "Hi,\n\nI ordered the shirt in L but got an M. Can I swap it?\n\nBob",
        "FYI, from my personal inbox.",
        "thunderbird",
    ),
    "thunderbird_de": (
        Address("Erika Mustermann", "erika@beispiel.example"),
        datetime(2026, 3, 2, 7, 15, tzinfo=UTC),
        "Lieferung beschädigt",
        "Hallo,\n\ndas Paket kam beschädigt an, die Tasse ist zerbrochen.\n\nViele Grüße\nErika",
        "",
        "thunderbird",
    ),
    "rfc822_attachment": (
        Address("Ana García", "ana@correo.example"),
        datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC),
        "Damaged frame",
        "Hello,\n\nthe picture frame came with a cracked glass. Photo attached.\n\nAna García",
        "Forwarding as attachment, photos are in there.",
        "rfc822",
    ),
}

NOT_FORWARDS = ("reply_on_wrote", "outlook_reply", "mentions_forward")


def test_every_fixture_is_checked() -> None:
    names = {path.stem for path in FIXTURES.glob("*.eml")}
    assert names == {*EXPECTED, *NOT_FORWARDS, "nested"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    sender, date, subject, text, note, how = EXPECTED[name]
    found = _fixture(name)
    assert found is not None
    assert found.sender == sender
    assert found.date == date
    assert found.subject == subject
    assert found.text == text
    assert found.note == note
    assert found.how == how
    assert found.full_text.startswith(text.split("\n", 1)[0])
    if how != "rfc822":
        assert found.message_id is None


@pytest.mark.parametrize("name", NOT_FORWARDS)
def test_no_forward(name: str) -> None:
    assert _fixture(name) is None


def test_full_text_keeps_the_originals_signature_and_footer() -> None:
    thunderbird = _fixture("thunderbird")
    apple = _fixture("apple_mail_quoted")
    assert thunderbird is not None and apple is not None
    assert thunderbird.full_text.endswith("Bob\n\n-- \nBob Smith\n+44 20 7946 0000")
    assert apple.full_text.endswith("Lena\n\nSent from my iPhone")


def test_attached_message_keeps_its_id_and_quoted_history() -> None:
    found = _fixture("rfc822_attachment")
    assert found is not None
    assert found.message_id == "20260302155503.A1B2C3@correo.example"
    assert found.full_text.endswith(
        "On Sun, 1 Mar 2026 at 10:00, Acme <shop@acme.example> wrote:\n> Your order 1088 has shipped."
    )


def test_the_outermost_forward_counts() -> None:
    found = _fixture("nested")
    assert found is not None
    assert found.sender == Address("Olivia Chen", "olivia@retailer.example")
    assert found.subject == "Fwd: Wholesale inquiry"
    assert found.how == "gmail"
    assert found.text.startswith(
        "Sam, my buyer asked me to pass this on to you.\n\n-------- Forwarded Message"
    )
    assert found.text.endswith("Do you sell wholesale?")


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


def _thunderbird(date: str) -> bytes:
    """A Thunderbird-style forward whose original has ``date``."""
    return _mail(
        "-------- Forwarded Message --------\n"
        "Subject: \tOrder\n"
        f"Date: \t{date}\n"
        "From: \tJane Doe <jane@example.com>\n"
        "To: \tsam@owner.example\n\nHello\n"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 2 Mar 2026 16:55:03 +0100", datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC)),
        ("Mon, 2 Mar 2026 16:55:03 +0100 (CET)", datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC)),
        ("2 Mar 2026 10:00:00 -0500", datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        ("2 March 2026 at 16:55:03 CET", datetime(2026, 3, 2, 15, 55, 3, tzinfo=UTC)),
        ("March 2, 2026 at 4:55:03 PM PST", datetime(2026, 3, 3, 0, 55, 3, tzinfo=UTC)),
        ("Mon, Mar 2, 2026 at 12:05 AM GMT+05:30", datetime(2026, 3, 1, 18, 35, tzinfo=UTC)),
        ("Monday, March 2, 2026 12:30 PM (UTC+01:00)", datetime(2026, 3, 2, 11, 30, tzinfo=UTC)),
        ("2. März 2026 um 16:55:03 MESZ", datetime(2026, 3, 2, 14, 55, 3, tzinfo=UTC)),
        ("mar. 3 mars 2026 à 09:00 UTC+1", datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),
    ],
)
def test_date_with_a_zone(value: str, expected: datetime) -> None:
    found = _find(_thunderbird(value))
    assert found is not None
    assert found.date == expected
    assert found.date.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        # Gmail and Outlook print local time without a zone.
        "Mon, Mar 2, 2026 at 4:55 PM",
        "Monday, March 2, 2026 4:55 PM",
        "Montag, 2. März 2026 16:55",
        "Mo., 2. März 2026 um 16:55 Uhr",
        # "-0000": the zone is unknown (RFC 2822).
        "Mon, 2 Mar 2026 16:55:03 -0000",
        # Unreadable.
        "31 February 2026 10:00 CET",
        "2 March 2026 13:00 PM CET",
        "yesterday at 16:55 CET",
        "2 Mar 2026 16:55 CET CEST",
        "",
    ],
)
def test_date_without_a_zone_or_unreadable_is_none(value: str) -> None:
    found = _find(_thunderbird(value))
    assert found is not None
    assert found.sender == Address("Jane Doe", "jane@example.com")
    assert found.date is None


# ---------------------------------------------------------------------------
# Senders and header blocks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jane Doe <Jane@Example.com>", Address("Jane Doe", "jane@example.com")),
        ('"Doe, Jane" <jane@example.com>', Address("Doe, Jane", "jane@example.com")),
        ("Jane Doe [mailto:jane@example.com]", Address("Jane Doe", "jane@example.com")),
        ("*Jane Doe* <jane@example.com>", Address("Jane Doe", "jane@example.com")),
        ("<jane@example.com>", Address("", "jane@example.com")),
        ("jane@example.com", Address("", "jane@example.com")),
    ],
)
def test_sender_forms(value: str, expected: Address) -> None:
    found = _find(
        _mail(
            f"---------- Forwarded message ---------\nFrom: {value}\nDate: Mon, Mar 2, 2026 at 4:55 PM\n"
            "Subject: Order\nTo: <sam@owner.example>\n\n\nHello\n"
        )
    )
    assert found is not None
    assert found.sender == expected


@pytest.mark.parametrize("value", ["Jane Doe", "Jane Doe <jane>", ""])
def test_no_real_address_is_no_forward(value: str) -> None:
    gmail = _mail(
        f"---------- Forwarded message ---------\nFrom: {value}\nDate: Mon, Mar 2, 2026 at 4:55 PM\n"
        "Subject: Order\nTo: <sam@owner.example>\n\nHello\n"
    )
    outlook = _mail(
        f"________________________________\nFrom: {value}\nSent: Monday, March 2, 2026 4:55 PM\n"
        "To: Sam Owner\nSubject: Order\n\nHello\n",
        subject="FW: Order",
    )
    assert _find(gmail) is None
    assert _find(outlook) is None


def test_marker_without_header_block_is_no_forward() -> None:
    assert (
        _find(_mail("Look:\n\n---------- Forwarded message ---------\n\nHello, my order is late.\n")) is None
    )


def test_long_recipient_list_continues_on_the_next_line() -> None:
    found = _find(
        _mail(
            "Begin forwarded message:\n\nFrom: Jane Doe <jane@example.com>\nSubject: Order\n"
            "Date: 2 March 2026 at 16:55:03 CET\nTo: Sam Owner <sam@owner.example>,\n"
            "Support <support@acme.example>\nCc: Tom <tom@example.com>\n\nHello\n"
        )
    )
    assert found is not None
    assert (found.subject, found.text, found.how) == ("Order", "Hello", "apple-mail")


def test_body_right_below_the_header_block() -> None:
    found = _find(
        _mail(
            "-------- Forwarded Message --------\nSubject: Order\nDate: Mon, 2 Mar 2026 16:55:03 +0100\n"
            "From: Jane Doe <jane@example.com>\nTo: sam@owner.example\nHello, where is my order?\n"
        )
    )
    assert found is not None
    assert found.text == "Hello, where is my order?"


def test_outlook_html_forward() -> None:
    markup = (
        "<html><body><div class=WordSection1><p class=MsoNormal>Please handle.</p>"
        "<p class=MsoNormal>&nbsp;</p><div id=divRplyFwdMsg>"
        "<p class=MsoNormal><b>From:</b> Kim &lt;<a href='mailto:kim@contoso.example'>kim@contoso.example</a>"
        "&gt;<br><b>Sent:</b> Monday, March 2, 2026 4:55 PM<br><b>To:</b> Sam Owner<br>"
        "<b>Subject:</b> Broken lamp</p></div><p class=MsoNormal>&nbsp;</p>"
        "<p class=MsoNormal>Hello,</p><p class=MsoNormal>the lamp is broken.</p></div></body></html>"
    )
    found = _find(_mail(markup, subject="FW: Broken lamp", content_type="text/html"))
    assert found is not None
    assert found.sender == Address("Kim", "kim@contoso.example")
    assert (found.subject, found.text, found.note, found.how) == (
        "Broken lamp",
        "Hello,\nthe lamp is broken.",
        "Please handle.",
        "outlook",
    )


def test_outlook_block_counts_only_in_a_forward() -> None:
    body = (
        "Thanks!\n\nFrom: Kim <kim@contoso.example>\nSent: Monday, March 2, 2026 4:55 PM\n"
        "To: Sam Owner <sam@owner.example>\nSubject: Broken lamp\n\nHello\n"
    )
    for subject in ("FW: Broken lamp", "Fwd: Broken lamp", "WG: Broken lamp", "TR: Broken lamp"):
        found = _find(_mail(body, subject=subject))
        assert found is not None and found.sender.email == "kim@contoso.example", subject
    for subject in ("RE: Broken lamp", "AW: FW: Broken lamp", "Broken lamp"):
        assert _find(_mail(body, subject=subject)) is None, subject


def test_note_loses_signature_and_footer() -> None:
    found = _find(
        _mail(
            "Please look at this.\n\n-- \nSam Owner\nAcme\n\n"
            "---------- Forwarded message ---------\nFrom: Jane <jane@example.com>\n"
            "Date: Mon, Mar 2, 2026 at 4:55 PM\nSubject: Order\nTo: <sam@owner.example>\n\nHello\n"
        )
    )
    assert found is not None
    assert found.note == "Please look at this."
    iphone = _find(
        _mail(
            "Handle it please\n\nSent from my iPhone\n\nBegin forwarded message:\n\n"
            "From: Jane <jane@example.com>\nSubject: Order\nDate: 2 March 2026 at 16:55:03 CET\n"
            "To: Sam <sam@owner.example>\n\nHello\n"
        )
    )
    assert iphone is not None
    assert iphone.note == "Handle it please"


# ---------------------------------------------------------------------------
# Quoted history stops the search
# ---------------------------------------------------------------------------

_GMAIL_FORWARD = (
    "---------- Forwarded message ---------\nFrom: Jane <jane@example.com>\n"
    "Date: Mon, Mar 2, 2026 at 4:55 PM\nSubject: Order\nTo: <sam@owner.example>\n\nHello\n"
)


def test_forward_quoted_below_an_attribution_is_history() -> None:
    quoted = "".join(f"> {line}\n" for line in _GMAIL_FORWARD.splitlines())
    assert _find(_mail(f"Thanks.\n\nJane wrote:\n{quoted}")) is None
    assert (
        _find(_mail(f"Thanks.\n\nOn Mon, 2 Mar 2026 at 17:00, Jane <jane@example.com> wrote:\n{quoted}"))
        is None
    )


def test_forward_below_an_unquoted_dated_attribution_is_history() -> None:
    # What HTML-to-text makes of a reply whose quote is a plain <blockquote>.
    body = f"Thanks.\n\nOn Mon, 2 Mar 2026 at 17:00, Jane Doe <jane@example.com> wrote:\n\n{_GMAIL_FORWARD}"
    assert _find(_mail(body)) is None


def test_forward_below_another_quote_is_history() -> None:
    assert _find(_mail(f"Thanks.\n\n> earlier text\n\n{_GMAIL_FORWARD}")) is None


def test_forward_below_original_message_is_history() -> None:
    body = (
        "Thanks.\n\n-----Original Message-----\nFrom: Bob <bob@example.com>\n"
        f"Sent: Monday, March 2, 2026 4:55 PM\nTo: Jane\nSubject: Order\n\nHi\n\n{_GMAIL_FORWARD}"
    )
    assert _find(_mail(body, subject="Re: Order")) is None


def test_a_note_naming_the_author_does_not_stop_the_search() -> None:
    found = _find(_mail(f"Look what she wrote:\n\n{_GMAIL_FORWARD}"))
    assert found is not None
    assert found.note == "Look what she wrote:"


def test_plain_decorations_do_not_stop_the_search() -> None:
    found = _find(_mail(f"Hi,\n\n__________\nFrom: the shop, urgent.\n\n{_GMAIL_FORWARD}"))
    assert found is not None
    assert found.sender.email == "jane@example.com"


# ---------------------------------------------------------------------------
# Forward as attachment
# ---------------------------------------------------------------------------


def _with_attachment(inner: str, body: str = "See attached.\n") -> bytes:
    """A forward with ``inner`` attached as message/rfc822 below ``body``."""
    text = (
        "From: Sam Owner <sam@owner.example>\nTo: support@acme.example\nSubject: Fwd: Order\n"
        "Date: Tue, 3 Mar 2026 09:14:05 +0100\nMessage-ID: <att-test@owner.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b1"\n\n'
        f'--b1\nContent-Type: text/plain; charset="UTF-8"\n\n{body}\n'
        "--b1\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        f"{inner}\n--b1--\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8")


def test_attached_message_without_message_id() -> None:
    found = _find(_with_attachment("From: Jane <jane@example.com>\nSubject: Order\n\nWhere is it?\n"))
    assert found is not None
    assert (found.sender, found.subject, found.text, found.message_id, found.date, found.note) == (
        Address("Jane", "jane@example.com"),
        "Order",
        "Where is it?",
        None,
        None,
        "See attached.",
    )


def test_attached_message_without_sender_is_no_forward() -> None:
    assert _find(_with_attachment("Subject: Order\n\nWhere is it?\n")) is None
    assert _find(_with_attachment("From: Jane\nSubject: Order\n\nWhere is it?\n")) is None


def test_inline_forward_wins_over_an_attached_message() -> None:
    raw = _with_attachment(
        "From: Bob <bob@example.com>\nSubject: Old order\n\nOld text\n", body=f"Note\n\n{_GMAIL_FORWARD}"
    )
    found = _find(raw)
    assert found is not None
    assert (found.sender.email, found.how) == ("jane@example.com", "gmail")


# ---------------------------------------------------------------------------
# Robustness
# ---------------------------------------------------------------------------

_BASE = parse_message(_mail("Hello\n", subject="FW: Order"))

_FRAGMENTS = st.sampled_from(
    [
        "---------- Forwarded message ---------",
        "-------- Forwarded Message --------",
        "> Begin forwarded message:",
        "Begin forwarded message:",
        "-----Original Message-----",
        "________________________________",
        "From: Jane <jane@example.com>",
        "From: Jane Doe [mailto:jane@",
        "Von: x@y.z",
        "Date: Mon, 2 Mar 2026 16:55:03 +0100",
        "Date: 2 March 2026 at 16:55:03 CET",
        "Sent: Monday, March 2, 2026 4:55 PM",
        "Subject: Order",
        "To: a@b.c,",
        "On Mon, 2 Mar 2026, Jane <jane@example.com> wrote:",
        ">",
        "> Hello",
        "",
        "\u00a0",
        "-- ",
    ]
)
_TEXTS = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=40).map("\n".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), _TEXTS))
def test_any_text_gives_none_or_a_real_sender(text: str) -> None:
    found = find_forwarded(dataclasses.replace(_BASE, full_text=text), b"")
    if found is not None:
        assert "@" in found.sender.email
        assert found.date is None or found.date.tzinfo is UTC


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_raw_bytes_never_raise(junk: bytes) -> None:
    # A message that claims an attached message, with raw bytes that may hold anything.
    message = dataclasses.replace(
        _BASE, attachments=parse_message(_with_attachment("From: a@b.c\n\nx")).attachments
    )
    found = find_forwarded(message, junk)
    assert found is None or "@" in found.sender.email


def test_adversarial_text_stays_fast() -> None:
    # Header-like lines, separators and long lines in bulk. Linear time keeps
    # all of them to well under a second; the bound leaves room for a busy machine.
    started = time.perf_counter()
    for text in (
        "From: a\n" * 50_000,
        ("From: a\n" + "To: b,\n" * 19) * 2_500,
        "__________\nFrom: a\n\n" * 25_000,
        "> Begin forwarded message:\n" * 50_000,
        "x" * 1_000_000,
        "---------- Forwarded message ---------\nFrom: " + "a" * 100_000,
    ):
        assert find_forwarded(dataclasses.replace(_BASE, full_text=text), b"") is None
    assert time.perf_counter() - started < 10
