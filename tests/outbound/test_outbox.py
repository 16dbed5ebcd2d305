"""Tests of ``helpdesk.outbound.outbox``: the durable queue and its sending pass.

Sending goes through the real :class:`helpdesk.outbound.smtp.SmtpTransport` to the
aiosmtpd sink of ``helpdesk.demo.smtpsink``; the clock is passed in, so retries
are tested without waiting. Crashes are simulated by making a step of the
outbox raise and then opening a new :class:`Outbox` on the same directory,
which is what a restarted daemon does.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import SmtpConfig
from helpdesk.demo.processes import free_port
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.outbound import queuefiles as queuefiles_module
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import (
    FIRST_RETRY,
    MAX_ATTEMPTS,
    MAX_RETRY,
    Outbox,
    OutboxItem,
    SendReport,
    item_id,
    retry_delay,
)
from helpdesk.outbound.queuefiles import BATCH_SUFFIX
from helpdesk.outbound.smtp import SmtpTransport
from helpdesk.store.records import iso

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
BUSINESS_NAME = "Acme Tea Co."
BUSINESS = "support@acme.example"


class SimulatedCrash(Exception):
    """Raised where the process would have died."""


def outbound(number: int = 1, to: str = "kim@example.org", **fields: Any) -> Outbound:
    values: dict[str, Any] = {
        "kind": "acknowledge",
        "to": (("Kim Lee", to),),
        "subject": f"Re: Order {number} [#{number}]",
        "text": f"Message number {number}.\n",
        "ticket_id": number,
    }
    values.update(fields)
    return Outbound(**values)


def open_outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path, BUSINESS_NAME, BUSINESS)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return open_outbox(tmp_path)


def smtp_config(sink: SmtpSink) -> SmtpConfig:
    return SmtpConfig(
        host=sink.hostname, port=sink.port, security="none", username=None, password=None, ca_file=None
    )


def send_due(outbox: Outbox, sink: SmtpSink, now: datetime) -> SendReport:
    """One sending pass over a fresh transport, as the daemon makes it."""

    async def run() -> SendReport:
        transport = SmtpTransport(smtp_config(sink), timeout=10)
        try:
            return await outbox.send_due(transport, now)
        finally:
            await transport.close()

    return asyncio.run(run())


def message_ids(sink: SmtpSink) -> list[str]:
    found = []
    for mail in sink.messages:
        parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
        found.append(str(parsed["Message-ID"]).strip("<>"))
    return found


def queue_files(outbox: Outbox) -> list[str]:
    return sorted(path.name for path in outbox.queue.iterdir()) if outbox.queue.is_dir() else []


# -- enqueue ----------------------------------------------------------------------------------


def batch_files(outbox: Outbox) -> list[str]:
    return [name for name in queue_files(outbox) if name.endswith(BATCH_SUFFIX)]


def test_a_flush_writes_everything_enqueued_since_the_last_as_one_file(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[str, bool]] = []
    real_write = queuefiles_module.atomic_write

    def recording_write(path: Path, data: bytes, **kwargs: Any) -> None:
        written.append((path.name, kwargs.get("durable", True)))
        real_write(path, data, **kwargs)

    monkeypatch.setattr(queuefiles_module, "atomic_write", recording_write)
    message_id, queued = outbox.enqueue("acknowledge:1", outbound(1), NOW)
    other_id, _ = outbox.enqueue("acknowledge:2", outbound(2, to="lee@example.org"), NOW)
    assert queued
    # Nothing is written by an enqueue: the flush (before the store commit) writes them all.
    assert written == [] and queue_files(outbox) == []
    outbox.flush()
    [name] = batch_files(outbox)
    # One file, made durable by the flush's one file system sync, not by its own fsync.
    assert written == [(name, False)]
    assert queue_files(outbox) == [name]
    assert (outbox.queue / name).stat().st_mode & 0o777 == 0o600

    first, second = (json.loads(line) for line in (outbox.queue / name).read_bytes().splitlines())
    assert first["key"] == "acknowledge:1" and second["key"] == "acknowledge:2"
    assert first["message_id"] == message_id and second["message_id"] == other_id
    assert first["recipients"] == ["kim@example.org"] and second["recipients"] == ["lee@example.org"]
    assert first["sender"] == BUSINESS
    assert first["next_attempt_at"] == iso(NOW)
    assert first["attempts"] == 0

    raw = first["raw"].encode("latin-1")
    assert raw == outbox.raw(outbox.queued()[0])
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{message_id}>"
    assert message_id.endswith("@acme.example")
    assert parsed["From"].addresses[0].addr_spec == BUSINESS
    # Nothing new, nothing written.
    outbox.flush()
    assert len(written) == 1


def test_the_batch_file_goes_with_its_last_item(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    for number in range(1, 4):
        outbox.enqueue(f"acknowledge:{number}", outbound(number), NOW)
    outbox.flush()
    later, _ = outbox.enqueue("acknowledge:4", outbound(4), NOW, send_at=NOW + timedelta(hours=1))
    outbox.flush()
    _, second = batch_files(outbox)
    assert len(send_due(outbox, smtp_sink, NOW).sent) == 3
    assert queue_files(outbox) == [second]
    assert [item.message_id for item in send_due(outbox, smtp_sink, NOW + timedelta(hours=1)).sent] == [later]
    assert queue_files(outbox) == []


def test_the_same_key_is_queued_once(outbox: Outbox) -> None:
    first_id, first_new = outbox.enqueue("notify:1:1", outbound(1), NOW)
    raw = outbox.raw(outbox.queued()[0])
    again_id, again_new = outbox.enqueue(
        "notify:1:1", outbound(2, subject="changed"), NOW + timedelta(hours=1)
    )

    assert (first_new, again_new) == (True, False)
    assert again_id == first_id
    assert len(outbox.queued()) == 1
    assert outbox.raw(outbox.queued()[0]) == raw, "the earlier message stands"


def test_a_given_message_id_is_the_one_sent(outbox: Outbox) -> None:
    message_id, queued = outbox.enqueue("reply:1:7", outbound(), NOW, message_id="pre.assigned@acme.example")
    assert (message_id, queued) == ("pre.assigned@acme.example", True)
    [item] = outbox.queued()
    assert item.message_id == "pre.assigned@acme.example"
    assert b"Message-ID: <pre.assigned@acme.example>" in outbox.raw(item)


def test_a_queue_file_torn_by_a_crash_leaves_nothing_queued(tmp_path: Path) -> None:
    """Written but not made durable when the machine went down: the enqueues never committed."""
    outbox = open_outbox(tmp_path)
    outbox.enqueue("acknowledge:1", outbound(), NOW)
    outbox.flush()
    [name] = batch_files(outbox)
    path = outbox.queue / name
    path.write_bytes(path.read_bytes()[:100])

    reopened = open_outbox(tmp_path)
    assert queue_files(reopened) == []
    assert reopened.message_id_of("acknowledge:1") is None
    assert reopened.enqueue("acknowledge:1", outbound(), NOW)[1] is True


def test_what_was_never_flushed_is_not_queued_after_a_restart(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.enqueue("acknowledge:1", outbound(), NOW)
    reopened = open_outbox(tmp_path)
    assert reopened.queued() == [] and reopened.message_id_of("acknowledge:1") is None


def test_a_queue_of_the_older_two_file_layout_is_converted_and_sent(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    """An upgrade with mail still queued: the bytes in ``ID.eml``, the record in ``ID.json``."""
    outbox = open_outbox(tmp_path)
    message_id, _ = outbox.enqueue("acknowledge:1", outbound(), NOW)
    outbox.flush()
    identifier = item_id("acknowledge:1")
    [name] = batch_files(outbox)
    record = json.loads((outbox.queue / name).read_bytes())
    (outbox.queue / name).unlink()
    raw = record.pop("raw").encode("latin-1")
    (outbox.queue / f"{identifier}.eml").write_bytes(raw)
    (outbox.queue / f"{identifier}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    # And the bytes of an older enqueue that never wrote its record.
    (outbox.queue / f"{item_id('acknowledge:2')}.eml").write_bytes(raw)

    reopened = open_outbox(tmp_path)
    assert queue_files(reopened) == [f"{identifier}.json"]
    [item] = reopened.queued()
    assert item.message_id == message_id and reopened.raw(item) == raw
    assert [mail.data for mail in smtp_sink.messages] == []
    assert [item.message_id for item in send_due(reopened, smtp_sink, NOW).sent] == [message_id]
    assert [mail.data for mail in smtp_sink.messages] == [raw]


def test_recovery_removes_stale_temporary_files(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.enqueue("acknowledge:1", outbound(), NOW)
    outbox.flush()
    [name] = batch_files(outbox)
    (outbox.queue / ".abc.batch.123.tmp").write_bytes(b"torn")
    outbox.failed_dir.mkdir(parents=True)
    (outbox.failed_dir / ".abc.json.123.tmp").write_bytes(b"torn")

    reopened = open_outbox(tmp_path)
    assert queue_files(reopened) == [name]
    assert list(reopened.failed_dir.iterdir()) == []


def test_message_id_of_knows_queued_sent_and_failed_items(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    outbox = open_outbox(tmp_path)
    assert outbox.message_id_of("acknowledge:1") is None
    failed_id, _ = outbox.enqueue("acknowledge:1", outbound(1), NOW)
    sent_id, _ = outbox.enqueue("acknowledge:2", outbound(2), NOW)
    smtp_sink.fail_next(550, times=1)  # Meets the first message only.
    report = send_due(outbox, smtp_sink, NOW)
    assert [item.message_id for item in report.failed] == [failed_id]
    assert [item.message_id for item in report.sent] == [sent_id]
    queued_id, _ = outbox.enqueue("acknowledge:3", outbound(3), NOW)
    outbox.flush()

    for box in (outbox, open_outbox(tmp_path)):
        assert box.message_id_of("acknowledge:1") == failed_id
        assert box.message_id_of("acknowledge:2") == sent_id
        assert box.message_id_of("acknowledge:3") == queued_id
        assert box.message_id_of("acknowledge:4") is None
        assert box.enqueue("acknowledge:1", outbound(1), NOW) == (failed_id, False)
        assert box.enqueue("acknowledge:2", outbound(2), NOW) == (sent_id, False)
    assert len(outbox.queued()) == 1


# -- sending ----------------------------------------------------------------------------------


def test_send_due_delivers_everything_in_enqueue_order(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    # Keys whose item ids (hashes) do not sort in enqueue order.
    keys = [f"acknowledge:{number}" for number in range(12)]
    assert sorted(keys, key=item_id) != keys
    queued = [outbox.enqueue(key, outbound(number), NOW)[0] for number, key in enumerate(keys)]

    report = send_due(outbox, smtp_sink, NOW)

    assert message_ids(smtp_sink) == queued
    assert [item.message_id for item in report.sent] == queued
    assert report.deferred == [] and report.failed == []
    assert outbox.queued() == [] and queue_files(outbox) == []
    assert [item.message_id for item in outbox.sent()] == queued
    assert all(item.sent_at == iso(NOW) and item.attempts == 1 for item in outbox.sent())
    assert [mail.rcpt_tos for mail in smtp_sink.messages] == [("kim@example.org",)] * 12

    assert send_due(outbox, smtp_sink, NOW + timedelta(days=1)) == SendReport()
    assert len(smtp_sink.messages) == 12


def test_a_temporary_failure_defers_with_backoff(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    message_id, _ = outbox.enqueue("acknowledge:1", outbound(), NOW)
    smtp_sink.fail_next(451, times=2)

    report = send_due(outbox, smtp_sink, NOW)
    [item] = report.deferred
    assert item.attempts == 1
    assert "451" in (item.last_error or "")
    assert outbox.queued()[0].next_attempt_at == iso(NOW + FIRST_RETRY)
    assert outbox.next_due() == NOW + FIRST_RETRY

    # Not due one second early: nothing is even tried.
    assert send_due(outbox, smtp_sink, NOW + FIRST_RETRY - timedelta(seconds=1)) == SendReport()
    assert len(smtp_sink.rejected) == 1

    second = NOW + FIRST_RETRY
    [item] = send_due(outbox, smtp_sink, second).deferred
    assert item.attempts == 2
    assert outbox.queued()[0].next_attempt_at == iso(second + retry_delay(2))
    assert retry_delay(2) == 2 * FIRST_RETRY

    [item] = send_due(outbox, smtp_sink, second + retry_delay(2)).sent
    assert item.attempts == 3 and item.last_error is None
    assert message_ids(smtp_sink) == [message_id]
    assert outbox.next_due() is None


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(attempts) for attempts in (0, 1, 2, 3, 4)] == [
        FIRST_RETRY,
        FIRST_RETRY,
        FIRST_RETRY * 2,
        FIRST_RETRY * 4,
        FIRST_RETRY * 8,
    ]
    assert retry_delay(7) == MAX_RETRY == timedelta(hours=1)
    assert retry_delay(MAX_ATTEMPTS) == MAX_RETRY


def test_a_permanent_failure_moves_the_item_to_failed_and_the_pass_goes_on(
    outbox: Outbox, smtp_sink: SmtpSink
) -> None:
    bad_id, _ = outbox.enqueue("acknowledge:1", outbound(1, to="gone@example.org"), NOW)
    good_id, _ = outbox.enqueue("acknowledge:2", outbound(2), NOW)
    bad_bytes = outbox.raw(outbox.queued()[0])
    smtp_sink.fail_next(550)

    report = send_due(outbox, smtp_sink, NOW)

    assert [item.message_id for item in report.failed] == [bad_id]
    assert [item.message_id for item in report.sent] == [good_id]
    [failed] = outbox.failed()
    assert failed.message_id == bad_id and failed.attempts == 1
    assert "550" in (failed.last_error or "")
    assert (outbox.failed_dir / f"{failed.id}.eml").read_bytes() == bad_bytes
    assert outbox.queued() == []
    assert message_ids(smtp_sink) == [good_id]


def test_an_item_fails_after_max_attempts(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    outbox.enqueue("acknowledge:1", outbound(), NOW)
    smtp_sink.fail_next(451, times=MAX_ATTEMPTS)
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS):
        [item] = send_due(outbox, smtp_sink, now).deferred
        assert item.attempts == attempt
        due = outbox.next_due()
        assert due is not None and due - now == retry_delay(attempt)
        now = due

    report = send_due(outbox, smtp_sink, now)
    [item] = report.failed
    assert item.attempts == MAX_ATTEMPTS
    assert outbox.queued() == [] and [entry.id for entry in outbox.failed()] == [item.id]
    assert len(smtp_sink.rejected) == MAX_ATTEMPTS and smtp_sink.messages == []


def test_a_stopped_server_defers_the_first_item_and_stops_the_pass(outbox: Outbox) -> None:
    sink = SmtpSink(port=free_port()).start()
    try:
        warm_up, _ = outbox.enqueue("acknowledge:warm-up", outbound(0), NOW)
        send_due(outbox, sink, NOW)
        sink.stop()
        ids = [outbox.enqueue(f"acknowledge:{number}", outbound(number), NOW)[0] for number in range(1, 4)]

        report = send_due(outbox, sink, NOW)

        [deferred] = report.deferred
        assert deferred.message_id == ids[0]
        assert report.sent == [] and report.failed == []
        first, *rest = outbox.queued()
        assert first.attempts == 1 and first.next_attempt_at == iso(NOW + FIRST_RETRY)
        assert (first.last_error or "").startswith(f"SMTP 127.0.0.1:{sink.port}: ")
        for untouched in rest:
            assert untouched.attempts == 0
            assert untouched.next_attempt_at == iso(NOW)
            assert untouched.last_error is None

        sink.start()
        assert send_due(outbox, sink, NOW + FIRST_RETRY - timedelta(seconds=1)).sent != [], (
            "the untouched items are still due"
        )
        report = send_due(outbox, sink, NOW + FIRST_RETRY)
        assert message_ids(sink) == [warm_up, ids[1], ids[2], ids[0]]
        assert [item.attempts for item in report.sent] == [2]
    finally:
        sink.stop()


def test_queued_items_already_in_the_sent_log_are_removed_on_opening(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    """A crash after the sent mark but before the queue files were removed."""
    outbox = open_outbox(tmp_path)
    outbox.enqueue("acknowledge:1", outbound(), NOW)
    outbox.flush()
    leftovers = {path.name: path.read_bytes() for path in outbox.queue.iterdir()}
    send_due(outbox, smtp_sink, NOW)
    for name, data in leftovers.items():
        (outbox.queue / name).write_bytes(data)

    reopened = open_outbox(tmp_path)
    assert queue_files(reopened) == []
    assert send_due(reopened, smtp_sink, NOW + timedelta(hours=1)) == SendReport()
    assert len(smtp_sink.messages) == 1


def test_a_torn_last_line_of_the_sent_log_is_ignored(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    outbox = open_outbox(tmp_path)
    sent_id, _ = outbox.enqueue("acknowledge:1", outbound(1), NOW)
    send_due(outbox, smtp_sink, NOW)
    with outbox.sent_log.open("ab") as log:
        log.write(b'{"id":"0123456789abcdef01234567","key":"acknow')

    reopened = open_outbox(tmp_path)
    assert [item.message_id for item in reopened.sent()] == [sent_id]
    assert reopened.message_id_of("acknowledge:1") == sent_id


def test_a_delivery_after_a_torn_line_is_still_recorded(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    outbox = open_outbox(tmp_path)
    outbox.enqueue("acknowledge:1", outbound(1), NOW)
    send_due(outbox, smtp_sink, NOW)
    with outbox.sent_log.open("ab") as log:
        log.write(b'{"id":"0123456789abcdef01234567","key":"acknow')

    reopened = open_outbox(tmp_path)
    second_id, _ = reopened.enqueue("acknowledge:2", outbound(2), NOW)
    send_due(reopened, smtp_sink, NOW)

    after_restart = open_outbox(tmp_path)
    assert after_restart.message_id_of("acknowledge:2") == second_id
    assert after_restart.enqueue("acknowledge:2", outbound(2), NOW) == (second_id, False)


def test_next_due_is_the_earliest_retry(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    assert outbox.next_due() is None
    outbox.enqueue("acknowledge:1", outbound(1), NOW)
    smtp_sink.fail_next(451)
    send_due(outbox, smtp_sink, NOW)
    assert outbox.next_due() == NOW + FIRST_RETRY
    outbox.enqueue("acknowledge:2", outbound(2), NOW + timedelta(seconds=10))
    assert outbox.next_due() == NOW + timedelta(seconds=10)


# -- crash safety ---------------------------------------------------------------------------


def test_a_crash_before_the_sent_mark_resends_only_that_message(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delivered, but the process dies before the delivery is recorded."""
    outbox = open_outbox(tmp_path)
    ids = [outbox.enqueue(f"acknowledge:{number}", outbound(number), NOW)[0] for number in range(4)]

    def crash(self: Outbox, item: OutboxItem) -> None:
        raise SimulatedCrash(item.message_id)

    monkeypatch.setattr(Outbox, "_mark_sent", crash)
    with pytest.raises(SimulatedCrash):
        send_due(outbox, smtp_sink, NOW)
    monkeypatch.undo()
    # The first message was accepted; the second never reached DATA.
    assert message_ids(smtp_sink) == [ids[0]]

    reopened = open_outbox(tmp_path)
    assert [item.message_id for item in reopened.queued()] == ids
    send_due(reopened, smtp_sink, NOW)

    assert Counter(message_ids(smtp_sink)) == Counter({ids[0]: 2, ids[1]: 1, ids[2]: 1, ids[3]: 1})
    assert [item.message_id for item in reopened.sent()] == ids
    assert open_outbox(tmp_path).queued() == []


def test_items_queued_before_a_restart_are_sent_after_it(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    first = open_outbox(tmp_path)
    ids = [first.enqueue(f"notify:{number}:1", outbound(number), NOW)[0] for number in range(3)]
    first.flush()
    report = send_due(open_outbox(tmp_path), smtp_sink, NOW)
    assert [item.message_id for item in report.sent] == ids


def test_a_non_ascii_recipient_fails_only_its_own_item(outbox: Outbox, smtp_sink: SmtpSink) -> None:
    outbox.enqueue("acknowledge:1", outbound(1, to="zoe@bücher.example"), NOW)
    good_id, _ = outbox.enqueue("acknowledge:2", outbound(2), NOW)

    report = send_due(outbox, smtp_sink, NOW)

    assert [item.ticket_id for item in report.failed] == [1]
    assert message_ids(smtp_sink) == [good_id]


def test_recipients_refused_while_others_accept_are_split_off(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    cc = (("Gone", "gone@example.org"), ("Busy", "busy@example.org"), ("Ann", "ann@example.org"))
    outbox.enqueue("reply:1", outbound(1, cc=cc), NOW)
    refuse = {"gone@example.org": "550 5.1.1 no such user", "busy@example.org": "450 4.2.1 mailbox busy"}
    with SmtpSink(refuse=refuse) as sink:
        report = send_due(outbox, sink, NOW)
        # Delivered to those the server accepted, once.
        [mail] = sink.messages
        assert mail.rcpt_tos == ("kim@example.org", "ann@example.org")
        assert [item.key for item in report.sent] == ["reply:1"]
        # The one refused for good is failed, for the owner to be told; its bytes are kept.
        [failed] = outbox.failed()
        assert failed.recipients == ["gone@example.org"] and failed.key == "reply:1>gone@example.org"
        assert failed.last_error == "gone@example.org: 550 5.1.1 no such user"
        assert (outbox.failed_dir / f"{failed.id}.eml").read_bytes() == mail.data
        assert report.failed == [failed]
        # The one refused for now is queued again for itself alone, and retried later.
        [retry] = outbox.queued()
        assert retry.recipients == ["busy@example.org"] and retry.key == "reply:1>busy@example.org"
        assert [item.key for item in report.deferred] == [retry.key]
        assert datetime.fromisoformat(retry.next_attempt_at) > NOW
        sink.refuse.clear()
        later = datetime.fromisoformat(retry.next_attempt_at)
        assert [item.key for item in send_due(outbox, sink, later).sent] == [retry.key]
        assert sink.messages[-1].rcpt_tos == ("busy@example.org",)
        assert sink.messages[-1].data == mail.data
    # Nothing is left to send, and a new outbox on the same files agrees.
    assert open_outbox(tmp_path).queued() == []
