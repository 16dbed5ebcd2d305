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
* Header text is decoded here: mail-parser drops raw 8-bit bytes in headers
  and leaves words in unknown charsets encoded, while a helpdesk must show a
  customer's name and subject as well as it can.
* Body text and attachments are collected here in one walk over the tree:
  mail-parser names nameless attachments randomly (not stable across
  replays), adds the text of attached messages to the body, keeps payloads
  in memory as base64 text, and loses the body of a multipart whose
  boundary is wrong.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from typing import Any

import mailparser
from mailparser.exceptions import MailParserRecursionError
from mailparser.utils import as_string_safe, get_addresses

from helpdesk.errors import MessageRejected
from helpdesk.intake import classify, quoting
from helpdesk.intake.htmltext import html_to_texts

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

# The domain of Message-IDs made up for messages that lack one.
SYNTHESIZED_DOMAIN = "synthesized.helpdesk"

# At most this many defects are kept per message.
_MAX_DEFECTS = 50

# At most this many broken multiparts are re-read per message: each re-read
# parses the rest of the part again, so nesting broken parts must not be a
# way to make parsing quadratic.
_MAX_RECOVERIES = 8

# Leaf parts read as the body (unless named or attached).
_TEXT_TYPES = ("text/plain", "text/html")

# An RFC 2047 encoded-word, tolerant of spaces inside (some mailers write them).
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?]*)\?=")

# A lone address without brackets, name or comment.
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+")

# The text of a B encoded-word: base64 alphabet, optional padding.
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*=*")

# A message identifier in angle brackets.
_MSG_ID = re.compile(r"<([^<>]*)>")

# Line breaks of a folded header.
_FOLD = re.compile(r"\r?\n|\r")

# Control characters that have no place in a name or a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Extensions for generated attachment names; unknown types get ".bin".
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "image/gif": ".gif",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/plain": ".txt",
    "text/rfc822-headers": ".txt",
}


@dataclass(frozen=True)
class Address:
    """One mailbox: display name and address (address lower-cased)."""

    name: str
    email: str

    def to_json(self) -> dict[str, str]:
        """``{"name": ..., "email": ...}``."""
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True)
class Attachment:
    """Metadata of one attachment; the bytes stay in the raw archive."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The attachment as a JSON object."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "content_id": self.content_id,
        }


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
    headers = _HeaderIndex(message)
    if not headers.names() & _MAIL_HEADERS:
        raise MessageRejected("no mail headers (From, To, Subject, Date...): not an e-mail message")

    message_id, synthesized = _message_id(headers.first("message-id"), raw)
    in_reply_to_ids = _ids(headers.first("in-reply-to") or "")
    sender = _first(_addresses(parsed, headers, "from", defects))
    subject = " ".join(decode_words(headers.first("subject") or "").split())
    body = _walk(message)
    defects.extend(body.defects)

    full_text, new_text = _texts(body)
    if sender is None and not full_text and not body.attachments:
        raise MessageRejected("no sender and no body")

    view = {name: headers.all(name)[0] for name in classify.HEADERS_READ if name in headers}
    view["subject"] = subject
    automatic = classify.detect_automatic(
        view, sender.email if sender else None, report_type=body.report_type
    )
    references = _references(headers.all("references"))
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
        to=_addresses(parsed, headers, "to", defects),
        cc=_addresses(parsed, headers, "cc", defects),
        reply_to=_addresses(parsed, headers, "reply-to", defects),
        delivered_to=_delivered_to(headers),
        subject=subject,
        date=_date(parsed, headers, defects),
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


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------


class _HeaderIndex:
    """The top-level headers by lower-case name, as unfolded Unicode text.

    Values are read with ``raw_items()``: the email package would otherwise
    wrap headers that carry 8-bit bytes in ``Header`` objects that lose them.
    Conversion to text happens on first use, so unused headers cost nothing.
    """

    def __init__(self, message: Message) -> None:
        self._raw: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._raw.setdefault(name.strip().lower(), []).append(value)
        self._text: dict[str, list[str]] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def names(self) -> set[str]:
        """The lower-case names of all headers present."""
        return set(self._raw)

    def raw(self, name: str) -> list[str]:
        """The raw values of ``name`` (8-bit bytes as surrogate escapes)."""
        return self._raw.get(name, [])

    def all(self, name: str) -> list[str]:
        """Every value of ``name`` as unfolded, stripped Unicode text."""
        if name not in self._text:
            self._text[name] = [_header_text(value) for value in self._raw.get(name, [])]
        return self._text[name]

    def first(self, name: str) -> str | None:
        """The first value of ``name``, or None if absent."""
        values = self.all(name)
        return values[0] if values else None


def _header_text(value: Any) -> str:
    """Unfold a raw header value and turn raw 8-bit bytes into text.

    Raw bytes are read as UTF-8 if they are valid UTF-8, else as
    Windows-1252 (the usual charset of undeclared 8-bit Western mail).
    Encoded-words are left alone; see :func:`decode_words`.
    """
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = _repair_8bit(text)
    if "\n" in text or "\r" in text:
        text = _FOLD.sub("", text)
    return text.strip()


def _repair_8bit(text: str) -> str:
    """Decode bytes smuggled in as surrogate escapes; drop other surrogates."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words in ``value``, tolerating broken ones.

    Adjacent encoded-words are joined before decoding (a multi-byte
    character may be split between two words), whitespace between them is
    dropped, unknown charsets fall back to UTF-8 then Windows-1252, and a
    word that cannot be decoded at all is kept literally.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    after_word = False
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            out.append(_decode_bytes(bytes(pending), pending_charset)[0])
            pending.clear()
            out.append(between + match.group(0))
            after_word = False
        else:
            charset = match.group(1).lower()
            adjacent = after_word and not between.strip()
            if not (adjacent and charset == pending_charset):
                out.append(_decode_bytes(bytes(pending), pending_charset)[0])
                pending.clear()
                if not adjacent:
                    out.append(between)
            pending += data
            pending_charset = charset
            after_word = True
        position = match.end()
    out.append(_decode_bytes(bytes(pending), pending_charset)[0])
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of one encoded-word's text, or None if it is not valid."""
    data = text.encode("utf-8", "surrogateescape")
    if encoding in "Qq":
        return binascii.a2b_qp(data, header=True)
    data = re.sub(rb"\s+", b"", data)
    if not _BASE64.fullmatch(data):
        return None
    data = data.rstrip(b"=")
    if len(data) % 4 == 1:
        # A lone trailing character carries no complete byte.
        data = data[:-1]
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return None


def _decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode ``data`` with ``charset``; (text, True if the charset worked).

    When the declared charset fails, UTF-8 is tried (the usual truth behind
    a wrong declaration), then the declared charset with replacement
    characters, then Windows-1252 (for an unknown charset, or for 8-bit text
    declared as ASCII). The result is always valid Unicode (no lone
    surrogates), so that it can be written as UTF-8 anywhere.
    """
    if not data:
        return "", True
    known = False
    if charset:
        try:
            known = codecs.lookup(charset).name != "ascii"
            text = data.decode(charset)
            text.encode("utf-8")
            return text, True
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    try:
        return data.decode("utf-8"), charset is None
    except UnicodeDecodeError:
        pass
    if known and charset:
        try:
            text = data.decode(charset, "replace")
            text.encode("utf-8")
            return text, False
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    return data.decode("cp1252", "replace"), False


def _message_id(value: str | None, raw: bytes) -> tuple[str, bool]:
    """The Message-ID without brackets, or a stable synthesized one."""
    ids = _ids(value or "", any_word=True)
    if ids:
        return ids[0], False
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"{digest}@{SYNTHESIZED_DOMAIN}", True


def _ids(value: str, any_word: bool = False) -> list[str]:
    """Message identifiers in ``value``, without brackets, in order.

    Takes the ``<...>`` tokens; a value without any (a broken mailer's bare
    ``id@host``) yields its words that contain ``@`` or, with ``any_word``
    and no such word, its first word.
    """
    found = ["".join(token.split()) for token in _MSG_ID.findall(value)]
    found = [token for token in found if token]
    if found:
        return found
    words = [word.strip("<>,;\"'") for word in value.split()]
    words = [word for word in words if word]
    with_at = [word for word in words if "@" in word]
    return with_at or (words[:1] if any_word else [])


def _references(values: list[str]) -> tuple[str, ...]:
    """All identifiers of the References headers, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        for token in _ids(value):
            found.setdefault(token, None)
    return tuple(found)


def _first(addresses: tuple[Address, ...]) -> Address | None:
    """The first address, or None."""
    return addresses[0] if addresses else None


def _addresses(
    parsed: Any, headers: _HeaderIndex, name: str, defects: list[str]
) -> tuple[Address, ...]:
    """The mailboxes of the first ``name`` header (From, To, Cc, Reply-To).

    mail-parser's hardened parse is used when the header is plain ASCII. A
    header with raw 8-bit bytes (whose names mail-parser mangles), or any
    header after mail-parser failed, is parsed from the decoded text with
    mail-parser's address parser alone. Names still holding encoded-words
    (unknown charsets, quoted words) are then decoded leniently.
    """
    raw = headers.raw(name)
    if not raw:
        return ()
    if parsed is not None and raw[0].isascii():
        pairs = getattr(parsed, name.replace("-", "_") + "_")
    else:
        pairs = get_addresses(headers.all(name)[0], decode_names=False)
    result = []
    for display, address in pairs:
        email = "".join(str(address).split()).lower()
        if not email:
            continue
        label = " ".join(_CONTROL.sub(" ", decode_words(str(display))).split())
        result.append(Address(name="" if label.lower() == email else label, email=email))
    if not result and (headers.first(name) or "").strip(" ;:<>"):
        defects.append(f"{_title(name)}: no usable address")
    return tuple(result)


def _title(name: str) -> str:
    """A header name in its usual spelling (``reply-to`` -> ``Reply-To``)."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _delivered_to(headers: _HeaderIndex) -> tuple[str, ...]:
    """Addresses of the Delivered-To, X-Original-To and Envelope-To headers."""
    values = headers.all("delivered-to") + headers.all("x-original-to") + headers.all("envelope-to")
    if not values:
        return ()
    # These headers nearly always hold one bare address; parse only the rest.
    bare = [value for value in values if _BARE_ADDRESS.fullmatch(value)]
    other = [value for value in values if not _BARE_ADDRESS.fullmatch(value)]
    found: dict[str, None] = {}
    for address in bare + [address for _, address in getaddresses(other)]:
        email = "".join(address.split()).lower()
        if "@" in email:
            found.setdefault(email, None)
    return tuple(found)


def _date(parsed: Any, headers: _HeaderIndex, defects: list[str]) -> datetime | None:
    """The Date header as an aware UTC datetime, or None.

    mail-parser's strict reading comes first; a date it refuses is given to
    the more lenient stdlib parser (a missing zone is taken as UTC).
    """
    value = headers.first("date")
    if value is None:
        return None
    date = parsed.date if parsed is not None else None
    if date is None:
        try:
            date = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            defects.append("Date: unparseable")
            return None
    if date.tzinfo is None:
        return date.replace(tzinfo=UTC)
    return date.astimezone(UTC)


# ---------------------------------------------------------------------------
# Body and attachments
# ---------------------------------------------------------------------------


@dataclass
class _Body:
    """What one walk over the MIME tree collects."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    report_type: str | None = None
    # Message-IDs of returned messages (a bounce's ``text/rfc822-headers``
    # or ``message/rfc822`` part): the mail the report is about.
    returned_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    recovered: int = 0


def _walk(message: Message) -> _Body:
    """Collect body text, attachments, report type and defects in one pass.

    The walk is iterative (a deeply nested message cannot exhaust the
    stack), in document order, and does not descend into attached
    messages: those are one attachment each, and their text is not part of
    this message's body.
    """
    body = _Body()
    for part, content_type in _parts(message, body):
        maintype, _, subtype = content_type.partition("/")
        if maintype == "message":
            if subtype in ("delivery-status", "global-delivery-status"):
                body.report_type = body.report_type or "delivery-status"
            else:
                if subtype in ("rfc822", "global"):
                    body.returned_ids.extend(_returned_ids(part))
                body.attachments.append(_attachment(part, content_type, body))
            continue
        if content_type == "text/rfc822-headers":
            body.returned_ids.extend(_returned_ids(part))
        if maintype == "multipart":
            # A multipart without any usable boundary: its body is the text.
            body.plain.append(_part_text(part, "text/plain", body))
            continue
        if content_type in _TEXT_TYPES and not _is_attached(part):
            text = _part_text(part, content_type, body)
            (body.plain if subtype == "plain" else body.html).append(text)
        else:
            body.attachments.append(_attachment(part, content_type, body))
    return body


def _returned_ids(part: Message) -> list[str]:
    """The Message-ID of a returned message: an attached message or its headers."""
    if part.get_content_type() == "text/rfc822-headers":
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return []
        value = BytesHeaderParser().parsebytes(payload).get("message-id")
    else:
        inner = part.get_payload()
        attached = inner[0] if isinstance(inner, list) and inner else None
        value = attached.get("message-id") if isinstance(attached, Message) else None
    return _ids(str(value)) if value else []


def _is_attached(part: Message) -> bool:
    """True for a part with a file name or ``Content-Disposition: attachment``.

    The cheap header checks come first: most body parts have neither a
    Content-Disposition nor a ``name`` parameter, and then need no parsing.
    """
    if "content-disposition" not in part and "name" not in str(part.get("content-type", "")):
        return False
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def _parts(message: Message, body: _Body) -> Iterator[tuple[Message, str]]:
    """The leaf parts and attached messages of ``message`` with their types.

    Yields in document order. Records each part's MIME defects in ``body``
    on the way, notes the report type of a ``multipart/report``, and
    recovers the parts of a multipart whose declared boundary never occurs.
    """
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        content_type = part.get_content_type()
        for defect in part.defects:
            body.defects.append(f"{content_type}: {type(defect).__name__}")
        if content_type.startswith("message/"):
            yield part, content_type
            continue
        if part.is_multipart():
            if content_type == "multipart/report":
                report_type = _params(part).get("report-type", "")
                if report_type:
                    body.report_type = report_type.lower()
            children = part.get_payload()
            stack.extend(reversed([child for child in children if isinstance(child, Message)]))
            continue
        if content_type.startswith("multipart/") and body.recovered < _MAX_RECOVERIES:
            recovered = _recover_multipart(part)
            body.recovered += 1
            if recovered is not None:
                body.defects.append(f"{content_type}: parts recovered with boundary found in body")
                stack.append(recovered)
                continue
        yield part, content_type


def _params(part: Message) -> dict[str, str]:
    """The Content-Type parameters of a part, lower-case names, text values."""
    params: dict[str, str] = {}
    for name, value in part.get_params(failobj=[])[1:]:
        text = collapse_rfc2231_value(value) if isinstance(value, tuple) else value
        params.setdefault(name.strip().lower(), str(text).strip())
    return params


def _recover_multipart(part: Message) -> Message | None:
    """Re-read a multipart whose declared boundary is missing or wrong.

    The first line that looks like a boundary delimiter (``--token``) is
    taken as the boundary. Only this part is parsed again, and only when
    it is broken.
    """
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    match = re.search(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", payload, re.MULTILINE)
    if match is None:
        return None
    boundary = match.group(1).removesuffix("--")
    head = f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
    data = (head + payload).encode("utf-8", "surrogateescape")
    try:
        recovered = message_from_bytes(data)
    except RecursionError:
        return None
    if not recovered.is_multipart():
        return None
    return recovered


def _part_text(part: Message, content_type: str, body: _Body) -> str:
    """The decoded text of a text/plain or text/html part."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return ""
    params = _params(part)
    charset = params.get("charset") or None
    text, charset_ok = _decode_bytes(payload, charset)
    if not charset_ok and charset:
        body.defects.append(f"{content_type}: unknown or wrong charset {charset!r}")
    elif not charset_ok:
        body.defects.append(f"{content_type}: 8-bit text without charset, read as windows-1252")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if content_type == "text/plain" and params.get("format", "").lower() == "flowed":
        text = unflow(text, delsp=params.get("delsp", "").lower() == "yes")
    return text


def _attachment(part: Message, content_type: str, body: _Body) -> Attachment:
    """Metadata of one attachment: name, type, decoded size and SHA-256."""
    if content_type.startswith("message/"):
        data = _flatten(part)
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    filename = _filename(part)
    if not filename:
        number = len(body.attachments) + 1
        filename = f"attachment-{number}{_EXTENSIONS.get(content_type, '.bin')}"
    content_id = None
    if part.get_content_disposition() != "attachment":
        content_id = _content_id(part)
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_id=content_id,
    )


def _content_id(part: Message) -> str | None:
    """The Content-ID of a part without brackets, or None."""
    value = _header_text(part.get("content-id", ""))
    ids = _ids(value, any_word=True)
    return ids[0][:998] if ids else None


def _flatten(part: Message) -> bytes:
    """The bytes of an attached message, re-serialised from the parse."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        raw = part.get_payload(decode=True)
        return raw if isinstance(raw, bytes) else b""
    try:
        try:
            return inner.as_bytes()
        except (LookupError, UnicodeError, ValueError, TypeError):
            return as_string_safe(inner).encode("utf-8", "surrogateescape")
    except RecursionError:
        # An attached message nested too deeply to serialise: size unknown.
        return b""


def _filename(part: Message) -> str:
    """The decoded base name of an attachment, or "" if it has none."""
    name = part.get_filename()
    if not isinstance(name, str) or not name:
        return ""
    name = decode_words(_header_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return " ".join(_CONTROL.sub(" ", name).split())[:255]


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 ``format=flowed``: join soft-broken lines.

    A line ending in a space continues on the next line of the same quote
    depth; the signature separator ``-- `` is always a hard break. Quote
    markers are normalised to ``> ``.
    """
    lines: list[str] = []
    current: str | None = None
    current_depth = 0
    for line in text.split("\n"):
        stripped = line.lstrip(">")
        depth = len(line) - len(stripped)
        content = stripped[1:] if stripped.startswith(" ") else stripped
        if current is not None and depth != current_depth:
            lines.append(_quoted(current, current_depth))
            current = None
        current = content if current is None else current + content
        current_depth = depth
        if content.endswith(" ") and content != "-- ":
            if delsp:
                current = current[:-1]
            continue
        lines.append(_quoted(current, depth))
        current = None
    if current is not None:
        lines.append(_quoted(current, current_depth))
    return "\n".join(lines)


def _quoted(content: str, depth: int) -> str:
    """One line with ``depth`` quote markers."""
    return ">" * depth + " " + content if depth else content


def _texts(body: _Body) -> tuple[str, str]:
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
