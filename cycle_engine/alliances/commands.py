"""`CycleWork` (`engine.work`): the alliance-domain work on cycles, commands and queries.

Every command is one transaction: the change, its event and whatever the listeners add commit
together, and a refused command changes nothing (a product file written for it is removed).
The checks that guard a command run in that transaction, on the locked cycle: the caller's
`reach` (the cycle is in it; outside the alliances it manages, its organisation takes part in
the current stage) and the `expected_version` it read (an If-Match).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances import (
    contexts,
    learning,
    participation,
    products,
    questions,
    workplan,
)
from cycle_engine.alliances.common import CycleOp
from cycle_engine.alliances.files import FileStore, StoredFile
from cycle_engine.alliances.reach import (
    Reach,
    check_cycle_command,
    check_named,
    credit_refusal,
    role_refusal,
    sees_cycle,
)
from cycle_engine.alliances.report import CycleReport, build_report, render_report
from cycle_engine.alliances.roster import Recipient
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    ActionNotAllowed,
    CycleNotFound,
    InputConflict,
    InvalidInput,
    NotPermitted,
    RecordNotFound,
)
from cycle_engine.store.db import Database
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    ContextRecord,
    ContextResultRecord,
    ParticipationRecord,
    PlanRecord,
    ProductRecord,
    QuestionRecord,
)
from cycle_engine.store.templates import TemplateStore

#: How far from today a due date may be moved: a cycle lasts months, a template at most ten
#: years; a date further away is a typo, and computing with it would leave the dates Python and
#: the databases store.
MAX_DUE_DISTANCE = timedelta(days=3653)


def _check_due_distance(due: date | datetime, now: datetime) -> None:
    if isinstance(due, datetime):
        if due.tzinfo is None:
            raise InvalidInput("due", f"give a time zone with {due.isoformat()}")
        distance = abs(due - now)
    else:
        distance = abs(due - now.date())
    if distance > MAX_DUE_DISTANCE:
        raise InputConflict("due", f"{due.isoformat()} is more than ten years from today")


class CycleWork:
    """Roles on stages, the work plan, questions, products, contexts, learning, the report."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        templates: TemplateStore,
        changes: Changes,
        files: FileStore,
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.files = files

    @contextmanager
    def _cycle_op(
        self,
        cycle_id: int,
        actor: Actor,
        action: str,
        *,
        expected_version: int | None,
        reach: Reach | None,
        organisation_ids: Sequence[int] = (),
        person_ids: Sequence[int | None] = (),
        credited: int | None = None,
        organisers_only: bool = False,
    ) -> Iterator[CycleOp]:
        """One write transaction on one locked cycle, after the checks that guard `action`
        (`alliances.reach`, the same for every caller: API keys and dashboard sessions).

        Raises CycleNotFound (not in `reach`), ConflictError (`expected_version` is stale),
        ActionNotAllowed (the caller may not act on the current stage), OrganisationNotFound or
        PersonNotFound (one the command names, `organisation_ids` and `person_ids`, is out of
        `reach`), NotPermitted (the actor's role may not run it, or may not credit the work to
        `credited`).
        """
        with self.db.transaction() as session:
            cycle = lock_cycle(session, cycle_id)
            refusal = check_cycle_command(
                session, cycle, reach=reach, expected_version=expected_version, action=action
            )
            if refusal is not None:
                raise ActionNotAllowed(action, refusal)
            check_named(
                session,
                reach,
                cycle,
                organisation_ids=organisation_ids,
                person_ids=[p for p in person_ids if p is not None],
            )
            role = role_refusal(actor, organisers_only=organisers_only)
            if role is None and credited is not None:
                role = credit_refusal(reach, cycle, credited)
            if role is not None:
                raise NotPermitted(action, role)
            spec = self.templates.spec(session, cycle.template_id)
            yield CycleOp(
                session=session,
                cycle=cycle,
                spec=spec,
                actor=actor,
                now=self.clock.now(),
                changes=self.changes,
            )

    # -- participation and the work plan -----------------------------------------------

    def assign(
        self,
        cycle_id: int,
        stage: str,
        organisation_id: int,
        level: str,
        *,
        focal_point_id: int | None = None,
        deputy_id: int | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> ParticipationRecord:
        """Record that an organisation leads, takes active part in, or is informed of a stage."""
        with self._cycle_op(
            cycle_id,
            actor,
            "assign a role",
            expected_version=expected_version,
            reach=reach,
            organisation_ids=[organisation_id],
            person_ids=[focal_point_id, deputy_id],
            organisers_only=True,
        ) as op:
            return participation.assign(
                op,
                stage=stage,
                organisation_id=organisation_id,
                level=level,
                focal_point_id=focal_point_id,
                deputy_id=deputy_id,
            )

    def participants(self, cycle_id: int) -> list[ParticipationRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return participation.participation_rows(session, cycle_id)

    def participants_of(
        self, cycle_ids: Sequence[int], stage_of: Mapping[int, str] | None = None
    ) -> dict[int, list[ParticipationRecord]]:
        """`participants` of several cycles in one query (a page of fifty asks), by cycle id;
        with `stage_of`, only each cycle's rows of that stage. A missing cycle has no rows."""
        with self.db.read_session() as session:
            return participation.participation_rows_of(session, cycle_ids, stage_of)

    def stages_lacking_focal_point(self, cycle_id: int) -> dict[str, str]:
        with self.db.read_session() as session:
            cycle = self._read_cycle(session, cycle_id)
            spec = self.templates.spec(session, cycle.template_id)
            return participation.stages_lacking_focal_point(session, cycle, spec)

    def recipients_for_stage(self, cycle_id: int, stage: str) -> list[Recipient]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return participation.recipients_for_stage(session, cycle_id, stage)

    def work_plan(self, cycle_id: int) -> list[PlanRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return workplan.plan_rows(session, cycle_id)

    def move_due_date(
        self,
        cycle_id: int,
        stage: str,
        due: date | datetime,
        *,
        reason: str,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> list[PlanRecord]:
        """Move a stage's due date (with a reason) and re-plan the later stages.

        Raises InputConflict (an InvalidInput) for a due date more than MAX_DUE_DISTANCE (ten
        years) from today, besides the plan's own checks (`workplan.move_due_date`).
        """
        _check_due_distance(due, self.clock.now())
        with self._cycle_op(
            cycle_id,
            actor,
            "move a due date",
            expected_version=expected_version,
            reach=reach,
            organisers_only=True,
        ) as op:
            return workplan.move_due_date(op, stage=stage, due=due, reason=reason)

    # -- questions, products, contexts, learning ---------------------------------------

    def add_questions(
        self,
        cycle_id: int,
        texts: Sequence[str],
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> list[QuestionRecord]:
        with self._cycle_op(
            cycle_id,
            actor,
            "add learning questions",
            expected_version=expected_version,
            reach=reach,
        ) as op:
            return questions.add_questions(op, texts)

    def answer_questions(
        self,
        cycle_id: int,
        answers: Mapping[int, str],
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> list[QuestionRecord]:
        with self._cycle_op(
            cycle_id,
            actor,
            "answer learning questions",
            expected_version=expected_version,
            reach=reach,
        ) as op:
            return questions.answer_questions(op, answers)

    def learning_questions(self, cycle_id: int) -> list[QuestionRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return questions.questions_of(session, cycle_id)

    def add_product(
        self,
        cycle_id: int,
        kind: str,
        title: str,
        author_organisation_id: int | None,
        *,
        stage: str | None = None,
        link: str | None = None,
        form: str | None = None,
        file: Path | None = None,
        file_name: str | None = None,
        content: bytes | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> ProductRecord:
        """Record a product with a link and/or a file (`file` path, or `file_name` + `content`),
        credited to `author_organisation_id` (None: the acting partner's own organisation).

        Raises InvalidInput for an oversized file or one whose content does not match its type,
        or no author; NotPermitted for a partner crediting another organisation.
        """
        author = author_organisation_id
        if author is None:
            author = actor.organisation_id
        if file is not None:
            content, file_name = Path(file).read_bytes(), Path(file).name
        if content is not None and not file_name:
            raise InvalidInput("file_name", "a file's content needs its name")
        stored: StoredFile | None = None
        if content is not None and file_name:
            stored = self.files.save(cycle_id, file_name, content)
        try:
            with self._cycle_op(
                cycle_id,
                actor,
                "add a product",
                expected_version=expected_version,
                reach=reach,
                organisation_ids=[] if author is None else [author],
                credited=author,
            ) as op:
                if author is None:
                    raise InvalidInput(
                        "author_organisation_id", "name the organisation that made the product"
                    )
                return products.add_product(
                    op,
                    kind=kind,
                    title=title,
                    author_organisation_id=author,
                    stage=stage,
                    link=link,
                    form=form,
                    stored=stored,
                )
        except BaseException:
            if stored is not None:
                self.files.discard(stored)
            raise

    def cycle_products(self, cycle_id: int, kind: str | None = None) -> list[ProductRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return products.products_of(session, cycle_id, kind)

    def product(self, product_id: int, *, reach: Reach | None = None) -> ProductRecord:
        """One product; raises RecordNotFound (also when its cycle is not in `reach`)."""
        with self.db.read_session() as session:
            product = session.get(ProductRecord, product_id)
            if product is None or (
                reach is not None
                and not sees_cycle(session, reach, self._read_cycle(session, product.cycle_id))
            ):
                raise RecordNotFound("product", product_id)
            return product

    def product_file(self, product_id: int) -> Path:
        """Where a product's stored file is; raises RecordNotFound when it has none."""
        with self.db.read_session() as session:
            product = session.get(ProductRecord, product_id)
        if product is None or product.file_path is None:
            raise RecordNotFound("product file", product_id)
        return self.files.path_of(product.file_path)

    def add_context(
        self,
        cycle_id: int,
        name: str,
        country: str,
        community: str,
        organisation_id: int,
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> ContextRecord:
        with self._cycle_op(
            cycle_id,
            actor,
            "add a testing context",
            expected_version=expected_version,
            reach=reach,
            organisation_ids=[organisation_id],
        ) as op:
            return contexts.add_context(
                op,
                name=name,
                country=country,
                community=community,
                organisation_id=organisation_id,
            )

    def set_context_status(
        self,
        cycle_id: int,
        context_id: int,
        status: str,
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> ContextRecord:
        with self._cycle_op(
            cycle_id,
            actor,
            "set a context's status",
            expected_version=expected_version,
            reach=reach,
        ) as op:
            return contexts.set_status(op, context_id=context_id, status=status)

    def report_context(
        self,
        cycle_id: int,
        context_id: int,
        summary: str,
        rating: str,
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> ContextResultRecord:
        """Record a context's results (rating strong, mixed or weak) for this testing round."""
        with self._cycle_op(
            cycle_id,
            actor,
            "report a context's results",
            expected_version=expected_version,
            reach=reach,
        ) as op:
            context = contexts.get_context(op.session, cycle_id, context_id)
            refusal = credit_refusal(reach, op.cycle, context.organisation_id)
            if refusal is not None:  # a partner reports the contexts its organisation runs
                raise NotPermitted(
                    "report a context's results",
                    "a partner reports results of the contexts its organisation runs only",
                )
            return contexts.report_results(
                op, context_id=context_id, summary=summary, rating=rating
            )

    def testing_contexts(self, cycle_id: int) -> list[ContextRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return contexts.contexts_of(session, cycle_id)

    def context_results(self, cycle_id: int) -> list[ContextResultRecord]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return contexts.results_of(session, cycle_id)

    def add_learning(
        self,
        cycle_id: int,
        kind: str,
        title: str,
        text: str,
        organisation_ids: Sequence[int],
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> learning.LearningEntry:
        with self._cycle_op(
            cycle_id,
            actor,
            "record learning",
            expected_version=expected_version,
            reach=reach,
            organisation_ids=organisation_ids,
        ) as op:
            return learning.add_learning(
                op, kind=kind, title=title, text=text, organisation_ids=organisation_ids
            )

    def learning_log(self, cycle_id: int) -> list[learning.LearningEntry]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return learning.learning_of(session, cycle_id)

    # -- the report --------------------------------------------------------------------

    def cycle_report(self, cycle_id: int) -> CycleReport:
        """Everything the cycle's report compiles, as data."""
        with self.db.read_session() as session:
            cycle = self._read_cycle(session, cycle_id)
            spec = self.templates.spec(session, cycle.template_id)
            return build_report(session, cycle, spec, self.clock.now())

    def render_report(self, cycle_id: int, fmt: str = "markdown") -> str:
        """The cycle report as Markdown (`fmt="markdown"`) or HTML (`fmt="html"`)."""
        return render_report(self.cycle_report(cycle_id), fmt)

    @staticmethod
    def _read_cycle(session: Session, cycle_id: int) -> CycleRecord:
        cycle = session.get(CycleRecord, cycle_id)
        if cycle is None:
            raise CycleNotFound(cycle_id)
        return cycle
