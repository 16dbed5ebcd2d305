"""End to end: the shipped time rules on business time, with an injected clock.

Real IMAP server and SMTP sink; the clock is moved by hand (no sleeping).
The business is in Europe/London, open Mon-Fri 09:00-18:00; the clock starts
on Tuesday 3 March 2026, 10:00 (GMT, so UTC and local time agree).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.helpers import OWNER
from tests.test_e2e_outbound import Harness, owner_reply, text_of


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def kinds(harness: Harness, kind: str) -> list:
    return [message for message in harness.delivered() if message["X-Helpdesk-Kind"] == kind]


def at(harness: Harness, hour: int, minute: int = 0, day: int = 3) -> None:
    harness.clock.now = harness.clock.now.replace(day=day, hour=hour, minute=minute)
    harness.cycle()


def test_acknowledgement_promises_the_escalation_time(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("kim@example.org", "Order 12 question", "When does it ship?"))
    harness.mailbox.append(customer_mail("lee@example.org", "Refund for order 13", "It arrived broken."))
    harness.cycle()
    [normal] = [m for m in kinds(harness, "acknowledge") if "kim@" in str(m["To"])]
    [urgent] = [m for m in kinds(harness, "acknowledge") if "lee@" in str(m["To"])]
    assert "by today 14:00" in text_of(normal)  # 4 business hours.
    assert "by today 11:00" in text_of(urgent)  # High priority: 1 business hour.


def test_escalation_fires_on_business_time_and_stops_when_owner_replies(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("kim@example.org", "Order 12 question", "When does it ship?"))
    harness.cycle()
    at(harness, 13, 59)
    assert kinds(harness, "escalation") == []
    at(harness, 14, 0)
    [first] = kinds(harness, "escalation")
    assert "reminder 1" in text_of(first)
    at(harness, 14, 30)
    at(harness, 17, 59)
    assert len(kinds(harness, "escalation")) == 1
    # The next window: 4 business hours after the reminder, 14:00 + 4 h = 18:00.
    at(harness, 18, 0)
    assert len(kinds(harness, "escalation")) == 2
    # Overnight nothing; 4 business hours after 18:00 is Wednesday 13:00.
    at(harness, 23, 0)
    at(harness, 12, 59, day=4)
    assert len(kinds(harness, "escalation")) == 2
    at(harness, 13, 0, day=4)
    assert len(kinds(harness, "escalation")) == 3
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.escalation_level == 3
    history = [entry["detail"] for entry in ticket.history if entry["event"] == "rule"]
    assert sum(1 for detail in history if detail.startswith("escalate:")) == 3
    assert "waiting for an answer for 4 business hours" in history[-1]

    notification = next(m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification")
    harness.mailbox.append(owner_reply(notification, "It ships tomorrow."))
    at(harness, 13, 30, day=4)
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "pending" and ticket.escalation_level == 0
    at(harness, 17, 0, day=5)
    assert len(kinds(harness, "escalation")) == 3


def test_escalation_stops_after_three_reminders(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("kim@example.org", "Order 14", "Hello?"))
    harness.cycle()
    for day in range(4, 11):
        at(harness, 17, 0, day=day)
    assert len(kinds(harness, "escalation")) == 3


def test_follow_up_then_auto_close(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("kim@example.org", "Order 15", "Is it in stock?"))
    harness.cycle()
    notification = next(m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification")
    harness.mailbox.append(owner_reply(notification, "Yes, it is."))
    at(harness, 11, 0)  # The owner answers on Tuesday 11:00: pending from then on.
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "pending"

    at(harness, 10, 59, day=6)
    assert kinds(harness, "follow-up") == []
    at(harness, 11, 0, day=6)  # 3 days later.
    [follow_up] = kinds(harness, "follow-up")
    assert follow_up["Auto-Submitted"] == "auto-replied"
    at(harness, 12, 0, day=8)
    assert len(kinds(harness, "follow-up")) == 1
    at(harness, 10, 59, day=13)
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "pending"
    at(harness, 11, 0, day=13)  # 10 days after the owner's answer.
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "closed"
    assert len(kinds(harness, "closed-notice")) == 1


def test_restart_in_the_middle_duplicates_no_firing(tmp_path: Path, mailbox, smtp_sink, monkeypatch) -> None:
    harness = Harness(tmp_path, mailbox, smtp_sink)
    harness.mailbox.append(customer_mail("kim@example.org", "Order 16", "Hello?"))
    harness.cycle()
    harness.clock.now = harness.clock.now.replace(hour=14)
    # The tick enqueues the reminder, then the process dies before the store commit.
    original = Store.commit
    calls = {"count": 0}

    def dying_commit(self: Store) -> None:
        calls["count"] += 1
        raise SystemExit("killed")

    monkeypatch.setattr(Store, "commit", dying_commit)
    with pytest.raises(SystemExit):
        harness.helpdesk.run_jobs()
    monkeypatch.setattr(Store, "commit", original)
    assert calls["count"] == 1
    harness.close()

    restarted = Harness(tmp_path, mailbox, smtp_sink)
    restarted.clock.now = harness.clock.now
    try:
        restarted.cycle()
        restarted.clock.advance(minutes=30)
        restarted.cycle()
        assert len(kinds(restarted, "escalation")) == 1
        ticket = restarted.helpdesk.store.ticket(1)
        assert ticket is not None and ticket.escalation_level == 1
    finally:
        restarted.close()
