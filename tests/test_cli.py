"""The command line: exit statuses and one-line errors (DESIGN.md section 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.demo.processes import free_port
from tests.corpus import customer_mail
from tests.helpers import helpdesk, write_config

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


def test_parse_unreadable_file(tmp_path: Path) -> None:
    result = helpdesk("parse", str(tmp_path / "missing.eml"), check=False)
    assert_one_line_error(result, 2, "missing.eml")
