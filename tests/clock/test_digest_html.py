"""The digest's HTML part as a browser lays it out: headless Chromium measures it.

A copy of the rendered HTML gets a small script that measures the page (its scroll width,
every table's width, the chart's bars) and writes the figures into the DOM as JSON;
``chromium --dump-dom`` prints the DOM, and the test reads them back. The mail itself never
carries a script: only this copy does.

Chromium is the Debian package ``chromium``. Without it the test is skipped, except under CI
(the ``CI`` variable set), where a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpdesk.clock.digest import CHART_DAYS, build_digest
from helpdesk.clock.digestview import digest_outbound
from helpdesk.outbound.render import Templates
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.store.store import Store
from tests.clock.test_digest import BUSINESS, CONTEXT_BASE, FAILURE, NOW, QUARANTINED, TEMPLATES, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What the page may be wide at most: the layout's 600 px.
MAX_WIDTH = 600
# A phone held upright.
PHONE_WIDTH = 375

# Measures a laid-out document: its scroll width, every table's width and right edge, and
# the chart's bars (cells with ``data-bar``), and writes the figures into the page as JSON.
MEASURE = """
function measure(doc, win) {
  function box(element) { return element.getBoundingClientRect(); }
  var tables = Array.prototype.slice.call(doc.querySelectorAll("table"));
  var bars = Array.prototype.slice.call(doc.querySelectorAll("[data-bar]"));
  return {
    innerWidth: win.innerWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    bodyScrollWidth: doc.body.scrollWidth,
    tableWidths: tables.map(function (t) { return box(t).width; }),
    tableRights: tables.map(function (t) { return box(t).right; }),
    bars: bars.map(function (b) {
      var r = box(b);
      return {series: b.getAttribute("data-bar"), value: +b.getAttribute("data-value"),
              height: r.height, width: r.width, bottom: r.bottom};
    })
  };
}
function report(figures) {
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(figures);
  document.body.appendChild(pre);
}
"""
# Run in a copy of the digest itself, at the window's width.
IN_PAGE = "<script>" + MEASURE + "report(measure(document, window));</script>"
# Headless Chromium lays pages out at least 500 px wide, so a phone's width is an iframe of
# that width; its srcdoc document has the page's origin, so the page's script can measure it.
IN_FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0;">
<iframe id="mail" width="{width}" height="6000" style="border:0;display:block;" srcdoc="{srcdoc}"></iframe>
<script>{measure}
window.addEventListener("load", function () {{
  var frame = document.getElementById("mail");
  report(measure(frame.contentDocument, frame.contentWindow));
}});
</script></body></html>
"""


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium); under CI this test must run")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def run_chromium(page: Path, width: int, profile: Path, *extra: str) -> str:
    command = [
        chromium_or_skip(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},2000",
        "--hide-scrollbars", "--virtual-time-budget=2000", *extra, page.as_uri(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def measure(page_html: str, width: int, directory: Path) -> dict[str, Any]:
    """Lay out ``page_html`` at ``width`` px and return what the script measured.

    At :data:`MAX_WIDTH` the page is the window; narrower, it is an iframe that wide.
    """
    page = directory / f"digest-{width}.html"
    if width >= MAX_WIDTH:
        text = page_html.replace("</body>", IN_PAGE + "</body>")
    else:
        text = IN_FRAME.format(width=width, srcdoc=html.escape(page_html, quote=True), measure=MEASURE)
    page.write_text(text, encoding="utf-8")
    dom = run_chromium(page, max(width, MAX_WIDTH), directory / f"profile-{width}", "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def page_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = Store(tmp_path_factory.mktemp("digest-html"))
    seed(store)
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", "UTC")
    tokens = ReplyTokens(b"0123456789abcdef0123456789abcdef", BUSINESS)
    digest = build_digest(store, hours, NOW, tokens, failures=[FAILURE], quarantined=[QUARANTINED])
    outbound = digest_outbound(
        digest, Templates(TEMPLATES, timezone="UTC"), CONTEXT_BASE, ("Sam Owner", "owner@acme.example")
    )
    assert outbound.html is not None
    return outbound.html


@pytest.mark.parametrize("width", [MAX_WIDTH, PHONE_WIDTH])
def test_nothing_is_wider_than_the_window(page_html: str, width: int, tmp_path: Path) -> None:
    figures = measure(page_html, width, tmp_path)
    assert figures["innerWidth"] == width
    assert figures["scrollWidth"] <= width
    assert figures["bodyScrollWidth"] <= width
    assert max(figures["tableWidths"]) <= min(width, MAX_WIDTH)
    assert max(figures["tableRights"]) <= width


@pytest.mark.parametrize("width", [MAX_WIDTH, PHONE_WIDTH])
def test_the_chart_has_a_visible_bar_per_day_and_series(page_html: str, width: int, tmp_path: Path) -> None:
    bars = measure(page_html, width, tmp_path)["bars"]
    assert len(bars) == CHART_DAYS * 2
    assert [bar["series"] for bar in bars] == ["opened", "closed"] * CHART_DAYS
    assert all(bar["width"] >= 2 and bar["height"] >= 1 for bar in bars)
    # Bars stand on one baseline, and the tallest (a day's peak) is 80 px high.
    assert len({round(bar["bottom"]) for bar in bars}) == 1
    assert max(bar["height"] for bar in bars) == pytest.approx(80, abs=1)
    assert all(bar["height"] <= 2 for bar in bars if bar["value"] == 0)


def test_screenshot(page_html: str, tmp_path: Path) -> None:
    """A screenshot at phone width (written to the temporary directory) comes out of the browser."""
    page = tmp_path / "digest.html"
    page.write_text(page_html, encoding="utf-8")
    shot = tmp_path / "digest.png"
    run_chromium(page, PHONE_WIDTH, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
