"""Ports and child processes for the loopback servers: find a free port, wait for it, stop a child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------------------
# Ports


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that is free right now.

    The port is found by binding to port 0 and closing the socket again, so
    another process could in principle take it before the caller binds it;
    the servers below therefore retry with a fresh port when binding fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def terminate(process: subprocess.Popen[Any] | None, timeout: float, *, group: bool = False) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it is still there after ``timeout``.

    With ``group`` the SIGKILL goes to the child's whole process group (a
    server that forked workers of its own). Safe for a process already gone.
    """
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


def wait_for_port(
    host: str,
    port: int,
    timeout: float,
    *,
    expect: bytes | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Wait until ``host:port`` accepts a TCP connection.

    With ``expect``, the server's first line must also start with those
    bytes (``b"* OK"`` for an IMAP greeting), which proves the server is
    actually serving and not just listening. ``alive`` is polled between
    attempts; when it returns False (the server process died) waiting stops
    at once with :class:`RuntimeError`. Raises :class:`TimeoutError` when
    the port does not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: str = "no attempt made"
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"server for {host}:{port} exited during start-up")
        try:
            with socket.create_connection((host, port), timeout=2.0) as sock:
                if expect is None:
                    return
                sock.settimeout(max(0.5, min(5.0, deadline - time.monotonic())))
                greeting = _read_line(sock)
                if greeting.startswith(expect):
                    return
                last_error = f"unexpected greeting {greeting[:80]!r}"
        except OSError as exc:
            last_error = str(exc)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} did not answer within {timeout} s: {last_error}")
        time.sleep(0.05)


def _read_line(sock: socket.socket) -> bytes:
    """Read one CRLF-terminated line (or whatever arrives before EOF)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data
