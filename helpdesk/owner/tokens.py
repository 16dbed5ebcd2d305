"""HMAC reply tokens that tie a reply address to one ticket.

Outbound mail carries ``Reply-To: support+<token>@domain``. The token is the
ticket id and a truncated HMAC-SHA256 of it under a secret that lives only in
the data directory (generated on first run, mode 0600). A reply that comes
back to a token address threads into that ticket with certainty, and a token
cannot be forged or moved to another ticket without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from helpdesk.errors import StoreError
from helpdesk.store.durable import atomic_write

SECRET_FILE = "secret"
# The purpose of a customer's unsubscribe address: the token stands for the
# customer's id, not a ticket's (see helpdesk.business.optout).
UNSUBSCRIBE_PURPOSE = "unsubscribe"
# The purpose of the owner's command address (``support+o-<hmac>@…``): one
# address for the whole installation, not for a ticket.
CONSOLE_PURPOSE = "console"
SIGNATURE_LENGTH = 16
TOKEN_PATTERN = re.compile(r"^t(\d{1,12})-([0-9a-f]{16})$")
CONSOLE_PATTERN = re.compile(r"^o-([0-9a-f]{16})$")


def load_secret(data_dir: Path) -> bytes:
    """The HMAC secret of this installation, created on first use."""
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        secret = secrets.token_bytes(32)
        atomic_write(path, secret.hex().encode("ascii"), mode=0o600)
        os.chmod(path, 0o600)
        return secret


def read_tokens(data_dir: Path, business_email: str) -> ReplyTokens:
    """The installation's tokens for a command that only reads (never creates the secret).

    Before the daemon's first run there is no secret, and no token to check:
    a throwaway secret serves. An unreadable secret is a clear error.
    """
    path = data_dir / SECRET_FILE
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        secret = secrets.token_bytes(32)
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read the reply-token secret ({exc})") from None
    return ReplyTokens(secret, business_email)


class ReplyTokens:
    """Makes and checks the tokens of reply addresses."""

    def __init__(self, secret: bytes, business_email: str) -> None:
        self._secret = secret
        local, _, domain = business_email.partition("@")
        self._local = local.lower()
        self._domain = domain.lower()

    def _signature(self, ticket_id: int, purpose: str) -> str:
        message = f"{purpose}:{ticket_id}".encode("ascii")
        digest = hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        return digest[:SIGNATURE_LENGTH]

    def token(self, ticket_id: int, purpose: str = "ticket") -> str:
        """The token for ``ticket_id``."""
        return f"t{ticket_id}-{self._signature(ticket_id, purpose)}"

    def address(self, ticket_id: int, purpose: str = "ticket") -> str:
        """The plus-address that carries the token of ``ticket_id``."""
        return f"{self._local}+{self.token(ticket_id, purpose)}@{self._domain}"

    def verify(self, token: str, purpose: str = "ticket") -> int | None:
        """The ticket id a genuine token stands for, or None."""
        match = TOKEN_PATTERN.match(token.lower())
        if match is None:
            return None
        ticket_id = int(match.group(1))
        if hmac.compare_digest(match.group(2), self._signature(ticket_id, purpose)):
            return ticket_id
        return None

    def console_address(self) -> str:
        """The owner's command address: mail to it from the owner asks the helpdesk something."""
        return f"{self._local}+o-{self._signature(0, CONSOLE_PURPOSE)}@{self._domain}"

    def console_in(self, addresses: list[str]) -> bool:
        """Whether the genuine command address is among ``addresses``."""
        wanted = self.console_address()
        return any(hmac.compare_digest(address.lower(), wanted) for address in addresses)

    def ticket_in(self, addresses: list[str], purpose: str = "ticket") -> int | None:
        """The ticket of the first valid token among ``addresses`` (our domain only)."""
        prefix = self._local + "+"
        for address in addresses:
            local, _, domain = address.lower().partition("@")
            if domain != self._domain or not local.startswith(prefix):
                continue
            ticket_id = self.verify(local[len(prefix) :], purpose)
            if ticket_id is not None:
                return ticket_id
        return None
