"""`AllianceCommands`: the alliance-domain commands and queries of `CycleEngine` (a mixin).

Every command is one transaction: the change, its event and whatever the listeners add commit
together, and a refused command changes nothing (a product file written for it is removed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances import alliances as registry
from cycle_engine.alliances import (
    contexts,
    learning,
    participation,
    people,
    products,
    questions,
    workplan,
)
from cycle_engine.alliances.common import CycleOp, get_alliance, get_person
from cycle_engine.alliances.files import FileStore, StoredFile
from cycle_engine.alliances.models import (
    AllianceRecord,
    AllianceRoleRecord,
    ContextRecord,
    ContextResultRecord,
    MembershipRecord,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
    PlanRecord,
    ProductRecord,
    QuestionRecord,
)
from cycle_engine.alliances.report import CycleReport, build_report, render_report
from cycle_engine.changes import ChangeListener
from cycle_engine.clock import Clock
from cycle_engine.cycles import lock_cycle
from cycle_engine.db import Database
from cycle_engine.errors import CycleNotFound, InvalidInput, RecordNotFound
from cycle_engine.models import CycleRecord
from cycle_engine.template_store import TemplateStore


class AllianceCommands:
    """Alliances, organisations, people and the domain work on cycles."""

    db: Database
    clock: Clock
    listeners: list[ChangeListener]
    templates: TemplateStore
    files: FileStore

    @contextmanager
    def _cycle_op(self, cycle_id: int, actor: Actor) -> Iterator[CycleOp]:
        """One write transaction on one locked cycle; removes stored files if it fails."""
        with self.db.transaction() as session:
            cycle = lock_cycle(session, cycle_id)
            spec = self.templates.spec(session, cycle.template_id)
            yield CycleOp(
                session=session,
                cycle=cycle,
                spec=spec,
                actor=actor,
                now=self.clock.now(),
                listeners=self.listeners,
            )

    def _today(self) -> date:
        return self.clock.now().date()

    # -- alliances and organisations ---------------------------------------------------

    def create_alliance(
        self,
        name: str,
        theme: str,
        *,
        timezone: str = "UTC",
        language: str = "en",
        working_hours_start: int = 9,
        working_hours_end: int = 17,
        weekend_days: str = "5,6",
    ) -> AllianceRecord:
        """Register an alliance. Raises InvalidInput (bad zone, language, hours; used name)."""
        with self.db.transaction() as session:
            return registry.create_alliance(
                session,
                self.clock.now(),
                name=name,
                theme=theme,
                timezone=timezone,
                language=language,
                working_hours_start=working_hours_start,
                working_hours_end=working_hours_end,
                weekend_days=weekend_days,
            )

    def get_alliance(self, alliance_id: int) -> AllianceRecord:
        with self.db.read_session() as session:
            return get_alliance(session, alliance_id)

    def find_alliance(self, name: str) -> AllianceRecord | None:
        with self.db.read_session() as session:
            return registry.find_alliance(session, name)

    def list_alliances(self) -> list[AllianceRecord]:
        with self.db.read_session() as session:
            return list(session.exec(select(AllianceRecord).order_by(col(AllianceRecord.name))))

    def add_organisation(
        self, name: str, kind: str, country: str, *, timezone: str = "UTC"
    ) -> OrganisationRecord:
        """Register an organisation (kind: research, ngo, donor, government, private, local)."""
        with self.db.transaction() as session:
            return registry.add_organisation(
                session,
                self.clock.now(),
                name=name,
                kind=kind,
                country=country,
                timezone=timezone,
            )

    def list_organisations(self) -> list[OrganisationRecord]:
        with self.db.read_session() as session:
            return list(
                session.exec(select(OrganisationRecord).order_by(col(OrganisationRecord.name)))
            )

    def join_alliance(
        self,
        alliance_id: int,
        organisation_id: int,
        *,
        joined_on: date | None = None,
        works_with_id: int | None = None,
    ) -> MembershipRecord:
        """Seat an organisation in an alliance (it may sit in several)."""
        with self.db.transaction() as session:
            return registry.join_alliance(
                session,
                alliance_id=alliance_id,
                organisation_id=organisation_id,
                joined_on=joined_on or self._today(),
                works_with_id=works_with_id,
            )

    def alliance_members(self, alliance_id: int) -> list[registry.Member]:
        with self.db.read_session() as session:
            return registry.members(session, alliance_id)

    def alliances_of(self, organisation_id: int) -> list[AllianceRecord]:
        with self.db.read_session() as session:
            return registry.alliances_of(session, organisation_id)

    # -- people ------------------------------------------------------------------------

    def add_person(
        self,
        name: str,
        email: str,
        organisation_id: int,
        *,
        joined_on: date | None = None,
        language: str = "en",
        timezone: str | None = None,
    ) -> PersonRecord:
        """Register a person in an organisation (time zone defaults to the organisation's)."""
        with self.db.transaction() as session:
            return people.add_person(
                session,
                name=name,
                email=email,
                organisation_id=organisation_id,
                joined_on=joined_on or self._today(),
                language=language,
                timezone=timezone,
            )

    def get_person(self, person_id: int) -> PersonRecord:
        with self.db.read_session() as session:
            return get_person(session, person_id)

    def list_people(
        self, *, organisation_id: int | None = None, alliance_id: int | None = None
    ) -> list[PersonRecord]:
        query = select(PersonRecord)
        if organisation_id is not None:
            query = query.where(PersonRecord.organisation_id == organisation_id)
        if alliance_id is not None:
            query = query.join(
                MembershipRecord,
                col(MembershipRecord.organisation_id) == PersonRecord.organisation_id,
            ).where(MembershipRecord.alliance_id == alliance_id)
        with self.db.read_session() as session:
            return list(session.exec(query.order_by(col(PersonRecord.name))))

    def grant_role(self, alliance_id: int, person_id: int, role: str) -> AllianceRoleRecord:
        """Make a person coordinator or manager of an alliance."""
        with self.db.transaction() as session:
            return people.grant_role(
                session, alliance_id=alliance_id, person_id=person_id, role=role
            )

    def people_with_role(self, alliance_id: int, role: str) -> list[PersonRecord]:
        with self.db.read_session() as session:
            get_alliance(session, alliance_id)
            return people.people_with_role(session, alliance_id, role)

    def person_left(
        self,
        person_id: int,
        *,
        left_on: date | None = None,
        actor: Actor = SYSTEM,
        note: str | None = None,
    ) -> dict[int, list[str]]:
        """Record that a person left; returns {cycle_id: stages now needing a focal point}."""
        now = self.clock.now()
        with self.db.transaction() as session:
            return people.record_departure(
                session,
                person_id=person_id,
                left_on=left_on or now.date(),
                actor=actor,
                now=now,
                listeners=self.listeners,
                note=note,
                spec_of=lambda cycle: self.templates.spec(session, cycle.template_id),
            )

    def turnover(
        self, alliance_id: int, *, since: date | None = None, until: date | None = None
    ) -> list[people.OrganisationTurnover]:
        with self.db.read_session() as session:
            return people.turnover(session, alliance_id, since=since, until=until)

    def workload(self, alliance_id: int) -> list[people.OrganisationWorkload]:
        with self.db.read_session() as session:
            return people.workload(session, alliance_id)

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
    ) -> ParticipationRecord:
        """Record that an organisation leads, takes active part in, or is informed of a stage."""
        with self._cycle_op(cycle_id, actor) as op:
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

    def stages_lacking_focal_point(self, cycle_id: int) -> dict[str, str]:
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            return participation.stages_lacking_focal_point(session, cycle_id)

    def recipients_for_stage(self, cycle_id: int, stage: str) -> list[participation.Recipient]:
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
    ) -> list[PlanRecord]:
        """Move a stage's due date (with a reason) and re-plan the later stages."""
        with self._cycle_op(cycle_id, actor) as op:
            return workplan.move_due_date(op, stage=stage, due=due, reason=reason)

    # -- questions, products, contexts, learning ---------------------------------------

    def add_questions(
        self, cycle_id: int, texts: Sequence[str], *, actor: Actor = SYSTEM
    ) -> list[QuestionRecord]:
        with self._cycle_op(cycle_id, actor) as op:
            return questions.add_questions(op, texts)

    def answer_questions(
        self, cycle_id: int, answers: Mapping[int, str], *, actor: Actor = SYSTEM
    ) -> list[QuestionRecord]:
        with self._cycle_op(cycle_id, actor) as op:
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
        author_organisation_id: int,
        *,
        stage: str | None = None,
        link: str | None = None,
        form: str | None = None,
        file: Path | None = None,
        file_name: str | None = None,
        content: bytes | None = None,
        actor: Actor = SYSTEM,
    ) -> ProductRecord:
        """Record a product with a link and/or a file (`file` path, or `file_name` + `content`).

        Raises InvalidInput for an oversized file or one whose content does not match its type.
        """
        if file is not None:
            content, file_name = Path(file).read_bytes(), Path(file).name
        if content is not None and not file_name:
            raise InvalidInput("file_name", "a file's content needs its name")
        stored: StoredFile | None = None
        if content is not None and file_name:
            stored = self.files.save(cycle_id, file_name, content)
        try:
            with self._cycle_op(cycle_id, actor) as op:
                return products.add_product(
                    op,
                    kind=kind,
                    title=title,
                    author_organisation_id=author_organisation_id,
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
    ) -> ContextRecord:
        with self._cycle_op(cycle_id, actor) as op:
            return contexts.add_context(
                op,
                name=name,
                country=country,
                community=community,
                organisation_id=organisation_id,
            )

    def set_context_status(
        self, cycle_id: int, context_id: int, status: str, *, actor: Actor = SYSTEM
    ) -> ContextRecord:
        with self._cycle_op(cycle_id, actor) as op:
            return contexts.set_status(op, context_id=context_id, status=status)

    def report_context(
        self,
        cycle_id: int,
        context_id: int,
        summary: str,
        rating: str,
        *,
        actor: Actor = SYSTEM,
    ) -> ContextResultRecord:
        """Record a context's results (rating strong, mixed or weak) for this testing round."""
        with self._cycle_op(cycle_id, actor) as op:
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
    ) -> learning.LearningEntry:
        with self._cycle_op(cycle_id, actor) as op:
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
