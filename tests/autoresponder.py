"""An auto-responder in a process of its own, for the mail-loop tests.

It is the SMTP server the daemon sends to (aiosmtpd on 127.0.0.1). It keeps
every delivery, envelope and bytes, in a JSON-lines log, and answers every
message addressed to one of its own addresses (a customer who is away) with
an out-of-office reply that it APPENDs to the business's IMAP mailbox: that
is where the reply would arrive in real life. The reply is in the mailbox
before the responder accepts the message with 250, so once the daemon's
send pass has returned, every answer to it can be fetched; the tests never
wait for the responder.

Three styles of responder:

``polite``
    RFC 3834: ``Auto-Submitted: auto-replied``, In-Reply-To and References,
    sent to the envelope sender (the business address). Not quite polite: a
    truly well-behaved responder would not answer our acknowledgements at
    all, as they carry ``Auto-Submitted`` themselves.
``rude``
    No automatic marker whatsoever: only an "Out of office" subject and
    In-Reply-To, sent to Reply-To (the ticket's token address), as some
    mail-client rules and old responders do.
``amnesiac``
    No marker and no threading either: sent to From (the plain business
    address) without In-Reply-To or References, with a subject that changes
    with every reply, so that each reply looks like a new conversation.

Run it as ``python -m tests.autoresponder --log FILE --style rude --address
zoe@example.org --imap-host H --imap-port P --imap-user U`` with the IMAP
password in the environment variable ``AUTORESPONDER_IMAP_PASSWORD``; it
prints the port it listens on as its first line and runs until SIGTERM.
:class:`AutoResponder` does all that from a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from helpdesk.demo.imapserver import ImapMailbox
from helpdesk.demo.processes import terminate

STYLES = ("polite", "rude", "amnesiac")
PASSWORD_VARIABLE = "AUTORESPONDER_IMAP_PASSWORD"
OUT_OF_OFFICE = (
    "Thank you for your message. I am out of the office until Monday 9 March\n"
    "with no access to e-mail. Your message will not be forwarded.\n"
)


@dataclass(frozen=True)
class Delivery:
    """One message the responder received, and whether it answered it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    answered: bool

    @property
    def message(self) -> EmailMessage:
        """The delivered message, parsed."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def out_of_office(
    received: EmailMessage, envelope_sender: str, responder: str, style: str, number: int
) -> bytes:
    """The responder's answer number ``number`` to ``received``, in ``style``."""
    original_subject = str(received.get("Subject", ""))
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = responder
    if style == "polite":
        reply["To"] = envelope_sender
    elif style == "rude":
        reply["To"] = str(received.get("Reply-To") or received.get("From"))
    else:
        reply["To"] = str(received.get("From"))
    reply["Date"] = format_datetime(datetime.now(UTC))
    reply["Message-ID"] = make_msgid(domain=responder.rpartition("@")[2])
    message_id = str(received.get("Message-ID", "")).strip()
    if style == "polite":
        reply["Subject"] = f"Auto: Out of office: {original_subject}"
        reply["Auto-Submitted"] = "auto-replied (vacation)"
        reply["In-Reply-To"] = message_id
        reply["References"] = message_id
    elif style == "rude":
        reply["Subject"] = "Out of office"
        reply["In-Reply-To"] = message_id
    else:
        reply["Subject"] = f"Out of office (automatic reply {number})"
    reply.set_content(OUT_OF_OFFICE)
    return reply.as_bytes()


class _Handler:
    """aiosmtpd handler: log the delivery, answer it if it is for us, accept."""

    def __init__(self, mailbox: ImapMailbox, log: Path, style: str, addresses: Sequence[str]) -> None:
        self.mailbox = mailbox
        self.log = log
        self.style = style
        self.addresses = {address.lower() for address in addresses}
        self.answers = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        rcpt_tos = [str(rcpt) for rcpt in envelope.rcpt_tos]
        mine = [rcpt for rcpt in rcpt_tos if rcpt.lower() in self.addresses]
        if mine:
            self.answers += 1
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            answer = out_of_office(parsed, str(envelope.mail_from), mine[0], self.style, self.answers)
            await asyncio.to_thread(self.mailbox.append, answer)
        record = {
            "mail_from": str(envelope.mail_from),
            "rcpt_tos": rcpt_tos,
            "data": base64.b64encode(raw).decode("ascii"),
            "answered": bool(mine),
        }
        with self.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK"


async def serve(mailbox: ImapMailbox, log: Path, style: str, addresses: Sequence[str]) -> None:
    """Listen on a free loopback port, print it, and serve until SIGTERM or SIGINT."""
    from aiosmtpd.smtp import SMTP

    handler = _Handler(mailbox, log, style, addresses)
    loop = asyncio.get_running_loop()
    # A fixed server name: aiosmtpd would otherwise look up the host's FQDN.
    server = await loop.create_server(lambda: SMTP(handler, hostname="localhost"), "127.0.0.1", 0)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> None:
    """The child process: parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--style", choices=STYLES, required=True)
    parser.add_argument("--address", action="append", default=[])
    parser.add_argument("--imap-host", required=True)
    parser.add_argument("--imap-port", type=int, required=True)
    parser.add_argument("--imap-user", required=True)
    args = parser.parse_args(argv)
    mailbox = ImapMailbox(
        "imap", args.imap_host, args.imap_port, args.imap_user, os.environ[PASSWORD_VARIABLE]
    )
    asyncio.run(serve(mailbox, args.log, args.style, args.address))


class AutoResponder:
    """Runs the responder process for a test: start, read deliveries, stop.

    ``hostname`` and ``port`` make it usable wherever a test passes an SMTP
    sink (``tests.helpers.write_config``); :attr:`messages` has every
    delivery in arrival order, like :attr:`helpdesk.demo.smtpsink.SmtpSink.messages`.
    """

    hostname = "127.0.0.1"

    def __init__(self, mailbox: ImapMailbox, log: Path, style: str, addresses: Sequence[str]) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}")
        self.mailbox = mailbox
        self.log = log
        self.style = style
        self.addresses = list(addresses)
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start the child process; returns once it listens."""
        command = [
            sys.executable,
            "-m",
            "tests.autoresponder",
            "--log",
            str(self.log),
            "--style",
            self.style,
            "--imap-host",
            self.mailbox.host,
            "--imap-port",
            str(self.mailbox.port),
            "--imap-user",
            self.mailbox.username,
        ]
        for address in self.addresses:
            command += ["--address", address]
        self.log.touch()
        environment = {**os.environ, PASSWORD_VARIABLE: self.mailbox.password}
        root = str(Path(__file__).resolve().parents[1])
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the auto-responder did not start (it printed {line!r})")
        self.port = int(line)
        return self

    def stop(self) -> None:
        """Stop the child process (safe to call twice)."""
        process, self._process = self._process, None
        if process is None:
            return
        terminate(process, timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    @property
    def messages(self) -> list[Delivery]:
        """Every delivery so far, oldest first."""
        deliveries = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            deliveries.append(
                Delivery(
                    mail_from=record["mail_from"],
                    rcpt_tos=tuple(record["rcpt_tos"]),
                    data=base64.b64decode(record["data"]),
                    answered=record["answered"],
                )
            )
        return deliveries

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    main()
