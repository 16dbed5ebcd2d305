"""The one exception hierarchy of helpdesk.

Configuration errors (exit status 2) are kept apart from operational errors
(exit status 1) so that the command line can tell a user "fix your file" from
"something went wrong while running".
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """Root of every error helpdesk raises on purpose."""

    exit_status = 1


class ConfigError(HelpdeskError):
    """The configuration (or a rule or template file) is invalid.

    The message always names the file and the key, so that it fits on one
    line and tells the user exactly what to fix.
    """

    exit_status = 2

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem)


class UsageError(HelpdeskError):
    """The command line was used wrongly (unknown ticket, bad argument)."""

    exit_status = 2


class ConnectionFailed(HelpdeskError):
    """A mail server could not be reached or refused our login."""


class MessageRejected(HelpdeskError):
    """An inbound message cannot be processed; it goes to quarantine.

    ``reason`` is the short human-readable explanation stored with it.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class OwnerMailRejected(MessageRejected):
    """Mail that claims to be the owner's without proof: quarantined, and the owner warned."""

    def __init__(self, reason: str, sender: str, subject: str) -> None:
        super().__init__(reason)
        self.sender = sender
        self.subject = subject


class StoreError(HelpdeskError):
    """The data directory is unusable (locked, corrupt, unwritable)."""


class DataDirectoryBusy(StoreError):
    """Another helpdesk process (the daemon, usually) holds the data directory."""
