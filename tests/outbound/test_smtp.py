"""Tests of ``helpdesk.outbound.smtp`` against a real aiosmtpd server.

The sink of ``helpdesk.demo.smtpsink`` is used as it is, wrapped only to see what
the stock sink does not show: how many connections the client opened (one
aiosmtpd session per connection), the order of the SMTP commands, and
recipients refused at RCPT time.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from helpdesk.config import SmtpConfig
from helpdesk.demo.processes import free_port
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.errors import ConnectionFailed
from helpdesk.outbound.smtp import PermanentFailure, SmtpTransport, TemporaryFailure, probe

SENDER = "support@acme.example"
RAW = b"From: support@acme.example\r\nTo: kim@example.org\r\nSubject: hello\r\n\r\nHello Kim.\r\n"

T = TypeVar("T")


class Inspector:
    """An aiosmtpd handler around the sink's own: notes sessions and commands."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        # The session objects themselves are kept, so that identities stay unique.
        self.sessions: list[Any] = []
        self.commands: list[str] = []

    def note(self, command: str, session: Any | None = None) -> None:
        with self.lock:
            self.commands.append(command)
            if session is not None and all(known is not session for known in self.sessions):
                self.sessions.append(session)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self.note("MAIL", session)
        reply: str = await self.inner.handle_MAIL(server, session, envelope, address, mail_options)
        return reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.note("RCPT")
        reply: str = await self.inner.handle_RCPT(server, session, envelope, address, rcpt_options)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.note("DATA")
        reply: str = await self.inner.handle_DATA(server, session, envelope)
        return reply


class InspectedSink(SmtpSink):
    """The loopback sink with an :class:`Inspector` in front of its handler."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inspector: Inspector | None = None

    def _make_controller(self) -> Any:
        controller = super()._make_controller()
        self.inspector = Inspector(controller.handler)
        controller.handler = self.inspector
        return controller

    @property
    def connections(self) -> int:
        assert self.inspector is not None
        with self.inspector.lock:
            return len(self.inspector.sessions)

    @property
    def commands(self) -> list[str]:
        assert self.inspector is not None
        with self.inspector.lock:
            return list(self.inspector.commands)


@pytest.fixture
def sink() -> Any:
    with InspectedSink(refuse={"gone@example.org": "550 5.1.1 no such user"}) as running:
        yield running


def config_for(sink: SmtpSink | None, *, port: int | None = None, **changes: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port if port is not None else (sink.port if sink else free_port()),
        "security": "none",
        "username": None,
        "password": None,
        "ca_file": None,
    }
    values.update(changes)
    return SmtpConfig(**values)


def with_transport(config: SmtpConfig, use: Callable[[SmtpTransport], Awaitable[T]]) -> T:
    """Run ``use`` with a fresh transport in a fresh event loop, and close the transport."""

    async def run() -> T:
        transport = SmtpTransport(config, timeout=10)
        try:
            return await use(transport)
        finally:
            await transport.close()

    return asyncio.run(run())


def send(config: SmtpConfig, recipients: list[str], raw: bytes = RAW) -> None:
    with_transport(config, lambda transport: transport.send(SENDER, recipients, raw))


# -- delivery over one connection -------------------------------------------------------------


def test_several_messages_share_one_connection(sink: InspectedSink) -> None:
    async def three(transport: SmtpTransport) -> None:
        for index in range(3):
            await transport.send(SENDER, ["kim@example.org"], RAW.replace(b"hello", b"hello %d" % index))

    with_transport(config_for(sink), three)

    assert [b"Subject: hello %d" % index in mail.data for index, mail in enumerate(sink.messages)] == [
        True,
        True,
        True,
    ]
    assert all(mail.mail_from == SENDER for mail in sink.messages)
    assert sink.connections == 1

    send(config_for(sink), ["kim@example.org"])
    assert sink.connections == 2, "a new transport opens its own connection"


def test_the_transport_reconnects_after_the_server_went_away() -> None:
    port = free_port()
    with InspectedSink(port=port) as sink:

        async def across_a_restart(transport: SmtpTransport) -> list[TemporaryFailure]:
            lost = []
            await transport.send(SENDER, ["kim@example.org"], RAW)
            sink.stop()
            sink.start()
            try:
                await transport.send(SENDER, ["kim@example.org"], RAW)
            except TemporaryFailure as exc:
                # The dead connection may only be noticed on use: then the next send reconnects.
                lost.append(exc)
                await transport.send(SENDER, ["kim@example.org"], RAW)
            return lost

        lost = with_transport(config_for(sink, port=port), across_a_restart)
        assert all(exc.connection_lost for exc in lost)
        assert len(sink.messages) == 2
        assert sink.commands.count("DATA") == 1, "the restarted sink got the second message once"


def test_ready_is_awaited_after_rcpt_and_before_data(sink: InspectedSink) -> None:
    seen: list[str] = []

    async def mark() -> None:
        seen.extend(sink.commands)
        seen.append("ready")

    with_transport(
        config_for(sink), lambda transport: transport.send(SENDER, ["kim@example.org"], RAW, mark())
    )
    assert seen == ["MAIL", "RCPT", "ready"]
    assert sink.commands == ["MAIL", "RCPT", "DATA"]
    assert len(sink.messages) == 1


# -- authentication ---------------------------------------------------------------------------


def test_auth_with_the_right_password_delivers() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        send(config_for(sink, username="mailer", password="s3cret"), ["kim@example.org"])
        [mail] = sink.messages
        assert mail.rcpt_tos == ("kim@example.org",)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_wrong_password_is_a_temporary_failure_with_the_connection_lost() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        config = config_for(sink, username="mailer", password="wrong")
        with pytest.raises(TemporaryFailure) as failure:
            send(config, ["kim@example.org"])
        assert failure.value.connection_lost
        assert f"SMTP 127.0.0.1:{sink.port}: login refused (535)" == str(failure.value)
        assert sink.messages == []
        # The refused connection is collected here, inside this test (see the next test).
        del failure
        gc.collect()


def test_a_refused_login_closes_its_connection() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        config = config_for(sink, username="mailer", password="wrong")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(TemporaryFailure):
                send(config, ["kim@example.org"])
            with pytest.raises(ConnectionFailed):
                probe(config)
            gc.collect()
        leaks = [str(item.message) for item in caught if issubclass(item.category, ResourceWarning)]
        assert leaks == []


def test_without_credentials_an_auth_server_refuses_for_good() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        with pytest.raises(PermanentFailure, match="530"):
            send(config_for(sink), ["kim@example.org"])
        assert sink.messages == []


# -- refusals ---------------------------------------------------------------------------------


def test_a_refused_recipient_does_not_stop_the_others(sink: InspectedSink) -> None:
    recipients = ["kim@example.org", "gone@example.org", "ann@example.org"]
    refused = with_transport(config_for(sink), lambda transport: transport.send(SENDER, recipients, RAW))
    assert refused == {"gone@example.org": "550 5.1.1 no such user"}
    [mail] = sink.messages
    assert mail.rcpt_tos == ("kim@example.org", "ann@example.org")


def test_all_recipients_refused_for_good_is_a_permanent_failure(sink: InspectedSink) -> None:
    ready_awaited: list[bool] = []

    async def ready() -> None:
        ready_awaited.append(True)

    async def refused_then_fine(transport: SmtpTransport) -> PermanentFailure:
        with pytest.raises(PermanentFailure) as failure:
            await transport.send(SENDER, ["gone@example.org"], RAW, ready())
        await transport.send(SENDER, ["kim@example.org"], RAW)
        return failure.value

    failure = with_transport(config_for(sink), refused_then_fine)
    assert str(failure) == "SMTP 550 5.1.1 no such user"
    assert ready_awaited == [True], "the previous message's mark must complete even on a refusal"
    assert [mail.rcpt_tos for mail in sink.messages] == [("kim@example.org",)]
    assert sink.connections == 1, "the connection survives a refusal (RSET)"


def test_all_recipients_refused_for_now_is_a_temporary_failure() -> None:
    with InspectedSink(refuse={"busy@example.org": "450 4.2.1 mailbox busy"}) as sink:
        with pytest.raises(TemporaryFailure) as failure:
            send(config_for(sink), ["busy@example.org"])
        assert "450" in str(failure.value)
        assert not failure.value.connection_lost


@pytest.mark.parametrize(
    ("code", "kind"),
    [(451, TemporaryFailure), (452, TemporaryFailure), (550, PermanentFailure), (554, PermanentFailure)],
)
def test_an_error_reply_to_data(sink: InspectedSink, code: int, kind: type[Exception]) -> None:
    sink.fail_next(code)

    async def failing_then_fine(transport: SmtpTransport) -> Exception:
        with pytest.raises(kind) as failure:
            await transport.send(SENDER, ["kim@example.org"], RAW)
        await transport.send(SENDER, ["kim@example.org"], RAW)
        return failure.value

    failure = with_transport(config_for(sink), failing_then_fine)
    assert str(failure).startswith(f"SMTP {code} ")
    if isinstance(failure, TemporaryFailure):
        assert not failure.connection_lost
    assert len(sink.rejected) == 1 and len(sink.messages) == 1
    assert sink.connections == 1


def test_nothing_listening_is_a_temporary_failure_with_the_connection_lost() -> None:
    port = free_port()
    with pytest.raises(TemporaryFailure) as failure:
        send(config_for(None, port=port), ["kim@example.org"])
    assert failure.value.connection_lost
    assert str(failure.value).startswith(f"SMTP 127.0.0.1:{port}: ")


def test_a_non_ascii_recipient_is_refused_and_the_connection_stays_usable(sink: InspectedSink) -> None:
    async def bad_then_fine(transport: SmtpTransport) -> None:
        with pytest.raises(PermanentFailure):
            await transport.send(SENDER, ["zoe@bücher.example"], RAW)
        await transport.send(SENDER, ["kim@example.org", "zoë@example.org"], RAW)

    with_transport(config_for(sink), bad_then_fine)
    assert [mail.rcpt_tos for mail in sink.messages] == [("kim@example.org",)]


# -- probe and close --------------------------------------------------------------------------


def test_probe_logs_in_and_says_nothing_when_all_is_well() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        probe(config_for(sink, username="mailer", password="s3cret"))
        assert sink.messages == []


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_probe_with_a_wrong_password_says_login_refused() -> None:
    with InspectedSink(username="mailer", password="s3cret") as sink:
        with pytest.raises(ConnectionFailed) as failure:
            probe(config_for(sink, username="mailer", password="wrong"))
        assert str(failure.value) == f"SMTP 127.0.0.1:{sink.port}: login refused"
        del failure
        gc.collect()


def test_probe_with_nothing_listening_names_the_server_and_the_reason() -> None:
    port = free_port()
    with pytest.raises(ConnectionFailed) as failure:
        probe(config_for(None, port=port))
    message = str(failure.value)
    assert message.startswith(f"SMTP 127.0.0.1:{port}: ")
    assert len(message) > len(f"SMTP 127.0.0.1:{port}: ") + 5, message
    assert "\n" not in message


def test_close_is_safe_unconnected_and_twice(sink: InspectedSink) -> None:
    async def closes(transport: SmtpTransport) -> None:
        await transport.close()
        await transport.send(SENDER, ["kim@example.org"], RAW)
        await transport.close()
        await transport.close()

    with_transport(config_for(sink), closes)
    assert len(sink.messages) == 1
