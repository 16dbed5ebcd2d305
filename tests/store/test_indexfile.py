"""Index files (``helpdesk.store.indexfile``) and the lazy segments they allow.

An index file is a cache of what the indexes take from one segment. These
tests check that the store opens from index files without reading segments,
that the indexes it builds are exactly those a rebuild from the segments alone
gives, and that an index file is never trusted when it is torn, missing, of
another format, or older than its segment or the journal — including after a
crash between a segment's rename and its index file's, simulated in-process
and by SIGKILL. They also check that a reader keeps the snapshot it took while
the daemon checkpoints, and that it does not leak the files it holds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import helpdesk.store.store as store_module
from helpdesk.store.indexfile import (
    INDEX_FORMAT,
    INDEX_SUFFIX,
    FileIdentity,
    SegmentSummary,
    distinct_identity,
    index_path,
    read_index,
    write_index,
)
from helpdesk.store.records import Invoice
from helpdesk.store.store import JOURNAL, STATE, SegmentStorage, Store
from tests.store.test_store import (
    SimulatedCrash,
    crash_during_flush,
    make_customer,
    make_message,
    make_ticket,
)

TICKET_IDS = (1, 2, 999, 1000, 1500, 2001)


def fill(store: Store) -> None:
    """Tickets in three segments, two messages each, their customers and one invoice, committed."""
    for ticket_id in TICKET_IDS:
        customer = f"c{ticket_id % 3}@example.com"
        ticket = make_ticket(ticket_id, customer=customer, subject=f"Order {ticket_id % 2}")
        ticket.notifications = [f"notify.{ticket_id}@acme.example"]
        store.save_ticket(ticket)
        for _ in range(2):
            message_id = store.new_message_id()
            store.add_message(
                make_message(message_id, ticket_id, source=f"INBOX/7/{message_id}", sender=customer)
            )
        store.save_customer(make_customer(customer, customer[:2]))
    invoice = Invoice(
        id=0, number="INV-0001", kind="invoice", series="INV", sequence=1, issued_on="2026-03-02",
        customer="c0@example.com", currency="EUR",
    )  # fmt: skip
    store.issue_invoice(invoice)
    store.add_event("ticket.created", 1)
    store.commit()


def indexes(store: Store) -> dict[str, Any]:
    """Everything the store built at open: its indexes, pending events and counts."""
    return {
        "tickets": sorted(store.ticket_ids),
        "message_to_ticket": dict(store._message_to_ticket),
        "source_to_message": dict(store._source_to_message),
        "ticket_messages": {key: value for key, value in store._ticket_messages.items() if value},
        "customers": dict(store._customer_ids),
        "customer_tickets": {key: value for key, value in store._customer_tickets.items() if value},
        "subjects": {key: value for key, value in store._subject_index.items() if value},
        "invoices": dict(store._invoice_ids),
        "customer_invoices": {key: value for key, value in store._customer_invoices.items() if value},
        "events": sorted(store._events),
        "counts": store.counts,
    }


def rebuilt(data_dir: Path, scratch: Path) -> dict[str, Any]:
    """The indexes a reader builds from a copy of the store without its index files."""
    copy = scratch / f"rebuilt-{len(list(scratch.glob('rebuilt-*')))}"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns(f"*{INDEX_SUFFIX}"))
    return indexes(Store(copy, readonly=True))


def index_files(data_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data_dir / "db").glob(f"*{INDEX_SUFFIX}"))}


@pytest.fixture
def segment_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the segment files read from now on, in order."""
    reads: list[str] = []
    original = SegmentStorage._read_file

    def counting(self: SegmentStorage) -> bytes:
        reads.append(self.path.name)
        return original(self)

    monkeypatch.setattr(SegmentStorage, "_read_file", counting)
    yield reads


def indexed_reads(reads: list[str]) -> list[str]:
    """The reads of segments that have index files (the state and the events are always read)."""
    return [name for name in reads if name != STATE and not name.startswith("events-")]


# -- opening from index files ------------------------------------------------------------


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_open_reads_no_segment_and_a_lookup_reads_one(
    tmp_path: Path, segment_reads: list[str], readonly: bool
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    expected = rebuilt(tmp_path, tmp_path / "scratch")
    segment_reads.clear()

    reopened = Store(tmp_path, readonly=readonly)
    assert indexed_reads(segment_reads) == []
    assert indexes(reopened) == expected
    assert reopened.ticket_for_message_id("notify.1500@acme.example") == 1500
    assert reopened.tickets_with_subject("c0@example.com", "order 1") == [999, 2001]
    assert indexed_reads(segment_reads) == []
    ticket = reopened.ticket(1500)
    assert ticket is not None and ticket.customer == "c0@example.com"
    assert indexed_reads(segment_reads) == ["tickets-00001.json"]
    assert [message.id for message in reopened.messages(1500)] == [9, 10]
    invoice = reopened.invoice("INV-0001")
    assert invoice is not None and invoice.customer == "c0@example.com"


def test_a_sweep_reads_the_tickets_of_each_segment_without_their_messages(
    tmp_path: Path, segment_reads: list[str]
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    segment_reads.clear()
    reopened = Store(tmp_path)
    assert sorted(int(doc["id"]) for doc in reopened.ticket_documents()) == list(TICKET_IDS)
    assert indexed_reads(segment_reads) == ["tickets-00000.json", "tickets-00001.json", "tickets-00002.json"]
    assert not any(segment.storage.loaded for segment in reopened._segments.values())
    # The messages are read when wanted, the whole segment then.
    assert [message.ticket_id for message in reopened.messages(2001)] == [2001, 2001]
    assert reopened._segments["tickets-00002.json"].storage.loaded


def test_a_segment_that_does_not_begin_with_its_tickets_is_read_whole(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    segment = tmp_path / "db" / "tickets-00000.json"
    tables = json.loads(segment.read_bytes())
    # As an older helpdesk may have written it: the messages first.
    segment.write_text(json.dumps({"messages": tables["messages"], "tickets": tables["tickets"]}))
    reopened = Store(tmp_path)
    assert sorted(int(doc["id"]) for doc in reopened.ticket_documents()) == list(TICKET_IDS)
    assert reopened.messages(1)[0].ticket_id == 1


def test_index_files_follow_every_checkpoint(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fill(store)
    store.checkpoint()
    ticket = store.ticket(2)
    assert ticket is not None
    ticket.notifications.append("later@acme.example")
    store.save_ticket(ticket)
    store.add_message(make_message(store.new_message_id(), 2001, source="INBOX/7/99"))
    store.delete_customer("c1@example.com")
    store.commit()
    store.checkpoint()
    summary = read_index(tmp_path / "db" / "tickets-00000.json", identity(tmp_path, "tickets-00000.json"))
    assert summary is not None
    assert [row[3] for row in summary.tickets if row[0] == 2] == [
        ["notify.2@acme.example", "later@acme.example"]
    ]
    reopened = Store(tmp_path)
    assert indexes(reopened) == rebuilt(tmp_path, tmp_path / "scratch")
    assert reopened.ticket_for_message_id("later@acme.example") == 2
    assert reopened.has_source("INBOX/7/99")
    assert reopened.customer("c1@example.com") is None


def identity(data_dir: Path, name: str) -> FileIdentity:
    return FileIdentity.of((data_dir / "db" / name).stat())


# -- index files that must not be trusted ------------------------------------------------


def _damage(index: Path, how: str) -> None:
    data = index.read_bytes()
    document = json.loads(data)
    if how == "half-written":
        index.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        index.write_bytes(b"")
    elif how == "other-format":
        index.write_text(json.dumps({**document, "format": INDEX_FORMAT + 1}))
    elif how == "other-segment":
        document["segment"][0] += 1
        index.write_text(json.dumps(document))
    elif how == "missing":
        index.unlink()


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
@pytest.mark.parametrize("how", ["half-written", "empty", "other-format", "other-segment", "missing"])
def test_an_index_file_that_does_not_match_is_not_trusted(
    tmp_path: Path, segment_reads: list[str], how: str, readonly: bool
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    expected = rebuilt(tmp_path, tmp_path / "scratch")
    index = index_path(tmp_path / "db" / "tickets-00001.json")
    # What the index file would claim if it were trusted: no tickets in that segment.
    write_index(
        tmp_path / "db" / "tickets-00001.json", identity(tmp_path, "tickets-00001.json"), SegmentSummary()
    )
    _damage(index, how)
    segment_reads.clear()

    reopened = Store(tmp_path, readonly=readonly)
    assert indexed_reads(segment_reads) == ["tickets-00001.json"]
    assert indexes(reopened) == expected
    if readonly:
        return
    # The writer put a good index file in its place: the next open reads no segment.
    segment_reads.clear()
    assert indexes(Store(tmp_path)) == expected
    assert indexed_reads(segment_reads) == []


def test_an_index_file_older_than_its_segment_is_not_trusted(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    old = index_files(tmp_path)
    store = Store(tmp_path)
    store.save_ticket(make_ticket(3, customer="new@example.com"))
    store.add_message(make_message(store.new_message_id(), 3, source="INBOX/7/50"))
    store.commit()
    store.close()
    for name, data in old.items():
        (tmp_path / "db" / name).write_bytes(data)

    reopened = Store(tmp_path)
    assert reopened.tickets_of("new@example.com") == [3]
    assert reopened.has_source("INBOX/7/50")
    assert indexes(reopened) == rebuilt(tmp_path, tmp_path / "scratch")


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_index_files_older_than_the_journal_are_brought_up_to_it(tmp_path: Path, readonly: bool) -> None:
    store = Store(tmp_path)
    fill(store)
    store.checkpoint()
    before = index_files(tmp_path)
    # Commits after the checkpoint are in the journal only, then the process dies.
    store.save_ticket(make_ticket(1001, customer="late@example.com", subject="Late"))
    store.add_message(make_message(store.new_message_id(), 1001, source="INBOX/7/60"))
    store.delete_ticket(999)
    store.commit()
    assert index_files(tmp_path) == before
    assert (tmp_path / "db" / JOURNAL).exists()
    expected = rebuilt(tmp_path, tmp_path / "scratch")
    assert 1001 in expected["tickets"] and 999 not in expected["tickets"]

    reopened = Store(tmp_path, readonly=readonly)
    assert indexes(reopened) == expected
    assert reopened.tickets_with_subject("late@example.com", "late") == [1001]
    if not readonly:
        assert index_files(tmp_path) != before
        assert indexes(Store(tmp_path, readonly=True)) == expected


def test_a_crash_between_a_segment_and_its_index_file_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.checkpoint()
    store.save_ticket(make_ticket(1002, customer="c9@example.com"))
    store.add_message(make_message(store.new_message_id(), 1002, source="INBOX/7/70"))
    store.commit()

    def crash(*_: Any) -> None:
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "write_index", crash)
        with pytest.raises(SimulatedCrash):
            store.checkpoint()
    # The segment is new, its index file still describes the old one; the journal is still there.
    assert (
        read_index(tmp_path / "db" / "tickets-00001.json", identity(tmp_path, "tickets-00001.json")) is None
    )
    expected = rebuilt(tmp_path, tmp_path / "scratch")
    assert 1002 in expected["tickets"]
    assert indexes(Store(tmp_path, readonly=True)) == expected
    assert indexes(Store(tmp_path)) == expected


def test_a_crash_half_way_through_the_flush_leaves_index_files_that_are_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.checkpoint()
    for ticket_id in (3, 1003, 2003):
        store.save_ticket(make_ticket(ticket_id, customer="d@example.com"))
    store.commit()
    with crash_during_flush(monkeypatch, flush_first=2):
        store.checkpoint()
    expected = rebuilt(tmp_path, tmp_path / "scratch")
    assert expected["customer_tickets"]["d@example.com"] == [3, 1003, 2003]
    assert indexes(Store(tmp_path, readonly=True)) == expected
    assert indexes(Store(tmp_path)) == expected


def test_a_new_version_of_a_file_never_has_the_identity_of_the_old(tmp_path: Path) -> None:
    path = tmp_path / "segment.json"
    path.write_bytes(b"{}")
    old = FileIdentity.of(path.stat())
    # As if the new version had the old one's inode, size and times (a coarse clock, a reused inode).
    new = distinct_identity(path, old)
    assert new != old
    assert new.mtime_ns == old.mtime_ns + 1
    assert distinct_identity(path, None) == new


# -- readers ----------------------------------------------------------------------------


def test_a_reader_keeps_its_snapshot_while_the_daemon_checkpoints(tmp_path: Path) -> None:
    writer = Store(tmp_path)
    fill(writer)
    writer.checkpoint()
    reader = Store(tmp_path, readonly=True)
    # The reader has read no ticket yet; the writer changes one and replaces its segment.
    ticket = writer.ticket(1500)
    assert ticket is not None
    ticket.status = "closed"
    writer.save_ticket(ticket)
    writer.add_message(make_message(writer.new_message_id(), 1500, source="INBOX/7/80"))
    writer.commit()
    writer.checkpoint()

    seen = reader.ticket(1500)
    assert seen is not None and seen.status == "new"
    assert len(reader.messages(1500)) == 2
    assert not reader.has_source("INBOX/7/80")
    fresh = Store(tmp_path, readonly=True)
    closed = fresh.ticket(1500)
    assert closed is not None and closed.status == "closed"
    assert len(fresh.messages(1500)) == 3


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_readers_give_back_the_files_they_hold(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(30):
        reader = Store(tmp_path, readonly=True)
        assert reader.ticket(2001) is not None
    del reader
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_a_reader_beyond_its_share_of_files_reads_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment_reads: list[str]
) -> None:
    store = Store(tmp_path)
    fill(store)
    store.close()
    monkeypatch.setattr(store_module, "_pin_limit", lambda: 2)
    segment_reads.clear()
    reader = Store(tmp_path, readonly=True)
    # Two segments pinned, the other indexed ones read at open.
    assert len(indexed_reads(segment_reads)) == 3
    assert indexes(reader) == rebuilt(tmp_path, tmp_path / "scratch")
    assert [message.ticket_id for message in reader.messages(1)] == [1, 1]


# -- SIGKILL ----------------------------------------------------------------------------

# A writer that records tickets and messages and checkpoints every few commits, until killed.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from helpdesk.store.records import StoredMessage, Ticket
    from helpdesk.store.store import Store

    STAMP = "2026-03-02T09:30:00+00:00"
    store = Store(Path(sys.argv[1]), checkpoint_bytes=20_000)
    print("open", flush=True)
    while True:
        ticket_id = store.new_ticket_id()
        customer = f"c{ticket_id % 7}@example.com"
        store.save_ticket(Ticket(ticket_id, customer, f"Order {ticket_id % 4}", STAMP, STAMP))
        for _ in range(3):
            message_id = store.new_message_id()
            store.add_message(
                StoredMessage(
                    message_id, ticket_id, "in", f"m{message_id}@mail.example", customer,
                    ["support@acme.example"], "Order", STAMP, "x" * 400, source=f"INBOX/1/{message_id}",
                )
            )
        old = store.ticket(ticket_id // 2)
        if old is not None and ticket_id % 5 == 0:
            old.notifications.append(f"n{ticket_id}@acme.example")
            store.save_ticket(old)
        store.commit()
    """
)


def test_sigkill_at_any_moment_leaves_index_files_that_agree_with_the_segments(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(7)
    root = Path(__file__).resolve().parents[2]
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "open\n"
        time.sleep(rng.uniform(0.05, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
        expected = rebuilt(data_dir, tmp_path)
        assert indexes(Store(data_dir, readonly=True)) == expected
        # The writer's open replays the journal and repairs the index files.
        assert indexes(Store(data_dir)) == expected
        assert indexes(Store(data_dir, readonly=True)) == expected
    assert expected["counts"]["tickets"] > 100
    for segment in (data_dir / "db").glob("tickets-*.json"):
        assert read_index(segment, FileIdentity.of(segment.stat())) is not None
