"""Unit tests of ``helpdesk.owner.commands``: reading the owner's replies (pure text work)."""

from __future__ import annotations

import pytest

from helpdesk.owner.commands import Command, ReplyPlan, plan_reply


def commands(plan: ReplyPlan) -> list[tuple[str, str]]:
    return [(command.name, command.argument) for command in plan.commands]


def test_a_plain_answer_is_relayed_as_it_is() -> None:
    plan = plan_reply("Hi Kim,\n\nyour order left today.\n\nBest,\nSam\n")
    assert plan.body == "Hi Kim,\n\nyour order left today.\n\nBest,\nSam"
    assert plan.commands == [] and plan.errors == []
    assert plan.relays


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#close", ("close", "")),
        ("#reopen", ("reopen", "")),
        ("#pending", ("pending", "")),
        ("#priority high", ("priority", "high")),
        ("#priority   urgent  ", ("priority", "urgent")),
        ("#tag vip", ("tag", "vip")),
        ("#tag order-42.b_2", ("tag", "order-42.b_2")),
        ("#untag vip", ("untag", "vip")),
        ("#note called her, photo follows", ("note", "called her, photo follows")),
        ("#nosend", ("nosend", "")),
        ('#due friday "send the part"', ("due", 'friday "send the part"')),
        ("#done", ("done", "")),
        ("#cause Late-Delivery", ("cause", "late-delivery")),
        ("  #close  ", ("close", "")),
        ("\t#tag\tvip", ("tag", "vip")),
    ],
)
def test_each_command_is_recognised(line: str, expected: tuple[str, str]) -> None:
    plan = plan_reply(f"Thanks!\n{line}\n")
    assert commands(plan) == [expected]
    assert plan.errors == []
    assert plan.body == "Thanks!"
    assert plan.commands[0].line == line.strip()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#CLOSE", ("close", "")),
        ("#Close", ("close", "")),
        ("#PRIORITY HIGH", ("priority", "high")),
        ("#Priority Low", ("priority", "low")),
        ("#TAG VIP", ("tag", "vip")),
        ("#Untag Vip", ("untag", "vip")),
    ],
)
def test_commands_are_case_insensitive(line: str, expected: tuple[str, str]) -> None:
    assert commands(plan_reply(line)) == [expected]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("#priority soon", "priority must be one of low, normal, high, urgent"),
        ("#priority", "priority must be one of low, normal, high, urgent"),
        ("#tag", "needs a tag name"),
        ("#tag two words", "needs a tag name"),
        ("#untag", "needs a tag name"),
        ("#close now", "takes no argument"),
        ("#reopen please", "takes no argument"),
        ("#nosend x", "takes no argument"),
        ("#due", "needs a time"),
        ("#done now", "takes no argument"),
        ("#cause", "needs a cause name"),
        ("#use", "needs the name of a saved reply"),
        ("#use ../../etc/passwd", "needs the name of a saved reply"),
        ("#frobnicate", "unknown command"),
        ("#closed", "unknown command"),
    ],
)
def test_a_malformed_command_is_an_error_and_stops_the_relay(line: str, problem: str) -> None:
    plan = plan_reply(f"Sure, done.\n{line}")
    assert plan.commands == []
    [error] = plan.errors
    assert error.startswith(f"{line}: ") and problem in error
    assert plan.body == "Sure, done."
    assert not plan.relays, "a reply with a mistyped command waits for the owner"


def test_good_commands_still_count_beside_a_bad_one() -> None:
    plan = plan_reply("#tag vip\n#priority soon\n#close")
    assert commands(plan) == [("tag", "vip"), ("close", "")]
    assert len(plan.errors) == 1


def test_commands_only_relay_nothing() -> None:
    plan = plan_reply("#tag vip\n\n#close\n")
    assert plan.body == ""
    assert commands(plan) == [("tag", "vip"), ("close", "")]
    assert not plan.relays


def test_note_keeps_the_text_from_the_customer() -> None:
    plan = plan_reply("Called her today.\n#note")
    assert plan.note and not plan.nosend
    assert plan.body == "Called her today."
    assert not plan.relays
    assert plan.commands == [Command("note", "", "#note")]


def test_nosend_applies_commands_only() -> None:
    plan = plan_reply("Draft answer.\n#priority high\n#nosend")
    assert plan.nosend
    assert commands(plan) == [("priority", "high"), ("nosend", "")]
    assert not plan.relays


@pytest.mark.parametrize(
    "line",
    ["#1042 is your order number.", "# Heading", "#", "##close", "Use #close to close.", "#42"],
)
def test_lines_that_are_not_commands_stay_in_the_body(line: str) -> None:
    plan = plan_reply(f"Hello,\n{line}\nBye")
    assert plan.commands == [] and plan.errors == []
    assert plan.body == f"Hello,\n{line}\nBye"
    assert plan.relays


def test_an_empty_reply_relays_nothing() -> None:
    plan = plan_reply("\n  \n")
    assert plan.body == "" and not plan.relays


def test_use_stays_where_it_stands_until_the_saved_reply_replaces_it() -> None:
    plan = plan_reply("Good question!\n#USE Delivery-Times\nBest, Sam")
    assert commands(plan) == [("use", "delivery-times")]
    assert plan.body == "Good question!\n#use delivery-times\nBest, Sam"
    assert plan.relays
