"""Tests of helpdesk.intake.quoting: what is left of a reply once history is gone.

The fixture pairs in ``tests/fixtures/replies`` are replies as real clients
format them (``NAME.txt``) with the exact new text expected from them
(``NAME.expected.txt``). The unit tests below pin down the edge cases and the
decisions documented in the module: what counts as a boundary, what is kept
after a quote, which signatures are removed and which are not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpdesk.intake.quoting import strip_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "replies"
EXPECTED_SUFFIX = ".expected.txt"

# Client formats that must always be covered by a fixture pair.
REQUIRED_FIXTURES = (
    "gmail_en",
    "gmail_en_wrapped_attribution",
    "gmail_de",
    "gmail_fr",
    "gmail_es",
    "outlook_desktop_en",
    "outlook_desktop_de",
    "outlook_web_en",
    "outlook_original_message_en",
    "outlook_fr",
    "outlook_es",
    "apple_mail_en",
    "apple_mail_de",
    "thunderbird_en",
    "thunderbird_de",
    "iphone_sent_from",
    "android_gmail",
    "signature_dash_dash",
    "interleaved_reply",
    "command_lines",
    "only_quote",
    "no_quote_plain",
    "top_post_with_signature_and_quote",
    "forwarded_only",
    "gmail_ru",
    "gmail_pl",
    "thunderbird_cs",
    "gmail_ja",
    "gmail_zh",
    "shared_line_en",
    "signature_three_dashes",
    "signature_dash_name_mailing_list",
    "signature_only_dash_dash",
    "reply_above_quoted_forward",
    "negative_sent_and_dash_prose",
)


def _fixture_names() -> list[str]:
    """Names of all fixture pairs, sorted."""
    return sorted(path.name.removesuffix(EXPECTED_SUFFIX) for path in FIXTURES.glob(f"*{EXPECTED_SUFFIX}"))


def _read(path: Path) -> str:
    """The exact text of a fixture file (no newline translation)."""
    return path.read_bytes().decode("utf-8")


def _input_lines(text: str) -> list[str]:
    """The lines of ``text`` as strip_reply sees them."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _assert_lines_come_from(result: str, text: str) -> None:
    """Every line of ``result`` is a line of ``text``.

    The first and last lines may have lost surrounding whitespace, the
    blank lines that join kept pieces need not occur in ``text``, and a line
    that the reply shared with an attribution keeps only its beginning.
    """
    lines = _input_lines(text)
    known = set(lines)
    out = result.split("\n")
    for position, line in enumerate(out):
        if line in known or line == "":
            continue
        if any(original.startswith(line) for original in lines):
            continue
        assert position in (0, len(out) - 1), line
        assert any(line in original for original in lines), line


# Fixture pairs.


def test_every_required_client_format_has_a_fixture() -> None:
    names = set(_fixture_names())
    missing = [name for name in REQUIRED_FIXTURES if name not in names]
    assert missing == []
    for name in names:
        assert (FIXTURES / f"{name}.txt").is_file(), name


@pytest.mark.parametrize("name", _fixture_names())
def test_fixture(name: str) -> None:
    text = _read(FIXTURES / f"{name}.txt")
    expected = _read(FIXTURES / f"{name}{EXPECTED_SUFFIX}").strip()
    result = strip_reply(text)
    assert result == expected
    # Stripping what is already stripped changes nothing.
    assert strip_reply(result) == result
    _assert_lines_come_from(result, text)


@pytest.mark.parametrize("name", _fixture_names())
def test_fixture_with_crlf_line_ends(name: str) -> None:
    text = _read(FIXTURES / f"{name}.txt").replace("\n", "\r\n")
    expected = _read(FIXTURES / f"{name}{EXPECTED_SUFFIX}").strip()
    assert strip_reply(text) == expected


# Empty and quote-only input.


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\r\n ", "\u00a0\n\ufeff"])
def test_empty_input_gives_empty_text(text: str) -> None:
    assert strip_reply(text) == ""


def test_quote_only_gives_empty_text() -> None:
    assert strip_reply("> Hello\n> there\n>\n") == ""


@pytest.mark.parametrize(
    "text",
    [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "-- \nJane Doe\nExample Ltd.",
        "--\n202-555-1212",
        "-Jane",
        "\u2014Jane Doe",
        "---\nJane Doe\n+44 20 7946 0958",
    ],
)
def test_a_message_that_is_only_a_signature_keeps_it(text: str) -> None:
    # An empty result would lose the message: the signature is all there is.
    assert strip_reply(f"\n{text}\n") == text


def test_signature_and_quote_only_keeps_the_signature() -> None:
    text = "Sent from my iPhone\n\nOn 3 Mar 2026, at 10:12, Jane <jane@x.com> wrote:\n> Hi\n"
    assert strip_reply(text) == "Sent from my iPhone"


# What is kept exactly.


def test_plain_text_is_returned_verbatim_but_trimmed() -> None:
    text = "\n\n  Hello,  \n\n\n  indented line\ttab\n\nBest, Jane  \n\n"
    assert strip_reply(text) == "Hello,  \n\n\n  indented line\ttab\n\nBest, Jane"


def test_crlf_and_cr_line_ends_become_newlines() -> None:
    assert strip_reply("Yes.\r\nThanks\r\n\r\n> old\r\n") == "Yes.\nThanks"
    assert strip_reply("Yes.\rThanks\r\r> old\r") == "Yes.\nThanks"


def test_signature_without_delimiter_stays() -> None:
    text = "Works now, thank you.\n\nBest,\nJane\nExample Ltd. | +44 20 7946 0958"
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "#close",
        "#priority high\n#note VIP customer\nThanks, done.",
        "Thanks!\n#close\n\n#invoice",
    ],
)
def test_command_lines_survive(text: str) -> None:
    assert strip_reply(text) == text


def test_command_lines_below_a_quote_survive() -> None:
    text = "On Tue, 3 Mar 2026 at 10:12, Jane <jane@x.com> wrote:\n> Refund?\n\nDone.\n#close\n"
    assert strip_reply(text) == "Done.\n#close"


def test_non_breaking_spaces_in_new_text_are_kept() -> None:
    text = "Prix\u00a0: 40\u00a0€\n\n> ancien message"
    assert strip_reply(text) == "Prix\u00a0: 40\u00a0€"


# Attributions.


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com> wrote:",
        "On Tue, Mar 3, 2026 at 10:12\u202fAM Jane Doe <jane@x.com> wrote:",
        "On Tue, Mar 3, 2026 at 10:12 AM Jane Doe <jane@x.com>\nwrote:",
        "Am 03.03.2026 um 10:12 schrieb Jane Doe <jane@x.com>:",
        "Am Di., 3. März 2026 um 10:12 Uhr schrieb Jane Doe <\njane@x.com>:",
        "Le mar. 3 mars 2026 à 10:12, Jane Doe <jane@x.com> a écrit\u00a0:",
        "Le mar. 3 mars 2026 à 10:12, Jane Doe <jane@x.com> a\nécrit :",
        "El mar, 3 mar 2026 a las 10:12, Jane Doe (<jane@x.com>) escribió:",
        "Il giorno mar 3 mar 2026 alle ore 10:12 Jane Doe <jane@x.com> ha scritto:",
        "Op di 3 mrt 2026 om 10:12 schreef Jane Doe <jane@x.com>:",
        "Em ter., 3 de mar. de 2026 às 10:12, Jane Doe <jane@x.com> escreveu:",
        "Den tis 3 mars 2026 kl 10:12 skrev Jane Doe <jane@x.com>:",
        "On 3 Mar 2026, at 10:12, Jane Doe <jane@x.com> wrote:",
        "On 03/03/2026 10:12, Jane Doe wrote:",
        'On 3/3/26, 10:12 AM, "Jane Doe" <jane@x.com> wrote:',
        "Jane Doe <jane@x.com> schrieb am Di., 3. März 2026, 10:12:",
        "2026-03-03 10:12 GMT+01:00 Jane Doe <jane@x.com>:",
        "Jane Doe <jane@x.com> wrote:",
        "Jane Doe wrote:",
        "Quoting Jane Doe <jane@x.com>:",
        "codinghorror via Acme Forum wrote:",
        # Date first, no verb: Gmail in Russian and Japanese, Yandex, Mail.ru.
        "\u0432\u0442, 3 \u043c\u0430\u0440. 2026 \u0433. \u0432 10:12, Jane Doe <jane@x.com>:",
        "2026年3月3日(火) 10:12 Jane Doe <jane@x.com>:",
        '03.03.2026, 10:12, "Jane Doe" <jane@x.com>:',
        "Вторник, 3 марта 2026, 10:12 +03:00 от Jane Doe <jane@x.com>:",
        # More languages and verbs.
        "03.03.2026 10:12, Jane Doe пишет:",
        "Op 3 mrt. 2026 om 10:12 heeft Jane Doe <jane@x.com> het volgende geschreven:",
        "W dniu 3.03.2026 o 10:12, Jane Doe pisze:",
        "wt., 3 mar 2026 o 10:12 Jane Doe <jane@x.com> napisał(a):",
        "Wiadomość napisana przez Jane Doe <jane@x.com> w dniu 3.03.2026, o godz. 10:12:",
        "Dne 3. 3. 2026 v 10:12 Jane Doe napsal(a):",
        "út 3. 3. 2026 v 10:12 odesílatel Jane Doe <jane@x.com> napsal:",
        "2026/03/03 10:12、Jane Doe <jane@x.com>のメール:",
        "Jane Doe <jane@x.com> 于2026年3月3日周二 10:12写道\uff1a",
        "在 2026年3月3日\uff0c10:12\uff0cJane Doe <jane@x.com> 写道\uff1a",
        "2026년 3월 3일 (화) 오전 10:12, Jane Doe <jane@x.com>님이 작성:",
        "tir. 3. mar. 2026 kl. 10.12 skrev Jane Doe <jane@x.com>:",
        "ti 3. maalisk. 2026 klo 10.12 Jane Doe (jane@x.com) kirjoitti:",
        "Jane Doe <jane@x.com> kirjoitti 3.3.2026 kello 10.12:",
        "Jane Doe <jane@x.com>, 3 Mar 2026 Sal, 10:12 tarihinde şunu yazd\u0131:",
        "Jane Doe <jane@x.com> ezt írta (időpont: 2026. márc. 3., K, 10:12):",
        # Hebrew and Greek Gmail (see the gmail_he and gmail_el fixtures).
        "\u202b\u05d1\u05ea\u05d0\u05e8\u05d9\u05da 3.3.2026 10:12 \u05de\u05d0\u05ea "
        "\u202aJane Doe\u202c\u200f <\u202ajane@x.com\u202c\u200f>:\u202c",
        "\u03a3\u03c4\u03b9\u03c2 3/3/2026 10:12, Jane <jane@x.com> \u03ad\u03b3\u03c1\u03b1\u03c8\u03b5:",
        "Am 03.03.2026 um 10:12 schrieben Sie:",
        "Jane Doe <jane@x.com> scrisse:",
        # Other wordings, mailto links, dashes.
        "On 3 Mar 2026, at 10:12, Jane Doe <jane@x.com> sent:",
        "Jane Doe <jane@x.com> sent:",
        "On Tue, Mar 3, 2026 at 10:12 AM, Jane Doe <mailto:jane@x.com> wrote:",
        "On Tue, Mar 3, 2026 at 10:12 AM Jane Doe <jane@x.com<mailto:jane@x.com>> wrote:",
        "On Tue, Mar 3, 2026 at 10:12 AM Jane Doe <jane@x.com<mailto:\njane@x.com>> wrote:",
        "On 3 Mar 2026, at 10:12, jane@x.com<mailto:jane@x.com> wrote:",
        "---- On Tue, 03 Mar 2026 10:12:36 +0100 Jane Doe <jane@x.com> wrote ----",
        "- Le 2026-03-03 10:12, Jane Doe a écrit :",
        "2026/3/3 Jane Doe <jane@x.com>",
    ],
)
def test_attribution_above_a_quote_is_removed(attribution: str) -> None:
    text = f"New answer.\n\n{attribution}\n\n> Old question?\n>\n> Jane\n"
    assert strip_reply(text) == "New answer."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com> wrote:",
        "On Tuesday, March 3, 2026, 10:12 AM, Jane Doe <jane@x.com> wrote:",
        "Am 03.03.26 um 10:12 schrieb Jane Doe:",
        "Le 03/03/2026 à 10:12, Jane Doe a écrit :",
        # An address before the verb, or a date after it, is as telling.
        "Jane Doe <jane@x.com> wrote:",
        "molly <molly@x.com> wrote:",
        "Jane Doe via Acme Forum <forum@acme.example> wrote:",
        "Acme asiakaspalvelu kirjoitti 20.05.2026 kello 10:26:",
        "Acme Support wrote on 3 March 2026 10:12:",
        "2026年3月3日(火) 10:12 Jane Doe <jane@x.com>:",
        "------On 03/03/2026 10:12 AM, Jane Doe wrote-----",
        "W dniu 3 marca 2026 10:12 użytkownik Jane Doe <jane@x.com>\nnapisał:",
    ],
)
def test_attribution_without_quote_markers_ends_the_new_text(attribution: str) -> None:
    # HTML converted to text loses the blockquote: the history is unquoted.
    text = f"New answer.\n\n{attribution}\n\nOld question?\n\nJane\n"
    assert strip_reply(text) == "New answer."


@pytest.mark.parametrize(
    "text",
    [
        "On Monday my colleague wrote:\nthe unit arrives configured.\nIt did not.",
        "As you wrote:\nthe unit arrives configured.",
        "Jane Doe wrote:\nthe unit arrives configured.",
        "On Monday we shipped it.\nOn Tuesday it arrived.",
        "Here is what I wrote: nothing more.",
        "Here is what tom@acme.example wrote:\nthe unit arrives configured.",
        "Your colleague <tom@acme.example> wrote:\nthe unit arrives configured.",
        "I sent it on 3 March 2026 to <jane@x.com>:\nElm Street 12",
        "Here is what they sent:\nA broken lamp.",
        "3 people wrote:\nthe lamp is broken.",
        "Meeting 10:30 notes, as Jane wrote:\nbring the contract.",
        "We met On Tuesday, 3 March 2026 and agreed.",
        "2026/3/5 call with Jane <jane@x.com>\nShe will send the contract.",
    ],
)
def test_prose_that_looks_like_an_attribution_stays(text: str) -> None:
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sounds good. On Tue, 3 Mar 2026 at 10:12, Jane <jane@x.com> wrote:\n> Hi\n", "Sounds good."),
        ("reply On Wed, Apr 4, 2026 at 3:59 PM, bob@x.com wrote:\n> Hi", "reply"),
        ("reply\nbla - bla--- On Wed, Apr 4, 2026 at 3:59 PM, me@x.com wrote:\n> Hi", "reply\nbla - bla"),
        ("Thanks! On Tue, Mar 3, 2026 at 10:12 AM Jane Doe <jane@x.com>\nwrote:\n> Hi", "Thanks!"),
        (
            "Yes. On Monday we met. On Tue, 3 Mar 2026 at 10:12, Jane <j@x.com> wrote:\n> Hi",
            "Yes. On Monday we met.",
        ),
        (
            "Prima.\n\nVerstuurd vanaf mijn iPhoneOp 4 aug. 2026 om 09:03 heeft Acme <s@acme.example> "
            "het volgende geschreven:\n\n> Hallo",
            "Prima.",
        ),
    ],
)
def test_attribution_sharing_a_line_with_the_reply_is_cut_from_it(text: str, expected: str) -> None:
    assert strip_reply(text) == expected


def test_prose_introducing_an_inline_quote_stays() -> None:
    text = "Hi,\n\nAs you wrote:\n> the box was damaged\nWe will send a new one."
    assert strip_reply(text) == "Hi,\n\nAs you wrote:\n\nWe will send a new one."


def test_quoted_attribution_and_nested_quotes_are_removed() -> None:
    text = (
        "Sure.\n\n> On 3 Mar 2026, at 10:12, Jane <jane@x.com> wrote:\n> \n> Really?\n"
        ">> On 2 Mar 2026, at 09:00, Bob <bob@y.com> wrote:\n>> Yes.\n"
    )
    assert strip_reply(text) == "Sure."


def test_indented_quote_markers_count_as_quotes() -> None:
    assert strip_reply("Fine.\n  > old\n\t> older\n") == "Fine."


def test_escaped_quote_markers_count_as_quotes() -> None:
    text = "Kiitos.\n\n&gt; Acme &lt;s@acme.example&gt; kirjoitti 3.3.2026 kello 10.12:\n&gt; Hei\n"
    assert strip_reply(text) == "Kiitos."


def test_the_wrapped_end_of_a_long_quoted_line_counts_as_quoted() -> None:
    text = (
        "Yes, please.\n\nOn Tue, Mar 3, 2026, 10:12 AM Acme <s@acme.example> wrote:\n"
        "> Your invoice is attached to this message. If you cannot open the\n"
        "attachment, reply to this email.\n> Kind regards\n"
    )
    assert strip_reply(text) == "Yes, please."


# Interleaved answers.


def test_text_between_and_after_quotes_is_kept_and_joined_by_blank_lines() -> None:
    text = "> q1\nanswer one\n> q2\n> q2 continued\nanswer two\nstill two\n> q3\n"
    assert strip_reply(text) == "answer one\n\nanswer two\nstill two"


def test_answers_right_below_long_quoted_lines_are_kept() -> None:
    long_question = "> Could you please confirm the delivery address for order 10452 and the date"
    # An answer starts a sentence, or stands apart from the next quote.
    assert strip_reply(f"{long_question}\nYes, Elm Street.\n> Invoice?\n") == "Yes, Elm Street."
    assert strip_reply(f"{long_question}\nelm street, thursday\n\n> Invoice?\n") == "elm street, thursday"


def test_bottom_post_keeps_only_the_answer_below_the_quote() -> None:
    text = (
        "On Tue, 3 Mar 2026 at 10:12, Jane <jane@x.com> wrote:\n> Blue or red?\n\nBlue, please.\n\n-- \nTom\n"
    )
    assert strip_reply(text) == "Blue, please."


# Outlook header blocks and original-message markers.


def test_underscore_separator_with_header_block_ends_the_new_text() -> None:
    text = (
        "Done.\n\n________________________________\nFrom: Jane <jane@x.com>\n"
        "Sent: Tuesday, March 3, 2026 10:12 AM\nTo: Tom <tom@y.com>\nSubject: Hi\n\nOld.\n"
    )
    assert strip_reply(text) == "Done."


def test_bold_header_block_from_html_conversion_ends_the_new_text() -> None:
    text = (
        "Done.\n\n**From:** Jane <jane@x.com>\n**Sent:** Tuesday, March 3, 2026 10:12 AM\n"
        "**To:** Tom <tom@y.com>\n**Subject:** Hi\n\nOld.\n"
    )
    assert strip_reply(text) == "Done."


@pytest.mark.parametrize(
    "header",
    [
        "Von: Jane <j@x.de>\nGesendet: Dienstag, 3. März 2026 10:12\nAn: Tom\nBetreff: Hallo",
        "De\u00a0: Jane <j@x.fr>\nEnvoyé\u00a0: mardi 3 mars 2026 10:12\nÀ\u00a0: Tom\nObjet\u00a0: Salut",
        "De: Jane <j@x.es>\nEnviado el: martes, 3 de marzo de 2026 10:12\nPara: Tom\nAsunto: Hola",
        "Da: Jane <j@x.it>\nInviato: martedì 3 marzo 2026 10:12\nA: Tom\nOggetto: Ciao",
        "Van: Jane <j@x.nl>\nVerzonden: dinsdag 3 maart 2026 10:12\nAan: Tom\nOnderwerp: Hoi",
        "De: Jane <j@x.pt>\nEnviada em: terça-feira, 3 de março de 2026 10:12\nPara: Tom\nAssunto: Olá",
        "Från: Jane <j@x.se>\nSkickat: den 3 mars 2026 10:12\nTill: Tom\nÄmne: Hej",
        "From: Jane <j@x.com>\nDate: Tuesday, 3 March 2026 at 10:12\nTo: Tom\nSubject: Hi",
        "From: Jane [mailto:j@x.com] Sent: Tuesday, March 3, 2026 10:12 AM To: Tom Subject: Hi",
        "From: Jane <j@x.com<mailto:j@x.com>>\nSent: Tuesday, March 3, 2026 10:12 AM\nTo: Tom\nSubject: Hi",
        "Od: Jane <j@x.pl>\nWysłano: wtorek, 3 marca 2026 10:12\nDo: Tom\nTemat: Zamówienie",
        "Od: Jane <j@x.cz>\nOdesláno: úterý 3. března 2026 10:12\nKomu: Tom\nPředmět: Objednávka",
        "发件人: Jane <j@x.cn>\n发送时间: 2026年3月3日 10:12\n收件人: Tom\n主题: 订单",
        "寄件者: Jane <j@x.tw>\n寄件日期: 2026年3月3日 上午 10:12\n收件者: Tom\n主旨: 訂單",
        "差出人: Jane <j@x.jp>\n送信日時: 2026年3月3日 10:12\n宛先: Tom\n件名: ご注文",
        "보낸 사람: Jane <j@x.kr>\n보낸 날짜: 2026년 3월 3일 화요일 오전 10:12\n받는 사람: Tom\n제목: 주문",
        "Fra: Jane <j@x.dk>\nSendt: 3. marts 2026 10:12\nTil: Tom\nEmne: Ordre",
        "Lähettäjä: Jane <j@x.fi>\nLähetetty: 3.3.2026 10.12\nVastaanottaja: Tom\nAihe: Tilaus",
        "Kimden: Jane <j@x.tr>\nGönderildi: 3 Mart 2026 10:12\nKime: Tom\nKonu: Sipariş",
        "Feladó: Jane <j@x.hu>\nElküldve: 2026. március 3. 10:12\nCímzett: Tom\nTárgy: Rendelés",
        "Message du : 03/03/2026 10:12\nDe : Jane <j@x.fr>\nA : Tom\nSujet : Commande",
    ],
)
def test_localized_header_blocks_end_the_new_text(header: str) -> None:
    assert strip_reply(f"Answer.\n\n{header}\n\nOld text.\n") == "Answer."


@pytest.mark.parametrize(
    "marker",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-------- Original message --------",
        "-------- Messaggio originale --------",
        "*----- Original Message -----*",
        "------------------ 原始邮件 ------------------",
        "-----Исходное сообщение-----",
        "-----Původní zpráva-----",
    ],
)
def test_original_message_markers_end_the_new_text(marker: str) -> None:
    assert strip_reply(f"Answer.\n{marker}\nOld text without headers.\n") == "Answer."


@pytest.mark.parametrize(
    "text",
    [
        "Step 1\n________________________________\nStep 2",
        "From: 9 am\nTo: 5 pm\nWe are open.",
        "From: the warehouse\n\nSubject: your order\nDate: tomorrow",
        "-----\nSee above.",
    ],
)
def test_lookalike_header_lines_stay(text: str) -> None:
    assert strip_reply(text) == text


# Signatures and footers.


@pytest.mark.parametrize("delimiter", ["-- ", "--", "--\u00a0"])
def test_signature_delimiter_ends_the_new_text(delimiter: str) -> None:
    assert strip_reply(f"Thanks!\n\n{delimiter}\nJane\n+1 555 0100\n") == "Thanks!"


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Sent from my Android",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android",
        "Sent from Mail for Windows",
        "Sent from Yahoo Mail for iPhone",
        "Sent from Yahoo Mail on Android",
        "Sent with Proton Mail secure email.",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem iPhone",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Enviado do meu iPhone",
        "Skickat från min iPhone",
        "Sent from my iPhone!",
        "Sent from my Galaxy",
        "Sent from my cell, please excuse any typos.",
        "Sent from Mailbox for iPhone",
        "Sent from Mail for Windows 10",
        "Sent via BlackBerry from T-Mobile",
        "Sent wirelessly from my BlackBerry device on the Bell network.",
        "Sent with Airmail",
        "(Sent from mobile device)",
        "Get Outlook for iOShttps://aka.ms/o0ukef",
        "Verstuurd vanaf mijn iPhone",
        "Wysłane z mojego iPhone",
        "Wysłane z iPhone'a",
        "Odesláno z iPhonu",
        "Sendt fra min iPhone",
        "Lähetetty iPhonesta",
        "Hanki Outlook for Android",
        "iPhone'umdan gönderildi",
        "Az iPhone-omról küldve",
        "iPhoneから送信",
        "发自我的iPhone",
        "從我的 iPhone 傳送",
        "iPhone에서 보냄",
        "Envoyé sans fil par mon terminal mobile BlackBerry sur le réseau de Bell.",
        "Enviado desde mi oficina móvil BlackBerry® de Telcel",
        "Gesendet von Mail für Windows",
    ],
)
def test_mobile_footers_are_removed(footer: str) -> None:
    assert strip_reply(f"OK, thanks.\n\n{footer}\n") == "OK, thanks."
    quoted = f"OK, thanks.\n\n{footer}\n\n> On 3 Mar 2026, at 10:12, J <j@x.com> wrote:\n> Hi\n"
    assert strip_reply(quoted) == "OK, thanks."


def test_footer_followed_by_a_separate_link_line_is_removed() -> None:
    assert strip_reply("Fine.\n\nGet Outlook for iOS\n<https://aka.ms/o0ukef>\n") == "Fine."


def test_footer_words_followed_by_the_authors_text_stay() -> None:
    text = "Sent from my iPhone, sorry for typos.\nThe order number is 10452."
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my desk, is much easier than my mobile phone.",
        "Sent from my office so that I can print the labels for you tomorrow morning.",
        "Envoyé depuis Paris, le colis arrive demain.",
        "Sent: the parcel yesterday, tracking 7781-2290.",
    ],
)
def test_sentences_that_start_like_a_footer_stay(line: str) -> None:
    text = f"Here is another email.\n\n{line}"
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "signature",
    [
        "-Jane",
        "-roman",
        "- Jane Doe",
        "—Jane",
        "\u2013 Jane van Berg",
        "-Lev.\n\nSent from my HTC smartphone!",
        "---\nJane Doe",
        "---\nJane Doe\nExample Ltd. | Purchasing\n+44 20 7946 0958",
        "____\nJane Doe | Example Ltd.\nwww.example.com",
        "========\nacme-users mailing list\nacme-users@lists.acme.example",
        "-Jane\n\n____\nacme-users mailing list\nhttps://lists.acme.example/listinfo",
    ],
)
def test_signatures_set_off_by_dashes_are_removed(signature: str) -> None:
    assert strip_reply(f"Hey, how are you?\n\n{signature}\n") == "Hey, how are you?"
    quoted = f"Hey, how are you?\n\n{signature}\n\nOn 3 Mar 2026, at 10:12, J <j@x.com> wrote:\n> Hi\n"
    assert strip_reply(quoted) == "Hey, how are you?"


@pytest.mark.parametrize(
    "text",
    [
        "Hi there!\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai",
        "The order:\n-- see below\nwas shipped.",
        "Things to check:\n- the cable",
        "Please bring:\n- Passport\n- Order confirmation",
        "Please send it to my office.\n\n- Delivery before noon\n- Ring twice",
        "Test 2.\n\n   - how about bullets\n   - and another",
        "Hey man!\nLook at this:\n\n--> one\n--> two",
        "Please ship to:\n---\nJohn Smith\n12 Elm Street\nLondon",
        "Summary\n---\nAll good, the shipment left today and arrives Friday.",
        "Thanks,\nJane\n\n-- Jane is out of office until Monday.",
    ],
)
def test_dashes_in_the_authors_text_stay(text: str) -> None:
    assert strip_reply(text) == text


@pytest.mark.parametrize("answer", ["- yes", "-no", "- Done.", "\u2014 ok"])
def test_a_dash_and_a_short_answer_stay(answer: str) -> None:
    assert strip_reply(f"Hi,\n> Shall we ship it today?\n{answer}\n") == f"Hi,\n\n{answer}"


# Forwards.


def test_forward_with_a_note_is_kept_verbatim() -> None:
    text = (
        "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Courier <c@z.com>\n"
        "Date: Mon, Mar 2, 2026 at 4:55 PM\nSubject: Delay\nTo: <jane@x.com>\n\n"
        "Your parcel is late.\n> quoted inside the forward\n-- \nCourier\n"
    )
    assert strip_reply(text) == text.strip()


def test_forward_keeps_content_but_drops_the_forwarders_footer() -> None:
    text = "See below.\n\nSent from my iPhone\n\nBegin forwarded message:\n\nFrom: C <c@z.com>\nHi\n"
    expected = "See below.\n\nBegin forwarded message:\n\nFrom: C <c@z.com>\nHi"
    assert strip_reply(text) == expected


def test_forward_quoted_as_a_whole_is_kept() -> None:
    # Apple Mail puts the forwarded message, marker included, in a quote.
    text = "See below.\n\n> Begin forwarded message:\n> \n> From: C <c@z.com>\n> \n> Late.\n"
    assert strip_reply(text) == text.strip()


def test_quoted_forward_below_other_quoted_lines_is_history() -> None:
    text = "Thanks.\n> Earlier question\n> Begin forwarded message:\n> From: C <c@z.com>\n"
    assert strip_reply(text) == "Thanks."


def test_forward_inside_quoted_history_is_removed() -> None:
    text = (
        "Thanks, we will look into it.\n\nOn Tue, 3 Mar 2026 at 10:12, Jane <jane@x.com> wrote:\n"
        "> ---------- Forwarded message ---------\n> From: Courier <c@z.com>\n> Late.\n"
    )
    assert strip_reply(text) == "Thanks, we will look into it."


def test_a_quoted_gmail_forward_marker_is_history() -> None:
    # Only Apple Mail quotes its own forward; a quoted dashed marker is a
    # forward the customer received earlier, quoted in the reply.
    text = "Thanks, will do.\n\n> ---------- Forwarded message ---------\n> From: A <a@x.com>\n> Late.\n"
    assert strip_reply(text) == "Thanks, will do."


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "-------- Weitergeleitete Nachricht --------",
    ],
)
def test_a_forward_marker_with_nothing_below_is_dropped(marker: str) -> None:
    assert strip_reply(f"See you then.\n\n{marker}\n\n") == "See you then."


def test_forward_below_an_outlook_history_block_is_removed() -> None:
    text = (
        "Answer.\n\nFrom: Jane <j@x.com>\nSent: Tuesday, March 3, 2026 10:12 AM\nTo: Tom\n"
        "Subject: FW: Delay\n\n---------- Forwarded message ---------\nLate.\n"
    )
    assert strip_reply(text) == "Answer."


# Robustness.


@pytest.mark.parametrize(
    "text",
    [
        "On " * 350_000,
        "a" * 1_000_000,
        "x@y.z wrote: " * 80_000 + ":",
        "From: a\n" * 130_000,
        "From: a Sent: b To: c Subject: d " * 30_000,
        ">\n" * 500_000,
        "Sent from my iPhone\n" * 50_000,
        "On 3 Mar 2026\nJane <j@x.com>\n" * 30_000 + "wrote:\n> x\n",
        "-" * 1_000_000,
        "_" * 500_000 + "\n" + "From: a\nSent: b\n" * 30_000,
        "Answer\n" + "> quoted line\nreply line\n" * 50_000,
        ("Ok. On Tue, 3 Mar 2026 at 10:12, Jane <j@x.com> said " * 18 + "\n") * 1000,
        (". On " * 190 + "\nwrote:\n") * 1000,
        "Hello\n" + "---\nRoman\n" * 100_000,
        "Hello\n" + "-Jane\n" * 100_000,
        ("> " + "x" * 70 + "\nyes\n") * 100_000,
        "Hi\n" + "Jane Doe <jane@x.com> wrote:\n" * 50_000,
        "Hi\n" + "2026年3月3日(火) 10:12 Jane Doe <jane@x.com>:\n" * 50_000,
        "Sent from my " + "a " * 500_000,
    ],
)
def test_megabyte_inputs_return(text: str) -> None:
    result = strip_reply(text)
    assert isinstance(result, str)
    assert len(result) <= len(text)


def test_control_and_surrogate_characters_do_not_raise() -> None:
    text = "\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ud800 hi\n> \udfff\n"
    assert strip_reply(text) == "\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ud800 hi"


# Properties.

# Pieces that real replies are made of, so that generated texts hit the
# interesting rules and not only plain prose.
_FRAGMENTS = st.sampled_from(
    [
        "",
        " ",
        "Hello",
        "Best, Jane",
        "#close",
        "> quoted",
        ">",
        ">> nested",
        "-- ",
        "--",
        "Sent from my iPhone",
        "Get Outlook for iOS",
        "<https://aka.ms/o0ukef>",
        "On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com> wrote:",
        "On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com>",
        "wrote:",
        "Jane Doe wrote:",
        "Am 03.03.2026 um 10:12 schrieb Jane <j@x.de>:",
        "________________________________",
        "From: Jane <jane@x.com>",
        "Sent: Tuesday, March 3, 2026 10:12 AM",
        "To: Tom",
        "Subject: Hi",
        "-----Original Message-----",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "\u00a0",
        "\ufeffHi",
        "-Jane",
        "- Jane Doe",
        "---",
        "+44 20 7946 0958",
        "&gt; escaped quote",
        "> " + "long quoted line " * 5,
        "wrapped continuation",
        "Sounds good. On Tue, 3 Mar 2026 at 10:12, Jane Doe <jane@x.com> wrote:",
        "Sent from my iPhoneOn 3 Mar 2026, at 10:12, Jane <jane@x.com> wrote:",
        "Jane Doe <jane@x.com> kirjoitti 3.3.2026 kello 10.12:",
        "2026年3月3日(火) 10:12 Jane Doe <jane@x.com>:",
    ]
)
_LINE = st.one_of(_FRAGMENTS, st.text(max_size=12))
_EMAILISH = st.lists(_LINE, max_size=30).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_string_made_of_its_lines(text: str) -> None:
    result = strip_reply(text)
    assert isinstance(result, str)
    assert result == result.strip()
    _assert_lines_come_from(result, text)


@settings(max_examples=600, deadline=None)
@given(_EMAILISH)
def test_reply_shaped_text_gives_a_string_made_of_its_lines(text: str) -> None:
    result = strip_reply(text)
    assert result == result.strip()
    _assert_lines_come_from(result, text)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(), _EMAILISH))
# A footer under an interleaved quote, above unquoted text: the quote must not hide the footer.
@example("Hello\n> quoted\nSent from my iPhone\n\nHello")
def test_stripping_is_idempotent(text: str) -> None:
    once = strip_reply(text)
    assert strip_reply(once) == once


# ---------------------------------------------------------------------------------------------
# Boundaries that are easy to over-apply.
# ---------------------------------------------------------------------------------------------


def test_footer_over_history_needs_the_authors_text_above() -> None:
    text = "Sent from my Fairphone\n\nHello, the order shipped today."
    assert strip_reply(text) == text


def test_footer_over_a_forward_keeps_the_forward() -> None:
    text = "FYI\n\nSent from my Fairphone\n\n---------- Forwarded message ---------\nFrom: C <c@z.com>\nHi\n"
    assert strip_reply(text) == "FYI\n\n---------- Forwarded message ---------\nFrom: C <c@z.com>\nHi"


def test_appointment_with_a_date_line_is_no_header_block() -> None:
    text = (
        "Invitation for a visit:\n\nDate: Thursday 5 March 2026\nTime: 10:00\n"
        "Address: 12 Mill Lane\n\nBring the receipt."
    )
    assert strip_reply(text) == text


def test_date_and_recipient_without_address_are_no_header_block() -> None:
    text = "Plan:\n\nDate: 5 March 2026\nTo: the whole team\n\nWe meet at ten."
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "line",
    [
        "On Monday Jane wrote",
        "On 5 March 2026 the technician wrote",
        "On 5 March 2026 I wrote",
    ],
)
def test_prose_ending_with_wrote_stays(line: str) -> None:
    text = f"Thanks.\n\n{line}\n\nthat the part is on its way."
    assert strip_reply(text) == text


def test_lowercase_answer_between_quotes_after_a_sentence_stays() -> None:
    text = "> Shall we ship it on Friday?\nyes please\n> Or would Monday suit better?"
    assert strip_reply(text) == "yes please"
