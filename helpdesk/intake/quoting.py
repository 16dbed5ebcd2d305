"""Remove quoted history and signatures from the text of a reply.

Two callers rely on this module. The owner's answers are relayed to the
customer, so only the owner's new words may go out: never the quoted customer
message, never the owner's signature. Customer messages are stored on
tickets, where the quoted history would only repeat what the ticket already
holds.

The input is plain text: the ``text/plain`` part of a message, or its HTML
part already converted to text. Quoted history therefore shows up in two
shapes, and the module handles both:

* ``>``-quoted lines, usually below (or between) the new text and announced by
  an attribution line such as ``On Tue, 3 Mar 2026 at 10:12, Jane Doe
  <jane@x.com> wrote:`` (localized, possibly wrapped over up to three lines);
* unquoted history below a *boundary*: an Outlook header block (``From:``
  ``Sent:`` ``To:`` ``Subject:`` and their translations, with or without a
  separator line of underscores above it), an ``-----Original Message-----``
  line, or an attribution line followed by unquoted text (what HTML-to-text
  conversion makes of a ``blockquote``).

The rules, in the order they apply:

1. The first boundary ends the new text: everything from it on is history.
2. A forward marker (``---------- Forwarded message ---------``, ``Begin
   forwarded message:`` and translations) that comes before any boundary
   means the author meant to pass that content on, so it is kept verbatim
   from the marker to the end. Only the author's own text above it is
   cleaned (quotes and signature removed). The marker may open a ``>``
   block (Apple Mail quotes what it forwards). A forward that appears
   inside quoted history (below an attribution or a boundary) is history
   like the rest of it. Outlook forwards carry no marker, only a header
   block, and cannot be told from a reply: they are cut like one.
3. ``>``-quoted lines are dropped, together with the attribution line(s)
   that announce them. Unquoted text that follows a quoted block is the
   author's (an interleaved or bottom-posted answer) and is kept; the kept
   pieces are joined with one blank line.
4. A signature delimiter (``-- `` or ``--`` alone on a line) ends the new
   text. A mobile or webmail footer (``Sent from my iPhone``, ``Von meinem
   iPhone gesendet``, ``Get Outlook for iOS``...) is dropped when nothing but
   quotes, attributions, signatures or other footers follow it. Signatures
   without a delimiter (``Best, Jane``) are the author's words and stay.
5. Command lines such as ``#close`` are ordinary text and stay.

Lines are returned exactly as written (only ``\\r\\n`` and ``\\r`` line ends
become ``\\n``); surrounding whitespace of the whole result is stripped. Every
function here runs in time linear in the input: regular expressions are
anchored, checked only on lines of bounded length, and every look-around
between lines is bounded or precomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.intake.replymarkers import (
    ATTRIBUTION_NO_VERB,
    ATTRIBUTION_START,
    ATTRIBUTION_VERB,
    DATEISH,
    FOOTER,
    FORWARD_MARKER,
    FROM_HEADER,
    HEADER_MEANING,
    HEADER_WINDOW,
    INLINE_HEADER,
    LINK_ONLY,
    MAX_ATTRIBUTION_LINE,
    MAX_ATTRIBUTION_LINES,
    MAX_ATTRIBUTION_TAIL,
    MAX_ATTRIBUTION_TEXT,
    MAX_FOOTER_LINE,
    MAX_HEADER_LINE,
    NAME_WORD,
    NORMALIZE,
    NOT_NAMES,
    ORIGINAL_MARKER,
    OTHER_HEADER,
    SEPARATOR,
)

__all__ = ["strip_reply"]


@dataclass(frozen=True)
class _Attribution:
    """An attribution found by looking back from the line that ends it."""

    start: int
    end: int
    strong: bool


class _Lines:
    """The lines of one text, with what every pass needs precomputed.

    ``raw`` keeps each line as written; ``norm`` is the line with exotic
    spaces and invisible characters normalized and surrounding whitespace
    removed, which is what every classification looks at.
    """

    def __init__(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.raw: list[str] = text.split("\n")
        self.norm: list[str] = [line.translate(NORMALIZE).strip() for line in self.raw]
        self.count = len(self.raw)
        self.quoted: list[bool] = [line.startswith(">") for line in self.norm]
        # The index of the next non-blank line after each line (or count).
        self.next_text: list[int] = [self.count] * self.count
        following = self.count
        for index in range(self.count - 1, -1, -1):
            self.next_text[index] = following
            if self.norm[index]:
                following = index
        # The index of the previous non-blank line before each line (or -1).
        self.prev_text: list[int] = [-1] * self.count
        preceding = -1
        for index in range(self.count):
            self.prev_text[index] = preceding
            if self.norm[index]:
                preceding = index

    def is_text(self, index: int) -> bool:
        """True for a non-blank line that is not ``>``-quoted."""
        return bool(self.norm[index]) and not self.quoted[index]

    def is_signature_delimiter(self, index: int) -> bool:
        """True for ``-- `` or ``--`` alone on an unquoted line."""
        return self.norm[index] == "--"

    def is_footer(self, index: int) -> bool:
        """True for a mobile or webmail footer line."""
        line = self.norm[index]
        return len(line) <= MAX_FOOTER_LINE and FOOTER.match(line) is not None

    def is_footer_link(self, index: int) -> bool:
        """True for a bare link directly below a footer line."""
        line = self.norm[index]
        previous = self.prev_text[index]
        return (
            len(line) <= MAX_FOOTER_LINE
            and LINK_ONLY.fullmatch(line) is not None
            and previous >= 0
            and self.is_footer(previous)
        )


def strip_reply(text: str) -> str:
    """Return only the new text of ``text``: no quoted history, no signature.

    The rules are described in the module docstring. In short: the text
    ends at the first boundary of unquoted history (Outlook header block,
    ``-----Original Message-----``, an attribution followed by unquoted text);
    ``>``-quoted lines and their attributions are dropped while unquoted text
    between and after them is kept (joined with a blank line); a ``-- ``
    delimiter ends the text and client footers are dropped. A message whose
    first marker is a forward keeps the forwarded part verbatim, so that
    nothing the author passed on is lost. Quote-only or empty input gives
    ``""``. Never raises for any ``str``.
    """
    lines = _Lines(text)
    kind, boundary = _first_boundary(lines)
    own = _new_text(lines, boundary)
    if kind == "forward":
        if own.strip() == "\n".join(lines.raw[:boundary]).strip():
            # Nothing of the author's part was removed: keep its spacing.
            return "\n".join(lines.raw).strip()
        forwarded = "\n".join(lines.raw[boundary:])
        own = f"{own}\n\n{forwarded}" if own else forwarded
    # Only the ends are stripped, so that every inner line stays as written.
    return own.strip()


def _first_boundary(lines: _Lines) -> tuple[str, int]:
    """Find where unquoted history (or a forward) starts.

    Returns ``("forward", index)`` for a forward marker, ``("cut", index)``
    for the start of history, or ``("none", count)`` when there is none.
    """
    for index in range(lines.count):
        if lines.quoted[index]:
            if _is_quoted_forward(lines, index):
                return "forward", index
            continue
        if not lines.norm[index]:
            continue
        line = lines.norm[index]
        if FORWARD_MARKER.fullmatch(line):
            return "forward", index
        if ORIGINAL_MARKER.fullmatch(line):
            return "cut", index
        if _is_header_block(lines, index):
            return "cut", _separator_above(lines, index)
        if line.endswith(":"):
            attribution = _attribution_ending_at(lines, index)
            if attribution is not None and attribution.strong:
                following = lines.next_text[index]
                if following >= lines.count or not lines.quoted[following]:
                    return "cut", attribution.start
    return "none", lines.count


def _is_quoted_forward(lines: _Lines, index: int) -> bool:
    """True if the ``>``-quoted block opening at ``index`` is a forward.

    Apple Mail puts a forwarded message, marker included, in a quote
    (``> Begin forwarded message:``). Such a block counts as a forward only
    if the marker opens it and no attribution announces it: a forward
    quoted below "On ... wrote:" is history.
    """
    previous = lines.prev_text[index]
    if previous >= 0 and lines.quoted[previous]:
        return False
    content = lines.norm[index].lstrip("> ")
    if not FORWARD_MARKER.fullmatch(content):
        return False
    return not (
        previous >= 0
        and lines.norm[previous].endswith(":")
        and _attribution_ending_at(lines, previous) is not None
    )


def _is_header_block(lines: _Lines, index: int) -> bool:
    """True if a quoted message's header block starts at line ``index``.

    The block is the header line at ``index`` and the lines directly below
    it (no blank line in between; lines without a header name are taken for
    wrapped values). It must hold a "From:" header and at least two other
    headers, one of them a date or a subject. Outlook starts with "From:";
    GMX and WEB.DE start with the date ("Gesendet:"), which is why any
    header may open the block.
    """
    line = lines.norm[index]
    if len(line) > MAX_HEADER_LINE:
        return False
    has_from = FROM_HEADER.match(line) is not None
    meanings: set[str] = set()
    if has_from:
        meanings.update(HEADER_MEANING[m.group("name")] for m in INLINE_HEADER.finditer(line))
    else:
        match = OTHER_HEADER.match(line)
        if match is None:
            return False
        meanings.add(HEADER_MEANING[match.group("name")])
    limit = min(lines.count, index + 1 + HEADER_WINDOW)
    for below in range(index + 1, limit):
        if not lines.is_text(below):
            break
        following = lines.norm[below]
        if FROM_HEADER.match(following):
            if has_from:
                break
            has_from = True
            continue
        match = OTHER_HEADER.match(following)
        if match is not None:
            meanings.add(HEADER_MEANING[match.group("name")])
    return has_from and len(meanings) >= 2 and bool(meanings & {"date", "subject"})


def _separator_above(lines: _Lines, index: int) -> int:
    """The separator line just above a header block, else the block itself."""
    above = lines.prev_text[index]
    if (
        above >= 0
        and index - above <= 2
        and not lines.quoted[above]
        and SEPARATOR.fullmatch(lines.norm[above])
    ):
        return above
    return index


def _attribution_ending_at(lines: _Lines, end: int) -> _Attribution | None:
    """Find an attribution whose last line is ``end``, wrapped over 1-3 lines.

    Candidates that open with an attribution word ("On", "Am", "Le"...) win
    over others; among each kind the shortest wins, so that text above a
    wrapped attribution is never swallowed.
    """
    fallback: _Attribution | None = None
    for size in range(1, MAX_ATTRIBUTION_LINES + 1):
        start = end - size + 1
        if start < 0 or not lines.is_text(start):
            break
        if len(lines.norm[start]) > MAX_ATTRIBUTION_LINE:
            break
        # Lines above the last one must not end a sentence: a wrapped
        # attribution breaks inside the date or the name, never after a period.
        if size > 1 and lines.norm[start][-1] in ".!?:":
            break
        joined = " ".join(lines.norm[start : end + 1])
        kind = _attribution_kind(joined, size, lines.norm[start])
        if kind == "start":
            return _Attribution(start, end, _is_strong(joined, kind))
        if kind == "other" and fallback is None:
            fallback = _Attribution(start, end, _is_strong(joined, kind))
    return fallback


def _attribution_kind(joined: str, size: int, first_line: str) -> str | None:
    """Classify a candidate attribution text.

    ``"start"`` when it opens with an attribution word (or is a verb-less
    form), ``"other"`` when it names the author before the verb ("Jane Doe
    <jane@x.com> wrote:"), ``None`` when it is no attribution.
    """
    if len(joined) > MAX_ATTRIBUTION_TEXT or not joined.endswith(":"):
        return None
    if ATTRIBUTION_NO_VERB.fullmatch(joined):
        return "start"
    verbs = list(ATTRIBUTION_VERB.finditer(joined))
    if not verbs or verbs[-1].start() == 0:
        return None
    verb = verbs[-1]
    if len(joined) - verb.end() > MAX_ATTRIBUTION_TAIL:
        return None
    if ATTRIBUTION_START.match(joined):
        return "start"
    if "@" in first_line or "<" in first_line:
        return "other"
    if size == 1 and _is_name(joined[: verb.start()]):
        return "other"
    return None


def _is_name(text: str) -> bool:
    """True if ``text`` reads like a person's name ("Jane Doe", "Jane van Berg").

    This keeps prose such as "As you wrote:" from being taken for an
    attribution and removed.
    """
    words = text.strip(" ,").strip('"').split()
    if not 1 <= len(words) <= 5 or words[0] in NOT_NAMES:
        return False
    return all(NAME_WORD.fullmatch(word) for word in (words[0], words[-1]))


def _is_strong(joined: str, kind: str) -> bool:
    """True if the attribution is unmistakable even without quotes below it.

    It must name a moment (a time, a date or a year) and either open with an
    attribution word or carry an address.
    """
    return (kind == "start" or "@" in joined) and DATEISH.search(joined) is not None


def _new_text(lines: _Lines, end: int) -> str:
    """The author's text among ``lines[:end]``, its ends not yet stripped.

    Drops ``>``-quoted lines, the attributions that announce them, footers
    followed by nothing of the author's, and everything from a signature
    delimiter on; joins the remaining pieces with a blank line. Each piece
    starts and ends with a non-blank line.
    """
    removable = _removable_lines(lines, end)
    pieces: list[str] = []
    current: list[int] = []
    for index in range(end):
        if lines.is_text(index) and lines.is_signature_delimiter(index):
            break
        if lines.quoted[index] or removable[index]:
            _flush(lines, current, pieces)
            current = []
            continue
        current.append(index)
    _flush(lines, current, pieces)
    return "\n\n".join(pieces)


def _flush(lines: _Lines, indexes: list[int], pieces: list[str]) -> None:
    """Append the lines at ``indexes``, without blank edges, as one piece."""
    first = 0
    last = len(indexes)
    while first < last and not lines.norm[indexes[first]]:
        first += 1
    while last > first and not lines.norm[indexes[last - 1]]:
        last -= 1
    if first < last:
        pieces.append("\n".join(lines.raw[i] for i in indexes[first:last]))


def _removable_lines(lines: _Lines, end: int) -> list[bool]:
    """Mark attribution and footer lines among ``lines[:end]`` for removal.

    Both are removed only when what follows them is not the author's text:
    the end, a quoted line, a signature delimiter, or another removable
    line. Walking backwards lets each line see that verdict for the lines
    below it.
    """
    removable = [False] * end
    index = end - 1
    while index >= 0:
        if not lines.is_text(index) or lines.is_signature_delimiter(index):
            index -= 1
            continue
        if not _followed_by_history(lines, index, end, removable):
            index -= 1
            continue
        if lines.is_footer(index) or lines.is_footer_link(index):
            removable[index] = True
            index -= 1
            continue
        attribution = None
        if lines.norm[index].endswith(":"):
            attribution = _attribution_ending_at(lines, index)
        if attribution is None:
            index -= 1
            continue
        for line in range(attribution.start, attribution.end + 1):
            removable[line] = True
        index = attribution.start - 1
    return removable


def _followed_by_history(lines: _Lines, index: int, end: int, removable: list[bool]) -> bool:
    """True if nothing of the author's text follows line ``index``."""
    following = lines.next_text[index]
    return (
        following >= end
        or lines.quoted[following]
        or lines.is_signature_delimiter(following)
        or removable[following]
    )
