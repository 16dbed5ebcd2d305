"""Parse raw inbound mail into an :class:`InboundMessage`.

mail-parser does the MIME work; this module turns its output into one
immutable record with exactly what the rest of helpdesk needs: identifiers
for threading, the parties, the readable text (HTML-only mail converted), the
new text of a reply (quoted history and signature removed), attachment
metadata and the markers of automatic mail. Broken input never raises
anything but :class:`helpdesk.errors.MessageRejected`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Address:
    """One mailbox: display name and address (address lower-cased)."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """Metadata of one attachment; the bytes stay in the raw archive."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None = None


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
        raise NotImplementedError


def parse_message(raw: bytes) -> InboundMessage:
    """Parse raw RFC 5322 bytes; raise MessageRejected if truly unusable."""
    raise NotImplementedError
