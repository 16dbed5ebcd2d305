"""Rules benchmark: what the time rules cost per tick, and the event rules per message.

Run from the repository root::

    python3 bench/rules.py                       # 100,000 tickets, 3 x 2,000 new messages
    python3 bench/rules.py --tickets 20000       # a smaller store
    python3 bench/rules.py --json                # one JSON document instead of the table

No mail server is needed: the daemon's time rules and event rules only queue mail in the
outbox, and the outbox is on disk. Each store is built directly through the
:class:`helpdesk.store.store.Store` API (committed one segment at a time, as
``bench/preload.py`` does), then opened the way the daemon opens it, by
``Helpdesk(config, clock)`` with the shipped default rules and templates and an injected
clock. Measured:

1. **Realistic store**: 70% closed tickets, 15% pending (the owner answered; ``last_owner_at``
   spread over the 20 days before the clock), 10% new or open with the customer's unanswered
   message spread over the last 3 days, 5% new or open of high or urgent priority (same
   spread), one customer message each, a third as many customers as tickets.

   * **first tick**: one ``Dispatcher.tick()``. Nothing has fired on this store yet, so every
     follow-up, auto-close and escalation that is due fires now, and firing queues mail in the
     outbox (rendering the template, composing the message, writing it to the outbox). This
     is the catch-up tick after the rules first meet a store, not the steady state; how many
     rules fired and the mail queued are reported, with the time per firing.
   * **catch-up ticks**: a tick fires at most 500 rules (the daemon catches up one tick a
     minute, so that a catch-up never keeps it from its mailbox); ``Dispatcher.tick()`` runs
     again at the same clock until a tick fires nothing. Their number is reported.
   * **steady-state tick**: ``Dispatcher.tick()`` again at the same clock (``--repeat``
     times). Every rule fires once per window, so nothing fires again: this is the cost of
     the tick the daemon runs every minute, and the figure the 1 s target is about.

2. **Worst case**: every ticket new or open and waiting for an answer, so that no ticket can
   be dismissed by its status: each is evaluated in full by the escalation rule of its
   priority (window, conditions, business-time clock). The customer's message is just inside
   that rule's window: the clock is a Monday 09:30 and the messages came in between Friday
   afternoon and then, so every ``unanswered_for`` check walks the business calendar across
   a weekend. Nothing is due, so nothing fires: both ticks are evaluation alone. One more
   worst-case tick runs under cProfile.

3. **Per message**: on the realistic store after its ticks, ``--repeat`` rounds of
   ``--messages`` new tickets, each with one customer message (a fifth from existing
   customers) and the ``message.received`` and ``ticket.created`` events ingestion queues;
   then one ``Dispatcher.run()`` handles the round, as a daemon cycle does after ingesting
   that many messages. Rule evaluation alone (the facts and the match of every rule of the
   two events, as ``Dispatcher.apply_rules`` does it) is timed in a separate pass over the
   same tickets before the run; the rest is the actions (acknowledgement, owner
   notification, priority, tags), event handling and the commit. One more round of up to
   500 messages runs under cProfile.

Repeated measurements report the best run (the one least disturbed by other work on the
machine) and list every run. The results are printed as a table (``--json``: one JSON
document) and written to ``bench/results/rules-<timestamp>.json``, the profiles beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.preload import PRODUCTS, SUBJECTS, Person, message_text, person_for
from helpdesk.config import Config, load_config
from helpdesk.daemon import Helpdesk
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.dispatch import MAX_FIRINGS_PER_TICK
from helpdesk.store.records import Customer, StoredMessage, Ticket, iso
from helpdesk.store.store import SEGMENT_SIZE, Store
from tests.helpers import BUSINESS, write_config

DEFAULT_TICKETS = 100_000
DEFAULT_MESSAGES = 2_000
DEFAULT_REPEAT = 3
# New messages handled under the profiler (after the timed rounds).
PROFILED_MESSAGES = 500
# The acceptance target: one tick of the default rules over the store takes under this.
TICK_TARGET_SECONDS = 1.0
BUILD_SEED = 20_260_304
MESSAGE_SEED = 7_919

# The business of tests/helpers.py: Europe/London, open Mon-Fri 09:00-18:00. In March,
# before the clocks change, London time is UTC, so the times below read as local times.
BUSINESS_TIMEZONE = "Europe/London"
# A Wednesday afternoon: an ordinary moment in the week.
REALISTIC_NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
# A Monday morning: the escalation windows of the tickets reach back over the weekend.
WORST_NOW = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
# The shipped escalation rules: 1 business hour for high and urgent, 4 for the others.
URGENT_WINDOW_OPENS = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)  # Friday: 30 min + Monday 30 min.
NORMAL_WINDOW_OPENS = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)  # Friday: 3.5 h + Monday 30 min.

# The realistic mix: (kind, share of the tickets).
REALISTIC_MIX = (("closed", 0.70), ("pending", 0.15), ("open", 0.10), ("urgent", 0.05))
# Priorities of closed tickets (history), and of the new and open ones in the worst case.
PRIORITY_WEIGHTS = {"low": 10, "normal": 70, "high": 15, "urgent": 5}


# ---------------------------------------------------------------------------------------------
# Records of what was measured.
# ---------------------------------------------------------------------------------------------


@dataclass
class TickResult:
    """One store: how it was built and opened, its ticks, and what they fired."""

    scenario: str
    tickets: int
    clock: str
    tick_rules: int = 0
    build_seconds: float = 0.0
    open_seconds: float = 0.0
    # Tickets per status and per priority, as built.
    statuses: dict[str, int] = field(default_factory=dict)
    priorities: dict[str, int] = field(default_factory=dict)
    first_tick_seconds: float = 0.0
    first_tick_fired: int = 0
    # Rule name -> how many tickets it fired on in the first tick.
    fired_by_rule: dict[str, int] = field(default_factory=dict)
    # Template -> outbound messages the first tick queued.
    mail_queued: dict[str, int] = field(default_factory=dict)
    # The ticks after the first that still fired (each fires at most MAX_FIRINGS_PER_TICK).
    catch_up_ticks: int = 0
    catch_up_fired: int = 0
    steady_runs: list[float] = field(default_factory=list)
    steady_fired: list[int] = field(default_factory=list)

    @property
    def steady_best(self) -> float:
        """The fastest steady-state tick: the one least disturbed by other work."""
        return min(self.steady_runs)

    def to_json(self) -> dict[str, Any]:
        per_ticket = self.steady_best / self.tickets * 1e6
        fired = self.first_tick_fired
        firing = self.first_tick_seconds - self.steady_best
        return {
            "scenario": self.scenario,
            "tickets": self.tickets,
            "clock": self.clock,
            "tick_rules": self.tick_rules,
            "statuses": self.statuses,
            "priorities": self.priorities,
            "build_seconds": round(self.build_seconds, 3),
            "open_seconds": round(self.open_seconds, 3),
            "first_tick": {
                "seconds": round(self.first_tick_seconds, 4),
                "fired": fired,
                "fired_by_rule": self.fired_by_rule,
                "mail_queued": self.mail_queued,
                # What a firing adds to the tick: the first tick minus an evaluation-only tick.
                "ms_per_firing": round(firing / fired * 1e3, 3) if fired else None,
            },
            "catch_up": {"ticks": self.catch_up_ticks, "fired": self.catch_up_fired},
            "steady_tick": {
                "runs_seconds": [round(run, 4) for run in self.steady_runs],
                "best_seconds": round(self.steady_best, 4),
                "fired": self.steady_fired,
                "us_per_ticket": round(per_ticket, 2),
                "us_per_rule_evaluation": round(per_ticket / max(1, self.tick_rules), 2),
            },
            "target_seconds": TICK_TARGET_SECONDS,
            "target_met": self.steady_best < TICK_TARGET_SECONDS,
        }


@dataclass
class MessageResult:
    """The event rules for rounds of new customer messages (``messages`` per round)."""

    messages: int
    events_drained_before: int = 0
    # Per round: Dispatcher.run(), and the rule evaluation alone (a separate pass).
    runs: list[float] = field(default_factory=list)
    evaluations: list[float] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    # Over all rounds: rule name -> messages it matched; template -> messages queued.
    matched_by_rule: Counter[str] = field(default_factory=Counter)
    mail_queued: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        per_message = min(self.runs) / self.messages * 1e6
        evaluation = min(self.evaluations) / self.messages * 1e6
        return {
            "messages_per_round": self.messages,
            "rounds": len(self.runs),
            "events_handled_per_round": self.events,
            "events_drained_before": self.events_drained_before,
            "run_seconds": [round(run, 4) for run in self.runs],
            "evaluation_seconds": [round(run, 4) for run in self.evaluations],
            "us_per_message": round(per_message, 1),
            "us_per_message_evaluation": round(evaluation, 1),
            "us_per_message_actions": round(per_message - evaluation, 1),
            "matched_by_rule": dict(sorted(self.matched_by_rule.items())),
            "mail_queued": dict(sorted(self.mail_queued.items())),
        }


@dataclass(frozen=True)
class Options:
    """What to run; see ``--help`` for each."""

    tickets: int = DEFAULT_TICKETS
    messages: int = DEFAULT_MESSAGES
    repeat: int = DEFAULT_REPEAT
    profile: bool = True


# ---------------------------------------------------------------------------------------------
# Building the stores.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Endpoint:
    """A mail server address for the configuration; this benchmark never connects to it."""

    host: str = "127.0.0.1"
    hostname: str = "127.0.0.1"
    port: int = 9
    username: str = "support"
    password: str = "unused"


def make_config(directory: Path) -> Config:
    """A configuration with the shipped rules and templates and its data at ``directory/data``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(directory, _Endpoint(), _Endpoint(), business={"timezone": BUSINESS_TIMEZONE})
    return load_config(path)


@dataclass
class _Plan:
    """The state of one ticket to build: status, priority and its clock times."""

    status: str
    priority: str
    created: datetime
    customer_at: datetime
    owner_at: datetime | None = None
    closed_at: datetime | None = None


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment uniformly between ``start`` (exclusive) and ``end``, to the second."""
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randint(1, max(1, seconds)))


def _priority(rng: random.Random, allowed: Sequence[str] = tuple(PRIORITY_WEIGHTS)) -> str:
    return rng.choices(allowed, weights=[PRIORITY_WEIGHTS[name] for name in allowed])[0]


def _unanswered(rng: random.Random, priority: str, since: datetime, until: datetime) -> _Plan:
    """A new ticket, or an open one the customer wrote to again after the owner's answer."""
    customer_at = _between(rng, since, until)
    if rng.random() < 0.6:
        return _Plan("new", priority, customer_at, customer_at)
    owner_at = customer_at - timedelta(hours=rng.uniform(1, 72))
    created = owner_at - timedelta(hours=rng.uniform(1, 48))
    return _Plan("open", priority, created, customer_at, owner_at)


def realistic_plan(rng: random.Random, kind: str, now: datetime) -> _Plan:
    """One ticket of the realistic mix (see the module docstring)."""
    if kind == "closed":
        created = now - timedelta(days=rng.uniform(20, 730))
        owner_at = created + timedelta(hours=rng.uniform(1, 30))
        closed_at = owner_at + timedelta(days=rng.uniform(1, 10))
        return _Plan("closed", _priority(rng), created, created, owner_at, min(closed_at, now))
    if kind == "pending":
        owner_at = now - timedelta(days=rng.uniform(0, 20))
        customer_at = owner_at - timedelta(hours=rng.uniform(1, 30))
        created = customer_at - timedelta(days=rng.uniform(0, 5))
        return _Plan("pending", _priority(rng, ("low", "normal")), created, customer_at, owner_at)
    allowed = ("high", "urgent") if kind == "urgent" else ("low", "normal")
    return _unanswered(rng, _priority(rng, allowed), now - timedelta(days=3), now)


def worst_plan(rng: random.Random, hours: BusinessHours) -> _Plan:
    """A ticket waiting for an answer, not yet due for escalation at :data:`WORST_NOW`."""
    priority = _priority(rng)
    opens = URGENT_WINDOW_OPENS if priority in ("high", "urgent") else NORMAL_WINDOW_OPENS
    plan = _unanswered(rng, priority, opens, WORST_NOW)
    # The escalation clock starts at the customer's message: it must not have run out yet.
    window = timedelta(hours=1 if priority in ("high", "urgent") else 4)
    if hours.business_seconds_between(plan.customer_at, WORST_NOW) >= window.total_seconds():
        raise RuntimeError(f"worst-case ticket at {plan.customer_at} is already due")
    return plan


def build_store(
    data_dir: Path, plans: Sequence[_Plan], rng: random.Random
) -> tuple[dict[str, int], dict[str, int]]:
    """Write one ticket per plan (with its customer message) and the customers into a new store.

    There are a third as many customers as tickets, each saved once, complete, with their
    ticket count. Commits go one ticket segment at a time, as a store grown by mail has them.
    Returns the tickets per status and per priority.
    """
    count = len(plans)
    customers = max(1, count // 3)
    owners = list(range(customers)) + [rng.randrange(customers) for _ in range(count - customers)]
    rng.shuffle(owners)
    ticket_counts = Counter(owners)
    store = Store(data_dir)
    seen: set[int] = set()
    for position, (owner, plan) in enumerate(zip(owners, plans, strict=True)):
        person = person_for(owner)
        if owner not in seen:
            seen.add(owner)
            store.save_customer(
                Customer(
                    id=0,
                    email=person.email,
                    name=person.name,
                    first_contact=iso(plan.created),
                    last_contact=iso(plan.customer_at),
                    ticket_count=ticket_counts[owner],
                    tags=["loyal"] if ticket_counts[owner] >= 5 else [],
                )
            )
        _add_ticket(store, rng, person, plan, position + 1)
        if (position + 1) % SEGMENT_SIZE == 0:
            store.commit()
    store.commit()
    if store.counts != {"tickets": count, "messages": count, "customers": customers}:
        raise RuntimeError(f"building {count} tickets gave {store.counts}")
    statuses = Counter(plan.status for plan in plans)
    priorities = Counter(plan.priority for plan in plans)
    return dict(sorted(statuses.items())), dict(sorted(priorities.items()))


def _add_ticket(
    store: Store, rng: random.Random, person: Person, plan: _Plan, uid: int, *, acknowledged: bool = True
) -> tuple[Ticket, StoredMessage]:
    """One ticket in the state of ``plan``, with its history and the customer's message.

    ``acknowledged``: the history says the acknowledgement rule fired (a past ticket).
    """
    email = person.email
    order = 100_000 + uid
    product = rng.choice(PRODUCTS)
    subject = rng.choice(SUBJECTS).format(order=order, product=product)
    created, customer_at = iso(plan.created), iso(plan.customer_at)
    ticket = Ticket(
        id=store.new_ticket_id(),
        customer=email,
        subject=subject,
        created_at=created,
        updated_at=customer_at,
        status=plan.status,
        priority=plan.priority,
        participants=[email],
        last_customer_at=customer_at,
    )
    if acknowledged:
        # The owner was told about the first message: the Message-ID of that notification.
        ticket.notifications.append(f"{rng.getrandbits(40)}.{uid}.{rng.getrandbits(64)}@acme.example")
    ticket.record(created, "created", f"from {email}")
    ticket.record(created, "message", f"from {email} (new conversation)")
    if acknowledged:
        ticket.record(created, "rule", "acknowledge: no conditions")
    if plan.owner_at is not None:
        ticket.last_owner_at = iso(plan.owner_at)
        ticket.record(iso(plan.owner_at), "status", "pending")
    if plan.status == "open":
        ticket.record(customer_at, "message", f"from {email} (reply token)")
    if plan.closed_at is not None:
        ticket.closed_at = iso(plan.closed_at)
        ticket.updated_at = ticket.closed_at
        ticket.record(ticket.closed_at, "status", "closed")
    store.save_ticket(ticket)
    domain = email.rpartition("@")[2]
    message = StoredMessage(
        id=store.new_message_id(),
        ticket_id=ticket.id,
        direction="in",
        message_id=f"{rng.getrandbits(96):024x}.{uid}@mail.{domain}",
        sender=email,
        to=[BUSINESS],
        subject=subject,
        date=customer_at,
        text=message_text(rng, person, product, order, plan.customer_at),
        archive_path=f"mail/INBOX/1/{uid}.eml",
        source=f"INBOX/1/{uid}",
    )
    store.add_message(message)
    return ticket, message


def plans_for(scenario: str, count: int, rng: random.Random, hours: BusinessHours) -> list[_Plan]:
    """The tickets of ``scenario`` (``realistic`` or ``worst``), in the order they get ids."""
    if scenario == "worst":
        return [worst_plan(rng, hours) for _ in range(count)]
    kinds: list[str] = []
    for kind, share in REALISTIC_MIX:
        kinds.extend([kind] * round(count * share))
    kinds = (kinds + ["closed"] * count)[:count]
    rng.shuffle(kinds)
    plans = [realistic_plan(rng, kind, REALISTIC_NOW) for kind in kinds]
    # Ticket ids grow with age, as they do when mail creates the tickets.
    plans.sort(key=lambda plan: plan.created)
    return plans


# ---------------------------------------------------------------------------------------------
# Measuring.
# ---------------------------------------------------------------------------------------------

SCENARIO_CLOCKS = {"realistic": REALISTIC_NOW, "worst": WORST_NOW}


@contextlib.contextmanager
def opened_store(
    scenario: str, directory: Path, options: Options, progress: common.Progress = common.quiet
) -> Iterator[tuple[Helpdesk, TickResult]]:
    """Build the store of ``scenario`` and open it as the daemon does, with the clock fixed."""
    now = SCENARIO_CLOCKS[scenario]
    config = make_config(directory)
    result = TickResult(scenario, options.tickets, now.isoformat())
    rng = random.Random(BUILD_SEED)
    hours = BusinessHours.from_config(config.business)
    start = time.perf_counter()
    plans = plans_for(scenario, options.tickets, rng, hours)
    result.statuses, result.priorities = build_store(config.storage_path, plans, rng)
    result.build_seconds = time.perf_counter() - start
    # The builder's copy of the store is garbage now: free it before the daemon's is opened.
    del plans
    gc.collect()
    common.flush_file_system()
    start = time.perf_counter()
    helpdesk = Helpdesk(config, lambda: now)
    result.open_seconds = time.perf_counter() - start
    result.tick_rules = len(helpdesk.dispatcher.rules.for_event("tick"))
    progress(
        f"{scenario} store of {options.tickets:,} tickets: built in {result.build_seconds:.1f} s, "
        f"opened in {result.open_seconds:.2f} s"
    )
    try:
        yield helpdesk, result
    finally:
        helpdesk.close()


def queue_names(helpdesk: Helpdesk) -> set[str]:
    """The ids of the items in the outbox queue now (to count what is queued after)."""
    return {item.id for item in helpdesk.outbox.queued()}


def mail_queued_since(helpdesk: Helpdesk, before: set[str]) -> Counter[str]:
    """Outbound messages queued since :func:`queue_names` gave ``before``, per template."""
    return Counter(item.kind for item in helpdesk.outbox.queued() if item.id not in before)


def fired_rules(store: Store) -> Counter[str]:
    """How many tickets each rule has fired on (once per ticket, whatever the window)."""
    return Counter(name for doc in store.ticket_documents() for name in doc.get("fired", {}))


def measure_ticks(
    helpdesk: Helpdesk, result: TickResult, repeat: int, progress: common.Progress = common.quiet
) -> None:
    """Time the first tick (it fires what is due) and ``repeat`` more at the same clock."""
    dispatcher = helpdesk.dispatcher
    mail_before, fired_before = queue_names(helpdesk), fired_rules(helpdesk.store)
    common.flush_file_system()
    start = time.perf_counter()
    result.first_tick_fired = dispatcher.tick()
    result.first_tick_seconds = time.perf_counter() - start
    result.fired_by_rule = dict(sorted((fired_rules(helpdesk.store) - fired_before).items()))
    result.mail_queued = dict(sorted(mail_queued_since(helpdesk, mail_before).items()))
    if sum(result.fired_by_rule.values()) != result.first_tick_fired:
        raise RuntimeError(
            f"the tick says {result.first_tick_fired} fired, the tickets {result.fired_by_rule}"
        )
    progress(
        f"{result.scenario}: first tick {result.first_tick_seconds:.2f} s, "
        f"{result.first_tick_fired:,} rules fired, {sum(result.mail_queued.values()):,} messages queued"
    )
    # A tick fires at most MAX_FIRINGS_PER_TICK rules: the ticks after the first catch up on
    # the rest (in the daemon, one a minute). The steady state is what comes after them.
    while fired := dispatcher.tick():
        result.catch_up_ticks += 1
        result.catch_up_fired += fired
        if result.catch_up_ticks > result.tickets // MAX_FIRINGS_PER_TICK + 1:
            raise RuntimeError(f"{result.scenario}: the ticks keep firing ({fired} in the last)")
    if result.catch_up_ticks:
        progress(
            f"{result.scenario}: {result.catch_up_ticks} more ticks caught up, "
            f"{result.catch_up_fired:,} rules fired"
        )
    common.flush_file_system()
    for _ in range(repeat):
        start = time.perf_counter()
        fired = dispatcher.tick()
        result.steady_runs.append(time.perf_counter() - start)
        result.steady_fired.append(fired)
    progress(
        f"{result.scenario}: steady-state ticks "
        + ", ".join(f"{run:.3f} s" for run in result.steady_runs)
        + f"; fired {result.steady_fired}"
    )


# The events ingestion queues for a customer message that opens a new ticket, in its order.
NEW_TICKET_EVENTS = ("message.received", "ticket.created")


def add_new_tickets(store: Store, count: int, rng: random.Random, now: datetime, first: int) -> list[int]:
    """Record ``count`` new customer messages, each opening a ticket, as ingestion does.

    A fifth come from existing customers (whose ticket count goes up), the rest from new
    ones, numbered from ``first`` on. Each message gets its ``message.received`` and
    ``ticket.created`` events; one commit.
    """
    customers = store.counts["customers"]
    stamp = iso(now)
    ids = []
    for index in range(count):
        known = rng.random() < 0.2
        person = person_for(rng.randrange(customers) if known else first + index)
        plan = _Plan("new", "normal", now, now)
        ticket, message = _add_ticket(store, rng, person, plan, first + index, acknowledged=False)
        customer = store.customer(person.email) or Customer(0, person.email, person.name, stamp, stamp)
        customer.ticket_count += 1
        customer.last_contact = stamp
        store.save_customer(customer)
        for event in NEW_TICKET_EVENTS:
            store.add_event(event, ticket.id, message.id)
        ids.append(ticket.id)
    store.commit()
    return ids


class MessageBatches:
    """Rounds of new customer messages on one open store, each with new customers."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.rng = random.Random(MESSAGE_SEED)
        # New customers get numbers after every existing one, and never the same twice.
        self.next_customer = helpdesk.store.counts["customers"]

    def add(self, count: int) -> list[tuple[Ticket, StoredMessage]]:
        """Record ``count`` new tickets with their events; return them with their messages."""
        store = self.helpdesk.store
        ids = add_new_tickets(store, count, self.rng, self.helpdesk.clock(), self.next_customer)
        self.next_customer += count
        pairs = []
        for ticket_id in ids:
            ticket = store.ticket(ticket_id)
            assert ticket is not None
            pairs.append((ticket, store.messages(ticket_id)[0]))
        return pairs


def evaluate_rules(helpdesk: Helpdesk, pairs: Sequence[tuple[Ticket, StoredMessage]]) -> Counter[str]:
    """The rules of a new message's events that match, evaluated as ``Dispatcher.apply_rules`` does.

    The facts for each rule of each event, then the match; nothing is fired, so the tickets
    stay as they are. Returns how many tickets each rule matched.
    """
    dispatcher = helpdesk.dispatcher
    rules = [rule for event in NEW_TICKET_EVENTS for rule in dispatcher.rules.for_event(event)]
    matched: Counter[str] = Counter()
    for ticket, message in pairs:
        for rule in rules:
            if dispatcher.rules.match(rule, dispatcher._facts(ticket.to_doc(), message, rule)) is not None:
                matched[rule.name] += 1
    return matched


def measure_messages(
    helpdesk: Helpdesk, count: int, rounds: int, progress: common.Progress = common.quiet
) -> tuple[MessageResult, MessageBatches]:
    """Time the event rules (and their actions) for ``rounds`` batches of ``count`` new messages."""
    dispatcher = helpdesk.dispatcher
    result = MessageResult(count)
    # Events the ticks queued (ticket.closed of the auto-closed tickets) are not part of this.
    result.events_drained_before = dispatcher.run()
    batches = MessageBatches(helpdesk)
    for round_number in range(1, rounds + 1):
        pairs = batches.add(count)
        start = time.perf_counter()
        matched = evaluate_rules(helpdesk, pairs)
        result.evaluations.append(time.perf_counter() - start)
        result.matched_by_rule.update(matched)
        del pairs
        before = queue_names(helpdesk)
        common.flush_file_system()
        start = time.perf_counter()
        handled = dispatcher.run()
        result.runs.append(time.perf_counter() - start)
        result.events.append(handled)
        queued = mail_queued_since(helpdesk, before)
        result.mail_queued.update(queued)
        if handled != len(NEW_TICKET_EVENTS) * count:
            raise RuntimeError(f"{count} messages queued {2 * count} events, {handled} were handled")
        progress(
            f"{count:,} new messages (round {round_number}): Dispatcher.run() {result.runs[-1]:.2f} s, "
            f"rule evaluation {result.evaluations[-1]:.3f} s, {sum(queued.values()):,} messages queued"
        )
    return result, batches


# ---------------------------------------------------------------------------------------------
# Profiling.
# ---------------------------------------------------------------------------------------------

# Where the time goes: (label, file suffix, function name). Built-in functions have the file
# "~" and are found by a part of their name. First for a tick:
TICK_STAGES: tuple[common.Stage, ...] = (
    ("Dispatcher.tick", "helpdesk/policy/dispatch.py", "tick"),
    ("  Store.ticket_documents (the sweep)", "helpdesk/store/store.py", "ticket_documents"),
    ("  Rule.admits (status and priority pre-filter)", "helpdesk/policy/rules.py", "admits"),
    ("  Rule.window (anchors of timed rules)", "helpdesk/policy/rules.py", "window"),
    ("  Rule.timed", "helpdesk/policy/rules.py", "timed"),
    ("  Rule.needs_customer", "helpdesk/policy/rules.py", "needs_customer"),
    ("  Dispatcher._facts (per ticket and candidate rule)", "helpdesk/policy/dispatch.py", "_facts"),
    ("  RuleSet.match (the conditions)", "helpdesk/policy/rules.py", "match"),
    ("    BusinessHours.elapsed", "helpdesk/policy/businesstime.py", "elapsed"),
    ("    _unanswered_since (anchor)", "helpdesk/policy/conditions.py", "_unanswered_since"),
    ("    datetime.fromisoformat, anywhere", "~", "fromisoformat"),
    ("  records.iso, anywhere", "helpdesk/store/records.py", "iso"),
    ("  Dispatcher._fire", "helpdesk/policy/dispatch.py", "_fire"),
)
# Then for the events of new messages.
MESSAGE_STAGES: tuple[common.Stage, ...] = (
    ("Dispatcher.run", "helpdesk/policy/dispatch.py", "run"),
    ("  Dispatcher._facts", "helpdesk/policy/dispatch.py", "_facts"),
    ("  RuleSet.match (rule evaluation)", "helpdesk/policy/rules.py", "match"),
    ("  Dispatcher._fire (the actions)", "helpdesk/policy/dispatch.py", "_fire"),
    ("    Dispatcher.response_promise", "helpdesk/policy/dispatch.py", "response_promise"),
    ("    Templates.render", "helpdesk/outbound/render.py", "render"),
    ("    Outbox.enqueue", "helpdesk/outbound/outbox.py", "enqueue"),
    ("      compose (email.message to bytes)", "helpdesk/outbound/compose.py", "compose"),
    ("    atomic_write, anywhere", "helpdesk/store/durable.py", "atomic_write"),
    ("      os.fsync, anywhere", "~", "posix.fsync"),
    ("  Store.ticket, anywhere", "helpdesk/store/store.py", "ticket"),
    ("  Store.messages, anywhere", "helpdesk/store/store.py", "messages"),
    ("  records to_doc, anywhere", "helpdesk/store/records.py", "to_doc"),
    ("  copy.deepcopy, anywhere", "copy.py", "deepcopy"),
    ("  Store.pending_events", "helpdesk/store/store.py", "pending_events"),
    ("  Store.events_done", "helpdesk/store/store.py", "events_done"),
    ("  Store.commit", "helpdesk/store/store.py", "commit"),
)


def _profiled(run: Callable[[], int], path: Path, stages: Sequence[common.Stage]) -> dict[str, Any]:
    """Call ``run`` under cProfile (which inflates its time), save the profile, summarise it."""
    profile = cProfile.Profile()
    start = time.perf_counter()
    count = profile.runcall(run)
    elapsed = time.perf_counter() - start
    common.save_profile(profile, path)
    return {
        "file": str(path),
        "profiled_seconds": round(elapsed, 3),
        "returned": count,
        "rows": common.summarise_profile(path, stages),
    }


def profile_tick(helpdesk: Helpdesk, path: Path) -> dict[str, Any]:
    """One more tick under cProfile; ``returned`` is how many rules it fired."""
    return _profiled(helpdesk.dispatcher.tick, path, TICK_STAGES)


def profile_messages(batches: MessageBatches, count: int, path: Path) -> dict[str, Any]:
    """``Dispatcher.run()`` under cProfile for ``count`` more new messages; ``returned``: events."""
    batches.add(count)
    common.flush_file_system()
    result = _profiled(batches.helpdesk.dispatcher.run, path, MESSAGE_STAGES)
    result["messages"] = count
    return result


# ---------------------------------------------------------------------------------------------
# The whole benchmark.
# ---------------------------------------------------------------------------------------------


def run_benchmark(
    options: Options, workdir: Path, progress: common.Progress = common.quiet, profile_dir: Path | None = None
) -> dict[str, Any]:
    """Run every measurement in ``workdir``; return JSON-ready results.

    Profiles (with ``options.profile``) are saved in ``profile_dir``, else in ``workdir``.
    """
    started = datetime.now(UTC)
    stamp = common.file_stamp(started)
    profile_dir = profile_dir or workdir
    load = os.getloadavg()
    ticks: dict[str, dict[str, Any]] = {}
    profiles: dict[str, Any] = {}
    directory = workdir / "realistic"
    with opened_store("realistic", directory, options, progress) as (helpdesk, result):
        rules = {
            event: [rule.name for rule in helpdesk.dispatcher.rules.for_event(event)]
            for event in ("tick", *NEW_TICKET_EVENTS)
        }
        measure_ticks(helpdesk, result, options.repeat, progress)
        ticks["realistic"] = result.to_json()
        messages, batches = measure_messages(helpdesk, options.messages, options.repeat, progress)
        if options.profile:
            path = profile_dir / f"rules-{stamp}-messages.prof"
            profiles["messages"] = profile_messages(batches, min(options.messages, PROFILED_MESSAGES), path)
            progress(f"profiled Dispatcher.run() for new messages: {path}")
    shutil.rmtree(directory)
    directory = workdir / "worst"
    with opened_store("worst", directory, options, progress) as (helpdesk, result):
        measure_ticks(helpdesk, result, options.repeat, progress)
        ticks["worst"] = result.to_json()
        if options.profile:
            path = profile_dir / f"rules-{stamp}-worst-tick.prof"
            profiles["worst_tick"] = profile_tick(helpdesk, path)
            progress(f"profiled a worst-case tick: {path}")
    shutil.rmtree(directory)
    return {
        "benchmark": "rules",
        "started": started.isoformat(timespec="seconds"),
        "options": asdict(options),
        "machine": common.machine(load_average_at_start=[round(value, 2) for value in load]),
        "reported": "best run of each repeated measurement (every run is listed)",
        "rules": rules,
        "tick_target_seconds": TICK_TARGET_SECONDS,
        "tick_target_met": all(tick["target_met"] for tick in ticks.values()),
        "ticks": ticks,
        "per_message": messages.to_json(),
        "profiles": profiles,
    }


# ---------------------------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------------------------


def format_report(results: dict[str, Any]) -> str:
    """The results as a readable table."""
    machine, rules = results["machine"], results["rules"]
    real, worst = results["ticks"]["realistic"], results["ticks"]["worst"]
    message = results["per_message"]
    repeat = results["options"]["repeat"]
    lines = [
        f"helpdesk rules benchmark, {results['started']}, {machine['cpus']} CPUs, Python {machine['python']}",
        f"shipped rules: tick: {', '.join(rules['tick'])}; "
        f"new message: {', '.join(rules['message.received'] + rules['ticket.created'])}",
        "",
        f"{'':<44}{'realistic':>18}{'worst case':>18}",
        _row("clock", real["clock"][:16], worst["clock"][:16]),
        _row("tickets", f"{real['tickets']:,}", f"{worst['tickets']:,}"),
        *(
            _row(
                f"  {status}", f"{real['statuses'].get(status, 0):,}", f"{worst['statuses'].get(status, 0):,}"
            )
            for status in ("new", "open", "pending", "closed")
        ),
        _row(
            "  high or urgent",
            f"{_urgent(real['priorities']):,}",
            f"{_urgent(worst['priorities']):,}",
        ),
        _row(
            "store build (once, not helpdesk)",
            f"{real['build_seconds']:.1f} s",
            f"{worst['build_seconds']:.1f} s",
        ),
        _row(
            "store open (Helpdesk start-up)",
            f"{real['open_seconds']:.2f} s",
            f"{worst['open_seconds']:.2f} s",
        ),
        _row(
            "first tick", f"{real['first_tick']['seconds']:.2f} s", f"{worst['first_tick']['seconds']:.2f} s"
        ),
        _row("  rules fired", f"{real['first_tick']['fired']:,}", f"{worst['first_tick']['fired']:,}"),
        _row(
            "  mail queued",
            f"{sum(real['first_tick']['mail_queued'].values()):,}",
            f"{sum(worst['first_tick']['mail_queued'].values()):,}",
        ),
        _row(
            "  per firing",
            _ms(real["first_tick"]["ms_per_firing"]),
            _ms(worst["first_tick"]["ms_per_firing"]),
        ),
        _row(
            "catch-up ticks after the first (fired)",
            f"{real['catch_up']['ticks']} ({real['catch_up']['fired']:,})",
            f"{worst['catch_up']['ticks']} ({worst['catch_up']['fired']:,})",
        ),
        _row(
            f"steady-state tick (best of {repeat})",
            f"{real['steady_tick']['best_seconds']:.3f} s",
            f"{worst['steady_tick']['best_seconds']:.3f} s",
        )
        + f"   target < {results['tick_target_seconds']:g} s: {common.verdict(results['tick_target_met'])}",
        _row(
            "  per ticket",
            f"{real['steady_tick']['us_per_ticket']:.1f} µs",
            f"{worst['steady_tick']['us_per_ticket']:.1f} µs",
        ),
        _row(
            "  per ticket and time rule",
            f"{real['steady_tick']['us_per_rule_evaluation']:.1f} µs",
            f"{worst['steady_tick']['us_per_rule_evaluation']:.1f} µs",
        ),
        _row(
            "  fired",
            common.format_runs(real["steady_tick"]["fired"], 3),
            common.format_runs(worst["steady_tick"]["fired"], 3),
        ),
        "",
        "first tick, fired per rule (realistic): "
        + ", ".join(f"{name} {count:,}" for name, count in real["first_tick"]["fired_by_rule"].items()),
        "first tick, mail queued (realistic): "
        + ", ".join(f"{kind} {count:,}" for kind, count in real["first_tick"]["mail_queued"].items()),
        "steady-state runs (s): realistic "
        + common.format_runs(real["steady_tick"]["runs_seconds"], 3)
        + "; worst case "
        + common.format_runs(worst["steady_tick"]["runs_seconds"], 3),
        "",
        f"new messages on the realistic store after its ticks: {message['rounds']} rounds of "
        f"{message['messages_per_round']:,}, each handled by one Dispatcher.run() "
        f"({message['events_handled_per_round'][0]:,} events)",
        f"  {'all (rules, actions, commit)':<42}{message['us_per_message']:>10,.0f} µs/message"
        f"   runs (s): {common.format_runs(message['run_seconds'], 3)}",
        f"  {'rule evaluation':<42}{message['us_per_message_evaluation']:>10,.1f} µs/message"
        f"   runs (s): {common.format_runs(message['evaluation_seconds'], 3)}",
        f"  {'actions, event handling, commit':<42}{message['us_per_message_actions']:>10,.0f} µs/message",
        "  matched: " + ", ".join(f"{name} {count:,}" for name, count in message["matched_by_rule"].items()),
        "  mail queued: " + ", ".join(f"{kind} {count:,}" for kind, count in message["mail_queued"].items()),
    ]
    titles = {
        "worst_tick": "a worst-case tick",
        "messages": "Dispatcher.run() for {messages:,} more new messages",
    }
    for name, profile in results["profiles"].items():
        title = titles.get(name, name).format(**profile)
        lines += [
            "",
            f"profile of {title} ({profile['profiled_seconds']:.2f} s under the profiler; "
            f"{profile['file']}):",
            *common.profile_lines(profile["rows"], name_width=52, seconds_width=7),
        ]
    return "\n".join(lines)


def _row(label: str, realistic: str, worst: str) -> str:
    return f"{label:<44}{realistic:>18}{worst:>18}"


def _urgent(priorities: dict[str, int]) -> int:
    return priorities.get("high", 0) + priorities.get("urgent", 0)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> tuple[Options, argparse.Namespace]:
    """Options from the command line."""
    parser = argparse.ArgumentParser(
        prog="python3 bench/rules.py",
        description="Benchmark the time rules (one tick) and the event rules (per message).",
    )
    parser.add_argument(
        "--tickets", type=int, default=DEFAULT_TICKETS, help="tickets per store (default 100,000)"
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help="new messages per round of the per-message cost (default 2,000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help="steady-state ticks per store, and rounds of new messages (default 3)",
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the cProfile runs (a worst-case tick, a round of new messages)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--workdir", type=Path, help="directory for data (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    for name, value in (
        ("--tickets", args.tickets),
        ("--messages", args.messages),
        ("--repeat", args.repeat),
    ):
        if value < 1:
            parser.error(f"{name} must be at least 1")
    options = Options(args.tickets, args.messages, args.repeat, profile=not args.no_profile)
    return options, args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; 0 when it ran (the target is reported, not enforced)."""
    options, args = parse_options(argv)
    began = time.monotonic()
    progress = common.stderr_progress(began)
    with common.work_directory(args.workdir, "hd-rules-") as workdir:
        results = run_benchmark(options, workdir, progress, profile_dir=common.RESULTS_DIR)
    path = common.finish_run(results, "bench/rules.py", argv, began, args.json, format_report)
    progress(f"results written to {path.relative_to(common.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
