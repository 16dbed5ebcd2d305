"""Unit tests of ``helpdesk.intake.threads``: subject normalisation and ticket choice.

The store is replaced by a small in-memory lookup that answers the three
questions of the ``TicketLookup`` protocol the way the real store does; the
reply tokens are the real ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.intake.headers import Address
from helpdesk.intake.message import InboundMessage
from helpdesk.intake.threads import REOPEN_WINDOW, ThreadDecision, base_subject, find_ticket, recipients
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import Ticket, iso
from helpdesk.store.store import subject_key

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CUSTOMER = "alice@example.com"
STRANGER = "mallory@example.net"
TOKENS = ReplyTokens(b"k" * 32, "support@acme.example")
NEW = ThreadDecision(None, "new conversation")
SAME_5 = ThreadDecision(5, "same sender and subject")


class FakeLookup:
    """Tickets and known Message-IDs in memory, indexed like the store indexes them."""

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.message_ids: dict[str, int] = {}

    def add(
        self,
        ticket_id: int,
        *,
        customer: str = CUSTOMER,
        subject: str = "Broken kettle",
        closed_at: datetime | None = None,
        participants: tuple[str, ...] = (),
        message_ids: tuple[str, ...] = (),
    ) -> Ticket:
        ticket = Ticket(
            id=ticket_id,
            customer=customer,
            subject=subject,
            created_at=iso(NOW - timedelta(days=90)),
            updated_at=iso(NOW - timedelta(days=90)),
            status="closed" if closed_at else "open",
            participants=[customer, *participants],
            closed_at=iso(closed_at) if closed_at else None,
        )
        self.tickets[ticket_id] = ticket
        for message_id in message_ids:
            self.message_ids[message_id] = ticket_id
        return ticket

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def ticket_for_message_id(self, message_id: str) -> int | None:
        return self.message_ids.get(message_id)

    def tickets_with_subject(self, customer_email: str, subject: str) -> list[int]:
        key = subject_key(subject)
        return [
            ticket.id
            for ticket in sorted(self.tickets.values(), key=lambda ticket: ticket.id)
            if ticket.customer == customer_email and subject_key(ticket.subject) == key
        ]


def inbound(
    *,
    sender: str | None = CUSTOMER,
    subject: str = "Broken kettle",
    to: tuple[str, ...] = ("support@acme.example",),
    cc: tuple[str, ...] = (),
    delivered_to: tuple[str, ...] = (),
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> InboundMessage:
    """An inbound message with just the fields threading looks at."""
    return InboundMessage(
        message_id="new@mail.example.com",
        message_id_synthesized=False,
        in_reply_to=in_reply_to,
        references=references,
        sender=Address("", sender) if sender is not None else None,
        to=tuple(Address("", address) for address in to),
        cc=tuple(Address("", address) for address in cc),
        reply_to=(),
        delivered_to=delivered_to,
        subject=subject,
        date=NOW,
        text="Hello",
        full_text="Hello",
        attachments=(),
        auto_submitted=False,
        is_bounce=False,
        is_bulk=False,
        automatic_reason=None,
        authentication_results=(),
        defects=(),
    )


def decide(message: InboundMessage, lookup: FakeLookup) -> ThreadDecision:
    return find_ticket(message, lookup, TOKENS, NOW)


# -- base_subject ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Broken kettle",
        "RE: Broken kettle",
        "re: Broken kettle",
        "Fwd: Broken kettle",
        "FW: Broken kettle",
        "Fw: Broken kettle",
        "AW: Broken kettle",
        "SV: Broken kettle",
        "VS: Broken kettle",
        "WG: Broken kettle",
        "TR: Broken kettle",
        "RV: Broken kettle",
        "Antw: Broken kettle",
        "Antwort: Broken kettle",
        "Odp: Broken kettle",
        "RE[2]: Broken kettle",
        "Re^3: Broken kettle",
        "Re(4): Broken kettle",
        "Re [2] : Broken kettle",
        "Re\uff1aBroken kettle",
        "Re: Fwd: RE: AW:  Broken kettle",
        "Re:Re:Re:Broken kettle",
        "[#12] Broken kettle",
        "Re: [#12] Broken kettle",
        "Re: [#12] Re: Broken kettle",
        "Broken kettle [#12]",
        "FW: [#1] [#2] Broken kettle",
        "  Re :  Broken \t kettle  ",
    ],
)
def test_base_subject_strips_prefixes_and_tags(subject: str) -> None:
    assert base_subject(subject) == "Broken kettle"


@pytest.mark.parametrize(
    "subject",
    [
        "Broken kettle",
        "Reminder: renew subscription",
        "Regarding: renew subscription",
        "Fwd renew subscription",
        "Question about Re: renew subscription",
        "R\u00e9ponse: renew subscription",
        "[#abc] renew subscription",
        "Order #12 is late",
    ],
)
def test_base_subject_keeps_ordinary_words(subject: str) -> None:
    assert base_subject(subject) == " ".join(subject.split())


def test_base_subject_keeps_later_reply_markers() -> None:
    assert base_subject("Re: Hello Re: again") == "Hello Re: again"


@pytest.mark.parametrize("subject", ["", "Re:", "Re: Fwd:", "[#7]", "  "])
def test_base_subject_can_be_empty(subject: str) -> None:
    assert base_subject(subject) == ""


SUBJECT_PIECES = ["Re", "Fwd", "AW", ":", "\uff1a", " ", "[#", "1", "]", "x", "\t", "^", "(", ")", "[", "2"]


@given(st.lists(st.sampled_from(SUBJECT_PIECES), max_size=20).map("".join))
def test_base_subject_is_idempotent(subject: str) -> None:
    once = base_subject(subject)
    assert base_subject(once) == once


# -- recipients ------------------------------------------------------------------------


def test_recipients_include_to_cc_and_delivered_to() -> None:
    message = inbound(to=("a@x.example",), cc=("b@x.example",), delivered_to=("c@x.example",))
    assert recipients(message) == ["a@x.example", "b@x.example", "c@x.example"]


# -- find_ticket: the order of the rules ---------------------------------------------------


def test_token_beats_in_reply_to() -> None:
    lookup = FakeLookup()
    lookup.add(1)
    lookup.add(2, message_ids=("parent@mail.example.com",))
    message = inbound(to=(TOKENS.address(1),), in_reply_to="parent@mail.example.com")
    assert decide(message, lookup) == ThreadDecision(1, "reply token")


@pytest.mark.parametrize("field", ["cc", "delivered_to"])
def test_token_in_cc_or_delivered_to_counts(field: str) -> None:
    lookup = FakeLookup()
    lookup.add(1)
    message = inbound(**{field: (TOKENS.address(1),)})
    assert decide(message, lookup) == ThreadDecision(1, "reply token")


def test_token_of_a_missing_ticket_falls_through() -> None:
    lookup = FakeLookup()
    lookup.add(2, message_ids=("parent@mail.example.com",))
    message = inbound(to=(TOKENS.address(1),), in_reply_to="parent@mail.example.com")
    assert decide(message, lookup) == ThreadDecision(2, "In-Reply-To <parent@mail.example.com>")


def test_forged_token_is_ignored() -> None:
    lookup = FakeLookup()
    lookup.add(1, customer="bob@example.com", subject="Other")
    forged = ReplyTokens(b"x" * 32, "support@acme.example").address(1)
    assert decide(inbound(to=(forged,), sender=STRANGER), lookup) == NEW


def test_in_reply_to_beats_references() -> None:
    lookup = FakeLookup()
    lookup.add(2, message_ids=("parent@mail.example.com",))
    lookup.add(3, message_ids=("ref@mail.example.com",))
    message = inbound(in_reply_to="parent@mail.example.com", references=("ref@mail.example.com",))
    assert decide(message, lookup) == ThreadDecision(2, "In-Reply-To <parent@mail.example.com>")


def test_unknown_in_reply_to_falls_back_to_references() -> None:
    lookup = FakeLookup()
    lookup.add(3, message_ids=("ref@mail.example.com",))
    message = inbound(in_reply_to="unknown@mail.example.com", references=("ref@mail.example.com",))
    assert decide(message, lookup) == ThreadDecision(3, "References <ref@mail.example.com>")


def test_references_newest_first() -> None:
    lookup = FakeLookup()
    lookup.add(3, message_ids=("first@mail.example.com",))
    lookup.add(4, message_ids=("second@mail.example.com",))
    message = inbound(references=("first@mail.example.com", "second@mail.example.com", "unknown@x.example"))
    assert decide(message, lookup) == ThreadDecision(4, "References <second@mail.example.com>")


def test_references_beat_subject_tag() -> None:
    lookup = FakeLookup()
    lookup.add(3, message_ids=("ref@mail.example.com",))
    lookup.add(4, subject="Other")
    message = inbound(subject="Re: [#4] Other", references=("ref@mail.example.com",))
    assert decide(message, lookup) == ThreadDecision(3, "References <ref@mail.example.com>")


def test_subject_tag_beats_fallback() -> None:
    lookup = FakeLookup()
    lookup.add(4, subject="Something else")
    lookup.add(5, subject="Broken kettle")
    message = inbound(subject="Re: [#4] Broken kettle")
    assert decide(message, lookup) == ThreadDecision(4, "subject tag [#4] from a participant")


def test_fallback_is_last() -> None:
    lookup = FakeLookup()
    lookup.add(5)
    assert decide(inbound(subject="Re: Broken kettle"), lookup) == SAME_5


def test_nothing_matches_opens_a_new_ticket() -> None:
    lookup = FakeLookup()
    lookup.add(5, subject="Invoice")
    assert decide(inbound(), lookup) == NEW


# -- subject tags ----------------------------------------------------------------------


def test_tag_from_a_non_customer_participant() -> None:
    lookup = FakeLookup()
    lookup.add(4, subject="Order", participants=("colleague@example.com",))
    message = inbound(sender="colleague@example.com", subject="[#4] Order")
    assert decide(message, lookup) == ThreadDecision(4, "subject tag [#4] from a participant")


def test_stranger_with_a_tag_gets_a_new_ticket() -> None:
    lookup = FakeLookup()
    lookup.add(4)
    message = inbound(sender=STRANGER, subject="Re: [#4] Broken kettle")
    assert decide(message, lookup) == NEW


def test_tag_of_a_missing_ticket_is_ignored() -> None:
    lookup = FakeLookup()
    assert decide(inbound(subject="[#99] Hello"), lookup) == NEW


def test_second_tag_can_match() -> None:
    lookup = FakeLookup()
    lookup.add(4, customer="bob@example.com", subject="Other")
    lookup.add(6, subject="Mine")
    message = inbound(subject="[#4] [#6] Mine")
    assert decide(message, lookup) == ThreadDecision(6, "subject tag [#6] from a participant")


def test_message_without_sender_uses_no_tag_or_fallback() -> None:
    lookup = FakeLookup()
    lookup.add(4)
    assert decide(inbound(sender=None, subject="[#4] Broken kettle"), lookup) == ThreadDecision(
        None, "new conversation"
    )


# -- the fallback ----------------------------------------------------------------------


def test_fallback_only_for_the_same_sender() -> None:
    lookup = FakeLookup()
    lookup.add(5)
    assert decide(inbound(sender="bob@example.com"), lookup) == NEW


def test_fallback_needs_a_subject() -> None:
    lookup = FakeLookup()
    lookup.add(5, subject="")
    assert decide(inbound(subject="Re:"), lookup) == NEW


def test_fallback_ignores_case_and_spacing() -> None:
    lookup = FakeLookup()
    lookup.add(5, subject="Broken kettle")
    assert decide(inbound(subject="AW: BROKEN   kettle"), lookup) == SAME_5


@pytest.mark.parametrize(
    ("closed_ago", "joins"),
    [
        (None, True),
        (timedelta(days=1), True),
        (timedelta(days=29, hours=23), True),
        (REOPEN_WINDOW, True),
        (REOPEN_WINDOW + timedelta(seconds=1), False),
        (timedelta(days=31), False),
        (timedelta(days=400), False),
    ],
    ids=["open", "1d", "29d23h", "30d", "30d+1s", "31d", "400d"],
)
def test_fallback_reopen_window(closed_ago: timedelta | None, joins: bool) -> None:
    lookup = FakeLookup()
    lookup.add(5, closed_at=NOW - closed_ago if closed_ago is not None else None)
    expected = SAME_5 if joins else NEW
    assert decide(inbound(subject="Re: Broken kettle"), lookup) == expected


def test_fallback_prefers_the_newest_ticket() -> None:
    lookup = FakeLookup()
    lookup.add(5)
    lookup.add(8)
    assert decide(inbound(), lookup) == ThreadDecision(8, "same sender and subject")


def test_fallback_skips_old_closed_tickets_for_an_older_open_one() -> None:
    lookup = FakeLookup()
    lookup.add(5)
    lookup.add(8, closed_at=NOW - timedelta(days=60))
    assert decide(inbound(), lookup) == SAME_5


def test_references_thread_even_into_long_closed_tickets() -> None:
    lookup = FakeLookup()
    lookup.add(5, closed_at=NOW - timedelta(days=365), message_ids=("old@mail.example.com",))
    message = inbound(in_reply_to="old@mail.example.com")
    assert decide(message, lookup) == ThreadDecision(5, "In-Reply-To <old@mail.example.com>")
