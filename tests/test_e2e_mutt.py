"""End to end with a real mail client: the owner answers a notification in mutt.

The daemon runs against a real IMAP mailbox and an aiosmtpd sink, as in
``tests/test_e2e_outbound.py``. The owner notification it sends is put into
a Maildir that ``mutt`` (Debian's) opens inside a detached ``tmux`` session;
the test presses ``r`` (reply) and ``y`` (send) with ``tmux send-keys``, and
an editor script writes the owner's answer above the quoted notification,
the way a person types it. mutt sends through SMTP to a second sink; what it
sent is appended to the business mailbox, which is where the owner's mail
arrives in real life, and the daemon's next cycle must relay the answer to
the customer and apply the ``#close`` line.

Without mutt or tmux the test is skipped, except under CI (``CI`` set),
where it fails: CI installs both.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.smtpsink import SmtpSink
from tests.corpus import customer_mail
from tests.helpers import BUSINESS, OWNER
from tests.test_e2e_outbound import Harness, bare, parse, text_of

# What the owner types, above the quoted notification: two paragraphs of
# answer and a command line that must not reach the customer.
OWNER_ANSWER = (
    "A new lid is on its way to you, Zoë; it should arrive on Thursday.\n\nSorry for the trouble!\n#close\n"
)
# The owner's own signature in mutt: it must not reach the customer either.
OWNER_SIGNATURE = "Sam (typed in mutt on the shop laptop)\nmobile +44 7700 900123\n"

# The editor mutt starts for the reply: it puts the answer above what mutt
# prepared (signature, attribution line, quoted original) and exits at once.
EDITOR_SCRIPT = """#!/bin/sh
set -e
{ cat "$ANSWER_FILE"; printf '\\n'; cat "$1"; } > "$1.new"
mv "$1.new" "$1"
"""

# How long one step of the mutt session may take before the test gives up.
STEP_TIMEOUT = 30.0


def _require(*programs: str) -> None:
    """Skip (locally) or fail (under CI) when a program is not installed."""
    missing = [program for program in programs if shutil.which(program) is None]
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed (apt-get install mutt tmux)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install them", pytrace=False)
    pytest.skip(message)


def write_maildir(root: Path, messages: list[bytes]) -> Path:
    """A Maildir at ``root`` holding ``messages`` as new mail (LF line endings, as on disk)."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for number, raw in enumerate(messages, start=1):
        (root / "new" / f"{number}.helpdesk-test").write_bytes(raw.replace(b"\r\n", b"\n"))
    return root


def write_muttrc(directory: Path, smtp_port: int) -> Path:
    """A muttrc that sends through the sink and never stops to ask a question."""
    editor = directory / "editor.sh"
    editor.write_text(EDITOR_SCRIPT, encoding="utf-8")
    editor.chmod(0o755)
    signature = directory / "signature"
    signature.write_text(OWNER_SIGNATURE, encoding="utf-8")
    settings = {
        "from": OWNER,
        "realname": "Sam Owner",
        "hostname": "acme.example",
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}/",
        "editor": str(editor),
        "tmpdir": str(directory),
        "charset": "utf-8",
        "send_charset": "utf-8",
        "signature": str(signature),
        "record": "",
        "header_cache": "",
    }
    switches = {
        # The reply itself: quote the original, the signature between the
        # answer and the quote (as most people top-post), no header editing.
        "include": "yes",
        "edit_headers": "no",
        "sig_dashes": "yes",
        "sig_on_top": "yes",
        # Answer to Reply-To (the token address) without asking, and ask
        # nothing else either: no To/Subject/Cc/Bcc prompts, no copies.
        "reply_to": "yes",
        "fast_reply": "yes",
        "askcc": "no",
        "askbcc": "no",
        "abort_noattach": "no",
        "abort_unmodified": "no",
        "copy": "no",
        "postpone": "no",
        "move": "no",
        "confirmappend": "no",
        "confirmcreate": "no",
        "quit": "yes",
        "wait_key": "no",
        "beep": "no",
        # Plain SMTP to the loopback sink, no signing or encryption.
        "ssl_starttls": "no",
        "ssl_force_tls": "no",
        "crypt_autosign": "no",
        "crypt_autoencrypt": "no",
        "crypt_replyencrypt": "no",
        "crypt_replysign": "no",
        "crypt_opportunistic_encrypt": "no",
    }
    lines = [f'set {name}="{value}"' for name, value in settings.items()]
    lines += [f"set {name}={value}" for name, value in switches.items()]
    # Of the notification's text and HTML parts, show and quote the text.
    lines.append("alternative_order text/plain text/html")
    path = directory / "muttrc"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class MuttSession:
    """mutt in a detached tmux session on a private tmux server.

    The tmux server gets its own socket and its own configuration file, so
    neither a running tmux nor anybody's ``~/.tmux.conf`` can interfere; the
    terminal type is ``screen`` (in Debian's ncurses-base, so its terminfo
    entry is always there) and the window has a fixed size, so that mutt's
    screens look the same everywhere. mutt runs with ``-n`` (no system
    muttrc) and ``-F`` (only the test's muttrc).
    """

    def __init__(self, workdir: Path, muttrc: Path, folder: Path, answer_file: Path) -> None:
        # A short socket directory: Unix socket paths are limited to ~100 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="mutt-tmux-"))
        self.socket = self._socket_dir / "socket"
        self.config = self._socket_dir / "tmux.conf"
        self.config.write_text("set -g default-terminal screen\nset -g history-limit 0\n", encoding="utf-8")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "ANSWER_FILE": str(answer_file),
        }
        self.command = shlex.join(["mutt", "-n", "-F", str(muttrc), "-f", str(folder)])

    def start(self) -> None:
        """Start tmux with mutt in it."""
        self._tmux("new-session", "-d", "-s", "owner", "-x", "132", "-y", "43", self.command)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def keys(self, *keys: str) -> None:
        """Type ``keys`` into mutt."""
        self._tmux("send-keys", "-t", "owner", *keys)

    def screen(self) -> str:
        """What the terminal shows now."""
        return self._tmux("capture-pane", "-p", "-t", "owner")

    def wait_for_screen(self, text: str, timeout: float = STEP_TIMEOUT) -> str:
        """Wait until ``text`` is on the screen; fail with the screen if it never is."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() >= deadline:
                raise AssertionError(f"{text!r} did not appear in mutt within {timeout} s:\n{screen}")
            time.sleep(0.05)

    def reply_and_send(self, shown: str, sink: SmtpSink) -> None:
        """Reply to the message listed as ``shown``, send, and wait until ``sink`` has it.

        The answer's text comes from the answer file (the editor in the muttrc).
        """
        self.wait_for_screen(shown)
        self.keys("r")
        self.wait_for_screen("y:Send")
        self.keys("y")
        try:
            sink.wait_for(1, timeout=STEP_TIMEOUT)
        except TimeoutError as exc:
            raise AssertionError(f"mutt sent nothing: {exc}\n{self.screen()}") from None
        self.wait_for_screen("Mail sent.")

    def stop(self) -> None:
        """Stop tmux (and mutt with it) and remove the socket directory."""
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"],
            env=self.env,
            capture_output=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def plain_text(message: EmailMessage) -> str:
    """The text part with LF line endings (SMTP delivers CRLF)."""
    return text_of(message).replace("\r\n", "\n")


@pytest.fixture
def owner_smtp() -> Iterator[SmtpSink]:
    """The SMTP server the owner's mail client sends through."""
    with SmtpSink() as sink:
        yield sink


def test_owner_replies_in_mutt(tmp_path: Path, mailbox: ImapMailbox, smtp_sink: SmtpSink, owner_smtp) -> None:
    _require("mutt", "tmux")
    harness = Harness(tmp_path, mailbox, smtp_sink)
    try:
        _run(tmp_path, harness, owner_smtp)
    finally:
        harness.close()


def _run(tmp_path: Path, harness: Harness, owner_smtp: SmtpSink) -> None:
    # A customer writes; the daemon acknowledges and notifies the owner.
    harness.mailbox.append(
        customer_mail(
            "zoe@example.org",
            "Teapot arrived broken",
            "The lid is cracked.\nCan you help?",
            name="Zoë Martin",
            message_id="z1@example.org",
        )
    )
    harness.cycle()
    [notification_mail] = [mail for mail in harness.sink.messages if OWNER in mail.rcpt_tos]
    notification = parse(notification_mail.data)
    token_address = notification["Reply-To"].addresses[0].addr_spec
    assert token_address.startswith("support+t1-")

    # The owner opens it in mutt, presses r, and sends with y.
    workdir = tmp_path / "owner"
    workdir.mkdir()
    folder = write_maildir(workdir / "Mail", [notification_mail.data])
    answer_file = workdir / "answer.txt"
    answer_file.write_text(OWNER_ANSWER, encoding="utf-8")
    mutt = MuttSession(workdir, write_muttrc(workdir, owner_smtp.port), folder, answer_file)
    mutt.start()
    try:
        mutt.reply_and_send("[#1] Teapot arrived broken", owner_smtp)
    finally:
        mutt.stop()

    [sent] = owner_smtp.messages
    reply_from_mutt = parse(sent.data)
    # mutt answered the Reply-To (the owner's token address), not From.
    assert sent.rcpt_tos == (token_address,)
    assert [a.addr_spec for a in reply_from_mutt["To"].addresses] == [token_address]
    assert reply_from_mutt["From"].addresses[0].addr_spec == OWNER
    assert bare(reply_from_mutt["In-Reply-To"]) == bare(notification["Message-ID"])
    assert bare(notification["Message-ID"]) in str(reply_from_mutt["References"])
    mutt_text = plain_text(reply_from_mutt)
    assert mutt_text.startswith("A new lid is on its way")
    assert "> The lid is cracked." in mutt_text, "mutt quoted the notification"
    assert "Sam (typed in mutt" in mutt_text

    # The owner's mail arrives in the business mailbox; the daemon acts on it.
    before = len(harness.sink.messages)
    harness.mailbox.append(sent.data)
    harness.cycle()

    delivered = [parse(mail.data) for mail in harness.sink.messages[before:]]
    [reply] = [message for message in delivered if message["X-Helpdesk-Kind"] == "reply"]
    # Every line of the answer was understood: no command report to the owner.
    assert not [message for message in delivered if message["X-Helpdesk-Kind"] == "command-result"]
    assert [address.addr_spec for address in reply["To"].addresses] == ["zoe@example.org"]
    assert reply["X-Helpdesk-Kind"] == "reply"
    assert reply["From"].addresses[0].addr_spec == BUSINESS
    assert bare(reply["In-Reply-To"]) == "z1@example.org"
    assert "z1@example.org" in str(reply["References"])
    assert "[#1]" in str(reply["Subject"])
    assert reply.get("Auto-Submitted") is None

    body = plain_text(reply)
    # The owner's words, whole and in the reply template's frame.
    assert body.startswith("Hello Zoë,\n\n")
    assert (
        "Hello Zoë,\n\nA new lid is on its way to you, Zoë; it should arrive on Thursday.\n\n"
        "Sorry for the trouble!\n\nSam Owner\nAcme Tea Co.\n"
    ) in body
    # Nothing else of what mutt sent: no command, no signature, no quote.
    assert "#close" not in body
    assert "typed in mutt" not in body and "7700 900123" not in body
    assert "The lid is cracked." not in body and "wrote:" not in body and "\n>" not in body

    ticket = harness.helpdesk.store.ticket(1)
    assert ticket is not None
    assert ticket.status == "closed"
    assert any(entry["detail"] == "#close" for entry in ticket.history)
    # The relayed answer, then the thank-you note that the close sent.
    relayed, thanks = harness.helpdesk.store.messages(1)[-2:]
    assert relayed.direction == "out"
    assert relayed.text == (
        "A new lid is on its way to you, Zoë; it should arrive on Thursday.\n\nSorry for the trouble!"
    )
    assert bare(reply["Message-ID"]) == relayed.message_id
    assert thanks.direction == "out" and "from 1 to 5" in thanks.text
