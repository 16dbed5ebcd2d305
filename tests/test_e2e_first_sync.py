"""End to end: the first start on a mailbox that already holds mail.

Real IMAP server (Dovecot in CI) and SMTP sink, the real daemon cycle
(``run --once``) with the real clock. Mail that was there before the first
start is history: recorded, never answered; the owner gets one summary.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.config import load_config
from helpdesk.daemon import Helpdesk
from helpdesk.intake.fetch import Mailbox
from helpdesk.intake.quarantine import Quarantine
from tests.corpus import customer_mail, generate_corpus
from tests.helpers import BUSINESS, OWNER, helpdesk, open_store, run_once, write_config
from tests.test_e2e_outbound import bare, parse, text_of

THREE_YEARS_AGO = datetime.now(UTC) - timedelta(days=3 * 365)
LAST_WEEK = datetime.now(UTC) - timedelta(days=6)


def config(tmp_path: Path, mailbox, sink, **imap) -> Path:
    return write_config(tmp_path, mailbox, sink, imap={"first_sync": "history", **imap})


def old_inbox(mailbox) -> None:
    """20 messages from three years ago (three customers) and 2 unanswered ones from last week."""
    for number in range(20):
        customer = ("ann", "bob", "cat")[number % 3]
        mailbox.append(
            customer_mail(
                f"{customer}@example.org",
                f"Order {1000 + number} question",
                f"Where is order {1000 + number}?",
                name=customer.title(),
                date=THREE_YEARS_AGO + timedelta(hours=number),
                message_id=f"old{number}@example.org",
            )
        )
    mailbox.append(
        customer_mail(
            "dee@example.org",
            "Broken lid",
            "The lid broke.",
            name="Dee Day",
            date=LAST_WEEK,
            message_id="lid@x.org",
        )
    )
    mailbox.append(
        customer_mail(
            "eve@example.org",
            "Refund please",
            "I want my money back.",
            date=LAST_WEEK + timedelta(hours=2),
            message_id="refund@x.org",
        )
    )


def delivered(sink) -> list[EmailMessage]:
    return [parse(mail.data) for mail in sink.messages]


def kinds(sink) -> set[str]:
    return {str(mail["X-Helpdesk-Kind"]) for mail in delivered(sink)}


def test_first_start_sends_customers_nothing_and_the_owner_one_summary(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    old_inbox(mailbox)
    path = config(tmp_path, mailbox, smtp_sink)
    run_once(path)

    mails = delivered(smtp_sink)
    assert [str(mail["To"]) for mail in mails] == [f"Sam Owner <{OWNER}>"]
    [summary] = mails
    assert summary["X-Helpdesk-Kind"] == "import-summary"
    assert summary["Auto-Submitted"] == "auto-replied"
    text = text_of(summary)
    assert "22 messages in 22 conversations with 5 customers" in text
    assert "20 closed (answered, or quiet for 30 days), 2 left open" in text
    assert "2 conversations waiting" in str(summary["Subject"])

    store = open_store(path)
    tickets = {ticket.subject: ticket for ticket in store.tickets()}
    assert len(tickets) == 22
    assert {ticket.status for subject, ticket in tickets.items() if subject.startswith("Order")} == {"closed"}
    lid, refund = tickets["Broken lid"], tickets["Refund please"]
    assert (lid.status, refund.status) == ("open", "open")
    # Each waiting conversation is listed oldest first, with its age and its owner reply address.
    assert text.index(f"#{lid.id} Broken lid") < text.index(f"#{refund.id} Refund please")
    assert "Dee Day <dee@example.org>, waiting 6 days" in text
    for ticket in (lid, refund):
        assert f"{BUSINESS.split('@')[0]}+t{ticket.id}-" in text
    # Imported tickets are dated by their mail, not by the import.
    assert lid.created_at[:10] == LAST_WEEK.date().isoformat()
    assert store.customer("ann@example.org").first_contact[:4] == str(THREE_YEARS_AGO.year)
    assert store.pending_events() == []

    # A second cycle sends nothing more: no acknowledgement, no escalation, no second summary.
    run_once(path)
    assert len(smtp_sink.messages) == 1

    # The next new message is acknowledged and notified as usual.
    mailbox.append(customer_mail("fay@example.org", "New question", "Do you ship to Norway?"))
    run_once(path)
    sent = sorted((str(mail["X-Helpdesk-Kind"]), str(mail["To"])) for mail in delivered(smtp_sink)[1:])
    assert sent == [("acknowledge", "fay@example.org"), ("owner-notification", f"Sam Owner <{OWNER}>")]


def test_the_owner_answers_a_waiting_conversation_from_the_summary(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    old_inbox(mailbox)
    path = config(tmp_path, mailbox, smtp_sink)
    run_once(path)
    [summary] = delivered(smtp_sink)
    lid = next(ticket for ticket in open_store(path).tickets() if ticket.subject == "Broken lid")
    address = next(word for word in text_of(summary).split() if word.startswith(f"support+t{lid.id}-"))
    mailbox.append(
        customer_mail(
            OWNER,
            "Re: Broken lid",
            "A new lid is on its way.\n\n-- \nSam",
            name="Sam Owner",
            to=address,
            in_reply_to=bare(summary["Message-ID"]),
        )
    )
    run_once(path)
    [relayed] = delivered(smtp_sink)[1:]
    assert relayed["X-Helpdesk-Kind"] == "reply"
    assert str(relayed["To"]) == "Dee Day <dee@example.org>"
    assert "A new lid is on its way." in text_of(relayed)


def test_answered_and_stale_conversations_are_closed_and_not_listed(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    question = customer_mail(
        "gus@example.org", "Gift wrap?", "Can you gift wrap?", message_id="q1@example.org", date=LAST_WEEK
    )
    answer = customer_mail(
        BUSINESS,
        "Re: Gift wrap?",
        "Yes, we can.",
        to="gus@example.org",
        in_reply_to="q1@example.org",
        references=["q1@example.org"],
        date=LAST_WEEK + timedelta(hours=1),
    )
    stale = customer_mail(
        "hal@example.org", "Opening hours", "When are you open?", date=datetime.now(UTC) - timedelta(days=45)
    )
    for raw in (question, answer, stale):
        mailbox.append(raw)
    path = config(tmp_path, mailbox, smtp_sink)
    run_once(path)
    [summary] = delivered(smtp_sink)
    assert "No conversation of the last 14 days is waiting for an answer." in text_of(summary)
    store = open_store(path)
    [gift] = [ticket for ticket in store.tickets() if ticket.subject == "Gift wrap?"]
    assert gift.status == "closed"
    assert [message.direction for message in store.messages(gift.id)] == ["in", "out"]
    [hours] = [ticket for ticket in store.tickets() if ticket.subject == "Opening hours"]
    assert hours.status == "closed"


def test_a_quarantined_history_message_replayed_later_sends_nothing(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    old_inbox(mailbox)
    # Old mail with no usable sender: quarantined during the import.
    mailbox.append(b"Subject: Old question\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nHello?\r\n")
    path = config(tmp_path, mailbox, smtp_sink)
    run_once(path)
    [entry] = Quarantine(tmp_path / "data").entries()
    assert len(smtp_sink.messages) == 1
    # The owner fixes the message and replays it: it is history still, so nobody is written to.
    fixed = Quarantine(tmp_path / "data").root / f"{entry.id}.eml"
    fixed.write_bytes(b"From: Olga <olga@example.org>\r\n" + fixed.read_bytes())
    helpdesk("--config", str(path), "quarantine", "replay", entry.id)
    run_once(path)
    assert len(smtp_sink.messages) == 1
    [ticket] = [ticket for ticket in open_store(path).tickets() if ticket.customer == "olga@example.org"]
    assert ticket.imported


def test_first_sync_days_limits_the_listed_conversations(tmp_path: Path, mailbox, smtp_sink) -> None:
    old_inbox(mailbox)
    mailbox.append(customer_mail("ida@example.org", "Today", "Hello?", date=datetime.now(UTC)))
    path = config(tmp_path, mailbox, smtp_sink, first_sync_days=2)
    run_once(path)
    [summary] = delivered(smtp_sink)
    text = text_of(summary)
    assert "#23 Today" in text and "Broken lid" not in text
    assert "3 left open" in text


def test_skip_ignores_the_mail_already_there(tmp_path: Path, mailbox, smtp_sink) -> None:
    old_inbox(mailbox)
    path = config(tmp_path, mailbox, smtp_sink, first_sync="skip")
    run_once(path)
    assert smtp_sink.messages == []
    assert list(open_store(path).tickets()) == []
    mailbox.append(customer_mail("fay@example.org", "New question", "Do you ship to Norway?"))
    run_once(path)
    assert [ticket.customer for ticket in open_store(path).tickets()] == ["fay@example.org"]
    assert kinds(smtp_sink) == {"acknowledge", "owner-notification"}


def test_process_treats_the_mail_already_there_as_new(tmp_path: Path, mailbox, smtp_sink) -> None:
    mailbox.append(customer_mail("fay@example.org", "New question", "Do you ship to Norway?"))
    path = config(tmp_path, mailbox, smtp_sink, first_sync="process")
    run_once(path)
    assert kinds(smtp_sink) == {"acknowledge", "owner-notification"}


def test_since_limits_what_is_imported(tmp_path: Path, mailbox, smtp_sink) -> None:
    old_inbox(mailbox)
    since = (LAST_WEEK - timedelta(days=1)).date()
    path = config(tmp_path, mailbox, smtp_sink, since=since.isoformat())
    run_once(path)
    store = open_store(path)
    assert sorted(ticket.subject for ticket in store.tickets()) == ["Broken lid", "Refund please"]
    [summary] = delivered(smtp_sink)
    assert "2 messages in 2 conversations with 2 customers" in text_of(summary)
    # The older mail is not imported later either.
    run_once(path)
    assert len(list(open_store(path).tickets())) == 2


def test_a_uidvalidity_change_never_sends_mail_again(tmp_path: Path, mailbox, smtp_sink) -> None:
    old_inbox(mailbox)
    path = config(tmp_path, mailbox, smtp_sink)
    run_once(path)
    [summary] = delivered(smtp_sink)
    owner_address = next(word for word in text_of(summary).split() if word.startswith("support+t"))
    live = [
        customer_mail("jo@example.org", "Live one", "Hi", message_id="live@example.org"),
        # Someone else uses the owner's reply address: quarantined, and the owner warned.
        customer_mail("mallory@example.org", "Re: Broken lid", "Refund me", to=owner_address),
    ]
    for raw in live:
        mailbox.append(raw)
    run_once(path)
    sent = len(smtp_sink.messages)
    # The summary, the acknowledgement and the notification of the live one, the warning.
    expected = ["acknowledge", "import-summary", "owner-notification", "owner-warning"]
    assert sorted(kinds(smtp_sink)) == expected
    assert sent == 4
    # The folder is deleted and made again with the same mail plus one that came meanwhile.
    mailbox.recreate_folder()
    old_inbox(mailbox)
    for raw in live:
        mailbox.append(raw)
    mailbox.append(customer_mail("kay@example.org", "During the move", "Hello"))
    run_once(path)
    assert len(smtp_sink.messages) == sent
    store = open_store(path)
    assert len(list(store.tickets())) == 24
    [moved] = [ticket for ticket in store.tickets() if ticket.subject == "During the move"]
    assert moved.imported


def test_an_import_cut_short_by_a_uidvalidity_change_still_ends_in_one_summary(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    old_inbox(mailbox)
    path = config(tmp_path, mailbox, smtp_sink, batch_size=5)
    # The first start stops after one batch (as on SIGTERM) ...
    helpdesk = Helpdesk(load_config(path))
    helpdesk.stop_requested = lambda: True
    imap = Mailbox(helpdesk.config.imap)
    imap.connect()
    try:
        helpdesk.ingest_new(imap)
    finally:
        imap.close()
        helpdesk.close()
    assert len(list(open_store(path).tickets())) == 5
    # ... and the folder is recreated before the next start.
    mailbox.recreate_folder()
    old_inbox(mailbox)
    run_once(path)
    [summary] = delivered(smtp_sink)
    assert "22 messages in 22 conversations with 5 customers" in text_of(summary)
    assert "2 left open" in text_of(summary)


@pytest.mark.slow
def test_a_first_sync_of_10000_messages_sends_one_mail_and_shows_progress(
    tmp_path: Path, mailbox, smtp_sink, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = generate_corpus(10_000, seed=11)
    mailbox.append_many(mail.raw for mail in corpus)
    path = config(tmp_path, mailbox, smtp_sink)
    with caplog.at_level(logging.INFO, logger="helpdesk"):
        run_once(path)
    assert len(smtp_sink.messages) == 1
    [summary] = delivered(smtp_sink)
    assert summary["X-Helpdesk-Kind"] == "import-summary"
    progress = [record.getMessage() for record in caplog.records if record.name == "helpdesk.intake.progress"]
    assert progress and progress[-1].startswith("importing INBOX: 10,000/10,000 (100%)")
    store = open_store(path)
    assert store.counts["messages"] >= 9_000
    assert store.pending_events() == []
