"""Rule files: the business's policy, loaded, validated and evaluated.

Every ``*.toml`` file in the rules directory holds ``[[rule]]`` tables::

    [[rule]]
    name = "escalate-high"
    description = "Remind the owner when an urgent customer waits."
    on = "tick"                               # an event, or the periodic tick
    when = { priority = ["high", "urgent"], unanswered_for = "1 business hour" }
    do = [{ action = "escalate", template = "escalation", max = 3 }]

Rules run in file order (file names sorted), then in the order they appear.
A rule fires when all its conditions hold; each condition says why it held,
and those reasons go into the ticket's history. A rule with time conditions
fires once per condition window (the window is the moment its clock started,
for example the customer's unanswered message), never on every tick.

This module reads and checks the files into a :class:`RuleSet` and matches
its rules against a ticket's :class:`~helpdesk.policy.conditions.Facts`.
Conditions and actions are small named pieces registered by name in
:mod:`helpdesk.policy.conditions` and :mod:`helpdesk.policy.ruleactions`;
adding one is adding one function there. Everything is checked when the
rules are loaded: an unknown key, event, action or template, a bad duration
or regex gives a :class:`ConfigError` naming file, rule and key, with a hint.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpdesk.errors import ConfigError
from helpdesk.policy.conditions import CONDITIONS, Condition, Facts
from helpdesk.policy.durations import Duration
from helpdesk.policy.ruleactions import ACTIONS
from helpdesk.policy.ruleparams import RuleValueError

EVENTS = (
    "message.received",
    "ticket.created",
    "ticket.reopened",
    "owner.replied",
    "ticket.closed",
    "feedback.received",
    "delivery.failed",
    "tick",
)
RULE_KEYS = ("name", "description", "on", "when", "do")


@dataclass(frozen=True)
class ActionCall:
    """One ``do`` entry: an action name and its checked parameters."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One rule of one file."""

    name: str
    description: str
    file: str
    on: str
    conditions: tuple[Condition, ...]
    actions: tuple[ActionCall, ...]

    def admits(self, status: str, priority: str) -> bool:
        """Whether a ticket with this status and priority can match at all."""
        values = {"status": status, "priority": priority}
        return all(
            condition.allowed is None or values.get(condition.key, "") in condition.allowed
            for condition in self.conditions
            if condition.key in values
        )

    @functools.cached_property
    def needs_customer(self) -> bool:
        """Whether a condition looks at the customer record."""
        return any(condition.key.startswith("customer_") for condition in self.conditions)

    @functools.cached_property
    def timed(self) -> bool:
        """Whether the rule has time conditions (and so fires once per window)."""
        return any(condition.anchor is not None for condition in self.conditions)

    def window(self, ticket: Mapping[str, Any]) -> str | None:
        """The current condition window of ``ticket`` for this rule; None when a clock has not started.

        A time condition holds only once its clock runs (the customer waits, a
        promise was made, an invoice fell due): a ticket without one of its
        anchors cannot match, and the tick skips it without evaluating anything.
        """
        anchors = [c.anchor(ticket) for c in self.conditions if c.anchor is not None]
        if not all(anchors):
            return None
        return "|".join(str(anchor) for anchor in anchors)


@dataclass(frozen=True)
class Match:
    """A rule that holds for a ticket, with the reasons."""

    rule: Rule
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "no conditions"


# -- loading -------------------------------------------------------------------------


def _close_match(word: str, known: Iterable[str]) -> str:
    import difflib

    guess = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {guess[0]!r}?)" if guess else ""


def _load_rule(file: str, index: int, table: Any, templates: set[str], seen: set[str]) -> Rule:
    where = f"rule #{index + 1}"
    if not isinstance(table, dict):
        raise ConfigError(file, where, "each [[rule]] must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[\w][\w.-]*", name):
        raise ConfigError(file, f"{where} name", f'needs name = "letters-digits", got {name!r}')
    where = f"rule {name!r}"
    if name in seen:
        raise ConfigError(file, f"{where} name", "a rule of that name exists already (names must be unique)")
    for key in table:
        if key not in RULE_KEYS:
            raise ConfigError(file, f"{where} {key}", f"unknown key{_close_match(key, RULE_KEYS)}")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(file, f"{where} description", "expected a string")
    on = table.get("on")
    if on not in EVENTS:
        raise ConfigError(
            file,
            f"{where} on",
            f"unknown event {on!r}{_close_match(str(on), EVENTS)} (one of {', '.join(EVENTS)})",
        )
    when = table.get("when", {})
    if not isinstance(when, dict):
        raise ConfigError(file, f"{where} when", "expected a table of conditions")
    conditions = []
    for key, value in when.items():
        builder = CONDITIONS.get(key)
        if builder is None:
            hint = _close_match(key, CONDITIONS)
            raise ConfigError(
                file, f"{where} when.{key}", f"unknown condition{hint} (known: {', '.join(CONDITIONS)})"
            )
        try:
            conditions.append(builder(value))
        except RuleValueError as exc:
            raise ConfigError(file, f"{where} when.{key}", str(exc)) from None
    timed = any(c.anchor is not None for c in conditions)
    if timed and on != "tick":
        raise ConfigError(file, f"{where} on", 'time conditions need on = "tick"')
    actions = []
    calls = table.get("do")
    if not isinstance(calls, list) or not calls:
        raise ConfigError(file, f"{where} do", 'needs do = [{ action = "NAME", ... }, ...]')
    for position, call in enumerate(calls, start=1):
        key = f"{where} do[{position}]"
        if not isinstance(call, dict) or not isinstance(call.get("action"), str):
            raise ConfigError(file, key, 'each entry needs action = "NAME"')
        checker = ACTIONS.get(call["action"])
        if checker is None:
            hint = _close_match(call["action"], ACTIONS)
            raise ConfigError(
                file,
                f"{key} action",
                f"unknown action {call['action']!r}{hint} (known: {', '.join(ACTIONS)})",
            )
        try:
            actions.append(ActionCall(call["action"], checker(call, templates)))
        except RuleValueError as exc:
            raise ConfigError(file, key, str(exc)) from None
    seen.add(name)
    return Rule(name, description, file, on, tuple(conditions), tuple(actions))


@dataclass
class RuleSet:
    """Every rule of a rules directory, in order."""

    rules: list[Rule] = field(default_factory=list)

    def for_event(self, event: str) -> list[Rule]:
        """The rules that react to ``event``, in order."""
        return [rule for rule in self.rules if rule.on == event]

    @staticmethod
    def match(rule: Rule, facts: Facts) -> Match | None:
        """The match of ``rule`` for ``facts``, or None when a condition does not hold."""
        reasons = []
        for item in rule.conditions:
            reason = item.check(facts)
            if reason is None:
                return None
            reasons.append(reason)
        return Match(rule, tuple(reasons))

    def response_time(self, facts: Facts) -> Duration | None:
        """How long until the first escalation for this ticket: the promise an acknowledgement makes."""
        for rule in self.for_event("tick"):
            if not any(call.name == "escalate" for call in rule.actions):
                continue
            timers = [c for c in rule.conditions if c.key == "unanswered_for" and c.duration is not None]
            others = [c for c in rule.conditions if c.anchor is None]
            if timers and all(c.check(facts) is not None for c in others):
                return timers[0].duration
        return None


def load_rules(directory: Path, templates: Iterable[str]) -> RuleSet:
    """Load and check every rule file in ``directory`` (files in name order)."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "no such rules directory")
    available = set(templates)
    seen: set[str] = set()
    rules: list[Rule] = []
    for path in sorted(directory.glob("*.toml")):
        file = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(file, "", f"TOML syntax error: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(file, "", f"cannot read: {exc}") from None
        unknown = sorted(set(data) - {"rule"})
        if unknown:
            raise ConfigError(file, unknown[0], "unknown top-level key (rules are [[rule]] tables)")
        tables = data.get("rule", [])
        if not isinstance(tables, list):
            raise ConfigError(file, "rule", "use [[rule]] (an array of tables)")
        rules.extend(_load_rule(file, index, table, available, seen) for index, table in enumerate(tables))
    return RuleSet(rules)
