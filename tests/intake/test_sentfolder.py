"""The Sent folder watcher and the recording of answers written from the support mailbox.

Against the suite's real Dovecot (whose accounts have a Sent folder flagged
``\\Sent``), with the ingestor and the store as the daemon builds them; the
customer's mail is ingested directly, the owner's answers are appended to
the Sent folder the way a mail client saves them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpdesk.config import Config, load_config
from helpdesk.demo.imapserver import ImapMailbox, PymapServer
from helpdesk.intake.archive import MailArchive
from helpdesk.intake.fetch import FetchedMessage, Mailbox
from helpdesk.intake.ingest import Ingestor
from helpdesk.intake.quarantine import Quarantine
from helpdesk.intake.sentfolder import SentFolder
from helpdesk.outbound.sentcopy import SentCopies
from helpdesk.owner.tokens import ReplyTokens, load_secret
from helpdesk.store.records import Event
from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.dovecot import DovecotServer
from tests.helpers import BUSINESS, OWNER, write_config

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
# No test here sends mail: the [smtp] section only has to be valid.
NO_SMTP = SimpleNamespace(hostname="127.0.0.1", port=25)
CUSTOMER = "zoe@example.org"


@dataclass
class Parts:
    """The daemon's intake parts on one fresh account."""

    account: ImapMailbox
    config: Config
    store: Store
    ingestor: Ingestor
    quarantine: Quarantine
    imap: Mailbox
    sent: SentFolder

    def customer_writes(self) -> int:
        """Ingest a customer's message (as if fetched from the inbox); returns its ticket."""
        subject, text = "Teapot arrived broken", "The lid is cracked."
        raw = customer_mail(CUSTOMER, subject, text, name="Zoë Martin", message_id="z1@example.org")
        self.ingestor.ingest_batch("INBOX", 1, [FetchedMessage(1, raw)])
        ticket_id = self.store.ticket_for_message_id("z1@example.org")
        assert ticket_id is not None
        return ticket_id

    def owner_sends(
        self, body: str, *, to: str = CUSTOMER, subject: str = "Re: Teapot arrived broken", **fields: Any
    ) -> bytes:
        """Put an answer written in the support mailbox into its Sent folder."""
        raw = customer_mail(BUSINESS, subject, body, name="Acme Tea Co.", to=to, **fields)
        self.account.append(raw, folder="Sent")
        return raw

    def events(self) -> list[Event]:
        """The ``owner.replied`` events waiting for the dispatcher."""
        return [event for event in self.store.pending_events() if event.name == "owner.replied"]


def _parts(tmp_path: Path, account: ImapMailbox, **imap: object) -> Parts:
    config = load_config(write_config(tmp_path, account, NO_SMTP, imap=imap))
    data = config.storage_path
    data.mkdir(parents=True)
    store = Store(data)
    quarantine = Quarantine(data)
    tokens = ReplyTokens(load_secret(data), BUSINESS)
    ingestor = Ingestor(config, store, MailArchive(data), quarantine, tokens, lambda: NOW)
    imap_box = Mailbox(config.imap)
    imap_box.connect()
    sent = SentFolder(config.imap, store, ingestor)
    return Parts(account, config, store, ingestor, quarantine, imap_box, sent)


@pytest.fixture
def parts(tmp_path: Path, dovecot_server: DovecotServer) -> Iterator[Parts]:
    account = dovecot_server.new_mailbox()
    running = _parts(tmp_path, account)
    yield running
    running.imap.close()
    running.store.close()


def test_the_folder_is_found_by_its_sent_flag(parts: Parts) -> None:
    assert parts.sent.resolve(parts.imap) == "Sent"
    assert parts.sent.name == "Sent"


def test_first_sight_remembers_the_highest_uid_and_records_nothing(parts: Parts) -> None:
    parts.customer_writes()
    parts.owner_sends("An old answer.", in_reply_to="z1@example.org")
    parts.owner_sends("Another old one.", in_reply_to="z1@example.org")

    report = parts.sent.watch(parts.imap)

    assert report.messages_recorded == 0
    state = parts.store.folder_state("Sent")
    assert state is not None and state.last_uid == 2
    assert state.uidvalidity == parts.account.uidvalidity("Sent")
    assert len(parts.store.messages(1)) == 1
    assert parts.events() == []


def test_an_answer_from_the_mailbox_is_recorded_once_with_its_commands_to_apply(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    quote = "On Tue, Zoë wrote:\n> The lid is cracked.\n"
    body = f"A new lid is on its way.\n#priority high\n\n-- \nSam\n\n{quote}"
    parts.owner_sends(body, in_reply_to="z1@example.org", references=["z1@example.org"],
                      message_id="a1@acme.example")

    report = parts.sent.watch(parts.imap)

    assert report.messages_recorded == 1
    answer = parts.store.messages(ticket_id)[-1]
    assert (answer.direction, answer.message_id, answer.sender) == ("out", "a1@acme.example", BUSINESS)
    assert answer.text == "A new lid is on its way.\n#priority high"
    assert answer.source == f"Sent/{parts.account.uidvalidity('Sent')}/1"
    assert answer.archive_path is not None
    assert (parts.config.storage_path / answer.archive_path).read_bytes().startswith(b"From:")
    ticket = parts.store.ticket(ticket_id)
    assert ticket is not None and ticket.last_owner_at == NOW.isoformat()
    assert ticket.history[-1]["event"] == "owner-replied"
    assert ticket.history[-1]["detail"] == "answered from the support mailbox"
    [event] = parts.events()
    assert (event.ticket_id, event.message_id) == (ticket_id, answer.id)
    assert event.data == {"text": answer.text, "relay": False}
    state = parts.store.folder_state("Sent")
    assert state is not None and state.last_uid == 1

    # The next cycle finds nothing new; a refetch of the same UID is a duplicate.
    assert parts.sent.watch(parts.imap).messages_recorded == 0
    uidvalidity = parts.account.uidvalidity("Sent")
    again = parts.ingestor.ingest_sent("Sent", uidvalidity, [FetchedMessage(1, b"ignored")])
    assert (again.duplicates, again.messages_recorded) == (1, 0)
    assert len(parts.store.messages(ticket_id)) == 2 and len(parts.events()) == 1


def test_the_connection_is_back_on_the_inbox_after_the_watch(parts: Parts) -> None:
    parts.account.append(customer_mail(CUSTOMER, "In the inbox", "Hello"))
    parts.sent.watch(parts.imap)
    for number in range(3):
        parts.owner_sends(f"Answer {number}")
    parts.sent.watch(parts.imap)
    # new_uids searches the selected folder: one message in INBOX, three in Sent.
    assert parts.imap.new_uids(0) == [1]


def test_what_is_no_answer_is_skipped_with_its_reason(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    parts.owner_sends("A brand-new conversation started from the mailbox.", to="newcomer@example.net",
                      subject="Our spring catalogue")
    parts.owner_sends("Please send Zoë a new lid.", to="supplier@example.net",
                      subject="Fwd: Teapot arrived broken", references=["z1@example.org"])
    parts.account.append(
        customer_mail(OWNER, "Re: Teapot arrived broken", "Written as the owner", to=CUSTOMER,
                      in_reply_to="z1@example.org"),
        folder="Sent",
    )
    parts.owner_sends("I am away until Monday.", in_reply_to="z1@example.org",
                      headers={"Auto-Submitted": "auto-replied"})

    report = parts.sent.watch(parts.imap)

    assert (report.skipped, report.messages_recorded) == (4, 0)
    reasons = [entry["reason"] for entry in parts.store.skipped]
    assert reasons[0] == "sent from the support mailbox, answering no ticket"
    assert reasons[1] == f"sent from the support mailbox to no one on ticket #{ticket_id}"
    assert reasons[2] == f"in the Sent folder, not from {BUSINESS}"
    assert reasons[3].startswith("automatic mail in the Sent folder (")
    assert all(entry["source"].startswith("Sent/") for entry in parts.store.skipped)
    assert len(parts.store.messages(ticket_id)) == 1 and parts.events() == []


def test_our_own_mail_is_skipped_quietly(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    # The daemon's acknowledgement is on the ticket under its Message-ID, as the actions record it.
    acknowledgement = replace(parts.store.messages(ticket_id)[0], id=parts.store.new_message_id(),
                              direction="out", message_id="ack1@acme.example", sender=BUSINESS)
    parts.store.add_message(acknowledgement)
    parts.owner_sends("We have your message.", in_reply_to="z1@example.org", message_id="ack1@acme.example")
    # Its digest to the owner is on no ticket: the header says whose it is.
    parts.owner_sends("Your digest", to=OWNER, subject="Weekly digest", headers={"X-Helpdesk-Kind": "digest"})

    report = parts.sent.watch(parts.imap)

    assert (report.duplicates, report.skipped, report.messages_recorded) == (2, 0, 0)
    assert parts.store.skipped == []


def test_a_subject_tag_threads_when_a_recipient_takes_part(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    parts.owner_sends("About your teapot: a new lid is on its way.", subject=f"Your teapot [#{ticket_id}]")
    parts.owner_sends("Not for you.", to="stranger@example.net", subject=f"Hello [#{ticket_id}]")

    report = parts.sent.watch(parts.imap)

    assert (report.messages_recorded, report.skipped) == (1, 1)
    assert parts.store.messages(ticket_id)[-1].text == "About your teapot: a new lid is on its way."


def test_a_bad_message_is_quarantined_and_the_watch_goes_on(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    parts.account.append(b"this is not mail at all\r\n", folder="Sent")
    parts.owner_sends("Sorted.", in_reply_to="z1@example.org")

    report = parts.sent.watch(parts.imap)

    assert (report.quarantined, report.messages_recorded) == (1, 1)
    [entry] = parts.quarantine.entries()
    assert entry.source == f"Sent/{parts.account.uidvalidity('Sent')}/1"
    assert "not an e-mail message" in entry.reason
    assert parts.store.messages(ticket_id)[-1].text == "Sorted."
    state = parts.store.folder_state("Sent")
    assert state is not None and state.last_uid == 2


def test_a_changed_uidvalidity_rescans_quietly(parts: Parts) -> None:
    ticket_id = parts.customer_writes()
    parts.sent.watch(parts.imap)
    known = parts.owner_sends("First answer.", in_reply_to="z1@example.org", message_id="a1@acme.example")
    parts.sent.watch(parts.imap)
    assert len(parts.events()) == 1

    # The folder is deleted and created again: it holds the known answer and one never seen.
    parts.imap.close()
    parts.account.recreate_folder("Sent")
    parts.account.append(known, folder="Sent")
    parts.owner_sends("Second answer, #close", in_reply_to="z1@example.org", message_id="a2@acme.example")
    parts.imap.connect()

    report = parts.sent.watch(parts.imap)

    assert (report.duplicates, report.messages_recorded) == (1, 1)
    assert [message.message_id for message in parts.store.messages(ticket_id)][-2:] == [
        "a1@acme.example", "a2@acme.example",
    ]
    # Re-scanned mail raises no event: nothing is applied or sent for it.
    assert len(parts.events()) == 1
    state = parts.store.folder_state("Sent")
    assert state is not None and (state.uidvalidity, state.last_uid) == (parts.account.uidvalidity("Sent"), 2)
    assert parts.sent.watch(parts.imap).messages_recorded == 0


def test_watch_sent_off_reads_nothing(tmp_path: Path, dovecot_server: DovecotServer) -> None:
    parts = _parts(tmp_path, dovecot_server.new_mailbox(), watch_sent=False)
    try:
        parts.owner_sends("An answer.")
        assert parts.sent.watch(parts.imap).messages_recorded == 0
        assert parts.store.folder_state("Sent") is None
        assert parts.sent.resolve(parts.imap) is None
    finally:
        parts.imap.close()
        parts.store.close()


def test_a_configured_folder_that_does_not_exist_is_refused(
    tmp_path: Path, dovecot_server: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    parts = _parts(tmp_path, dovecot_server.new_mailbox(), sent_folder="Sent Items")
    try:
        with caplog.at_level(logging.WARNING, logger="helpdesk.intake.sentfolder"):
            assert parts.sent.watch(parts.imap).messages_recorded == 0
            parts.sent.watch(parts.imap)
        [record] = caplog.records
        assert "[imap] sent_folder 'Sent Items' does not exist on the server" in record.getMessage()
        parts.account.create_folder("Sent Items")
        assert parts.sent.resolve(parts.imap) is None, "looked up once per start"
    finally:
        parts.imap.close()
        parts.store.close()


def test_without_a_sent_folder_the_watch_is_off_and_says_so_once(
    tmp_path: Path, pymap_server: PymapServer, caplog: pytest.LogCaptureFixture
) -> None:
    parts = _parts(tmp_path, pymap_server.new_mailbox())
    try:
        with caplog.at_level(logging.INFO, logger="helpdesk.intake.sentfolder"):
            for _ in range(3):
                assert parts.sent.watch(parts.imap).messages_recorded == 0
        [record] = caplog.records
        assert record.levelno == logging.INFO
        assert record.getMessage().startswith("no Sent folder (\\Sent flag) in the support mailbox")
        assert parts.store.folder_state("Sent") is None
    finally:
        parts.imap.close()
        parts.store.close()
        parts.account.close()


def test_a_folder_the_server_refuses_never_stops_the_cycle(
    tmp_path: Path, dovecot_server: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    account = dovecot_server.new_mailbox()
    account.create_folder("Replies")
    account.append(customer_mail(CUSTOMER, "In the inbox", "Hello"))
    parts = _parts(tmp_path, account, sent_folder="Replies", save_sent=True)
    try:
        assert parts.sent.resolve(parts.imap) == "Replies"
        copies = SentCopies(parts.config.storage_path, enabled=True)
        copies.keep(customer_mail(BUSINESS, "Re: Order", "Sent.", to=CUSTOMER))
        # Someone deletes the folder in their mail client while the daemon runs.
        with account.session() as imap:
            imap.delete_folder("Replies")

        with caplog.at_level(logging.WARNING, logger="helpdesk.intake.sentfolder"):
            assert parts.sent.save_copies(parts.imap, copies) == 0
            assert len(copies.waiting()) == 1, "kept for later"
            assert parts.imap.new_uids(0) == [1], "back on the inbox"
            assert parts.sent.watch(parts.imap).messages_recorded == 0
        refused, gone = [record.getMessage() for record in caplog.records]
        assert refused.startswith("Sent folder refused by the server (Replies: ")
        assert gone.startswith("[imap] sent_folder 'Replies' does not exist on the server")
        assert parts.imap.new_uids(0) == [1]
    finally:
        parts.imap.close()
        parts.store.close()
