"""`cycle-engine mail ...`: run the outbox sender, read the development mailbox, see the outbox.

    mail send [--forever]     deliver what is due, emails and webhooks (once, or until Ctrl-C);
                              `--metrics-port` serves its counters at /metrics meanwhile
    mail list                 messages in the development mailbox (data/mailbox)
    mail show KEY [--html]    one message: headers and its text (or HTML) part
    mail outbox [--status]    outbox rows: pending, sent, failed (with the server's reply)

Heavy imports (aiosmtplib, httpx, Jinja2) happen inside the commands, so `cycle-engine --help` stays
fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.cli.common import DbOption, JsonOption, open_engine, print_json, reports_errors
from cycle_engine.cli.metrics import MetricsHostOption, MetricsPortOption, metrics_server
from cycle_engine.logs import configure_logging, register_secret

app = typer.Typer(
    help="The outbox: send emails and webhooks, read the development mailbox.",
    no_args_is_help=True,
)
MailboxOption = Annotated[
    Path | None,
    typer.Option(
        "--mailbox",
        help="Maildir to read (default: <CYCLE_ENGINE_DATA_DIR or data>/mailbox).",
        show_default=False,
    ),
]


def _mailbox(path: Path | None) -> Path:
    if path is not None:
        return path
    return Path(os.environ.get("CYCLE_ENGINE_DATA_DIR", "data")) / "mailbox"


@app.command()
@reports_errors
def send(
    db: DbOption = None,
    forever: Annotated[bool, typer.Option("--forever", help="Keep sending until stopped.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between idle polls.")] = 5.0,
    lease: Annotated[
        float, typer.Option(min=1.0, help="Seconds a claim holds a message (renewed while sent).")
    ] = 60.0,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Deliver due emails (SMTP when CYCLE_ENGINE_SMTP_HOST is set, else the dev mailbox) and
    webhooks (signed POSTs to each subscription's URL)."""
    from dataclasses import replace
    from datetime import timedelta

    from cycle_engine.metrics import EngineMetrics
    from cycle_engine.notifications.metrics import instrument
    from cycle_engine.notifications.service import build_outbox_sender
    from cycle_engine.notifications.settings import load_mail_settings

    configure_logging("INFO")
    settings = load_mail_settings()
    register_secret(settings.secret_key)
    register_secret(settings.smtp.password if settings.smtp else None)
    metrics = EngineMetrics("sender")
    where = (
        f"email via SMTP {settings.smtp.host}:{settings.smtp.port}"
        if settings.smtp
        else f"email to the development mailbox {settings.mailbox_dir}"
    ) + ", webhooks over HTTP"
    with (
        open_engine(db, subscribers=[metrics.subscriber]) as engine,
        metrics_server(metrics, engine, metrics_host, metrics_port, sections=("outbox",)),
    ):
        sender = instrument(
            build_outbox_sender(engine, settings), metrics, smtp=settings.smtp is not None
        )
        sender.policy = replace(sender.policy, lease=timedelta(seconds=lease))

        import asyncio  # imported on use: `--help` stays fast
        import contextlib
        import signal

        async def run() -> None:
            try:
                if not forever:
                    report = await sender.run_until_idle()
                    typer.echo(
                        f"delivered {where}: claimed {report.claimed}, "
                        f"digests {report.digests}, outcomes {report.outcomes or '{}'}"
                    )
                    return
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError):
                        loop.add_signal_handler(sig, stop.set)
                typer.echo(f"sending {where}; Ctrl-C to stop")
                await sender.run_forever(stop, interval=interval)
            finally:
                await sender.close()

        asyncio.run(run())


@app.command("list")
@reports_errors
def list_(mailbox: MailboxOption = None, json: JsonOption = False) -> None:
    """List the messages in the development mailbox, oldest first."""
    from cycle_engine.notifications.senders.mailbox import list_mailbox

    entries = list_mailbox(_mailbox(mailbox))
    if json:
        print_json(entries)
        return
    if not entries:
        typer.echo(f"no messages in {_mailbox(mailbox)}")
    for entry in entries:
        date = entry.date.strftime("%Y-%m-%d %H:%M") if entry.date else "-"
        typer.echo(f"{entry.key}  {date}  {entry.to[:40]:<40}  {entry.subject}")


@app.command()
@reports_errors
def show(
    key: str,
    mailbox: MailboxOption = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
) -> None:
    """Print one message of the development mailbox (headers and its text or HTML part)."""
    from cycle_engine.notifications.senders.mailbox import read_mailbox_message

    try:
        message = read_mailbox_message(_mailbox(mailbox), key)
    except KeyError:
        raise typer.BadParameter(f"no message {key!r} in {_mailbox(mailbox)}") from None
    for name in ("Message-ID", "Date", "From", "To", "Subject", "List-Unsubscribe"):
        if message[name]:
            typer.echo(f"{name}: {message[name]}")
    typer.echo("")
    part = message.get_body(preferencelist=("html",) if html else ("plain",))
    typer.echo(part.get_content() if part is not None else "(no such part)")
    attachments = [a.get_filename() for a in message.iter_attachments()]
    if attachments:
        typer.echo(f"attachments: {', '.join(str(a) for a in attachments)}")


@app.command()
@reports_errors
def outbox(
    status: Annotated[str | None, typer.Option(help="pending, claimed, sent, failed, ...")] = None,
    cycle: Annotated[int | None, typer.Option(help="Only this cycle.")] = None,
    limit: int = 50,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List outbox rows, newest first; failed rows show the server's reply."""
    with open_engine(db) as engine:
        rows = engine.outbox.messages(cycle_id=cycle, status=status, limit=limit)
    if json:
        print_json(rows)
        return
    for row in rows:
        error = f"  [{row.last_error}]" if row.last_error else ""
        typer.echo(
            f"{row.id:>6} {row.status:<10} {row.kind:<20} {row.recipient:<32}"
            f" {row.message_id}{error}"
        )


def register(cli: typer.Typer) -> None:
    """Add `mail` to the `cycle-engine` app (the `cycle_engine.cli` entry point)."""
    cli.add_typer(app, name="mail")
