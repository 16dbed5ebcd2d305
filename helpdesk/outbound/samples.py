"""Sample values for every shipped template: what the callers pass, for the start-up dry run.

:meth:`helpdesk.outbound.render.Templates.validate` renders each shipped
template with these values (and once without its optional ones), so that a
template using a variable helpdesk does not provide fails at start-up, not
when the mail is due. ``templates/README.md`` documents the same variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BUSINESS = {
    "name": "Acme Repairs",
    "legal_name": "Acme Repairs Ltd",
    "email": "support@acme.example",
    "phone": "+44 20 7946 0000",
    "website": "https://acme.example",
    "address": "1 High Street\nLondon N1 1AA",
    "tax_id": "GB123456789",
}
_OWNER = {"name": "Sam Taylor", "email": "sam@acme.example"}
_CUSTOMER = {
    "name": "Zoë Martin",
    "email": "zoe@example.com",
    "ticket_count": 2,
    "first_contact": "2026-03-02T09:15:00+00:00",
    "last_contact": "2026-11-24T10:00:00+00:00",
    "tags": ["wholesale"],
    "language": "fr",
    "notes": ["prefers a call before 10:00"],
    "spent": "€240.00",
    "open_invoices": [{"number": "INV-2026-0007", "owed": "€53.55", "due_on": "2026-12-08"}],
}
_TICKET = {
    "id": 42,
    "subject": "Kettle stopped working",
    "status": "new",
    "priority": "normal",
    "tags": ["repair"],
    "created_at": "2026-11-24T10:00:00+00:00",
    "customer": "zoe@example.com",
    "feedback": {},
    "promise": {},
}
_UNSUBSCRIBE = "support+t7-0123456789abcdef@acme.example"
_COMMAND_ADDRESS = "support+o-0123456789abcdef@acme.example"
_PROMISE = {
    "due": "2026-11-27T17:00:00+00:00",
    "what": "send the replacement part",
    "set_at": "2026-11-24T10:30:00+00:00",
}
_FEEDBACK = {"score": 2, "comment": "The part broke again.", "at": "2026-11-25T09:00:00+00:00"}
_COMMON = {"business": _BUSINESS, "owner": _OWNER, "ticket": _TICKET, "customer": _CUSTOMER}

# The weekly digest (helpdesk/clock/digestview.py, digest_context): one entry in every list.
_DIGEST_TICKET = {
    "id": 42, "subject": "Kettle stopped working", "customer": "zoe@example.com", "name": "Zoë Martin",
    "status": "open", "priority": "high", "created_at": "2026-11-24T10:00:00+00:00", "age": "26 h",
    "age_hours": 26.0, "waiting": "3.5 h", "waiting_hours": 3.5, "waiting_since": "2026-11-27T13:30:00+00:00",
    "overdue": True, "escalation_level": 1, "reply_address": "support+t42-0123456789abcdef@acme.example",
    "reply_subject": "[#42] Kettle stopped working",
}  # fmt: skip
_DIGEST_CUSTOMER = {
    "email": "zoe@example.com", "name": "Zoë Martin", "tickets": 2, "total_tickets": 5, "ticket_id": 42,
    "subject": "Kettle stopped working", "reply_address": "support+t42-0123456789abcdef@acme.example",
    "reply_subject": "[#42] Kettle stopped working", "waiting": "3.5 h", "waiting_hours": 3.5,
}  # fmt: skip
_DIGEST_WEEK = {
    "start": "2026-11-23T08:00:00+00:00", "end": "2026-11-30T08:00:00+00:00", "label": "Mon 23 Nov",
    "first_response": "2.5 h", "first_response_hours": 2.5, "first_responses": 12, "resolution": "18 h",
    "resolution_hours": 18.0, "resolutions": 9,
}  # fmt: skip
_DIGEST_DAY = {
    "date": "2026-11-30", "label": "Mon 30 Nov", "weekday": "Mon", "opened": 3, "closed": 2,
    "opened_height": 80, "closed_height": 53, "opened_width": 20, "closed_width": 13,
}  # fmt: skip
_DIGEST = {
    "business": _BUSINESS,
    "owner": _OWNER,
    "period": {
        "start": "2026-11-23T08:00:00+00:00", "end": "2026-11-30T08:00:00+00:00",
        "generated_at": "2026-11-30T08:00:00+00:00", "timezone": "Europe/London",
    },
    "response_time": "1 business day",
    "totals": {
        "open": 1, "overdue": 1, "escalated": 1, "attention": 1, "unanswered": 1, "pending": 1,
        "failures": 1, "quarantined": 1,
    },
    "this_week": {
        "start": "2026-11-23T08:00:00+00:00", "end": "2026-11-30T08:00:00+00:00", "opened": 3, "closed": 2,
    },
    "last_week": {
        "start": "2026-11-16T08:00:00+00:00", "end": "2026-11-23T08:00:00+00:00", "opened": 1, "closed": 4,
    },
    "weekly": [_DIGEST_WEEK, _DIGEST_WEEK],
    "priorities": [{"name": "high", "count": 2, "more": 1, "tickets": [_DIGEST_TICKET]}],
    "attention": {"count": 2, "more": 1, "items": [_DIGEST_TICKET]},
    "pending": {"count": 1, "more": 0, "items": [{**_DIGEST_TICKET, "status": "pending"}]},
    "chart": {
        "days": [_DIGEST_DAY], "weeks": [{"label": "Mon 30 Nov", "short": "30 Nov", "days": 1}],
        "peak": 3, "opened": 3, "closed": 2,
    },
    "longest_waiting": [_DIGEST_CUSTOMER],
    "top_customers": [_DIGEST_CUSTOMER],
    "failures": {"count": 1, "more": 0, "items": [{
        "kind": "reply", "recipients": "zoe@example.com", "subject": "Re: Kettle stopped working [#42]",
        "error": "550 5.1.1 mailbox unavailable", "attempts": 3, "created_at": "2026-11-27T13:30:00+00:00",
        "ticket_id": 42, "reply_address": "support+t42-0123456789abcdef@acme.example",
    }]},
    "quarantined": {"count": 1, "more": 0, "items": [{
        "id": "3f9a1c0d7e2b4a65", "reason": "no sender address", "source": "INBOX/1/7",
        "quarantined_at": "2026-11-27T13:30:00+00:00", "size": 2048,
    }]},
    "sections": [{"key": "invoices", "title": "Invoices", "summary": "1 open", "rows": [{
        "label": "2026-0007", "value": "120.00 EUR", "detail": "due Mon 7 Dec", "ticket_id": 42,
        "reply_address": "support+t42-0123456789abcdef@acme.example",
    }]}],
    "command_address": "support+o-0123456789abcdef@acme.example",
}  # fmt: skip

# An invoice with its payments (helpdesk.business.invoices.payment_summary).
_PAYMENT_INVOICE = {
    "number": "INV-2026-0007", "kind": "invoice", "issued_on": "2026-11-24", "due_on": "2026-12-08",
    "net": "€45.00", "tax": "€8.55", "total": "€53.55", "reference": "PO-77", "note": "",
    "reverse_charge": "", "status": "open", "paid": "€20.00", "credited": "€0.00", "outstanding": "€33.55",
}  # fmt: skip

_OWNER_NOTIFICATION = {
    **_COMMON,
    "message": {
        "from": "Zoë Martin <zoe@example.com>",
        "subject": "Kettle stopped working",
        "text": "Hello,\nmy kettle stopped working.",
        "date": "2026-11-24T10:00:00+00:00",
        "attachments": [{"filename": "kettle.jpg", "size": 48213}],
    },
    "history": [
        {
            "id": 17,
            "subject": "Toaster repair",
            "status": "closed",
            "created_at": "2026-03-02T09:15:00+00:00",
        }
    ],
    "commands": ["#close", "#priority high", "#note TEXT"],
    "saved_replies": ["delivery-times", "returns"],
    "command_address": _COMMAND_ADDRESS,
    "reply_address": "support+t42.k3y@acme.example",
}


SAMPLE_CONTEXTS: Mapping[str, Mapping[str, Any]] = {
    "acknowledge": {
        **_COMMON,
        "message": {"subject": "Kettle stopped working", "text": "Hello,\nmy kettle stopped working."},
        "expected_reply": "Tuesday 11:00",
    },
    "owner-notification": _OWNER_NOTIFICATION,
    "complaint": {
        **_OWNER_NOTIFICATION,
        "ticket": {
            **_TICKET,
            "status": "open",
            "priority": "high",
            "tags": ["complaint"],
            "feedback": _FEEDBACK,
        },
    },
    "reply": {
        **_COMMON,
        "body": "The part is on its way.\n\nBest wishes",
        "body_html": None,
        "new_conversation": False,
        "greeting_name": "Zoë",
    },
    "command-result": {
        **_COMMON,
        "results": [
            {"command": "#close", "ok": True, "detail": "ticket closed"},
            {"command": "#priority hgh", "ok": False, "detail": "unknown priority 'hgh'"},
        ],
        "original_text": "#close\n#priority hgh",
    },
    "delivery-failure": {
        **_COMMON,
        "failed": {
            "recipient": "zoe@example.com",
            "subject": "Re: Kettle stopped working [#42]",
            "error": "550 5.1.1 mailbox unavailable",
            "attempts": 3,
        },
    },
    "escalation": {
        **_COMMON,
        "message": {
            "from": "zoe@example.com",
            "subject": "Kettle stopped working",
            "text": "Hello,\nmy kettle stopped working.",
            "date": "2026-03-03T09:15:00+00:00",
            "attachments": [],
        },
        "history": [],
        "commands": ["#close", "#priority high"],
        "reply_address": "support+t42-k3y@acme.example",
        "escalation_level": 2,
    },
    "follow-up": {**_COMMON},
    "closed-notice": {**_COMMON},
    "digest": _DIGEST,
    "import-summary": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "summary": {
            "folder": "INBOX",
            "messages": 2214,
            "tickets": 803,
            "customers": 512,
            "closed": 801,
            "open": 2,
            "recent_days": 14,
            "unanswered": [
                {
                    "ticket_id": 802,
                    "customer": "zoe@example.com",
                    "name": "Zoë Martin",
                    "subject": "Kettle stopped working",
                    "since": "2026-11-24T10:00:00+00:00",
                    "age": "3 days",
                    "reply_address": "support+t802-k3y@acme.example",
                }
            ],
        },
    },
    "invoice": {
        **_COMMON,
        "invoice": {
            "number": "INV-2026-0007",
            "kind": "invoice",
            "issued_on": "2026-11-24",
            "due_on": "2026-12-08",
            "net": "€45.00",
            "tax": "€8.55",
            "total": "€53.55",
            "reference": "PO-77",
            "note": "Thank you for your order.",
            "reverse_charge": "",
        },
    },
    "payment-thanks": {
        **_COMMON,
        "payment": {
            **_PAYMENT_INVOICE,
            "amount": "€20.00",
            "on": "2026-11-30",
            "fully_paid": "",
        },
    },
    "payment-reminder": {**_COMMON, "invoice": _PAYMENT_INVOICE},
    "reload-failed": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "problem": "rules/40-escalation.toml: rule 'escalate' key 'after': not a duration: 'soon'",
    },
    "owner-warning": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "sender": "sam@acme.example",
        "subject": "Re: Kettle stopped working",
        "quarantine_id": "3f9a1c0d7e2b4a65",
        "reason": "from the owner's address without a valid reply token",
    },
    # Greetings (helpdesk.business.greetings): no ticket, only the customer's name and address.
    "birthday": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "customer": {"name": "Zoë Martin", "email": "zoe@example.com"},
        "occasion": "birthday",
        "year": 2026,
        "unsubscribe_address": "support+t7-0123456789abcdef@acme.example",
    },
    "new-year": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "customer": {"name": "Zoë Martin", "email": "zoe@example.com"},
        "occasion": "new-year",
        "year": 2026,
        "unsubscribe_address": "support+t7-0123456789abcdef@acme.example",
    },
    "anniversary": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "customer": {"name": "Zoë Martin", "email": "zoe@example.com"},
        "occasion": "anniversary",
        "year": 2026,
        "unsubscribe_address": "support+t7-0123456789abcdef@acme.example",
        "since": "2025-03-05",
        "years": 1,
    },
    "thank-you": {**_COMMON, "unsubscribe_address": _UNSUBSCRIBE},
    "testimonial-request": {
        **_COMMON,
        "ticket": {**_TICKET, "feedback": {**_FEEDBACK, "score": 5, "comment": "Quick and friendly."}},
        "quote": "Quick and friendly.",
        "unsubscribe_address": _UNSUBSCRIBE,
    },
    "loyalty-thanks": {**_COMMON, "unsubscribe_address": _UNSUBSCRIBE},
    "promise-reminder": {**_OWNER_NOTIFICATION, "ticket": {**_TICKET, "promise": _PROMISE}},
    "promise-missed": {**_OWNER_NOTIFICATION, "ticket": {**_TICKET, "promise": _PROMISE}},
    "console-answer": {
        "business": _BUSINESS,
        "owner": _OWNER,
        "answers": [
            {
                "title": "Waiting for your answer",
                "summary": "1 ticket",
                "lines": [],
                "messages": [{
                    "direction": "in", "from": "zoe@example.com", "date": "2026-11-24T10:00:00+00:00",
                    "subject": "Kettle stopped working", "text": "Hello,\nmy kettle stopped working.",
                }],
                "tickets": [{
                    "id": 42, "subject": "Kettle stopped working", "customer": "zoe@example.com",
                    "name": "Zoë Martin", "status": "open", "priority": "normal",
                    "updated_at": "2026-11-24T10:00:00+00:00", "waiting_since": "2026-11-24T10:00:00+00:00",
                    "promise_due": "2026-11-27T17:00:00+00:00",
                    "reply_address": "support+t42-0123456789abcdef@acme.example",
                }],
            }
        ],
        "errors": ["#list closed: say which: open | pending | overdue | new | mine"],
        "original_text": "#list mine\n#list closed",
        "commands": ["#list open|pending|overdue|new|mine", "#help"],
        "command_address": _COMMAND_ADDRESS,
    },
}

# Values a caller may leave out; the dry run renders once without them too.
OPTIONAL_CONTEXT: Mapping[str, tuple[str, ...]] = {
    "acknowledge": ("expected_reply",),
    "delivery-failure": ("ticket", "customer"),
}
