"""The raw mail archive: every inbound message, byte for byte, before processing.

Layout: ``<data>/mail/<folder>/<uidvalidity>/<uid>.eml``. The path is a pure
function of where the message came from, so archiving the same message twice
(after a crash, or a replay) overwrites the same file: nothing doubles.
Messages that did not come from IMAP (quarantine replays, ``parse``) are
archived by content hash under ``<data>/mail/local/``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpdesk.store.durable import atomic_write, fsync_directory, sync_filesystem


@dataclass(frozen=True)
class MailSource:
    """Where an inbound message came from: folder, UIDVALIDITY and UID."""

    folder: str
    uidvalidity: int
    uid: int

    @property
    def key(self) -> str:
        """A compact unique key, used to deduplicate replays."""
        return f"{self.folder}/{self.uidvalidity}/{self.uid}"


_SAFE_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def _safe_folder(folder: str) -> str:
    """A folder name usable as one directory name, distinct for distinct folders.

    Letters, digits, ``.``, ``_`` and ``-`` stay; every other byte of the
    UTF-8 name (``%`` included) becomes ``%XX``, so two folders never share a
    directory, and ``.``, ``..`` and the empty name are encoded too.
    """
    encoded = "".join(chr(byte) if byte in _SAFE_BYTES else f"%{byte:02X}" for byte in folder.encode())
    if encoded in ("", ".", ".."):
        return "".join(f"%{byte:02X}" for byte in folder.encode()) or "%"
    return encoded


class MailArchive:
    """Writes raw messages to disk; flushing is batched with :meth:`sync`."""

    def __init__(self, root: Path) -> None:
        self.root = root / "mail"
        self._known_directories: set[Path] = set()

    def path_for(self, source: MailSource) -> Path:
        """The archive file of the message from ``source``."""
        return self.root / _safe_folder(source.folder) / str(source.uidvalidity) / f"{source.uid}.eml"

    def store(self, source: MailSource, raw: bytes) -> Path:
        """Archive ``raw``; it is durable only after the next :meth:`sync`.

        Written in place, without a temporary file: the path belongs to this one
        message, and the folder's saved UID moves past it only after the sync and
        the store commit. A file torn by a crash before then is rewritten when
        the message is fetched again.
        """
        path = self.path_for(source)
        directory = path.parent
        if directory not in self._known_directories:
            directory.mkdir(parents=True, exist_ok=True)
            self._known_directories.add(directory)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return path

    def store_local(self, raw: bytes) -> Path:
        """Archive a message that did not come from IMAP, durably, by content hash."""
        digest = hashlib.sha256(raw).hexdigest()
        path = self.root / "local" / f"{digest}.eml"
        atomic_write(path, raw, durable=True, mode=0o600)
        return path

    def sync(self) -> None:
        """Make every message archived so far durable (one flush per batch)."""
        if self.root.exists():
            sync_filesystem(self.root)

    def relative(self, path: Path) -> str:
        """The archive path as stored in the database (relative to the data dir)."""
        return str(path.relative_to(self.root.parent))

    # -- erasure (``helpdesk customer forget``) ---------------------------------

    def files(self) -> Iterator[Path]:
        """Every archived message file, in path order."""
        if self.root.is_dir():
            yield from sorted(self.root.rglob("*.eml"))

    def erase(self, path: Path) -> bool:
        """Delete one archived message durably; False if it was not there."""
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_directory(path.parent)
        return True

    def rewrite(self, path: Path, raw: bytes) -> None:
        """Replace an archived message with redacted bytes, atomically (no copy of the old is left)."""
        atomic_write(path, raw, durable=True, mode=0o600)
