"""Tests of what the benchmark scripts share (``bench/common.py``): results files, profiles, formatting.

No timing is asserted: the figures here are made up or counted, never measured for speed.
"""

from __future__ import annotations

import cProfile
import json
from pathlib import Path

from bench.common import (
    REPO_ROOT,
    Timing,
    command_line,
    format_runs,
    host,
    machine,
    profile_lines,
    save_profile,
    short_path,
    summarise_profile,
    verdict,
    work_directory,
    write_results,
)


def _work(count: int) -> int:
    """Something to profile: a known number of calls of a Python function and of a built-in."""
    return sum(len(str(number)) for number in range(count))


def test_results_file_is_named_after_the_benchmark_and_its_start(tmp_path: Path) -> None:
    results = {"benchmark": "rules", "started": "2026-03-04T14:00:05+00:00", "note": "Zoë's café"}
    path = write_results(results, tmp_path / "results")
    assert path == tmp_path / "results" / "rules-20260304T140005Z.json"
    text = path.read_text(encoding="utf-8")
    assert "Zoë's café" in text and text.endswith("}\n")
    assert json.loads(text) == results


def test_timing_reports_the_best_run_with_or_without_the_message_count() -> None:
    timing = Timing(200, [0.5, 0.25, 0.4])
    assert timing.best == 0.25 and timing.rate == 800
    figures = {"runs_seconds": [0.5, 0.25, 0.4], "best_seconds": 0.25, "rate_per_second": 800.0}
    assert timing.to_json() == {"messages": 200, **figures}
    assert list(timing.to_json()) == ["messages", *figures]
    assert timing.to_json(with_messages=False) == figures


def test_machine_is_the_host_with_cpus_and_what_else_is_given() -> None:
    assert list(host()) == ["python", "platform"]
    described = machine(imap_server="dovecot 2.3")
    assert list(described) == ["python", "platform", "cpus", "imap_server"]
    assert described["cpus"] >= 1 and described["imap_server"] == "dovecot 2.3"


def test_profile_summary_finds_stages_and_ranks_functions(tmp_path: Path) -> None:
    profile = cProfile.Profile()
    profile.runcall(_work, 1_000)
    path = tmp_path / "profiles" / "work.prof"
    save_profile(profile, path)
    assert path.is_file()

    stages = (
        ("the work", "tests/test_bench_common.py", "_work"),
        ("  str length, a built-in", "~", "len"),
        ("not called", "helpdesk/store/store.py", "commit"),
    )
    rows = summarise_profile(path, stages, top=100)
    found = {row["name"]: row for row in rows if row["kind"] == "stage"}
    assert list(found) == ["the work", "  str length, a built-in"]
    assert found["the work"]["calls"] == 1 and found["  str length, a built-in"]["calls"] == 1_000
    # A stage called within another is a part of it.
    assert 0 <= found["  str length, a built-in"]["share"] <= found["the work"]["share"] <= 1
    assert [row["kind"] for row in rows[: len(found)]] == ["stage"] * len(found)
    functions = rows[len(found) :]
    assert [row["own_seconds"] for row in functions] == sorted(
        (row["own_seconds"] for row in functions), reverse=True
    )
    (work,) = [row for row in functions if row["name"].endswith("(_work)")]
    assert work["name"].startswith("tests/test_bench_common.py:") and work["calls"] == 1
    assert len([row for row in summarise_profile(path, stages, top=2) if row["kind"] == "function"]) == 2

    without_calls = summarise_profile(path, stages, top=2, stage_calls=False)
    assert [list(row) for row in without_calls if row["kind"] == "stage"] == [
        ["kind", "name", "cumulative_seconds", "share"]
    ] * 2


def test_profile_lines_show_calls_only_where_a_stage_has_them() -> None:
    stage = {"kind": "stage", "name": "parse", "cumulative_seconds": 1.5, "share": 0.25}
    function = {
        "kind": "function",
        "name": "helpdesk/intake/message.py:10(parse_message)",
        "calls": 2_000,
        "own_seconds": 0.75,
        "cumulative_seconds": 1.5,
    }
    assert profile_lines([stage, function], name_width=10, seconds_width=8) == [
        "  parse         1.50s   25%",
        "     0.75s own    1.50s cum     2,000  helpdesk/intake/message.py:10(parse_message)",
    ]
    assert profile_lines([{**stage, "calls": 3}], name_width=6, seconds_width=7) == [
        "  parse    1.50s   25%         3 calls"
    ]


def test_short_path_drops_the_install_prefixes() -> None:
    assert short_path(f"{REPO_ROOT}/helpdesk/store/store.py") == "helpdesk/store/store.py"
    assert short_path("/usr/lib/python3.11/site-packages/jinja2/lexer.py") == "jinja2/lexer.py"
    assert short_path("/usr/lib/python3.11/email/message.py") == "email/message.py"
    assert short_path("~") == "~"


def test_formatting_helpers() -> None:
    assert format_runs([1.23456, 0.5], 2) == "1.23, 0.50"
    assert format_runs([0.1234, 2], 3, separator=" ") == "0.123 2"
    assert verdict(True) == "met" and verdict(False) == "MISSED"
    assert verdict(False, missed="NOT met") == "NOT met"
    assert command_line("bench/rules.py", ["--tickets", "500"]) == "python3 bench/rules.py --tickets 500"


def test_work_directory_keeps_a_given_one_and_removes_a_temporary_one(tmp_path: Path) -> None:
    given = tmp_path / "given" / "work"
    with work_directory(given, "hd-test-") as directory:
        assert directory == given and directory.is_dir()
        (directory / "file").write_text("kept", encoding="utf-8")
    assert (given / "file").read_text(encoding="utf-8") == "kept"
    with work_directory(None, "hd-test-") as directory:
        assert directory.is_dir() and directory.name.startswith("hd-test-")
    assert not directory.exists()
