"""Smoke test of the start-up benchmark (``bench/startup.py``): it runs, and its figures add up.

The store is tiny and nothing about speed or memory is asserted: such figures on a shared machine
say nothing in a test. The benchmark itself is run by hand (see README.md, "Benchmarks").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.startup import READER, WRITER, format_report, main, parse_arguments, prepare_store

TICKETS = 300


def test_options_default_to_a_hundred_thousand_tickets() -> None:
    args = parse_arguments([])
    assert (args.tickets, args.repeat, args.store, args.json) == (100_000, 3, None, False)
    with pytest.raises(SystemExit):
        parse_arguments(["--repeat", "0"])


def test_benchmark_builds_its_store_then_reuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir, results_dir = tmp_path / "store", tmp_path / "results"
    argv = ["--tickets", str(TICKETS), "--store", str(store_dir), "--json", "--results-dir", str(results_dir)]
    assert main([*argv, "--repeat", "2"]) == 0

    printed = json.loads(capsys.readouterr().out)
    [path] = results_dir.glob("startup-*.json")
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results == printed
    assert results["command"].startswith(f"python3 bench/startup.py --tickets {TICKETS}")
    store = results["store"]
    assert not store["reused"]
    assert store["counts"] == {"tickets": TICKETS, "messages": 2 * TICKETS, "customers": TICKETS // 3}
    assert store["segment_files"] >= 3 and store["segment_mb"] > 0
    for mode in (WRITER, READER):
        entry = results[mode]
        assert entry["counts"] == store["counts"]
        assert len(entry["runs_seconds"]) == 2
        assert 0 < entry["best_seconds"] <= entry["median_seconds"]
        assert entry["imports_rss_mb"] > 0
        assert 0 < entry["rss_mb"] <= entry["peak_rss_mb"]
    sweep = results[WRITER]["sweep"]
    assert sweep["tickets"] == TICKETS and len(sweep["runs_seconds"]) == 2
    assert set(results["targets_met"]) == {"open", "rss"}
    report = format_report(results)
    assert "open for writing (daemon)" in report and "< 400 MB" in report and f"{TICKETS:,} tickets" in report

    # A second run finds the complete store and opens it again without building it.
    assert main([*argv, "--repeat", "1"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["store"]["reused"] and again["store"]["counts"] == store["counts"]
    assert len(again[WRITER]["runs_seconds"]) == 1


def test_a_directory_the_benchmark_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret").write_text("keep me", encoding="utf-8")
    with pytest.raises(RuntimeError, match="not a store this benchmark built"):
        prepare_store(tmp_path / "data", TICKETS)
    assert (tmp_path / "data" / "secret").read_text(encoding="utf-8") == "keep me"
