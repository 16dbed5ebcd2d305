"""Tests of ``helpdesk.outbound.delivery``: a turn of delivery from the sender process.

A real sender process (spawned, as the daemon spawns it) delivers to a real
aiosmtpd sink in this process, from an outbox the test fills as the daemon
would: enqueue, then flush (the store commit's first step).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.outbound.delivery import BackgroundDelivery
from helpdesk.outbound.outbox import Outbox
from tests.outbound.test_outbox import (
    BUSINESS,
    BUSINESS_NAME,
    NOW,
    message_ids,
    outbound,
    send_due,
    smtp_config,
)


def clock() -> datetime:
    return NOW


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path, BUSINESS_NAME, BUSINESS)


@pytest.fixture
def delivery(tmp_path: Path, outbox: Outbox, smtp_sink: SmtpSink) -> Iterator[BackgroundDelivery]:
    config = replace(smtp_config(smtp_sink), sender_process=True)
    background = BackgroundDelivery(tmp_path, config, False, outbox, clock)
    try:
        yield background
    finally:
        background.close()


def enqueue(outbox: Outbox, numbers: range) -> dict[str, str]:
    """Queue one message per number and flush them (as a commit does); key -> Message-ID."""
    queued = {f"acknowledge:{n}": outbox.enqueue(f"acknowledge:{n}", outbound(n), NOW)[0] for n in numbers}
    outbox.flush()
    return queued


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_turn_delivers_each_flush_while_the_daemon_goes_on(
    outbox: Outbox, delivery: BackgroundDelivery, smtp_sink: SmtpSink
) -> None:
    waiting = enqueue(outbox, range(1, 4))  # Queued before the turn: handed over when it begins.
    delivery.begin()
    assert delivery.active
    first = enqueue(outbox, range(4, 24))
    # Delivered by the other process while this one is free to work on.
    assert wait_for(lambda: len(smtp_sink.messages) == 23)
    second = enqueue(outbox, range(24, 40))
    report = delivery.finish()

    assert report is not None and not delivery.active
    expected = {**waiting, **first, **second}
    assert sorted(item.message_id for item in report.sent) == sorted(expected.values())
    assert Counter(message_ids(smtp_sink)) == Counter(expected.values())
    # The daemon's outbox knows what was sent: nothing is queued, nothing is sent twice.
    assert outbox.queued() == [] and list(outbox.queue.iterdir()) == []
    assert len(outbox.sent()) == 39
    assert outbox.enqueue("acknowledge:5", outbound(5), NOW) == (expected["acknowledge:5"], False)
    assert send_due(outbox, smtp_sink, NOW).sent == []


def test_outside_a_turn_nothing_is_handed_over(
    outbox: Outbox, delivery: BackgroundDelivery, smtp_sink: SmtpSink
) -> None:
    delivery.begin()
    enqueue(outbox, range(1, 3))
    delivery.finish()
    # Between turns the daemon's process sends, and the sender process is idle.
    enqueue(outbox, range(3, 5))
    time.sleep(0.2)
    assert len(smtp_sink.messages) == 2
    assert len(send_due(outbox, smtp_sink, NOW).sent) == 2
    # A second turn uses the same process.
    process = delivery._process
    delivery.begin()
    enqueue(outbox, range(5, 8))
    report = delivery.finish()
    assert report is not None and len(report.sent) == 3
    assert delivery._process is process
    assert len(smtp_sink.messages) == 7 and len(set(message_ids(smtp_sink))) == 7


def test_refused_and_deferred_items_come_back_to_the_daemons_outbox(
    tmp_path: Path, outbox: Outbox, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse = {"gone@example.org": "550 5.1.1 no such user", "busy@example.org": "450 4.2.1 busy"}
    config = replace(smtp_config(smtp_sink), sender_process=True)
    delivery = BackgroundDelivery(tmp_path, config, False, outbox, clock)
    try:
        delivery.begin()
        outbox.enqueue("acknowledge:1", outbound(1, to="gone@example.org"), NOW)
        outbox.enqueue("acknowledge:2", outbound(2, to="busy@example.org"), NOW)
        ok, _ = outbox.enqueue("acknowledge:3", outbound(3), NOW)
        outbox.flush()
        report = delivery.finish()
    finally:
        delivery.close()
    assert report is not None
    assert [item.message_id for item in report.sent] == [ok]
    assert [item.recipients for item in report.failed] == [["gone@example.org"]]
    assert [item.recipients for item in report.deferred] == [["busy@example.org"]]
    # The daemon's outbox has the deferred item with its retry time, and the failure.
    [deferred] = outbox.queued()
    assert deferred.recipients == ["busy@example.org"] and deferred.attempts == 1
    assert datetime.fromisoformat(deferred.next_attempt_at) == NOW + timedelta(seconds=60)
    assert [item.recipients for item in outbox.failed()] == [["gone@example.org"]]
    assert message_ids(smtp_sink) == [ok]


def test_a_killed_sender_process_leaves_the_rest_to_the_daemon(
    outbox: Outbox, delivery: BackgroundDelivery, smtp_sink: SmtpSink
) -> None:
    delivery.begin()
    enqueue(outbox, range(1, 11))
    # Delivered and recorded (a delivery not yet recorded would be sent again, as after any crash).
    assert wait_for(lambda: len(smtp_sink.messages) == 10 and len(outbox.sent()) == 10)
    assert delivery._process is not None and delivery._process.pid is not None
    os.kill(delivery._process.pid, signal.SIGKILL)
    delivery._process.join(10)
    # Handing over to a dead process fails quietly; the turn ends without a report...
    later = enqueue(outbox, range(11, 21))
    assert delivery.finish() is None
    # ...and the daemon's outbox, read again from disk, sends what is left itself.
    assert sorted(item.message_id for item in outbox.queued()) == sorted(later.values())
    assert len(send_due(outbox, smtp_sink, NOW).sent) == 10
    assert len(smtp_sink.messages) == 20 and len(set(message_ids(smtp_sink))) == 20


def test_the_sender_process_stops_when_its_daemon_is_gone(tmp_path: Path) -> None:
    """Spawned from a process that is then SIGKILLed, it leaves on its own."""
    script = tmp_path / "short_lived_daemon.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from helpdesk.config import SmtpConfig\n"
        "from helpdesk.outbound.delivery import BackgroundDelivery\n"
        "from helpdesk.outbound.outbox import Outbox\n"
        "if __name__ == '__main__':\n"
        "    config = SmtpConfig(host='127.0.0.1', port=9, security='none', username=None, password=None,\n"
        "                        ca_file=None, sender_process=True)\n"
        "    outbox = Outbox(Path(sys.argv[1]), 'Acme', 'support@acme.example')\n"
        "    delivery = BackgroundDelivery(Path(sys.argv[1]), config, False, outbox,\n"
        "                                  lambda: datetime.now(UTC))\n"
        "    delivery.begin()\n"
        "    print(delivery._process.pid, flush=True)\n"
        "    time.sleep(0.2)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n",
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    pid = int(done.stdout.split()[0])

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie of init's counts as gone.
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
        except FileNotFoundError:
            return True

    assert wait_for(gone, timeout=10)


def test_without_sender_process_a_turn_never_begins(
    tmp_path: Path, outbox: Outbox, smtp_sink: SmtpSink
) -> None:
    delivery = BackgroundDelivery(tmp_path, smtp_config(smtp_sink), False, outbox, clock)
    delivery.begin()
    enqueue(outbox, range(1, 3))
    assert not delivery.active and delivery.finish() is None
    assert smtp_sink.messages == [] and len(outbox.queued()) == 2
    delivery.close()


def test_now_is_the_daemons_clock(tmp_path: Path, outbox: Outbox, smtp_sink: SmtpSink) -> None:
    """An item held back until later is not sent early by the sender process: its now is the daemon's.

    The daemon's clock here is months behind the real one, by which the greeting would be due.
    """
    config = replace(smtp_config(smtp_sink), sender_process=True)
    delivery = BackgroundDelivery(tmp_path, config, False, outbox, clock)
    try:
        delivery.begin()
        outbox.enqueue("greeting:1", outbound(1), NOW, send_at=NOW + timedelta(hours=2))
        sent_now, _ = outbox.enqueue("acknowledge:2", outbound(2), NOW)
        outbox.flush()
        report = delivery.finish()
    finally:
        delivery.close()
    assert report is not None and [item.message_id for item in report.sent] == [sent_now]
    assert [item.key for item in outbox.queued()] == ["greeting:1"]
