"""End to end: ``customer export`` and ``customer forget`` against the real IMAP server and SMTP sink.

Two customers write (acknowledged, the owner notified), the owner answers one;
her data is exported, then forgotten. Every file under the data directory is
then searched for her address and her name (UTF-8 and JSON-escaped), while
the other customer's conversation goes on as before.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from tests.corpus import customer_mail
from tests.helpers import OWNER, daemon_process, helpdesk, open_store, write_config
from tests.test_e2e_inbound import wait_until
from tests.test_e2e_outbound import Harness, bare, owner_reply

ZOE = "zoe.quinones@example.org"
ZOE_NAME = "Zoë Quiñones-Łukasiewicz"
KIM = "kim.berg@example.net"
KIM_NAME = "Kim Berg"


def traces(data_dir: Path) -> list[str]:
    """Every file under the data directory that still holds her address or name, in any form."""
    forms = [ZOE.encode(), ZOE_NAME.encode("utf-8"), json.dumps(ZOE_NAME)[1:-1].encode()]
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(data_dir)}: {form!r}" for form in forms
                      if re.search(re.escape(form), data, re.IGNORECASE)]
    return found


def two_customers_write(harness: Harness) -> None:
    harness.mailbox.append(customer_mail(
        ZOE, "Teapot arrived broken", f"The lid is cracked.\n\nBest,\n{ZOE_NAME}", name=ZOE_NAME,
        message_id="zq1@example.org",
    ))
    harness.mailbox.append(customer_mail(
        KIM, "Where is order 12?", f"Hello, any news?\n{KIM_NAME}", name=KIM_NAME,
        message_id="kb1@example.net",
    ))
    harness.cycle()


def test_export_then_forget_leaves_nothing_of_her_and_the_daemon_goes_on(
    tmp_path: Path, mailbox, smtp_sink
) -> None:
    harness = Harness(tmp_path, mailbox, smtp_sink)
    two_customers_write(harness)
    kinds = sorted(message["X-Helpdesk-Kind"] for message in harness.delivered())
    assert kinds == ["acknowledge", "acknowledge", "owner-notification", "owner-notification"]
    [notification] = [
        m for m in harness.to(OWNER)
        if m["X-Helpdesk-Kind"] == "owner-notification" and "[#1]" in m["Subject"]
    ]
    harness.mailbox.append(owner_reply(notification, "A new lid is on its way.", quote="The lid is cracked."))
    harness.cycle()
    assert [m["X-Helpdesk-Kind"] for m in harness.to(ZOE)][-1] == "reply"
    config = str(harness.config_path)
    data_dir = harness.config.storage_path

    # Export while the daemon's parts hold the data directory: it only reads.
    out = tmp_path / "exports"
    exported = helpdesk("--config", config, "customer", "export", ZOE, "--output", str(out))
    target = out / f"helpdesk-export-{ZOE}"
    assert str(target) in exported.stdout
    document = json.loads((target / "customer.json").read_text(encoding="utf-8"))
    assert document["customer"]["email"] == ZOE and document["customer"]["name"] == ZOE_NAME
    [ticket] = document["tickets"]
    texts = [message["text"] for message in ticket["messages"]]
    assert any("The lid is cracked." in text for text in texts) and "A new lid is on its way." in texts
    raws = [message["raw"] for message in ticket["messages"] if message["raw"]]
    assert len(raws) == 2  # her mail and the owner's reply, as received
    assert b"Message-ID: <zq1@example.org>" in (target / raws[0]).read_bytes()
    assert ticket["history"] and document["invoices"] == []
    harness.close()
    assert traces(data_dir), "the test must start with her data in the data directory"

    # Forget, with the daemon stopped: the command opens the data directory itself.
    forgotten = helpdesk("--config", config, "customer", "forget", ZOE)
    assert forgotten.stdout.startswith("forgot customer #1: 1 ticket(s), 3 message(s), 2 archived file(s)")
    assert ZOE not in forgotten.stderr and ZOE_NAME not in forgotten.stderr
    assert traces(data_dir) == []
    assert not (data_dir / "db" / "journal.log").exists()
    assert list(data_dir.rglob("*.tmp")) == []
    shown = helpdesk("--config", config, "customer", "show", ZOE, check=False)
    assert shown.returncode == 2 and "no customer" in shown.stderr

    # Kim's data is intact, and the daemon carries on: Kim's answer threads into Kim's ticket.
    store = open_store(harness.config_path)
    kim = store.customer(KIM)
    assert kim is not None and kim.name == KIM_NAME
    [kim_ticket] = list(store.tickets())
    kim_messages = store.messages(kim_ticket.id)
    assert kim_ticket.customer == KIM and [m.direction for m in kim_messages] == ["in", "out"]
    assert kim_messages[0].text.startswith("Hello, any news?") and kim_messages[1].to == [KIM]
    again = Harness(tmp_path, mailbox, smtp_sink)
    try:
        answered = bare(kim_messages[1].message_id)
        mailbox.append(customer_mail(KIM, "Re: Where is order 12?", "Still waiting.", name=KIM_NAME,
                                     in_reply_to=answered, references=[answered]))
        again.cycle()
        store = again.helpdesk.store
        assert [ticket.id for ticket in store.tickets()] == [kim_ticket.id]
        assert [m.text for m in store.messages(kim_ticket.id)][-1] == "Still waiting."
    finally:
        again.close()
    assert traces(data_dir) == []


def test_forget_while_the_daemon_runs_is_queued_and_applied(tmp_path: Path, mailbox, smtp_sink) -> None:
    config_path = write_config(tmp_path, mailbox, smtp_sink, imap={"poll_interval": 1})
    mailbox.append(customer_mail(ZOE, "Teapot arrived broken", f"Cracked.\n{ZOE_NAME}", name=ZOE_NAME))
    mailbox.append(customer_mail(KIM, "Where is order 12?", "Any news?", name=KIM_NAME))
    daemon = daemon_process(config_path)
    data_dir = tmp_path / "data"
    try:
        assert wait_until(lambda: open_store(config_path).counts["tickets"] == 2, 60)
        # Both acknowledgements and notifications went out (the outbox has nothing waiting).
        assert wait_until(lambda: len(smtp_sink.messages) == 4, 60)
        queued = helpdesk("--config", str(config_path), "customer", "forget", ZOE)
        assert "queued" in queued.stdout
        assert wait_until(lambda: open_store(config_path).customer(ZOE) is None, 60)
        assert wait_until(lambda: not any((data_dir / "requests").glob("*.json")), 30)
        store = open_store(config_path)
        assert [ticket.customer for ticket in store.tickets()] == [KIM]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert daemon.returncode == 0
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    [line] = [line for line in log.splitlines() if "forgot customer #1: 1 ticket(s)" in line]
    assert ZOE not in line and ZOE_NAME not in line
    assert traces(data_dir) == []
    assert open_store(config_path).customer(KIM) is not None
