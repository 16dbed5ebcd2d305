"""End to end: the owner's mailbox as a complete console.

Real IMAP server (Dovecot in CI) and SMTP sink, the shipped rules and
templates, an injected clock. The owner writes to the command address
(``#list``, ``#find``, ``#show``, ``#customer``, ``#invoices``, ``#digest``,
``#help``), starts conversations with ``#new``, answers with saved replies
(``#use``), records promises (``#due``, ``#done``) and complaint causes
(``#cause``); forged command mail is refused; forwarded customer mail opens
a ticket for the original sender. What the daemon sends is read back from
the sink, what it records from the store.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.intake.forwarded import find_forwarded
from helpdesk.intake.message import parse_message
from helpdesk.intake.threads import base_subject
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, OWNER
from tests.intake.test_forwarded import EXPECTED as FORWARDS
from tests.intake.test_forwarded import NOT_FORWARDS
from tests.test_e2e_outbound import Harness, bare, html_of, owner_reply, parse, text_of

ZOE = "zoe@example.org"
KIM = "kim@example.org"
ANN = "ann@example.org"
FORWARD_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "forwarded"


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def of_kind(harness: Harness, address: str, kind: str) -> list[EmailMessage]:
    return [message for message in harness.to(address) if message["X-Helpdesk-Kind"] == kind]


def command_mail(
    harness: Harness, text: str, *, sender: str = OWNER, to: str | None = None, **headers: str
) -> bytes:
    """A mail from the owner's client to the command address, with a signature."""
    address = to or harness.helpdesk.tokens.console_address()
    body = f"{text}\n\n-- \nSam Owner\nAcme Tea Co.\n"
    return customer_mail(sender, "Commands", body, name="Sam Owner", to=address, headers=headers)


def ask(harness: Harness, text: str) -> EmailMessage:
    """Send ``text`` to the command address and return the answer."""
    before = len(of_kind(harness, OWNER, "console-answer"))
    harness.mailbox.append(command_mail(harness, text))
    harness.cycle()
    answers = of_kind(harness, OWNER, "console-answer")
    assert len(answers) == before + 1, "one answer per mail"
    return answers[-1]


def digest_text(harness: Harness) -> str:
    """The text of a digest sent now (by the harness's clock)."""
    assert harness.helpdesk.send_digest(f"digest:test:{len(harness.delivered())}")
    harness.helpdesk.send_outbox()
    return text_of(of_kind(harness, OWNER, "digest")[-1])


def three_customers(harness: Harness) -> dict[str, EmailMessage]:
    """Zoë, Kim and Ann write; the owner answers Kim. Their notifications, by address."""
    notifications = {}
    for sender, subject, text in (
        (ZOE, "Teapot lid cracked", "The lid of my teapot arrived cracked."),
        (KIM, "Order 5", "Where is my order?"),
        (ANN, "Invoice copy", "Could you send me a copy of my invoice?"),
    ):
        harness.mailbox.append(customer_mail(sender, subject, text))
        harness.cycle()
        notifications[sender] = of_kind(harness, OWNER, "owner-notification")[-1]
        harness.clock.advance(minutes=5)
    harness.mailbox.append(owner_reply(notifications[KIM], "It left us this morning."))
    harness.cycle()
    return notifications


def test_notifications_and_the_digest_carry_the_command_address(harness: Harness) -> None:
    notifications = three_customers(harness)
    address = harness.helpdesk.tokens.console_address()
    assert address.startswith("support+o-") and address.endswith("@acme.example")
    assert address in text_of(notifications[ZOE]) and address in html_of(notifications[ZOE])
    assert "#use NAME" in text_of(notifications[ZOE]) and "delivery-times" in text_of(notifications[ZOE])
    assert harness.helpdesk.send_digest("digest:test")
    harness.helpdesk.send_outbox()
    [digest] = of_kind(harness, OWNER, "digest")
    assert address in text_of(digest) and address in html_of(digest)
    assert digest["Reply-To"].addresses[0].addr_spec == address


def test_list_find_and_show_answer_with_each_tickets_reply_address(harness: Harness) -> None:
    three_customers(harness)
    tokens = harness.helpdesk.tokens

    mine = ask(harness, "#list mine")
    text = text_of(mine)
    assert "Waiting for your answer" in text and "2 tickets" in text
    assert "#1 Teapot lid cracked" in text and "#3 Invoice copy" in text and "Order 5" not in text
    assert text.index("#1 Teapot") < text.index("#3 Invoice"), "longest waiting first"
    assert f"To answer, write to: {tokens.address(1, 'owner')}" in text
    assert f"mailto:{tokens.address(3, 'owner')}" in html_of(mine)
    assert mine["Reply-To"].addresses[0].addr_spec == tokens.console_address()

    every = text_of(ask(harness, "#list open"))
    assert "Open tickets (not closed)" in every and "3 tickets" in every and "#2 Order 5" in every

    pending = text_of(ask(harness, "#list pending\n#list new"))
    assert "Waiting on the customer" in pending and "#2 Order 5" in pending
    assert "New tickets, not answered yet" in pending

    found = text_of(ask(harness, "#find teapot CRACKED"))
    assert "#1 Teapot lid cracked" in found and "Order 5" not in found and "1 ticket with" in found
    found = text_of(ask(harness, "#find copy invoice ann"))
    assert "#3 Invoice copy" in found and "#1 " not in found
    assert "0 tickets" in text_of(ask(harness, "#find kettle"))

    show = ask(harness, "#show 2")
    shown = text_of(show)
    assert "Ticket #2: Order 5" in shown and "Where is my order?" in shown
    assert "It left us this morning." in shown and "Status pending" in shown
    assert show["Reply-To"].addresses[0].addr_spec == tokens.address(2, "owner")

    # Replying to the shown ticket answers its customer.
    harness.mailbox.append(owner_reply(show, "Tracking number: 12345."))
    harness.cycle()
    replies = of_kind(harness, KIM, "reply")
    assert "Tracking number: 12345." in text_of(replies[-1])


def test_overdue_customer_invoices_help_and_mistakes(harness: Harness) -> None:
    three_customers(harness)
    harness.clock.advance(days=2)
    overdue = text_of(ask(harness, "#list overdue"))
    assert "Overdue" in overdue and "#1 Teapot lid cracked" in overdue and "Order 5" not in overdue

    customer = text_of(ask(harness, f"#customer {ZOE}"))
    assert f"<{ZOE}>" in customer and "#1 Teapot lid cracked" in customer and "Spent 0" in customer

    notification = of_kind(harness, OWNER, "owner-notification")[0]
    harness.mailbox.append(owner_reply(notification, "#invoice due=7d\nTeapot lid | 1 | 12.00"))
    harness.cycle()
    invoices = text_of(ask(harness, "#invoices open"))
    assert "Open invoices" in invoices and "1 invoice" in invoices and ZOE in invoices

    helped = text_of(ask(harness, "#help"))
    assert "#list open|pending|overdue|new|mine" in helped and "#due friday" in helped
    assert "delivery-times, returns, thanks-for-waiting" in helped

    mistaken = ask(harness, "#list closed\n#show twelve\n#frobnicate")
    text = text_of(mistaken)
    assert "Not understood" in text and "#list closed: say which" in text
    assert "#show twelve: needs a ticket number" in text and "#frobnicate: unknown command" in text


def test_digest_by_mail(harness: Harness) -> None:
    three_customers(harness)
    answer = ask(harness, "#digest")
    assert "The digest is on its way" in text_of(answer)
    [digest] = of_kind(harness, OWNER, "digest")
    assert "Open tickets" in text_of(digest)
    # The same mail again (a replay) sends nothing twice.
    harness.helpdesk.dispatcher.run()
    harness.helpdesk.send_outbox()
    assert len(of_kind(harness, OWNER, "digest")) == 1


def test_new_starts_a_conversation_that_threads_when_the_customer_answers(harness: Harness) -> None:
    harness.mailbox.append(
        command_mail(
            harness,
            f"#new {ANN} Your repair is ready\nHello Ann,\nyour kettle is repaired and ready to collect.\n"
            "#priority high",
        )
    )
    harness.cycle()
    [first] = harness.to(ANN)
    assert first["X-Helpdesk-Kind"] == "reply"
    assert str(first["Subject"]) == "Your repair is ready [#1]", "a new conversation, not a Re:"
    assert "your kettle is repaired" in text_of(first) and "#priority" not in text_of(first)
    assert first["From"].addresses[0].addr_spec == BUSINESS
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.customer == ANN
    assert ticket.status == "pending" and ticket.priority == "high"
    assert not of_kind(harness, ANN, "acknowledge"), "the owner wrote first: nothing to acknowledge"

    harness.mailbox.append(
        customer_mail(
            ANN,
            "Re: Your repair is ready [#1]",
            "Great, I'll come on Friday.",
            to=first["Reply-To"].addresses[0].addr_spec,
            in_reply_to=bare(first["Message-ID"]),
            references=[bare(first["Message-ID"])],
        )
    )
    harness.cycle()
    assert len(list(harness.helpdesk.store.tickets())) == 1
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "open"
    notification = of_kind(harness, OWNER, "owner-notification")[-1]
    assert "I'll come on Friday" in text_of(notification)

    # A #new without text is refused with the reason; nothing is opened.
    answer = ask(harness, f"#new {KIM} Hello")
    assert "has no message below it" in text_of(answer)
    assert len(list(harness.helpdesk.store.tickets())) == 1


def test_saved_replies_go_where_the_line_stands(harness: Harness) -> None:
    harness.mailbox.append(customer_mail(ZOE, "Delivery", "How long does delivery take?", name="Zoë Martin"))
    harness.cycle()
    notification = of_kind(harness, OWNER, "owner-notification")[-1]
    harness.mailbox.append(
        owner_reply(notification, "Good question!\n#use delivery-times\n#use thanks-for-waiting\nSam")
    )
    harness.cycle()
    [reply] = of_kind(harness, ZOE, "reply")
    text = text_of(reply)
    assert text.index("Good question!") < text.index("Orders placed before 14:00") < text.index("Sam")
    assert "Thank you for your patience, Zoë" in text and "#use" not in text
    assert "Orders placed before 14:00" in html_of(reply)
    [recorded] = [m for m in harness.helpdesk.store.messages(1) if m.message_id == bare(reply["Message-ID"])]
    assert "Orders placed before 14:00" in recorded.text and "#use" not in recorded.text

    harness.mailbox.append(owner_reply(notification, "Here you go:\n#use shipping"))
    harness.cycle()
    assert len(of_kind(harness, ZOE, "reply")) == 1, "nothing goes out with an unknown saved reply"
    result = text_of(of_kind(harness, OWNER, "command-result")[-1])
    assert "no saved reply of that name" in result and "delivery-times, returns" in result


def test_a_promise_is_reminded_escalated_shown_in_the_digest_and_done(harness: Harness) -> None:
    # Tuesday 3 March 2026, 10:00 in London; open Mon-Fri 09:00-18:00.
    harness.mailbox.append(customer_mail(ZOE, "Broken handle", "The handle broke off.", name="Zoë Martin"))
    harness.cycle()
    notification = of_kind(harness, OWNER, "owner-notification")[-1]
    harness.mailbox.append(
        owner_reply(notification, 'A new handle is on its way.\n#due tomorrow "send the replacement part"')
    )
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert ticket.promise["due"] == "2026-03-04T18:00:00+00:00"
    assert ticket.promise["what"] == "send the replacement part"
    assert not of_kind(harness, OWNER, "promise-reminder")

    # Wednesday 13:30 is 4.5 open hours (half a business day) before 18:00.
    harness.clock.advance(hours=27, minutes=25)
    harness.cycle()
    assert not of_kind(harness, OWNER, "promise-reminder"), "not yet"
    harness.clock.advance(minutes=10)
    harness.cycle()
    [reminder] = of_kind(harness, OWNER, "promise-reminder")
    assert "send the replacement part" in text_of(reminder) and "#done" in text_of(reminder)
    harness.clock.advance(minutes=30)
    harness.cycle()
    assert len(of_kind(harness, OWNER, "promise-reminder")) == 1, "reminded once"

    harness.clock.advance(hours=5)
    harness.cycle()
    [missed] = of_kind(harness, OWNER, "promise-missed")
    assert "send the replacement part" in text_of(missed)
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and "promise-missed" in ticket.tags and ticket.priority == "high"
    preview = digest_text(harness)
    assert "Promises" in preview and "1 missed" in preview and "send the replacement part" in preview

    harness.mailbox.append(owner_reply(missed, "#done"))
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.promise == {}
    harness.clock.advance(hours=30)
    harness.cycle()
    assert len(of_kind(harness, OWNER, "promise-missed")) == 1

    harness.mailbox.append(owner_reply(missed, "#due soon"))
    harness.cycle()
    result = text_of(of_kind(harness, OWNER, "command-result")[-1])
    assert "#due soon: cannot read when 'soon' is" in result


def test_causes_of_complaints_in_the_digest(harness: Harness) -> None:
    three_customers(harness)
    notifications = of_kind(harness, OWNER, "owner-notification")
    harness.mailbox.append(owner_reply(notifications[0], "#cause late-delivery\n#nosend"))
    harness.mailbox.append(owner_reply(notifications[2], "#cause Damaged\n#nosend"))
    harness.mailbox.append(owner_reply(notifications[1], "#cause weather\n#nosend"))
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.cause == "late-delivery"
    assert harness.helpdesk.store.ticket(3).cause == "damaged"  # type: ignore[union-attr]
    assert harness.helpdesk.store.ticket(2).cause is None  # type: ignore[union-attr]
    result = text_of(of_kind(harness, OWNER, "command-result")[-1])
    assert "#cause weather: unknown cause" in result and "late-delivery, damaged" in result
    preview = digest_text(harness)
    assert "Causes of complaints" in preview and "late-delivery" in preview and "damaged" in preview


@pytest.mark.parametrize(
    "variant", ["no token", "tampered token", "another sender", "forged From"], ids=lambda v: v
)
def test_forged_commands_are_refused_and_the_owner_warned(
    tmp_path: Path, mailbox, smtp_sink, variant: str
) -> None:
    owner = (
        {"require_authenticated": True, "authserv_id": "mx.acme.example"} if variant == "forged From" else {}
    )
    harness = Harness(tmp_path, mailbox, smtp_sink, owner=owner)
    try:
        harness.mailbox.append(customer_mail(ZOE, "Teapot", "Hello"))
        harness.cycle()
        genuine = harness.helpdesk.tokens.console_address()
        if variant == "no token":
            mail = command_mail(harness, "#list open", to=BUSINESS)
        elif variant == "tampered token":
            mail = command_mail(harness, "#list open", to=genuine[:-20] + "0000@acme.example")
        elif variant == "another sender":
            mail = command_mail(harness, "#list open", sender="mallory@evil.example")
        else:
            forged = {"Authentication-Results": "mail.evil.example; dkim=pass header.d=acme.example"}
            mail = command_mail(harness, "#list open", **forged)
        harness.mailbox.append(mail)
        harness.cycle()
        assert not of_kind(harness, OWNER, "console-answer")
        assert not of_kind(harness, "mallory@evil.example", "console-answer")
        [warning] = of_kind(harness, OWNER, "owner-warning")
        [entry] = harness.helpdesk.quarantine.entries()
        assert entry.reason in text_of(warning)
    finally:
        harness.close()


# Every client format, and a forward as attachment and a forward of a forward.
FORWARDED = sorted([*FORWARDS, "rfc822_attachment", "nested"])


@pytest.mark.parametrize("name", FORWARDED)
def test_a_forwarded_customer_mail_opens_the_ticket_for_the_original_sender(
    harness: Harness, name: str
) -> None:
    raw = (FORWARD_FIXTURES / f"{name}.eml").read_bytes().replace(b"sam@owner.example", OWNER.encode())
    original = find_forwarded(parse_message(raw), raw)
    assert original is not None
    harness.mailbox.append(raw)
    harness.cycle()
    [ticket] = harness.helpdesk.store.tickets()
    customer = original.sender.email
    assert customer not in (OWNER, BUSINESS)
    assert ticket.customer == customer and ticket.subject == base_subject(original.subject)
    message, *answers = harness.helpdesk.store.messages(ticket.id)
    assert message.direction == "in" and message.sender == customer and message.text == original.text
    assert [answer.direction for answer in answers] == ["out"], "the acknowledgement"
    if original.date is not None:
        assert message.date == original.date.isoformat()
    [acknowledgement] = of_kind(harness, customer, "acknowledge")
    assert acknowledgement["To"].addresses[0].addr_spec == customer
    assert not of_kind(harness, OWNER, "owner-warning")

    notification = of_kind(harness, OWNER, "owner-notification")[-1]
    harness.mailbox.append(owner_reply(notification, "Sorry to hear that, a new one is on its way."))
    harness.cycle()
    [reply] = of_kind(harness, customer, "reply")
    assert "a new one is on its way" in text_of(reply)


@pytest.mark.parametrize("name", NOT_FORWARDS)
def test_owner_mail_that_forwards_nothing_is_refused_as_before(harness: Harness, name: str) -> None:
    message = parse((FORWARD_FIXTURES / f"{name}.eml").read_bytes())
    message.replace_header("From", f"Sam Owner <{OWNER}>")
    harness.mailbox.append(message.as_bytes())
    harness.cycle()
    assert list(harness.helpdesk.store.tickets()) == []
    [warning] = of_kind(harness, OWNER, "owner-warning")
    assert "without a valid reply token" in text_of(warning)
