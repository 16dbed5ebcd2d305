"""Tests of helpdesk.outbound.render and the shipped templates.

The shipped templates are rendered with realistic contexts and checked for
what a reader must find in them (names, ticket number, contact details).
User template directories are built in ``tmp_path`` from copies of the
shipped ones, to check that every kind of template mistake is reported as a
ConfigError naming the file and the line, and that the sandbox holds.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.config import load_config, shipped_directory
from helpdesk.errors import ConfigError
from helpdesk.outbound.render import (
    SHIPPED,
    Rendered,
    Templates,
    clean_subject,
    clean_text,
    first_name,
    format_datetime,
    format_money,
    paragraphs,
    quote,
)
from helpdesk.outbound.samples import SAMPLE_CONTEXTS

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_DIR = REPOSITORY / "templates"


# -- contexts ------------------------------------------------------------------


def business(**changes: Any) -> dict[str, Any]:
    values = {
        "name": "Acme Tea Co.",
        "legal_name": "Acme Tea Company Ltd.",
        "email": "support@acme.example",
        "phone": "+44 23 9200 0000",
        "website": "https://acme.example",
        "address": "1 Harbour Street\nPortsmouth PO1 2AB",
        "tax_id": "GB123456789",
    }
    return {**values, **changes}


def ticket(**changes: Any) -> dict[str, Any]:
    values = {
        "id": 42,
        "subject": "Leaking teapot",
        "status": "new",
        "priority": "normal",
        "tags": ["breakage"],
        "created_at": "2026-11-24T10:00:00+00:00",
        "customer": "zoe@example.com",
    }
    return {**values, **changes}


def customer(**changes: Any) -> dict[str, Any]:
    values = {
        "name": "Zoë Martin",
        "email": "zoe@example.com",
        "ticket_count": 3,
        "first_contact": "2026-03-02T09:15:00+00:00",
        "last_contact": "2026-11-24T10:00:00+00:00",
        "tags": [],
        "language": "",
        "notes": [],
        "spent": "",
        "open_invoices": [],
    }
    return {**values, **changes}


def common(**changes: Any) -> dict[str, Any]:
    values = {
        "business": business(),
        "owner": {"name": "Sam Owner", "email": "owner@acme.example"},
        "ticket": ticket(),
        "customer": customer(),
    }
    return {**values, **changes}


def acknowledge_context(**changes: Any) -> dict[str, Any]:
    values = common(
        message={"subject": "Leaking teapot", "text": "My teapot leaks since Monday.\nCan you help?"},
        expected_reply="Tuesday 11:00",
    )
    return {**values, **changes}


def notification_context(**changes: Any) -> dict[str, Any]:
    values = common(
        message={
            "from": "zoe@example.com",
            "subject": "Re: Leaking teapot",
            "text": "Hello,\n\nmy teapot leaks since Monday.\nCan you help?",
            "attachments": [{"filename": "teapot.jpg", "size": 48213}],
        },
        history=[
            {
                "id": 7,
                "subject": "Order 1001 late",
                "status": "closed",
                "created_at": "2026-03-02T09:15:00+00:00",
            }
        ],
        commands=["#close", "#priority low|normal|high|urgent", "#note TEXT"],
        reply_address="support+o42.abcdef@acme.example",
    )
    return {**values, **changes}


def reply_context(**changes: Any) -> dict[str, Any]:
    values = common(body="A new lid is on its way.\n\nWarm wishes", greeting_name="Zoë")
    return {**values, **changes}


def command_context(**changes: Any) -> dict[str, Any]:
    values = common(
        ticket=ticket(status="closed"),
        results=[
            {"command": "#close", "ok": True, "detail": "ticket closed"},
            {"command": "#priority hgh", "ok": False, "detail": "unknown priority 'hgh'"},
        ],
        original_text="Thanks!\n#close\n#priority hgh",
    )
    return {**values, **changes}


def failure_context(**changes: Any) -> dict[str, Any]:
    values = common(
        failed={
            "recipient": "zoe@example.com",
            "subject": "Re: Leaking teapot [#42]",
            "error": "550 5.1.1 <zoe@example.com>: mailbox unavailable",
            "attempts": 4,
        }
    )
    return {**values, **changes}


def warning_context(**changes: Any) -> dict[str, Any]:
    values = {
        "business": business(),
        "owner": {"name": "Sam Owner", "email": "owner@acme.example"},
        "sender": "owner@acme.example",
        "subject": "Re: [#42] Leaking teapot",
        "quarantine_id": "3f9a1c0d7e2b4a65",
        "reason": "from the owner's address without a valid reply token",
    }
    return {**values, **changes}


@pytest.fixture
def templates() -> Templates:
    return Templates(SHIPPED_DIR, timezone="Europe/London", currency="GBP")


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A user's templates directory: a copy of the shipped one, to be edited by the test."""
    directory = tmp_path / "my-templates"
    shutil.copytree(SHIPPED_DIR, directory)
    return directory


def config_error(call: Any, *args: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        call(*args)
    return caught.value


class TagBalance(HTMLParser):
    """Checks that every element is closed in order and no paragraph holds another."""

    VOID = frozenset({"br", "meta", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if tag == "p" and "p" in self.open:
            self.problems.append(f"<p> inside <p> at {self.getpos()}")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes {self.open[-1:]}")
            return
        self.open.pop()


def assert_balanced(html: str) -> None:
    checker = TagBalance()
    checker.feed(html)
    checker.close()
    assert checker.problems == []
    assert checker.open == []


def assert_contact_details(text: str) -> None:
    for detail in ("Acme Tea Co.", "+44 23 9200 0000", "support@acme.example", "https://acme.example"):
        assert detail in text
    assert "1 Harbour Street" in text
    assert "GB123456789" in text


# -- the shipped templates ------------------------------------------------------


def test_shipped_directory_is_valid(templates: Templates) -> None:
    templates.validate()
    assert templates.directory == SHIPPED_DIR.resolve()
    assert shipped_directory("templates").resolve() == SHIPPED_DIR.resolve()


def test_shipped_names_each_have_three_files() -> None:
    for name in SHIPPED:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (SHIPPED_DIR / f"{name}{suffix}").is_file(), f"{name}{suffix}"


def test_acknowledge(templates: Templates) -> None:
    rendered = templates.render("acknowledge", acknowledge_context())
    assert isinstance(rendered, Rendered)
    assert rendered.subject == "Re: Leaking teapot [#42]"
    assert rendered.text.startswith("Hello Zoë,\n\n")
    assert "ticket #42" in rendered.text
    # It says that a person will answer, and when.
    assert "your answer will come from a person: Sam Owner will read your message" in rendered.text
    assert "reply by Tuesday 11:00" in rendered.text
    assert_contact_details(rendered.text)
    assert "\n-- \nAcme Tea Co.\n" in rendered.text
    assert "Your reference: #42" in rendered.text
    # The automatic reply never echoes the customer's words (no backscatter relay).
    assert "leaks since Monday" not in rendered.text
    assert "leaks since Monday" not in rendered.html
    assert "Hello Zoë," in rendered.html
    assert "<strong>#42</strong>" in rendered.html
    assert "Expected answer: Tuesday 11:00" in rendered.html
    assert_contact_details(rendered.html)


def test_acknowledge_without_expected_reply_or_owner_name(templates: Templates) -> None:
    context = acknowledge_context(owner={"name": "", "email": "owner@acme.example"})
    del context["expected_reply"]
    rendered = templates.render("acknowledge", context)
    assert "from a person: we will read your message and reply as soon as possible." in rendered.text
    assert "Expected answer" not in rendered.html
    assert "as soon as possible" in rendered.html
    # Without an owner name the sign-off is the business alone.
    assert "Kind regards,\nAcme Tea Co.\n" in rendered.text


def test_acknowledge_greets_without_a_name(templates: Templates) -> None:
    rendered = templates.render("acknowledge", acknowledge_context(customer=customer(name="")))
    assert rendered.text.startswith("Hello,\n")
    assert "Hello,</p>" in rendered.html


def test_owner_notification(templates: Templates) -> None:
    rendered = templates.render("owner-notification", notification_context())
    assert rendered.subject == "[#42] Leaking teapot (Zoë Martin)"
    text = rendered.text
    assert text.startswith("zoe@example.com wrote on ticket #42:\nSubject: Re: Leaking teapot\n")
    assert "Hello,\n\nmy teapot leaks since Monday.\nCan you help?" in text
    assert "  - teapot.jpg (48.2 kB)" in text
    assert "To answer Zoë, reply to this email." in text
    assert "  #priority low|normal|high|urgent\n" in text
    assert "Ticket #42: new, priority normal, tags: breakage" in text
    assert "Opened: Tue 24 Nov 2026, 10:00" in text
    assert "3 tickets since Mon 2 Mar 2026" in text
    assert "  #7 Order 1001 late (closed, Mon 2 Mar 2026)" in text
    assert "Replies go to: support+o42.abcdef@acme.example" in text
    html = rendered.html
    assert "my teapot leaks since Monday.<br>" in html
    assert "teapot.jpg" in html
    assert "#priority low|normal|high|urgent" in html
    assert "support+o42.abcdef@acme.example" in html


def test_owner_notification_shows_what_the_owner_recorded_about_the_customer(templates: Templates) -> None:
    context = notification_context()
    context["customer"] = customer(tags=["wholesale"], language="de", notes=["call first", "<b>VIP</b>"])
    rendered = templates.render("owner-notification", context)
    assert "  Tags: wholesale\n  Writes in: de\n  Note: call first\n  Note: <b>VIP</b>\n" in rendered.text
    assert "Note: &lt;b&gt;VIP&lt;/b&gt;" in rendered.html
    plain = templates.render("owner-notification", notification_context()).text
    assert "Tags:" not in plain and "Note:" not in plain and "Writes in" not in plain


def test_owner_notification_flags_urgent_tickets_and_first_contacts(templates: Templates) -> None:
    context = notification_context(
        ticket=ticket(priority="urgent", tags=[]),
        customer=customer(ticket_count=1),
        history=[],
        commands=[],
    )
    context["message"]["attachments"] = []
    rendered = templates.render("owner-notification", context)
    assert rendered.subject == "[URGENT] [#42] Leaking teapot (Zoë Martin)"
    assert "First ticket, first contact Mon 2 Mar 2026, 09:15" in rendered.text
    assert "Attachments" not in rendered.text
    assert "Earlier tickets" not in rendered.text
    assert "Commands" not in rendered.text
    assert "tags:" not in rendered.text
    assert ">URGENT</span>" in rendered.html


def test_reply_frames_the_owners_words(templates: Templates) -> None:
    rendered = templates.render("reply", reply_context())
    assert rendered.subject == "Re: Leaking teapot [#42]"
    assert rendered.text.startswith(
        "Hello Zoë,\n\nA new lid is on its way.\n\nWarm wishes\n\nSam Owner\nAcme Tea Co.\n"
    )
    assert_contact_details(rendered.text)
    assert "\n-- \n" in rendered.text
    assert "Your reference: #42" in rendered.text
    assert "A new lid is on its way.</p>" in rendered.html
    assert "Hello Zoë,</p>" in rendered.html
    assert_contact_details(rendered.html)
    assert 'href="tel:+442392000000"' in rendered.html
    assert 'href="mailto:support@acme.example"' in rendered.html


def test_reply_without_greeting_name_or_optional_business_details(templates: Templates) -> None:
    bare = business(legal_name="", phone="", website="", address="", tax_id="")
    rendered = templates.render("reply", reply_context(greeting_name="", business=bare))
    assert rendered.text.startswith("Hello,\n\n")
    assert "Phone" not in rendered.text
    assert "Web:" not in rendered.text
    assert "Tax ID" not in rendered.text
    assert "Phone" not in rendered.html
    assert "tel:" not in rendered.html
    # The signature still has the name, the address customers can write to, the reference.
    assert rendered.text.endswith("-- \nAcme Tea Co.\nEmail: support@acme.example\nYour reference: #42\n")


def test_reply_website_link_gets_a_scheme(templates: Templates) -> None:
    rendered = templates.render("reply", reply_context(business=business(website="acme.example")))
    assert 'href="https://acme.example"' in rendered.html


def test_command_result(templates: Templates) -> None:
    rendered = templates.render("command-result", command_context())
    assert rendered.subject == "[#42] Not done: 1 of 2 commands failed"
    assert "  done    #close: ticket closed\n" in rendered.text
    assert "  FAILED  #priority hgh: unknown priority 'hgh'\n" in rendered.text
    assert "A command that failed changed nothing." in rendered.text
    assert "Ticket #42 is now closed, priority normal" in rendered.text
    assert "Your message:\n> Thanks!\n> #close\n> #priority hgh\n" in rendered.text
    assert "unknown priority &#39;hgh&#39;" in rendered.html
    assert ">Failed</td>" in rendered.html
    assert ">Done</td>" in rendered.html


def test_command_result_all_done(templates: Templates) -> None:
    results = [
        {"command": "#close", "ok": True, "detail": "ticket closed"},
        {"command": "#tag vip", "ok": True, "detail": ""},
    ]
    rendered = templates.render("command-result", command_context(results=results))
    assert rendered.subject == "[#42] Done: #close, #tag vip"
    assert "changed nothing" not in rendered.text
    assert "  done    #tag vip\n" in rendered.text


def test_delivery_failure_with_and_without_ticket(templates: Templates) -> None:
    rendered = templates.render("delivery-failure", failure_context())
    assert rendered.subject == "Not delivered to zoe@example.com: Re: Leaking teapot [#42]"
    assert '(ticket #42, "Leaking teapot")' in rendered.text
    assert "Attempts: 4" in rendered.text
    assert "Error:    550 5.1.1 <zoe@example.com>: mailbox unavailable" in rendered.text
    assert "reach Zoë Martin another way" in rendered.text
    assert "550 5.1.1 &lt;zoe@example.com&gt;: mailbox unavailable" in rendered.html

    context = failure_context()
    del context["ticket"], context["customer"]
    rendered = templates.render("delivery-failure", context)
    assert "ticket #" not in rendered.text
    assert "reach the recipient another way" in rendered.text
    assert "the recipient another way" in rendered.html


def test_owner_warning(templates: Templates) -> None:
    rendered = templates.render("owner-warning", warning_context())
    # The possibly forged subject stays out of the warning's own subject line.
    assert rendered.subject == "Not acted on: a message from your address arrived without a valid reply token"
    text = rendered.text
    assert "nothing was sent to any customer and no command in it was applied" in text
    assert "From:          owner@acme.example" in text
    assert "Subject:       Re: [#42] Leaking teapot" in text
    assert "Quarantine id: 3f9a1c0d7e2b4a65" in text
    assert "without a valid reply token" in text
    assert "3f9a1c0d7e2b4a65" in rendered.html
    assert "Re: [#42] Leaking teapot" in rendered.html


def test_sample_contexts_render(templates: Templates) -> None:
    for name in SHIPPED:
        rendered = templates.render(name, SAMPLE_CONTEXTS[name])
        assert rendered.subject
        assert rendered.text.strip()
        assert "</html>" in rendered.html


@pytest.mark.parametrize("name", SHIPPED)
def test_parts_are_tidy_and_self_contained(templates: Templates, name: str) -> None:
    rendered = templates.render(name, SAMPLE_CONTEXTS[name])
    assert "\n" not in rendered.subject
    assert rendered.text.endswith("\n") and not rendered.text.endswith("\n\n")
    assert "\n\n\n" not in rendered.text
    assert all(line == "-- " or line == line.rstrip() for line in rendered.text.split("\n"))
    html = rendered.html
    assert html.startswith("<!DOCTYPE html>")
    assert "max-width:600px" in html
    assert 'role="presentation"' in html
    assert_balanced(html)
    # No external assets: mail clients block them, and they would track the reader.
    for external in ("<img", "<link", "<script", "<style", "src=", "url(", "@import"):
        assert external not in html.lower()
    assert "None" not in rendered.text


# -- escaping and header safety ---------------------------------------------------


def test_customer_text_is_escaped_in_html_and_literal_in_text(templates: Templates) -> None:
    hostile = 'Look: <script>alert("x")</script> & <b>bold</b>'
    context = notification_context()
    context["message"]["text"] = hostile
    rendered = templates.render("owner-notification", context)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "<b>bold</b>" not in rendered.html
    assert hostile in rendered.text


def test_owner_body_is_escaped_in_html(templates: Templates) -> None:
    rendered = templates.render("reply", reply_context(body="Use <script> tags & enjoy"))
    assert "Use &lt;script&gt; tags &amp; enjoy" in rendered.html
    assert "<script>" not in rendered.html
    assert "Use <script> tags & enjoy" in rendered.text


def test_business_details_are_escaped_in_html(templates: Templates) -> None:
    rendered = templates.render("reply", reply_context(business=business(name="Tea & <Cake>")))
    assert "Tea &amp; &lt;Cake&gt;" in rendered.html
    assert "Tea & <Cake>" in rendered.text


@pytest.mark.parametrize("separator", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x00"])
def test_line_breaks_in_a_subject_variable_do_not_make_header_lines(
    templates: Templates, separator: str
) -> None:
    subject = f"Hello{separator}Bcc: victim@example.com"
    rendered = templates.render("reply", reply_context(ticket=ticket(subject=subject)))
    assert rendered.subject == "Re: Hello Bcc: victim@example.com [#42]"
    assert not re.search("[\r\n\x00\x85\u2028]", rendered.subject)


def test_long_subject_is_shortened_keeping_the_ticket_tag(templates: Templates) -> None:
    rendered = templates.render("reply", reply_context(ticket=ticket(subject="word " * 100)))
    assert len(rendered.subject) <= 200
    assert rendered.subject.endswith("word… [#42]")
    assert rendered.subject.startswith("Re: word word")


def test_non_ascii_survives(templates: Templates) -> None:
    context = reply_context(
        business=business(name="Café Zoë"),
        customer=customer(name="王芳"),
        ticket=ticket(subject="茶壶漏水 🫖"),
        body="谢谢! Your order ships today 🎉\nZoë",
        greeting_name="王芳",
    )
    rendered = templates.render("reply", context)
    assert rendered.subject == "Re: 茶壶漏水 🫖 [#42]"
    for part in (rendered.text, rendered.html):
        assert "Hello 王芳," in part
        assert "谢谢! Your order ships today 🎉" in part
        assert "Café Zoë" in part
    notified = templates.render("owner-notification", notification_context(customer=customer(name="王芳")))
    assert notified.subject == "[#42] Leaking teapot (王芳)"
    assert "To answer 王芳, reply" in notified.text


# -- errors in templates ----------------------------------------------------------


def test_undefined_variable_names_file_and_line(user_dir: Path) -> None:
    (user_dir / "reply.txt").write_text("Hello {{ greeting_name }},\n{{ body }}\n{{ customer.nickname }}\n")
    templates = Templates(user_dir)
    error = config_error(templates.render, "reply", reply_context())
    assert error.file == str(user_dir.resolve() / "reply.txt")
    assert error.key == "line 3"
    assert "nickname" in error.problem
    assert "reply.txt: line 3: " in str(error)


def test_missing_top_level_variable_is_named(templates: Templates) -> None:
    context = reply_context()
    del context["greeting_name"]
    error = config_error(templates.render, "reply", context)
    assert error.file.endswith("reply.txt")
    assert error.key.startswith("line ")
    assert error.problem == "undefined variable 'greeting_name'"


def test_undefined_variable_is_caught_at_start_up(user_dir: Path) -> None:
    (user_dir / "acknowledge.html").write_text(
        '{% extends "_base.html" %}\n{% block content %}\n<p>{{ ticket.assignee }}</p>\n{% endblock %}\n'
    )
    error = config_error(Templates(user_dir).validate)
    assert error.file == str(user_dir.resolve() / "acknowledge.html")
    assert error.key == "line 3"
    assert "assignee" in error.problem
    assert "checked with sample values" in error.problem


def test_optional_variable_used_unguarded_is_caught_at_start_up(user_dir: Path) -> None:
    (user_dir / "acknowledge.txt").write_text("Hello,\nwe answer by {{ expected_reply }}.\n")
    error = config_error(Templates(user_dir).validate)
    assert error.file.endswith("acknowledge.txt")
    assert error.key == "line 2"
    assert "expected_reply" in error.problem


def test_error_in_an_include_names_the_included_file(user_dir: Path) -> None:
    signature = (user_dir / "_signature.txt").read_text(encoding="utf-8")
    lines = signature.split("\n")
    lines.insert(6, "Fax: {{ business.fax }}")
    (user_dir / "_signature.txt").write_text("\n".join(lines), encoding="utf-8")
    error = config_error(Templates(user_dir).render, "acknowledge", acknowledge_context())
    assert error.file == str(user_dir.resolve() / "_signature.txt")
    assert error.key == "line 7"
    assert "fax" in error.problem


def test_syntax_error_names_file_and_line_at_validate(user_dir: Path) -> None:
    (user_dir / "owner-warning.txt").write_text("From: {{ sender }}\n\n{{ subject + }}\n")
    error = config_error(Templates(user_dir).validate)
    assert error.file == str(user_dir.resolve() / "owner-warning.txt")
    assert error.key == "line 3"
    assert error.problem.startswith("syntax error:")


def test_syntax_error_in_a_shared_file_is_found(user_dir: Path) -> None:
    (user_dir / "_extra.html").write_text("<p>\n{% if ticket %}\n</p>\n")
    error = config_error(Templates(user_dir).validate)
    assert error.file == str(user_dir.resolve() / "_extra.html")
    assert error.key.startswith("line ")


def test_syntax_error_at_render_time_is_named_too(user_dir: Path) -> None:
    (user_dir / "reply.subject.txt").write_text("Re: {{ ticket.subject }\n")
    error = config_error(Templates(user_dir).render, "reply", reply_context())
    assert error.file.endswith("reply.subject.txt")
    assert error.key == "line 1"


def test_reference_to_a_missing_template_is_found_at_validate(user_dir: Path) -> None:
    (user_dir / "reply.html").write_text(
        '{% extends "_base.html" %}\n{% block footer %}\n{% include "_footer.html" %}\n{% endblock %}\n'
    )
    error = config_error(Templates(user_dir).validate)
    assert error.file.endswith("reply.html")
    assert error.key == "line 3"
    assert "_footer.html" in error.problem


def test_missing_required_template_is_named(user_dir: Path) -> None:
    (user_dir / "owner-warning.html").unlink()
    error = config_error(Templates(user_dir).validate)
    assert error.file == str(user_dir.resolve() / "owner-warning.html")
    assert "owner-warning" in error.problem


def test_missing_template_at_render_time_is_named(user_dir: Path) -> None:
    (user_dir / "reply.html").unlink()
    error = config_error(Templates(user_dir).render, "reply", reply_context())
    assert error.file == str(user_dir.resolve() / "reply.html")
    assert "not found" in error.problem


def test_validate_only_requires_what_it_is_asked_for(user_dir: Path) -> None:
    for name in SHIPPED:
        if name != "reply":
            for part in Templates.parts(name):
                (user_dir / part).unlink()
    Templates(user_dir).validate(["reply"])
    error = config_error(Templates(user_dir).validate)
    assert "acknowledge" in error.problem


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    error = config_error(Templates(tmp_path / "nowhere").validate)
    assert error.file == str(tmp_path / "nowhere")
    assert "no such templates directory" in error.problem


def test_non_utf8_template_is_reported(user_dir: Path) -> None:
    (user_dir / "reply.txt").write_bytes("Grüße {{ body }}\n".encode("latin-1"))
    error = config_error(Templates(user_dir).validate)
    assert error.file == str(user_dir.resolve() / "reply.txt")
    assert "UTF-8" in error.problem


def test_readme_and_hidden_files_are_not_compiled(user_dir: Path) -> None:
    (user_dir / "README.md").write_text("Use {{ ticket.id }} and {% oops %} freely.\n")
    (user_dir / ".reply.txt.swp").write_text("{% broken")
    Templates(user_dir).validate()


# -- the sandbox -----------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ body.__class__.__base__.__subclasses__() }}",
        "{{ ticket.tags.append('hacked') }}",
        "{{ ticket.update({'id': 1}) }}",
    ],
)
def test_sandbox_blocks_python_internals_and_mutation(user_dir: Path, expression: str) -> None:
    (user_dir / "reply.txt").write_text(f"Hello,\n{expression}\n")
    context = reply_context()
    error = config_error(Templates(user_dir).render, "reply", context)
    assert error.file.endswith("reply.txt")
    assert error.key == "line 2"
    assert error.problem.startswith("not allowed in a template: access to attribute")
    assert context["ticket"] == ticket()


def test_sandbox_violation_is_caught_at_start_up(user_dir: Path) -> None:
    (user_dir / "reply.txt").write_text("{{ body }}\n{{ ''.__class__.__mro__ }}\n")
    error = config_error(Templates(user_dir).validate)
    assert error.file.endswith("reply.txt")
    assert error.key == "line 2"
    assert "not allowed in a template" in error.problem


def test_template_syntax_in_customer_text_is_just_text(templates: Templates) -> None:
    body = "{{ business.__class__ }} {% for x in range(9) %}x{% endfor %}"
    rendered = templates.render("reply", reply_context(body=body))
    assert body in rendered.text


# -- user templates and filters ------------------------------------------------------


def test_user_template_with_filters(user_dir: Path) -> None:
    (user_dir / "thanks.subject.txt").write_text("Thank you, {{ customer.name|first_name }}\n")
    (user_dir / "thanks.txt").write_text(
        "Paid {{ amount|money }} ({{ amount|money('USD') }}) on {{ paid_at|datetime }}.\n"
        "Since {{ customer.first_contact|date }}.{{ nothing }}\n"
    )
    (user_dir / "thanks.html").write_text("<p>{{ note|paragraphs }}</p>\n")
    templates = Templates(user_dir, timezone="Europe/Berlin", currency="EUR")
    templates.validate([*SHIPPED, "thanks"])
    context = common(amount=1234.5, paid_at="2026-11-24T10:00:00Z", nothing=None, note="a\nb")
    rendered = templates.render("thanks", context)
    assert rendered.subject == "Thank you, Zoë"
    assert (
        rendered.text
        == "Paid 1,234.50 EUR (1,234.50 USD) on Tue 24 Nov 2026, 11:00.\nSince Mon 2 Mar 2026.\n"
    )
    assert "a<br>\nb" in rendered.html


def test_from_config_uses_the_business_settings() -> None:
    config = load_config(REPOSITORY / "config.toml")
    templates = Templates.from_config(config)
    assert templates.directory == config.templates_path.resolve()
    assert templates.currency == config.business.currency == "GBP"
    assert templates.timezone == ZoneInfo("Europe/London")
    templates.validate()


def test_paragraphs_filter() -> None:
    html = paragraphs("First line\nsecond <line>\n\n\n  indented & more\n")
    style = 'style="margin:0 0 16px 0;overflow-wrap:break-word;word-wrap:break-word;"'
    assert str(html) == (
        f"<p {style}>First line<br>\nsecond &lt;line&gt;</p>\n<p {style}>&nbsp;&nbsp;indented &amp; more</p>"
    )
    assert paragraphs("") == ""
    assert paragraphs(None) == ""
    assert str(paragraphs("a\r\n\r\nb")).count("<p ") == 2


def test_quote_filter() -> None:
    assert quote("one\n\ntwo") == "> one\n>\n> two"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Zoë Martin", "Zoë"),
        ("Martin, Zoë", "Zoë"),
        ("Dr. Zoë Martin", "Zoë"),
        ('"Zoë Martin"', "Zoë"),
        ("王芳", "王芳"),
        ("zoe@example.com", ""),
        ("", ""),
        ("  ", ""),
        (None, ""),
    ],
)
def test_first_name(name: str | None, expected: str) -> None:
    assert first_name(name) == expected


def test_format_datetime() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert format_datetime("2026-11-24T10:00:00+00:00", berlin) == "Tue 24 Nov 2026, 11:00"
    assert format_datetime(datetime(2026, 11, 24, 10, 0), berlin) == "Tue 24 Nov 2026, 11:00"
    assert format_datetime(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), berlin) == "Thu 2 Jul 2026, 01:30"
    assert format_datetime("2026-11-24T10:00:00+00:00", berlin, with_time=False) == "Tue 24 Nov 2026"
    # A date stays that day whatever the time zone.
    assert format_datetime("2026-11-24", ZoneInfo("Pacific/Auckland")) == "Tue 24 Nov 2026"
    assert format_datetime(date(2026, 12, 25), berlin) == "Fri 25 Dec 2026"
    assert format_datetime("next Tuesday", berlin) == "next Tuesday"
    assert format_datetime(None, berlin) == ""


def test_format_money() -> None:
    assert format_money(1234.5, "EUR") == "1,234.50 EUR"
    assert format_money("19.999", "GBP") == "20.00 GBP"
    assert format_money(0, "USD") == "0.00 USD"
    assert format_money("n/a", "EUR") == "n/a"


def test_clean_text() -> None:
    raw = "\n\nHello   \r\nthere\t\r\n\r\n\r\n\r\nbye\n-- \nSig  \n\n\n"
    assert clean_text(raw) == "Hello\nthere\n\nbye\n-- \nSig\n"


def test_clean_subject() -> None:
    assert clean_subject("  Re:\tHello \r\n  world  ") == "Re: Hello world"
    long = "x" * 300 + " [#7]"
    shortened = clean_subject(long)
    assert len(shortened) <= 200
    assert shortened.endswith("… [#7]")
    assert clean_subject("y" * 300).endswith("…")
    assert len(clean_subject("y" * 300)) == 200
