"""The words and shapes that mark quoted history, signatures and footers in replies.

What :mod:`helpdesk.intake.quoting` looks for, in the languages customers and
owners write in: attribution lines (``On ... wrote:``), forward and "original
message" markers, the names of Outlook's header block fields, separator lines
and mobile or webmail footers, with the length limits that keep every check
linear. Adding a language or a client's wording is a change here only.
"""

from __future__ import annotations

import re

# Characters that clients put into text but that carry no meaning for the
# classification of a line: spaces of other widths become plain spaces,
# zero-width characters and byte-order marks disappear.
NORMALIZE = str.maketrans(
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
MAX_ATTRIBUTION_LINE = 300
MAX_ATTRIBUTION_TEXT = 500
# How many consecutive lines an attribution may be wrapped over.
MAX_ATTRIBUTION_LINES = 3
# How far the words after the verb may run ("schrieb Jane Doe <jane@x.com>:").
MAX_ATTRIBUTION_TAIL = 90
# Header lines and footers beyond these lengths are never treated as such.
MAX_HEADER_LINE = 2000
MAX_FOOTER_LINE = 250
# How many lines after a "From:" line are searched for the other headers.
HEADER_WINDOW = 12

# The words that open an attribution line ("On ... wrote:", "Am ... schrieb
# ...:"). They are matched case-sensitively at the start of the line, which
# keeps ordinary sentences ("on Monday ...") out.
ATTRIBUTION_START = re.compile(
    r"(?:-{1,5} ?)?(?:On|Am|Le|El|Il giorno|Il|Op|Em|No dia|Den|På|W dniu|Dne|Dana|Le jour)\s"
)

# The verb of an attribution, in the languages clients localize it to.
ATTRIBUTION_VERB = re.compile(
    r"(?<!\w)(?:wrote|writes|schrieb|a [ée]crit|escribi[óo]|ha scritto|scrisse|"
    r"schreef|heeft geschreven|escreveu|skrev|napisał(?:a)?|napsal(?:a)?|"
    r"kirjoitti|írta|yazd\u0131)(?!\w)",
    re.IGNORECASE,
)

# Attributions without a verb: Horde's "Quoting Jane <jane@x.com>:" and the
# old Gmail form "2026-03-03 10:12 GMT+01:00 Jane Doe <jane@x.com>:".
ATTRIBUTION_NO_VERB = re.compile(
    r"(?:Quoting|Zitat von|Citando|Citation de|Cytując)\s.{1,200}:"
    r"|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?::\d{2})?\s+GMT\S{0,10}\s.{0,200}@.{0,200}:"
)

# The shape of a capitalized name word, and sentence openers that are not names.
NAME_WORD = re.compile(r"[\"'(]?[A-ZÀ-ÖØ-Þ][\w'\u2019.-]*[\"),]?")
NOT_NAMES = frozenset(
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
DATEISH = re.compile(r"\d{1,2}[:.h]\d{2}|(?<!\d)(?:19|20)\d{2}(?!\d)|\d{1,2}[./-]\d{1,2}[./-]\d{2}")

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
FORWARD_MARKER = re.compile(
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
ORIGINAL_MARKER = re.compile(
    r"-{2,} *(?:" + "|".join(re.escape(title) for title in _ORIGINAL_TITLES) + r") *-{2,}",
    re.IGNORECASE,
)

# A separator line above an Outlook header block.
SEPARATOR = re.compile(r"_{5,}|-{5,}|={5,}|—{3,}|─{5,}|━{5,}")

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
HEADER_MEANING = {name: meaning for meaning, names in _HEADER_NAMES.items() for name in names}


def _alternation(names: tuple[str, ...] | list[str]) -> str:
    """A regex alternation of ``names``, longest first so prefixes lose."""
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


FROM_HEADER = re.compile(r"[*_]{0,2}(?:" + _alternation(_FROM_NAMES) + r")[*_]{0,2} ?:")
OTHER_HEADER = re.compile(r"[*_]{0,2}(?P<name>" + _alternation(list(HEADER_MEANING)) + r")[*_]{0,2} ?:")
# The same names inside one line, for Outlook blocks flattened into a single
# line ("From: Jane Sent: Tuesday ... To: Bob Subject: Order").
INLINE_HEADER = re.compile(
    r"(?<=\s)[*_]{0,2}(?P<name>" + _alternation(list(HEADER_MEANING)) + r")[*_]{0,2} ?:"
)

# Footers that mobile and webmail clients append below the author's text.
FOOTER = re.compile(
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
LINK_ONLY = re.compile(r"<?https?://\S+>?")
