"""`cycle-engine worker`: fire due timers, alone or as one of many processes on one database.

Without `--once` the APScheduler driver runs until SIGINT or SIGTERM, then releases whatever
it claimed but did not fire. `--once` fires everything due now and exits, printing the counts;
`--now` fixes "now" (an ISO 8601 instant) so scripts and tests can run a worker at a chosen
moment without waiting for it. Like every command, the worker's engine carries the installed
host plugins' guards, listeners, subscribers and timer handlers (`cycle_engine.plugins`), so it
fires the timers of cycles whose templates name a host guard. With `--metrics-port` it serves its
counters and the timer gauges at `http://<--metrics-host>:<port>/metrics` (`cli.metrics`).
"""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta
from types import FrameType
from typing import Annotated

import typer

from cycle_engine.cli.common import DbOption, open_engine, reports_errors
from cycle_engine.cli.metrics import MetricsHostOption, MetricsPortOption, metrics_server
from cycle_engine.clock import Clock, as_utc
from cycle_engine.errors import InvalidInput
from cycle_engine.logs import configure_logging


class FixedClock:
    """A clock stopped at one instant (for `--now`)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = as_utc(moment)

    def now(self) -> datetime:
        return self._moment


def _parse_now(text: str | None) -> Clock | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--now", f"expected an ISO 8601 instant, got {text!r}") from None
    if moment.tzinfo is None:
        raise InvalidInput("--now", f"needs a time zone offset (e.g. 'Z'), got {text!r}")
    return FixedClock(moment)


@reports_errors
def worker(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Fire what is due now, then exit.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Fixed 'now' (ISO 8601 with offset) instead of the system clock."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Worker name on leases.")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between ticks.")] = 30.0,
    batch: Annotated[int, typer.Option(help="Timers claimed per batch.")] = 100,
    lease: Annotated[float, typer.Option(help="Lease length in seconds.")] = 300.0,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Fire due reminders, deadlines, overdue reminders and stall checks."""
    if batch < 1:
        raise InvalidInput("--batch", f"must be 1 or more, got {batch}")
    if interval <= 0 or lease <= 0:
        raise InvalidInput("--interval/--lease", "must be positive numbers of seconds")
    from cycle_engine.metrics import EngineMetrics  # imported on use: `--help` stays fast
    from cycle_engine.scheduler.driver import run_forever
    from cycle_engine.scheduler.worker import WorkerSettings

    configure_logging("INFO")
    settings = WorkerSettings(
        batch_size=batch, lease=timedelta(seconds=lease), max_batches=1_000_000 if once else 50
    )
    metrics = EngineMetrics("worker")
    with (
        open_engine(db, clock=_parse_now(now), subscribers=[metrics.subscriber]) as engine,
        metrics_server(metrics, engine, metrics_host, metrics_port, sections=("timers", "cycles")),
    ):
        runner = engine.timers.worker(name=name, settings=settings)
        if once:
            result = runner.run_once()
            typer.echo(json.dumps({"worker": runner.name, **result.as_dict()}))
            return

        signals: list[int] = []

        def _stop(signum: int, _frame: FrameType | None) -> None:
            signals.append(signum)  # nothing that takes a lock or writes: see `Worker.stop`
            runner.stop()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        typer.echo(f"worker {runner.name} running (tick every {interval:g}s)", err=True)
        run_forever(
            runner,
            interval=timedelta(seconds=interval),
            on_tick=metrics.record_tick,
            on_stop=lambda: typer.echo(
                f"worker {runner.name}: signal {signals[0] if signals else '-'}, stopping",
                err=True,
            ),
        )
        typer.echo(f"worker {runner.name} stopped", err=True)
