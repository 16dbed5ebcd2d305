"""Tests of ``helpdesk rules explain`` and ``helpdesk rules list``, run as the command line.

Each test writes a configuration into ``tmp_path`` whose mail servers are
never contacted (explain and list read the rules and the store only), and a
message file. Tickets that a test needs are made beforehand by the real
daemon parts (:class:`helpdesk.daemon.Helpdesk`) from raw mail. Explain uses
the current time, so the one time-dependent line, the acknowledgement's
promise, is compared with the promise computed just before and just after
the command ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from helpdesk.config import Config, load_config, shipped_directory
from helpdesk.daemon import Helpdesk
from helpdesk.outbound.render import Templates
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import parse_duration
from helpdesk.policy.rules import load_rules
from helpdesk.store.records import utc_now
from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.helpers import OWNER, helpdesk, write_config

CUSTOMER = "zoe@example.org"
HOURS_TEXT = "Mon-Fri 09:00-18:00"
TEMPLATE_NAMES = Templates(shipped_directory("templates")).names()


@dataclass(frozen=True)
class Server:
    """Connection details for a configuration whose servers are never contacted."""

    host: str = "127.0.0.1"
    hostname: str = "127.0.0.1"
    port: int = 9
    username: str = "support"
    password: str = "unused"


def configure(tmp_path: Path, rules: dict[str, str] | None = None) -> Path:
    """A config.toml in ``tmp_path``; with ``rules``, a rules directory of those files."""
    sections: dict[str, dict[str, Any]] = {"business": {"hours": HOURS_TEXT}}
    if rules is not None:
        directory = tmp_path / "rules"
        directory.mkdir()
        for name, text in rules.items():
            (directory / name).write_text(text, encoding="utf-8")
        sections["rules"] = {"path": "rules"}
    return write_config(tmp_path, Server(), Server(), **sections)


def mail_file(tmp_path: Path, subject: str, body: str, name: str = "message.eml", **fields: Any) -> Path:
    fields.setdefault("message_id", "c1@example.org")
    path = tmp_path / name
    path.write_bytes(customer_mail(fields.pop("sender", CUSTOMER), subject, body, **fields))
    return path


def explain(config: Path, message: Path, *extra: str) -> list[str]:
    """The lines ``helpdesk rules explain`` prints (it must succeed)."""
    result = helpdesk("--config", str(config), "rules", "explain", str(message), *extra)
    return result.stdout.splitlines()


def promise_in(lines: list[str]) -> str:
    """The promised answer time of the acknowledgement line."""
    [found] = [
        match.group(1) for line in lines if (match := re.search(r"\(promises an answer by (.+)\)$", line))
    ]
    return found


def promise_at(moment: datetime, duration: str) -> str:
    hours = BusinessHours.parse(HOURS_TEXT, "Europe/London")
    return hours.describe(hours.add(moment, parse_duration(duration)), moment)


def daemon_with_tickets(config_path: Path, *messages: bytes) -> Config:
    """Let the real daemon parts take in ``messages`` and run their rules, then let go."""
    config = load_config(config_path)
    desk = Helpdesk(config)
    try:
        for raw in messages:
            desk.ingestor.ingest_local(raw)
        desk.dispatcher.run()
    finally:
        desk.close()
    return config


# -- explain --------------------------------------------------------------------------------


def test_explain_a_complaint_shows_every_rule_with_its_reasons(tmp_path: Path) -> None:
    config = configure(tmp_path)
    message = mail_file(tmp_path, "My teapot arrived broken", "I would like a refund.")
    before = promise_at(utc_now(), "1 business hour")
    lines = explain(config, message)
    after = promise_at(utc_now(), "1 business hour")

    # The raised priority (high) makes the promise one business hour.
    promise = promise_in(lines)
    assert promise in (before, after)
    assert lines == [
        "Message <c1@example.org> from zoe@example.org: 'My teapot arrived broken'",
        "Opens a new ticket.",
        "",
        "Event message.received:",
        "  FIRES  priority-on-complaints (10-priority.toml): status is new; the message contains 'broken'",
        "         -> set-priority priority=high",
        "  FIRES  notify-owner (30-notify-owner.toml): no conditions",
        "         -> notify-owner template=owner-notification",
        "",
        "Event ticket.created:",
        "  FIRES  acknowledge (20-acknowledge.toml): no conditions",
        f"         -> reply template=acknowledge (promises an answer by {promise})",
        "  no     loyal-customer (60-loyalty.toml): customer_tickets_at_least does not hold",
        "  no     loyal-spender (60-loyalty.toml): customer_spent_at_least does not hold",
        "",
        "Time rules (tick), as of now:",
        "  no     escalate-urgent (40-escalation.toml): priority is high; status is new; "
        "escalation level 0 < 3; unanswered_for does not hold",
        "  no     escalate (40-escalation.toml): priority does not hold",
        "  no     follow-up (50-follow-up.toml): status does not hold",
        "  no     auto-close (50-follow-up.toml): status does not hold",
        "  no     payment-reminder (70-payment-reminder.toml): invoice_overdue_for does not hold",
        "  no     promise-reminder (90-promises.toml): status is new; promise_due_within does not hold",
        "  no     promise-missed (90-promises.toml): status is new; promise_missed_for does not hold",
        "",
        "Nothing was sent or changed.",
    ]
    assert not load_config(config).storage_path.exists(), "explain wrote nothing"


def test_explain_an_ordinary_question_keeps_normal_priority_and_its_promise(tmp_path: Path) -> None:
    config = configure(tmp_path)
    message = mail_file(tmp_path, "Opening times", "When are you open on Saturday?")
    before = promise_at(utc_now(), "4 business hours")
    lines = explain(config, message)
    after = promise_at(utc_now(), "4 business hours")

    assert promise_in(lines) in (before, after)
    assert "  no     priority-on-complaints (10-priority.toml): status is new; words does not hold" in lines
    assert "  no     escalate-urgent (40-escalation.toml): priority does not hold" in lines
    assert (
        "  no     escalate (40-escalation.toml): priority is normal; status is new; escalation level 0 < 3; "
        "unanswered_for does not hold"
    ) in lines


def test_explain_a_reply_that_threads_into_a_ticket(tmp_path: Path) -> None:
    config = configure(tmp_path)
    settings = daemon_with_tickets(
        config, customer_mail(CUSTOMER, "Order 1234", "Where is it?", message_id="first@example.org")
    )
    recorded = Store(settings.storage_path, readonly=True).messages(1)
    message = mail_file(
        tmp_path,
        "Re: Order 1234",
        "Still nothing.",
        message_id="second@example.org",
        in_reply_to="first@example.org",
    )
    lines = explain(config, message)
    assert "Threads into ticket #1 (In-Reply-To <first@example.org>)." in lines
    assert "Event message.received:" in lines
    assert "Event ticket.created:" not in lines
    assert "  FIRES  notify-owner (30-notify-owner.toml): no conditions" in lines
    assert not any("acknowledge" in line for line in lines)
    # Nothing was recorded: the ticket has the customer's message and the acknowledgement only.
    assert [message.direction for message in recorded] == ["in", "out"]
    assert Store(settings.storage_path, readonly=True).messages(1) == recorded


def test_explain_on_a_given_ticket_and_on_a_closed_one(tmp_path: Path) -> None:
    config = configure(tmp_path)
    settings = daemon_with_tickets(config, customer_mail(CUSTOMER, "Order 1234", "Where is it?"))
    message = mail_file(tmp_path, "Something else", "A new question.")

    lines = explain(config, message, "--ticket", "1")
    assert "As a message on ticket #1 (--ticket)." in lines
    assert "Event ticket.reopened:" not in lines and "Event ticket.created:" not in lines

    store = Store(settings.storage_path)
    ticket = store.ticket(1)
    assert ticket is not None
    ticket.status, ticket.closed_at = "closed", ticket.updated_at
    store.save_ticket(ticket)
    store.commit()
    lines = explain(config, message, "--ticket", "1")
    assert "Event ticket.reopened:" in lines
    assert Store(settings.storage_path, readonly=True).ticket(1).status == "closed"  # type: ignore[union-attr]


def test_explain_on_an_unknown_ticket_is_a_usage_error(tmp_path: Path) -> None:
    config = configure(tmp_path)
    message = mail_file(tmp_path, "Order 1234", "Where is it?")
    result = helpdesk(
        "--config", str(config), "rules", "explain", str(message), "--ticket", "42", check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "helpdesk: no ticket #42"


def test_explain_automatic_mail_runs_no_rules(tmp_path: Path) -> None:
    config = configure(tmp_path)
    message = mail_file(
        tmp_path, "Out of office", "I am away until Monday.", headers={"Auto-Submitted": "auto-replied"}
    )
    lines = explain(config, message)
    assert lines[0] == "Message <c1@example.org> from zoe@example.org: 'Out of office'"
    assert re.fullmatch(r"Automatic mail \(.+\): recorded if it threads; no rules run\.", lines[1])
    assert len(lines) == 2


def test_explain_mail_from_the_owner_address(tmp_path: Path) -> None:
    config = configure(tmp_path)
    message = mail_file(tmp_path, "Re: Order 1234", "#close", sender=OWNER)
    lines = explain(config, message)
    assert lines[-1] == (
        "From the owner's address: an owner reply (commands, relay) if its reply token is valid."
    )
    assert not any(line.startswith("Event") for line in lines)


def test_explain_shows_changes_of_earlier_rules_and_a_stop(tmp_path: Path) -> None:
    config = configure(
        tmp_path,
        {
            "10-vip.toml": (
                '[[rule]]\nname = "vip-domain"\non = "message.received"\n'
                'when = { sender_domain = "example.org" }\n'
                'do = [{ action = "add-tag", tag = "vip" },\n'
                '      { action = "set-priority", priority = "urgent" }]\n'
                '[[rule]]\nname = "vip-stop"\non = "message.received"\nwhen = { tags = ["vip"] }\n'
                'do = [{ action = "stop" }]\n'
            ),
            "20-rest.toml": (
                '[[rule]]\nname = "never-reached"\non = "message.received"\n'
                'do = [{ action = "notify-owner" }]\n'
                '[[rule]]\nname = "attachments"\non = "ticket.created"\n'
                'when = { priority = "urgent", has_attachment = true }\n'
                'do = [{ action = "add-tag", tag = "files" }]\n'
            ),
        },
    )
    lines = explain(config, mail_file(tmp_path, "Order 1234", "Where is it?"))
    assert lines[lines.index("Event message.received:") :] == [
        "Event message.received:",
        "  FIRES  vip-domain (10-vip.toml): sender domain is example.org",
        "         -> add-tag tag=vip",
        "         -> set-priority priority=urgent",
        "  FIRES  vip-stop (10-vip.toml): tagged vip",
        "         -> stop",
        "  (stopped) never-reached",
        "",
        "Event ticket.created:",
        "  no     attachments (20-rest.toml): priority is urgent; has_attachment does not hold",
        "",
        "Time rules (tick), as of now:",
        "",
        "Nothing was sent or changed.",
    ]


def test_a_returning_customer_fifth_ticket_is_tagged_loyal(tmp_path: Path) -> None:
    """What the daemon does (the reference for the explain test below)."""
    config = configure(tmp_path)
    earlier = [
        customer_mail(CUSTOMER, f"Question {n}", "Hello", message_id=f"q{n}@example.org") for n in range(4)
    ]
    fifth = customer_mail(CUSTOMER, "Question 5", "Hello", message_id="q5@example.org")
    settings = daemon_with_tickets(config, *earlier, fifth)
    store = Store(settings.storage_path, readonly=True)
    assert store.ticket(5).tags == ["loyal"]  # type: ignore[union-attr]
    assert store.customer(CUSTOMER).tags == ["loyal"]  # type: ignore[union-attr]


def test_explain_counts_the_new_ticket_of_a_returning_customer(tmp_path: Path) -> None:
    config = configure(tmp_path)
    earlier = [
        customer_mail(CUSTOMER, f"Question {n}", "Hello", message_id=f"q{n}@example.org") for n in range(4)
    ]
    daemon_with_tickets(config, *earlier)
    lines = explain(config, mail_file(tmp_path, "Question 5", "Hello", message_id="q5@example.org"))
    assert "  FIRES  loyal-customer (60-loyalty.toml): customer has 5 tickets" in lines


# -- list, and an empty rules directory ----------------------------------------------------


def test_rules_list_shows_every_shipped_rule(tmp_path: Path) -> None:
    config = configure(tmp_path)
    lines = helpdesk("--config", str(config), "rules", "list").stdout.splitlines()
    shipped = load_rules(shipped_directory("rules"), TEMPLATE_NAMES).rules
    rule_lines = [line for line in lines if not line.startswith(" ")]
    assert len(rule_lines) == len(shipped) == 16
    for line, rule in zip(rule_lines, shipped, strict=True):
        assert line.split()[:4] == [Path(rule.file).name, rule.name, "on", rule.on]
        assert line.endswith("-> " + ", ".join(call.name for call in rule.actions))
    assert "when status, words -> set-priority" in rule_lines[0]
    assert "when always -> reply" in rule_lines[1]
    for rule in shipped:
        assert any(line.strip() == rule.description for line in lines)


def test_an_empty_rules_directory_lists_no_rules_and_sends_no_mail(tmp_path: Path) -> None:
    config_path = configure(tmp_path, {})
    rules_dir = tmp_path / "rules"
    result = helpdesk("--config", str(config_path), "rules", "list")
    assert result.stdout == f"no rules in {rules_dir}: tickets are recorded, no automatic mail is sent\n"
    assert load_rules(rules_dir, TEMPLATE_NAMES).rules == []

    config = load_config(config_path)
    desk = Helpdesk(config)
    try:
        desk.ingestor.ingest_local(customer_mail(CUSTOMER, "My teapot arrived broken", "Refund please."))
        assert desk.dispatcher.run() == 2
        assert desk.dispatcher.tick() == 0
        ticket = desk.store.ticket(1)
        assert ticket is not None
        assert (ticket.status, ticket.priority, ticket.customer) == ("new", "normal", CUSTOMER)
        assert not any(entry["event"] == "rule" for entry in ticket.history)
        assert desk.outbox.queued() == []
    finally:
        desk.close()


def test_a_rule_mistake_stops_the_command_with_one_line(tmp_path: Path) -> None:
    config = configure(
        tmp_path,
        {
            "40-escalation.toml": (
                '[[rule]]\nname = "escalate"\non = "tick"\nwhen = { unanswered_for = "4 business hourz" }\n'
                'do = [{ action = "escalate" }]\n'
            )
        },
    )
    result = helpdesk("--config", str(config), "rules", "list", check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        f"helpdesk: {tmp_path / 'rules' / '40-escalation.toml'}: rule 'escalate' when.unanswered_for: "
        'unknown unit "hourz" in "4 business hourz" '
        '(use minutes, hours, days or weeks, optionally "business")'
    )
