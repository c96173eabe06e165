"""How the dashboard shows the engine's one list of cycles: rows with badges and reasons, pages,
the list's filters, and the overview's figures.

The rows come from `engine.cycles.list_rows` with a `CycleFilter` holding the viewer's reach, so
"overdue" (a stage due at or before now) and "stalled" (an active stall flag on the open stage)
mean here exactly what they mean in the API and in the scheduler's reports; this module only
names them for people (badges, reason titles) and pages them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cycle_engine.api.access import Viewer
from cycle_engine.cycles.listing import CycleFilter, CycleOrder, ListedCycle, StallReason
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import InvalidInput
from cycle_engine.notifications.reader import N_
from cycle_engine.store.tables import ACTIVE, FINISHED, CycleRecord, StageRecord

PER_PAGE = 50
ON_TIME_WINDOW = timedelta(days=90)
UPCOMING_WINDOW = timedelta(days=14)
#: English msgids (the page shows them in the reader's language).
REASON_TITLES = {
    "no_activity": N_("No activity"),
    "overdue_escalated": N_("Overdue past escalation"),
    "no_focal_point": N_("No focal point"),
}
FLAGS = ("overdue", "stalled", "on_time")
STATUSES = ("active", "finished", "all")


@dataclass(frozen=True, kw_only=True)
class Flag:
    """One stall reason, titled for people."""

    reason: str
    detail: str
    since: datetime

    @classmethod
    def of(cls, reason: StallReason) -> Flag:
        return cls(reason=reason.reason, detail=reason.detail, since=reason.since)

    @property
    def title(self) -> str:
        return REASON_TITLES.get(self.reason, self.reason.replace("_", " ").capitalize())


@dataclass(frozen=True, kw_only=True)
class CycleRow:
    """A cycle as a list shows it: its open stage visit, its badges and why."""

    listed: ListedCycle
    now: datetime

    @property
    def cycle(self) -> CycleRecord:
        return self.listed.cycle

    @property
    def visit(self) -> StageRecord | None:
        return self.listed.visit

    @property
    def stage_title(self) -> str:
        return self.listed.stage_title

    @property
    def flags(self) -> tuple[Flag, ...]:
        return tuple(Flag.of(reason) for reason in self.listed.reasons)

    @property
    def overdue_by(self) -> timedelta | None:
        return self.listed.overdue_by(self.now)

    @property
    def badges(self) -> list[str]:
        if self.cycle.status == FINISHED:
            return ["finished"]
        badges = []
        if self.listed.overdue:
            badges.append("overdue")
        if self.listed.stalled:
            badges.append("stalled")
        return badges or ["on time"]


@dataclass(frozen=True, kw_only=True)
class Page:
    rows: list[CycleRow]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True, kw_only=True)
class ListFilters:
    """The cycle list's filters as the page's form sends them."""

    status: str = "active"
    flag: str | None = None
    stage: str | None = None
    template: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidInput(
                "status", f"must be one of {', '.join(STATUSES)}, got {self.status!r}"
            )
        if self.flag is not None and self.flag not in FLAGS:
            raise InvalidInput("flag", f"must be one of {', '.join(FLAGS)}, got {self.flag!r}")

    def query(self, **changes: Any) -> dict[str, str]:
        values = {
            "status": self.status,
            "flag": self.flag,
            "stage": self.stage,
            "template": self.template,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v}

    def cycle_filter(self, viewer: Viewer, alliance_id: int) -> CycleFilter:
        """The engine's filter for these choices, within the viewer's reach."""
        status = None if self.status == "all" else self.status
        overdue = stalled = None
        if self.flag == "overdue":
            overdue = True
        elif self.flag == "stalled":
            status, stalled = ACTIVE, True
        elif self.flag == "on_time":
            status, overdue, stalled = ACTIVE, False, False
        return CycleFilter(
            alliance_id=alliance_id,
            status=status,
            state=self.stage,
            template_key=self.template,
            overdue=overdue,
            stalled=stalled,
            reach=viewer.reach,
        )


def rows(engine: CycleEngine, listed: list[ListedCycle]) -> list[CycleRow]:
    now = engine.clock.now()
    return [CycleRow(listed=item, now=now) for item in listed]


def page_of(
    engine: CycleEngine, filters: CycleFilter, page: int, order: CycleOrder = "newest"
) -> Page:
    """One page of the list (PER_PAGE rows)."""
    found = engine.cycles.list_rows(
        filters, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE, order=order
    )
    return Page(rows=rows(engine, found[:PER_PAGE]), page=page, has_next=len(found) > PER_PAGE)


@dataclass(kw_only=True)
class Overview:
    """An alliance's figures: cycles by status, overdue and stalled, on-time rate, deadlines."""

    active: int = 0
    finished: int = 0
    overdue: int = 0
    stalled: int = 0
    on_time_rate: float | None = None
    closed_visits: int = 0
    upcoming: list[CycleRow] = field(default_factory=list)


def overview(engine: CycleEngine, viewer: Viewer, alliance_id: int) -> Overview:
    """The overview's figures, each from the one list of cycles (counts and a short page)."""
    now = engine.clock.now()
    scope = CycleFilter(alliance_id=alliance_id, reach=viewer.reach)
    if viewer.reach.manages(alliance_id):  # the whole alliance: its counters, O(days) rows
        on_time = engine.cycles.alliance_on_time(alliance_id, now - ON_TIME_WINDOW)
    else:
        on_time = engine.cycles.on_time(
            now - ON_TIME_WINDOW, alliance_id=alliance_id, reach=viewer.reach
        )
    upcoming = engine.cycles.list_rows(
        CycleFilter(
            alliance_id=alliance_id,
            reach=viewer.reach,
            status=ACTIVE,
            overdue=False,
            due_before=now + UPCOMING_WINDOW,
        ),
        limit=8,
        order="due",
    )
    if viewer.reach.manages(alliance_id):  # the whole alliance: its counters, O(1) rows
        counted = engine.cycles.alliance_figures(alliance_id)
        active, finished = counted.active, counted.finished
        overdue, stalled = counted.overdue, counted.stalled
    else:  # part of it (a partner's cycles): count them
        active = engine.cycles.count_cycles(replace(scope, status=ACTIVE))
        finished = engine.cycles.count_cycles(replace(scope, status=FINISHED))
        overdue = engine.cycles.count_cycles(replace(scope, overdue=True))
        stalled = engine.cycles.count_cycles(replace(scope, stalled=True))
    return Overview(
        active=active,
        finished=finished,
        overdue=overdue,
        stalled=stalled,
        on_time_rate=on_time.rate,
        closed_visits=on_time.closed,
        upcoming=rows(engine, upcoming),
    )
