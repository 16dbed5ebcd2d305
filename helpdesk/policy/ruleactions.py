"""The actions of rules (the ``do`` list): a registry of parameter checkers by action name.

Each ``do`` entry names an action; its checker, registered here with
:func:`action`, checks the entry's parameters when the rules are loaded
(templates must exist, statuses and tags must be valid) and returns them
in the form the executor wants, so that a bad rule file fails at start-up
rather than when the rule first fires. Carrying the actions out is
:mod:`helpdesk.policy.actions`' job.

A checker takes the entry (a table with ``action`` and the parameters) and
the names of the available templates, and raises
:class:`~helpdesk.policy.ruleparams.RuleValueError` with a hint when a
parameter is wrong. Registering a name twice fails when this module is
imported, so at start-up, never later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from helpdesk.policy.ruleparams import RuleValueError, choices, duration_value, integer
from helpdesk.store.records import PRIORITIES, STATUSES, TAG_NAME

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
    return choices(value, allowed)[0]


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


def _choice_action(key: str, allowed: tuple[str, ...]) -> ActionChecker:
    """The checker of an action whose one parameter ``key`` is one of ``allowed``."""

    def check(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
        _only(params, (key,))
        return {key: _one_of(params, key, allowed)}

    return check


def _tag_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    """The checker of the actions that take one ``tag``."""
    _only(params, ("tag",))
    return {"tag": _tag(params)}


def _no_parameters(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    """The checker of the actions that take no parameters."""
    _only(params, ())
    return {}


action("set-status")(_choice_action("status", STATUSES))
action("set-priority")(_choice_action("priority", PRIORITIES))
action("add-tag")(_tag_action)
action("remove-tag")(_tag_action)
action("tag-customer")(_tag_action)


@action("escalate")
def _escalate_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("template", "max"))
    return {"template": _template(params, templates, "escalation"), "max": integer(params.get("max", 3))}


@action("schedule-follow-up")
def _follow_up_action(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
    _only(params, ("after",))
    return {"after": str(duration_value(params.get("after")))}


def _template_action(default: str) -> ActionChecker:
    """The checker of an action whose one optional parameter is its ``template``."""

    def check(params: Mapping[str, Any], templates: set[str]) -> dict[str, Any]:
        _only(params, ("template",))
        return {"template": _template(params, templates, default)}

    return check


# The thank-you note with its satisfaction question (once per ticket, at most one
# per customer per [feedback] min_interval); the request to quote a glowing
# answer; the one-time loyalty thank-you. None goes to an opted-out customer.
action("survey")(_template_action("thank-you"))
action("request-testimonial")(_template_action("testimonial-request"))
action("thank-customer")(_template_action("loyalty-thanks"))
action("close")(_no_parameters)
action("stop")(_no_parameters)
