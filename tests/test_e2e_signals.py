"""End to end: the daemon as a service, driven by signals and the command line.

``helpdesk run`` is a child process against the real IMAP server and SMTP
sink. SIGTERM ends it cleanly after the current batch; SIGHUP reloads rules
and templates and keeps the old ones when the new are broken; command-line
changes made while it runs are queued as request files and applied.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from helpdesk.config import shipped_directory
from helpdesk.intake.quarantine import Quarantine
from helpdesk.store.store import DataDirectoryLock
from tests.corpus import customer_mail, generate_corpus
from tests.helpers import OWNER, daemon_process, helpdesk, open_store, run_once, write_config
from tests.test_e2e_inbound import _expected_grouping, inbound_count, wait_until
from tests.test_e2e_outbound import parse


def stop(daemon: subprocess.Popen[bytes]) -> int:
    daemon.send_signal(signal.SIGTERM)
    return daemon.wait(timeout=60)


def kinds_to(sink, address: str) -> list[str]:
    found = []
    for mail in sink.messages:
        message = parse(mail.data)
        if address in str(message["To"]):
            found.append(str(message["X-Helpdesk-Kind"]))
    return found


def test_sigterm_during_ingestion_stops_cleanly_and_loses_nothing(mailbox, tmp_path: Path, smtp_sink) -> None:
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"batch_size": 10, "parse_workers": 0})
    corpus = generate_corpus(300, seed=5)
    mailbox.append_many([mail.raw for mail in corpus])
    daemon = daemon_process(config_path)
    assert wait_until(lambda: inbound_count(config_path) > 0, 60, interval=0.02)
    assert stop(daemon) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "helpdesk daemon stopped" in log
    stopped_at = inbound_count(config_path)
    assert 0 < stopped_at < len(corpus), "SIGTERM did not land during the ingest"
    # The store was closed cleanly: its journal is checkpointed away.
    assert not (tmp_path / "data" / "db" / "journal.log").exists()
    # The next start takes up where it stopped.
    run_once(config_path)
    _expected_grouping(config_path, corpus)


def test_sighup_picks_up_a_changed_rule_and_survives_a_broken_one(mailbox, tmp_path: Path, smtp_sink) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(shipped_directory("rules"), rules)
    config_path = write_config(
        tmp_path, mailbox, smtp_sink, rules={"path": str(rules)}, imap={"poll_interval": 1}
    )
    daemon = daemon_process(config_path)
    try:
        mailbox.append(customer_mail("ann@example.org", "First", "Hello"))
        assert wait_until(lambda: "acknowledge" in kinds_to(smtp_sink, "ann@example.org"), 30)

        # The owner stops acknowledging: the rule file goes, SIGHUP, and new tickets get none.
        (rules / "20-acknowledge.toml").unlink()
        daemon.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "reloaded" in (tmp_path / "daemon.log").read_text(), 30)
        mailbox.append(customer_mail("bob@example.org", "Second", "Hello"))
        assert wait_until(lambda: "owner-notification" in kinds_to(smtp_sink, "Sam Owner"), 30)
        assert wait_until(lambda: len(list(open_store(config_path).tickets())) == 2, 30)
        assert wait_until(lambda: kinds_to(smtp_sink, OWNER).count("owner-notification") == 2, 30)
        assert kinds_to(smtp_sink, "bob@example.org") == []

        # A broken rule: the reload is refused, the owner is told, the rules in use stay.
        broken = 'do = [{ action = "reply", template = "nope" }]'
        rule = f'[[rule]]\nname = "acknowledge"\non = "ticket.created"\n{broken}\n'
        (rules / "20-acknowledge.toml").write_text(rule)
        daemon.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "reload-failed" in kinds_to(smtp_sink, OWNER), 30)
        assert "reload refused" in (tmp_path / "daemon.log").read_text()
        mailbox.append(customer_mail("cat@example.org", "Third", "Hello"))
        assert wait_until(lambda: kinds_to(smtp_sink, OWNER).count("owner-notification") == 3, 30)
        assert kinds_to(smtp_sink, "cat@example.org") == []
        assert daemon.poll() is None
    finally:
        assert stop(daemon) == 0


@pytest.mark.slow
def test_command_line_requests_and_mail_at_once_lose_nothing(mailbox, tmp_path: Path, smtp_sink) -> None:
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"poll_interval": 1})
    # Mail from the owner's address without a token is quarantined; replaying it
    # with the daemon stopped is the way to put ten entries there.
    for number in range(10):
        mailbox.append(customer_mail(OWNER, f"Note {number}", "hi"))
    run_once(config_path)
    quarantine = Quarantine(tmp_path / "data")
    entries = [entry.id for entry in quarantine.entries()]
    assert len(entries) == 10
    daemon = daemon_process(config_path)
    assert wait_until(DataDirectoryLock(tmp_path / "data").held_by_other, 30)
    try:
        # Replays queued from the command line while customer mail streams in.
        for number, entry in enumerate(entries):
            mailbox.append(customer_mail(f"c{number}@example.org", f"Question {number}", "Hello"))
            result = helpdesk("--config", str(config_path), "quarantine", "replay", entry)
            assert "queued" in result.stdout
        assert wait_until(lambda: not any((tmp_path / "data" / "requests").glob("*.json")), 60)
        assert wait_until(lambda: len(list(open_store(config_path).tickets())) == 10, 60)
    finally:
        assert stop(daemon) == 0
    # Every replay ran (each owner message is quarantined again, as it must be) and no mail was lost.
    replayed = quarantine.entries()
    assert len(replayed) == 10 and {entry.source for entry in replayed} == {None}
    log = (tmp_path / "daemon.log").read_text()
    assert sum(1 for line in log.splitlines() if "(local): from the owner's address" in line) == 10
    assert json.loads(helpdesk("--config", str(config_path), "status", "--json").stdout)["quarantined"] == 10
