"""Publishing template versions and handing out their specs and compiled machines.

A version is immutable once published, so its spec and machine are cached by template id for
the life of the engine. Publishing the same content under the same key returns that version;
changed content gets the next version number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from cycle_engine.clock import Clock
from cycle_engine.errors import InvalidInput, TemplateNotFound
from cycle_engine.spec import load_template_text
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.machine import CycleMachine
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import TemplateRecord


@dataclass(frozen=True, kw_only=True)
class PublishedTemplate:
    """The outcome of a publish: which version the content is, and whether it is new."""

    id: int
    key: str
    version: int
    content_hash: str
    title: str
    created: bool


class TemplateStore:
    """Template versions in the database, with their specs and machines cached."""

    def __init__(self, guards: GuardRegistry, clock: Clock) -> None:
        self.guards = guards
        self._clock = clock
        self._specs: dict[int, TemplateSpec] = {}
        self._machines: dict[int, CycleMachine] = {}
        self._versions: dict[int, int] = {}

    def validate(self, text: str, source_name: str) -> TemplateSpec:
        """Load and validate without publishing; raises InvalidTemplate listing every problem."""
        return load_template_text(text, source_name, self.guards)

    def publish(self, session: Session, text: str, source_name: str) -> PublishedTemplate:
        """Publish `text` (YAML) as a version of its key; raises InvalidTemplate when invalid."""
        spec = self.validate(text, source_name)
        existing = session.exec(
            select(TemplateRecord).where(
                TemplateRecord.key == spec.key, TemplateRecord.content_hash == spec.content_hash
            )
        ).first()
        if existing is not None:
            return _published(existing, created=False)
        latest = session.exec(
            select(func.max(TemplateRecord.version)).where(TemplateRecord.key == spec.key)
        ).one()
        record = TemplateRecord(
            key=spec.key,
            version=(latest or 0) + 1,
            title=spec.title,
            content_hash=spec.content_hash,
            source_name=Path(source_name).name,
            source_text=text,
            published_at=self._clock.now(),
        )
        session.add(record)
        session.flush()
        return _published(record, created=True)

    def resolve(self, session: Session, key: str, version: int | None = None) -> TemplateRecord:
        """The record of `key` at `version` (latest when None); raises TemplateNotFound."""
        query = select(TemplateRecord).where(TemplateRecord.key == key)
        if version is not None:
            if version < 1:
                raise InvalidInput("version", f"must be 1 or more, got {version}")
            query = query.where(TemplateRecord.version == version)
        record = session.exec(query.order_by(TemplateRecord.version.desc())).first()  # type: ignore[attr-defined]
        if record is None:
            raise TemplateNotFound(key if version is None else f"{key}@{version}")
        return record

    def spec(self, session: Session, template_id: int) -> TemplateSpec:
        cached = self._specs.get(template_id)
        if cached is not None:
            return cached
        record = session.get(TemplateRecord, template_id)
        if record is None:
            raise TemplateNotFound(template_id)
        spec = load_template_text(record.source_text, record.source_name, self.guards)
        self._specs[template_id] = spec
        self._versions[template_id] = record.version
        return spec

    def version_number(self, session: Session, template_id: int) -> int:
        """The version number of the published template `template_id` (cached with its spec)."""
        if template_id not in self._versions:
            self.spec(session, template_id)
        return self._versions[template_id]

    def machine(self, session: Session, template_id: int) -> CycleMachine:
        cached = self._machines.get(template_id)
        if cached is not None:
            return cached
        machine = CycleMachine(self.spec(session, template_id), self.guards)
        self._machines[template_id] = machine
        return machine

    def list(self, session: Session, key: str | None = None) -> list[TemplateRecord]:
        query = select(TemplateRecord)
        if key is not None:
            query = query.where(TemplateRecord.key == key)
        return list(
            session.exec(query.order_by(col(TemplateRecord.key), col(TemplateRecord.version)))
        )


def _published(record: TemplateRecord, *, created: bool) -> PublishedTemplate:
    assert record.id is not None
    return PublishedTemplate(
        id=record.id,
        key=record.key,
        version=record.version,
        content_hash=record.content_hash,
        title=record.title,
        created=created,
    )
