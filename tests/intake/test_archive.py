"""Unit tests of ``helpdesk.intake.archive``: where raw mail is kept, and that nothing doubles."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from helpdesk.intake.archive import MailArchive, MailSource

RAW = b"From: alice@example.com\r\nSubject: Broken kettle\r\n\r\nIt leaks.\r\n"


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_source_key() -> None:
    assert MailSource("INBOX", 1700000000, 42).key == "INBOX/1700000000/42"


def test_path_layout(tmp_path: Path) -> None:
    archive = MailArchive(tmp_path)
    path = archive.path_for(MailSource("INBOX", 7, 42))
    assert path == tmp_path / "mail" / "INBOX" / "7" / "42.eml"
    assert archive.relative(path) == "mail/INBOX/7/42.eml"


def test_path_is_a_pure_function_of_the_source(tmp_path: Path) -> None:
    source = MailSource("INBOX", 7, 42)
    assert MailArchive(tmp_path).path_for(source) == MailArchive(tmp_path).path_for(
        MailSource("INBOX", 7, 42)
    )
    assert MailArchive(tmp_path).path_for(source) != MailArchive(tmp_path).path_for(
        MailSource("INBOX", 8, 42)
    )
    assert MailArchive(tmp_path).path_for(source) != MailArchive(tmp_path).path_for(
        MailSource("INBOX", 7, 43)
    )


def test_same_source_twice_overwrites_one_file(tmp_path: Path) -> None:
    archive = MailArchive(tmp_path)
    source = MailSource("INBOX", 7, 42)
    first = archive.store(source, b"first attempt, cut short")
    second = archive.store(source, RAW)
    assert first == second
    assert second.read_bytes() == RAW
    assert all_files(tmp_path) == [second]


def test_archived_mail_is_private(tmp_path: Path) -> None:
    archive = MailArchive(tmp_path)
    path = archive.store(MailSource("INBOX", 7, 42), RAW)
    local = archive.store_local(RAW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(local.stat().st_mode) == 0o600


@pytest.mark.parametrize("folder", ["INBOX/Support & Sales", "INBOX.Support", "Entw\u00fcrfe", "a\\b", ""])
def test_any_folder_is_one_directory(tmp_path: Path, folder: str) -> None:
    archive = MailArchive(tmp_path)
    path = archive.store(MailSource(folder, 3, 1), RAW)
    assert path.parent.parent.parent == archive.root
    assert path.parent.parent.name not in ("", ".", "..")
    assert all_files(tmp_path) == [path]


@pytest.mark.parametrize(
    ("one", "other"),
    [("INBOX/Support", "INBOX_Support"), ("INBOX/Support", "INBOX Support"), ("..", "INBOX"), (".", "INBOX")],
)
def test_distinct_folders_get_distinct_directories_inside_the_archive(
    tmp_path: Path, one: str, other: str
) -> None:
    archive = MailArchive(tmp_path)
    first = archive.path_for(MailSource(one, 7, 42))
    second = archive.path_for(MailSource(other, 7, 42))
    assert first != second
    for path in (first, second):
        assert path.resolve().parent.parent.parent == archive.root.resolve()


def test_store_local_is_by_content(tmp_path: Path) -> None:
    archive = MailArchive(tmp_path)
    path = archive.store_local(RAW)
    assert path == tmp_path / "mail" / "local" / f"{hashlib.sha256(RAW).hexdigest()}.eml"
    assert archive.store_local(RAW) == path
    other = archive.store_local(RAW + b"P.S. still leaking\r\n")
    assert other != path
    assert all_files(tmp_path) == sorted([path, other])
    assert path.read_bytes() == RAW


def test_sync_makes_a_batch_durable(tmp_path: Path) -> None:
    archive = MailArchive(tmp_path)
    paths = [archive.store(MailSource("INBOX", 7, uid), RAW + b"%d" % uid) for uid in range(1, 6)]
    archive.sync()
    assert [path.read_bytes() for path in paths] == [RAW + b"%d" % uid for uid in range(1, 6)]
    assert [path.name for path in all_files(tmp_path)] == [f"{uid}.eml" for uid in range(1, 6)]


def test_sync_before_anything_was_archived(tmp_path: Path) -> None:
    MailArchive(tmp_path).sync()
    assert not (tmp_path / "mail").exists()
