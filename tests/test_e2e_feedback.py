"""End to end: the thank-you with its question, the answers, testimonials, loyalty, opting out.

Real IMAP server (Dovecot in CI) and SMTP sink, the shipped rules and
templates, an injected clock. The owner closes a ticket by mail; the
customer answers the satisfaction question by mail; what the daemon records
and sends is read back from the store and the sink.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.corpus import customer_mail
from tests.helpers import OWNER, helpdesk
from tests.test_e2e_outbound import Harness, bare, html_of, owner_reply, text_of

ZOE = "zoe@example.org"


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def cli(harness: Harness, *args: str) -> str:
    return helpdesk("--config", str(harness.config_path), *args).stdout


def kinds(harness: Harness, address: str) -> list[str]:
    return [str(message["X-Helpdesk-Kind"]) for message in harness.to(address)]


def last_of(harness: Harness, address: str, kind: str) -> EmailMessage:
    return [message for message in harness.to(address) if message["X-Helpdesk-Kind"] == kind][-1]


def answer(message: EmailMessage, text: str, sender: str = ZOE, **headers: str) -> bytes:
    """The customer's answer to ``message`` as a mail client writes it: quoted, threaded."""
    quoted = "\n".join(f"> {line}" for line in text_of(message).splitlines())
    body = f"{text}\n\nOn Tue, 3 Mar 2026 at 11:00, Acme Tea Co. <support@acme.example> wrote:\n{quoted}\n"
    return customer_mail(
        sender,
        "Re: " + str(message["Subject"]),
        body,
        name="Zoë Martin",
        to=message["Reply-To"].addresses[0].addr_spec,
        in_reply_to=bare(message["Message-ID"]),
        references=[bare(message["Message-ID"])],
        headers=headers,
    )


def closed_ticket(harness: Harness, sender: str = ZOE, subject: str = "Teapot lid") -> int:
    """A customer writes, the owner answers and closes: the ticket's id."""
    harness.mailbox.append(customer_mail(sender, subject, "The lid is chipped.", name="Zoë Martin"))
    harness.cycle()
    notification = last_of(harness, OWNER, "owner-notification")
    harness.clock.advance(hours=1)
    harness.mailbox.append(owner_reply(notification, "A new lid is on its way.\n#close"))
    harness.cycle()
    return int(notification["X-Helpdesk-Ticket"])


def test_close_thanks_and_asks_and_a_rating_keeps_the_ticket_closed(harness: Harness) -> None:
    ticket_id = closed_ticket(harness)
    thank_you = last_of(harness, ZOE, "thank-you")
    assert "reply with a number from 1 to 5" in text_of(thank_you)
    assert "unsubscribe" in text_of(thank_you).lower() and "unsubscribe" in html_of(thank_you).lower()
    unsubscribe = str(thank_you["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<mailto:support+t") and "@acme.example" in unsubscribe
    assert thank_you["Auto-Submitted"] == "auto-replied"
    notifications = kinds(harness, OWNER).count("owner-notification")

    harness.clock.advance(hours=2)
    harness.mailbox.append(answer(thank_you, "5 - great service"))
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(ticket_id)
    assert ticket is not None
    assert ticket.status == "closed"
    assert (ticket.feedback["score"], ticket.feedback["comment"]) == (5, "great service")
    customer = harness.helpdesk.store.customer(ZOE)
    assert customer is not None
    assert [(rating["score"], rating["ticket"]) for rating in customer.ratings] == [(5, ticket_id)]
    # A rating alone does not bother the owner.
    assert kinds(harness, OWNER).count("owner-notification") == notifications
    shown = json.loads(cli(harness, "customer", "show", ZOE, "--json"))
    assert [rating["score"] for rating in shown["ratings"]] == [5]


def test_a_glowing_answer_asks_to_quote_it_and_yes_stores_the_testimonial(harness: Harness) -> None:
    closed_ticket(harness)
    thank_you = last_of(harness, ZOE, "thank-you")
    harness.mailbox.append(answer(thank_you, "5 - the new lid fits perfectly, thank you!"))
    harness.cycle()
    request = last_of(harness, ZOE, "testimonial-request")
    assert "the new lid fits perfectly" in text_of(request)
    assert request["List-Unsubscribe"]
    listed = json.loads(cli(harness, "testimonials", "--json"))
    assert listed == []  # nothing is used before the customer says yes

    harness.mailbox.append(answer(request, "Yes, happy for you to - first name only please."))
    harness.cycle()
    listed = json.loads(cli(harness, "testimonials", "--json"))
    assert [(item["quote"], item["name"], item["score"]) for item in listed] == [
        ("the new lid fits perfectly, thank you!", "Zoë", 5)
    ]


def test_a_low_rating_tells_the_owner_at_once_and_reopens_for_follow_up(harness: Harness) -> None:
    ticket_id = closed_ticket(harness)
    harness.mailbox.append(answer(last_of(harness, ZOE, "thank-you"), "1, the part broke again"))
    harness.cycle()
    complaint = last_of(harness, OWNER, "complaint")
    assert "1 out of 5" in text_of(complaint) and "the part broke again" in text_of(complaint)
    assert "COMPLAINT 1/5" in str(complaint["Subject"])
    ticket = harness.helpdesk.store.ticket(ticket_id)
    assert ticket is not None
    assert (ticket.status, ticket.priority, "complaint" in ticket.tags) == ("open", "high", True)
    # The owner answers the complaint straight from that mail.
    harness.mailbox.append(owner_reply(complaint, "I am so sorry - a replacement goes out today."))
    harness.cycle()
    assert "a replacement goes out today" in text_of(last_of(harness, ZOE, "reply"))


def test_an_answer_with_a_new_question_reopens_the_ticket(harness: Harness) -> None:
    ticket_id = closed_ticket(harness)
    harness.mailbox.append(
        answer(last_of(harness, ZOE, "thank-you"), "4. Do you also sell the matching cups?")
    )
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(ticket_id)
    assert ticket is not None
    assert ticket.status == "open" and ticket.feedback["score"] == 4
    assert "matching cups" in text_of(last_of(harness, OWNER, "owner-notification"))


def test_no_survey_when_the_follow_up_rule_closes_an_unanswered_ticket(harness: Harness) -> None:
    harness.mailbox.append(customer_mail(ZOE, "Teapot lid", "The lid is chipped.", name="Zoë Martin"))
    harness.cycle()
    harness.mailbox.append(owner_reply(last_of(harness, OWNER, "owner-notification"), "Which colour?"))
    harness.cycle()
    for _ in range(12):
        harness.clock.advance(days=1)
        harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and (ticket.status, ticket.closed_by) == ("closed", "rule:auto-close")
    assert "closed-notice" in kinds(harness, ZOE) and "thank-you" not in kinds(harness, ZOE)


def test_one_survey_per_customer_per_interval(harness: Harness) -> None:
    closed_ticket(harness, subject="First")
    harness.clock.advance(days=3)
    closed_ticket(harness, subject="Second")
    assert kinds(harness, ZOE).count("thank-you") == 1
    harness.clock.advance(days=31)
    closed_ticket(harness, subject="Third")
    assert kinds(harness, ZOE).count("thank-you") == 2


def test_unsubscribe_by_address_by_reply_and_by_command_and_ticket_mail_still_goes(
    harness: Harness,
) -> None:
    closed_ticket(harness)
    thank_you = last_of(harness, ZOE, "thank-you")
    header = str(thank_you["List-Unsubscribe"]).strip()
    address = header.strip("<>").removeprefix("mailto:").partition("?")[0]
    harness.mailbox.append(customer_mail(ZOE, "unsubscribe", "", to=address))
    harness.cycle()
    customer = harness.helpdesk.store.customer(ZOE)
    assert customer is not None and customer.opted_out
    # Ticket mail still goes: the acknowledgement of a new ticket, the owner's reply.
    harness.clock.advance(days=40)
    before = len(harness.to(ZOE))
    closed_ticket(harness, subject="Another question")
    assert kinds(harness, ZOE)[before:] == ["acknowledge", "reply"]

    # #optin in the owner's reply undoes it; an "unsubscribe" answer records it again.
    harness.clock.advance(days=40)
    harness.mailbox.append(customer_mail(ZOE, "Cups", "Do you sell cups?", name="Zoë Martin"))
    harness.cycle()
    harness.mailbox.append(owner_reply(last_of(harness, OWNER, "owner-notification"), "Yes!\n#optin\n#close"))
    harness.cycle()
    customer = harness.helpdesk.store.customer(ZOE)
    assert customer is not None and not customer.opted_out
    harness.mailbox.append(answer(last_of(harness, ZOE, "thank-you"), "unsubscribe"))
    harness.cycle()
    customer = harness.helpdesk.store.customer(ZOE)
    assert customer is not None and customer.opted_out

    harness.clock.advance(days=40)
    harness.mailbox.append(customer_mail(ZOE, "Saucers", "And saucers?", name="Zoë Martin"))
    harness.cycle()
    harness.mailbox.append(owner_reply(last_of(harness, OWNER, "owner-notification"), "#optin"))
    harness.cycle()
    harness.mailbox.append(owner_reply(last_of(harness, OWNER, "owner-notification"), "#optout"))
    harness.cycle()
    customer = harness.helpdesk.store.customer(ZOE)
    assert customer is not None and customer.opted_out


def test_thank_by_hand_and_the_loyalty_note_once(harness: Harness) -> None:
    harness.mailbox.append(customer_mail(ZOE, "Order", "Another order please.", name="Zoë Martin"))
    harness.cycle()
    harness.mailbox.append(owner_reply(last_of(harness, OWNER, "owner-notification"), "#thank\n#nosend"))
    harness.cycle()
    note = last_of(harness, ZOE, "loyalty-thanks")
    assert "thank you" in text_of(note).lower() and note["List-Unsubscribe"]


def test_the_daemon_sends_a_birthday_greeting_at_nine_once(harness: Harness) -> None:
    harness.mailbox.append(customer_mail(ZOE, "Hello", "Just saying hi.", name="Zoë Martin"))
    harness.cycle()
    harness.mailbox.append(
        owner_reply(last_of(harness, OWNER, "owner-notification"), "#customer birthday=1990-03-05\n#close")
    )
    harness.cycle()
    # 5 March, 08:59 in London (UTC in March): not yet.
    harness.clock.now = harness.clock.now.replace(day=5, hour=8, minute=59)
    harness.cycle()
    assert "birthday" not in kinds(harness, ZOE)
    harness.clock.advance(minutes=2)
    harness.cycle()
    greeting = last_of(harness, ZOE, "birthday")
    assert "Zoë" in text_of(greeting) and greeting["List-Unsubscribe"]
    harness.clock.advance(hours=3)
    harness.cycle()
    assert kinds(harness, ZOE).count("birthday") == 1


def test_explain_shows_how_an_answer_is_read_and_the_digest_shows_satisfaction(
    harness: Harness, tmp_path: Path
) -> None:
    closed_ticket(harness)
    reply = answer(last_of(harness, ZOE, "thank-you"), "2 - the lid still wobbles")
    message = tmp_path / "answer.eml"
    message.write_bytes(reply)
    explained = cli(harness, "rules", "explain", str(message))
    assert "Reads as an answer to the satisfaction question: rating 2" in explained
    assert "Event feedback.received:" in explained and "FIRES  complaint" in explained
    assert "Event ticket.reopened" not in explained

    harness.mailbox.append(reply)
    harness.cycle()
    digest = text_of(digest_now(harness, "before"))
    assert "Customer satisfaction" in digest and "NOT followed up yet" in digest
    sorry = owner_reply(last_of(harness, OWNER, "complaint"), "So sorry, a new lid is on its way.")
    harness.clock.advance(minutes=5)
    harness.mailbox.append(sorry)
    harness.cycle()
    digest = text_of(digest_now(harness, "after"))
    assert "followed up" in digest and "NOT followed up" not in digest


def digest_now(harness: Harness, key: str) -> EmailMessage:
    """The digest as the scheduled job sends it, as of the harness's clock."""
    harness.helpdesk.send_digest(key=f"digest:test:{key}")
    harness.cycle()
    return last_of(harness, OWNER, "digest")


def test_a_loyal_customer_gets_the_personal_note_once_instead_of_the_survey(harness: Harness) -> None:
    for number in range(1, 6):
        harness.clock.advance(days=1)
        closed_ticket(harness, subject=f"Order {number}")
    loyal = harness.helpdesk.store.customer(ZOE)
    assert loyal is not None and "loyal" in loyal.tags and loyal.loyalty_thanked_at
    assert kinds(harness, ZOE).count("loyalty-thanks") == 1
    # The fifth close sent the note, not a survey (the first close's survey was within 30 days anyway).
    assert kinds(harness, ZOE).count("thank-you") == 1
    harness.clock.advance(days=40)
    closed_ticket(harness, subject="Order 6")
    assert kinds(harness, ZOE).count("loyalty-thanks") == 1
    assert kinds(harness, ZOE).count("thank-you") == 2
