"""Results reach every partner at their level: when a work stage completes and yielded something
(products, or context results in this visit), every organisation on the stage (informed ones,
and the active and lead ones) gets a `stage_results` email in its people's language, with the
products (stored files as signed download links, added when the email is composed), each
context's results and a link to the cycle report.

Kept apart from `OutboxListener` so the fire's fast path stays as it is: a change that is not a
forward move out of a stage the template declares as yielding results (left through a guard on
a product, reported contexts or documented questions) costs nothing here; one that is costs one
query (the stage's products and this round's context results together; a testing stage also
reads its visits, since a resume after a pause continues a round), and only a stage that
yielded something adds the recipient lookup and one batched insert (`enqueue_all`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, null, select, union_all
from sqlmodel import col

from cycle_engine.alliances.contexts import round_visits, testing_stages
from cycle_engine.changes import Change
from cycle_engine.outbox.enqueue import MESSAGE_ID_DOMAIN, Notice, Scope, enqueue_all
from cycle_engine.outbox.recipients import by_roles
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.alliances import ContextRecord, ContextResultRecord, ProductRecord

#: Followers (people of member organisations following the cycle) hear with the informed.
RESULTS_TO = ("lead", "active", "informed", "follower")
KIND = "stage_results"
#: Guards that mark a stage as one that yields results: it is left once a product is recorded,
#: contexts reported, or the questions documented.
RESULT_GUARDS = frozenset(
    {"product", "contexts_reported", "distinct_countries", "distinct_communities"}
    | {"questions_answered"}
)


def results_stages(spec: TemplateSpec) -> frozenset[str]:
    """Stages the template declares as yielding results (see RESULT_GUARDS)."""
    return frozenset(
        source
        for transition in spec.transitions
        if any(guard.name in RESULT_GUARDS for guard in transition.guards)
        for source in transition.sources
    )


def completes_forward(change: Change) -> StageRecord | None:
    """The work stage visit this change completed moving forward (not into a pause, nor into a
    second final stage such as cancelled), or None."""
    left, spec, dest = change.left, change.spec, change.event.to_state
    if change.event.kind != "transition" or left is None or dest is None:
        return None
    if left.stage not in {s.key for s in spec.work_stages} or not spec.has_stage(dest):
        return None
    target = spec.stage(dest)
    if target.hold or (target.final and dest != spec.final_stages[0]):
        return None
    return left


class ResultsListener:
    """Adds `stage_results` rows when a stage completes with results; never commits."""

    def __init__(self, *, message_id_domain: str = MESSAGE_ID_DOMAIN) -> None:
        self.domain = message_id_domain

    def on_change(self, change: Change) -> None:
        if change.cycle.alliance_id is None:
            return
        left = completes_forward(change)
        if left is None or left.stage not in results_stages(change.spec):
            return
        products, contexts = self._results(change, left)
        if not products and not contexts:
            return
        assert change.cycle.id is not None
        people = by_roles(change.session, change.cycle.id, left.stage, RESULTS_TO)
        details: dict[str, Any] = {
            "products": products,
            "contexts": contexts,
            "report_path": f"/dashboard/cycles/{change.cycle.id}/report",
        }
        scope = Scope(
            cycle=change.cycle, spec=change.spec, stage=left.stage, visit=left, now=change.now
        )
        notices = [
            Notice(kind=KIND, rule="results", occurrence=0, to=addressee, details=details)
            for addressee in people
        ]
        enqueue_all(change.session, scope, notices, domain=self.domain)

    @staticmethod
    def _results(
        change: Change, left: StageRecord
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The stage's products and this round's context results, in one query."""
        assert change.cycle.id is not None
        first = left.visit
        if left.stage in testing_stages(change.spec):
            rounds = round_visits(change.session, change.cycle.id, change.spec)
            first = rounds.get((left.stage, left.visit), (0, left.visit))[1]
        products: Any = select(
            literal("product").label("what"),
            col(ProductRecord.id).label("id"),
            col(ProductRecord.title).label("title"),
            col(ProductRecord.link).label("link"),
            col(ProductRecord.file_name).label("file_name"),
            null().label("country"),
            null().label("community"),
            null().label("rating"),
            null().label("summary"),
        ).where(
            col(ProductRecord.cycle_id) == change.cycle.id, col(ProductRecord.stage) == left.stage
        )
        contexts: Any = (
            select(
                literal("context").label("what"),
                col(ContextResultRecord.id).label("id"),
                col(ContextRecord.name).label("title"),
                null().label("link"),
                null().label("file_name"),
                col(ContextRecord.country).label("country"),
                col(ContextRecord.community).label("community"),
                col(ContextResultRecord.rating).label("rating"),
                col(ContextResultRecord.summary).label("summary"),
            )
            .join(ContextRecord, col(ContextRecord.id) == ContextResultRecord.context_id)
            .where(
                col(ContextResultRecord.cycle_id) == change.cycle.id,
                col(ContextResultRecord.stage) == left.stage,
                col(ContextResultRecord.visit) >= first,
                col(ContextResultRecord.visit) <= left.visit,
            )
        )
        rows = change.session.connection().execute(union_all(products, contexts)).all()
        found: list[dict[str, Any]] = []
        reported: list[dict[str, Any]] = []
        for row in sorted(rows, key=lambda r: (r.what, r.id)):
            if row.what == "product":
                found.append(
                    {"id": row.id, "title": row.title, "url": row.link, "file": row.file_name}
                )
            else:
                reported.append(
                    {
                        "name": row.title,
                        "country": row.country,
                        "community": row.community,
                        "rating": row.rating,
                        "summary": row.summary,
                    }
                )
        return found, reported
