"""The SMTP side: the only module that talks aiosmtplib.

Connections are made with certificate verification (``ca_file`` trusted
instead of the system store when given); ``security = "none"`` disables TLS
for loopback servers only. Failures come out as two distinct exceptions, as
the outbox must treat them differently: :class:`TemporaryFailure` (4xx
replies, refused or lost connections: retry later) and
:class:`PermanentFailure` (5xx replies: give up and tell the owner).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import aiosmtplib

from helpdesk.config import SmtpConfig
from helpdesk.errors import ConnectionFailed, HelpdeskError
from helpdesk.network import describe, tls_context


class TemporaryFailure(HelpdeskError):
    """Delivery failed for now; a later attempt may succeed."""

    def __init__(self, message: str, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.connection_lost = connection_lost


class PermanentFailure(HelpdeskError):
    """The server refused the message for good (a 5xx reply)."""


def smtp_client(config: SmtpConfig, timeout: float = 30.0) -> aiosmtplib.SMTP:
    """An unconnected aiosmtplib client for ``config``."""
    return aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.security == "ssl",
        start_tls=config.security == "starttls",
        tls_context=tls_context(config.ca_file) if config.security != "none" else None,
        timeout=timeout,
    )


async def login(client: aiosmtplib.SMTP, config: SmtpConfig) -> None:
    """Connect and authenticate (if a username is configured)."""
    await client.connect()
    if config.username:
        try:
            await client.login(config.username, config.password or "")
        except BaseException:
            # A refused login must not leave the connection (and its socket) open.
            client.close()
            raise


def probe(config: SmtpConfig) -> None:
    """Connect and log in once; raise ConnectionFailed with a clear reason otherwise."""

    async def attempt() -> None:
        client = smtp_client(config, timeout=15)
        await login(client, config)
        await client.quit()

    try:
        asyncio.run(attempt())
    except aiosmtplib.SMTPAuthenticationError:
        raise ConnectionFailed(f"SMTP {config.host}:{config.port}: login refused") from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ConnectionFailed(f"SMTP {config.host}:{config.port}: {describe(exc)}") from None


class SmtpTransport:
    """One SMTP connection, opened on first use and reused for every message."""

    def __init__(self, config: SmtpConfig, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = smtp_client(self.config, self.timeout)
        where = f"SMTP {self.config.host}:{self.config.port}"
        try:
            await login(client, self.config)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"{where}: login refused ({exc.code})", connection_lost=True) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{where}: {describe(exc)}", connection_lost=True) from None
        self._client = client
        return client

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes, ready: Awaitable[object] | None = None
    ) -> dict[str, str]:
        """Deliver ``raw``; ``ready`` (if given) is awaited after RCPT, before DATA.

        Returns the recipients the server refused while accepting others, each
        with the server's reply (``"550 5.1.1 no such user"``); when it refuses
        every recipient, that is a failure like any other and is raised.

        The outbox passes the durable "sent" mark of the previous message as
        ``ready``: its disk flush overlaps this message's envelope round trips,
        yet no two messages are ever accepted-but-unrecorded at once.
        """
        client = await self._connected()
        try:
            await client.mail(sender)
            refused = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused.append(exc)
                except UnicodeEncodeError:
                    # A non-ASCII address needs SMTPUTF8: refuse it here, like a server would,
                    # rather than leave the session inside its MAIL transaction.
                    refused.append(
                        aiosmtplib.SMTPRecipientRefused(553, "5.1.3 address is not ASCII", recipient)
                    )
            if ready is not None:
                await ready
            if len(refused) == len(recipients):
                await client.rset()
                raise _failure(refused[0].code, refused[0].message)
            await client.data(raw)
            return {exc.recipient: f"{exc.code} {exc.message}" for exc in refused}
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            raise _failure(exc.code, exc.message) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPException, OSError) as exc:
            self._client = None
            raise TemporaryFailure(f"SMTP: {describe(exc)}", connection_lost=True) from None

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._client = None

    async def close(self) -> None:
        """Say QUIT, ignoring a connection that is already gone."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _failure(code: int, message: str) -> HelpdeskError:
    text = f"SMTP {code} {message}".strip()
    if 400 <= code < 500:
        return TemporaryFailure(text)
    return PermanentFailure(text)
