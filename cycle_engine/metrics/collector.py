"""`DatabaseCollector`: gauges read from the database at each scrape, through the engine's own
queries (`engine.timers.health()`, `engine.timers.alliance_health()`, `engine.outbox.health()`).

A gauge of rows is only true when read: timers due now, messages waiting now, cycles stalled now.
Reading them at scrape time (a few aggregate queries over indexes the engine keeps) instead of
keeping counts in memory means every process reports the same truth, and a restart loses
nothing. When the database cannot answer, the scrape still succeeds and says so
(`cycle_engine_database_up 0`), so an alert fires instead of a scrape error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine

log = logging.getLogger(__name__)

Section = Literal["timers", "outbox", "cycles"]
ALL_SECTIONS: tuple[Section, ...] = ("timers", "outbox", "cycles")


class DatabaseCollector(Collector):
    """Yields the database gauges of `sections` (default: all) for `engine`."""

    def __init__(self, engine: CycleEngine, sections: tuple[Section, ...] | None = None) -> None:
        self.engine = engine
        self.sections = sections or ALL_SECTIONS

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.perf_counter()
        families: list[GaugeMetricFamily] = []
        try:
            if "timers" in self.sections:
                families += self._timers()
            if "outbox" in self.sections:
                families += self._outbox()
            if "cycles" in self.sections:
                families += self._cycles()
            up = 1.0
        except Exception as error:  # the scrape must still answer: report the database down
            log.warning("metrics: the database did not answer: %s", type(error).__name__)
            families, up = [], 0.0
        yield from families
        yield GaugeMetricFamily(
            "cycle_engine_database_up", "Whether the last scrape could read the database", up
        )
        yield GaugeMetricFamily(
            "cycle_engine_scrape_database_seconds",
            "Time the last scrape spent reading the database",
            time.perf_counter() - started,
        )

    def _timers(self) -> list[GaugeMetricFamily]:
        health = self.engine.timers.health()
        now = self.engine.clock.now()
        return [
            GaugeMetricFamily("cycle_engine_timers_due", "Pending timers due now", health.due),
            GaugeMetricFamily(
                "cycle_engine_timers_claimed", "Timers claimed by a worker now", health.claimed
            ),
            GaugeMetricFamily(
                "cycle_engine_timers_late",
                "Pending timers due for longer than the late threshold (15 minutes)",
                health.late,
            ),
            GaugeMetricFamily(
                "cycle_engine_timers_oldest_due_age_seconds",
                "How long the oldest due timer has waited",
                health.oldest_due_age(now),
            ),
        ]

    def _outbox(self) -> list[GaugeMetricFamily]:
        now = self.engine.clock.now()
        messages = GaugeMetricFamily(
            "cycle_engine_outbox_messages",
            "Outbox rows per channel and status",
            labels=["channel", "status"],
        )
        oldest = GaugeMetricFamily(
            "cycle_engine_outbox_oldest_pending_age_seconds",
            "How long the oldest due pending message has waited, per channel",
            labels=["channel"],
        )
        for channel in self.engine.outbox.health():
            for status, count in channel.statuses.items():
                messages.add_metric([channel.channel, status], count)
            oldest.add_metric([channel.channel], channel.oldest_pending_age(now))
        return [messages, oldest]

    def _cycles(self) -> list[GaugeMetricFamily]:
        labels = ["alliance_id", "alliance"]
        stalled = GaugeMetricFamily(
            "cycle_engine_cycles_stalled", "Stalled cycles per alliance", labels=labels
        )
        overdue = GaugeMetricFamily(
            "cycle_engine_cycles_overdue", "Overdue cycles per alliance", labels=labels
        )
        for alliance in self.engine.timers.alliance_health():
            key = ["" if alliance.alliance_id is None else str(alliance.alliance_id), alliance.name]
            stalled.add_metric(key, alliance.stalled)
            overdue.add_metric(key, alliance.overdue)
        return [stalled, overdue]
