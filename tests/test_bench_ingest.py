"""Smoke tests of the ingest benchmark (``bench/ingest.py``): it runs, and its figures add up.

The sizes are tiny and nothing about speed is asserted: timings on a shared machine say
nothing in a test. The benchmark itself is run by hand (see README.md, "Benchmarks").
"""

from __future__ import annotations

import json
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

from bench.common import write_results
from bench.ingest import (
    BASE_PRELOAD,
    PARTS,
    Options,
    SmtpSinkProcess,
    end_to_end_corpus,
    format_report,
    parse_options,
    run_benchmark,
)
from bench.preload import preload_store
from helpdesk.demo.imapserver import ImapTestServer
from helpdesk.store.store import Store


def test_preloaded_store_is_complete_and_consistent(tmp_path: Path) -> None:
    counts = preload_store(tmp_path / "data", 2_500)
    assert counts == {"tickets": 2_500, "messages": 5_000, "customers": 833}

    store = Store(tmp_path / "data", readonly=True)
    assert store.counts == counts
    segments = sorted(path.name for path in (tmp_path / "data" / "db").glob("tickets-*.json"))
    assert segments == ["tickets-00000.json", "tickets-00001.json", "tickets-00002.json"]
    tickets = list(store.tickets())
    assert [ticket.id for ticket in tickets] == list(range(1, 2_501))
    # Every customer's ticket count matches the tickets recorded for them.
    per_customer: dict[str, int] = {}
    for ticket in tickets:
        per_customer[ticket.customer] = per_customer.get(ticket.customer, 0) + 1
    for email, count in per_customer.items():
        customer = store.customer(email)
        assert customer is not None and customer.ticket_count == count
    first = store.messages(1)
    assert [message.direction for message in first] == ["in", "out"]
    assert 300 <= len(first[0].text.encode()) <= 900
    assert store.ticket_for_message_id(first[0].message_id) == 1
    assert tickets[0].status == "closed" and tickets[-1].status != "closed"


def test_quick_option_sets_sizes_that_were_not_given() -> None:
    quick, _ = parse_options(["--quick"])
    assert (quick.messages, quick.preload, quick.end_to_end_messages) == (2_000, 20_000, 500)
    mixed, _ = parse_options(["--quick", "--messages", "300"])
    assert (mixed.messages, mixed.preload) == (300, 20_000)
    default, _ = parse_options([])
    assert (default.messages, default.preload, default.batch_size) == (10_000, 100_000, 200)
    assert default.end_to_end_messages == 2_000 and default.parts == PARTS


def test_only_picks_parts_in_their_order() -> None:
    options, _ = parse_options(["--only", "end-to-end", "--only", "rates"])
    assert options.parts == ("rates", "end-to-end")


def test_the_end_to_end_corpus_has_one_new_conversation_per_address() -> None:
    headers = [BytesHeaderParser(policy=default).parsebytes(raw) for raw in end_to_end_corpus(300)]
    assert len({item["From"].addresses[0].addr_spec for item in headers}) == 300
    assert not any(item["In-Reply-To"] for item in headers)


def test_benchmark_runs_end_to_end_with_sane_results(imap_server: ImapTestServer, tmp_path: Path) -> None:
    options = Options(
        messages=200,
        preload=2_000,
        repeat=1,
        rounds=1,
        growth_messages=100,
        end_to_end_messages=60,
        profile=True,
    )
    with SmtpSinkProcess() as sink:
        results = run_benchmark(imap_server, sink, options, tmp_path / "work", profile_dir=tmp_path)

    corpus = results["corpus"]
    assert corpus["messages"] == 200
    assert corpus["replies"] == 40 and corpus["with_attachment"] == 20
    kinds = ("text_plain", "text_html_only", "multipart_alternative", "with_attachment")
    assert sum(corpus[kind] for kind in kinds) == 200
    for name in ("raw_fetch_parse", "helpdesk_ingest", "helpdesk_ingest_single_process"):
        assert results[name]["messages"] == 200
        assert len(results[name]["runs_seconds"]) == 1
        assert results[name]["rate_per_second"] > 0
    assert results["rate_ratio"] > 0 and results["single_process_ratio"] > 0
    assert "one process / raw" in format_report(results)

    small, large = results["growth"]["small"], results["growth"]["large"]
    assert (small["tickets"], large["tickets"]) == (BASE_PRELOAD, 2_000)
    for side in (small, large):
        assert side["new_messages_per_round"] == 100
        assert len(side["rounds_seconds"]) == 1
        assert side["open_seconds"] > 0
        best = side["best_per_1000_seconds"]
        assert best["per_message"] > 0 and best["ingest"] > 0
        # The ingest is a part of the cycle it was timed in.
        (cycle,) = side["rounds_seconds"]
        assert 0 < cycle["ingest"] <= cycle["per_message"] <= cycle["cycle"]
    assert results["growth_ratios"]["per_message"] > 0

    end_to_end = results["end_to_end"]
    assert end_to_end["corpus"]["messages"] == 60 and end_to_end["corpus"]["replies"] == 0
    assert end_to_end["mail_sent_per_run"] == 120
    for name in ("limit_fetch_parse_send", "helpdesk_run_once"):
        assert end_to_end[name]["messages"] == 60 and end_to_end[name]["rate_per_second"] > 0
    phases = end_to_end["phases_of_best_run_seconds"]
    assert phases["run_once"] == end_to_end["helpdesk_run_once"]["best_seconds"]
    assert 0 < phases["ingest"] + phases["actions"] + phases["smtp"] <= phases["run_once"]
    assert end_to_end["ratio"] > 0 and end_to_end["target"] == 0.5

    for profile in results["profiles"].values():
        assert Path(profile["file"]).is_file()
        stages = {row["name"]: row for row in profile["rows"] if row["kind"] == "stage"}
        assert stages["IMAP fetch"]["cumulative_seconds"] > 0
    assert set(results["profiles"]) == {"ingest", "large_store_cycle", "end_to_end"}
    stages = {row["name"]: row for row in results["profiles"]["end_to_end"]["rows"] if row["kind"] == "stage"}
    assert stages["SMTP delivery"]["cumulative_seconds"] > 0

    report = format_report(results)
    assert "helpdesk / raw" in report and "2,000" in report
    assert "helpdesk / limit" in report and "helpdesk run --once" in report
    # A run of some parts only reports those.
    kept = {key: value for key, value in results.items() if key not in ("raw_fetch_parse", "growth")}
    partial = format_report({**kept, "profiles": {}})
    assert "helpdesk / limit" in partial and "helpdesk / raw" not in partial and "large/small" not in partial
    path = write_results(results, tmp_path / "results")
    assert path.name.startswith("ingest-")
    assert json.loads(path.read_text(encoding="utf-8"))["corpus"] == corpus
