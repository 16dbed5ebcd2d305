"""Smoke test of the outbox benchmark: a small run must send and count everything.

Only counts are checked, never timings: the benchmark's figures depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import outbox as bench
from bench.common import write_results
from helpdesk.outbound.compose import compose

MESSAGES = 50


def test_realistic_messages_look_like_the_daemons() -> None:
    messages = bench.realistic_messages(6)
    assert [key.split(":")[0] for key, _ in messages] == ["acknowledge", "owner-notification", "reply"] * 2
    assert len({key for key, _ in messages}) == 6
    for _, outbound in messages:
        assert outbound.html and outbound.text and outbound.reply_to and outbound.ticket_id
        raw = compose(
            outbound,
            sender_name=bench.BUSINESS_NAME,
            sender_email=bench.BUSINESS,
            message_id="m@acme.example",
            date=bench.NOW,
        )
        assert 2_000 < len(raw) < 20_000
    assert [outbound.automatic for _, outbound in messages[:3]] == [True, False, False]


def test_small_run_sends_and_records_every_message(tmp_path: Path) -> None:
    steps: list[str] = []
    results = bench.run_benchmark(MESSAGES, 1, tmp_path, steps.append)
    document = results.to_json(bench.NOW)

    # Bare loop, outbox and outbox without overlap each delivered every message once.
    assert document["sink_received"]["messages"] == 3 * MESSAGES
    assert document["messages"] == MESSAGES
    for way in (
        "bare",
        "outbox",
        "outbox_flush_not_overlapped",
        "fdatasync_alone",
        "queue_file_removal_alone",
    ):
        assert len(document[way]["runs_seconds"]) == 1
        assert document[way]["rate_per_second"] > 0
    assert document["ratio"] > 0
    assert len(document["flush_wait_seconds_per_run"]) == 1
    assert any("outbox" in step for step in steps)

    path = write_results(document, tmp_path / "results")
    assert path.name.startswith("outbox-") and json.loads(path.read_text(encoding="utf-8")) == document
    assert "outbox / bare" in bench.table(document)


def test_command_line_json(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [
            sys.executable,
            str(root / "bench" / "outbox.py"),
            "--messages",
            str(MESSAGES),
            "--repeat",
            "1",
            "--profile",
            "--json",
            "--workdir",
            str(tmp_path / "work"),
            "--results-dir",
            str(tmp_path / "results"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # Three timed ways and the profiled run, MESSAGES each.
    assert document["sink_received"]["messages"] == 4 * MESSAGES
    assert document["profile"], "the profile summary is in the results"
    [written] = (tmp_path / "results").glob("outbox-*.json")
    assert json.loads(written.read_text(encoding="utf-8")) == document
