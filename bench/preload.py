"""A preloaded ticket store for the benchmarks, built through the Store API.

Ingesting 100,000 messages to get a large store would take longer than the
benchmark itself, so the store is written directly with
:class:`helpdesk.store.store.Store`: tickets, their messages and customers shaped
like the records the daemon writes (names, subjects, history, an
acknowledgement per ticket, message text of about 500 bytes), committed in
whole segments, so that segment files are as large as real mail makes them.

The customers (:func:`person_for`), the products and subjects (:data:`PRODUCTS`,
:data:`SUBJECTS`) and the message text (:func:`message_text`) are public: the rules
benchmark builds its own stores of tickets from them.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpdesk.store.records import Customer, StoredMessage, Ticket, iso
from helpdesk.store.store import SEGMENT_SIZE, Store
from tests.helpers import BUSINESS

PRELOAD_SEED = 4_242
# Tickets per commit: several segments at a time, so that the build takes few commits.
COMMIT_EVERY = 10 * SEGMENT_SIZE

_FIRST_NAMES = (
    "Emma", "Olivia", "Liam", "Noah", "James", "Sophie", "Jack", "Amelia", "Oliver", "Grace",
    "Daniel", "Hannah", "Lukas", "Anna", "Jonas", "Léa", "Hugo", "Camille", "Lucía", "Mateo",
    "Sofía", "Wei", "Mei", "Priya", "Aidan", "Renée", "Zoë", "Felix", "Marie", "Pablo",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts",
    "Walker", "Müller", "Schmidt", "Schneider", "Fischer", "Martin", "Bernard", "Dubois",
    "García", "Fernández", "López", "Wang", "Li", "Zhang", "Patel", "Nguyen", "Kim", "Murphy",
)  # fmt: skip
_DOMAINS = (
    "gmail.example", "outlook.example", "yahoo.example", "icloud.example", "gmx.example",
    "web.example", "orange.example", "free.example", "qq.example", "proton.example",
    "fastmail.example", "mail.example",
)  # fmt: skip
PRODUCTS = (
    "electric kettle", "desk lamp", "backpack", "throw blanket", "ceramic plant pot",
    "wireless earbuds", "water bottle", "scented candle set", "hiking boots", "bike light set",
    "wall clock", "bath towel set", "coffee grinder", "phone case", "fountain pen",
)  # fmt: skip
SUBJECTS = (
    "Where is my order #{order}?", "Refund for order #{order}", "Broken {product} (order #{order})",
    "Question about the {product}", "Change the delivery address of order #{order}",
    "Invoice for order #{order}", "Wrong colour of {product} delivered", "Return of my {product}",
    "Discount code did not work", "Order #{order} arrived damaged",
)  # fmt: skip
_SENTENCES = (
    "I ordered the {product} on {date} and it still has not arrived.",
    "The tracking page has not changed for several days now.",
    "Could you please tell me what is happening with order #{order}?",
    "When I unpacked the {product} I noticed that it was damaged.",
    "I have attached a photo of the box so you can see what I mean.",
    "I would be happy with either a replacement or a refund.",
    "My address has changed since I placed the order, please update it.",
    "Is it possible to get an invoice with my company name on it?",
    "The discount code from your newsletter was not accepted at checkout.",
    "I have ordered from you before and it always came quickly, so I am a bit worried.",
    "Please let me know if you need any more information from me.",
    "It is a birthday present, so I would really appreciate a quick answer.",
    "The colour is quite different from the pictures on your website.",
    "I paid {amount} by card and the money has already left my account.",
)  # fmt: skip
# The text of the acknowledgement each ticket got, as the shipped template renders it.
_ACKNOWLEDGEMENT = (
    "Hello {first},\n\nThank you for getting in touch with Acme Tea Co. Your message has arrived "
    'safely and is now ticket #{ticket}, "{subject}".\n\nThis confirmation is sent automatically, '
    "but your answer will come from a person: Sam Owner will read your message and reply as soon "
    "as possible.\n\nThere is no need to write again. If you would like to add anything, such as "
    "a photo or an order number, simply reply to this email and it will be added to ticket "
    "#{ticket}.\n\nKind regards,\nSam Owner\nAcme Tea Co.\n\n-- \nAcme Tea Co.\nEmail: {business}\n"
    "Your reference: #{ticket}\n"
)


@dataclass(frozen=True)
class Person:
    """A generated customer: address, full name, and the first name a greeting uses."""

    email: str
    name: str
    first: str


def person_for(index: int) -> Person:
    """A distinct customer for every index, with a plausible name and address."""
    first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
    last = _LAST_NAMES[(index // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return Person(f"{local}.{index}@{_DOMAINS[index % len(_DOMAINS)]}", f"{first} {last}", first)


def message_text(rng: random.Random, person: Person, product: str, order: int, when: datetime) -> str:
    """About 500 bytes of customer prose, the size of a typical stored message text."""
    values = {
        "product": product,
        "order": order,
        "date": when.strftime("%B %d"),
        "amount": f"€{rng.randrange(15, 180)}.{rng.randrange(100):02d}",
    }
    body: list[str] = []
    while sum(len(sentence) + 1 for sentence in body) < 420:
        body.append(rng.choice(_SENTENCES).format(**values))
    greeting = rng.choice(("Hello,", "Hi,", "Dear Acme team,", "Good morning,"))
    closing = rng.choice(("Thanks,", "Best regards,", "Kind regards,"))
    return f"{greeting}\n\n{' '.join(body)}\n\n{closing}\n{person.name}"


def preload_store(data_dir: Path, tickets: int, *, seed: int = PRELOAD_SEED) -> dict[str, int]:
    """Fill a new store at ``data_dir`` with ``tickets`` realistic past tickets.

    Every ticket has the customer's first message (about 500 bytes), the acknowledgement the
    daemon sent and the Message-ID of the owner's notification, and a history of four to five
    entries; all but the most recent few percent are closed. There are a third as many
    customers as tickets, each with at least one ticket and most with several spread over the
    whole history, and each with the time of the last automatic mail sent to them (which the
    daemon keeps for its rate limit). Commits take whole ticket segments, so the segment files
    end up as large as a store grown by real mail makes them. Returns the store's counts.
    """
    rng = random.Random(seed)
    customers = max(1, tickets // 3)
    owners = list(range(customers)) + [rng.randrange(customers) for _ in range(tickets - customers)]
    rng.shuffle(owners)
    first_ticket: dict[int, int] = {}
    last_ticket: dict[int, int] = {}
    for position, owner in enumerate(owners):
        first_ticket.setdefault(owner, position)
        last_ticket[owner] = position
    ticket_counts = Counter(owners)

    # Two years of history, ending a day ago.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    step = timedelta(days=730) / max(1, tickets)
    start = end - step * tickets
    recent = int(tickets * 0.97)
    store = Store(data_dir)
    for position, owner in enumerate(owners):
        person = person_for(owner)
        created = start + step * position
        if first_ticket[owner] == position:
            # Each customer is saved once, complete, when first seen: customer ids then grow
            # with the ticket ids, as they do when mail is ingested.
            last = start + step * last_ticket[owner]
            store.save_customer(
                Customer(
                    id=0,
                    email=person.email,
                    name=person.name,
                    first_contact=iso(created),
                    last_contact=iso(last),
                    ticket_count=ticket_counts[owner],
                    tags=["loyal"] if ticket_counts[owner] >= 5 else [],
                )
            )
            store.note_automatic_sent(person.email, [iso(last + timedelta(seconds=1))])
        _add_ticket(store, rng, person, created, closed=position < recent, uid=position + 1)
        if (position + 1) % COMMIT_EVERY == 0:
            store.commit()
    store.commit()
    # The segment files written, as a store the daemon has run on for a while has them.
    store.close()
    counts = store.counts
    expected = {"tickets": tickets, "messages": 2 * tickets, "customers": customers}
    if any(counts.get(name) != value for name, value in expected.items()):
        raise RuntimeError(f"preloading {tickets} tickets gave {counts}, expected {expected}")
    return counts


def _add_ticket(
    store: Store, rng: random.Random, person: Person, created: datetime, *, closed: bool, uid: int
) -> None:
    """One past ticket with its first message and acknowledgement, as the daemon leaves them."""
    order = 100_000 + uid
    product = rng.choice(PRODUCTS)
    subject = rng.choice(SUBJECTS).format(order=order, product=product)
    stamp = iso(created)
    sent = iso(created + timedelta(seconds=1))
    ticket = Ticket(
        id=store.new_ticket_id(),
        customer=person.email,
        subject=subject,
        created_at=stamp,
        updated_at=stamp,
        priority=rng.choices(("low", "normal", "high", "urgent"), weights=(10, 70, 15, 5))[0],
        tags=rng.sample(("refund", "shipping", "damaged", "invoice", "vip"), rng.randrange(3)),
        participants=[person.email],
        last_customer_at=stamp,
        notifications=[f"{rng.getrandbits(40)}.{uid}.{rng.getrandbits(64)}@acme.example"],
    )
    ticket.record(stamp, "created", f"from {person.email}")
    ticket.record(stamp, "message", f"from {person.email} (new conversation)")
    ticket.record(sent, "acknowledged", f"to {person.email}")
    answered = created + timedelta(hours=rng.randrange(1, 30))
    ticket.last_owner_at = iso(answered)
    ticket.record(iso(answered), "status", "pending")
    if closed:
        finished = answered + timedelta(days=rng.randrange(1, 10))
        ticket.status = "closed"
        ticket.closed_at = iso(finished)
        ticket.updated_at = iso(finished)
        ticket.record(iso(finished), "status", "closed")
    else:
        ticket.status = rng.choice(("new", "open", "pending"))
        ticket.updated_at = iso(answered)
    store.save_ticket(ticket)
    domain = person.email.rpartition("@")[2]
    inbound = StoredMessage(
        id=store.new_message_id(),
        ticket_id=ticket.id,
        direction="in",
        message_id=f"{rng.getrandbits(96):024x}.{uid}@mail.{domain}",
        sender=person.email,
        to=[BUSINESS],
        subject=subject,
        date=stamp,
        text=message_text(rng, person, product, order, created),
        archive_path=f"mail/INBOX/1/{uid}.eml",
        source=f"INBOX/1/{uid}",
    )
    store.add_message(inbound)
    store.add_message(
        StoredMessage(
            id=store.new_message_id(),
            ticket_id=ticket.id,
            direction="out",
            message_id=f"{rng.getrandbits(40)}.{uid}.{rng.getrandbits(64)}@acme.example",
            sender=BUSINESS,
            to=[person.email],
            subject=f"[#{ticket.id}] {subject}",
            date=sent,
            text=_ACKNOWLEDGEMENT.format(
                first=person.first, ticket=ticket.id, subject=subject, business=BUSINESS
            ),
            references=[inbound.message_id],
        )
    )
