"""End to end: the owner invoices a customer from a reply, and from the command line.

Real IMAP server (Dovecot in CI) and SMTP sink. The owner answers a
notification with ``#invoice`` and item lines; the customer receives the
invoice mail with its PDF; a mistake costs no number.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import time
from pathlib import Path

import facturx
import pytest
from pypdf import PdfReader

from helpdesk.outbound.outbox import Outbox
from helpdesk.store.store import INVOICES, DataDirectoryLock, Store
from tests.corpus import customer_mail
from tests.helpers import OWNER, daemon_process, helpdesk, open_store, write_config
from tests.test_e2e_inbound import wait_until
from tests.test_e2e_outbound import Harness, owner_reply, parse, text_of

INVOICING = {
    "name": "Acme Tea Co.",
    "legal_name": "Acme Tea Company Ltd.",
    "email": "support@acme.example",
    "address": "1 Harbour Street, Portsmouth PO1 2AB",
    "tax_id": "GB123456789",
    "tax_rate": 20,
    "currency": "GBP",
    "timezone": "Europe/London",
    "locale": "en_GB",
}


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink, business=INVOICING)
    yield running
    running.close()


def notification(harness: Harness):
    return next(m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification")


def pdf_of(message) -> bytes:
    [part] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    return part.get_content()


def test_the_owner_invoices_from_a_reply_and_the_customer_gets_the_pdf(harness: Harness) -> None:
    harness.mailbox.append(
        customer_mail("zoe@example.org", "Order 12", "Please invoice me.", name="Zoë Martin")
    )
    harness.cycle()
    items = "Blue teapot | 1 | 45.00\nSencha 100 g | 3 | 8.50 | 5"
    reply = f"Here is your invoice.\n#invoice due=7d ref=PO-77\n{items}"
    harness.mailbox.append(owner_reply(notification(harness), reply))
    harness.cycle()
    [invoice_mail] = [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "invoice"]
    assert str(invoice_mail["Subject"]) == "Invoice INV-2026-0001 from Acme Tea Co. [#1]"
    # 45.00 at 20% = 9.00 tax; 3 x 8.50 = 25.50 at 5% = 1.28 (1.275 rounded half-up); total 80.78.
    assert "Total: £80.78 (including tax £10.28)" in text_of(invoice_mail)
    pdf = pdf_of(invoice_mail)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for field in (
        "Acme Tea Company Ltd.",
        "GB123456789",
        "INV-2026-0001",
        "Zoë Martin",
        "Blue teapot",
        "£80.78",
    ):
        assert field in text
    [invoice] = list(harness.helpdesk.store.invoices())
    assert (invoice.number, invoice.total, invoice.tax, invoice.reference) == (
        "INV-2026-0001",
        "80.78",
        "10.28",
        "PO-77",
    )
    stored = (harness.config.storage_path / invoice.pdf_path).read_bytes()
    assert stored == pdf and hashlib.sha256(stored).hexdigest() == invoice.pdf_sha256
    # The owner's words went to the customer as a reply too; the item lines did not.
    [relayed] = [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "reply"]
    assert "Here is your invoice." in text_of(relayed) and "Blue teapot" not in text_of(relayed)
    # The owner's next notification about her shows the invoice still to be paid.
    harness.mailbox.append(customer_mail("zoe@example.org", "Order 13", "And another.", name="Zoë Martin"))
    harness.cycle()
    latest = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification"][-1]
    assert "Open invoice INV-2026-0001: £80.78 to pay" in text_of(latest)
    listed = json.loads(helpdesk("--config", str(harness.config_path), "invoice", "list", "--json").stdout)
    assert [(item["number"], item["total"], item["status"]) for item in listed] == [
        ("INV-2026-0001", "80.78", "open")
    ]


def test_a_malformed_item_line_is_pointed_out_and_uses_no_number(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("zoe@example.org", "Order 12", "Please invoice me."))
    harness.cycle()
    harness.mailbox.append(
        owner_reply(notification(harness), "#invoice\nBlue teapot | 1 | 45.00\nLid | two | 3.00")
    )
    harness.cycle()
    [result] = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "command-result"]
    assert "line 2: qty" in text_of(result) and "no number was used" in text_of(result)
    assert list(harness.helpdesk.store.invoices()) == []
    assert [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "invoice"] == []
    harness.mailbox.append(owner_reply(notification(harness), "#invoice\nBlue teapot | 1 | 45.00"))
    harness.cycle()
    assert [invoice.number for invoice in harness.helpdesk.store.invoices()] == ["INV-2026-0001"]


def test_with_facturx_the_invoice_pdf_carries_its_en16931_xml(tmp_path: Path, mailbox, smtp_sink) -> None:
    business = {
        **INVOICING,
        "legal_name": "Kaffeerösterei Huber GmbH",
        "address": "Hauptstraße 5\n80331 München",
        "tax_id": "DE123456789",
        "tax_rate": 19,
        "currency": "EUR",
        "locale": "de_DE",
    }
    invoices = {"facturx": True, "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}
    harness = Harness(tmp_path, mailbox, smtp_sink, business=business, invoices=invoices)
    try:
        harness.mailbox.append(customer_mail("zoe@example.org", "Order 12", "Please invoice me."))
        harness.cycle()
        harness.mailbox.append(owner_reply(notification(harness), "#invoice\nEspresso 1 kg | 2 | 20.00"))
        harness.cycle()
        [invoice_mail] = [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "invoice"]
        name, xml = facturx.get_xml_from_pdf(pdf_of(invoice_mail), check_xsd=True)
        data = facturx.parse_ubl_cii_xml(xml)
        assert name == "factur-x.xml"
        expected = ("INV-2026-0001", "47.60", "DE89370400440532013000")
        assert (data["BT-1"], data["BT-112"], data["BT-84"]) == expected
        [invoice] = list(harness.helpdesk.store.invoices())
        stored = (harness.config.storage_path / invoice.pdf_path).read_bytes()
        assert stored == pdf_of(invoice_mail)
    finally:
        harness.close()


@pytest.mark.slow
def test_invoices_from_the_command_line_while_the_daemon_is_killed_have_no_gap(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    config_path = write_config(tmp_path, mailbox, smtp_sink, business=INVOICING, imap={"poll_interval": 1})
    mailbox.append(customer_mail("zoe@example.org", "Order 12", "Please invoice me."))
    daemon = daemon_process(config_path)
    assert wait_until(lambda: len(list(open_store(config_path).tickets())) == 1, 30)
    wanted = 12
    for number in range(wanted):
        helpdesk(
            "--config", str(config_path), "invoice", "create", "1", f"ref=R{number}", "--item", "Tea|1|4.00"
        )
        if number % 3 == 2:
            time.sleep(0.3)
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
            daemon = daemon_process(config_path)
    assert wait_until(lambda: not any((tmp_path / "data" / "requests").glob("*.json")), 60)
    # Running (it holds the data directory, its signal handlers are in place), then told to stop.
    assert wait_until(DataDirectoryLock(tmp_path / "data").held_by_other, 30)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0
    invoices = list(open_store(config_path).invoices())
    # Every request gave exactly one invoice, numbered without a gap or a repeat.
    assert sorted(invoice.reference for invoice in invoices) == sorted(
        f"R{number}" for number in range(wanted)
    )
    assert [invoice.number for invoice in invoices] == [
        f"INV-2026-{number:04d}" for number in range(1, wanted + 1)
    ]
    sent = [parse(mail.data) for mail in smtp_sink.messages]
    invoice_mails = [m for m in sent if m["X-Helpdesk-Kind"] == "invoice"]
    assert sorted(str(m["Subject"]).split()[1] for m in invoice_mails) == [
        invoice.number for invoice in invoices
    ]


def test_a_crash_before_the_invoice_is_committed_mails_nothing_and_uses_no_number(
    tmp_path: Path, mailbox, smtp_sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness(tmp_path, mailbox, smtp_sink, business=INVOICING)
    mailbox.append(customer_mail("zoe@example.org", "Order 12", "Please invoice me."))
    harness.cycle()
    mailbox.append(owner_reply(notification(harness), "#invoice\nBlue teapot | 1 | 45.00"))
    original = Store.commit

    def dies_with_an_invoice(self: Store) -> None:
        # The process dies at the commit that would record the invoice.
        if INVOICES in self._pending:
            raise SystemExit("killed")
        original(self)

    monkeypatch.setattr(Store, "commit", dies_with_an_invoice)
    with pytest.raises(SystemExit):
        harness.cycle()
    monkeypatch.setattr(Store, "commit", original)
    outbox = Outbox(harness.config.storage_path, "Acme Tea Co.", "support@acme.example")
    assert [item for item in outbox.queued() if item.kind == "invoice"] == []
    # As after kill -9: nothing more is written, the lock goes with the process.
    harness.imap.close()
    harness.helpdesk.lock.release()
    restarted = Harness(tmp_path, mailbox, smtp_sink, business=INVOICING)
    restarted.cycle()
    assert [invoice.number for invoice in restarted.helpdesk.store.invoices()] == ["INV-2026-0001"]
    invoice_mails = [m for m in restarted.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "invoice"]
    assert [str(m["Subject"]).split()[1] for m in invoice_mails] == ["INV-2026-0001"]
    restarted.close()
