"""The SMTP side: the only module that talks aiosmtplib.

Connections are made with certificate verification (``ca_file`` trusted
instead of the system store when given); ``security = "none"`` disables TLS
for loopback servers only.
"""

from __future__ import annotations

import asyncio

import aiosmtplib

from helpdesk.config import SmtpConfig
from helpdesk.errors import ConnectionFailed
from helpdesk.fetch import describe, tls_context


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
        await client.login(config.username, config.password or "")


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
