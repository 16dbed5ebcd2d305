"""Recover the customer's original message from a mail the owner forwarded to the helpdesk.

Customers do not always write to the support address: some write to the
owner's personal address, and the owner forwards that mail to support. The
ticket must then belong to the customer, not to the owner, and hold the
customer's own words and date. :func:`find_forwarded` reads a forwarding
message and returns the original as a :class:`ForwardedMail`, or None when
the message is no forward (or one that cannot be read). It is pure: it reads
the parsed message and its raw bytes, and decides nothing about tickets.

What is recognised, reading the body (``full_text``: plain text, or HTML
already converted to text) from the top:

* a forward marker line followed by the original's header block: Gmail
  (``---------- Forwarded message ---------``, ``From:`` first), Thunderbird
  (``-------- Forwarded Message --------``, ``Subject:`` first) and Apple
  Mail (``Begin forwarded message:``, possibly with the whole forward
  ``>``-quoted), in the languages of
  :data:`helpdesk.intake.replymarkers.FORWARD_MARKER` (German and French
  header names included);
* an Outlook header block (``From:`` ``Sent:`` ``To:`` ``Subject:`` or
  ``Von:`` ``Gesendet:`` ``An:`` ``Betreff:``), bare, under a line of
  underscores, or under ``-----Original Message-----``. Outlook writes a
  reply exactly like that, so the block counts as a forward only when the
  forwarding message's own subject says so (``FW:``, ``Fwd:``, ``WG:``,
  ``TR:``...);
* failing those, the first ``message/rfc822`` attachment ("forward as
  attachment", any client).

The first forward met wins: a forward inside the forwarded text belongs to
the original's text. Reading stops at quoted history, because a forward
quoted in a reply is history, not something the owner passes on: a
``>``-quoted block that is not Apple Mail's quoted forward, a dated
attribution line (``On ... wrote:``), ``-----Original Message-----`` or an
Outlook header block in a message that is not a forward.

Dates: a date is returned, as an aware datetime in UTC, only when the header
block gives its zone (RFC 2822 offsets, ``GMT+1``, ``UTC+01:00`` and common
abbreviations such as ``CET``/``MEZ``). Gmail and Outlook print the local
time without a zone; reading that as UTC would be hours off, so ``date`` is
then None and the caller should use the forwarding message's own date. The
date of an attached message is the one :func:`parse_message` reads from its
Date header.

Every check looks at lines of bounded length, the regular expressions are
anchored, and a header block is searched for in a bounded window of lines,
so the cost is linear in the length of the text. Nothing here raises: what
cannot be read gives None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from helpdesk.intake.headers import Address, one_line
from helpdesk.intake.message import InboundMessage, normalise_text, parse_message
from helpdesk.intake.quoting import strip_reply
from helpdesk.intake.replymarkers import (
    ATTRIBUTION_NO_VERB,
    ATTRIBUTION_START,
    ATTRIBUTION_VERB,
    DATEISH,
    FORWARD_MARKER,
    HEADER_MEANING,
    MAX_ATTRIBUTION_LINE,
    MAX_HEADER_LINE,
    NORMALIZE,
    ORIGINAL_MARKER,
    SEPARATOR,
)

__all__ = ["ForwardedMail", "find_forwarded"]

# How many lines a header block may span, and within how many lines below
# its marker or separator line it must start (at most two blank lines between).
_BLOCK_WINDOW = 20
_BLOCK_GAP = 3

# Header values longer than these are not read as an address or a date.
_MAX_ADDRESS = 500
_MAX_DATE = 200

# At most this many MIME parts are visited looking for an attached message.
_MAX_PARTS = 1000

# The content types of an attached message.
_ATTACHED_TYPES = frozenset({"message/rfc822", "message/global"})

# Names of the sender field in a forwarded header block.
_FROM_NAMES = ("From", "Von", "De", "Da", "Van", "Fra", "Från", "Od", "Absender", "Afzender", "Remetente")

# Fields that may stand in a header block without mattering here.
_OTHER_NAMES = (
    "Reply-To", "Antwort an", "Répondre à", "Bcc", "Blindkopie", "Cci", "Organization",
    "Organisation", "Newsgroups", "Importance", "Wichtigkeit", "Priority", "Priorität",
    "Attachments", "Anlagen", "Pièces jointes",
)  # fmt: skip

# Header name (case-folded) -> what it means: from, date, subject, to, cc or other.
_FIELDS = {
    **{name.casefold(): meaning for name, meaning in HEADER_MEANING.items()},
    **{name.casefold(): "other" for name in _OTHER_NAMES},
    **{name.casefold(): "from" for name in _FROM_NAMES},
}

# One header line: a short name, a colon (French puts a space before it),
# then white space and the value, or nothing.
_HEADER_LINE = re.compile(r"[*_]{0,2}(?P<name>[^\W\d_][\w'\u2019 -]{0,23}?)[*_]{0,2} ?:(?:\s+(?P<value>.*))?")

# The subject prefixes with which clients mark a forward.
_FORWARD_SUBJECT = re.compile(
    r"(?:\[[^\]]{0,60}\]\s*)?(?:fwd?|wg|tr|rv|enc|vs|vb|i|doorst|pd|wtr)\s?:", re.IGNORECASE
)

# An e-mail address inside a header value (the domain needs a dot).
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

# Month names and abbreviations (English, German, French) -> number.
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "januar", "jän", "jänner", "janvier", "janv"),
            ("february", "feb", "februar", "février", "févr", "fevrier", "fevr"),
            ("march", "mar", "märz", "mär", "mrz", "mars"),
            ("april", "apr", "avril", "avr"),
            ("may", "mai"),
            ("june", "jun", "juni", "juin"),
            ("july", "jul", "juli", "juillet", "juil"),
            ("august", "aug", "août", "aout"),
            ("september", "sep", "sept", "septembre"),
            ("october", "oct", "oktober", "okt", "octobre"),
            ("november", "nov", "novembre"),
            ("december", "dec", "dezember", "dez", "décembre", "déc"),
        ),
        start=1,
    )
    for name in names
}

# Words between the parts of a date ("at", "um", "à", "Uhr").
_DATE_FILLERS = frozenset({"at", "um", "à", "uhr"})

# Zone abbreviations -> hours east of UTC. Only unambiguous and common ones.
_ZONES = {
    "utc": 0, "ut": 0, "gmt": 0, "z": 0, "wet": 0, "west": 1, "bst": 1, "cet": 1, "mez": 1,
    "cest": 2, "mesz": 2, "eet": 2, "oez": 2, "eest": 3, "oesz": 3, "est": -5, "edt": -4,
    "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7, "jst": 9, "aest": 10,
    "aedt": 11,
}  # fmt: skip

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(am|pm)?")
_NAMED_OFFSET = re.compile(r"(?:gmt|utc|ut)([+-])(\d{1,2})(?::?(\d{2}))?")
_NUMERIC_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})")


@dataclass(frozen=True)
class ForwardedMail:
    """The original message found inside a forward.

    ``date`` is aware and in UTC, or None when the forward does not give the
    original's zone (use the forwarding message's date then). ``text`` is
    the original's new text (its own quoted history and signature removed),
    ``full_text`` all of it. ``message_id`` is known only for an attached
    message. ``note`` is what the forwarder wrote above the forward, cleaned
    like a reply (quotes, signature and mobile footers removed). ``how``
    names the format recognised: ``gmail``, ``thunderbird``, ``apple-mail``,
    ``outlook`` or ``rfc822``.
    """

    sender: Address
    date: datetime | None
    subject: str
    text: str
    full_text: str
    message_id: str | None
    note: str
    how: str


@dataclass(frozen=True)
class _Block:
    """A header block: the first value of each field, the first field's meaning, the line after it."""

    fields: dict[str, str]
    first: str
    end: int


def find_forwarded(message: InboundMessage, raw: bytes) -> ForwardedMail | None:
    """The original message forwarded in ``message``, or None if there is none.

    ``message`` is ``parse_message(raw)``; ``raw`` is needed only for a
    forward as attachment. A forward written into the body is preferred to
    an attached message, which may be an attachment of the forwarded mail.
    The formats and rules are described in the module docstring. Never
    raises.
    """
    found = _inline_forward(message)
    if found is None and any(item.content_type in _ATTACHED_TYPES for item in message.attachments):
        found = _attached_forward(message, raw)
    return found


def _inline_forward(message: InboundMessage) -> ForwardedMail | None:
    """The first forward written into the body, read from the top; None at quoted history."""
    lines = message.full_text.split("\n")
    previous = ""
    for index, raw_line in enumerate(lines):
        line = _norm(raw_line)
        if not line:
            continue
        if len(line) > MAX_HEADER_LINE:
            previous = line
            continue
        if line.startswith(">"):
            if FORWARD_MARKER.fullmatch(_unquote(line).strip()) and not _is_attribution(previous, False):
                return _quoted_forward(lines, index)
            return None
        if FORWARD_MARKER.fullmatch(line):
            return _marker_forward(lines, index)
        original = ORIGINAL_MARKER.fullmatch(line) is not None
        if original or SEPARATOR.fullmatch(line):
            start = _next_text(lines, index + 1)
            block = _outlook_block(lines, start) if start is not None else None
            if block is not None:
                return _outlook_forward(message, lines, index, block)
            if original:
                return None
        elif _field(line) == "from":
            block = _outlook_block(lines, index)
            if block is not None:
                return _outlook_forward(message, lines, index, block)
        elif _is_attribution(line, True):
            return None
        previous = line
    return None


def _marker_forward(lines: list[str], marker: int) -> ForwardedMail | None:
    """The forward announced by the unquoted marker line at ``marker``."""
    start = _next_text(lines, marker + 1)
    block = _read_block(lines, start) if start is not None else None
    if block is None:
        return None
    if _norm(lines[marker]).startswith("-"):
        how = "thunderbird" if block.first == "subject" else "gmail"
    else:
        how = "apple-mail"
    return _forwarded(block, lines[block.end :], lines[:marker], how)


def _quoted_forward(lines: list[str], marker: int) -> ForwardedMail | None:
    """Apple Mail's forward, marker included, in a ``>`` quote starting at ``marker``.

    The quote ends at the first unquoted line that is not blank; one level
    of quoting is removed from it before it is read.
    """
    section: list[str] = []
    for line in lines[marker:]:
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            break
        section.append(_unquote(line.lstrip()))
    start = _next_text(section, 1)
    block = _read_block(section, start) if start is not None else None
    if block is None:
        return None
    return _forwarded(block, section[block.end :], lines[:marker], "apple-mail")


def _outlook_block(lines: list[str], start: int) -> _Block | None:
    """An Outlook header block at ``start``: From first, with a date and a subject."""
    block = _read_block(lines, start)
    if block is None or block.first != "from" or not {"date", "subject"} <= block.fields.keys():
        return None
    return block


def _outlook_forward(
    message: InboundMessage, lines: list[str], top: int, block: _Block
) -> ForwardedMail | None:
    """The Outlook forward whose block (or separator) starts at ``top``; None for a reply."""
    if _FORWARD_SUBJECT.match(message.subject) is None:
        return None
    return _forwarded(block, lines[block.end :], lines[:top], "outlook")


def _forwarded(block: _Block, body: list[str], above: list[str], how: str) -> ForwardedMail | None:
    """Put together the result from a header block, the lines below it and the lines above."""
    sender = _address(block.fields.get("from", ""))
    if sender is None:
        return None
    full_text = normalise_text("\n".join(body))
    return ForwardedMail(
        sender=sender,
        date=_parse_date(block.fields.get("date", "")),
        subject=" ".join(block.fields.get("subject", "").split()),
        text=normalise_text(strip_reply(full_text)),
        full_text=full_text,
        message_id=None,
        note=normalise_text(strip_reply("\n".join(above))),
        how=how,
    )


def _read_block(lines: list[str], start: int) -> _Block | None:
    """Read the header block that starts at ``start``, or None if no header is there.

    The block is the known header lines from ``start`` on, up to a blank
    line, any other line or a second sender field, within a bounded window
    (so that the blocks tried at successive sender lines do not overlap and
    the scan stays linear). A line that starts with white space, or follows
    a value ending in ``,`` or ``;`` (a long recipient list), continues the
    value above it.
    """
    fields: dict[str, str] = {}
    first = ""
    current = ""
    tail = ""
    end = start
    limit = min(len(lines), start + _BLOCK_WINDOW)
    while end < limit:
        raw_line = lines[end]
        line = _norm(raw_line)
        if not line or len(line) > MAX_HEADER_LINE:
            break
        match = _HEADER_LINE.fullmatch(line)
        meaning = _FIELDS.get(match.group("name").casefold()) if match else None
        if match is not None and meaning is not None:
            if meaning == "from" and "from" in fields:
                # Another message's block starts here.
                break
            tail = match.group("value") or ""
            first = first or meaning
            # A field given twice keeps its first value.
            current = "" if meaning in fields else meaning
            if current:
                fields[current] = tail
        elif first and (raw_line[:1].isspace() or tail.endswith((",", ";"))):
            if current:
                fields[current] = f"{fields[current]} {line}"
            tail = line
        else:
            break
        end += 1
    if not first:
        return None
    return _Block(fields, first, end)


def _attached_forward(message: InboundMessage, raw: bytes) -> ForwardedMail | None:
    """The first attached message (forward as attachment), parsed like any inbound message."""
    # The email package and the parser may fail on hostile input in more ways
    # than can be listed; an attachment that cannot be read is no forward.
    try:
        part = _attached_part(message_from_bytes(raw, policy=compat32))
        if part is None:
            return None
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            return None
        original = parse_message(inner.as_bytes())
    except Exception:
        return None
    sender = original.sender
    if sender is None or _EMAIL.fullmatch(sender.email) is None:
        return None
    return ForwardedMail(
        sender=sender,
        date=original.date,
        subject=original.subject,
        text=original.text,
        full_text=original.full_text,
        message_id=None if original.message_id_synthesized else original.message_id,
        note=message.text,
        how="rfc822",
    )


def _attached_part(tree: Message) -> Message | None:
    """The first ``message/rfc822`` part in document order, not looking inside attached messages."""
    stack = [tree]
    for _ in range(_MAX_PARTS):
        if not stack:
            return None
        part = stack.pop()
        if part.get_content_type() in _ATTACHED_TYPES:
            return part
        if part.is_multipart():
            children = part.get_payload()
            stack.extend(reversed([child for child in children if isinstance(child, Message)]))
    return None


def _norm(line: str) -> str:
    """A line as classified: exotic spaces made plain, invisible characters dropped, stripped."""
    return line.translate(NORMALIZE).strip()


def _unquote(line: str) -> str:
    """``line`` without its first ``>`` and one space after it."""
    return line[1:].removeprefix(" ") if line.startswith(">") else line


def _next_text(lines: list[str], start: int) -> int | None:
    """The first non-blank line at or after ``start``, within a few lines."""
    for index in range(start, min(len(lines), start + _BLOCK_GAP)):
        if _norm(lines[index]):
            return index
    return None


def _field(line: str) -> str | None:
    """The meaning of the header that ``line`` starts with, or None."""
    match = _HEADER_LINE.fullmatch(line)
    return _FIELDS.get(match.group("name").casefold()) if match else None


def _is_attribution(line: str, strong: bool) -> bool:
    """True for an attribution line that announces quoted history.

    Any line ending in ``:`` with an attribution verb ("Jane wrote:") is
    one when it announces a quote. Without a quote below, only a strong
    one counts ("On Mon, 2 Mar 2026, Jane <jane@x.com> wrote:"), so that a
    note such as "See what Jane wrote:" above a forward is not taken for one.
    """
    if not line.endswith(":") or len(line) > MAX_ATTRIBUTION_LINE:
        return False
    if ATTRIBUTION_NO_VERB.fullmatch(line):
        return True
    if ATTRIBUTION_VERB.search(line) is None:
        return False
    if not strong:
        return True
    return "@" in line or (ATTRIBUTION_START.match(line) is not None and DATEISH.search(line) is not None)


def _address(value: str) -> Address | None:
    """The first e-mail address in a From value, with the name before it; None if none.

    Takes ``Jane Doe <jane@x.com>``, ``"Doe, Jane" <jane@x.com>``, Outlook's
    ``Jane Doe [mailto:jane@x.com]`` and a bare ``jane@x.com``.
    """
    if len(value) > _MAX_ADDRESS:
        return None
    match = _EMAIL.search(value)
    if match is None:
        return None
    email = match.group(0).lower()
    name = value[: match.start()].rstrip()
    name = name.removesuffix("mailto:").removesuffix("MAILTO:").strip(" \t<[(\"'*")
    name = one_line(name)
    if "@" in name:
        name = ""
    return Address(name=name, email=email)


def _parse_date(value: str) -> datetime | None:
    """A header block's date as an aware UTC datetime; None without a zone or if unreadable.

    Reads RFC 2822 dates and the forms clients print, in English, German and
    French: "Mon, Mar 2, 2026 at 4:55 PM", "Monday, March 2, 2026 4:55 PM",
    "2 March 2026 at 16:55:03 CET", "2. März 2026 um 16:55:03 MEZ". A leading
    weekday is skipped; a parenthesised comment ends the date and gives the
    zone if none came before it ("+0100 (CET)", "16:55 (UTC+01:00)"). Any
    other word makes the date unreadable: no date is better than a wrong one.
    """
    if not value or len(value) > _MAX_DATE:
        return None
    day = month = year = None
    clock: tuple[int, int, int] | None = None
    meridiem = ""
    offset: timedelta | None = None
    leading_month = None
    for position, token in enumerate(value.casefold().replace(",", " ").split()):
        if token.startswith("("):
            if offset is None:
                offset = _zone(token.strip("()"))
            break
        word = token.rstrip(".")
        clock_match = _CLOCK.fullmatch(word)
        if position == 0 and word.isalpha():
            # A weekday, or the month itself ("Mar 2, 2026"): French "mar."
            # (Tuesday) is both, so a later month name wins.
            leading_month = _MONTHS.get(word)
        elif word in _MONTHS and month is None:
            month = _MONTHS[word]
        elif word.isdigit() and len(word) <= 2 and day is None:
            day = int(word)
        elif word.isdigit() and len(word) == 4 and year is None:
            year = int(word)
        elif clock_match is not None and clock is None:
            clock = (int(clock_match[1]), int(clock_match[2]), int(clock_match[3] or 0))
            meridiem = clock_match[4] or ""
        elif word in ("am", "pm", "a.m", "p.m") and not meridiem:
            meridiem = word.replace(".", "")
        elif word in _DATE_FILLERS:
            continue
        elif offset is None and (zone := _zone(word)) is not None:
            offset = zone
        else:
            return None
    month = month or leading_month
    if day is None or month is None or year is None or clock is None or offset is None:
        return None
    hour, minute, second = clock
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except (ValueError, OverflowError):
        return None
    return moment.astimezone(UTC)


def _zone(word: str) -> timedelta | None:
    """The UTC offset a zone word names ("+0100", "GMT+1", "UTC+01:00", "CET"), or None.

    ``-0000`` means "zone unknown" (RFC 2822) and gives None.
    """
    if word in _ZONES:
        return timedelta(hours=_ZONES[word])
    match = _NAMED_OFFSET.fullmatch(word) or _NUMERIC_OFFSET.fullmatch(word)
    if match is None or word == "-0000":
        return None
    hours, minutes = int(match[2]), int(match[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    size = timedelta(hours=hours, minutes=minutes)
    return -size if match[1] == "-" else size
