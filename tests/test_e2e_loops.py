"""End to end: no mail loops with auto-responders, lists and bounces.

The daemon runs cycle by cycle against a real IMAP mailbox (the ``Harness``
of ``tests/test_e2e_outbound.py``). In the auto-responder tests its SMTP
server is ``tests/autoresponder.py`` in a child process: a customer on
holiday whose responder answers every message it gets by putting an
out-of-office reply into the business mailbox. The cycles go on until one
sends nothing (the loop has ended) or a bound is reached (it has not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.policy.actions import AUTOMATIC_LIMIT
from tests.autoresponder import AutoResponder
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, OWNER
from tests.test_e2e_outbound import Harness, bare, parse, text_of

CUSTOMER = "zoe@example.org"
# Far more cycles than any bounded exchange needs.
MAX_CYCLES = 20


def run_until_quiet(harness: Harness, responder: AutoResponder) -> int:
    """Run daemon cycles until one sends nothing; return how many ran.

    The responder answers before it accepts a message, so after a cycle that
    sent nothing no answer can be on its way: the exchange is over.
    """
    for cycle in range(1, MAX_CYCLES + 1):
        before = len(responder.messages)
        harness.cycle()
        if len(responder.messages) == before:
            return cycle
    kinds = Counter(str(delivery.message["X-Helpdesk-Kind"]) for delivery in responder.messages)
    raise AssertionError(f"still sending after {MAX_CYCLES} cycles: {dict(kinds)}")


def acknowledgements(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    """The acknowledgements among ``messages`` that went to ``address``."""
    return [m for m in messages if m["X-Helpdesk-Kind"] == "acknowledge" and address in str(m["To"])]


@pytest.fixture
def responder_harness(
    request, tmp_path: Path, mailbox: ImapMailbox
) -> Iterator[tuple[Harness, AutoResponder]]:
    """The daemon sending to an auto-responder of the style given as the test's parameter."""
    with AutoResponder(mailbox, tmp_path / "responder.jsonl", request.param, [CUSTOMER]) as responder:
        harness = Harness(tmp_path, mailbox, responder)
        try:
            yield harness, responder
        finally:
            harness.close()


def first_mail(harness: Harness) -> None:
    """The customer writes once, then leaves on holiday with the responder on."""
    harness.mailbox.append(
        customer_mail(
            CUSTOMER,
            "Teapot arrived broken",
            "The lid is cracked.",
            name="Zoë Martin",
            message_id="z1@example.org",
        )
    )


@pytest.mark.parametrize("responder_harness", ["polite", "rude"], indirect=True)
def test_threaded_responder_gets_one_acknowledgement(responder_harness) -> None:
    harness, responder = responder_harness
    first_mail(harness)
    cycles = run_until_quiet(harness, responder)

    deliveries = responder.messages
    delivered = [delivery.message for delivery in deliveries]
    [ack] = acknowledgements(delivered, CUSTOMER)
    assert ack["Auto-Submitted"] == "auto-replied"
    # The responder answered the acknowledgement, and nothing else reached it.
    assert [delivery.answered for delivery in deliveries if CUSTOMER in delivery.rcpt_tos] == [True]
    assert all(OWNER in delivery.rcpt_tos for delivery in deliveries if not delivery.answered)
    assert cycles <= 3

    store = harness.helpdesk.store
    assert [ticket.id for ticket in store.tickets()] == [1]
    ticket = store.ticket(1)
    assert ticket is not None and ticket.status == "new"
    inbound = [message for message in store.messages(1) if message.direction == "in"]
    assert inbound[0].message_id == "z1@example.org"
    [away] = inbound[1:]
    assert away.subject.endswith(
        "Out of office" if responder.style == "rude" else f"Out of office: {ack['Subject']}"
    )
    notifications = [m for m in delivered if m["X-Helpdesk-Kind"] == "owner-notification"]
    if responder.style == "polite":
        # Recorded on the ticket as automatic mail; the owner is not bothered with it.
        assert away.automatic is not None and away.automatic.startswith("Auto-Submitted: auto-replied")
        assert len(notifications) == 1
    else:
        # Without markers it is customer mail on the same ticket: the owner
        # sees it, but a ticket is acknowledged once only.
        assert away.automatic is None
        assert len(notifications) == 2
        assert "Subject: Out of office" in text_of(notifications[1])


@pytest.mark.parametrize("responder_harness", ["amnesiac"], indirect=True)
def test_unthreaded_responder_is_stopped_by_the_rate_limit(responder_harness) -> None:
    harness, responder = responder_harness
    first_mail(harness)
    run_until_quiet(harness, responder)

    delivered = [delivery.message for delivery in responder.messages]
    acks = acknowledgements(delivered, CUSTOMER)
    # Every reply opened a new ticket, each acknowledged once, until the
    # address had its share of automatic mail for the hour.
    assert len(acks) == AUTOMATIC_LIMIT
    tickets_acknowledged = Counter(str(ack["X-Helpdesk-Ticket"]) for ack in acks)
    assert set(tickets_acknowledged.values()) == {1}
    store = harness.helpdesk.store
    tickets = list(store.tickets())
    assert len(tickets) == AUTOMATIC_LIMIT + 1
    last = tickets[-1]
    assert last.subject.startswith("Out of office (automatic reply")
    assert not any(str(ack["X-Helpdesk-Ticket"]) == str(last.id) for ack in acks)
    assert any("rate limit" in entry["detail"] for entry in last.history), last.history
    # The owner still hears about every message.
    notifications = [m for m in delivered if m["X-Helpdesk-Kind"] == "owner-notification"]
    assert len(notifications) == AUTOMATIC_LIMIT + 1

    # An hour later the address may be acknowledged again, within the limit.
    harness.clock.advance(hours=1, minutes=1)
    harness.mailbox.append(
        customer_mail(CUSTOMER, "Also: the spout", "And the spout leaks.", name="Zoë Martin")
    )
    run_until_quiet(harness, responder)
    later = acknowledgements([delivery.message for delivery in responder.messages], CUSTOMER)
    assert len(later) == 2 * AUTOMATIC_LIMIT


# ---------------------------------------------------------------------------
# Lists and bounces


def delivery_status_notification(
    message_id: str,
    failed_recipient: str,
    original_message_id: str,
    original_subject: str,
    *,
    references: bool,
) -> bytes:
    """A bounce as an MTA writes it (RFC 3464): multipart/report, report-type=delivery-status.

    The original message's headers are in a ``text/rfc822-headers`` part; with
    ``references`` the bounce also cites the original in In-Reply-To and
    References, as some MTAs (Gmail, Exchange) do.
    """
    threading = (
        f"In-Reply-To: <{original_message_id}>\r\nReferences: <{original_message_id}>\r\n"
        if references
        else ""
    )
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {BUSINESS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 03 Mar 2026 10:00:05 +0000\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"{threading}"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"\r\n'
        "\r\n"
        "This is a MIME-encapsulated message.\r\n"
        "\r\n"
        "--dsn-boundary\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        f"<{failed_recipient}>: host mx.example.org said: 550 5.1.1 user unknown\r\n"
        "\r\n"
        "--dsn-boundary\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n"
        "Arrival-Date: Tue,  3 Mar 2026 10:00:04 +0000 (UTC)\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {failed_recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n"
        "--dsn-boundary\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"From: Acme Tea Co. <{BUSINESS}>\r\n"
        f"To: {failed_recipient}\r\n"
        f"Subject: {original_subject}\r\n"
        f"Message-ID: <{original_message_id}>\r\n"
        "\r\n"
        "--dsn-boundary--\r\n"
    ).encode("ascii")


@pytest.fixture
def harness(tmp_path: Path, mailbox: ImapMailbox, smtp_sink: SmtpSink) -> Iterator[Harness]:
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def test_list_and_bounce_mail_get_no_acknowledgement(harness: Harness) -> None:
    first_mail(harness)
    harness.cycle()
    [ack] = harness.to(CUSTOMER)
    ack_id = bare(ack["Message-ID"])
    sent_before = len(harness.sink.messages)

    automatic = [
        customer_mail(
            "news@lists.example.net",
            "Tea lovers digest, issue 12",
            "This week: oolong.",
            headers={"List-Id": "Tea lovers <tea.lists.example.net>", "List-Unsubscribe": "<mailto:leave@x>"},
        ),
        customer_mail(
            "club@members.example", "Meeting on Friday", "See you.", headers={"Precedence": "list"}
        ),
        customer_mail(
            "offers@shop.example", "50% off everything", "Today only.", headers={"Precedence": "bulk"}
        ),
        # A bounce of a message we never sent.
        delivery_status_notification(
            "bounce-1@mx.example.org",
            "nobody@example.org",
            "other@elsewhere.example",
            "Hello",
            references=False,
        ),
        # A bounce of our acknowledgement that cites it.
        delivery_status_notification(
            "bounce-2@mx.example.org", CUSTOMER, ack_id, str(ack["Subject"]), references=True
        ),
    ]
    harness.mailbox.append_many(automatic)
    harness.cycle()

    # Nothing went to any of their senders; only the owner hears of the bounce
    # of the acknowledgement.
    [notice] = [parse(mail.data) for mail in harness.sink.messages[sent_before:]]
    assert [address.addr_spec for address in notice["To"].addresses] == [OWNER]
    assert notice["X-Helpdesk-Kind"] == "delivery-failure" and notice["X-Helpdesk-Ticket"] == "1"
    assert "bounce" in text_of(notice)
    store = harness.helpdesk.store
    assert [ticket.id for ticket in store.tickets()] == [1]
    reasons = [entry["reason"] for entry in store.skipped]
    assert len(reasons) == 4
    assert reasons[0].startswith("List-Id: Tea lovers")
    assert reasons[1:3] == ["Precedence: list", "Precedence: bulk"]
    assert reasons[3] == "bounce (delivery-status report)"

    # The bounce of our acknowledgement is recorded on its ticket, which keeps its status.
    ticket = store.ticket(1)
    assert ticket is not None and ticket.status == "new"
    assert [entry["detail"] for entry in ticket.history if entry["event"] == "bounce"] == [
        "bounce (delivery-status report)"
    ]
    bounce = store.messages(1)[-1]
    assert bounce.message_id == "bounce-2@mx.example.org"
    assert bounce.direction == "in" and bounce.automatic == "bounce (delivery-status report)"


def test_bounce_without_threading_headers_is_recorded_on_its_ticket(harness: Harness) -> None:
    """Postfix and Exim cite the bounced message only in its returned headers."""
    first_mail(harness)
    harness.cycle()
    [ack] = harness.to(CUSTOMER)
    harness.mailbox.append(
        delivery_status_notification(
            "bounce-3@mx.example.org",
            CUSTOMER,
            bare(ack["Message-ID"]),
            str(ack["Subject"]),
            references=False,
        )
    )
    harness.cycle()
    store = harness.helpdesk.store
    assert store.skipped == []
    bounce = store.messages(1)[-1]
    assert bounce.message_id == "bounce-3@mx.example.org"
    assert bounce.automatic == "bounce (delivery-status report)"
    ticket = store.ticket(1)
    assert ticket is not None and ticket.status == "new"
    assert [entry["event"] for entry in ticket.history].count("bounce") == 1
    # The customer gets nothing more; the owner is told of the bounce.
    new = [parse(mail.data) for mail in harness.sink.messages[2:]]
    assert [str(message["X-Helpdesk-Kind"]) for message in new] == ["delivery-failure"]


def test_our_own_mail_coming_back_is_not_answered(harness: Harness) -> None:
    """Mail from the business address (a forwarding loop) is set aside, never answered."""
    first_mail(harness)
    harness.cycle()
    harness.mailbox.append(customer_mail(BUSINESS, "Re: Teapot arrived broken [#1]", "Our own mail, back."))
    harness.cycle()
    assert len(harness.sink.messages) == 2
    [entry] = harness.helpdesk.quarantine.entries()
    assert "our own address" in entry.reason
