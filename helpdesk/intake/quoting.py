"""Remove quoted history and signatures from the text of a reply.

Two callers rely on this module. The owner's answers are relayed to the
customer, so only the owner's new words may go out: never the quoted customer
message, never the owner's signature. Customer messages are stored on
tickets, where the quoted history would only repeat what the ticket already
holds.

The input is plain text: the ``text/plain`` part of a message, or its HTML
part already converted to text. Quoted history therefore shows up in two
shapes, and the module handles both:

* ``>``-quoted lines (``&gt;`` where a client escaped the marker), usually
  below (or between) the new text and announced by an attribution line such
  as ``On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com> wrote:``. Clients
  localize it (``Am ... schrieb``, ``W dniu ... pisze:``, ``在 ... 写道``),
  start it with the date (``2026年3月3日(火) 10:12 Jane <jane@x.com>:``),
  name the author first (``Jane <jane@x.com> kirjoitti 3.3.2026 kello 10.12:``),
  wrap it over up to three lines, or leave it on the last line of the reply
  (``Sounds good. On Tue, ... wrote:``);
* unquoted history below a *boundary*: an Outlook header block (``From:``
  ``Sent:`` ``To:`` ``Subject:`` and their translations, with or without a
  separator line of underscores above it; a date header with a sender or
  recipient address is enough), an ``-----Original Message-----`` line, an
  attribution line followed by unquoted text (what HTML-to-text conversion
  makes of a ``blockquote``), or a mobile footer set off by a blank line
  from unquoted text below it (``Sent from my Wiko`` over the old message).
  An attribution counts as a boundary only when it is unmistakable: it opens
  with an attribution word or the date and names a moment, or it gives the
  author's address before its verb, or the date follows its verb, or dashes
  set it off on both sides (``---- Jane Doe wrote ----``). Without its colon
  (``On ... <jane@x.com> wrote``) it must open with an attribution word and
  hold both a moment and an address.

The rules, in the order they apply:

1. The first boundary ends the new text: everything from it on is history.
2. A forward marker (``---------- Forwarded message ---------``, ``Begin
   forwarded message:`` and translations) that comes before any boundary
   means the author meant to pass that content on, so it is kept verbatim
   from the marker to the end. Only the author's own text above it is
   cleaned (quotes and signature removed). Apple Mail's marker may open a
   ``>`` block (it quotes what it forwards); any other quoted marker, or one
   inside quoted history (below an attribution or a boundary), is history
   like the rest of it. A marker with nothing below it forwards nothing and
   is dropped. Outlook forwards carry no marker, only a header block, and
   cannot be told from a reply: they are cut like one.
3. ``>``-quoted lines are dropped, together with the attribution line(s)
   that announce them. Unquoted text that follows a quoted block is the
   author's (an interleaved or bottom-posted answer) and is kept; the kept
   pieces are joined with one blank line. A line that only carries on a long
   quoted line the client wrapped (it starts in lowercase, right between two
   quoted lines) counts as quoted, and so does a piece of a quoted link
   there (a link alone on the line, or the rest of one the line above opened).
4. A signature delimiter (``-- `` or ``--`` alone on a line) ends the new
   text. So does a signature set off otherwise at the end of the text: a
   dash and a name (``-Jane``, ``- Jane Doe``, ``—Jane``), or a separator line
   (``---``, ``____``) over nothing or over a short block that starts with a
   name or carries contact details, such as a mailing list footer (see
   :mod:`helpdesk.intake.signatures`). A mobile or webmail footer (``Sent from
   my iPhone``, ``Von meinem iPhone gesendet``, ``Get Outlook for iOS``...) is
   dropped when nothing but quotes, attributions, signatures or other footers
   follow it, or when it is a boundary (rule 1); a sentence that merely
   starts like one, or a footer glued to the next line of text, is kept. Signatures
   without any such mark (``Best, Jane``) are the author's words and stay.
5. A message whose only content is a signature or a footer keeps it: the
   result is never empty unless the message holds nothing but history.
6. Command lines such as ``#close`` are ordinary text and stay.

Lines are returned exactly as written (only ``\\r\\n`` and ``\\r`` line ends
become ``\\n``); surrounding whitespace of the whole result is stripped. The
one exception is a line that the reply shares with an attribution: it is cut
where the attribution starts, and what stays is the line's beginning. Every
function here runs in time linear in the input: regular expressions are
anchored, checked only on lines of bounded length, and every look-around
between lines is bounded or precomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.intake.replymarkers import (
    ADDRESS_END,
    ATTRIBUTION_NO_VERB,
    ATTRIBUTION_START,
    ATTRIBUTION_VERB,
    DATE_START,
    DATEISH,
    FOOTER,
    FORWARD_LINE,
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
    MAX_SHARED_LINE,
    MAX_VERB_END,
    NAME_WORD,
    NORMALIZE,
    NOT_NAMES,
    OPEN_LINK,
    OPENING_ONLY_VERB,
    ORIGINAL_MARKER,
    OTHER_HEADER,
    QUOTE_PREFIX,
    QUOTED_LINK_LINE,
    SEPARATOR,
    SHARED_ATTRIBUTION_START,
    VERB_AT_END,
    WRAPPED_QUOTE_WIDTH,
)
from helpdesk.intake.signatures import signature_start

__all__ = ["strip_reply"]


@dataclass(frozen=True)
class _Attribution:
    """An attribution found by looking back from the line that ends it."""

    start: int
    end: int
    strong: bool


@dataclass(frozen=True)
class _Kind:
    """How a candidate text reads as an attribution.

    ``opening`` is True when it opens with an attribution word or the date
    (it cannot swallow text above it), ``strong`` when it is unmistakable
    even without quoted lines below it.
    """

    opening: bool
    strong: bool


class _Lines:
    """The lines of one text, with what every pass needs precomputed.

    ``raw`` keeps each line as written, except that a line the reply shares
    with an attribution is split in two (``original`` holds the lines as
    they came, ``source`` the index there of every line); ``norm`` is the
    line with exotic spaces and invisible characters normalized and
    surrounding whitespace removed, which is what every classification looks
    at; ``quoted`` marks the ``>``-quoted lines, wrapped quoted lines included.
    """

    def __init__(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.original: list[str] = text.split("\n")
        self.raw, self.source = _split_shared_attributions(self.original)
        self.norm: list[str] = [_normalize(line) for line in self.raw]
        self.count = len(self.raw)
        self.quoted: list[bool] = [QUOTE_PREFIX.match(line) is not None for line in self.norm]
        self._join_wrapped_quotes()
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

    def _join_wrapped_quotes(self) -> None:
        """Count as quoted the unquoted pieces of quoted lines a client wrapped.

        Such a piece stands right between two quoted lines. It is either the
        end of a long line (it starts in lowercase, below a line long enough
        to have been wrapped that does not end a sentence; an answer
        interleaved there starts a sentence instead) or a piece of a link: a
        link alone on the line, or the rest of one opened in brackets on the
        quoted line above.
        """
        for index in range(1, self.count - 1):
            line = self.norm[index]
            if self.quoted[index] or not line:
                continue
            if not (self.quoted[index - 1] and self.quoted[index + 1]):
                continue
            above = _unquote(self.norm[index - 1])
            if _is_link_piece(line, above) or _is_wrapped_end(line, above):
                self.quoted[index] = True

    def is_text(self, index: int) -> bool:
        """True for a non-blank line that is not ``>``-quoted."""
        return bool(self.norm[index]) and not self.quoted[index]

    def is_signature_delimiter(self, index: int) -> bool:
        """True for ``-- `` or ``--`` alone on an unquoted line."""
        return self.norm[index] == "--"

    def is_footer(self, index: int) -> bool:
        """True for a mobile or webmail footer line."""
        return _is_footer(self.norm[index])

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
    between and after them is kept (joined with a blank line); a signature
    ends the text and client footers are dropped. A message whose first
    marker is a forward keeps the forwarded part verbatim, so that nothing
    the author passed on is lost. A message that holds nothing but a
    signature keeps it; quote-only or empty input gives ``""``. Never raises
    for any ``str``.
    """
    lines = _Lines(text)
    kind, boundary = _first_boundary(lines)
    own = _new_text(lines, boundary, signatures=True)
    if kind == "forward":
        # The forward is kept as it came, lines that look shared included.
        first = lines.source[boundary]
        if own.strip() == "\n".join(lines.original[:first]).strip():
            # Nothing of the author's part was removed: keep its spacing.
            return "\n".join(lines.original).strip()
        forwarded = "\n".join(lines.original[first:])
        own = f"{own}\n\n{forwarded}" if own else forwarded
    if not own.strip():
        # Nothing but a signature or a footer: that is the message.
        own = _new_text(lines, boundary, signatures=False)
    # Only the ends are stripped, so that every inner line stays as written.
    return own.strip()


def _normalize(line: str) -> str:
    """The line as the classifications see it (see :class:`_Lines`)."""
    return line.translate(NORMALIZE).strip()


def _unquote(line: str) -> str:
    """A normalized line without its quote markers."""
    match = QUOTE_PREFIX.match(line)
    return line[match.end() :] if match else line


def _is_link_piece(line: str, above: str) -> bool:
    """True if ``line``, below the quoted line ``above``, is a piece of a quoted link.

    Clients wrap long links and sometimes leave the quote marker behind a
    link they put on a line of its own ("(http://x.example/c/1) >").
    """
    if len(line) > MAX_ATTRIBUTION_LINE or len(above) > MAX_ATTRIBUTION_LINE:
        return False
    if QUOTED_LINK_LINE.fullmatch(line):
        return True
    return " " not in line and OPEN_LINK.search(above) is not None


def _is_wrapped_end(line: str, above: str) -> bool:
    """True if ``line`` reads as the wrapped end of the long quoted line ``above``."""
    return line[0].islower() and len(above) >= WRAPPED_QUOTE_WIDTH and above[-1] not in ".!?"


def _is_footer(line: str) -> bool:
    """True for a normalized line that is a mobile or webmail footer."""
    return len(line) <= MAX_FOOTER_LINE and FOOTER.fullmatch(line) is not None


def _may_end_attribution(line: str) -> bool:
    """A cheap test whether a normalized line could be the last of an attribution.

    Attributions end with a colon, with dashes (Zoho's "... wrote ----"),
    in the old Gmail form without a colon with the author's address, or
    rarely with the bare verb ("... <jane@x.com> wrote").
    """
    return (
        line.endswith((":", ">"))
        or (line.endswith("--") and line.rstrip("-") != "")
        or VERB_AT_END.search(line[-MAX_VERB_END:]) is not None
    )


def _split_shared_attributions(raw: list[str]) -> tuple[list[str], list[int]]:
    """Split lines that hold the end of the reply and the start of an attribution.

    "Sounds good. On Tue, 3 Mar 2026 at 10:12, Jane <jane@x.com> wrote:"
    becomes two lines, so that the rest of the module sees the attribution
    on a line of its own; the first part keeps its text as written. Returns
    the lines and, for each, the index of the line of ``raw`` it comes from.
    """
    result: list[str] = []
    source: list[int] = []
    for index, line in enumerate(raw):
        cut = _shared_attribution_cut(raw, index)
        if cut is None:
            result.append(line)
            source.append(index)
        else:
            result.extend((line[:cut].rstrip(), line[cut:]))
            source.extend((index, index))
    return result, source


def _shared_attribution_cut(raw: list[str], index: int) -> int | None:
    """Where an unmistakable attribution starts inside ``raw[index]``, if it does.

    The attribution must open with an attribution word after a space, a run
    of dashes or a client footer ("...iPhoneOp 4 aug. ..."), name a moment on
    this line, end on this line or one of the next two, and be strong on its
    own: a capitalized "On" with a date and "wrote:" does not occur inside a
    sentence. Of several such words the last one before the last date wins,
    since the date follows the word that opens the attribution; only that
    one is examined, which keeps the search linear.
    """
    line = raw[index]
    if len(line) > MAX_SHARED_LINE or SHARED_ATTRIBUTION_START.search(line, 1) is None:
        return None
    if QUOTE_PREFIX.match(line.lstrip()):
        return None
    ends = [_normalize(raw[below]) for below in range(index, min(len(raw), index + MAX_ATTRIBUTION_LINES))]
    if not any(_may_end_attribution(end) for end in ends):
        return None
    dates = [match.start() for match in DATEISH.finditer(line)]
    if not dates:
        return None
    # The reply part must hold more than dashes and spaces.
    content = len(line) - len(line.lstrip(" -\t\u00a0"))
    chosen = None
    for match in SHARED_ATTRIBUTION_START.finditer(line, 1):
        cut = match.start()
        if cut >= dates[-1]:
            break
        if len(line) - cut > MAX_ATTRIBUTION_LINE or cut <= content:
            continue
        if (
            line[cut - 1].isspace()
            or match.group().startswith("--")
            or (cut <= MAX_FOOTER_LINE and _is_footer(_normalize(line[:cut])))
        ):
            chosen = cut
    if chosen is None or not _is_strong_opening(_normalize(line[chosen:]), ends[1:]):
        return None
    return chosen


def _is_strong_opening(first: str, following: list[str]) -> bool:
    """True if ``first``, alone or joined with the next lines, is a strong opening attribution."""
    joined = first
    for size in range(1, len(following) + 2):
        if size > 1:
            below = following[size - 2]
            if not below or QUOTE_PREFIX.match(below) or _ends_sentence(joined):
                return False
            joined = f"{joined} {below}"
        kind = _attribution_kind(joined, size, first)
        if kind is not None:
            return kind.opening and kind.strong
    return False


def _ends_sentence(line: str) -> bool:
    """True if a line cannot be continued by the next line of an attribution.

    A wrapped attribution breaks inside the date, the name or the address,
    never after a sentence; a line may end with a colon only where a client
    broke an address after "mailto:". A day followed by its period, as
    German and Scandinavian dates write it, ends no sentence either.
    """
    if line[-1] == "." and len(line) > 1 and line[-2].isdigit():
        # "... schrieb am So., 23." breaks inside the date ("23. Juni 2024").
        return False
    return line[-1] in ".!?:" and not line.endswith("mailto:")


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
            # A marker with nothing below it forwards nothing.
            return ("forward" if lines.next_text[index] < lines.count else "cut"), index
        if ORIGINAL_MARKER.fullmatch(line):
            return "cut", index
        if _is_header_block(lines, index):
            return "cut", _separator_above(lines, index)
        if lines.is_footer(index) and _footer_over_history(lines, index):
            return "cut", index
        if _may_end_attribution(line):
            attribution = _attribution_ending_at(lines, index)
            if attribution is not None and attribution.strong:
                following = lines.next_text[index]
                if following >= lines.count or not lines.quoted[following]:
                    return "cut", attribution.start
    return "none", lines.count


def _footer_over_history(lines: _Lines, index: int) -> bool:
    """True if the footer at ``index`` closes the author's text above unquoted history.

    Mobile clients write their footer right below the author's words and
    above the message replied to; when that message comes without quote
    markers (HTML made text, a bare "Sent from my Wiko" above the old
    text), the footer is the only boundary there is. It counts only with
    the author's text above it and a blank line between it (or the footers
    and links stacked under it) and the text below, which must be neither
    quoted nor a forward marker: a footer glued to the next line starts a
    sentence of the author's ("Sent from my iPhone, sorry for typos.\nThe
    order number is ...").
    """
    above = lines.prev_text[index]
    # A quote between the author's text and the footer (an interleaved answer) is passed over:
    # what is left of the message once the quote is gone must read the same way.
    while above >= 0 and lines.quoted[above]:
        above = lines.prev_text[above]
    if above < 0 or lines.is_footer(above) or lines.is_footer_link(above):
        # Only the first footer of a stack looks below it, which keeps this linear.
        return False
    last = index
    following = lines.next_text[index]
    while following < lines.count and (lines.is_footer(following) or lines.is_footer_link(following)):
        last = following
        following = lines.next_text[following]
    if following >= lines.count or following == last + 1 or lines.quoted[following]:
        return False
    return FORWARD_MARKER.fullmatch(lines.norm[following]) is None


def _is_quoted_forward(lines: _Lines, index: int) -> bool:
    """True if the ``>``-quoted block opening at ``index`` is a forward.

    Apple Mail puts a forwarded message, marker included, in a quote
    (``> Begin forwarded message:``). Such a block counts as a forward only
    if the marker opens it and no attribution announces it: a forward
    quoted below "On ... wrote:" is history. Other clients never quote
    their own marker, so a quoted "---------- Forwarded message ----------"
    is always history.
    """
    previous = lines.prev_text[index]
    if previous >= 0 and lines.quoted[previous]:
        return False
    if not FORWARD_LINE.fullmatch(_unquote(lines.norm[index])):
        return False
    return not (
        previous >= 0
        and _may_end_attribution(lines.norm[previous])
        and _attribution_ending_at(lines, previous) is not None
    )


def _is_header_block(lines: _Lines, index: int) -> bool:
    """True if a quoted message's header block starts at line ``index``.

    The block is the header line at ``index`` and the lines directly below
    it (no blank line in between; lines without a header name are taken for
    wrapped values). It must hold a "From:" header and at least two other
    headers, one of them a date or a subject. Outlook starts with "From:";
    GMX and WEB.DE start with the date ("Gesendet:"), which is why any
    header may open the block. A shorter block of a date and a sender or
    recipient also counts when it names an address ("From: a@x.com" over
    "Date: ..." as some webmails and ticket systems quote it): prose hardly
    puts a date header right below an address header.
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
    has_address = "@" in line
    headers = 1
    limit = min(lines.count, index + 1 + HEADER_WINDOW)
    for below in range(index + 1, limit):
        if not lines.is_text(below):
            break
        following = lines.norm[below]
        has_address = has_address or "@" in following
        if FROM_HEADER.match(following):
            if has_from:
                break
            has_from = True
            headers += 1
            continue
        match = OTHER_HEADER.match(following)
        if match is not None:
            meanings.add(HEADER_MEANING[match.group("name")])
            headers += 1
    if has_from and len(meanings) >= 2 and bool(meanings & {"date", "subject"}):
        return True
    return headers >= 2 and has_address and "date" in meanings and (has_from or "to" in meanings)


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

    Candidates that open with an attribution word or the date win over
    others; among each kind the shortest wins, so that text above a wrapped
    attribution is never swallowed.
    """
    fallback: _Attribution | None = None
    for size in range(1, MAX_ATTRIBUTION_LINES + 1):
        start = end - size + 1
        if start < 0 or not lines.is_text(start):
            break
        if len(lines.norm[start]) > MAX_ATTRIBUTION_LINE:
            break
        if size > 1 and _ends_sentence(lines.norm[start]):
            break
        joined = " ".join(lines.norm[start : end + 1])
        kind = _attribution_kind(joined, size, lines.norm[start])
        if kind is None:
            continue
        if kind.opening:
            return _Attribution(start, end, kind.strong)
        if fallback is None:
            fallback = _Attribution(start, end, kind.strong)
    return fallback


def _attribution_kind(joined: str, size: int, first_line: str) -> _Kind | None:
    """Classify a candidate attribution text; None when it is no attribution.

    An attribution ends with a colon (or with dashes around "... wrote") and
    either has no verb but a known verb-less shape, or ends with its verb
    and a short tail. It *opens* when it starts with an attribution word or
    with the date; otherwise it must name the author before the verb: with
    an address, as a name ("Jane Doe wrote:"), or with the date after the
    verb ("Jane kirjoitti 3.3.2026 kello 10.12:").
    """
    if len(joined) > MAX_ATTRIBUTION_TEXT:
        return None
    dashed = joined.endswith("--")
    core = joined.rstrip("-").rstrip() if dashed else joined
    if ATTRIBUTION_NO_VERB.fullmatch(core):
        # The old Gmail form without a colon counts only above a quote.
        strong = core.endswith(":") and ("@" in core or DATEISH.search(core) is not None)
        return _Kind(opening=True, strong=strong)
    opens = ATTRIBUTION_START.match(core) is not None
    if not (core.endswith(":") or dashed):
        return _bare_verb_kind(core, opens)
    verbs = list(ATTRIBUTION_VERB.finditer(core))
    if not verbs and (opens or "@" in core):
        verbs = list(OPENING_ONLY_VERB.finditer(core))
    if not verbs:
        return _dated_address_kind(core, opens)
    verb = verbs[-1]
    if verb.start() == 0:
        return None
    tail = core[verb.end() :]
    if len(tail) > MAX_ATTRIBUTION_TAIL or (dashed and tail.strip()):
        return None
    if dashed and core.startswith("--") and _is_author(core[: verb.start()].lstrip("- ")):
        # Android's "---- Jane Doe wrote ----": set off by dashes on both sides.
        return _Kind(opening=True, strong=True)
    if opens:
        return _Kind(opening=True, strong=DATEISH.search(core) is not None or "@" in core)
    if DATE_START.match(core) and DATEISH.search(core, 0, verb.start()):
        return _Kind(opening=True, strong=True)
    before = core[: verb.start()]
    if ("@" in first_line or "<" in first_line) and ("@" in before or "<" in before):
        # "Jane <jane@x.com> wrote:" is unmistakable, "Here is what tom@x.com wrote:" not.
        return _Kind(opening=False, strong="@" in before and _is_author(before, any_case=True))
    if DATEISH.search(tail) and _is_author(before):
        return _Kind(opening=False, strong=True)
    if size == 1 and (_is_name(before) or _is_forum_author(before)):
        return _Kind(opening=False, strong=False)
    return None


def _bare_verb_kind(core: str, opens: bool) -> _Kind | None:
    """An attribution that ends with its verb, without the colon.

    Without the colon only the unmistakable form counts: it opens with an
    attribution word and holds both a moment and an address ("On Tue, 3 Mar
    2026 10:12 +0100 Jane Doe <jane@x.com> wrote"). Prose such as "On Monday
    Jane wrote" keeps its place.
    """
    if not opens or "@" not in core or DATEISH.search(core) is None:
        return None
    if VERB_AT_END.search(core[-MAX_VERB_END:]) is None:
        return None
    return _Kind(opening=True, strong=True)


def _dated_address_kind(core: str, opens: bool) -> _Kind | None:
    """The verb-less attribution "<date> <name> <address>:" of Gmail and others.

    Gmail writes it so in Russian and Japanese ("2026年3月3日(火) 10:12 Jane Doe
    <jane@x.com>:"), Yandex and Mail.ru in Russian. It must open with an
    attribution word or the date and name a moment before the address.
    """
    address = ADDRESS_END.search(core)
    if address is None or not (opens or DATE_START.match(core)):
        return None
    if DATEISH.search(core, 0, address.start()) is None:
        return None
    return _Kind(opening=True, strong=True)


def _is_name(text: str) -> bool:
    """True if ``text`` reads like a person's name ("Jane Doe", "Jane van Berg").

    This keeps prose such as "As you wrote:" from being taken for an
    attribution and removed.
    """
    words = text.strip(" ,").strip('"').split()
    if not 1 <= len(words) <= 5 or words[0] in NOT_NAMES:
        return False
    return all(NAME_WORD.fullmatch(word) for word in (words[0], words[-1]))


def _is_forum_author(text: str) -> bool:
    """True for "<user> via <list or forum>", as mailing lists and forums name authors.

    The user name may be lowercase ("codinghorror via Discourse Meta wrote:").
    """
    user, via, forum = text.strip(" ,").partition(" via ")
    return bool(via) and len(user.split()) == 1 and 0 < len(forum) <= 60 and _is_author(user, any_case=True)


def _is_author(text: str, *, any_case: bool = False) -> bool:
    """True if ``text`` could name whoever wrote ("Acme asiakaspalvelu", not "As I").

    Used where the attribution is unmistakable already (a date after the
    verb, an address before it), so any short text that does not start a
    sentence of one's own ("I", "We", "Here is what") will do. Addresses may
    follow a lowercase name ("molly <molly@x.com> wrote:").
    """
    text = text.strip(" ,")
    words = text.split()
    if not words or len(text) > MAX_ATTRIBUTION_LINE:
        return False
    if any_case:
        return words[0].capitalize() not in NOT_NAMES
    return not text[0].islower() and words[0] not in NOT_NAMES


def _new_text(lines: _Lines, end: int, *, signatures: bool) -> str:
    """The author's text among ``lines[:end]``, its ends not yet stripped.

    Drops ``>``-quoted lines and the attributions that announce them, and
    joins the remaining pieces with a blank line; each piece starts and
    ends with a non-blank line. With ``signatures``, also drops everything
    from a signature delimiter or a trailing signature on, and footers that
    nothing of the author's follows; without, it keeps them, for a message
    that has nothing else.
    """
    if signatures:
        end = _delimiter_before(lines, end)
    removable = _removable_lines(lines, end, footers=signatures)
    if signatures:
        end = _signature_end(lines, end, removable)
    pieces: list[str] = []
    current: list[int] = []
    for index in range(end):
        if lines.quoted[index] or removable[index]:
            _flush(lines, current, pieces)
            current = []
            continue
        current.append(index)
    _flush(lines, current, pieces)
    return "\n\n".join(pieces)


def _delimiter_before(lines: _Lines, end: int) -> int:
    """The first unquoted signature delimiter among ``lines[:end]``, else ``end``."""
    for index in range(end):
        if lines.is_text(index) and lines.is_signature_delimiter(index):
            return index
    return end


def _signature_end(lines: _Lines, end: int, removable: list[bool]) -> int:
    """Where the author's text ends once trailing signatures are cut off.

    Signatures are cut one after the other from the bottom, each time with
    the lines that are removed only when nothing of the author's follows
    them (footers, attributions), until none is left; what the text ends
    with then is no signature, so that stripping again changes nothing.
    """
    kept = [index for index in range(end) if lines.is_text(index) and not removable[index]]
    texts = [lines.norm[index] for index in kept]
    cut = False
    while True:
        position = signature_start(texts)
        if position is None:
            break
        cut = True
        del kept[position:]
        del texts[position:]
        while kept:
            first = _trailing_removable(lines, kept[-1])
            if first is None:
                break
            while kept and kept[-1] >= first:
                kept.pop()
                texts.pop()
    if not cut:
        return end
    return kept[-1] + 1 if kept else 0


def _trailing_removable(lines: _Lines, index: int) -> int | None:
    """The first line of a footer or attribution ending at ``index``, if there is one."""
    if lines.is_footer(index) or lines.is_footer_link(index):
        return index
    if _may_end_attribution(lines.norm[index]):
        attribution = _attribution_ending_at(lines, index)
        if attribution is not None:
            return attribution.start
    return None


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


def _removable_lines(lines: _Lines, end: int, *, footers: bool) -> list[bool]:
    """Mark attribution (and, with ``footers``, footer) lines among ``lines[:end]``.

    Both are removed only when what follows them is not the author's text:
    the end, a quoted line, or another removable line. Walking backwards
    lets each line see that verdict for the lines below it.
    """
    removable = [False] * end
    index = end - 1
    while index >= 0:
        if not lines.is_text(index) or not _followed_by_history(lines, index, end, removable):
            index -= 1
            continue
        if footers and (lines.is_footer(index) or lines.is_footer_link(index)):
            removable[index] = True
            index -= 1
            continue
        attribution = None
        if _may_end_attribution(lines.norm[index]):
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
    return following >= end or lines.quoted[following] or removable[following]
