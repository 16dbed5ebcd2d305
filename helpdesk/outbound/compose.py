"""Build the bytes of an outbound message: headers, text and HTML parts, attachments.

Every header value that can carry customer data (names, subjects, ids) is
cleaned of CR and LF before it reaches the email package, so no customer can
inject a header; non-ASCII names and subjects are RFC 2047-encoded by the
``SMTP`` policy. The Message-ID has a random part on the business's domain
and is final: it is what the outbox stores and what replies will cite.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from binascii import b2a_qp
from dataclasses import dataclass, field
from datetime import datetime
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REFERENCES = 20
# A header value that compat32 writes unchanged: printable ASCII words with single spaces.
_PLAIN_HEADER_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
# RFC 5322's recommended line length, at which compat32 folds.
MAX_HEADER_LINE = 78


class _Compat32(Compat32):
    """compat32 that writes a short, plain header line as it is, without its folding machinery.

    Folding (``email.header.Header``) is most of the cost of writing a
    message, and nearly every header helpdesk writes fits on one line
    unchanged; those get the very bytes compat32 would write
    (``tests/outbound/test_compose.py`` checks that on random values), the
    others go through compat32 itself.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= MAX_HEADER_LINE
            and _PLAIN_HEADER_VALUE.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# Headers set with set_raw (already encoded and folded here) are written as
# they are: the email package would otherwise refold a long one itself.
POLICY = _Compat32(linesep="\r\n")


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
    # Non-essential mail (surveys, greetings, thank-you notes) names the
    # customer's own unsubscribe address: a List-Unsubscribe header (RFC 2369).
    unsubscribe: str | None = None

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


def _address(name: str, email: str) -> str:
    """``Name <address>``, the name quoted or RFC 2047-encoded as needed.

    A non-ASCII domain is written in IDNA form; a non-ASCII local part cannot
    be written in a header at all and is encoded as text (such mail fails at
    the SMTP server, which reports it, rather than here).
    """
    name, email = clean_header(name), clean_header(email)
    local, _, domain = email.partition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
        email = f"{local}@{domain}"
    if email.isascii():
        return formataddr((name, email), charset="utf-8")
    return Header(f"{name} <{email}>".strip(), "utf-8").encode()


def _ids(ids: list[str]) -> str:
    """msg-ids as they are, one per line.

    Encoding must never touch them: a long id (Exchange ids have 80
    characters) in an encoded word is not an id to any mail client.
    """
    return "\r\n ".join(f"<{item}>" for item in ids)


def _text(value: str, name: str) -> str | Header:
    """Free header text; non-ASCII text becomes one run of encoded words.

    Encoding it as one run keeps the spaces between words, which some
    foldings put outside the encoded words, where decoders drop them.
    """
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _body(text: str, subtype: str) -> Message:
    """A UTF-8 text part, quoted-printable.

    The headers are MIMEText's own; the payload is encoded by binascii (in C), not by
    MIMEText's charset machinery, which would first encode an empty body in base64.
    """
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["MIME-Version"] = "1.0"
    part["Content-Transfer-Encoding"] = "quoted-printable"
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    part.set_payload(b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _boundary() -> str:
    """A random multipart boundary that no part can contain.

    ``=_`` never occurs in quoted-printable or base64 text (every part is one
    or the other), so the email package's search of the whole message for a
    collision, which compiles a regular expression per message, is not needed.
    """
    return f"=_helpdesk_{secrets.token_hex(12)}"


def new_message_id(domain: str) -> str:
    """A fresh Message-ID (without angle brackets) on ``domain``."""
    return make_msgid(domain=domain).strip("<>")


def compose(
    outbound: Outbound, *, sender_name: str, sender_email: str, message_id: str, date: datetime
) -> bytes:
    """The complete RFC 5322 bytes of ``outbound``, from the business address.

    Built on the email package's compat32 classes with explicit encoding:
    several times faster than the header-registry policy, with the same
    result for every header helpdesk writes.
    """
    body: Message = _body(outbound.text, "plain")
    if outbound.html is not None:
        alternative = MIMEMultipart("alternative", boundary=_boundary())
        alternative.attach(body)
        alternative.attach(_body(outbound.html, "html"))
        body = alternative
    message: Message = body
    if outbound.attachments:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        for attachment in outbound.attachments:
            message.attach(_attachment(attachment))
    message["From"] = _address(sender_name, sender_email)
    message["To"] = ", ".join(_address(name, email) for name, email in outbound.to)
    if outbound.cc:
        message["Cc"] = ", ".join(_address(name, email) for name, email in outbound.cc)
    if outbound.reply_to:
        message["Reply-To"] = _address(sender_name, outbound.reply_to)
    message["Subject"] = _text(clean_header(outbound.subject), "Subject")
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{clean_header(message_id)}>"
    if outbound.in_reply_to:
        message["In-Reply-To"] = _ids([clean_header(outbound.in_reply_to)])
    references = [clean_header(item) for item in outbound.references if item][-MAX_REFERENCES:]
    if references:
        message["References"] = _ids(references)
    if outbound.automatic:
        # RFC 3834: other automatons must not answer this message.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    if outbound.unsubscribe:
        address = clean_header(outbound.unsubscribe)
        message["List-Unsubscribe"] = f"<mailto:{address}?subject=unsubscribe>"
    message["X-Helpdesk-Kind"] = outbound.kind
    if outbound.ticket_id is not None:
        message["X-Helpdesk-Ticket"] = str(outbound.ticket_id)
    # MIME-Version belongs to the top-level headers only, after the others.
    del message["MIME-Version"]
    message["MIME-Version"] = "1.0"
    return message.as_bytes(policy=POLICY)


def _attachment(attachment: OutboundAttachment) -> MIMEBase:
    maintype, _, subtype = attachment.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(attachment.payload)
    encode_base64(part)
    filename = clean_header(attachment.filename)
    disposition = "inline" if attachment.content_id else "attachment"
    if filename.isascii():
        part.add_header("Content-Disposition", disposition, filename=filename)
    else:
        part.add_header("Content-Disposition", disposition, filename=("utf-8", "", filename))
    if attachment.content_id:
        part["Content-ID"] = f"<{clean_header(attachment.content_id)}>"
    return part
