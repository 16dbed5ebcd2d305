"""Unit tests of ``helpdesk.owner.console``: reading mail to the owner's command address."""

from __future__ import annotations

import pytest

from helpdesk.owner.console import ConsoleRequest, NewConversation, plan_console


def test_questions_one_per_line_with_other_text_ignored() -> None:
    plan = plan_console(
        "Hi,\n#list MINE\n#find  teapot   lid\n#show #12\n#customer zoe@example.org\n#invoices\n"
    )
    assert plan.errors == [] and plan.new is None
    assert plan.requests == [
        ConsoleRequest("list", "mine", "#list MINE"),
        ConsoleRequest("find", "teapot lid", "#find  teapot   lid"),
        ConsoleRequest("show", "#12", "#show #12"),
        ConsoleRequest("customer", "zoe@example.org", "#customer zoe@example.org"),
        ConsoleRequest("invoices", "", "#invoices"),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("#list closed", "say which: open | pending | overdue | new | mine"),
        ("#list", "say which"),
        ("#find", "needs the words to look for"),
        ("#show twelve", "needs a ticket number"),
        ("#customer Zoë", "needs the customer's address"),
        ("#invoices paid", "say which: open | overdue"),
        ("#digest now", "takes no argument"),
        ("#close", "unknown command here"),
    ],
)
def test_a_mistake_is_named_with_its_line(line: str, problem: str) -> None:
    plan = plan_console(f"{line}\n#help")
    assert [request.name for request in plan.requests] == ["help"]
    [error] = plan.errors
    assert error.startswith(f"{line}: ") and problem in error


def test_no_command_at_all_is_a_mistake_too() -> None:
    assert plan_console("Thanks!").errors == [
        "no command found: write one per line, e.g. #list open (#help lists them all)"
    ]


def test_new_takes_the_address_the_subject_and_everything_below() -> None:
    plan = plan_console(
        "#new <Ann@Example.org>  Your repair is ready\nHello Ann,\n\nit is ready.\n#priority high"
    )
    assert plan.requests == [] and plan.errors == []
    assert plan.new == NewConversation(
        "ann@example.org", "Your repair is ready", "Hello Ann,\n\nit is ready.\n#priority high"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("#new ann Your repair\nHello", "needs the customer's address first"),
        ("#new ann@example.org\nHello", "needs a subject after the address"),
        ("#new ann@example.org Your repair", "has no message below it"),
    ],
)
def test_a_new_conversation_needs_address_subject_and_text(text: str, problem: str) -> None:
    plan = plan_console(text)
    assert plan.new is None and len(plan.errors) == 1 and problem in plan.errors[0]
