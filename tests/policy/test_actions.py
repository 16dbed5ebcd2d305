"""Tests of ``helpdesk.policy.actions``: what each action sends and records.

Everything is real except the network: a Store, an Outbox and the reply
tokens in ``tmp_path``, the shipped templates, a configuration loaded from a
written file, and a clock the test moves by hand. Tickets are made by the
real ingestion path from raw mail, so the records look exactly as the
daemon's do. What an action sends is read from the outbox queue (the final
bytes); only the delivery-failure test talks to the SMTP sink.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import Config, load_config, shipped_directory
from helpdesk.daemon import load_policy
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.intake.archive import MailArchive
from helpdesk.intake.ingest import Ingestor, IngestReport
from helpdesk.intake.quarantine import Quarantine
from helpdesk.outbound.outbox import Outbox, OutboxItem, SendReport
from helpdesk.outbound.smtp import SmtpTransport
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.commands import plan_reply
from helpdesk.owner.tokens import ReplyTokens, load_secret
from helpdesk.policy.actions import AUTOMATIC_LIMIT, Actions, attachments_of
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.store.records import StoredMessage, Ticket, iso
from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, OWNER, write_config

START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
CUSTOMER = "zoe@example.org"


# -- the environment --------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """Connection details for the config file of a test that needs no server."""

    host: str = "127.0.0.1"
    hostname: str = "127.0.0.1"
    port: int = 9
    username: str = "support"
    password: str = "unused"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Env:
    """The daemon's parts on one data directory, built the way ``Helpdesk`` builds them."""

    def __init__(self, tmp_path: Path, sink: Any = None, **sections: dict[str, Any]) -> None:
        path = write_config(tmp_path, Server(), sink or Server(), **sections)
        self.config: Config = load_config(path)
        self.data_dir = self.config.storage_path
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = Clock()
        # Templates, rules and business hours exactly as the daemon loads them.
        self.templates, self.rules, self.hours = load_policy(self.config)
        assert self.templates.directory == shipped_directory("templates").resolve()
        self.open()

    def open(self) -> None:
        """(Re)open everything from disk, as a restarted daemon does."""
        self.store = Store(self.data_dir)
        self.outbox = Outbox(self.data_dir, self.config.business.name, self.config.business.email)
        self.tokens = ReplyTokens(load_secret(self.data_dir), self.config.business.email)
        self.quarantine = Quarantine(self.data_dir)
        self.actions = Actions(self.config, self.store, self.outbox, self.templates, self.tokens, self.clock)
        self.ingestor = Ingestor(
            self.config, self.store, MailArchive(self.data_dir), self.quarantine, self.tokens, self.clock
        )
        self.dispatcher = Dispatcher(
            self.store, self.actions, self.rules, self.hours, self.data_dir, self.clock
        )

    def ingest(self, raw: bytes) -> IngestReport:
        return self.ingestor.ingest_local(raw)

    def ticket(self, ticket_id: int = 1) -> Ticket:
        ticket = self.store.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def message(self, ticket_id: int = 1, index: int = -1) -> StoredMessage:
        return self.store.messages(ticket_id)[index]

    def queued(self, kind: str | None = None) -> list[tuple[OutboxItem, EmailMessage]]:
        """The queued items (oldest first) with their parsed bytes."""
        return [
            (item, parse(self.outbox.raw(item)))
            for item in self.outbox.queued()
            if kind is None or item.kind == kind
        ]

    def send(self, sink: SmtpSink) -> SendReport:
        async def run() -> SendReport:
            transport = SmtpTransport(self.config.smtp, timeout=10)
            try:
                return await self.outbox.send_due(transport, self.clock())
            finally:
                await transport.close()

        return asyncio.run(run())

    def owner_reply(self, text: str, ticket_id: int = 1, **fields: Any) -> bytes:
        """The owner's answer to the latest notification of a ticket, as a mail client writes it."""
        notifications = self.ticket(ticket_id).notifications
        latest = notifications[-1] if notifications else None
        values: dict[str, Any] = {
            "name": "Sam Owner",
            "to": self.tokens.address(ticket_id, OWNER_PURPOSE),
            "in_reply_to": latest,
            "references": [latest] if latest else [],
        }
        values.update(fields)
        return customer_mail(OWNER, f"Re: [#{ticket_id}] Order", text, **values)


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def addresses(message: EmailMessage, name: str) -> list[str]:
    return [item.addr_spec for item in message[name].addresses] if name in message else []


def ids(value: object) -> list[str]:
    return [item.strip("<>") for item in str(value or "").split()]


def events(history: list[dict[str, str]], name: str) -> list[str]:
    return [entry["detail"] for entry in history if entry["event"] == name]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def first_mail(**fields: Any) -> bytes:
    values: dict[str, Any] = {"name": "Zoë Martin", "message_id": "z1@example.org"}
    values.update(fields)
    return customer_mail(CUSTOMER, "Teapot arrived broken", "The lid is cracked.\nCan you help?", **values)


# -- automatic replies: the acknowledgement ----------------------------------------------------

ACK_KEY = "rule:acknowledge:1:event:2:0"


def test_acknowledge_once_per_key_and_record_what_was_sent(env: Env) -> None:
    env.ingest(first_mail(references=["older@example.org"]))
    ticket, first = env.ticket(), env.message(index=0)

    assert env.actions.auto_reply(ticket, "acknowledge", ACK_KEY, first) is True
    assert env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, first) is False

    [(item, ack)] = env.queued()
    assert item.kind == "acknowledge" and item.recipients == [CUSTOMER] and item.key == ACK_KEY
    assert addresses(ack, "To") == [CUSTOMER]
    assert ack["To"].addresses[0].display_name == "Zoë Martin"
    assert ack["Subject"] == "Re: Teapot arrived broken [#1]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ids(ack["In-Reply-To"]) == ["z1@example.org"]
    assert ids(ack["References"]) == ["older@example.org", "z1@example.org"]
    [reply_to] = addresses(ack, "Reply-To")
    assert env.tokens.ticket_in([reply_to]) == 1
    assert env.tokens.ticket_in([reply_to], OWNER_PURPOSE) is None
    assert text_of(ack).startswith("Hello Zoë,")

    [incoming, recorded] = env.store.messages(1)
    assert incoming.direction == "in"
    assert recorded.direction == "out"
    assert recorded.message_id == item.message_id
    assert recorded.to == [CUSTOMER] and recorded.sender == BUSINESS
    assert recorded.subject == ack["Subject"]
    assert list(recorded.references) == ["older@example.org", "z1@example.org"]
    assert env.store.ticket_for_message_id(item.message_id) == 1


def test_a_replayed_acknowledgement_is_recorded_once(env: Env) -> None:
    env.ingest(first_mail())
    env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, env.message(index=0))
    env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, env.message(index=0))
    assert [message.direction for message in env.store.messages(1)] == ["in", "out"]


def test_an_automatic_reply_without_a_message_answers_the_last_customer_message(env: Env) -> None:
    env.ingest(first_mail())
    env.ingest(
        customer_mail(
            CUSTOMER, "Re: Teapot", "More.", message_id="z2@example.org", in_reply_to="z1@example.org"
        )
    )
    env.actions.auto_reply(env.ticket(), "follow-up", "rule:follow-up:1:w:0")
    [(item, follow_up)] = env.queued()
    assert item.kind == "follow-up"
    assert ids(follow_up["In-Reply-To"]) == ["z2@example.org"]
    assert follow_up["Auto-Submitted"] == "auto-replied"


def test_automatic_replies_are_limited_to_five_an_hour_per_address(env: Env) -> None:
    def new_ticket(number: int, sender: str = CUSTOMER) -> bool:
        env.ingest(customer_mail(sender, f"Question {number}", "Hello", message_id=f"q{number}@example.org"))
        ticket_id = max(env.store.ticket_ids)
        return env.actions.auto_reply(
            env.ticket(ticket_id), "acknowledge", f"ack:{ticket_id}", env.message(ticket_id, 0)
        )

    assert [new_ticket(number) for number in range(6)] == [True] * AUTOMATIC_LIMIT + [False]
    assert events(env.ticket(6).history, "automatic-skipped") == [f"acknowledge: rate limit for {CUSTOMER}"]
    assert env.outbox.message_id_of("ack:6") is None
    assert [message.direction for message in env.store.messages(6)] == ["in"]
    assert new_ticket(6, "someone.else@example.org") is True

    env.clock.advance(minutes=59)
    assert new_ticket(7) is False
    env.clock.advance(minutes=1)
    assert new_ticket(8) is True
    assert len(env.queued("acknowledge")) == AUTOMATIC_LIMIT + 2


def test_a_key_sent_before_is_not_rate_limited_again(env: Env) -> None:
    """A replay of an automatic reply that went out must not use up the address's allowance."""
    env.ingest(first_mail())
    env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, env.message(index=0))
    stamps = env.store.automatic_sent(CUSTOMER)
    for _ in range(AUTOMATIC_LIMIT + 1):
        env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, env.message(index=0))
    assert env.store.automatic_sent(CUSTOMER) == stamps


# -- notify_owner -----------------------------------------------------------------------------


def test_notify_owner_records_the_notification_and_threads_the_next(env: Env) -> None:
    env.ingest(first_mail())
    assert env.actions.notify_owner(env.ticket(), env.message()) is True
    assert env.actions.notify_owner(env.ticket(), env.message()) is False

    [(item, first)] = env.queued()
    assert item.kind == "owner-notification"
    assert env.ticket().notifications == [item.message_id]
    assert env.store.ticket_for_message_id(item.message_id) == 1
    assert addresses(first, "To") == [OWNER]
    assert first["To"].addresses[0].display_name == "Sam Owner"
    [reply_to] = addresses(first, "Reply-To")
    assert env.tokens.ticket_in([reply_to], OWNER_PURPOSE) == 1
    assert "In-Reply-To" not in first and "References" not in first
    assert "Auto-Submitted" not in first
    assert "The lid is cracked." in text_of(first)
    assert "#close" in text_of(first)
    assert [message.direction for message in env.store.messages(1)] == ["in"], "nothing recorded"

    env.ingest(customer_mail(CUSTOMER, "Re: Teapot", "A photo.", in_reply_to="z1@example.org"))
    assert env.actions.notify_owner(env.ticket(), env.message()) is True
    [_, (second_item, second)] = env.queued()
    assert env.ticket().notifications == [item.message_id, second_item.message_id]
    assert ids(second["In-Reply-To"]) == [item.message_id]
    assert ids(second["References"]) == [item.message_id]
    assert "A photo." in text_of(second)


def test_notify_owner_without_any_customer_message_sends_nothing(env: Env) -> None:
    empty = Ticket(
        id=99, customer=CUSTOMER, subject="Nothing yet", created_at=iso(START), updated_at=iso(START)
    )
    assert env.actions.notify_owner(empty, None) is False
    assert env.queued() == []


def test_an_escalation_is_a_new_message_with_its_own_template_and_key(env: Env) -> None:
    env.ingest(first_mail())
    env.actions.notify_owner(env.ticket(), env.message())

    sent = env.actions.notify_owner(
        env.ticket(), None, "escalation", "rule:escalate:1:w1:0", escalation_level=1
    )

    assert sent is True
    [_, (item, reminder)] = env.queued()
    assert item.kind == "escalation"
    assert "reminder 1" in str(reminder["Subject"])
    assert env.ticket().notifications[-1] == item.message_id, "the owner may answer the reminder"


def test_the_owner_notification_lists_attachments_and_earlier_tickets(env: Env) -> None:
    env.ingest(customer_mail(CUSTOMER, "Old order", "Hello", message_id="old@example.org"))
    env.clock.advance(days=3)
    env.ingest(first_mail(attachments=[("lid.jpg", "image/jpeg", b"\xff\xd8" + b"x" * 2000)]))
    env.actions.notify_owner(env.ticket(2), env.message(2))
    [(_, notification)] = env.queued()
    text = text_of(notification)
    assert "lid.jpg" in text
    assert "#1 Old order" in text


# -- relay_reply ------------------------------------------------------------------------------


def converse(env: Env, owner_text: str = "A new lid is on its way.") -> tuple[StoredMessage, bytes]:
    """Zoë writes, a colleague joins, Zoë writes again, her auto-reply follows, the owner answers."""
    env.ingest(first_mail())
    env.actions.notify_owner(env.ticket(), env.message())
    env.ingest(
        customer_mail("colleague@example.org", "Re: Teapot", "Same here.", in_reply_to="z1@example.org")
    )
    env.ingest(
        customer_mail(
            CUSTOMER,
            "Re: Teapot",
            "Any news?",
            message_id="z2@example.org",
            in_reply_to="z1@example.org",
            references=["z1@example.org"],
        )
    )
    env.ingest(
        customer_mail(
            CUSTOMER,
            "Out of office",
            "I am away.",
            in_reply_to="z2@example.org",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert env.message().automatic is not None
    raw = env.owner_reply(
        owner_text,
        attachments=[
            ("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice"),
            ("photo.png", "image/png", b"\x89PNG"),
        ],
    )
    env.ingest(raw)
    owner_message = env.message()
    assert owner_message.direction == "out", "a relayed answer is recorded as sent"
    return owner_message, raw


def test_relay_reply_threads_to_the_last_customer_message_with_the_assigned_id(env: Env) -> None:
    owner_message, raw = converse(env)
    plan = plan_reply(env.store.messages(1)[-1].text)

    assert env.actions.relay_reply(env.ticket(), owner_message, plan.body, raw) is True
    assert env.actions.relay_reply(env.ticket(), owner_message, plan.body, raw) is False

    [(item, reply)] = env.queued("reply")
    assert item.message_id == owner_message.message_id
    assert owner_message.message_id.endswith("@acme.example")
    assert ids(reply["Message-ID"]) == [owner_message.message_id]
    assert ids(reply["In-Reply-To"]) == ["z2@example.org"]
    assert ids(reply["References"]) == ["z1@example.org", "z2@example.org"]
    assert addresses(reply, "To") == [CUSTOMER]
    assert addresses(reply, "Cc") == ["colleague@example.org"]
    assert item.recipients == [CUSTOMER, "colleague@example.org"]
    assert "Auto-Submitted" not in reply
    assert env.tokens.ticket_in(addresses(reply, "Reply-To")) == 1
    assert reply["Subject"] == "Re: Teapot arrived broken [#1]"
    text = text_of(reply)
    assert text.startswith("Hello Zoë,\n\nA new lid is on its way.")
    files = {part.get_filename(): part.get_content() for part in reply.iter_attachments()}
    assert files == {"invoice.pdf": b"%PDF-1.4 invoice", "photo.png": b"\x89PNG"}


def test_relay_reply_without_cc_when_participants_are_not_copied(tmp_path: Path) -> None:
    env = Env(tmp_path, owner={"cc_participants": False})
    owner_message, raw = converse(env)
    env.actions.relay_reply(env.ticket(), owner_message, "Thanks.", raw)
    [(item, reply)] = env.queued("reply")
    assert "Cc" not in reply
    assert item.recipients == [CUSTOMER]


def test_relay_reply_without_raw_sends_no_attachments(env: Env) -> None:
    owner_message, _ = converse(env)
    env.actions.relay_reply(env.ticket(), owner_message, "Thanks.", None)
    [(_, reply)] = env.queued("reply")
    assert list(reply.iter_attachments()) == []


# -- attachments_of ---------------------------------------------------------------------------


def related_reply(*, thunderbird: bool) -> bytes:
    """A reply with a pasted image: Gmail puts related outside alternative, Thunderbird inside."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"], message["To"], message["Subject"] = OWNER, BUSINESS, "Re: x"
    html = '<p>See <img src="cid:shot@owner"></p>'
    if thunderbird:
        message.set_content("See the screenshot.")
        message.add_alternative(html, subtype="html")
        body = message.get_body(("html",))
        assert isinstance(body, EmailMessage)
        body.add_related(b"\x89PNG shot", maintype="image", subtype="png", cid="<shot@owner>")
    else:
        message.set_content(html, subtype="html")
        message.add_related(b"\x89PNG shot", maintype="image", subtype="png", cid="<shot@owner>")
    return message.as_bytes()


def test_attachments_of_passes_files_on_and_skips_the_text() -> None:
    raw = customer_mail(
        OWNER,
        "Re: x",
        "Here you go.",
        html="<p>Here you go.</p>",
        attachments=[
            ("../../etc/invoice.pdf", "application/pdf", b"%PDF-1.4"),
            ("notes.txt", "text/plain", b"plain notes"),
        ],
    )
    found = attachments_of(raw)
    assert [(item.filename, item.content_type, item.payload) for item in found] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4"),
        ("notes.txt", "text/plain", b"plain notes"),
    ]


def test_attachments_of_a_plain_message_is_empty() -> None:
    assert attachments_of(customer_mail(OWNER, "Re: x", "Just text.")) == []
    assert attachments_of(b"not a message at all") == []


def test_attachments_of_keeps_an_inline_image_with_its_content_id() -> None:
    [image] = attachments_of(related_reply(thunderbird=False))
    assert (image.filename, image.content_type, image.payload) == (
        "attachment.png",
        "image/png",
        b"\x89PNG shot",
    )
    assert image.content_id == "shot@owner"


def test_attachments_of_finds_an_inline_image_inside_the_alternative() -> None:
    [image] = attachments_of(related_reply(thunderbird=True))
    assert image.payload == b"\x89PNG shot" and image.content_id == "shot@owner"


# -- owner mail: warnings and command results -------------------------------------------------


def test_warn_owner_tells_the_owner_once_per_quarantined_message(env: Env) -> None:
    env.actions.warn_owner("q-123", "owner@acme.example", "Re: refund everyone", "no valid reply token")
    env.actions.warn_owner("q-123", "owner@acme.example", "Re: refund everyone", "no valid reply token")
    [(item, warning)] = env.queued()
    assert item.kind == "owner-warning" and item.ticket_id is None
    assert addresses(warning, "To") == [OWNER]
    assert warning["Auto-Submitted"] == "auto-replied"
    assert "refund everyone" not in str(warning["Subject"]), "forged text stays out of the subject"
    text = text_of(warning)
    assert "q-123" in text and "Re: refund everyone" in text and "no valid reply token" in text


def test_command_result_reports_the_errors_with_the_original_text(env: Env) -> None:
    env.ingest(first_mail())
    env.actions.notify_owner(env.ticket(), env.message())
    notification = env.ticket().notifications[-1]
    original = "Sure, refunded.\n#refnd 20"
    plan = plan_reply(original)
    results = [{"command": "#refnd 20", "ok": False, "detail": plan.errors[0]}]
    env.actions.command_result(env.ticket(), "command-result:1:9", plan, results, original)

    [(_, result)] = env.queued("command-result")
    assert addresses(result, "To") == [OWNER]
    assert env.tokens.ticket_in(addresses(result, "Reply-To"), OWNER_PURPOSE) == 1
    assert ids(result["References"]) == [notification]
    text = text_of(result)
    assert "#refnd 20: unknown command" in text
    assert "> Sure, refunded." in text


# -- delivery failures ------------------------------------------------------------------------


def test_a_permanent_failure_to_a_customer_is_reported_to_the_owner(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    env = Env(tmp_path, smtp_sink)
    env.ingest(first_mail())
    env.actions.auto_reply(env.ticket(), "acknowledge", ACK_KEY, env.message())
    smtp_sink.fail_next(550)
    [failed] = env.send(smtp_sink).failed

    env.actions.delivery_failure(failed)
    env.actions.delivery_failure(failed)

    [(item, report)] = env.queued()
    assert item.kind == "delivery-failure" and item.ticket_id == 1
    assert addresses(report, "To") == [OWNER]
    assert report["Auto-Submitted"] == "auto-replied"
    assert env.tokens.ticket_in(addresses(report, "Reply-To"), OWNER_PURPOSE) == 1
    assert CUSTOMER in str(report["Subject"])
    text = text_of(report)
    assert "550 5.1.1 no such user" in text and "ticket #1" in text
    assert events(env.ticket().history, "delivery-failed")[0].startswith(f"{CUSTOMER}: SMTP 550")


def test_a_failure_without_a_ticket_is_reported_without_a_reply_token(env: Env) -> None:
    item = OutboxItem(
        id="f" * 24,
        key="digest:1",
        kind="thank-you",
        ticket_id=None,
        message_id="m@acme.example",
        sender=BUSINESS,
        recipients=["kim@example.org"],
        subject="Thank you",
        created_at=iso(START),
        next_attempt_at=iso(START),
        attempts=15,
        last_error="SMTP 451 try again later",
    )
    env.actions.delivery_failure(item)
    [(queued, report)] = env.queued()
    assert queued.ticket_id is None and "Reply-To" not in report
    assert "Attempts: 15" in text_of(report)


def test_a_failure_of_mail_to_the_owner_is_never_reported_to_the_owner(env: Env) -> None:
    env.ingest(first_mail())
    env.actions.notify_owner(env.ticket(), env.message())
    [(item, _)] = env.queued()
    item.last_error = "SMTP 550 mailbox full"
    history = env.ticket().history

    env.actions.delivery_failure(item)

    assert len(env.queued()) == 1, "no delivery-failure mail about the owner's own mail"
    assert env.ticket().history == history


# -- the dispatcher's wiring, as Helpdesk builds it --------------------------------------------


def test_env_is_wired_like_the_daemon(env: Env) -> None:
    """The dispatcher drives these same actions with the shipped rules (see tests/test_dispatch.py)."""
    env.ingest(first_mail())
    assert env.dispatcher.run() == 2
    assert sorted(item.kind for item, _ in env.queued()) == ["acknowledge", "owner-notification"]
    assert env.ticket().priority == "high", "the shipped priority rule saw 'broken'"
