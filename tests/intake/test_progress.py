"""Unit tests of ``helpdesk.intake.progress``: the progress line of a long import."""

from __future__ import annotations

import io
import logging

import pytest

from helpdesk.intake.progress import LOG_EVERY, Progress, eta_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (44.6, "45 s"), (60, "1 min"), (3599, "59 min"), (4800, "1 h 20 min")]
)
def test_time_left_reads_like_a_person_says_it(seconds: float, text: str) -> None:
    assert eta_text(seconds) == text


def test_the_line_gives_count_total_rate_and_time_left() -> None:
    clock = FakeClock()
    progress = Progress("importing INBOX", 10_000, stream=io.StringIO(), clock=clock)
    clock.now += 4.0
    progress.advance(2_000)
    # 2,000 in 4 s is 500/s; 8,000 to go take 16 s.
    assert progress.line() == "importing INBOX: 2,000/10,000 (20%), 500/s, 16 s left"


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    clock = FakeClock()
    stream = Terminal()
    progress = Progress("importing INBOX", 400, stream=stream, clock=clock)
    for _ in range(4):
        clock.now += 1.0
        progress.advance(100)
    progress.finish()
    output = stream.getvalue()
    # Four redraws and the last line.
    assert output.count("\r") == 5 and output.endswith("\n") and output.count("\n") == 1
    assert "importing INBOX: 400/400 (100%), 100/s\x1b[K\n" in output


def test_a_log_gets_a_line_every_few_seconds_and_a_last_one(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = Progress("importing INBOX", 1_000, stream=io.StringIO(), clock=clock)
    with caplog.at_level(logging.INFO, logger="helpdesk.intake.progress"):
        for _ in range(10):
            clock.now += LOG_EVERY / 4
            progress.advance(100)
        progress.finish()
    lines = [record.getMessage() for record in caplog.records]
    # 25 s in all: a line at 10 s and at 20 s, then the last one.
    assert len(lines) == 3
    assert lines[0] == "importing INBOX: 400/1,000 (40%), 40/s, 15 s left"
    assert lines[-1] == "importing INBOX: 1,000/1,000 (100%), 40/s"
