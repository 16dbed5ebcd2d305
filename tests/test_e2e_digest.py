"""End to end: the weekly digest on the scheduler, with an injected clock.

The daemon's parts against the real IMAP server and SMTP sink; the clock is
moved by hand. The business is in Europe/London; the digest is due on
Mondays at 08:00 local time (07:00 UTC in summer time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.corpus import customer_mail
from tests.helpers import OWNER
from tests.test_e2e_outbound import Harness, text_of


def digests(harness: Harness) -> list:
    return [message for message in harness.to(OWNER) if message["X-Helpdesk-Kind"] == "digest"]


def at(harness: Harness, *moment: int) -> None:
    harness.clock.now = datetime(*moment, tzinfo=UTC)
    harness.cycle()


def test_the_digest_goes_once_a_week_catches_up_once_and_never_twice(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    harness = Harness(tmp_path, mailbox, smtp_sink)
    # Tuesday 3 March 2026, 10:00: two customers write.
    mailbox.append(customer_mail("kim@example.org", "Where is order 12?", "Hello"))
    mailbox.append(customer_mail("lee@example.org", "Refund for order 13", "It broke."))
    harness.cycle()
    assert digests(harness) == []
    at(harness, 2026, 3, 9, 7, 59)
    assert digests(harness) == []
    at(harness, 2026, 3, 9, 8, 0)
    [first] = digests(harness)
    text = text_of(first)
    assert "Open tickets                    2" in text
    assert "Where is order 12?" in text and "support+t1-" in text and "support+t2-" in text
    at(harness, 2026, 3, 9, 8, 30)
    at(harness, 2026, 3, 13, 17, 0)
    assert len(digests(harness)) == 1
    harness.close()

    # Off from Friday until Tuesday 17 March: Monday the 16th's digest goes out at start-up, once.
    restarted = Harness(tmp_path, mailbox, smtp_sink)
    at(restarted, 2026, 3, 17, 10, 0)
    assert len(digests(restarted)) == 2
    at(restarted, 2026, 3, 17, 10, 5)
    restarted.close()
    again = Harness(tmp_path, mailbox, smtp_sink)
    at(again, 2026, 3, 17, 10, 6)
    assert len(digests(again)) == 2

    # Summer time from Sunday 29 March: Monday 30 March 08:00 in London is 07:00 UTC.
    at(again, 2026, 3, 23, 8, 0)
    assert len(digests(again)) == 3
    at(again, 2026, 3, 30, 6, 59)
    assert len(digests(again)) == 3
    at(again, 2026, 3, 30, 7, 0)
    assert len(digests(again)) == 4
    again.close()


def test_a_daily_digest_goes_every_day(tmp_path: Path, mailbox, smtp_sink) -> None:
    harness = Harness(tmp_path, mailbox, smtp_sink, schedule={"digest": "daily 08:00"})
    harness.cycle()
    for day in range(4, 8):
        at(harness, 2026, 3, day, 8, 0)
        at(harness, 2026, 3, day, 12, 0)
    # One a day, each under its own occurrence: none deduplicated away.
    assert len(digests(harness)) == 4
    harness.close()
