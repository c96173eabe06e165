"""Prometheus metrics: what an operator watches to know reminders are flowing.

Each process keeps its own registry (`EngineMetrics`) and exports it: `serve` at `/metrics`,
`worker` and `mail send --forever` on their own port (`--metrics-port`). Every exposition is
protected: a bearer token (`CYCLE_ENGINE_METRICS_TOKEN`) and, for the ports, the address they
bind (loopback unless told otherwise).

    counters (in the process that did the work)
      cycle_engine_fires_total{template,trigger}         committed transitions (after commit)
      cycle_engine_events_total{kind}                    every committed event
      cycle_engine_fires_blocked_total{reason}           refused fires: guard, role, stage,
                                                         unknown_trigger, conflict
      cycle_engine_timers_claimed_total                  worker: timers claimed
      cycle_engine_timers_fired_total{kind,outcome}      worker: fired, dropped, cancelled, skipped
      cycle_engine_timers_late_total{kind}               worker: timers found late
      cycle_engine_timer_failures_total                  worker: handler failures (retried)
      cycle_engine_outbox_deliveries_total{channel,outcome}  sender: delivered, retry, failed
      cycle_engine_smtp_replies_total{reply_class}       sender: 2xx, 4xx, 5xx, none
      cycle_engine_http_request_duration_seconds{method,route,status}  serve: latency per route
    gauges (read from the database at each scrape, through the engine's queries)
      cycle_engine_timers_due / _claimed / _late, cycle_engine_timers_oldest_due_age_seconds
      cycle_engine_outbox_messages{channel,status}, cycle_engine_outbox_oldest_pending_age_seconds
      cycle_engine_cycles_stalled{alliance_id,alliance}, cycle_engine_cycles_overdue{...}
      cycle_engine_database_up

The package imports `prometheus_client` and the engine, so the CLI imports it only inside the
commands that serve metrics.
"""

from __future__ import annotations

from cycle_engine.metrics.collector import DatabaseCollector
from cycle_engine.metrics.registry import EngineMetrics, MetricsSubscriber
from cycle_engine.metrics.server import MetricsServer, authorized, exposition

__all__ = [
    "DatabaseCollector",
    "EngineMetrics",
    "MetricsServer",
    "MetricsSubscriber",
    "authorized",
    "exposition",
]
