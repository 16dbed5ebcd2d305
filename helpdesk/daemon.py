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
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from helpdesk.config import Config
from helpdesk.errors import ConfigError, ConnectionFailed, HelpdeskError, StoreError
from helpdesk.intake.archive import MailArchive
from helpdesk.intake.fetch import NETWORK_ERRORS, Mailbox
from helpdesk.intake.ingest import Clock, Ingestor, IngestReport
from helpdesk.intake.parsepool import ParsePool
from helpdesk.intake.quarantine import Quarantine
from helpdesk.network import describe
from helpdesk.outbound.outbox import Outbox, SendReport
from helpdesk.outbound.render import Templates
from helpdesk.outbound.smtp import SmtpTransport
from helpdesk.owner.tokens import ReplyTokens, load_secret
from helpdesk.policy.actions import Actions
from helpdesk.policy.businesstime import BusinessHours, BusinessTimeError
from helpdesk.policy.dispatch import Dispatcher
from helpdesk.policy.rules import RuleSet, load_rules
from helpdesk.store.durable import atomic_write
from helpdesk.store.records import FolderState, utc_now
from helpdesk.store.store import DataDirectoryLock, Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
REQUESTS = "requests"
TICK_INTERVAL = timedelta(seconds=60)


def load_policy(config: Config) -> tuple[Templates, RuleSet, BusinessHours]:
    """Templates, rules and business hours, all checked: a mistake stops start-up here."""
    templates = Templates.from_config(config)
    templates.validate()
    business = config.business
    try:
        hours = BusinessHours.parse(business.hours, business.timezone, business.holidays)
    except BusinessTimeError as exc:
        raise ConfigError(str(config.path), "[business] hours", str(exc)) from None
    rules = load_rules(config.rules_path, templates.names())
    return templates, rules, hours


@dataclass(frozen=True)
class Request:
    """A change asked for on the command line while the daemon runs."""

    action: str
    argument: str


def queue_request(data_dir: Path, request: Request) -> Path:
    """Drop a request file for the running daemon to apply on its next cycle."""
    name = f"{time.time_ns()}-{request.action}.json"
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
            raise StoreError(f"{data_dir}: another helpdesk process is running on this data directory")
        self.store = Store(data_dir)
        # The loaded store is long-lived: keep the collector from scanning it again and again.
        gc.freeze()
        self.quarantine = Quarantine(data_dir)
        self.tokens = ReplyTokens(load_secret(data_dir), config.business.email)
        self.parser = ParsePool(config.imap.parse_workers)
        self.ingestor = Ingestor(
            config, self.store, MailArchive(data_dir), self.quarantine, self.tokens, clock, self.parser
        )
        self.outbox = Outbox(data_dir, config.business.name, config.business.email)
        # What the outbox queued must be on disk before the store records it as done.
        self.store.before_commit(self.outbox.flush)
        self.actions = Actions(config, self.store, self.outbox, templates, self.tokens, clock)
        self.dispatcher = Dispatcher(self.store, self.actions, rules, hours, data_dir, clock)
        self.next_tick: datetime | None = None
        # The folder's UIDVALIDITY and the highest UID the last ingest saw there.
        self.seen = (0, 0)

    def close(self) -> None:
        """Stop the parse workers, write the store's segments and release the data directory."""
        try:
            self.parser.close()
            self.store.close()
        finally:
            self.lock.release()

    def replay(self, entry_id: str) -> IngestReport:
        """Feed a quarantined message through ingestion again."""
        raw = self.quarantine.raw(entry_id)
        self.quarantine.remove(entry_id)
        report = self.ingestor.ingest_local(raw)
        return report

    def apply_requests(self) -> None:
        """Apply the request files the command line queued, oldest first."""
        directory = self.config.storage_path / REQUESTS
        if not directory.is_dir():
            return
        for path in sorted(directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                request = Request(str(data["action"]), str(data["argument"]))
                if request.action == "quarantine.replay":
                    self.replay(request.argument)
                else:
                    log.warning("ignoring unknown request %s in %s", request.action, path.name)
            except (ValueError, KeyError, HelpdeskError) as exc:
                log.warning("request %s failed: %s", path.name, exc)
            path.unlink(missing_ok=True)

    def ingest_new(self, mailbox: Mailbox) -> IngestReport:
        """Ingest every message in the folder that is newer than the saved state."""
        folder = self.config.imap.folder
        uidvalidity = mailbox.refresh()
        state = self.store.folder_state(folder)
        after = 0
        if state is not None and state.uidvalidity == uidvalidity:
            after = state.last_uid
        elif state is not None:
            log.warning(
                "folder %s: UIDVALIDITY changed from %d to %d; re-scanning (duplicates are skipped)",
                folder,
                state.uidvalidity,
                uidvalidity,
            )
        report = IngestReport()
        uids = mailbox.new_uids(after)
        self.seen = (uidvalidity, max(uids, default=after))
        for batch in mailbox.fetch(uids, self.config.imap.batch_size):
            report.add(self.ingestor.ingest_batch(folder, uidvalidity, batch))
        if not uids and (state is None or state.uidvalidity != uidvalidity):
            self.store.set_folder_state(FolderState(folder, uidvalidity, 0))
            self.store.commit()
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
            transport = SmtpTransport(self.config.smtp)
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
        """Seconds until the next tick or outbox retry is due."""
        now = self.clock()
        due = [self.next_tick or now]
        retry = self.outbox.next_due()
        if retry is not None:
            due.append(retry)
        return max(0.0, (min(due) - now).total_seconds())

    def tick(self) -> int:
        """Run the time rules if a tick is due; returns how many fired."""
        now = self.clock()
        if self.next_tick is not None and now < self.next_tick:
            return 0
        self.next_tick = now + TICK_INTERVAL
        return self.dispatcher.tick()

    def cycle(self, mailbox: Mailbox) -> IngestReport:
        """One full cycle: requests, new mail, the rules it triggers, due time rules, the outbox."""
        self.apply_requests()
        report = self.ingest_new(mailbox)
        self.dispatcher.run()
        self.tick()
        self.dispatcher.run()
        self.send_outbox()
        return report


class Daemon:
    """Runs :class:`Helpdesk` cycles against the mailbox until told to stop."""

    def __init__(self, config: Config, clock: Clock = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.stopping = False

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Finish the current step and leave the loop (SIGTERM, SIGINT)."""
        self.stopping = True

    def run_once(self) -> IngestReport:
        """One full cycle, then return; connection failures raise ConnectionFailed."""
        helpdesk = Helpdesk(self.config, self.clock)
        mailbox = Mailbox(self.config.imap)
        try:
            mailbox.connect()
            return helpdesk.cycle(mailbox)
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
        helpdesk = Helpdesk(self.config, self.clock)
        mailbox = Mailbox(self.config.imap)
        backoff = 1.0
        log.info("helpdesk daemon started for %s", self.config.business.email)
        try:
            while not self.stopping:
                try:
                    if mailbox.client is None:
                        mailbox.connect()
                        backoff = 1.0
                    helpdesk.cycle(mailbox)
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

    def _should_stop(self) -> bool:
        return self.stopping

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))
