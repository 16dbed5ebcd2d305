"""The weekly digest's presentation (helpdesk/clock/digestview.py): its template values and
the message rendered through the shipped templates.

The digest is the one of the seeded store of test_digest.py (``now`` Wednesday 9 December
2026, 12:00 UTC, open Mon-Fri 09:00-17:00 UTC), whose figures are checked there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helpdesk.clock.digest import CHART_DAYS, Digest, DigestSection, SectionRow, build_digest
from helpdesk.clock.digestview import digest_context, digest_outbound
from helpdesk.outbound.render import Templates
from helpdesk.outbound.samples import SAMPLE_CONTEXTS
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.store.store import Store
from tests.clock.test_digest import (
    BUSINESS,
    CONTEXT_BASE,
    FAILURE,
    HOSTILE,
    NOW,
    QUARANTINED,
    TEMPLATES,
    seed,
)


@pytest.fixture(scope="module")
def hours() -> BusinessHours:
    return BusinessHours.parse("Mon-Fri 09:00-17:00", "UTC")


@pytest.fixture(scope="module")
def tokens() -> ReplyTokens:
    return ReplyTokens(b"0123456789abcdef0123456789abcdef", BUSINESS)


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(TEMPLATES, timezone="UTC")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, int]]:
    store = Store(tmp_path_factory.mktemp("digestview"))
    ids = seed(store)
    return store, ids


@pytest.fixture(scope="module")
def digest(seeded: tuple[Store, dict[str, int]], hours: BusinessHours, tokens: ReplyTokens) -> Digest:
    store, _ = seeded
    return build_digest(store, hours, NOW, tokens, failures=[FAILURE], quarantined=[QUARANTINED])


@pytest.fixture(scope="module")
def ids(seeded: tuple[Store, dict[str, int]]) -> dict[str, int]:
    return seeded[1]


def test_an_empty_store(
    tmp_path: Path, hours: BusinessHours, tokens: ReplyTokens, templates: Templates
) -> None:
    digest = build_digest(Store(tmp_path), hours, NOW, tokens)
    outbound = digest_outbound(digest, templates, CONTEXT_BASE, ("Sam Owner", "owner@acme.example"))
    assert "Nothing overdue or escalated." in outbound.text
    assert "None: everything was delivered." in outbound.text


@pytest.fixture(scope="module")
def outbound(digest: Digest, templates: Templates) -> Any:
    digest.sections.append(
        DigestSection(
            "invoices",
            "Invoices",
            "2 open, 1 overdue",
            [SectionRow("2026-0007 <b>", "120.00 EUR", "due Mon 7 Dec", 2, "support+t2-x@acme.example")],
        )
    )
    try:
        return digest_outbound(digest, templates, CONTEXT_BASE, ("Sam Owner", "owner@acme.example"))
    finally:
        digest.sections.clear()


def test_outbound_is_automatic_mail_to_the_owner(outbound: Any) -> None:
    assert outbound.kind == "digest"
    assert outbound.automatic is True
    assert outbound.to == (("Sam Owner", "owner@acme.example"),)
    assert outbound.subject == "Weekly digest for Acme Tea Co.: 5 open, 2 need attention, 5 new this week"


def test_every_ticket_carries_its_reply_address(
    outbound: Any, ids: dict[str, int], tokens: ReplyTokens
) -> None:
    for name in ("T1", "T2", "T3", "T4", "T5"):
        address = tokens.address(ids[name], OWNER_PURPOSE)
        assert f'href="mailto:{address}?subject=' in outbound.html, name
        assert f"reply: {address}" in outbound.text, name


def test_customer_text_is_escaped_in_html(outbound: Any) -> None:
    html = outbound.html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; broken" in html
    assert "Dave &lt;Evil&gt; &amp; Co" in html
    assert "2026-0007 &lt;b&gt;" in html
    # In the mailto subject the text is URL-encoded.
    assert "subject=%5B%23" in html and "%3Cscript%3E" in html
    # The text part shows it as it is.
    assert HOSTILE in outbound.text


def test_text_part_reads_in_a_terminal(outbound: Any) -> None:
    text = outbound.text
    too_long = [line for line in text.splitlines() if len(line) > 72]
    assert not too_long, too_long
    assert "  Opened                          5          3\n" in text
    assert "  Closed                          3          1\n" in text
    assert "  Median first response       1.0 h      2.5 h\n" in text
    assert "  Median resolution            12 h       24 h\n" in text
    # The chart: one line per day, the counts aligned, the tallest bar 20 characters.
    assert "\n  Mon 7 Dec    1 ####################   0\n" in text
    assert "\n  Thu 3 Dec    1 ####################   1 ====================\n" in text
    assert "\n  Sun 6 Dec    0                        0\n" in text
    assert len(re.findall(r"^  (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w{3} +\d+ ", text, re.M)) == CHART_DAYS
    assert "waiting 60 h, open 60 h, OVERDUE, escalated x1" in text
    assert "waiting on the customer 33 h, open 35 h" in text
    # The extra section, rendered generically.
    assert "Invoices\n========\n2 open, 1 overdue" in text
    assert "#2 reply: support+t2-x@acme.example" in text


def test_html_part_is_self_contained(outbound: Any) -> None:
    html = outbound.html
    assert html.startswith("<!DOCTYPE html>")
    assert "max-width:600px" in html
    for external in ("<img", "<link", "<script", "<style", "src=", "url(", "@import", "class="):
        assert external not in html.lower()
    assert html.count('data-bar="opened"') == CHART_DAYS
    assert html.count('data-bar="closed"') == CHART_DAYS
    assert 'data-section="invoices"' in html
    # The tallest bar is the full height; an empty day is a 1 px baseline.
    assert 'data-bar="opened" data-day="2026-12-07" data-value="1" height="80"' in html
    assert 'data-bar="closed" data-day="2026-12-07" data-value="0" height="1"' in html


def test_sample_context_matches_the_digest_context(digest: Digest) -> None:
    """The dry-run sample (render.py) has the shape digest_context gives the templates."""

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shape(value[0])] if value else []
        return None

    digest.sections.append(DigestSection("x", "X", rows=[SectionRow("a")]))
    try:
        context = digest_context(digest)
    finally:
        digest.sections.clear()
    sample = {
        key: value
        for key, value in SAMPLE_CONTEXTS["digest"].items()
        # What digest_outbound adds around the digest's own values.
        if key not in ("business", "owner", "command_address")
    }
    assert shape(sample) == shape(context)
