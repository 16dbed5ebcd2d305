"""The test mail servers behave like the real thing the daemon will meet.

Every IMAP test runs against both Dovecot and pymap; the SMTP tests send
with aiosmtplib, exactly as the daemon's outbox does.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from helpdesk.demo.imapserver import ImapMailbox, ImapTestServer, PymapServer, close_quietly
from helpdesk.demo.processes import free_port, wait_for_port
from helpdesk.demo.smtpsink import SmtpSink
from tests.dovecot import DovecotServer, dovecot_available

# Generous upper bound for an IDLE notification: Dovecot delays them by
# about half a second after an APPEND.
IDLE_WAIT_SECONDS = 10.0


def raw_message(subject: str, body: str = "Hello.\r\n") -> bytes:
    """A minimal RFC 5322 message with CRLF line endings."""
    return (
        "From: Customer <customer@example.test>\r\n"
        "To: support@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
        "\r\n"
        f"{body}"
    ).encode()


@pytest.fixture(params=["dovecot", "pymap"])
def server(request: pytest.FixtureRequest) -> ImapTestServer:
    """Each IMAP test server in turn."""
    chosen: ImapTestServer = request.getfixturevalue(f"{request.param}_server")
    return chosen


@pytest.fixture
def box(server: ImapTestServer) -> Iterator[ImapMailbox]:
    """A fresh, empty account on each IMAP test server in turn."""
    mailbox = server.new_mailbox()
    try:
        yield mailbox
    finally:
        mailbox.close()


def fetch_all(mailbox: ImapMailbox, folder: str = "INBOX") -> dict[int, dict[bytes, object]]:
    """UID -> BODY[] and FLAGS of every message, fetched without setting \\Seen."""
    with mailbox.session() as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search("ALL")
        return imap.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}


# ---------------------------------------------------------------------------
# IMAP


def test_servers_implement_the_common_interface(server: ImapTestServer) -> None:
    assert isinstance(server, ImapTestServer)
    assert server.kind in {"dovecot", "pymap"}
    assert server.host == "127.0.0.1"
    with server.client() as imap:
        assert imap.folder_exists("INBOX")


def test_mailbox_fixture_is_an_empty_account_on_the_session_server(
    imap_server: ImapTestServer, mailbox: ImapMailbox
) -> None:
    expected = "dovecot" if dovecot_available() else "pymap"
    assert imap_server.kind == mailbox.kind == expected
    assert mailbox.username != imap_server.username
    assert mailbox.message_count() == 0
    uid = mailbox.append(raw_message("through the fixture"))
    assert list(fetch_all(mailbox)) == [uid]


def test_new_mailbox_starts_empty(box: ImapMailbox) -> None:
    assert box.message_count() == 0
    assert fetch_all(box) == {}


def test_appended_message_comes_back_byte_for_byte_and_unseen(box: ImapMailbox) -> None:
    raw = raw_message("first question", "Caf\u00e9 au lait?\r\n")
    uid = box.append(raw)

    fetched = fetch_all(box)
    assert list(fetched) == [uid]
    assert fetched[uid][b"BODY[]"] == raw
    assert b"\\Seen" not in fetched[uid][b"FLAGS"]
    # Peeking twice still leaves the message unseen.
    assert b"\\Seen" not in fetch_all(box)[uid][b"FLAGS"]


def test_client_is_logged_in_with_nodelay(box: ImapMailbox) -> None:
    with box.session() as imap:
        option = imap.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert option != 0
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_append_many_keeps_order_and_reports_uids(box: ImapMailbox) -> None:
    raws = [raw_message(f"bulk {n:03d}") for n in range(250)]
    uids = box.append_many(raws)

    assert len(uids) == 250
    assert uids == sorted(uids)
    assert box.message_count() == 250
    fetched = fetch_all(box)
    assert [fetched[uid][b"BODY[]"] for uid in uids] == raws


def test_mailboxes_are_separate(server: ImapTestServer) -> None:
    first, second = server.new_mailbox(), server.new_mailbox()
    try:
        assert first.username != second.username
        first.append(raw_message("only in the first"))
        assert first.message_count() == 1
        assert second.message_count() == 0
    finally:
        first.close()
        second.close()


def test_recreated_inbox_is_empty_with_new_uidvalidity(box: ImapMailbox) -> None:
    box.append_many([raw_message("old 1"), raw_message("old 2")])
    old_validity = box.uidvalidity()

    new_validity = box.recreate_folder("INBOX")

    assert new_validity != old_validity
    assert box.uidvalidity() == new_validity
    assert box.message_count() == 0
    uid = box.append(raw_message("after recreation"))
    assert fetch_all(box)[uid][b"BODY[]"] == raw_message("after recreation")


def test_recreated_folder_is_empty_with_new_uidvalidity(box: ImapMailbox) -> None:
    box.create_folder("Archive")
    box.create_folder("Archive")  # Creating an existing folder is harmless.
    box.append(raw_message("archived"), folder="Archive")
    old_validity = box.uidvalidity("Archive")

    new_validity = box.recreate_folder("Archive")

    assert new_validity != old_validity
    assert box.message_count("Archive") == 0


def test_idle_reports_an_appended_message(box: ImapMailbox) -> None:
    watcher = box.client()
    try:
        watcher.select_folder("INBOX")
        watcher.idle()
        box.append(raw_message("wake up"))
        responses: list[tuple[object, ...]] = []
        deadline = time.monotonic() + IDLE_WAIT_SECONDS
        while not any(b"EXISTS" in response for response in responses):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            responses.extend(watcher.idle_check(timeout=min(1.0, remaining)))
        watcher.idle_done()
        assert (1, b"EXISTS") in responses
    finally:
        # pymap may push a late untagged FETCH after IDLE that imaplib's LOGOUT cannot
        # parse: then the connection is dropped rather than left open.
        close_quietly(watcher)


def test_wrong_password_is_refused(box: ImapMailbox) -> None:
    impostor = ImapMailbox(box.kind, box.host, box.port, box.username, "wrong-password")
    with pytest.raises(LoginError):
        impostor.client()


def test_pymap_new_mailbox_server_stops_on_close(pymap_server: PymapServer) -> None:
    mailbox = pymap_server.new_mailbox()
    assert mailbox.port != pymap_server.port
    mailbox.close()
    with pytest.raises(OSError):
        socket.create_connection((mailbox.host, mailbox.port), timeout=2).close()


def test_dovecot_named_users(dovecot_server: DovecotServer) -> None:
    dovecot_server.add_user("owner-named@example.test", "owner-pw")
    owner = dovecot_server.account("owner-named@example.test", "owner-pw")
    owner.append(raw_message("for the owner"))
    assert owner.message_count() == 1
    with pytest.raises(LoginError):
        dovecot_server.account("owner-named@example.test", "nope").client()
    with pytest.raises(ValueError):
        dovecot_server.add_user("bad:name@example.test", "pw")


def test_dovecot_tls_port_verifies_with_its_ca_file(dovecot_server: DovecotServer) -> None:
    assert dovecot_server.tls_port is not None
    assert dovecot_server.ca_file is not None
    mailbox = dovecot_server.new_mailbox()
    context = ssl.create_default_context(cafile=dovecot_server.ca_file)
    with IMAPClient("127.0.0.1", dovecot_server.tls_port, ssl=True, ssl_context=context) as imap:
        imap.login(mailbox.username, mailbox.password)
        assert imap.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    # Without the CA file the self-signed certificate is refused.
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(
            "127.0.0.1",
            dovecot_server.tls_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
        )


# ---------------------------------------------------------------------------
# Ports


def test_wait_for_port_times_out_on_a_closed_port() -> None:
    port = free_port()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout=0.3)


def test_wait_for_port_checks_the_greeting(pymap_server: PymapServer) -> None:
    wait_for_port(pymap_server.host, pymap_server.port, timeout=5, expect=b"* OK")
    with pytest.raises(TimeoutError):
        wait_for_port(pymap_server.host, pymap_server.port, timeout=0.3, expect=b"220 ")


# ---------------------------------------------------------------------------
# SMTP


def outbound(subject: str, to: str = "customer@example.test") -> EmailMessage:
    """An outgoing message as the daemon would build it."""
    message = EmailMessage()
    message["From"] = "support@example.test"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@example.test>"
    message.set_content("Thank you for writing.\n")
    return message


def send(sink: SmtpSink, message: EmailMessage, **kwargs: object) -> None:
    """Send ``message`` to ``sink`` in plain text, as the outbox does."""
    asyncio.run(
        aiosmtplib.send(
            message,
            hostname=sink.hostname,
            port=sink.port,
            start_tls=False,
            use_tls=False,
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )
    )


def test_sink_records_a_plain_delivery(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, outbound("plain delivery"), recipients=["a@example.test", "b@example.test"])

    [mail] = smtp_sink.wait_for(1, timeout=10)
    assert mail.mail_from == "support@example.test"
    assert mail.rcpt_tos == ("a@example.test", "b@example.test")
    assert b"Subject: plain delivery" in mail.data
    assert b"Thank you for writing." in mail.data
    assert smtp_sink.messages == [mail]


def test_sink_with_auth_accepts_only_the_right_login() -> None:
    with SmtpSink(username="mailer", password="s3cret") as sink:
        send(sink, outbound("authenticated"), username="mailer", password="s3cret")
        [mail] = sink.wait_for(1, timeout=10)
        assert b"Subject: authenticated" in mail.data

        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            send(sink, outbound("bad password"), username="mailer", password="wrong")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            send(sink, outbound("no login"))
        assert refused.value.code == 530
        assert len(sink.messages) == 1


def test_sink_temporary_failure_then_success(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(451)

    with pytest.raises(aiosmtplib.SMTPDataError) as failure:
        send(smtp_sink, outbound("retry me"))
    assert failure.value.code == 451
    assert "try again later" in failure.value.message
    assert smtp_sink.messages == []
    assert len(smtp_sink.rejected) == 1

    send(smtp_sink, outbound("retry me"))
    [mail] = smtp_sink.wait_for(1, timeout=10)
    assert b"Subject: retry me" in mail.data


def test_sink_permanent_failure_repeats_as_often_as_asked(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(550, times=2)

    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError) as failure:
            send(smtp_sink, outbound("nobody home"))
        assert failure.value.code == 550
        assert "5.1.1 no such user" in failure.value.message
    send(smtp_sink, outbound("third time"))

    assert [b"third time" in mail.data for mail in smtp_sink.messages] == [True]
    assert len(smtp_sink.rejected) == 2


def test_sink_rejects_bad_fault_codes(smtp_sink: SmtpSink) -> None:
    with pytest.raises(ValueError):
        smtp_sink.fail_next(250)
    with pytest.raises(ValueError):
        smtp_sink.fail_next(451, times=0)


def test_sink_wait_for_raises_when_mail_does_not_come(smtp_sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError, match="got 0"):
        smtp_sink.wait_for(1, timeout=0.2)
