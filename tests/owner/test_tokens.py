"""Unit tests of ``helpdesk.owner.tokens``: the HMAC reply tokens and their secret."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from helpdesk.owner.tokens import SECRET_FILE, ReplyTokens, load_secret

SECRET = bytes(range(32))
BUSINESS = "support@acme.example"


def tamper(token: str) -> str:
    """``token`` with the last hex digit of its signature changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


@pytest.fixture
def tokens() -> ReplyTokens:
    return ReplyTokens(SECRET, BUSINESS)


def test_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    secret = load_secret(tmp_path)
    path = tmp_path / SECRET_FILE
    assert len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii") == secret.hex()
    assert load_secret(tmp_path) == secret
    assert list(tmp_path.iterdir()) == [path]


def test_secret_is_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_secret(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_existing_secret_is_read_not_replaced(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text(SECRET.hex() + "\n", encoding="ascii")
    assert load_secret(tmp_path) == SECRET
    assert (tmp_path / SECRET_FILE).read_text(encoding="ascii") == SECRET.hex() + "\n"


def test_installations_get_different_secrets(tmp_path: Path) -> None:
    assert load_secret(tmp_path / "one") != load_secret(tmp_path / "two")


def test_round_trip(tokens: ReplyTokens) -> None:
    for ticket_id in (1, 12, 999_999, 10**12 - 1):
        token = tokens.token(ticket_id)
        assert re.fullmatch(rf"t{ticket_id}-[0-9a-f]{{16}}", token)
        assert tokens.verify(token) == ticket_id


def test_address_carries_the_token(tokens: ReplyTokens) -> None:
    address = tokens.address(12)
    assert address == f"support+{tokens.token(12)}@acme.example"
    assert tokens.ticket_in([address]) == 12


def test_tokens_are_stable_for_one_secret(tokens: ReplyTokens) -> None:
    assert tokens.token(12) == ReplyTokens(SECRET, BUSINESS).token(12)


def test_tampered_signature_is_rejected(tokens: ReplyTokens) -> None:
    token = tokens.token(12)
    assert tokens.verify(tamper(token)) is None
    assert tokens.verify(token[:-1]) is None
    assert tokens.verify(token + "0") is None
    assert tokens.verify(token[:-1] + "g") is None
    assert tokens.verify("t12-") is None
    assert tokens.verify("") is None
    assert tokens.verify("12-" + token.split("-")[1]) is None


def test_token_of_another_ticket_is_rejected(tokens: ReplyTokens) -> None:
    signature = tokens.token(12).split("-")[1]
    assert tokens.verify(f"t13-{signature}") is None
    assert tokens.verify(f"t112-{signature}") is None


def test_token_under_another_secret_is_rejected(tokens: ReplyTokens) -> None:
    other = ReplyTokens(bytes(32), BUSINESS)
    assert other.verify(tokens.token(12)) is None
    assert tokens.verify(other.token(12)) is None


def test_purposes_do_not_mix(tokens: ReplyTokens) -> None:
    owner_token = tokens.token(12, purpose="owner")
    assert owner_token != tokens.token(12)
    assert tokens.verify(owner_token, purpose="owner") == 12
    assert tokens.verify(owner_token) is None
    assert tokens.ticket_in([tokens.address(12, purpose="owner")]) is None
    assert tokens.ticket_in([tokens.address(12, purpose="owner")], purpose="owner") == 12


def test_wrong_domain_is_rejected(tokens: ReplyTokens) -> None:
    token = tokens.token(12)
    assert tokens.ticket_in([f"support+{token}@evil.example"]) is None
    assert tokens.ticket_in([f"support+{token}@acme.example.evil.example"]) is None
    assert tokens.ticket_in([f"support+{token}@sub.acme.example"]) is None


def test_wrong_local_part_is_rejected(tokens: ReplyTokens) -> None:
    token = tokens.token(12)
    assert tokens.ticket_in([f"sales+{token}@acme.example"]) is None
    assert tokens.ticket_in([f"xsupport+{token}@acme.example"]) is None
    assert tokens.ticket_in([f"support-{token}@acme.example"]) is None
    assert tokens.ticket_in([f"{token}@acme.example"]) is None
    assert tokens.ticket_in(["support@acme.example"]) is None


def test_ticket_in_picks_the_valid_one(tokens: ReplyTokens) -> None:
    token = tokens.token(7)
    addresses = [
        "alice@example.com",
        "support@acme.example",
        f"support+{tamper(token)}@acme.example",
        f"support+{token}@evil.example",
        "not an address",
        "",
        tokens.address(7),
        tokens.address(9),
    ]
    assert tokens.ticket_in(addresses) == 7
    assert tokens.ticket_in(list(reversed(addresses))) == 9
    assert tokens.ticket_in([]) is None


def test_case_is_ignored(tokens: ReplyTokens) -> None:
    address = tokens.address(12)
    assert tokens.ticket_in([address.upper()]) == 12
    assert tokens.verify(tokens.token(12).upper()) == 12
    mixed = ReplyTokens(SECRET, "Support@ACME.Example")
    assert mixed.address(12) == address
    assert mixed.ticket_in([address]) == 12
    assert tokens.ticket_in([mixed.address(12).title()]) == 12


def test_the_command_address_is_one_per_installation_and_checked(tokens: ReplyTokens) -> None:
    address = tokens.console_address()
    assert re.fullmatch(r"support\+o-[0-9a-f]{16}@acme\.example", address)
    assert tokens.console_in(["someone@example.org", address.upper()])
    assert not tokens.console_in([address.replace("+o-", "+o-0")])
    assert not tokens.console_in([address[:-20] + "0000@acme.example"])
    other = ReplyTokens(b"another secret", "support@acme.example")
    assert not other.console_in([address])
    # The command address is no ticket token: it opens no ticket's door.
    assert tokens.ticket_in([address]) is None and tokens.ticket_in([address], "owner") is None
