"""End to end: the owner keeps customer records by mail, and reads them on the command line.

Real IMAP server and SMTP sink; the owner answers a notification with a
``#customer`` line, as from any mail client.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import customer_mail
from tests.helpers import OWNER, helpdesk
from tests.test_e2e_outbound import Harness, owner_reply, text_of


@pytest.fixture
def harness(tmp_path: Path, mailbox, smtp_sink):
    running = Harness(tmp_path, mailbox, smtp_sink)
    yield running
    running.close()


def notification(harness: Harness):
    return next(m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification")


def test_the_owner_records_the_customer_by_mail(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("zoe@example.org", "Order 12", "Where is it?", name="Zoe"))
    harness.cycle()
    line = '#customer name="Zoë Martin" address="3 Rue Haute, Paris" birthday=1990-05-01 lang=fr note="VIP"'
    harness.mailbox.append(owner_reply(notification(harness), f"It ships today.\n{line}"))
    harness.cycle()
    customer = harness.helpdesk.store.customer("zoe@example.org")
    assert customer is not None
    assert (customer.name, customer.postal_address) == ("Zoë Martin", "3 Rue Haute, Paris")
    assert customer.birthday == "1990-05-01"
    assert customer.language == "fr" and [note["text"] for note in customer.notes] == ["VIP"]
    # The words went to the customer; the command did not.
    [reply] = [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "reply"]
    assert "It ships today." in text_of(reply) and "#customer" not in text_of(reply)
    # The next notification about her reminds the owner of what was recorded.
    harness.mailbox.append(customer_mail("zoe@example.org", "Order 13", "And this one?", name="Zoe"))
    harness.cycle()
    latest = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "owner-notification"][-1]
    assert "Writes in: fr" in text_of(latest) and "Note: VIP" in text_of(latest)
    # The command line reads the records while the daemon holds the data directory.
    config = str(harness.config_path)
    shown = json.loads(helpdesk("--config", config, "customer", "show", "zoe@example.org", "--json").stdout)
    assert shown["name"] == "Zoë Martin" and [t["id"] for t in shown["tickets"]] == [1, 2]
    listed = json.loads(helpdesk("--config", config, "customer", "list", "--json").stdout)
    assert [(item["email"], item["tickets"]) for item in listed] == [("zoe@example.org", 2)]


def test_a_bad_field_changes_nothing_and_the_owner_is_told_which(harness: Harness) -> None:
    harness.mailbox.append(customer_mail("zoe@example.org", "Order 12", "Where is it?", name="Zoe"))
    harness.cycle()
    harness.mailbox.append(owner_reply(notification(harness), "#customer lang=fr birthday=1990-02-30"))
    harness.cycle()
    customer = harness.helpdesk.store.customer("zoe@example.org")
    assert customer is not None and customer.language == "" and customer.birthday is None
    [result] = [m for m in harness.to(OWNER) if m["X-Helpdesk-Kind"] == "command-result"]
    assert "birthday: '1990-02-30' is not a date (YYYY-MM-DD)" in text_of(result)
    assert [m for m in harness.to("zoe@example.org") if m["X-Helpdesk-Kind"] == "reply"] == []
