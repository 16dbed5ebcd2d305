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

Conditions and actions are small named pieces registered in tables below;
adding one is adding one function. Everything is checked when the rules are
loaded: an unknown key, event, action or template, a bad duration or regex
gives a :class:`ConfigError` naming file, rule and key, with a hint.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from helpdesk.errors import ConfigError
from helpdesk.policy.businesstime import BusinessHours, BusinessTimeError, Duration, parse_duration
from helpdesk.store.records import PRIORITIES, STATUSES, TAG_NAME

EVENTS = (
    "message.received",
    "ticket.created",
    "ticket.reopened",
    "owner.replied",
    "ticket.closed",
    "delivery.failed",
    "tick",
)
RULE_KEYS = ("name", "description", "on", "when", "do")


class RuleValueError(ValueError):
    """A condition or action parameter is invalid; the message carries the hint."""


@dataclass(frozen=True)
class Facts:
    """What conditions look at: one ticket (a read-only document) at one moment."""

    ticket: Mapping[str, Any]
    now: datetime
    hours: BusinessHours
    customer: Mapping[str, Any] | None = None
    subject: str = ""
    text: str = ""
    has_attachment: bool = False


# A compiled condition: the reason it holds, or None.
Check = Callable[[Facts], str | None]
# Where a time condition's clock started for a ticket (its window), or None.
Anchor = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Condition:
    """One compiled ``when`` entry.

    ``allowed`` is set for conditions that only compare one ticket field with a
    set of values (status, priority): sweeps use it to skip tickets cheaply.
    """

    key: str
    check: Check
    anchor: Anchor | None = None
    duration: Duration | None = None
    allowed: frozenset[str] | None = None


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

    def window(self, ticket: Mapping[str, Any]) -> str:
        """The current condition window of ``ticket`` for this rule."""
        anchors = [c.anchor(ticket) or "" for c in self.conditions if c.anchor is not None]
        return "|".join(anchors)


@dataclass(frozen=True)
class Match:
    """A rule that holds for a ticket, with the reasons."""

    rule: Rule
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "no conditions"


# -- conditions ----------------------------------------------------------------------

ConditionBuilder = Callable[[Any], Condition]
CONDITIONS: dict[str, ConditionBuilder] = {}


def condition(name: str) -> Callable[[ConditionBuilder], ConditionBuilder]:
    """Register a condition builder under ``name`` (a duplicate name is a programming error)."""

    def register(builder: ConditionBuilder) -> ConditionBuilder:
        if name in CONDITIONS:
            raise RuntimeError(f"condition {name!r} registered twice")
        CONDITIONS[name] = builder
        return builder

    return register


def _strings(value: Any, what: str = "a list of strings") -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise RuleValueError(f"expected {what}, got {value!r}")
    return value


def _choices(value: Any, allowed: tuple[str, ...]) -> list[str]:
    items = [item.lower() for item in _strings(value)]
    for item in items:
        if item not in allowed:
            raise RuleValueError(f"{item!r} is not one of {', '.join(allowed)}")
    return items


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleValueError(f"expected a whole number, got {value!r}")
    return value


def _duration(value: Any) -> Duration:
    if not isinstance(value, str):
        raise RuleValueError(f'expected a duration such as "4 business hours", got {value!r}')
    try:
        return parse_duration(value)
    except BusinessTimeError as exc:
        raise RuleValueError(str(exc)) from None


def _nfc(text: str) -> str:
    """``text`` with composed accents, so that "cassé" matches however a mail client wrote it."""
    return unicodedata.normalize("NFC", text)


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(_nfc(word)) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _found(pattern: re.Pattern[str], text: str, where: str) -> str | None:
    match = pattern.search(_nfc(text))
    return f"{where} contains {match.group(0)!r}" if match else None


@condition("sender")
def _sender(value: Any) -> Condition:
    patterns = [pattern.lower() for pattern in _strings(value, "a list of address patterns")]

    def check(facts: Facts) -> str | None:
        sender = str(facts.ticket.get("customer", ""))
        hit = next((p for p in patterns if fnmatch.fnmatchcase(sender, p)), None)
        return f"sender {sender} matches {hit}" if hit else None

    return Condition("sender", check)


@condition("sender_domain")
def _sender_domain(value: Any) -> Condition:
    domains = {domain.lower().lstrip("@") for domain in _strings(value, "a list of domains")}

    def check(facts: Facts) -> str | None:
        domain = str(facts.ticket.get("customer", "")).rpartition("@")[2]
        return f"sender domain is {domain}" if domain in domains else None

    return Condition("sender_domain", check)


def _text_condition(key: str, where: str, pick: Callable[[Facts], str]) -> ConditionBuilder:
    def build(value: Any) -> Condition:
        pattern = _word_pattern(_strings(value, "a list of words"))
        return Condition(key, lambda facts: _found(pattern, pick(facts), where))

    return build


condition("words")(_text_condition("words", "the message", lambda f: f"{f.subject}\n{f.text}"))
condition("subject_words")(_text_condition("subject_words", "the subject", lambda f: f.subject))
condition("body_words")(_text_condition("body_words", "the text", lambda f: f.text))


@condition("regex")
def _regex(value: Any) -> Condition:
    if not isinstance(value, str) or not value:
        raise RuleValueError(f"expected a regular expression, got {value!r}")
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise RuleValueError(f"bad regular expression {value!r}: {exc}") from None
    return Condition("regex", lambda facts: _found(pattern, f"{facts.subject}\n{facts.text}", "the message"))


def _ticket_choice(key: str, allowed: tuple[str, ...]) -> ConditionBuilder:
    def build(value: Any) -> Condition:
        wanted = set(_choices(value, allowed))

        def check(facts: Facts) -> str | None:
            actual = facts.ticket.get(key)
            return f"{key} is {actual}" if actual in wanted else None

        return Condition(key, check, allowed=frozenset(wanted))

    return build


condition("status")(_ticket_choice("status", STATUSES))
condition("priority")(_ticket_choice("priority", PRIORITIES))


def _tag_set(tags: Any) -> set[str]:
    """Tags compared without regard to case ("VIP" is "vip")."""
    return {str(tag).lower() for tag in tags}


@condition("tags")
def _tags(value: Any) -> Condition:
    wanted = _tag_set(_strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_all = wanted <= _tag_set(facts.ticket.get("tags", ()))
        return f"tagged {', '.join(sorted(wanted))}" if has_all else None

    return Condition("tags", check)


@condition("not_tags")
def _not_tags(value: Any) -> Condition:
    unwanted = _tag_set(_strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_any = unwanted & _tag_set(facts.ticket.get("tags", ()))
        return None if has_any else f"not tagged {', '.join(sorted(unwanted))}"

    return Condition("not_tags", check)


@condition("customer_tags")
def _customer_tags(value: Any) -> Condition:
    wanted = _tag_set(_strings(value, "a list of tags"))

    def check(facts: Facts) -> str | None:
        has_all = wanted <= _tag_set(facts.customer.get("tags", ()) if facts.customer else ())
        return f"customer tagged {', '.join(sorted(wanted))}" if has_all else None

    return Condition("customer_tags", check)


@condition("customer_tickets_at_least")
def _customer_tickets(value: Any) -> Condition:
    minimum = _integer(value)

    def check(facts: Facts) -> str | None:
        count = int(facts.customer.get("ticket_count", 0)) if facts.customer else 0
        return f"customer has {count} tickets" if count >= minimum else None

    return Condition("customer_tickets_at_least", check)


@condition("has_attachment")
def _has_attachment(value: Any) -> Condition:
    if not isinstance(value, bool):
        raise RuleValueError(f"expected true or false, got {value!r}")
    return Condition(
        "has_attachment",
        lambda facts: f"has_attachment is {value}" if facts.has_attachment == value else None,
    )


@condition("escalation_below")
def _escalation_below(value: Any) -> Condition:
    limit = _integer(value)

    def check(facts: Facts) -> str | None:
        level = int(facts.ticket.get("escalation_level", 0))
        return f"escalation level {level} < {limit}" if level < limit else None

    return Condition("escalation_below", check)


def _timer(key: str, describe: str, anchor: Anchor) -> ConditionBuilder:
    """A condition that holds once ``duration`` has passed since ``anchor``."""

    def build(value: Any) -> Condition:
        duration = _duration(value)

        def check(facts: Facts) -> str | None:
            start = anchor(facts.ticket)
            if start is None:
                return None
            if not facts.hours.elapsed(datetime.fromisoformat(start), facts.now, duration):
                return None
            return f"{describe} for {duration}"

        return Condition(key, check, anchor, duration)

    return build


def _unanswered_since(ticket: Mapping[str, Any]) -> str | None:
    """The customer is waiting: since their unanswered message, or the last escalation."""
    customer_at = ticket.get("last_customer_at")
    owner_at = ticket.get("last_owner_at")
    if not customer_at or (owner_at and owner_at >= customer_at) or ticket.get("status") == "closed":
        return None
    escalated_at = ticket.get("last_escalated_at")
    return max(customer_at, escalated_at) if escalated_at else customer_at


def _waiting_on_customer_since(ticket: Mapping[str, Any]) -> str | None:
    """We answered and the customer has not written since."""
    owner_at = ticket.get("last_owner_at")
    customer_at = ticket.get("last_customer_at")
    if not owner_at or (customer_at and customer_at > owner_at):
        return None
    return owner_at


condition("unanswered_for")(_timer("unanswered_for", "waiting for an answer", _unanswered_since))
condition("waiting_on_customer_for")(
    _timer("waiting_on_customer_for", "waiting on the customer", _waiting_on_customer_since)
)
condition("older_than")(_timer("older_than", "open", lambda ticket: ticket.get("created_at")))
condition("follow_up_due")(_timer("follow_up_due", "follow-up scheduled", lambda t: t.get("follow_up_at")))


# -- actions -------------------------------------------------------------------------

ActionChecker = Callable[[Mapping[str, Any], set[str]], dict[str, Any]]
ACTIONS: dict[str, ActionChecker] = {}


def action(name: str) -> Callable[[ActionChecker], ActionChecker]:
    """Register the parameter checker of action ``name``."""

    def register(checker: ActionChecker) -> ActionChecker:
        if name in ACTIONS:
            raise RuntimeError(f"action {name!r} registered twice")
        ACTIONS[name] = checker
        return checker

    return register


def _only(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(params) - {"action", *allowed})
    if unknown:
        raise RuleValueError(
            f"unknown parameter {unknown[0]!r} (allowed: {', '.join(sorted(allowed)) or 'none'})"
        )


def _template(params: Mapping[str, Any], templates: set[str], default: str | None = None) -> str:
    name = params.get("template", default)
    if not isinstance(name, str) or not name:
        raise RuleValueError('needs template = "NAME"')
    if name not in templates:
        raise RuleValueError(f"unknown template {name!r} (available: {', '.join(sorted(templates))})")
    return name


def _one_of(params: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """The single value of parameter ``key``, one of ``allowed`` (any case)."""
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise RuleValueError(f'needs {key} = "NAME" (one of {", ".join(allowed)}), got {value!r}')
    return _choices(value, allowed)[0]


def _tag(params: Mapping[str, Any]) -> str:
    tag = params.get("tag")
    if not isinstance(tag, str) or not TAG_NAME.fullmatch(tag):
        raise RuleValueError(f'needs tag = "NAME" (letters, digits, - . _), got {tag!r}')
    return tag.lower()


@action("reply")
def _reply_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("template",))
    return {"template": _template(params, templates)}


@action("notify-owner")
def _notify_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("template",))
    return {"template": _template(params, templates, "owner-notification")}


@action("set-status")
def _status_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("status",))
    return {"status": _one_of(params, "status", STATUSES)}


@action("set-priority")
def _priority_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("priority",))
    return {"priority": _one_of(params, "priority", PRIORITIES)}


@action("add-tag")
def _add_tag_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("tag",))
    return {"tag": _tag(params)}


@action("remove-tag")
def _remove_tag_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("tag",))
    return {"tag": _tag(params)}


@action("tag-customer")
def _tag_customer_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("tag",))
    return {"tag": _tag(params)}


@action("escalate")
def _escalate_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("template", "max"))
    return {"template": _template(params, templates, "escalation"), "max": _integer(params.get("max", 3))}


@action("schedule-follow-up")
def _follow_up_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("after",))
    return {"after": str(_duration(params.get("after")))}


@action("close")
def _close_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ())
    return {}


@action("stop")
def _stop_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ())
    return {}


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
