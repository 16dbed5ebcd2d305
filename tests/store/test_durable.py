"""Unit tests of ``helpdesk.store.durable``: atomic replacement, flushing, leftovers."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

import helpdesk.store.durable as durable
from helpdesk.store.durable import atomic_write, fsync_directory, remove_stale_temporaries, sync_filesystem


def temporaries(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.tmp"))


class FsyncCounter:
    """Counts fsync calls (and still performs them) to see what gets flushed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._real = os.fsync
        monkeypatch.setattr(durable.os, "fsync", self)

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self._real(fd)


def test_atomic_write_creates_parents_and_content(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "file.bin"
    atomic_write(path, b"\x00first\xff")
    assert path.read_bytes() == b"\x00first\xff"
    assert temporaries(path.parent) == []


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"old content that is longer than the new one")
    inode = path.stat().st_ino
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    # Replaced by rename, not rewritten in place: readers holding the old
    # file keep seeing complete old content.
    assert path.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_atomic_write_keeps_readers_of_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    atomic_write(path, b"version one")
    with path.open("rb") as reader:
        atomic_write(path, b"version two, longer")
        assert reader.read() == b"version one"
    assert path.read_bytes() == b"version two, longer"


def test_atomic_write_accepts_bytes_like(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    atomic_write(path, bytearray(b"abc"))
    assert path.read_bytes() == b"abc"
    atomic_write(path, b"")
    assert path.read_bytes() == b""


def test_atomic_write_large_data(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "large.bin"
    atomic_write(path, data)
    assert path.read_bytes() == data


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_atomic_write_sets_mode(tmp_path: Path, mode: int) -> None:
    previous = os.umask(0o022)
    try:
        path = tmp_path / "file"
        atomic_write(path, b"x", mode=mode)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_atomic_write_mode_replaces_old_mode(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"old")
    path.chmod(0o666)
    atomic_write(path, b"new", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_atomic_write_mode_despite_a_leftover_temporary(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    # A killed process with the same pid (pids are reused) left its temp file.
    leftover = tmp_path / f".secret.{os.getpid()}.tmp"
    leftover.write_bytes(b"half-written")
    leftover.chmod(0o644)
    atomic_write(path, b"private", mode=0o600)
    assert path.read_bytes() == b"private"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_durable_write_flushes_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = FsyncCounter(monkeypatch)
    atomic_write(tmp_path / "file", b"x")
    assert counter.calls == 2


def test_non_durable_write_defers_flushing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = FsyncCounter(monkeypatch)
    for number in range(5):
        atomic_write(tmp_path / "batch" / f"{number}.eml", b"message %d" % number, durable=False)
    assert counter.calls == 0
    sync_filesystem(tmp_path / "batch")
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == [f"{n}.eml" for n in range(5)]
    assert (tmp_path / "batch" / "3.eml").read_bytes() == b"message 3"


def test_sync_filesystem_accepts_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    atomic_write(path, b"x", durable=False)
    sync_filesystem(path)
    assert path.read_bytes() == b"x"


def test_sync_filesystem_on_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sync_filesystem(tmp_path / "missing")


def test_fsync_directory(tmp_path: Path) -> None:
    fsync_directory(tmp_path)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        fsync_directory(tmp_path / "file")


def test_failed_write_keeps_the_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file"
    atomic_write(path, b"old")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"


def test_failed_write_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file"
    atomic_write(path, b"old")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, b"new")
    assert temporaries(tmp_path) == []


def test_remove_stale_temporaries(tmp_path: Path) -> None:
    stale = [tmp_path / ".tickets-00000.json.123.tmp", tmp_path / ".x.tmp"]
    kept = [tmp_path / "tickets-00000.json", tmp_path / "visible.tmp", tmp_path / ".hidden"]
    for path in stale + kept:
        path.write_bytes(b"data")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".nested.1.tmp").write_bytes(b"data")
    remove_stale_temporaries(tmp_path)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)
    # Only the directory itself is cleaned, not its subdirectories.
    assert (tmp_path / "sub" / ".nested.1.tmp").exists()


def test_remove_stale_temporaries_missing_directory(tmp_path: Path) -> None:
    remove_stale_temporaries(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
