"""The command line: exit statuses and one-line errors (DESIGN.md section 3)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk.demo.processes import free_port
from tests.corpus import customer_mail
from tests.helpers import helpdesk, write_config
from tests.test_e2e_outbound import parse, text_of

SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"


class Unreachable:
    """Server settings that point at a closed loopback port."""

    hostname = host = "127.0.0.1"
    username = "nobody@example.test"
    password = "x"

    def __init__(self) -> None:
        self.port = free_port()


def assert_one_line_error(result, status: int, *fragments: str) -> None:
    assert result.returncode == status, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("helpdesk: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_shipped_config_is_valid() -> None:
    result = helpdesk("--config", str(SHIPPED_CONFIG), "check")
    assert "ok" in result.stdout


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = helpdesk("--config", str(missing), "check", check=False)
    assert_one_line_error(result, 2, str(missing), "no such configuration file")


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "from-env.toml"
    monkeypatch.setenv("HELPDESK_CONFIG", str(missing))
    result = helpdesk("check", check=False)
    assert_one_line_error(result, 2, str(missing))


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[business]\nname = Acme Tea\n", encoding="utf-8")
    result = helpdesk("--config", str(path), "check", check=False)
    assert_one_line_error(result, 2, str(path), "TOML syntax error", "line 2")


def test_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = SHIPPED_CONFIG.read_text(encoding="utf-8").replace(
        'host = "127.0.0.1"\nport = 1143', "port = 1143"
    )
    path.write_text(text, encoding="utf-8")
    result = helpdesk("--config", str(path), "check", check=False)
    assert_one_line_error(result, 2, str(path), "[imap] host", "missing")


def test_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = SHIPPED_CONFIG.read_text(encoding="utf-8").replace("port = 1143", 'port = "imap"')
    path.write_text(text, encoding="utf-8")
    result = helpdesk("--config", str(path), "tickets", check=False)
    assert_one_line_error(result, 2, str(path), "[imap] port", "expected an integer", "'imap'")


def test_unreachable_imap_server(tmp_path: Path) -> None:
    path = write_config(tmp_path, Unreachable(), Unreachable())
    result = helpdesk("--config", str(path), "run", "--once", check=False)
    assert_one_line_error(result, 1, "IMAP 127.0.0.1", "connection refused")
    result = helpdesk("--config", str(path), "check", "--connect", check=False)
    assert_one_line_error(result, 1, "IMAP 127.0.0.1", "connection refused")


def test_unreachable_smtp_server(tmp_path: Path, mailbox) -> None:
    path = write_config(tmp_path, mailbox, Unreachable())
    result = helpdesk("--config", str(path), "check", "--connect", check=False)
    assert "IMAP" in result.stdout
    assert_one_line_error(result, 1, "SMTP 127.0.0.1", "connection refused")


def test_check_connect_succeeds(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = write_config(tmp_path, mailbox, smtp_sink)
    result = helpdesk("--config", str(path), "check", "--connect")
    assert "IMAP" in result.stdout and "SMTP" in result.stdout


def test_wrong_imap_password(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = write_config(tmp_path, mailbox, smtp_sink, imap={"password": "wrong"})
    result = helpdesk("--config", str(path), "run", "--once", check=False)
    assert_one_line_error(result, 1, "login refused")


def test_unknown_ticket_is_a_usage_error(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = write_config(tmp_path, mailbox, smtp_sink)
    result = helpdesk("--config", str(path), "show", "42", check=False)
    assert_one_line_error(result, 2, "no ticket #42")


def test_parse_json(tmp_path: Path) -> None:
    raw = customer_mail(
        "zoe@example.org",
        "Re: Order 12",
        "Thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, Acme wrote:\n> old text",
        name="Zoë",
        message_id="p1@example.org",
        in_reply_to="o1@acme.example",
        references=["o0@acme.example", "o1@acme.example"],
    )
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    document = json.loads(helpdesk("parse", str(path), "--json").stdout)
    assert document["message_id"] == "p1@example.org"
    assert document["in_reply_to"] == "o1@acme.example"
    assert document["references"] == ["o0@acme.example", "o1@acme.example"]
    assert document["from"]["email"] == "zoe@example.org"
    assert document["subject"] == "Re: Order 12"
    assert document["text"] == "Thanks!"
    assert "old text" in document["full_text"]
    assert document["auto_submitted"] is False
    assert document["is_bounce"] is False
    for key in ("to", "date", "attachments"):
        assert key in document


def test_parse_json_shows_the_decision_for_mail_the_daemon_would_not_take(tmp_path: Path) -> None:
    path = tmp_path / "nobody.eml"
    path.write_bytes(b"To: support@acme.example\r\nSubject: Who am I?\r\n\r\nHello\r\n")
    document = json.loads(helpdesk("parse", str(path), "--json").stdout)
    assert document["disposition"] == "quarantine"
    assert document["reason"] == "no sender address (From is missing or unreadable)"
    assert document["subject"] == "Who am I?" and document["text"] == "Hello"
    text = helpdesk("parse", str(path)).stdout
    assert text.startswith("disposition: quarantine (no sender address")
    path.write_bytes(b"not mail at all\n")
    document = json.loads(helpdesk("parse", str(path), "--json").stdout)
    assert document["disposition"] == "quarantine" and document["from"] is None


def test_parse_unreadable_file(tmp_path: Path) -> None:
    result = helpdesk("parse", str(tmp_path / "missing.eml"), check=False)
    assert_one_line_error(result, 2, "missing.eml")


def _two_tickets(tmp_path: Path, mailbox, smtp_sink) -> Path:
    path = write_config(tmp_path, mailbox, smtp_sink)
    mailbox.append(customer_mail("kim@example.org", "Where is order 12?", "Hello"))
    mailbox.append(customer_mail("lee@example.org", "Refund <b>now</b>", "Hello"))
    helpdesk("--config", str(path), "run", "--once")
    return path


def test_digest_preview_prints_the_text_part_and_writes_the_html(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = _two_tickets(tmp_path, mailbox, smtp_sink)
    sent = len(smtp_sink.messages)
    html = tmp_path / "digest.html"
    result = helpdesk("--config", str(path), "digest", "--preview", "--html", str(html))
    assert result.stdout.startswith("Weekly digest for Acme Tea Co.")
    assert "Where is order 12?" in result.stdout and "Refund <b>now</b>" in result.stdout
    page = html.read_text(encoding="utf-8")
    assert "mailto:support+t1-" in page and "Refund &lt;b&gt;now&lt;/b&gt;" in page
    assert len(smtp_sink.messages) == sent  # A preview sends nothing.


def test_digest_send_mails_the_owner_now(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = _two_tickets(tmp_path, mailbox, smtp_sink)
    before = len(smtp_sink.messages)
    for _ in range(2):
        result = helpdesk("--config", str(path), "digest", "--send")
        assert result.stdout.strip() == "digest sent to owner@acme.example"
    digests = [parse(mail.data) for mail in smtp_sink.messages[before:]]
    assert [(str(m["X-Helpdesk-Kind"]), str(m["To"])) for m in digests] == [
        ("digest", "Sam Owner <owner@acme.example>")
    ] * 2
    assert "Open tickets                    2" in text_of(digests[0])


def test_status_shows_the_last_fetch_the_outbox_and_the_jobs(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = _two_tickets(tmp_path, mailbox, smtp_sink)
    status = json.loads(helpdesk("--config", str(path), "status", "--json").stdout)
    assert status["daemon_running"] is False
    assert status["last_fetch"]["new"] == 2 and status["last_fetch"]["folder"] == "INBOX"
    assert (status["outbox_waiting"], status["outbox_failed"], status["quarantined"]) == (0, 0, 0)
    assert status["jobs"]["rule-tick"]["last_run"] is not None
    assert status["jobs"]["digest"]["schedule"] == "monday 08:00"
    next_digest = datetime.fromisoformat(status["jobs"]["digest"]["next_run"])
    next_digest = next_digest.astimezone(ZoneInfo("Europe/London"))
    assert (next_digest.weekday(), next_digest.hour, next_digest.minute) == (0, 8, 0)
    text = helpdesk("--config", str(path), "status").stdout
    assert "  digest (monday 08:00): last " in text


def test_log_format_json_writes_one_object_per_line(tmp_path: Path, mailbox, smtp_sink) -> None:
    path = write_config(tmp_path, mailbox, smtp_sink)
    mailbox.append(customer_mail("kim@example.org", "Hello", "Hi"))
    result = helpdesk("--log-format", "json", "--config", str(path), "run", "--once")
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert any(record["message"].startswith("ingested 1 new message(s)") for record in records)


def test_digest_preview_on_a_fresh_install_writes_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path, Unreachable(), Unreachable())
    result = helpdesk("--config", str(path), "digest", "--preview")
    assert "Open tickets                    0" in result.stdout
    assert not (tmp_path / "data").exists()


def test_status_survives_a_damaged_daemon_status_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, Unreachable(), Unreachable())
    (tmp_path / "data").mkdir()
    for damaged in ("null", "[1, 2]", "{torn"):
        (tmp_path / "data" / "daemon-status.json").write_text(damaged)
        status = json.loads(helpdesk("--config", str(path), "status", "--json").stdout)
        assert status["last_cycle_at"] is None and status["last_fetch"] is None


def test_invoice_commands_give_one_line_errors(tmp_path: Path) -> None:
    path = write_config(tmp_path, Unreachable(), Unreachable())
    result = helpdesk("--config", str(path), "invoice", "create", "5", "--item", "Tea|1|4.00", check=False)
    assert_one_line_error(result, 2, "invoice create: no ticket #5")
    result = helpdesk("--config", str(path), "invoice", "show", "INV-2026-0009", check=False)
    assert_one_line_error(result, 2, "no invoice INV-2026-0009")
    result = helpdesk("--config", str(path), "invoice", "create", "5", check=False)
    assert_one_line_error(result, 2, "no items")
