"""IMAP for the demo and the tests: an account helper and an embedded pymap server.

* :class:`PymapServer` runs pymap's in-memory ``dict`` backend in a child
  process with one account whose INBOX starts empty.
* :class:`ImapMailbox` is one account on an IMAP server with the helpers
  tests need (append, recreate a folder, count messages).
* :class:`ImapTestServer` is the interface every IMAP test server offers;
  the test suite's private Dovecot instance implements it too.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from imapclient import IMAPClient

from helpdesk.demo.processes import LOOPBACK, free_port, terminate, wait_for_port

# Messages per MULTIAPPEND command, and the byte budget per command: large
# enough to make bulk loading fast, small enough to keep one command sane.
_APPEND_BATCH_COUNT = 200
_APPEND_BATCH_BYTES = 8 * 1024 * 1024

# How long a client connection may block on one socket operation.
_CLIENT_TIMEOUT = 30.0

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", re.IGNORECASE)


# ---------------------------------------------------------------------------
# IMAP accounts


@dataclass
class ImapMailbox:
    """One account on an IMAP server, plus the helpers tests and the demo need.

    Every helper opens its own short connection, so a mailbox object can be
    shared freely; :meth:`client` gives a new logged-in connection for code
    that wants to drive IMAP itself.
    """

    kind: str
    host: str
    port: int
    username: str
    password: str
    on_close: Callable[[], None] | None = field(default=None, repr=False)

    def client(self) -> IMAPClient:
        """Open a new plain-text connection, logged in, with TCP_NODELAY set."""
        imap = IMAPClient(self.host, self.port, ssl=False, timeout=_CLIENT_TIMEOUT)
        try:
            imap.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            imap.login(self.username, self.password)
        except BaseException:
            close_quietly(imap)
            raise
        return imap

    @contextlib.contextmanager
    def session(self) -> Iterator[IMAPClient]:
        """Context manager around :meth:`client` that always logs out."""
        imap = self.client()
        try:
            yield imap
        finally:
            close_quietly(imap)

    def append(self, raw: bytes, folder: str = "INBOX") -> int | None:
        """Append one message (no flags) and return its UID if the server says."""
        with self.session() as imap:
            response = imap.append(folder, raw)
        uids = _appended_uids(response)
        return uids[0] if uids else None

    def append_many(self, raws: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """Append many messages over one connection and return their UIDs.

        The messages go in MULTIAPPEND batches when the server offers it
        (both Dovecot and pymap do), which sends each batch as one command
        with LITERAL+ and so avoids a round trip per message. The UIDs come
        from the APPENDUID responses; the list is empty if the server does
        not report them.
        """
        uids: list[int] = []
        with self.session() as imap:
            if not imap.has_capability("MULTIAPPEND"):
                for raw in raws:
                    uids.extend(_appended_uids(imap.append(folder, raw)))
                return uids
            for batch in _batches(raws):
                uids.extend(_appended_uids(imap.multiappend(folder, batch)))
        return uids

    def create_folder(self, name: str) -> None:
        """Create folder ``name`` unless it exists already."""
        with self.session() as imap:
            if not imap.folder_exists(name):
                imap.create_folder(name)

    def message_count(self, folder: str = "INBOX") -> int:
        """Return the number of messages in ``folder`` (via STATUS, no SELECT)."""
        with self.session() as imap:
            status = imap.folder_status(folder, [b"MESSAGES"])
        return int(status[b"MESSAGES"])

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """Return the current UIDVALIDITY of ``folder``."""
        with self.session() as imap:
            status = imap.folder_status(folder, [b"UIDVALIDITY"])
        return int(status[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str = "INBOX") -> int:
        """Empty ``folder`` and make the server give it a new UIDVALIDITY.

        This is what a client sees when the mailbox was deleted and created
        again behind its back: all old UIDs are void. A folder other than
        INBOX is deleted and created again. INBOX cannot be deleted over
        IMAP, so it is renamed away (RFC 3501 moves its messages to the new
        name and leaves an empty INBOX) and the renamed copy is deleted;
        pymap supports that, Dovecot does not, which is why the Dovecot test
        server overrides :meth:`_recreate_inbox`. Returns the new UIDVALIDITY.

        Only sessions opened afterwards are sure to see the new folder: an
        already open session may keep the old view (Dovecot) or get errors
        (pymap answers ``[SERVERBUG]``), so code under test must reconnect.
        """
        if folder.upper() == "INBOX":
            self._recreate_inbox()
        else:
            with self.session() as imap:
                if imap.folder_exists(folder):
                    imap.delete_folder(folder)
                imap.create_folder(folder)
        return self.uidvalidity(folder)

    def _recreate_inbox(self) -> None:
        """Empty INBOX with a new UIDVALIDITY by renaming it away over IMAP."""
        parking = f"recreated-{uuid.uuid4().hex}"
        with self.session() as imap:
            imap.rename_folder("INBOX", parking)
            imap.delete_folder(parking)

    def close(self) -> None:
        """Release what this mailbox holds (for pymap: its private server)."""
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()


def close_quietly(imap: IMAPClient) -> None:
    """Log out, or at least drop the connection, ignoring a dead peer."""
    try:
        imap.logout()
    except Exception:
        with contextlib.suppress(Exception):
            imap.shutdown()


def _appended_uids(response: Any) -> list[int]:
    """Extract the UIDs from an APPEND response's APPENDUID code, if any."""
    text = response if isinstance(response, bytes) else str(response).encode()
    match = _APPENDUID.search(text)
    if match is None:
        return []
    uids: list[int] = []
    for part in match.group(2).split(b","):
        first, _, last = part.partition(b":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


def _batches(raws: Iterable[bytes]) -> Iterable[list[bytes]]:
    """Split ``raws`` into MULTIAPPEND batches bounded by count and size."""
    batch: list[bytes] = []
    size = 0
    for raw in raws:
        if batch and (len(batch) >= _APPEND_BATCH_COUNT or size + len(raw) > _APPEND_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(raw)
        size += len(raw)
    if batch:
        yield batch


@runtime_checkable
class ImapTestServer(Protocol):
    """What every IMAP test server offers (pymap here, Dovecot in the tests).

    ``username``/``password`` and the mailbox helpers refer to the server's
    first account; :meth:`new_mailbox` makes another, empty one.
    """

    kind: str
    host: str
    port: int
    username: str
    password: str

    def client(self) -> IMAPClient:
        """A new logged-in plain-text client for the first account."""
        ...

    def append(self, raw: bytes, folder: str = "INBOX") -> int | None:
        """Append one message to the first account."""
        ...

    def append_many(self, raws: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """Append many messages to the first account over one connection."""
        ...

    def recreate_folder(self, folder: str = "INBOX") -> int:
        """Empty ``folder`` with a new UIDVALIDITY; returns it."""
        ...

    def create_folder(self, name: str) -> None:
        """Create a folder in the first account."""
        ...

    def message_count(self, folder: str = "INBOX") -> int:
        """Number of messages in ``folder`` of the first account."""
        ...

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The UIDVALIDITY of ``folder`` of the first account."""
        ...

    def new_mailbox(self) -> ImapMailbox:
        """A fresh, empty account (call its ``close()`` when done)."""
        ...

    def stop(self) -> None:
        """Stop the server and remove its files."""
        ...


class AccountHelpers:
    """Mixin for servers: the mailbox helpers, acting on the first account.

    A server class implements :meth:`_account`; the helpers then behave
    exactly like those of :class:`ImapMailbox` for that account.
    """

    def _account(self) -> ImapMailbox:
        raise NotImplementedError

    @property
    def main_mailbox(self) -> ImapMailbox:
        """The first account as an :class:`ImapMailbox`."""
        return self._account()

    def client(self) -> IMAPClient:
        """A new logged-in plain-text client for the first account."""
        return self._account().client()

    def append(self, raw: bytes, folder: str = "INBOX") -> int | None:
        """Append one message to the first account; returns its UID."""
        return self._account().append(raw, folder)

    def append_many(self, raws: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """Append many messages to the first account; returns their UIDs."""
        return self._account().append_many(raws, folder)

    def recreate_folder(self, folder: str = "INBOX") -> int:
        """Empty ``folder`` of the first account with a new UIDVALIDITY."""
        return self._account().recreate_folder(folder)

    def create_folder(self, name: str) -> None:
        """Create a folder in the first account."""
        self._account().create_folder(name)

    def message_count(self, folder: str = "INBOX") -> int:
        """Number of messages in ``folder`` of the first account."""
        return self._account().message_count(folder)

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The UIDVALIDITY of ``folder`` of the first account."""
        return self._account().uidvalidity(folder)


# ---------------------------------------------------------------------------
# pymap


class PymapServer(AccountHelpers):
    """pymap's in-memory IMAP server in a child process, for one account.

    The server runs ``pymap --no-tls dict`` on 127.0.0.1: ``--no-tls`` is
    what allows a plain LOGIN without STARTTLS (the default advertises
    LOGINDISABLED until TLS is up), and the ``dict`` backend without
    ``--demo-data`` starts with an empty INBOX. All mail lives in the
    process's memory and is gone when it stops. The dict backend knows a
    single user, so :meth:`new_mailbox` starts another server (~0.4 s).
    """

    kind = "pymap"

    def __init__(
        self,
        username: str = "support@example.test",
        password: str = "secret",
        *,
        host: str = LOOPBACK,
        port: int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port or 0
        self.username = username
        self.password = password
        self.startup_timeout = startup_timeout
        self._fixed_port = port is not None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None
        self._children: list[PymapServer] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> str | None:
        """The file that receives pymap's output (for diagnosing failures)."""
        return None if self._workdir is None else os.path.join(self._workdir, "pymap.log")

    def start(self) -> Self:
        """Start pymap and return once it greets with ``* OK``."""
        if self._process is not None:
            raise RuntimeError("pymap server already started")
        self._workdir = tempfile.mkdtemp(prefix="helpdesk-pymap-")
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = free_port(self.host)
            try:
                self._spawn()
                return self
            except RuntimeError:
                # Most likely another process took the port between
                # free_port() and pymap binding it: try a fresh one.
                self._reap()
                if attempt == attempts - 1:
                    log = self._log_tail()
                    self._remove_workdir()
                    raise RuntimeError(f"pymap failed to start:\n{log}") from None
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        """Run one pymap process on ``self.port`` and wait for its greeting."""
        assert self.log_path is not None
        command = [
            sys.executable,
            "-c",
            "from pymap.main import main; main()",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--no-tls",
            # Only IMAP: the optional admin, sieve and cluster services
            # would open further listeners if their extras are installed.
            "--no-service",
            "admin",
            "--no-service",
            "managesieve",
            "--no-service",
            "swim",
            "dict",
            "--demo-user",
            self.username,
            "--demo-password",
            self.password,
        ]
        # pymap puts the host's FQDN in its greeting; looking it up can hang
        # on machines without DNS, so give it one.
        env = {**os.environ, "FQDN": "localhost"}
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        try:
            wait_for_port(
                self.host,
                self.port,
                self.startup_timeout,
                expect=b"* OK",
                alive=lambda: self.running,
            )
        except TimeoutError as exc:
            raise RuntimeError(str(exc)) from exc

    def _account(self) -> ImapMailbox:
        if not self.running:
            raise RuntimeError("pymap server is not running")
        return ImapMailbox(self.kind, self.host, self.port, self.username, self.password)

    def new_mailbox(self) -> ImapMailbox:
        """Start a separate pymap server and return its (empty) account.

        The extra server stops when the returned mailbox is closed or when
        this server stops, whichever comes first.
        """
        child = PymapServer(
            f"user-{uuid.uuid4().hex[:8]}@example.test",
            uuid.uuid4().hex,
            host=self.host,
            startup_timeout=self.startup_timeout,
        ).start()
        with self._lock:
            self._children.append(child)

        def release() -> None:
            with self._lock:
                if child in self._children:
                    self._children.remove(child)
            child.stop()

        mailbox = child.main_mailbox
        mailbox.on_close = release
        return mailbox

    def stop(self) -> None:
        """Stop this server and every server made by :meth:`new_mailbox`."""
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            child.stop()
        self._reap()
        self._remove_workdir()

    def _reap(self) -> None:
        """Terminate the child process (SIGTERM, then SIGKILL) and wait for it."""
        process, self._process = self._process, None
        terminate(process, timeout=5)

    def _log_tail(self) -> str:
        """The last lines pymap wrote, for error messages."""
        if self.log_path is None or not os.path.exists(self.log_path):
            return "(no log)"
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-20:])

    def _remove_workdir(self) -> None:
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
