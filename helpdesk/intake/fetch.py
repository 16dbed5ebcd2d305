"""The IMAP side: the only module that talks to the IMAP server.

Messages are fetched by UID with ``BODY.PEEK[]`` (the server's \\Seen flags
are left alone) in batches, newest state per folder tracked as
``(UIDVALIDITY, last UID)`` by the caller. New mail is waited for with IDLE
when the server offers it, otherwise by polling.

The support mailbox's Sent folder is read on the same connection, selected
for a moment each cycle (:meth:`Mailbox.other_folder`), and copies of the
mail the daemon sent are appended there; IDLE stays on the watched folder.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from helpdesk.config import ImapConfig
from helpdesk.errors import ConnectionFailed, HelpdeskError
from helpdesk.network import describe, tls_context

log = logging.getLogger(__name__)

# Errors that mean "the connection is gone or unusable": reconnect and retry.
NETWORK_ERRORS = (OSError, IMAPClientError, imaplib.IMAP4.error, EOFError)
IDLE_SLICE = 1.0
# RFC 2177: re-issue IDLE at least every 29 minutes.
IDLE_RENEW = 25 * 60
# The SPECIAL-USE attribute of the folder where a mail client keeps what it sent (RFC 6154).
SENT_FLAG = b"\\Sent"


class FolderUnavailable(HelpdeskError):
    """The server refused a folder (it was deleted, say), while the connection itself is fine."""


@contextlib.contextmanager
def _refused_as_unavailable(folder: str) -> Iterator[None]:
    """The server's NO or BAD about ``folder`` as :class:`FolderUnavailable`; a lost connection stays one."""
    try:
        yield
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        raise FolderUnavailable(f"{folder}: {describe(exc)}") from None


@dataclass(frozen=True)
class FetchedMessage:
    """One message as the server holds it."""

    uid: int
    raw: bytes


class Mailbox:
    """One logged-in IMAP connection with one selected folder."""

    def __init__(self, config: ImapConfig, timeout: float = 60.0) -> None:
        self.config = config
        self.timeout = timeout
        self.client: imapclient.IMAPClient | None = None
        self.uidvalidity = 0
        self.can_idle = False

    def connect(self) -> None:
        """Connect, log in and select the folder; raise ConnectionFailed if impossible."""
        config = self.config
        where = f"{config.host}:{config.port}"
        try:
            context = tls_context(config.ca_file) if config.security != "none" else None
            client = imapclient.IMAPClient(
                config.host,
                port=config.port,
                ssl=config.security == "ssl",
                ssl_context=context,
                timeout=self.timeout,
            )
            if config.security == "starttls":
                client.starttls(context)
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.login(config.username, config.password or "")
            status = client.select_folder(config.folder, readonly=True)
        except LoginError:
            raise ConnectionFailed(f"IMAP {where}: login refused for {config.username}") from None
        except ssl.SSLError as exc:
            raise ConnectionFailed(f"IMAP {where}: TLS failed: {exc.reason or exc}") from None
        except NETWORK_ERRORS as exc:
            raise ConnectionFailed(f"IMAP {where}: {describe(exc)}") from None
        self.client = client
        self.uidvalidity = int(status[b"UIDVALIDITY"])
        self.can_idle = config.idle and client.has_capability("IDLE")
        log.info(
            "connected to IMAP %s folder %s (UIDVALIDITY %d, %s)",
            where,
            config.folder,
            self.uidvalidity,
            "IDLE" if self.can_idle else "polling",
        )

    def close(self) -> None:
        """Log out, ignoring a connection that is already gone."""
        if self.client is None:
            return
        with contextlib.suppress(*NETWORK_ERRORS):
            self.client.logout()
        self.client = None

    def _client(self) -> imapclient.IMAPClient:
        if self.client is None:
            raise ConnectionFailed("IMAP: not connected")
        return self.client

    def refresh(self) -> int:
        """Re-select the folder (a NOOP for new mail); returns the UIDVALIDITY."""
        status = self._client().select_folder(self.config.folder, readonly=True)
        self.uidvalidity = int(status[b"UIDVALIDITY"])
        return self.uidvalidity

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs greater than ``after_uid``, ascending."""
        # "UID n:*" always includes the highest UID, even when it is below n.
        found = self._client().search(["UID", f"{after_uid + 1}:*"])
        return sorted(uid for uid in found if uid > after_uid)

    def uids_since(self, day: date) -> set[int]:
        """UIDs of the messages dated ``day`` or later (IMAP SEARCH SENTSINCE: the Date header).

        The Date header, not the server's arrival date: a mailbox moved to a
        new server keeps its messages' dates but not their arrival dates.
        """
        return set(self._client().search(["SENTSINCE", day]))

    def _fetch_chunk(self, chunk: list[int]) -> list[FetchedMessage]:
        response = self._client().fetch(chunk, ["BODY.PEEK[]"])
        return [
            FetchedMessage(uid, response[uid][b"BODY[]"])
            for uid in chunk
            if uid in response and b"BODY[]" in response[uid]
        ]

    def fetch(self, uids: list[int], batch_size: int) -> Iterator[list[FetchedMessage]]:
        """Fetch ``uids`` in batches with BODY.PEEK[] (never sets \\Seen).

        While the caller works on one batch, the next is already being fetched
        in a background thread: network time overlaps parsing and recording.
        The caller must not use this connection until the iteration ends.
        """
        chunks = [uids[start : start + batch_size] for start in range(0, len(uids), batch_size)]
        if not chunks:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as pool:
            pending = pool.submit(self._fetch_chunk, chunks[0])
            for chunk in chunks[1:]:
                batch = pending.result()
                pending = pool.submit(self._fetch_chunk, chunk)
                yield batch
            yield pending.result()

    # -- the Sent folder (answers written from the mailbox itself, copies of our mail) ----

    def find_sent_folder(self) -> str | None:
        """The folder flagged \\Sent (RFC 6154 SPECIAL-USE), else one with a usual name; None if none.

        imapclient's ``find_special_folder`` looks for the flag first and only
        then for "Sent", "Sent Items" or "Sent Messages" in the personal namespace.
        """
        return self._client().find_special_folder(SENT_FLAG)

    def folder_exists(self, folder: str) -> bool:
        """Whether ``folder`` exists on the server."""
        return bool(self._client().folder_exists(folder))

    @contextlib.contextmanager
    def other_folder(self, folder: str) -> Iterator[int]:
        """Select ``folder`` (read-only) for the block, then the watched folder again.

        Yields the UIDVALIDITY of ``folder``; :meth:`new_uids`, :meth:`fetch` and
        :meth:`has_message_id` work on it inside the block. Afterwards the
        connection is back on the watched folder, where IDLE waits for new mail,
        also when the server refuses ``folder`` (:class:`FolderUnavailable`). Any
        other error leaves the selection alone: after a network error the caller
        reconnects, and connecting selects the watched folder.
        """
        try:
            with _refused_as_unavailable(folder):
                status = self._client().select_folder(folder, readonly=True)
            yield int(status[b"UIDVALIDITY"])
        except FolderUnavailable:
            # A refused SELECT leaves no folder selected (RFC 3501): go back to the watched one.
            self.refresh()
            raise
        self.refresh()

    def has_message_id(self, message_id: str) -> bool:
        """Whether the selected folder holds a message with this Message-ID (without angle brackets)."""
        return bool(self._client().search(["HEADER", "Message-ID", message_id]))

    def append_seen(self, folder: str, raw: bytes) -> None:
        """Append ``raw`` to ``folder`` flagged \\Seen (a copy of mail we sent, read by definition)."""
        with _refused_as_unavailable(folder):
            self._client().append(folder, raw, flags=(imapclient.SEEN,))

    def wait_for_mail(self, timeout: float, should_stop: Callable[[], bool]) -> None:
        """Block until the server reports new mail, ``timeout`` passes, or we must stop.

        With IDLE the server pushes a notice within about a second of new mail;
        without it this simply sleeps (polling). Waiting happens in short slices so
        that a stop request is honoured quickly.
        """
        deadline = time.monotonic() + min(timeout, IDLE_RENEW)
        if not self.can_idle:
            while not should_stop() and time.monotonic() < deadline:
                time.sleep(min(IDLE_SLICE, max(0.0, deadline - time.monotonic())))
            return
        client = self._client()
        client.idle()
        try:
            while not should_stop() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=IDLE_SLICE)
                if any(_announces_mail(item) for item in responses):
                    return
        finally:
            client.idle_done()


def _announces_mail(response: tuple) -> bool:
    """Whether an untagged IDLE response means the folder changed."""
    return any(part in (b"EXISTS", b"RECENT", b"EXPUNGE") for part in response[1:2])
