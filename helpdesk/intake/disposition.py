"""What the daemon would do with one message, told for ``helpdesk parse``.

``helpdesk parse MESSAGE.eml --json`` shows how the daemon reads a message;
for it to show that for *every* input, a message the daemon would
quarantine or skip must print its JSON too, with the decision and the
reason. :func:`read_for_parse` gives the document:

* ``"disposition": "ticket"`` — customer mail: it opens a ticket or joins one;
* ``"disposition": "skip"`` — automatic mail (auto-reply, bounce, list or
  bulk mail): it opens no ticket and is recorded only on a ticket it threads
  into, never answered;
* ``"disposition": "quarantine"`` — the daemon cannot process it (not mail,
  no sender, unusable MIME); the fields it could still read are filled in
  from the raw headers, the others are empty.

Decisions that need the configuration (the owner's and the business's
addresses, reply tokens) are the daemon's: ``helpdesk rules explain`` shows
those for a configured installation.
"""

from __future__ import annotations

from email import message_from_bytes
from email.utils import getaddresses
from typing import Any

from helpdesk.errors import MessageRejected
from helpdesk.intake.headers import decode_words
from helpdesk.intake.message import parse_message

__all__ = ["NO_SENDER", "read_for_parse"]

# The daemon's reason for a message without a usable sender (helpdesk.intake.ingest).
NO_SENDER = "no sender address (From is missing or unreadable)"


def _header(message: Any, name: str) -> str:
    """One header's decoded text, or "" when it is missing or unreadable."""
    try:
        value = message.get(name)
        return decode_words(" ".join(str(value).split())) if value is not None else ""
    except Exception:  # A header this broken is simply not shown.
        return ""


def _addresses(message: Any, name: str) -> list[dict[str, str]]:
    pairs = getaddresses([_header(message, name)]) if _header(message, name) else []
    return [{"name": display, "email": email.lower()} for display, email in pairs if "@" in email]


def _salvaged(raw: bytes) -> dict[str, Any]:
    """The fields of the ``parse --json`` document that the raw headers still give, others empty."""
    try:
        message = message_from_bytes(raw)
    except Exception:  # Not even headers: every field stays empty.
        message = {}
    senders = _addresses(message, "From")
    ids = _header(message, "Message-ID").split()
    return {
        "message_id": ids[0].strip("<>") if ids else None,
        "in_reply_to": (_header(message, "In-Reply-To").split() or [None])[0],
        "references": [item.strip("<>") for item in _header(message, "References").split()],
        "from": senders[0] if senders else None,
        "to": _addresses(message, "To"),
        "cc": _addresses(message, "Cc"),
        "subject": _header(message, "Subject"),
        "date": _header(message, "Date") or None,
        "text": "",
        "full_text": "",
        "attachments": [],
        "auto_submitted": False,
        "is_bounce": False,
    }


def read_for_parse(raw: bytes) -> dict[str, Any]:
    """The ``parse --json`` document of ``raw``, with ``disposition`` and ``reason``; never raises."""
    try:
        message = parse_message(raw)
    except MessageRejected as exc:
        return {**_salvaged(raw), "disposition": "quarantine", "reason": exc.reason}
    document = message.to_json()
    if message.sender is None or not message.sender.email:
        return {**document, "disposition": "quarantine", "reason": NO_SENDER}
    if message.is_automatic:
        reason = f"{message.automatic_reason}: never answered; recorded only on a ticket it threads into"
        return {**document, "disposition": "skip", "reason": reason}
    return {
        **document,
        "disposition": "ticket",
        "reason": "customer mail: opens a ticket or joins the one it answers",
    }
