"""The words and shapes that mark quoted history, signatures and footers in replies.

What :mod:`helpdesk.intake.quoting` and :mod:`helpdesk.intake.signatures` look
for, in the languages customers and owners write in: attribution lines
(``On ... wrote:``), forward and "original message" markers, the names of
Outlook's header block fields, separator lines, signature sign-offs and
mobile or webmail footers, with the length limits that keep every check
linear. Adding a language or a client's wording is a change here only.
"""

from __future__ import annotations

import re

# Characters that clients put into text but that carry no meaning for the
# classification of a line: spaces of other widths become plain spaces, the
# full-width colon of Chinese and Japanese clients a colon, and zero-width
# characters, byte-order marks and the direction marks that right-to-left
# clients (Hebrew, Arabic) wrap around names and addresses disappear.
NORMALIZE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u202f": " ",
        "\u3000": " ",
        "\t": " ",
        "\uff1a": ":",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u200e": None,
        "\u200f": None,
        "\u202a": None,
        "\u202b": None,
        "\u202c": None,
        "\u202d": None,
        "\u202e": None,
        "\u2060": None,
        "\u2066": None,
        "\u2067": None,
        "\u2068": None,
        "\u2069": None,
        "\u061c": None,
        "\ufeff": None,
    }
)

# A quote marker at the start of a line: ``>``, or ``&gt;`` where a client
# escaped it, possibly repeated and spaced ("> > text").
QUOTE_PREFIX = re.compile(r"(?:>|&gt;)(?:[ ]?(?:>|&gt;))*[ ]?")

# Attribution lines longer than this are prose, not attributions; the limit
# also bounds the cost of matching them.
MAX_ATTRIBUTION_LINE = 300
MAX_ATTRIBUTION_TEXT = 500
# How many consecutive lines an attribution may be wrapped over.
MAX_ATTRIBUTION_LINES = 3
# How far the words after the verb may run ("schrieb Jane Doe <jane@x.com>:").
MAX_ATTRIBUTION_TAIL = 90
# Lines longer than this are never searched for an attribution that starts
# in the middle of the line ("Sounds good. On Tue, ... wrote:").
MAX_SHARED_LINE = 1000
# Header lines and footers beyond these lengths are never treated as such.
MAX_HEADER_LINE = 2000
MAX_FOOTER_LINE = 250
# How many lines after a "From:" line are searched for the other headers.
HEADER_WINDOW = 12
# A quoted line at least this long that a client wrapped may leave its end
# on an unquoted line of its own.
WRAPPED_QUOTE_WIDTH = 60

# The words that open an attribution line ("On ... wrote:", "Am ... schrieb
# ...:", "W dniu ... pisze:", Apple Mail's Chinese "在 ... 写道"). They are
# matched case-sensitively at the start of the line, which keeps ordinary
# sentences ("on Monday ...") out.
_ATTRIBUTION_WORDS = (
    "On",
    "At",
    "In message",
    "Am",
    "Le",
    "El",
    "Il giorno",
    "Il",
    "Op",
    "Em",
    "No dia",
    "Den",
    "På",
    "Pe",
    "W dniu",
    "Dnia",
    "Dne",
    "Dňa",
    "Dana",
    "Le jour",
    "Pada",
    "Vào",
    "Στις",
    "\u05d1\u05ea\u05d0\u05e8\u05d9\u05da",  # Hebrew "on the date".
    "\u5728",  # Chinese "at".
)
ATTRIBUTION_START = re.compile(
    r"(?:-{1,10} ?)?(?:" + "|".join(re.escape(word) for word in _ATTRIBUTION_WORDS) + r")\s"
)
# The same words anywhere in a line, where an attribution shares the line
# with the end of the reply ("Sounds good. On Tue, ... wrote:").
SHARED_ATTRIBUTION_START = re.compile(
    r"(?:-{2,} ?)?(?:" + "|".join(re.escape(word) for word in _ATTRIBUTION_WORDS) + r")\s"
)
# Attributions that open with the date itself, as Gmail writes them in most
# languages: a weekday or nothing, then a number ("tir. 3. mar. 2026 kl. 10.12
# skrev ...", "ti 3. maalisk. 2026 klo 10.12 ...", "2026年3月3日(火) 10:12 ...").
DATE_START = re.compile(r"(?:(?:[^\W\d_]{1,3}\.?,?|[^\W\d_]{4,12}[.,]{1,2})\s{1,3})?\d")

# The verb of an attribution, in the languages clients localize it to; the
# Chinese, Japanese and Korean verbs follow the name or time without a space.
_ATTRIBUTION_VERBS = (
    "wrote",
    "writes",
    "schrieb",
    "schrieben",
    "a écrit",
    "a ecrit",
    "escribió",
    "escribio",
    "ha scritto",
    "scrisse",
    "schreef",
    "heeft geschreven",
    "het volgende geschreven",
    "geschreven",
    "escreveu",
    "skrev",
    "napisał",
    "napisała",
    "napisal",
    "napisala",
    "pisze",
    "napsal",
    "napsala",
    "napísal",
    "napísala",
    "kirjoitti",
    "írta",
    "yazd\u0131",
    "написал",
    "написала",
    "написав",
    "пишет",
    "пише",
    "έγραψε",
    "menulis",
    "đã viết",
    "a scris",
    "kirjutas",
    "rašė",
    "rakstīja",
    "\u05db\u05ea\u05d1",  # Hebrew "wrote".
    "\u0643\u062a\u0628",  # Arabic "wrote".
)
_CJK_VERBS = (
    "\u5199\u9053",  # 写道
    "\u5beb\u9053",  # 寫道
    "\uc791\uc131",  # 작성
    "\u306e\u30e1\u30c3\u30bb\u30fc\u30b8",  # のメッセージ
    "\u306e\u30e1\u30fc\u30eb",  # のメール
    "\u66f8\u304d\u307e\u3057\u305f",  # 書きました
)
ATTRIBUTION_VERB = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(verb) for verb in sorted(_ATTRIBUTION_VERBS, key=len, reverse=True))
    + r")(?!\w)|"
    + "|".join(re.escape(verb) for verb in _CJK_VERBS),
    re.IGNORECASE,
)
# "sent" is an attribution verb only in an attribution that opens with an
# attribution word or carries an address ("On 3 Mar 2026, at 10:12, Jane
# <jane@x.com> sent:"): elsewhere it is far more often prose ("Here is what
# they sent:").
OPENING_ONLY_VERB = re.compile(r"(?<!\w)sent(?!\w)", re.IGNORECASE)
# A line that ends with the verb itself, without the colon: some clients
# (and some users editing the line) drop it ("On Tue, 3 Mar 2026 10:12 +0100
# Jane Doe <jane@x.com> wrote"). Checked on the last characters of a line only.
VERB_AT_END = re.compile(r"(?:" + ATTRIBUTION_VERB.pattern + r")$", re.IGNORECASE)
MAX_VERB_END = 30

# Attributions without a verb: Horde's "Quoting Jane <jane@x.com>:", Apple
# Mail's Polish "Wiadomość napisana przez ... w dniu ...:", the old Gmail forms
# "2026-03-03 10:12 GMT+01:00 Jane Doe <jane@x.com>:" and "2026/3/3 Jane Doe
# <jane@x.com>".
ATTRIBUTION_NO_VERB = re.compile(
    r"(?:Quoting|Zitat von|Citando|Citation de|Cytując|Wiadomość napisana przez)\s.{1,200}:"
    r"|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?::\d{2})?\s+GMT\S{0,10}\s.{0,200}@.{0,200}:"
    r"|\d{4}/\d{1,2}/\d{1,2}\s[^<>]{1,200}<[^<>\s]{1,200}@[^<>\s]{1,200}>:?"
)
# The address that ends the other verb-less form: a date, a name and the
# address with a colon ("2026年3月3日(火) 10:12 Jane Doe <jane@x.com>:").
ADDRESS_END = re.compile(
    r"(?:<[^<>\s]{1,200}@[^<>\s]{1,200}>{1,2}|\([^()\s]{1,200}@[^()\s]{1,200}\)|"
    r"\[mailto:[^\]\s]{1,200}\])\s?:$"
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
        "My",
        "Your",
        "Our",
        "His",
        "Her",
        "Their",
        "The",
        "A",
        "An",
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

# Marker lines that introduce a forwarded message. The dashed titles are
# Gmail's and Thunderbird's; the lines are Apple Mail's, which may also stand
# at the top of a quote that holds the forwarded message.
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
    "Videresendt besked",
    "Välitetty viesti",
    "Wiadomość przekazana dalej",
    "Přeposlaná zpráva",
    "Továbbított üzenet",
    "İletilen ileti",
    "Пересылаемое сообщение",
    "Пересланное сообщение",
    "\u8f6c\u53d1\u7684\u90ae\u4ef6",  # 转发的邮件
    "\u8f49\u5bc4\u7684\u90f5\u4ef6",  # 轉寄的郵件
    "\u8ee2\u9001\u3055\u308c\u305f\u30e1\u30c3\u30bb\u30fc\u30b8",  # 転送されたメッセージ
    "\uc804\ub2ec\ub41c \uba54\uc2dc\uc9c0",  # 전달된 메시지
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
    "Videresendt besked:",
    "Videresendt melding:",
    "Välitetty viesti alkaa:",
    "Początek przekazywanej wiadomości:",
    "Začátek přeposílané zprávy:",
    "Начало переадресованного сообщения:",
    "\u8f6c\u53d1\u7684\u90ae\u4ef6:",  # 转发的邮件:
    "\u8f49\u5bc4\u7684\u90f5\u4ef6:",  # 轉寄的郵件:
    "\u8ee2\u9001\u3055\u308c\u305f\u30e1\u30c3\u30bb\u30fc\u30b8:",  # 転送されたメッセージ:
)
FORWARD_TITLE = re.compile(
    r"-{2,} *(?:" + "|".join(re.escape(title) for title in _FORWARD_TITLES) + r") *-{2,}",
    re.IGNORECASE,
)
FORWARD_LINE = re.compile("|".join(re.escape(line) for line in _FORWARD_LINES), re.IGNORECASE)
FORWARD_MARKER = re.compile(f"{FORWARD_TITLE.pattern}|{FORWARD_LINE.pattern}", re.IGNORECASE)

# "-----Original Message-----" and its translations: history starts here.
_ORIGINAL_TITLES = (
    "Original Message",
    "Reply Message",
    "Ursprüngliche Nachricht",
    "Ursprüngliche Mail",
    "Original Mail",
    "Antwort Nachricht",
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
    "Oprindelig besked",
    "Opprinnelig melding",
    "Alkuperäinen viesti",
    "Oryginalna wiadomość",
    "Původní zpráva",
    "Pôvodná správa",
    "Eredeti üzenet",
    "Orijinal İleti",
    "Özgün İleti",
    "Исходное сообщение",
    "Оригинальное сообщение",
    "\u539f\u59cb\u90ae\u4ef6",  # 原始邮件
    "\u539f\u59cb\u90f5\u4ef6",  # 原始郵件
    "\u5143\u306e\u30e1\u30c3\u30bb\u30fc\u30b8",  # 元のメッセージ
    "\uc6d0\ubcf8 \uba54\uc2dc\uc9c0",  # 원본 메시지
)
ORIGINAL_MARKER = re.compile(
    r"[*_]{0,2}-{2,} *(?:" + "|".join(re.escape(title) for title in _ORIGINAL_TITLES) + r") *-{2,}[*_]{0,2}",
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
    "От",
    "Від",
    "Από",
    "Expeditor",
    "Dari",
    "Từ",
    "\u05de\u05d0\u05ea",  # Hebrew "from".
    "\u53d1\u4ef6\u4eba",  # 发件人
    "\u5bc4\u4ef6\u8005",  # 寄件者
    "\u5dee\u51fa\u4eba",  # 差出人
    "\ubcf4\ub0b8 \uc0ac\ub78c",  # 보낸 사람
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
        "Message du",
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
        "Dato",
        "Lähetetty",
        "Päivämäärä",
        "Elküldve",
        "Dátum",
        "Tarih",
        "Gönderildi",
        "Gönderilme",
        "Wysłano",
        "Wysłane",
        "Odesláno",
        "Odoslané",
        "Отправлено",
        "Дата",
        "Надіслано",
        "Στάλθηκε",
        "Ημερομηνία",
        "Trimis",
        "Dikirim",
        "Tanggal",
        "Đã gửi",
        "Ngày",
        "\u05e0\u05e9\u05dc\u05d7",  # Hebrew "sent".
        "\u05ea\u05d0\u05e8\u05d9\u05da",  # Hebrew "date".
        "\u53d1\u9001\u65f6\u95f4",  # 发送时间
        "\u65e5\u671f",  # 日期
        "\u50b3\u9001\u6642\u9593",  # 傳送時間
        "\u5bc4\u4ef6\u65e5\u671f",  # 寄件日期
        "\u9001\u4fe1\u65e5\u6642",  # 送信日時
        "\u65e5\u4ed8",  # 日付
        "\ubcf4\ub0b8 \ub0a0\uc9dc",  # 보낸 날짜
        "\ub0a0\uc9dc",  # 날짜
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
        "Кому",
        "Προς",
        "Către",
        "Kepada",
        "Đến",
        "\u05d0\u05dc",  # Hebrew "to".
        "\u6536\u4ef6\u4eba",  # 收件人
        "\u6536\u4ef6\u8005",  # 收件者
        "\u5b9b\u5148",  # 宛先
        "\ubc1b\ub294 \uc0ac\ub78c",  # 받는 사람
    ),
    "cc": (
        "Cc",
        "CC",
        "Kopie",
        "Copie",
        "Copie à",
        "Copia",
        "Kopia",
        "Kopio",
        "Kopi",
        "Másolat",
        "DW",
        "Копия",
        "\u6284\u9001",  # 抄送
        "\u526f\u672c",  # 副本
        "\ucc38\uc870",  # 참조
    ),
    "subject": (
        "Subject",
        "Betreff",
        "Objet",
        "Sujet",
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
        "Predmet",
        "Тема",
        "Θέμα",
        "Subiect",
        "Perihal",
        "Subjek",
        "Chủ đề",
        "\u05e0\u05d5\u05e9\u05d0",  # Hebrew "subject".
        "\u4e3b\u9898",  # 主题
        "\u4e3b\u65e8",  # 主旨
        "\u4ef6\u540d",  # 件名
        "\uc81c\ubaa9",  # 제목
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
# Each phrase must make up the whole line: the client's words, then at most a
# few words naming the device or app ("Sent from my Samsung Galaxy S21"), so
# that a sentence which merely starts like a footer ("Sent from my desk, is
# much easier ...") is the author's text. A trailing link, an English apology
# for typos and brackets around the footer are allowed.
_WORD = r"[^\s,;:!?]+"


def _words(low: int, high: int) -> str:
    """Between ``low`` and ``high`` further words of a footer."""
    return rf"(?:\s+{_WORD}){{{low},{high}}}"


# Apps and devices that English footers name without "my" ("Sent from
# Outlook", "Sent via BlackBerry"); with "my" any device name is accepted.
_FOOTER_APPS = (
    r"Yahoo|Outlook|Mail|Mailbox|Windows|AOL|Samsung|Galaxy|BlackBerry|Gmail|iCloud|Zoho|Spark|BlueMail"
    r"|Edison|Mail\.ru|GMX|WEB\.DE|Proton|ProtonMail|Airmail|Superhuman|HEY|Newton|Canary|Polymail"
    r"|Nine|Aqua|K-9|FairEmail|Fastmail|Tutanota|Tuta|Acompli|Mailbird|Thunderbird|iPhone|iPad|iPod"
    r"|Android|mobile|phone|smartphone|tablet|cell|Huawei|Xiaomi|Pixel|OnePlus|Motorola|Nokia|HTC"
    r"|Verizon|T-Mobile|Sprint|Vodafone|Telstra|Orange"
)
_FOOTER_PHRASES = (
    # English.
    r"Sent (?:wirelessly )?from my" + _words(1, 7),
    rf"Sent (?:wirelessly )?(?:from|via|with|using|by|through) (?:the |a |an )?(?:{_FOOTER_APPS})\S*"
    + _words(0, 6),
    r"(?:Get|Download) Outlook for (?:iOS|Android|Mac|Windows)\S*",
    # Any other app, when the client links to it ("Sent from TypeApp<https://...>").
    r"Sent (?:from|with|via|using) [A-Z][\w.-]{1,30}(?=\s*<?https?://)",
    r"From my (?:iPhone|iPad|Android|mobile|phone|smartphone|Galaxy|BlackBerry)\S*" + _words(0, 3),
    # German.
    r"Von meine[mr]" + _words(1, 6) + r"\s+gesendet",
    r"Gesendet (?:von|vom|mit|über|aus)" + _words(1, 7),
    r"Diese Nachricht wurde von" + _words(1, 10) + r"\s+gesendet",
    r"(?:Holen Sie sich|Hol dir) Outlook für (?:iOS|Android)",
    r"Outlook für (?:iOS|Android) (?:herunterladen|beziehen)",
    # French.
    r"Envoyé (?:de|depuis|à partir de|avec|par|via|sans fil par)" + _words(1, 10),
    r"(?:Obtenir|Télécharger) Outlook pour (?:iOS|Android)",
    # Spanish and Catalan.
    r"Enviado (?:desde|con|a través de)" + _words(1, 8),
    r"(?:Obtener|Descargar) Outlook para (?:iOS|Android)",
    r"Enviat (?:des de|des del|amb)" + _words(1, 6),
    # Italian.
    r"Inviato (?:da|dal|dalla|con|tramite)" + _words(1, 6),
    r"(?:Scarica|Ottieni) Outlook per (?:iOS|Android)",
    # Dutch.
    r"(?:Verzonden|Verstuurd) (?:vanaf|met|via|van|vanuit|vanop)" + _words(1, 6),
    r"(?:Download )?Outlook voor (?:iOS|Android)(?: downloaden)?",
    # Portuguese.
    r"Enviado (?:do|de|a partir do|a partir de|pelo|pela|via)" + _words(1, 6),
    r"(?:Obter o|Obtenha o|Baixe o|Baixar o|Descarregue o) Outlook para (?:iOS|Android)",
    # Swedish, Danish and Norwegian.
    r"Skickat? (?:från|med|via)" + _words(1, 6),
    r"Skickades från" + _words(1, 6),
    r"Hämta Outlook för (?:iOS|Android)",
    r"Sendt (?:fra|med|via)" + _words(1, 6),
    r"(?:Hent|Få) Outlook (?:til|for) (?:iOS|Android)",
    # Finnish: "Lähetetty iPhonesta", "Lähetetty Android-puhelimesta".
    r"Lähetetty \S+(?:sta|stä)" + _words(0, 3),
    r"Hanki Outlook" + _words(1, 3),
    # Polish, Czech and Slovak.
    r"Wysłan[eo] (?:z|ze|przez)" + _words(1, 6),
    r"Pobierz (?:aplikację |program )?Outlook dla (?:systemu )?(?:iOS|Android)",
    r"Odesláno (?:z|ze|pomocí)" + _words(1, 6),
    r"Odoslané (?:z|zo|pomocou)" + _words(1, 6),
    # Russian and Ukrainian.
    # "Отправлено" followed by "from", "with", "via" ...
    "\u041e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e "
    "(?:\u0441|\u0441\u043e|\u0438\u0437|\u0447\u0435\u0440\u0435\u0437)" + _words(1, 6),
    r"Получить Outlook для (?:iOS|Android)",
    r"Надіслано (?:з|із|зі|через)" + _words(1, 6),
    # Turkish: "<device>'dan gönderildi" ("sent from <device>").
    r"(?:\S+\s+){0,2}\S+(?:dan|den|tan|ten) gönderildi",
    # Hungarian: "Az iPhone-omról küldve".
    r"(?:Az? )?\S+(?:ról|ről) küldve",
    # Romanian, Greek, Indonesian, Vietnamese.
    r"Trimis (?:de pe|din|cu|de la)" + _words(1, 6),
    r"Στάλθηκε από" + _words(1, 5),
    r"Dikirim (?:dari|dengan|melalui)" + _words(1, 5),
    r"Được gửi từ" + _words(1, 5),
    # Hebrew "sent from ...".
    "\u05e0\u05e9\u05dc\u05d7 \u05de\\S*" + _words(0, 3),
    # Japanese "iPhoneから送信", Chinese "从我的iPhone发送", "發自我的 iPhone",
    # Korean "iPhone에서 보냄".
    r"\S{1,30} ?\u304b\u3089\u9001\u4fe1",
    "(?:\u4ece|\u5f9e|\u53d1\u81ea|\u767c\u81ea|\u6765\u81ea|\u4f86\u81ea)\u6211\u7684 ?\\S{1,30}"
    "(?: ?(?:\u53d1\u9001|\u767c\u9001|\u50b3\u9001))?",
    r"(?:\S+\s+){0,2}\S+\uc5d0\uc11c \ubcf4\ub0c4",
)
FOOTER = re.compile(
    r"[(<]{0,2}(?:" + "|".join(_FOOTER_PHRASES) + r")[)>]{0,2}[.!]?"
    r"(?:\s*[,.;-]?\s*(?:please |pls |kindly )?(?:excuse|forgive|pardon|sorry)\b.{0,80})?"
    r"(?:\s*<?https?://\S+?>?)?",
    re.IGNORECASE,
)
# A link alone on a line, as some converters put the footer's link.
LINK_ONLY = re.compile(r"<?https?://\S+>?")
# A link alone on a line inside a quote, in brackets and maybe followed by
# the quote marker the client moved behind it ("(http://x.example/c/1) >").
QUOTED_LINK_LINE = re.compile(r"[(<\[]?https?://\S+?[)>\]]?(?:\s*(?:>|&gt;))?")
# A link opened in brackets and not closed on its line: the client wrapped it.
OPEN_LINK = re.compile(r"[(<]https?://[^\s()<>]*$")

# Signatures without the standard delimiter (see helpdesk.intake.signatures).
# A sign-off made of a dash and a name: "-Jane", "- Jane Doe", "—Jane".
DASH_SIGN_OFF = re.compile(r"(?:-{1,2}|[\u2013\u2014])[ ]?(?P<name>[^\W\d_][^\d]{0,40})")
# Words that, after a dash, answer a question rather than sign a name.
ANSWER_WORDS = frozenset(
    (
        "yes",
        "no",
        "ok",
        "okay",
        "sure",
        "done",
        "fine",
        "correct",
        "right",
        "wrong",
        "agreed",
        "maybe",
        "both",
        "none",
        "all",
        "noted",
        "ja",
        "nein",
        "oui",
        "non",
        "si",
        "sí",
    )
)
# A line that sets a signature off from the text: dashes, underscores...
SIGNATURE_SEPARATOR = re.compile(r"-{3,}|_{2,}|={3,}|[\u2013\u2014]{1,}|~{3,}|\*{3,}")
# A line that starts like an item of a list.
LIST_ITEM = re.compile(r"[-\u2013\u2014*\u2022+]\s*\S")
# Contact details that signatures and mailing list footers are made of: an
# address, a link or a phone number.
CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.\w|https?://|www\.\w|\+?\(?\d[\d ().-]{6,}\d")
# Lowercase words that may stand inside a name ("Jan van Berg").
NAME_PARTICLES = frozenset(
    ("van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "dos", "das", "le", "la", "bin")
)
# How many lines a signature without delimiter may have, its opening line
# included, and how long and wordy each of them may be.
MAX_SIGNATURE_LINES = 8
MAX_SIGNATURE_LINE = 100
MAX_CONTACT_LINE = 160
MAX_SIGNATURE_WORDS = 8
