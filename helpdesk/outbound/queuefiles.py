"""How the outbox's queued items lie on disk: one file per flushed batch, and single files.

Creating a file is the dearest step of queueing mail on an ordinary file
system (an inode to allocate: 0.1 to 0.5 ms on the benchmark machine, against
microseconds to write the same bytes into a file already being written), and
a backlog queues two messages for every customer message. So everything
enqueued between two flushes goes into one *batch file*,
``queue/<nanoseconds>.batch``: a line of JSON per item, its record with the
final message bytes (``raw``, the bytes as latin-1 text). The file is written
with temp file and rename and made durable by the outbox's flush, one file
system sync, before the store commits what queued it.

An item whose record changes after that (a retry is scheduled, the server
refused some recipients and the rest is split off, a privacy erasure redacts
it) gets a *single file*, ``queue/ID.json``, which wins over its line in a
batch. A batch file is deleted once none of its lines is current: each item
delivered, failed, erased or superseded by its single file. Reading the queue
back ignores a line whose item was delivered (``sent.log``) or failed since,
so a crash between recording that and deleting the file changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from helpdesk.outbound.items import OutboxItem
from helpdesk.store.durable import atomic_write, remove_stale_temporaries

BATCH_SUFFIX = ".batch"
SINGLE_SUFFIX = ".json"
# A queue written by an older version: the bytes in ``ID.eml`` beside the record ``ID.json``.
OLD_BYTES_SUFFIX = ".eml"

Entry = tuple[OutboxItem, bytes]


def record_bytes(item: OutboxItem, raw: bytes | None = None) -> bytes:
    """``item``'s record as one line of JSON, with the message bytes if given."""
    # The record's fields are flat (text, numbers, a list of text): its own
    # __dict__ serialises exactly like asdict(), without deep copies.
    fields = vars(item) if raw is None else {**vars(item), "raw": raw.decode("latin-1")}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def parse_record(data: bytes) -> tuple[OutboxItem, bytes | None]:
    """A record and its bytes (None in an older version's record); ValueError or TypeError if torn."""
    fields = json.loads(data)
    raw = fields.pop("raw", None)
    return OutboxItem(**fields), None if raw is None else raw.encode("latin-1")


class QueueFiles:
    """The files of ``queue/`` and which one holds the current record of each queued item."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Item id -> the batch file whose line is its current record.
        self._batch_of: dict[str, str] = {}
        # Batch file -> the ids whose current record it holds; empty, the file goes.
        self._live: dict[str, set[str]] = {}
        # Ids whose current record is their single file.
        self._single: set[str] = set()
        # The last batch file read for its bytes: a sending pass takes its items in order.
        self._cache: tuple[str, dict[str, bytes]] = ("", {})

    # -- reading --------------------------------------------------------------------------------

    def load(self, gone: Callable[[str], bool]) -> list[OutboxItem]:
        """Every queued item on disk, except those ``gone`` (delivered or failed) says left.

        Cleans up after a crash: temp files, files never made durable before it (the
        enqueues they held never committed, and the events behind them ask again), batch
        files with nothing current, single files of items gone; converts an older queue.
        """
        remove_stale_temporaries(self.directory)
        if not self.directory.is_dir():
            return []
        items: dict[str, OutboxItem] = {}
        for path in sorted(self.directory.glob(f"*{BATCH_SUFFIX}")):
            try:
                entries = self._read_batch(path.name)
            except (ValueError, TypeError, KeyError):
                path.unlink()
                continue
            current = [item for item, _ in entries if not gone(item.id)]
            for item in current:
                items[item.id] = item
            self._track_batch(path.name, [item.id for item in current])
        for path in self.directory.glob(f"*{SINGLE_SUFFIX}"):
            try:
                item, raw = parse_record(path.read_bytes())
                if raw is None:
                    # An older version's record, its bytes beside it: one file from now on.
                    raw = path.with_suffix(OLD_BYTES_SUFFIX).read_bytes()
                    self.write_single(item, raw)
            except (ValueError, TypeError, FileNotFoundError):
                path.unlink()
                continue
            if gone(item.id):
                path.unlink()
                continue
            self._single.add(item.id)
            self._release(item.id)
            items[item.id] = item
        # Bytes of an older version's items (converted above, or never committed).
        for leftover in self.directory.glob(f"*{OLD_BYTES_SUFFIX}"):
            leftover.unlink()
        return list(items.values())

    def adopt(self, files: dict[str, list[str]]) -> list[OutboxItem]:
        """The items ``files`` names (file -> ids), for a sender process that sends only those."""
        adopted: list[OutboxItem] = []
        for name, identifiers in files.items():
            wanted = set(identifiers)
            try:
                if name.endswith(SINGLE_SUFFIX):
                    item, _ = parse_record((self.directory / name).read_bytes())
                    entries = [(item, b"")]
                else:
                    entries = self._read_batch(name)
            except FileNotFoundError:
                continue
            found = [item for item, _ in entries if item.id in wanted]
            adopted.extend(found)
            if name.endswith(SINGLE_SUFFIX):
                self._single.update(item.id for item in found)
            else:
                # Every line counts as current here, handed over or not: this process never
                # deletes a batch file that holds an item it was not given. The daemon's does.
                self._track_batch(name, [item.id for item, _ in entries])
        return adopted

    def locations(self, identifiers: Iterable[str]) -> dict[str, list[str]]:
        """Which file holds the current record of each of ``identifiers`` (file -> ids)."""
        files: dict[str, list[str]] = {}
        for identifier in identifiers:
            single = identifier in self._single
            name = f"{identifier}{SINGLE_SUFFIX}" if single else self._batch_of.get(identifier)
            if name is not None:
                files.setdefault(name, []).append(identifier)
        return files

    def raw(self, identifier: str) -> bytes:
        """The message bytes of a queued item."""
        if identifier in self._single:
            _, raw = parse_record((self.directory / f"{identifier}{SINGLE_SUFFIX}").read_bytes())
            return raw or b""
        name = self._batch_of[identifier]
        if self._cache[0] != name:
            self._cache = (name, {item.id: raw for item, raw in self._read_batch(name)})
        return self._cache[1][identifier]

    def _read_batch(self, name: str) -> list[Entry]:
        entries = []
        for line in (self.directory / name).read_bytes().splitlines():
            item, raw = parse_record(line)
            if raw is None:
                raise KeyError("raw")
            entries.append((item, raw))
        return entries

    # -- writing --------------------------------------------------------------------------------

    def write_batch(self, entries: list[Entry]) -> str:
        """Write newly queued items as one batch file, not yet durable (the caller syncs); its name."""
        name = f"{time.time_ns():020d}{BATCH_SUFFIX}"
        data = b"".join(record_bytes(item, raw) for item, raw in entries)
        atomic_write(self.directory / name, data, durable=False, mode=0o600)
        self._track_batch(name, [item.id for item, _ in entries])
        return name

    def write_single(self, item: OutboxItem, raw: bytes) -> None:
        """Write ``item``'s current record durably as its single file, over its line in a batch."""
        atomic_write(self.directory / f"{item.id}{SINGLE_SUFFIX}", record_bytes(item, raw), mode=0o600)
        self._single.add(item.id)
        self._release(item.id)

    def now_single(self, identifier: str) -> None:
        """Another process wrote the item's single file (:meth:`write_single` there)."""
        self._single.add(identifier)
        self._release(identifier)

    def remove(self, identifier: str) -> None:
        """The item left the queue (delivered, failed): drop its single file and its batch's claim."""
        if identifier in self._single:
            self._single.discard(identifier)
            (self.directory / f"{identifier}{SINGLE_SUFFIX}").unlink(missing_ok=True)
        self._release(identifier)

    def erase(self, identifier: str) -> None:
        """Delete every copy of an item's bytes on disk, its line in a batch file too (privacy)."""
        name = self._batch_of.get(identifier)
        self.remove(identifier)
        if name is not None and name in self._live:
            live = self._live[name]
            kept = [record_bytes(item, raw) for item, raw in self._read_batch(name) if item.id in live]
            atomic_write(self.directory / name, b"".join(kept), mode=0o600)
            self._cache = ("", {})

    def replace(self, item: OutboxItem, raw: bytes) -> None:
        """Replace an item's record and bytes everywhere (a redacted copy, for privacy)."""
        self.erase(item.id)
        self.write_single(item, raw)

    def _track_batch(self, name: str, identifiers: list[str]) -> None:
        """Note the current records in batch ``name``; a batch with none is deleted."""
        if not identifiers:
            (self.directory / name).unlink(missing_ok=True)
            return
        self._live.setdefault(name, set()).update(identifiers)
        for identifier in identifiers:
            self._batch_of[identifier] = name

    def _release(self, identifier: str) -> None:
        """The item's line in its batch is no longer current; the last one takes the file with it."""
        name = self._batch_of.pop(identifier, None)
        if name is None:
            return
        live = self._live.get(name)
        if live is None:
            return
        live.discard(identifier)
        if not live:
            del self._live[name]
            (self.directory / name).unlink(missing_ok=True)
            if self._cache[0] == name:
                self._cache = ("", {})


def count_waiting(directory: Path, gone: Callable[[str], bool]) -> int:
    """How many items wait in ``directory`` (read only: nothing is cleaned or converted)."""
    if not directory.is_dir():
        return 0
    waiting: set[str] = set()
    for path in directory.iterdir():
        try:
            if path.suffix == BATCH_SUFFIX:
                lines = path.read_bytes().splitlines()
            elif path.suffix == SINGLE_SUFFIX and not path.name.startswith("."):
                lines = [path.read_bytes()]
            else:
                continue
            waiting.update(item.id for item, _ in map(parse_record, lines))
        except (ValueError, TypeError, FileNotFoundError):
            continue
    return sum(1 for identifier in waiting if not gone(identifier))
