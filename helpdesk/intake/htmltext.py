"""Turn the HTML body of an e-mail into readable plain text.

Many mail clients (Outlook above all) send HTML only. Tickets, rules and the
owner's notifications work on plain text, so this module renders HTML the
way a person would read it in a browser: block elements start new lines,
paragraphs are separated by a blank line, list items become ``- item``,
links keep their address as ``text (url)``, scripts and styles vanish and
runs of whitespace collapse.

With ``drop_quotes=True`` the quoted history that mail clients mark up in
HTML is left out: ``<blockquote type="cite">`` (Apple Mail, Thunderbird),
``<div class="gmail_quote">`` (Gmail), Thunderbird's attribution line, and
everything from Outlook's ``divRplyFwdMsg`` / ``appendonsend`` markers to the
end. The stdlib :mod:`html.parser` does the tokenising, so no dependency is
needed.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "html_to_texts"]

# Elements whose content is never shown.
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})

# Elements without an end tag: they never open a nesting level.
_VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr",
    }
)  # fmt: skip

# Blocks separated from their neighbours by a blank line.
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dl", "figure"}
)

# Blocks that only start a new line.
_LINES = frozenset(
    {
        "address", "article", "aside", "center", "dd", "details", "dialog", "dir", "div",
        "dt", "fieldset", "figcaption", "footer", "form", "header", "main", "menu", "nav",
        "section", "summary", "table", "tr", "caption", "tbody", "thead", "tfoot", "li",
    }
)  # fmt: skip

# Classes that mark a quoted message (Gmail, Yahoo) or its attribution
# line (Thunderbird).
_QUOTE_CLASSES = frozenset(
    {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix"}
)

# Element ids from which Outlook puts the quoted message, up to the end.
_CUT_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})

# URL schemes not worth showing to a reader.
_HIDDEN_URL = re.compile(r"^\s*(?:#|javascript:|cid:|data:|about:)", re.IGNORECASE)

# Whitespace that HTML collapses (the no-break space is not among it).
_SPACE = re.compile(r"[ \t\n\r\f\v]+")

# Invisible characters used as spacers in mail layouts.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad"))

# A "<![" that starts none of the marked sections html.parser understands.
_BAD_MARKED_SECTION = re.compile(
    r"<!\[(?!(?:temp|cdata|ignore|include|rcdata|if|else|endif)(?![-_.a-z0-9]))", re.IGNORECASE
)

# A crude tag matcher for the fallback path.
_TAG = re.compile(r"<[^>]*>")


class _Writer:
    """Accumulates rendered text: pending line breaks, prefixes, links.

    Line breaks are requested, not written: the largest request since the
    last text wins, so nested blocks do not pile up empty lines, and no
    break is written before the first text.
    """

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pending = 0
        self.line_start = True
        self.last_space = True
        self.quote_depth = 0
        self.links: list[int] = []

    def newline(self, count: int) -> None:
        """Request that the next text starts after ``count`` line breaks."""
        self.pending = max(self.pending, count)

    def hard_break(self) -> None:
        """A ``<br>``: one more line break than already requested."""
        self.pending = min(self.pending + 1, 2)

    def _flush(self) -> None:
        """Write the pending line breaks before new text."""
        if self.pending and self.chunks:
            self.chunks.append("\n" * self.pending)
            self.line_start = True
            self.last_space = True
        self.pending = 0

    def _prefix(self) -> None:
        """Write the quote marker at the start of a line inside a quote."""
        if self.line_start and self.quote_depth:
            self.chunks.append(">" * self.quote_depth + " ")
        self.line_start = False

    def text(self, data: str) -> None:
        """Write flowing text, collapsing whitespace like a browser."""
        data = _SPACE.sub(" ", data)
        if self.pending or self.last_space:
            data = data.lstrip(" ")
        if not data:
            return
        self._flush()
        self._prefix()
        self.chunks.append(data)
        self.last_space = data.endswith(" ")

    def preformatted(self, data: str) -> None:
        """Write text inside ``<pre>`` as it is."""
        if not data:
            return
        self._flush()
        self._prefix()
        self.chunks.append(data)
        self.line_start = data.endswith("\n")
        self.last_space = data[-1].isspace()

    def marker(self, data: str) -> None:
        """Write a list marker at the start of a line."""
        self._flush()
        self._prefix()
        self.chunks.append(data)
        self.last_space = True

    def open_link(self) -> None:
        """Remember where the text of a link starts."""
        self.links.append(len(self.chunks))

    def close_link(self, href: str) -> None:
        """Append `` (url)`` after the link text if the url adds anything."""
        if not self.links:
            return
        start = self.links.pop()
        label = "".join(self.chunks[start:]).strip()
        if label and href and not _same_target(label, href):
            self.chunks.append(f" ({href})")
            self.last_space = False

    def result(self) -> str:
        """The finished text: no trailing spaces, at most one blank line in a row."""
        lines: list[str] = []
        blank = False
        for line in "".join(self.chunks).translate(_INVISIBLE).split("\n"):
            line = line.replace("\xa0", " ").rstrip()
            if not line:
                if not blank and lines:
                    lines.append(line)
                blank = True
                continue
            blank = False
            lines.append(line)
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)


def _same_target(label: str, href: str) -> bool:
    """True when a link's text already shows where it points."""
    text = label.strip().lower().rstrip("/")
    target = href.strip().lower()
    variants = {target, target.rstrip("/")}
    for scheme in ("mailto:", "tel:", "http://", "https://"):
        if target.startswith(scheme):
            bare = target[len(scheme) :]
            variants.update({bare, bare.rstrip("/"), bare.split("?", 1)[0]})
    variants.update({v[4:] for v in list(variants) if v.startswith("www.")})
    return text in variants


class _Converter(HTMLParser):
    """Feeds HTML events to two writers: the full text and the new text.

    The second writer goes silent inside quoted history and, after an
    Outlook reply marker, for the rest of the document.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.full = _Writer()
        self.new = _Writer()
        self._hidden: list[str] = []
        self._quote: list[str] = []
        self._cut = False
        self._both = (self.full, self.new)
        self._pre = 0
        self._lists: list[list[int]] = []
        self._cells = 0
        self._links: list[tuple[str, tuple[_Writer, ...]]] = []
        self._tight: list[bool] = []
        self._blockquotes: list[bool] = []

    def _writers(self) -> tuple[_Writer, ...]:
        """The writers that receive the current content."""
        if self._quote or self._cut:
            return self._both[:1]
        return self._both

    def _newline(self, count: int) -> None:
        for writer in self._writers():
            writer.newline(count)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden:
            if self._hidden[0] == "head" and tag == "body":
                # A missing </head>: the body starts the visible part.
                self._hidden.clear()
            elif tag == self._hidden[-1] and tag not in _VOID:
                self._hidden.append(tag)
            return
        if tag == "body":
            return
        if tag in _HIDDEN:
            self._hidden.append(tag)
            return
        attributes = {name: value or "" for name, value in attrs}
        self._track_quote(tag, attributes)
        self._start_block(tag, attributes)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A self-closing tag (<br/>, <div/>) opens and closes at once.
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def _track_quote(self, tag: str, attributes: dict[str, str]) -> None:
        """Start dropping content for the new text at a quote marker."""
        if attributes.get("id", "").strip().lower() in _CUT_IDS:
            self._cut = True
        if tag in _VOID:
            return
        if self._quote:
            if tag == self._quote[0]:
                self._quote.append(tag)
            return
        classes = set(attributes.get("class", "").split())
        cite = tag == "blockquote" and attributes.get("type", "").strip().lower() == "cite"
        if cite or classes & _QUOTE_CLASSES:
            # Break lines in the new text before it goes silent.
            self.new.newline(2)
            self._quote.append(tag)

    def _start_block(self, tag: str, attributes: dict[str, str]) -> None:
        """Line breaks, markers and state for an opening tag."""
        if tag == "br":
            for writer in self._writers():
                writer.hard_break()
        elif tag == "p":
            # Outlook writes every line as <p class=MsoNormal> with no margin.
            tight = "msonormal" in attributes.get("class", "").lower()
            self._tight.append(tight)
            self._newline(1 if tight else 2)
        elif tag in _PARAGRAPHS:
            self._newline(2)
        elif tag in ("ul", "ol"):
            self._newline(1 if self._lists else 2)
        elif tag in _LINES:
            self._newline(1)
        if tag == "pre":
            self._pre += 1
        elif tag in ("ul", "ol"):
            self._lists.append([_list_start(tag, attributes)])
        elif tag == "li":
            self._list_item()
        elif tag == "tr":
            self._cells = 0
        elif tag in ("td", "th"):
            if self._cells:
                for writer in self._writers():
                    writer.text(" ")
            self._cells += 1
        elif tag == "a":
            self._open_link(attributes.get("href", ""))
        elif tag == "blockquote":
            quoted = attributes.get("type", "").strip().lower() == "cite" or "gmail_quote" in (
                attributes.get("class", "").split()
            )
            self._blockquotes.append(quoted)
            if quoted:
                self.full.quote_depth += 1
                self.new.quote_depth += 1

    def _list_item(self) -> None:
        """Start a list item: ``- `` or ``1. ``, indented by nesting."""
        self._newline(1)
        if self._lists:
            counter = self._lists[-1]
            marker = f"{counter[0]}. " if counter[0] else "- "
            if counter[0]:
                counter[0] += 1
        else:
            marker = "- "
        indent = "  " * max(len(self._lists) - 1, 0)
        for writer in self._writers():
            writer.marker(indent + marker)

    def _open_link(self, href: str) -> None:
        """Start a link; an unclosed previous link ends here."""
        if self._links:
            self._close_link()
        writers = self._writers()
        self._links.append(("" if _HIDDEN_URL.match(href) else href.strip(), writers))
        for writer in writers:
            writer.open_link()

    def _close_link(self) -> None:
        """End the innermost link in the writers that saw it start."""
        href, writers = self._links.pop()
        for writer in writers:
            writer.close_link(href)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1] or (self._hidden[0] == "head" and tag == "body"):
                self._hidden.pop()
            return
        if tag in _VOID:
            return
        if tag == "a":
            if self._links:
                self._close_link()
        elif tag == "pre":
            self._pre = max(self._pre - 1, 0)
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
        elif tag == "blockquote" and self._blockquotes and self._blockquotes.pop():
            self.full.quote_depth -= 1
            self.new.quote_depth -= 1
        if tag == "p":
            self._newline(1 if self._tight and self._tight.pop() else 2)
        elif tag in _PARAGRAPHS:
            self._newline(2)
        elif tag in ("ul", "ol"):
            self._newline(1 if self._lists else 2)
        elif tag in _LINES:
            self._newline(1)
        if self._quote and tag == self._quote[0]:
            self._quote.pop()

    def handle_data(self, data: str) -> None:
        if self._hidden or not data:
            return
        for writer in self._writers():
            if self._pre:
                writer.preformatted(data)
            else:
                writer.text(data)

    def finish(self) -> tuple[str, str]:
        """Close open links and return (full text, new text)."""
        while self._links:
            self._close_link()
        return self.full.result(), self.new.result()


def _list_start(tag: str, attributes: dict[str, str]) -> int:
    """The first number of an ordered list (0 for an unordered one)."""
    if tag != "ol":
        return 0
    start = attributes.get("start", "1").strip()
    return int(start) if start.isdigit() and len(start) < 7 else 1


def _fallback(markup: str) -> str:
    """Plain text by brute force, for markup the HTML parser gives up on."""
    text = html.unescape(_TAG.sub(" ", markup))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_texts(markup: str) -> tuple[str, str]:
    """Render ``markup`` once and return (full text, text without quotes).

    The second text is what :func:`html_to_text` returns with
    ``drop_quotes=True``; rendering both in one pass halves the cost for
    HTML-only mail, which needs both.
    """
    # html.parser raises on a few malformed declarations, nearly always a
    # "<![" that opens no known marked section. Such markup is tried again
    # with those escaped, and, failing that, its tags are stripped crudely:
    # the text matters more than the layout.
    for attempt in (markup, _BAD_MARKED_SECTION.sub("&lt;![", markup)):
        converter = _Converter()
        try:
            converter.feed(attempt)
            converter.close()
        except (AssertionError, ValueError):
            continue
        return converter.finish()
    text = _fallback(markup)
    return text, text


def html_to_text(markup: str, drop_quotes: bool = False) -> str:
    """Render HTML as readable plain text.

    With ``drop_quotes`` the quoted history marked up by mail clients is
    left out (see the module docstring for the markers recognised).
    """
    full, new = html_to_texts(markup)
    return new if drop_quotes else full
