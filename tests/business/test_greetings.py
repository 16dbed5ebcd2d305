"""Tests of ``helpdesk.business.greetings``: who is greeted when, and the mail that goes out.

The rules (:func:`due_greetings`) are pure and tested on plain records. The
job (:func:`queue_greetings`) runs on a real store and outbox in a temp
directory with the shipped templates, the way the daemon wires them: the
outbox is flushed by the store's before-commit hook, and a restart is a
fresh Store and Outbox on the same directory.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from helpdesk.business.greetings import (
    ANNIVERSARY,
    BIRTHDAY,
    NEW_YEAR,
    Greeting,
    due_greetings,
    first_purchases,
    greeting_key,
    new_year_day,
    queue_greetings,
)
from helpdesk.business.optout import unsubscribe_address
from helpdesk.config import GreetingsConfig, shipped_directory
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.outbox import Outbox, OutboxItem
from helpdesk.outbound.render import Templates
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.holidays import HolidayCalendar
from helpdesk.store.records import Customer, Invoice
from helpdesk.store.store import Store

BUSINESS = "support@acme.example"
STAMP = "2026-01-10T09:00:00+00:00"
ALL_ON = GreetingsConfig(birthday=True, new_year=True, anniversary=True)
# What the daemon passes as base_context (helpdesk.policy.actions.business_context).
BASE_CONTEXT: dict[str, Any] = {
    "business": {
        "name": "Acme Repairs",
        "legal_name": "Acme Repairs Ltd",
        "email": BUSINESS,
        "phone": "+44 20 7946 0000",
        "website": "https://acme.example",
        "address": "1 High Street\nLondon N1 1AA",
        "tax_id": "",
        "timezone": "Europe/London",
    },
    "owner": {"name": "Sam Taylor", "email": "sam@acme.example"},
}


def never_closed(day: date) -> bool:
    return False


def closed_on(*days: date) -> Callable[[date], bool]:
    return lambda day: day in days


def person(customer_id: int, birthday: str | None = None, **changes: Any) -> Customer:
    values: dict[str, Any] = {
        "id": customer_id,
        "email": f"c{customer_id}@example.com",
        "name": f"Customer {customer_id}",
        "first_contact": STAMP,
        "last_contact": STAMP,
        "birthday": birthday,
    }
    return Customer(**{**values, **changes})


def due(
    customers: list[Customer],
    today: date,
    settings: GreetingsConfig = ALL_ON,
    first_purchase: dict[str, date] | None = None,
    closed: Callable[[date], bool] = never_closed,
) -> list[tuple[str, int]]:
    """(occasion, customer id) of each greeting due."""
    found = due_greetings(customers, today, settings, first_purchase or {}, closed)
    return [(greeting.occasion, greeting.customer_id) for greeting in found]


# -- the rules ---------------------------------------------------------------------


def test_birthday_today_and_not_today() -> None:
    zoe = person(1, "1990-03-05")
    [greeting] = due_greetings([zoe], date(2026, 3, 5), ALL_ON, {}, never_closed)
    assert greeting == Greeting(1, "c1@example.com", BIRTHDAY, 2026)
    assert due([zoe], date(2026, 3, 4)) == []
    assert due([zoe], date(2026, 3, 6)) == []
    assert due([zoe], date(2026, 5, 3)) == []


def test_birthday_of_29_february_is_on_28_february_in_other_years() -> None:
    leap = person(1, "2000-02-29")
    assert due([leap], date(2027, 2, 28)) == [(BIRTHDAY, 1)]
    assert due([leap], date(2027, 3, 1)) == []
    assert due([leap], date(2028, 2, 28)) == []
    assert due([leap], date(2028, 2, 29)) == [(BIRTHDAY, 1)]
    # An ordinary 28 February birthday is not moved by it.
    assert due([person(2, "1999-02-28")], date(2028, 2, 28)) == [(BIRTHDAY, 2)]


def test_missing_or_unreadable_birthdays_are_ignored() -> None:
    customers = [person(1, None), person(2, ""), person(3, "05/03/1990")]
    assert due(customers, date(2026, 3, 5)) == []


def test_never_to_opted_out_customers() -> None:
    customers = [person(1, "1990-01-01", opted_out=True), person(2, "1990-01-01")]
    assert due(customers, date(2026, 1, 1), first_purchase={"c1@example.com": date(2024, 1, 1)}) == [
        (BIRTHDAY, 2),
        (NEW_YEAR, 2),
    ]


def test_never_twice_in_one_year() -> None:
    greeted = person(1, "1990-03-05", greeted={BIRTHDAY: 2026, NEW_YEAR: 2026})
    assert due([greeted], date(2026, 3, 5)) == []
    assert due([greeted], date(2026, 1, 1)) == []
    last_year = person(2, "1990-03-05", greeted={BIRTHDAY: 2025, NEW_YEAR: 2025})
    assert due([last_year], date(2026, 3, 5)) == [(BIRTHDAY, 2)]
    assert due([last_year], date(2026, 1, 1)) == [(NEW_YEAR, 2)]


def test_only_enabled_occasions() -> None:
    zoe = person(1, "1990-01-01")
    bought = {"c1@example.com": date(2025, 1, 1)}
    assert due([zoe], date(2026, 1, 1), first_purchase=bought) == [
        (ANNIVERSARY, 1),
        (BIRTHDAY, 1),
        (NEW_YEAR, 1),
    ]
    defaults = GreetingsConfig()
    assert defaults.anniversary is False
    assert due([zoe], date(2026, 1, 1), defaults, bought) == [(BIRTHDAY, 1), (NEW_YEAR, 1)]
    no_birthdays = replace(ALL_ON, birthday=False)
    assert due([zoe], date(2026, 1, 1), no_birthdays, bought) == [(ANNIVERSARY, 1), (NEW_YEAR, 1)]
    no_new_year = replace(ALL_ON, new_year=False)
    assert due([zoe], date(2026, 1, 1), no_new_year, bought) == [(ANNIVERSARY, 1), (BIRTHDAY, 1)]
    nothing = GreetingsConfig(birthday=False, new_year=False, anniversary=False)
    assert due([zoe], date(2026, 1, 1), nothing, bought) == []


def test_anniversary_of_the_first_invoice_not_in_its_own_year() -> None:
    zoe = person(1)
    bought = {"c1@example.com": date(2025, 3, 5)}
    assert due([zoe], date(2025, 3, 5), first_purchase=bought) == []
    [greeting] = due_greetings([zoe], date(2026, 3, 5), ALL_ON, bought, never_closed)
    assert (greeting.occasion, greeting.since, greeting.years) == (ANNIVERSARY, date(2025, 3, 5), 1)
    assert due([zoe], date(2026, 3, 6), first_purchase=bought) == []
    [later] = due_greetings([zoe], date(2029, 3, 5), ALL_ON, bought, never_closed)
    assert later.years == 4
    # The first purchase is looked up by address, whatever its letter case.
    kim = person(2, email="Kim@Example.com")
    assert due([kim], date(2026, 3, 5), first_purchase={"kim@example.com": date(2025, 3, 5)}) == [
        (ANNIVERSARY, 2)
    ]
    # A first invoice on 29 February comes round on 28 February in other years.
    leap = {"c1@example.com": date(2024, 2, 29)}
    assert due([zoe], date(2025, 2, 28), first_purchase=leap) == [(ANNIVERSARY, 1)]
    assert due([zoe], date(2028, 2, 29), first_purchase=leap) == [(ANNIVERSARY, 1)]


def invoice(
    number: str, customer: str, issued_on: str, kind: str = "invoice", status: str = "open"
) -> Invoice:
    return Invoice(
        id=0, number=number, kind=kind, series=kind, sequence=1, issued_on=issued_on,
        customer=customer, currency="EUR", status=status,
    )  # fmt: skip


def test_first_purchases_count_invoices_only() -> None:
    invoices = [
        # A credit note and a voided invoice are no purchase, however early.
        invoice("CN-1", "zoe@example.com", "2023-06-01", kind="credit-note"),
        invoice("INV-1", "zoe@example.com", "2024-01-15", status="void"),
        invoice("INV-3", "zoe@example.com", "2024-09-30", status="paid"),
        invoice("INV-2", "zoe@example.com", "2024-03-05", status="credited"),
        invoice("INV-4", "Kim@Example.com", "2025-07-01"),
        invoice("CN-2", "ana@example.com", "2025-07-01", kind="credit-note"),
    ]
    assert first_purchases(invoices) == {
        "zoe@example.com": date(2024, 3, 5),
        "kim@example.com": date(2025, 7, 1),
    }


def test_nothing_on_a_closed_day() -> None:
    customers = [person(1, "1990-03-05")]
    bought = {"c1@example.com": date(2024, 3, 5)}
    closed = closed_on(date(2026, 3, 5))
    assert due(customers, date(2026, 3, 5), first_purchase=bought, closed=closed) == []
    # Not made up the next day either: that is not the birthday.
    assert due(customers, date(2026, 3, 6), first_purchase=bought, closed=closed) == []

    # Without skip_holidays the calendar is not even asked.
    def refuse(day: date) -> bool:
        raise AssertionError("closed() consulted without skip_holidays")

    keep = replace(ALL_ON, skip_holidays=False)
    assert due(customers, date(2026, 3, 5), keep, bought, refuse) == [(ANNIVERSARY, 1), (BIRTHDAY, 1)]


def test_new_year_on_the_first_open_day() -> None:
    customers = [person(1), person(2, greeted={NEW_YEAR: 2025})]
    assert due(customers, date(2026, 1, 1)) == [(NEW_YEAR, 1), (NEW_YEAR, 2)]
    assert due(customers, date(2026, 1, 2)) == []
    # 1 January closed (as it usually is): the greeting waits for 2 January.
    first_closed = closed_on(date(2026, 1, 1))
    assert due(customers, date(2026, 1, 1), closed=first_closed) == []
    assert due(customers, date(2026, 1, 2), closed=first_closed) == [(NEW_YEAR, 1), (NEW_YEAR, 2)]
    assert due(customers, date(2026, 1, 3), closed=first_closed) == []
    # Closed until the 4th: the 5th.
    long_break = closed_on(*(date(2026, 1, day) for day in range(1, 5)))
    assert [day for day in range(1, 8) if due(customers, date(2026, 1, day), closed=long_break)] == [5]
    assert new_year_day(2026, long_break) == date(2026, 1, 5)
    # Closed the whole first week: no New Year greeting that year.
    whole_week = closed_on(*(date(2026, 1, day) for day in range(1, 8)))
    assert new_year_day(2026, whole_week) is None
    assert [day for day in range(1, 15) if due(customers, date(2026, 1, day), closed=whole_week)] == []
    # Without skip_holidays: 1 January, closed or not.
    keep = replace(ALL_ON, skip_holidays=False)
    assert due(customers, date(2026, 1, 1), keep, closed=first_closed) == [(NEW_YEAR, 1), (NEW_YEAR, 2)]


def test_a_birthday_on_a_closed_new_years_day_is_skipped_but_the_new_year_is_not() -> None:
    customers = [person(1, "1990-01-01"), person(2, "1990-01-02")]
    first_closed = closed_on(date(2026, 1, 1))
    assert due(customers, date(2026, 1, 1), closed=first_closed) == []
    assert due(customers, date(2026, 1, 2), closed=first_closed) == [
        (BIRTHDAY, 2),
        (NEW_YEAR, 1),
        (NEW_YEAR, 2),
    ]


def test_new_year_with_a_real_holiday_calendar() -> None:
    # The wiring the daemon uses: closed days from [business] holidays and holiday_country.
    calendar = HolidayCalendar([date(2026, 1, 2)], "DE")
    customers = [person(1)]
    assert due(customers, date(2026, 1, 1), closed=calendar.__contains__) == []
    assert due(customers, date(2026, 1, 2), closed=calendar.__contains__) == []
    assert due(customers, date(2026, 1, 3), closed=calendar.__contains__) == [(NEW_YEAR, 1)]


def test_sorted_by_occasion_then_customer_id() -> None:
    customers = [person(9, "1990-01-01"), person(3), person(5, "1985-01-01"), person(1)]
    bought = {"c3@example.com": date(2020, 1, 1), "c9@example.com": date(2021, 1, 1)}
    assert due(customers, date(2026, 1, 1), first_purchase=bought) == [
        (ANNIVERSARY, 3), (ANNIVERSARY, 9), (BIRTHDAY, 5), (BIRTHDAY, 9),
        (NEW_YEAR, 1), (NEW_YEAR, 3), (NEW_YEAR, 5), (NEW_YEAR, 9),
    ]  # fmt: skip


# -- the job, on a real store and outbox ------------------------------------------------


class Desk:
    """A data directory with the store, outbox and templates the daemon would use."""

    def __init__(self, data_dir: Path, timezone: str = "Europe/London") -> None:
        self.data_dir = data_dir
        self.timezone = timezone
        self.templates = Templates(shipped_directory("templates"), timezone=timezone)
        self.tokens = ReplyTokens(b"k" * 32, BUSINESS)
        self.open()

    def open(self) -> None:
        """(Re)open the store and the outbox from disk, as a restarted daemon does."""
        self.store = Store(self.data_dir)
        self.outbox = Outbox(self.data_dir, "Acme Repairs", BUSINESS)
        self.store.before_commit(self.outbox.flush)

    def restart(self) -> None:
        self.store.close()
        self.open()

    def add(self, name: str, address: str, birthday: str | None = None, **changes: Any) -> Customer:
        customer = Customer(
            id=0, email=address, name=name, first_contact=STAMP, last_contact=STAMP, birthday=birthday,
            **changes,
        )  # fmt: skip
        self.store.save_customer(customer)
        self.store.commit()
        return customer

    def run(
        self, now: datetime, settings: GreetingsConfig = ALL_ON, closed: Callable[[date], bool] = never_closed
    ) -> int:
        return queue_greetings(
            self.store, self.outbox, self.templates, self.tokens, settings, self.timezone,
            BASE_CONTEXT, closed, now,
        )  # fmt: skip

    def mail(self, item: OutboxItem) -> EmailMessage:
        message = email.message_from_bytes(self.outbox.raw(item), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


def body(message: EmailMessage, subtype: str) -> str:
    """The decoded text or HTML part, with LF line ends."""
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path)


def test_the_birthday_mail(desk: Desk) -> None:
    zoe = desk.add("Zoë Martin", "zoe@example.com", "1990-03-05")
    now = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert desk.run(now) == 1
    [item] = desk.outbox.queued()
    assert (item.kind, item.recipients, item.ticket_id) == (BIRTHDAY, ["zoe@example.com"], None)
    assert item.key == "greeting:birthday:2026:1" == greeting_key(Greeting(zoe.id, zoe.email, BIRTHDAY, 2026))
    message = desk.mail(item)
    address = unsubscribe_address(desk.tokens, zoe)
    assert address.startswith("support+t1-") and address.endswith("@acme.example")
    assert message["Subject"] == "Happy birthday, Zoë!"
    assert "[#" not in message["Subject"]
    assert message["To"] == "Zoë Martin <zoe@example.com>"
    assert message["List-Unsubscribe"].strip() == f"<mailto:{address}?subject=unsubscribe>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Helpdesk-Kind"] == BIRTHDAY
    text = body(message, "plain")
    html = body(message, "html")
    assert text.startswith("Happy birthday, Zoë!")
    assert "Martin" not in text.split("\n")[0]
    assert f"write to {address}." in text
    # The unsubscribe line comes after the closing and the signature.
    assert text.index("Sam Taylor") < text.index("-- \n") < text.index("unsubscribe")
    assert "Happy birthday, Zoë!" in html
    assert f'href="mailto:{address}?subject=unsubscribe"' in html
    # Recorded on the customer, durably.
    assert Store(desk.data_dir, readonly=True).customer("zoe@example.com").greeted == {BIRTHDAY: 2026}  # type: ignore[union-attr]


def test_the_new_year_and_anniversary_mails(desk: Desk) -> None:
    kim = desk.add("Kim Lee", "kim@example.com")
    credit = Invoice(
        id=0, number="CN-1", kind="credit-note", series="CN", sequence=1, issued_on="2023-01-01",
        customer="kim@example.com", currency="EUR",
    )  # fmt: skip
    desk.store.issue_invoice(credit)
    first = Invoice(
        id=0, number="INV-1", kind="invoice", series="INV", sequence=1, issued_on="2024-01-01",
        customer="kim@example.com", currency="EUR",
    )  # fmt: skip
    desk.store.issue_invoice(first)
    desk.store.commit()
    assert desk.run(datetime(2026, 1, 1, 9, 0, tzinfo=UTC)) == 2
    anniversary, new_year = (desk.mail(item) for item in desk.outbox.queued())
    assert anniversary["Subject"] == "2 years ago today… thank you from Acme Repairs"
    anniversary_text = body(anniversary, "plain")
    assert anniversary_text.startswith(
        "Hello Kim,\n\n2 years ago today you became a customer of Acme Repairs"
    )
    assert new_year["Subject"] == "Happy New Year from Acme Repairs"
    new_year_text = body(new_year, "plain")
    assert new_year_text.startswith("Hello Kim,\n\nhappy New Year!")
    assert "2026" in new_year_text
    address = unsubscribe_address(desk.tokens, kim)
    for message in (anniversary, new_year):
        assert message["List-Unsubscribe"].strip() == f"<mailto:{address}?subject=unsubscribe>"
        assert message["Auto-Submitted"] == "auto-replied"
        assert address in body(message, "plain")
        assert address in body(message, "html")


@pytest.mark.parametrize(
    ("timezone", "instant", "expected"),
    [
        # 5 March 09:00 in the business's zone, whatever the UTC date.
        ("Pacific/Auckland", "2026-03-04T20:00:00+00:00", 1),
        ("America/Los_Angeles", "2026-03-05T17:00:00+00:00", 1),
        # Still 4 March there.
        ("Pacific/Auckland", "2026-03-04T10:00:00+00:00", 0),
        ("America/Los_Angeles", "2026-03-05T07:00:00+00:00", 0),
        # Already 6 March there.
        ("Pacific/Auckland", "2026-03-05T11:00:00+00:00", 0),
        # 5 March, but before [greetings] time (a catch-up run early in the day).
        ("Europe/London", "2026-03-05T08:59:00+00:00", 0),
        ("Europe/London", "2026-03-05T09:00:00+00:00", 1),
    ],
)
def test_the_local_date_decides(tmp_path: Path, timezone: str, instant: str, expected: int) -> None:
    desk = Desk(tmp_path, timezone)
    desk.add("Zoë Martin", "zoe@example.com", "1990-03-05")
    assert desk.run(datetime.fromisoformat(instant)) == expected
    assert len(desk.outbox.queued()) == expected


def test_a_naive_time_is_refused(desk: Desk) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        desk.run(datetime(2026, 3, 5, 9, 0))


def test_sent_once_across_runs_and_restarts(desk: Desk) -> None:
    desk.add("Zoë Martin", "zoe@example.com", "1990-03-05")
    morning = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert desk.run(morning) == 1
    # The job run twice, then a restart on the same day and the catch-up run.
    assert desk.run(morning) == 0
    desk.restart()
    assert desk.run(morning + timedelta(hours=3)) == 0
    assert len(desk.outbox.queued()) == 1
    # Next year, again.
    assert desk.run(datetime(2027, 3, 5, 9, 0, tzinfo=UTC)) == 1
    keys = [item.key for item in desk.outbox.queued()]
    assert keys == ["greeting:birthday:2026:1", "greeting:birthday:2027:1"]


def test_a_crash_between_queueing_and_recording_sends_nothing_twice(desk: Desk) -> None:
    zoe = desk.add("Zoë Martin", "zoe@example.com", "1990-03-05")
    now = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    # What a run that died before its commit leaves: the mail queued, the customer not marked.
    key = greeting_key(Greeting(zoe.id, zoe.email, BIRTHDAY, 2026))
    desk.outbox.enqueue(key, Outbound(kind=BIRTHDAY, to=(("", zoe.email),), subject="s", text="t"), now)
    desk.outbox.flush()
    desk.restart()
    assert desk.run(now) == 0
    assert len(desk.outbox.queued()) == 1
    assert desk.store.customer("zoe@example.com").greeted == {BIRTHDAY: 2026}  # type: ignore[union-attr]


def test_a_long_list_is_spread_over_hours(desk: Desk) -> None:
    for index in range(130):
        customer = Customer(
            id=0, email=f"c{index}@example.com", name=f"Customer {index}", first_contact=STAMP,
            last_contact=STAMP, birthday="1990-03-05",
        )  # fmt: skip
        desk.store.save_customer(customer)
    desk.store.commit()
    now = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert desk.run(now, replace(ALL_ON, per_hour=60)) == 130
    queued = desk.outbox.queued()
    assert len(queued) == 130
    times = [datetime.fromisoformat(item.next_attempt_at) for item in queued]
    assert times[0] == now
    assert all(later - earlier == timedelta(minutes=1) for earlier, later in pairwise(times))
    assert times[-1] - times[0] > timedelta(hours=2)
    # In order: by customer id, and each message dated when it is due.
    assert [item.key for item in queued] == [f"greeting:birthday:2026:{index}" for index in range(1, 131)]
    last = desk.mail(queued[-1])
    assert last["Date"].datetime == times[-1]
    # Only the first is due now; the outbox holds the rest back.
    assert desk.outbox.next_due() == now


def test_never_to_opted_out_customers_and_nothing_on_closed_days(desk: Desk) -> None:
    desk.add("Ana Out", "ana@example.com", "1990-03-05", opted_out=True)
    desk.add("Zoë Martin", "zoe@example.com", "1990-03-05")
    now = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert desk.run(now, closed=closed_on(date(2026, 3, 5))) == 0
    assert desk.run(now) == 1
    [item] = desk.outbox.queued()
    assert item.recipients == ["zoe@example.com"]
    assert desk.store.customer("ana@example.com").greeted == {}  # type: ignore[union-attr]


def test_a_customer_without_a_name_is_greeted_without_one(desk: Desk) -> None:
    desk.add("", "zoe@example.com", "1990-03-05")
    assert desk.run(datetime(2026, 3, 5, 9, 0, tzinfo=UTC)) == 1
    [item] = desk.outbox.queued()
    message = desk.mail(item)
    assert message["Subject"] == "Happy birthday!"
    assert message["To"] == "zoe@example.com"
    assert body(message, "plain").startswith("Happy birthday!\n")  # type: ignore[union-attr]
