"""The weekly digest's presentation: its figures as template values, and as a message.

:func:`digest_context` turns a :class:`~helpdesk.clock.digest.Digest` into the
values the ``digest`` templates render (``templates/digest.subject.txt``,
``digest.txt``, ``digest.html``; the names are listed in templates/README.md):
plain dicts, lists, strings and numbers, with durations in words
(:func:`hours_text`), dates as short labels (:func:`day_label`) and the chart's
bar heights (HTML, px) and widths (text, characters). :func:`digest_outbound`
renders those into an :class:`Outbound` for the outbox.

Why apart from :mod:`helpdesk.clock.digest`: that module computes the figures
from the store and knows nothing of templates or wording; this one only formats
figures it is given and never reads the store. It imports the figures' module,
never the reverse. The extra sections later features append to
``Digest.sections`` are rendered here generically, so a new one needs no change
in this module or in the templates.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk.clock.digest import (
    ChartDay,
    CustomerLine,
    Digest,
    FailureLine,
    TicketLine,
    WeekCount,
    WeekMedians,
)
from helpdesk.outbound.compose import Outbound
from helpdesk.outbound.render import Templates

__all__ = ["day_label", "digest_context", "digest_outbound", "hours_text"]

# The template the digest is rendered from, and the Outbound kind it is sent as.
TEMPLATE = "digest"
# The tallest bar of the HTML chart (px) and the longest bar of the text chart (characters).
BAR_HEIGHT = 80
TEXT_BAR = 20
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def digest_context(digest: Digest) -> dict[str, Any]:
    """The template values of ``digest``: plain dicts, lists, strings and numbers (templates/README.md)."""
    zone = ZoneInfo(digest.timezone)
    peak = max([1, *(max(day.opened, day.closed) for day in digest.chart)])
    days = [_chart_day(day, peak) for day in digest.chart]
    # Label rows under the chart: a week of days each, named by its first day.
    chart_weeks = [
        {
            "label": days[index]["label"],
            "short": days[index]["label"].split(" ", 1)[1],
            "days": len(days[index : index + 7]),
        }
        for index in range(0, len(days), 7)
    ]
    return {
        "period": {
            "start": digest.week.start,
            "end": digest.week.end,
            "generated_at": digest.generated_at,
            "timezone": digest.timezone,
        },
        "response_time": digest.response_time,
        "totals": {
            "open": digest.open_total,
            "overdue": digest.overdue_count,
            "escalated": digest.escalated_count,
            "attention": digest.attention_count,
            "unanswered": digest.unanswered_count,
            "pending": digest.pending_count,
            "failures": digest.failures_count,
            "quarantined": digest.quarantined_count,
        },
        "this_week": _week_count(digest.week),
        "last_week": _week_count(digest.last_week),
        "weekly": [_week_medians(week, zone) for week in digest.weeks],
        "priorities": [
            {
                "name": group.priority,
                "count": group.count,
                "more": group.count - len(group.tickets),
                "tickets": [_ticket(line) for line in group.tickets],
            }
            for group in digest.priorities
        ],
        "attention": _listing(digest.attention_count, [_ticket(line) for line in digest.attention]),
        "pending": _listing(digest.pending_count, [_ticket(line) for line in digest.pending]),
        "chart": {
            "days": days,
            "weeks": chart_weeks,
            "peak": peak,
            "opened": sum(day.opened for day in digest.chart),
            "closed": sum(day.closed for day in digest.chart),
        },
        "longest_waiting": [_customer(line) for line in digest.longest_waiting],
        "top_customers": [_customer(line) for line in digest.top_customers],
        "failures": _listing(digest.failures_count, [_failure(line) for line in digest.failures]),
        "quarantined": _listing(
            digest.quarantined_count, [asdict(line) for line in digest.quarantined]
        ),
        "sections": [asdict(section) for section in digest.sections],
    }


def digest_outbound(
    digest: Digest,
    templates: Templates,
    context_base: dict[str, Any],
    owner: tuple[str, str],
    command_address: str = "",
) -> Outbound:
    """Render ``digest`` with the ``digest`` templates into a message to ``owner`` (name, address).

    ``context_base`` is ``Actions.context(None)``: the business and the owner.
    The digest is automatic mail (``Auto-Submitted``), never a reply; with the
    owner's ``command_address`` it names it, and replying to it asks the helpdesk.
    """
    context = {**context_base, **digest_context(digest), "command_address": command_address}
    rendered = templates.render(TEMPLATE, context)
    return Outbound(
        kind=TEMPLATE,
        to=(owner,),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        automatic=True,
        reply_to=command_address or None,
    )


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------


def hours_text(value: float | None) -> str:
    """Business hours for people: ``-`` for none, ``3.5 h`` below ten, ``26 h`` and ``1,204 h`` above."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.1f} h"
    return f"{value:,.0f} h"


def day_label(day: date) -> str:
    """``Mon 3 Nov``."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _week_count(week: WeekCount) -> dict[str, Any]:
    return {"start": week.start, "end": week.end, "opened": week.opened, "closed": week.closed}


def _week_medians(week: WeekMedians, zone: ZoneInfo) -> dict[str, Any]:
    start = datetime.fromisoformat(week.start)
    return {
        "start": week.start,
        "end": week.end,
        "label": day_label(start.astimezone(zone).date()),
        "first_response": hours_text(week.first_response_hours),
        "first_response_hours": week.first_response_hours,
        "first_responses": week.first_responses,
        "resolution": hours_text(week.resolution_hours),
        "resolution_hours": week.resolution_hours,
        "resolutions": week.resolutions,
    }


def _ticket(line: TicketLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "subject": line.subject,
        "customer": line.customer,
        "name": line.name,
        "status": line.status,
        "priority": line.priority,
        "created_at": line.created_at,
        "age": hours_text(line.age_hours),
        "age_hours": line.age_hours,
        "waiting": hours_text(line.waiting_hours),
        "waiting_hours": line.waiting_hours,
        "waiting_since": line.waiting_since,
        "overdue": line.overdue,
        "escalation_level": line.escalation_level,
        "reply_address": line.reply_address,
        "reply_subject": f"[#{line.id}] {line.subject}",
    }


def _listing(count: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": count, "more": count - len(items), "items": items}


def _chart_day(day: ChartDay, peak: int) -> dict[str, Any]:
    def height(value: int) -> int:
        return max(2, round(value * BAR_HEIGHT / peak)) if value else 1

    def width(value: int) -> int:
        return max(1, round(value * TEXT_BAR / peak)) if value else 0

    return {
        "date": day.day.isoformat(),
        "label": day_label(day.day),
        "weekday": _DAYS[day.day.weekday()],
        "opened": day.opened,
        "closed": day.closed,
        "opened_height": height(day.opened),
        "closed_height": height(day.closed),
        "opened_width": width(day.opened),
        "closed_width": width(day.closed),
    }


def _customer(line: CustomerLine) -> dict[str, Any]:
    return {
        "email": line.email,
        "name": line.name,
        "tickets": line.tickets,
        "total_tickets": line.total_tickets,
        "ticket_id": line.ticket_id,
        "subject": line.subject,
        "reply_address": line.reply_address,
        "reply_subject": f"[#{line.ticket_id}] {line.subject}",
        "waiting": hours_text(line.waiting_hours),
        "waiting_hours": line.waiting_hours,
    }


def _failure(line: FailureLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "recipients": ", ".join(line.recipients),
        "subject": line.subject,
        "error": line.error,
        "attempts": line.attempts,
        "created_at": line.created_at,
        "ticket_id": line.ticket_id,
        "reply_address": line.reply_address,
    }
