"""Unit tests of ``helpdesk.store.journal``: appending, reading back, torn lines, failed appends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import helpdesk.store.journal as journal_module
from helpdesk.store.journal import Journal, read_entries


def test_entries_read_back_in_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.log")
    entries = [{"sequence": 1, "changes": {"a": "d\u00e9j\u00e0 vu \u2615"}}, {"sequence": 2, "changes": {}}]
    for entry in entries:
        journal.append(entry)
    assert read_entries(journal.path) == entries
    assert journal.size == journal.path.stat().st_size
    # Each entry is one line: a commit is one append.
    assert journal.path.read_bytes().count(b"\n") == 2


def test_a_missing_journal_has_no_entries(tmp_path: Path) -> None:
    assert read_entries(tmp_path / "journal.log") == []


@pytest.mark.parametrize(
    "tail",
    [b'{"sequence": 3, "chan', b'{"sequence": 3, "changes": {}}', b"\x00\x00\x00"],
    ids=["torn", "complete-but-no-newline", "zeros"],
)
def test_an_unfinished_last_line_is_ignored(tmp_path: Path, tail: bytes) -> None:
    journal = Journal(tmp_path / "journal.log")
    journal.append({"sequence": 1})
    journal.append({"sequence": 2})
    with journal.path.open("ab") as file:
        file.write(tail)
    assert read_entries(journal.path) == [{"sequence": 1}, {"sequence": 2}]


def test_reading_stops_at_a_damaged_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    path.write_bytes(b'{"sequence": 1}\n[1, 2]\n{"sequence": 3}\n')
    assert read_entries(path) == [{"sequence": 1}]
    path.write_bytes(b'{"sequence": 1}\n{"seq\n{"sequence": 3}\n')
    assert read_entries(path) == [{"sequence": 1}]


def test_a_failed_append_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "journal.log")
    journal.append({"sequence": 1})
    size = journal.size

    def io_error(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(journal_module.os, "fdatasync", io_error)
        with pytest.raises(OSError, match="Input/output"):
            journal.append({"sequence": 2, "changes": {"big": "x" * 10_000}})
    assert journal.path.stat().st_size == size == journal.size
    journal.append({"sequence": 3})
    assert read_entries(journal.path) == [{"sequence": 1}, {"sequence": 3}]


def test_remove_deletes_the_file_and_the_next_append_starts_afresh(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.log")
    journal.append({"sequence": 1})
    journal.remove()
    assert not journal.path.exists()
    assert journal.size == 0
    journal.remove()
    journal.append({"sequence": 2})
    assert read_entries(journal.path) == [{"sequence": 2}]
    assert os.stat(journal.path).st_mode & 0o777 == 0o600
