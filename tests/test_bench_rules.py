"""Smoke test of the rules benchmark (bench/rules.py) on a small store.

The benchmark's figures are only meaningful at its full size; this checks that it builds the
stores it describes, that the ticks do what it reports (the first fires what is due, the
next ones fire nothing), and that the per-message phase runs every new-ticket rule. No
timing is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.common import write_results
from bench.rules import Options, format_report, run_benchmark

TICKETS = 500
MESSAGES = 20
ROUNDS = 2
TICK_RULES = [
    "escalate-urgent", "escalate", "follow-up", "auto-close",
    "payment-reminder", "promise-reminder", "promise-missed",
]  # fmt: skip
# The benchmark's stores hold no invoices and no promises: those rules never fire there.
FIRING_TICK_RULES = [name for name in TICK_RULES if name.partition("-")[0] not in ("payment", "promise")]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("bench-rules")
    options = Options(tickets=TICKETS, messages=MESSAGES, repeat=ROUNDS, profile=True)
    return run_benchmark(options, workdir, profile_dir=workdir)


def test_the_stores_have_the_described_mix(results: dict[str, Any]) -> None:
    real, worst = results["ticks"]["realistic"], results["ticks"]["worst"]
    assert real["tickets"] == worst["tickets"] == TICKETS
    assert real["statuses"]["closed"] == 350
    assert real["statuses"]["pending"] == 75
    assert real["statuses"]["new"] + real["statuses"]["open"] == 75
    # The 5% high-priority share is all waiting for an answer; closed tickets add their own.
    assert real["priorities"].get("high", 0) + real["priorities"].get("urgent", 0) >= 25
    # The worst case: every ticket waits for an answer, none is closed or pending.
    assert set(worst["statuses"]) <= {"new", "open"}
    assert sum(worst["statuses"].values()) == TICKETS
    assert results["rules"]["tick"] == TICK_RULES


def test_first_tick_fires_what_is_due_and_later_ticks_nothing(results: dict[str, Any]) -> None:
    first = results["ticks"]["realistic"]["first_tick"]
    assert first["fired"] > 0
    assert sum(first["fired_by_rule"].values()) == first["fired"]
    assert sorted(first["fired_by_rule"]) == sorted(FIRING_TICK_RULES)
    # Each escalation sends one reminder to the owner; follow-ups and closings write to customers.
    escalations = first["fired_by_rule"]["escalate"] + first["fired_by_rule"]["escalate-urgent"]
    assert first["mail_queued"]["escalation"] == escalations
    assert 0 < first["mail_queued"]["follow-up"] <= first["fired_by_rule"]["follow-up"]
    assert 0 < first["mail_queued"]["closed-notice"] <= first["fired_by_rule"]["auto-close"]
    assert first["ms_per_firing"] is not None and first["ms_per_firing"] > 0
    # Fewer than 500 were due: the first tick fired them all, no catch-up tick was needed.
    assert first["fired"] < 500
    assert results["ticks"]["realistic"]["catch_up"] == {"ticks": 0, "fired": 0}
    steady = results["ticks"]["realistic"]["steady_tick"]
    assert steady["fired"] == [0] * ROUNDS
    assert len(steady["runs_seconds"]) == ROUNDS and steady["best_seconds"] == min(steady["runs_seconds"])


def test_the_worst_case_evaluates_everything_and_fires_nothing(results: dict[str, Any]) -> None:
    worst = results["ticks"]["worst"]
    assert worst["first_tick"]["fired"] == 0
    assert worst["first_tick"]["mail_queued"] == {}
    assert worst["steady_tick"]["fired"] == [0] * ROUNDS
    profile = results["profiles"]["worst_tick"]
    assert Path(profile["file"]).is_file()
    assert profile["returned"] == 0
    stages = {row["name"].strip(): row for row in profile["rows"] if row["kind"] == "stage"}
    assert stages["Dispatcher.tick"]["calls"] == 1
    assert any(row["kind"] == "function" for row in profile["rows"])


def test_per_message_phase_runs_the_new_ticket_rules(results: dict[str, Any]) -> None:
    messages = results["per_message"]
    assert messages["messages_per_round"] == MESSAGES
    assert messages["rounds"] == ROUNDS
    assert messages["events_handled_per_round"] == [2 * MESSAGES] * ROUNDS
    # The ticks closed tickets: their ticket.closed events were handled before the timing.
    closed = results["ticks"]["realistic"]["first_tick"]["fired_by_rule"]["auto-close"]
    assert messages["events_drained_before"] == closed
    total = MESSAGES * ROUNDS
    assert messages["matched_by_rule"]["acknowledge"] == total
    assert messages["matched_by_rule"]["notify-owner"] == total
    assert messages["mail_queued"] == {"acknowledge": total, "owner-notification": total}
    assert messages["us_per_message"] > messages["us_per_message_evaluation"] > 0
    profile = results["profiles"]["messages"]
    assert profile["messages"] == MESSAGES and profile["returned"] == 2 * MESSAGES
    stages = {row["name"].strip(): row for row in profile["rows"] if row["kind"] == "stage"}
    assert stages["Templates.render"]["calls"] == 2 * MESSAGES


def test_report_and_results_file(results: dict[str, Any], tmp_path: Path) -> None:
    text = format_report(results)
    assert "steady-state tick" in text
    assert f"{TICKETS:,}" in text
    path = write_results(results, tmp_path)
    assert path.name.startswith("rules-") and path.suffix == ".json"
    assert json.loads(path.read_text(encoding="utf-8"))["ticks"]["realistic"]["tickets"] == TICKETS
