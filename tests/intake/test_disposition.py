"""Unit tests of ``helpdesk.intake.disposition``: ``parse --json`` for every input."""

from __future__ import annotations

import pytest

from helpdesk.intake.disposition import NO_SENDER, read_for_parse
from tests.corpus import customer_mail
from tests.malformed import malformed_messages

# The keys DESIGN.md promises in every ``parse --json`` document.
CONTRACT = (
    "message_id", "in_reply_to", "references", "from", "to", "subject", "date", "text", "full_text",
    "attachments", "auto_submitted", "is_bounce", "disposition", "reason",
)  # fmt: skip


def test_customer_mail_makes_a_ticket() -> None:
    document = read_for_parse(customer_mail("zoe@example.org", "Teapot", "The lid is cracked."))
    assert set(CONTRACT) <= set(document)
    assert document["disposition"] == "ticket" and "opens a ticket" in document["reason"]
    assert document["text"] == "The lid is cracked."


def test_automatic_mail_is_skipped_with_its_reason() -> None:
    raw = customer_mail(
        "zoe@example.org", "Out of office", "Back Monday.", headers={"Auto-Submitted": "auto-replied"}
    )
    document = read_for_parse(raw)
    assert document["disposition"] == "skip" and document["auto_submitted"] is True
    assert document["reason"].startswith(document["automatic_reason"])


def test_mail_without_a_sender_is_quarantined_as_the_daemon_does() -> None:
    raw = b"To: support@acme.example\r\nSubject: Who am I?\r\nMessage-ID: <x1@example.org>\r\n\r\nHello\r\n"
    document = read_for_parse(raw)
    assert (document["disposition"], document["reason"]) == ("quarantine", NO_SENDER)
    assert document["subject"] == "Who am I?" and document["message_id"] == "x1@example.org"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"just some text, no headers at all\n", "not an e-mail message"),
    ],
)
def test_what_is_not_mail_is_quarantined_with_every_field_present(raw: bytes, reason: str) -> None:
    document = read_for_parse(raw)
    assert set(CONTRACT) <= set(document)
    assert document["disposition"] == "quarantine" and reason in document["reason"]
    assert document["from"] is None and document["text"] == "" and document["references"] == []


def test_a_rejected_message_still_shows_what_its_headers_say() -> None:
    # No sender and no body: parse_message refuses it; the raw headers are read leniently.
    raw = (
        b"To: =?utf-8?q?Acme_Caf=C3=A9?= <Support@acme.example>\r\n"
        b"Subject: =?utf-8?q?Caf=C3=A9_order?=\r\nReferences: <a@x> <b@x>\r\n\r\n"
    )
    document = read_for_parse(raw)
    assert document["disposition"] == "quarantine" and "sender" in document["reason"]
    assert document["to"] == [{"name": "Acme Café", "email": "support@acme.example"}]
    assert document["subject"] == "Café order" and document["references"] == ["a@x", "b@x"]


@pytest.mark.parametrize("name", sorted(malformed_messages()))
def test_every_malformed_message_gets_a_decision(name: str) -> None:
    document = read_for_parse(malformed_messages()[name])
    assert set(CONTRACT) <= set(document)
    assert document["disposition"] in ("ticket", "skip", "quarantine") and document["reason"]
