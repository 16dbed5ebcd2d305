"""The weekly digest's figures (helpdesk/clock/digest.py), from a seeded store.

The store is real (``Store`` in ``tmp_path``), its tickets crafted with known dates; the
business is open Mon-Fri 09:00-17:00 UTC (8 hours a day) and ``now`` is Wednesday
9 December 2026, 12:00 UTC. Every expected figure below is worked out by hand in the
comment beside it. The seeded store and the data here are shared with the rendering tests
(test_digestview.py) and the browser test (test_digest_html.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.clock.digest import CHART_DAYS, Digest, build_digest
from helpdesk.intake.quarantine import QuarantineEntry
from helpdesk.outbound.outbox import OutboxItem
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import Duration
from helpdesk.store.records import Customer, StoredMessage, Ticket
from helpdesk.store.store import Store

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BUSINESS = "support@acme.example"
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> broken"
CONTEXT_BASE = {
    "business": {
        "name": "Acme Tea Co.", "legal_name": "Acme Tea Co. Ltd", "email": BUSINESS, "phone": "",
        "website": "", "address": "", "tax_id": "", "timezone": "UTC",
    },
    "owner": {"name": "Sam Owner", "email": "owner@acme.example"},
}  # fmt: skip


def at(text: str) -> str:
    """``"12-07 10:00"`` (in 2026, UTC) as the ISO string the store keeps."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC).isoformat()


@dataclass(frozen=True)
class Plan:
    name: str
    customer: str
    priority: str
    status: str
    created: str
    # Relayed owner answers; "note:" marks an owner reply that was not relayed.
    answers: tuple[str, ...] = ()
    customer_again: str | None = None
    closed: str | None = None
    escalation_level: int = 0
    subject: str = ""


PLANS = (
    # Open. T1: Mon 10:00 -> Wed 12:00 = 7 + 8 + 3 = 18 h, unanswered: overdue (1 business day).
    Plan("T1", "alice@example.com", "urgent", "new", "12-07 10:00"),
    # T2: Tue 15:00 -> Wed 12:00 = 2 + 3 = 5 h, unanswered, not yet overdue.
    Plan("T2", "bob@example.com", "high", "open", "12-08 15:00", subject=HOSTILE),
    # T3: pending since the answer Thu 3 Dec 11:00: 6 + 8 + 8 + 8 + 3 = 33 h; open 35 h;
    # first response 2 h (this week).
    Plan("T3", "carol@example.com", "normal", "pending", "12-03 09:00", answers=("12-03 11:00",)),
    # T4: Fri 27 Nov 16:00, never answered, escalated: 1 + 7 x 8 + 3 = 60 h.
    Plan("T4", "dave@example.com", "normal", "open", "11-27 16:00", escalation_level=1),
    # T5: Mon 30 Nov 09:00, answered 13:00 (first response 4 h, last week): open 59 h.
    Plan("T5", "alice@example.com", "low", "open", "11-30 09:00", answers=("11-30 13:00",)),
    # Closed. C1: answered after 1 h (last week), closed Thu 3 Dec 09:00: 8 + 8 = 16 h.
    Plan(
        "C1", "alice@example.com", "normal", "closed", "12-01 09:00", ("12-01 10:00",), closed="12-03 09:00"
    ),
    # C2: Wed 2 Dec 14:00, answered 15:00 (1 h), closed Fri 10:00: 3 + 8 + 1 = 12 h.
    Plan("C2", "bob@example.com", "normal", "closed", "12-02 14:00", ("12-02 15:00",), closed="12-04 10:00"),
    # C3: Mon 23 Nov 09:00, answered 12:00 (3 h), closed Thu 26 Nov 09:00 (last week): 24 h.
    Plan("C3", "dave@example.com", "normal", "closed", "11-23 09:00", ("11-23 12:00",), closed="11-26 09:00"),
    # C4: Mon 16 Nov 10:00; a commands-only reply first (not an answer), the answer Tue 10:00:
    # 7 + 1 = 8 h; closed Wed 18 Nov 17:00: 7 + 8 + 8 = 23 h.
    Plan(
        "C4",
        "dave@example.com",
        "normal",
        "closed",
        "11-16 10:00",
        ("note:11-16 11:00", "11-17 10:00"),
        closed="11-18 17:00",
    ),
    # C5: long ago, outside every window.
    Plan("C5", "erin@example.com", "normal", "closed", "01-05 10:00", ("01-05 11:00",), closed="01-06 10:00"),
    # C6: on a Saturday: answered and closed while the business is closed: 0 h and 0 h.
    Plan("C6", "carol@example.com", "high", "closed", "12-05 10:00", ("12-05 10:30",), closed="12-05 11:00"),
)
NAMES = {
    "alice@example.com": "Alice Archer",
    "bob@example.com": "Bob Baker",
    "carol@example.com": "Carol Cook",
    "dave@example.com": "Dave <Evil> & Co",
    "erin@example.com": "Erin Eve",
}


def seed(store: Store) -> dict[str, int]:
    """Write the planned tickets, their messages and customers; the ticket id of each plan."""
    ids: dict[str, int] = {}
    counts: dict[str, int] = {}
    for plan in PLANS:
        counts[plan.customer] = counts.get(plan.customer, 0) + 1
    for email, name in NAMES.items():
        store.save_customer(
            Customer(0, email, name, at("01-01 09:00"), at("12-01 09:00"), ticket_count=counts[email])
        )
    for plan in PLANS:
        created = at(plan.created)
        ticket = Ticket(
            id=store.new_ticket_id(),
            customer=plan.customer,
            subject=plan.subject or f"Order question {plan.name}",
            created_at=created,
            updated_at=created,
            status=plan.status,
            priority=plan.priority,
            participants=[plan.customer],
            last_customer_at=created,
            escalation_level=plan.escalation_level,
        )
        ids[plan.name] = ticket.id
        ticket.record(created, "created", f"from {plan.customer}")
        ticket.record(created, "message", f"from {plan.customer} (new conversation)")
        ticket.record(created, "rule", "acknowledge: no conditions")
        store.save_ticket(ticket)
        message = StoredMessage(
            store.new_message_id(),
            ticket.id,
            "in",
            f"{plan.name}@customer",
            plan.customer,
            [BUSINESS],
            ticket.subject,
            created,
            "Hello",
        )
        store.add_message(message)
        # The acknowledgement: automatic outbound mail, which is no answer.
        store.add_message(
            StoredMessage(
                store.new_message_id(),
                ticket.id,
                "out",
                f"ack.{plan.name}@acme.example",
                BUSINESS,
                [plan.customer],
                f"[#{ticket.id}] {ticket.subject}",
                created,
                "Thank you",
            )
        )
        for answer in plan.answers:
            relayed = not answer.startswith("note:")
            stamp = at(answer.removeprefix("note:"))
            ticket.last_owner_at = stamp
            ticket.record(stamp, "owner-replied", "relayed to the customer" if relayed else "not relayed")
            store.add_message(
                StoredMessage(
                    store.new_message_id(),
                    ticket.id,
                    "out" if relayed else "note",
                    f"reply.{plan.name}.{stamp}@acme.example",
                    BUSINESS,
                    [plan.customer],
                    f"Re: {ticket.subject}",
                    stamp,
                    "Answer",
                    origin_message_id=f"owner.{plan.name}.{stamp}@owner" if relayed else None,
                )
            )
        if plan.closed:
            ticket.closed_at = at(plan.closed)
            ticket.record(ticket.closed_at, "status", "closed")
        ticket.updated_at = max(entry["at"] for entry in ticket.history)
        store.save_ticket(ticket)
    store.commit()
    return ids


@pytest.fixture(scope="module")
def hours() -> BusinessHours:
    return BusinessHours.parse("Mon-Fri 09:00-17:00", "UTC")


@pytest.fixture(scope="module")
def tokens() -> ReplyTokens:
    return ReplyTokens(b"0123456789abcdef0123456789abcdef", BUSINESS)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, int]]:
    store = Store(tmp_path_factory.mktemp("digest"))
    ids = seed(store)
    return store, ids


FAILURE = OutboxItem(
    id="f1",
    key="reply:2:9",
    kind="reply",
    ticket_id=2,
    message_id="m@acme.example",
    sender=BUSINESS,
    recipients=["bob@example.com"],
    subject=f"Re: {HOSTILE}",
    created_at=at("12-08 16:00"),
    next_attempt_at=at("12-08 16:00"),
    attempts=3,
    last_error="550 5.1.1 <bob@example.com> unknown",
)
QUARANTINED = QuarantineEntry("3f9a1c0d7e2b4a65", "no sender address", "INBOX/1/7", at("12-08 09:00"), 512)


@pytest.fixture(scope="module")
def digest(seeded: tuple[Store, dict[str, int]], hours: BusinessHours, tokens: ReplyTokens) -> Digest:
    store, _ = seeded
    return build_digest(store, hours, NOW, tokens, failures=[FAILURE], quarantined=[QUARANTINED])


@pytest.fixture(scope="module")
def ids(seeded: tuple[Store, dict[str, int]]) -> dict[str, int]:
    return seeded[1]


def by_id(digest: Digest, ids: dict[str, int]) -> dict[str, Any]:
    names = {ticket_id: name for name, ticket_id in ids.items()}
    lines = [line for group in digest.priorities for line in group.tickets]
    return {names[line.id]: line for line in lines}


def test_open_tickets_by_priority_oldest_first(digest: Digest, ids: dict[str, int]) -> None:
    groups = {group.priority: [line.id for line in group.tickets] for group in digest.priorities}
    assert [group.priority for group in digest.priorities] == ["urgent", "high", "normal", "low"]
    assert {group.priority: group.count for group in digest.priorities} == {
        "urgent": 1, "high": 1, "normal": 2, "low": 1,
    }  # fmt: skip
    assert groups == {
        "urgent": [ids["T1"]],
        "high": [ids["T2"]],
        "normal": [ids["T4"], ids["T3"]],
        "low": [ids["T5"]],
    }
    assert digest.open_total == 5


def test_ages_and_waiting_in_business_hours(digest: Digest, ids: dict[str, int]) -> None:
    lines = by_id(digest, ids)
    assert {name: line.age_hours for name, line in lines.items()} == {
        "T1": 18.0, "T2": 5.0, "T3": 35.0, "T4": 60.0, "T5": 59.0,
    }  # fmt: skip
    # Waiting for the owner: T1, T2, T4; T3 waits on the customer since the answer; T5 was answered.
    assert {name: line.waiting_hours for name, line in lines.items()} == {
        "T1": 18.0, "T2": 5.0, "T3": 33.0, "T4": 60.0, "T5": None,
    }  # fmt: skip
    assert lines["T1"].name == "Alice Archer"
    assert lines["T4"].escalation_level == 1


def test_overdue_escalated_and_pending(digest: Digest, ids: dict[str, int]) -> None:
    assert digest.overdue_count == 2  # T1 (18 h > 1 business day) and T4
    assert digest.escalated_count == 1  # T4
    assert digest.attention_count == 2
    assert [line.id for line in digest.attention] == [ids["T4"], ids["T1"]]
    assert all(line.overdue for line in digest.attention)
    assert digest.unanswered_count == 3
    assert digest.pending_count == 1
    assert [(line.id, line.waiting_hours) for line in digest.pending] == [(ids["T3"], 33.0)]
    assert digest.response_time == "1 business day"


def test_response_time_is_the_callers_promise(
    seeded: tuple[Store, dict[str, int]], hours: BusinessHours, tokens: ReplyTokens
) -> None:
    store, ids = seeded
    # Within 4 business hours: T2 (5 h) is late too.
    digest = build_digest(store, hours, NOW, tokens, response_time=Duration(4, "hours", business=True))
    assert digest.overdue_count == 3
    assert [line.id for line in digest.attention] == [ids["T4"], ids["T1"], ids["T2"]]
    assert digest.response_time == "4 business hours"


def test_this_week_against_last_week(digest: Digest) -> None:
    # Opened this week: T1, T2, T3, C2, C6; last week: T4, T5, C1.
    assert (digest.week.opened, digest.last_week.opened) == (5, 3)
    # Closed this week: C1, C2, C6; last week: C3.
    assert (digest.week.closed, digest.last_week.closed) == (3, 1)
    assert digest.week.start == "2026-12-02T12:00:00+00:00"
    assert digest.week.end == digest.last_week.end.replace("12-02", "12-09")


def test_medians_for_five_weeks(digest: Digest) -> None:
    first = [week.first_response_hours for week in digest.weeks]
    resolution = [week.resolution_hours for week in digest.weeks]
    # This week: T3 2 h, C2 1 h, C6 0 h -> 1; last week: T5 4 h, C1 1 h -> 2.5; then C3 3 h;
    # then C4 8 h (its commands-only reply is no answer); then nothing.
    assert first == [1.0, 2.5, 3.0, 8.0, None]
    assert [week.first_responses for week in digest.weeks] == [3, 2, 1, 1, 0]
    # This week: C1 16 h, C2 12 h, C6 0 h -> 12; last week: C3 24 h; then C4 23 h.
    assert resolution == [12.0, 24.0, 23.0, None, None]
    assert [week.start[:10] for week in digest.weeks] == [
        "2026-12-02", "2026-11-25", "2026-11-18", "2026-11-11", "2026-11-04",
    ]  # fmt: skip


def test_chart_per_day(digest: Digest) -> None:
    assert len(digest.chart) == CHART_DAYS
    assert digest.chart[0].day.isoformat() == "2026-11-12"
    assert digest.chart[-1].day.isoformat() == "2026-12-09"
    opened = {day.day.isoformat()[5:]: day.opened for day in digest.chart if day.opened}
    closed = {day.day.isoformat()[5:]: day.closed for day in digest.chart if day.closed}
    assert opened == {
        "11-16": 1, "11-23": 1, "11-27": 1, "11-30": 1, "12-01": 1, "12-02": 1, "12-03": 1,
        "12-05": 1, "12-07": 1, "12-08": 1,
    }  # fmt: skip
    assert closed == {"11-18": 1, "11-26": 1, "12-03": 1, "12-04": 1, "12-05": 1}


def test_customers(digest: Digest, ids: dict[str, int], tokens: ReplyTokens) -> None:
    waiting = [
        (line.email, line.waiting_hours, line.tickets, line.ticket_id) for line in digest.longest_waiting
    ]
    assert waiting == [
        ("dave@example.com", 60.0, 1, ids["T4"]),
        ("alice@example.com", 18.0, 1, ids["T1"]),
        ("bob@example.com", 5.0, 1, ids["T2"]),
    ]
    # Tickets opened in the last 28 days (erin's is older); ties by address.
    top = [(line.email, line.tickets, line.total_tickets) for line in digest.top_customers]
    assert top == [
        ("alice@example.com", 3, 3), ("dave@example.com", 3, 3), ("bob@example.com", 2, 2),
        ("carol@example.com", 2, 2),
    ]  # fmt: skip
    assert digest.top_customers[0].ticket_id == ids["C1"]  # alice's latest
    assert digest.top_customers[0].reply_address == tokens.address(ids["C1"], OWNER_PURPOSE)


def test_failures_and_quarantine_are_listed(digest: Digest, tokens: ReplyTokens) -> None:
    assert digest.failures_count == 1
    assert digest.failures[0].reply_address == tokens.address(2, OWNER_PURPOSE)
    assert digest.quarantined_count == 1 and digest.quarantined[0].id == "3f9a1c0d7e2b4a65"


def test_an_empty_store(tmp_path: Path, hours: BusinessHours, tokens: ReplyTokens) -> None:
    digest = build_digest(Store(tmp_path), hours, NOW, tokens)
    assert digest.open_total == 0 and digest.weeks[0].first_response_hours is None


def test_naive_now_is_refused(
    seeded: tuple[Store, dict[str, int]], hours: BusinessHours, tokens: ReplyTokens
) -> None:
    with pytest.raises(ValueError):
        build_digest(seeded[0], hours, datetime(2026, 12, 9, 12), tokens)
