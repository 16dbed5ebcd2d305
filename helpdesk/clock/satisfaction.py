"""Customer satisfaction in the weekly digest: the answers to the thank-you's question.

After a ticket is closed the customer is asked for a score from 1 to 5; the
answer sits on the ticket document as ``feedback`` (``score``, ``comment``,
``at``; an empty dict while there is none). :func:`satisfaction_section`
turns those answers into one :class:`~helpdesk.clock.digest.DigestSection`
that the caller appends to ``Digest.sections`` after
:func:`~helpdesk.clock.digest.build_digest`; the digest templates render it
generically, so nothing else changes.

What the section says:

* **The weeks** are the digest's own: this week is the 7 days before ``now``
  and the four weeks before it are 7 days each, newest first, the same
  windows as the digest's five weekly medians (an answer given exactly 7 days
  before ``now`` is this week's; what happened in the second of ``now`` counts
  too). The business time zone only names them ("Week of Wed 2 Dec": the local
  date each window starts on). A week's figure is the average score, to one
  decimal (halves rounded up), and the number of answers; "the four weeks
  before" in the summary pools their answers rather than averaging averages.
* **Comments**: the answers of this week that carry a comment, newest first.
* **Complaints**: answers scoring 1 or 2, over all five weeks. The shipped
  rules reopen such a ticket and tell the owner; a complaint is *followed up*
  once, after the answer, the owner wrote (``last_owner_at``) or the ticket was
  closed again (``closed_at``). The ones not followed up come first.

Every list is cut (:data:`COMMENT_LIMIT`, :data:`COMPLAINT_LIMIT`) with a row
that counts the rest, so the digest stays small however busy the week was.

Why a pure function of the ticket documents: the digest reads the store once
and this section must not read it again, so the caller passes
``store.ticket_documents()`` (or any iterable of ticket documents) and, for
display names, a mapping of customer email to name. The documents are read,
never changed, in one pass; only the answers inside the five weeks are kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk.clock.digest import LIST_LIMIT, MEDIAN_WEEKS, WEEK, DigestSection, SectionRow
from helpdesk.clock.digestview import day_label
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import iso

__all__ = [
    "COMMENT_LIMIT",
    "COMPLAINT_LIMIT",
    "COMPLAINT_SCORE",
    "SECTION_KEY",
    "satisfaction_section",
]

SECTION_KEY = "satisfaction"
TITLE = "Customer satisfaction"
# Scores from 1 up to this one are complaints (what the shipped rules reopen a ticket for).
COMPLAINT_SCORE = 2
MAX_SCORE = 5
# Rows per list: this week's comments, and the complaints of the five weeks.
COMMENT_LIMIT = LIST_LIMIT
COMPLAINT_LIMIT = LIST_LIMIT
# A comment is shortened to about this many characters in the comments list.
COMMENT_LENGTH = 140
# templates/digest.txt cuts a row's detail at 66 characters. A complaint's detail
# ends with whether it was followed up, which must survive that cut, so its
# comment is shortened to fit the rest.
TEXT_DETAIL = 66
FOLLOWED_UP = " — followed up"
NOT_FOLLOWED_UP = " — NOT followed up yet"


@dataclass(frozen=True)
class _Answer:
    """One customer's answer inside the five weeks, with what the digest lists about it."""

    at: str
    score: int
    comment: str
    ticket_id: int
    customer: str
    followed_up: bool


def satisfaction_section(
    ticket_documents: Iterable[Mapping[str, Any]],
    now: datetime,
    timezone: str | tzinfo,
    tokens: ReplyTokens,
    names: Mapping[str, str] | None = None,
) -> DigestSection | None:
    """The digest's satisfaction section for the week before ``now``, or None if nobody ever answered.

    ``ticket_documents``: every ticket document (``Store.ticket_documents()``),
    read once and never changed. ``now``: timezone-aware, the ``now`` given
    to ``build_digest``. ``timezone``: the business's (an IANA name such as
    ``Digest.timezone``, or a tzinfo), used to name the weeks. ``tokens``: for
    the owner's reply address of each listed ticket. ``names``: customer email
    to display name; a customer without one is shown by email.
    """
    if now.tzinfo is None:
        raise ValueError("satisfaction_section needs a timezone-aware now")
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    names = names or {}
    # The digest's median weeks, ascending: [5 weeks ago, ..., 1 week ago, now + 1 s).
    bounds = [iso(now - WEEK * count) for count in range(MEDIAN_WEEKS, 0, -1)]
    bounds.append(iso(now + timedelta(seconds=1)))
    this_week = MEDIAN_WEEKS - 1

    answered = False
    totals = [0] * MEDIAN_WEEKS
    counts = [0] * MEDIAN_WEEKS
    complaint_counts = [0] * MEDIAN_WEEKS
    comments: list[_Answer] = []
    complaints: list[_Answer] = []
    for doc in ticket_documents:
        feedback = doc.get("feedback")
        if not feedback:
            continue
        score = feedback.get("score")
        # A bool is an int too, but no answer.
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= MAX_SCORE:
            continue
        answered = True
        at = _stamp(feedback.get("at"))
        if at is None or not bounds[0] <= at < bounds[-1]:
            continue
        week = bisect_right(bounds, at) - 1
        totals[week] += score
        counts[week] += 1
        comment = " ".join(str(feedback.get("comment") or "").split())
        complaint = score <= COMPLAINT_SCORE
        if complaint:
            complaint_counts[week] += 1
        if complaint or (week == this_week and comment):
            answer = _Answer(
                at, score, comment, int(doc["id"]), str(doc.get("customer", "")), _followed_up(doc, at)
            )
            if complaint:
                complaints.append(answer)
            if week == this_week and comment:
                comments.append(answer)
    if not answered:
        return None

    def customer(answer: _Answer) -> str:
        return names.get(answer.customer) or answer.customer

    def reply(answer: _Answer) -> str:
        return tokens.address(answer.ticket_id, OWNER_PURPOSE)

    rows = []
    for week in reversed(range(MEDIAN_WEEKS)):
        start = datetime.fromisoformat(bounds[week]).astimezone(zone).date()
        value = f"{_average(totals[week], counts[week])} ({counts[week]})" if counts[week] else "no answers"
        detail = _count(complaint_counts[week], "complaint") if complaint_counts[week] else ""
        rows.append(SectionRow(f"Week of {day_label(start)}", value, detail))

    comments.sort(key=lambda answer: (answer.at, answer.ticket_id), reverse=True)
    for answer in comments[:COMMENT_LIMIT]:
        rows.append(
            SectionRow(
                f"{_stars(answer.score)} {answer.score}/{MAX_SCORE}",
                customer(answer),
                _shorten(answer.comment, COMMENT_LENGTH),
                answer.ticket_id,
                reply(answer),
            )
        )
    if len(comments) > COMMENT_LIMIT:
        rows.append(SectionRow(f"and {_count(len(comments) - COMMENT_LIMIT, 'more comment')}"))

    # Newest first, then the ones not followed up before the others (the sort is stable).
    complaints.sort(key=lambda answer: (answer.at, answer.ticket_id), reverse=True)
    complaints.sort(key=lambda answer: answer.followed_up)
    pending = sum(not answer.followed_up for answer in complaints)
    for answer in complaints[:COMPLAINT_LIMIT]:
        suffix = FOLLOWED_UP if answer.followed_up else NOT_FOLLOWED_UP
        comment = _shorten(answer.comment, TEXT_DETAIL - len(suffix)) if answer.comment else "(no comment)"
        rows.append(
            SectionRow(
                f"Complaint {answer.score}/{MAX_SCORE}",
                customer(answer),
                comment + suffix,
                answer.ticket_id,
                reply(answer),
            )
        )
    if len(complaints) > COMPLAINT_LIMIT:
        rest = complaints[COMPLAINT_LIMIT:]
        waiting = sum(not answer.followed_up for answer in rest)
        rows.append(
            SectionRow(
                f"and {_count(len(rest), 'more complaint')}",
                f"{waiting} not followed up yet" if waiting else "all followed up",
            )
        )

    return DigestSection(SECTION_KEY, TITLE, _summary(totals, counts, len(complaints), pending), rows)


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------


def _stamp(value: Any) -> str | None:
    """``value`` as the store's UTC ISO string (second precision), or None if it is no moment.

    The store writes such strings already; this makes a ``Z`` suffix, another
    offset or a naive time (taken as UTC) compare correctly as text too.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def _followed_up(doc: Mapping[str, Any], at: str) -> bool:
    """Whether, after the answer ``at``, the owner answered or the ticket was closed again."""
    owner_at = _stamp(doc.get("last_owner_at"))
    closed_at = _stamp(doc.get("closed_at"))
    return (owner_at is not None and owner_at > at) or (closed_at is not None and closed_at > at)


def _average(total: int, count: int) -> str:
    """``total / count`` to one decimal, halves rounded up (``4.65`` -> ``4.7``)."""
    return str((Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _summary(totals: list[int], counts: list[int], complaints: int, pending: int) -> str:
    """One line: this week's average, the four weeks before, and the complaints."""
    now_total, now_count = totals[-1], counts[-1]
    before_total, before_count = sum(totals[:-1]), sum(counts[:-1])
    if now_count:
        text = f"{_average(now_total, now_count)} average from {_count(now_count, 'answer')} this week"
    else:
        text = "No answers this week"
    weeks = MEDIAN_WEEKS - 1
    if before_count:
        text += f" ({_average(before_total, before_count)} over the {_number(weeks)} weeks before)"
    else:
        text += f" (none in the {_number(weeks)} weeks before)"
    if complaints:
        text += f"; {_count(complaints, 'complaint')} in {_number(MEDIAN_WEEKS)} weeks, "
        text += f"{pending} not followed up yet" if pending else "all followed up"
    return text + "."


def _stars(score: int) -> str:
    return "★" * score + "☆" * (MAX_SCORE - score)


def _shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word where one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-—") + "…"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _number(value: int) -> str:
    return _NUMBERS[value] if 0 <= value < len(_NUMBERS) else str(value)
