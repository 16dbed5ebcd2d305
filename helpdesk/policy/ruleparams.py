"""Reading the values of rule parameters: lists of strings, choices, whole numbers, durations.

Conditions (``when = { priority = ["high"] }``) and actions
(``do = [{ action = "escalate", max = 3 }]``) read their parameters from
TOML with the same few readers, so that the same mistake gets the same
message wherever it is made. A reader returns the checked value or raises
:class:`RuleValueError`, whose message is the hint; the rule loader adds
the file, the rule and the key (:func:`helpdesk.policy.rules.load_rules`).
"""

from __future__ import annotations

from typing import Any

from helpdesk.policy.durations import BusinessTimeError, Duration, parse_duration


class RuleValueError(ValueError):
    """A condition or action parameter is invalid; the message carries the hint."""


def strings(value: Any, what: str = "a list of strings") -> list[str]:
    """A non-empty list of non-empty strings; a single string counts as a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise RuleValueError(f"expected {what}, got {value!r}")
    return value


def choices(value: Any, allowed: tuple[str, ...]) -> list[str]:
    """Like :func:`strings`, lower-cased, each one of ``allowed``."""
    items = [item.lower() for item in strings(value)]
    for item in items:
        if item not in allowed:
            raise RuleValueError(f"{item!r} is not one of {', '.join(allowed)}")
    return items


def integer(value: Any) -> int:
    """A whole number of at least 0 (``true`` and ``false`` are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleValueError(f"expected a whole number, got {value!r}")
    return value


def duration_value(value: Any) -> Duration:
    """A duration such as ``"4 business hours"`` (see :mod:`helpdesk.policy.durations`)."""
    if not isinstance(value, str):
        raise RuleValueError(f'expected a duration such as "4 business hours", got {value!r}')
    try:
        return parse_duration(value)
    except BusinessTimeError as exc:
        raise RuleValueError(str(exc)) from None
