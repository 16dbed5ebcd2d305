"""End to end: customer mail in a real IMAP mailbox becomes tickets, exactly once.

These tests append mail to a real server (Dovecot in CI, pymap elsewhere)
and run the daemon against it: in this process for single cycles, as a child
process for IDLE and kill tests.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from helpdesk.config import load_config
from helpdesk.daemon import Daemon, Helpdesk
from helpdesk.intake.fetch import Mailbox
from helpdesk.intake.ingest import IngestReport
from helpdesk.store.store import Store
from tests.corpus import customer_mail, generate_corpus
from tests.helpers import BUSINESS, daemon_process, helpdesk, open_store, run_once, write_config
from tests.malformed import malformed_messages


@pytest.fixture
def config_path(tmp_path: Path, mailbox, smtp_sink) -> Path:
    return write_config(tmp_path, mailbox, smtp_sink)


def tickets_json(config_path: Path) -> list[dict]:
    return json.loads(helpdesk("--config", str(config_path), "tickets", "--json").stdout)


def show_json(config_path: Path, ticket_id: int) -> dict:
    return json.loads(helpdesk("--config", str(config_path), "show", str(ticket_id), "--json").stdout)


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def inbound_count(config_path: Path) -> int:
    """Customer messages recorded (acknowledgements and other outbound mail excluded)."""
    store = open_store(config_path)
    return sum(
        1 for ticket in store.tickets() for message in store.messages(ticket.id) if message.direction == "in"
    )


def test_customer_mail_becomes_tickets(mailbox, config_path: Path) -> None:
    first_raw = customer_mail(
        "zoe@example.org", "Order 1001 arrived broken", "The teapot is cracked.", name="Zoë Martin"
    )
    mailbox.append(first_raw)
    mailbox.append(customer_mail("bob@example.net", "Question about shipping", "Do you ship to Norway?"))
    report = run_once(config_path)
    assert report.tickets_created == 2

    tickets = tickets_json(config_path)
    assert [ticket["id"] for ticket in tickets] == [1, 2]
    first = tickets[0]
    assert first["customer"] == "zoe@example.org"
    assert first["subject"] == "Order 1001 arrived broken"
    assert first["status"] == "new"
    assert first["priority"] == "high"  # "broken": the shipped priority rule.
    for key in ("tags", "created_at", "updated_at"):
        assert key in first

    shown = show_json(config_path, 1)
    assert [m["direction"] for m in shown["messages"]] == ["in", "out"]  # The mail and our acknowledgement.
    message = shown["messages"][0]
    assert message["direction"] == "in"
    assert message["from"] == "zoe@example.org"
    assert message["to"] == [BUSINESS]
    assert "teapot is cracked" in message["text"]
    assert message["message_id"]

    store = open_store(config_path)
    customer = store.customer("zoe@example.org")
    assert customer is not None
    assert customer.name == "Zoë Martin"
    assert customer.ticket_count == 1
    # The raw message was archived byte for byte.
    stored = store.messages(1)[0]
    assert stored.archive_path is not None
    assert (store.data_dir / stored.archive_path).read_bytes() == first_raw


def test_replies_thread_by_references_in_reply_to_and_tag(mailbox, config_path: Path) -> None:
    first = customer_mail(
        "ann@example.org", "Refund for order 77", "Please refund.", message_id="a1@example.org"
    )
    mailbox.append(first)
    run_once(config_path)

    by_references = customer_mail(
        "ann@example.org",
        "Re: Refund for order 77",
        "Any news?",
        message_id="a2@example.org",
        references=["a1@example.org"],
    )
    by_in_reply_to = customer_mail(
        "ann@example.org",
        "something else entirely",
        "Still waiting.",
        message_id="a3@example.org",
        in_reply_to="a2@example.org",
    )
    by_tag = customer_mail("ann@example.org", "About [#1] again", "Hello?", message_id="a4@example.org")
    stranger_tag = customer_mail(
        "eve@example.com", "Re: [#1] give me the refund", "Me too", message_id="e1@example.com"
    )
    mailbox.append_many([by_references, by_in_reply_to, by_tag, stranger_tag])
    report = run_once(config_path)
    assert report.tickets_created == 1

    shown = show_json(config_path, 1)
    assert [m["message_id"] for m in shown["messages"] if m["direction"] == "in"] == [
        "a1@example.org",
        "a2@example.org",
        "a3@example.org",
        "a4@example.org",
    ]
    tickets = tickets_json(config_path)
    assert len(tickets) == 2
    assert tickets[1]["customer"] == "eve@example.com"
    history = " ".join(entry["detail"] for entry in shown["history"])
    assert "References" in history and "In-Reply-To" in history and "subject tag" in history


def test_restart_ingests_nothing_twice(mailbox, config_path: Path) -> None:
    mailbox.append_many([customer_mail(f"c{i}@example.org", f"Order {i}", "Hi") for i in range(5)])
    assert run_once(config_path).tickets_created == 5
    again = run_once(config_path)
    assert (again.tickets_created, again.messages_recorded) == (0, 0)
    assert inbound_count(config_path) == 5
    mailbox.append(customer_mail("c9@example.org", "Order 9", "Hi"))
    assert run_once(config_path).tickets_created == 1
    assert inbound_count(config_path) == 6


def test_new_uidvalidity_creates_no_duplicates(mailbox, tmp_path: Path, smtp_sink) -> None:
    mailbox.create_folder("Support")
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"folder": "Support"})
    mails = [customer_mail(f"u{i}@example.org", f"Order {i}", "Hello") for i in range(4)]
    for raw in mails:
        mailbox.append(raw, folder="Support")
    run_once(config_path)
    before = open_store(config_path).folder_state("Support")

    mailbox.recreate_folder("Support")
    for raw in mails:
        mailbox.append(raw, folder="Support")
    mailbox.append(customer_mail("late@example.org", "Order 99", "New one"), folder="Support")
    report = run_once(config_path)

    after = open_store(config_path).folder_state("Support")
    assert before is not None and after is not None
    assert after.uidvalidity != before.uidvalidity
    assert report.tickets_created == 1
    assert report.duplicates == 4
    assert inbound_count(config_path) == 5


def test_malformed_messages_never_stop_ingestion(mailbox, config_path: Path) -> None:
    corpus = malformed_messages()
    for raw in corpus.values():
        if raw:  # An IMAP server refuses to store an empty message.
            mailbox.append(raw)
    good = customer_mail("after@example.org", "After the bad ones", "Still working?")
    mailbox.append(good)
    report = run_once(config_path)

    stored = sum(1 for raw in corpus.values() if raw)
    assert report.messages_recorded + report.quarantined + report.skipped + report.duplicates == stored + 1
    quarantine = json.loads(helpdesk("--config", str(config_path), "quarantine", "list", "--json").stdout)
    assert len(quarantine) == report.quarantined
    assert all(entry["reason"] for entry in quarantine)
    assert any(t["customer"] == "after@example.org" for t in tickets_json(config_path))


def test_quarantine_replay(mailbox, config_path: Path) -> None:
    no_sender = b"Subject: who am I\r\nMessage-ID: <x1@example.org>\r\n\r\nno From header\r\n"
    mailbox.append(no_sender)
    assert run_once(config_path).quarantined == 1
    entries = json.loads(helpdesk("--config", str(config_path), "quarantine", "list", "--json").stdout)
    assert "sender" in entries[0]["reason"]
    result = helpdesk("--config", str(config_path), "quarantine", "replay", entries[0]["id"], check=False)
    assert result.returncode == 1
    assert "back in quarantine" in result.stdout
    unknown = helpdesk("--config", str(config_path), "quarantine", "replay", "nosuchid", check=False)
    assert unknown.returncode == 2
    assert "no quarantined message" in unknown.stderr


def test_automatic_mail_is_recorded_not_ticketed(mailbox, config_path: Path) -> None:
    mailbox.append(
        customer_mail("kim@example.org", "Order 5 missing", "Where is it?", message_id="k1@example.org")
    )
    run_once(config_path)
    auto_in_thread = customer_mail(
        "kim@example.org",
        "Out of office: Order 5 missing",
        "I am away until Monday.",
        in_reply_to="k1@example.org",
        headers={"Auto-Submitted": "auto-replied"},
    )
    newsletter = customer_mail(
        "news@shop.example", "Big sale", "50% off", headers={"List-Id": "<sale.shop.example>"}
    )
    mailbox.append_many([auto_in_thread, newsletter])
    report = run_once(config_path)
    assert report.tickets_created == 0
    assert report.skipped == 1
    shown = show_json(config_path, 1)
    assert shown["status"] == "new"
    inbound = [m for m in shown["messages"] if m["direction"] == "in"]
    assert len(inbound) == 2
    assert inbound[1]["automatic"]
    store = open_store(config_path)
    assert "List-Id" in store.skipped[0]["reason"]


def _expected_grouping(config_path: Path, corpus) -> None:
    """Every generated message is in exactly one ticket, and threads stay together."""
    store = open_store(config_path)
    ticket_of_thread: dict[int, set[int]] = defaultdict(set)
    for mail in corpus:
        ticket_id = store.ticket_for_message_id(mail.message_id)
        assert ticket_id is not None, f"message {mail.message_id} was not ingested"
        ticket_of_thread[mail.thread_key].add(ticket_id)
    assert inbound_count(config_path) == len(corpus)
    assert all(len(tickets) == 1 for tickets in ticket_of_thread.values())
    all_tickets = [next(iter(tickets)) for tickets in ticket_of_thread.values()]
    assert len(set(all_tickets)) == len(all_tickets)
    recorded = [
        m.message_id for ticket in store.tickets() for m in store.messages(ticket.id) if m.direction == "in"
    ]
    assert len(recorded) == len(set(recorded)) == len(corpus)


@pytest.mark.slow
def test_thousand_messages_while_idling_are_each_ingested_once(mailbox, tmp_path, smtp_sink) -> None:
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"poll_interval": 600})
    corpus = generate_corpus(1000, seed=7)
    daemon = daemon_process(config_path)
    try:
        assert wait_until(lambda: open_store(config_path).folder_state("INBOX") is not None, 30)
        for start in range(0, len(corpus), 100):
            mailbox.append_many([mail.raw for mail in corpus[start : start + 100]])
        # IDLE (not the 600 s poll) must pick the mail up.
        assert wait_until(lambda: inbound_count(config_path) >= len(corpus), 180, interval=0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert daemon.returncode == 0
    _expected_grouping(config_path, corpus)


def test_mail_arriving_during_a_cycle_does_not_wait_for_the_next_poll(
    mailbox, tmp_path: Path, smtp_sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IDLE announces only what arrives while it runs: a message that came in during the
    # cycle must be noticed before the daemon settles into IDLE (the poll is 10 minutes).
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"poll_interval": 600})
    mailbox.append(customer_mail("ann@example.org", "First", "Hello."))
    daemon = Daemon(load_config(config_path))
    cycle = Helpdesk.cycle

    def cycle_with_mail_arriving(helpdesk: Helpdesk, imap: Mailbox) -> IngestReport:
        report = cycle(helpdesk, imap)
        if report.messages_recorded == 1 and helpdesk.store.counts["tickets"] == 1:
            mailbox.append(customer_mail("bob@example.net", "Second", "Arrived mid-cycle."))
            # The server announces it in answer to some later command of the cycle: then
            # IDLE has nothing new to announce.
            assert imap.client is not None
            imap.client.noop()
        return report

    monkeypatch.setattr(Helpdesk, "cycle", cycle_with_mail_arriving)
    runner = threading.Thread(target=daemon.run_forever, kwargs={"install_signals": False})
    runner.start()
    try:
        assert wait_until(lambda: inbound_count(config_path) == 2, 20)
    finally:
        daemon.request_stop()
        runner.join(timeout=30)
    assert not runner.is_alive()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("batch_size", "sender_process"),
    # Small batches: many commits, so that kills land between them (one process, to keep each
    # start short); batches of 50 are parsed by the parse workers, and their mail delivered by
    # the sender process while the next batch is read, all killed with the daemon.
    [(5, False), (50, True)],
    ids=["small-batches", "parse-workers"],
)
def test_sigkill_during_ingest_loses_and_doubles_nothing(
    mailbox, tmp_path, smtp_sink, batch_size: int, sender_process: bool
) -> None:
    config_path = write_config(
        tmp_path,
        mailbox,
        smtp_sink,
        imap={"batch_size": batch_size, "parse_workers": 2},
        smtp={"sender_process": sender_process},
    )
    corpus = generate_corpus(500, seed=11)
    mailbox.append_many([mail.raw for mail in corpus])
    rng = random.Random(3)
    kills_mid_ingest = 0
    for _ in range(60):
        before = inbound_count(config_path)
        daemon = daemon_process(config_path)
        # Once the daemon has committed something, at a random moment soon after.
        def progressed(daemon: subprocess.Popen[bytes] = daemon, before: int = before) -> bool:
            return daemon.poll() is not None or inbound_count(config_path) > before

        assert wait_until(progressed, 60, interval=0.02)
        time.sleep(rng.uniform(0.0, 0.05))
        killed = daemon.poll() is None
        if killed:
            daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
        after = inbound_count(config_path)
        if killed and before < after < len(corpus):
            kills_mid_ingest += 1
        if after >= len(corpus):
            break
    assert kills_mid_ingest >= 2, "the daemon was not killed in the middle of ingesting"
    # A last clean cycle finishes whatever the kills interrupted.
    run_once(config_path)
    Store(open_store(config_path).data_dir)  # The store opens for writing: journal recovered.
    _expected_grouping(config_path, corpus)
