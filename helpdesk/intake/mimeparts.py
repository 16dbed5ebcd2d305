"""Walk the MIME tree of inbound mail: body text parts, attachments, returned messages.

One iterative walk over the parsed :class:`email.message.Message` collects
what the record needs from the body: the decoded text/plain and text/html
parts (``format=flowed`` undone by :func:`unflow`), the metadata of every
attachment (:class:`Attachment`), the report type of a delivery report and
the Message-IDs of the messages a bounce returns, and the MIME defects met
on the way. Choosing between plain and HTML text and stripping quoted
replies is left to :mod:`helpdesk.intake.message`.

Why this is done here rather than by mail-parser: it names nameless
attachments randomly (not stable across replays), adds the text of attached
messages to the body, keeps payloads in memory as base64 text, and loses
the body of a multipart whose boundary is wrong. Here a nameless attachment
is ``attachment-N`` with an extension for its type, an attached message is
one attachment and never body text, only sizes and SHA-256 digests are kept
(the bytes stay in the raw archive), and a multipart with a wrong boundary
is re-read with the boundary found in its body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value
from typing import Any

from mailparser.utils import as_string_safe

from helpdesk.intake.headers import decode_bytes, decode_words, header_text, message_ids, one_line

# At most this many broken multiparts are re-read per message: each re-read
# parses the rest of the part again, so nesting broken parts must not be a
# way to make parsing quadratic.
_MAX_RECOVERIES = 8

# Leaf parts read as the body (unless named or attached).
_TEXT_TYPES = ("text/plain", "text/html")

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


@dataclass
class Body:
    """What one walk over the MIME tree collects (see :func:`walk`)."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    report_type: str | None = None
    # Message-IDs of returned messages (a bounce's ``text/rfc822-headers``
    # or ``message/rfc822`` part): the mail the report is about.
    returned_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    recovered: int = 0


def walk(message: Message) -> Body:
    """Collect body text, attachments, report type and defects in one pass.

    The walk is iterative (a deeply nested message cannot exhaust the
    stack), in document order, and does not descend into attached
    messages: those are one attachment each, and their text is not part of
    this message's body.
    """
    body = Body()
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
    return message_ids(str(value)) if value else []


def _is_attached(part: Message) -> bool:
    """True for a part with a file name or ``Content-Disposition: attachment``.

    The cheap header checks come first: most body parts have neither a
    Content-Disposition nor a ``name`` parameter, and then need no parsing.
    """
    if "content-disposition" not in part and "name" not in str(part.get("content-type", "")):
        return False
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def _parts(message: Message, body: Body) -> Iterator[tuple[Message, str]]:
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


def _part_text(part: Message, content_type: str, body: Body) -> str:
    """The decoded text of a text/plain or text/html part."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return ""
    params = _params(part)
    charset = params.get("charset") or None
    text, charset_ok = decode_bytes(payload, charset)
    if not charset_ok and charset:
        body.defects.append(f"{content_type}: unknown or wrong charset {charset!r}")
    elif not charset_ok:
        body.defects.append(f"{content_type}: 8-bit text without charset, read as windows-1252")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if content_type == "text/plain" and params.get("format", "").lower() == "flowed":
        text = unflow(text, delsp=params.get("delsp", "").lower() == "yes")
    return text


def _attachment(part: Message, content_type: str, body: Body) -> Attachment:
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
    value = header_text(part.get("content-id", ""))
    ids = message_ids(value, any_word=True)
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
    name = decode_words(header_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return one_line(name)[:255]


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
