"""The shipped systemd unit: hardened as documented, and valid for systemd itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "helpdesk.service"


def settings() -> dict[str, str]:
    found = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def test_the_unit_is_hardened_and_restarts_on_failure() -> None:
    unit = settings()
    assert unit["NoNewPrivileges"] == "true"
    assert unit["ProtectSystem"] == "strict"
    assert unit["PrivateTmp"] == "true"
    assert unit["Restart"] == "on-failure"
    assert unit["ReadWritePaths"] == "/var/lib/helpdesk"
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "--log-format json run" in unit["ExecStart"]
    # A stop is the daemon's to carry out: its helper processes are not signalled with it.
    assert unit["KillMode"] == "mixed"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # The real ExecStart path depends on where helpdesk is installed: check the rest with one that exists.
    executable = shutil.which("true") or "/bin/true"
    text = UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/helpdesk", executable)
    unit = tmp_path / "helpdesk.service"
    unit.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "helpdesk.service" not in result.stderr, result.stderr
