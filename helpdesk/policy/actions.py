"""Actions: the things helpdesk does, each idempotent.

Every outbound message is enqueued under an idempotency key (for example
``acknowledge:12``), so running an action again after a crash sends nothing
twice; store records of what was sent are added only if they are missing.
Actions act; they do not decide when to act (that is the dispatcher's and,
later, the rules' job).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from helpdesk.business.customers import purchases
from helpdesk.business.facturx import embed_facturx
from helpdesk.business.invoicepdf import epc_payload, render_invoice_pdf, upi_payload
from helpdesk.business.invoices import (
    InvoiceOrder,
    PaymentOrder,
    RefundOrder,
    apply_credit,
    check_credit,
    check_payment,
    format_amount,
    invoice_summary,
    issue_invoice,
    lifecycle_target,
    outstanding,
    overdue_from,
    payment_summary,
    prepare_credit_note,
    prepare_invoice,
    record_payment,
)
from helpdesk.config import Config
from helpdesk.intake.history import ImportSummary
from helpdesk.outbound.compose import Outbound, OutboundAttachment
from helpdesk.outbound.outbox import Outbox, OutboxItem
from helpdesk.outbound.render import Rendered, Templates, first_name
from helpdesk.owner.authentication import OWNER_PURPOSE
from helpdesk.owner.commands import COMMAND_HELP, ReplyPlan
from helpdesk.owner.console import CONSOLE_HELP
from helpdesk.owner.tokens import ReplyTokens
from helpdesk.store.records import Invoice, StoredMessage, Ticket, iso
from helpdesk.store.store import Store

log = logging.getLogger(__name__)

# Notes about the customer shown in the owner's notifications.
NOTES_SHOWN = 3

AUTOMATIC_LIMIT = 5
AUTOMATIC_WINDOW = timedelta(hours=1)


def business_context(config: Config) -> dict[str, Any]:
    """What every template sees of the business and its owner."""
    business = config.business
    return {
        "business": {
            "name": business.name,
            "legal_name": business.legal_name or business.name,
            "email": business.email,
            "phone": business.phone,
            "website": business.website,
            "address": business.address,
            "tax_id": business.tax_id,
            "timezone": business.timezone,
        },
        "owner": {"name": config.owner.name, "email": config.owner.email},
    }


class Actions:
    """Sends templated mail through the outbox and changes tickets."""

    def __init__(
        self,
        config: Config,
        store: Store,
        outbox: Outbox,
        templates: Templates,
        tokens: ReplyTokens,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.store = store
        self.outbox = outbox
        self.templates = templates
        self.tokens = tokens
        self.clock = clock
        # Numbers of documents issued but not yet mailed (see mail_documents).
        self.documents_to_mail: list[str] = [item.number for item in store.invoices() if item.mail_pending]

    # -- context -----------------------------------------------------------------

    def context(self, ticket: Ticket | None, **extra: Any) -> dict[str, Any]:
        """What every template sees: business, owner, ticket and customer."""
        context = business_context(self.config)
        if ticket is not None:
            context["ticket"] = {
                "id": ticket.id,
                "subject": ticket.subject,
                "status": ticket.status,
                "priority": ticket.priority,
                "tags": list(ticket.tags),
                "created_at": ticket.created_at,
                "customer": ticket.customer,
                # The customer's answer to the satisfaction question: score, comment, at.
                "feedback": dict(ticket.feedback),
                # What was promised (#due): due, what, set_at; empty when nothing is.
                "promise": dict(ticket.promise),
            }
            customer = self.store.customer(ticket.customer)
            context["customer"] = {
                "name": customer.name if customer else "",
                "email": ticket.customer,
                "ticket_count": customer.ticket_count if customer else 1,
                "first_contact": customer.first_contact if customer else ticket.created_at,
                "last_contact": customer.last_contact if customer else ticket.created_at,
                "tags": list(customer.tags) if customer else [],
                "language": customer.language if customer else "",
                # The owner's latest notes, newest first: what to remember when answering.
                "notes": [note["text"] for note in reversed(customer.notes[-NOTES_SHOWN:])]
                if customer
                else [],
                **self._purchases(ticket.customer),
            }
        context.update(extra)
        return context

    def _purchases(self, email: str) -> dict[str, Any]:
        """The customer's purchase history for the owner: spent so far, and the invoices still open."""
        invoices = self.store.invoices_of(email)
        if not invoices:
            return {"spent": "", "open_invoices": []}
        locale = self.config.business.locale
        spent, _ = purchases(invoices)
        currency = invoices[-1].currency
        return {
            "spent": format_amount(str(spent), currency, locale),
            "open_invoices": [
                {
                    "number": item.number,
                    "owed": format_amount(str(outstanding(item)), item.currency, locale),
                    "due_on": item.due_on or "",
                }
                for item in invoices
                if item.kind == "invoice" and item.status == "open"
            ],
        }

    # -- sending -------------------------------------------------------------------

    def _send(
        self, key: str, template: str, context: dict[str, Any], message_id: str | None = None, **fields: Any
    ) -> tuple[str, bool, Rendered]:
        """Render ``template`` and enqueue it under ``key``: (Message-ID, queued now, rendering)."""
        rendered = self.templates.render(template, context)
        outbound = Outbound(
            kind=template, subject=rendered.subject, text=rendered.text, html=rendered.html, **fields
        )
        message_id, new = self.outbox.enqueue(key, outbound, self.clock(), message_id)
        return message_id, new, rendered

    def _record_out(
        self,
        ticket: Ticket,
        message_id: str,
        to: list[str],
        subject: str,
        text: str,
        in_reply_to: StoredMessage | None,
    ) -> None:
        """Add what we sent to the ticket, unless it is there already (a replay)."""
        if self.store.ticket_for_message_id(message_id) is not None:
            return
        self.store.add_message(
            StoredMessage(
                id=self.store.new_message_id(),
                ticket_id=ticket.id,
                direction="out",
                message_id=message_id,
                sender=self.config.business.email,
                to=to,
                subject=subject,
                date=iso(self.clock()),
                text=text,
                references=_references(in_reply_to),
            )
        )

    def _rate_limited(self, address: str) -> bool:
        """Whether ``address`` had its share of automatic mail this hour; notes this one if not."""
        now = self.clock()
        recent = [
            stamp
            for stamp in self.store.automatic_sent(address)
            if now - datetime.fromisoformat(stamp) < AUTOMATIC_WINDOW
        ]
        if len(recent) >= AUTOMATIC_LIMIT:
            self.store.note_automatic_sent(address, recent)
            return True
        self.store.note_automatic_sent(address, [*recent, iso(now)])
        return False

    def _customer_recipients(
        self, ticket: Ticket
    ) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        customer = self.store.customer(ticket.customer)
        to = ((customer.name if customer else "", ticket.customer),)
        cc: tuple[tuple[str, str], ...] = ()
        if self.config.owner.cc_participants:
            cc = tuple(("", address) for address in ticket.participants if address != ticket.customer)
        return to, cc

    # -- the actions ---------------------------------------------------------------

    def auto_reply(
        self,
        ticket: Ticket,
        template: str,
        key: str,
        message: StoredMessage | None = None,
        unsubscribe: str | None = None,
        **extra: Any,
    ) -> bool:
        """Send an automatic message (acknowledgement, follow-up…) to the customer.

        Loop protection: automatic mail is stamped ``Auto-Submitted``, sent once per
        ``key`` and at most AUTOMATIC_LIMIT times an hour to one address.
        Non-essential mail passes the customer's ``unsubscribe`` address: it goes
        into the ``List-Unsubscribe`` header and the template's unsubscribe line.
        """
        if self.outbox.message_id_of(key) is None and self._rate_limited(ticket.customer):
            log.info("no %s for ticket #%d: rate limit for %s", template, ticket.id, ticket.customer)
            ticket.record(
                iso(self.clock()), "automatic-skipped", f"{template}: rate limit for {ticket.customer}"
            )
            self.store.save_ticket(ticket)
            return False
        if message is None:
            message = self._last_customer_message(ticket)
        if message is not None:
            extra.setdefault("message", {"subject": message.subject, "text": message.text})
        if unsubscribe:
            extra["unsubscribe_address"] = unsubscribe
        to, _ = self._customer_recipients(ticket)
        message_id, new, rendered = self._send(
            key,
            template,
            self.context(ticket, **extra),
            to=to,
            reply_to=self.tokens.address(ticket.id),
            in_reply_to=message.message_id if message else None,
            references=_references(message),
            automatic=True,
            ticket_id=ticket.id,
            unsubscribe=unsubscribe,
        )
        self._record_out(ticket, message_id, [ticket.customer], rendered.subject, rendered.text, message)
        return new

    def notify_owner(
        self,
        ticket: Ticket,
        message: StoredMessage | None,
        template: str = "owner-notification",
        key: str | None = None,
        **extra: Any,
    ) -> bool:
        """Send a customer's message (or a reminder) to the owner, with a reply token and a cheat-sheet.

        A reminder on a conversation the owner started (``#new``) that the
        customer has not answered yet shows the owner's own last message.
        """
        message = message or self._last_customer_message(ticket)
        if message is None:
            sent = [m for m in self.store.messages(ticket.id) if m.direction == "out"]
            message = sent[-1] if sent else None
        if message is None:
            return False
        reply_address = self.tokens.address(ticket.id, OWNER_PURPOSE)
        context = self.context(
            ticket,
            message={
                "from": message.sender,
                "subject": message.subject,
                "text": message.text,
                "date": message.date,
                "attachments": [{"filename": a["filename"], "size": a["size"]} for a in message.attachments],
            },
            history=[
                {
                    "id": other.id,
                    "subject": other.subject,
                    "status": other.status,
                    "created_at": other.created_at,
                }
                for other in (self.store.ticket(tid) for tid in self.store.tickets_of(ticket.customer))
                if other is not None and other.id != ticket.id
            ],
            commands=list(COMMAND_HELP),
            saved_replies=self.templates.saved_replies(),
            command_address=self.tokens.console_address(),
            reply_address=reply_address,
            **extra,
        )
        message_id, new, _ = self._send(
            key or f"notify:{ticket.id}:{message.id}",
            template,
            context,
            to=((self.config.owner.name, self.config.owner.email),),
            reply_to=reply_address,
            references=tuple(ticket.notifications[-1:]),
            in_reply_to=ticket.notifications[-1] if ticket.notifications else None,
            ticket_id=ticket.id,
        )
        if message_id not in ticket.notifications:
            ticket.notifications.append(message_id)
            self.store.save_ticket(ticket)
        return new

    def relay_reply(
        self,
        ticket: Ticket,
        owner_message: StoredMessage,
        body: str,
        raw: bytes | None,
        body_html: Markup | None = None,
    ) -> bool:
        """Send the owner's words to the customer in the ``reply`` template, threaded.

        ``body_html``, when a saved reply brought its own HTML, is the HTML
        form of ``body``. A ticket the owner opened (``#new``) has no customer
        message yet: its first mail is a new conversation, not a "Re:".
        """
        last_in = self._last_customer_message(ticket)
        to, cc = self._customer_recipients(ticket)
        customer = self.store.customer(ticket.customer)
        context = self.context(
            ticket,
            body=body,
            body_html=body_html,
            new_conversation=last_in is None,
            greeting_name=first_name(customer.name if customer else ""),
        )
        _, new, _ = self._send(
            f"reply:{ticket.id}:{owner_message.id}",
            "reply",
            context,
            owner_message.message_id,
            to=to,
            cc=cc,
            reply_to=self.tokens.address(ticket.id),
            in_reply_to=last_in.message_id if last_in else None,
            references=_references(last_in),
            attachments=tuple(attachments_of(raw)) if raw else (),
            ticket_id=ticket.id,
        )
        return new

    def invoice(self, ticket: Ticket, order: InvoiceOrder, key: str) -> Invoice:
        """Issue an invoice for ``order`` to the ticket's customer; its mail follows the commit.

        Everything that can fail (amounts, number, PDF, the mail's templates)
        happens before the invoice is recorded, so a failure leaves no trace and
        uses no number. The invoice carries ``key`` as its origin: a replay finds
        it instead of issuing a second one. Its mail is queued by
        :meth:`mail_documents` once the store has committed it, so a crash can
        never leave a mail out with a number the store does not hold.
        """
        issued = next((item for item in self.store.invoices_of(ticket.customer) if item.origin == key), None)
        if issued is not None:
            return issued
        business = self.config.business
        now = self.clock()
        today = now.astimezone(ZoneInfo(business.timezone)).date()
        stamp = iso(now)
        invoice, _ = prepare_invoice(self.config, self.store, order, ticket.customer, ticket.id, today, stamp)
        pdf = self.document_pdf(invoice)
        # Rendered now only to find a template problem before anything is recorded;
        # the mail itself is made once the invoice is committed (mail_documents).
        summary = invoice_summary(invoice, business.locale)
        self.templates.render("invoice", self.context(ticket, invoice=summary))
        overdue = overdue_from(invoice, business.timezone)
        invoice.origin = key
        invoice.mail_pending = True
        issue_invoice(self.store, self.config.storage_path, invoice, pdf)
        self.documents_to_mail.append(invoice.number)
        if overdue is not None:
            ticket.open_invoices[invoice.number] = overdue
            self.store.save_ticket(ticket)
        return invoice

    def document_pdf(self, document: Invoice) -> bytes:
        """The PDF of an invoice or credit note, with its Factur-X XML when ``[invoices] facturx`` is on.

        A credit note asks for no payment: no payment details, no QR code.
        """
        settings, business = self.config.invoices, self.config.business
        invoice = document.kind == "invoice"
        pdf = render_invoice_pdf(
            document,
            business,
            locale=business.locale,
            payment_details=settings.payment_details if invoice else "",
            terms=business.terms,
            qr_payload=self.qr_payload(document),
            pdfa=settings.facturx,
        )
        if not settings.facturx:
            return pdf
        terms = f"Payable by {document.due_on}" if invoice and document.due_on else ""
        payment = {"payment_terms": terms, "iban": settings.iban, "bic": settings.bic}
        return embed_facturx(pdf, document, business, **payment)

    def qr_payload(self, invoice: Invoice) -> str | None:
        """The payment QR code's text for ``invoice``: UPI for INR with ``upi_id``, EPC for EUR with ``iban``.

        None for a credit note, a zero total, or when neither is configured for the currency.
        """
        settings, business = self.config.invoices, self.config.business
        if invoice.kind != "invoice" or Decimal(invoice.total) <= 0:
            return None
        payee = business.legal_name.strip() or business.name
        if settings.upi_id and invoice.currency == "INR":
            return upi_payload(settings.upi_id, payee, invoice.total, "INR", invoice.number)
        if settings.iban and invoice.currency == "EUR":
            return epc_payload(payee, settings.iban, settings.bic, invoice.total, invoice.number)
        return None

    def mail_documents(self) -> int:
        """Queue the mails of committed invoices and credit notes whose mail is pending.

        Called after the store committed them. Keyed by the document's origin,
        so queueing again after a crash (before ``mail_pending`` was cleared)
        sends nothing twice. The PDF attached is the stored one, checked
        against its SHA-256. Returns how many were queued.
        """
        queued = 0
        numbers, self.documents_to_mail = self.documents_to_mail, []
        for number in numbers:
            document = self.store.invoice(number)
            if document is None or not document.mail_pending:
                continue
            ticket = self.store.ticket(document.ticket_id) if document.ticket_id is not None else None
            pdf = (self.config.storage_path / document.pdf_path).read_bytes()
            if ticket is None or hashlib.sha256(pdf).hexdigest() != document.pdf_sha256:
                log.error("%s: its ticket or its stored PDF is missing or changed; not mailed", number)
                continue
            summary = invoice_summary(document, self.config.business.locale)
            rendered = self.templates.render("invoice", self.context(ticket, invoice=summary))
            self._mail_document(ticket, document, pdf, rendered, document.origin, self.clock())
            document.mail_pending = False
            self.store.save_invoice(document)
            queued += 1
        return queued

    def _mail_document(
        self, ticket: Ticket, invoice: Invoice, pdf: bytes, rendered: Rendered, key: str, now: datetime
    ) -> None:
        """Queue the mail of an issued invoice or credit note, with its PDF, under ``key``."""
        to, cc = self._customer_recipients(ticket)
        attachment = OutboundAttachment(f"{invoice.number.replace('/', '-')}.pdf", "application/pdf", pdf)
        outbound = Outbound(
            kind="invoice",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            to=to,
            cc=cc,
            reply_to=self.tokens.address(ticket.id),
            attachments=(attachment,),
            ticket_id=ticket.id,
        )
        message_id, _ = self.outbox.enqueue(key, outbound, now)
        recipients = [address for _, address in to]
        self._record_out(ticket, message_id, recipients, rendered.subject, rendered.text, None)

    def _today(self) -> tuple[datetime, date]:
        now = self.clock()
        return now, now.astimezone(ZoneInfo(self.config.business.timezone)).date()

    def _index_open(self, ticket: Ticket, invoice: Invoice) -> None:
        """Keep the ticket's index of open invoices (for ``invoice_overdue_for``) in step with ``invoice``."""
        target = ticket if invoice.ticket_id in (None, ticket.id) else self.store.ticket(invoice.ticket_id)
        if target is None:
            return
        if invoice.status == "open" and invoice.due_on:
            overdue = overdue_from(invoice, self.config.business.timezone)
            assert overdue is not None
            target.open_invoices[invoice.number] = overdue
        else:
            target.open_invoices.pop(invoice.number, None)
        self.store.save_ticket(target)

    def record_payment(self, ticket: Ticket, order: PaymentOrder, key: str) -> Invoice:
        """Record the payment of a ``#paid`` command and thank the customer for it.

        Checked against the invoice first (whose it is, what is outstanding):
        an InvoiceError records nothing. The payment carries ``key`` as its
        origin and the thank-you is queued under it, so a replay after a crash
        records and sends nothing twice.
        """
        invoice = lifecycle_target(self.store, order.number, ticket.customer)
        if any(payment.get("origin") == key for payment in invoice.payments):
            return invoice
        amount = check_payment(invoice, order)
        now, today = self._today()
        locale = self.config.business.locale
        record_payment(invoice, amount, order.on or today, iso(now), key)
        payment = {
            **payment_summary(invoice, locale),
            "amount": format_amount(str(amount), invoice.currency, locale),
            "on": (order.on or today).isoformat(),
            "fully_paid": "yes" if invoice.status == "paid" else "",
        }
        rendered = self.templates.render("payment-thanks", self.context(ticket, payment=payment))
        self.store.save_invoice(invoice)
        self._index_open(ticket, invoice)
        to, _ = self._customer_recipients(ticket)
        outbound = Outbound(
            kind="payment-thanks",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            to=to,
            reply_to=self.tokens.address(ticket.id),
            ticket_id=ticket.id,
        )
        message_id, _ = self.outbox.enqueue(key, outbound, now)
        self._record_out(ticket, message_id, [a for _, a in to], rendered.subject, rendered.text, None)
        return invoice

    def credit_note(self, ticket: Ticket, order: RefundOrder, key: str) -> Invoice:
        """Issue the credit note of a ``#refund`` or ``#void`` command and mail it with its PDF.

        As :meth:`invoice`: everything that can fail (the checks against the
        invoice, the number, the PDF, the templates) comes before anything is
        recorded; the credit note carries ``key`` as its origin, so a replay
        finds it instead of issuing a second one.
        """
        invoice = lifecycle_target(self.store, order.number, ticket.customer)
        issued = next((item for item in self.store.invoices_of(ticket.customer) if item.origin == key), None)
        if issued is not None:
            return issued
        amount = check_credit(invoice, order)
        business = self.config.business
        now, today = self._today()
        stamp = iso(now)
        note = prepare_credit_note(self.config, self.store, invoice, amount, order.reason, today, stamp)
        pdf = self.document_pdf(note)
        # Rendered now only to find a template problem before anything is recorded.
        self.templates.render("invoice", self.context(ticket, invoice=invoice_summary(note, business.locale)))
        note.origin = key
        note.mail_pending = True
        issue_invoice(self.store, self.config.storage_path, note, pdf)
        self.documents_to_mail.append(note.number)
        apply_credit(invoice, note, today, stamp, order.void)
        self.store.save_invoice(invoice)
        self._index_open(ticket, invoice)
        return note

    def overdue_invoice(self, ticket: Ticket) -> dict[str, str] | None:
        """The ticket's open invoice that is overdue first, for a payment reminder, or None."""
        for number, _ in sorted(ticket.open_invoices.items(), key=lambda item: (item[1], item[0])):
            invoice = self.store.invoice(number)
            if invoice is not None and invoice.status == "open":
                return payment_summary(invoice, self.config.business.locale)
        return None

    def command_result(
        self, ticket: Ticket, key: str, plan: ReplyPlan, results: list[dict[str, Any]], original_text: str
    ) -> None:
        """Tell the owner which commands were not understood, with the original text."""
        context = self.context(ticket, results=results, errors=list(plan.errors), original_text=original_text)
        self._send(
            key,
            "command-result",
            context,
            to=((self.config.owner.name, self.config.owner.email),),
            reply_to=self.tokens.address(ticket.id, OWNER_PURPOSE),
            references=tuple(ticket.notifications[-1:]),
            ticket_id=ticket.id,
        )

    def saved_reply(self, ticket: Ticket, name: str) -> tuple[str, Markup | None]:
        """Saved reply ``name`` for ``ticket``'s customer: its text, and its HTML if it has one."""
        customer = self.store.customer(ticket.customer)
        context = self.context(ticket, greeting_name=first_name(customer.name if customer else ""))
        return self.templates.render_saved(name, context)

    def console_answer(
        self,
        key: str,
        answers: list[dict[str, Any]],
        errors: list[str],
        original_text: str,
        ticket: Ticket | None = None,
    ) -> None:
        """Send the owner the answers to a mail to the command address (once per ``key``).

        Replying to the answer asks again (the command address), or, when the
        answer shows one ``ticket``, answers that ticket's customer.
        """
        command_address = self.tokens.console_address()
        context = self.context(
            None,
            answers=answers,
            errors=errors,
            original_text=original_text,
            commands=list(CONSOLE_HELP),
            command_address=command_address,
        )
        reply_to = self.tokens.address(ticket.id, OWNER_PURPOSE) if ticket is not None else command_address
        message_id, _, _ = self._send(
            key,
            "console-answer",
            context,
            to=((self.config.owner.name, self.config.owner.email),),
            reply_to=reply_to,
            ticket_id=ticket.id if ticket is not None else None,
        )
        if ticket is not None and message_id not in ticket.notifications:
            ticket.notifications.append(message_id)
            self.store.save_ticket(ticket)

    def warn_owner(self, quarantine_id: str, sender: str, subject: str, reason: str) -> None:
        """Tell the owner that mail claiming to be theirs was set aside, not acted on."""
        context = self.context(
            None, quarantine_id=quarantine_id, sender=sender, subject=subject, reason=reason
        )
        self._send(
            f"owner-warning:{quarantine_id}",
            "owner-warning",
            context,
            to=((self.config.owner.name, self.config.owner.email),),
            automatic=True,
        )

    def import_summary(self, summary: ImportSummary, key: str) -> None:
        """Tell the owner, once, what the first sync imported and what waits for an answer."""
        waiting = [
            {
                **asdict(item),
                "age": item.age,
                "reply_address": self.tokens.address(item.ticket_id, OWNER_PURPOSE),
            }
            for item in summary.unanswered
        ]
        context = self.context(None, summary={**asdict(summary), "unanswered": waiting})
        owner = ((self.config.owner.name, self.config.owner.email),)
        self._send(key, "import-summary", context, to=owner, automatic=True)

    def reload_failed(self, problem: str) -> None:
        """Tell the owner that changed rules or templates were refused (once a day per problem)."""
        digest = hashlib.sha256(problem.encode()).hexdigest()[:16]
        key = f"reload-failed:{self.clock().date().isoformat()}:{digest}"
        owner = ((self.config.owner.name, self.config.owner.email),)
        self._send(key, "reload-failed", self.context(None, problem=problem), to=owner, automatic=True)

    def failure_reported(self, item: OutboxItem) -> bool:
        """Whether the owner was (or need not be) told about the failed ``item``."""
        return self.config.owner.email in item.recipients or (
            self.outbox.message_id_of(f"delivery-failure:{item.id}") is not None
        )

    def delivery_failure(self, item: OutboxItem) -> None:
        """Tell the owner that a message could not be delivered (never about the owner's own mail)."""
        if self.config.owner.email in item.recipients:
            log.error("cannot deliver %s to the owner: %s", item.kind, item.last_error)
            return
        ticket = self.store.ticket(item.ticket_id) if item.ticket_id is not None else None
        failed = {
            "recipient": ", ".join(item.recipients),
            "subject": item.subject,
            "error": item.last_error or "",
            "attempts": item.attempts,
        }
        context = self.context(ticket, failed=failed)
        self._send(
            f"delivery-failure:{item.id}",
            "delivery-failure",
            context,
            to=((self.config.owner.name, self.config.owner.email),),
            reply_to=self.tokens.address(ticket.id, OWNER_PURPOSE) if ticket else None,
            ticket_id=ticket.id if ticket else None,
            automatic=True,
        )
        if ticket is not None:
            ticket.record(iso(self.clock()), "delivery-failed", f"{failed['recipient']}: {failed['error']}")
            self.store.save_ticket(ticket)

    def bounce_notice(self, ticket: Ticket, reason: str, key: str) -> None:
        """Tell the owner that mail to the customer of ``ticket`` bounced (once per ``key``)."""
        failed = {"recipient": ticket.customer, "subject": ticket.subject, "error": reason, "attempts": 1}
        self._send(
            key,
            "delivery-failure",
            self.context(ticket, failed=failed),
            to=((self.config.owner.name, self.config.owner.email),),
            reply_to=self.tokens.address(ticket.id, OWNER_PURPOSE),
            ticket_id=ticket.id,
            automatic=True,
        )

    def _last_customer_message(self, ticket: Ticket) -> StoredMessage | None:
        inbound = [m for m in self.store.messages(ticket.id) if m.direction == "in" and not m.automatic]
        return inbound[-1] if inbound else None


def _references(message: StoredMessage | None) -> tuple[str, ...]:
    """The References of a reply to ``message``: its own chain plus its id."""
    if message is None:
        return ()
    return (*message.references, message.message_id)


def attachments_of(raw: bytes) -> list[OutboundAttachment]:
    """The files (and inline images) attached to a raw message, to pass them on."""
    parsed = message_from_bytes(raw, policy=policy.default)
    if not isinstance(parsed, EmailMessage) or not parsed.is_multipart():
        return []
    # The whole tree, not only the top level's attachments: Thunderbird and
    # Outlook put a pasted image inside multipart/alternative > multipart/related.
    return _attachment_parts(parsed)


def _attachment_parts(part: EmailMessage) -> list[OutboundAttachment]:
    if part.is_multipart():
        return [item for sub in part.iter_parts() for item in _attachment_parts(sub)]  # type: ignore[arg-type]
    if part.get_content_maintype() == "text" and not part.get_filename():
        return []
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return []
    content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
    filename = part.get_filename() or f"attachment.{part.get_content_subtype()}"
    return [OutboundAttachment(Path(filename).name, part.get_content_type(), payload, content_id)]
