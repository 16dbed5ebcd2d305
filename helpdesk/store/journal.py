"""The store's commit log: one JSON line per commit, appended and flushed.

A commit is durable once its line is written and ``fdatasync``'d: that one
flush is the commit point, however many files the commit changes. The store
writes its segment files only now and then (a checkpoint) and then removes
the log; until then the log holds every commit since the last checkpoint.

A crash can leave a torn last line. It was never acknowledged as committed,
so :func:`read_entries` ignores it, and the writer never appends after one:
it replays and removes the log when it opens the store, and cuts a failed
append back off before reporting the failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from helpdesk.store.durable import fsync_directory


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The complete entries of the log at ``path``, oldest first ([] if there is none).

    Reading stops at the first line that is not a whole JSON object ending in a
    newline: a torn append, or damage, after which nothing can be trusted.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for line in data.split(b"\n")[:-1]:
        try:
            entry = json.loads(line)
        except ValueError:
            break
        if not isinstance(entry, dict):
            break
        entries.append(entry)
    return entries


class Journal:
    """The append side of the commit log (one writer process, see DataDirectoryLock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._fd: int | None = None

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one line and flush it to disk; it is committed on return."""
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        created = self._fd is None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.size = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fdatasync(self._fd)
        except BaseException:
            # A line that did not fully reach the disk is not committed: cut it
            # off, so that the next append does not follow a torn line.
            os.ftruncate(self._fd, self.size)
            raise
        if created:
            fsync_directory(self.path.parent)
        self.size += len(line)

    def remove(self) -> None:
        """Delete the log (its commits are in the segment files now), durably."""
        self.close()
        if self.path.exists():
            self.path.unlink()
            fsync_directory(self.path.parent)
        self.size = 0

    def close(self) -> None:
        """Close the file; the next append reopens it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
