"""Smoke tests of the latency benchmark (``bench/latency.py``): it runs, and its figures add up.

A handful of messages and nothing asserted about speed: timings on a shared machine say nothing
in a test. The benchmark itself is run by hand (see README.md, "Benchmarks").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.common import write_results
from bench.latency import Options, format_report, parse_options, percentiles, run_benchmark
from helpdesk.demo.imapserver import ImapTestServer


def test_options_default_to_a_hundred_messages_a_second_and_a_half_apart() -> None:
    options, _ = parse_options([])
    assert (options.messages, options.interval, options.warm_up) == (100, 1.5, 2)
    with pytest.raises(SystemExit):
        parse_options(["--messages", "0"])


def test_percentiles_leave_out_what_never_came() -> None:
    figures = percentiles([float(value) for value in range(1, 21)] + [None])
    assert figures == {"p50": 10.5, "p95": 19.0, "max": 20.0, "mean": 10.5}
    assert percentiles([None]) is None


def test_benchmark_measures_every_message_from_append_to_acknowledgement(
    imap_server: ImapTestServer, tmp_path: Path
) -> None:
    options = Options(messages=4, interval=0.5, warm_up=1, settle=30.0)
    results = run_benchmark(imap_server, options, tmp_path / "work")

    assert results["messages"] == 4
    each = results["acknowledgement_seconds_each"]
    assert len(each) == 4 and all(value > 0 for value in each)
    latency = results["append_to_acknowledgement_seconds"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    assert latency["max"] == max(each)
    # The owner is notified of each ticket too, and nothing comes before its APPEND.
    assert results["append_to_notification_seconds"]["p50"] > 0
    assert results["append_command_seconds"]["max"] < latency["max"]
    assert len(results["warm_up_seconds"]) == 1
    assert set(results["targets_met"]) == {"p50", "p95"}
    assert (tmp_path / "work" / "daemon.log").is_file()

    report = format_report(results)
    assert "APPEND to acknowledgement" in report and "target p50 < 1.0 s" in report
    path = write_results(results, tmp_path / "results")
    assert path.name.startswith("latency-")
    assert json.loads(path.read_text(encoding="utf-8"))["acknowledgement_seconds_each"] == each
