"""Tests of ``helpdesk.outbound.queuefiles``: batch files, single files, and reading them back.

What matters is what a restart reads: the current record of every item still
queued, never an item that left the queue, whatever moment a crash picked.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from helpdesk.outbound.items import OutboxItem, item_id
from helpdesk.outbound.queuefiles import BATCH_SUFFIX, QueueFiles, count_waiting


def item(number: int, **fields: object) -> OutboxItem:
    values: dict[str, object] = {
        "id": item_id(f"acknowledge:{number}"),
        "key": f"acknowledge:{number}",
        "kind": "acknowledge",
        "ticket_id": number,
        "message_id": f"m{number}@acme.example",
        "sender": "support@acme.example",
        "recipients": [f"customer{number}@example.org"],
        "subject": f"Order {number}",
        "created_at": "2026-03-03T10:00:00+00:00",
        "next_attempt_at": "2026-03-03T10:00:00+00:00",
        "queued_ns": number,
    }
    values.update(fields)
    return OutboxItem(**values)  # type: ignore[arg-type]


def raw(number: int) -> bytes:
    return f"To: customer{number}@example.org\r\n\r\nHello \xe9 {number}\r\n".encode()


def nothing_gone(identifier: str) -> bool:
    return False


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "queue"


def written(directory: Path, numbers: range) -> QueueFiles:
    files = QueueFiles(directory)
    files.write_batch([(item(n), raw(n)) for n in numbers])
    return files


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_a_batch_reads_back_with_its_bytes(directory: Path) -> None:
    written(directory, range(1, 4))
    files = QueueFiles(directory)
    keys = [entry.key for entry in files.load(nothing_gone)]
    assert keys == ["acknowledge:1", "acknowledge:2", "acknowledge:3"]
    assert files.raw(item(2).id) == raw(2)
    [batch] = names(directory)
    assert batch.endswith(BATCH_SUFFIX)


def test_a_single_file_wins_over_the_batch_line_and_nothing_comes_back_once_it_left(directory: Path) -> None:
    files = written(directory, range(1, 3))
    retried = replace(item(1), attempts=1, next_attempt_at="2026-03-03T10:01:00+00:00")
    files.write_single(retried, raw(1))

    reopened = QueueFiles(directory)
    loaded = {entry.id: entry for entry in reopened.load(nothing_gone)}
    assert loaded[item(1).id].attempts == 1 and loaded[item(2).id].attempts == 0
    assert reopened.raw(item(1).id) == raw(1)

    # Item 1 delivered (its single file goes), item 2 failed (its record now in failed/):
    # neither comes back from the batch line that still names it.
    reopened.remove(item(1).id)
    gone = {item(1).id, item(2).id}
    again = QueueFiles(directory)
    assert again.load(gone.__contains__) == []
    assert names(directory) == []


def test_the_batch_file_goes_with_its_last_current_line(directory: Path) -> None:
    files = written(directory, range(1, 4))
    [batch] = names(directory)
    files.remove(item(1).id)
    files.write_single(replace(item(2), attempts=1), raw(2))
    assert batch in names(directory)
    files.remove(item(3).id)
    assert names(directory) == [f"{item(2).id}.json"]


def test_erasure_removes_the_bytes_from_the_batch_file_too(directory: Path) -> None:
    files = written(directory, range(1, 4))
    [batch] = names(directory)
    files.erase(item(2).id)
    assert b"customer2@example.org" not in (directory / batch).read_bytes()
    assert b"customer1@example.org" in (directory / batch).read_bytes()
    redacted = replace(item(3), recipients=["erased@invalid"])
    files.replace(redacted, b"To: erased@invalid\r\n\r\nredacted\r\n")
    assert b"customer3" not in b"".join(path.read_bytes() for path in directory.iterdir())

    reopened = QueueFiles(directory)
    loaded = {entry.id: entry for entry in reopened.load(nothing_gone)}
    assert set(loaded) == {item(1).id, item(3).id}
    assert loaded[item(3).id].recipients == ["erased@invalid"]


def test_a_torn_batch_is_dropped_whole(directory: Path) -> None:
    written(directory, range(1, 3))
    [batch] = names(directory)
    data = (directory / batch).read_bytes()
    (directory / batch).write_bytes(data[: len(data) - 20])
    assert QueueFiles(directory).load(nothing_gone) == []
    assert names(directory) == []


def test_a_sender_process_adopts_only_what_it_is_handed(directory: Path) -> None:
    files = written(directory, range(1, 5))
    files.write_single(replace(item(4), attempts=2), raw(4))
    handed = files.locations([item(2).id, item(3).id, item(4).id])
    assert sorted(len(ids) for ids in handed.values()) == [1, 2]

    sender = QueueFiles(directory)
    adopted = sender.adopt(handed)
    assert sorted(entry.key for entry in adopted) == ["acknowledge:2", "acknowledge:3", "acknowledge:4"]
    assert sender.raw(item(4).id) == raw(4) and sender.raw(item(3).id) == raw(3)
    # The sender process removes what it delivered; the batch stays for item 1, not handed over,
    # until the daemon's process, told what was delivered, finds nothing current left in it.
    for number in (2, 3, 4):
        sender.remove(item(number).id)
    [batch] = names(directory)
    assert batch.endswith(BATCH_SUFFIX)
    for number in (2, 3, 4):
        files.remove(item(number).id)
    assert names(directory) == [batch]
    files.remove(item(1).id)
    assert names(directory) == []


def test_count_waiting_reads_without_changing_anything(directory: Path) -> None:
    files = written(directory, range(1, 4))
    files.write_single(replace(item(1), attempts=1), raw(1))
    before = names(directory)
    assert count_waiting(directory, nothing_gone) == 3
    assert count_waiting(directory, {item(2).id}.__contains__) == 2
    assert count_waiting(directory.parent / "missing", nothing_gone) == 0
    assert names(directory) == before
