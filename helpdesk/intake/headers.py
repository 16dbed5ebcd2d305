"""Decode the header values of inbound mail: text, encoded words, addresses, message ids, dates.

A helpdesk must show a customer's name and subject as well as it can, and
thread a reply by its identifiers even when a mailer writes them badly. The
email package and mail-parser fall short on real mail: mail-parser drops raw
8-bit bytes in headers and leaves words in unknown charsets encoded, and the
email package wraps 8-bit headers in ``Header`` objects that lose them. So
header text is decoded here, leniently and without raising:

* :class:`HeaderIndex` holds the raw top-level headers and turns each into
  unfolded Unicode text on first use (raw 8-bit bytes read as UTF-8, else
  Windows-1252);
* :func:`decode_words` decodes RFC 2047 encoded-words, tolerating broken
  ones, and :func:`decode_bytes` is the charset fallback chain shared with
  the body text (:mod:`helpdesk.intake.mimeparts`);
* the readers of particular headers (:func:`header_addresses`,
  :func:`delivered_to_addresses`, :func:`message_ids`,
  :func:`stable_message_id`, :func:`reference_ids`, :func:`header_date`)
  return clean values and note what they could not read in ``defects``.

mail-parser's strict date and its hardened address parser are used where
they work; ``parsed`` is mail-parser's result, or None when only the email
package could read the message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from mailparser.utils import get_addresses

# The domain of Message-IDs made up for messages that lack one.
SYNTHESIZED_DOMAIN = "synthesized.helpdesk"

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


@dataclass(frozen=True)
class Address:
    """One mailbox: display name and address (address lower-cased)."""

    name: str
    email: str

    def to_json(self) -> dict[str, str]:
        """``{"name": ..., "email": ...}``."""
        return {"name": self.name, "email": self.email}


class HeaderIndex:
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
            self._text[name] = [header_text(value) for value in self._raw.get(name, [])]
        return self._text[name]

    def first(self, name: str) -> str | None:
        """The first value of ``name``, or None if absent."""
        values = self.all(name)
        return values[0] if values else None


def header_text(value: Any) -> str:
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


def one_line(text: str) -> str:
    """``text`` as one clean line: control characters and runs of white space become one space.

    For the decoded display names and file names that end up in the record,
    the ticket and the owner's mail, where a control character or a line
    break would garble what is shown.
    """
    return " ".join(_CONTROL.sub(" ", text).split())


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
            out.append(decode_bytes(bytes(pending), pending_charset)[0])
            pending.clear()
            out.append(between + match.group(0))
            after_word = False
        else:
            charset = match.group(1).lower()
            adjacent = after_word and not between.strip()
            if not (adjacent and charset == pending_charset):
                out.append(decode_bytes(bytes(pending), pending_charset)[0])
                pending.clear()
                if not adjacent:
                    out.append(between)
            pending += data
            pending_charset = charset
            after_word = True
        position = match.end()
    out.append(decode_bytes(bytes(pending), pending_charset)[0])
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


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
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


def stable_message_id(value: str | None, raw: bytes) -> tuple[str, bool]:
    """The Message-ID without brackets, or a stable synthesized one."""
    ids = message_ids(value or "", any_word=True)
    if ids:
        return ids[0], False
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"{digest}@{SYNTHESIZED_DOMAIN}", True


def message_ids(value: str, any_word: bool = False) -> list[str]:
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


def reference_ids(values: list[str]) -> tuple[str, ...]:
    """All identifiers of the References headers, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        for token in message_ids(value):
            found.setdefault(token, None)
    return tuple(found)


def header_addresses(parsed: Any, headers: HeaderIndex, name: str, defects: list[str]) -> tuple[Address, ...]:
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
        label = one_line(decode_words(str(display)))
        result.append(Address(name="" if label.lower() == email else label, email=email))
    if not result and (headers.first(name) or "").strip(" ;:<>"):
        defects.append(f"{_title(name)}: no usable address")
    return tuple(result)


def _title(name: str) -> str:
    """A header name in its usual spelling (``reply-to`` -> ``Reply-To``)."""
    return "-".join(part.capitalize() for part in name.split("-"))


def delivered_to_addresses(headers: HeaderIndex) -> tuple[str, ...]:
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


def header_date(parsed: Any, headers: HeaderIndex, defects: list[str]) -> datetime | None:
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
