"""Crash-safe file writes: temp file, fsync, rename, fsync the directory.

Every file helpdesk keeps (store segments, the raw mail archive, quarantine
entries, poll state) is written through these functions, so that a SIGKILL at
any moment leaves either the old or the new content, never a torn file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically.

    With ``durable=False`` the data and the rename are not flushed to disk
    here: the caller promises to call :func:`sync_filesystem` before it relies
    on them (this batches one flush over many files).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            # O_CREAT does not change the mode of a leftover file of that name.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)


def sync_filesystem(path: Path) -> None:
    """Flush everything written to the file system holding ``path``.

    One ``syncfs`` call makes a whole batch of archive files durable at once,
    instead of one fsync per message. Where syncfs is unavailable, fall back
    to a global sync.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temp files a killed process left behind in ``directory``."""
    if not directory.is_dir():
        return
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
