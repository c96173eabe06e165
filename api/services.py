"""The background services `serve` runs beside the API in the same process: the scheduler's
driver (durable timers) and the outbox sender (email and webhooks).

Each is started only when the settings ask for it (RUN_WORKER, RUN_SENDER) and stopped on
shutdown, so `cycle-engine serve --no-worker --no-sender` is a pure API process and separate
`worker` processes can do the rest.
"""

from __future__ import annotations

import logging
from typing import Protocol

import anyio.to_thread

from cycle_engine.api.settings import Settings
from cycle_engine.engine import CycleEngine
from cycle_engine.metrics import EngineMetrics
from cycle_engine.notifications.metrics import instrument
from cycle_engine.notifications.process import SenderProcess, SenderProcessSettings
from cycle_engine.notifications.service import SenderService, build_outbox_sender
from cycle_engine.notifications.settings import load_mail_settings
from cycle_engine.notifications.webhooks import WebhookChannel
from cycle_engine.scheduler.driver import SchedulerDriver
from cycle_engine.scheduler.worker import Worker

log = logging.getLogger("cycle_engine.api")


class Service(Protocol):
    """Something that runs in the background between `start` and `stop`."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundServices:
    """The services of one app, started and stopped together."""

    def __init__(
        self, engine: CycleEngine, settings: Settings, metrics: EngineMetrics | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.metrics = metrics
        self.running: list[Service] = []

    def wanted(self) -> list[Service]:
        services: list[Service] = []
        if self.settings.run_worker:
            services.extend(scheduler_services(self.engine, self.settings, self.metrics))
        if self.settings.run_sender:
            services.extend(sender_services(self.engine, self.settings, self.metrics))
        return services

    async def start(self) -> None:
        for service in self.wanted():
            await service.start()
            self.running.append(service)
            log.info("started %s", service.name)

    async def stop(self) -> None:
        while self.running:
            service = self.running.pop()
            try:
                await service.stop()
            finally:
                log.info("stopped %s", service.name)


class SchedulerService:
    """The scheduler's driver (APScheduler waking a `Worker`) on the app's engine."""

    name = "scheduler"

    def __init__(self, engine: CycleEngine, metrics: EngineMetrics | None = None) -> None:
        on_tick = metrics.record_tick if metrics is not None else None
        self.driver = SchedulerDriver(Worker(engine.timers), on_tick=on_tick)

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self.driver.start)

    async def stop(self) -> None:
        await anyio.to_thread.run_sync(self.driver.shutdown)


def scheduler_services(
    engine: CycleEngine, settings: Settings, metrics: EngineMetrics | None = None
) -> list[Service]:
    return [SchedulerService(engine, metrics)]


def sender_services(
    engine: CycleEngine, settings: Settings, metrics: EngineMetrics | None = None
) -> list[Service]:
    """The outbox sender (email and webhooks, the loop `cycle-engine mail send` runs too),
    signing links with the app's secret and posting webhooks only where the app's address policy
    allows (CYCLE_ENGINE_WEBHOOK_ALLOW); its deliveries count in the app's `metrics`.

    With `settings.sender_process` (what `serve` does) it runs in a child process on the same
    database (`notifications.process`: the API's event loop never waits for its work);
    otherwise in this process, on `engine` (a host's engine, with its clock).
    """
    if settings.sender_process:
        child = SenderProcessSettings(
            database_url=settings.database_url,
            database_schema=settings.database_schema,
            data_dir=settings.data_dir,
            secret_key=settings.secret_key,
            base_url=settings.base_url,
            webhook_allow=settings.webhook_allow,
            log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
        )
        return [SenderProcess(child, metrics)]
    mail = load_mail_settings(
        secret_key=settings.secret_key, base_url=settings.base_url, data_dir=settings.data_dir
    )
    webhooks = WebhookChannel(engine.db, addresses=settings.webhook_addresses)
    sender = build_outbox_sender(engine, mail, webhooks=webhooks)
    if metrics is not None:
        instrument(sender, metrics, smtp=mail.smtp is not None)
    return [SenderService(sender)]
