"""Watching the support mailbox's Sent folder for answers written there.

An owner who answers a customer from the business's own mailbox (logged in to
``support@…`` in Thunderbird, mutt or webmail) sends the answer straight to
the customer; the daemon never sees it in the inbox. Their mail client keeps
a copy in the mailbox's Sent folder, and that copy is what this module looks
for: each daemon cycle it asks the Sent folder for UIDs above the last one it
saw, and hands them to :meth:`Ingestor.ingest_sent`, which records each answer
on its ticket and applies its command lines, sending nothing.

The folder is ``[imap] sent_folder``, else the one the server flags ``\\Sent``
(RFC 6154), found once per daemon start; without one the watch is off (one
log line says so). It is read on the inbox's connection, selected for the
moment it takes (:meth:`Mailbox.other_folder`): polled each cycle, while
IDLE stays on the inbox.

Its poll state is a folder state of its own in the store, by folder name,
kept like the inbox's: the saved UID moves only in the commit that records
the batch. The first time the daemon sees the folder, what is there already
is old (the inbox's first-sync import records our answers found in the
history): only the highest UID is remembered. A changed UIDVALIDITY re-scans
the folder quietly: what is known by its Message-ID is skipped, the rest is
recorded without any event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from helpdesk.config import ImapConfig
from helpdesk.intake.fetch import FolderUnavailable, Mailbox
from helpdesk.intake.ingest import Ingestor, IngestReport
from helpdesk.outbound.sentcopy import SentCopies
from helpdesk.store.records import FolderState
from helpdesk.store.store import Store

log = logging.getLogger(__name__)


class SentFolder:
    """The Sent folder of the support mailbox: found once, then read every cycle."""

    def __init__(self, config: ImapConfig, store: Store, ingestor: Ingestor) -> None:
        self.config = config
        self.store = store
        self.ingestor = ingestor
        # The folder's name once looked up on the server (None: there is none).
        self.name: str | None = None
        self.resolved = False

    @property
    def wanted(self) -> bool:
        """Whether anything needs the Sent folder: watching it, or saving copies there."""
        return self.config.watch_sent or self.config.save_sent

    def resolve(self, mailbox: Mailbox) -> str | None:
        """The Sent folder's name, looked up on the server once per start; None: there is none.

        A configured folder that does not exist is refused with a warning
        rather than failing every cycle; a missing ``\\Sent`` flag is normal
        for some servers and is said once, at INFO.
        """
        if self.resolved or not self.wanted:
            return self.name
        configured = self.config.sent_folder
        if configured is not None:
            self.name = configured if mailbox.folder_exists(configured) else None
            if self.name is None:
                log.warning(
                    "[imap] sent_folder %r does not exist on the server: answers written from the "
                    "support mailbox are not recorded and no copies are saved", configured,
                )
        else:
            self.name = mailbox.find_sent_folder()
            if self.name is None:
                log.info(
                    "no Sent folder (\\Sent flag) in the support mailbox: answers written from it are "
                    "not recorded and no copies are saved (set [imap] sent_folder to name one)"
                )
        if self.name is not None:
            log.info("Sent folder of the support mailbox: %s", self.name)
        self.resolved = True
        return self.name

    def watch(self, mailbox: Mailbox, should_stop: Callable[[], bool] = lambda: False) -> IngestReport:
        """Record the answers that arrived in the Sent folder since the last cycle.

        ``should_stop`` is asked between batches, as the inbox's ingest does.
        """
        report = IngestReport()
        folder = self.resolve(mailbox) if self.config.watch_sent else None
        if folder is None:
            return report
        try:
            with mailbox.other_folder(folder) as uidvalidity:
                state = self.store.folder_state(folder)
                if state is None or state.uidvalidity != uidvalidity:
                    state = self._first_sight(mailbox, folder, uidvalidity, state)
                uids = mailbox.new_uids(state.last_uid)
                for batch in mailbox.fetch(uids, self.config.batch_size):
                    report.add(self.ingestor.ingest_sent(folder, uidvalidity, batch, state.history_until))
                    if should_stop():
                        break
        except FolderUnavailable as exc:
            self._lost(exc)
            return report
        if uids:
            log.info(
                "Sent folder %s: %d new message(s): %d answer(s) recorded, %d skipped, %d quarantined, "
                "%d already known", folder, len(uids), report.messages_recorded, report.skipped,
                report.quarantined, report.duplicates,
            )
        return report

    def save_copies(self, mailbox: Mailbox, copies: SentCopies) -> int:
        """Append the spooled copies of sent mail to the Sent folder; returns how many were appended.

        A folder the server refuses keeps them spooled (see :meth:`_lost`).
        """
        try:
            return copies.save(mailbox, self.resolve(mailbox))
        except FolderUnavailable as exc:
            self._lost(exc)
            return 0

    def _lost(self, exc: FolderUnavailable) -> None:
        """The server refused the folder (deleted, say): look it up again next cycle.

        The rest of the cycle goes on: the inbox, the rules and the outbox
        must never wait for an optional folder.
        """
        log.warning("Sent folder refused by the server (%s): looking it up again next cycle", exc)
        self.name = None
        self.resolved = False

    def _first_sight(
        self, mailbox: Mailbox, folder: str, uidvalidity: int, previous: FolderState | None
    ) -> FolderState:
        """Start watching ``folder``: from its highest UID, or a quiet re-scan after a UIDVALIDITY change."""
        highest = max(mailbox.new_uids(0), default=0)
        if previous is None:
            log.info("Sent folder %s: watching it after UID %d (what is there is old)", folder, highest)
            state = FolderState(folder, uidvalidity, highest)
        else:
            log.warning(
                "Sent folder %s: UIDVALIDITY changed from %d to %d; re-scanning it quietly up to UID %d "
                "(what is known is skipped, nothing is sent)",
                folder, previous.uidvalidity, uidvalidity, highest,
            )
            state = FolderState(folder, uidvalidity, 0, existing_until=highest, existing_as="rescan")
        self.store.set_folder_state(state)
        self.store.commit()
        return state
