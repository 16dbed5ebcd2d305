"""The ``helpdesk`` command line (DESIGN.md section 3).

Exit status: 0 ok, 2 usage or configuration error, 1 runtime failure. Errors
are printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helpdesk import __version__
from helpdesk.config import Config, config_path, load_config
from helpdesk.errors import DataDirectoryBusy, HelpdeskError, UsageError
from helpdesk.logformat import LOG_FORMATS, configure_logging
from helpdesk.outbound.compose import Outbound
from helpdesk.store.records import STATUSES, Customer, Invoice, Ticket
from helpdesk.store.store import DataDirectoryLock, Store

log = logging.getLogger("helpdesk")


def _print_json(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """The JSON shape of a ticket in ``tickets --json``."""
    return {
        "id": ticket.id,
        "status": ticket.status,
        "priority": ticket.priority,
        "customer": ticket.customer,
        "subject": ticket.subject,
        "tags": ticket.tags,
        "participants": ticket.participants,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "escalation_level": ticket.escalation_level,
    }


def _read_store(config: Config) -> Store:
    return Store(config.storage_path, readonly=True)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from helpdesk.daemon import Daemon

    daemon = Daemon(config)
    if args.once:
        report = daemon.run_once()
        print(
            f"{report.tickets_created} new ticket(s), {report.messages_recorded} message(s) recorded, "
            f"{report.skipped} skipped, {report.quarantined} quarantined"
        )
    else:
        daemon.run_forever()
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    from helpdesk.daemon import load_policy

    print(f"configuration {config.path}: ok")
    _, rules, _ = load_policy(config)
    print(f"templates {config.templates_path}: ok")
    print(f"rules {config.rules_path}: {len(rules.rules)} rule(s) ok")
    if args.connect:
        from helpdesk.intake.fetch import Mailbox
        from helpdesk.outbound.smtp import probe

        mailbox = Mailbox(config.imap, timeout=15)
        mailbox.connect()
        mailbox.close()
        print(f"IMAP {config.imap.host}:{config.imap.port} folder {config.imap.folder}: ok")
        probe(config.smtp)
        print(f"SMTP {config.smtp.host}:{config.smtp.port}: ok")
    return 0


def cmd_tickets(config: Config, args: argparse.Namespace) -> int:
    store = _read_store(config)
    tickets = [t for t in store.tickets() if args.status is None or t.status == args.status]
    if args.json:
        _print_json([ticket_summary(ticket) for ticket in tickets])
        return 0
    for ticket in tickets:
        tags = f" [{', '.join(ticket.tags)}]" if ticket.tags else ""
        print(
            f"#{ticket.id:<5} {ticket.status:<8} {ticket.priority:<7} {ticket.updated_at[:16]}  "
            f"{ticket.customer:<30} {ticket.subject}{tags}"
        )
    if not tickets:
        print("no tickets")
    return 0


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    store = _read_store(config)
    ticket = store.ticket(args.id)
    if ticket is None:
        raise UsageError(f"no ticket #{args.id}")
    messages = store.messages(ticket.id)
    if args.json:
        document = ticket_summary(ticket)
        document["messages"] = [message.to_public() for message in messages]
        document["history"] = ticket.history
        _print_json(document)
        return 0
    print(f"Ticket #{ticket.id}: {ticket.subject}")
    print(f"  customer {ticket.customer}   status {ticket.status}   priority {ticket.priority}")
    print(f"  created {ticket.created_at}   updated {ticket.updated_at}")
    if ticket.tags:
        print(f"  tags {', '.join(ticket.tags)}")
    for message in messages:
        marker = {"in": "<<", "out": ">>", "note": "##"}.get(message.direction, "??")
        extra = f" (automatic: {message.automatic})" if message.automatic else ""
        print(f"\n{marker} {message.date}  {message.sender} -> {', '.join(message.to)}{extra}")
        print(f"   {message.subject}")
        for line in message.text.splitlines() or [""]:
            print(f"   {line}")
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    """How the daemon reads one message, and what it would do with it (also when it would not take it)."""
    from helpdesk.intake.disposition import read_for_parse

    document = read_for_parse(_read_file(args.message))
    if args.json:
        _print_json(document)
        return 0
    print(f"disposition: {document['disposition']} ({document['reason']})")
    for key in ("message_id", "in_reply_to", "subject", "date", "automatic_reason"):
        print(f"{key}: {document.get(key)}")
    print(f"references: {' '.join(document['references'])}")
    for key in ("from", "to", "cc"):
        value = document[key]
        items = value if isinstance(value, list) else [value] if value else []
        print(f"{key}: {', '.join(item['email'] for item in items)}")
    for attachment in document["attachments"]:
        print(
            f"attachment: {attachment['filename']} ({attachment['content_type']}, {attachment['size']} bytes)"
        )
    print("\n" + document["text"])
    return 0


def cmd_quarantine(config: Config, args: argparse.Namespace) -> int:
    from helpdesk.intake.quarantine import Quarantine

    quarantine = Quarantine(config.storage_path)
    if args.action == "list":
        entries = quarantine.entries()
        if args.json:
            _print_json([entry.to_json() for entry in entries])
        else:
            for entry in entries:
                print(f"{entry.id}  {entry.quarantined_at}  {entry.source or 'local'}  {entry.reason}")
            if not entries:
                print("quarantine is empty")
        return 0
    if args.id is None:
        raise UsageError("quarantine replay needs an ID (see: helpdesk quarantine list)")
    quarantine.raw(args.id)  # Fail early, with a clear message, for an unknown id.
    from helpdesk.daemon import Helpdesk, Request, queue_request

    try:
        helpdesk = Helpdesk(config)
    except DataDirectoryBusy:
        # The daemon runs: it applies the request on its next cycle.
        queue_request(config.storage_path, Request("quarantine.replay", args.id))
        print(f"replay of {args.id} queued: the running daemon applies it on its next cycle")
        return 0
    try:
        report = helpdesk.replay(args.id)
    finally:
        helpdesk.close()
    if report.quarantined:
        print(f"{args.id}: still cannot be processed; it is back in quarantine")
        return 1
    print(f"{args.id}: replayed ({report.messages_recorded} recorded, {report.skipped} skipped)")
    return 0


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from helpdesk.clock.scheduler import Scheduler
    from helpdesk.daemon import STATUS_FILE, job_schedules
    from helpdesk.intake.quarantine import Quarantine
    from helpdesk.outbound.outbox import Outbox
    from helpdesk.store.records import iso, utc_now

    store = _read_store(config)
    running = DataDirectoryLock(config.storage_path).held_by_other()
    by_status = {status: 0 for status in STATUSES}
    for ticket in store.tickets():
        by_status[ticket.status] += 1
    state = store.folder_state(config.imap.folder)
    try:
        daemon = json.loads((config.storage_path / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        daemon = {}
    if not isinstance(daemon, dict):
        daemon = {}
    scheduler = Scheduler(store, config.business.timezone, utc_now)
    for name, when in job_schedules(config).items():
        scheduler.add(name, when, lambda: None)
    last_runs, next_runs = scheduler.last_runs(), scheduler.next_runs()
    document = {
        "daemon_running": running,
        "data_directory": str(config.storage_path),
        "last_cycle_at": daemon.get("last_cycle_at"),
        "last_fetch": daemon.get("last_fetch"),
        **store.counts,
        "by_status": by_status,
        "outbox_waiting": Outbox.waiting_in(config.storage_path),
        "outbox_failed": len(Outbox.failed_in(config.storage_path)),
        "quarantined": len(Quarantine(config.storage_path).entries()),
        "skipped_automatic": len(store.skipped),
        "folder": config.imap.folder,
        "uidvalidity": state.uidvalidity if state else None,
        "last_uid": state.last_uid if state else None,
        "first_sync_pending": bool(state and state.import_pending),
        "jobs": {
            name: {"schedule": str(spec), "last_run": last_runs[name], "next_run": iso(next_runs[name])}
            for name, spec in scheduler.jobs.items()
        },
    }
    if args.json:
        _print_json(document)
        return 0
    for key, value in document.items():
        if key == "jobs":
            print("jobs:")
            for name, job in value.items():
                last = job["last_run"] or "never"
                print(f"  {name} ({job['schedule']}): last {last}, next {job['next_run']}")
        elif isinstance(value, dict):
            print(f"{key}: " + ", ".join(f"{inner}={item}" for inner, item in value.items()))
        else:
            print(f"{key}: {value}")
    return 0


def cmd_customer(config: Config, args: argparse.Namespace) -> int:
    """``customer list``: everyone who wrote; ``customer show EMAIL``: one customer's record."""
    from helpdesk.business.customers import customer_document

    if args.action in ("export", "forget"):
        return _customer_privacy(config, args)
    store = _read_store(config)
    if args.action == "list":
        customers = list(store.customers())
        if args.json:
            _print_json([_customer_line(customer) for customer in customers])
            return 0
        for customer in customers:
            name, last = customer.name[:28], customer.last_contact[:10]
            print(f"{customer.email:<36} {name:<28} {customer.ticket_count:>4} ticket(s)  last {last}")
        if not customers:
            print("no customers yet")
        return 0
    if args.email is None:
        raise UsageError("customer show needs an EMAIL (see: helpdesk customer list)")
    customer = store.customer(args.email.strip().lower())
    if customer is None:
        raise UsageError(f"no customer {args.email}")
    tickets = [ticket for ticket in map(store.ticket, store.tickets_of(customer.email)) if ticket is not None]
    document = customer_document(customer, tickets, store.invoices_of(customer.email))
    if args.json:
        _print_json(document)
        return 0
    for key in ("email", "name", "postal_address", "tax_id", "language", "birthday", "opted_out"):
        if document[key] not in ("", None, []):
            print(f"{key.replace('_', ' ')}: {document[key]}")
    print(f"first contact: {document['first_contact']}, last contact: {document['last_contact']}")
    if document["tags"]:
        print("tags: " + ", ".join(document["tags"]))
    for note in document["notes"]:
        print(f"note ({note['at'][:10]}): {note['text']}")
    print(f"tickets ({len(tickets)}):")
    for ticket in tickets:
        print(f"  #{ticket.id:<5} {ticket.status:<8} {ticket.created_at[:10]}  {ticket.subject}")
    if document["invoices"]:
        print(f"invoices (spent {document['total_spent']}, outstanding {document['outstanding']}):")
        for item in document["invoices"]:
            amount = f"{item['total']} {item['currency']}"
            print(f"  {item['number']:<18} {item['date']}  {amount:>16}  {item['status']}")
    return 0


def _customer_privacy(config: Config, args: argparse.Namespace) -> int:
    """``customer export EMAIL [--output DIR]`` and ``customer forget EMAIL`` (helpdesk.business.privacy).

    Export reads a snapshot of the store, so it works while the daemon runs.
    Forget changes the data directory: while the daemon runs it is queued as
    a request file that the daemon applies on its next cycle.
    """
    from helpdesk.business.privacy import Person, export_customer

    if args.email is None:
        raise UsageError(f"customer {args.action} needs an EMAIL (see: helpdesk customer list)")
    email = args.email.strip().lower()
    store = _read_store(config)
    if args.action == "export":
        target = export_customer(store, config.storage_path, email, Path(args.output or "."))
        print(f"exported {email} to {target}")
        return 0
    person = Person.find(store, email)
    if person.customer is None and not any(store.tickets_of(address) for address in person.addresses):
        raise UsageError(f"no customer {args.email}")
    from helpdesk.daemon import Helpdesk, Request, queue_request

    try:
        helpdesk = Helpdesk(config)
    except DataDirectoryBusy:
        queue_request(config.storage_path, Request("customer.forget", email))
        print(f"forgetting {email} is queued: the running daemon applies it on its next cycle")
        return 0
    try:
        erasure = helpdesk.forget(email)
    finally:
        helpdesk.close()
    print(erasure.summary())
    return 0


def _customer_line(customer: Customer) -> dict[str, Any]:
    """One customer in ``customer list --json``."""
    return {
        "email": customer.email,
        "name": customer.name,
        "tickets": customer.ticket_count,
        "tags": list(customer.tags),
        "opted_out": customer.opted_out,
        "first_contact": customer.first_contact,
        "last_contact": customer.last_contact,
    }


INVOICE_STATUSES = ("open", "paid", "void", "credited")


def invoice_line(invoice: Invoice) -> dict[str, Any]:
    """The JSON shape of an invoice in ``invoice list --json`` (amounts as strings)."""
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "date": invoice.issued_on,
        "due": invoice.due_on,
        "customer": invoice.customer,
        "ticket": invoice.ticket_id,
        "currency": invoice.currency,
        "net": invoice.net,
        "tax": invoice.tax,
        "total": invoice.total,
        "paid": invoice.paid,
        "status": invoice.status,
    }


def cmd_invoice(config: Config, args: argparse.Namespace) -> int:
    """``invoice list``, ``invoice show NUMBER``, ``invoice create TICKET --item …``."""
    if args.action == "create":
        return _create_invoice(config, args)
    store = _read_store(config)
    if args.action == "list":
        invoices = [item for item in store.invoices() if args.status in (None, item.status)]
        if args.json:
            _print_json([invoice_line(invoice) for invoice in invoices])
            return 0
        for invoice in invoices:
            print(
                f"{invoice.number:<18} {invoice.issued_on}  {invoice.customer:<32} "
                f"{invoice.total:>12} {invoice.currency}  {invoice.status}"
            )
        if not invoices:
            print("no invoices" + (f" with status {args.status}" if args.status else ""))
        return 0
    if args.target is None:
        raise UsageError("invoice show needs a NUMBER (see: helpdesk invoice list)")
    invoice = store.invoice(args.target)
    if invoice is None:
        raise UsageError(f"no invoice {args.target}")
    if args.pdf:
        try:
            Path(args.pdf).write_bytes((config.storage_path / invoice.pdf_path).read_bytes())
        except OSError as exc:
            raise UsageError(f"{exc.filename}: {exc.strerror}") from None
    if args.json:
        _print_json({**invoice_line(invoice), **invoice.to_doc()})
        return 0
    who = invoice.bill_to.get("name") or invoice.customer
    print(f"{invoice.number}  {invoice.kind}  issued {invoice.issued_on}, due {invoice.due_on}")
    print(f"status {invoice.status}; to {who} <{invoice.customer}>, ticket #{invoice.ticket_id}")
    for line in invoice.lines:
        amount = f"{line['quantity']} x {line['unit_price']}"
        print(f"  {line['description']:<40} {amount:>20}  {line['total']:>12}")
    print(f"  net {invoice.net}, tax {invoice.tax}, total {invoice.total} {invoice.currency}")
    print(f"  paid {invoice.paid}")
    return 0


def _create_invoice(config: Config, args: argparse.Namespace) -> int:
    """Check the items here (a mistake costs no number), then let the daemon issue the invoice."""
    from decimal import Decimal

    from helpdesk.business.invoicemath import InvoiceError
    from helpdesk.business.invoices import parse_order
    from helpdesk.daemon import Helpdesk, Request, queue_request

    if args.target is None or not args.target.isdigit():
        raise UsageError("invoice create needs a TICKET number")
    options = " ".join(args.options or [])
    try:
        parse_order(options, list(args.item or []), Decimal(str(config.business.tax_rate)))
    except InvoiceError as exc:
        raise UsageError(f"invoice not created: {exc}") from None
    if _read_store(config).ticket(int(args.target)) is None:
        raise UsageError(f"invoice create: no ticket #{args.target} (see: helpdesk tickets)")
    order = {"ticket": int(args.target), "options": options, "items": args.item}
    request = Request("invoice.create", json.dumps(order))
    try:
        helpdesk = Helpdesk(config)
    except DataDirectoryBusy:
        queue_request(config.storage_path, request)
        print("invoice queued: the running daemon issues and sends it on its next cycle")
        return 0
    try:
        invoice = helpdesk.create_invoice(request.argument)
        helpdesk.send_outbox()
    finally:
        helpdesk.close()
    print(f"invoice {invoice.number} issued: {invoice.total} {invoice.currency}")
    return 0


def cmd_testimonials(config: Config, args: argparse.Namespace) -> int:
    """The quotes customers allowed the business to use, newest first (nothing else may be used)."""
    store = _read_store(config)
    quotes = [
        {"customer": customer.email, **quote}
        for customer in store.customers()
        for quote in customer.testimonials
    ]
    quotes.sort(key=lambda quote: str(quote.get("at", "")), reverse=True)
    if args.json:
        _print_json(quotes)
        return 0
    for quote in quotes:
        named, day = quote.get("name") or "(anonymous)", str(quote["at"])[:10]
        print(f'"{quote["quote"]}"\n  - {named}, {quote["score"]}/5, {day} (ticket #{quote["ticket"]})')
    if not quotes:
        print("no testimonials yet: a customer who rates 5 with a comment is asked whether to be quoted")
    return 0


def cmd_digest(config: Config, args: argparse.Namespace) -> int:
    """Show the weekly digest as of now (``--preview``), or send it to the owner now (``--send``)."""
    from helpdesk.daemon import Helpdesk, Request, queue_request

    if args.preview:
        outbound = _preview_digest(config)
        print(outbound.text)
        if args.html:
            Path(args.html).write_text(outbound.html or "", encoding="utf-8")
            print(f"HTML part written to {args.html}", file=sys.stderr)
        return 0
    try:
        helpdesk = Helpdesk(config)
    except DataDirectoryBusy:
        queue_request(config.storage_path, Request("digest.send", ""))
        print("digest queued: the running daemon sends it on its next cycle")
        return 0
    try:
        helpdesk.send_digest(key=f"digest:manual:{helpdesk.clock().isoformat()}")
        report = helpdesk.send_outbox()
    finally:
        helpdesk.close()
    if any(item.kind == "digest" for item in report.sent):
        print(f"digest sent to {config.owner.email}")
        return 0
    print("digest queued in the outbox; it could not be sent yet (see helpdesk status)")
    return 1


def _preview_digest(config: Config) -> Outbound:
    """The digest as a message, from a read-only view of the store (works while the daemon runs)."""
    from helpdesk.clock.digest import build_digest
    from helpdesk.clock.digestview import digest_outbound
    from helpdesk.daemon import add_digest_sections, load_policy
    from helpdesk.intake.quarantine import Quarantine
    from helpdesk.outbound.outbox import Outbox
    from helpdesk.owner.tokens import read_tokens
    from helpdesk.policy.actions import business_context
    from helpdesk.store.records import utc_now

    templates, _, hours = load_policy(config)
    store = _read_store(config)
    tokens = read_tokens(config.storage_path, config.business.email)
    now = utc_now()
    digest = build_digest(
        store,
        hours,
        now,
        tokens,
        failures=Outbox.failed_in(config.storage_path),
        quarantined=Quarantine(config.storage_path).entries(),
    )
    owner = (config.owner.name, config.owner.email)
    digest = add_digest_sections(digest, store, tokens, now)
    return digest_outbound(digest, templates, business_context(config), owner, tokens.console_address())


def cmd_rules(config: Config, args: argparse.Namespace) -> int:
    from helpdesk.daemon import load_policy

    _, rules, hours = load_policy(config)
    if args.action == "list":
        for rule in rules.rules:
            conditions = ", ".join(condition.key for condition in rule.conditions) or "always"
            actions = ", ".join(call.name for call in rule.actions)
            where = Path(rule.file).name
            print(f"{where:<22} {rule.name:<24} on {rule.on:<17} when {conditions} -> {actions}")
            if rule.description:
                print(f"{'':<23}{rule.description}")
        if not rules.rules:
            print(f"no rules in {config.rules_path}: tickets are recorded, no automatic mail is sent")
        return 0
    if args.message is None:
        raise UsageError("rules explain needs MESSAGE.eml")
    from helpdesk.policy.explain import explain

    raw = _read_file(args.message)
    for line in explain(config, rules, hours, raw, args.ticket):
        print(line)
    return 0


def _read_file(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: {exc.strerror}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    from helpdesk.demo.tour import run_demo

    return run_demo(main, serve=args.serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpdesk", description="An email-centric helpdesk daemon for one-person businesses."
    )
    parser.add_argument("--config", help="configuration file (default: $HELPDESK_CONFIG or ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, default="text", help="log lines as text (default) or JSON"
    )
    parser.add_argument("--version", action="version", version=f"helpdesk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("--once", action="store_true", help="one full cycle, then exit")
    check = commands.add_parser("check", help="validate the configuration")
    check.add_argument("--connect", action="store_true", help="also log in to IMAP and SMTP")
    tickets = commands.add_parser("tickets", help="list tickets")
    tickets.add_argument("--status", choices=STATUSES)
    tickets.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="show one ticket with its messages")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    parse = commands.add_parser("parse", help="show how the daemon reads one message")
    parse.add_argument("message", metavar="MESSAGE.eml")
    parse.add_argument("--json", action="store_true")
    quarantine = commands.add_parser("quarantine", help="messages that could not be processed")
    quarantine.add_argument("action", choices=("list", "replay"))
    quarantine.add_argument("id", nargs="?")
    quarantine.add_argument("--json", action="store_true")
    status = commands.add_parser("status", help="what the daemon and the store look like")
    status.add_argument("--json", action="store_true")
    rules = commands.add_parser("rules", help="list the rules, or explain what they would do with a message")
    rules.add_argument("action", choices=("list", "explain"))
    rules.add_argument("message", nargs="?", metavar="MESSAGE.eml")
    rules.add_argument("--ticket", type=int, help="explain as a message on this existing ticket")
    customer = commands.add_parser(
        "customer", help="customer records: list them, show one, export or forget one's data"
    )
    customer.add_argument("action", choices=("list", "show", "export", "forget"))
    customer.add_argument("email", nargs="?", metavar="EMAIL")
    customer.add_argument("--json", action="store_true")
    customer.add_argument("--output", metavar="DIR", help="with export: where to write (default: here)")
    invoice = commands.add_parser("invoice", help="invoices: list, show, or create one for a ticket")
    invoice.add_argument("action", choices=("list", "show", "create"))
    invoice.add_argument("target", nargs="?", metavar="NUMBER|TICKET")
    invoice.add_argument("options", nargs="*", metavar="OPTION", help="with create: due=14d ref=… note=…")
    invoice.add_argument("--item", action="append", help='with create: "DESCRIPTION|QTY|UNIT_PRICE[|TAX%%]"')
    invoice.add_argument("--status", choices=INVOICE_STATUSES)
    invoice.add_argument("--json", action="store_true")
    invoice.add_argument("--pdf", metavar="FILE", help="with show: write the invoice's PDF to FILE")
    testimonials = commands.add_parser("testimonials", help="the quotes customers allowed you to use")
    testimonials.add_argument("--json", action="store_true")
    digest = commands.add_parser("digest", help="the weekly digest: preview it, or send it to the owner now")
    what = digest.add_mutually_exclusive_group(required=True)
    what.add_argument("--preview", action="store_true", help="print the text part (nothing is sent)")
    what.add_argument("--send", action="store_true", help="send it to the owner now")
    digest.add_argument("--html", metavar="FILE", help="with --preview: also write the HTML part to FILE")
    demo = commands.add_parser("demo", help="a tour on embedded loopback mail servers")
    demo.add_argument("--serve", action="store_true", help="keep servers and daemon running")
    return parser


CONFIGURED_COMMANDS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "run": cmd_run,
    "check": cmd_check,
    "tickets": cmd_tickets,
    "show": cmd_show,
    "quarantine": cmd_quarantine,
    "status": cmd_status,
    "rules": cmd_rules,
    "digest": cmd_digest,
    "customer": cmd_customer,
    "invoice": cmd_invoice,
    "testimonials": cmd_testimonials,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``helpdesk`` console script."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_format, args.verbose)
    try:
        if args.command == "parse":
            return cmd_parse(args)
        if args.command == "demo":
            return cmd_demo(args)
        config = load_config(config_path(args.config))
        return CONFIGURED_COMMANDS[args.command](config, args)
    except HelpdeskError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
