"""The records of the outbox: one outbound message, and what a sending pass did.

Apart from :mod:`helpdesk.outbound.outbox` so that the queue's file layout
(:mod:`helpdesk.outbound.queuefiles`) can read and write them too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class OutboxItem:
    """The record of one outbound message."""

    id: str
    key: str
    kind: str
    ticket_id: int | None
    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    created_at: str
    next_attempt_at: str
    # Enqueue order (nanoseconds): items go out in the order they were queued.
    queued_ns: int = 0
    attempts: int = 0
    last_error: str | None = None
    sent_at: str | None = None


@dataclass
class SendReport:
    """What one pass over the queue did."""

    sent: list[OutboxItem] = field(default_factory=list)
    deferred: list[OutboxItem] = field(default_factory=list)
    failed: list[OutboxItem] = field(default_factory=list)


def item_id(key: str) -> str:
    """The id of the item with idempotency key ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
