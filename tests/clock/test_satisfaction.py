"""The digest's satisfaction section (helpdesk/clock/satisfaction.py), from hand-made ticket documents.

``now`` is Wednesday 9 December 2026, 20:00 UTC. The weeks are the digest's five
median weeks, 7 days each ending at ``now``: this week is [Wed 2 Dec 20:00, now],
then from 25 Nov, 18 Nov, 11 Nov and 4 Nov, 20:00 UTC. London is on UTC in winter,
so the weeks are named by those dates; in Kolkata (UTC+5:30) each starts at 01:30
the next day. Every expected figure is worked out in the comment beside it.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpdesk.clock.digest import DigestSection, SectionRow, build_digest
from helpdesk.clock.digestview import digest_outbound
from helpdesk.clock.satisfaction import COMMENT_LIMIT, COMPLAINT_LIMIT, satisfaction_section
from helpdesk.outbound.render import Templates
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.store.records import Customer, Ticket
from helpdesk.store.store import Store
from tests.clock.test_digest import CONTEXT_BASE, TEMPLATES

BUSINESS = "support@acme.example"
NOW = datetime(2026, 12, 9, 20, 0, tzinfo=UTC)
LONDON = "Europe/London"
NAMES = {"alice@example.com": "Alice Archer", "carol@example.com": "Carol Cook"}


def at(text: str) -> str:
    """``"12-07 10:00"`` or ``"12-02 19:59:59"`` (in 2026, UTC) as the ISO string the store keeps."""
    layout = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(f"2026-{text}", layout).replace(tzinfo=UTC).isoformat()


def ticket(
    ticket_id: int,
    customer: str,
    score: int | None,
    answered: str = "",
    comment: str = "",
    *,
    status: str = "closed",
    owner_at: str | None = None,
    closed_at: str | None = None,
) -> dict[str, Any]:
    """A ticket document as ``Ticket.to_doc()`` writes it; ``score`` None: no answer yet."""
    created = at("01-02 09:00")
    feedback = {} if score is None else {"score": score, "comment": comment, "at": at(answered)}
    return Ticket(
        id=ticket_id,
        customer=customer,
        subject=f"Order question {ticket_id}",
        created_at=created,
        updated_at=created,
        status=status,
        participants=[customer],
        last_customer_at=created,
        last_owner_at=at(owner_at) if owner_at else None,
        closed_at=at(closed_at) if closed_at else None,
        feedback=feedback,
    ).to_doc()


DOCS = [
    # This week: 5 + 4 + 2 + 1 + 5 + 3 = 20 from 6 answers: 3.3.
    ticket(1, "alice@example.com", 5, "12-09 10:00", "Lovely   tea,\nthanks!"),
    ticket(2, "bob@example.com", 4, "12-08 09:00"),
    # A complaint the owner answered afterwards: followed up.
    ticket(
        3,
        "carol@example.com",
        2,
        "12-07 12:00",
        "Parcel arrived broken",
        status="open",
        owner_at="12-07 15:00",
    ),
    # A complaint whose ticket the owner last answered before it: not followed up.
    ticket(
        4, "dave@example.com", 1, "12-05 08:00", "Nobody answered me", status="open", owner_at="12-04 10:00"
    ),
    # Right at the start of this week (7 days before now): this week's.
    ticket(5, "erin@example.com", 5, "12-02 20:00", "Quick and kind"),
    # In the second of now: this week's too.
    ticket(6, "frank@example.com", 3, "12-09 20:00"),
    # After now: not counted.
    ticket(7, "frank@example.com", 5, "12-09 20:00:01", "From the future"),
    # The week before (from 25 Nov 20:00): 4 + 2 = 6 from 2: 3.0. One second before this week:
    ticket(8, "alice@example.com", 4, "12-02 19:59:59", "Fine"),
    # A complaint after which the ticket was closed again: followed up.
    ticket(9, "bob@example.com", 2, "11-30 10:00", "Late delivery", closed_at="12-01 09:00"),
    # From 18 Nov: no answers. From 11 Nov: 5 + 4 = 9 from 2: 4.5.
    ticket(10, "carol@example.com", 5, "11-15 10:00", "Great"),
    ticket(11, "dave@example.com", 4, "11-12 10:00"),
    # From 4 Nov 20:00: 3. One second earlier: outside the five weeks, not a complaint listed.
    ticket(12, "erin@example.com", 3, "11-04 20:00"),
    ticket(13, "bob@example.com", 1, "11-04 19:59:59", "Too old to list"),
    # Long ago; and tickets without an answer, or with no valid one.
    ticket(14, "erin@example.com", 1, "01-10 10:00", "Ancient history"),
    ticket(15, "alice@example.com", None),
    ticket(16, "bob@example.com", 7, "12-08 10:00", "Out of range"),
    ticket(17, "bob@example.com", True, "12-08 10:00", "A bool is no score"),
]
# The four weeks before: 4 + 2 + 5 + 4 + 3 = 18 from 5 answers: 3.6.
SUMMARY = (
    "3.3 average from 6 answers this week (3.6 over the four weeks before); "
    "3 complaints in five weeks, 1 not followed up yet."
)


@pytest.fixture(scope="module")
def tokens() -> ReplyTokens:
    return ReplyTokens(b"0123456789abcdef0123456789abcdef", BUSINESS)


@pytest.fixture(scope="module")
def section(tokens: ReplyTokens) -> DigestSection:
    result = satisfaction_section(DOCS, NOW, LONDON, tokens, NAMES)
    assert result is not None
    return result


def reply(tokens: ReplyTokens, ticket_id: int) -> str:
    return tokens.address(ticket_id, OWNER_PURPOSE)


def test_title_and_summary(section: DigestSection) -> None:
    assert section.key == "satisfaction"
    assert section.title == "Customer satisfaction"
    assert section.summary == SUMMARY


def test_weeks_newest_first_with_average_and_count(section: DigestSection) -> None:
    weeks = [(row.label, row.value, row.detail) for row in section.rows[:5]]
    assert weeks == [
        ("Week of Wed 2 Dec", "3.3 (6)", "2 complaints"),
        ("Week of Wed 25 Nov", "3.0 (2)", "1 complaint"),
        ("Week of Wed 18 Nov", "no answers", ""),
        ("Week of Wed 11 Nov", "4.5 (2)", ""),
        ("Week of Wed 4 Nov", "3.0 (1)", ""),
    ]
    assert all(row.ticket_id is None and row.reply_address is None for row in section.rows[:5])


def test_weeks_are_named_in_the_business_timezone(tokens: ReplyTokens) -> None:
    result = satisfaction_section(DOCS, NOW, "Asia/Kolkata", tokens)
    assert result is not None
    # The same windows (so the same figures), starting at 01:30 the next day in Kolkata.
    assert [(row.label, row.value) for row in result.rows[:5]] == [
        ("Week of Thu 3 Dec", "3.3 (6)"),
        ("Week of Thu 26 Nov", "3.0 (2)"),
        ("Week of Thu 19 Nov", "no answers"),
        ("Week of Thu 12 Nov", "4.5 (2)"),
        ("Week of Thu 5 Nov", "3.0 (1)"),
    ]
    assert result.summary == SUMMARY


def test_this_weeks_comments_newest_first(section: DigestSection, tokens: ReplyTokens) -> None:
    comments = section.rows[5:9]
    # Only this week's answers with a comment; whitespace collapsed; a name where known.
    assert comments == [
        SectionRow("★★★★★ 5/5", "Alice Archer", "Lovely tea, thanks!", 1, reply(tokens, 1)),
        SectionRow("★★☆☆☆ 2/5", "Carol Cook", "Parcel arrived broken", 3, reply(tokens, 3)),
        SectionRow("★☆☆☆☆ 1/5", "dave@example.com", "Nobody answered me", 4, reply(tokens, 4)),
        SectionRow("★★★★★ 5/5", "erin@example.com", "Quick and kind", 5, reply(tokens, 5)),
    ]


def test_complaints_not_followed_up_first(section: DigestSection, tokens: ReplyTokens) -> None:
    complaints = section.rows[9:]
    assert complaints == [
        SectionRow(
            "Complaint 1/5",
            "dave@example.com",
            "Nobody answered me — NOT followed up yet",
            4,
            reply(tokens, 4),
        ),
        SectionRow("Complaint 2/5", "Carol Cook", "Parcel arrived broken — followed up", 3, reply(tokens, 3)),
        SectionRow("Complaint 2/5", "bob@example.com", "Late delivery — followed up", 9, reply(tokens, 9)),
    ]
    assert tokens.ticket_in([complaints[0].reply_address or ""], OWNER_PURPOSE) == 4


def test_followed_up_only_after_the_answer(tokens: ReplyTokens) -> None:
    docs = [
        # Answered and closed in the same second as the answer: not after it.
        ticket(1, "a@example.com", 1, "12-08 10:00", "x", owner_at="12-08 10:00", closed_at="12-08 10:00"),
        # Closed a second later.
        ticket(2, "b@example.com", 2, "12-08 10:00", "y", closed_at="12-08 10:00:01"),
        # The owner answered a second later (still open).
        ticket(3, "c@example.com", 1, "12-08 10:00", "z", status="open", owner_at="12-08 10:00:01"),
        # Nothing since.
        ticket(4, "d@example.com", 2, "12-07 10:00", "", status="open"),
    ]
    result = satisfaction_section(docs, NOW, LONDON, tokens)
    assert result is not None
    complaints = [(row.ticket_id, row.detail) for row in result.rows if row.label.startswith("Complaint")]
    assert complaints == [
        (1, "x — NOT followed up yet"),
        (4, "(no comment) — NOT followed up yet"),
        (3, "z — followed up"),
        (2, "y — followed up"),
    ]
    assert result.summary.endswith("; 4 complaints in five weeks, 2 not followed up yet.")


def test_none_without_any_answer(tokens: ReplyTokens) -> None:
    assert satisfaction_section([], NOW, LONDON, tokens) is None
    unanswered = [ticket(1, "a@example.com", None), DOCS[-1], DOCS[-2]]
    assert satisfaction_section(unanswered, NOW, LONDON, tokens) is None


def test_old_answers_only(tokens: ReplyTokens) -> None:
    result = satisfaction_section([DOCS[13]], NOW, LONDON, tokens)
    assert result is not None
    assert result.summary == "No answers this week (none in the four weeks before)."
    assert [row.value for row in result.rows] == ["no answers"] * 5


def test_averages_round_halves_up(tokens: ReplyTokens) -> None:
    # 5 + 4 + 4 + 4 = 17 from 4: 4.25, shown 4.3 (round() would give 4.2).
    docs = [ticket(n, "a@example.com", score, "12-08 10:00") for n, score in enumerate((5, 4, 4, 4), 1)]
    # The weeks before: 5 + 5 + 4 = 14 from 3: 4.67.
    docs += [ticket(n, "a@example.com", score, "11-20 10:00") for n, score in enumerate((5, 5, 4), 10)]
    result = satisfaction_section(docs, NOW, LONDON, tokens)
    assert result is not None
    assert result.rows[0].value == "4.3 (4)"
    assert result.rows[2].value == "4.7 (3)"
    assert result.summary == "4.3 average from 4 answers this week (4.7 over the four weeks before)."
    # No comments, no complaints: the weeks only.
    assert len(result.rows) == 5


def test_lists_are_bounded(tokens: ReplyTokens) -> None:
    long_comment = "very " * 60 + "long"
    docs = []
    for n in range(1, 26):
        # 25 answers this week, an hour apart (1 the newest); 1-15 are complaints, the odd ones
        # followed up (the owner answered at 19:30, after all of them).
        answered = (NOW - timedelta(hours=n)).strftime("%m-%d %H:%M")
        score = 1 if n <= 15 else 4
        owner_at = "12-09 19:30" if n <= 15 and n % 2 else None
        docs.append(
            ticket(
                n,
                f"c{n}@example.com",
                score,
                answered,
                f"{long_comment} {n}",
                status="open",
                owner_at=owner_at,
            )
        )
    # Complaints from the weeks before, all not followed up.
    docs += [ticket(100 + n, "old@example.com", 2, "11-20 10:00", "old") for n in range(3)]
    result = satisfaction_section(iter(docs), NOW, LONDON, tokens)
    assert result is not None
    rows = result.rows
    comments = rows[5 : 5 + COMMENT_LIMIT]
    assert [row.ticket_id for row in comments] == list(range(1, COMMENT_LIMIT + 1))
    for row in comments:
        assert len(row.detail) <= 140
        assert row.detail.endswith("…")
        assert row.detail.startswith("very very")
    assert rows[5 + COMMENT_LIMIT] == SectionRow("and 15 more comments")
    complaints = rows[6 + COMMENT_LIMIT : 6 + COMMENT_LIMIT + COMPLAINT_LIMIT]
    # Not followed up (the even ones, then the old ones), newest first (on a tie, the later ticket).
    assert [row.ticket_id for row in complaints] == [2, 4, 6, 8, 10, 12, 14, 102, 101, 100]
    # The detail stays within the text part's 66 characters, whether followed up kept at the end.
    assert all(len(row.detail) <= 66 and row.detail.endswith(" — NOT followed up yet") for row in complaints)
    assert rows[6 + COMMENT_LIMIT + COMPLAINT_LIMIT :] == [
        SectionRow("and 8 more complaints", "all followed up")
    ]
    assert len(rows) == 5 + COMMENT_LIMIT + 1 + COMPLAINT_LIMIT + 1
    assert result.summary.endswith("18 complaints in five weeks, 10 not followed up yet.")


def test_documents_are_not_changed(tokens: ReplyTokens) -> None:
    before = copy.deepcopy(DOCS)
    satisfaction_section(DOCS, NOW, LONDON, tokens, NAMES)
    assert before == DOCS


def test_now_must_be_timezone_aware(tokens: ReplyTokens) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        satisfaction_section(DOCS, NOW.replace(tzinfo=None), LONDON, tokens)


def test_rendered_in_the_digest(tmp_path: Path, tokens: ReplyTokens) -> None:
    store = Store(tmp_path)
    for email, name in NAMES.items():
        store.save_customer(Customer(0, email, name, at("01-01 09:00"), at("12-01 09:00"), ticket_count=1))
    for doc in DOCS:
        store.save_ticket(Ticket.from_doc(doc))
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", LONDON)
    digest = build_digest(store, hours, NOW, tokens)
    names = {customer.email: customer.name for customer in store.customers()}
    section = satisfaction_section(store.ticket_documents(), NOW, digest.timezone, tokens, names)
    assert section is not None
    assert section.summary == SUMMARY
    digest.sections.append(section)
    outbound = digest_outbound(
        digest, Templates(TEMPLATES, timezone=LONDON), CONTEXT_BASE, ("Sam Owner", "owner@acme.example")
    )
    assert outbound.html is not None
    for part in (outbound.text, outbound.html):
        assert "Customer satisfaction" in part
        assert "3.3 average from 6 answers this week" in part
        assert "Week of Wed 2 Dec" in part
        assert "Complaint 1/5" in part
        assert "Nobody answered me — NOT followed up yet" in part
        assert reply(tokens, 4) in part
    assert 'data-section="satisfaction"' in outbound.html
