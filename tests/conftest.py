"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from helpdesk.demo.imapserver import ImapMailbox, ImapTestServer, PymapServer
from helpdesk.demo.smtpsink import SmtpSink
from tests.dovecot import DOVECOT_BINARY, DovecotServer, dovecot_available, dovecot_version

# ===========================================================================
# Mail servers: a real IMAP server (Dovecot, else pymap) and an SMTP sink.
#
# ``imap_server`` is one server for the whole session; ``mailbox`` gives each
# test its own empty account on it. With the environment variable CI set,
# a missing Dovecot is an error rather than a reason to fall back to pymap,
# so that CI never silently tests against the weaker server.
# ===========================================================================


def _in_ci() -> bool:
    """True when running under CI (the CI variable is set and non-empty)."""
    return bool(os.environ.get("CI"))


def _imap_server_kind() -> str:
    """Which IMAP server the session uses: ``dovecot`` or ``pymap``."""
    return "dovecot" if dovecot_available() else "pymap"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say in the header which IMAP server the tests run against."""
    if dovecot_available():
        return [f"imap test server: dovecot {dovecot_version()}"]
    if _in_ci():
        return ["imap test server: NONE (Dovecot missing under CI: IMAP tests will fail)"]
    return ["imap test server: pymap (Dovecot not installed)"]


def _require_dovecot() -> None:
    """Skip (locally) or fail (under CI) when Dovecot is not installed."""
    if dovecot_available():
        return
    message = f"Dovecot ({DOVECOT_BINARY}) is not installed"
    if _in_ci():
        pytest.fail(f"{message}; CI must install dovecot-imapd", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """A private Dovecot for the whole session (skips or fails without it)."""
    _require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture(scope="session")
def pymap_server() -> Iterator[PymapServer]:
    """A pymap server for the whole session."""
    with PymapServer() as server:
        yield server


@pytest.fixture(scope="session")
def imap_server(request: pytest.FixtureRequest) -> ImapTestServer:
    """The session's IMAP server: Dovecot if installed, otherwise pymap.

    Under CI a missing Dovecot fails every test that needs an IMAP server.
    """
    if _imap_server_kind() == "pymap" and _in_ci():
        _require_dovecot()
    server: ImapTestServer = request.getfixturevalue(f"{_imap_server_kind()}_server")
    return server


@pytest.fixture
def mailbox(imap_server: ImapTestServer) -> Iterator[ImapMailbox]:
    """A fresh, empty account on the session's IMAP server."""
    box = imap_server.new_mailbox()
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started SMTP sink without AUTH, stopped after the test."""
    with SmtpSink() as sink:
        yield sink


# ===========================================================================
# End of the mail server fixtures.
# ===========================================================================
