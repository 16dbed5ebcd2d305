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

import re
from dataclasses import dataclass

__all__ = ["strip_reply"]

# Characters that clients put into text but that carry no meaning for the
# classification of a line: spaces of other widths become plain spaces,
# zero-width characters and byte-order marks disappear.
_NORMALIZE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u202f": " ",
        "\u3000": " ",
        "\t": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)

# Attribution lines longer than this are prose, not attributions; the limit
# also bounds the cost of matching them.
_MAX_ATTRIBUTION_LINE = 300
_MAX_ATTRIBUTION_TEXT = 500
# How many consecutive lines an attribution may be wrapped over.
_MAX_ATTRIBUTION_LINES = 3
# How far the words after the verb may run ("schrieb Jane Doe <jane@x.com>:").
_MAX_ATTRIBUTION_TAIL = 90
# Header lines and footers beyond these lengths are never treated as such.
_MAX_HEADER_LINE = 2000
_MAX_FOOTER_LINE = 250
# How many lines after a "From:" line are searched for the other headers.
_HEADER_WINDOW = 12

# The words that open an attribution line ("On ... wrote:", "Am ... schrieb
# ...:"). They are matched case-sensitively at the start of the line, which
# keeps ordinary sentences ("on Monday ...") out.
_ATTRIBUTION_START = re.compile(
    r"(?:-{1,5} ?)?(?:On|Am|Le|El|Il giorno|Il|Op|Em|No dia|Den|På|W dniu|Dne|Dana|Le jour)\s"
)

# The verb of an attribution, in the languages clients localize it to.
_ATTRIBUTION_VERB = re.compile(
    r"(?<!\w)(?:wrote|writes|schrieb|a [ée]crit|escribi[óo]|ha scritto|scrisse|"
    r"schreef|heeft geschreven|escreveu|skrev|napisał(?:a)?|napsal(?:a)?|"
    r"kirjoitti|írta|yazd\u0131)(?!\w)",
    re.IGNORECASE,
)

# Attributions without a verb: Horde's "Quoting Jane <jane@x.com>:" and the
# old Gmail form "2026-03-03 10:12 GMT+01:00 Jane Doe <jane@x.com>:".
_ATTRIBUTION_NO_VERB = re.compile(
    r"(?:Quoting|Zitat von|Citando|Citation de|Cytując)\s.{1,200}:"
    r"|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?::\d{2})?\s+GMT\S{0,10}\s.{0,200}@.{0,200}:"
)

# The shape of a capitalized name word, and sentence openers that are not names.
_NAME_WORD = re.compile(r"[\"'(]?[A-ZÀ-ÖØ-Þ][\w'\u2019.-]*[\"),]?")
_NOT_NAMES = frozenset(
    (
        "As",
        "Like",
        "You",
        "I",
        "We",
        "He",
        "She",
        "They",
        "It",
        "This",
        "That",
        "What",
        "Who",
        "Here",
        "There",
        "Someone",
        "Somebody",
        "Everyone",
        "Wie",
        "Sie",
        "Ich",
        "Er",
        "Wir",
        "Comme",
        "Vous",
        "Je",
        "Il",
        "Elle",
        "Como",
        "Usted",
        "Yo",
        "Ella",
    )
)

# Evidence that an attribution names a moment: a time, a year, or a date.
_DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|(?<!\d)(?:19|20)\d{2}(?!\d)|\d{1,2}[./-]\d{1,2}[./-]\d{2}")

# Marker lines that introduce a forwarded message.
_FORWARD_TITLES = (
    "Forwarded message",
    "Forwarded Message",
    "Weitergeleitete Nachricht",
    "Weitergeleitete E-Mail",
    "Message transféré",
    "Message transfére",
    "Mensaje reenviado",
    "Messaggio inoltrato",
    "Doorgestuurd bericht",
    "Mensagem encaminhada",
    "Mensagem reencaminhada",
    "Vidarebefordrat meddelande",
    "Videresendt meddelelse",
    "Videresendt melding",
)
_FORWARD_LINES = (
    "Begin forwarded message:",
    "Anfang der weitergeleiteten Nachricht:",
    "Anfang der weitergeleiteten E-Mail:",
    "Début du message réexpédié :",
    "Début du message réexpédié:",
    "Début du message transféré :",
    "Début du message transféré:",
    "Inicio del mensaje reenviado:",
    "Comienzo del mensaje reenviado:",
    "Inizio messaggio inoltrato:",
    "Begin doorgestuurd bericht:",
    "Início da mensagem reencaminhada:",
    "Início da mensagem encaminhada:",
    "Vidarebefordrat brev:",
    "Början av vidarebefordrat meddelande:",
)
_FORWARD_MARKER = re.compile(
    r"-{2,} *(?:"
    + "|".join(re.escape(title) for title in _FORWARD_TITLES)
    + r") *-{2,}|"
    + "|".join(re.escape(line) for line in _FORWARD_LINES),
    re.IGNORECASE,
)

# "-----Original Message-----" and its translations: history starts here.
_ORIGINAL_TITLES = (
    "Original Message",
    "Reply Message",
    "Ursprüngliche Nachricht",
    "Ursprüngliche Mail",
    "Original Mail",
    "Mail original",
    "Courriel original",
    "Originalnachricht",
    "Original-Nachricht",
    "Message d'origine",
    "Message d\u2019origine",
    "Message original",
    "Mensaje original",
    "Mensagem original",
    "Mensagem Original",
    "Messaggio originale",
    "Oorspronkelijk bericht",
    "Origineel bericht",
    "Ursprungligt meddelande",
    "Originalmeddelande",
    "Oprindelig meddelelse",
    "Opprinnelig melding",
    "Alkuperäinen viesti",
    "Oryginalna wiadomość",
    "Původní zpráva",
)
_ORIGINAL_MARKER = re.compile(
    r"-{2,} *(?:" + "|".join(re.escape(title) for title in _ORIGINAL_TITLES) + r") *-{2,}",
    re.IGNORECASE,
)

# A separator line above an Outlook header block.
_SEPARATOR = re.compile(r"_{5,}|-{5,}|={5,}|—{3,}|─{5,}|━{5,}")

# Header names of a quoted message's header block, by meaning. Matched
# case-sensitively (as clients write them) with optional bold markers left
# over from HTML conversion.
_FROM_NAMES = (
    "From",
    "Von",
    "De",
    "Da",
    "Van",
    "Från",
    "Fra",
    "Od",
    "Absender",
    "Afzender",
    "Remetente",
    "Lähettäjä",
    "Feladó",
    "Kimden",
)
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "date": (
        "Sent",
        "Date",
        "Gesendet",
        "Datum",
        "Envoyé",
        "Envoye",
        "Date d'envoi",
        "Enviado el",
        "Enviado",
        "Enviada em",
        "Enviado em",
        "Enviada",
        "Fecha",
        "Inviato",
        "Data",
        "Verzonden",
        "Verstuurd",
        "Skickat",
        "Sendt",
        "Lähetetty",
        "Elküldve",
        "Tarih",
        "Wysłano",
        "Odesláno",
    ),
    "to": (
        "To",
        "An",
        "À",
        "A",
        "Para",
        "Aan",
        "Till",
        "Til",
        "Vastaanottaja",
        "Címzett",
        "Kime",
        "Do",
        "Komu",
    ),
    "cc": ("Cc", "CC", "Kopie", "Copie", "Copia", "Kopia", "Kopio", "Másolat"),
    "subject": (
        "Subject",
        "Betreff",
        "Objet",
        "Asunto",
        "Oggetto",
        "Onderwerp",
        "Assunto",
        "Ämne",
        "Emne",
        "Aihe",
        "Tárgy",
        "Konu",
        "Temat",
        "Předmět",
    ),
}
_HEADER_MEANING = {name: meaning for meaning, names in _HEADER_NAMES.items() for name in names}


def _alternation(names: tuple[str, ...] | list[str]) -> str:
    """A regex alternation of ``names``, longest first so prefixes lose."""
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


_FROM_HEADER = re.compile(r"[*_]{0,2}(?:" + _alternation(_FROM_NAMES) + r")[*_]{0,2} ?:")
_OTHER_HEADER = re.compile(r"[*_]{0,2}(?P<name>" + _alternation(list(_HEADER_MEANING)) + r")[*_]{0,2} ?:")
# The same names inside one line, for Outlook blocks flattened into a single
# line ("From: Jane Sent: Tuesday ... To: Bob Subject: Order").
_INLINE_HEADER = re.compile(
    r"(?<=\s)[*_]{0,2}(?P<name>" + _alternation(list(_HEADER_MEANING)) + r")[*_]{0,2} ?:"
)

# Footers that mobile and webmail clients append below the author's text.
_FOOTER = re.compile(
    r"(?:"
    # English.
    r"Sent from my\s"
    r"|Sent from (?:Yahoo|Outlook|Mail for Windows|Proton|AOL|Samsung|BlackBerry|Gmail|iCloud"
    r"|Zoho|Spark|BlueMail|Edison|Mail\.ru|GMX|WEB\.DE|the\s)"
    r"|Sent (?:with|via|using) (?:Proton|Spark|BlueMail|Blackberry|the\s|my\s|Samsung|Yahoo|Outlook)"
    r"|Get Outlook for (?:iOS|Android|Mac|Windows)"
    # German.
    r"|Von meine[mr] \S.{0,60}gesendet"
    r"|Gesendet (?:von|mit|über) (?:meinem|meiner|der|Mail|Outlook|Yahoo|GMX|WEB\.DE|iPhone|iPad"
    r"|Samsung|Android|BlackBerry|Proton)"
    r"|Diese Nachricht wurde von meinem .{1,60}gesendet"
    r"|Holen Sie sich Outlook für (?:iOS|Android)"
    r"|Outlook für (?:iOS|Android) (?:herunterladen|beziehen)"
    # French.
    r"|Envoyé (?:de|depuis|à partir de|avec) (?:mon|ma|Yahoo|Outlook|Courrier|Mail|Proton)\b"
    r"|(?:Obtenir|Télécharger) Outlook pour (?:iOS|Android)"
    # Spanish.
    r"|Enviado desde (?:mi|Yahoo|Outlook|Correo|Mail|Proton)\b"
    r"|Enviado con (?:Proton|Spark|BlueMail)"
    r"|(?:Obtener|Descargar) Outlook para (?:iOS|Android)"
    # Italian.
    r"|Inviato da(?:l mio)? (?:iPhone|iPad|Android|Samsung|smartphone|Yahoo|Outlook|Posta|Mail"
    r"|Proton|dispositivo)"
    r"|Inviato dal mio\s"
    r"|(?:Scarica|Ottieni) Outlook per (?:iOS|Android)"
    # Dutch.
    r"|(?:Verzonden|Verstuurd) (?:vanaf|met|via|van) (?:mijn|Yahoo|Outlook|Mail|Proton)\b"
    r"|(?:Outlook voor (?:iOS|Android) downloaden|Download Outlook voor (?:iOS|Android))"
    # Portuguese.
    r"|Enviado (?:do|de|a partir do) (?:meu|minha|Yahoo|Outlook|Email|E-mail|Correio)\b"
    r"|(?:Obter o|Baixe o|Baixar o) Outlook para (?:iOS|Android)"
    # Swedish.
    r"|Skickat? från (?:min|mitt|Yahoo|Outlook|E-post)\b"
    r"|Skickades från min\s"
    r"|Hämta Outlook för (?:iOS|Android)"
    r")",
    re.IGNORECASE,
)
# A link alone on a line, as some converters put the footer's link.
_LINK_ONLY = re.compile(r"<?https?://\S+>?")


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
        self.norm: list[str] = [line.translate(_NORMALIZE).strip() for line in self.raw]
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
        return len(line) <= _MAX_FOOTER_LINE and _FOOTER.match(line) is not None

    def is_footer_link(self, index: int) -> bool:
        """True for a bare link directly below a footer line."""
        line = self.norm[index]
        previous = self.prev_text[index]
        return (
            len(line) <= _MAX_FOOTER_LINE
            and _LINK_ONLY.fullmatch(line) is not None
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
        if _FORWARD_MARKER.fullmatch(line):
            return "forward", index
        if _ORIGINAL_MARKER.fullmatch(line):
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
    if not _FORWARD_MARKER.fullmatch(content):
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
    if len(line) > _MAX_HEADER_LINE:
        return False
    has_from = _FROM_HEADER.match(line) is not None
    meanings: set[str] = set()
    if has_from:
        meanings.update(_HEADER_MEANING[m.group("name")] for m in _INLINE_HEADER.finditer(line))
    else:
        match = _OTHER_HEADER.match(line)
        if match is None:
            return False
        meanings.add(_HEADER_MEANING[match.group("name")])
    limit = min(lines.count, index + 1 + _HEADER_WINDOW)
    for below in range(index + 1, limit):
        if not lines.is_text(below):
            break
        following = lines.norm[below]
        if _FROM_HEADER.match(following):
            if has_from:
                break
            has_from = True
            continue
        match = _OTHER_HEADER.match(following)
        if match is not None:
            meanings.add(_HEADER_MEANING[match.group("name")])
    return has_from and len(meanings) >= 2 and bool(meanings & {"date", "subject"})


def _separator_above(lines: _Lines, index: int) -> int:
    """The separator line just above a header block, else the block itself."""
    above = lines.prev_text[index]
    if (
        above >= 0
        and index - above <= 2
        and not lines.quoted[above]
        and _SEPARATOR.fullmatch(lines.norm[above])
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
    for size in range(1, _MAX_ATTRIBUTION_LINES + 1):
        start = end - size + 1
        if start < 0 or not lines.is_text(start):
            break
        if len(lines.norm[start]) > _MAX_ATTRIBUTION_LINE:
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
    if len(joined) > _MAX_ATTRIBUTION_TEXT or not joined.endswith(":"):
        return None
    if _ATTRIBUTION_NO_VERB.fullmatch(joined):
        return "start"
    verbs = list(_ATTRIBUTION_VERB.finditer(joined))
    if not verbs or verbs[-1].start() == 0:
        return None
    verb = verbs[-1]
    if len(joined) - verb.end() > _MAX_ATTRIBUTION_TAIL:
        return None
    if _ATTRIBUTION_START.match(joined):
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
    if not 1 <= len(words) <= 5 or words[0] in _NOT_NAMES:
        return False
    return all(_NAME_WORD.fullmatch(word) for word in (words[0], words[-1]))


def _is_strong(joined: str, kind: str) -> bool:
    """True if the attribution is unmistakable even without quotes below it.

    It must name a moment (a time, a date or a year) and either open with an
    attribution word or carry an address.
    """
    return (kind == "start" or "@" in joined) and _DATEISH.search(joined) is not None


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
