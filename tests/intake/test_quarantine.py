"""Unit tests of ``helpdesk.intake.quarantine``: setting messages aside and getting them back."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

import helpdesk.intake.quarantine as quarantine_module
from helpdesk.errors import UsageError
from helpdesk.intake.quarantine import Quarantine, QuarantineEntry

RAW = b"From: \xff\xfe broken\r\nSubject: =?bogus?=\r\n\r\nbody\r\n"


class Clock:
    """A clock the test moves by hand, so entry times are known."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        monkeypatch.setattr(quarantine_module, "utc_now", lambda: self.now)


def test_add_list_raw_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch)
    quarantine = Quarantine(tmp_path)
    entry = quarantine.add(RAW, "cannot parse: bad header", "INBOX/7/42")
    assert entry == QuarantineEntry(
        id=hashlib.sha256(RAW).hexdigest()[:16],
        reason="cannot parse: bad header",
        source="INBOX/7/42",
        quarantined_at="2026-03-02T09:00:00+00:00",
        size=len(RAW),
    )
    assert entry.to_json() == {
        "id": entry.id,
        "reason": "cannot parse: bad header",
        "source": "INBOX/7/42",
        "quarantined_at": "2026-03-02T09:00:00+00:00",
        "size": len(RAW),
    }
    assert quarantine.entries() == [entry]
    assert quarantine.raw(entry.id) == RAW
    # A new instance reads the same directory.
    assert Quarantine(tmp_path).entries() == [entry]

    quarantine.remove(entry.id)
    assert quarantine.entries() == []
    assert list((tmp_path / "quarantine").iterdir()) == []
    with pytest.raises(UsageError):
        quarantine.raw(entry.id)


def test_files_are_private_and_complete(tmp_path: Path) -> None:
    entry = Quarantine(tmp_path).add(RAW, "r\u00e9ason \u2615", None)
    root = tmp_path / "quarantine"
    assert sorted(path.name for path in root.iterdir()) == [f"{entry.id}.eml", f"{entry.id}.json"]
    for path in root.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads((root / f"{entry.id}.json").read_text(encoding="utf-8"))
    assert record == entry.to_json()
    assert record["reason"] == "r\u00e9ason \u2615"
    assert record["source"] is None


def test_same_content_same_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    quarantine = Quarantine(tmp_path)
    first = quarantine.add(RAW, "first reason", "INBOX/7/42")
    clock.now = clock.now.replace(hour=10)
    second = quarantine.add(RAW, "second reason", "INBOX/8/1")
    assert first.id == second.id
    # The entry appears once, with what was said about it last.
    assert quarantine.entries() == [second]


def test_different_content_different_ids_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    quarantine = Quarantine(tmp_path)
    clock.now = clock.now.replace(hour=11)
    late = quarantine.add(b"late", "r", None)
    clock.now = clock.now.replace(hour=8)
    early = quarantine.add(b"early", "r", None)
    same_time = quarantine.add(b"also early", "r", None)
    assert len({late.id, early.id, same_time.id}) == 3
    expected_early = sorted([early, same_time], key=lambda entry: entry.id)
    assert quarantine.entries() == [*expected_early, late]


def test_empty_quarantine(tmp_path: Path) -> None:
    assert Quarantine(tmp_path).entries() == []
    assert not (tmp_path / "quarantine").exists()


def test_unreadable_records_are_skipped(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path)
    entry = quarantine.add(RAW, "reason", None)
    root = tmp_path / "quarantine"
    (root / "torn.json").write_text('{"id": "torn", "rea', encoding="utf-8")
    (root / "extra.json").write_text(
        json.dumps({**entry.to_json(), "id": "extra", "new": 1}), encoding="utf-8"
    )
    (root / "list.json").write_text("[]", encoding="utf-8")
    assert quarantine.entries() == [entry]


def test_unknown_id_is_a_usage_error(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path)
    quarantine.add(RAW, "reason", None)
    with pytest.raises(UsageError, match="no quarantined message 'deadbeefdeadbeef'") as caught:
        quarantine.raw("deadbeefdeadbeef")
    assert caught.value.exit_status == 2


@pytest.mark.parametrize(
    "entry_id", ["../secret", "sub/entry", "/etc/passwd", "..", ".", "", "a b", "id.eml"]
)
def test_raw_rejects_ids_with_path_characters(tmp_path: Path, entry_id: str) -> None:
    # Files a path-traversing id would reach, were it not rejected.
    (tmp_path / "secret.eml").write_bytes(b"not quarantined")
    (tmp_path / "quarantine" / "sub").mkdir(parents=True)
    (tmp_path / "quarantine" / "sub" / "entry.eml").write_bytes(b"not quarantined")
    with pytest.raises(UsageError, match="no quarantined message"):
        Quarantine(tmp_path).raw(entry_id)


def test_remove_of_an_unknown_id_is_harmless(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path)
    entry = quarantine.add(RAW, "reason", None)
    quarantine.remove("0123456789abcdef")
    assert quarantine.entries() == [entry]


@pytest.mark.parametrize("entry_id", ["../victim", "sub/victim"])
def test_remove_rejects_ids_with_path_characters(tmp_path: Path, entry_id: str) -> None:
    victims = [tmp_path / "victim.eml", tmp_path / "victim.json"]
    (tmp_path / "quarantine" / "sub").mkdir(parents=True)
    victims += [tmp_path / "quarantine" / "sub" / "victim.eml"]
    for victim in victims:
        victim.write_bytes(b"not quarantined")
    try:
        with pytest.raises(UsageError):
            Quarantine(tmp_path).remove(entry_id)
    finally:
        assert all(victim.exists() for victim in victims)
