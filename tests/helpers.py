"""Helpers for tests that drive helpdesk against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpdesk.config import Config, load_config
from helpdesk.daemon import Daemon
from helpdesk.intake.ingest import IngestReport
from helpdesk.store.store import Store

BUSINESS = "support@acme.example"
OWNER = "owner@acme.example"


def write_config(directory: Path, mailbox: Any, sink: Any, **sections: dict[str, Any]) -> Path:
    """Write a config.toml for ``mailbox`` and ``sink`` into ``directory``.

    ``sections`` override or add keys per section, e.g. ``imap={"poll_interval": 0.5}``.
    """
    values: dict[str, dict[str, Any]] = {
        "business": {"name": "Acme Tea Co.", "email": BUSINESS, "timezone": "Europe/London"},
        "owner": {"email": OWNER, "name": "Sam Owner"},
        "imap": {
            "host": mailbox.host,
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.username,
            "password": mailbox.password,
            "poll_interval": 30,
            # These mailboxes model a brand-new support address: mail put in
            # before the first run is new mail. First-sync tests set "history".
            "first_sync": "process",
        },
        "smtp": {"host": sink.hostname, "port": sink.port, "security": "none"},
        "storage": {"path": "data"},
    }
    for name, overrides in sections.items():
        values.setdefault(name, {}).update(overrides)
    lines = []
    for name, keys in values.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in keys.items())
        lines.append("")
    path = directory / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_once(config_path: Path) -> IngestReport:
    """One full daemon cycle, in this process."""
    return Daemon(load_config(config_path)).run_once()


def open_store(config_path: Path) -> Store:
    """A read-only snapshot of the store of ``config_path``."""
    config: Config = load_config(config_path)
    return Store(config.storage_path, readonly=True)


def helpdesk(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``helpdesk`` command line in a child process."""
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helpdesk {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def daemon_process(config_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start ``helpdesk run`` as a child process (for kill and restart tests).

    Its log goes to ``daemon.log`` beside the configuration, for diagnosis.
    """
    with (config_path.parent / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "helpdesk", "--config", str(config_path), "run", *extra],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
