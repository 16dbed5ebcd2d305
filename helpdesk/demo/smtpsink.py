"""An SMTP sink for the demo and the tests: aiosmtpd in a background thread.

:class:`SmtpSink` records every delivery and can be told to refuse the next
deliveries with a temporary (4xx) or permanent (5xx) error, or to refuse
some recipients while accepting others.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from helpdesk.demo.processes import LOOPBACK, free_port

# ---------------------------------------------------------------------------
# SMTP sink


@dataclass(frozen=True)
class ReceivedMail:
    """One delivery as the SMTP sink saw it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


# The replies :meth:`SmtpSink.fail_next` uses for the usual codes; any other
# code gets a generic text with a matching enhanced status code.
_FAULT_REPLIES = {
    421: "421 4.3.2 service shutting down",
    450: "450 4.2.1 mailbox busy",
    451: "451 4.3.0 try again later",
    452: "452 4.3.1 insufficient system storage",
    550: "550 5.1.1 no such user",
    552: "552 5.3.4 message too big",
    554: "554 5.7.1 message refused",
}


class _SinkHandler:
    """aiosmtpd handler: enforces AUTH if configured, injects faults, records."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        mail_options: list[str],
    ) -> str:
        # AUTH is enforced here rather than with aiosmtpd's auth_required,
        # which warns when TLS is not required too (and the sink has no TLS).
        if self._sink.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._sink.refusal(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(str(rcpt) for rcpt in envelope.rcpt_tos),
            data=bytes(raw),
        )
        return self._sink._deliver(mail)


class SmtpSink:
    """An SMTP server on 127.0.0.1 that records what it receives.

    Use it as a context manager or call :meth:`start` and :meth:`stop`.
    With ``username``/``password`` it offers AUTH PLAIN/LOGIN without TLS
    and refuses MAIL FROM until the client authenticated. Deliveries are
    kept in :attr:`messages` in arrival order; deliveries refused through
    :meth:`fail_next` are kept in :attr:`rejected`. ``refuse`` maps
    recipient addresses to the reply their RCPT gets (``"550 5.1.1 no such
    user"``), as a server refuses some recipients of a message and takes
    the others.
    """

    def __init__(
        self,
        *,
        hostname: str = LOOPBACK,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        refuse: Mapping[str, str] | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.hostname = hostname
        self.port = port or 0
        self.username = username
        self.password = password
        self._fixed_port = port is not None
        self._controller: Any = None
        self._condition = threading.Condition()
        self._messages: list[ReceivedMail] = []
        self._rejected: list[ReceivedMail] = []
        self._faults: list[str] = []
        self.refuse = {address.lower(): reply for address, reply in (refuse or {}).items()}

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> Self:
        """Start the server thread; returns once it answers."""
        if self._controller is not None:
            raise RuntimeError("SMTP sink already started")
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = free_port(self.hostname)
            controller = self._make_controller()
            try:
                controller.start()
            except OSError:
                # The port was taken between free_port() and binding.
                _close_controller_loop(controller)
                if attempt == attempts - 1:
                    raise
                continue
            self._controller = controller
            return self
        raise AssertionError("unreachable")

    def _make_controller(self) -> Any:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self.username is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_require_tls"] = False
        return Controller(
            _SinkHandler(self),
            hostname=self.hostname,
            port=self.port,
            # A fixed name: aiosmtpd would otherwise look up the FQDN for
            # every connection, which is slow on hosts without DNS.
            server_hostname="localhost",
            **kwargs,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and self.username is not None
            and self.password is not None
            and auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        )
        # handled=False lets aiosmtpd send the 235 or 535 reply itself.
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        """Stop the server thread (safe to call twice)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._controller is not None

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- recording ----------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMail]:
        """A snapshot of the accepted deliveries, oldest first."""
        with self._condition:
            return list(self._messages)

    @property
    def rejected(self) -> list[ReceivedMail]:
        """A snapshot of the deliveries refused by :meth:`fail_next`."""
        with self._condition:
            return list(self._rejected)

    def clear(self) -> None:
        """Forget recorded deliveries and pending faults."""
        with self._condition:
            self._messages.clear()
            self._rejected.clear()
            self._faults.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait until at least ``count`` deliveries were accepted; return them all.

        Raises :class:`TimeoutError` (saying how many arrived) if they do not
        arrive within ``timeout`` seconds.
        """
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self._messages) >= count, timeout)
            if not arrived:
                raise TimeoutError(
                    f"expected {count} message(s) within {timeout} s, got {len(self._messages)}"
                )
            return list(self._messages)

    # -- fault injection ------------------------------------------------------

    def refusal(self, address: str) -> str | None:
        """The reply refusing RCPT for ``address``, or None if it is accepted."""
        with self._condition:
            return self.refuse.get(address.lower())

    def fail_next(self, code: int, times: int = 1, text: str | None = None) -> None:
        """Answer the next ``times`` DATA commands with SMTP error ``code``.

        451 answers ``451 4.3.0 try again later`` (temporary) and 550
        answers ``550 5.1.1 no such user`` (permanent); ``text`` overrides
        the text after the code. Faults queue up behind pending ones.
        """
        if not 400 <= code <= 599:
            raise ValueError(f"not an SMTP error code: {code}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if text is not None:
            reply = f"{code} {text}"
        else:
            reply = _FAULT_REPLIES.get(code, f"{code} {code // 100}.0.0 injected failure")
        with self._condition:
            self._faults.extend([reply] * times)

    def _deliver(self, mail: ReceivedMail) -> str:
        """Record ``mail`` or refuse it with the next queued fault."""
        with self._condition:
            if self._faults:
                self._rejected.append(mail)
                return self._faults.pop(0)
            self._messages.append(mail)
            self._condition.notify_all()
        return "250 2.0.0 OK message accepted"


def _close_controller_loop(controller: Any) -> None:
    """Close the event loop of a controller that never started."""
    loop = getattr(controller, "loop", None)
    if loop is not None and not loop.is_closed() and not loop.is_running():
        loop.close()
