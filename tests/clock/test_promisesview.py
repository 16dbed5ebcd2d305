"""Unit tests of ``helpdesk.clock.promisesview``: the digest's promises and complaint causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk.clock.promisesview import cause_section, promise_section
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import iso

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TOKENS = ReplyTokens(bytes(32), "support@acme.example")


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": number,
        "subject": f"Ticket {number}",
        "customer": f"c{number}@example.org",
        "status": "open",
    } | fields


def promised(days: float, what: str = "") -> dict[str, str]:
    return {"due": iso(NOW + timedelta(days=days)), "what": what, "set_at": iso(NOW - timedelta(days=9))}


def test_missed_promises_oldest_first_and_the_ones_ahead_counted() -> None:
    docs = [
        ticket(1, promise=promised(-1, "send the part")),
        ticket(2, promise=promised(-3, "call back")),
        ticket(3, promise=promised(2)),
        ticket(4, promise=promised(-5), status="closed"),
        ticket(5),
    ]
    section = promise_section(docs, NOW, TOKENS)
    assert section is not None and section.key == "promises"
    assert section.summary == "2 missed, 1 still ahead"
    assert [row.ticket_id for row in section.rows] == [2, 1]
    assert section.rows[0].detail == "call back (c2@example.org)"
    assert section.rows[0].reply_address == TOKENS.address(2, "owner")
    assert section.rows[1].value == "was due 2026-12-06 08:00 UTC"


def test_no_promise_no_section() -> None:
    assert promise_section([ticket(1), ticket(2, promise={})], NOW, TOKENS) is None


def test_causes_this_four_weeks_against_the_four_before() -> None:
    def caused(number: int, cause: str, days_ago: int) -> dict[str, Any]:
        return ticket(number, cause=cause, cause_at=iso(NOW - timedelta(days=days_ago)))

    docs = [
        caused(1, "late-delivery", 1),
        caused(2, "late-delivery", 10),
        caused(3, "late-delivery", 40),
        caused(4, "damaged", 30),
        caused(5, "damaged", 35),
        caused(6, "price", 3),
        caused(7, "price", 90),
        ticket(8),
    ]
    section = cause_section(docs, NOW)
    assert section is not None and section.title == "Causes of complaints"
    assert section.summary == "3 in the last four weeks, 3 in the four before"
    assert [(row.label, row.value, row.detail) for row in section.rows] == [
        ("late-delivery", "2", "1 in the four weeks before (up)"),
        ("price", "1", "0 in the four weeks before (up)"),
        ("damaged", "0", "2 in the four weeks before (down)"),
    ]


def test_no_cause_no_section() -> None:
    assert cause_section([ticket(1)], NOW) is None
