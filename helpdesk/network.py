"""Network plumbing shared by the IMAP and SMTP sides: TLS contexts and error wording."""

from __future__ import annotations

import socket
import ssl


def tls_context(ca_file: object) -> ssl.SSLContext:
    """A verifying TLS context, trusting ``ca_file`` instead of the system store if given."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return context


def describe(exc: BaseException) -> str:
    """A short human description of a network error (no traceback)."""
    # Client libraries wrap the socket error; the wrapped one says it best.
    if isinstance(exc.__cause__, OSError):
        return describe(exc.__cause__)
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
