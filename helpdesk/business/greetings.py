"""Special-occasion greetings: birthdays, the New Year and the anniversary of a first purchase.

Once a day, at ``[greetings] time`` local business time, the scheduler calls
:func:`queue_greetings`. It works out which customers have an occasion today
(:func:`due_greetings`, pure and easy to test), renders one mail per
occasion from the template of the same name (``birthday``, ``new-year``,
``anniversary``) and queues it in the outbox, spread out over the day at
``[greetings] per_hour`` so that a long customer list neither floods the
SMTP server nor looks like a bulk mailing.

Greetings are non-essential mail (:data:`helpdesk.business.optout.NON_ESSENTIAL`):
never to a customer who opted out, and each carries the customer's own
unsubscribe address, in the text and in a ``List-Unsubscribe`` header.

The job is idempotent on its own, whatever the scheduler does: the year of
each greeting sent is recorded on the customer (``Customer.greeted``), and
the outbox key ``greeting:{occasion}:{year}:{customer id}`` refuses a second
message even when a crash came between queueing and recording. A customer
therefore gets each occasion at most once a year, however often the job runs.

This module knows nothing of opening hours: the caller says which local dates
are closed (``closed``), so that business code does not depend on policy.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk.business.optout import unsubscribe_address
from helpdesk.config import GreetingsConfig
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import Outbox
from helpdesk.outbound.render import Templates
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import Customer, Invoice
from helpdesk.store.store import Store

__all__ = [
    "ANNIVERSARY",
    "BIRTHDAY",
    "NEW_YEAR",
    "NEW_YEAR_LAST_DAY",
    "OCCASIONS",
    "Greeting",
    "due_greetings",
    "first_purchases",
    "greeting_key",
    "new_year_day",
    "queue_greetings",
]

# The occasions, named as their templates and as the keys of Customer.greeted.
BIRTHDAY = "birthday"
NEW_YEAR = "new-year"
ANNIVERSARY = "anniversary"
OCCASIONS: tuple[str, ...] = (ANNIVERSARY, BIRTHDAY, NEW_YEAR)

# The New Year greeting waits for the first open day, but no later than this
# day of January: a "Happy New Year" in February reads like a mistake.
NEW_YEAR_LAST_DAY = 7


@dataclass(frozen=True)
class Greeting:
    """One greeting due today: who gets it, for which occasion, in which year.

    ``since`` is the date of the first invoice, for an anniversary (None for
    the other occasions); ``year - since.year`` is how many years it has been.
    """

    customer_id: int
    email: str
    occasion: str
    year: int
    since: date | None = None

    @property
    def years(self) -> int | None:
        """How many years a customer has been one, for an anniversary; None otherwise."""
        return self.year - self.since.year if self.since is not None else None


def greeting_key(greeting: Greeting) -> str:
    """The outbox idempotency key of a greeting: one per customer, occasion and year."""
    return f"greeting:{greeting.occasion}:{greeting.year}:{greeting.customer_id}"


def _enabled(settings: GreetingsConfig) -> frozenset[str]:
    """The occasions ``[greetings]`` switches on."""
    switches = {BIRTHDAY: settings.birthday, NEW_YEAR: settings.new_year, ANNIVERSARY: settings.anniversary}
    return frozenset(occasion for occasion, on in switches.items() if on)


def _returns_on(origin: date, today: date) -> bool:
    """Whether ``today`` is a yearly return of ``origin`` in a later year.

    A 29 February returns on 28 February in the years that have no 29th.
    """
    if origin.year >= today.year:
        return False
    if (origin.month, origin.day) == (2, 29) and not calendar.isleap(today.year):
        return (today.month, today.day) == (2, 28)
    return (today.month, today.day) == (origin.month, origin.day)


def _parse_day(text: str | None) -> date | None:
    """A stored ``YYYY-MM-DD`` date, or None when it is missing or unreadable (never an error)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def new_year_day(year: int, closed: Callable[[date], bool]) -> date | None:
    """The day the New Year greeting of ``year`` goes out: the first day from 1 January that is not closed.

    None when every day up to :data:`NEW_YEAR_LAST_DAY` January is closed:
    that year there is no New Year greeting.
    """
    for offset in range(NEW_YEAR_LAST_DAY):
        day = date(year, 1, 1) + timedelta(days=offset)
        if not closed(day):
            return day
    return None


def first_purchases(invoices: Iterable[Invoice]) -> dict[str, date]:
    """The date of each customer's first invoice, by customer address (lower case).

    Only invoices count: a credit note is no purchase, and neither is an
    invoice that was voided (cancelled as if never issued).
    """
    first: dict[str, date] = {}
    for invoice in invoices:
        if invoice.kind != "invoice" or invoice.status == "void":
            continue
        issued = _parse_day(invoice.issued_on)
        if issued is None:
            continue
        email = invoice.customer.lower()
        if email not in first or issued < first[email]:
            first[email] = issued
    return first


def due_greetings(
    customers: Iterable[Customer],
    today: date,
    settings: GreetingsConfig,
    first_purchase: Mapping[str, date],
    closed: Callable[[date], bool],
) -> list[Greeting]:
    """The greetings due on the local date ``today``, sorted by occasion, then customer id.

    The rules:

    * **birthday**: the month and day of ``Customer.birthday`` are today's
      (a 29 February birthday is greeted on 28 February in other years);
    * **new-year**: on 1 January;
    * **anniversary**: the month and day of the customer's first invoice
      (``first_purchase``, by lower-case address, as :func:`first_purchases`
      makes it: credit notes and voided invoices do not count) are today's,
      in a later year than that invoice's (29 February as above);
    * only the occasions switched on in ``settings``; never to a customer who
      opted out; never twice in a year (``Customer.greeted[occasion]`` holds
      the year it was last sent);
    * with ``settings.skip_holidays``, nothing at all on a day for which
      ``closed(today)`` is true: a birthday or anniversary that falls on a
      closed day is not greeted that year (a belated greeting from a
      business is worse than none). The one exception is the New Year,
      whose 1 January is usually a public holiday itself: its greeting goes
      out on the first day of the year that is not closed, on or after
      1 January and at most until 7 January (none that year if all seven are
      closed). Without ``skip_holidays``, ``closed`` is not consulted.

    Each occasion is due on exactly one day: a day the job did not run (the
    daemon was down all day) is not made up later.
    """
    enabled = _enabled(settings)
    if not enabled:
        return []
    skip = settings.skip_holidays
    open_today = not (skip and closed(today))
    new_year_today = False
    if NEW_YEAR in enabled and today.month == 1 and today.day <= NEW_YEAR_LAST_DAY:
        greeting_day = new_year_day(today.year, closed) if skip else date(today.year, 1, 1)
        new_year_today = greeting_day == today
    if not open_today and not new_year_today:
        return []
    due: list[Greeting] = []
    for customer in customers:
        if customer.opted_out:
            continue
        # Occasions this customer may still get this year.
        wanted = {occasion for occasion in enabled if customer.greeted.get(occasion, 0) < today.year}
        if new_year_today and NEW_YEAR in wanted:
            due.append(Greeting(customer.id, customer.email, NEW_YEAR, today.year))
        if not open_today:
            continue
        birthday = _parse_day(customer.birthday)
        if BIRTHDAY in wanted and birthday is not None and _returns_on(birthday, today):
            due.append(Greeting(customer.id, customer.email, BIRTHDAY, today.year))
        since = first_purchase.get(customer.email.lower())
        if ANNIVERSARY in wanted and since is not None and _returns_on(since, today):
            due.append(Greeting(customer.id, customer.email, ANNIVERSARY, today.year, since))
    due.sort(key=lambda greeting: (greeting.occasion, greeting.customer_id))
    return due


def _context(
    base_context: Mapping[str, Any], customer: Customer, greeting: Greeting, address: str
) -> dict[str, Any]:
    """What a greeting template sees: the business and owner, the customer, the occasion."""
    context: dict[str, Any] = dict(base_context)
    context.update(
        customer={"name": customer.name, "email": customer.email},
        occasion=greeting.occasion,
        year=greeting.year,
        unsubscribe_address=address,
    )
    if greeting.since is not None:
        context.update(since=greeting.since.isoformat(), years=greeting.years)
    return context


def queue_greetings(
    store: Store,
    outbox: Outbox,
    templates: Templates,
    tokens: ReplyTokens,
    settings: GreetingsConfig,
    timezone: str,
    base_context: Mapping[str, Any],
    closed: Callable[[date], bool],
    now: datetime,
) -> int:
    """Queue today's greetings (the local date in ``timezone`` at ``now``); returns how many were queued.

    ``base_context`` is what every template sees of the business and its
    owner (``business``, ``owner``); ``closed`` says whether a local date is
    a closed day of the business (see :func:`due_greetings`); ``now`` must
    be timezone-aware. The i-th message of a run (from 0) is held back until
    ``now + i * 3600 / per_hour`` seconds, so 600 greetings at 60 an hour go
    out over ten hours, in the order of :func:`due_greetings`.

    Each greeted customer's ``greeted[occasion]`` is set to the year and the
    store committed once at the end, after the outbox is flushed: what is
    recorded as sent is on disk in the queue first. A greeting already in
    the outbox under its key (queued by a run that crashed before its
    commit) is not queued again, but recorded. Before ``[greetings] time``
    local time nothing is due: a catch-up run early in the day (for
    yesterday's occurrence) greets no one before the hour.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"queue_greetings needs a timezone-aware time, got {now!r}")
    local = now.astimezone(ZoneInfo(timezone))
    if local.strftime("%H:%M") < settings.time:
        # A catch-up run for yesterday's occurrence, early today: today's
        # greetings wait for today's time, and yesterday's are not made up.
        return 0
    today = local.date()
    customers = list(store.customers())
    by_id = {customer.id: customer for customer in customers}
    first_purchase = first_purchases(store.invoices()) if settings.anniversary else {}
    due = due_greetings(customers, today, settings, first_purchase, closed)
    if not due:
        return 0
    spacing = timedelta(seconds=3600 / max(settings.per_hour, 1))
    queued = 0
    for greeting in due:
        customer = by_id[greeting.customer_id]
        address = unsubscribe_address(tokens, customer)
        rendered = templates.render(greeting.occasion, _context(base_context, customer, greeting, address))
        outbound = Outbound(
            kind=greeting.occasion,
            to=((customer.name, customer.email),),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            automatic=True,
            unsubscribe=address,
        )
        _, is_new = outbox.enqueue(greeting_key(greeting), outbound, now, send_at=now + queued * spacing)
        if is_new:
            queued += 1
        customer.greeted[greeting.occasion] = greeting.year
        store.save_customer(customer)
    # The store's before-commit hook flushes the outbox in the daemon; flushing
    # here as well keeps the order right for any caller (a no-op when done).
    outbox.flush()
    store.commit()
    return queued
