# Customer text in other languages uses its own punctuation.
# ruff: noqa: RUF001
"""Tests of the generated customer mail that the end-to-end tests and the benchmark rely on."""

from __future__ import annotations

import base64
import collections
import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import mailparser
import pytest

from tests.corpus import GeneratedMail, customer_mail, generate_corpus

CORPUS_SIZE = 900


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedMail]:
    """A corpus shared by the read-only tests of this module."""
    return generate_corpus(CORPUS_SIZE, seed=11)


def parse(raw: bytes) -> EmailMessage:
    """Parse ``raw`` with the stdlib parser and the modern policy."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def ids(value: object) -> list[str]:
    """Return the message ids in a header value, without angle brackets."""
    return re.findall(r"<([^<>\s]+)>", str(value or ""))


def content(message: EmailMessage, subtype: str) -> str | None:
    """Return the decoded text body of ``subtype``, with LF line ends, or None if absent.

    The stdlib parser keeps the CRLF line ends of the raw mail in decoded bodies.
    """
    body = message.get_body(preferencelist=(subtype,))
    return None if body is None else body.get_content().replace("\r\n", "\n")


def plain_text(message: EmailMessage) -> str | None:
    """Return the decoded text/plain body of ``message``, or None when it has none."""
    return content(message, "plain")


def all_defects(message: EmailMessage) -> list[str]:
    """Return the names of every defect the stdlib parser noted, in headers and parts."""
    found = []
    for part in message.walk():
        found += [type(defect).__name__ for defect in part.defects]
        for _, value in part.items():
            found += [type(defect).__name__ for defect in value.defects]
    return found


# ---------------------------------------------------------------------------------------------
# generate_corpus
# ---------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes() -> None:
    first = generate_corpus(150, seed=3)
    again = generate_corpus(150, seed=3)
    other = generate_corpus(150, seed=4)
    assert [m.raw for m in first] == [m.raw for m in again]
    assert first == again
    assert [m.raw for m in first] != [m.raw for m in other]


def test_count_and_trivial_arguments() -> None:
    assert generate_corpus(0) == []
    single = generate_corpus(1, reply_ratio=1.0)
    assert len(single) == 1
    assert not single[0].is_reply
    with pytest.raises(ValueError):
        generate_corpus(10, reply_ratio=1.5)
    with pytest.raises(ValueError):
        generate_corpus(10, attachment_ratio=-0.1)
    with pytest.raises(ValueError):
        generate_corpus(-1)


def test_messages_are_crlf_seven_bit_mail(corpus: list[GeneratedMail]) -> None:
    for mail in corpus:
        assert mail.raw.isascii(), mail.message_id
        assert mail.raw.count(b"\n") == mail.raw.count(b"\r\n"), mail.message_id
        assert max(len(line) for line in mail.raw.split(b"\r\n")) <= 998
        header_block = mail.raw.split(b"\r\n\r\n", 1)[0]
        assert b"\r\n\r\n" in mail.raw
        assert header_block.startswith(b"Return-Path: ")


def test_every_message_parses_with_the_stdlib(corpus: list[GeneratedMail]) -> None:
    for mail in corpus:
        message = parse(mail.raw)
        assert all_defects(message) == [], mail.message_id
        assert ids(message["Message-ID"]) == [mail.message_id]
        assert message["From"].addresses[0].addr_spec == mail.sender
        assert mail.sender == mail.sender.lower()
        assert message["Subject"] == mail.subject
        assert message["To"].addresses[0].addr_spec == "support@acme.example"
        body = message.get_body(preferencelist=("plain", "html"))
        assert body is not None
        assert body.get_content().strip()
        if mail.is_reply:
            assert ids(message["In-Reply-To"])
            assert ids(message["References"])
        else:
            assert message["In-Reply-To"] is None
            assert message["References"] is None


def test_every_message_parses_with_mail_parser(corpus: list[GeneratedMail]) -> None:
    for mail in corpus:
        parsed = mailparser.parse_from_bytes(mail.raw)
        stdlib = parse(mail.raw)
        assert not parsed.has_defects, (mail.message_id, parsed.defects)
        assert ids(parsed.message_id) == [mail.message_id]
        assert parsed.subject == mail.subject
        assert parsed.from_[0][1] == mail.sender
        assert ids(parsed.in_reply_to) == ids(stdlib["In-Reply-To"])
        assert ids(parsed.references) == ids(stdlib["References"])
        assert parsed.text_plain or parsed.text_html
        assert len(parsed.attachments) == len(list(stdlib.iter_attachments()))


def test_message_ids_are_unique_and_on_the_customer_domain(
        corpus: list[GeneratedMail]) -> None:
    assert len({mail.message_id for mail in corpus}) == len(corpus)
    for mail in corpus:
        domain = mail.sender.rpartition("@")[2]
        assert mail.message_id.endswith(f"@mail.{domain}")
        assert "<" not in mail.message_id
        assert ">" not in mail.message_id


def test_dates_increase(corpus: list[GeneratedMail]) -> None:
    dates = [parsedate_to_datetime(str(parse(mail.raw)["Date"])) for mail in corpus]
    assert all(date.tzinfo is not None for date in dates)
    assert all(earlier < later for earlier, later in itertools.pairwise(dates))
    assert dates[0] == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    # Customers write from several time zones.
    assert len({date.utcoffset() for date in dates}) > 2


def test_start_moves_the_dates() -> None:
    start = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    mails = generate_corpus(5, start=start)
    assert parsedate_to_datetime(str(parse(mails[0].raw)["Date"])) == start


def test_reply_ratio(corpus: list[GeneratedMail]) -> None:
    replies = sum(mail.is_reply for mail in corpus)
    assert abs(replies / len(corpus) - 0.2) <= 0.02
    assert not any(m.is_reply for m in generate_corpus(200, reply_ratio=0.0))
    half = generate_corpus(200, reply_ratio=0.5)
    assert abs(sum(m.is_reply for m in half) - 100) <= 4


def test_replies_continue_an_earlier_thread_of_the_same_customer(
        corpus: list[GeneratedMail]) -> None:
    threads: dict[int, list[GeneratedMail]] = {}
    for mail in corpus:
        earlier = threads.setdefault(mail.thread_key, [])
        if not mail.is_reply:
            assert earlier == [], "a thread opened twice"
            earlier.append(mail)
            continue
        assert earlier, "a reply before its thread was opened"
        message = parse(mail.raw)
        assert mail.sender == earlier[0].sender
        assert mail.subject == f"Re: {earlier[0].subject}"
        assert ids(message["In-Reply-To"]) == [earlier[-1].message_id]
        assert ids(message["References"]) == [m.message_id for m in earlier]
        earlier.append(mail)
    assert any(len(thread) >= 3 for thread in threads.values())


def test_replies_quote_the_previous_message(corpus: list[GeneratedMail]) -> None:
    by_id = {mail.message_id: mail for mail in corpus}
    checked = 0
    for mail in corpus:
        if not mail.is_reply:
            continue
        message = parse(mail.raw)
        text = plain_text(message)
        assert text is not None, "a reply without a text part"
        lines = text.rstrip("\n").split("\n")
        # The quoted history is the tail of the text: an attribution line, then "> " lines.
        first_quoted = next(i for i, line in enumerate(lines) if line.startswith(">"))
        attribution = lines[first_quoted - 1]
        assert mail.sender in attribution
        assert all(line.startswith(">") for line in lines[first_quoted:])
        assert lines[:first_quoted - 1], "no new text above the quote"
        previous = parse(by_id[ids(message["In-Reply-To"])[0]].raw)
        previous_text = plain_text(previous)
        if previous_text is not None:
            expected = [f"> {line}" if line else ">"
                        for line in previous_text.rstrip("\n").split("\n")]
            assert lines[first_quoted:] == expected
            checked += 1
        html = content(message, "html")
        if html is not None:
            assert 'class="gmail_quote"' in html
            assert "<blockquote" in html
    assert checked > 50


def test_new_threads_have_distinct_subjects_per_sender(corpus: list[GeneratedMail]) -> None:
    seen: set[tuple[str, str]] = set()
    for mail in corpus:
        if not mail.is_reply:
            key = (mail.sender, mail.subject.lower())
            assert key not in seen, key
            seen.add(key)
    with_order = sum(bool(re.search(r"\d{6}", subject)) for _, subject in seen)
    assert with_order / len(seen) > 0.75


def test_format_mix() -> None:
    messages = [parse(mail.raw) for mail in generate_corpus(1800, seed=5)]
    kinds = collections.Counter(message.get_content_type() for message in messages)
    expected = {"text/plain": 0.4, "multipart/alternative": 0.3, "text/html": 0.2,
                "multipart/mixed": 0.1}
    assert set(kinds) == set(expected)
    for kind, share in expected.items():
        assert abs(kinds[kind] / len(messages) - share) <= 0.03, (kind, kinds)
    # Attachments come with every body format.
    inside_mixed = {message.get_payload()[0].get_content_type() for message in messages
                    if message.get_content_type() == "multipart/mixed"}
    assert inside_mixed == {"text/plain", "multipart/alternative", "text/html"}


def test_attachment_ratio_and_shape(corpus: list[GeneratedMail]) -> None:
    magic = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n",
             "image/jpeg": b"\xff\xd8\xff"}
    attached = 0
    for mail in corpus:
        message = parse(mail.raw)
        for part in message.iter_attachments():
            attached += 1
            assert part.get_content_type() in magic
            assert part["Content-Transfer-Encoding"] == "base64"
            assert part.get_filename()
            encoded = part.get_payload(decode=False)
            assert 2000 <= len(encoded) <= 20500
            payload = part.get_content()
            assert payload.startswith(magic[part.get_content_type()])
            assert payload == base64.b64decode(encoded)
    assert attached == round(CORPUS_SIZE * 0.1)
    none = generate_corpus(100, attachment_ratio=0.0)
    assert not any(list(parse(m.raw).iter_attachments()) for m in none)


def test_average_size_is_about_three_kilobytes(corpus: list[GeneratedMail]) -> None:
    average = sum(len(mail.raw) for mail in corpus) / len(corpus)
    assert 2048 <= average <= 4096


def test_customers_and_domains_follow_the_arguments() -> None:
    mails = generate_corpus(300, seed=2, domain_count=5, customer_count=20,
                            business="help@shop.example")
    assert len({mail.sender for mail in mails}) <= 20
    assert len({mail.sender.rpartition("@")[2] for mail in mails}) <= 5
    for mail in mails[:20]:
        assert parse(mail.raw)["To"].addresses[0].addr_spec == "help@shop.example"
    default = generate_corpus(600, seed=2)
    senders = collections.Counter(mail.sender for mail in default)
    # Some customers write repeatedly, most only once or twice.
    assert 100 <= len(senders) <= 200
    assert senders.most_common(1)[0][1] >= 4


def test_non_ascii_headers_round_trip(corpus: list[GeneratedMail]) -> None:
    non_ascii_subjects = non_ascii_names = cjk_names = 0
    for mail in corpus:
        message = parse(mail.raw)
        parsed = mailparser.parse_from_bytes(mail.raw)
        name = message["From"].addresses[0].display_name
        assert parsed.from_[0][0] == name
        assert message["Subject"] == parsed.subject == mail.subject
        non_ascii_subjects += not mail.subject.isascii()
        non_ascii_names += not name.isascii()
        cjk_names += bool(re.search("[\u4e00-\u9fff]", name))
    assert non_ascii_subjects > 20
    assert non_ascii_names > 50
    assert cjk_names > 5


def test_bodies_are_in_several_languages(corpus: list[GeneratedMail]) -> None:
    markers = {"en": "order", "de": "Bestellung", "fr": "commande", "es": "pedido",
               "zh": "订单"}
    texts = []
    for mail in corpus:
        message = parse(mail.raw)
        body = message.get_body(preferencelist=("plain", "html"))
        assert body is not None
        texts.append(body.get_content())
    for language, word in markers.items():
        assert sum(word in text for text in texts) > 10, language


# ---------------------------------------------------------------------------------------------
# customer_mail
# ---------------------------------------------------------------------------------------------

WHEN = datetime(2026, 3, 3, 14, 5, tzinfo=timezone(timedelta(hours=1)))


def test_customer_mail_plain() -> None:
    raw = customer_mail("jane@example.test", "Where is my order?", "Hi,\n\nstill waiting.\n",
                        name="Jane Doe", message_id="one@mail.example.test", date=WHEN)
    assert raw.isascii()
    assert raw.count(b"\n") == raw.count(b"\r\n")
    message = parse(raw)
    assert all_defects(message) == []
    assert message.get_content_type() == "text/plain"
    assert str(message["From"]) == "Jane Doe <jane@example.test>"
    assert str(message["To"]) == "support@acme.example"
    assert message["Message-ID"] == "<one@mail.example.test>"
    assert parsedate_to_datetime(str(message["Date"])) == WHEN
    assert plain_text(message) == "Hi,\n\nstill waiting.\n"
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_customer_mail_defaults_make_unique_ids_and_current_dates() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    first = parse(customer_mail("a@b.example", "s", "x"))
    second = parse(customer_mail("a@b.example", "s", "x"))
    assert first["Message-ID"] != second["Message-ID"]
    assert ids(first["Message-ID"])[0].endswith("@mail.b.example")
    assert parsedate_to_datetime(str(first["Date"])) >= before
    naive = parse(customer_mail("a@b.example", "s", "x", date=datetime(2026, 1, 2, 3, 4)))
    assert parsedate_to_datetime(str(naive["Date"])) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_customer_mail_alternative_and_html_only() -> None:
    both = parse(customer_mail("a@b.example", "s", "plain words\n", html="<p>html words</p>\n"))
    assert both.get_content_type() == "multipart/alternative"
    assert plain_text(both) == "plain words\n"
    assert content(both, "html") == "<p>html words</p>\n"
    only = parse(customer_mail("a@b.example", "s", "", html="<p>only html</p>\n"))
    assert only.get_content_type() == "text/html"
    assert content(only, "html") == "<p>only html</p>\n"


def test_customer_mail_threading_headers() -> None:
    raw = customer_mail("a@b.example", "Re: s", "more", in_reply_to="two@x.example",
                        references=["<one@x.example>", "two@x.example"])
    message = parse(raw)
    assert message["In-Reply-To"] == "<two@x.example>"
    assert ids(message["References"]) == ["one@x.example", "two@x.example"]
    parsed = mailparser.parse_from_bytes(raw)
    assert ids(parsed.in_reply_to) == ["two@x.example"]
    assert ids(parsed.references) == ["one@x.example", "two@x.example"]


def test_customer_mail_non_ascii_round_trip() -> None:
    for name, subject, body in (
        ("Zoë Müller", "Rücksendung – Bestellung #1042", "Grüße aus Köln\n"),
        ("王芳", "订单没有收到", "您好，包裹还没有到。\n"),
        ("José Ibáñez", "¿Dónde está mi pedido?", "Hola\n"),
    ):
        raw = customer_mail("x@example.test", subject, body, name=name,
                            html=f"<p>{body}</p>\n")
        assert raw.isascii()
        message = parse(raw)
        assert all_defects(message) == []
        assert message["From"].addresses[0].display_name == name
        assert message["Subject"] == subject
        assert plain_text(message) == body
        parsed = mailparser.parse_from_bytes(raw)
        assert parsed.from_ == [(name, "x@example.test")]
        assert parsed.subject == subject
        assert [text.replace("\r\n", "\n") for text in parsed.text_plain] == [body]


def test_customer_mail_attachments_and_extra_headers() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    raw = customer_mail(
        "a@b.example", "Out of office", "I am away.\n",
        headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk", "Date": "not a date"},
        attachments=[("Rechnung März.pdf", "application/pdf", pdf),
                     ("notes.txt", "text/plain", b"plain notes\n")])
    message = parse(raw)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Precedence"] == "bulk"
    assert b"\r\nDate: not a date\r\n" in raw
    assert len(message.get_all("Date")) == 1
    assert message.get_content_type() == "multipart/mixed"
    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["Rechnung März.pdf", "notes.txt"]
    assert attachments[0].get_content() == pdf
    parsed = mailparser.parse_from_bytes(raw)
    assert [a["filename"] for a in parsed.attachments] == ["Rechnung März.pdf", "notes.txt"]


def test_customer_mail_is_a_function_of_its_arguments() -> None:
    arguments = {"html": "<p>x</p>", "message_id": "fixed@b.example", "date": WHEN,
                 "attachments": [("a.png", "image/png", b"\x89PNG\r\n\x1a\n")]}
    assert customer_mail("a@b.example", "s", "x", **arguments) == \
        customer_mail("a@b.example", "s", "x", **arguments)


def _view(raw: bytes) -> dict[str, object]:
    """Return what a reader of ``raw`` sees: decoded headers, bodies and attachments."""
    message = parse(raw)
    return {
        "from": [(a.display_name, a.addr_spec) for a in message["From"].addresses],
        "to": [a.addr_spec for a in message["To"].addresses],
        "subject": str(message["Subject"]),
        "date": parsedate_to_datetime(str(message["Date"])),
        "message_id": ids(message["Message-ID"]),
        "in_reply_to": ids(message["In-Reply-To"]),
        "references": ids(message["References"]),
        "type": message.get_content_type(),
        "plain": plain_text(message),
        "html": content(message, "html"),
        "attachments": [(p.get_filename(), p.get_content_type(), p.get_content())
                        for p in message.iter_attachments()],
    }


def _rebuild(raw: bytes) -> bytes:
    """Write the message that ``raw`` holds again, with ``customer_mail``."""
    message = parse(raw)
    [sender] = message["From"].addresses
    in_reply_to = ids(message["In-Reply-To"])
    return customer_mail(
        sender.addr_spec, str(message["Subject"]), plain_text(message) or "",
        name=sender.display_name,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=ids(message["References"]),
        message_id=ids(message["Message-ID"])[0],
        date=parsedate_to_datetime(str(message["Date"])),
        html=content(message, "html"),
        attachments=[(str(part.get_filename()), part.get_content_type(), part.get_content())
                     for part in message.iter_attachments()])


def test_corpus_reads_the_same_as_customer_mail(corpus: list[GeneratedMail]) -> None:
    """The fast corpus writer and the EmailMessage writer must agree for every shape."""
    shapes: set[tuple[str, bool]] = set()
    for index, mail in enumerate(corpus):
        shape = (parse(mail.raw).get_content_type(), mail.is_reply)
        if shape in shapes and index % 20:
            continue
        shapes.add(shape)
        assert _view(_rebuild(mail.raw)) == _view(mail.raw), mail.message_id
    assert len(shapes) == 7
