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
from hypothesis import given, settings
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

    The first and last lines may have lost surrounding whitespace, and the
    blank lines that join kept pieces need not occur in ``text``.
    """
    lines = _input_lines(text)
    known = set(lines)
    out = result.split("\n")
    for position, line in enumerate(out):
        if line in known or line == "":
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


def test_footer_only_gives_empty_text() -> None:
    assert strip_reply("\nSent from my iPhone\n") == ""


def test_signature_only_gives_empty_text() -> None:
    assert strip_reply("-- \nJane Doe\nExample Ltd.\n") == ""


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
    ],
)
def test_prose_that_looks_like_an_attribution_stays(text: str) -> None:
    assert strip_reply(text) == text


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


# Interleaved answers.


def test_text_between_and_after_quotes_is_kept_and_joined_by_blank_lines() -> None:
    text = "> q1\nanswer one\n> q2\n> q2 continued\nanswer two\nstill two\n> q3\n"
    assert strip_reply(text) == "answer one\n\nanswer two\nstill two"


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
def test_stripping_is_idempotent(text: str) -> None:
    once = strip_reply(text)
    assert strip_reply(once) == once
