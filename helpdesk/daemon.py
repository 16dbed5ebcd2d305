"""The long-running daemon: watch the mailbox, ingest, repeat.

One cycle applies queued requests from the command line, then ingests
everything new in the folder. Between cycles the daemon waits with IMAP IDLE
(or sleeps, when polling). A lost connection is retried with exponential
backoff; nothing a single message does can stop the loop. The daemon holds
the data directory lock for as long as it runs.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from helpdesk.business.greetings import queue_greetings
from helpdesk.business.invoices import parse_order
from helpdesk.business.privacy import Erasure, forget_customer
from helpdesk.clock.digest import Digest, build_digest
from helpdesk.clock.digestview import digest_outbound
from helpdesk.clock.promisesview import cause_section, promise_section
from helpdesk.clock.satisfaction import satisfaction_section
from helpdesk.clock.scheduler import Scheduler
from helpdesk.config import Config
from helpdesk.errors import ConfigError, ConnectionFailed, DataDirectoryBusy, UsageError
from helpdesk.intake.archive import MailArchive
from helpdesk.intake.fetch import NETWORK_ERRORS, Mailbox
from helpdesk.intake.history import finish_import
from helpdesk.intake.ingest import Clock, Ingestor, IngestReport
from helpdesk.intake.parsepool import ParsePool
from helpdesk.intake.progress import Progress
from helpdesk.intake.quarantine import Quarantine
from helpdesk.intake.sentfolder import SentFolder
from helpdesk.network import describe
from helpdesk.outbound.delivery import BackgroundDelivery
from helpdesk.outbound.outbox import Outbox, SendReport
from helpdesk.outbound.render import Templates
from helpdesk.outbound.sentcopy import SentCopies
from helpdesk.owner.tokens import ReplyTokens, load_secret
from helpdesk.policy.actions import Actions, business_context
from helpdesk.policy.businesstime import BusinessHours
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.policy.durations import BusinessTimeError
from helpdesk.policy.rules import RuleSet, load_rules
from helpdesk.store.durable import atomic_write
from helpdesk.store.records import FolderState, Invoice, iso, utc_now
from helpdesk.store.store import DataDirectoryLock, Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
REQUESTS = "requests"
STATUS_FILE = "daemon-status.json"
# The rule tick: time rules (escalation, follow-up, auto-close) are checked this often.
RULE_TICK = "every 60 seconds"
# A cycle with this many new messages delivers from the sender process while it works on them
# (``[smtp] sender_process``, :mod:`helpdesk.outbound.delivery`).
BACKLOG_MINIMUM = 32
# Events handled between two commits of a backlog: from each commit on, the sender process
# delivers their mail while the daemon handles the next. Batches smaller than this (a small
# [imap] batch_size) are answered together, not one commit each.
DELIVERY_CHUNK = 50


def load_policy(config: Config) -> tuple[Templates, RuleSet, BusinessHours]:
    """Templates, rules and business hours, all checked: a mistake stops start-up here."""
    templates = Templates.from_config(config)
    templates.validate()
    business = config.business
    try:
        hours = BusinessHours.from_config(business)
    except BusinessTimeError as exc:
        raise ConfigError(str(config.path), "[business] hours", str(exc)) from None
    rules = load_rules(config.rules_path, templates.names())
    return templates, rules, hours


def add_digest_sections(digest: Digest, store: Store, tokens: ReplyTokens, now: datetime) -> Digest:
    """``digest`` with the sections later features add: satisfaction, promises, complaint causes."""
    names = {customer.email: customer.name for customer in store.customers()}
    sections = (
        satisfaction_section(store.ticket_documents(), now, digest.timezone, tokens, names),
        promise_section(store.ticket_documents(), now, tokens),
        cause_section(store.ticket_documents(), now),
    )
    digest.sections.extend(section for section in sections if section is not None)
    return digest


def job_schedules(config: Config) -> dict[str, str]:
    """The daemon's scheduled jobs and when they run (names are their keys in the store)."""
    jobs = {"rule-tick": RULE_TICK, "digest": config.digest_schedule}
    greetings = config.greetings
    if greetings.birthday or greetings.new_year or greetings.anniversary:
        jobs["greetings"] = f"daily {greetings.time}"
    return jobs


@dataclass(frozen=True)
class Request:
    """A change asked for on the command line while the daemon runs."""

    action: str
    argument: str


def queue_request(data_dir: Path, request: Request) -> Path:
    """Drop a request file for the running daemon to apply on its next cycle.

    The name sorts by time and is unique across processes (the pid and a
    random part), so requests from several commands at once never collide.
    """
    name = f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(4)}-{request.action}.json"
    path = data_dir / REQUESTS / name
    atomic_write(path, json.dumps({"action": request.action, "argument": request.argument}).encode())
    return path


class Helpdesk:
    """The open data directory and everything that works on it."""

    def __init__(self, config: Config, clock: Clock = utc_now) -> None:
        self.config = config
        self.clock = clock
        templates, rules, hours = load_policy(config)
        data_dir = config.storage_path
        data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = DataDirectoryLock(data_dir)
        if not self.lock.acquire():
            raise DataDirectoryBusy(f"{data_dir}: another helpdesk process is running on this data directory")
        self.store = Store(data_dir)
        # The loaded store is long-lived: keep the collector from scanning it again and again.
        gc.freeze()
        self.quarantine = Quarantine(data_dir)
        self.tokens = ReplyTokens(load_secret(data_dir), config.business.email)
        self.parser = ParsePool(config.imap.parse_workers)
        self.ingestor = Ingestor(
            config, self.store, MailArchive(data_dir), self.quarantine, self.tokens, clock, self.parser
        )
        # Answers the owner writes from the support mailbox itself, and copies of what we send.
        self.sent_folder = SentFolder(config.imap, self.store, self.ingestor)
        self.sent_copies = SentCopies(data_dir, config.imap.save_sent)
        self.outbox = Outbox(data_dir, config.business.name, config.business.email)
        # What the outbox queued must be on disk before the store records it as done.
        self.store.before_commit(self.outbox.flush)
        self.delivery = BackgroundDelivery(data_dir, config.smtp, config.imap.save_sent, self.outbox, clock)
        self.actions = Actions(config, self.store, self.outbox, templates, self.tokens, clock)
        self.dispatcher = Dispatcher(
            self.store, self.actions, rules, hours, data_dir, clock, send_digest=self.send_digest
        )
        self.scheduler = Scheduler(self.store, config.business.timezone, clock)
        work = {
            "rule-tick": self.dispatcher.tick,
            "digest": self.send_digest,
            "greetings": self.send_greetings,
        }
        for name, when in job_schedules(config).items():
            self.scheduler.add(name, when, work[name])
        # The folder's UIDVALIDITY and the highest UID the last ingest saw there.
        self.seen = (0, 0)
        # Asked between batches: a stop request ends a long ingest after the current batch.
        self.stop_requested: Callable[[], bool] = lambda: False
        self.last_fetch: dict[str, Any] = {}

    def reload(self) -> bool:
        """Load the rules and templates again (SIGHUP); keep the old ones if the new are broken.

        A broken set is reported in the log and in a mail to the owner, and
        the daemon carries on with the set it had.
        """
        try:
            templates, rules, hours = load_policy(self.config)
        except Exception as exc:  # Whatever is wrong with the new set, the old one keeps working.
            problem = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            log.error("reload refused, still using the rules and templates loaded before: %s", problem)
            try:
                self.actions.reload_failed(problem)
                self.store.commit()
            except Exception:
                log.exception("could not tell the owner that the reload was refused")
            return False
        self.actions.templates = templates
        self.dispatcher.rules = rules
        self.dispatcher.hours = hours
        log.info("reloaded %d rule(s) from %s and the templates", len(rules.rules), self.config.rules_path)
        return True

    def write_status(self) -> None:
        """Note what the daemon last did, for ``helpdesk status`` (not durable: a hint)."""
        document = {"pid": os.getpid(), "last_cycle_at": iso(self.clock()), "last_fetch": self.last_fetch}
        atomic_write(self.config.storage_path / STATUS_FILE, json.dumps(document).encode(), durable=False)

    def close(self) -> None:
        """Stop the parse workers, write the store's segments and release the data directory."""
        try:
            self.parser.close()
            self.delivery.close()
            self.store.close()
        finally:
            self.lock.release()

    def replay(self, entry_id: str) -> IngestReport:
        """Feed a quarantined message through ingestion again.

        A message that was quarantined while a first sync imported the
        folder's history is replayed as history too: fixing it later must not
        send an acknowledgement for mail that may be months old.
        """
        entry = next((item for item in self.quarantine.entries() if item.id == entry_id), None)
        raw = self.quarantine.raw(entry_id)
        self.quarantine.remove(entry_id)
        source = entry.source if entry else None
        if source is not None and source.rsplit("/", 2)[0] != self.config.imap.folder:
            # From the Sent folder, the only other folder the daemon reads.
            return self.ingestor.ingest_sent_local(raw, quiet=self._was_history(source))
        return self.ingestor.ingest_local(raw, history=self._was_history(source))

    def forget(self, email: str) -> Erasure:
        """Erase a customer's personal data from the data directory (``helpdesk customer forget``)."""
        return forget_customer(self.store, self.outbox, self.quarantine, self.ingestor.archive, email)

    def _was_history(self, source: str | None) -> bool:
        """Whether the message at ``source`` (folder/UIDVALIDITY/UID) was history when it came in.

        Mail from an earlier UIDVALIDITY of the folder is older than anything
        the folder holds now: history as well.
        """
        if source is None:
            return False
        folder, _, rest = source.rpartition("/")
        folder, _, uidvalidity = folder.rpartition("/")
        state = self.store.folder_state(folder)
        if state is None or not (uidvalidity.isdigit() and rest.isdigit()):
            return False
        return int(uidvalidity) != state.uidvalidity or int(rest) <= state.history_until

    def create_invoice(self, argument: str, key: str | None = None) -> Invoice:
        """Issue and mail the invoice of an ``invoice create`` request (JSON: ticket, options, items)."""
        data = json.loads(argument)
        ticket = self.store.ticket(int(data["ticket"]))
        if ticket is None:
            raise UsageError(f"invoice create: no ticket #{data['ticket']}")
        rate = Decimal(str(self.config.business.tax_rate))
        items = [str(item) for item in data.get("items") or []]
        order = parse_order(str(data.get("options", "")), items, rate)
        invoice = self.actions.invoice(ticket, order, key or f"invoice:command-line:{time.time_ns()}")
        ticket.record(iso(self.clock()), "invoice", f"{invoice.number} issued from the command line")
        self.store.save_ticket(ticket)
        self.store.commit()
        self.mail_documents()
        return invoice

    def mail_documents(self) -> None:
        """Queue the mails of invoices and credit notes committed since the last call."""
        if self.actions.documents_to_mail and self.actions.mail_documents():
            self.store.commit()

    def apply_requests(self) -> None:
        """Apply the request files the command line queued, oldest first."""
        directory = self.config.storage_path / REQUESTS
        if not directory.is_dir():
            return
        for path in sorted(directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a request object")
                request = Request(str(data["action"]), str(data["argument"]))
                if request.action == "quarantine.replay":
                    self.replay(request.argument)
                elif request.action == "invoice.create":
                    # Keyed by the request file: applying it again after a crash mails it once.
                    self.create_invoice(request.argument, key=f"invoice:request:{path.stem}")
                elif request.action == "digest.send":
                    # Keyed by the request file: applying it again after a crash sends nothing twice.
                    self.send_digest(key=f"digest:manual:{path.stem}")
                elif request.action == "customer.forget":
                    self.forget(request.argument)
                else:
                    log.warning("ignoring unknown request %s in %s", request.action, path.name)
            except Exception as exc:  # One bad request must not stop the daemon.
                log.warning("request %s failed: %s: %s", path.name, type(exc).__name__, exc)
            path.unlink(missing_ok=True)

    def ingest_new(self, mailbox: Mailbox) -> IngestReport:
        """Ingest every message in the folder that is newer than the saved state.

        The first time a folder is seen (and after its UIDVALIDITY changed)
        the mail already in it is taken as ``[imap] first_sync`` says; see
        :meth:`first_sight`. A history import ends with one summary to the owner.
        """
        folder = self.config.imap.folder
        uidvalidity = mailbox.refresh()
        state = self.store.folder_state(folder)
        if state is None or state.uidvalidity != uidvalidity:
            state = self.first_sight(mailbox, uidvalidity, state)
        report = IngestReport()
        uids = mailbox.new_uids(state.last_uid)
        self.seen = (uidvalidity, max(uids, default=state.last_uid))
        uids = self._since_filter(mailbox, state, uids)
        self.last_fetch = {"at": iso(self.clock()), "folder": folder, "new": len(uids)}
        progress = Progress(f"importing {folder}", len(uids)) if state.import_pending and uids else None
        if len(uids) >= BACKLOG_MINIMUM and not state.import_pending:
            self.delivery.begin()
        batches = mailbox.fetch(uids, self.config.imap.batch_size)
        batch = next(batches, None)
        while batch is not None:
            following = next(batches, None)
            if following is not None:
                # Parsed by the workers while this batch is recorded and answered.
                self.parser.prepare([fetched.raw for fetched in following])
            report.add(self.ingestor.ingest_batch(folder, uidvalidity, batch, state.history_until))
            if self.delivery.active and self.store.pending_event_count() >= DELIVERY_CHUNK:
                # The batches' mail goes to the sender process while the next batch is read.
                self.dispatcher.run(commit_every=DELIVERY_CHUNK)
            if progress is not None:
                progress.advance(len(batch))
            if self.stop_requested():
                log.info("stopping: the rest of the new mail is fetched on the next start")
                return report
            batch = following
        if progress is not None:
            progress.finish()
        state = self.store.folder_state(folder) or state
        if state.last_uid < state.existing_until:
            # Everything there was is in (some of it older than [imap] since).
            state.last_uid = state.existing_until
            self.store.set_folder_state(state)
            self.store.commit()
        if state.import_pending:
            self.finish_import(state)
        if uids:
            log.info(
                "ingested %d new message(s): %d new ticket(s), %d recorded, %d skipped, "
                "%d quarantined, %d duplicate(s)",
                len(uids),
                report.tickets_created,
                report.messages_recorded,
                report.skipped,
                report.quarantined,
                report.duplicates,
            )
        return report

    def first_sight(self, mailbox: Mailbox, uidvalidity: int, previous: FolderState | None) -> FolderState:
        """Record how to take the mail already in a folder the daemon has not seen before.

        ``history`` (the default) imports it without sending anything and then
        sums it up for the owner; ``skip`` ignores it; ``process`` treats it as
        new mail (for a brand-new address). After a UIDVALIDITY change the
        folder is re-scanned as history, quietly: what is stored already is
        skipped as a duplicate, and nothing is sent for the rest.
        """
        folder = self.config.imap.folder
        highest = max(mailbox.new_uids(0), default=0)
        mode = self.config.imap.first_sync
        if previous is not None:
            log.warning(
                "folder %s: UIDVALIDITY changed from %d to %d; re-scanning %s as history "
                "(duplicates are skipped, nothing is sent)",
                folder, previous.uidvalidity, uidvalidity, f"up to UID {highest}",
            )
            state = FolderState(folder, uidvalidity, 0, existing_until=highest, existing_as="rescan")
            # An import that was not finished still gets its summary, once.
            state.import_pending, state.imported = previous.import_pending, previous.imported
        elif mode == "skip" or highest == 0:
            if highest:
                log.info("folder %s: first sync skips the mail already there (up to UID %d)", folder, highest)
            state = FolderState(folder, uidvalidity, highest)
        else:
            log.info("folder %s: first sync takes the mail already there (up to UID %d) as %s",
                     folder, highest, mode)
            state = FolderState(
                folder, uidvalidity, 0, existing_until=highest, existing_as=mode,
                import_pending=mode == "history",
            )
        self.store.set_folder_state(state)
        self.store.commit()
        return state

    def _since_filter(self, mailbox: Mailbox, state: FolderState, uids: list[int]) -> list[int]:
        """Leave out mail of a first sync that is older than ``[imap] since``."""
        since = self.config.imap.since
        if since is None or state.existing_as not in ("history", "process") or not uids:
            return uids
        if uids[0] > state.existing_until:
            return uids
        recent = mailbox.uids_since(since)
        return [uid for uid in uids if uid > state.existing_until or uid in recent]

    def finish_import(self, state: FolderState) -> None:
        """Settle the imported conversations and send the owner the one summary."""
        summary = finish_import(self.store, state, self.clock(), self.config.imap.first_sync_days)
        # Keyed by folder and UIDVALIDITY: a crash before the commit below queues it again, not twice.
        self.actions.import_summary(summary, f"import-summary:{state.folder}:{state.uidvalidity}")
        state.import_pending = False
        self.store.set_folder_state(state)
        self.store.commit()
        log.info(
            "folder %s: imported %d message(s) in %d ticket(s) from %d customer(s); %d closed, %d open, "
            "%d waiting for an answer; the summary to the owner is queued",
            state.folder, summary.messages, summary.tickets, summary.customers,
            summary.closed, summary.open, len(summary.unanswered),
        )

    def mail_waiting(self, mailbox: Mailbox) -> bool:
        """Whether mail arrived since the last ingest looked (during the cycle, say).

        IDLE announces only what arrives while it runs, so mail that came in
        during a cycle would otherwise wait for the next poll. The folder is
        selected again first: a server shows new mail to a search only after
        it has announced it.
        """
        uidvalidity, highest = self.seen
        return mailbox.refresh() != uidvalidity or bool(mailbox.new_uids(highest))

    def send_outbox(self) -> SendReport:
        """Send every outbox item that is due; tell the owner about failures."""

        async def send() -> SendReport:
            transport = self.sent_copies.transport(self.config.smtp)
            try:
                return await self.outbox.send_due(transport, self.clock())
            finally:
                await transport.close()

        report = asyncio.run(send())
        # Every failed item, not only this pass's: after a crash between failing an
        # item and telling the owner, the owner is told now (notices are idempotent).
        unreported = [item for item in self.outbox.failed() if not self.actions.failure_reported(item)]
        if unreported:
            self.dispatcher.delivery_failed(unreported)
            report.sent.extend(asyncio.run(send()).sent)
        return report

    def seconds_until_due(self) -> float:
        """Seconds until the next scheduled job or outbox retry is due."""
        due = [self.scheduler.seconds_until_next()]
        retry = self.outbox.next_due()
        if retry is not None:
            due.append((retry - self.clock()).total_seconds())
        return max(0.0, min(due))

    def run_jobs(self) -> list[str]:
        """Run the scheduled jobs that are due (the rule tick, the digest); returns their names."""
        return self.scheduler.run_pending()

    def digest(self) -> Digest:
        """The weekly digest as of now, from the store."""
        now = self.clock()
        digest = build_digest(
            self.store,
            self.dispatcher.hours,
            now,
            self.tokens,
            failures=self.outbox.failed(),
            quarantined=self.quarantine.entries(),
        )
        return add_digest_sections(digest, self.store, self.tokens, now)

    def send_greetings(self) -> int:
        """Queue today's birthday, New Year and anniversary greetings (the daily greetings job)."""
        hours = self.dispatcher.hours
        return queue_greetings(
            self.store,
            self.outbox,
            self.actions.templates,
            self.tokens,
            self.config.greetings,
            self.config.business.timezone,
            business_context(self.config),
            lambda day: day in hours.holidays,
            self.clock(),
        )

    def send_digest(self, key: str | None = None) -> bool:
        """Queue the digest to the owner; True if queued now.

        The scheduled digest is keyed by the occurrence it is for (``digest:``
        and the due moment), so a job run again after a crash queues nothing
        twice, and every occurrence, weekly or daily, gets its own digest.
        """
        digest = self.digest()
        owner = (self.config.owner.name, self.config.owner.email)
        outbound = digest_outbound(
            digest, self.actions.templates, self.actions.context(None), owner, self.tokens.console_address()
        )
        if key is None:
            spec, now = self.scheduler.jobs["digest"], self.clock()
            occurrence = spec.latest(now, self.scheduler.timezone) if spec.calendar else now
            key = f"digest:{iso(occurrence)}"
        _, new = self.outbox.enqueue(key, outbound, self.clock())
        self.store.commit()
        return new

    def cycle(self, mailbox: Mailbox) -> IngestReport:
        """One full cycle: requests, new mail (inbox, then answers in the Sent folder), the rules it
        triggers, due time rules, the outbox, and the copies of what it sent (``[imap] save_sent``)."""
        self.apply_requests()
        try:
            report = self.ingest_new(mailbox)
            self.sent_folder.watch(mailbox, lambda: self.stop_requested())
            self.dispatcher.run()
            self.mail_documents()
            self.run_jobs()
            self.dispatcher.run()
        finally:
            self.delivery.finish()
        self.send_outbox()
        self.sent_folder.save_copies(mailbox, self.sent_copies)
        return report


class Daemon:
    """Runs :class:`Helpdesk` cycles against the mailbox until told to stop."""

    def __init__(self, config: Config, clock: Clock = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.stopping = False
        self.reload_requested = False

    def request_reload(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Reload rules and templates before the next cycle (SIGHUP)."""
        self.reload_requested = True

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Finish the current step and leave the loop (SIGTERM, SIGINT)."""
        self.stopping = True

    def run_once(self) -> IngestReport:
        """One full cycle, then return; connection failures raise ConnectionFailed."""
        helpdesk = Helpdesk(self.config, self.clock)
        mailbox = Mailbox(self.config.imap)
        try:
            mailbox.connect()
            report = helpdesk.cycle(mailbox)
            helpdesk.write_status()
            return report
        except NETWORK_ERRORS as exc:
            raise ConnectionFailed(f"IMAP {self.config.imap.host}: {describe(exc)}") from None
        finally:
            mailbox.close()
            helpdesk.close()

    def run_forever(self, install_signals: bool = True) -> None:
        """Watch the mailbox until SIGTERM/SIGINT; reconnect with backoff on failures."""
        if install_signals:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
            signal.signal(signal.SIGHUP, self.request_reload)
        helpdesk = Helpdesk(self.config, self.clock)
        helpdesk.stop_requested = self._stop_requested
        mailbox = Mailbox(self.config.imap)
        backoff = 1.0
        log.info("helpdesk daemon started for %s", self.config.business.email)
        try:
            while not self.stopping:
                try:
                    if self.reload_requested:
                        self.reload_requested = False
                        helpdesk.reload()
                    if mailbox.client is None:
                        mailbox.connect()
                        backoff = 1.0
                    helpdesk.cycle(mailbox)
                    helpdesk.write_status()
                    if self.stopping:
                        break
                    if helpdesk.mail_waiting(mailbox):
                        continue
                    wait = max(1.0, min(self.config.imap.poll_interval, helpdesk.seconds_until_due()))
                    mailbox.wait_for_mail(wait, self._should_stop)
                except (ConnectionFailed, *NETWORK_ERRORS) as exc:
                    message = str(exc) if isinstance(exc, ConnectionFailed) else describe(exc)
                    log.warning("%s; reconnecting in %.0f s", message, backoff)
                    mailbox.close()
                    self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            mailbox.close()
            helpdesk.close()
            log.info("helpdesk daemon stopped")

    def _stop_requested(self) -> bool:
        return self.stopping

    def _should_stop(self) -> bool:
        """Whether to leave the wait for mail: to stop, or to reload first."""
        return self.stopping or self.reload_requested

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))
