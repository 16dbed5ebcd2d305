"""End to end: answers written from the support mailbox itself, and copies of our mail in Sent.

The daemon runs against the suite's real Dovecot (every account has a Sent
folder flagged ``\\Sent``) and an aiosmtpd sink, one cycle at a time (the
``Harness`` of ``tests/test_e2e_outbound.py``).

* The owner logs in to the support account with ``mutt`` (in ``tmux``, as in
  ``tests/test_e2e_mutt.py``), answers the customer's message in INBOX and
  sends it through SMTP; mutt saves its copy in the IMAP Sent folder. The
  daemon records that answer on the ticket, applies its ``#close``, and sends
  nothing for it.
* With ``[imap] save_sent = true`` every message the daemon sends appears in
  the Sent folder exactly once, also after a crash between the APPEND and
  the removal of its spool file.

The rules are the shipped acknowledgement and owner notification only, so
that any further mail from the daemon would show.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import RECENT, SEEN

from helpdesk.config import shipped_directory
from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.outbound.sentcopy import message_id_of
from tests.corpus import customer_mail
from tests.dovecot import DovecotServer
from tests.helpers import BUSINESS, OWNER
from tests.test_e2e_mutt import MuttSession, _require, plain_text, write_muttrc
from tests.test_e2e_outbound import Harness, bare, parse

CUSTOMER = "zoe@example.org"
# What the owner types above the quoted message: the answer and a command line.
OWNER_ANSWER = (
    "A new lid is on its way to you, Zoë; it should arrive on Thursday.\n\nSorry for the trouble!\n#close\n"
)


@pytest.fixture
def account(dovecot_server: DovecotServer) -> ImapMailbox:
    """A fresh support mailbox on Dovecot (pymap has no Sent folder)."""
    return dovecot_server.new_mailbox()


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """The shipped acknowledgement and owner notification, and no other rule."""
    directory = tmp_path / "rules"
    directory.mkdir()
    for name in ("20-acknowledge.toml", "30-notify-owner.toml"):
        shutil.copy(shipped_directory("rules") / name, directory / name)
    return directory


def start(tmp_path: Path, account: ImapMailbox, sink: SmtpSink, rules: Path, **imap: object) -> Harness:
    return Harness(tmp_path, account, sink, imap=imap, rules={"path": str(rules)})


@pytest.fixture
def harness(tmp_path: Path, account: ImapMailbox, smtp_sink: SmtpSink, rules: Path) -> Iterator[Harness]:
    running = start(tmp_path, account, smtp_sink, rules)
    yield running
    running.close()


def customer_writes(harness: Harness) -> None:
    """Zoë's first message arrives; the daemon acknowledges it and notifies the owner."""
    harness.mailbox.append(
        customer_mail(CUSTOMER, "Teapot arrived broken", "The lid is cracked.\nCan you help?",
                      name="Zoë Martin", message_id="z1@example.org")
    )
    harness.cycle()
    assert len(harness.sink.messages) == 2


def sent_folder(account: ImapMailbox) -> list[tuple[bytes, set[bytes]]]:
    """Every message in the account's Sent folder with its flags (but \\Recent), in UID order."""
    with account.session() as imap:
        imap.select_folder("Sent", readonly=True)
        found = imap.fetch(imap.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
    return [(data[b"BODY[]"], set(data[b"FLAGS"]) - {RECENT}) for _, data in sorted(found.items())]


# -- the owner answers from the support mailbox ---------------------------------------------


def write_support_muttrc(directory: Path, smtp_port: int, account: ImapMailbox) -> Path:
    """The muttrc of ``tests/test_e2e_mutt.py``, logged in to the support account's IMAP.

    It writes as the business, sends through ``smtp_port`` and saves what it
    sends in the IMAP Sent folder (``record``), as any mail client does.
    """
    path = write_muttrc(directory, smtp_port)
    settings = {
        "from": BUSINESS,
        "realname": "Acme Tea Co.",
        "imap_user": account.username,
        "imap_pass": account.password,
        "folder": f"imap://{account.host}:{account.port}/",
        "spoolfile": "+INBOX",
        "record": "+Sent",
        "message_cachedir": "",
        "certificate_file": str(directory / "certificates"),
    }
    lines = [f'set {name}="{value}"' for name, value in settings.items()]
    # Keep a copy of what is sent ($record), without asking; never move read mail.
    lines += ["set copy=yes", "set imap_check_subscribed=no", "set mail_check_stats=no"]
    with path.open("a", encoding="utf-8") as muttrc:
        muttrc.write("\n".join(lines) + "\n")
    return path


@pytest.fixture
def mutt_smtp() -> Iterator[SmtpSink]:
    """The SMTP server the owner's mail client sends through."""
    with SmtpSink() as sink:
        yield sink


def test_owner_answers_from_the_support_mailbox_in_mutt(
    tmp_path: Path, harness: Harness, account: ImapMailbox, mutt_smtp: SmtpSink
) -> None:
    _require("mutt", "tmux")
    customer_writes(harness)
    daemon_mail = len(harness.sink.messages)

    # The owner opens the support mailbox in mutt, presses r on Zoë's message, and sends with y.
    workdir = tmp_path / "owner"
    workdir.mkdir()
    answer_file = workdir / "answer.txt"
    answer_file.write_text(OWNER_ANSWER, encoding="utf-8")
    muttrc = write_support_muttrc(workdir, mutt_smtp.port, account)
    mutt = MuttSession(workdir, muttrc, workdir, answer_file)
    # The folder to open is an IMAP URL, not a path (a Path would fold its "//").
    inbox = f"imap://{account.host}:{account.port}/INBOX"
    mutt.command = shlex.join(["mutt", "-n", "-F", str(muttrc), "-f", inbox])
    mutt.start()
    try:
        mutt.reply_and_send("Teapot arrived broken", mutt_smtp)
    finally:
        mutt.stop()

    # mutt sent the answer to Zoë, threaded, and saved its copy in Sent.
    [sent] = mutt_smtp.messages
    answer = parse(sent.data)
    assert sent.rcpt_tos == (CUSTOMER,)
    assert answer["From"].addresses[0].addr_spec == BUSINESS
    assert bare(answer["In-Reply-To"]) == "z1@example.org"
    assert plain_text(answer).startswith("A new lid is on its way")
    [(copy, _)] = sent_folder(account)
    assert message_id_of(copy) == bare(answer["Message-ID"])

    harness.cycle()

    # Recorded once, as the owner's words; #close applied; nothing sent by the daemon.
    assert len(harness.sink.messages) == daemon_mail
    messages = harness.helpdesk.store.messages(1)
    assert [message.direction for message in messages] == ["in", "out", "out"]
    recorded = messages[-1]
    assert recorded.message_id == bare(answer["Message-ID"])
    assert recorded.text == OWNER_ANSWER.strip()
    assert recorded.sender == BUSINESS and recorded.to == [CUSTOMER]
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "closed"
    details = [(entry["event"], entry["detail"]) for entry in ticket.history]
    assert ("owner-replied", "answered from the support mailbox") in details
    assert ("command", "#close") in details
    assert harness.helpdesk.store.pending_events() == []

    # The next cycle finds nothing new.
    harness.cycle()
    assert len(harness.helpdesk.store.messages(1)) == 3
    assert len(harness.sink.messages) == daemon_mail


def test_an_answer_from_the_mailbox_applies_its_commands_only(harness: Harness, account: ImapMailbox) -> None:
    customer_writes(harness)
    [acknowledgement] = harness.to(CUSTOMER)
    daemon_mail = len(harness.sink.messages)
    # Two commands and a hashtag line that is no command: plain text to the customer.
    body = "A new lid is on its way, Zoë.\n#priority high\n#tag lids\n#teatime is saved!\n"
    account.append(
        customer_mail(BUSINESS, "Re: " + str(acknowledgement["Subject"]), body, to=CUSTOMER,
                      in_reply_to=bare(acknowledgement["Message-ID"])),
        folder="Sent",
    )
    harness.cycle()

    assert len(harness.sink.messages) == daemon_mail, "nothing relayed, no command-result"
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    # The owner answered: the ticket waits on the customer.
    assert (ticket.status, ticket.priority, ticket.tags) == ("pending", "high", ["lids"])
    assert harness.helpdesk.store.messages(1)[-1].text == body.strip()

    account.append(
        customer_mail(BUSINESS, "Re: Teapot arrived broken", "One more thing.\n#priority sky-high\n",
                      to=CUSTOMER, in_reply_to="z1@example.org"),
        folder="Sent",
    )
    harness.cycle()

    # A command the owner got wrong is reported to the owner, and only that.
    [report] = [message for message in harness.delivered()[daemon_mail:]]
    assert report["X-Helpdesk-Kind"] == "command-result"
    assert [address.addr_spec for address in report["To"].addresses] == [OWNER]
    assert "#priority sky-high" in plain_text(report)


def test_a_quarantined_answer_is_replayed_as_an_answer(
    harness: Harness, account: ImapMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_writes(harness)
    ingestor = harness.helpdesk.ingestor
    real = ingestor._record_sent

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingestor, "_record_sent", broken)
    account.append(
        customer_mail(BUSINESS, "Re: Teapot arrived broken", "Sorted.\n#close", to=CUSTOMER,
                      in_reply_to="z1@example.org"),
        folder="Sent",
    )
    harness.cycle()
    [entry] = harness.helpdesk.quarantine.entries()
    assert entry.reason == "internal error: RuntimeError: disk on fire"
    assert entry.source is not None and entry.source.startswith("Sent/")

    monkeypatch.setattr(ingestor, "_record_sent", real)
    report = harness.helpdesk.replay(entry.id)
    harness.cycle()

    assert report.messages_recorded == 1
    assert harness.helpdesk.store.messages(1)[-1].text == "Sorted.\n#close"
    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None and ticket.status == "closed"


# -- copies of our mail in the Sent folder --------------------------------------------------


def test_save_sent_puts_each_message_in_sent_exactly_once(
    tmp_path: Path, account: ImapMailbox, smtp_sink: SmtpSink, rules: Path
) -> None:
    harness = start(tmp_path, account, smtp_sink, rules, save_sent=True)
    try:
        customer_writes(harness)
        delivered = [mail.data for mail in harness.sink.messages]
        copies = sent_folder(account)
        assert [raw for raw, _ in copies] == delivered, "the acknowledgement and the notification"
        assert all(flags == {SEEN} for _, flags in copies)
        assert harness.helpdesk.sent_copies.waiting() == []

        for _ in range(3):
            harness.cycle()
        assert [raw for raw, _ in sent_folder(account)] == delivered
        # The watcher saw the copies and knew them: nothing recorded, nothing skipped.
        assert len(harness.helpdesk.store.messages(1)) == 2
        assert harness.helpdesk.store.skipped == []
        state = harness.helpdesk.store.folder_state("Sent")
        assert state is not None and state.last_uid == 2
    finally:
        harness.close()


def test_a_crash_between_append_and_spool_removal_leaves_one_copy(
    tmp_path: Path, account: ImapMailbox, smtp_sink: SmtpSink, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = start(tmp_path, account, smtp_sink, rules, save_sent=True)
    try:
        # The daemon dies after sending, before it copies anything: both copies wait in the spool.
        monkeypatch.setattr(harness.helpdesk.sent_copies, "save", lambda mailbox, folder: 0)
        customer_writes(harness)
        spooled = harness.helpdesk.sent_copies.waiting()
        assert len(spooled) == 2 and sent_folder(account) == []
        # The restarted daemon appends the first copy and dies before removing its spool file.
        harness.imap.append_seen("Sent", spooled[0].read_bytes())
    finally:
        harness.close()
    monkeypatch.undo()

    harness = start(tmp_path, account, smtp_sink, rules, save_sent=True)
    try:
        harness.cycle()
        harness.cycle()
        assert len(smtp_sink.messages) == 2
        delivered = sorted(mail.data for mail in smtp_sink.messages)
        assert sorted(raw for raw, _ in sent_folder(account)) == delivered
        assert harness.helpdesk.sent_copies.waiting() == []
    finally:
        harness.close()
