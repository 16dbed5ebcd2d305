"""Parse raw inbound mail into an :class:`InboundMessage`.

mail-parser does the MIME work; this module turns its output into one
immutable record with exactly what the rest of helpdesk needs: identifiers
for threading, the parties, the readable text (HTML-only mail converted), the
new text of a reply (quoted history and signature removed), attachment
metadata and the markers of automatic mail. Broken input never raises
anything but :class:`helpdesk.errors.MessageRejected`.

What is taken from mail-parser and what is done here, and why:

* mail-parser parses the bytes (guarding against recursion bombs) and
  exposes the :class:`email.message.Message` tree as ``.message``; the
  message is parsed once, and everything below reads that tree.
* Its ``date`` (strict RFC 5322, always UTC) and its hardened address
  parser are used as they are.
* Header text is decoded in :mod:`helpdesk.intake.headers`: mail-parser
  drops raw 8-bit bytes in headers and leaves words in unknown charsets
  encoded, while a helpdesk must show a customer's name and subject as
  well as it can.
* Body text and attachments are collected in one walk over the tree by
  :mod:`helpdesk.intake.mimeparts`, which says why mail-parser's own body
  handling is not used.
* Here the pieces are checked and put together: whether the input is mail
  at all, which text is the body (plain before HTML) and what of it is new
  (:mod:`helpdesk.intake.quoting`), and whether it is automatic mail
  (:mod:`helpdesk.intake.classify`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import mailparser
from mailparser.exceptions import MailParserRecursionError

from helpdesk.errors import MessageRejected
from helpdesk.intake import classify, quoting
from helpdesk.intake.headers import (
    Address,
    HeaderIndex,
    decode_words,
    delivered_to_addresses,
    header_addresses,
    header_date,
    message_ids,
    reference_ids,
    stable_message_id,
)
from helpdesk.intake.htmltext import html_to_texts
from helpdesk.intake.mimeparts import Attachment, Body, walk

# mail-parser logs a warning for every part type it does not handle. Those
# records still reach the application's handlers; this only stops Python's
# last-resort handler from printing them on stderr when logging is not set up.
logging.getLogger("mailparser").addHandler(logging.NullHandler())

# Headers of which at least one must be present for input to count as mail.
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "received",
        "return-path", "mime-version", "content-type", "reply-to", "sender",
        "in-reply-to", "references", "delivered-to", "x-original-to",
    }
)  # fmt: skip

# At most this many defects are kept per message.
_MAX_DEFECTS = 50


@dataclass(frozen=True)
class InboundMessage:
    """Everything helpdesk reads from one inbound message.

    Message identifiers are stored without angle brackets. ``text`` is the
    new text of the message (quoted history and signature removed);
    ``full_text`` is the whole readable body.
    """

    message_id: str
    message_id_synthesized: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    delivered_to: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    full_text: str
    attachments: tuple[Attachment, ...]
    auto_submitted: bool
    is_bounce: bool
    is_bulk: bool
    automatic_reason: str | None
    authentication_results: tuple[str, ...]
    defects: tuple[str, ...]

    @property
    def is_automatic(self) -> bool:
        """True for auto-replies, bounces and list or bulk mail."""
        return self.automatic_reason is not None

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``helpdesk parse --json`` (DESIGN.md section 3)."""
        return {
            "message_id": self.message_id,
            "message_id_synthesized": self.message_id_synthesized,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "from": self.sender.to_json() if self.sender else None,
            "to": [address.to_json() for address in self.to],
            "cc": [address.to_json() for address in self.cc],
            "reply_to": [address.to_json() for address in self.reply_to],
            "delivered_to": list(self.delivered_to),
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "full_text": self.full_text,
            "attachments": [attachment.to_json() for attachment in self.attachments],
            "auto_submitted": self.auto_submitted,
            "is_bounce": self.is_bounce,
            "is_bulk": self.is_bulk,
            "automatic_reason": self.automatic_reason,
            "authentication_results": list(self.authentication_results),
            "defects": list(self.defects),
        }


def parse_message(raw: bytes) -> InboundMessage:
    """Parse raw RFC 5322 bytes; raise MessageRejected if truly unusable.

    Unusable means: empty input, input without any mail header (not an
    e-mail at all), or a message with neither a sender nor any body. Broken
    MIME, unknown charsets, raw 8-bit headers and missing or garbage Date
    and Message-ID headers are parsed as well as possible and noted in
    ``defects``. Any other failure is reported as MessageRejected too, so
    that one bad message goes to quarantine instead of stopping the daemon.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MessageRejected(f"not a message: expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise MessageRejected("empty message")
    parsed, message, defects = _parse(data)
    try:
        return _build(data, parsed, message, defects)
    except MessageRejected:
        raise
    except Exception as exc:
        raise MessageRejected(f"cannot read the message: {_describe(exc)}") from exc


def _parse(data: bytes) -> tuple[Any, Message, list[str]]:
    """Parse with mail-parser: (its result or None, the message, defects).

    mail-parser gives up on a whole message for a flaw in one header (a
    broken encoded-word in a display name raises HeaderParseError). Such a
    message is read again with the email package alone, which is what
    mail-parser uses underneath, and the failure is kept as a defect.
    Nesting too deep to parse is final.
    """
    try:
        parsed = mailparser.parse_from_bytes(data)
    except MailParserRecursionError as exc:
        raise MessageRejected(f"MIME structure nested too deeply: {_describe(exc)}") from exc
    except Exception as exc:
        failure = _describe(exc)
    else:
        message = parsed.message
        if message is None:
            raise MessageRejected("no headers: not an e-mail message")
        return parsed, message, []
    try:
        message = message_from_bytes(data)
    except RecursionError as exc:
        raise MessageRejected("MIME structure nested too deeply") from exc
    except Exception as exc:
        raise MessageRejected(f"unparseable message: {failure}; {_describe(exc)}") from exc
    return None, message, [f"mail-parser failed ({failure}); read with the email package"]


def _describe(exc: BaseException) -> str:
    """A one-line description of an exception for a quarantine reason."""
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _build(raw: bytes, parsed: Any, message: Message, defects: list[str]) -> InboundMessage:
    """Assemble the record from the parse (``parsed`` is None after a fallback)."""
    if len(message) == 0:
        raise MessageRejected("no headers: not an e-mail message")
    headers = HeaderIndex(message)
    if not headers.names() & _MAIL_HEADERS:
        raise MessageRejected("no mail headers (From, To, Subject, Date...): not an e-mail message")

    message_id, synthesized = stable_message_id(headers.first("message-id"), raw)
    in_reply_to_ids = message_ids(headers.first("in-reply-to") or "")
    sender = _first(header_addresses(parsed, headers, "from", defects))
    subject = " ".join(decode_words(headers.first("subject") or "").split())
    body = walk(message)
    defects.extend(body.defects)

    full_text, new_text = _texts(body)
    if sender is None and not full_text and not body.attachments:
        raise MessageRejected("no sender and no body")

    view = {name: headers.all(name)[0] for name in classify.HEADERS_READ if name in headers}
    view["subject"] = subject
    automatic = classify.detect_automatic(
        view, sender.email if sender else None, report_type=body.report_type
    )
    references = reference_ids(headers.all("references"))
    if automatic.is_bounce:
        # A bounce is about the message it returns: cite it, so that it
        # threads into that message's ticket even without In-Reply-To.
        references = tuple(dict.fromkeys((*references, *body.returned_ids)))
    return InboundMessage(
        message_id=message_id,
        message_id_synthesized=synthesized,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        sender=sender,
        to=header_addresses(parsed, headers, "to", defects),
        cc=header_addresses(parsed, headers, "cc", defects),
        reply_to=header_addresses(parsed, headers, "reply-to", defects),
        delivered_to=delivered_to_addresses(headers),
        subject=subject,
        date=header_date(parsed, headers, defects),
        text=new_text,
        full_text=full_text,
        attachments=tuple(body.attachments),
        auto_submitted=automatic.auto_submitted,
        is_bounce=automatic.is_bounce,
        is_bulk=automatic.is_bulk,
        automatic_reason=automatic.reason,
        authentication_results=tuple(
            " ".join(value.split()) for value in headers.all("authentication-results")
        ),
        defects=tuple(dict.fromkeys(defects))[:_MAX_DEFECTS],
    )


def _first(addresses: tuple[Address, ...]) -> Address | None:
    """The first address, or None."""
    return addresses[0] if addresses else None


def _texts(body: Body) -> tuple[str, str]:
    """(full text, new text) of the body.

    The text/plain parts are the body; HTML is converted only when there
    is no non-empty plain part. For HTML, the quoted history is dropped in
    the markup before the reply stripper sees the text.
    """
    plain = [text for text in body.plain if text.strip()]
    if plain:
        full = normalise_text("\n".join(plain))
        return full, normalise_text(quoting.strip_reply(full))
    markup = "\n".join(text for text in body.html if text.strip())
    if not markup:
        return "", ""
    full, fresh = html_to_texts(markup)
    return normalise_text(full), normalise_text(quoting.strip_reply(normalise_text(fresh)))


def normalise_text(text: str) -> str:
    """``\\n`` line ends, no trailing spaces, no NUL, no blank lines at the ends.

    The signature separator ``-- `` keeps its trailing space, so that the
    reply stripper can still recognise it.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    lines = [line if line == "-- " else line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")
