"""Unit tests of ``helpdesk.owner.authentication``: proving the owner's replies.

``authenticate`` is tested with the real
reply tokens and a small in-memory ticket lookup that indexes Message-IDs the
way the store does (stored and sent messages, and the notifications sent to
the owner).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk.intake.headers import Address
from helpdesk.intake.message import InboundMessage
from helpdesk.owner.authentication import OWNER_PURPOSE, OwnerRejected, authenticate, authserv_id
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import Ticket, iso

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
BUSINESS = "support@acme.example"
OWNER = "owner@acme.example"
TOKENS = ReplyTokens(b"k" * 32, BUSINESS)


# -- authenticate -----------------------------------------------------------------------------


class FakeLookup:
    """Tickets and known Message-IDs in memory, indexed like the store indexes them."""

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.message_ids: dict[str, int] = {}

    def add(
        self, ticket_id: int, *, messages: tuple[str, ...] = (), notifications: tuple[str, ...] = ()
    ) -> None:
        self.tickets[ticket_id] = Ticket(
            id=ticket_id,
            customer=f"customer{ticket_id}@example.org",
            subject=f"Order {ticket_id}",
            created_at=iso(NOW),
            updated_at=iso(NOW),
            notifications=list(notifications),
        )
        for message_id in (*messages, *notifications):
            self.message_ids[message_id] = ticket_id

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def ticket_for_message_id(self, message_id: str) -> int | None:
        return self.message_ids.get(message_id)

    def tickets_with_subject(self, customer_email: str, subject: str) -> list[int]:
        return []


@pytest.fixture
def lookup() -> FakeLookup:
    found = FakeLookup()
    found.add(1, messages=("c1@example.org", "ack1@acme.example"), notifications=("n1@acme.example",))
    found.add(2, messages=("c2@example.org",), notifications=("n2@acme.example",))
    return found


def owner_mail(
    *,
    sender: str | None = OWNER,
    to: tuple[str, ...] = (BUSINESS,),
    cc: tuple[str, ...] = (),
    delivered_to: tuple[str, ...] = (),
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    authentication_results: tuple[str, ...] = (),
) -> InboundMessage:
    """A reply from the owner with just the fields authentication looks at."""
    return InboundMessage(
        message_id="o1@acme.example",
        message_id_synthesized=False,
        in_reply_to=in_reply_to,
        references=references,
        sender=Address("Sam Owner", sender) if sender is not None else None,
        to=tuple(Address("", address) for address in to),
        cc=tuple(Address("", address) for address in cc),
        reply_to=(),
        delivered_to=delivered_to,
        subject="Re: [#1] Order 1",
        date=NOW,
        text="#close",
        full_text="#close",
        attachments=(),
        auto_submitted=False,
        is_bounce=False,
        is_bulk=False,
        automatic_reason=None,
        authentication_results=authentication_results,
        defects=(),
    )


# The authserv-id of the business's own receiving mail server.
OUR_SERVER = "mx.acme.example"


def check(message: InboundMessage, lookup: FakeLookup, *, require_authenticated: bool = False) -> int:
    return authenticate(message, OWNER, lookup, TOKENS, OUR_SERVER if require_authenticated else None)


def rejected(message: InboundMessage, lookup: FakeLookup, *, require_authenticated: bool = False) -> str:
    with pytest.raises(OwnerRejected) as failure:
        check(message, lookup, require_authenticated=require_authenticated)
    assert str(failure.value) == failure.value.reason
    return failure.value.reason


def owner_token(ticket_id: int) -> str:
    return TOKENS.address(ticket_id, OWNER_PURPOSE)


def test_the_owner_token_in_to_proves_the_reply(lookup: FakeLookup) -> None:
    assert check(owner_mail(to=(owner_token(1),)), lookup) == 1
    assert check(owner_mail(to=(BUSINESS,), cc=(owner_token(2),)), lookup) == 2


def test_the_token_in_delivered_to_proves_the_reply(lookup: FakeLookup) -> None:
    # The client dropped the plus part from To, but the server kept the envelope recipient.
    assert check(owner_mail(to=(BUSINESS,), delivered_to=(owner_token(2),)), lookup) == 2


def test_the_token_with_a_reply_to_the_same_ticket_is_accepted(lookup: FakeLookup) -> None:
    message = owner_mail(to=(owner_token(1),), in_reply_to="n1@acme.example", references=("c1@example.org",))
    assert check(message, lookup) == 1


def test_a_reference_to_a_notification_proves_the_reply(lookup: FakeLookup) -> None:
    assert check(owner_mail(in_reply_to="n1@acme.example"), lookup) == 1
    assert check(owner_mail(references=("c2@example.org", "n2@acme.example")), lookup) == 2


@pytest.mark.parametrize("cited", ["c1@example.org", "ack1@acme.example", "unknown@example.org"])
def test_a_reference_to_a_customer_visible_message_proves_nothing(lookup: FakeLookup, cited: str) -> None:
    """The customer saw these ids: citing them must not make mail the owner's."""
    reason = rejected(owner_mail(in_reply_to=cited, references=(cited,)), lookup)
    assert reason == "from the owner's address without a valid reply token"


def test_the_customer_token_is_not_an_owner_token(lookup: FakeLookup) -> None:
    reason = rejected(owner_mail(to=(TOKENS.address(1),)), lookup)
    assert reason == "from the owner's address without a valid reply token"


def test_a_tampered_token_proves_nothing(lookup: FakeLookup) -> None:
    genuine = owner_token(1)
    local, _, domain = genuine.partition("@")
    tampered = local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain
    assert (
        rejected(owner_mail(to=(tampered,)), lookup) == "from the owner's address without a valid reply token"
    )


def test_a_token_on_another_domain_proves_nothing(lookup: FakeLookup) -> None:
    elsewhere = owner_token(1).replace("@acme.example", "@evil.example")
    assert (
        rejected(owner_mail(to=(elsewhere,)), lookup)
        == "from the owner's address without a valid reply token"
    )


def test_no_token_and_no_reference_is_refused(lookup: FakeLookup) -> None:
    assert rejected(owner_mail(), lookup) == "from the owner's address without a valid reply token"


def test_another_sender_with_the_owner_token_is_refused(lookup: FakeLookup) -> None:
    reason = rejected(owner_mail(sender="mallory@evil.example", to=(owner_token(1),)), lookup)
    assert reason == "an owner reply token used by another sender (mallory@evil.example)"
    reason = rejected(owner_mail(sender=None, to=(owner_token(1),)), lookup)
    assert reason == "an owner reply token used by another sender (unknown)"


def test_another_sender_citing_a_notification_is_refused(lookup: FakeLookup) -> None:
    reason = rejected(owner_mail(sender="mallory@evil.example", in_reply_to="n1@acme.example"), lookup)
    assert reason == "not from the owner's address"


def test_a_token_of_one_ticket_on_a_reply_to_another_is_refused(lookup: FakeLookup) -> None:
    reason = rejected(owner_mail(to=(owner_token(1),), in_reply_to="n2@acme.example"), lookup)
    assert reason == "reply token of ticket #1 on a reply to ticket #2"
    reason = rejected(owner_mail(to=(owner_token(2),), references=("c1@example.org",)), lookup)
    assert reason == "reply token of ticket #2 on a reply to ticket #1"


def test_a_token_of_a_ticket_that_does_not_exist_is_refused(lookup: FakeLookup) -> None:
    assert rejected(owner_mail(to=(owner_token(99),)), lookup) == (
        "from the owner's address without a valid reply token"
    )


# -- require_authenticated ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "mx.acme.example; dkim=pass header.d=acme.example header.s=s1",
        "mx.acme.example; dkim=pass (2048-bit key) header.i=@acme.example header.d=acme.example",
        "mx.acme.example; spf=pass smtp.mailfrom=owner@acme.example",
        "mx.acme.example; spf=pass (domain of owner@acme.example) smtp.mailfrom=acme.example",
        "mx.acme.example; dkim=fail header.d=acme.example; spf=pass smtp.mailfrom=owner@acme.example",
        "MX.ACME.EXAMPLE; DKIM=PASS header.d=ACME.EXAMPLE",
        "mx.acme.example 1; dkim=pass header.d=acme.example",
    ],
)
def test_required_authentication_accepts_a_pass_for_the_owner_domain(lookup: FakeLookup, header: str) -> None:
    message = owner_mail(to=(owner_token(1),), authentication_results=(header,))
    assert check(message, lookup, require_authenticated=True) == 1


@pytest.mark.parametrize(
    "headers",
    [
        (),
        ("mx.acme.example; dkim=fail header.d=acme.example; spf=softfail smtp.mailfrom=owner@acme.example",),
        ("mx.acme.example; dkim=none; spf=neutral smtp.mailfrom=owner@acme.example",),
        ("mx.acme.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example",),
        ("mx.acme.example; dkim=pass header.d=mail.evil.example",),
    ],
)
def test_required_authentication_refuses_fail_or_another_domain(
    lookup: FakeLookup, headers: tuple[str, ...]
) -> None:
    message = owner_mail(to=(owner_token(1),), authentication_results=headers)
    reason = rejected(message, lookup, require_authenticated=True)
    assert reason == "owner reply without DKIM/SPF pass in Authentication-Results of mx.acme.example"
    assert check(message, lookup, require_authenticated=False) == 1


@pytest.mark.parametrize(
    "header",
    [
        "mx.acme.example; dkim=pass header.d=acme.example.evil.net",
        "mx.acme.example; dkim=pass header.d=acme.example-mail.net",
        "mx.acme.example; spf=pass smtp.mailfrom=mallory@notacme.example",
        "mx.acme.example; spf=pass smtp.mailfrom=owner@acme.example.evil.net",
    ],
    ids=["dkim-suffix", "dkim-hyphen", "spf-prefix", "spf-suffix"],
)
def test_required_authentication_refuses_look_alike_domains(lookup: FakeLookup, header: str) -> None:
    message = owner_mail(to=(owner_token(1),), authentication_results=(header,))
    assert rejected(message, lookup, require_authenticated=True) == (
        "owner reply without DKIM/SPF pass in Authentication-Results of mx.acme.example"
    )


@pytest.mark.parametrize(
    "headers",
    [
        ("evil.example; dkim=pass header.d=acme.example",),
        ("mx.acme.example.evil.example; spf=pass smtp.mailfrom=owner@acme.example",),
        # The sender wrote a passing header naming our server; ours, added on top, says fail.
        (
            "mx.acme.example; dkim=fail header.d=acme.example; spf=fail smtp.mailfrom=owner@acme.example",
            "mx.acme.example; dkim=pass header.d=acme.example",
        ),
    ],
    ids=["other-server", "look-alike-server", "forged-below-ours"],
)
def test_only_the_topmost_verdict_of_our_own_server_counts(
    lookup: FakeLookup, headers: tuple[str, ...]
) -> None:
    message = owner_mail(to=(owner_token(1),), authentication_results=headers)
    assert rejected(message, lookup, require_authenticated=True) == (
        "owner reply without DKIM/SPF pass in Authentication-Results of mx.acme.example"
    )


def test_our_server_s_verdict_counts_among_others(lookup: FakeLookup) -> None:
    headers = (
        "mx.acme.example; dkim=pass header.d=acme.example",
        "relay.example; dkim=fail header.d=acme.example",
    )
    message = owner_mail(to=(owner_token(1),), authentication_results=headers)
    assert check(message, lookup, require_authenticated=True) == 1


def test_authserv_id_is_the_first_word() -> None:
    assert authserv_id("mx.acme.example; dkim=pass") == "mx.acme.example"
    assert authserv_id("  MX.Acme.Example 1 ; spf=pass") == "mx.acme.example"
    assert authserv_id("; dkim=pass") == ""


def test_required_authentication_comes_after_the_token(lookup: FakeLookup) -> None:
    """A DKIM pass alone is not proof: the reply token is still needed."""
    message = owner_mail(authentication_results=("mx; dkim=pass header.d=acme.example",))
    assert rejected(message, lookup, require_authenticated=True) == (
        "from the owner's address without a valid reply token"
    )
