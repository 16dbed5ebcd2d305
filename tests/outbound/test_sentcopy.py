"""Tests of ``helpdesk.outbound.sentcopy``: the spool of sent mail and its copies in the Sent folder.

Sending goes through the real transport to the aiosmtpd sink, copies go to
the suite's real Dovecot (its accounts have a Sent folder). Crashes are
simulated by stopping after a step and running the next step afresh, as a
restarted daemon does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient import RECENT, SEEN

from helpdesk.config import ImapConfig, SmtpConfig
from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.intake.fetch import Mailbox
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import Outbox, SendReport
from helpdesk.outbound.sentcopy import SPOOL, CopyingTransport, SentCopies, message_id_of
from helpdesk.outbound.smtp import SmtpTransport
from tests.corpus import customer_mail
from tests.dovecot import DovecotServer

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
BUSINESS = "support@acme.example"


class SimulatedCrash(Exception):
    """Raised where the process would have died."""


def sent_mail(number: int) -> bytes:
    return customer_mail(BUSINESS, f"Re: Order {number}", f"Answer {number}.", to="kim@example.org",
                         message_id=f"copy-{number}@acme.example")


def smtp_config(sink: SmtpSink) -> SmtpConfig:
    return SmtpConfig(host=sink.hostname, port=sink.port, security="none", username=None, password=None,
                      ca_file=None)


def send_due(outbox: Outbox, transport: SmtpTransport) -> SendReport:
    """One sending pass over ``transport``, as the daemon makes it."""

    async def run() -> SendReport:
        try:
            return await outbox.send_due(transport, NOW)
        finally:
            await transport.close()

    return asyncio.run(run())


def sent_folder(account: ImapMailbox) -> list[tuple[str, tuple[bytes, ...]]]:
    """(Message-ID, flags but \\Recent) of every message in the account's Sent folder."""
    with account.session() as imap:
        imap.select_folder("Sent", readonly=True)
        found = imap.fetch(imap.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "FLAGS"])
    return [
        (message_id_of(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]), tuple(set(data[b"FLAGS"]) - {RECENT}))
        for _, data in sorted(found.items())
    ]


@pytest.fixture
def account(dovecot_server: DovecotServer) -> ImapMailbox:
    return dovecot_server.new_mailbox()


@pytest.fixture
def imap(account: ImapMailbox) -> Iterator[Mailbox]:
    config = ImapConfig(host=account.host, port=account.port, security="none", username=account.username,
                        password=account.password, ca_file=None)
    mailbox = Mailbox(config)
    mailbox.connect()
    yield mailbox
    mailbox.close()


# -- the spool ------------------------------------------------------------------------------


def test_message_id_of_reads_the_header_without_brackets() -> None:
    assert message_id_of(sent_mail(1)) == "copy-1@acme.example"
    assert message_id_of(b"Subject: none\r\n\r\nbody\r\n") == ""


def test_a_message_is_spooled_once_under_its_message_id(tmp_path: Path) -> None:
    copies = SentCopies(tmp_path, enabled=True)
    first = copies.keep(sent_mail(1))
    # Sent again later (to recipients refused for now): the same copy, not a second one.
    again = copies.keep(sent_mail(1).replace(b"Answer 1.", b"Answer 1!"))
    second = copies.keep(sent_mail(2))
    assert first == again != second
    assert first.parent == tmp_path / SPOOL
    assert copies.waiting() == [first, second]
    assert first.read_bytes() == sent_mail(1).replace(b"Answer 1.", b"Answer 1!")
    assert first.stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in (tmp_path / SPOOL).iterdir()) == sorted([first.name, second.name])


def test_temporaries_of_a_crashed_write_are_removed(tmp_path: Path) -> None:
    (tmp_path / SPOOL).mkdir()
    (tmp_path / SPOOL / f".x.eml.{os.getpid()}.tmp").write_bytes(b"torn")
    copies = SentCopies(tmp_path, enabled=True)
    assert list((tmp_path / SPOOL).iterdir()) == [] and copies.waiting() == []


# -- the transport --------------------------------------------------------------------------


def test_only_the_wanted_copies_use_the_copying_transport(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    config = smtp_config(smtp_sink)
    assert type(SentCopies(tmp_path, enabled=False).transport(config)) is SmtpTransport
    assert isinstance(SentCopies(tmp_path, enabled=True).transport(config), CopyingTransport)


def test_what_the_server_accepted_is_spooled_and_nothing_else(tmp_path: Path) -> None:
    with SmtpSink(refuse={"gone@example.org": "550 5.1.1 no such user"}) as sink:
        outbox = Outbox(tmp_path, "Acme Tea Co.", BUSINESS)
        ids = {}
        for number, to in ((1, "kim@example.org"), (2, "gone@example.org"), (3, "lee@example.org")):
            outbound = Outbound(kind="reply", to=(("", to),), subject=f"Order {number}", text="Hi")
            ids[number], _ = outbox.enqueue(f"reply:{number}", outbound, NOW)
        copies = SentCopies(tmp_path, enabled=True)
        report = send_due(outbox, copies.transport(smtp_config(sink)))
    assert [item.message_id for item in report.sent] == [ids[1], ids[3]]
    assert [message_id_of(path.read_bytes()) for path in copies.waiting()] == [ids[1], ids[3]]
    assert [mail.data for mail in sink.messages] == [path.read_bytes() for path in copies.waiting()]


def test_the_copy_is_on_disk_before_the_delivery_is_recorded(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = Outbox(tmp_path, "Acme Tea Co.", BUSINESS)
    outbound = Outbound(kind="reply", to=(("", "kim@example.org"),), subject="Order", text="Hi", ticket_id=1)
    message_id, _ = outbox.enqueue("reply:1", outbound, NOW)

    def crash(item: Any) -> None:
        raise SimulatedCrash

    monkeypatch.setattr(outbox, "_mark_sent", crash)
    copies = SentCopies(tmp_path, enabled=True)
    with pytest.raises(SimulatedCrash):
        send_due(outbox, copies.transport(smtp_config(smtp_sink)))
    assert len(smtp_sink.messages) == 1
    assert [message_id_of(path.read_bytes()) for path in SentCopies(tmp_path, enabled=True).waiting()] == [
        message_id
    ]


# -- saving the copies ----------------------------------------------------------------------


def test_each_copy_is_appended_once_flagged_seen(tmp_path: Path, account: ImapMailbox, imap: Mailbox) -> None:
    copies = SentCopies(tmp_path, enabled=True)
    copies.keep(sent_mail(1))
    copies.keep(sent_mail(2))

    assert copies.save(imap, "Sent") == 2

    assert sent_folder(account) == [("copy-1@acme.example", (SEEN,)), ("copy-2@acme.example", (SEEN,))]
    assert copies.waiting() == []
    assert copies.save(imap, "Sent") == 0
    assert len(sent_folder(account)) == 2
    # The connection is back on the (empty) inbox, where IDLE waits.
    assert imap.new_uids(0) == []


def test_a_copy_appended_just_before_a_crash_is_not_appended_again(
    tmp_path: Path, account: ImapMailbox, imap: Mailbox
) -> None:
    copies = SentCopies(tmp_path, enabled=True)
    path = copies.keep(sent_mail(1))
    copies.keep(sent_mail(2))
    # The APPEND went through, then the process died before the spool file was removed.
    imap.append_seen("Sent", path.read_bytes())

    assert SentCopies(tmp_path, enabled=True).save(imap, "Sent") == 1

    assert [message_id for message_id, _ in sent_folder(account)] == [
        "copy-1@acme.example", "copy-2@acme.example",
    ]
    assert copies.waiting() == []


class NoImap:
    """A connection that must not be used."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"IMAP used: {name}")


def test_without_a_sent_folder_the_copies_are_dropped(tmp_path: Path) -> None:
    copies = SentCopies(tmp_path, enabled=True)
    copies.keep(sent_mail(1))
    assert copies.save(NoImap(), None) == 0
    assert copies.waiting() == []
    assert copies.save(NoImap(), None) == 0
