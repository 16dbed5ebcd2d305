"""Copies of the mail the daemon sends, saved in the support mailbox's Sent folder.

With ``[imap] save_sent = true`` every message the daemon sends appears in
the Sent folder exactly once, flagged ``\\Seen``, so that the owner's mail
client shows the whole conversation, the daemon's part included.

It takes two steps, because only the outbox talks SMTP and only
:mod:`helpdesk.intake.fetch` talks IMAP:

1. :class:`CopyingTransport` is the SMTP transport of a sending pass. Once
   the server has accepted a message, and before the outbox records the
   delivery, it writes the message's bytes durably into a spool directory,
   ``<data>/sent-copies/`` (temp file, fsync, rename), named by its
   Message-ID. A crash before that leaves the delivery unrecorded, so the
   outbox sends the message again after the restart (see
   :mod:`helpdesk.outbound.outbox`), and the copy is spooled then.
2. :meth:`SentCopies.save`, called each daemon cycle after the sending pass
   (through ``SentFolder.save_copies``), appends each spooled message to the
   Sent folder and only then removes its spool file.
   Before appending it searches the folder for the Message-ID: a crash
   between the APPEND and the removal leaves a spool file whose copy is
   there already, and it is simply removed. A message sent twice (to the
   recipients a server refused for now, later) is spooled under the same
   name and copied once.

The Sent folder watcher (:mod:`helpdesk.intake.sentfolder`) then finds the
copies and skips them by their Message-ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Sequence
from contextlib import AbstractContextManager
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

from helpdesk.config import SmtpConfig
from helpdesk.outbound.smtp import SmtpTransport
from helpdesk.store.durable import atomic_write, remove_stale_temporaries

log = logging.getLogger(__name__)

SPOOL = "sent-copies"


class SentFolderAccess(Protocol):
    """What saving copies needs of the IMAP connection (``helpdesk.intake.fetch.Mailbox``)."""

    def other_folder(self, folder: str) -> AbstractContextManager[int]: ...

    def has_message_id(self, message_id: str) -> bool: ...

    def append_seen(self, folder: str, raw: bytes) -> None: ...


def message_id_of(raw: bytes) -> str:
    """The Message-ID of ``raw`` without angle brackets ("" if it has none)."""
    value = BytesHeaderParser().parsebytes(raw)["Message-ID"]
    return str(value or "").strip().strip("<>").strip()


class SentCopies:
    """The spool of delivered messages waiting to be copied to the Sent folder."""

    def __init__(self, data_dir: Path, enabled: bool) -> None:
        self.spool = data_dir / SPOOL
        self.enabled = enabled
        remove_stale_temporaries(self.spool)

    def transport(self, config: SmtpConfig) -> SmtpTransport:
        """The SMTP transport for a sending pass: one that spools copies when they are wanted."""
        return CopyingTransport(config, self) if self.enabled else SmtpTransport(config)

    def keep(self, raw: bytes) -> Path:
        """Spool a delivered message durably, named by its Message-ID (the same message: the same file)."""
        key = message_id_of(raw) or hashlib.sha256(raw).hexdigest()
        path = self.spool / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.eml"
        atomic_write(path, raw, mode=0o600)
        return path

    def waiting(self) -> list[Path]:
        """The spooled copies, oldest first."""
        if not self.spool.is_dir():
            return []
        return sorted(self.spool.glob("*.eml"), key=lambda path: (path.stat().st_mtime_ns, path.name))

    def save(self, mailbox: SentFolderAccess, folder: str | None) -> int:
        """Append every spooled copy to ``folder`` once, then drop it; returns how many were appended.

        Without a Sent folder (``folder`` None: the server has none) the copies
        cannot be saved anywhere and are dropped: keeping them would only fill
        the disk.
        """
        waiting = self.waiting()
        if not waiting:
            return 0
        if folder is None:
            for path in waiting:
                path.unlink(missing_ok=True)
            log.info("dropped %d copy(ies) of sent mail: the mailbox has no Sent folder", len(waiting))
            return 0
        appended = 0
        with mailbox.other_folder(folder):
            for path in waiting:
                raw = path.read_bytes()
                message_id = message_id_of(raw)
                # Already there: appended just before a crash that kept the spool file.
                if not (message_id and mailbox.has_message_id(message_id)):
                    mailbox.append_seen(folder, raw)
                    appended += 1
                path.unlink()
        if appended:
            log.info("saved %d copy(ies) of sent mail in %s", appended, folder)
        return appended


class CopyingTransport(SmtpTransport):
    """An SMTP transport that spools each accepted message for the Sent folder (see the module docstring)."""

    def __init__(self, config: SmtpConfig, copies: SentCopies) -> None:
        super().__init__(config)
        self.copies = copies

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes, ready: Awaitable[object] | None = None
    ) -> dict[str, str]:
        """Deliver ``raw`` as :meth:`SmtpTransport.send` does, then spool its copy before returning."""
        refused = await super().send(sender, recipients, raw, ready)
        await asyncio.to_thread(self.copies.keep, raw)
        return refused
