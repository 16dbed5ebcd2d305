"""Unit tests of ``helpdesk.store.records``: document round trips and tags."""

from __future__ import annotations

from helpdesk.store.records import TAG_NAME, Ticket, add_tag, copy_document, remove_tag


def test_tags_are_one_tag_whatever_their_case() -> None:
    tags: list[str] = []
    add_tag(tags, "VIP")
    add_tag(tags, "vip")
    add_tag(tags, "Refund")
    assert tags == ["vip", "refund"]
    # Tags stored in another case before are found and removed too.
    stored = ["Loyal", "vip"]
    remove_tag(stored, "LOYAL")
    assert stored == ["vip"]
    remove_tag(stored, "absent")
    assert stored == ["vip"]


def test_tag_names() -> None:
    assert TAG_NAME.fullmatch("vip") and TAG_NAME.fullmatch("b2b.eu-north_1")
    assert not TAG_NAME.fullmatch("two words")
    assert not TAG_NAME.fullmatch("-leading") and not TAG_NAME.fullmatch("x" * 41)


def test_documents_are_copies() -> None:
    ticket = Ticket(id=1, customer="a@example.org", subject="Hi", created_at="t", updated_at="t")
    ticket.record("t", "created")
    doc = ticket.to_doc()
    doc["history"].append({"at": "t2", "event": "changed"})
    assert len(ticket.history) == 1
    again = Ticket.from_doc(doc)
    doc["history"].clear()
    assert len(again.history) == 2
    nested = {"a": [1, {"b": (2, 3)}]}
    assert copy_document(nested) == {"a": [1, {"b": [2, 3]}]}
