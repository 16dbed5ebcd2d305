"""The conditions of rules (the ``when`` table): a registry of small named checks.

Each ``when`` key names a condition builder, registered here with
:func:`condition`. A builder reads the key's value (raising
:class:`~helpdesk.policy.ruleparams.RuleValueError` with a hint when it is
wrong) and returns a compiled :class:`Condition`, whose check looks at the
:class:`Facts` of one ticket at one moment and says *why* it holds, or None.
Those reasons go into the ticket's history.

Time conditions (``unanswered_for``, ``older_than``...) also carry an
anchor: where their clock started for a ticket. A rule fires once per
anchor (its condition window), never on every tick; see
:class:`helpdesk.policy.rules.Rule`.

``invoice_overdue_for`` reads the ticket's ``open_invoices`` index, kept by the invoice
actions, so the tick reads no invoice.

Adding a condition is adding one builder here. Registering a name twice
fails when this module is imported, so at start-up, never later.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.durations import Duration
from helpdesk.policy.promises import half_business_day
from helpdesk.policy.ruleparams import RuleValueError, choices, duration_value, integer, strings
from helpdesk.store.records import PRIORITIES, STATUSES


@dataclass(frozen=True)
class Facts:
    """What conditions look at: one ticket (a read-only document) at one moment."""

    ticket: Mapping[str, Any]
    now: datetime
    hours: BusinessHours
    # The customer's record, with "spent" (paid on invoices, a decimal string) added.
    customer: Mapping[str, Any] | None = None
    subject: str = ""
    text: str = ""
    has_attachment: bool = False


# A compiled condition: the reason it holds, or None.
Check = Callable[[Facts], str | None]
# Where a time condition's clock started for a ticket (its window), or None.
Anchor = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Condition:
    """One compiled ``when`` entry.

    ``allowed`` is set for conditions that only compare one ticket field with a
    set of values (status, priority): sweeps use it to skip tickets cheaply.
    """

    key: str
    check: Check
    anchor: Anchor | None = None
    duration: Duration | None = None
    allowed: frozenset[str] | None = None


ConditionBuilder = Callable[[Any], Condition]
CONDITIONS: dict[str, ConditionBuilder] = {}


def condition(name: str) -> Callable[[ConditionBuilder], ConditionBuilder]:
    """Register a condition builder under ``name`` (a duplicate name is a programming error)."""

    def register(builder: ConditionBuilder) -> ConditionBuilder:
        if name in CONDITIONS:
            raise RuntimeError(f"condition {name!r} registered twice")
        CONDITIONS[name] = builder
        return builder

    return register


def _nfc(text: str) -> str:
    """``text`` with composed accents, so that "cassé" matches however a mail client wrote it."""
    return unicodedata.normalize("NFC", text)


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(_nfc(word)) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _found(pattern: re.Pattern[str], text: str, where: str) -> str | None:
    match = pattern.search(_nfc(text))
    return f"{where} contains {match.group(0)!r}" if match else None


@condition("sender")
def _sender(value: Any) -> Condition:
    patterns = [pattern.lower() for pattern in strings(value, "a list of address patterns")]

    def check(facts: Facts) -> str | None:
        sender = str(facts.ticket.get("customer", ""))
        hit = next((p for p in patterns if fnmatch.fnmatchcase(sender, p)), None)
        return f"sender {sender} matches {hit}" if hit else None

    return Condition("sender", check)


@condition("sender_domain")
def _sender_domain(value: Any) -> Condition:
    domains = {domain.lower().lstrip("@") for domain in strings(value, "a list of domains")}

    def check(facts: Facts) -> str | None:
        domain = str(facts.ticket.get("customer", "")).rpartition("@")[2]
        return f"sender domain is {domain}" if domain in domains else None

    return Condition("sender_domain", check)


def _text_condition(key: str, where: str, pick: Callable[[Facts], str]) -> ConditionBuilder:
    def build(value: Any) -> Condition:
        pattern = _word_pattern(strings(value, "a list of words"))
        return Condition(key, lambda facts: _found(pattern, pick(facts), where))

    return build


condition("words")(_text_condition("words", "the message", lambda f: f"{f.subject}\n{f.text}"))
condition("subject_words")(_text_condition("subject_words", "the subject", lambda f: f.subject))
condition("body_words")(_text_condition("body_words", "the text", lambda f: f.text))


@condition("regex")
def _regex(value: Any) -> Condition:
    if not isinstance(value, str) or not value:
        raise RuleValueError(f"expected a regular expression, got {value!r}")
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise RuleValueError(f"bad regular expression {value!r}: {exc}") from None
    return Condition("regex", lambda facts: _found(pattern, f"{facts.subject}\n{facts.text}", "the message"))


def _ticket_choice(key: str, allowed: tuple[str, ...]) -> ConditionBuilder:
    def build(value: Any) -> Condition:
        wanted = set(choices(value, allowed))

        def check(facts: Facts) -> str | None:
            actual = facts.ticket.get(key)
            return f"{key} is {actual}" if actual in wanted else None

        return Condition(key, check, allowed=frozenset(wanted))

    return build


# The reminder lead that ``promise_due_within`` understands besides a duration.
HALF_A_BUSINESS_DAY = "half a business day"

# Who closed a ticket last (Ticket.closed_by): the owner, a rule (an automatic
# close, "rule:<name>" on the ticket), the customer or the command line.
CLOSERS = ("owner", "rule", "customer", "cli")

condition("status")(_ticket_choice("status", STATUSES))
condition("priority")(_ticket_choice("priority", PRIORITIES))


def _tag_set(tags: Any) -> set[str]:
    """Tags compared without regard to case ("VIP" is "vip")."""
    return {str(tag).lower() for tag in tags}


@condition("tags")
def _tags(value: Any) -> Condition:
    wanted = _tag_set(strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_all = wanted <= _tag_set(facts.ticket.get("tags", ()))
        return f"tagged {', '.join(sorted(wanted))}" if has_all else None

    return Condition("tags", check)


@condition("not_tags")
def _not_tags(value: Any) -> Condition:
    unwanted = _tag_set(strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_any = unwanted & _tag_set(facts.ticket.get("tags", ()))
        return None if has_any else f"not tagged {', '.join(sorted(unwanted))}"

    return Condition("not_tags", check)


@condition("customer_tags")
def _customer_tags(value: Any) -> Condition:
    wanted = _tag_set(strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_all = wanted <= _tag_set(facts.customer.get("tags", ()) if facts.customer else ())
        return f"customer tagged {', '.join(sorted(wanted))}" if has_all else None

    return Condition("customer_tags", check)


@condition("customer_tickets_at_least")
def _customer_tickets(value: Any) -> Condition:
    minimum = integer(value)

    def check(facts: Facts) -> str | None:
        count = int(facts.customer.get("ticket_count", 0)) if facts.customer else 0
        return f"customer has {count} tickets" if count >= minimum else None

    return Condition("customer_tickets_at_least", check)


@condition("closed_by")
def _closed_by(value: Any) -> Condition:
    wanted = set(choices(value, CLOSERS))

    def check(facts: Facts) -> str | None:
        closer = str(facts.ticket.get("closed_by") or "")
        kind = closer.partition(":")[0]
        return f"closed by {closer}" if kind in wanted else None

    return Condition("closed_by", check)


def _feedback_score(facts: Facts) -> int | None:
    feedback = facts.ticket.get("feedback") or {}
    score = feedback.get("score")
    return int(score) if isinstance(score, int) else None


@condition("rating_at_most")
def _rating_at_most(value: Any) -> Condition:
    limit = _rating(value)

    def check(facts: Facts) -> str | None:
        score = _feedback_score(facts)
        return f"rated {score}/5" if score is not None and score <= limit else None

    return Condition("rating_at_most", check)


@condition("rating_at_least")
def _rating_at_least(value: Any) -> Condition:
    limit = _rating(value)

    def check(facts: Facts) -> str | None:
        score = _feedback_score(facts)
        return f"rated {score}/5" if score is not None and score >= limit else None

    return Condition("rating_at_least", check)


def _rating(value: Any) -> int:
    score = integer(value)
    if not 1 <= score <= 5:
        raise RuleValueError(f"expected a rating from 1 to 5, got {value!r}")
    return score


@condition("has_comment")
def _has_comment(value: Any) -> Condition:
    if not isinstance(value, bool):
        raise RuleValueError(f"expected true or false, got {value!r}")

    def check(facts: Facts) -> str | None:
        comment = str((facts.ticket.get("feedback") or {}).get("comment", "")).strip()
        return f"has_comment is {value}" if bool(comment) == value else None

    return Condition("has_comment", check)


@condition("customer_spent_at_least")
def _customer_spent(value: Any) -> Condition:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RuleValueError(f"expected an amount such as 500, got {value!r}")
    minimum = Decimal(str(value))

    def check(facts: Facts) -> str | None:
        spent = Decimal(str(facts.customer.get("spent", "0"))) if facts.customer else Decimal(0)
        return f"customer spent {spent}" if spent >= minimum else None

    return Condition("customer_spent_at_least", check)


@condition("customer_thanked")
def _customer_thanked(value: Any) -> Condition:
    if not isinstance(value, bool):
        raise RuleValueError(f"expected true or false, got {value!r}")

    def check(facts: Facts) -> str | None:
        thanked = bool(facts.customer.get("loyalty_thanked_at")) if facts.customer else False
        return f"customer_thanked is {value}" if thanked == value else None

    return Condition("customer_thanked", check)


@condition("has_attachment")
def _has_attachment(value: Any) -> Condition:
    if not isinstance(value, bool):
        raise RuleValueError(f"expected true or false, got {value!r}")
    return Condition(
        "has_attachment",
        lambda facts: f"has_attachment is {value}" if facts.has_attachment == value else None,
    )


@condition("escalation_below")
def _escalation_below(value: Any) -> Condition:
    limit = integer(value)

    def check(facts: Facts) -> str | None:
        level = int(facts.ticket.get("escalation_level", 0))
        return f"escalation level {level} < {limit}" if level < limit else None

    return Condition("escalation_below", check)


def _timer(key: str, describe: str, anchor: Anchor) -> ConditionBuilder:
    """A condition that holds once ``duration`` has passed since ``anchor``."""

    def build(value: Any) -> Condition:
        duration = duration_value(value)

        def check(facts: Facts) -> str | None:
            start = anchor(facts.ticket)
            if start is None:
                return None
            if not facts.hours.elapsed(datetime.fromisoformat(start), facts.now, duration):
                return None
            return f"{describe} for {duration}"

        return Condition(key, check, anchor, duration)

    return build


def _unanswered_since(ticket: Mapping[str, Any]) -> str | None:
    """The customer is waiting: since their unanswered message, or the last escalation."""
    customer_at = ticket.get("last_customer_at")
    owner_at = ticket.get("last_owner_at")
    if not customer_at or (owner_at and owner_at >= customer_at) or ticket.get("status") == "closed":
        return None
    escalated_at = ticket.get("last_escalated_at")
    return max(customer_at, escalated_at) if escalated_at else customer_at


def _waiting_on_customer_since(ticket: Mapping[str, Any]) -> str | None:
    """We answered and the customer has not written since."""
    owner_at = ticket.get("last_owner_at")
    customer_at = ticket.get("last_customer_at")
    if not owner_at or (customer_at and customer_at > owner_at):
        return None
    return owner_at


condition("unanswered_for")(_timer("unanswered_for", "waiting for an answer", _unanswered_since))
condition("waiting_on_customer_for")(
    _timer("waiting_on_customer_for", "waiting on the customer", _waiting_on_customer_since)
)
condition("older_than")(_timer("older_than", "open", lambda ticket: ticket.get("created_at")))
condition("follow_up_due")(_timer("follow_up_due", "follow-up scheduled", lambda t: t.get("follow_up_at")))


def _overdue_since(ticket: Mapping[str, Any]) -> str | None:
    """An invoice issued on this ticket is open past its due date: since the first such one was due.

    The ticket keeps the overdue moments of its open invoices (``open_invoices``),
    so this reads no invoice. The window is that invoice's due date: one firing
    per invoice; paid, credited or void invoices leave the index.
    """
    due = ticket.get("open_invoices") or {}
    return min(due.values()) if due else None


def _promise_due(ticket: Mapping[str, Any]) -> str | None:
    """When the ticket's promise (``#due``) falls due; None when nothing is promised."""
    promise = ticket.get("promise") or {}
    return promise.get("due")


# A missed promise: the window is the promise's due moment, so each promise escalates once.
condition("promise_missed_for")(_timer("promise_missed_for", "a promise past its time", _promise_due))


@condition("promise_due_within")
def _promise_due_within(value: Any) -> Condition:
    """The promise falls due within this much business time (and was made before that).

    ``"half a business day"`` is half the opening hours of the day it falls
    due. A promise made closer to its time than that gets no reminder: the
    owner has it in mind.
    """
    half_day = value == HALF_A_BUSINESS_DAY
    duration = None if half_day else duration_value(value)

    def check(facts: Facts) -> str | None:
        promise = facts.ticket.get("promise") or {}
        if not promise.get("due"):
            return None
        due = datetime.fromisoformat(promise["due"])
        if facts.now >= due:
            return None
        set_at = datetime.fromisoformat(promise.get("set_at") or promise["due"])
        if duration is not None:
            lead = facts.hours.add(facts.now, duration) >= due
            early = facts.hours.add(set_at, duration) < due
            return f"a promise due within {duration}" if lead and early else None
        limit = half_business_day(facts.hours, due)
        left = facts.hours.business_seconds_between(facts.now, due)
        early = facts.hours.business_seconds_between(set_at, due) > limit
        return "a promise due within half a business day" if left <= limit and early else None

    return Condition("promise_due_within", check, _promise_due)


condition("invoice_overdue_for")(
    _timer("invoice_overdue_for", "an invoice unpaid past its due date", _overdue_since)
)
