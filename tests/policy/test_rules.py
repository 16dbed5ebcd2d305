"""Tests of the rules language: loading and validation, conditions, windows and actions.

Validation tests write a rules directory into ``tmp_path`` and assert the
whole :class:`ConfigError` message: file, rule and key, and the hint.
Condition tests build :class:`Facts` by hand over a real business calendar
(Mon-Fri 09:00-18:00 in Europe/London with Easter 2026 as holidays), so
weekends, holidays and the 2026-03-29 daylight-saving change are measured
exactly. Action tests run the real dispatcher over a real store, outbox,
templates and ingestion in ``tmp_path``, with a clock the test moves by hand;
what a rule sent is read back from the outbox queue.
"""

from __future__ import annotations

import email
import email.policy
import textwrap
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.config import Config, load_config, shipped_directory
from helpdesk.daemon import load_policy
from helpdesk.errors import ConfigError
from helpdesk.intake.archive import MailArchive
from helpdesk.intake.ingest import Ingestor
from helpdesk.intake.quarantine import Quarantine
from helpdesk.outbound.outbox import Outbox, OutboxItem
from helpdesk.outbound.render import Templates
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.tokens import ReplyTokens, load_secret
from helpdesk.policy.actions import Actions
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.conditions import CONDITIONS, Facts
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.policy.durations import Duration, parse_duration
from helpdesk.policy.ruleactions import ACTIONS
from helpdesk.policy.rules import RuleSet, load_rules
from helpdesk.store.records import Ticket, iso
from helpdesk.store.store import Store
from tests.corpus import customer_mail
from tests.helpers import OWNER, write_config

LONDON = ZoneInfo("Europe/London")
# Good Friday and Easter Monday 2026, bank holidays in England.
HOLIDAYS = (date(2026, 4, 3), date(2026, 4, 6))
HOURS = BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/London", HOLIDAYS)
TEMPLATE_NAMES = Templates(shipped_directory("templates")).names()
CUSTOMER = "zoe@example.org"
UNIT_HINT = '(use minutes, hours, days or weeks, optionally "business")'
EVENT_LIST = (
    "message.received, ticket.created, ticket.reopened, owner.replied, ticket.closed, feedback.received, "
    "delivery.failed, tick"
)


def london(text: str) -> datetime:
    """A London wall-clock time, ``"2026-03-03 10:00"``."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def stamp(text: str) -> str:
    """The stored (UTC ISO) form of a London wall-clock time."""
    return iso(london(text))


# ===========================================================================
# Loading and validation
# ===========================================================================


def write_rules(directory: Path, files: dict[str, str]) -> Path:
    """A rules directory holding ``files`` (name -> TOML text, dedented)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def load(tmp_path: Path, text: str) -> RuleSet:
    return load_rules(write_rules(tmp_path / "rules", {"10-test.toml": text}), TEMPLATE_NAMES)


def failure(tmp_path: Path, text: str) -> tuple[Path, ConfigError]:
    """The file written and the error loading it gives."""
    directory = write_rules(tmp_path / "rules", {"10-test.toml": text})
    with pytest.raises(ConfigError) as caught:
        load_rules(directory, TEMPLATE_NAMES)
    return directory / "10-test.toml", caught.value


def assert_error(error: ConfigError, file: Path, key: str, problem: str) -> None:
    """The error names ``file`` and ``key`` and says ``problem``, on one line."""
    assert (error.file, error.key, error.problem) == (str(file), key, problem)
    assert str(error) == f"{file}: {key}: {problem}"
    assert "\n" not in str(error)
    assert error.exit_status == 2


def with_condition(condition: str) -> str:
    return f"""
        [[rule]]
        name = "r"
        on = "tick"
        when = {{ {condition} }}
        do = [{{ action = "close" }}]
    """


def with_action(entry: str) -> str:
    return f"""
        [[rule]]
        name = "r"
        on = "ticket.created"
        do = [{entry}]
    """


def test_every_shipped_rule_loads_in_file_order() -> None:
    rules = load_rules(shipped_directory("rules"), TEMPLATE_NAMES)
    assert [(Path(rule.file).name, rule.name, rule.on) for rule in rules.rules] == [
        ("10-priority.toml", "priority-on-complaints", "message.received"),
        ("20-acknowledge.toml", "acknowledge", "ticket.created"),
        ("30-notify-owner.toml", "notify-owner", "message.received"),
        ("40-escalation.toml", "escalate-urgent", "tick"),
        ("40-escalation.toml", "escalate", "tick"),
        ("50-follow-up.toml", "follow-up", "tick"),
        ("50-follow-up.toml", "auto-close", "tick"),
        ("60-loyalty.toml", "loyal-customer", "ticket.created"),
        ("60-loyalty.toml", "loyal-spender", "ticket.created"),
        ("60-loyalty.toml", "loyalty-thanks", "ticket.closed"),
        ("70-payment-reminder.toml", "payment-reminder", "tick"),
        ("80-thank-you.toml", "thank-you", "ticket.closed"),
        ("80-thank-you.toml", "complaint", "feedback.received"),
        ("80-thank-you.toml", "testimonial", "feedback.received"),
        ("90-promises.toml", "promise-reminder", "tick"),
        ("90-promises.toml", "promise-missed", "tick"),
    ]
    assert all(rule.description for rule in rules.rules)


def test_a_valid_rule_is_compiled_with_its_parts(tmp_path: Path) -> None:
    rules = load(
        tmp_path,
        """
        [[rule]]
        name = "vip-fast-lane"
        description = "VIP customers first."
        on = "message.received"
        when = { customer_tags = ["vip"], words = "urgent" }
        do = [{ action = "set-priority", priority = "URGENT" }, { action = "notify-owner" }]
        """,
    )
    [rule] = rules.rules
    assert (rule.name, rule.description, rule.on) == (
        "vip-fast-lane",
        "VIP customers first.",
        "message.received",
    )
    assert rule.file == str(tmp_path / "rules" / "10-test.toml")
    assert [condition.key for condition in rule.conditions] == ["customer_tags", "words"]
    assert [(call.name, dict(call.params)) for call in rule.actions] == [
        ("set-priority", {"priority": "urgent"}),
        ("notify-owner", {"template": "owner-notification"}),
    ]
    assert rules.for_event("message.received") == [rule]
    assert rules.for_event("tick") == []


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path, error = failure(tmp_path, '[[rule]]\nname = "unterminated\n')
    assert (error.file, error.key) == (str(path), "")
    assert error.problem.startswith("TOML syntax error: ")
    assert "line 2" in error.problem
    assert str(error) == f"{path}: {error.problem}"


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "10-test.toml").write_bytes(b'[[rule]]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_rules(directory, TEMPLATE_NAMES)
    assert caught.value.file == str(directory / "10-test.toml")
    assert caught.value.problem.startswith("cannot read: ")


def test_a_missing_rules_directory_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "no-rules-here"
    with pytest.raises(ConfigError) as caught:
        load_rules(missing, TEMPLATE_NAMES)
    assert (caught.value.file, caught.value.key) == (str(missing), "")
    assert str(caught.value) == f"{missing}: no such rules directory"


STRUCTURE_ERRORS = [
    pytest.param(
        'title = "my rules"\n[[rule]]\nname = "r"\non = "tick"\ndo = [{ action = "close" }]\n',
        "title",
        "unknown top-level key (rules are [[rule]] tables)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        '[rule]\nname = "r"\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule",
        "use [[rule]] (an array of tables)",
        id="rule-is-a-single-table",
    ),
    pytest.param('rule = "r"\n', "rule", "use [[rule]] (an array of tables)", id="rule-is-a-string"),
    pytest.param("rule = [1]\n", "rule #1", "each [[rule]] must be a table", id="rule-is-not-a-table"),
    pytest.param(
        '[[rule]]\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule #1 name",
        'needs name = "letters-digits", got None',
        id="missing-name",
    ),
    pytest.param(
        '[[rule]]\nname = "two words"\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule #1 name",
        "needs name = \"letters-digits\", got 'two words'",
        id="bad-name",
    ),
    pytest.param(
        '[[rule]]\nname = "a"\non = "tick"\ndo = [{ action = "close" }]\n'
        '[[rule]]\nname = 7\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule #2 name",
        'needs name = "letters-digits", got 7',
        id="second-rule-name-not-text",
    ),
    pytest.param(
        '[[rule]]\nname = "a"\non = "tick"\ndo = [{ action = "close" }]\n'
        '[[rule]]\nname = "a"\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule 'a' name",
        "a rule of that name exists already (names must be unique)",
        id="duplicate-name-in-one-file",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\ndescripton = "typo"\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule 'r' descripton",
        "unknown key (did you mean 'description'?)",
        id="unknown-rule-key-with-suggestion",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\npriority = 3\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule 'r' priority",
        "unknown key",
        id="unknown-rule-key-without-suggestion",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\ndescription = ["a", "b"]\non = "tick"\ndo = [{ action = "close" }]\n',
        "rule 'r' description",
        "expected a string",
        id="description-not-text",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "ticket.create"\ndo = [{ action = "close" }]\n',
        "rule 'r' on",
        f"unknown event 'ticket.create' (did you mean 'ticket.created'?) (one of {EVENT_LIST})",
        id="unknown-event-with-suggestion",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\ndo = [{ action = "close" }]\n',
        "rule 'r' on",
        f"unknown event None (one of {EVENT_LIST})",
        id="missing-event",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "tick"\nwhen = "always"\ndo = [{ action = "close" }]\n',
        "rule 'r' when",
        "expected a table of conditions",
        id="when-not-a-table",
    ),
    pytest.param(
        with_condition('priorty = "high"'),
        "rule 'r' when.priorty",
        f"unknown condition (did you mean 'priority'?) (known: {', '.join(CONDITIONS)})",
        id="unknown-condition-with-suggestion",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "message.received"\nwhen = { unanswered_for = "1 business hour" }\n'
        'do = [{ action = "close" }]\n',
        "rule 'r' on",
        'time conditions need on = "tick"',
        id="time-condition-on-an-event",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "tick"\n',
        "rule 'r' do",
        'needs do = [{ action = "NAME", ... }, ...]',
        id="do-missing",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "tick"\ndo = []\n',
        "rule 'r' do",
        'needs do = [{ action = "NAME", ... }, ...]',
        id="do-empty",
    ),
    pytest.param(
        '[[rule]]\nname = "r"\non = "tick"\ndo = { action = "close" }\n',
        "rule 'r' do",
        'needs do = [{ action = "NAME", ... }, ...]',
        id="do-not-a-list",
    ),
    pytest.param(
        with_action('{ template = "acknowledge" }'),
        "rule 'r' do[1]",
        'each entry needs action = "NAME"',
        id="entry-without-action",
    ),
    pytest.param(
        with_action('{ action = "close" }, "stop"'),
        "rule 'r' do[2]",
        'each entry needs action = "NAME"',
        id="entry-not-a-table",
    ),
    pytest.param(
        with_action('{ action = "notify_owner" }'),
        "rule 'r' do[1] action",
        f"unknown action 'notify_owner' (did you mean 'notify-owner'?) (known: {', '.join(ACTIONS)})",
        id="unknown-action-with-suggestion",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), STRUCTURE_ERRORS)
def test_a_structural_mistake_names_file_rule_and_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path, error = failure(tmp_path, text)
    assert_error(error, path, key, problem)


def test_a_duplicate_name_across_files_names_the_second_file(tmp_path: Path) -> None:
    rule = (
        '[[rule]]\nname = "greet"\non = "ticket.created"\n'
        'do = [{ action = "reply", template = "acknowledge" }]\n'
    )
    directory = write_rules(tmp_path / "rules", {"10-first.toml": rule, "20-second.toml": rule})
    with pytest.raises(ConfigError) as caught:
        load_rules(directory, TEMPLATE_NAMES)
    assert_error(
        caught.value,
        directory / "20-second.toml",
        "rule 'greet' name",
        "a rule of that name exists already (names must be unique)",
    )


# One bad value for every condition (the test below checks that none is left out).
BAD_CONDITIONS = [
    ("sender = []", "expected a list of address patterns, got []"),
    ('sender_domain = [""]', "expected a list of domains, got ['']"),
    ("words = []", "expected a list of words, got []"),
    ('words = ["refund", 3]', "expected a list of words, got ['refund', 3]"),
    ('subject_words = [""]', "expected a list of words, got ['']"),
    ("body_words = 5", "expected a list of words, got 5"),
    (
        'regex = "(unclosed"',
        "bad regular expression '(unclosed': missing ), unterminated subpattern at position 0",
    ),
    ('regex = ""', "expected a regular expression, got ''"),
    ('status = "opened"', "'opened' is not one of new, open, pending, closed"),
    ('priority = ["high", "critical"]', "'critical' is not one of low, normal, high, urgent"),
    ("tags = []", "expected a list of tags, got []"),
    ("not_tags = [1]", "expected a list of tags, got [1]"),
    ("customer_tags = true", "expected a list of tags, got True"),
    ("customer_tickets_at_least = -1", "expected a whole number, got -1"),
    ("customer_tickets_at_least = true", "expected a whole number, got True"),
    ("has_attachment = 'yes'", "expected true or false, got 'yes'"),
    ("escalation_below = 1.5", "expected a whole number, got 1.5"),
    ("escalation_below = false", "expected a whole number, got False"),
    (
        'unanswered_for = "4 business hourz"',
        f'unknown unit "hourz" in "4 business hourz" {UNIT_HINT}',
    ),
    ("unanswered_for = 4", 'expected a duration such as "4 business hours", got 4'),
    ('waiting_on_customer_for = "-3 days"', '"-3 days": a duration cannot be negative (write e.g. "3 days")'),
    (
        'older_than = "1.5 business days"',
        '"1.5 business days": business days must be a whole number '
        '(use business hours for part of a day, e.g. "12 business hours")',
    ),
    (
        'follow_up_due = "soon"',
        'expected a number at the start of "soon", got "soon" (write digits, e.g. "4 hours")',
    ),
    (
        'invoice_overdue_for = "a week"',
        'expected a number at the start of "a week", got "a" (write digits, e.g. "4 hours")',
    ),
    ('closed_by = ["robot"]', "'robot' is not one of owner, rule, customer, cli"),
    ("rating_at_most = 6", "expected a rating from 1 to 5, got 6"),
    ("rating_at_least = 0", "expected a rating from 1 to 5, got 0"),
    ('has_comment = "yes"', "expected true or false, got 'yes'"),
    ('customer_spent_at_least = "500"', "expected an amount such as 500, got '500'"),
    ("customer_spent_at_least = -5", "expected an amount such as 500, got -5"),
    ("customer_thanked = 1", "expected true or false, got 1"),
    (
        'promise_missed_for = "late"',
        'expected a number at the start of "late", got "late" (write digits, e.g. "4 hours")',
    ),
    (
        'promise_due_within = "half a day"',
        'expected a number at the start of "half a day", got "half" (write digits, e.g. "4 hours")',
    ),
]


@pytest.mark.parametrize(("condition", "problem"), BAD_CONDITIONS, ids=[c for c, _ in BAD_CONDITIONS])
def test_a_bad_condition_value_is_reported_with_a_hint(tmp_path: Path, condition: str, problem: str) -> None:
    path, error = failure(tmp_path, with_condition(condition))
    key = condition.partition(" = ")[0]
    assert_error(error, path, f"rule 'r' when.{key}", problem)


def test_every_condition_has_a_bad_value_test() -> None:
    assert {condition.partition(" = ")[0] for condition, _ in BAD_CONDITIONS} == set(CONDITIONS)


def test_a_duration_hint_is_the_business_time_hint_verbatim(tmp_path: Path) -> None:
    path, error = failure(tmp_path, with_condition('older_than = "3 dayz"'))
    with pytest.raises(ValueError, match="dayz") as parsed:
        parse_duration("3 dayz")
    assert_error(error, path, "rule 'r' when.older_than", str(parsed.value))


TEMPLATE_LIST = ", ".join(sorted(TEMPLATE_NAMES))
# One bad parameter for every action (the test below checks that none is left out).
BAD_ACTIONS = [
    (
        '{ action = "reply", template = "acknowledgement" }',
        f"unknown template 'acknowledgement' (available: {TEMPLATE_LIST})",
    ),
    ('{ action = "reply" }', 'needs template = "NAME"'),
    ('{ action = "reply", template = 3 }', 'needs template = "NAME"'),
    (
        '{ action = "reply", template = "acknowledge", to = "x@example.org" }',
        "unknown parameter 'to' (allowed: template)",
    ),
    (
        '{ action = "notify-owner", template = "notice" }',
        f"unknown template 'notice' (available: {TEMPLATE_LIST})",
    ),
    ('{ action = "set-status", status = "opened" }', "'opened' is not one of new, open, pending, closed"),
    (
        '{ action = "set-priority", priority = "critical" }',
        "'critical' is not one of low, normal, high, urgent",
    ),
    (
        '{ action = "add-tag", tag = "two words" }',
        "needs tag = \"NAME\" (letters, digits, - . _), got 'two words'",
    ),
    ('{ action = "add-tag" }', 'needs tag = "NAME" (letters, digits, - . _), got None'),
    (
        '{ action = "remove-tag", tag = "-dash-first" }',
        "needs tag = \"NAME\" (letters, digits, - . _), got '-dash-first'",
    ),
    ('{ action = "tag-customer", tag = 5 }', 'needs tag = "NAME" (letters, digits, - . _), got 5'),
    ('{ action = "escalate", max = -1 }', "expected a whole number, got -1"),
    (
        '{ action = "escalate", template = "escalations" }',
        f"unknown template 'escalations' (available: {TEMPLATE_LIST})",
    ),
    ('{ action = "escalate", level = 2 }', "unknown parameter 'level' (allowed: max, template)"),
    (
        '{ action = "schedule-follow-up", after = "2 business dayz" }',
        f'unknown unit "dayz" in "2 business dayz" {UNIT_HINT}',
    ),
    ('{ action = "schedule-follow-up" }', 'expected a duration such as "4 business hours", got None'),
    ('{ action = "close", after = "1 day" }', "unknown parameter 'after' (allowed: none)"),
    ('{ action = "stop", now = true }', "unknown parameter 'now' (allowed: none)"),
    (
        '{ action = "survey", template = "thanks" }',
        f"unknown template 'thanks' (available: {TEMPLATE_LIST})",
    ),
    ('{ action = "request-testimonial", to = "x" }', "unknown parameter 'to' (allowed: template)"),
    (
        '{ action = "thank-customer", template = "thank-you-note" }',
        f"unknown template 'thank-you-note' (available: {TEMPLATE_LIST})",
    ),
]


@pytest.mark.parametrize(("entry", "problem"), BAD_ACTIONS, ids=[entry for entry, _ in BAD_ACTIONS])
def test_a_bad_action_parameter_is_reported_with_a_hint(tmp_path: Path, entry: str, problem: str) -> None:
    path, error = failure(tmp_path, with_action(entry))
    assert_error(error, path, "rule 'r' do[1]", problem)


def test_every_action_has_a_bad_parameter_test() -> None:
    named = {entry.split('"')[1] for entry, _ in BAD_ACTIONS}
    assert named == set(ACTIONS)


def test_a_mistake_in_a_later_entry_names_its_position(tmp_path: Path) -> None:
    path, error = failure(
        tmp_path, with_action('{ action = "add-tag", tag = "ok" }, { action = "reply", template = "nope" }')
    )
    assert_error(error, path, "rule 'r' do[2]", f"unknown template 'nope' (available: {TEMPLATE_LIST})")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('{ action = "set-status" }', 'needs status = "NAME" (one of new, open, pending, closed), got None'),
        (
            '{ action = "set-status", status = ["open", "closed"] }',
            "needs status = \"NAME\" (one of new, open, pending, closed), got ['open', 'closed']",
        ),
        (
            '{ action = "set-priority" }',
            'needs priority = "NAME" (one of low, normal, high, urgent), got None',
        ),
    ],
    ids=["status-missing", "status-list", "priority-missing"],
)
def test_a_status_or_priority_action_needs_exactly_one_value(
    tmp_path: Path, entry: str, problem: str
) -> None:
    directory = write_rules(tmp_path / "rules", {"10-test.toml": with_action(entry)})
    with pytest.raises(ConfigError) as caught:
        load_rules(directory, TEMPLATE_NAMES)
    assert_error(caught.value, directory / "10-test.toml", "rule 'r' do[1]", problem)


# ===========================================================================
# Conditions, on facts built by hand
# ===========================================================================


def ticket_doc(**fields: Any) -> dict[str, Any]:
    """A ticket document as the store keeps it, opened Tuesday 3 March 2026 10:00."""
    opened = stamp("2026-03-03 10:00")
    values: dict[str, Any] = {"customer": CUSTOMER, "created_at": opened, "updated_at": opened}
    values.update(fields)
    return Ticket(id=1, subject="Order 1234", **values).to_doc()


def facts(ticket: dict[str, Any] | None = None, now: datetime | None = None, **fields: Any) -> Facts:
    return Facts(ticket=ticket or ticket_doc(), now=now or london("2026-03-03 10:00"), hours=HOURS, **fields)


def holds(key: str, value: Any, seen: Facts) -> str | None:
    """The reason condition ``key = value`` gives for ``seen``, or None."""
    return CONDITIONS[key](value).check(seen)


def test_sender_matches_address_patterns() -> None:
    seen = facts()
    assert holds("sender", "*@example.org", seen) == f"sender {CUSTOMER} matches *@example.org"
    assert holds("sender", ["nobody@example.com", "zoe@*"], seen) == f"sender {CUSTOMER} matches zoe@*"
    assert holds("sender", "*@EXAMPLE.ORG", seen) == f"sender {CUSTOMER} matches *@example.org"
    assert holds("sender", ["*@example.com", "z?e@example.org"], seen) is not None
    assert holds("sender", ["*@example.com", "zo@example.org"], seen) is None


def test_sender_domain_is_the_exact_domain() -> None:
    seen = facts()
    assert holds("sender_domain", "example.org", seen) == "sender domain is example.org"
    assert holds("sender_domain", ["@Example.ORG"], seen) == "sender domain is example.org"
    assert holds("sender_domain", ["mail.example.org", "example.com"], seen) is None
    assert holds("sender_domain", "example.org", facts(ticket_doc(customer="a@mail.example.org"))) is None


@pytest.mark.parametrize(
    ("words", "text", "found"),
    [
        ("broken", "It arrived Broken!", "Broken"),
        ("broken", "It arrived unbroken.", None),
        ("broken", "Nothing is brokenly wrong", None),
        (["refund", "refunds"], "Two REFUNDS please", "REFUNDS"),
        ("not working", "The kettle is not working since Monday", "not working"),
        ("not working", "It is not, working", None),
        ("doesn't work", "It Doesn't Work.", "Doesn't Work"),
        ("kaputt", "Der Deckel ist KAPUTT.", "KAPUTT"),
        ("kaputt", "kaputtgemacht", None),
        ("cassé", "Le couvercle est CASSÉ !", "CASSÉ"),
        ("cassé", "La tasse est cassée.", None),
        ("casse", "Le couvercle est cassé.", None),
        ("Rückerstattung", "Ich möchte eine rückerstattung", "rückerstattung"),
    ],
)
def test_words_match_whole_words_in_any_case(words: Any, text: str, found: str | None) -> None:
    reason = holds("words", words, facts(text=text))
    assert reason == (f"the message contains {found!r}" if found else None)


def test_words_match_decomposed_accents() -> None:
    import unicodedata

    text = unicodedata.normalize("NFD", "Le couvercle est cassé.")
    assert holds("words", "cassé", facts(text=text)) is not None


def test_subject_words_and_body_words_look_at_their_part_only() -> None:
    seen = facts(subject="Refund request", text="My order number is 1234.")
    assert holds("words", "refund", seen) == "the message contains 'Refund'"
    assert holds("words", "order", seen) == "the message contains 'order'"
    assert holds("subject_words", "refund", seen) == "the subject contains 'Refund'"
    assert holds("subject_words", "order", seen) is None
    assert holds("body_words", "order", seen) == "the text contains 'order'"
    assert holds("body_words", "refund", seen) is None


def test_regex_searches_subject_and_text_ignoring_case() -> None:
    seen = facts(subject="Where is it?", text="My ORDER #12345 has not arrived")
    assert holds("regex", r"order\s*#?\d{5}", seen) == "the message contains 'ORDER #12345'"
    assert holds("regex", r"^where", seen) == "the message contains 'Where'"
    assert holds("regex", r"invoice\s+\d+", seen) is None


def test_status_and_priority_are_one_of_a_list() -> None:
    seen = facts(ticket_doc(status="open", priority="high"))
    assert holds("status", ["new", "open"], seen) == "status is open"
    assert holds("status", "Open", seen) == "status is open"
    assert holds("status", ["pending", "closed"], seen) is None
    assert holds("priority", ["high", "urgent"], seen) == "priority is high"
    assert holds("priority", "normal", seen) is None


def test_tags_need_all_and_not_tags_need_none() -> None:
    seen = facts(ticket_doc(tags=["vip", "b2b", "eu"]))
    assert holds("tags", ["vip", "b2b"], seen) == "tagged b2b, vip"
    assert holds("tags", ["vip", "spam"], seen) is None
    assert holds("not_tags", ["spam", "test"], seen) == "not tagged spam, test"
    assert holds("not_tags", ["spam", "eu"], seen) is None
    assert holds("tags", "vip", facts(ticket_doc(tags=[]))) is None


def test_tags_ignore_case() -> None:
    seen = facts(ticket_doc(tags=["VIP", "b2b"]))
    assert holds("tags", ["vip", "B2B"], seen) == "tagged b2b, vip"
    assert holds("not_tags", ["Vip"], seen) is None
    loyal = facts(ticket_doc(), customer={"email": CUSTOMER, "ticket_count": 5, "tags": ["Loyal"]})
    assert holds("customer_tags", ["LOYAL"], loyal) == "customer tagged loyal"


def test_customer_conditions_look_at_the_customer_record() -> None:
    loyal = {"email": CUSTOMER, "ticket_count": 5, "tags": ["loyal", "b2b"]}
    assert holds("customer_tags", ["loyal"], facts(customer=loyal)) == "customer tagged loyal"
    assert holds("customer_tags", ["loyal", "vip"], facts(customer=loyal)) is None
    assert holds("customer_tags", ["loyal"], facts(customer=None)) is None
    assert holds("customer_tickets_at_least", 5, facts(customer=loyal)) == "customer has 5 tickets"
    assert holds("customer_tickets_at_least", 6, facts(customer=loyal)) is None
    assert holds("customer_tickets_at_least", 1, facts(customer=None)) is None


def test_has_attachment_compares_with_true_or_false() -> None:
    assert holds("has_attachment", True, facts(has_attachment=True)) == "has_attachment is True"
    assert holds("has_attachment", True, facts(has_attachment=False)) is None
    assert holds("has_attachment", False, facts(has_attachment=False)) == "has_attachment is False"


def test_escalation_below_compares_the_level() -> None:
    assert holds("escalation_below", 3, facts(ticket_doc(escalation_level=2))) == "escalation level 2 < 3"
    assert holds("escalation_below", 3, facts(ticket_doc(escalation_level=3))) is None
    assert holds("escalation_below", 1, facts()) == "escalation level 0 < 1"


def test_unanswered_for_counts_from_the_customer_message() -> None:
    ticket = ticket_doc(status="open", last_customer_at=stamp("2026-03-03 10:00"))
    assert holds("unanswered_for", "4 business hours", facts(ticket, london("2026-03-03 13:59"))) is None
    reason = holds("unanswered_for", "4 business hours", facts(ticket, london("2026-03-03 14:00")))
    assert reason == "waiting for an answer for 4 business hours"


def test_unanswered_for_stops_when_the_owner_answered() -> None:
    answered = ticket_doc(last_customer_at=stamp("2026-03-03 10:00"), last_owner_at=stamp("2026-03-03 10:30"))
    assert holds("unanswered_for", "1 business hour", facts(answered, london("2026-03-10 10:00"))) is None
    # The customer wrote again after the answer: the clock runs from that message.
    again = ticket_doc(last_customer_at=stamp("2026-03-03 11:00"), last_owner_at=stamp("2026-03-03 10:30"))
    assert holds("unanswered_for", "1 business hour", facts(again, london("2026-03-03 11:59"))) is None
    assert holds("unanswered_for", "1 business hour", facts(again, london("2026-03-03 12:00"))) is not None


def test_unanswered_for_counts_from_the_last_escalation() -> None:
    ticket = ticket_doc(
        last_customer_at=stamp("2026-03-03 10:00"), last_escalated_at=stamp("2026-03-03 14:00")
    )
    assert holds("unanswered_for", "1 business hour", facts(ticket, london("2026-03-03 14:59"))) is None
    assert holds("unanswered_for", "1 business hour", facts(ticket, london("2026-03-03 15:00"))) is not None


def test_unanswered_for_never_holds_for_closed_or_silent_tickets() -> None:
    closed = ticket_doc(status="closed", last_customer_at=stamp("2026-03-03 10:00"))
    assert holds("unanswered_for", "1 minute", facts(closed, london("2026-03-20 10:00"))) is None
    silent = ticket_doc()
    assert holds("unanswered_for", "1 minute", facts(silent, london("2026-03-20 10:00"))) is None


def test_unanswered_for_skips_the_weekend_and_holidays() -> None:
    # Thursday 2 April 17:00 (BST): one business hour on Thursday, then Good Friday, the
    # weekend and Easter Monday are closed, and three more hours run on Tuesday morning.
    ticket = ticket_doc(last_customer_at=stamp("2026-04-02 17:00"))
    for moment in ("2026-04-03 17:00", "2026-04-06 17:00", "2026-04-07 11:59"):
        assert holds("unanswered_for", "4 business hours", facts(ticket, london(moment))) is None, moment
    assert holds("unanswered_for", "4 business hours", facts(ticket, london("2026-04-07 12:00"))) is not None


def test_unanswered_for_across_the_spring_daylight_saving_change() -> None:
    # Friday 27 March 16:00 GMT: two hours on Friday, clocks go forward on Sunday 29 March,
    # two more hours on Monday from 09:00 BST: due Monday 11:00 London time, 10:00 UTC.
    ticket = ticket_doc(last_customer_at=stamp("2026-03-27 16:00"))
    assert holds("unanswered_for", "4 business hours", facts(ticket, london("2026-03-30 10:59"))) is None
    due = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    assert holds("unanswered_for", "4 business hours", facts(ticket, due - timedelta(seconds=1))) is None
    assert holds("unanswered_for", "4 business hours", facts(ticket, due)) is not None


def test_waiting_on_customer_for_counts_from_our_answer_in_real_time() -> None:
    # Three real days (72 hours) across the change to summer time: Friday 12:00 GMT is
    # followed by Monday 13:00 BST.
    ticket = ticket_doc(
        status="pending", last_customer_at=stamp("2026-03-27 09:00"), last_owner_at=stamp("2026-03-27 12:00")
    )
    assert holds("waiting_on_customer_for", "3 days", facts(ticket, london("2026-03-30 12:59"))) is None
    reason = holds("waiting_on_customer_for", "3 days", facts(ticket, london("2026-03-30 13:00")))
    assert reason == "waiting on the customer for 3 days"


def test_waiting_on_customer_for_needs_our_answer_to_be_the_last_word() -> None:
    later = london("2026-04-30 12:00")
    customer_last = ticket_doc(
        last_owner_at=stamp("2026-03-27 12:00"), last_customer_at=stamp("2026-03-27 13:00")
    )
    assert holds("waiting_on_customer_for", "3 days", facts(customer_last, later)) is None
    never_answered = ticket_doc(last_customer_at=stamp("2026-03-27 13:00"))
    assert holds("waiting_on_customer_for", "3 days", facts(never_answered, later)) is None


def test_older_than_counts_business_days_from_creation() -> None:
    # Thursday 2 April 10:00 + 2 business days skips Good Friday, the weekend and Easter
    # Monday: Wednesday 8 April 10:00.
    opened = stamp("2026-04-02 10:00")
    ticket = ticket_doc(created_at=opened)
    assert holds("older_than", "2 business days", facts(ticket, london("2026-04-08 09:59"))) is None
    assert holds("older_than", "2 business days", facts(ticket, london("2026-04-08 10:00"))) == (
        "open for 2 business days"
    )
    assert holds("older_than", "1 week", facts(ticket, london("2026-04-09 10:00"))) == "open for 1 week"


def test_older_than_in_business_days_across_the_daylight_saving_change() -> None:
    # Friday 27 March 10:00 GMT + 2 business days is Tuesday 31 March 10:00 BST (09:00 UTC).
    ticket = ticket_doc(created_at=stamp("2026-03-27 10:00"))
    assert holds("older_than", "2 business days", facts(ticket, london("2026-03-31 09:59"))) is None
    assert (
        holds("older_than", "2 business days", facts(ticket, datetime(2026, 3, 31, 9, 0, tzinfo=UTC)))
        is not None
    )


def test_follow_up_due_counts_from_the_scheduled_time() -> None:
    assert holds("follow_up_due", "0 minutes", facts(ticket_doc(), london("2030-01-01 10:00"))) is None
    ticket = ticket_doc(follow_up_at=stamp("2026-04-02 17:30"))
    assert holds("follow_up_due", "0 minutes", facts(ticket, london("2026-04-02 17:29"))) is None
    assert holds("follow_up_due", "0 minutes", facts(ticket, london("2026-04-02 17:30"))) == (
        "follow-up scheduled for 0 minutes"
    )
    # Half an hour on Thursday, then the Easter holidays: due Tuesday 09:30.
    assert holds("follow_up_due", "1 business hour", facts(ticket, london("2026-04-07 09:29"))) is None
    assert holds("follow_up_due", "1 business hour", facts(ticket, london("2026-04-07 09:30"))) is not None


# ===========================================================================
# Windows, timed rules and response time
# ===========================================================================

WINDOW_RULES = """
    [[rule]]
    name = "remind"
    on = "tick"
    when = { status = ["new", "open"], unanswered_for = "1 business hour" }
    do = [{ action = "notify-owner" }]

    [[rule]]
    name = "chase"
    on = "tick"
    when = { waiting_on_customer_for = "3 days", older_than = "1 week" }
    do = [{ action = "reply", template = "follow-up" }]

    [[rule]]
    name = "vip"
    on = "ticket.created"
    when = { customer_tags = ["vip"] }
    do = [{ action = "add-tag", tag = "vip" }]

    [[rule]]
    name = "regulars"
    on = "ticket.created"
    when = { customer_tickets_at_least = 3 }
    do = [{ action = "add-tag", tag = "regular" }]

    [[rule]]
    name = "daily"
    on = "tick"
    when = { status = "new" }
    do = [{ action = "add-tag", tag = "seen" }]
"""


def test_a_window_is_where_the_clock_started_and_moves_with_it(tmp_path: Path) -> None:
    remind, chase, *_ = load(tmp_path, WINDOW_RULES).rules
    first = stamp("2026-03-03 10:00")
    ticket = ticket_doc(last_customer_at=first)
    assert remind.window(ticket) == first
    escalated = stamp("2026-03-03 11:00")
    assert remind.window({**ticket, "last_escalated_at": escalated}) == escalated
    again = stamp("2026-03-03 12:00")
    assert remind.window({**ticket, "last_escalated_at": escalated, "last_customer_at": again}) == again
    # Answered: that clock has stopped, so there is no window and the tick skips the ticket.
    assert remind.window({**ticket, "last_owner_at": stamp("2026-03-03 10:05")}) is None
    # Two time conditions: both anchors make the window; without one of them there is none.
    answered = stamp("2026-03-04 09:00")
    assert chase.window({**ticket, "last_owner_at": answered}) == f"{answered}|{ticket['created_at']}"
    assert chase.window(ticket) is None


def test_timed_and_needs_customer(tmp_path: Path) -> None:
    rules = {rule.name: rule for rule in load(tmp_path, WINDOW_RULES).rules}
    assert [name for name, rule in rules.items() if rule.timed] == ["remind", "chase"]
    assert [name for name, rule in rules.items() if rule.needs_customer] == ["vip", "regulars"]
    assert rules["daily"].window(ticket_doc()) == ""


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        ("urgent", "1 business hour"),
        ("high", "1 business hour"),
        ("normal", "4 business hours"),
        ("low", "4 business hours"),
    ],
)
def test_response_time_of_the_shipped_rules(priority: str, expected: str) -> None:
    rules = load_rules(shipped_directory("rules"), TEMPLATE_NAMES)
    duration = rules.response_time(facts(ticket_doc(priority=priority)))
    assert duration == parse_duration(expected)
    assert duration is not None and duration.business


def test_no_response_time_without_an_escalation_rule_that_applies(tmp_path: Path) -> None:
    shipped = load_rules(shipped_directory("rules"), TEMPLATE_NAMES)
    assert shipped.response_time(facts(ticket_doc(status="closed"))) is None
    # A rule that only reminds (no escalate action) promises nothing.
    assert load(tmp_path, WINDOW_RULES).response_time(facts()) is None
    assert RuleSet().response_time(facts()) is None


def test_response_time_is_the_first_escalation_rule_that_applies(tmp_path: Path) -> None:
    rules = load(
        tmp_path,
        """
        [[rule]]
        name = "vip-escalate"
        on = "tick"
        when = { tags = ["vip"], unanswered_for = "30 business minutes" }
        do = [{ action = "escalate" }]

        [[rule]]
        name = "escalate"
        on = "tick"
        when = { unanswered_for = "2 business days" }
        do = [{ action = "escalate" }]
        """,
    )
    assert rules.response_time(facts(ticket_doc(tags=["vip"]))) == Duration(30, "minutes", True)
    assert rules.response_time(facts()) == Duration(2, "days", True)


# ===========================================================================
# Actions, through the real dispatcher
# ===========================================================================

START = london("2026-03-03 10:00")  # A Tuesday, in winter time (London = UTC).


@dataclass(frozen=True)
class Server:
    """Connection details for a configuration whose servers are never contacted."""

    host: str = "127.0.0.1"
    hostname: str = "127.0.0.1"
    port: int = 9
    username: str = "support"
    password: str = "unused"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Desk:
    """The daemon's parts on one data directory, with the test's rule files (or the shipped ones)."""

    def __init__(self, tmp_path: Path, rules: dict[str, str] | None, start: datetime = START) -> None:
        sections: dict[str, dict[str, Any]] = {
            "business": {"hours": "Mon-Fri 09:00-18:00", "holidays": [day.isoformat() for day in HOLIDAYS]}
        }
        if rules is not None:
            write_rules(tmp_path / "rules", rules)
            sections["rules"] = {"path": "rules"}
        self.config: Config = load_config(write_config(tmp_path, Server(), Server(), **sections))
        templates, self.rules, self.hours = load_policy(self.config)
        data = self.config.storage_path
        data.mkdir(parents=True, exist_ok=True)
        self.clock = Clock(start)
        self.store = Store(data)
        self.outbox = Outbox(data, self.config.business.name, self.config.business.email)
        self.tokens = ReplyTokens(load_secret(data), self.config.business.email)
        actions = Actions(self.config, self.store, self.outbox, templates, self.tokens, self.clock)
        self.dispatcher = Dispatcher(self.store, actions, self.rules, self.hours, data, self.clock)
        self.ingestor = Ingestor(
            self.config, self.store, MailArchive(data), Quarantine(data), self.tokens, self.clock
        )
        self.mails = 0

    def deliver(self, subject: str = "Order 1234", body: str = "Where is my order?", **fields: Any) -> None:
        """A customer message arrives and is ingested; its events wait."""
        self.mails += 1
        fields.setdefault("message_id", f"m{self.mails}@example.org")
        self.ingestor.ingest_local(customer_mail(CUSTOMER, subject, body, date=self.clock.now, **fields))

    def receive(self, subject: str = "Order 1234", body: str = "Where is my order?", **fields: Any) -> None:
        """A customer message arrives and the rules for its events run."""
        self.deliver(subject, body, **fields)
        self.dispatcher.run()

    def owner_replies(self, text: str, ticket_id: int = 1) -> None:
        """The owner answers the latest notification from a mail client."""
        latest = self.ticket(ticket_id).notifications[-1]
        raw = customer_mail(
            OWNER,
            f"Re: [#{ticket_id}] Order 1234",
            text,
            to=self.tokens.address(ticket_id, OWNER_PURPOSE),
            in_reply_to=latest,
            references=[latest],
            date=self.clock.now,
        )
        self.ingestor.ingest_local(raw)
        self.dispatcher.run()

    def at(self, text: str) -> Desk:
        self.clock.now = london(text)
        return self

    def ticket(self, ticket_id: int = 1) -> Ticket:
        found = self.store.ticket(ticket_id)
        assert found is not None
        return found

    def queued(self, kind: str | None = None) -> list[tuple[OutboxItem, EmailMessage]]:
        """The queued messages (oldest first) with their parsed bytes."""
        return [
            (item, parse(self.outbox.raw(item)))
            for item in self.outbox.queued()
            if kind is None or item.kind == kind
        ]

    def fired(self, ticket_id: int = 1) -> list[str]:
        """The rule firings recorded in the ticket's history, ``name: reason``."""
        return [entry["detail"] for entry in self.ticket(ticket_id).history if entry["event"] == "rule"]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_reply_sends_the_template_to_the_customer_as_automatic_mail(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-ack.toml": """
                [[rule]]
                name = "ack"
                on = "ticket.created"
                do = [{ action = "reply", template = "acknowledge" }]
            """
        },
    )
    desk.receive()
    [(item, ack)] = desk.queued()
    assert (item.kind, item.recipients, item.ticket_id) == ("acknowledge", [CUSTOMER], 1)
    assert item.key.startswith("rule:ack:1:event:")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<m1@example.org>"
    # Without an escalation rule there is no promised time.
    assert "reply as soon as possible" in " ".join(text_of(ack).split())
    assert desk.fired() == ["ack: no conditions"]
    window = desk.ticket().fired["ack"]
    assert window.startswith("event:")
    assert item.key == f"rule:ack:1:{window}:0"

    # The customer's second message is no new ticket: no second acknowledgement.
    desk.receive("Re: Order 1234", "And another thing.")
    assert len(desk.queued()) == 1


@pytest.mark.parametrize(
    ("start", "body", "promise"),
    [
        ("2026-03-03 10:00", "Where is my order?", "by today 14:00"),
        ("2026-03-03 10:00", "The teapot arrived broken.", "by today 11:00"),
        ("2026-03-06 17:00", "Where is my order?", "by Monday 12:00"),
        ("2026-04-02 17:30", "Where is my order?", "by Tuesday 12:30"),
    ],
    ids=["normal", "high-priority", "over-the-weekend", "over-easter"],
)
def test_the_shipped_acknowledgement_promises_the_escalation_time(
    tmp_path: Path, start: str, body: str, promise: str
) -> None:
    desk = Desk(tmp_path, None, london(start))
    desk.receive(body=body)
    [(_, ack)] = desk.queued("acknowledge")
    assert f"reply {promise}." in " ".join(text_of(ack).split())


def test_notify_owner_sends_the_message_to_the_owner(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-notify.toml": """
                [[rule]]
                name = "tell"
                on = "message.received"
                do = [{ action = "notify-owner" }]
            """
        },
    )
    desk.receive(body="Where is my order? It was due on Friday.")
    [(item, notification)] = desk.queued()
    assert (item.kind, item.recipients) == ("owner-notification", [OWNER])
    assert "It was due on Friday." in text_of(notification)
    [reply_to] = [address.addr_spec for address in notification["Reply-To"].addresses]
    assert desk.tokens.ticket_in([reply_to], OWNER_PURPOSE) == 1
    assert desk.ticket().notifications == [item.message_id]
    assert desk.fired() == ["tell: no conditions"]


def test_set_status_changes_the_status_and_records_it(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-status.toml": """
                [[rule]]
                name = "park-invoices"
                on = "message.received"
                when = { subject_words = "invoice" }
                do = [{ action = "set-status", status = "pending" }]
            """
        },
    )
    desk.receive("Invoice 77")
    desk.receive("Order 5", message_id="other@example.org")
    assert desk.ticket(1).status == "pending"
    assert {"at": iso(START), "event": "status", "detail": "pending"} in desk.ticket(1).history
    assert desk.fired(1) == ["park-invoices: the subject contains 'Invoice'"]
    assert desk.ticket(2).status == "new"
    assert desk.fired(2) == []


def test_set_priority_changes_the_priority(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-priority.toml": """
                [[rule]]
                name = "refunds-first"
                on = "message.received"
                when = { words = ["refund", "money back"] }
                do = [{ action = "set-priority", priority = "urgent" }]
            """
        },
    )
    desk.receive(body="I want my money back!")
    assert desk.ticket().priority == "urgent"
    assert desk.fired() == ["refunds-first: the message contains 'money back'"]


def test_add_tag_and_remove_tag(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-tags.toml": """
                [[rule]]
                name = "tag-orders"
                on = "message.received"
                when = { regex = "order \\\\d+" }
                do = [
                    { action = "add-tag", tag = "orders" },
                    { action = "add-tag", tag = "orders" },
                    { action = "add-tag", tag = "todo" },
                ]

                [[rule]]
                name = "untag-thanks"
                on = "message.received"
                when = { words = "thanks" }
                do = [{ action = "remove-tag", tag = "todo" }, { action = "remove-tag", tag = "absent" }]
            """
        },
    )
    desk.receive()
    assert desk.ticket().tags == ["orders", "todo"]
    desk.receive("Re: Order 1234", "Got it, thanks")
    assert desk.ticket().tags == ["orders"]
    assert desk.fired() == [
        "tag-orders: the message contains 'Order 1234'",
        "tag-orders: the message contains 'Order 1234'",
        "untag-thanks: the message contains 'thanks'",
    ]


def test_tag_customer_tags_the_customer_record(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-customer.toml": """
                [[rule]]
                name = "wholesale"
                on = "ticket.created"
                when = { sender_domain = "example.org" }
                do = [{ action = "tag-customer", tag = "wholesale" }]

                [[rule]]
                name = "wholesale-ticket"
                on = "ticket.created"
                when = { customer_tags = ["wholesale"] }
                do = [{ action = "add-tag", tag = "wholesale" }]
            """
        },
    )
    desk.receive()
    customer = desk.store.customer(CUSTOMER)
    assert customer is not None and customer.tags == ["wholesale"]
    # The next rule sees the customer's new tag.
    assert desk.ticket().tags == ["wholesale"]
    assert desk.fired() == [
        "wholesale: sender domain is example.org",
        "wholesale-ticket: customer tagged wholesale",
    ]


ESCALATION_RULES = {
    "10-notify.toml": """
        [[rule]]
        name = "notify"
        on = "message.received"
        do = [{ action = "notify-owner" }]
    """,
    "40-escalate.toml": """
        [[rule]]
        name = "remind"
        on = "tick"
        when = { status = ["new", "open"], unanswered_for = "1 business hour" }
        do = [{ action = "escalate", template = "escalation", max = 2 }]
    """,
}


def test_escalate_reminds_the_owner_up_to_max_and_an_answer_resets_it(tmp_path: Path) -> None:
    desk = Desk(tmp_path, ESCALATION_RULES)
    desk.receive()
    assert desk.at("2026-03-03 10:59").dispatcher.tick() == 0
    assert desk.at("2026-03-03 11:00").dispatcher.tick() == 1
    ticket = desk.ticket()
    assert (ticket.escalation_level, ticket.last_escalated_at) == (1, stamp("2026-03-03 11:00"))
    assert {"at": stamp("2026-03-03 11:00"), "event": "escalated", "detail": "level 1 of 2"} in ticket.history
    [(item, reminder)] = desk.queued("escalation")
    assert item.recipients == [OWNER]
    assert str(reminder["Subject"]).startswith("[Waiting, reminder 1] [#1] Order 1234")
    assert "Where is my order?" in text_of(reminder)
    assert ticket.notifications[-1] == item.message_id

    # The reminder started a new window: nothing until another business hour has passed.
    assert desk.dispatcher.tick() == 0
    assert desk.at("2026-03-03 11:59").dispatcher.tick() == 0
    assert desk.at("2026-03-03 12:00").dispatcher.tick() == 1
    assert desk.ticket().escalation_level == 2
    # At the maximum the rule still holds, but no further reminder goes out.
    desk.at("2026-03-03 13:00").dispatcher.tick()
    desk.at("2026-03-04 13:00").dispatcher.tick()
    assert desk.ticket().escalation_level == 2
    assert [str(message["Subject"])[:22] for _, message in desk.queued("escalation")] == [
        "[Waiting, reminder 1] ",
        "[Waiting, reminder 2] ",
    ]

    desk.at("2026-03-04 13:30").owner_replies("We have sent a new one.")
    ticket = desk.ticket()
    assert (ticket.escalation_level, ticket.last_escalated_at) == (0, None)
    assert desk.at("2026-03-06 13:30").dispatcher.tick() == 0
    assert len(desk.queued("escalation")) == 2


def test_schedule_follow_up_sets_a_business_time_and_follow_up_due_fires_once(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-plan.toml": """
                [[rule]]
                name = "plan"
                on = "ticket.created"
                do = [{ action = "schedule-follow-up", after = "4 business hours" }]

                [[rule]]
                name = "chase"
                on = "tick"
                when = { follow_up_due = "0 minutes" }
                do = [{ action = "reply", template = "follow-up" }]
            """
        },
        london("2026-03-06 16:00"),
    )
    desk.receive()
    # Friday 16:00 + 4 business hours: two on Friday, two on Monday morning.
    assert desk.ticket().follow_up_at == stamp("2026-03-09 11:00")
    assert desk.at("2026-03-09 10:59").dispatcher.tick() == 0
    assert desk.at("2026-03-09 11:00").dispatcher.tick() == 1
    assert desk.at("2026-03-09 11:05").dispatcher.tick() == 0
    assert desk.at("2026-03-12 11:00").dispatcher.tick() == 0
    [(item, follow_up)] = desk.queued("follow-up")
    assert item.recipients == [CUSTOMER]
    assert follow_up["Auto-Submitted"] == "auto-replied"
    assert desk.fired() == ["plan: no conditions", "chase: follow-up scheduled for 0 minutes"]


def test_close_closes_the_ticket_and_queues_ticket_closed(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-close.toml": """
                [[rule]]
                name = "thanks-closes"
                on = "message.received"
                when = { words = "thank you" }
                do = [{ action = "close" }]

                [[rule]]
                name = "after-close"
                on = "ticket.closed"
                do = [{ action = "add-tag", tag = "closed-by-rule" }]
            """
        },
    )
    desk.deliver(body="All sorted, thank you!")
    [received, _created] = desk.store.pending_events()
    ticket = desk.ticket()
    [message] = desk.store.messages(1)
    desk.dispatcher.apply_rules("message.received", ticket, message, f"event:{received.sequence}")
    assert ticket.status == "closed" and ticket.closed_at == iso(START)
    assert [event.name for event in desk.store.pending_events()] == [
        "message.received",
        "ticket.created",
        "ticket.closed",
    ]

    desk.dispatcher.run()
    assert desk.store.pending_events() == []
    assert desk.ticket().status == "closed"
    assert desk.ticket().tags == ["closed-by-rule"]
    closed = {"at": iso(START), "event": "status", "detail": "closed (rule:thanks-closes)"}
    assert closed in desk.ticket().history


def test_stop_ends_the_rules_of_that_event(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-first.toml": """
                [[rule]]
                name = "spam-words"
                on = "message.received"
                when = { words = "casino" }
                do = [{ action = "add-tag", tag = "spam" }, { action = "stop" }]

                [[rule]]
                name = "later-in-file"
                on = "message.received"
                do = [{ action = "add-tag", tag = "later" }]
            """,
            "20-second.toml": """
                [[rule]]
                name = "later-file"
                on = "message.received"
                do = [{ action = "notify-owner" }]

                [[rule]]
                name = "other-event"
                on = "ticket.created"
                do = [{ action = "add-tag", tag = "created" }]
            """,
        },
    )
    desk.receive("Win big", "Best casino offers")
    assert desk.ticket(1).tags == ["spam", "created"]
    assert desk.queued() == []
    assert desk.fired(1) == ["spam-words: the message contains 'casino'", "other-event: no conditions"]

    desk.receive("Order 9", "Where is it?", message_id="clean@example.org")
    assert desk.ticket(2).tags == ["later", "created"]
    assert [item.kind for item, _ in desk.queued()] == ["owner-notification"]


def test_rules_run_in_file_order_then_rule_order_and_see_earlier_changes(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    # Written in the opposite order, so that only the sorting by name can get it right.
    write_rules(
        directory,
        {
            "20-later.toml": """
                [[rule]]
                name = "b1"
                on = "message.received"
                when = { priority = "high" }
                do = [{ action = "add-tag", tag = "b1-saw-high" }]
            """
        },
    )
    write_rules(
        directory,
        {
            "10-earlier.toml": """
                [[rule]]
                name = "a1"
                on = "message.received"
                do = [{ action = "add-tag", tag = "a1" }]

                [[rule]]
                name = "a2"
                on = "message.received"
                when = { tags = "a1" }
                do = [{ action = "set-priority", priority = "high" }]
            """
        },
    )
    desk = Desk(tmp_path, {})
    assert [rule.name for rule in desk.rules.rules] == ["a1", "a2", "b1"]
    desk.receive()
    assert desk.ticket().tags == ["a1", "b1-saw-high"]
    assert desk.fired() == ["a1: no conditions", "a2: tagged a1", "b1: priority is high"]


def test_every_firing_is_recorded_with_the_reason_of_each_condition(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-refunds.toml": """
                [[rule]]
                name = "refunds"
                on = "message.received"
                when = { status = ["new", "open"], words = "refund", sender_domain = "example.org" }
                do = [{ action = "set-priority", priority = "high" }]
            """
        },
    )
    desk.receive(body="Please refund me.")
    [entry] = [entry for entry in desk.ticket().history if entry["event"] == "rule"]
    assert entry == {
        "at": iso(START),
        "event": "rule",
        "detail": "refunds: status is new; the message contains 'refund'; sender domain is example.org",
    }


def test_a_time_rule_fires_once_per_window(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-notify.toml": """
                [[rule]]
                name = "notify"
                on = "message.received"
                do = [{ action = "notify-owner" }]

                [[rule]]
                name = "nudge"
                on = "tick"
                when = { unanswered_for = "2 business hours" }
                do = [{ action = "notify-owner" }]
            """
        },
    )
    desk.receive()
    assert desk.at("2026-03-03 11:59").dispatcher.tick() == 0
    assert desk.at("2026-03-03 12:00").dispatcher.tick() == 1
    window = stamp("2026-03-03 10:00")
    assert desk.ticket().fired["nudge"] == window
    # Later ticks in the same window do nothing, however late.
    assert desk.dispatcher.tick() == 0
    assert desk.at("2026-03-03 15:00").dispatcher.tick() == 0
    assert desk.at("2026-03-10 15:00").dispatcher.tick() == 0
    nudges = [item for item, _ in desk.queued() if item.key.startswith("rule:nudge:")]
    assert [item.key for item in nudges] == [f"rule:nudge:1:{window}:0"]

    # The customer writes again: a new window, which fires once its two hours have passed.
    desk.at("2026-03-10 16:00").receive("Re: Order 1234", "Hello? Anyone there?")
    assert desk.at("2026-03-10 17:59").dispatcher.tick() == 0
    assert desk.at("2026-03-11 09:00").dispatcher.tick() == 1
    assert desk.dispatcher.tick() == 0
    assert desk.ticket().fired["nudge"] == stamp("2026-03-10 16:00")
    assert [entry for entry in desk.fired() if entry.startswith("nudge:")] == [
        "nudge: waiting for an answer for 2 business hours"
    ] * 2


def test_a_tick_rule_without_time_conditions_fires_once_a_day(tmp_path: Path) -> None:
    desk = Desk(
        tmp_path,
        {
            "10-daily.toml": """
                [[rule]]
                name = "daily-new"
                on = "tick"
                when = { status = "new" }
                do = [{ action = "notify-owner" }]
            """
        },
    )
    desk.receive()
    assert desk.at("2026-03-03 10:01").dispatcher.tick() == 1
    assert desk.at("2026-03-03 17:00").dispatcher.tick() == 0
    assert desk.at("2026-03-04 10:00").dispatcher.tick() == 1
    assert len(desk.queued("owner-notification")) == 2
