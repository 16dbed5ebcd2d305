"""Read ``config.toml`` into typed, frozen records.

Every problem is reported as a :class:`ConfigError` that names the file and
the key (``config.toml: [imap] port: expected an integer, got "abc"``), so the
command line can print one clear line and exit with status 2. Relative paths
are resolved against the directory of the config file. Secrets are read from
``password``, ``password_env`` or ``password_file`` and never need to sit in
the file itself.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.errors import ConfigError
from helpdesk.store.records import TAG_NAME

CONFIG_ENV = "HELPDESK_CONFIG"
SECURITY_MODES = ("ssl", "starttls", "none")
FIRST_SYNC_MODES = ("history", "skip", "process")
EMAIL_PATTERN = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class BusinessConfig:
    """Who the business is: used in templates, invoices and business-hours maths."""

    name: str
    email: str
    legal_name: str = ""
    address: str = ""
    phone: str = ""
    website: str = ""
    tax_id: str = ""
    tax_rate: float = 0.0
    currency: str = "EUR"
    timezone: str = "UTC"
    hours: str = "Mon-Fri 09:00-18:00"
    holidays: tuple[date, ...] = ()
    # Public holidays of this ISO country code (and subdivision) are closed
    # days too, from the holidays package (helpdesk.policy.holidays).
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    # For invoices: the GST state of the business (code or name; decides
    # CGST+SGST or IGST), the locale amounts are written in, the terms line.
    state: str = ""
    locale: str = "en"
    terms: str = ""

    @property
    def domain(self) -> str:
        """The domain of the business address, used for Message-IDs."""
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class OwnerConfig:
    """The one person who runs the business and answers tickets."""

    email: str
    name: str = ""
    require_authenticated: bool = False
    cc_participants: bool = True
    # The name the receiving mail server writes at the start of its
    # Authentication-Results header: only that server's verdict is trusted.
    authserv_id: str | None = None


@dataclass(frozen=True)
class ServerConfig:
    """Connection settings shared by the IMAP and SMTP sections."""

    host: str
    port: int
    security: str
    username: str | None
    password: str | None = field(repr=False)
    ca_file: Path | None


@dataclass(frozen=True)
class ImapConfig(ServerConfig):
    """The mailbox the daemon watches."""

    folder: str = "INBOX"
    idle: bool = True
    poll_interval: float = 60.0
    batch_size: int = 200
    # Worker processes that parse large batches; 0 parses in the daemon's process.
    parse_workers: int = 0
    # Mail already in the folder when the daemon first sees it: "history"
    # (recorded, nothing sent, one summary to the owner), "skip" or "process".
    first_sync: str = "history"
    first_sync_days: int = 14
    since: date | None = None
    # The support mailbox's Sent folder (None: the folder with the \Sent
    # special-use flag, RFC 6154): answers the owner writes from the mailbox
    # itself land there and are recorded (watch_sent); copies of what the
    # daemon sends are saved there (save_sent).
    sent_folder: str | None = None
    watch_sent: bool = True
    save_sent: bool = False


@dataclass(frozen=True)
class SmtpConfig(ServerConfig):
    """The server the outbox sends through."""

    # Deliver a backlog from a process of its own while the daemon's process works on it.
    sender_process: bool = False


@dataclass(frozen=True)
class InvoicesConfig:
    """How invoices are numbered and paid."""

    number_format: str = "INV-{fy}-{seq:04}"
    credit_note_format: str = "CN-{fy}-{seq:04}"
    year_start: str = "01-01"
    payment_details: str = ""
    due_days: int = 14
    # For the payment QR code on invoices: a UPI id (INR) or an IBAN and BIC
    # (EUR, the EPC "GiroCode"); none set, no code.
    upi_id: str = ""
    iban: str = ""
    bic: str = ""
    # Embed the EN 16931 XML (Factur-X / ZUGFeRD) in every invoice PDF, for
    # EU customers whose accounting imports it (VAT businesses only).
    facturx: bool = False


@dataclass(frozen=True)
class FeedbackConfig:
    """How the business asks for feedback and thanks its customers."""

    # At most one satisfaction question per customer in this many days.
    min_interval_days: int = 30
    # The causes a complaint can be put down to (``#cause``), for the digest.
    causes: tuple[str, ...] = (
        "late-delivery", "damaged", "wrong-item", "quality", "price", "service", "other",
    )  # fmt: skip


@dataclass(frozen=True)
class GreetingsConfig:
    """Which greetings go out, when (local business time) and how fast."""

    birthday: bool = True
    new_year: bool = True
    # The anniversary of the customer's first invoice.
    anniversary: bool = False
    time: str = "09:00"
    # A long list goes out over hours: at most this many greetings an hour.
    per_hour: int = 60
    # No greetings on the business's closed days ([business] holidays).
    skip_holidays: bool = True


@dataclass(frozen=True)
class Config:
    """The whole configuration of one helpdesk instance."""

    path: Path
    business: BusinessConfig
    owner: OwnerConfig
    imap: ImapConfig
    smtp: SmtpConfig
    storage_path: Path
    rules_path: Path
    templates_path: Path
    digest_schedule: str = "monday 08:00"
    invoices: InvoicesConfig = field(default_factory=InvoicesConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    greetings: GreetingsConfig = field(default_factory=GreetingsConfig)


def default_workers() -> int:
    """The default of ``[imap] parse_workers``: one per core, at most four; none on one core."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, 4)


class _Section:
    """Typed access to one TOML table that reports errors with file and key."""

    def __init__(self, file: str, name: str, data: Mapping[str, Any]) -> None:
        self.file = file
        self.name = name
        self.data = data

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, f"[{self.name}] {key}", problem)

    def _get(self, key: str, kinds: tuple[type, ...], kind_name: str, default: Any) -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error(key, "missing (required)")
            return default
        value = self.data[key]
        # TOML booleans are ints in Python; never accept one where a number is wanted.
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {kind_name}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {kind_name}, got {value!r}")
        return value

    def text(self, key: str, default: Any = None) -> Any:
        value = self._get(key, (str,), "a string", _REQUIRED if default is None else default)
        return value

    def optional_text(self, key: str) -> str | None:
        return self._get(key, (str,), "a string", None)

    def integer(self, key: str, default: Any = None, low: int = 0, high: int = 2**31) -> int:
        value = self._get(key, (int,), "an integer", _REQUIRED if default is None else default)
        if not low <= value <= high:
            raise self.error(key, f"must be between {low} and {high}, got {value}")
        return value

    def number(self, key: str, default: float, low: float = 0.0) -> float:
        value = float(self._get(key, (int, float), "a number", default))
        if value < low:
            raise self.error(key, f"must be at least {low}, got {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return self._get(key, (bool,), "true or false", default)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def email(self, key: str) -> str:
        value = self.text(key).strip().lower()
        if not EMAIL_PATTERN.match(value):
            raise self.error(key, f"not an email address: {value!r}")
        return value

    def path(self, key: str, base: Path, default: Path | None) -> Path | None:
        value = self.optional_text(key)
        if value is None:
            return default
        return (base / Path(value).expanduser()).resolve()


_REQUIRED = object()


def _table(file: str, data: Mapping[str, Any], name: str, required: bool) -> _Section:
    value = data.get(name)
    if value is None:
        if required:
            raise ConfigError(file, f"[{name}]", "missing section (required)")
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(file, f"[{name}]", "must be a table")
    return _Section(file, name, value)


def _password(section: _Section, base: Path) -> str | None:
    """Read the secret from exactly one of password, password_env, password_file."""
    given = [key for key in ("password", "password_env", "password_file") if key in section.data]
    if len(given) > 1:
        raise section.error(given[1], f"give only one of {', '.join(given)}")
    if not given:
        return None
    key = given[0]
    value = section.text(key)
    if key == "password":
        return value
    if key == "password_env":
        if value not in os.environ:
            raise section.error(key, f"environment variable {value} is not set")
        return os.environ[value]
    secret_path = (base / Path(value).expanduser()).resolve()
    try:
        return secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise section.error(key, f"cannot read {secret_path}: {exc.strerror}") from None


def _server_fields(section: _Section, base: Path, default_ports: Mapping[str, int]) -> dict:
    security = section.choice("security", SECURITY_MODES, "ssl")
    ca_file = section.path("ca_file", base, None)
    if ca_file is not None and not ca_file.is_file():
        raise section.error("ca_file", f"no such file: {ca_file}")
    username = section.optional_text("username")
    return {
        "host": section.text("host"),
        "port": section.integer("port", default_ports[security], low=1, high=65535),
        "security": security,
        "username": username,
        "password": _password(section, base),
        "ca_file": ca_file,
    }


def _holidays(section: _Section) -> tuple[date, ...]:
    raw = section.data.get("holidays", [])
    if not isinstance(raw, list):
        raise section.error("holidays", "expected a list of dates")
    days = []
    for item in raw:
        # A TOML datetime is a date too in Python; a holiday is a whole day.
        if isinstance(item, datetime):
            raise section.error("holidays", f"not a date (YYYY-MM-DD): {item.isoformat()!r}")
        if isinstance(item, date):
            days.append(item)
            continue
        try:
            days.append(date.fromisoformat(str(item)))
        except ValueError:
            raise section.error("holidays", f"not a date (YYYY-MM-DD): {item!r}") from None
    return tuple(sorted(days))


def _since(section: _Section) -> date | None:
    """``[imap] since``: the oldest day a first sync imports (a TOML date or "YYYY-MM-DD")."""
    raw = section.data.get("since")
    if raw is None or raw == "":
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise section.error("since", f"not a date (YYYY-MM-DD): {raw!r}") from None


def _sent_folder(section: _Section) -> str | None:
    """``[imap] sent_folder``: a folder name, or None to find the folder by its \\Sent flag."""
    value = section.optional_text("sent_folder")
    if value is None:
        return None
    if not value.strip():
        problem = "must not be empty (leave it out to find the folder by its \\Sent flag)"
        raise section.error("sent_folder", problem)
    folder = section.data.get("folder", "INBOX")
    # INBOX is the one folder name that is case-insensitive (RFC 3501).
    if value == folder or value.upper() == str(folder).upper() == "INBOX":
        raise section.error("sent_folder", "must differ from [imap] folder, the folder customers write to")
    return value


def _business(file: str, data: Mapping[str, Any]) -> BusinessConfig:
    section = _table(file, data, "business", required=True)
    timezone = section.text("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise section.error("timezone", f"unknown time zone {timezone!r}") from None
    country = section.text("holiday_country", "").strip() or None
    subdivision = section.text("holiday_subdivision", "").strip() or None
    if subdivision is not None and country is None:
        raise section.error("holiday_subdivision", 'needs holiday_country as well (e.g. "DE" with "BY")')
    if country is not None:
        # Imported here: the holidays package is needed only when a country is set.
        from helpdesk.policy.holidays import HolidayRegionError, check_region

        try:
            country, subdivision = check_region(country, subdivision)
        except HolidayRegionError as exc:
            raise section.error(exc.key, str(exc)) from None
    return BusinessConfig(
        name=section.text("name"),
        email=section.email("email"),
        legal_name=section.text("legal_name", ""),
        address=section.text("address", ""),
        phone=section.text("phone", ""),
        website=section.text("website", ""),
        tax_id=section.text("tax_id", ""),
        tax_rate=section.number("tax_rate", 0.0),
        currency=section.text("currency", "EUR"),
        timezone=timezone,
        hours=section.text("hours", "Mon-Fri 09:00-18:00"),
        holidays=_holidays(section),
        holiday_country=country,
        holiday_subdivision=subdivision,
        state=_state(section),
        locale=_locale(section),
        terms=section.text("terms", ""),
    )


def _state(section: _Section) -> str:
    """``[business] state``: a GST state code or name, kept as its two-digit code."""
    value = section.text("state", "").strip()
    if not value:
        return ""
    from helpdesk.business.invoicemath import InvoiceError, gst_state

    try:
        return gst_state(value).code
    except InvoiceError as exc:
        raise section.error("state", exc.problem) from None


def _locale(section: _Section) -> str:
    """``[business] locale``: how amounts and dates are written (``en_IN``, ``de_DE``)."""
    value = section.text("locale", "en").strip() or "en"
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise section.error("locale", f"unknown locale {value!r} (e.g. en_IN, de_DE, en_GB)") from None
    return value


def _invoices(file: str, data: Mapping[str, Any], business: BusinessConfig) -> InvoicesConfig:
    """``[invoices]``: numbering, the financial year, payment details and terms of payment."""
    from helpdesk.business.numbering import NumberingError, parse_year_start, validate_template

    section = _table(file, data, "invoices", required=False)
    year_start = section.text("year_start", "01-01")
    try:
        parse_year_start(year_start)
    except NumberingError as exc:
        raise section.error("year_start", str(exc)) from None
    # {fy} is "2026" for a calendar year and "2026-27" for one starting in April.
    invoice_format = section.text("number_format", "INV-{fy}-{seq:04}")
    credit_format = section.text("credit_note_format", "CN-{fy}-{seq:04}")
    for key, template in (("number_format", invoice_format), ("credit_note_format", credit_format)):
        try:
            validate_template(template, year_start)
        except NumberingError as exc:
            raise section.error(key, str(exc)) from None
    if invoice_format == credit_format:
        raise section.error("credit_note_format", "must differ from number_format (each has its own series)")
    upi_id = section.text("upi_id", "").strip()
    iban = section.text("iban", "").replace(" ", "").upper()
    bic = section.text("bic", "").strip().upper()
    _check_payment_codes(section, upi_id, iban, bic)
    facturx = section.boolean("facturx", False)
    if facturx:
        _check_facturx(section, business)
    return InvoicesConfig(
        number_format=invoice_format,
        credit_note_format=credit_format,
        year_start=year_start,
        payment_details=section.text("payment_details", ""),
        due_days=section.integer("due_days", 14, low=0, high=365),
        upi_id=upi_id,
        iban=iban,
        bic=bic,
        facturx=facturx,
    )


def _check_facturx(section: _Section, business: BusinessConfig) -> None:
    """Factur-X is an EU VAT e-invoice: it needs the business's country and no GST state."""
    from helpdesk.business.facturx import seller_country

    if business.state:
        problem = "Factur-X carries VAT, not GST: remove [business] state or set facturx = false"
        raise section.error("facturx", problem)
    if not seller_country(business):
        problem = "needs the business's country: set [business] tax_id (VAT number) or holiday_country"
        raise section.error("facturx", problem)


def _check_payment_codes(section: _Section, upi_id: str, iban: str, bic: str) -> None:
    """A UPI id or IBAN/BIC that would make every invoice's QR code fail is refused at start-up."""
    if not (upi_id or iban or bic):
        return
    from helpdesk.business.invoicepdf import epc_payload, upi_payload

    if upi_id:
        try:
            upi_payload(upi_id, "check", "1.00", "INR")
        except ValueError as exc:
            raise section.error("upi_id", str(exc)) from None
    if iban or bic:
        if not (iban and bic):
            problem = "iban and bic go together (the EPC payment code needs both)"
            raise section.error("iban" if bic else "bic", problem)
        try:
            epc_payload("check", iban, bic, "1.00")
        except ValueError as exc:
            raise section.error("bic" if "BIC" in str(exc) else "iban", str(exc)) from None


def _feedback(file: str, data: Mapping[str, Any]) -> FeedbackConfig:
    """``[feedback]``: how often a customer may be asked, and the causes of complaints."""
    from helpdesk.policy.durations import BusinessTimeError, parse_duration

    section = _table(file, data, "feedback", required=False)
    text = section.text("min_interval", "30 days")
    try:
        interval = parse_duration(text)
    except BusinessTimeError as exc:
        raise section.error("min_interval", str(exc)) from None
    if interval.business or interval.unit not in ("days", "weeks"):
        raise section.error("min_interval", f"write calendar days or weeks, e.g. \"30 days\", got {text!r}")
    causes = section.data.get("causes", list(FeedbackConfig.causes))
    if not isinstance(causes, list) or not causes or not all(isinstance(item, str) for item in causes):
        raise section.error("causes", 'must be a list of names, e.g. ["late-delivery", "damaged"]')
    names = tuple(item.strip().lower() for item in causes)
    for name in names:
        if not TAG_NAME.fullmatch(name):
            raise section.error("causes", f"{name!r}: use letters, digits, - . _ (at most 40)")
    return FeedbackConfig(min_interval_days=round(interval.seconds / 86400), causes=names)


def _greetings(file: str, data: Mapping[str, Any]) -> GreetingsConfig:
    """``[greetings]``: birthday, New Year and first-purchase anniversary greetings."""
    section = _table(file, data, "greetings", required=False)
    time_text = section.text("time", "09:00")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", time_text):
        raise section.error("time", f"expected HH:MM (24-hour, local business time), got {time_text!r}")
    return GreetingsConfig(
        birthday=section.boolean("birthday", True),
        new_year=section.boolean("new_year", True),
        anniversary=section.boolean("anniversary", False),
        time=time_text,
        per_hour=section.integer("per_hour", 60, low=1, high=10_000),
        skip_holidays=section.boolean("skip_holidays", True),
    )


def _schedule(section: _Section, key: str, default: str) -> str:
    """A ``[schedule]`` text such as ``"monday 08:00"``, checked by the scheduler's parser."""
    # Imported here: the clock package (and its schedule dependency) is needed only for this check.
    from helpdesk.clock.scheduler import ScheduleSpecError, parse_schedule

    value = section.text(key, default)
    try:
        parse_schedule(value)
    except ScheduleSpecError as exc:
        raise section.error(key, str(exc)) from None
    return value


def shipped_directory(name: str) -> Path:
    """The directory of the shipped defaults (``rules`` or ``templates``)."""
    package_dir = Path(__file__).resolve().parent
    installed = package_dir / name
    # An installed wheel has them inside the package; a source checkout beside it.
    return installed if installed.is_dir() else package_dir.parent / name


def load_config(path: Path | str) -> Config:
    """Load and validate the configuration file at ``path``."""
    path = Path(path)
    file = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(file, "", "no such configuration file") from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"TOML syntax error: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, "", f"not UTF-8 text (byte {exc.start}): save the file as UTF-8") from None
    base = path.resolve().parent

    business = _business(file, data)
    owner_section = _table(file, data, "owner", required=True)
    owner = OwnerConfig(
        email=owner_section.email("email"),
        name=owner_section.text("name", ""),
        require_authenticated=owner_section.boolean("require_authenticated", False),
        cc_participants=owner_section.boolean("cc_participants", True),
        authserv_id=owner_section.text("authserv_id", "").strip().lower() or None,
    )
    if owner.require_authenticated and owner.authserv_id is None:
        raise owner_section.error(
            "authserv_id",
            "required when require_authenticated is true: the name your mail server writes at the "
            "start of Authentication-Results (anyone can write that header; only your server's counts)",
        )
    if owner.email == business.email:
        raise owner_section.error("email", "must differ from [business] email")

    imap_section = _table(file, data, "imap", required=True)
    imap = ImapConfig(
        **_server_fields(imap_section, base, {"ssl": 993, "starttls": 143, "none": 143}),
        folder=imap_section.text("folder", "INBOX"),
        idle=imap_section.boolean("idle", True),
        poll_interval=imap_section.number("poll_interval", 60.0, low=0.1),
        batch_size=imap_section.integer("batch_size", 200, low=1, high=10_000),
        parse_workers=imap_section.integer("parse_workers", default_workers(), low=0, high=64),
        first_sync=imap_section.choice("first_sync", FIRST_SYNC_MODES, "history"),
        first_sync_days=imap_section.integer("first_sync_days", 14, low=1, high=3660),
        since=_since(imap_section),
        sent_folder=_sent_folder(imap_section),
        watch_sent=imap_section.boolean("watch_sent", True),
        save_sent=imap_section.boolean("save_sent", False),
    )
    if imap.username is None:
        raise imap_section.error("username", "missing (required)")

    smtp_section = _table(file, data, "smtp", required=True)
    smtp = SmtpConfig(
        **_server_fields(smtp_section, base, {"ssl": 465, "starttls": 587, "none": 25}),
        sender_process=smtp_section.boolean("sender_process", default_workers() > 0),
    )

    storage = _table(file, data, "storage", required=False)
    rules = _table(file, data, "rules", required=False)
    templates = _table(file, data, "templates", required=False)
    schedule_section = _table(file, data, "schedule", required=False)
    digest_schedule = _schedule(schedule_section, "digest", "monday 08:00")
    return Config(
        path=path.resolve(),
        business=business,
        owner=owner,
        imap=imap,
        smtp=smtp,
        storage_path=storage.path("path", base, base / "data"),
        rules_path=rules.path("path", base, shipped_directory("rules")),
        templates_path=templates.path("path", base, shipped_directory("templates")),
        digest_schedule=digest_schedule,
        invoices=_invoices(file, data, business),
        feedback=_feedback(file, data),
        greetings=_greetings(file, data),
    )


def config_path(explicit: str | None) -> Path:
    """Where the configuration is: ``--config``, else $HELPDESK_CONFIG, else ./config.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path("config.toml")
