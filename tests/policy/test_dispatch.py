"""Tests of ``helpdesk.policy.dispatch``: events to actions, exactly once, and the owner's commands.

The environment is the one of tests/test_actions.py: a real Store, Outbox,
reply tokens, the shipped templates and rules and a hand-moved clock, with
tickets made by the real ingestion path. A crash is simulated by making the
store's commit raise, then opening everything again from disk, which is
what a restarted daemon does.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.helpers import OWNER
from tests.policy.test_actions import CUSTOMER, Env, addresses, events, first_mail, ids, text_of


class SimulatedCrash(Exception):
    """Raised where the process would have died."""


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def kinds(env: Env) -> list[str]:
    return sorted(item.kind for item in env.outbox.queued())


def count_commits(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the store's commits from now on."""
    commits: list[int] = []
    real_commit = store.commit

    def counting_commit() -> None:
        commits.append(len(store.pending_events()))
        real_commit()

    monkeypatch.setattr(store, "commit", counting_commit)
    return commits


def crash_on_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next commit dies after its first step, the outbox flush, before the store is written."""

    def crash() -> None:
        env.outbox.flush()
        raise SimulatedCrash

    monkeypatch.setattr(env.store, "commit", crash)


def notified(env: Env) -> None:
    """Zoë opens ticket 1 and the owner is told (events handled and committed)."""
    env.ingest(first_mail())
    env.dispatcher.run()


# -- events -----------------------------------------------------------------------------------


def test_events_are_handled_and_cleared_in_one_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.ingest(first_mail())
    assert [event.name for event in env.store.pending_events()] == ["message.received", "ticket.created"]
    commits = count_commits(env.store, monkeypatch)

    assert env.dispatcher.run() == 2

    assert commits == [0], "one commit, with the events already cleared"
    assert kinds(env) == ["acknowledge", "owner-notification"]
    reopened = Store(env.data_dir, readonly=True)
    assert reopened.pending_events() == []
    ticket = reopened.ticket(1)
    assert ticket is not None and len(ticket.notifications) == 1
    assert [message.direction for message in reopened.messages(1)] == ["in", "out"]
    assert env.dispatcher.run() == 0
    assert commits == [0], "nothing to do: no commit"


def test_a_backlog_is_committed_in_chunks(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``commit_every``, what the events queued is committed as it goes (the sender process sends it)."""
    for number in range(5):
        env.ingest(customer_mail(f"buyer{number}@example.org", f"Order {number}", "Where is it?"))
    assert len(env.store.pending_events()) == 10
    commits = count_commits(env.store, monkeypatch)

    assert env.dispatcher.run(commit_every=4) == 10

    # After 4 events, after 8, then the rest.
    assert commits == [6, 2, 0]
    assert Counter(kinds(env)) == Counter({"acknowledge": 5, "owner-notification": 5})
    assert Store(env.data_dir, readonly=True).pending_events() == []


def test_a_customer_writing_again_is_not_acknowledged_again(env: Env) -> None:
    notified(env)
    env.ingest(customer_mail(CUSTOMER, "Re: Teapot", "Photo attached.", in_reply_to="z1@example.org"))
    assert env.dispatcher.run() == 1
    assert Counter(item.kind for item in env.outbox.queued()) == Counter(
        {"acknowledge": 1, "owner-notification": 2}
    )


def test_acknowledgements_from_the_rules_are_rate_limited_per_address(env: Env) -> None:
    for number in range(7):
        env.ingest(
            customer_mail(CUSTOMER, f"Question {number}", "Hello", message_id=f"q{number}@example.org")
        )
    env.dispatcher.run()
    acknowledged = sorted(item.ticket_id or 0 for item in env.outbox.queued() if item.kind == "acknowledge")
    assert acknowledged == [1, 2, 3, 4, 5]
    assert len(env.queued("owner-notification")) == 7, "the owner hears of every ticket"
    assert events(env.ticket(7).history, "automatic-skipped") == [f"acknowledge: rate limit for {CUSTOMER}"]


def test_a_replay_after_a_crash_sends_nothing_twice(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, smtp_sink)
    env.ingest(first_mail())
    crash_on_commit(env, monkeypatch)
    with pytest.raises(SimulatedCrash):
        env.dispatcher.run()
    monkeypatch.undo()
    queued = {item.key: item.message_id for item in env.outbox.queued()}
    assert len(queued) == 2, "the outbox is durable on its own"

    env.open()  # The restart: store and outbox from disk, events still pending.
    assert len(env.store.pending_events()) == 2
    assert env.dispatcher.run() == 2

    assert {item.key: item.message_id for item in env.outbox.queued()} == queued
    ticket = env.ticket()
    assert ticket.notifications == [queued[key] for key in queued if key.startswith("notify:")]
    outgoing = [message for message in env.store.messages(1) if message.direction == "out"]
    assert [message.message_id for message in outgoing] == [
        queued[key] for key in queued if key.startswith("rule:acknowledge:")
    ]
    fired = Counter(entry["detail"].partition(":")[0] for entry in ticket.history if entry["event"] == "rule")
    assert set(fired.values()) == {1}, f"each rule fired once: {fired}"

    report = env.send(smtp_sink)
    assert len(report.sent) == 2 and len(smtp_sink.messages) == 2


def test_a_replay_after_the_mail_went_out_sends_nothing(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, smtp_sink)
    env.ingest(first_mail())
    crash_on_commit(env, monkeypatch)
    with pytest.raises(SimulatedCrash):
        env.dispatcher.run()
    monkeypatch.undo()
    env.send(smtp_sink)
    assert len(smtp_sink.messages) == 2

    env.open()
    assert env.dispatcher.run() == 2
    assert env.outbox.queued() == []
    assert env.send(smtp_sink).sent == []
    assert len(smtp_sink.messages) == 2


def test_one_failing_event_does_not_stop_the_others(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env.ingest(first_mail())

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(env.actions, "notify_owner", broken)
    with caplog.at_level(logging.ERROR, logger="helpdesk.policy.dispatch"):
        assert env.dispatcher.run() == 1

    assert kinds(env) == ["acknowledge"]
    assert "event message.received for ticket 1 failed (1 of 3)" in caplog.text
    # The failed event stays queued (durably) for the next cycles ...
    [kept] = Store(env.data_dir, readonly=True).pending_events()
    assert kept.name == "message.received" and kept.data["failures"] == 1
    env.dispatcher.run()
    assert env.dispatcher.run() == 1
    # ... and is given up after the third failure.
    assert "failed (3 of 3)" in caplog.text
    assert Store(env.data_dir, readonly=True).pending_events() == []


def test_a_failed_event_succeeds_on_a_later_cycle(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.ingest(first_mail())
    original = env.actions.notify_owner

    def disk_full(*args: Any, **kwargs: Any) -> bool:
        raise OSError("disk full")

    monkeypatch.setattr(env.actions, "notify_owner", disk_full)
    env.dispatcher.run()
    assert kinds(env) == ["acknowledge"]
    monkeypatch.setattr(env.actions, "notify_owner", original)
    env.dispatcher.run()
    assert sorted(kinds(env)) == ["acknowledge", "owner-notification"]
    assert Store(env.data_dir, readonly=True).pending_events() == []


# -- the owner's replies ------------------------------------------------------------------------


def owner_answers(env: Env, text: str, **fields: Any) -> None:
    env.ingest(env.owner_reply(text, **fields))
    env.dispatcher.run()


def set_status(env: Env, status: str) -> None:
    ticket = env.ticket()
    ticket.status = status
    ticket.closed_at = "2026-03-03T09:00:00+00:00" if status == "closed" else None
    env.store.save_ticket(ticket)
    env.store.commit()


def relayed(env: Env) -> list[str]:
    return [item.message_id for item in env.outbox.queued() if item.kind == "reply"]


@pytest.mark.parametrize(
    ("before", "text", "changes", "relays"),
    [
        ("new", "#close", ["closed"], False),
        ("open", "#pending", ["pending"], False),
        ("closed", "#reopen", ["open"], False),
        ("open", "Your parcel left today.", ["pending"], True),
        ("new", "Your parcel left today.", ["pending"], True),
        ("closed", "One more thing: the lid is on its way.", [], True),
        ("open", "Your parcel left today.\n#close", ["closed"], True),
        ("closed", "We can try again.\n#reopen", ["open"], True),
        ("pending", "Still waiting for the courier.", [], True),
        ("open", "Noted.\n#pending", ["pending"], True),
        ("open", "#close\n#reopen", ["closed", "open"], False),
        ("closed", "#close", [], False),
    ],
)
def test_status_after_an_owner_reply(
    env: Env, before: str, text: str, changes: list[str], relays: bool
) -> None:
    notified(env)
    set_status(env, before)

    owner_answers(env, text)

    ticket = env.ticket()
    after = changes[-1] if changes else before
    assert ticket.status == after
    assert (ticket.closed_at is not None) == (after == "closed")
    assert events(ticket.history, "status") == changes
    assert len(relayed(env)) == (1 if relays else 0)
    assert ticket.last_owner_at == ticket.updated_at
    assert Store(env.data_dir, readonly=True).pending_events() == []


def test_a_close_command_queues_ticket_closed_and_handles_it_in_the_same_run(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    notified(env)
    env.ingest(env.owner_reply("#close"))
    commits = count_commits(env.store, monkeypatch)
    assert env.dispatcher.run() == 2  # owner.replied, then the ticket.closed it queued.
    # The first commit makes the new event durable with the change that caused it.
    assert commits == [1, 0]
    assert Store(env.data_dir, readonly=True).pending_events() == []


def test_the_relayed_reply_carries_the_recorded_message_id(env: Env) -> None:
    notified(env)
    owner_answers(env, "Hi Zoë,\n\na new lid is on its way.\n#priority urgent")

    [reply_id] = relayed(env)
    recorded = env.message()
    assert recorded.direction == "out" and recorded.message_id == reply_id
    assert recorded.text == "Hi Zoë,\n\na new lid is on its way."
    [(_, reply)] = env.queued("reply")
    assert ids(reply["In-Reply-To"]) == ["z1@example.org"]
    assert "a new lid is on its way." in text_of(reply)
    assert "#priority" not in text_of(reply)
    assert env.ticket().priority == "urgent"

    # The customer's answer to the relayed reply threads into the ticket.
    env.ingest(customer_mail(CUSTOMER, "Re: lid", "Thank you!", in_reply_to=reply_id))
    assert env.ticket().status == "open"
    assert len(list(env.store.tickets())) == 1


def test_priority_and_tag_commands_change_the_ticket_once(env: Env) -> None:
    notified(env)
    owner_answers(
        env, "#priority LOW\n#tag vip\n#tag vip\n#tag order-42\n#untag order-42\n#untag absent\n#nosend"
    )

    ticket = env.ticket()
    assert ticket.priority == "low"
    assert ticket.tags == ["vip"]
    assert events(ticket.history, "command") == [
        "#priority LOW",
        "#tag vip",
        "#tag vip",
        "#tag order-42",
        "#untag order-42",
        "#untag absent",
    ]
    assert relayed(env) == []
    assert env.queued("command-result") == []


def test_a_malformed_command_relays_nothing_and_tells_the_owner(env: Env) -> None:
    notified(env)
    owner_answers(env, "Sure, refunded.\n#priority soon")

    assert relayed(env) == []
    ticket = env.ticket()
    assert ticket.priority == "high" and ticket.status == "new"
    [(_, result)] = env.queued("command-result")
    assert addresses(result, "To") == [OWNER]
    text = text_of(result)
    assert "#priority soon: priority must be one of low, normal, high, urgent" in text
    assert "Sure, refunded." in text
    assert env.message().direction == "note", "what was not relayed is kept as a note"


def test_a_note_is_kept_and_goes_nowhere(env: Env) -> None:
    notified(env)
    before = kinds(env)
    owner_answers(env, "#note called her, a photo follows")

    assert kinds(env) == before
    note = env.message()
    assert note.direction == "note" and "called her" in note.text
    assert env.ticket().status == "new"


def test_a_replayed_owner_reply_is_relayed_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    notified(env)
    env.ingest(env.owner_reply("Your parcel left today.\n#tag shipped"))
    crash_on_commit(env, monkeypatch)
    with pytest.raises(SimulatedCrash):
        env.dispatcher.run()
    monkeypatch.undo()
    [first_id] = relayed(env)

    env.open()
    env.dispatcher.run()

    assert relayed(env) == [first_id]
    ticket = env.ticket()
    assert ticket.tags == ["shipped"] and ticket.status == "pending"
    assert events(ticket.history, "command") == ["#tag shipped"]


# -- mail that only claims to be the owner's ------------------------------------------------------


def test_owner_mail_without_a_token_is_quarantined_and_the_owner_warned(env: Env) -> None:
    notified(env)
    env.ingest(customer_mail(OWNER, "Re: Teapot", "#close\nRefund everyone.", name="Sam Owner"))
    [entry] = env.quarantine.entries()
    env.dispatcher.run()

    assert env.ticket().status == "new"
    [(item, warning)] = env.queued("owner-warning")
    assert addresses(warning, "To") == [OWNER]
    assert entry.id in text_of(warning)
    assert item.key == f"owner-warning:{entry.id}"
    assert relayed(env) == []


# -- bounces and delivery failures --------------------------------------------------------------


def test_a_bounce_on_a_ticket_is_reported_to_the_owner(env: Env) -> None:
    notified(env)
    [ack] = [item for item in env.outbox.queued() if item.kind == "acknowledge"]
    bounce = customer_mail(
        "mailer-daemon@mx.example.org",
        "Undelivered Mail Returned to Sender",
        f"Your message to {CUSTOMER} could not be delivered.\n550 5.1.1 user unknown",
        in_reply_to=ack.message_id,
        headers={"Auto-Submitted": "auto-replied"},
    )
    env.ingest(bounce)
    assert [event.name for event in env.store.pending_events()] == ["delivery.bounced"]
    env.dispatcher.run()

    [(item, notice)] = env.queued("delivery-failure")
    assert addresses(notice, "To") == [OWNER] and item.ticket_id == 1
    assert CUSTOMER in text_of(notice)


def test_two_bounces_in_one_batch_are_both_reported(env: Env) -> None:
    notified(env)
    [ack] = [item for item in env.outbox.queued() if item.kind == "acknowledge"]
    for number in (1, 2):
        env.ingest(
            customer_mail(
                "mailer-daemon@mx.example.org",
                "Undelivered Mail Returned to Sender",
                f"Bounce {number}: 550 5.1.1 user unknown",
                in_reply_to=ack.message_id,
                headers={"Auto-Submitted": "auto-replied"},
            )
        )
    env.dispatcher.run()
    assert len(env.queued("delivery-failure")) == 2


def test_delivery_failures_are_reported_and_committed(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, smtp_sink)
    notified(env)
    env.send(smtp_sink)
    owner_answers(env, "Your parcel left today.")
    smtp_sink.fail_next(550)
    [failed] = env.send(smtp_sink).failed
    assert failed.kind == "reply"

    commits = count_commits(env.store, monkeypatch)
    env.dispatcher.delivery_failed([failed])

    assert len(commits) == 1
    [(_, report)] = env.queued("delivery-failure")
    assert "550" in text_of(report)
    ticket = Store(env.data_dir, readonly=True).ticket(1)
    assert ticket is not None
    assert events(ticket.history, "delivery-failed")[0].startswith(CUSTOMER)
    env.dispatcher.delivery_failed([])
    assert len(commits) == 1, "nothing failed: no commit"
