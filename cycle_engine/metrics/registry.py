"""`EngineMetrics`: one process's registry and its counters, and the after-commit subscriber
that moves them as the engine's changes commit.

A registry per process (not prometheus_client's global one), so tests and embedders can build
several apps in one process and each exports only its own numbers. Counters that follow the
engine's changes are moved by `MetricsSubscriber`, an after-commit subscriber passed to
`CycleEngine(subscribers=[metrics.subscriber])`: a fire is counted once its transaction committed,
never for a rollback; refused fires arrive through the same subscriber (`after_refusal`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from cycle_engine.changes import Change, Refusal
from cycle_engine.metrics.collector import DatabaseCollector, Section

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine
    from cycle_engine.scheduler.worker import TickResult

Role = Literal["serve", "worker", "sender", "embedded"]
#: Request latency buckets (seconds): a fire takes tens of milliseconds, a report a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricsSubscriber:
    """Counts committed transitions and events, and refused fires (an after-commit subscriber)."""

    def __init__(self, metrics: EngineMetrics) -> None:
        self._metrics = metrics

    def after_commit(self, change: Change) -> None:
        event = change.event
        self._metrics.events.labels(kind=event.kind).inc()
        if event.kind == "transition" and event.trigger:
            self._metrics.fires.labels(template=change.spec.key, trigger=event.trigger).inc()

    def after_refusal(self, refusal: Refusal) -> None:
        self._metrics.blocked.labels(reason=refusal.kind).inc()


class EngineMetrics:
    """The counters of one process, in its own registry.

    Args:
        role: which process this is ("serve", "worker", "sender"), exported as
            `cycle_engine_process_info{role=...}`.
    """

    def __init__(self, role: Role = "embedded") -> None:
        self.role = role
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        registry = self.registry
        info = Gauge("cycle_engine_process_info", "This process", ["role"], registry=registry)
        info.labels(role=role).set(1)
        self.fires = Counter(
            "cycle_engine_fires",
            "Committed transitions, per template and trigger",
            ["template", "trigger"],
            registry=registry,
        )
        self.events = Counter(
            "cycle_engine_events", "Committed cycle events, per kind", ["kind"], registry=registry
        )
        self.blocked = Counter(
            "cycle_engine_fires_blocked",
            "Refused fires, per reason kind (guard, role, stage, unknown_trigger, conflict)",
            ["reason"],
            registry=registry,
        )
        self.timers_claimed = Counter(
            "cycle_engine_timers_claimed", "Timers this worker claimed", registry=registry
        )
        self.timers_fired = Counter(
            "cycle_engine_timers_fired",
            "Timers this worker handled, per kind and outcome (fired, dropped, cancelled, skipped)",
            ["kind", "outcome"],
            registry=registry,
        )
        self.timers_late = Counter(
            "cycle_engine_timers_late", "Timers found late, per kind", ["kind"], registry=registry
        )
        self.timer_failures = Counter(
            "cycle_engine_timer_failures", "Timer handler failures (retried)", registry=registry
        )
        self.deliveries = Counter(
            "cycle_engine_outbox_deliveries",
            "Outbox delivery attempts, per channel and outcome (delivered, retry, failed, ...)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.smtp_replies = Counter(
            "cycle_engine_smtp_replies",
            "SMTP replies to this sender, per class (2xx, 4xx, 5xx; none: no reply)",
            ["reply_class"],
            registry=registry,
        )
        self.request_latency = Histogram(
            "cycle_engine_http_request_duration_seconds",
            "HTTP request latency, per method, route template and status class",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.subscriber = MetricsSubscriber(self)
        self._collector: DatabaseCollector | None = None

    def watch(self, engine: CycleEngine, sections: tuple[Section, ...] | None = None) -> None:
        """Export gauges read from `engine`'s database at each scrape (`DatabaseCollector`),
        instead of the engine watched before, if any."""
        if self._collector is not None:
            self.registry.unregister(self._collector)
        self._collector = DatabaseCollector(engine, sections)
        self.registry.register(self._collector)

    def record_tick(self, result: TickResult) -> None:
        """Count what one worker tick did."""
        self.timers_claimed.inc(result.claimed)
        if result.failed:
            self.timer_failures.inc(result.failed)
        for outcome in result.outcomes:
            self.timers_fired.labels(kind=outcome.kind, outcome=outcome.status).inc()
            if outcome.late:
                self.timers_late.labels(kind=outcome.kind).inc()

    def record_delivery(self, channel: str, outcome: str) -> None:
        self.deliveries.labels(channel=channel, outcome=outcome).inc()

    def record_smtp_reply(self, code: int | None) -> None:
        """Count one SMTP reply by class; None: no reply came (refused, dropped, timed out)."""
        self.smtp_replies.labels(reply_class=f"{code // 100}xx" if code else "none").inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_latency.labels(
            method=method, route=route, status=f"{status // 100}xx"
        ).observe(seconds)
