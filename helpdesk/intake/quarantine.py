"""Quarantine: messages that could not be processed, kept with the reason.

Each entry is two files under ``<data>/quarantine/``: the raw bytes
(``ID.eml``) and a small JSON record (``ID.json``) with the reason, where the
message came from and when. The id is derived from the content, so a message
quarantined again after a crash or a re-scan does not appear twice.
``helpdesk quarantine replay ID`` feeds the raw bytes through ingestion again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from helpdesk.errors import UsageError
from helpdesk.store.durable import atomic_write, fsync_directory
from helpdesk.store.records import iso, utc_now


@dataclass(frozen=True)
class QuarantineEntry:
    """Why a message was set aside, and where it came from."""

    id: str
    reason: str
    source: str | None
    quarantined_at: str
    size: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class Quarantine:
    """The quarantine directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "quarantine"

    def add(self, raw: bytes, reason: str, source: str | None) -> QuarantineEntry:
        """Set ``raw`` aside durably with ``reason``; returns the entry."""
        entry_id = hashlib.sha256(raw).hexdigest()[:16]
        entry = QuarantineEntry(entry_id, reason, source, iso(utc_now()), len(raw))
        atomic_write(self.root / f"{entry_id}.eml", raw, mode=0o600)
        record = json.dumps(entry.to_json(), ensure_ascii=False, indent=1)
        atomic_write(self.root / f"{entry_id}.json", record.encode("utf-8"), mode=0o600)
        return entry

    def entries(self) -> list[QuarantineEntry]:
        """All entries, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob("*.json"):
            try:
                found.append(QuarantineEntry(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(found, key=lambda entry: (entry.quarantined_at, entry.id))

    @staticmethod
    def _check(entry_id: str) -> None:
        """Refuse an id that is not one (it could name a path outside the quarantine)."""
        if not entry_id.isascii() or not entry_id.isalnum():
            raise UsageError(f"no quarantined message {entry_id!r}")

    def raw(self, entry_id: str) -> bytes:
        """The raw bytes of an entry; UsageError if there is no such entry."""
        self._check(entry_id)
        try:
            return (self.root / f"{entry_id}.eml").read_bytes()
        except FileNotFoundError:
            raise UsageError(f"no quarantined message {entry_id!r}") from None

    def remove(self, entry_id: str) -> None:
        """Delete an entry after a successful replay."""
        self._check(entry_id)
        (self.root / f"{entry_id}.json").unlink(missing_ok=True)
        (self.root / f"{entry_id}.eml").unlink(missing_ok=True)

    def erase_where(self, matches: Callable[[bytes], bool]) -> int:
        """Delete every entry whose raw bytes or record ``matches`` (erasure); returns how many."""
        if not self.root.is_dir():
            return 0
        erased = 0
        for raw_path in sorted(self.root.glob("*.eml")):
            record_path = raw_path.with_suffix(".json")
            try:
                record = record_path.read_bytes()
            except FileNotFoundError:
                record = b""
            if matches(raw_path.read_bytes()) or matches(record):
                record_path.unlink(missing_ok=True)
                raw_path.unlink(missing_ok=True)
                erased += 1
        for record_path in sorted(self.root.glob("*.json")):
            # A record whose bytes are gone (a crash between the two unlinks).
            if not record_path.with_suffix(".eml").exists() and matches(record_path.read_bytes()):
                record_path.unlink(missing_ok=True)
        if erased:
            fsync_directory(self.root)
        return erased
