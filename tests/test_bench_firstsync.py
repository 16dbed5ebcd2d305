"""Smoke test of the first-sync benchmark (``bench/firstsync.py``): it runs, and its figures add up.

The size is tiny and nothing about speed is asserted: timings on a shared machine say nothing
in a test. The benchmark itself is run by hand (see README.md, "Benchmarks").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.firstsync import HISTORY, PROCESS, PROCESS_NO_RULES, format_report, main, parse_options
from helpdesk.demo.imapserver import ImapTestServer

MESSAGES = 60


def test_options_default_to_ten_thousand_messages() -> None:
    options, args = parse_options([])
    assert (options.messages, options.repeat, options.batch_size, options.no_rules) == (10_000, 3, 200, True)
    assert args.workdir is None and not args.json
    assert not parse_options(["--no-empty-rules"])[0].no_rules


def test_benchmark_main_runs_end_to_end_with_sane_results(
    imap_server: ImapTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--messages", str(MESSAGES), "--repeat", "1", "--json", "--workdir", str(tmp_path / "work")]
    assert main(argv, server=imap_server, results_dir=tmp_path / "results") == 0

    printed = json.loads(capsys.readouterr().out)
    [path] = (tmp_path / "results").glob("firstsync-*.json")
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results == printed
    assert results["command"].startswith("python3 bench/firstsync.py --messages 60")
    assert results["corpus"]["messages"] == MESSAGES

    modes = results["modes"]
    assert set(modes) == {HISTORY, PROCESS, PROCESS_NO_RULES}
    for entry in modes.values():
        assert entry["messages"] == MESSAGES
        assert len(entry["runs_seconds"]) == 1
        assert entry["rate_per_second"] > 0
        phases = entry["best_run_phases_seconds"]
        assert 0 < phases["ingest"] <= phases["total"]
    # The history import sends the owner its one summary and nothing else.
    assert modes[HISTORY]["mail_sent_per_run"] == [1]
    assert modes[HISTORY]["best_run_phases_seconds"]["finish_import"] > 0
    # A brand-new address acknowledges every new ticket (and more); no rules, no mail.
    tickets = modes[HISTORY]["tickets_created_per_run"][0]
    assert 0 < tickets <= MESSAGES
    assert modes[PROCESS]["mail_sent_per_run"][0] >= tickets
    assert modes[PROCESS_NO_RULES]["mail_sent_per_run"] == [0]
    assert all(entry["warnings_logged_per_run"] == [0] for entry in modes.values())
    # The same mail makes the same tickets whichever way it is taken.
    assert {entry["tickets_created_per_run"][0] for entry in modes.values()} == {tickets}

    ratios = results["ratios"]
    assert set(ratios) == {"history_over_process", "history_over_process_no_rules"}
    assert all(value > 0 for value in ratios.values())
    report = format_report(results)
    assert 'first_sync = "history"' in report and "history / process" in report
