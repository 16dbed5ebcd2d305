"""Unit tests of ``helpdesk.store.store``: records, indexes, commits, crash recovery, snapshots.

Crashes are simulated in-process by stopping a commit or a checkpoint at a
chosen point (before the journal line is written, half-way through the
checkpoint's segment flush, after it) or by tearing the journal's last line,
and then opening a new :class:`Store` on the same files, which is what the
daemon does after a SIGKILL.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpdesk.store.journal as journal_module
from helpdesk.errors import StoreError
from helpdesk.store.indexfile import INDEX_SUFFIX
from helpdesk.store.journal import Journal
from helpdesk.store.records import STATUSES, Customer, FolderState, StoredMessage, Ticket
from helpdesk.store.store import (
    JOURNAL,
    SKIP_LOG_LENGTH,
    SNAPSHOT_ATTEMPTS,
    STATE,
    DataDirectoryLock,
    Store,
    subject_key,
)

STAMP = "2026-03-02T09:30:00+00:00"


class SimulatedCrash(Exception):
    """Raised inside a commit to stop it where a SIGKILL could have."""


def make_ticket(
    ticket_id: int, customer: str = "alice@example.com", subject: str = "Broken kettle"
) -> Ticket:
    return Ticket(
        id=ticket_id,
        customer=customer,
        subject=subject,
        created_at=STAMP,
        updated_at=STAMP,
        participants=[customer],
    )


def make_message(
    message_id: int, ticket_id: int, *, source: str | None = None, sender: str = "alice@example.com"
) -> StoredMessage:
    return StoredMessage(
        id=message_id,
        ticket_id=ticket_id,
        direction="in",
        message_id=f"m{message_id}.t{ticket_id}@mail.example.com",
        sender=sender,
        to=["support@acme.example"],
        subject="Broken kettle",
        date=STAMP,
        text=f"Message {message_id} of ticket {ticket_id}: d\u00e9j\u00e0 vu \u2615",
        attachments=[{"filename": "photo.jpg", "content_type": "image/jpeg", "size": 3, "sha256": "00"}],
        source=source,
        references=["older@mail.example.com"],
    )


def make_customer(email: str = "alice@example.com", name: str = "Alice") -> Customer:
    return Customer(id=0, email=email, name=name, first_contact=STAMP, last_contact=STAMP)


def segment_files(data_dir: Path) -> list[str]:
    """The files in the store's directory but the index files beside the segments."""
    return sorted(path.name for path in (data_dir / "db").iterdir() if path.suffix != INDEX_SUFFIX)


def read_segment(data_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((data_dir / "db" / name).read_bytes())


@contextmanager
def crash_during_flush(monkeypatch: pytest.MonkeyPatch, flush_first: int = 0) -> Iterator[None]:
    """Make the next checkpoint stop having flushed ``flush_first`` segments, journal still there."""
    with monkeypatch.context() as patch:

        def flush_then_crash(self: Store) -> None:
            # The same order as the real flush: the state segment goes last.
            order = [name for name in self._segments if name != STATE] + [STATE]
            for name in order[:flush_first]:
                self._segments[name].storage.flush()
            raise SimulatedCrash

        patch.setattr(Store, "_flush_segments", flush_then_crash)
        with pytest.raises(SimulatedCrash):
            yield


# -- round trips and indexes -------------------------------------------------------------


def test_records_round_trip_through_disk(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ticket = make_ticket(store.new_ticket_id())
    ticket.tags = ["refund", "vip"]
    ticket.record(STAMP, "created", "from alice@example.com")
    first = make_message(store.new_message_id(), ticket.id, source="INBOX/7/1")
    second = make_message(store.new_message_id(), ticket.id, source="INBOX/7/2")
    customer = make_customer()
    store.save_ticket(ticket)
    store.add_message(first)
    store.add_message(second)
    store.save_customer(customer)
    store.set_folder_state(FolderState("INBOX", 7, 2))
    store.commit()

    reopened = Store(tmp_path)
    assert reopened.ticket(ticket.id) == ticket
    assert reopened.messages(ticket.id) == [first, second]
    assert reopened.customer("alice@example.com") == customer
    assert customer.id == 1
    assert reopened.folder_state("INBOX") == FolderState("INBOX", 7, 2)
    assert reopened.folder_state("Archive") is None
    assert [t.id for t in reopened.tickets()] == [ticket.id]
    assert reopened.counts == {"tickets": 1, "messages": 2, "customers": 1}


def test_counters_continue_after_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert [store.new_ticket_id(), store.new_ticket_id()] == [1, 2]
    assert store.new_message_id() == 1
    store.save_customer(make_customer())
    store.commit()
    reopened = Store(tmp_path)
    assert reopened.new_ticket_id() == 3
    assert reopened.new_message_id() == 2
    bob = make_customer("bob@example.com", "Bob")
    reopened.save_customer(bob)
    assert bob.id == 2


def test_index_lookups(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1, subject="Broken kettle"))
    store.save_ticket(make_ticket(2, subject="Invoice  please"))
    store.save_ticket(make_ticket(3, customer="bob@example.com", subject="Broken kettle"))
    store.add_message(make_message(1, 1, source="INBOX/7/10"))
    store.add_message(make_message(2, 3, source="INBOX/7/11", sender="bob@example.com"))
    store.save_customer(make_customer())

    def check(view: Store) -> None:
        assert view.ticket_for_message_id("m1.t1@mail.example.com") == 1
        assert view.ticket_for_message_id("m2.t3@mail.example.com") == 3
        assert view.ticket_for_message_id("unknown@mail.example.com") is None
        assert view.has_source("INBOX/7/10")
        assert view.has_source("INBOX/7/11")
        assert not view.has_source("INBOX/7/12")
        assert not view.has_source("INBOX/8/10")
        assert view.tickets_of("alice@example.com") == [1, 2]
        assert view.tickets_of("bob@example.com") == [3]
        assert view.tickets_of("carol@example.com") == []
        assert view.tickets_with_subject("alice@example.com", "broken   KETTLE") == [1]
        assert view.tickets_with_subject("alice@example.com", "invoice please") == [2]
        assert view.tickets_with_subject("bob@example.com", "Broken kettle") == [3]
        assert view.tickets_with_subject("bob@example.com", "Invoice please") == []
        customer = view.customer("alice@example.com")
        assert customer is not None
        assert customer.name == "Alice"
        assert view.customer("bob@example.com") is None
        assert view.ticket(99) is None
        assert view.messages(99) == []

    # Pending changes are visible before the commit, and the same after it.
    check(store)
    store.commit()
    check(store)
    check(Store(tmp_path))
    check(Store(tmp_path, readonly=True))


def test_lookups_return_copies(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    assert store.tickets_of("alice@example.com") is not store.tickets_of("alice@example.com")
    store.tickets_of("alice@example.com").append(99)
    store.tickets_with_subject("alice@example.com", "Broken kettle").append(99)
    assert store.tickets_of("alice@example.com") == [1]
    assert store.tickets_with_subject("alice@example.com", "Broken kettle") == [1]


def test_update_replaces_ticket(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    ticket = store.ticket(1)
    assert ticket is not None
    ticket.status = "closed"
    ticket.closed_at = STAMP
    ticket.tags.append("done")
    store.save_ticket(ticket)
    assert store.ticket(1) == ticket
    store.commit()
    reopened = Store(tmp_path)
    assert reopened.ticket(1) == ticket
    assert reopened.tickets_of("alice@example.com") == [1]


def test_saving_a_known_customer_keeps_its_id(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_customer(make_customer())
    store.commit()
    again = make_customer(name="Alice Liddell")
    Store(tmp_path).save_customer(again)
    assert again.id == 1
    reopened = Store(tmp_path)
    reopened.save_customer(again)
    reopened.commit()
    customer = Store(tmp_path).customer("alice@example.com")
    assert customer is not None
    assert (customer.id, customer.name) == (1, "Alice Liddell")
    assert Store(tmp_path).counts["customers"] == 1


def test_subject_key_normalises_case_and_whitespace() -> None:
    assert subject_key("  Broken\tKettle \n again ") == "broken kettle again"


def test_unsaved_changes_to_a_read_ticket_stay_out_of_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.save_ticket(make_ticket(2))
    store.commit()
    # A caller looks at ticket 1 and changes its copy without saving it ...
    looked_at = store.ticket(1)
    assert looked_at is not None
    looked_at.tags.append("never-saved")
    looked_at.participants.append("mallory@example.com")
    # ... then ticket 2, in the same segment, is saved and committed.
    other = store.ticket(2)
    assert other is not None
    other.status = "open"
    store.save_ticket(other)
    store.commit()
    assert Store(tmp_path).ticket(1) == make_ticket(1)


def test_ticket_order_survives_updates_and_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.save_ticket(make_ticket(2))
    store.commit()
    # Updating the older ticket moves its document to the end of the segment.
    older = store.ticket(1)
    assert older is not None
    older.status = "open"
    store.save_ticket(older)
    store.commit()
    assert store.tickets_of("alice@example.com") == [1, 2]
    reopened = Store(tmp_path)
    assert reopened.tickets_of("alice@example.com") == [1, 2]
    assert reopened.tickets_with_subject("alice@example.com", "Broken kettle") == [1, 2]


# -- what reaches the disk ---------------------------------------------------------------


def test_uncommitted_changes_are_not_on_disk(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(store.new_ticket_id()))
    store.commit()

    ticket_id = store.new_ticket_id()
    store.save_ticket(make_ticket(ticket_id, customer="bob@example.com"))
    store.add_message(make_message(store.new_message_id(), ticket_id, source="INBOX/1/5"))
    store.save_customer(make_customer("bob@example.com"))
    store.set_folder_state(FolderState("INBOX", 1, 5))
    store.note_skipped({"reason": "auto-reply"})
    assert store.ticket(ticket_id) is not None

    reopened = Store(tmp_path)
    assert reopened.ticket(ticket_id) is None
    assert sorted(reopened.ticket_ids) == [1]
    assert reopened.messages(ticket_id) == []
    assert not reopened.has_source("INBOX/1/5")
    assert reopened.customer("bob@example.com") is None
    assert reopened.folder_state("INBOX") is None
    assert reopened.skipped == []
    assert reopened.new_ticket_id() == ticket_id


def test_segments_split_by_thousand_ids(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for ticket_id in (999, 1000, 1001, 2000):
        store.save_ticket(make_ticket(ticket_id))
        store.add_message(make_message(ticket_id + 5, ticket_id))
    customer = Customer(id=1000, email="bob@example.com", name="Bob", first_contact=STAMP, last_contact=STAMP)
    store.save_customer(make_customer())
    store.save_customer(customer)
    store.commit()
    store.checkpoint()

    assert segment_files(tmp_path) == [
        "customers-00000.json",
        "customers-00001.json",
        STATE,
        "tickets-00000.json",
        "tickets-00001.json",
        "tickets-00002.json",
    ]
    # Each segment of indexed documents has its index file; the state has none.
    assert sorted(path.name for path in (tmp_path / "db").glob(f"*{INDEX_SUFFIX}")) == [
        f"{name}{INDEX_SUFFIX}" for name in segment_files(tmp_path) if name != STATE
    ]
    assert set(read_segment(tmp_path, "tickets-00000.json")["tickets"]) == {"999"}
    assert set(read_segment(tmp_path, "tickets-00001.json")["tickets"]) == {"1000", "1001"}
    # Messages live in the segment of their ticket, whatever their own id.
    assert set(read_segment(tmp_path, "tickets-00001.json")["messages"]) == {"1005", "1006"}
    assert set(read_segment(tmp_path, "tickets-00002.json")["messages"]) == {"2005"}

    reopened = Store(tmp_path)
    assert [t.id for t in reopened.tickets()] == [999, 1000, 1001, 2000]
    for ticket_id in (999, 1000, 1001, 2000):
        assert reopened.messages(ticket_id) == [make_message(ticket_id + 5, ticket_id)]
    assert reopened.customer("bob@example.com") == customer


def test_checkpoint_rewrites_only_changed_segments(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.save_ticket(make_ticket(1500))
    store.commit()
    store.checkpoint()
    untouched = tmp_path / "db" / "tickets-00000.json"
    before = untouched.stat().st_ino
    ticket = store.ticket(1500)
    assert ticket is not None
    ticket.status = "open"
    store.save_ticket(ticket)
    store.commit()
    store.checkpoint()
    # A rewrite would have renamed a new file (new inode) into place.
    assert untouched.stat().st_ino == before
    assert read_segment(tmp_path, "tickets-00001.json")["tickets"]["1500"]["status"] == "open"
    assert not (tmp_path / "db" / JOURNAL).exists()


def test_commit_appends_only_what_changed_to_the_journal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for ticket_id in (1, 2, 3):
        store.save_ticket(make_ticket(ticket_id))
    store.commit()
    store.checkpoint()
    segments = {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir()}
    ticket = store.ticket(2)
    assert ticket is not None
    ticket.status = "pending"
    store.save_ticket(ticket)
    store.commit()
    store.add_message(make_message(store.new_message_id(), 3))
    store.commit()

    # The segment files are as the checkpoint left them; the two commits are two lines.
    assert {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir() if path.name != JOURNAL} == (
        segments
    )
    entries = [json.loads(line) for line in (tmp_path / "db" / JOURNAL).read_bytes().splitlines()]
    assert [entry["sequence"] for entry in entries] == [2, 3]
    assert set(entries[0]["changes"]["tickets-00000.json"]["tickets"]) == {"2"}
    assert set(entries[1]["changes"]["tickets-00000.json"]) == {"messages"}
    reopened = Store(tmp_path)
    assert reopened.ticket(2) is not None and reopened.ticket(2).status == "pending"  # type: ignore[union-attr]
    assert reopened.messages(3) == [make_message(1, 3)]


def test_checkpoint_happens_when_the_journal_is_big_enough(tmp_path: Path) -> None:
    store = Store(tmp_path, checkpoint_bytes=2000)
    journal = tmp_path / "db" / JOURNAL
    store.save_ticket(make_ticket(1))
    store.commit()
    assert journal.exists()
    assert "tickets-00000.json" not in segment_files(tmp_path)
    sizes = []
    while journal.exists():
        sizes.append(journal.stat().st_size)
        store.add_message(make_message(store.new_message_id(), 1))
        store.commit()
    # The commit that took the journal past the limit made the checkpoint.
    assert max(sizes) < 2000 <= max(sizes) + 2 * (sizes[1] - sizes[0])
    assert len(read_segment(tmp_path, "tickets-00000.json")["messages"]) == len(sizes)
    assert len(Store(tmp_path).messages(1)) == len(sizes)


def test_close_checkpoints(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    store.close()
    assert not (tmp_path / "db" / JOURNAL).exists()
    assert set(read_segment(tmp_path, "tickets-00000.json")["tickets"]) == {"1"}
    assert Store(tmp_path).ticket(1) == make_ticket(1)


def test_empty_commit_is_harmless(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit()
    store.commit()
    store.checkpoint()
    assert segment_files(tmp_path) == [STATE]
    assert read_segment(tmp_path, STATE)["state"]["1"]["sequence"] == 2


def test_skip_log_is_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for number in range(SKIP_LOG_LENGTH + 25):
        store.note_skipped({"reason": "auto-reply", "subject": f"Out of office {number}"})
    skipped = store.skipped
    assert len(skipped) == SKIP_LOG_LENGTH
    assert skipped[0]["subject"] == "Out of office 25"
    assert skipped[-1]["subject"] == f"Out of office {SKIP_LOG_LENGTH + 24}"
    store.commit()
    assert Store(tmp_path).skipped == skipped
    # The property hands out a copy: changing it changes nothing.
    store.skipped.clear()
    assert len(store.skipped) == SKIP_LOG_LENGTH


def test_stale_temporary_files_are_removed_on_open(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    db = tmp_path / "db"
    leftovers = [db / ".tickets-00000.json.4242.tmp", db / f".{JOURNAL}.17.tmp", db / f".{STATE}.99.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b'{"tickets": {"1": {"id"')
    reopened = Store(tmp_path)
    assert not any(leftover.exists() for leftover in leftovers)
    assert reopened.ticket(1) == make_ticket(1)


# -- corruption ------------------------------------------------------------------------


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
@pytest.mark.parametrize("damage", [b'{"tickets":{"1":{"id":1,', b"\x00" * 64, b"\xff\xfe{}"])
def test_torn_segment_is_a_store_error(tmp_path: Path, damage: bytes, readonly: bool) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    segment = tmp_path / "db" / "tickets-00000.json"
    segment.write_bytes(damage)
    with pytest.raises(StoreError, match=r"tickets-00000\.json: corrupt store segment"):
        Store(tmp_path, readonly=readonly)


def test_torn_state_file_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.commit()
    (tmp_path / "db" / STATE).write_bytes(b'{"state":{"1":{"seq')
    with pytest.raises(StoreError, match=r"state\.json: corrupt store segment"):
        Store(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [b"[]", b'{"tickets": 5}', b'{"tickets": {"1": {"id": 1}}}'],
    ids=["list", "table-not-object", "document-missing-fields"],
)
def test_wrong_shape_segment_is_a_store_error(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "tickets-00000.json").write_bytes(damage)
    with pytest.raises(StoreError):
        Store(tmp_path)


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_torn_last_journal_line_is_discarded(tmp_path: Path, readonly: bool) -> None:
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.commit()
    with (tmp_path / "db" / JOURNAL).open("ab") as journal:
        journal.write(b'{"sequence":2,"changes":{"tickets-00000.json":{"tickets":{"2":{"id":2,')
    reopened = Store(tmp_path, readonly=readonly)
    assert sorted(reopened.ticket_ids) == [1]
    assert (tmp_path / "db" / JOURNAL).exists() == readonly


# -- crash recovery --------------------------------------------------------------------


def _prepare_crashing_commit(tmp_path: Path) -> Store:
    """A store with one committed ticket and pending changes in four segments."""
    store = Store(tmp_path)
    store.save_ticket(make_ticket(1))
    store.set_folder_state(FolderState("INBOX", 7, 1))
    store.commit()
    store.checkpoint()
    store.save_ticket(make_ticket(2))
    store.save_ticket(make_ticket(1500, customer="bob@example.com"))
    store.add_message(make_message(store.new_message_id(), 1500, source="INBOX/7/2"))
    store.save_customer(make_customer("bob@example.com", "Bob"))
    updated = store.ticket(1)
    assert updated is not None
    updated.status = "closed"
    store.save_ticket(updated)
    store.set_folder_state(FolderState("INBOX", 7, 2))
    return store


def _assert_second_commit_applied(view: Store) -> None:
    assert sorted(view.ticket_ids) == [1, 2, 1500]
    closed = view.ticket(1)
    assert closed is not None
    assert closed.status == "closed"
    assert view.messages(1500) == [make_message(1, 1500, source="INBOX/7/2")]
    assert view.has_source("INBOX/7/2")
    assert view.customer("bob@example.com") is not None
    assert view.folder_state("INBOX") == FolderState("INBOX", 7, 2)


def _assert_only_first_commit(view: Store) -> None:
    assert sorted(view.ticket_ids) == [1]
    ticket = view.ticket(1)
    assert ticket is not None
    assert ticket.status == "new"
    assert view.messages(1500) == []
    assert not view.has_source("INBOX/7/2")
    assert view.customer("bob@example.com") is None
    assert view.folder_state("INBOX") == FolderState("INBOX", 7, 1)


def test_commit_in_the_journal_is_recovered_on_open(tmp_path: Path) -> None:
    store = _prepare_crashing_commit(tmp_path)
    store.commit()
    # The process dies here: the commit is in the journal only.
    assert (tmp_path / "db" / JOURNAL).exists()
    # Nothing of the second commit reached the segments themselves.
    assert "tickets-00001.json" not in segment_files(tmp_path)
    assert read_segment(tmp_path, STATE)["state"]["1"]["folders"]["INBOX"]["last_uid"] == 1

    recovered = Store(tmp_path)
    _assert_second_commit_applied(recovered)
    assert not (tmp_path / "db" / JOURNAL).exists()
    assert recovered.new_message_id() == 2
    _assert_second_commit_applied(Store(tmp_path))


def test_crash_half_way_through_the_flush_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _prepare_crashing_commit(tmp_path)
    store.commit()
    with crash_during_flush(monkeypatch, flush_first=1):
        store.checkpoint()
    # The first segment is new on disk, the state is still old.
    assert set(read_segment(tmp_path, "tickets-00000.json")["tickets"]) == {"1", "2"}
    assert read_segment(tmp_path, STATE)["state"]["1"]["sequence"] == 1
    _assert_second_commit_applied(Store(tmp_path))


def test_crash_before_the_journal_loses_the_whole_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _prepare_crashing_commit(tmp_path)

    def crash(journal: Journal, entry: dict[str, Any]) -> None:
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "append", crash)
        with pytest.raises(SimulatedCrash):
            store.commit()
    _assert_only_first_commit(Store(tmp_path))


def test_a_commit_that_failed_to_reach_the_disk_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _prepare_crashing_commit(tmp_path)
    journal = tmp_path / "db" / JOURNAL
    assert not journal.exists()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(journal_module.os, "fdatasync", disk_full)
        with pytest.raises(OSError, match="No space"):
            store.commit()
    # The line was written but not flushed: it is gone again, so no later line follows it.
    assert journal.stat().st_size == 0
    _assert_only_first_commit(Store(tmp_path, readonly=True))
    # The changes are still pending: the next commit carries them.
    store.commit()
    _assert_second_commit_applied(Store(tmp_path))


def test_journal_left_after_a_complete_flush_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _prepare_crashing_commit(tmp_path)
    store.commit()
    with crash_during_flush(monkeypatch, flush_first=len(store._segments) + 10):
        store.checkpoint()
    assert (tmp_path / "db" / JOURNAL).exists()
    _assert_second_commit_applied(Store(tmp_path, readonly=True))
    _assert_second_commit_applied(Store(tmp_path))
    assert not (tmp_path / "db" / JOURNAL).exists()


# -- read-only snapshots ---------------------------------------------------------------


def test_readonly_sees_committed_data_only(tmp_path: Path) -> None:
    writer = Store(tmp_path)
    writer.save_ticket(make_ticket(1))
    writer.commit()
    writer.save_ticket(make_ticket(2))
    reader = Store(tmp_path, readonly=True)
    assert sorted(reader.ticket_ids) == [1]
    assert reader.ticket(1) == make_ticket(1)


def test_readonly_refuses_writes(tmp_path: Path) -> None:
    writer = Store(tmp_path)
    writer.save_ticket(make_ticket(1))
    writer.commit()
    before = {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir()}
    reader = Store(tmp_path, readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        reader.save_ticket(make_ticket(2))
    with pytest.raises(StoreError, match="read-only"):
        reader.add_message(make_message(1, 1))
    with pytest.raises(StoreError, match="read-only"):
        reader.save_customer(make_customer())
    with pytest.raises(StoreError, match="read-only"):
        reader.commit()
    after = {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir()}
    assert after == before


def test_readonly_on_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    reader = Store(tmp_path / "nothing-here", readonly=True)
    assert list(reader.tickets()) == []
    assert reader.counts == {"tickets": 0, "messages": 0, "customers": 0}
    assert not (tmp_path / "nothing-here").exists()


def test_readonly_applies_a_pending_journal_without_touching_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _prepare_crashing_commit(tmp_path)
    store.commit()
    with crash_during_flush(monkeypatch, flush_first=1):
        store.checkpoint()
    files_before = {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir()}
    reader = Store(tmp_path, readonly=True)
    _assert_second_commit_applied(reader)
    files_after = {path.name: path.read_bytes() for path in (tmp_path / "db").iterdir()}
    assert files_after == files_before


def test_reader_sees_commits_that_are_only_in_the_journal(tmp_path: Path) -> None:
    writer = Store(tmp_path)
    writer.save_ticket(make_ticket(1))
    writer.commit()
    writer.checkpoint()
    writer.save_ticket(make_ticket(2))
    writer.commit()
    reader = Store(tmp_path, readonly=True)
    assert sorted(reader.ticket_ids) == [1, 2]
    assert (tmp_path / "db" / JOURNAL).exists()


def test_reader_retries_when_a_checkpoint_lands_while_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Store(tmp_path)
    writer.save_ticket(make_ticket(1))
    writer.commit()
    original = Store._index_segments
    interruptions = []

    def read_while_writer_commits(self: Store) -> None:
        original(self)
        if self.readonly and not interruptions:
            interruptions.append(True)
            writer.save_ticket(make_ticket(2))
            writer.commit()
            writer.checkpoint()

    monkeypatch.setattr(Store, "_index_segments", read_while_writer_commits)
    reader = Store(tmp_path, readonly=True)
    assert interruptions == [True]
    assert sorted(reader.ticket_ids) == [1, 2]
    assert reader.ticket(2) == make_ticket(2)


def test_reader_gives_up_if_the_store_never_settles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Store(tmp_path)
    writer.commit()
    original = Store._index_segments
    attempts = []

    def read_while_writer_commits(self: Store) -> None:
        original(self)
        if self.readonly:
            attempts.append(True)
            writer.commit()
            writer.checkpoint()

    monkeypatch.setattr(Store, "_index_segments", read_while_writer_commits)
    with pytest.raises(StoreError, match="kept changing"):
        Store(tmp_path, readonly=True)
    assert len(attempts) == SNAPSHOT_ATTEMPTS


# -- the data directory lock -------------------------------------------------------------


def test_lock_is_exclusive(tmp_path: Path) -> None:
    first = DataDirectoryLock(tmp_path)
    second = DataDirectoryLock(tmp_path)
    assert not second.held_by_other()
    assert first.acquire()
    try:
        assert not second.acquire()
        assert second.held_by_other()
        assert (tmp_path / "lock").read_text().strip().isdigit()
    finally:
        first.release()
    assert not second.held_by_other()
    assert second.acquire()
    second.release()


def test_lock_release_is_idempotent(tmp_path: Path) -> None:
    lock = DataDirectoryLock(tmp_path / "new-dir")
    assert lock.acquire()
    lock.release()
    lock.release()
    assert DataDirectoryLock(tmp_path / "new-dir").acquire()


# -- a model-based check ---------------------------------------------------------------

TICKET_IDS = (1, 2, 999, 1000, 1001, 2500)
EMAILS = ("alice@example.com", "bob@example.com", "carol@example.org")

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("ticket"),
            st.sampled_from(TICKET_IDS),
            st.sampled_from(STATUSES),
            st.lists(st.sampled_from(["vip", "refund", "late"]), max_size=3, unique=True),
        ),
        st.tuples(st.just("message"), st.sampled_from(TICKET_IDS), st.text(max_size=12)),
        st.tuples(st.just("customer"), st.sampled_from(EMAILS), st.text(max_size=8)),
        st.tuples(
            st.just("folder"), st.sampled_from(["INBOX", "Archive"]), st.integers(1, 3), st.integers(0, 99)
        ),
        st.tuples(st.just("skip"), st.text(max_size=8)),
        st.just(("commit",)),
        st.just(("checkpoint",)),
        st.just(("reopen",)),
    ),
    max_size=25,
)


def _empty_model() -> dict[str, Any]:
    return {
        "tickets": {},
        "messages": {},
        "customers": {},
        "folders": {},
        "skipped": [],
        "next_message": 1,
        "next_customer": 1,
    }


def _assert_store_matches(store: Store, model: dict[str, Any]) -> None:
    tickets = model["tickets"]
    assert sorted(store.ticket_ids) == sorted(tickets)
    assert [ticket.id for ticket in store.tickets()] == sorted(tickets)
    for ticket_id, doc in tickets.items():
        ticket = store.ticket(ticket_id)
        assert ticket is not None
        assert ticket.to_doc() == doc
        expected = sorted(
            (m for m in model["messages"].values() if m["ticket_id"] == ticket_id), key=lambda m: m["id"]
        )
        assert [message.to_doc() for message in store.messages(ticket_id)] == expected
    for message in model["messages"].values():
        assert store.ticket_for_message_id(message["message_id"]) == message["ticket_id"]
        assert store.has_source(message["source"])
    for email in EMAILS:
        owned = sorted(ticket_id for ticket_id, doc in tickets.items() if doc["customer"] == email)
        assert sorted(store.tickets_of(email)) == owned
        customer = store.customer(email)
        if email in model["customers"]:
            assert customer is not None
            assert customer.to_doc() == model["customers"][email]
        else:
            assert customer is None
    for folder in ("INBOX", "Archive"):
        state = store.folder_state(folder)
        assert (state.to_doc() if state else None) == model["folders"].get(folder)
    assert store.skipped == model["skipped"]
    assert store.counts == {
        "tickets": len(tickets),
        "messages": len(model["messages"]),
        "customers": len(model["customers"]),
    }


def _apply(store: Store, model: dict[str, Any], operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    if kind == "ticket":
        _, ticket_id, status, tags = operation
        doc = model["tickets"].get(ticket_id)
        ticket = Ticket.from_doc(copy.deepcopy(doc)) if doc else make_ticket(ticket_id, EMAILS[ticket_id % 3])
        ticket.status = status
        ticket.tags = list(tags)
        store.save_ticket(ticket)
        model["tickets"][ticket_id] = ticket.to_doc()
    elif kind == "message":
        _, ticket_id, text = operation
        if ticket_id not in model["tickets"]:
            return
        message_id = store.new_message_id()
        assert message_id == model["next_message"]
        model["next_message"] += 1
        message = make_message(message_id, ticket_id, source=f"INBOX/1/{message_id}")
        message.text = text
        store.add_message(message)
        model["messages"][message_id] = message.to_doc()
    elif kind == "customer":
        _, email, name = operation
        customer = make_customer(email, name)
        store.save_customer(customer)
        if email not in model["customers"]:
            assert customer.id == model["next_customer"]
            model["next_customer"] += 1
        model["customers"][email] = customer.to_doc()
    elif kind == "folder":
        _, folder, uidvalidity, uid = operation
        state = FolderState(folder, uidvalidity, uid)
        store.set_folder_state(state)
        model["folders"][folder] = state.to_doc()
    elif kind == "skip":
        entry = {"reason": operation[1]}
        store.note_skipped(entry)
        model["skipped"].append(entry)


@settings(
    max_examples=int(os.environ.get("STORE_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(operations)
def test_store_behaves_like_a_dict_model(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        store = Store(data_dir)
        current = _empty_model()
        committed = copy.deepcopy(current)
        for operation in steps:
            if operation[0] == "commit":
                store.commit()
                committed = copy.deepcopy(current)
            elif operation[0] == "checkpoint":
                store.checkpoint()
            elif operation[0] == "reopen":
                store = Store(data_dir)
                current = copy.deepcopy(committed)
            else:
                _apply(store, current, operation)
            _assert_store_matches(store, current)
        store.commit()
        _assert_store_matches(Store(data_dir), current)
        _assert_store_matches(Store(data_dir, readonly=True), current)
