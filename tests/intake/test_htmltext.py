"""HTML bodies become readable plain text, with or without quoted history."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.intake import htmltext
from helpdesk.intake.htmltext import html_to_text, html_to_texts


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    html = "<p>First   paragraph\n spans\tlines.</p><p>Second.</p>"
    assert html_to_text(html) == "First paragraph spans lines.\n\nSecond."


def test_br_and_divs_break_lines() -> None:
    html = "<div>Hello,<br>line two</div><div>line three</div><div><br></div><div>after blank</div>"
    assert html_to_text(html) == "Hello,\nline two\nline three\n\nafter blank"


def test_at_most_one_blank_line_in_a_row() -> None:
    html = "a<br><br><br><br><p></p><p></p><p>b</p><br><br>"
    assert html_to_text(html) == "a\n\nb"


def test_lists() -> None:
    html = "<p>Steps:</p><ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul><ol><li>x<li>y</ol>"
    assert html_to_text(html) == "Steps:\n\n- one\n- two\n  - inner\n\n1. x\n2. y"


def test_links_show_their_target_only_when_it_adds_something() -> None:
    html = (
        '<a href="https://acme.example/orders/42">your order</a>, '
        '<a href="https://acme.example/">acme.example</a>, '
        '<a href="mailto:help@acme.example">help@acme.example</a>, '
        '<a href="#top">top</a>, <a href="https://img.example/"><img src="x.png"></a>.'
    )
    assert html_to_text(html) == (
        "your order (https://acme.example/orders/42), acme.example, help@acme.example, top, ."
    )


def test_scripts_styles_and_head_are_dropped() -> None:
    html = (
        "<html><head><title>Mail title</title><style>p { color: red }</style>"
        '<meta charset="utf-8"></head><body><script>alert("x")</script><p>Visible</p>'
        "<style>.x{}</style></body></html>"
    )
    assert html_to_text(html) == "Visible"


def test_head_without_closing_tag_ends_at_body() -> None:
    assert html_to_text("<head><title>t</title><body><p>Text</p>") == "Text"


def test_entities_are_decoded_and_nbsp_becomes_a_space() -> None:
    html = "<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#8364;5&nbsp;each &quot;ok&quot;</p>"
    assert html_to_text(html) == 'Fish & chips <3 été €5 each "ok"'


def test_whitespace_collapses_like_a_browser() -> None:
    html = "<div>\n   Hello\n\n   <b>big</b>   <i> world </i>\n</div>"
    assert html_to_text(html) == "Hello big world"


def test_preformatted_text_keeps_its_spacing() -> None:
    html = "<p>Log:</p><pre>  line 1\n    line 2</pre><p>End</p>"
    assert html_to_text(html) == "Log:\n\n  line 1\n    line 2\n\nEnd"


def test_table_cells_and_rows() -> None:
    html = "<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Vase</td><td>2</td></tr></table>"
    assert html_to_text(html) == "Item Qty\nVase 2"


def test_outlook_msonormal_paragraphs_are_single_lines() -> None:
    html = (
        '<p class="MsoNormal">Hello,<o:p></o:p></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">the lid is cracked.<o:p></o:p></p>'
        '<p class="MsoNormal">Regards<o:p></o:p></p>'
    )
    assert html_to_text(html) == "Hello,\n\nthe lid is cracked.\nRegards"


def test_invisible_spacers_are_removed() -> None:
    assert html_to_text("<p>Sale\u200b\u034f\ufeff now</p>") == "Sale now"


GMAIL_REPLY = (
    '<div dir="ltr">Yes, please send a new one.<div><br></div><div>Zoë</div></div><br>'
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 13 May 2024 at 18:00,'
    " Acme &lt;support@acme.example&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">'
    "Shall we send a replacement?<br>Acme</blockquote></div>"
)


def test_gmail_quote_is_marked_in_full_text_and_dropped_on_request() -> None:
    assert html_to_text(GMAIL_REPLY) == (
        "Yes, please send a new one.\n\nZoë\n\n"
        "On Mon, 13 May 2024 at 18:00, Acme <support@acme.example> wrote:\n\n"
        "> Shall we send a replacement?\n> Acme"
    )
    assert html_to_text(GMAIL_REPLY, drop_quotes=True) == "Yes, please send a new one.\n\nZoë"


def test_apple_mail_cite_blockquote_is_dropped() -> None:
    html = (
        "<html><body>Thanks, that works.<br><div><br><blockquote type=\"cite\">"
        "<div>On 13 May 2024, at 18:00, Acme wrote:</div><div>Try restarting it.</div>"
        "<blockquote type=\"cite\">older</blockquote></blockquote></div>"
        "<div>PS: it is blue.</div></body></html>"
    )
    assert html_to_text(html, drop_quotes=True) == "Thanks, that works.\n\nPS: it is blue."
    assert "> Try restarting it." in html_to_text(html)
    assert ">> older" in html_to_text(html)


def test_thunderbird_attribution_is_dropped() -> None:
    html = (
        "<p>New words.</p><div class=\"moz-cite-prefix\">On 5/13/24 18:00, Acme wrote:<br></div>"
        '<blockquote type="cite">Old words.</blockquote>'
    )
    assert html_to_text(html, drop_quotes=True) == "New words."


def test_outlook_markers_drop_everything_after_them() -> None:
    html = (
        "<div>The invoice is wrong.</div><div>Kim</div>"
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Acme<br><b>Sent:</b> Monday</div>'
        "<div>Your invoice is attached.</div>"
    )
    assert html_to_text(html, drop_quotes=True) == "The invoice is wrong.\nKim"
    assert "Your invoice is attached." in html_to_text(html)


def test_divrplyfwdmsg_alone_cuts_too() -> None:
    html = '<p>Short answer.</p><div id="divRplyFwdMsg">From: X</div><p>quoted</p>'
    assert html_to_text(html, drop_quotes=True) == "Short answer."


def test_both_renderings_in_one_pass() -> None:
    full, new = html_to_texts(GMAIL_REPLY)
    assert full == html_to_text(GMAIL_REPLY)
    assert new == html_to_text(GMAIL_REPLY, drop_quotes=True)


def test_links_inside_quotes_do_not_confuse_the_new_text() -> None:
    html = (
        '<p>See <a href="https://a.example/x">this</a></p>'
        '<blockquote type="cite"><a href="https://b.example/y">old link</a></blockquote>'
        '<p>and <a href="https://c.example/z">that</a></p>'
    )
    assert html_to_text(html, drop_quotes=True) == (
        "See this (https://a.example/x)\n\nand that (https://c.example/z)"
    )


def test_broken_markup_still_gives_text() -> None:
    assert html_to_text("<p>Unclosed <b>bold <i>and <div>block") == "Unclosed bold and\nblock"
    assert html_to_text("<![if !supportLists]>- item<![endif]><p>ok") == "- item\n\nok"
    assert html_to_text("") == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_converts_without_error(markup: str) -> None:
    full, new = html_to_texts(markup)
    assert isinstance(full, str)
    assert isinstance(new, str)
    assert "\n\n\n" not in full


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<p>", "</p>", "<div>", "</div>", "<br>", "<li>", "<ul>", "</ul>", "<a href='u'>",
                "</a>", '<blockquote type="cite">', "</blockquote>", "<pre>", "</pre>",
                '<div id="appendonsend">', "<script>", "</script>", "<head>", "text", " ",
                "&amp;", "<![CDATA[x]]>", "<!-- c -->", "<!doctype html>", "<td>", "<tr>",
            ]
        )
    )
)  # fmt: skip
def test_tag_soup_converts_without_error(tokens: list[str]) -> None:
    full, new = html_to_texts("".join(tokens))
    assert len(new) <= len(full) + len(" (u)") * len(tokens)
    assert all(line == line.rstrip() for line in full.split("\n"))


def test_unknown_marked_sections_do_not_lose_the_layout() -> None:
    # html.parser raises on "<![" followed by an unknown keyword.
    assert html_to_text("<p>Hi</p><![xa[<p>more</p>") == "Hi\n\n<![xa[\n\nmore"
    assert html_to_text("<p>a</p><![if !supportLists]>- b<![endif]>") == "a\n\n- b"


def test_markup_the_parser_rejects_is_stripped_crudely(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object, data: str) -> None:
        raise AssertionError("unexpected declaration")

    monkeypatch.setattr(htmltext._Converter, "feed", refuse)
    assert html_to_texts("<p>Fish &amp; <b>chips</b></p>\n<p>Two</p>") == (
        "Fish & chips\nTwo",
        "Fish & chips\nTwo",
    )
