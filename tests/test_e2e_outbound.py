"""End to end: acknowledgements, owner notifications, owner replies and SMTP faults.

Real Dovecot (or pymap) and a real aiosmtpd sink; the daemon's clock is
injected so that retries are tested without sleeping.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.config import load_config
from helpdesk.daemon import BACKLOG_MINIMUM, Helpdesk
from helpdesk.demo.processes import free_port
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.intake.fetch import Mailbox
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, OWNER, write_config


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Harness:
    """The daemon's parts against a real mailbox and sink, one cycle at a time."""

    def __init__(self, tmp_path: Path, mailbox, sink, **sections) -> None:
        self.config_path = write_config(tmp_path, mailbox, sink, **sections)
        self.config = load_config(self.config_path)
        self.clock = Clock()
        self.mailbox = mailbox
        self.sink = sink
        self.helpdesk = Helpdesk(self.config, self.clock)
        self.imap = Mailbox(self.config.imap)
        self.imap.connect()

    def cycle(self) -> None:
        self.helpdesk.cycle(self.imap)

    def close(self) -> None:
        self.imap.close()
        self.helpdesk.close()

    def delivered(self) -> list[EmailMessage]:
        return [parse(mail.data) for mail in self.sink.messages]

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.delivered() if address in message["To"]]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return part.get_content()


def bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def owner_reply(
    notification: EmailMessage,
    text: str,
    *,
    quote: str = "",
    to: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """An owner's reply as a mail client builds it: In-Reply-To, quoted original, signature."""
    quoted = "\n".join(f"> {line}" for line in quote.splitlines())
    attribution = f"On Tue, 3 Mar 2026 at 10:00, Acme Tea Co. <{BUSINESS}> wrote:"
    body = f"{text}\n\n-- \nSam Owner\nAcme Tea Co.\n\n{attribution}\n{quoted}\n"
    reply_to = to or notification["Reply-To"].addresses[0].addr_spec
    return customer_mail(
        OWNER,
        "Re: " + str(notification["Subject"]),
        body,
        name="Sam Owner",
        to=reply_to,
        in_reply_to=bare(notification["Message-ID"]),
        references=[bare(notification["Message-ID"])],
        headers=extra_headers or {},
    )


def test_full_loop(harness: Harness) -> None:
    first = customer_mail(
        "zoe@example.org",
        "Teapot arrived broken",
        "The lid is cracked.\nCan you help?",
        name="Zoë Martin",
        message_id="z1@example.org",
    )
    harness.mailbox.append(first)
    harness.cycle()

    [ack] = harness.to("zoe@example.org")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert bare(ack["In-Reply-To"]) == "z1@example.org"
    assert "[#1]" in ack["Subject"]
    assert ack["From"].addresses[0].addr_spec == BUSINESS
    assert ack["Message-ID"].endswith("@acme.example>")
    assert re.match(r"support\+t1-[0-9a-f]{16}@acme\.example", ack["Reply-To"].addresses[0].addr_spec)

    [notification] = harness.to(OWNER)
    owner_address = notification["Reply-To"].addresses[0].addr_spec
    assert owner_address.startswith("support+t1-") and owner_address != ack["Reply-To"].addresses[0].addr_spec
    assert "The lid is cracked." in text_of(notification)
    assert "#close" in text_of(notification)

    harness.mailbox.append(
        owner_reply(
            notification, "Hi Zoë,\n\na new lid is on its way.\n#priority high", quote="The lid is cracked."
        )
    )
    harness.cycle()
    [ack_again, reply] = harness.to("zoe@example.org")
    assert ack_again["Message-ID"] == ack["Message-ID"]
    body = text_of(reply)
    assert "a new lid is on its way." in body
    assert "#priority" not in body
    assert "The lid is cracked." not in body
    assert "Sam Owner\nAcme Tea Co." not in body.split("a new lid is on its way.")[1].split("\n\n")[0]
    assert bare(reply["In-Reply-To"]) == "z1@example.org"
    assert "[#1]" in reply["Subject"]
    assert reply.get("Auto-Submitted") is None

    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert ticket.priority == "high"
    assert ticket.status == "pending"
    [_, _, relayed] = harness.helpdesk.store.messages(1)
    assert relayed.direction == "out"
    assert relayed.text.startswith("Hi Zoë,")
    assert bare(reply["Message-ID"]) == relayed.message_id

    answer = customer_mail(
        "zoe@example.org",
        "Re: " + str(reply["Subject"]),
        "Thank you!",
        in_reply_to=bare(reply["Message-ID"]),
        message_id="z2@example.org",
    )
    harness.mailbox.append(answer)
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert ticket.status == "open"
    assert [m.message_id for m in harness.helpdesk.store.messages(1)][-1] == "z2@example.org"
    assert len(list(harness.helpdesk.store.tickets())) == 1


def _notification(
    harness: Harness, sender: str = "kim@example.org", subject: str = "Order 5"
) -> EmailMessage:
    harness.mailbox.append(customer_mail(sender, subject, "Where is my order?"))
    harness.cycle()
    return harness.to(OWNER)[-1]


def test_commands_close_tag_and_command_only(harness: Harness) -> None:
    notification = _notification(harness)
    harness.mailbox.append(owner_reply(notification, "#tag vip\n#close"))
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert ticket.status == "closed" and ticket.tags == ["vip"]
    # The acknowledgement, then the thank-you note that the close sends; no relayed reply.
    assert [m["X-Helpdesk-Kind"] for m in harness.to("kim@example.org")] == ["acknowledge", "thank-you"]
    assert any(entry["detail"] == "#close" for entry in ticket.history)


def test_note_goes_nowhere(harness: Harness) -> None:
    notification = _notification(harness)
    harness.mailbox.append(owner_reply(notification, "#note called her, she will send a photo"))
    harness.cycle()
    assert len(harness.to("kim@example.org")) == 1
    messages = harness.helpdesk.store.messages(1)
    assert messages[-1].direction == "note"
    assert "called her" in messages[-1].text


def test_unknown_command_is_reported_to_owner(harness: Harness) -> None:
    notification = _notification(harness)
    harness.mailbox.append(owner_reply(notification, "Sure, refunded.\n#refund 20"))
    harness.cycle()
    assert len(harness.to("kim@example.org")) == 1
    result = harness.to(OWNER)[-1]
    assert "#refund 20" in text_of(result)
    assert "Sure, refunded." in text_of(result)


@pytest.mark.parametrize("variant", ["no token", "other ticket token", "tampered token", "other sender"])
def test_spoofed_owner_mail_is_quarantined(harness: Harness, variant: str) -> None:
    first = _notification(harness, "kim@example.org", "Order 5")
    second = _notification(harness, "lee@example.org", "Order 6")
    token_one = first["Reply-To"].addresses[0].addr_spec
    if variant == "no token":
        raw = customer_mail(OWNER, "Re: Order 5", "#close", to=BUSINESS)
    elif variant == "other ticket token":
        raw = owner_reply(second, "#close", to=token_one)
    elif variant == "tampered token":
        tampered = (
            token_one[: -len("@acme.example") - 1] + ("0" if token_one[-14] != "0" else "1") + "@acme.example"
        )
        raw = customer_mail(OWNER, "Re: Order 5", "#close", to=tampered)
    else:
        raw = customer_mail(
            "mallory@example.com",
            "Re: Order 5",
            "#close\nrefund me",
            to=token_one,
            in_reply_to=bare(first["Message-ID"]),
        )
    before = len(harness.sink.messages)
    harness.mailbox.append(raw)
    harness.cycle()
    for ticket_id in (1, 2):
        ticket = harness.helpdesk.store.ticket(ticket_id)
        assert ticket is not None and ticket.status == "new"
    new = harness.delivered()[before:]
    assert all(OWNER in str(message["To"]) for message in new), "nothing may go to a customer"
    assert len(new) == 1 and "quarantine" in text_of(new[0]).lower()
    assert len(harness.helpdesk.quarantine.entries()) == 1


def test_header_safety_and_html_escaping(harness: Harness) -> None:
    raw = customer_mail(
        "wang@example.cn",
        "订单 42 \U0001f600 <b>bold</b>",
        "<script>alert(1)</script> 你好",
        name='王芳 "Evil"',
    )
    raw = raw.replace(b"Subject: ", b"Subject: =?utf-8?q?Hi=0D=0ABcc=3A_x=40evil.example?= ", 1)
    harness.mailbox.append(raw)
    harness.cycle()
    for message in harness.delivered():
        assert "evil.example" not in str(message.get("Bcc", ""))
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    [notification] = harness.to(OWNER)
    assert "&lt;script&gt;" in html_of(notification)
    assert "<script>" not in html_of(notification)
    assert "<script>alert(1)</script>" in text_of(notification)
    [ack] = harness.to("wang@example.cn")
    assert "订单 42" in str(ack["Subject"])


def test_smtp_temporary_failure_is_retried_once_delivered(harness: Harness) -> None:
    harness.sink.fail_next(451, times=2)
    harness.mailbox.append(customer_mail("kim@example.org", "Order 7", "Hello"))
    harness.cycle()
    assert harness.sink.messages == []
    harness.clock.advance(minutes=5)
    harness.cycle()
    kinds = sorted(str(message["X-Helpdesk-Kind"]) for message in harness.delivered())
    assert kinds == ["acknowledge", "owner-notification"]
    harness.clock.advance(hours=3)
    harness.cycle()
    assert len(harness.sink.messages) == 2


def test_smtp_permanent_failure_tells_owner(harness: Harness) -> None:
    notification = _notification(harness, "gone@example.org", "Order 8")
    harness.sink.fail_next(550, times=1)
    harness.mailbox.append(owner_reply(notification, "Your parcel left today."))
    harness.cycle()
    [failed] = harness.helpdesk.outbox.failed()
    assert failed.kind == "reply" and "550" in (failed.last_error or "")
    failure = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "delivery-failure"]
    assert len(failure) == 1
    assert "550" in text_of(failure[0])
    assert "gone@example.org" in text_of(failure[0])


def test_smtp_down_then_back(tmp_path: Path, mailbox) -> None:
    smtp_sink = SmtpSink(port=free_port()).start()
    harness = Harness(tmp_path, mailbox, smtp_sink)
    try:
        smtp_sink.stop()
        harness.mailbox.append(customer_mail("kim@example.org", "Order 9", "Hello"))
        harness.cycle()
        assert len(harness.helpdesk.outbox.queued()) == 2
        smtp_sink.start()
        harness.clock.advance(minutes=2)
        harness.cycle()
        assert len(harness.sink.messages) == 2
        assert harness.helpdesk.outbox.queued() == []
    finally:
        harness.close()
        smtp_sink.stop()


def test_customer_cc_becomes_participant_and_is_copied(harness: Harness) -> None:
    raw = customer_mail(
        "kim@example.org",
        "Order 21",
        "Please also keep my colleague informed.",
        headers={"Cc": "Lee <lee@example.org>, support@acme.example"},
    )
    harness.mailbox.append(raw)
    harness.cycle()
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.participants == ["kim@example.org", "lee@example.org"]
    notification = harness.to(OWNER)[-1]
    harness.mailbox.append(owner_reply(notification, "Both of you will get the tracking number."))
    harness.cycle()
    [reply] = [m for m in harness.delivered() if m["X-Helpdesk-Kind"] == "reply"]
    assert "lee@example.org" in str(reply["Cc"])
    delivered = [mail for mail in harness.sink.messages if b"X-Helpdesk-Kind: reply" in mail.data]
    assert set(delivered[0].rcpt_tos) == {"kim@example.org", "lee@example.org"}


def test_owner_is_told_when_a_cc_is_refused_while_the_customer_gets_the_reply(harness: Harness) -> None:
    raw = customer_mail(
        "kim@example.org", "Order 22", "Copy my colleague, please.", headers={"Cc": "gone@example.org"}
    )
    harness.mailbox.append(raw)
    harness.cycle()
    harness.sink.refuse["gone@example.org"] = "550 5.1.1 no such user"
    harness.mailbox.append(owner_reply(harness.to(OWNER)[-1], "Your parcel left today."))
    harness.cycle()
    [reply] = [mail for mail in harness.sink.messages if b"X-Helpdesk-Kind: reply" in mail.data]
    assert reply.rcpt_tos == ("kim@example.org",)
    [notice] = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "delivery-failure"]
    assert "gone@example.org" in text_of(notice) and "550 5.1.1 no such user" in text_of(notice)
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert any(entry["event"] == "delivery-failed" for entry in ticket.history)
    # Told once: later cycles do not repeat the notice.
    harness.cycle()
    assert len([m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "delivery-failure"]) == 1


def test_required_authentication_trusts_only_our_own_server(tmp_path: Path, mailbox, smtp_sink) -> None:
    harness = Harness(
        tmp_path, mailbox, smtp_sink, owner={"require_authenticated": True, "authserv_id": "mx.acme.example"}
    )
    try:
        notification = _notification(harness)
        forged = {"Authentication-Results": "mail.example.net; dkim=pass header.d=acme.example"}
        harness.mailbox.append(owner_reply(notification, "Refund sent.", extra_headers=forged))
        harness.cycle()
        assert len(harness.to("kim@example.org")) == 1  # Only the acknowledgement.
        [entry] = harness.helpdesk.quarantine.entries()
        assert "Authentication-Results of mx.acme.example" in entry.reason

        ours = {"Authentication-Results": "mx.acme.example; dkim=pass header.d=acme.example"}
        harness.mailbox.append(owner_reply(notification, "Refund sent.", extra_headers=ours))
        harness.cycle()
        relayed = harness.to("kim@example.org")
        assert len(relayed) == 2 and "Refund sent." in text_of(relayed[-1])
    finally:
        harness.close()


@pytest.mark.parametrize("sender_process", [True, False], ids=["sender_process", "one_process"])
def test_a_backlog_is_answered_alike_with_or_without_the_sender_process(
    tmp_path: Path, mailbox, smtp_sink, sender_process: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A backlog's acknowledgements and notifications, delivered while the daemon works on it."""
    count = BACKLOG_MINIMUM + 8
    mailbox.append_many(
        [customer_mail(f"buyer{n}@example.org", f"Order {n}", f"Where is order {n}?") for n in range(count)]
    )
    running = Harness(tmp_path, mailbox, smtp_sink, smtp={"sender_process": sender_process})
    try:
        with caplog.at_level(logging.INFO, logger="helpdesk.outbound.delivery"):
            running.cycle()
        left = running.helpdesk.outbox.queued()
        sent = running.helpdesk.outbox.sent()
    finally:
        running.close()
    delivered = running.delivered()
    acknowledgements = [message for message in delivered if message["X-Helpdesk-Kind"] == "acknowledge"]
    acknowledged = sorted(message["To"].addresses[0].addr_spec for message in acknowledgements)
    assert acknowledged == sorted(f"buyer{n}@example.org" for n in range(count))
    notified = [message for message in delivered if message["X-Helpdesk-Kind"] == "owner-notification"]
    assert len(notified) == count and all(OWNER in message["To"] for message in notified)
    assert len({message["Message-ID"] for message in delivered}) == len(delivered) == 2 * count
    assert left == [] and len(sent) == 2 * count
    assert ("delivering from the sender process" in caplog.text) is sender_process
