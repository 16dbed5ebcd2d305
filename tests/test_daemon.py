"""Unit tests of ``helpdesk.daemon.Helpdesk`` parts that need no mail server.

Reloading rules and templates (SIGHUP) and applying the command line's
request files: a broken change or a bad request file must never stop the
daemon or change what it sends.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk.config import load_config, shipped_directory
from helpdesk.daemon import REQUESTS, Helpdesk
from helpdesk.outbound.samples import SAMPLE_CONTEXTS
from tests.helpers import write_config


class Nowhere:
    """Server settings for a Helpdesk that never connects."""

    host = hostname = "127.0.0.1"
    port = 9
    username = "support@acme.example"
    password = "x"


@pytest.fixture
def helpdesk(tmp_path: Path) -> Iterator[Helpdesk]:
    shutil.copytree(shipped_directory("templates"), tmp_path / "templates")
    shutil.copytree(shipped_directory("rules"), tmp_path / "rules")
    path = write_config(
        tmp_path,
        Nowhere(),
        Nowhere(),
        templates={"path": str(tmp_path / "templates")},
        rules={"path": str(tmp_path / "rules")},
    )
    opened = Helpdesk(load_config(path))
    yield opened
    opened.close()


def queued_kinds(helpdesk: Helpdesk) -> list[str]:
    return [item.kind for item in helpdesk.outbox.queued()]


def test_a_template_changed_on_disk_takes_effect_only_after_a_reload(helpdesk: Helpdesk) -> None:
    templates = helpdesk.config.templates_path
    before = helpdesk.actions.templates.render("acknowledge", SAMPLE_CONTEXTS["acknowledge"])
    (templates / "acknowledge.subject.txt").write_text("Got it: {{ ticket.subject }}\n", encoding="utf-8")
    unchanged = helpdesk.actions.templates.render("acknowledge", SAMPLE_CONTEXTS["acknowledge"])
    assert unchanged.subject == before.subject
    assert helpdesk.reload()
    after = helpdesk.actions.templates.render("acknowledge", SAMPLE_CONTEXTS["acknowledge"])
    assert after.subject == "Got it: Kettle stopped working"


def test_a_broken_layout_is_refused_and_the_old_templates_keep_rendering(
    helpdesk: Helpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    # Every HTML part extends _base.html, the owner's reload-failed notice too.
    (helpdesk.config.templates_path / "_base.html").write_text("{% block content %}", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="helpdesk.daemon"):
        assert helpdesk.reload() is False
    assert "reload refused" in caplog.text and "_base.html" in caplog.text
    rendered = helpdesk.actions.templates.render("acknowledge", SAMPLE_CONTEXTS["acknowledge"])
    assert "<table" in rendered.html
    assert queued_kinds(helpdesk) == ["reload-failed"]


def test_a_broken_rule_is_refused_and_the_rules_in_use_stay(helpdesk: Helpdesk) -> None:
    rules_before = helpdesk.dispatcher.rules
    (helpdesk.config.rules_path / "99-broken.toml").write_text('[[rule]]\nname = "x"\non = "nothing"\n')
    assert helpdesk.reload() is False
    assert helpdesk.dispatcher.rules is rules_before
    [item] = helpdesk.outbox.queued()
    assert item.kind == "reload-failed" and item.recipients == ["owner@acme.example"]


def test_bad_request_files_are_logged_and_removed(
    helpdesk: Helpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    directory = helpdesk.config.storage_path / REQUESTS
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (("1-a.json", "[]"), ("2-b.json", "{not json"), ("3-c.json", json.dumps({"x": 1}))):
        (directory / name).write_text(content, encoding="utf-8")
    (directory / "4-d.json").write_text(json.dumps({"action": "digest.send", "argument": ""}))
    with caplog.at_level(logging.WARNING, logger="helpdesk.daemon"):
        helpdesk.apply_requests()
    assert list(directory.glob("*.json")) == []
    assert sum(1 for record in caplog.records if "failed" in record.getMessage()) == 3
    # The good one after the bad ones was still applied.
    assert queued_kinds(helpdesk) == ["digest"]
