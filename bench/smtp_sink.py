"""A counting SMTP sink in a process of its own, for the benchmarks.

helpdesk's SMTP delivery is part of a daemon cycle; a sink running in the
benchmark's own process would compete with helpdesk for the interpreter and
make delivery look slower than it is. This one runs apart:

    python3 -m bench.smtp_sink        (from the repository root)

It prints the port it listens on (127.0.0.1) as the first line, then answers
every line read on stdin with the number of messages delivered so far, and
stops when stdin closes. Messages are accepted and dropped.
"""

from __future__ import annotations

import sys
from typing import Any

from aiosmtpd.controller import Controller

from helpdesk.demo.processes import LOOPBACK, free_port

START_ATTEMPTS = 3


class CountingHandler:
    """aiosmtpd handler that accepts every message and counts it."""

    def __init__(self) -> None:
        self.delivered = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered += 1
        return "250 OK"


def start(handler: CountingHandler) -> Controller:
    """Start a controller on a free port (retrying if the port is taken meanwhile)."""
    for attempt in range(START_ATTEMPTS):
        # A fixed server name: aiosmtpd would otherwise look up the host's
        # FQDN for every connection, which is slow without DNS.
        controller = Controller(handler, hostname=LOOPBACK, port=free_port(), server_hostname="localhost")
        try:
            controller.start()
        except OSError:
            if attempt == START_ATTEMPTS - 1:
                raise
            continue
        return controller
    raise AssertionError("unreachable")


def main() -> int:
    """Serve until stdin closes (see the module docstring)."""
    handler = CountingHandler()
    controller = start(handler)
    print(controller.port, flush=True)
    try:
        for _ in sys.stdin:
            print(handler.delivered, flush=True)
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
