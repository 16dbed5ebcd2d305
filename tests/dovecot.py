"""A private Dovecot IMAP server for the test suite.

Each :class:`DovecotServer` runs ``dovecot -F -c DIR/dovecot.conf`` with
every file it needs (configuration, sockets, state, log, mail) inside one
temporary directory, listening on 127.0.0.1 only: plain IMAP on
:attr:`DovecotServer.port` and, when ``openssl`` is available, implicit TLS
on :attr:`DovecotServer.tls_port` with a self-signed certificate that
:attr:`DovecotServer.ca_file` verifies.

Dovecot takes about a second to stop, so the suite starts one per session
and gives each test its own user (:meth:`DovecotServer.new_mailbox`). Mail
is stored as the unprivileged ``nobody`` when the suite runs as root.

Users come from two password databases. Named users (the first account and
:meth:`DovecotServer.add_user`) are in a passwd-file; Dovecot checks that
file for changes at most once a second, so ``add_user`` waits until the new
login works. Fresh per-test users need no file at all: any name matching
``mbx-*`` exists, and its password is the SHA-1 hex digest of the name
(a static passdb with ``password=%{sha1:user}``), so ``new_mailbox`` is
instant and there is no limit on how many a session uses.

The configuration targets Dovecot 2.3 (Debian 12); 2.4 changed the syntax.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from imapclient.exceptions import LoginError

from helpdesk.demo.imapserver import AccountHelpers, ImapMailbox
from helpdesk.demo.processes import LOOPBACK, free_port, terminate, wait_for_port

# The Dovecot binary; HELPDESK_TEST_DOVECOT overrides it (point it at a
# missing file to run the suite against pymap instead).
DOVECOT_BINARY = os.environ.get("HELPDESK_TEST_DOVECOT", "/usr/sbin/dovecot")

# User names with this prefix exist without being added (see the module
# docstring); new_mailbox() makes them.
_FRESH_PREFIX = "mbx-"


def dovecot_available(binary: str = DOVECOT_BINARY) -> bool:
    """True if a Dovecot binary is installed at ``binary``."""
    return os.access(binary, os.X_OK)


def dovecot_version(binary: str = DOVECOT_BINARY) -> str:
    """The installed Dovecot version, e.g. ``2.3.19.1 (9b53102964)``."""
    result = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
    )
    return result.stdout.strip()


@dataclass
class DovecotMailbox(ImapMailbox):
    """A Dovecot account; INBOX is recreated on disk, which IMAP cannot do.

    Dovecot refuses both DELETE and RENAME of INBOX. The server therefore
    keeps each user's INBOX in its own maildir (``~/inbox``, outside the
    folder tree), and recreating INBOX moves that directory away. Dovecot
    creates a new INBOX on the next access with the next UIDVALIDITY from
    the user's ``dovecot-uidvalidity`` counter (so it always differs) and
    UIDs starting at 1 again. Sessions opened before the recreation are
    not reliable afterwards: one with INBOX selected may go on showing the
    old messages (even after NOOP) until Dovecot notices and drops it with
    ``BYE IMAP session state is inconsistent, please relogin``. Only new
    sessions are sure to see the new INBOX and its new UIDVALIDITY.
    """

    inbox_path: str = ""
    """The maildir of this user's INBOX on disk."""

    def _recreate_inbox(self) -> None:
        parked = f"{self.inbox_path}.recreated-{uuid.uuid4().hex}"
        try:
            os.rename(self.inbox_path, parked)
        except FileNotFoundError:
            # INBOX was never opened, so it does not exist on disk yet.
            pass
        else:
            shutil.rmtree(parked, ignore_errors=True)
        # Open the new INBOX once so that it exists (with its new UIDVALIDITY)
        # before the caller looks.
        with self.session() as imap:
            imap.folder_status("INBOX", [b"UIDVALIDITY"])


class DovecotServer(AccountHelpers):
    """A private Dovecot instance on 127.0.0.1 (see the module docstring)."""

    kind = "dovecot"

    def __init__(
        self,
        username: str = "support@example.test",
        password: str = "secret",
        *,
        binary: str = DOVECOT_BINARY,
        with_tls: bool = True,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.tls_port: int | None = None
        self.ca_file: str | None = None
        self.username = username
        self.password = password
        self.binary = binary
        self.with_tls = with_tls
        self.startup_timeout = startup_timeout
        self.directory: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()
        self._uid, self._gid, self._internal_user = _mail_identity()

    # -- paths --------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        if self.directory is None:
            raise RuntimeError("Dovecot server is not started")
        return os.path.join(self.directory, *parts)

    @property
    def log_path(self) -> str:
        """Dovecot's log file (all services log there)."""
        return self._path("dovecot.log")

    def home(self, username: str) -> str:
        """The home directory of ``username`` (mail lives below it)."""
        return self._path("home", username)

    # -- lifecycle ----------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the Dovecot master process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Write the configuration, start Dovecot and wait for ``* OK``."""
        if self._process is not None:
            raise RuntimeError("Dovecot server already started")
        self.directory = tempfile.mkdtemp(prefix="hd-dovecot-")
        # The mail processes run as an unprivileged user and must reach
        # their homes below this directory.
        os.chmod(self.directory, 0o755)
        home_root = self._path("home")
        os.mkdir(home_root, 0o755)
        os.chown(home_root, self._uid, self._gid)
        if self.with_tls and shutil.which("openssl"):
            self._make_certificate()
        self._users = {self.username: self.password}
        self._write_users()
        try:
            for attempt in range(3):
                self.port = free_port()
                self.tls_port = free_port() if self.ca_file else None
                self._write_config()
                try:
                    self._spawn()
                    return self
                except RuntimeError:
                    # Most likely a port was taken between free_port() and
                    # Dovecot binding it: try fresh ones.
                    self._terminate()
                    if attempt == 2:
                        raise
        except BaseException:
            log = self.log_text()
            self._terminate()
            self._remove_directory()
            raise RuntimeError(f"Dovecot failed to start; its log:\n{log}") from None
        raise AssertionError("unreachable")

    def _make_certificate(self) -> None:
        """Create a self-signed certificate for 127.0.0.1 and localhost."""
        cert, key = self._path("cert.pem"), self._path("key.pem")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", cert, "-days", "3650",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        os.chmod(key, 0o600)
        self.ca_file = cert

    def _write_config(self) -> None:
        """Write dovecot.conf for the current ports."""
        base = self.directory
        assert base is not None
        tls_lines = (
            [
                "ssl = yes",
                f"ssl_cert = <{base}/cert.pem",
                f"ssl_key = <{base}/key.pem",
            ]
            if self.ca_file
            else ["ssl = no"]
        )
        imaps_listener = (
            [
                "  inet_listener imaps {",
                f"    port = {self.tls_port}",
                "    ssl = yes",
                "  }",
            ]
            if self.tls_port
            else ["  inet_listener imaps {", "    port = 0", "  }"]
        )
        unprivileged = os.geteuid() != 0
        no_chroot = ["  chroot ="] if unprivileged else []
        lines = [
            "protocols = imap",
            f"listen = {LOOPBACK}",
            f"base_dir = {base}/run",
            f"state_dir = {base}/state",
            f"log_path = {base}/dovecot.log",
            *tls_lines,
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            f"first_valid_uid = {min(self._uid, 500)}",
            # Failed logins answer at once instead of after two seconds.
            "auth_failure_delay = 0",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {base}/users",
            "}",
            "passdb {",
            "  driver = static",
            f"  username_filter = {_FRESH_PREFIX}*",
            "  args = password=%{sha1:user}",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={self._uid} gid={self._gid} home={base}/home/%u",
            "}",
            # INBOX lives outside the folder tree so that it can be
            # recreated by moving its directory (see DovecotMailbox).
            "mail_location = maildir:~/Maildir:INBOX=~/inbox",
            # Every account has a Sent folder flagged \Sent (RFC 6154
            # SPECIAL-USE), as hosted mailboxes do: the daemon finds it by the flag.
            "namespace inbox {",
            "  inbox = yes",
            "  mailbox Sent {",
            "    special_use = \\Sent",
            "    auto = subscribe",
            "  }",
            "}",
            # Inotify normally wakes IDLE; this is the fallback poll.
            "mailbox_idle_check_interval = 1 secs",
            "service imap-login {",
            "  inet_listener imap {",
            f"    port = {self.port}",
            "  }",
            *imaps_listener,
            *no_chroot,
            "}",
            # Without this listener Dovecot puts no growing penalty delay
            # on an address after failed logins (tests fail logins on
            # purpose, and add_user polls).
            "service anvil {",
            "  unix_listener anvil-auth-penalty {",
            "    mode = 0",
            "  }",
            *no_chroot,
            "}",
            "protocol imap {",
            "  mail_max_userip_connections = 200",
            "}",
        ]
        if unprivileged:
            # Without root Dovecot can neither switch users nor chroot:
            # everything runs as us, unconfined.
            lines += [
                f"default_internal_user = {self._internal_user}",
                f"default_login_user = {self._internal_user}",
                f"default_internal_group = {grp.getgrgid(self._gid).gr_name}",
            ]
            lines += [
                f"service {name} {{\n  chroot =\n}}"
                for name in ("aggregator", "ipc", "old-stats", "imap-urlauth-login")
            ]
        with open(self._path("dovecot.conf"), "w", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")

    def _spawn(self) -> None:
        """Start the master process and wait for both listeners."""
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", self._path("dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
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
            if self.tls_port:
                wait_for_port(
                    self.host, self.tls_port, self.startup_timeout, alive=lambda: self.running
                )
        except TimeoutError as exc:
            raise RuntimeError(str(exc)) from exc

    def stop(self) -> None:
        """Stop Dovecot (SIGTERM, about a second) and remove its directory."""
        self._terminate()
        self._remove_directory()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        terminate(process, timeout=15, group=True)

    def _remove_directory(self) -> None:
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def log_text(self) -> str:
        """Dovecot's log so far (empty if there is none)."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read()
        except (OSError, RuntimeError):
            return ""

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- users --------------------------------------------------------------

    def add_user(self, username: str, password: str, *, timeout: float = 10.0) -> None:
        """Add (or change) a named user and wait until it can log in.

        Names and passwords must not contain ``:``, ``%``, ``/`` or
        whitespace: they go verbatim into the passwd-file and the home path.
        Names starting with ``mbx-`` are reserved for :meth:`new_mailbox`.
        """
        for value in (username, password):
            if not value or any(ch in value for ch in ":%/\n\r\t ") or value in {".", ".."}:
                raise ValueError(f"unusable user name or password: {value!r}")
        if username.startswith(_FRESH_PREFIX):
            raise ValueError(f"user names starting with {_FRESH_PREFIX!r} are reserved")
        with self._lock:
            self._users[username] = password
            self._write_users()
        self._wait_for_login(username, password, timeout)

    def _wait_for_login(self, username: str, password: str, timeout: float) -> None:
        """Poll until Dovecot has re-read the passwd-file and accepts the login."""
        mailbox = self.account(username, password)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with mailbox.session():
                    return
            except LoginError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _write_users(self) -> None:
        """Replace the passwd-file atomically so Dovecot never reads half of it."""
        path = self._path("users")
        temporary = f"{path}.{uuid.uuid4().hex}"
        with open(temporary, "w", encoding="utf-8") as users:
            for name, password in self._users.items():
                users.write(f"{name}:{{PLAIN}}{password}\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)

    def account(self, username: str, password: str) -> DovecotMailbox:
        """The mailbox of an existing user."""
        return DovecotMailbox(
            self.kind,
            self.host,
            self.port,
            username,
            password,
            inbox_path=os.path.join(self.home(username), "inbox"),
        )

    def _account(self) -> DovecotMailbox:
        return self.account(self.username, self.password)

    def new_mailbox(self) -> DovecotMailbox:
        """A fresh user with an empty mailbox, usable at once (no file change)."""
        username = f"{_FRESH_PREFIX}{uuid.uuid4().hex[:16]}@example.test"
        password = hashlib.sha1(username.encode()).hexdigest()
        return self.account(username, password)


def _mail_identity() -> tuple[int, int, str]:
    """The uid, gid and user name that mail processes should run as.

    As root that is ``nobody`` (mail must never be handled as uid 0);
    otherwise Dovecot cannot switch users and everything runs as the
    current user.
    """
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, nobody.pw_name
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, os.getegid(), me.pw_name


__all__ = [
    "DOVECOT_BINARY",
    "DovecotMailbox",
    "DovecotServer",
    "dovecot_available",
    "dovecot_version",
]
