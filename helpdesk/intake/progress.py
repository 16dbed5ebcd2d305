"""Progress of a long import: count/total, rate and time left.

On a terminal the line is redrawn in place; otherwise (journald, a log
file) one log line is written every :data:`LOG_EVERY` seconds, so a first
sync of a large mailbox shows it is alive without flooding the log.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger(__name__)

LOG_EVERY = 10.0
REDRAW_EVERY = 0.2


def eta_text(seconds: float) -> str:
    """Time left in words: "45 s", "3 min", "1 h 20 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class Progress:
    """Counts work done out of ``total`` and reports it now and then."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty()
        self.clock = clock
        self.started = clock()
        self.reported = self.started

    def line(self) -> str:
        """The progress line: ``label: 1,200/10,000 (12%), 850/s, 10 s left``."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        percent = 100 * self.done // self.total if self.total else 100
        text = f"{self.label}: {self.done:,}/{self.total:,} ({percent}%), {rate:,.0f}/s"
        if 0 < self.done < self.total and rate > 0:
            text += f", {eta_text((self.total - self.done) / rate)} left"
        return text

    def advance(self, count: int) -> None:
        """Note ``count`` more done; report if it is time to."""
        self.done += count
        now = self.clock()
        if self.terminal and now - self.reported >= REDRAW_EVERY:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
            self.reported = now
        elif not self.terminal and now - self.reported >= LOG_EVERY:
            log.info("%s", self.line())
            self.reported = now

    def finish(self) -> None:
        """The last report: always written, once."""
        if self.terminal:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()
        else:
            log.info("%s", self.line())
