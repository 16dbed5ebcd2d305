"""The digest's sections on promises and on the causes of complaints.

*Promises*: every promise made with ``#due`` on a ticket that is not closed
and whose time has passed is listed (oldest first), so that a missed promise
cannot hide; promises still ahead are counted.

*Complaint causes*: what the owner put complaints down to with ``#cause``,
counted over the last four weeks beside the four weeks before, so that the
owner sees which cause grows — the "continuous improvement" view.

Both read the ticket documents once and change nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from helpdesk.clock.digest import LIST_LIMIT, DigestSection, SectionRow
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import iso

__all__ = ["CAUSE_WINDOW", "cause_section", "promise_section"]

# The causes are counted over this many days, and compared with as many before.
CAUSE_WINDOW = timedelta(days=28)


def promise_section(
    ticket_documents: Iterable[Mapping[str, Any]], now: datetime, tokens: ReplyTokens
) -> DigestSection | None:
    """Missed promises (oldest first) and how many are still ahead; None when nothing is promised."""
    stamp = iso(now)
    missed: list[Mapping[str, Any]] = []
    ahead = 0
    for doc in ticket_documents:
        due = (doc.get("promise") or {}).get("due")
        if not due or doc.get("status") == "closed":
            continue
        if due <= stamp:
            missed.append(doc)
        else:
            ahead += 1
    if not missed and not ahead:
        return None
    missed.sort(key=lambda doc: str(doc["promise"]["due"]))
    rows = [
        SectionRow(
            label=f"#{doc['id']} {doc.get('subject', '')}",
            value=f"was due {str(doc['promise']['due'])[:16].replace('T', ' ')} UTC",
            detail=str(doc["promise"].get("what") or "") + f" ({doc['customer']})",
            ticket_id=int(doc["id"]),
            reply_address=tokens.address(int(doc["id"]), OWNER_PURPOSE),
        )
        for doc in missed[:LIST_LIMIT]
    ]
    summary = f"{len(missed)} missed, {ahead} still ahead"
    if len(missed) > LIST_LIMIT:
        summary += f" (the oldest {LIST_LIMIT} missed shown)"
    return DigestSection("promises", "Promises", summary, rows)


def cause_section(ticket_documents: Iterable[Mapping[str, Any]], now: datetime) -> DigestSection | None:
    """Complaint causes in the last four weeks against the four before, most frequent first."""
    recent_start, earlier_start = iso(now - CAUSE_WINDOW), iso(now - 2 * CAUSE_WINDOW)
    recent: Counter[str] = Counter()
    earlier: Counter[str] = Counter()
    for doc in ticket_documents:
        cause, at = doc.get("cause"), doc.get("cause_at")
        if not cause or not at:
            continue
        if at > recent_start:
            recent[cause] += 1
        elif at > earlier_start:
            earlier[cause] += 1
    if not recent and not earlier:
        return None
    rows = []
    for cause in sorted(set(recent) | set(earlier), key=lambda name: (-recent[name], -earlier[name], name)):
        change = recent[cause] - earlier[cause]
        trend = "up" if change > 0 else "down" if change < 0 else "same"
        rows.append(
            SectionRow(
                label=cause,
                value=str(recent[cause]),
                detail=f"{earlier[cause]} in the four weeks before ({trend})",
            )
        )
    summary = f"{sum(recent.values())} in the last four weeks, {sum(earlier.values())} in the four before"
    return DigestSection("causes", "Causes of complaints", summary, rows)
