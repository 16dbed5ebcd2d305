"""Render outbound mail from sandboxed Jinja2 templates.

Every message helpdesk sends is built from three files in the templates
directory (the shipped ``templates/`` or the user's ``[templates] path``):

* ``NAME.subject.txt``: the subject, one line;
* ``NAME.txt``: the plain-text part;
* ``NAME.html``: the HTML part, autoescaped, usually extending ``_base.html``.

The environment is a sandbox (templates may come from the user, and must not
reach Python internals) with ``StrictUndefined`` (a misspelt variable is an
error, never a silently empty greeting). Customer and owner text only ever
enters a template as a value, never as template source.

Every template problem, at start-up (:meth:`Templates.validate`) or while
rendering (:meth:`Templates.render`), is raised as a :class:`ConfigError` that
names the template file and the line, so that ``helpdesk check`` and the
daemon can print one line telling the user what to fix.

The finished parts are normalised: the subject becomes one safe header line
(no CR/LF can reach the Subject header, whatever a variable contains), the
text part gets tidy line endings, and the HTML part gets consistent newlines.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, nodes, select_autoescape
from jinja2.exceptions import (
    SecurityError,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from helpdesk.errors import ConfigError
from helpdesk.outbound.samples import OPTIONAL_CONTEXT, SAMPLE_CONTEXTS

if TYPE_CHECKING:
    from helpdesk.config import Config

# The subdirectory of saved replies (``#use NAME``): NAME.txt and optionally NAME.html.
SAVED_REPLIES = "replies"
# The templates helpdesk itself sends; a templates directory must provide all of them.
SHIPPED: tuple[str, ...] = (
    "acknowledge",
    "owner-notification",
    "reply",
    "command-result",
    "delivery-failure",
    "owner-warning",
    "escalation",
    "follow-up",
    "closed-notice",
    "digest",
    "import-summary",
    "reload-failed",
    "invoice",
    "payment-thanks",
    "payment-reminder",
    "birthday",
    "new-year",
    "anniversary",
    "thank-you",
    "testimonial-request",
    "loyalty-thanks",
    "complaint",
    "console-answer",
    "promise-reminder",
    "promise-missed",
)

# The file suffixes that make up one template NAME, in rendering order.
PART_SUFFIXES: tuple[str, ...] = (".subject.txt", ".txt", ".html")

# Files in the templates directory that are templates (README.md, for one, is not).
TEMPLATE_EXTENSIONS: tuple[str, ...] = (".txt", ".html")

# A subject longer than this is shortened (keeping the ticket tag at its end).
SUBJECT_LIMIT = 200

# The conventional signature separator ("-- " with its trailing space) that
# mail clients recognise; the text clean-up must not strip its space.
SIGNATURE_SEPARATOR = "-- "

# Day and month names in English, independent of the process locale.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Inline style of paragraphs made by the ``paragraphs`` filter: long words and
# URLs wrap instead of widening the 600px layout.
PARAGRAPH_STYLE = "margin:0 0 16px 0;overflow-wrap:break-word;word-wrap:break-word;"

# Characters that must never reach a header line: C0 controls, DEL, and the
# Unicode line and paragraph separators.
_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_TICKET_TAG_AT_END = re.compile(r"\s*(\[#\d+\])$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "herr", "frau", "mme", "m"})


@dataclass(frozen=True)
class Rendered:
    """One rendered message: a one-line subject, a text part and an HTML part."""

    subject: str
    text: str
    html: str


class Templates:
    """The templates of one directory, compiled on demand in a sandbox.

    ``timezone`` and ``currency`` are the business's: the ``datetime``,
    ``date`` and ``money`` filters use them.
    """

    def __init__(self, directory: Path, *, timezone: str = "UTC", currency: str = "EUR") -> None:
        # Absolute, so that the file names Jinja puts in tracebacks match ours.
        self.directory = Path(directory).expanduser().resolve()
        self.timezone: tzinfo = ZoneInfo(timezone)
        self.currency = currency
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(self.directory), encoding="utf-8"),
            # What validate() compiled is what renders: a file changed on disk
            # takes effect only when the daemon reloads (SIGHUP) and the new
            # set passes validation, never half-way and unchecked.
            auto_reload=False,
            cache_size=-1,
            undefined=StrictUndefined,
            # Only .html templates are escaped: the subject and text parts are plain text.
            autoescape=select_autoescape(("html",), default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
        )
        self.env.filters.update(
            {
                "paragraphs": paragraphs,
                "nl2br": nl2br,
                "quote": quote,
                "first_name": first_name,
                "datetime": self._datetime_filter,
                "date": self._date_filter,
                "money": self._money_filter,
            }
        )

    @classmethod
    def from_config(cls, config: Config) -> Templates:
        """The templates of a loaded configuration, with its time zone and currency."""
        return cls(
            config.templates_path,
            timezone=config.business.timezone,
            currency=config.business.currency,
        )

    # -- public interface -------------------------------------------------

    def validate(self, required: Iterable[str] = SHIPPED, *, dry_run: bool = True) -> None:
        """Check the directory at start-up, so that mistakes surface before mail is due.

        Raises :class:`ConfigError` naming the file (and line) when a part of a
        required template is missing, a template has a syntax error or
        extends/includes a file that does not exist, or (with ``dry_run``) a
        shipped template fails to render with realistic sample values, for
        instance because it uses a variable that helpdesk does not provide.
        """
        if not self.directory.is_dir():
            raise ConfigError(str(self.directory), "", "no such templates directory")
        required = tuple(required)
        for name in required:
            for part in self.parts(name):
                if not (self.directory / part).is_file():
                    raise ConfigError(
                        str(self.directory / part), "", f"missing: the {name!r} template needs this file"
                    )
        available = set(self.env.list_templates())
        for part in sorted(available):
            if _is_template_file(part):
                self._check_compiles(part, available)
        if dry_run:
            for name in required:
                if name in SAMPLE_CONTEXTS:
                    self._dry_run(name)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        """Render template ``name`` with ``context`` into a subject, text and HTML.

        Raises :class:`ConfigError` naming the template file and line for any
        problem inside a template (undefined variable, sandbox violation,
        missing file, error in template code).
        """
        values = dict(context)
        subject, text, html = (self._render_part(part, values) for part in self.parts(name))
        return Rendered(subject=clean_subject(subject), text=clean_text(text), html=clean_html(html))

    def names(self) -> set[str]:
        """The names of the complete templates (all three parts present) in the directory."""
        suffix = PART_SUFFIXES[0]
        found = set()
        for subject in self.directory.glob(f"*{suffix}"):
            name = subject.name[: -len(suffix)]
            if all((self.directory / part).is_file() for part in self.parts(name)):
                found.add(name)
        return found

    def saved_replies(self) -> list[str]:
        """The names of the business's saved replies (``replies/NAME.txt``), sorted."""
        return sorted(path.stem for path in (self.directory / SAVED_REPLIES).glob("*.txt"))

    def render_saved(self, name: str, context: Mapping[str, Any]) -> tuple[str, Markup | None]:
        """Saved reply ``name`` rendered with ``context``: its text, and its HTML if it has one.

        The caller checks the name against :meth:`saved_replies` first.
        """
        values = dict(context)
        text = clean_text(self._render_part(f"{SAVED_REPLIES}/{name}.txt", values)).strip()
        html_part = f"{SAVED_REPLIES}/{name}.html"
        if not (self.directory / html_part).is_file():
            return text, None
        return text, Markup(clean_html(self._render_part(html_part, values)).strip())

    @staticmethod
    def parts(name: str) -> tuple[str, str, str]:
        """The file names of template ``name``: subject, text and HTML."""
        subject, text, html = (name + suffix for suffix in PART_SUFFIXES)
        return subject, text, html

    def path(self, part: str) -> Path:
        """The full path of one template file."""
        return self.directory / part

    # -- filters bound to the business's settings -----------------------

    def _datetime_filter(self, value: Any) -> str:
        return format_datetime(value, self.timezone, with_time=True)

    def _date_filter(self, value: Any) -> str:
        return format_datetime(value, self.timezone, with_time=False)

    def _money_filter(self, value: Any, currency: str | None = None) -> str:
        return format_money(value, currency or self.currency)

    # -- internals ----------------------------------------------------------

    def _render_part(self, part: str, values: dict[str, Any]) -> str:
        try:
            template = self.env.get_template(part)
            return template.render(values)
        except TemplateSyntaxError as exc:
            raise self._syntax_error(part, exc) from None
        except TemplateNotFound as exc:
            raise self._runtime_error(part, exc) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(self.path(part)), "", _not_utf8(exc)) from None
        except Exception as exc:
            # Anything raised while template code ran is the template's (or its
            # context's) problem: name the file and line. Errors raised without a
            # template frame are bugs elsewhere and pass through unchanged.
            if isinstance(exc, TemplateError) or _template_frame(exc, self.directory) is not None:
                raise self._runtime_error(part, exc) from None
            raise

    def _check_compiles(self, part: str, available: set[str]) -> None:
        """Parse and compile one file; check that what it extends or includes exists."""
        file = str(self.path(part))
        try:
            source, _, _ = self.env.loader.get_source(self.env, part)  # type: ignore[union-attr]
            tree = self.env.parse(source, part, file)
            self.env.get_template(part)
        except TemplateSyntaxError as exc:
            raise self._syntax_error(part, exc) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(file, "", _not_utf8(exc)) from None
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            target = node.template
            if isinstance(node, nodes.Include) and node.ignore_missing:
                continue
            missing = isinstance(target, nodes.Const) and target.value not in available
            if missing:
                problem = f"refers to missing template {target.value!r}"
                raise ConfigError(file, f"line {node.lineno}", problem)

    def _dry_run(self, name: str) -> None:
        """Render ``name`` with the sample context, with and without its optional values."""
        full = dict(SAMPLE_CONTEXTS[name])
        reduced = {key: value for key, value in full.items() if key not in OPTIONAL_CONTEXT.get(name, ())}
        for values in (full, reduced):
            try:
                self.render(name, values)
            except ConfigError as exc:
                raise ConfigError(exc.file, exc.key, f"{exc.problem} (checked with sample values)") from None

    def _syntax_error(self, part: str, exc: TemplateSyntaxError) -> ConfigError:
        file = exc.filename or str(self.path(exc.name or part))
        return ConfigError(file, f"line {exc.lineno}", f"syntax error: {exc.message}")

    def _runtime_error(self, part: str, exc: Exception) -> ConfigError:
        frame = _template_frame(exc, self.directory)
        if frame is None:
            file, key = str(self.path(part)), ""
        else:
            file, key = frame.filename, f"line {frame.lineno}"
        return ConfigError(file, key, _describe(exc))


# ---------------------------------------------------------------------------
# Output clean-up.
# ---------------------------------------------------------------------------


def clean_subject(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """One header-safe line: no CR/LF or controls, single spaces, at most ``limit`` characters.

    When the subject must be shortened, a ticket tag ``[#N]`` at its end is
    kept, because replies are threaded by it.
    """
    text = " ".join(_HEADER_UNSAFE.sub(" ", text).split())
    if len(text) <= limit:
        return text
    match = _TICKET_TAG_AT_END.search(text)
    tag = f" {match.group(1)}" if match else ""
    head = text[: match.start()] if match else text
    room = max(limit - len(tag) - 1, 1)
    cut = head[:room]
    # Prefer to cut at a word boundary when one is reasonably close.
    if len(head) > room and not head[room].isspace():
        space = cut.rfind(" ")
        if space >= room - 30 and space > 0:
            cut = cut[:space]
    return cut.rstrip() + "…" + tag


def clean_text(text: str) -> str:
    """Tidy a text part: LF newlines, no trailing spaces, no runs of blank lines, one final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line if line == SIGNATURE_SEPARATOR else line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text + "\n"


def clean_html(text: str) -> str:
    """Normalise the HTML part's newlines and end it with exactly one newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip() + "\n"


# ---------------------------------------------------------------------------
# Filters.
# ---------------------------------------------------------------------------


def paragraphs(value: Any) -> Markup:
    """Escape plain text for HTML and keep its shape.

    Blocks separated by blank lines become ``<p>`` elements (with an inline
    style), single newlines become ``<br>``, and leading spaces are kept.
    """
    text = _plain(value).strip("\n")
    if not text.strip():
        return Markup("")
    blocks = _BLANK_LINES.split(text)
    html = [f'<p style="{PARAGRAPH_STYLE}">{_lines_to_html(block)}</p>' for block in blocks if block.strip()]
    return Markup("\n".join(html))


def nl2br(value: Any) -> Markup:
    """Escape plain text for HTML and turn every newline into ``<br>``."""
    text = _plain(value).strip("\n")
    return Markup(_lines_to_html(text))


def quote(value: Any, prefix: str = "> ") -> str:
    """Quote plain text the way mail clients do: ``> `` before every line."""
    lines = _plain(value).strip("\n").split("\n")
    return "\n".join((prefix + line).rstrip() if line.strip() else prefix.rstrip() for line in lines)


def first_name(value: Any) -> str:
    """The first name in a display name, for a greeting; ``""`` when there is none.

    ``"Zoë Martin"`` gives ``"Zoë"``, ``"Martin, Zoë"`` gives ``"Zoë"``,
    ``"Dr. Zoë Martin"`` gives ``"Zoë"``; names without spaces (``"王芳"``) are
    kept whole, and an email address is no name at all.
    """
    name = _plain(value).strip().strip("\"'")
    if not name or "@" in name:
        return ""
    if "," in name:
        name = name.partition(",")[2].strip() or name.partition(",")[0].strip()
    words = name.split()
    while len(words) > 1 and words[0].rstrip(".").lower() in _HONORIFICS:
        words = words[1:]
    return words[0] if words else ""


def format_datetime(value: Any, zone: tzinfo, with_time: bool = True) -> str:
    """Format a moment for people, in the business's time zone: ``Tue 24 Nov 2026, 11:00``.

    Accepts a ``datetime`` (naive means UTC), a ``date``, or an ISO 8601
    string of either; ``None`` and ``""`` give ``""``; anything else is shown
    as it is rather than failing the whole message.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        local = moment.astimezone(zone)
        day = _day(local.date())
        return f"{day}, {local:%H:%M}" if with_time else day
    if isinstance(value, date):
        return _day(value)
    return str(value)


def format_money(value: Any, currency: str) -> str:
    """An amount with two decimals, thousands separators and the currency: ``1,234.50 EUR``."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount:,.2f} {currency}".strip()


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    """Print ``None`` as nothing: "None" must never appear in a customer's mail."""
    return "" if value is None else value


def _plain(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines_to_html(block: str) -> str:
    lines = []
    for line in block.split("\n"):
        stripped = line.lstrip(" ")
        indent = "&nbsp;" * (len(line) - len(stripped))
        lines.append(indent + str(escape(stripped.rstrip())))
    return "<br>\n".join(lines)


def _day(day: date) -> str:
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _is_template_file(part: str) -> bool:
    name = part.rsplit("/", 1)[-1]
    return not name.startswith(".") and name.endswith(TEMPLATE_EXTENSIONS)


def _template_frame(exc: BaseException, directory: Path) -> traceback.FrameSummary | None:
    """The innermost traceback frame that ran template code from ``directory``."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename).is_relative_to(directory):
            found = frame
    return found


def _describe(exc: Exception) -> str:
    """A one-line account of a rendering error for the user who edits the template."""
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, TemplateNotFound):
        return f"template {exc.name!r} not found"
    if isinstance(exc, UndefinedError):
        match = _UNDEFINED_NAME.match(message)
        return f"undefined variable {match.group(1)!r}" if match else f"undefined value: {message}"
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {message}"
    return f"{type(exc).__name__}: {message}"


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
