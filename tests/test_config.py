"""Unit tests of ``helpdesk.config``: loading, validation and error messages.

Every error test checks the whole message, because the command line prints it
as the one line that tells the user which file and which key to fix.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from helpdesk.config import (
    CONFIG_ENV,
    Config,
    config_path,
    default_workers,
    load_config,
    shipped_directory,
)
from helpdesk.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parent.parent

# The smallest configuration the daemon accepts; tests copy and change it.
MINIMAL: dict[str, dict[str, Any]] = {
    "business": {"name": "Acme Tea Co.", "email": "support@acme.example"},
    "owner": {"email": "owner@acme.example"},
    "imap": {"host": "imap.acme.example", "username": "support@acme.example", "password": "pw"},
    "smtp": {"host": "smtp.acme.example"},
}


class Raw(str):
    """A TOML value written as it is (dates, datetimes), not as a string."""


def _toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string of plain text is a valid TOML basic string.
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_text(data: dict[str, dict[str, Any]]) -> str:
    """Serialise a two-level mapping (tables of scalars and lists) as TOML."""
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def write_config(directory: Path, data: dict[str, dict[str, Any]], name: str = "config.toml") -> Path:
    """Write ``data`` as a config file in ``directory`` and return its path."""
    path = directory / name
    path.write_text(toml_text(data), encoding="utf-8")
    return path


def variant(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A copy of MINIMAL with keys of some tables replaced (None deletes a key)."""
    data = copy.deepcopy(MINIMAL)
    for table, values in changes.items():
        section = data.setdefault(table, {})
        for key, value in values.items():
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value
    return data


def config_error(path: Path) -> ConfigError:
    """Load ``path`` expecting a ConfigError, and check what every one must be."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.exit_status == 2
    assert str(error).startswith(f"{path}: ")
    assert "\n" not in str(error)
    return error


# -- loading valid files ---------------------------------------------------------------


def test_shipped_config_loads() -> None:
    config = load_config(REPOSITORY / "config.toml")
    assert isinstance(config, Config)
    assert config.path == (REPOSITORY / "config.toml").resolve()
    assert config.business.name == "Acme Tea Co."
    assert config.business.email == "support@acme.example"
    assert config.business.domain == "acme.example"
    assert config.business.timezone == "Europe/London"
    assert config.business.tax_rate == 20.0
    assert config.business.holidays == (date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1))
    assert config.owner.email == "owner@acme.example"
    assert config.owner.require_authenticated is False
    assert (config.imap.host, config.imap.port, config.imap.security) == ("127.0.0.1", 1143, "none")
    assert config.imap.username == "support@acme.example"
    assert config.imap.password == "demo"
    assert config.imap.idle is True
    assert config.imap.poll_interval == 60.0
    assert config.imap.folder == "INBOX"
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == ("127.0.0.1", 1025, "none")
    assert config.smtp.username is None
    assert config.smtp.password is None
    assert config.storage_path == REPOSITORY / "data"
    assert config.rules_path == shipped_directory("rules")
    assert config.templates_path == shipped_directory("templates")
    assert config.digest_schedule == "monday 08:00"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL))
    assert config.business.timezone == "UTC"
    assert config.business.currency == "EUR"
    assert config.business.holidays == ()
    assert config.imap.security == "ssl"
    assert config.imap.port == 993
    assert config.imap.ca_file is None
    assert config.imap.batch_size == 200
    assert config.imap.parse_workers == default_workers()
    assert config.smtp.security == "ssl"
    assert config.smtp.port == 465
    assert config.smtp.username is None
    assert config.storage_path == tmp_path.resolve() / "data"
    assert config.rules_path.is_dir()
    assert config.templates_path.is_dir()


@pytest.mark.parametrize(
    ("security", "imap_port", "smtp_port"),
    [("ssl", 993, 465), ("starttls", 143, 587), ("none", 143, 25)],
)
def test_default_ports_follow_security(tmp_path: Path, security: str, imap_port: int, smtp_port: int) -> None:
    data = variant(imap={"security": security}, smtp={"security": security})
    config = load_config(write_config(tmp_path, data))
    assert (config.imap.port, config.smtp.port) == (imap_port, smtp_port)


def test_emails_are_lower_cased(tmp_path: Path) -> None:
    data = variant(business={"email": "Support@ACME.example"}, owner={"email": " Owner@Acme.Example "})
    config = load_config(write_config(tmp_path, data))
    assert config.business.email == "support@acme.example"
    assert config.owner.email == "owner@acme.example"


def test_holidays_accept_strings_and_toml_dates_sorted(tmp_path: Path) -> None:
    data = variant(business={"holidays": ["2026-12-26", Raw("2026-01-01"), "2026-05-01"]})
    config = load_config(write_config(tmp_path, data))
    assert config.business.holidays == (date(2026, 1, 1), date(2026, 5, 1), date(2026, 12, 26))


def test_relative_paths_resolve_against_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc" / "helpdesk"
    config_dir.mkdir(parents=True)
    (config_dir / "ca.pem").write_text("not really a certificate\n")
    (config_dir / "secrets").mkdir()
    (config_dir / "secrets" / "smtp").write_text("smtp-secret\n")
    data = variant(
        imap={"ca_file": "ca.pem"},
        smtp={"password_file": "secrets/smtp", "username": "support@acme.example"},
        storage={"path": "var/data"},
        rules={"path": "my-rules"},
        templates={"path": "../shared/templates"},
    )
    path = write_config(config_dir, data)
    # The working directory must not matter.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    config = load_config(path)
    base = config_dir.resolve()
    assert config.imap.ca_file == base / "ca.pem"
    assert config.smtp.password == "smtp-secret"
    assert config.storage_path == base / "var" / "data"
    assert config.rules_path == base / "my-rules"
    assert config.templates_path == base.parent / "shared" / "templates"
    assert all(p.is_absolute() for p in (config.storage_path, config.rules_path, config.templates_path))


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    storage = tmp_path / "absolute-data"
    config = load_config(write_config(tmp_path, variant(storage={"path": str(storage)})))
    assert config.storage_path == storage.resolve()


def test_relative_config_path_works_from_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, MINIMAL)
    monkeypatch.chdir(tmp_path)
    config = load_config("config.toml")
    assert config.path == tmp_path.resolve() / "config.toml"
    assert config.storage_path == tmp_path.resolve() / "data"


# -- passwords -------------------------------------------------------------------------


def test_password_env_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HD_TEST_IMAP_PW", "from-the-environment")
    data = variant(imap={"password": None, "password_env": "HD_TEST_IMAP_PW"})
    config = load_config(write_config(tmp_path, data))
    assert config.imap.password == "from-the-environment"


def test_password_env_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HD_TEST_IMAP_PW", raising=False)
    data = variant(imap={"password": None, "password_env": "HD_TEST_IMAP_PW"})
    path = write_config(tmp_path, data)
    error = config_error(path)
    assert str(error) == f"{path}: [imap] password_env: environment variable HD_TEST_IMAP_PW is not set"
    assert (error.file, error.key) == (str(path), "[imap] password_env")


def test_password_file_present_is_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("  file-secret \n", encoding="utf-8")
    data = variant(imap={"password": None, "password_file": str(secret)})
    config = load_config(write_config(tmp_path, data))
    assert config.imap.password == "file-secret"


def test_password_file_missing(tmp_path: Path) -> None:
    data = variant(imap={"password": None, "password_file": "no-such-password"})
    path = write_config(tmp_path, data)
    error = config_error(path)
    missing = tmp_path.resolve() / "no-such-password"
    assert str(error) == f"{path}: [imap] password_file: cannot read {missing}: No such file or directory"


def test_two_password_keys_at_once(tmp_path: Path) -> None:
    data = variant(smtp={"password": "a", "password_env": "HOME"})
    path = write_config(tmp_path, data)
    assert str(config_error(path)) == f"{path}: [smtp] password_env: give only one of password, password_env"


def test_password_is_not_in_repr(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, variant(imap={"password": "hunter2"})))
    assert "hunter2" not in repr(config.imap)
    assert "hunter2" not in repr(config)


# -- file-level errors -----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = config_error(path)
    assert str(error) == f"{path}: no such configuration file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    error = config_error(tmp_path)
    assert str(error) == f"{tmp_path}: cannot read: Is a directory"


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[business]\nname = "Acme"\nemail = \n', encoding="utf-8")
    error = config_error(path)
    assert str(error).startswith(f"{path}: TOML syntax error: ")
    assert "line 3" in str(error)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    # A file saved in Latin-1 by an editor: "Café" with a single 0xE9 byte.
    path.write_bytes(toml_text(MINIMAL).replace("Acme Tea Co.", "Caf\xe9").encode("latin-1"))
    error = config_error(path)
    assert str(error).startswith(f"{path}: ")
    assert "UTF-8" in str(error)


# -- missing keys and sections -----------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("business", "email"),
        ("business", "name"),
        ("owner", "email"),
        ("imap", "host"),
        ("imap", "username"),
        ("smtp", "host"),
    ],
)
def test_missing_required_key(tmp_path: Path, table: str, key: str) -> None:
    path = write_config(tmp_path, variant(**{table: {key: None}}))
    error = config_error(path)
    assert str(error) == f"{path}: [{table}] {key}: missing (required)"
    assert error.key == f"[{table}] {key}"


@pytest.mark.parametrize("table", ["business", "owner", "imap", "smtp"])
def test_missing_required_section(tmp_path: Path, table: str) -> None:
    data = copy.deepcopy(MINIMAL)
    del data[table]
    path = write_config(tmp_path, data)
    assert str(config_error(path)) == f"{path}: [{table}]: missing section (required)"


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    del data["owner"]
    path = tmp_path / "config.toml"
    # A top-level key must come before the first table.
    path.write_text('owner = "owner@acme.example"\n' + toml_text(data), encoding="utf-8")
    assert str(config_error(path)) == f"{path}: [owner]: must be a table"


# -- wrong types and values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "value", "problem"),
    [
        ("imap", "port", "abc", "expected an integer, got 'abc'"),
        ("imap", "port", True, "expected an integer, got True"),
        ("imap", "port", 993.5, "expected an integer, got 993.5"),
        ("smtp", "port", "25", "expected an integer, got '25'"),
        ("imap", "idle", "yes", "expected true or false, got 'yes'"),
        ("imap", "idle", 1, "expected true or false, got 1"),
        ("imap", "poll_interval", "60", "expected a number, got '60'"),
        ("imap", "poll_interval", False, "expected a number, got False"),
        ("imap", "host", 127, "expected a string, got 127"),
        ("imap", "folder", ["INBOX"], "expected a string, got ['INBOX']"),
        ("business", "tax_rate", "20%", "expected a number, got '20%'"),
        ("business", "name", 42, "expected a string, got 42"),
        ("business", "holidays", "2026-12-25", "expected a list of dates"),
        ("owner", "require_authenticated", "no", "expected true or false, got 'no'"),
        ("storage", "path", 5, "expected a string, got 5"),
        ("schedule", "digest", 8, "expected a string, got 8"),
    ],
)
def test_wrong_type(tmp_path: Path, table: str, key: str, value: Any, problem: str) -> None:
    path = write_config(tmp_path, variant(**{table: {key: value}}))
    error = config_error(path)
    assert str(error) == f"{path}: [{table}] {key}: {problem}"
    assert (error.file, error.key, error.problem) == (str(path), f"[{table}] {key}", problem)


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_port_out_of_range(tmp_path: Path, port: int) -> None:
    path = write_config(tmp_path, variant(smtp={"port": port}))
    assert str(config_error(path)) == f"{path}: [smtp] port: must be between 1 and 65535, got {port}"


@pytest.mark.parametrize("port", [1, 65535])
def test_port_range_is_inclusive(tmp_path: Path, port: int) -> None:
    assert load_config(write_config(tmp_path, variant(imap={"port": port}))).imap.port == port


def test_poll_interval_too_small(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(imap={"poll_interval": 0}))
    assert str(config_error(path)) == f"{path}: [imap] poll_interval: must be at least 0.1, got 0.0"


def test_batch_size_out_of_range(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(imap={"batch_size": 0}))
    assert str(config_error(path)) == f"{path}: [imap] batch_size: must be between 1 and 10000, got 0"


def test_require_authenticated_needs_the_servers_authserv_id(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(owner={"require_authenticated": True}))
    assert str(config_error(path)).startswith(
        f"{path}: [owner] authserv_id: required when require_authenticated is true"
    )
    path = write_config(
        tmp_path, variant(owner={"require_authenticated": True, "authserv_id": " MX.Acme.Example "})
    )
    assert load_config(path).owner.authserv_id == "mx.acme.example"


def test_parse_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config(write_config(tmp_path, variant(imap={"parse_workers": 0}))).imap.parse_workers == 0
    path = write_config(tmp_path, variant(imap={"parse_workers": -1}))
    assert str(config_error(path)) == f"{path}: [imap] parse_workers: must be between 0 and 64, got -1"
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_workers() == 0
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_workers() == 4


@pytest.mark.parametrize("security", ["tls", "SSL", ""])
def test_bad_security(tmp_path: Path, security: str) -> None:
    path = write_config(tmp_path, variant(imap={"security": security}))
    assert str(config_error(path)) == (
        f"{path}: [imap] security: must be one of ssl, starttls, none, got {security!r}"
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "/etc/localtime", "../zoneinfo/UTC"])
def test_bad_timezone(tmp_path: Path, zone: str) -> None:
    path = write_config(tmp_path, variant(business={"timezone": zone}))
    assert str(config_error(path)) == f"{path}: [business] timezone: unknown time zone {zone!r}"


@pytest.mark.parametrize("day", ["2026-02-30", "25.12.2026", "Christmas", ""])
def test_bad_holiday_date(tmp_path: Path, day: str) -> None:
    path = write_config(tmp_path, variant(business={"holidays": ["2026-12-25", day]}))
    assert str(config_error(path)) == f"{path}: [business] holidays: not a date (YYYY-MM-DD): {day!r}"


@pytest.mark.parametrize(
    "holidays",
    [[Raw("2026-12-25T10:00:00")], [Raw("2026-12-24"), Raw("2026-12-25T10:00:00")]],
    ids=["datetime-alone", "datetime-with-date"],
)
def test_holiday_datetime_is_rejected(tmp_path: Path, holidays: list[Raw]) -> None:
    path = write_config(tmp_path, variant(business={"holidays": holidays}))
    error = config_error(path)
    assert error.key == "[business] holidays"


@pytest.mark.parametrize(
    "address", ["support", "support@", "@acme.example", "a b@acme.example", "x@localhost"]
)
def test_bad_email(tmp_path: Path, address: str) -> None:
    path = write_config(tmp_path, variant(business={"email": address}))
    assert str(config_error(path)) == f"{path}: [business] email: not an email address: {address.lower()!r}"


def test_ca_file_missing(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(smtp={"ca_file": "missing-ca.pem"}))
    expected = tmp_path.resolve() / "missing-ca.pem"
    assert str(config_error(path)) == f"{path}: [smtp] ca_file: no such file: {expected}"


def test_ca_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    path = write_config(tmp_path, variant(imap={"ca_file": "certs"}))
    assert str(config_error(path)) == f"{path}: [imap] ca_file: no such file: {tmp_path.resolve() / 'certs'}"


@pytest.mark.parametrize("owner", ["support@acme.example", "SUPPORT@Acme.Example"])
def test_owner_email_equal_to_business_email(tmp_path: Path, owner: str) -> None:
    path = write_config(tmp_path, variant(owner={"email": owner}))
    assert str(config_error(path)) == f"{path}: [owner] email: must differ from [business] email"


# -- where the configuration is --------------------------------------------------------


def test_config_path_explicit_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "/from/environment.toml")
    assert config_path("/from/option.toml") == Path("/from/option.toml")


def test_config_path_environment_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "/from/environment.toml")
    assert config_path(None) == Path("/from/environment.toml")


def test_config_path_default_is_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    path = config_path(None)
    assert path == Path("config.toml")
    assert path.resolve() == tmp_path.resolve() / "config.toml"


def test_config_path_empty_environment_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "")
    assert config_path(None) == Path("config.toml")


def test_config_path_result_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL, name="via-env.toml")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_config(config_path(None)).path == path.resolve()


def test_first_sync_defaults_to_history(tmp_path: Path) -> None:
    imap = load_config(write_config(tmp_path, MINIMAL)).imap
    assert (imap.first_sync, imap.first_sync_days, imap.since) == ("history", 14, None)


def test_first_sync_mode_and_since(tmp_path: Path) -> None:
    imap_keys = {"first_sync": "skip", "since": "2025-01-01", "first_sync_days": 3}
    path = write_config(tmp_path, variant(imap=imap_keys))
    imap = load_config(path).imap
    assert (imap.first_sync, imap.first_sync_days, imap.since) == ("skip", 3, date(2025, 1, 1))
    path = write_config(tmp_path, variant(imap={"first_sync": "all"}))
    problem = "must be one of history, skip, process, got 'all'"
    assert str(config_error(path)) == f"{path}: [imap] first_sync: {problem}"
    path = write_config(tmp_path, variant(imap={"since": "last year"}))
    assert str(config_error(path)) == f"{path}: [imap] since: not a date (YYYY-MM-DD): 'last year'"


def test_sent_folder_keys_default_to_watching_the_flagged_folder(tmp_path: Path) -> None:
    imap = load_config(write_config(tmp_path, MINIMAL)).imap
    assert (imap.sent_folder, imap.watch_sent, imap.save_sent) == (None, True, False)
    keys = {"sent_folder": "INBOX.Sent Items", "watch_sent": False, "save_sent": True}
    imap = load_config(write_config(tmp_path, variant(imap=keys))).imap
    assert (imap.sent_folder, imap.watch_sent, imap.save_sent) == ("INBOX.Sent Items", False, True)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("sent_folder", 3, "expected a string, got 3"),
        ("sent_folder", " ", "must not be empty (leave it out to find the folder by its \\Sent flag)"),
        ("sent_folder", "inbox", "must differ from [imap] folder, the folder customers write to"),
        ("watch_sent", "yes", "expected true or false, got 'yes'"),
        ("save_sent", 1, "expected true or false, got 1"),
    ],
)
def test_bad_sent_folder_keys(tmp_path: Path, key: str, value: Any, problem: str) -> None:
    path = write_config(tmp_path, variant(imap={key: value}))
    assert str(config_error(path)) == f"{path}: [imap] {key}: {problem}"


def test_sent_folder_must_differ_from_the_watched_folder(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(imap={"folder": "Support", "sent_folder": "Support"}))
    assert str(config_error(path)).startswith(f"{path}: [imap] sent_folder: must differ")
    keys = {"folder": "Support", "sent_folder": "INBOX"}
    assert load_config(write_config(tmp_path, variant(imap=keys))).imap.sent_folder == "INBOX"


def test_payment_codes_are_checked_at_start_up(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(invoices={"upi_id": "acmetea@upi"}))
    assert load_config(path).invoices.upi_id == "acmetea@upi"
    path = write_config(tmp_path, variant(invoices={"upi_id": "not a vpa"}))
    assert str(config_error(path)).startswith(f"{path}: [invoices] upi_id: UPI id: expected e.g. name@bank")
    path = write_config(
        tmp_path, variant(invoices={"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"})
    )
    assert load_config(path).invoices.iban == "DE89370400440532013000"
    path = write_config(tmp_path, variant(invoices={"iban": "DE00 1234", "bic": "COBADEFFXXX"}))
    assert str(config_error(path)).startswith(f"{path}: [invoices] iban: EPC QR: not an IBAN")
    path = write_config(tmp_path, variant(invoices={"iban": "DE89370400440532013000"}))
    assert (
        str(config_error(path))
        == f"{path}: [invoices] bic: iban and bic go together (the EPC payment code needs both)"
    )


def test_facturx_needs_a_vat_business_whose_country_is_known(tmp_path: Path) -> None:
    path = write_config(tmp_path, variant(business={"tax_id": "DE123456789"}, invoices={"facturx": True}))
    assert load_config(path).invoices.facturx is True
    assert load_config(write_config(tmp_path, MINIMAL)).invoices.facturx is False
    path = write_config(tmp_path, variant(business={"holiday_country": "FR"}, invoices={"facturx": True}))
    assert load_config(path).invoices.facturx is True
    path = write_config(tmp_path, variant(invoices={"facturx": True}))
    problem = "needs the business's country: set [business] tax_id (VAT number) or holiday_country"
    assert str(config_error(path)) == f"{path}: [invoices] facturx: {problem}"
    gst = variant(business={"tax_id": "29ABCDE1234F1Z5", "state": "KA"}, invoices={"facturx": True})
    path = write_config(tmp_path, gst)
    assert "Factur-X carries VAT, not GST" in str(config_error(path))
    path = write_config(tmp_path, variant(invoices={"facturx": "yes"}))
    assert str(config_error(path)).startswith(f"{path}: [invoices] facturx:")


def test_feedback_and_greetings_sections(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL))
    assert config.feedback.min_interval_days == 30 and "late-delivery" in config.feedback.causes
    greetings = config.greetings
    assert (greetings.birthday, greetings.anniversary, greetings.time) == (True, False, "09:00")
    changed = variant(
        feedback={"min_interval": "2 weeks", "causes": ["Late", "broken-part"]},
        greetings={"anniversary": True, "time": "10:30", "per_hour": 20},
    )
    config = load_config(write_config(tmp_path, changed))
    assert (config.feedback.min_interval_days, config.feedback.causes) == (14, ("late", "broken-part"))
    greetings = config.greetings
    assert (greetings.anniversary, greetings.time, greetings.per_hour) == (True, "10:30", 20)
    for section, key, value, problem in (
        ("feedback", "min_interval", "4 business hours", "write calendar days or weeks"),
        ("feedback", "min_interval", "soon", "min_interval:"),
        ("feedback", "causes", "late", "must be a list of names"),
        ("feedback", "causes", ["late delivery"], "use letters, digits"),
        ("greetings", "time", "9am", "expected HH:MM"),
        ("greetings", "per_hour", 0, "per_hour"),
        ("greetings", "birthday", "yes", "birthday"),
    ):
        path = write_config(tmp_path, variant(**{section: {key: value}}))
        message = str(config_error(path))
        assert message.startswith(f"{path}: [{section}] {key}:") and problem in message, message
