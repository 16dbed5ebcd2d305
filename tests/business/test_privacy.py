"""Unit tests of ``helpdesk.business.privacy``: export and forget, on a real store in a temp directory.

The data directory is filled the way the daemon fills it (store records,
archived raw mail, outbox items sent and queued, quarantine, skip log), then
every file under it is searched byte for byte for the forgotten customer.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk.business.invoicepdf import render_invoice_pdf
from helpdesk.business.invoices import issue_invoice
from helpdesk.business.privacy import (
    REDACTED_ADDRESS,
    Erasure,
    Person,
    export_customer,
    forget_customer,
)
from helpdesk.config import BusinessConfig
from helpdesk.intake.archive import MailArchive, MailSource
from helpdesk.intake.quarantine import Quarantine
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import Outbox
from helpdesk.store.records import Customer, Invoice, StoredMessage, Ticket
from helpdesk.store.store import JOURNAL, Store

STAMP = "2026-03-02T09:30:00+00:00"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ZOE = "zoe.quinones@example.org"
ZOE_WORK = "zq@work.example.net"
ZOE_NAME = "Zoë Quiñones-Łukasiewicz"
KIM = "kim@example.org"
OWNER = "owner@acme.example"


def needles() -> list[bytes]:
    """Every form the forgotten customer's data could take on disk."""
    forms = [ZOE.encode(), ZOE_WORK.encode(), ZOE_NAME.encode("utf-8"), json.dumps(ZOE_NAME)[1:-1].encode()]
    return forms


def leaks(root: Path) -> list[str]:
    """Files under ``root`` that still contain one of the needles (addresses in any letter case)."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in needles():
            if re.search(re.escape(needle), data, re.IGNORECASE):
                found.append(f"{path.relative_to(root)}: {needle!r}")
    return found


def raw_mail(sender: str, name: str, subject: str, body: str, cc: str = "") -> bytes:
    headers = [f"From: {name} <{sender}>", "To: support@acme.example", f"Subject: {subject}"]
    if cc:
        headers.append(f"Cc: {cc}")
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


class FakeTransport:
    """Accepts everything, like an SMTP server that says 250 to all."""

    async def send(self, sender, recipients, raw, ready=None):
        if ready is not None:
            await ready
        return {}


def fill(data_dir: Path) -> Store:
    """A data directory holding Zoë (two addresses, three tickets' worth) and Kim."""
    store = Store(data_dir)
    archive = MailArchive(data_dir)

    def archived(uid: int, raw: bytes) -> tuple[str, str]:
        source = MailSource("INBOX", 7, uid)
        return source.key, archive.relative(archive.store(source, raw))

    store.save_customer(
        Customer(
            0, ZOE, ZOE_NAME, STAMP, STAMP, 2, other_addresses=[ZOE_WORK], postal_address="3 Rue Haute, Paris"
        )
    )
    store.save_customer(Customer(0, KIM, "Kim Berg", STAMP, STAMP, 1))
    # Ticket 1: Zoë writes, the owner answers.
    ticket = Ticket(1, ZOE, "Teapot broken", STAMP, STAMP, participants=[ZOE])
    ticket.record(STAMP, "created", f"from {ZOE}")
    store.save_ticket(ticket)
    source, path = archived(1, raw_mail(ZOE, ZOE_NAME, "Teapot broken", f"Lid cracked. {ZOE_NAME}"))
    store.add_message(
        StoredMessage(
            store.new_message_id(),
            1,
            "in",
            "z1@example.org",
            ZOE,
            ["support@acme.example"],
            "Teapot broken",
            STAMP,
            "Lid cracked.",
            archive_path=path,
            source=source,
        )
    )
    business = "support@acme.example"
    store.add_message(
        StoredMessage(
            store.new_message_id(),
            1,
            "out",
            "r1@acme.example",
            business,
            [ZOE],
            "Re: Teapot broken",
            STAMP,
            f"Dear {ZOE_NAME}, sorry.",
        )
    )
    # Ticket 2: from her work address.
    store.save_ticket(Ticket(2, ZOE_WORK, "Invoice address", STAMP, STAMP, participants=[ZOE_WORK]))
    source, path = archived(2, raw_mail(ZOE_WORK, ZOE_NAME, "Invoice address", "Please use this one."))
    store.add_message(
        StoredMessage(
            store.new_message_id(),
            2,
            "in",
            "z2@work.example.net",
            ZOE_WORK,
            ["support@acme.example"],
            "Invoice address",
            STAMP,
            "Please.",
            archive_path=path,
            source=source,
        )
    )
    # Ticket 3: Kim's, with Zoë in Cc, who also writes on it.
    kim_ticket = Ticket(3, KIM, "Group order", STAMP, STAMP, participants=[KIM, ZOE])
    kim_ticket.record(STAMP, "message", f"from {ZOE} (subject)")
    store.save_ticket(kim_ticket)
    kim_raw = raw_mail(KIM, "Kim Berg", "Group order", f"Ordering with {ZOE_NAME}.", cc=f"<{ZOE}>")
    source, path = archived(3, kim_raw)
    store.add_message(
        StoredMessage(
            store.new_message_id(),
            3,
            "in",
            "k1@example.org",
            KIM,
            ["support@acme.example"],
            "Group order",
            STAMP,
            f"Ordering with {ZOE_NAME}.",
            cc=[ZOE],
            archive_path=path,
            source=source,
        )
    )
    source, path = archived(4, raw_mail(ZOE, ZOE_NAME, "Re: Group order", "Count me in."))
    store.add_message(
        StoredMessage(
            store.new_message_id(),
            3,
            "in",
            "z3@example.org",
            ZOE,
            ["support@acme.example"],
            "Re: Group order",
            STAMP,
            "Count me in.",
            cc=[KIM],
            archive_path=path,
            source=source,
        )
    )
    # Her out-of-office reply was skipped; an automatic-mail counter names her.
    archived(5, raw_mail(ZOE, ZOE_NAME, "Out of office", "Back Monday."))
    store.note_skipped(
        {
            "at": STAMP,
            "from": ZOE,
            "subject": "Out of office",
            "reason": "auto-submitted",
            "source": "INBOX/7/5",
        }
    )
    store.note_skipped(
        {"at": STAMP, "from": "news@shop.example", "subject": "Sale", "reason": "list", "source": "INBOX/7/6"}
    )
    store.note_automatic_sent(ZOE, [STAMP])
    store.add_event("message.received", 1, 1)
    store.add_event("message.received", 3, 4)
    store.commit()

    # The outbox: an acknowledgement and a notification delivered, a reply to Kim (Cc Zoë) waiting.
    outbox = Outbox(data_dir, "Acme Tea Co.", "support@acme.example")
    outbox.enqueue(
        "ack:1",
        Outbound(
            "acknowledge", (("Zoë", ZOE),), "[#1] Teapot broken", "We got it.", ticket_id=1, automatic=True
        ),
        NOW,
    )
    outbox.enqueue(
        "notify:1",
        Outbound(
            "owner-notification",
            (("Sam", OWNER),),
            f"[#1] {ZOE_NAME}: Teapot broken",
            f"{ZOE} wrote",
            ticket_id=1,
        ),
        NOW,
    )
    asyncio.run(outbox.send_due(FakeTransport(), NOW))
    outbox.enqueue(
        "reply:3",
        Outbound(
            "reply",
            (("Kim Berg", KIM),),
            "[#3] Group order",
            "Noted, both.",
            cc=((ZOE_NAME, ZOE),),
            ticket_id=3,
        ),
        NOW,
    )
    outbox.enqueue(
        "ack:2", Outbound("acknowledge", (("Zoë", ZOE_WORK),), "[#2] Invoice", "Got it.", ticket_id=2), NOW
    )
    outbox.flush()
    quarantine = Quarantine(data_dir)
    quarantine.add(raw_mail(ZOE, ZOE_NAME, "broken", "x"), "unusable MIME", "INBOX/7/8")
    quarantine.add(raw_mail("bob@example.net", "Bob", "broken", "y"), "unusable MIME", "INBOX/7/9")
    return store


def forget(data_dir: Path, store: Store, email: str = ZOE) -> Erasure:
    outbox = Outbox(data_dir, "Acme Tea Co.", "support@acme.example")
    return forget_customer(store, outbox, Quarantine(data_dir), MailArchive(data_dir), email)


def test_forget_leaves_no_trace_of_the_customer_in_any_file(tmp_path: Path) -> None:
    store = fill(tmp_path)
    assert (tmp_path / "db" / JOURNAL).exists() and leaks(tmp_path)
    erasure = forget(tmp_path, store)
    assert leaks(tmp_path) == []
    # The journal that held the old lines is gone; no temporary file is left anywhere.
    assert not (tmp_path / "db" / JOURNAL).exists()
    assert [path for path in tmp_path.rglob("*.tmp")] == []
    assert (erasure.tickets, erasure.messages, erasure.participations) == (2, 4, 1)
    # Her three archived messages and her skipped out-of-office; Kim's mail (Cc: her) redacted.
    assert (erasure.archived_files, erasure.redacted_files) == (4, 1)
    assert (erasure.outbox_items, erasure.outbox_redacted, erasure.quarantined) == (1, 1, 1)
    assert erasure.sent_log_lines == 2 and erasure.skipped == 1 and erasure.events == 1
    summary = erasure.summary()
    assert summary.startswith("forgot customer #1: 2 ticket(s), 4 message(s), 4 archived file(s)")
    assert "zoe" not in summary.lower() and "Zoë" not in summary


def test_the_other_customer_and_the_indexes_are_intact_after_reopening(tmp_path: Path) -> None:
    store = fill(tmp_path)
    forget(tmp_path, store)
    for reopened in (store, Store(tmp_path), Store(tmp_path, readonly=True)):
        assert reopened.customer(ZOE) is None and reopened.customer(ZOE_WORK) is None
        assert [ticket.id for ticket in reopened.tickets()] == [3]
        assert reopened.tickets_of(ZOE) == [] and reopened.tickets_of(KIM) == [3]
        assert reopened.tickets_with_subject(ZOE, "Teapot broken") == []
        assert reopened.ticket_for_message_id("z1@example.org") is None
        assert reopened.ticket_for_message_id("z3@example.org") is None
        assert reopened.ticket_for_message_id("k1@example.org") == 3
        assert not reopened.has_source("INBOX/7/1") and reopened.has_source("INBOX/7/3")
        kim = reopened.customer(KIM)
        assert kim is not None and kim.name == "Kim Berg"
        ticket = reopened.ticket(3)
        assert ticket is not None and ticket.participants == [KIM]
        [message] = reopened.messages(3)
        assert message.sender == KIM and message.cc == [REDACTED_ADDRESS]
        assert message.text == "Ordering with [forgotten]."
        assert [event.ticket_id for event in reopened.pending_events()] == [3]
        assert [entry["from"] for entry in reopened.skipped] == ["news@shop.example"]
        assert reopened.automatic_sent(ZOE) == [] and reopened.counts["customers"] == 1
    # Kim's archived mail is still there, with her address redacted; the others' quarantine stays.
    kim_raw = MailArchive(tmp_path).path_for(MailSource("INBOX", 7, 3)).read_bytes()
    assert b"From: Kim Berg <kim@example.org>" in kim_raw and REDACTED_ADDRESS.encode() in kim_raw
    assert [entry.source for entry in Quarantine(tmp_path).entries()] == ["INBOX/7/9"]


def test_the_outbox_keeps_what_it_sent_and_the_reply_to_the_other_customer(tmp_path: Path) -> None:
    store = fill(tmp_path)
    before = Outbox(tmp_path, "Acme Tea Co.", "support@acme.example").sent()
    forget(tmp_path, store)
    after = Outbox(tmp_path, "Acme Tea Co.", "support@acme.example")
    # The delivered ids stay (an enqueue replayed after a crash must not send again).
    assert [item.id for item in after.sent()] == [item.id for item in before]
    assert after.message_id_of("ack:1") == before[0].message_id
    assert [item.recipients for item in after.sent()] == [[REDACTED_ADDRESS], [OWNER]]
    assert {item.subject for item in after.sent()} == {"[forgotten]"}
    [waiting] = after.queued()
    assert waiting.key == "reply:3" and waiting.recipients == [KIM]
    assert b"kim@example.org" in after.raw(waiting) and ZOE.encode() not in after.raw(waiting)


def test_forget_by_another_address_and_again_is_harmless(tmp_path: Path) -> None:
    store = fill(tmp_path)
    erasure = forget(tmp_path, store, ZOE_WORK.upper())
    assert erasure.customer_id == 1 and erasure.tickets == 2 and leaks(tmp_path) == []
    again = forget(tmp_path, store, ZOE)
    assert again.customer_id is None and (again.tickets, again.messages, again.archived_files) == (0, 0, 0)
    assert [ticket.id for ticket in Store(tmp_path).tickets()] == [3]


def test_export_holds_everything_and_the_raw_mail(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir).close()
    store = Store(data_dir, readonly=True)
    target = export_customer(store, data_dir, ZOE_WORK, tmp_path / "out")
    assert target == tmp_path / "out" / f"helpdesk-export-{ZOE_WORK}"
    document = json.loads((target / "customer.json").read_text(encoding="utf-8"))
    assert document["addresses"] == [ZOE, ZOE_WORK]
    assert document["customer"]["name"] == ZOE_NAME and document["record"]["postal_address"]
    assert [ticket["id"] for ticket in document["tickets"]] == [1, 2]
    first = document["tickets"][0]
    assert first["history"][0]["event"] == "created"
    assert [message["text"] for message in first["messages"]] == ["Lid cracked.", f"Dear {ZOE_NAME}, sorry."]
    raw = first["messages"][0]["raw"]
    assert (target / raw).read_bytes() == (data_dir / "mail/INBOX/7/1.eml").read_bytes()
    assert first["messages"][1]["raw"] is None
    [elsewhere] = document["messages_on_other_tickets"]
    assert elsewhere["ticket"] == 3 and elsewhere["text"] == "Count me in."
    assert [entry["subject"] for entry in document["skipped_mail"]] == ["Out of office"]
    assert document["skipped_mail"][0]["raw"] == "mail/skipped-001.eml"
    names = sorted(path.name for path in (target / "mail").iterdir())
    assert names == ["000001.eml", "000003.eml", "000005.eml", "skipped-001.eml"]
    assert document["invoices"] == []
    # Exporting reads only: the data directory is unchanged.
    assert store.customer(ZOE) is not None


def test_export_of_nobody_is_a_usage_error(tmp_path: Path) -> None:
    from helpdesk.errors import UsageError

    store = fill(tmp_path / "data")
    with pytest.raises(UsageError, match="no customer"):
        export_customer(store, tmp_path / "data", "nobody@example.org", tmp_path)


def test_person_matches_addresses_whole_and_names_in_both_json_forms() -> None:
    person = Person((ZOE,), (ZOE_NAME,), None)
    assert person.matches(b"To: ZOE.Quinones@Example.ORG")
    assert not person.matches(b"bzoe.quinones@example.org.uk")
    assert person.matches(json.dumps({"n": ZOE_NAME}).encode())
    assert person.matches(json.dumps({"n": ZOE_NAME}, ensure_ascii=False).encode("utf-8"))
    assert person.redact(f"{ZOE_NAME} <{ZOE}>") == f"[forgotten] <{REDACTED_ADDRESS}>"


def test_invoices_are_kept_as_issued_and_name_nobody_in_plain_text(tmp_path: Path) -> None:
    store = fill(tmp_path)
    invoice = Invoice(
        id=0, number="INV-2026-0001", kind="invoice", series="INV-2026-{seq}", sequence=1,
        issued_on="2026-03-03", due_on="2026-03-17", customer=ZOE, currency="EUR",
        net="45.00", tax="8.55", total="53.55",
        bill_to={"name": ZOE_NAME, "email": ZOE, "address": "3 Rue Haute, Paris", "tax_id": "FR40303265045"},
        lines=[{"description": "Blue teapot", "quantity": "1", "unit": "", "unit_price": "45.00",
                "tax_rate": "19", "hsn_sac": "", "taxable": "45.00", "tax": "8.55", "total": "53.55"}],
    )  # fmt: skip
    business = BusinessConfig(name="Acme Tea Co.", email="support@acme.example", tax_id="DE123456789")
    pdf = render_invoice_pdf(invoice, business)
    issue_invoice(store, tmp_path, invoice, pdf)
    store.commit()
    target = export_customer(store, tmp_path, ZOE, tmp_path / "export")
    document = json.loads((target / "customer.json").read_text(encoding="utf-8"))
    assert [item["number"] for item in document["invoices"]] == ["INV-2026-0001"]
    shutil.rmtree(tmp_path / "export")
    erasure = forget(tmp_path, store)
    assert erasure.invoices_kept == 1 and "1 invoice(s) kept (tax law)" in erasure.summary()
    [kept] = list(store.invoices())
    assert (kept.number, kept.total, kept.bill_to["tax_id"]) == ("INV-2026-0001", "53.55", "FR40303265045")
    # The issued PDF is kept byte for byte (it is the legal document) ...
    assert (tmp_path / kept.pdf_path).read_bytes() == pdf
    # ... and no file, that PDF included, holds her address or name in plain text.
    assert leaks(tmp_path) == []
    assert store.invoices_of(ZOE) == []


def test_a_name_is_matched_as_whole_words_and_never_deletes_by_itself(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_customer(Customer(0, "sales@shop.example", "Sales", STAMP, STAMP, 1))
    store.save_ticket(
        Ticket(1, "sales@shop.example", "Hello", STAMP, STAMP, participants=["sales@shop.example"])
    )
    store.commit()
    archive = MailArchive(tmp_path)
    other = raw_mail(KIM, "Kim Berg", "Salesforce import", "Our Salesforce team; Sales tax question.")
    kept_path = archive.store(MailSource("INBOX", 7, 9), other)
    quarantine = Quarantine(tmp_path)
    entry = quarantine.add(raw_mail(KIM, "Kim Berg", "Sales tax question", "Hi"), "no sender", None)
    forget(tmp_path, store, "sales@shop.example")
    text = kept_path.read_bytes().decode()
    assert "Salesforce" in text and "[forgotten] tax question" in text
    assert [item.id for item in quarantine.entries()] == [entry.id]


def test_an_export_written_into_the_data_directory_is_erased_too(tmp_path: Path) -> None:
    store = fill(tmp_path)
    target = export_customer(store, tmp_path, ZOE, tmp_path)
    assert (target / "customer.json").is_file()
    forget(tmp_path, store)
    assert not target.exists()
