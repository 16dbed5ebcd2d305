"""The digest stays readable in full however many tickets are open.

Gmail cuts off an HTML part over about 102 KB ("[Message clipped]"), which
would hide the end of the digest; the lists are bounded so that it never
gets there. The store is the benchmark's (``bench/digest.py``), with
thousands of open tickets, long subjects and names.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench import digest as bench_digest
from helpdesk.clock.digest import build_digest
from helpdesk.clock.digestview import digest_outbound
from helpdesk.outbound.render import Templates
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.store.store import Store

GMAIL_CLIPS_AT = 102 * 1024
REPOSITORY = Path(__file__).resolve().parents[2]


def test_a_digest_of_thousands_of_open_tickets_is_not_clipped(tmp_path: Path) -> None:
    bench_digest.build_store(tmp_path, 4_000, random.Random(bench_digest.BUILD_SEED))
    store = Store(tmp_path, readonly=True)
    hours = BusinessHours.parse(*bench_digest.HOURS)
    digest = build_digest(store, hours, bench_digest.NOW, ReplyTokens(b"k" * 32, bench_digest.BUSINESS))
    assert digest.open_total > 1_000
    templates = Templates(REPOSITORY / "templates", timezone=bench_digest.HOURS[1])
    outbound = digest_outbound(digest, templates, bench_digest.CONTEXT_BASE, ("Sam", "owner@acme.example"))
    assert outbound.html is not None
    assert len(outbound.html.encode()) < GMAIL_CLIPS_AT
    assert outbound.html.count("mailto:") >= 20
