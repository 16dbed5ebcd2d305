# Customers writing in German, French, Spanish and Chinese use their own punctuation.
# ruff: noqa: RUF001
"""Realistic, deterministic customer mail for end-to-end tests and the ingest benchmark.

Two entry points:

* ``customer_mail`` writes one specific message with ``email.message.EmailMessage`` and the
  ``SMTP`` policy. Tests use it when they need exact control over a single message.
* ``generate_corpus`` writes many messages that look like a small shop's support inbox: orders,
  refunds, shipping, broken items, questions and thanks, in several languages, from customers
  whose names are sometimes non-ASCII, with follow-ups that quote the earlier message the way
  Gmail does. The same seed always gives the same bytes.

The corpus is assembled with a small MIME writer built on the stdlib encoders
(``email.header``, ``email.utils``, ``binascii``) instead of ``EmailMessage``: the header
parsing and refolding of the ``EmailMessage`` API costs about a millisecond per message, which
is most of the time budget for ten thousand messages. ``tests/test_corpus.py`` checks that both
writers produce the same mail when read back by the stdlib parser and by mail-parser.
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import math
import random
import re
import struct
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import encode_rfc2231, format_datetime, formataddr, make_msgid
from html import escape
from types import MappingProxyType

__all__ = ["GeneratedMail", "customer_mail", "generate_corpus"]

# The first Date of a generated corpus, unless the caller chooses another.
DEFAULT_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class GeneratedMail:
    """One generated customer message and the facts a test may check it against."""

    raw: bytes
    message_id: str
    sender: str
    subject: str
    thread_key: int
    is_reply: bool


# ---------------------------------------------------------------------------------------------
# One message, written with EmailMessage.
# ---------------------------------------------------------------------------------------------


def customer_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    name: str = "",
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    to: str = "support@acme.example",
    message_id: str | None = None,
    date: datetime | None = None,
    html: str | None = None,
    headers: Mapping[str, str] = _NO_HEADERS,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """Return the bytes of one customer message (CRLF line endings, 7-bit clean).

    The body is text/plain; with ``html`` it becomes multipart/alternative, and with an empty
    ``body`` and ``html`` it is HTML only. ``attachments`` are ``(filename, content_type,
    payload)`` and wrap everything in multipart/mixed. Message ids may be given with or
    without angle brackets. ``In-Reply-To`` and ``References`` are written exactly as given, so
    a test can leave either out on purpose. A naive ``date`` is taken as UTC; without one the
    current time is used, and without ``message_id`` a unique one is made. ``headers`` are
    written after the standard ones, verbatim when ASCII (RFC 2047 encoded otherwise), and
    replace a standard header of the same name. With
    ``message_id`` and ``date`` given, the output depends on the arguments only.
    """
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=name, addr_spec=sender)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(_aware(date or datetime.now(UTC)))
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = _bracket(message_id) if message_id else make_msgid(domain=f"mail.{domain}")
    if in_reply_to:
        msg["In-Reply-To"] = _bracket(in_reply_to)
    if references:
        msg["References"] = " ".join(_bracket(ref) for ref in references)
    msg["MIME-Version"] = "1.0"
    for key, value in headers.items():
        del msg[key]
        if value.isascii():
            # ASCII values are kept as given, so a test can write a malformed one on purpose.
            msg.set_raw(key, value)
        else:
            msg[key] = value

    if html is None:
        msg.set_content(body, cte=_text_cte(body))
    elif body:
        msg.set_content(body, cte=_text_cte(body))
        msg.add_alternative(html, subtype="html", cte=_text_cte(html))
    else:
        msg.set_content(html, subtype="html", cte=_text_cte(html))
    for filename, content_type, payload in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)

    _set_stable_boundaries(msg)
    return msg.as_bytes()


def _aware(moment: datetime) -> datetime:
    """Return ``moment`` with a time zone, reading a naive datetime as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bracket(msg_id: str) -> str:
    """Return ``msg_id`` enclosed in exactly one pair of angle brackets."""
    return f"<{msg_id.strip().strip('<>')}>"


def _text_cte(text: str) -> str | None:
    """Choose a 7-bit transfer encoding: the library's choice for ASCII, else quoted-printable.

    The SMTP policy would send non-ASCII text as 8bit; quoted-printable keeps every test
    message 7-bit clean, as most mail clients send it.
    """
    return None if text.isascii() else "quoted-printable"


def _set_stable_boundaries(msg: EmailMessage) -> None:
    """Give every multipart a boundary derived from the Message-ID instead of a random one."""
    seed = str(msg["Message-ID"]).encode("utf-8", "surrogateescape")
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            digest = hashlib.sha1(seed + str(index).encode(), usedforsecurity=False).hexdigest()
            part.set_boundary(f"=_{digest[:28]}")


# ---------------------------------------------------------------------------------------------
# Vocabulary: what customers write about, per language.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Topic:
    """A reason to write: subject lines, the main paragraph, and optional extra sentences."""

    name: str
    weight: float
    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    extras: tuple[str, ...]


@dataclass(frozen=True)
class _Language:
    """Everything needed to write one customer's mail in one language.

    Templates use ``str.format`` fields: ``order``, ``product``, ``date``, ``days``, ``amount``,
    ``carrier``, ``tracking``, ``address``, ``phone``, ``country`` and ``shop``.
    """

    code: str
    weight: float
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    family_first: bool
    months: tuple[str, ...]
    weekdays: tuple[str, ...]
    date_format: str
    product_format: str
    money_format: str
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    mobile_signatures: tuple[str, ...]
    order_block: str
    attachment_notes: tuple[str, ...]
    follow_ups: tuple[str, ...]
    attachment_follow_ups: tuple[str, ...]
    carriers: tuple[str, ...]
    addresses: tuple[str, ...]
    countries: tuple[str, ...]
    phone_format: str
    utc_offsets: tuple[int, ...]
    attribution: str
    invoice_names: tuple[str, ...]
    photo_names: tuple[str, ...]
    topics: tuple[_Topic, ...]


# A product is a brand and its kind of item in each language, with a price.
_PRODUCTS: tuple[tuple[str, dict[str, str], float], ...] = (
    ("Nimbus", {"en": "electric kettle", "de": "Wasserkocher", "fr": "bouilloire électrique",
                "es": "hervidor eléctrico", "zh": "电热水壶"}, 49.90),
    ("Aurora", {"en": "desk lamp", "de": "Schreibtischlampe", "fr": "lampe de bureau",
                "es": "lámpara de escritorio", "zh": "台灯"}, 39.00),
    ("Trailblazer", {"en": "backpack", "de": "Rucksack", "fr": "sac à dos", "es": "mochila",
                     "zh": "双肩包"}, 89.00),
    ("Halcyon", {"en": "throw blanket", "de": "Kuscheldecke", "fr": "plaid", "es": "manta",
                 "zh": "毛毯"}, 59.50),
    ("Verdant", {"en": "ceramic plant pot", "de": "Keramik-Blumentopf",
                 "fr": "pot en céramique", "es": "maceta de cerámica", "zh": "陶瓷花盆"}, 24.90),
    ("Pulse", {"en": "wireless earbuds", "de": "kabellose Ohrhörer",
               "fr": "écouteurs sans fil", "es": "auriculares inalámbricos", "zh": "无线耳机"},
     79.00),
    ("Cascade", {"en": "water bottle", "de": "Trinkflasche", "fr": "gourde",
                 "es": "botella de agua", "zh": "水瓶"}, 19.95),
    ("Ember", {"en": "scented candle set", "de": "Duftkerzen-Set",
               "fr": "coffret de bougies parfumées", "es": "set de velas aromáticas",
               "zh": "香薰蜡烛套装"}, 34.00),
    ("Summit", {"en": "hiking boots", "de": "Wanderschuhe", "fr": "chaussures de randonnée",
                "es": "botas de montaña", "zh": "登山鞋"}, 129.00),
    ("Lumen", {"en": "bike light set", "de": "Fahrradlicht-Set", "fr": "kit d'éclairage vélo",
               "es": "juego de luces para bicicleta", "zh": "自行车灯套装"}, 29.90),
    ("Orbit", {"en": "wall clock", "de": "Wanduhr", "fr": "horloge murale",
               "es": "reloj de pared", "zh": "挂钟"}, 45.00),
    ("Tidal", {"en": "bath towel set", "de": "Handtuch-Set", "fr": "lot de serviettes",
               "es": "juego de toallas", "zh": "浴巾套装"}, 39.90),
    ("Fable", {"en": "children's book set", "de": "Kinderbuch-Set",
               "fr": "coffret de livres pour enfants", "es": "colección de libros infantiles",
               "zh": "儿童绘本套装"}, 27.50),
    ("Kestrel", {"en": "coffee grinder", "de": "Kaffeemühle", "fr": "moulin à café",
                 "es": "molinillo de café", "zh": "磨豆机"}, 64.00),
    ("Mosaic", {"en": "phone case", "de": "Handyhülle", "fr": "coque de téléphone",
                "es": "funda de móvil", "zh": "手机壳"}, 14.90),
    ("Quill", {"en": "fountain pen", "de": "Füllfederhalter", "fr": "stylo-plume",
               "es": "pluma estilográfica", "zh": "钢笔"}, 42.00),
)

_ENGLISH = _Language(
    code="en",
    weight=0.55,
    first_names=("Emma", "Olivia", "Zoë", "Chloë", "Liam", "Noah", "James", "Sophie", "Jack",
                 "Amelia", "Oliver", "Grace", "Renée", "Daniel", "Hannah", "Michael", "Sarah",
                 "David", "Laura", "Ethan", "Priya", "Aidan"),
    last_names=("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas",
                "Roberts", "Walker", "O'Brien", "Clarke", "Hughes", "Wright", "Patel", "Nguyen",
                "Kim", "Murphy"),
    family_first=False,
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    date_format="{month} {day}",
    product_format="{brand} {noun}",
    money_format="${amount:.2f}",
    greetings=("Hi,", "Hello,", "Hi there,", "Dear {shop} team,", "Hello {shop},",
               "Good morning,", "Hi {shop} support,"),
    closings=("Thanks,", "Thank you,", "Best regards,", "Kind regards,", "Cheers,",
              "Many thanks,", "Best,"),
    mobile_signatures=("Sent from my iPhone", "Sent from my Android phone",
                       "Get Outlook for iOS"),
    order_block="Order number: {order}\nProduct: {product}\nTotal paid: {amount}",
    attachment_notes=("I've attached a photo so you can see what I mean.",
                      "Please find the invoice attached.",
                      "I attached a screenshot of the order confirmation."),
    follow_ups=(
        "Hi again,\n\nany news on this? It's been a few days and I haven't heard anything "
        "back.",
        "Hello,\n\nI'm following up on my message below. Could someone please get back to me?",
        "Sorry, one more thing: my order number is {order}, in case you need it.",
        "Hi,\n\nnever mind, the parcel arrived this morning. Thanks anyway!",
        "Thank you for your answer. Could you also tell me when I can expect the refund of "
        "{amount}?",
        "Hi,\n\nI still haven't received a reply. To be honest this is getting a bit "
        "frustrating, I've been waiting for {days} days now.",
        "Thanks for getting back to me so quickly. The address is correct, so please go ahead.",
    ),
    attachment_follow_ups=("Sorry, I forgot the attachment. Here it is.",
                           "Here is the photo you asked for.",
                           "Attached is the receipt from {carrier}."),
    carriers=("UPS", "USPS", "FedEx", "DHL", "Royal Mail", "DPD"),
    addresses=("12 Orchard Lane\nBristol BS1 4DJ\nUnited Kingdom",
               "455 Maple Avenue, Apt 3B\nPortland, OR 97205\nUSA",
               "7 Harbour Road\nDun Laoghaire, Co. Dublin\nIreland",
               "88 King Street West\nToronto, ON M5H 1A1\nCanada"),
    countries=("Canada", "Ireland", "Australia", "Norway", "New Zealand", "Japan"),
    phone_format="+1 555 01{d2} {d4}",
    utc_offsets=(-8, -5, -5, 0, 0, 1, 10),
    attribution="On {wd}, {mon3} {day}, {year} at {hour12}:{minute:02d} {ampm} {sender} wrote:",
    invoice_names=("invoice-{order_digits}.pdf", "receipt.pdf", "Order {order_digits}.pdf"),
    photo_names=("IMG_{n4}.jpg", "photo.jpg", "Screenshot 2026-{n2}-{n2b} at {n2}.{n2b}.png"),
    topics=(
        _Topic(
            "order_status", 0.25,
            ("Where is my order {order}?", "Order {order} not received yet",
             "Still waiting for order {order}", "Status of order {order}",
             "Order {order} - any update?"),
            ("I ordered the {product} on {date} (order {order}) and it still hasn't arrived. "
             "The confirmation said delivery within {days} working days, and that was a while "
             "ago now.",
             "Could you please let me know what is happening with my order {order}? I placed "
             "it on {date} and haven't received a shipping confirmation since.",
             "My order {order} was supposed to arrive last week, but the tracking page hasn't "
             "been updated for {days} days. The last status is \"in transit\" with {carrier}."),
            ("The tracking number I was given is {tracking}, in case that helps.",
             "It's a birthday present, so I'd really appreciate it if you could check soon.",
             "If it got lost, I'd be happy with either a replacement or a refund.",
             "I've ordered from you before and it always came quickly, so I'm a bit worried."),
        ),
        _Topic(
            "refund", 0.15,
            ("Refund request for order {order}", "Refund for {order} not received",
             "Return and refund - order {order}", "Requesting a refund ({order})"),
            ("I sent back the {product} from order {order} on {date} and {carrier} says the "
             "parcel was delivered to you, but I haven't seen the refund of {amount} on my card "
             "yet.",
             "I would like to return the {product} I bought (order {order}). It's unused and "
             "still in its original packaging. How do I get a refund of {amount}?",
             "You confirmed my return for order {order} {days} days ago, but the refund still "
             "hasn't come through. Could you check what is going on?"),
            ("I paid by credit card, if that matters.",
             "Please let me know if you need the return label or any other details.",
             "The return tracking number is {tracking}."),
        ),
        _Topic(
            "shipping", 0.15,
            ("Change delivery address for order {order}", "Shipping question about order {order}",
             "Delivery options for order {order}", "Wrong address on order {order}"),
            ("I just noticed that I entered my old address for order {order}. Could you please "
             "change the delivery address to:\n\n{address}\n\nAs far as I can tell it hasn't "
             "shipped yet.",
             "Is it possible to have order {order} delivered to a pick-up point? I'm away during "
             "the day and {carrier} keeps missing me.",
             "I won't be home from {date} until the end of the month. Could you hold order "
             "{order} until I'm back, or ship it a bit later?"),
            ("Thank you, and sorry for the extra work!",
             "My phone number for the courier is {phone}."),
        ),
        _Topic(
            "broken", 0.15,
            ("Damaged item in order {order}", "{product} arrived broken (order {order})",
             "Problem with my {product} - order {order}", "Defective {product}, order {order}"),
            ("The {product} from order {order} arrived today, but the box was crushed and the "
             "item is broken. I took photos of the packaging and the damage.",
             "After only {days} days of use my {product} (order {order}) stopped working. It "
             "doesn't turn on at all any more, even with a different socket.",
             "Unfortunately the {product} I received (order {order}) has a crack along one "
             "side. It must have happened during shipping."),
            ("I'd prefer a replacement if you have one in stock, otherwise a refund is fine.",
             "Do I need to send it back, or can I just dispose of it?",
             "This is the second time this has happened, so please pack it more carefully."),
        ),
        _Topic(
            "question", 0.2,
            ("Question about the {product}", "{product}: back in stock soon?",
             "Question about order {order}", "Gift wrapping for order {order}?",
             "Do you ship to {country}?"),
            ("I'm thinking of buying the {product}. Does it come with a warranty, and if so, "
             "for how long?",
             "Do you ship to {country}? I'd like to order the {product} for a friend who lives "
             "there.",
             "Is the {product} going to be back in stock soon? It has been sold out for {days} "
             "days now.",
             "Can I still add gift wrapping to order {order}? It's a present and I forgot to "
             "tick the box."),
            ("Also, do you offer a discount for orders of more than one item?",
             "Thanks in advance for your help.",
             "I couldn't find this in the FAQ on your website."),
        ),
        _Topic(
            "thanks", 0.1,
            ("Thank you! (order {order})", "Order {order} arrived - thanks",
             "Great service on order {order}", "Just wanted to say thanks"),
            ("Just a quick note to say that my {product} arrived today and it's even nicer than "
             "in the photos. Thank you for the fast delivery!",
             "Thanks a lot for sorting out the problem with order {order} so quickly. Really "
             "appreciated.",
             "I wanted to let you know that the {product} was a big hit as a present. I'll "
             "definitely order again."),
            ("Have a lovely week!", "I've already recommended your shop to two friends."),
        ),
    ),
)

_GERMAN = _Language(
    code="de",
    weight=0.15,
    first_names=("Jürgen", "Jörg", "Anna", "Lena", "Lukas", "Felix", "Sören", "Maximilian",
                 "Sophie", "Katrin", "Björn", "Jana", "Tobias", "Ute", "Günther", "Zoë"),
    last_names=("Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Becker", "Schäfer",
                "Koch", "Köhler", "Hoffmann", "Groß", "Wagner", "Krüger", "Zimmermann"),
    family_first=False,
    months=("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
            "September", "Oktober", "November", "Dezember"),
    weekdays=("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
    date_format="{day}. {month}",
    product_format="{brand} {noun}",
    money_format="{amount_comma} €",
    greetings=("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,", "Hallo {shop}-Team,",
               "Liebes {shop}-Team,"),
    closings=("Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße", "Danke und Gruß",
              "LG"),
    mobile_signatures=("Von meinem iPhone gesendet", "Gesendet von meinem Smartphone"),
    order_block="Bestellnummer: {order}\nArtikel: {product}\nBezahlt: {amount}",
    attachment_notes=("Ein Foto vom Schaden habe ich angehängt.",
                      "Die Rechnung finden Sie im Anhang."),
    follow_ups=(
        "Hallo,\n\ngibt es hierzu schon etwas Neues? Ich habe seit ein paar Tagen nichts "
        "gehört.",
        "Guten Tag,\n\nich wollte noch einmal an meine Nachricht unten erinnern. Können Sie "
        "sich bitte melden?",
        "Nachtrag: Meine Bestellnummer ist {order}, falls Sie die brauchen.",
        "Hallo,\n\nhat sich erledigt, das Paket ist heute Morgen angekommen. Trotzdem danke!",
        "Danke für die Antwort. Wann kann ich mit der Erstattung von {amount} rechnen?",
    ),
    attachment_follow_ups=("Entschuldigung, ich hatte den Anhang vergessen. Hier ist er.",
                           "Anbei das gewünschte Foto."),
    carriers=("DHL", "Hermes", "DPD", "GLS"),
    addresses=("Hauptstraße 5\n10115 Berlin", "Königsallee 12\n40212 Düsseldorf",
               "Am Mühlbach 3a\n80331 München", "Lindenweg 17\n50667 Köln"),
    countries=("Österreich", "die Schweiz", "Dänemark", "Polen"),
    phone_format="+49 30 {d4}{d3}",
    utc_offsets=(1,),
    attribution="Am {wd}, {day}. {month} {year} um {hour}:{minute:02d} Uhr schrieb {sender}:",
    invoice_names=("Rechnung_{order_digits}.pdf", "Rücksendeschein.pdf", "Beleg.pdf"),
    photo_names=("IMG_{n4}.jpg", "Bildschirmfoto 2026-{n2}-{n2b}.png", "Schaden.jpg"),
    topics=(
        _Topic(
            "order_status", 0.25,
            ("Wo bleibt meine Bestellung {order}?", "Bestellung {order} noch nicht angekommen",
             "Lieferstatus Bestellung {order}"),
            ("ich habe am {date} den {product} bestellt (Bestellung {order}), aber bisher ist "
             "nichts angekommen. In der Bestätigung stand eine Lieferzeit von {days} Werktagen.",
             "könnten Sie mir bitte sagen, was mit meiner Bestellung {order} los ist? Die "
             "Sendungsverfolgung bei {carrier} wurde seit {days} Tagen nicht aktualisiert."),
            ("Die Sendungsnummer lautet {tracking}.",
             "Es ist ein Geburtstagsgeschenk, daher wäre eine schnelle Antwort sehr nett.",
             "Falls das Paket verloren gegangen ist, wäre mir Ersatz oder Erstattung recht."),
        ),
        _Topic(
            "refund", 0.15,
            ("Rückerstattung für Bestellung {order}", "Rücksendung {order} – Erstattung fehlt",
             "Widerruf Bestellung {order}"),
            ("ich habe den {product} aus Bestellung {order} am {date} zurückgeschickt. Laut "
             "{carrier} ist das Paket bei Ihnen angekommen, aber die Erstattung über {amount} "
             "fehlt noch.",
             "hiermit widerrufe ich meine Bestellung {order} ({product}). Der Artikel ist "
             "unbenutzt und originalverpackt. Bitte erstatten Sie mir {amount}."),
            ("Ich habe per Kreditkarte bezahlt.",
             "Die Sendungsnummer der Rücksendung ist {tracking}."),
        ),
        _Topic(
            "shipping", 0.15,
            ("Lieferadresse ändern – Bestellung {order}", "Frage zum Versand von {order}"),
            ("bei Bestellung {order} habe ich leider meine alte Adresse angegeben. Bitte "
             "liefern Sie an:\n\n{address}\n\nSoweit ich sehe, ist sie noch nicht verschickt.",
             "kann Bestellung {order} auch an eine Packstation geliefert werden? Ich bin "
             "tagsüber nicht zu Hause und {carrier} trifft mich nie an."),
            ("Vielen Dank und entschuldigen Sie den Aufwand!",
             "Für den Kurier: meine Telefonnummer ist {phone}."),
        ),
        _Topic(
            "broken", 0.15,
            ("{product} kaputt angekommen (Bestellung {order})",
             "Reklamation Bestellung {order}", "Defekter Artikel – Bestellung {order}"),
            ("der {product} aus Bestellung {order} kam heute an, aber der Karton war "
             "eingedrückt und der Artikel ist beschädigt.",
             "nach nur {days} Tagen funktioniert mein {product} (Bestellung {order}) nicht "
             "mehr. Er lässt sich überhaupt nicht mehr einschalten."),
            ("Ich hätte gerne Ersatz, sonst bitte eine Erstattung.",
             "Muss ich den Artikel zurückschicken?"),
        ),
        _Topic(
            "question", 0.2,
            ("Frage zum {product}", "Frage zu Bestellung {order}",
             "Liefern Sie nach {country}?"),
            ("ich überlege, den {product} zu kaufen. Gibt es darauf eine Garantie, und wie lange?",
             "liefern Sie auch nach {country}? Ich würde den {product} gerne verschenken.",
             "kann ich bei Bestellung {order} noch eine Geschenkverpackung hinzufügen?"),
            ("Vielen Dank im Voraus.", "In den FAQ habe ich dazu nichts gefunden."),
        ),
        _Topic(
            "thanks", 0.1,
            ("Vielen Dank! (Bestellung {order})", "Bestellung {order} angekommen – danke"),
            ("nur kurz: der {product} ist heute angekommen und gefällt mir sehr. Danke für die "
             "schnelle Lieferung!",
             "vielen Dank, dass Sie das Problem mit Bestellung {order} so schnell gelöst haben."),
            ("Schöne Woche noch!", "Ich bestelle gerne wieder."),
        ),
    ),
)

_FRENCH = _Language(
    code="fr",
    weight=0.12,
    first_names=("Zoë", "Élodie", "Léa", "Chloé", "Hélène", "François", "Jérôme", "Théo",
                 "Amélie", "Mathis", "Inès", "Noël", "Gaëlle", "Julien", "Céline"),
    last_names=("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Fournier",
                "Rousseau", "Mercier", "Bonnet", "Faure", "Garnier", "Lemaître"),
    family_first=False,
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    weekdays=("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    date_format="{day} {month}",
    product_format="{noun} {brand}",
    money_format="{amount_comma} €",
    greetings=("Bonjour,", "Bonjour Madame, Monsieur,", "Bonjour l'équipe {shop},",
               "Bonsoir,"),
    closings=("Cordialement,", "Merci d'avance,", "Bien à vous,", "Bonne journée,"),
    mobile_signatures=("Envoyé de mon iPhone", "Envoyé depuis mon mobile"),
    order_block="Numéro de commande : {order}\nArticle : {product}\nMontant payé : {amount}",
    attachment_notes=("Je vous joins une photo du problème.",
                      "Vous trouverez la facture en pièce jointe."),
    follow_ups=(
        "Bonjour,\n\navez-vous des nouvelles ? Je n'ai toujours pas de réponse.",
        "Bonjour,\n\nje me permets de vous relancer concernant mon message ci-dessous.",
        "Petite précision : mon numéro de commande est {order}.",
        "Bonjour,\n\nc'est réglé, le colis est arrivé ce matin. Merci quand même !",
    ),
    attachment_follow_ups=("Désolé, j'avais oublié la pièce jointe. La voici.",
                           "Voici la photo demandée."),
    carriers=("Colissimo", "Chronopost", "Mondial Relay", "DPD"),
    addresses=("12 rue des Lilas\n69003 Lyon", "4 avenue Jean Jaurès\n31000 Toulouse",
               "27 boulevard de la Libération\n13001 Marseille"),
    countries=("la Belgique", "la Suisse", "le Canada", "le Luxembourg"),
    phone_format="+33 6 {d2} {d2} {d2} {d2}",
    utc_offsets=(1,),
    attribution="Le {wd} {day} {month} {year} à {hour}:{minute:02d}, {sender} a écrit :",
    invoice_names=("facture_{order_digits}.pdf", "reçu.pdf", "bon de retour.pdf"),
    photo_names=("IMG_{n4}.jpg", "photo_colis.jpg", "Capture d'écran 2026-{n2}-{n2b}.png"),
    topics=(
        _Topic(
            "order_status", 0.25,
            ("Où en est ma commande {order} ?", "Commande {order} non reçue",
             "Suivi de la commande {order}"),
            ("j'ai commandé l'article {product} le {date} (commande {order}) et je ne l'ai "
             "toujours pas reçu. Le délai annoncé était de {days} jours ouvrés.",
             "pourriez-vous me dire où en est ma commande {order} ? Le suivi {carrier} n'a pas "
             "bougé depuis {days} jours."),
            ("Le numéro de suivi est {tracking}.",
             "C'est un cadeau d'anniversaire, une réponse rapide serait très appréciée."),
        ),
        _Topic(
            "refund", 0.15,
            ("Demande de remboursement – commande {order}", "Remboursement {order} non reçu"),
            ("j'ai renvoyé l'article {product} de la commande {order} le {date}. D'après "
             "{carrier}, le colis vous a été livré, mais je n'ai pas encore été remboursé de "
             "{amount}.",
             "je souhaite retourner l'article {product} (commande {order}). Il est neuf et dans "
             "son emballage d'origine. Comment obtenir le remboursement de {amount} ?"),
            ("J'ai payé par carte bancaire.", "Le numéro de suivi du retour est {tracking}."),
        ),
        _Topic(
            "shipping", 0.15,
            ("Changement d'adresse – commande {order}", "Livraison de la commande {order}"),
            ("je me suis trompé d'adresse pour la commande {order}. Pourriez-vous livrer à :"
             "\n\n{address}\n\nElle ne semble pas encore expédiée.",
             "est-il possible de livrer la commande {order} en point relais ? {carrier} ne me "
             "trouve jamais chez moi."),
            ("Merci beaucoup et désolé pour le dérangement !",),
        ),
        _Topic(
            "broken", 0.15,
            ("Article endommagé – commande {order}", "Produit défectueux (commande {order})"),
            ("l'article {product} de la commande {order} est arrivé aujourd'hui, mais le carton "
             "était écrasé et l'article est cassé.",
             "au bout de {days} jours seulement, mon article {product} (commande {order}) ne "
             "fonctionne plus du tout."),
            ("Je préférerais un échange, sinon un remboursement.",
             "Dois-je vous le renvoyer ?"),
        ),
        _Topic(
            "question", 0.2,
            ("Question sur l'article {product}", "Question sur la commande {order}",
             "Livrez-vous en {country} ?"),
            ("je pense acheter l'article {product}. Est-il garanti, et pour combien de temps ?",
             "livrez-vous en {country} ? J'aimerais offrir l'article {product} à une amie."),
            ("Merci d'avance pour votre aide.",),
        ),
        _Topic(
            "thanks", 0.1,
            ("Merci ! (commande {order})", "Commande {order} bien reçue"),
            ("juste un petit mot pour vous dire que l'article {product} est arrivé et qu'il est "
             "parfait. Merci pour la livraison rapide !",),
            ("Très bonne journée à vous !",),
        ),
    ),
)

_SPANISH = _Language(
    code="es",
    weight=0.12,
    first_names=("José", "María", "Lucía", "Sofía", "Alejandro", "Martín", "Inés", "Álvaro",
                 "Raúl", "Carmen", "Andrés", "Begoña", "Javier", "Nuria", "Íñigo"),
    last_names=("García", "Martínez", "López", "Sánchez", "Pérez", "González", "Rodríguez",
                "Fernández", "Gómez", "Muñoz", "Jiménez", "Díaz", "Núñez", "Ibáñez"),
    family_first=False,
    months=("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
            "septiembre", "octubre", "noviembre", "diciembre"),
    weekdays=("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
    date_format="{day} de {month}",
    product_format="{noun} {brand}",
    money_format="{amount_comma} €",
    greetings=("Hola,", "Buenos días,", "Buenas tardes,", "Hola equipo de {shop},",
               "Estimados señores:"),
    closings=("Saludos,", "Un saludo,", "Gracias de antemano,", "Atentamente,"),
    mobile_signatures=("Enviado desde mi iPhone", "Enviado desde mi móvil"),
    order_block="Número de pedido: {order}\nArtículo: {product}\nImporte: {amount}",
    attachment_notes=("Adjunto una foto del daño.", "Les adjunto la factura."),
    follow_ups=(
        "Hola,\n\n¿hay alguna novedad? Todavía no he recibido respuesta.",
        "Buenos días,\n\nles escribo de nuevo por el mensaje de abajo. ¿Podrían contestarme?",
        "Una cosa más: mi número de pedido es {order}.",
        "Hola,\n\nya está, el paquete ha llegado esta mañana. ¡Gracias de todos modos!",
    ),
    attachment_follow_ups=("Perdón, se me olvidó el adjunto. Aquí está.",
                           "Les envío la foto que me pidieron."),
    carriers=("Correos", "SEUR", "MRW", "GLS"),
    addresses=("Calle Mayor 14, 3º B\n28013 Madrid", "Avenida de la Constitución 21\n"
               "41004 Sevilla", "Carrer de Mallorca 201\n08036 Barcelona"),
    countries=("Portugal", "México", "Andorra", "Francia"),
    phone_format="+34 6{d2} {d3} {d3}",
    utc_offsets=(1, 1, -3, -6),
    attribution="El {wd}, {day} {mon3l} {year} a las {hour}:{minute:02d}, {sender} escribió:",
    invoice_names=("factura_{order_digits}.pdf", "recibo.pdf", "devolución.pdf"),
    photo_names=("IMG_{n4}.jpg", "foto_paquete.jpg", "Captura de pantalla {n2}-{n2b}.png"),
    topics=(
        _Topic(
            "order_status", 0.25,
            ("¿Dónde está mi pedido {order}?", "Pedido {order} sin recibir",
             "Estado del pedido {order}"),
            ("el {date} compré el artículo {product} (pedido {order}) y todavía no ha llegado. "
             "La confirmación decía que tardaría {days} días laborables.",
             "¿podrían decirme qué pasa con mi pedido {order}? El seguimiento de {carrier} no "
             "se ha actualizado desde hace {days} días."),
            ("El número de seguimiento es {tracking}.",
             "Es un regalo de cumpleaños, así que agradecería una respuesta pronto."),
        ),
        _Topic(
            "refund", 0.15,
            ("Solicitud de reembolso – pedido {order}", "Reembolso del pedido {order}"),
            ("devolví el artículo {product} del pedido {order} el {date} y {carrier} indica que "
             "lo recibieron, pero aún no me han devuelto {amount}.",
             "quiero devolver el artículo {product} (pedido {order}). Está sin usar y en su "
             "embalaje original. ¿Cómo solicito el reembolso de {amount}?"),
            ("Pagué con tarjeta de crédito.", "El número de seguimiento es {tracking}."),
        ),
        _Topic(
            "shipping", 0.15,
            ("Cambio de dirección – pedido {order}", "Envío del pedido {order}"),
            ("me equivoqué de dirección en el pedido {order}. ¿Podrían enviarlo a:\n\n"
             "{address}\n\nCreo que todavía no ha salido.",
             "¿es posible enviar el pedido {order} a un punto de recogida? {carrier} nunca me "
             "encuentra en casa."),
            ("¡Gracias y perdón por las molestias!",),
        ),
        _Topic(
            "broken", 0.15,
            ("Artículo dañado – pedido {order}", "Producto defectuoso (pedido {order})"),
            ("el artículo {product} del pedido {order} llegó hoy, pero la caja estaba aplastada "
             "y el artículo está roto.",
             "después de solo {days} días, mi {product} (pedido {order}) ha dejado de "
             "funcionar."),
            ("Prefiero un cambio; si no es posible, el reembolso.", "¿Tengo que devolverlo?"),
        ),
        _Topic(
            "question", 0.2,
            ("Pregunta sobre el artículo {product}", "Consulta sobre el pedido {order}",
             "¿Envían a {country}?"),
            ("estoy pensando en comprar el artículo {product}. ¿Tiene garantía? ¿De cuánto "
             "tiempo?",
             "¿envían a {country}? Quiero regalar el artículo {product} a una amiga."),
            ("Muchas gracias por su ayuda.",),
        ),
        _Topic(
            "thanks", 0.1,
            ("¡Gracias! (pedido {order})", "Pedido {order} recibido"),
            ("solo quería decirles que el artículo {product} llegó hoy y es precioso. ¡Gracias "
             "por la rapidez!",),
            ("¡Que tengan una buena semana!",),
        ),
    ),
)

_CHINESE = _Language(
    code="zh",
    weight=0.06,
    first_names=("芳|fang", "娜|na", "伟|wei", "静|jing", "磊|lei", "敏|min", "秀英|xiuying",
                 "晓明|xiaoming", "丽|li"),
    last_names=("王|wang", "李|li", "张|zhang", "刘|liu", "陈|chen", "杨|yang", "黄|huang",
                "赵|zhao"),
    family_first=True,
    months=tuple(f"{n}月" for n in range(1, 13)),
    weekdays=("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    date_format="{month}{day}日",
    product_format="{brand}{noun}",
    money_format="¥{amount:.2f}",
    greetings=("您好，", "你好，", "{shop}客服您好，"),
    closings=("谢谢！", "祝好，", "期待您的回复。"),
    mobile_signatures=("发自我的iPhone",),
    order_block="订单号：{order}\n商品：{product}\n实付：{amount}",
    attachment_notes=("附件是损坏的照片。", "发票在附件里。"),
    follow_ups=(
        "您好，\n\n请问这件事有进展吗？几天了还没有收到回复。",
        "补充一下：我的订单号是{order}。",
        "您好，\n\n包裹今天早上已经收到了，谢谢！",
    ),
    attachment_follow_ups=("抱歉，刚才忘了加附件，现在补上。",),
    carriers=("SF Express", "EMS", "DHL"),
    addresses=("上海市徐汇区漕溪北路88号", "北京市朝阳区建国路93号", "广州市天河区体育西路191号"),
    countries=("新加坡", "马来西亚", "台湾", "澳大利亚"),
    phone_format="+86 138 {d4} {d4}",
    utc_offsets=(8,),
    attribution="{sender} 于{year}年{mnum}月{day}日{wd} {hour}:{minute:02d}写道：",
    invoice_names=("发票_{order_digits}.pdf", "invoice-{order_digits}.pdf"),
    photo_names=("IMG_{n4}.jpg", "照片.jpg", "截图_{n2}{n2b}.png"),
    topics=(
        _Topic(
            "order_status", 0.3,
            ("订单{order}什么时候发货？", "订单{order}还没收到", "查询订单{order}物流"),
            ("我在{date}购买了{product}（订单{order}），到现在还没有收到。页面上说{days}个工作日"
             "内送达。",
             "请问我的订单{order}现在是什么情况？{carrier}的物流信息已经{days}天没有更新了。"),
            ("物流单号是{tracking}。", "这是生日礼物，希望能尽快处理。"),
        ),
        _Topic(
            "refund", 0.2,
            ("订单{order}申请退款", "订单{order}退款还没到账"),
            ("我在{date}把订单{order}的{product}寄回去了，{carrier}显示已签收，但是{amount}的"
             "退款还没有到账。",),
            ("我是用信用卡付款的。",),
        ),
        _Topic(
            "broken", 0.2,
            ("订单{order}商品损坏", "{product}有质量问题（订单{order}）"),
            ("今天收到了订单{order}的{product}，但是外箱被压坏了，东西也碎了。",
             "{product}才用了{days}天就坏了（订单{order}），完全开不了机。"),
            ("希望可以换一个新的，不行的话就退款。",),
        ),
        _Topic(
            "question", 0.2,
            ("关于{product}的问题", "请问可以寄到{country}吗？"),
            ("我想买{product}，请问有保修吗？保修多久？",
             "请问可以寄到{country}吗？我想把{product}送给朋友。"),
            ("先谢谢了。",),
        ),
        _Topic(
            "thanks", 0.1,
            ("谢谢！（订单{order}）",),
            ("{product}今天收到了，比照片上还好看，谢谢你们这么快发货！",),
            ("祝一切顺利！",),
        ),
    ),
)

_LANGUAGES: tuple[_Language, ...] = (_ENGLISH, _GERMAN, _FRENCH, _SPANISH, _CHINESE)

# Domain names are built from these parts, all under TLDs reserved for examples and tests.
_DOMAIN_WORDS = ("northwind", "bluefin", "lakeside", "orchard", "granite", "sunbeam", "harbor",
                 "meadow", "copper", "willow", "aurora", "cedar", "pioneer", "summit",
                 "riverside", "evergreen", "falcon", "maple", "kestrel", "lumen", "brightwater",
                 "oakridge", "silverline", "redbrick", "seashell", "tundra")
_DOMAIN_SUFFIXES = ("mail", "post", "net", "web", "online", "", "-co", "-home", "box")
_DOMAIN_TLDS = ("example", "test", "example.net", "example.org")

# The mail client a customer uses decides the look of their HTML and Message-IDs.
_CLIENTS: tuple[tuple[str, float], ...] = (
    ("gmail", 0.45), ("apple", 0.25), ("outlook", 0.2), ("thunderbird", 0.1))

_CLIENT_HEADERS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "gmail": (),
    "apple": (("X-Mailer", "iPhone Mail (21D61)"), ("X-Mailer", "Apple Mail (2.3774.400.31)")),
    "outlook": (("X-Mailer", "Microsoft Outlook 16.0"),),
    "thunderbird": (("User-Agent", "Mozilla Thunderbird"),),
}

_OUTLOOK_HEAD = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:w="urn:schemas-microsoft-com:office:word">\n'
    '<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
    "<style><!--\n"
    "@font-face\n\t{font-family:\"Cambria Math\";\n\tpanose-1:2 4 5 3 5 4 6 3 2 4;}\n"
    "@font-face\n\t{font-family:Calibri;\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}\n"
    "p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\tfont-size:11.0pt;\n"
    "\tfont-family:\"Calibri\",sans-serif;}\n"
    "span.EmailStyle17\n\t{mso-style-type:personal-compose;\n\tfont-family:\"Calibri\","
    "sans-serif;\n\tcolor:windowtext;}\n"
    ".MsoChpDefault\n\t{mso-style-type:export-only;\n\tfont-family:\"Calibri\",sans-serif;}\n"
    "@page WordSection1\n\t{size:612.0pt 792.0pt;\n\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}\n"
    "div.WordSection1\n\t{page:WordSection1;}\n"
    "--></style>\n</head>\n"
)

_GMAIL_QUOTE_STYLE = "margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);" \
    "padding-left:1ex"


# ---------------------------------------------------------------------------------------------
# The fast MIME writer used for the corpus.
# ---------------------------------------------------------------------------------------------

_CRLF = "\r\n"
_UTF8_B = Charset("utf-8")
_UTF8_Q = Charset("utf-8")
_UTF8_Q.header_encoding = QP
_UTF8_B.header_encoding = BASE64


@dataclass(frozen=True)
class _Part:
    """A MIME entity: its header lines (ASCII, already folded) and its encoded body."""

    headers: tuple[str, ...]
    body: bytes

    def render(self) -> bytes:
        """Return the entity as bytes, headers then a blank line then the body."""
        return ("\r\n".join(self.headers) + "\r\n\r\n").encode("ascii") + self.body


def _encode_header(name: str, value: str, charset: Charset) -> str:
    """Return ``Name: value`` folded, with RFC 2047 encoded words when ``value`` is not ASCII."""
    text = Header(value, "us-ascii" if value.isascii() else charset, header_name=name)
    return f"{name}: {text.encode(linesep=_CRLF)}"


def _encode_address(name: str, addr: str, charset: Charset) -> str:
    """Return a mailbox with its display name quoted or RFC 2047 encoded as needed."""
    if not name or name.isascii():
        return formataddr((name, addr))
    return f"{Header(name, charset).encode(linesep=_CRLF)} <{addr}>"


def _fold_ids(name: str, ids: Sequence[str]) -> str:
    """Return a header of message ids in angle brackets, folded before 78 columns."""
    lines: list[str] = [f"{name}:"]
    for msg_id in ids:
        token = f"<{msg_id}>"
        if len(lines[-1]) + 1 + len(token) > 78 and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += f" {token}"
    return "\r\n".join(lines)


def _crlf(data: bytes) -> bytes:
    """Return ``data`` with every LF line ending turned into CRLF."""
    return data.replace(b"\n", b"\r\n")


def _text_part(subtype: str, text: str, cjk: bool) -> _Part:
    """Return a text part, 7bit when possible, else base64 for CJK and quoted-printable."""
    data = text.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    headers = [f'Content-Type: text/{subtype}; charset="UTF-8"']
    if text.isascii() and max(map(len, text.split("\n"))) <= 76:
        headers.append("Content-Transfer-Encoding: 7bit")
        return _Part(tuple(headers), _crlf(data))
    if cjk:
        # Base64 text carries canonical CRLF line breaks inside the encoding (RFC 2045).
        headers.append("Content-Transfer-Encoding: base64")
        return _Part(tuple(headers), _crlf(_base64_lines(_crlf(data))))
    headers.append("Content-Transfer-Encoding: quoted-printable")
    return _Part(tuple(headers), _crlf(binascii.b2a_qp(data)))


def _base64_lines(data: bytes) -> bytes:
    """Return ``data`` base64 encoded in 76-column lines, each ending in LF."""
    return b"".join(binascii.b2a_base64(data[i:i + 57]) for i in range(0, len(data), 57))


def _attachment_part(filename: str, content_type: str, payload: bytes) -> _Part:
    """Return a base64 attachment; a non-ASCII file name is written per RFC 2231."""
    if filename.isascii():
        name_param = f'name="{filename}"'
        file_param = f'filename="{filename}"'
    else:
        encoded = encode_rfc2231(filename, "utf-8")
        name_param = f"name*={encoded}"
        file_param = f"filename*={encoded}"
    headers = (
        f"Content-Type: {content_type};\r\n {name_param}",
        f"Content-Disposition: attachment;\r\n {file_param}",
        "Content-Transfer-Encoding: base64",
    )
    return _Part(headers, _crlf(_base64_lines(payload)))


def _multipart(subtype: str, boundary: str, parts: Sequence[_Part]) -> _Part:
    """Return a multipart entity holding ``parts``."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    body = delimiter + (b"\r\n" + delimiter).join(part.render() for part in parts)
    body += f"\r\n--{boundary}--\r\n".encode("ascii")
    return _Part((f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"',), body)


# ---------------------------------------------------------------------------------------------
# Corpus state: customers, threads, messages.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Customer:
    """A person who writes to the business, always in one language and from one client."""

    address: str
    display_name: str
    first_name: str
    language: _Language
    client: str
    tz: timezone
    phone: str
    header_charset: Charset


@dataclass(frozen=True)
class _Written:
    """What a later reply needs to know about a message it quotes."""

    message_id: str
    date: datetime
    text: str
    html: str


@dataclass
class _Thread:
    """A generated conversation: one customer, one subject, its messages in order."""

    key: int
    customer: _Customer
    subject: str
    order: str
    product: str
    amount: str
    messages: list[_Written] = field(default_factory=list)


@dataclass(frozen=True)
class _Content:
    """The words of one message before MIME encoding."""

    text: str
    html: str


class _CorpusWriter:
    """Writes one corpus; all randomness comes from ``rng``, so output depends on the seed."""

    # A conversation stops getting follow-ups at this length, which keeps quoted history short.
    MAX_THREAD_LENGTH = 6

    def __init__(self, rng: random.Random, business: str, domain_count: int,
                 customer_count: int) -> None:
        self.rng = rng
        self.business = business.lower()
        business_domain = self.business.rpartition("@")[2] or "acme.example"
        self.business_domain = business_domain
        self.shop = business_domain.split(".")[0].capitalize()
        self.to_header = formataddr((f"{self.shop} Support", self.business))
        self.used_ids: set[str] = set()
        self.used_subjects: dict[str, set[str]] = {}
        self.order_counter = 104200 + rng.randrange(500)
        domains = self._domains(domain_count)
        # Most domains sign their mail with DKIM; the selector is fixed per domain.
        self.dkim_selectors = {domain: rng.choice(("20230601", "google", "selector1", "s1",
                                                   "mail")) if rng.random() < 0.7 else None
                               for domain in domains}
        self.customers = self._customers(customer_count, domains)
        weights = [rng.paretovariate(2.5) for _ in self.customers]
        self.customer_weights = list(itertools.accumulate(weights))
        self.threads: list[_Thread] = []

    # -- population ---------------------------------------------------------------------------

    def _domains(self, count: int) -> list[str]:
        """Return ``count`` distinct customer domains in a random but repeatable order."""
        combos = [f"{word}{suffix}.{tld}" for word in _DOMAIN_WORDS
                  for suffix in _DOMAIN_SUFFIXES for tld in _DOMAIN_TLDS]
        self.rng.shuffle(combos)
        domains = combos[:count]
        extra = itertools.count(2)
        while len(domains) < count:
            domains.append(f"{self.rng.choice(_DOMAIN_WORDS)}{next(extra)}.example")
        return domains

    def _customers(self, count: int, domains: Sequence[str]) -> list[_Customer]:
        """Return ``count`` customers with distinct addresses on a few popular domains."""
        domain_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in
                                                   range(len(domains))))
        language_weights = list(itertools.accumulate(lang.weight for lang in _LANGUAGES))
        client_weights = list(itertools.accumulate(weight for _, weight in _CLIENTS))
        addresses: set[str] = set()
        customers = []
        for _ in range(count):
            language = self.rng.choices(_LANGUAGES, cum_weights=language_weights)[0]
            # Some English writers carry names from elsewhere, as real customers do.
            name_source = language
            if language is _ENGLISH and self.rng.random() < 0.15:
                name_source = self.rng.choice(_LANGUAGES[1:])
            display, first, ascii_first, ascii_last = self._name(name_source)
            domain = self.rng.choices(domains, cum_weights=domain_weights)[0]
            address = self._address(ascii_first, ascii_last, domain, addresses)
            client = self.rng.choices(_CLIENTS, cum_weights=client_weights)[0][0]
            offset = self.rng.choice(language.utc_offsets)
            customers.append(_Customer(
                address=address,
                display_name=display,
                first_name=first,
                language=language,
                client=client,
                tz=timezone(timedelta(hours=offset)),
                phone=self._fill_digits(language.phone_format),
                header_charset=_UTF8_B if client in ("gmail", "outlook") else _UTF8_Q,
            ))
        return customers

    def _name(self, language: _Language) -> tuple[str, str, str, str]:
        """Return display name, first name, and the ASCII forms of first and last name."""
        first = self.rng.choice(language.first_names)
        last = self.rng.choice(language.last_names)
        if language.family_first:
            first, ascii_first = first.split("|")
            last, ascii_last = last.split("|")
            return f"{last}{first}", f"{last}{first}", ascii_first, ascii_last
        return f"{first} {last}", first, _ascii_fold(first), _ascii_fold(last)

    def _address(self, first: str, last: str, domain: str, taken: set[str]) -> str:
        """Return a new lower-case address in one of the usual local-part styles."""
        styles = (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}",
                  f"{last}.{first}", f"{first}.{last}{self.rng.randrange(10, 99)}",
                  f"{first}{self.rng.randrange(1970, 2005)}")
        local = self.rng.choice(styles)
        address = f"{local}@{domain}"
        suffix = 2
        while address in taken:
            address = f"{local}{suffix}@{domain}"
            suffix += 1
        taken.add(address)
        return address

    def _fill_digits(self, template: str) -> str:
        """Fill ``{d2}``-style fields with random digits of that length."""
        return re.sub(r"\{d(\d)\}",
                      lambda m: "".join(str(self.rng.randrange(10)) for _ in
                                        range(int(m.group(1)))), template)

    # -- identifiers --------------------------------------------------------------------------

    def _message_id(self, customer: _Customer) -> str:
        """Return a new Message-ID (no brackets) in the style of the customer's client."""
        domain = f"mail.{customer.address.rpartition('@')[2]}"
        while True:
            bits = self.rng.getrandbits(128)
            if customer.client == "gmail":
                local = "CA" + binascii.b2a_base64(bits.to_bytes(16, "big") +
                                                   self.rng.randbytes(14),
                                                   newline=False).decode().translate(_URLSAFE)
            elif customer.client == "apple":
                local = str(uuid.UUID(int=bits)).upper()
            elif customer.client == "outlook":
                local = f"{bits >> 80:012x}${(bits >> 40) & 0xFFFFFFFF:08x}$" \
                        f"{bits & 0xFFFFFFFF:08x}$"
            else:
                local = str(uuid.UUID(int=bits))
            msg_id = f"{local}@{domain}"
            if msg_id not in self.used_ids:
                self.used_ids.add(msg_id)
                return msg_id

    def _boundary(self) -> str:
        """Return a Gmail-like MIME boundary."""
        return f"0000000000{self.rng.getrandbits(56):014x}"

    # -- words --------------------------------------------------------------------------------

    def _fields(self, customer: _Customer, order: str, product: str, amount: str,
                when: datetime) -> dict[str, object]:
        """Return the template fields for one message."""
        lang = customer.language
        ordered = when - timedelta(days=self.rng.randrange(2, 20))
        return {
            "order": order,
            "product": product,
            "amount": amount,
            "date": lang.date_format.format(month=lang.months[ordered.month - 1],
                                            day=ordered.day),
            "days": self.rng.randrange(3, 22),
            "carrier": self.rng.choice(lang.carriers),
            "tracking": f"{self.rng.choice(('1Z', 'JJD', 'LX', 'SF'))}"
                        f"{self.rng.getrandbits(40):012d}",
            "address": self.rng.choice(lang.addresses),
            "phone": customer.phone,
            "country": self.rng.choice(lang.countries),
            "shop": self.shop,
        }

    def _product(self, lang: _Language) -> tuple[str, str]:
        """Return a random product's name in ``lang`` and its price formatted as money."""
        brand, nouns, price = self.rng.choice(_PRODUCTS)
        quantity = self.rng.choice((1, 1, 1, 2))
        amount = price * quantity + self.rng.choice((0.0, 0.0, 4.95, 5.90))
        money = lang.money_format.format(amount=amount,
                                         amount_comma=f"{amount:.2f}".replace(".", ","))
        return lang.product_format.format(brand=brand, noun=nouns[lang.code]), money

    def _signature(self, customer: _Customer) -> str:
        """Return a closing and a signature in one of the usual shapes."""
        lang = customer.language
        closing = self.rng.choice(lang.closings)
        roll = self.rng.random()
        if roll < 0.35:
            return f"{closing}\n{customer.first_name}"
        if roll < 0.6:
            return f"{closing}\n{customer.display_name}"
        if roll < 0.8:
            return f"{closing}\n{customer.display_name}\n\n-- \n{customer.display_name}\n" \
                   f"{customer.phone}"
        return f"{closing}\n{customer.first_name}\n\n{self.rng.choice(lang.mobile_signatures)}"

    def _new_text(self, customer: _Customer, topic: _Topic, values: Mapping[str, object],
                  attached: bool) -> str:
        """Return the plain text of a first message about ``topic``."""
        lang = customer.language
        opener = self.rng.choice(topic.openers).format_map(values)
        paragraphs = [self.rng.choice(lang.greetings).format_map(values), opener]
        if topic.name != "thanks" and self.rng.random() < 0.55:
            paragraphs.append(lang.order_block.format_map(values))
        extras = self.rng.sample(topic.extras, k=min(len(topic.extras), self.rng.randrange(1, 4)))
        paragraphs.extend(extra.format_map(values) for extra in extras)
        if attached:
            paragraphs.append(self.rng.choice(lang.attachment_notes))
        paragraphs.append(self._signature(customer))
        return "\n\n".join(paragraphs)

    def _follow_up_text(self, customer: _Customer, values: Mapping[str, object],
                        attached: bool) -> str:
        """Return the new text of a follow-up, without the quoted history."""
        lang = customer.language
        pool = lang.attachment_follow_ups if attached else lang.follow_ups
        text = self.rng.choice(pool).format_map(values)
        return f"{text}\n\n{self._signature(customer)}"

    def _subject(self, customer: _Customer, topic: _Topic, values: Mapping[str, object]) -> str:
        """Return a subject this customer has not used before for a new conversation."""
        used = self.used_subjects.setdefault(customer.address, set())
        subject = ""
        for _ in range(4):
            subject = self.rng.choice(topic.subjects).format_map(values)
            if subject.lower() not in used:
                break
        if subject.lower() in used:
            subject = f"{subject} ({values['order']})"
        used.add(subject.lower())
        return subject

    def _attribution(self, customer: _Customer, written: _Written) -> str:
        """Return the Gmail-style line that introduces a quoted message, in its language."""
        lang = customer.language
        local = written.date.astimezone(customer.tz)
        sender = f"{customer.display_name} <{customer.address}>"
        if lang.code == "es":
            sender = f"{customer.display_name} (<{customer.address}>)"
        month = lang.months[local.month - 1]
        return lang.attribution.format(
            wd=lang.weekdays[local.weekday()], day=local.day, month=month, mon3=month[:3],
            mon3l=month[:3], mnum=local.month, year=local.year, hour=local.hour,
            hour12=(local.hour - 1) % 12 + 1, ampm="AM" if local.hour < 12 else "PM",
            minute=local.minute, sender=sender)

    def _html(self, customer: _Customer, text: str) -> str:
        """Return the inner HTML a client of ``customer``'s kind makes of ``text``."""
        paragraphs = [escape(p, quote=False).replace("\n", "<br>\n") for p in text.split("\n\n")]
        if customer.client == "outlook":
            return "\n".join(f'<p class="MsoNormal">{p}<o:p></o:p></p>\n'
                             '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>' for p in paragraphs)
        if customer.client == "thunderbird":
            return "\n".join(f"<p>{p}</p>" for p in paragraphs)
        return '<div dir="ltr">' + "<div><br></div>\n".join(
            f"<div>{p}</div>\n" for p in paragraphs) + "</div>"

    def _document(self, customer: _Customer, inner: str) -> str:
        """Wrap inner HTML in the document a client of ``customer``'s kind sends."""
        if customer.client == "outlook":
            return (f'{_OUTLOOK_HEAD}<body lang="{customer.language.code.upper()}" '
                    'link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n'
                    f'<div class="WordSection1">\n{inner}\n</div>\n</body>\n</html>\n')
        if customer.client == "apple":
            return ('<html><head><meta http-equiv="content-type" content="text/html; '
                    'charset=utf-8"></head><body dir="auto">\n' + inner + "\n</body></html>\n")
        if customer.client == "thunderbird":
            return ("<!DOCTYPE html>\n<html>\n  <head>\n    <meta http-equiv=\"content-type\" "
                    "content=\"text/html; charset=UTF-8\">\n  </head>\n  <body>\n"
                    + inner + "\n  </body>\n</html>\n")
        return inner + "\n"

    def _content(self, customer: _Customer, new_text: str, quoted: _Written | None) -> _Content:
        """Return text and inner HTML of a message, with the quoted history of a reply."""
        if customer.client == "thunderbird":
            new_text = _wrap(new_text, 72)
        html = self._html(customer, new_text)
        if quoted is None:
            return _Content(new_text, html)
        attribution = self._attribution(customer, quoted)
        quoted_lines = "\n".join(f"> {line}" if line else ">"
                                 for line in quoted.text.split("\n"))
        text = f"{new_text}\n\n{attribution}\n{quoted_lines}"
        html += (f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                 f"{escape(attribution)}<br></div>"
                 f'<blockquote class="gmail_quote" style="{_GMAIL_QUOTE_STYLE}">'
                 f"{quoted.html}</blockquote></div>")
        return _Content(text, html)

    # -- attachments --------------------------------------------------------------------------

    def _attachment(self, lang: _Language, order: str) -> tuple[str, str, bytes]:
        """Return a small PDF, PNG or JPEG-like file of 1.5 to 15 KB."""
        size = int(math.exp(self.rng.uniform(math.log(1500), math.log(14800))))
        values = {"order_digits": order.lstrip("#"), "n4": self.rng.randrange(1000, 9999),
                  "n2": f"{self.rng.randrange(1, 12):02d}",
                  "n2b": f"{self.rng.randrange(1, 28):02d}"}
        kind = self.rng.random()
        if kind < 0.45:
            name = self.rng.choice(lang.invoice_names).format_map(values)
            return name, "application/pdf", _pdf_like(self.rng, size)
        name = self.rng.choice(lang.photo_names).format_map(values)
        if name.endswith(".png"):
            return name, "image/png", _png_like(self.rng, size)
        return name, "image/jpeg", _jpeg_like(self.rng, size)

    # -- messages -----------------------------------------------------------------------------

    def new_thread(self, when: datetime, html_only: bool, alternative: bool,
                   attached: bool) -> GeneratedMail:
        """Return the first message of a new conversation from a weighted-random customer."""
        customer = self.rng.choices(self.customers, cum_weights=self.customer_weights)[0]
        lang = customer.language
        self.order_counter += self.rng.randrange(1, 9)
        order = f"#{self.order_counter}"
        product, amount = self._product(lang)
        topic = self.rng.choices(lang.topics, weights=[t.weight for t in lang.topics])[0]
        values = self._fields(customer, order, product, amount, when)
        subject = self._subject(customer, topic, values)
        thread = _Thread(len(self.threads), customer, subject, order, product, amount)
        self.threads.append(thread)
        text = self._new_text(customer, topic, values, attached)
        content = self._content(customer, text, None)
        attachment = self._attachment(lang, order) if attached else None
        return self._emit(thread, when, content, html_only, alternative, attachment)

    def follow_up(self, when: datetime, alternative: bool, attached: bool) -> GeneratedMail:
        """Return a customer's follow-up in one of their earlier conversations."""
        thread = self._pick_thread()
        customer = thread.customer
        values = self._fields(customer, thread.order, thread.product, thread.amount, when)
        text = self._follow_up_text(customer, values, attached)
        content = self._content(customer, text, thread.messages[-1])
        attachment = self._attachment(customer.language, thread.order) if attached else None
        return self._emit(thread, when, content, False, alternative, attachment)

    def _pick_thread(self) -> _Thread:
        """Return a recent conversation that is still short, or any one if none is."""
        count = len(self.threads)
        for _ in range(12):
            back = min(int(self.rng.expovariate(1 / 40)), count - 1)
            thread = self.threads[count - 1 - back]
            if len(thread.messages) < self.MAX_THREAD_LENGTH:
                return thread
        open_threads = [t for t in self.threads if len(t.messages) < self.MAX_THREAD_LENGTH]
        return self.rng.choice(open_threads or self.threads)

    def _emit(self, thread: _Thread, when: datetime, content: _Content, html_only: bool,
              alternative: bool, attachment: tuple[str, str, bytes] | None) -> GeneratedMail:
        """Encode one message of ``thread`` and remember it for later quoting."""
        customer = thread.customer
        is_reply = bool(thread.messages)
        subject = f"Re: {thread.subject}" if is_reply else thread.subject
        message_id = self._message_id(customer)
        cjk = customer.language.code == "zh"
        document = self._document(customer, content.html)
        if html_only:
            body = _text_part("html", document, cjk)
        elif alternative:
            body = _multipart("alternative", self._boundary(),
                              [_text_part("plain", content.text, cjk),
                               _text_part("html", document, cjk)])
        else:
            body = _text_part("plain", content.text, cjk)
        if attachment is not None:
            body = _multipart("mixed", self._boundary(), [body, _attachment_part(*attachment)])

        local = when.astimezone(customer.tz)
        sender = _encode_address(customer.display_name, customer.address,
                                 customer.header_charset)
        recipient = self.to_header if self.rng.random() < 0.5 else self.business
        headers = [*self._trace_headers(customer, when),
                   f"From: {sender}",
                   f"To: {recipient}",
                   _encode_header("Subject", subject, customer.header_charset),
                   f"Date: {format_datetime(local)}",
                   f"Message-ID: <{message_id}>"]
        if is_reply:
            headers.append(f"In-Reply-To: <{thread.messages[-1].message_id}>")
            headers.append(_fold_ids("References", [m.message_id for m in thread.messages]))
        headers.append("MIME-Version: 1.0")
        client_headers = _CLIENT_HEADERS[customer.client]
        if client_headers:
            name, value = self.rng.choice(client_headers)
            headers.append(f"{name}: {value}")
        if customer.client == "outlook":
            headers.append(f"Content-Language: {customer.language.code}")
        raw = ("\r\n".join(headers) + "\r\n").encode("ascii") + body.render()

        thread.messages.append(_Written(message_id, when, content.text, content.html))
        return GeneratedMail(raw=raw, message_id=message_id, sender=customer.address,
                             subject=subject, thread_key=thread.key, is_reply=is_reply)

    def _trace_headers(self, customer: _Customer, when: datetime) -> list[str]:
        """Return the lines the sending and receiving servers would have added.

        That is Return-Path, Received and Authentication-Results from the receiving side and,
        for domains that sign, a DKIM-Signature (with a random value: nothing verifies it).
        """
        domain = customer.address.rpartition("@")[2]
        host = f"mail.{domain}"
        received_at = format_datetime(when + timedelta(seconds=self.rng.randrange(1, 4)))
        ip = f"198.51.100.{self.rng.randrange(1, 255)}"
        queue_id = f"{self.rng.getrandbits(48):012X}"
        selector = self.dkim_selectors.get(domain)
        dkim_result = f"dkim=pass header.d={domain} header.s={selector}" if selector \
            else "dkim=none"
        lines = [f"Return-Path: <{customer.address}>",
                 f"Received: from {host} ({host} [{ip}])\r\n"
                 f"\tby mx.{self.business_domain} (Postfix) with ESMTPS id {queue_id}\r\n"
                 f"\tfor <{self.business}>; {received_at}",
                 f"Authentication-Results: mx.{self.business_domain};\r\n"
                 f"\t{dkim_result};\r\n"
                 f"\tspf=pass smtp.mailfrom={customer.address}"]
        if selector:
            stamp = int(when.timestamp())
            body_hash = binascii.b2a_base64(self.rng.randbytes(32), newline=False).decode()
            signature = binascii.b2a_base64(self.rng.randbytes(256), newline=False).decode()
            folded = "\r\n\t  ".join(signature[i:i + 70] for i in range(0, len(signature), 70))
            lines.append(
                f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
                f"\td={domain}; s={selector}; t={stamp}; x={stamp + 604800};\r\n"
                f"\th=to:subject:message-id:date:from:mime-version;\r\n"
                f"\tbh={body_hash};\r\n"
                f"\tb={folded}")
        return lines


_URLSAFE = str.maketrans("/+", "_-")


def _ascii_fold(name: str) -> str:
    """Return a lower-case ASCII form of a name for use in an address (Müller -> muller)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    return "".join(ch for ch in decomposed.lower() if ch.isascii() and ch.isalnum())


def _wrap(text: str, width: int) -> str:
    """Hard-wrap each line of ``text`` at ``width`` columns, as some mail clients do."""
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > width and " " in line[:width + 1]:
            cut = line.rindex(" ", 0, width + 1)
            out.append(line[:cut])
            line = line[cut + 1:]
        out.append(line)
    return "\n".join(out)


def _pdf_like(rng: random.Random, size: int) -> bytes:
    """Return bytes that start and end like a PDF file, ``size`` long or a little more."""
    filler = max(0, size - 120)
    head = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length "
            + str(filler).encode() + b" /Filter /FlateDecode >>\nstream\n")
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return head + rng.randbytes(filler) + tail


def _png_like(rng: random.Random, size: int) -> bytes:
    """Return a PNG signature, header chunk and random image data, about ``size`` long."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", binascii.crc32(kind + data))

    header = struct.pack(">IIBBBBB", rng.randrange(200, 1600), rng.randrange(200, 1200),
                         8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", rng.randbytes(max(0, size - 57))) + chunk(b"IEND", b""))


def _jpeg_like(rng: random.Random, size: int) -> bytes:
    """Return a JFIF header, random data and an end marker, about ``size`` long."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
    return head + rng.randbytes(max(0, size - len(head) - 2)) + b"\xff\xd9"


# ---------------------------------------------------------------------------------------------
# The corpus.
# ---------------------------------------------------------------------------------------------


def generate_corpus(
    count: int,
    *,
    seed: int = 0,
    reply_ratio: float = 0.2,
    attachment_ratio: float = 0.1,
    business: str = "support@acme.example",
    domain_count: int = 50,
    customer_count: int | None = None,
    start: datetime = DEFAULT_START,
) -> list[GeneratedMail]:
    """Return ``count`` customer messages to ``business`` in chronological order.

    The same arguments always give the same bytes. ``reply_ratio`` of the messages (rounded)
    are follow-ups in an earlier conversation of the same customer, quoting the previous
    message; the rest open new conversations with subjects that customer has not used before.
    Body formats are text/plain, multipart/alternative and HTML only in the ratio 4:3:2 (a
    follow-up is never HTML only, so that its quoted history is in ``> `` lines);
    independently, ``attachment_ratio`` of the messages carry a small attachment inside
    multipart/mixed. Customers (``count / 3`` unless ``customer_count`` says otherwise) write
    from ``domain_count`` domains, a few of them popular. Dates start at ``start`` and
    increase by at least a second per message.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    for label, ratio in (("reply_ratio", reply_ratio), ("attachment_ratio", attachment_ratio)):
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"{label} must be between 0 and 1")
    if count == 0:
        return []
    rng = random.Random(seed)
    customers = customer_count if customer_count is not None else max(1, round(count / 3))
    writer = _CorpusWriter(rng, business, max(1, domain_count), max(1, customers))
    plan = _plan(rng, count, reply_ratio, attachment_ratio)
    when = _aware(start)
    mails = []
    for slot in plan:
        if slot.reply:
            mails.append(writer.follow_up(when, slot.alternative, slot.attached))
        else:
            mails.append(writer.new_thread(when, slot.html_only, slot.alternative,
                                           slot.attached))
        when += timedelta(seconds=1 + int(rng.expovariate(1 / 240)))
    return mails


@dataclass
class _Slot:
    """The shape decided in advance for one message of the corpus."""

    reply: bool = False
    html_only: bool = False
    alternative: bool = False
    attached: bool = False


def _plan(rng: random.Random, count: int, reply_ratio: float,
          attachment_ratio: float) -> list[_Slot]:
    """Decide which messages are replies, which format each has, and which carry attachments.

    Counts are exact (rounded) rather than drawn message by message, so that small corpora
    have the requested mix too. The first message always opens a conversation.
    """
    slots = [_Slot() for _ in range(count)]
    replies = min(round(count * reply_ratio), count - 1)
    for index in rng.sample(range(1, count), replies):
        slots[index].reply = True
    # The formats are text/plain, multipart/alternative and HTML only, in the ratio 4:3:2.
    html_total = round(count * 2 / 9)
    alternative_total = round(count * 3 / 9)
    new_indexes = [i for i, slot in enumerate(slots) if not slot.reply]
    html_indexes = set(rng.sample(new_indexes, min(html_total, len(new_indexes))))
    for index in html_indexes:
        slots[index].html_only = True
    others = [i for i in range(count) if i not in html_indexes]
    alternative_total += html_total - len(html_indexes)
    for index in rng.sample(others, min(alternative_total, len(others))):
        slots[index].alternative = True
    for index in rng.sample(range(count), round(count * attachment_ratio)):
        slots[index].attached = True
    return slots
