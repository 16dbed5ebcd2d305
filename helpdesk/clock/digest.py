"""The weekly digest's figures: what the owner's weekly message says about the business.

:func:`build_digest` reads the store once and works out every figure the
digest shows; :class:`Digest` holds them as plain data (no formatting, no
templates). Presenting the
figures (the template values, the wording of durations and dates, the chart's
bar sizes, the rendered :class:`~helpdesk.outbound.compose.Outbound`) is
:mod:`helpdesk.clock.digestview`'s job, kept apart so that the figures can be
computed, tested and benchmarked without templates, and the presentation changed
without touching the single pass over the store. This module never imports the view.

What the figures mean (all times of day and dates in the business time zone,
all durations in business hours of :class:`BusinessHours`):

* **This week** is the 7 days before ``now``; **last week** the 7 days before
  that. The five weekly medians are this week and the four before it, each 7
  days long, newest first.
* **Open** tickets are the ones not closed (``new``, ``open`` and ``pending``),
  grouped by priority (urgent first) and listed oldest first. A ticket's *age*
  is the business time since it was opened; its *waiting* time is the business
  time since the customer's last message when the owner has not answered it
  (the clock the escalation rules use), else none.
* **Overdue**: open, not waiting on the customer, the customer's last message
  unanswered by the owner (``last_customer_at`` after ``last_owner_at``, or no
  owner answer at all) for at least ``response_time``: what the rules promise
  (``RuleSet.response_time``); the caller passes it in, and it defaults to
  :data:`DEFAULT_RESPONSE_TIME` (one business day), so that the digest does not
  depend on the rules being loaded. **Escalated**: open with an
  ``escalation_level`` above 0. The digest lists both together.
* **Waiting on the customer**: status ``pending``, waiting since the owner's
  last answer.
* **First response** of a ticket: the business time from its creation to the
  owner's first answer to the customer. That answer is the first history entry
  ``owner-replied`` that was relayed (or imported from the sent history), which
  ingestion writes exactly when it records the owner's relayed reply (the
  outbound message with ``origin_message_id``); acknowledgements and other
  automatic mail write no such entry, and neither does an owner reply holding
  only commands (``not relayed``). The history is in the ticket document, so no
  messages are loaded. A ticket counts in the week its first answer was sent.
* **Resolution**: business time from creation to ``closed_at``; a ticket counts
  in the week it was closed. Reopened tickets lose ``closed_at`` and count
  again when closed again.
* **Opened/closed per day**: the 28 local dates ending today, by
  ``created_at`` and ``closed_at`` (a reopened ticket counts where it was
  closed last).
* **Longest-waiting customers**: the customers with unanswered open tickets,
  the longest wait first. **Top customers**: most tickets opened in the last
  28 days.
* **Delivery failures** and **quarantined messages** are what the caller
  passes in (``Outbox.failed()``, ``Quarantine.entries()``), newest first.

Lists are cut at :data:`LIST_LIMIT` entries (with the count of the rest); the
counts are always complete.

Extension point: :attr:`Digest.sections` is a list of :class:`DigestSection`
that later features append to after :func:`build_digest` (satisfaction,
invoices, promises, complaint causes). Each is a title, a one-line summary and
rows of label, value and detail (optionally with a ticket's reply address);
the templates render every section in that list generically, after the
built-in ones (:func:`helpdesk.clock.digestview.digest_context`), so a new
feature needs no template change.

Performance: one pass over ``Store.ticket_documents()`` (the stored dicts, not
copied), comparing ISO 8601 UTC strings, which sort as the moments they name;
dates are parsed and business time is measured only for tickets inside the
five-week window of the medians and for the few tickets the digest lists.
``Store.messages()`` is never called.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from helpdesk.intake.quarantine import QuarantineEntry
from helpdesk.outbound.outbox import OutboxItem
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import Duration
from helpdesk.store.records import iso
from helpdesk.store.store import Store

__all__ = [
    "CHART_DAYS",
    "DEFAULT_RESPONSE_TIME",
    "GROUP_LIMIT",
    "LIST_LIMIT",
    "ChartDay",
    "CustomerLine",
    "Digest",
    "DigestSection",
    "FailureLine",
    "PriorityGroup",
    "QuarantineLine",
    "SectionRow",
    "TicketLine",
    "WeekCount",
    "WeekMedians",
    "build_digest",
]

# What the owner is assumed to promise when the caller does not say (see the module docstring).
DEFAULT_RESPONSE_TIME = Duration(1, "days", business=True)
# Entries per list (overdue, pending, failures, quarantine).
LIST_LIMIT = 10
# Open tickets shown per priority: the oldest; the rest are counted. Together
# with the other lists this keeps the HTML part under the 102 KB at which Gmail
# cuts a message off ("[Message clipped]"), however many tickets are open.
GROUP_LIMIT = 5
# Customers in the longest-waiting and the top-customers lists.
CUSTOMER_LIMIT = 5
# The chart: days, and the weeks of the medians.
CHART_DAYS = 28
MEDIAN_WEEKS = 5
WEEK = timedelta(days=7)
# Priorities, most pressing first, as the digest groups open tickets.
PRIORITY_ORDER = ("urgent", "high", "normal", "low")
# History details of an "owner-replied" entry that did not answer the customer.
_NOT_AN_ANSWER = frozenset({"not relayed"})


# ---------------------------------------------------------------------------
# The figures, as plain data.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketLine:
    """One ticket as the digest lists it.

    ``age_hours``: business hours since it was opened; ``waiting_hours``:
    business hours since the customer's unanswered message (None when the
    owner answered last), or for a pending ticket since the owner's answer.
    """

    id: int
    subject: str
    customer: str
    name: str
    status: str
    priority: str
    created_at: str
    age_hours: float
    waiting_since: str | None
    waiting_hours: float | None
    overdue: bool
    escalation_level: int
    reply_address: str


@dataclass(frozen=True)
class PriorityGroup:
    """The open tickets of one priority: how many, and the oldest of them."""

    priority: str
    count: int
    tickets: list[TicketLine]


@dataclass(frozen=True)
class WeekCount:
    """Tickets opened and closed in one 7-day window [start, end)."""

    start: str
    end: str
    opened: int
    closed: int


@dataclass(frozen=True)
class WeekMedians:
    """Median first-response and resolution times (business hours) of one 7-day window."""

    start: str
    end: str
    first_response_hours: float | None
    first_responses: int
    resolution_hours: float | None
    resolutions: int


@dataclass(frozen=True)
class ChartDay:
    """Tickets opened and closed on one local date."""

    day: date
    opened: int
    closed: int


@dataclass(frozen=True)
class CustomerLine:
    """A customer in the longest-waiting or top-customers list.

    ``tickets``: unanswered open tickets (longest waiting) or tickets opened in
    the last 28 days (top customers); ``total_tickets``: all their tickets.
    ``ticket_id``/``reply_address``: their longest-waiting (or latest) ticket.
    """

    email: str
    name: str
    tickets: int
    total_tickets: int
    ticket_id: int
    subject: str
    reply_address: str
    waiting_hours: float | None = None


@dataclass(frozen=True)
class FailureLine:
    """A message the outbox gave up on."""

    kind: str
    recipients: list[str]
    subject: str
    error: str
    attempts: int
    created_at: str
    ticket_id: int | None
    reply_address: str | None


@dataclass(frozen=True)
class QuarantineLine:
    """A message set aside by ingestion."""

    id: str
    reason: str
    source: str | None
    quarantined_at: str
    size: int


@dataclass(frozen=True)
class SectionRow:
    """One row of an extra section: a label, a value, and an optional detail line and ticket."""

    label: str
    value: str = ""
    detail: str = ""
    ticket_id: int | None = None
    reply_address: str | None = None


@dataclass
class DigestSection:
    """A section added by a later feature (see the module docstring): rendered generically."""

    key: str
    title: str
    summary: str = ""
    rows: list[SectionRow] = field(default_factory=list)


@dataclass
class Digest:
    """Every figure of one weekly digest (``digestview.digest_context`` gives the templates' values)."""

    generated_at: str
    timezone: str
    week: WeekCount
    last_week: WeekCount
    response_time: str
    open_total: int
    priorities: list[PriorityGroup]
    overdue_count: int
    escalated_count: int
    # Overdue or escalated tickets, the longest unanswered first.
    attention: list[TicketLine]
    attention_count: int
    # Open tickets whose customer waits for the owner's answer (pending ones excluded).
    unanswered_count: int
    pending_count: int
    pending: list[TicketLine]
    weeks: list[WeekMedians]
    chart: list[ChartDay]
    longest_waiting: list[CustomerLine]
    top_customers: list[CustomerLine]
    failures_count: int
    failures: list[FailureLine]
    quarantined_count: int
    quarantined: list[QuarantineLine]
    sections: list[DigestSection] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Building.
# ---------------------------------------------------------------------------


def build_digest(
    store: Store,
    hours: BusinessHours,
    now: datetime,
    tokens: ReplyTokens,
    *,
    failures: Sequence[OutboxItem] = (),
    quarantined: Sequence[QuarantineEntry] = (),
    response_time: Duration | None = None,
) -> Digest:
    """Work out the digest for the week before ``now`` (timezone-aware) from ``store``.

    ``failures`` (``Outbox.failed()``) and ``quarantined``
    (``Quarantine.entries()``) are listed as given. ``response_time`` is what
    the owner promises to answer within (``RuleSet.response_time``); a ticket
    unanswered for longer is overdue. Default: :data:`DEFAULT_RESPONSE_TIME`.
    """
    if now.tzinfo is None:
        raise ValueError("build_digest needs a timezone-aware now")
    promise = response_time or DEFAULT_RESPONSE_TIME
    zone = hours.timezone
    end = iso(now)
    # Stamps have whole seconds: what happened in the second of ``now`` counts too.
    until = iso(now + timedelta(seconds=1))
    week_starts = [iso(now - WEEK * count) for count in range(MEDIAN_WEEKS, 0, -1)]
    # Ascending bounds of the median weeks: [5 weeks ago, ..., 1 week ago, now].
    median_bounds = [*week_starts, until]
    median_start = median_bounds[0]
    this_start, last_start = median_bounds[-2], median_bounds[-3]
    today = now.astimezone(zone).date()
    chart_dates = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    chart_bounds = [iso(datetime.combine(day, time(0), tzinfo=zone)) for day in chart_dates]
    chart_start = chart_bounds[0]
    # Everything the pass counts lies after the earliest of these.
    window_start = min(median_start, chart_start)

    opened = [0] * CHART_DAYS
    closed = [0] * CHART_DAYS
    week_opened = [0, 0]  # last week, this week
    week_closed = [0, 0]
    first_responses: list[list[float]] = [[] for _ in range(MEDIAN_WEEKS)]
    resolutions: list[list[float]] = [[] for _ in range(MEDIAN_WEEKS)]
    recent_by_customer: Counter[str] = Counter()
    latest_recent: dict[str, dict[str, Any]] = {}
    # The not-closed tickets: (created_at, id, document) per priority; and the subsets.
    open_docs: dict[str, list[tuple[str, int, dict[str, Any]]]] = {name: [] for name in PRIORITY_ORDER}
    unanswered: list[tuple[str, int, dict[str, Any]]] = []
    escalated: list[dict[str, Any]] = []
    pending: list[tuple[str, int, dict[str, Any]]] = []

    def business_hours(start: str, finish: str) -> float:
        begin, until = datetime.fromisoformat(start), datetime.fromisoformat(finish)
        return hours.business_seconds_between(begin, until) / 3600

    for doc in store.ticket_documents():
        created = doc["created_at"]
        status = doc.get("status", "new")
        if window_start <= created < until:
            if created >= chart_start:
                opened[bisect_right(chart_bounds, created) - 1] += 1
                customer = doc["customer"]
                recent_by_customer[customer] += 1
                previous = latest_recent.get(customer)
                if previous is None or doc["id"] > previous["id"]:
                    latest_recent[customer] = doc
            if created >= last_start:
                week_opened[created >= this_start] += 1
        if status == "closed":
            closed_at = doc.get("closed_at")
            if closed_at and window_start <= closed_at < until:
                if closed_at >= chart_start:
                    closed[bisect_right(chart_bounds, closed_at) - 1] += 1
                if closed_at >= last_start:
                    week_closed[closed_at >= this_start] += 1
                if closed_at >= median_start:
                    index = bisect_right(median_bounds, closed_at) - 1
                    resolutions[index].append(business_hours(created, closed_at))
        else:
            priority = doc.get("priority", "normal")
            entry = (created, doc["id"], doc)
            open_docs.get(priority, open_docs["normal"]).append(entry)
            since = _unanswered_since(doc)
            if status == "pending":
                pending.append((doc.get("last_owner_at") or created, doc["id"], doc))
            elif since is not None:
                unanswered.append((since, doc["id"], doc))
            if doc.get("escalation_level", 0) > 0:
                escalated.append(doc)
        owner_at = doc.get("last_owner_at")
        if owner_at and owner_at >= median_start:
            answered = _first_answer(doc)
            if answered is not None and median_start <= answered < until:
                index = bisect_right(median_bounds, answered) - 1
                first_responses[index].append(business_hours(created, answered))

    names: dict[str, str] = {}

    def name_of(email: str) -> str:
        if email not in names:
            customer = store.customer(email)
            names[email] = customer.name if customer else ""
        return names[email]

    def line(doc: dict[str, Any], *, overdue: bool = False) -> TicketLine:
        created = doc["created_at"]
        status = doc.get("status", "new")
        since = doc.get("last_owner_at") if status == "pending" else _unanswered_since(doc)
        return TicketLine(
            id=doc["id"],
            subject=doc.get("subject", ""),
            customer=doc["customer"],
            name=name_of(doc["customer"]),
            status=status,
            priority=doc.get("priority", "normal"),
            created_at=created,
            age_hours=_round(business_hours(created, end)),
            waiting_since=since,
            waiting_hours=_round(business_hours(since, end)) if since else None,
            overdue=overdue,
            escalation_level=int(doc.get("escalation_level", 0)),
            reply_address=tokens.address(doc["id"], OWNER_PURPOSE),
        )

    # Overdue: unanswered for at least the promise. The business time waited only grows the
    # earlier the wait began (for business hours and for business days alike), so walking the
    # unanswered tickets longest-waiting first, the overdue ones come first and the first one
    # that is not overdue ends the walk.
    unanswered.sort(key=lambda item: (item[0], item[1]))
    overdue_ids: set[int] = set()
    for since, ticket_id, _ in unanswered:
        if not hours.elapsed(datetime.fromisoformat(since), now, promise):
            break
        overdue_ids.add(ticket_id)
    escalated_ids = {doc["id"] for doc in escalated}
    needing = [item for item in unanswered if item[1] in overdue_ids or item[1] in escalated_ids]
    # Escalated tickets that are not waiting for an answer (rare) still belong in the list.
    listed = {item[1] for item in needing}
    needing += sorted(
        (doc.get("last_customer_at") or doc["created_at"], doc["id"], doc)
        for doc in escalated
        if doc["id"] not in listed
    )
    attention_ids = overdue_ids | escalated_ids

    priorities = []
    for name in PRIORITY_ORDER:
        docs = open_docs[name]
        docs.sort(key=lambda item: (item[0], item[1]))
        shown = [line(doc, overdue=doc["id"] in overdue_ids) for _, _, doc in docs[:GROUP_LIMIT]]
        priorities.append(PriorityGroup(name, len(docs), shown))

    pending.sort(key=lambda item: (item[0], item[1]))

    # Longest-waiting customers: each customer's longest wait, the longest first.
    waiting_customers: dict[str, tuple[str, int, dict[str, Any]]] = {}
    waiting_counts: Counter[str] = Counter()
    for item in unanswered:
        customer = item[2]["customer"]
        waiting_counts[customer] += 1
        waiting_customers.setdefault(customer, item)
    longest = []
    for since, ticket_id, doc in list(waiting_customers.values())[:CUSTOMER_LIMIT]:
        email = doc["customer"]
        longest.append(
            CustomerLine(
                email=email,
                name=name_of(email),
                tickets=waiting_counts[email],
                total_tickets=len(store.tickets_of(email)),
                ticket_id=ticket_id,
                subject=doc.get("subject", ""),
                reply_address=tokens.address(ticket_id, OWNER_PURPOSE),
                waiting_hours=_round(business_hours(since, end)),
            )
        )

    top = []
    for email, count in sorted(recent_by_customer.items(), key=lambda item: (-item[1], item[0]))[
        :CUSTOMER_LIMIT
    ]:
        latest = latest_recent[email]
        top.append(
            CustomerLine(
                email=email,
                name=name_of(email),
                tickets=count,
                total_tickets=len(store.tickets_of(email)),
                ticket_id=latest["id"],
                subject=latest.get("subject", ""),
                reply_address=tokens.address(latest["id"], OWNER_PURPOSE),
            )
        )

    failed = sorted(failures, key=lambda item: (item.created_at, item.id), reverse=True)
    held = sorted(quarantined, key=lambda item: (item.quarantined_at, item.id), reverse=True)
    return Digest(
        generated_at=end,
        timezone=zone.key,
        week=WeekCount(this_start, end, week_opened[1], week_closed[1]),
        last_week=WeekCount(last_start, this_start, week_opened[0], week_closed[0]),
        response_time=str(promise),
        open_total=sum(group.count for group in priorities),
        priorities=priorities,
        overdue_count=len(overdue_ids),
        escalated_count=len(escalated_ids),
        attention=[line(doc, overdue=ticket_id in overdue_ids) for _, ticket_id, doc in needing[:LIST_LIMIT]],
        attention_count=len(attention_ids),
        unanswered_count=len(unanswered),
        pending_count=len(pending),
        pending=[line(doc) for _, _, doc in pending[:LIST_LIMIT]],
        weeks=[
            WeekMedians(
                start=median_bounds[index],
                end=median_bounds[index + 1],
                first_response_hours=_median(first_responses[index]),
                first_responses=len(first_responses[index]),
                resolution_hours=_median(resolutions[index]),
                resolutions=len(resolutions[index]),
            )
            for index in reversed(range(MEDIAN_WEEKS))
        ],
        chart=[ChartDay(day, opened[i], closed[i]) for i, day in enumerate(chart_dates)],
        longest_waiting=longest,
        top_customers=top,
        failures_count=len(failed),
        failures=[_failure_line(item, tokens) for item in failed[:LIST_LIMIT]],
        quarantined_count=len(held),
        quarantined=[
            QuarantineLine(entry.id, entry.reason, entry.source, entry.quarantined_at, entry.size)
            for entry in held[:LIST_LIMIT]
        ],
    )


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------


def _unanswered_since(doc: dict[str, Any]) -> str | None:
    """The customer's last message if the owner has not answered it since (else None)."""
    customer_at = doc.get("last_customer_at")
    owner_at = doc.get("last_owner_at")
    if not customer_at or (owner_at and owner_at >= customer_at):
        return None
    return customer_at


def _first_answer(doc: dict[str, Any]) -> str | None:
    """When the owner first answered the customer: the earliest relayed ``owner-replied`` entry."""
    first = None
    for entry in doc.get("history", ()):
        if entry.get("event") == "owner-replied" and entry.get("detail") not in _NOT_AN_ANSWER:
            at = entry.get("at")
            if at and (first is None or at < first):
                first = at
    return first


def _median(values: list[float]) -> float | None:
    return _round(statistics.median(values)) if values else None


def _round(value: float) -> float:
    return round(value, 2)


def _failure_line(item: OutboxItem, tokens: ReplyTokens) -> FailureLine:
    return FailureLine(
        kind=item.kind,
        recipients=list(item.recipients),
        subject=item.subject,
        error=item.last_error or "",
        attempts=item.attempts,
        created_at=item.created_at,
        ticket_id=item.ticket_id,
        reply_address=tokens.address(item.ticket_id, OWNER_PURPOSE) if item.ticket_id is not None else None,
    )
