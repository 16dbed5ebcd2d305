"""Build the bytes of an outbound message: headers, text and HTML parts, attachments.

Every header value that can carry customer data (names, subjects, ids) is
cleaned of CR and LF before it reaches the email package, so no customer can
inject a header; non-ASCII names and subjects are RFC 2047-encoded by the
``SMTP`` policy. The Message-ID has a random part on the business's domain
and is final: it is what the outbox stores and what replies will cite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REFERENCES = 20
# Headers set with set_raw (already encoded and folded here) are written as
# they are: the email package would otherwise refold a long one itself.
POLICY = SMTP.clone(refold_source="none")


@dataclass(frozen=True)
class OutboundAttachment:
    """A file sent with an outbound message."""

    filename: str
    content_type: str
    payload: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class Outbound:
    """Everything needed to compose one outbound message."""

    kind: str
    to: tuple[tuple[str, str], ...]
    subject: str
    text: str
    html: str | None = None
    cc: tuple[tuple[str, str], ...] = ()
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False
    ticket_id: int | None = None
    attachments: tuple[OutboundAttachment, ...] = field(default_factory=tuple)

    @property
    def recipients(self) -> tuple[str, ...]:
        """The envelope recipients: every To and Cc address, once."""
        seen: dict[str, None] = {}
        for _, email in (*self.to, *self.cc):
            seen.setdefault(email.lower(), None)
        return tuple(seen)


def clean_header(value: str) -> str:
    """One line of header text: control characters (CR, LF, NUL…) become spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value).split())


def _address(name: str, email: str) -> HeaderAddress:
    local, _, domain = clean_header(email).partition("@")
    return HeaderAddress(display_name=clean_header(name), username=local, domain=domain)


def _set_ids(message: EmailMessage, name: str, ids: list[str]) -> None:
    """Write msg-ids as they are, one per line.

    The email package would RFC 2047-encode a long one (Exchange ids have 80
    characters), and no mail client reads an encoded word as an id.
    """
    message.set_raw(name, "\r\n ".join(f"<{item}>" for item in ids))


def _set_text(message: EmailMessage, name: str, value: str) -> None:
    """Write free text; non-ASCII text is encoded as one run of encoded words.

    The email package's own folding may put the space between two words
    outside the encoded words, where RFC 2047 decoders drop it.
    """
    if value.isascii():
        message[name] = value
    else:
        message.set_raw(name, Header(value, "utf-8", header_name=name).encode(linesep="\r\n"))


def new_message_id(domain: str) -> str:
    """A fresh Message-ID (without angle brackets) on ``domain``."""
    return make_msgid(domain=domain).strip("<>")


def compose(
    outbound: Outbound, *, sender_name: str, sender_email: str, message_id: str, date: datetime
) -> bytes:
    """The complete RFC 5322 bytes of ``outbound``, from the business address."""
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(sender_name, sender_email)
    message["To"] = [_address(name, email) for name, email in outbound.to]
    if outbound.cc:
        message["Cc"] = [_address(name, email) for name, email in outbound.cc]
    if outbound.reply_to:
        message["Reply-To"] = _address(sender_name, outbound.reply_to)
    _set_text(message, "Subject", clean_header(outbound.subject))
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{clean_header(message_id)}>"
    if outbound.in_reply_to:
        _set_ids(message, "In-Reply-To", [clean_header(outbound.in_reply_to)])
    references = [clean_header(item) for item in outbound.references if item][-MAX_REFERENCES:]
    if references:
        _set_ids(message, "References", references)
    if outbound.automatic:
        # RFC 3834: other automatons must not answer this message.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message["X-Helpdesk-Kind"] = outbound.kind
    if outbound.ticket_id is not None:
        message["X-Helpdesk-Ticket"] = str(outbound.ticket_id)
    message.set_content(outbound.text, cte="quoted-printable")
    if outbound.html is not None:
        message.add_alternative(outbound.html, subtype="html", cte="quoted-printable")
    for attachment in outbound.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.payload,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=clean_header(attachment.filename),
            cid=f"<{clean_header(attachment.content_id)}>" if attachment.content_id else None,
        )
    return message.as_bytes()
