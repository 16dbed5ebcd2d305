"""``helpdesk demo``: the daemon on embedded loopback servers, with a scripted tour.

A pymap IMAP server and an aiosmtpd SMTP sink start on 127.0.0.1, a
configuration and a data directory are made in a temporary directory, and
the real daemon runs against them (IMAP IDLE included). The tour delivers a
handful of realistic customer emails, waits for the daemon to ingest each
step and prints the resulting tickets. With ``--serve`` everything keeps
running until Ctrl-C, so that you can append mail yourself and use the
other commands with the printed ``--config``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from helpdesk.config import load_config
from helpdesk.daemon import Daemon
from helpdesk.demo.imapserver import PymapServer
from helpdesk.demo.processes import free_port
from helpdesk.demo.smtpsink import SmtpSink
from helpdesk.errors import HelpdeskError
from helpdesk.owner.tokens import read_tokens
from helpdesk.store.records import utc_now
from helpdesk.store.store import Store

BUSINESS = "support@acme.example"
PASSWORD = "demo"
SERVE_PORTS = (1143, 1025)
STEP_TIMEOUT = 30.0
# Lines of the digest, and of the answer to the owner's question, the tour shows.
DIGEST_LINES = 22
ANSWER_LINES = 16


def _mail(
    sender: str,
    name: str,
    subject: str,
    text: str | None,
    *,
    html: str | None = None,
    reply_to: EmailMessage | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """A customer message as a mail client would write it."""
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = f"Acme Tea Co. <{BUSINESS}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(date or utc_now())
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    if reply_to is not None:
        message["In-Reply-To"] = reply_to["Message-ID"]
        message["References"] = reply_to["Message-ID"]
    for key, value in (headers or {}).items():
        message[key] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return message


def history_messages() -> list[EmailMessage]:
    """Mail already in the mailbox before helpdesk starts: one old, one from this week."""
    old = _mail(
        "tom.baker@example.co.uk",
        "Tom Baker",
        "Do you sell gift cards?",
        "Hi, do you sell gift cards? Tom",
        date=utc_now() - timedelta(days=40),
    )
    recent = _mail(
        "ines@example.pt",
        "Inês Costa",
        "Is the Darjeeling back in stock?",
        "Hello, is the first-flush Darjeeling back in stock? Inês",
        date=utc_now() - timedelta(days=3),
    )
    return [old, recent]


def tour_messages() -> list[tuple[str, list[EmailMessage]]]:
    """The steps of the tour: a caption and the mail delivered at that step."""
    order = _mail(
        "zoe.martin@example.org",
        "Zoë Martin",
        "Order #1042: the teapot lid does not fit",
        "Hello,\n\nmy order #1042 arrived today, but the lid of the blue teapot does not fit.\n"
        "Can you send a replacement lid?\n\nThanks,\nZoë",
    )
    question = _mail(
        "jose@example.es",
        "José García",
        "¿Envían a Canarias?",
        None,
        html="<p>Hola,</p><p>¿Hacen envíos a <b>Canarias</b>? Me interesa el "
        "<a href='https://acme.example/sencha'>Sencha</a>.</p><p>Gracias</p>",
    )
    wholesale = _mail(
        "buyer@cafe.example",
        "Priya Shah",
        "Wholesale prices for 20 kg Assam",
        "Hi, we run a small café and would like a quote for 20 kg of Assam per month.",
        html="<p>Hi, we run a small café and would like a quote for <b>20 kg of Assam</b> per month.</p>",
    )
    follow_up = _mail(
        "zoe.martin@example.org",
        "Zoë Martin",
        "Re: Order #1042: the teapot lid does not fit",
        "Here is a photo of the lid, in case you need it.\n\n"
        "On Tue, Zoë Martin <zoe.martin@example.org> wrote:\n> my order #1042 arrived today",
        reply_to=order,
    )
    out_of_office = _mail(
        "buyer@cafe.example",
        "Priya Shah",
        "Automatic reply: Wholesale prices for 20 kg Assam",
        "I am out of the office until Monday.",
        reply_to=wholesale,
        headers={"Auto-Submitted": "auto-replied"},
    )
    newsletter = _mail(
        "news@teatrade.example",
        "Tea Trade News",
        "This week in tea",
        "Prices of Darjeeling first flush are up 8%.",
        headers={"List-Id": "<weekly.teatrade.example>", "Precedence": "list"},
    )
    return [
        (
            "Three customers write: a plain-text complaint, an HTML-only question,"
            " a multipart quote request.",
            [order, question, wholesale],
        ),
        (
            "Zoë replies in her thread; Priya's mail server sends an out-of-office; a newsletter arrives.",
            [follow_up, out_of_office, newsletter],
        ),
    ]


def write_demo_config(directory: Path, imap_port: int, smtp_port: int) -> Path:
    """A configuration for the loopback servers, with data inside ``directory``."""
    path = directory / "config.toml"
    path.write_text(
        f"""[business]
name = "Acme Tea Co."
legal_name = "Acme Tea Company Ltd."
email = "{BUSINESS}"
address = "1 Harbour Street, Portsmouth PO1 2AB, United Kingdom"
tax_id = "GB123456789"
timezone = "Europe/London"

[owner]
email = "owner@acme.example"
name = "Sam Owner"

[imap]
host = "127.0.0.1"
port = {imap_port}
security = "none"
username = "{BUSINESS}"
password = "{PASSWORD}"
poll_interval = 30

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[storage]
path = "data"
""",
        encoding="utf-8",
    )
    return path


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _ports(serve: bool) -> tuple[int, int]:
    """Fixed, well-known ports for --serve (matching config.toml) when they are free."""
    if serve:
        try:
            import socket

            for port in SERVE_PORTS:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return SERVE_PORTS
        except OSError:
            pass
    return free_port(), free_port()


CommandLine = Callable[[Sequence[str]], int]


def run_demo(command_line: CommandLine, serve: bool = False) -> int:
    """Run the tour; with ``serve`` keep everything running until Ctrl-C.

    ``command_line`` runs a ``helpdesk`` command (the tour shows the tickets
    as the command line prints them); it is passed in so that the demo does
    not depend on the command-line module that starts it.
    """
    # The tour prints what matters; routine log lines would drown it.
    for name in ("helpdesk", "mail.log"):
        logging.getLogger(name).setLevel(logging.WARNING)
    imap_port, smtp_port = _ports(serve)
    with tempfile.TemporaryDirectory(prefix="helpdesk-demo-") as temporary:
        directory = Path(temporary)
        config_path = write_demo_config(directory, imap_port, smtp_port)
        config = load_config(config_path)
        print(f"Starting loopback IMAP (pymap) on 127.0.0.1:{imap_port} and SMTP on 127.0.0.1:{smtp_port}")
        with PymapServer(BUSINESS, PASSWORD, port=imap_port) as imap, SmtpSink(port=smtp_port) as sink:
            for message in history_messages():
                imap.append(message.as_bytes())
            daemon = Daemon(config)
            worker = threading.Thread(target=daemon.run_forever, kwargs={"install_signals": False})
            worker.start()
            try:
                tour = Tour(config_path, config.storage_path, imap, sink, command_line)
                tour.run()
                if serve:
                    _serve(config_path, imap_port, smtp_port)
            finally:
                daemon.request_stop()
                worker.join(timeout=30)
        print("\nDemo finished.")
    return 0


class Tour:
    """The scripted steps of the demo, each waiting for the daemon to finish its part."""

    def __init__(
        self, config_path: Path, data_dir: Path, imap: PymapServer, sink: SmtpSink, command_line: CommandLine
    ) -> None:
        self.config_path = config_path
        self.command_line = command_line
        self.data_dir = data_dir
        self.imap = imap
        self.sink = sink
        self.shown = 0

    def _wait(self, condition: Callable[[], bool], what: str) -> None:
        if not _wait_for(condition, STEP_TIMEOUT):
            raise HelpdeskError(f"the daemon did not {what} in time")

    def _store(self) -> Store:
        return Store(self.data_dir, readonly=True)

    def _show_delivered(self) -> None:
        """Print what reached the SMTP sink since the last call."""
        messages = self.sink.messages[self.shown :]
        self.shown += len(messages)
        print("   Sent by SMTP:")
        for mail in messages:
            parsed = message_from_bytes(mail.data, policy=policy.default)
            print(f"   -> {parsed['To']}: {parsed['Subject']}  ({parsed['X-Helpdesk-Kind']})")

    def first_start(self) -> None:
        """The mailbox already held mail: imported quietly, one summary to the owner."""
        print(
            "\n== Step 0: the mailbox already holds two messages from before helpdesk. They are imported"
            " as history: nothing goes to those customers, the owner gets one summary."
        )
        self._wait(lambda: len(self.sink.messages) > self.shown, "send the import summary")
        summary = message_from_bytes(self.sink.messages[-1].data, policy=policy.default)
        body = summary.get_body(("plain",))
        for line in (body.get_content() if body else "").splitlines():
            print(f"   | {line}")
        self._show_delivered()

    def run(self) -> None:
        self._wait(lambda: self._store().folder_state("INBOX") is not None, "start watching the mailbox")
        self.first_start()
        total = len(history_messages())
        for number, (caption, messages) in enumerate(tour_messages(), start=1):
            print(f"\n== Step {number}: {caption}")
            for message in messages:
                self.imap.append(message.as_bytes())
            total += len(messages)
            # IDLE tells the daemon about the new mail within about a second.
            self._wait(lambda expected=total: _seen(self.data_dir) >= expected, "ingest the demo mail")
            self._wait(lambda: not self._store().pending_events(), "act on the demo mail")
            self._wait(lambda: len(self.sink.messages) > self.shown, "send its mail")
            time.sleep(0.5)
            self.command_line(["--config", str(self.config_path), "tickets"])
            self._show_delivered()
        zoe = self._zoe()
        self.owner_replies(zoe)
        self.owner_asks()
        print(f"\n== Ticket #{zoe} in full:")
        self.command_line(["--config", str(self.config_path), "show", str(zoe)])
        print("\n== Automatic mail that opened no ticket is logged with the reason:")
        for entry in self._store().skipped:
            print(f"   {entry['from']}: {entry['reason']}")
        self.digest()

    def digest(self) -> None:
        """The top of the weekly digest, as ``helpdesk digest --preview`` prints it."""
        print(
            "\n== Every Monday at 08:00 the owner gets a digest. The top of this week's (digest --preview):"
        )
        preview = io.StringIO()
        with contextlib.redirect_stdout(preview):
            self.command_line(["--config", str(self.config_path), "digest", "--preview"])
        lines = preview.getvalue().splitlines()
        for line in lines[:DIGEST_LINES]:
            print(f"   | {line}")
        print(f"   | ... ({len(lines) - DIGEST_LINES} more lines)")

    def _zoe(self) -> int:
        """The number of Zoë's ticket (after the two imported ones)."""
        tickets = self._store().tickets()
        return next(ticket.id for ticket in tickets if ticket.customer == "zoe.martin@example.org")

    def owner_replies(self, zoe: int) -> None:
        """The owner answers Zoë's ticket from an ordinary mail client, with a command."""
        print(
            f"\n== Step 3: the owner replies to the notification about ticket #{zoe},"
            " adding '#priority high'."
        )
        notification = next(
            parsed
            for parsed in (message_from_bytes(m.data, policy=policy.default) for m in self.sink.messages)
            if parsed["X-Helpdesk-Kind"] == "owner-notification" and parsed["X-Helpdesk-Ticket"] == str(zoe)
        )
        reply = EmailMessage()
        reply["From"] = "Sam Owner <owner@acme.example>"
        reply["To"] = notification["Reply-To"]
        reply["Subject"] = "Re: " + str(notification["Subject"])
        reply["Date"] = format_datetime(utc_now())
        reply["Message-ID"] = make_msgid(domain="acme.example")
        reply["In-Reply-To"] = notification["Message-ID"]
        reply["References"] = notification["Message-ID"]
        reply.set_content(
            "So sorry about that! A new lid is on its way today, no need to send the old one back.\n\n"
            "#priority high\n\n-- \nSam\n\nOn Tue, Acme Tea Co. wrote:\n"
            "> my order #1042 arrived today, but the lid of the blue teapot does not fit.\n"
        )
        print(f"   The owner's mail client sends it to the reply address {reply['To']}")
        self.imap.append(reply.as_bytes())
        self._wait(lambda: self._priority(zoe) == "high", "apply the owner's command")
        self._wait(
            lambda: any(b"X-Helpdesk-Kind: reply" in m.data for m in self.sink.messages[self.shown :]),
            "relay the owner's reply",
        )
        relayed = next(m for m in self.sink.messages[self.shown :] if b"X-Helpdesk-Kind: reply" in m.data)
        parsed = message_from_bytes(relayed.data, policy=policy.default)
        body = parsed.get_body(("plain",))
        print(f"   Zoë receives, threaded under her mail (In-Reply-To {parsed['In-Reply-To']}):")
        print(f"   Subject: {parsed['Subject']}")
        for line in (body.get_content() if body else "").splitlines():
            print(f"   | {line}")
        self._show_delivered()
        self.command_line(["--config", str(self.config_path), "tickets"])

    def owner_asks(self) -> None:
        """The owner asks the helpdesk by mail: ``#list mine`` to the command address."""
        address = read_tokens(self.data_dir, BUSINESS).console_address()
        print(
            f"\n== Step 4: the owner writes '#list mine' to the command address {address}"
            " (every notification names it) and gets the answer by mail:"
        )
        ask = EmailMessage()
        ask["From"] = "Sam Owner <owner@acme.example>"
        ask["To"] = address
        ask["Subject"] = "What is waiting?"
        ask["Date"] = format_datetime(utc_now())
        ask["Message-ID"] = make_msgid(domain="acme.example")
        ask.set_content("#list mine\n\n-- \nSam\n")
        self.imap.append(ask.as_bytes())
        kind = b"X-Helpdesk-Kind: console-answer"
        self._wait(
            lambda: any(kind in m.data for m in self.sink.messages[self.shown :]),
            "answer the owner's question",
        )
        answer = next(m for m in self.sink.messages[self.shown :] if kind in m.data)
        body = message_from_bytes(answer.data, policy=policy.default).get_body(("plain",))
        lines = (body.get_content() if body else "").splitlines()
        for line in lines[:ANSWER_LINES]:
            print(f"   | {line}")
        print(f"   | ... ({len(lines) - ANSWER_LINES} more lines)")
        self._show_delivered()

    def _priority(self, ticket_id: int) -> str | None:
        ticket = self._store().ticket(ticket_id)
        return ticket.priority if ticket else None


def _seen(data_dir: Path) -> int:
    """Customer messages the daemon has dealt with: recorded on tickets or skipped."""
    store = Store(data_dir, readonly=True)
    inbound = sum(
        1 for ticket in store.tickets() for message in store.messages(ticket.id) if message.direction == "in"
    )
    return inbound + len(store.skipped)


def _serve(config_path: Path, imap_port: int, smtp_port: int) -> None:
    print(
        f"\nServing until Ctrl-C. IMAP 127.0.0.1:{imap_port} (user {BUSINESS}, password {PASSWORD}),"
        f" SMTP 127.0.0.1:{smtp_port}.\nTry: helpdesk --config {config_path} tickets"
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    stop.wait()
