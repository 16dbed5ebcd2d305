"""Index files: what the store's indexes need from a segment, kept beside it.

The store's in-memory indexes (Message-ID to ticket, mail source to message,
customer to tickets, sender+subject to tickets, customer and invoice ids) used
to be built by reading every segment when the store opened: with 100,000
tickets that is 320 MB of JSON, about 9 seconds and 1 GB of memory before the
daemon could fetch a single message. So each segment that holds indexed
documents (a ticket segment, a customer segment, the invoices) has an index
file beside it, ``<segment>.idx``, holding only what the indexes take from
its documents (a :class:`SegmentSummary`, about a tenth of the segment) and the
identity of the segment file it was made from. Opening the store reads the
index files; a segment itself is read only when one of its documents is.

An index file is a cache, never the truth. It is trusted only when it parses
whole, is of this format, and names exactly the segment file on disk now
(:class:`FileIdentity`: inode, size, modification and change times). Segment
files are never changed in place, only replaced whole by a rename
(``helpdesk.store.durable.atomic_write``), so every new version of a segment
is a new file with a new identity, and the store makes sure the identity
differs even when the file system's clock did not move between two versions
(:func:`distinct_identity`). Whenever an index file does not match — a crash
between a segment's rename and its index file's, a torn or missing index file,
a segment written by an older helpdesk — the store reads the segment instead
and the writer writes the index file anew. Commits still in the journal are
replayed into the segments they touch, which are then summarised from their
documents. So a stale index file is never used, and costs only the time to
read its segment.

Index files are written without an fsync: after a power loss one may be
missing, old or torn, and is then not trusted, as above. They hold the same
personal data as their segments (addresses, subjects, Message-IDs) and are
rewritten whenever their segment is, so erasing a customer leaves nothing
behind in them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from helpdesk.store.durable import atomic_write

INDEX_SUFFIX = ".idx"
# Bumped whenever the shape of a summary changes: an index file of another
# format is not trusted (its segment is read instead).
INDEX_FORMAT = 1

# Rows of a summary; the tables they come from hold documents keyed by their id.
# tickets:   [id, customer, subject key, [notification Message-IDs]]
# messages:  [id, ticket id, Message-ID, origin Message-ID, source]
# customers: [id, email]
# invoices:  [id, number, customer]
Row = list[Any]


def subject_key(subject: str) -> str:
    """Normalise a subject for the fallback threading index (case, whitespace)."""
    return " ".join(subject.lower().split())


@dataclass(frozen=True)
class FileIdentity:
    """What tells one version of a file from another without reading it."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileIdentity:
        """The identity of the file ``status`` describes."""
        return cls(status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)

    def to_json(self) -> list[int]:
        return list(astuple(self))


def distinct_identity(path: Path, previous: FileIdentity | None) -> FileIdentity:
    """The identity of the file just renamed to ``path``, made to differ from ``previous``.

    A new version of a file can get the inode number its predecessor freed, the
    same size and, on a file system with a coarse clock, the same times. Then
    its modification time is moved on by a nanosecond, durably, so that no
    index file made from the old version can pass for the new one's.
    """
    identity = FileIdentity.of(path.stat())
    if identity != previous:
        return identity
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1))
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return FileIdentity.of(path.stat())


@dataclass
class SegmentSummary:
    """What the indexes take from one segment's documents, in the segment's order (see :data:`Row`)."""

    tickets: list[Row] = field(default_factory=list)
    messages: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    invoices: list[Row] = field(default_factory=list)

    @classmethod
    def of(cls, tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> SegmentSummary:
        """Summarise a segment's tables (table name -> document id -> document).

        Raises KeyError, TypeError or AttributeError when a document lacks
        what the indexes need: the store reports the segment as corrupt.
        """
        return cls(
            tickets=[
                [int(doc["id"]), doc["customer"], subject_key(doc["subject"]), doc.get("notifications", [])]
                for doc in tables.get("tickets", {}).values()
            ],
            messages=[
                [
                    int(doc["id"]),
                    int(doc["ticket_id"]),
                    doc.get("message_id"),
                    doc.get("origin_message_id"),
                    doc.get("source"),
                ]
                for doc in tables.get("messages", {}).values()
            ],
            customers=[[int(key), doc["email"]] for key, doc in tables.get("customers", {}).items()],
            invoices=[
                [int(key), doc["number"], doc["customer"]] for key, doc in tables.get("invoices", {}).items()
            ],
        )


def index_path(segment: Path) -> Path:
    """The index file of the segment file ``segment``."""
    return segment.with_name(segment.name + INDEX_SUFFIX)


def write_index(segment: Path, identity: FileIdentity, summary: SegmentSummary) -> None:
    """Write the index file of ``segment``, made from the version of it that has ``identity``."""
    document = {
        "format": INDEX_FORMAT,
        "segment": identity.to_json(),
        "tickets": summary.tickets,
        "messages": summary.messages,
        "customers": summary.customers,
        "invoices": summary.invoices,
    }
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    atomic_write(index_path(segment), payload, durable=False)


def read_index(segment: Path, identity: FileIdentity) -> SegmentSummary | None:
    """The summary in the index file of ``segment``, if it was made from the version with ``identity``.

    None when there is no index file, or it is torn, of another format, or
    made from another version of the segment: the caller then reads the segment.
    """
    try:
        document = json.loads(index_path(segment).read_bytes())
        if document["format"] != INDEX_FORMAT or document["segment"] != identity.to_json():
            return None
        return SegmentSummary(
            document["tickets"], document["messages"], document["customers"], document["invoices"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
