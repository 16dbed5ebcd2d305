"""Ingestion: from raw fetched bytes to ticket records, exactly once.

For each batch the order is fixed, because it is what makes ingestion safe
against a crash at any point:

1. archive every raw message (one file system flush for the whole batch);
2. parse the batch (in worker processes when it is large, see
   :mod:`helpdesk.intake.parsepool`), then classify, thread and record each message
   in order; a message that cannot be processed goes to quarantine with its
   reason;
3. move the folder's saved UID past the batch and commit the store — records
   and UID change together in one atomic commit.

A crash before step 3 leaves the UID where it was, so the batch is fetched
again; the store deduplicates on the message's source (folder, UIDVALIDITY,
UID) and on its Message-ID, so nothing is recorded twice.

Mail that was in the folder before the daemon first saw it is *history*
(UIDs up to ``history_until``): it is recorded, threaded and dated by its own
Date header like any mail, but raises no event, so no rule sends anything
for it; our own and the owner's answers found there are recorded as ours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.parser import BytesHeaderParser

from helpdesk.config import Config
from helpdesk.errors import MessageRejected, OwnerMailRejected
from helpdesk.intake.answers import AnswerReading, apply_answer, read_answer
from helpdesk.intake.archive import MailArchive, MailSource
from helpdesk.intake.disposition import NO_SENDER
from helpdesk.intake.fetch import FetchedMessage
from helpdesk.intake.forwarded import find_forwarded
from helpdesk.intake.message import InboundMessage
from helpdesk.intake.parsepool import ParsePool, ParseResult, parse_or_reject
from helpdesk.intake.quarantine import Quarantine
from helpdesk.intake.threads import TAG_PATTERN, base_subject, find_ticket, recipients
from helpdesk.outbound.compose import new_message_id
from helpdesk.owner.authentication import OWNER_PURPOSE, OwnerRejected, authenticate, authenticate_console
from helpdesk.owner.commands import plan_reply
from helpdesk.owner.console import NewConversation, plan_console
from helpdesk.owner.tokens import UNSUBSCRIBE_PURPOSE, ReplyTokens
from helpdesk.store.records import Customer, FolderState, StoredMessage, Ticket, iso
from helpdesk.store.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Records one parsed message: (message, source, archive path, old, raw bytes) -> what it did.
Recorder = Callable[[InboundMessage, str | None, str, bool, bytes], "IngestReport"]


@dataclass
class IngestReport:
    """What one batch (or one replay) did."""

    tickets_created: int = 0
    messages_recorded: int = 0
    duplicates: int = 0
    skipped: int = 0
    quarantined: int = 0
    customers_created: int = 0

    def add(self, other: IngestReport) -> None:
        """Fold another report into this one."""
        self.tickets_created += other.tickets_created
        self.messages_recorded += other.messages_recorded
        self.duplicates += other.duplicates
        self.skipped += other.skipped
        self.quarantined += other.quarantined
        self.customers_created += other.customers_created


class Ingestor:
    """Turns raw inbound messages into tickets, messages and customers."""

    def __init__(
        self,
        config: Config,
        store: Store,
        archive: MailArchive,
        quarantine: Quarantine,
        tokens: ReplyTokens,
        clock: Clock,
        parser: ParsePool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.archive = archive
        self.quarantine = quarantine
        self.tokens = tokens
        self.clock = clock
        self.parser = parser or ParsePool(workers=0)

    def ingest_batch(
        self, folder: str, uidvalidity: int, batch: list[FetchedMessage], history_until: int = 0
    ) -> IngestReport:
        """Archive, record and commit one fetched batch (see the module docstring).

        Messages with UIDs up to ``history_until`` are recorded as history.
        """
        return self._take_in(folder, uidvalidity, batch, history_until, self._record)

    def _take_in(
        self, folder: str, uidvalidity: int, batch: list[FetchedMessage], old_until: int, record: Recorder
    ) -> IngestReport:
        """Archive the batch (one sync), parse it, ``record`` each message, move the UID, commit.

        ``record`` gets each parsed message, whether its UID is up to
        ``old_until`` (history, or a quiet re-scan), its source, archive path and bytes.
        """
        report = IngestReport()
        fresh: list[tuple[MailSource, bytes, str]] = []
        for fetched in batch:
            source = MailSource(folder, uidvalidity, fetched.uid)
            if self.store.has_source(source.key):
                report.duplicates += 1
                continue
            path = self.archive.store(source, fetched.raw)
            fresh.append((source, fetched.raw, self.archive.relative(path)))
        self.archive.sync()
        parsed = self.parser.parse([raw for _, raw, _ in fresh])
        for (source, raw, archive_path), result in zip(fresh, parsed, strict=True):
            old = source.uid <= old_until
            report.add(self._process(raw, source.key, archive_path, result, old, record))
        if batch:
            self._advance(folder, uidvalidity, max(fetched.uid for fetched in batch), report)
        self.store.commit()
        return report

    def _advance(self, folder: str, uidvalidity: int, last_uid: int, report: IngestReport) -> None:
        """Move the folder's saved UID, keeping its first-sync record and import counts."""
        state = self.store.folder_state(folder)
        if state is None or state.uidvalidity != uidvalidity:
            state = FolderState(folder, uidvalidity, 0)
        state.last_uid = max(state.last_uid, last_uid)
        if state.import_pending:
            for key, count in (
                ("messages", report.messages_recorded),
                ("tickets", report.tickets_created),
                ("customers", report.customers_created),
            ):
                state.imported[key] = state.imported.get(key, 0) + count
        self.store.set_folder_state(state)

    def ingest_local(self, raw: bytes, history: bool = False) -> IngestReport:
        """Ingest a message that did not come from IMAP (a quarantine replay), as history if asked."""
        return self._take_in_local(raw, history, self._record)

    def _take_in_local(self, raw: bytes, old: bool, record: Recorder) -> IngestReport:
        path = self.archive.store_local(raw)
        report = self._process(raw, None, self.archive.relative(path), parse_or_reject(raw), old, record)
        self.store.commit()
        return report

    def _process(
        self,
        raw: bytes,
        source: str | None,
        archive_path: str,
        parsed: ParseResult,
        history: bool,
        record: Recorder,
    ) -> IngestReport:
        """Record one archived, parsed message; quarantine it if that fails. Never raises."""
        try:
            if isinstance(parsed, MessageRejected):
                raise parsed
            return record(parsed, source, archive_path, history, raw)
        except OwnerMailRejected as exc:
            entry = self.quarantine.add(raw, exc.reason, source)
            log.warning("quarantined %s (%s): %s", entry.id, source or "local", exc.reason)
            # History is not news: the owner is warned only about mail that arrives now.
            if not history:
                self.store.add_event(
                    "owner.rejected", None, quarantine_id=entry.id, reason=exc.reason,
                    sender=exc.sender, subject=exc.subject,
                )
            return IngestReport(quarantined=1)
        except MessageRejected as exc:
            reason = exc.reason
        except Exception as exc:  # A bad message must never stop the daemon.
            log.exception("unexpected error processing %s", source or archive_path)
            reason = f"internal error: {type(exc).__name__}: {exc}"
        entry = self.quarantine.add(raw, reason, source)
        log.warning("quarantined %s (%s): %s", entry.id, source or "local", reason)
        return IngestReport(quarantined=1)

    def _record(
        self,
        message: InboundMessage,
        source: str | None,
        archive_path: str,
        history: bool = False,
        raw: bytes = b"",
    ) -> IngestReport:
        report = IngestReport()
        if self.store.ticket_for_message_id(message.message_id) is not None:
            log.info("duplicate Message-ID <%s> from %s: not recorded again", message.message_id, source)
            report.duplicates = 1
            return report
        if message.sender is None or not message.sender.email:
            raise MessageRejected(NO_SENDER)
        sender = message.sender.email
        if history and sender in (self.config.business.email, self.config.owner.email):
            return self._record_our_history(message, source, archive_path)
        if sender == self.config.business.email:
            raise MessageRejected(f"sent from our own address {sender} (mail loop?)")
        if self.tokens.console_in(recipients(message)):
            if history:
                return self._skip(message, "a command to the helpdesk, in the history", source or "")
            return self._record_console(message, source, archive_path)
        forwarded = self._forwarded(message, raw) if sender == self.config.owner.email else None
        if forwarded is not None:
            return self._record(forwarded, source, archive_path, history)
        if not history and not message.is_bounce:
            unsubscribing = self.tokens.ticket_in(recipients(message), UNSUBSCRIBE_PURPOSE)
            if unsubscribing is not None:
                return self._unsubscribe(message, unsubscribing, source or "")
        if sender == self.config.owner.email or self.tokens.ticket_in(recipients(message), OWNER_PURPOSE):
            return self._record_owner(message, source, archive_path)

        now = self._when(message) if history else self.clock()
        decision = find_ticket(message, self.store, self.tokens, now)
        if message.is_automatic:
            return self._record_automatic(message, decision.ticket_id, source, archive_path, history)

        stamp = iso(now)
        reopened = False
        reading: AnswerReading | None = None
        if decision.ticket_id is None:
            ticket = Ticket(
                id=self.store.new_ticket_id(),
                customer=sender,
                subject=base_subject(message.subject) or "(no subject)",
                created_at=stamp,
                updated_at=stamp,
                participants=[sender],
                status="open" if history else "new",
                imported=history,
            )
            ticket.record(stamp, "created", f"from {sender}" + (" (imported history)" if history else ""))
            report.tickets_created = 1
        else:
            found = self.store.ticket(decision.ticket_id)
            assert found is not None, "the threader only returns existing tickets"
            ticket = found
            # Something new happened on an imported conversation: it is live now.
            ticket.imported = ticket.imported and history
            if not history and sender == ticket.customer:
                reading = read_answer(ticket, message.text, message.in_reply_to)
            reopened = ticket.status == "closed" and not history and (reading is None or reading.reopen)
            if reopened:
                ticket.status = "open"
                ticket.closed_at = None
                ticket.record(stamp, "reopened", "customer wrote again")
            elif ticket.status == "pending":
                ticket.status = "open"
        for address in [sender, *(cc.email for cc in message.cc)]:
            if address not in ticket.participants and self._is_outsider(address):
                ticket.participants.append(address)
        ticket.last_customer_at = max(ticket.last_customer_at or stamp, stamp)
        ticket.updated_at = max(ticket.updated_at, stamp)
        ticket.created_at = min(ticket.created_at, stamp)
        stored = self._stored_message(message, ticket.id, source, archive_path, None, history)
        ticket.record(stamp, "message", f"from {sender} ({decision.reason})")
        self.store.save_ticket(ticket)
        self.store.add_message(stored)
        new_ticket = decision.ticket_id is None
        report.customers_created = self._update_customer(message, stamp, new_ticket=new_ticket)
        report.messages_recorded = 1
        if history:
            return report
        if reading is not None and self._answered(reading, ticket, stamp, stored.id):
            return report
        # message.received first: its rules (priority words, say) set what the
        # ticket.created rules (the acknowledgement's promised answer time) rely on.
        self.store.add_event("message.received", ticket.id, stored.id)
        if decision.ticket_id is None:
            self.store.add_event("ticket.created", ticket.id, stored.id)
        elif reopened:
            self.store.add_event("ticket.reopened", ticket.id, stored.id)
        return report

    def _answered(self, reading: AnswerReading, ticket: Ticket, stamp: str, message_id: int) -> bool:
        """Record the customer's answer to our question; True if that was all the message said.

        A rating queues ``feedback.received`` (the rules decide what a low or a
        glowing one leads to). An answer that was all the message said fires
        nothing else: the owner is not notified and a closed ticket stays closed.
        """
        customer = self.store.customer(ticket.customer)
        assert customer is not None, "the sender was recorded as a customer just now"
        ticket.record(stamp, "answer", apply_answer(reading, ticket, customer, stamp, message_id))
        self.store.save_ticket(ticket)
        self.store.save_customer(customer)
        if reading.kind == "rating":
            self.store.add_event("feedback.received", ticket.id, message_id)
        return not reading.reopen

    def _unsubscribe(self, message: InboundMessage, customer_id: int, source: str) -> IngestReport:
        """A mail to a customer's unsubscribe address: opt them out; it opens no ticket."""
        customer = next((item for item in self.store.customers() if item.id == customer_id), None)
        if customer is not None and customer.opt_out(iso(self.clock())):
            self.store.save_customer(customer)
            log.info("customer %d opted out by their unsubscribe address", customer_id)
        return self._skip(message, f"unsubscribe request for customer {customer_id}", source)

    def _is_outsider(self, address: str) -> bool:
        """Whether ``address`` is someone outside the business (not us, not the owner)."""
        domain = self.config.business.domain
        local = self.config.business.email.partition("@")[0]
        ours = address.endswith("@" + domain) and address.partition("@")[0].split("+")[0] == local
        return bool(address) and not ours and address != self.config.owner.email

    def _record_owner(self, message: InboundMessage, source: str | None, archive_path: str) -> IngestReport:
        """Record a proven owner reply and queue its actions; refuse anything else."""
        owner = self.config.owner
        try:
            ticket_id = authenticate(
                message,
                owner.email,
                self.store,
                self.tokens,
                owner.authserv_id if owner.require_authenticated else None,
            )
        except OwnerRejected as exc:
            sender = message.sender.email if message.sender else ""
            raise OwnerMailRejected(exc.reason, sender, message.subject) from None
        ticket = self.store.ticket(ticket_id)
        assert ticket is not None, "authenticate only returns existing tickets"
        plan = plan_reply(message.text)
        stamp = iso(self.clock())
        if plan.relays:
            # The record carries the Message-ID the customer will receive, so
            # that the customer's answer threads; the owner's own id is kept too.
            direction, text = "out", plan.body
            message_id, origin = new_message_id(self.config.business.domain), message.message_id
        else:
            direction, text, message_id, origin = "note", message.text, message.message_id, None
        stored = StoredMessage(
            id=self.store.new_message_id(),
            ticket_id=ticket.id,
            direction=direction,
            message_id=message_id,
            sender=self.config.business.email if plan.relays else owner.email,
            to=[ticket.customer] if plan.relays else [],
            subject=message.subject,
            date=stamp,
            text=text,
            attachments=[item.to_json() for item in message.attachments],
            archive_path=archive_path,
            source=source,
            origin_message_id=origin,
        )
        ticket.last_owner_at = stamp
        ticket.updated_at = stamp
        ticket.imported = False
        ticket.record(stamp, "owner-replied", "relayed to the customer" if plan.relays else "not relayed")
        self.store.save_ticket(ticket)
        self.store.add_message(stored)
        self.store.add_event("owner.replied", ticket.id, stored.id, text=message.text)
        return IngestReport(messages_recorded=1)

    def _forwarded(self, message: InboundMessage, raw: bytes) -> InboundMessage | None:
        """A customer's mail that the owner forwarded to us, as if the customer had sent it; else None.

        Only mail from the owner that carries no reply token (it answers no
        ticket) counts: the ticket is opened for the original sender, with the
        original text and date, and answers go to that customer.
        """
        if self.tokens.ticket_in(recipients(message), OWNER_PURPOSE) is not None:
            return None
        found = find_forwarded(message, raw)
        if found is None or not self._is_outsider(found.sender.email):
            return None
        log.info("mail forwarded by the owner (%s): a ticket for %s", found.how, found.sender.email)
        return replace(
            message,
            message_id=found.message_id or message.message_id,
            in_reply_to=None,
            references=(),
            sender=found.sender,
            reply_to=(),
            subject=found.subject or message.subject,
            date=found.date or message.date,
            text=found.text,
            full_text=found.full_text,
        )

    def _record_console(self, message: InboundMessage, source: str | None, archive_path: str) -> IngestReport:
        """A mail to the owner's command address: queue its answer, or start the conversation it asks for."""
        owner = self.config.owner
        server = owner.authserv_id if owner.require_authenticated else None
        try:
            authenticate_console(message, owner.email, server)
        except OwnerRejected as exc:
            sender = message.sender.email if message.sender else ""
            raise OwnerMailRejected(exc.reason, sender, message.subject) from None
        plan = plan_console(message.text)
        if plan.new is not None:
            return self._start_conversation(message, plan.new, source, archive_path)
        log.info("owner commands by mail: %d question(s)", len(plan.requests))
        # Answered once per mail: the answer's outbox key is this Message-ID.
        self.store.add_event("owner.console", None, text=message.text, mail_id=message.message_id)
        return IngestReport()

    def _start_conversation(
        self, message: InboundMessage, new: NewConversation, source: str | None, archive_path: str
    ) -> IngestReport:
        """``#new``: open a ticket with the owner's words to the customer; the reply rules send them.

        The first message's Message-ID is derived from the owner's mail, so a
        replay of the same mail finds it and opens nothing twice.
        """
        digest = hashlib.sha256(message.message_id.encode()).hexdigest()[:24]
        first_id = f"new.{digest}@{self.config.business.domain}"
        if self.store.ticket_for_message_id(first_id) is not None:
            return IngestReport(duplicates=1)
        stamp = iso(self.clock())
        customer = self.store.customer(new.email)
        created = customer is None
        if customer is None:
            customer = Customer(id=0, email=new.email, name="", first_contact=stamp, last_contact=stamp)
        customer.ticket_count += 1
        customer.last_contact = max(customer.last_contact, stamp)
        self.store.save_customer(customer)
        ticket = Ticket(
            id=self.store.new_ticket_id(),
            customer=new.email,
            subject=new.subject,
            created_at=stamp,
            updated_at=stamp,
            participants=[new.email],
            status="pending",
            last_owner_at=stamp,
        )
        ticket.record(stamp, "created", f"by the owner, to {new.email}")
        ticket.record(stamp, "owner-replied", "relayed to the customer")
        self.store.save_ticket(ticket)
        stored = StoredMessage(
            id=self.store.new_message_id(),
            ticket_id=ticket.id,
            direction="out",
            message_id=first_id,
            sender=self.config.business.email,
            to=[new.email],
            subject=new.subject,
            date=stamp,
            text=plan_reply(new.text).body,
            archive_path=archive_path,
            source=source,
            origin_message_id=message.message_id,
        )
        self.store.add_message(stored)
        # The owner's words and any commands below #new act as a reply on the new ticket.
        self.store.add_event("owner.replied", ticket.id, stored.id, text=new.text)
        return IngestReport(tickets_created=1, messages_recorded=1, customers_created=int(created))

    def _record_our_history(
        self, message: InboundMessage, source: str | None, archive_path: str
    ) -> IngestReport:
        """Our own or the owner's mail found in the history: an answer on its conversation.

        It joins the conversation it answers (by its references, else by a
        recipient's conversation with the same subject); one that answers no
        imported conversation is logged as skipped.
        """
        moment = self._when(message)
        ticket_id = find_ticket(message, self.store, self.tokens, moment).ticket_id
        subject = base_subject(message.subject)
        for address in (item.email for item in message.to):
            if ticket_id is not None or not subject:
                break
            ticket_id = next(reversed(self.store.tickets_with_subject(address, subject)), None)
        if ticket_id is None:
            reason = "our own mail in the history, answering no conversation"
            return self._skip(message, reason, source or archive_path)
        ticket = self.store.ticket(ticket_id)
        assert ticket is not None
        stamp = iso(moment)
        stored = self._stored_message(message, ticket.id, source, archive_path, None, history=True)
        stored.direction = "out"
        ticket.last_owner_at = max(ticket.last_owner_at or stamp, stamp)
        ticket.updated_at = max(ticket.updated_at, stamp)
        ticket.record(stamp, "owner-replied", "found in the imported history")
        self.store.save_ticket(ticket)
        self.store.add_message(stored)
        return IngestReport(messages_recorded=1)

    def _when(self, message: InboundMessage) -> datetime:
        """When a history message happened: its Date, but never in the future."""
        now = self.clock()
        return min(message.date, now) if message.date is not None else now

    def _skip(self, message: InboundMessage, reason: str, source: str) -> IngestReport:
        """Log a message that opens no ticket, with the reason (never dropped silently)."""
        sender = message.sender.email if message.sender else "?"
        entry = {"at": iso(self.clock()), "from": sender, "subject": message.subject, "reason": reason}
        self.store.note_skipped({**entry, "source": source})
        log.info("skipped message from %s (%s): %s", sender, reason, message.subject)
        return IngestReport(skipped=1)

    def _record_automatic(
        self,
        message: InboundMessage,
        ticket_id: int | None,
        source: str | None,
        archive_path: str,
        history: bool = False,
    ) -> IngestReport:
        """Automatic mail is recorded on its ticket without changing it, or skipped."""
        reason = message.automatic_reason or "automatic"
        stamp = iso(self._when(message) if history else self.clock())
        if ticket_id is None:
            return self._skip(message, reason, source or archive_path)
        ticket = self.store.ticket(ticket_id)
        assert ticket is not None
        event = "bounce" if message.is_bounce else "automatic"
        ticket.record(stamp, event, reason)
        self.store.save_ticket(ticket)
        stored = self._stored_message(message, ticket_id, source, archive_path, reason, history)
        self.store.add_message(stored)
        report = IngestReport(messages_recorded=1)
        if message.is_bounce and not history:
            self.store.add_event("delivery.bounced", ticket_id, reason=reason)
        return report

    def _stored_message(
        self,
        message: InboundMessage,
        ticket_id: int,
        source: str | None,
        archive_path: str,
        automatic: str | None,
        history: bool = False,
    ) -> StoredMessage:
        """The stored form of an inbound message; history is dated by its Date, never in the future."""
        return StoredMessage(
            id=self.store.new_message_id(),
            ticket_id=ticket_id,
            direction="in",
            message_id=message.message_id,
            sender=message.sender.email if message.sender else "",
            to=[address.email for address in message.to],
            cc=[address.email for address in message.cc],
            subject=message.subject,
            date=iso(self._when(message) if history else message.date or self.clock()),
            text=message.text,
            attachments=[
                {
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": item.size,
                    "sha256": item.sha256,
                }
                for item in message.attachments
            ],
            archive_path=archive_path,
            source=source,
            automatic=automatic,
            references=list(message.references),
        )

    def _update_customer(self, message: InboundMessage, stamp: str, new_ticket: bool) -> int:
        """Record the sender as a customer; returns 1 if the customer is new."""
        assert message.sender is not None
        email = message.sender.email
        known = self.store.customer(email)
        customer = known or Customer(id=0, email=email, name="", first_contact=stamp, last_contact=stamp)
        if message.sender.name and not customer.name_from_owner:
            customer.name = message.sender.name
        customer.first_contact = min(customer.first_contact, stamp)
        customer.last_contact = max(customer.last_contact, stamp)
        if new_ticket:
            customer.ticket_count += 1
        self.store.save_customer(customer)
        return 0 if known else 1

    # -- answers written from the support mailbox itself (its Sent folder) --------------------

    def ingest_sent(
        self, folder: str, uidvalidity: int, batch: list[FetchedMessage], quiet_until: int = 0
    ) -> IngestReport:
        """Archive, record and commit one batch from the Sent folder, like :meth:`ingest_batch`.

        Each message there that the owner wrote to a customer from the support
        mailbox is recorded on its ticket as the owner's answer and queues
        ``owner.replied`` with ``relay`` False: its commands apply, nothing is
        sent (the customer has it already). Messages with UIDs up to
        ``quiet_until`` (a re-scan after a UIDVALIDITY change) are recorded
        without an event.
        """
        return self._take_in(folder, uidvalidity, batch, quiet_until, self._record_sent)

    def ingest_sent_local(self, raw: bytes, quiet: bool = False) -> IngestReport:
        """Record a message of the Sent folder that did not come from IMAP (a quarantine replay)."""
        return self._take_in_local(raw, quiet, self._record_sent)

    def _record_sent(
        self, message: InboundMessage, source: str | None, archive_path: str, quiet: bool, raw: bytes
    ) -> IngestReport:
        """Record the owner's answer found in the Sent folder, or say why it is none.

        Skipped quietly (counted as duplicates): what the store knows by its
        Message-ID (everything the daemon sends to customers, and what it
        recorded before) and any other mail the daemon composed (its
        ``X-Helpdesk-Kind`` header: the digest, notices to the owner). Logged as
        skipped: mail not from the business address, automatic mail, and mail
        that answers no ticket or went to no one on it.
        """
        if self.store.ticket_for_message_id(message.message_id) is not None:
            return IngestReport(duplicates=1)
        if BytesHeaderParser().parsebytes(raw)["X-Helpdesk-Kind"] is not None:
            return IngestReport(duplicates=1)
        where = source or archive_path
        sender = message.sender.email if message.sender else ""
        if sender != self.config.business.email:
            return self._skip(message, f"in the Sent folder, not from {self.config.business.email}", where)
        if message.is_automatic:
            reason = f"automatic mail in the Sent folder ({message.automatic_reason})"
            return self._skip(message, reason, where)
        ticket, reason = self._sent_ticket(message)
        if ticket is None:
            return self._skip(message, reason, where)
        stamp = iso(self._when(message) if quiet else self.clock())
        stored = self._stored_message(message, ticket.id, source, archive_path, None, history=quiet)
        stored.direction = "out"
        ticket.last_owner_at = max(ticket.last_owner_at or stamp, stamp)
        ticket.updated_at = max(ticket.updated_at, stamp)
        ticket.imported = ticket.imported and quiet
        ticket.record(stamp, "owner-replied", "answered from the support mailbox")
        self.store.save_ticket(ticket)
        self.store.add_message(stored)
        if not quiet:
            self.store.add_event("owner.replied", ticket.id, stored.id, text=message.text, relay=False)
        return IngestReport(messages_recorded=1)

    def _sent_ticket(self, message: InboundMessage) -> tuple[Ticket | None, str]:
        """The ticket a message sent from the support mailbox answers, or None and why not.

        By In-Reply-To and References, else by a subject tag ``[#12]`` naming a
        ticket one of the recipients takes part in; and it must have gone to
        someone on that ticket (a forward to a supplier is no answer).
        """
        ticket_id = find_ticket(message, self.store, self.tokens, self.clock()).ticket_id
        addressed = {address.email for address in (*message.to, *message.cc)}
        for match in TAG_PATTERN.finditer(message.subject):
            if ticket_id is not None:
                break
            tagged = self.store.ticket(int(match.group(1)))
            if tagged is not None and addressed & set(tagged.participants):
                ticket_id = tagged.id
        ticket = self.store.ticket(ticket_id) if ticket_id is not None else None
        if ticket is None:
            return None, "sent from the support mailbox, answering no ticket"
        if not addressed & set(ticket.participants):
            return None, f"sent from the support mailbox to no one on ticket #{ticket.id}"
        return ticket, ""
