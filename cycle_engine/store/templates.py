"""Publishing template versions and handing out their specs and compiled machines.

A version is immutable once published, so its spec and machine are cached by template id for
the life of the engine. Publishing the same content under the same key and owner returns that
version; changed content gets the owner's next version number. A template is built-in
(`alliance_id` None) or one alliance's; who may publish what is decided above, in
`cycle_engine.templates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from cycle_engine.clock import Clock
from cycle_engine.errors import InvalidInput, TemplateNotFound
from cycle_engine.spec import load_template_text
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.machine import CycleMachine
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.store.tables.templates import PUBLISHED, RETIRED


@dataclass(frozen=True, kw_only=True)
class PublishedTemplate:
    """The outcome of a publish: which version the content is, whether it is new, and whose
    it is (`alliance_id` None: built-in)."""

    id: int
    key: str
    version: int
    content_hash: str
    title: str
    created: bool
    alliance_id: int | None = None


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

    def publish(
        self,
        session: Session,
        text: str,
        source_name: str,
        *,
        alliance_id: int | None = None,
        published_by: str = "system",
    ) -> PublishedTemplate:
        """Publish `text` (YAML) as a version of its key, built-in (`alliance_id` None) or owned
        by one alliance. The same content under the same owner is the same version (published
        again if it was retired); changed content gets the owner's next version number.

        Who may publish is the caller's business (`cycle_engine.templates`). Raises
        InvalidTemplate when invalid, InvalidInput when the key is another owner's: a built-in
        key stays the built-in template's in every alliance, so an alliance's own template
        needs its own key.
        """
        spec = self.validate(text, source_name)
        owned = owned_by(alliance_id)
        existing = session.exec(
            select(TemplateRecord).where(
                TemplateRecord.key == spec.key,
                TemplateRecord.content_hash == spec.content_hash,
                owned,
            )
        ).first()
        if existing is not None:
            if existing.status == RETIRED:
                existing.status = PUBLISHED
                session.add(existing)
                session.flush()
            return _published(existing, created=False)
        refuse_key_of_other_owner(session, spec.key, alliance_id)
        latest = session.exec(
            select(func.max(TemplateRecord.version)).where(TemplateRecord.key == spec.key, owned)
        ).one()
        record = TemplateRecord(
            key=spec.key,
            version=(latest or 0) + 1,
            title=spec.title,
            content_hash=spec.content_hash,
            source_name=Path(source_name).name,
            source_text=text,
            published_at=self._clock.now(),
            alliance_id=alliance_id,
            status=PUBLISHED,
            published_by=published_by[:200],
        )
        session.add(record)
        session.flush()
        return _published(record, created=True)

    def resolve(
        self,
        session: Session,
        key: str,
        version: int | None = None,
        *,
        alliance_id: int | None = None,
        usable: bool = False,
    ) -> TemplateRecord:
        """The record of `key` at `version` (latest when None) among the built-in templates and
        those of `alliance_id`; raises TemplateNotFound.

        `usable`: for starting a cycle, so the latest version not retired; raises InvalidInput
        when every version, or the version asked for, is retired.
        """
        query = select(TemplateRecord).where(
            TemplateRecord.key == key,
            or_(col(TemplateRecord.alliance_id).is_(None), owned_by(alliance_id)),
        )
        if version is not None:
            if version < 1:
                raise InvalidInput("version", f"must be 1 or more, got {version}")
            query = query.where(TemplateRecord.version == version)
        records = list(session.exec(query.order_by(col(TemplateRecord.version).desc())))
        if not records:
            raise TemplateNotFound(key if version is None else f"{key}@{version}")
        if not usable:
            return records[0]
        published = [r for r in records if r.status != RETIRED]
        if not published:
            field = "template_key" if version is None else "template_version"
            which = key if version is None else f"{key} v{version}"
            raise InvalidInput(
                field, f"template {which} is retired; start the cycle on a published version"
            )
        return published[0]

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

    def list(
        self,
        session: Session,
        key: str | None = None,
        *,
        where: ColumnElement[bool] | None = None,
    ) -> list[TemplateRecord]:
        """Every version (of `key`, among those `where` keeps), by key, owner and version."""
        query = select(TemplateRecord)
        if key is not None:
            query = query.where(TemplateRecord.key == key)
        if where is not None:
            query = query.where(where)
        order = (
            col(TemplateRecord.key),
            col(TemplateRecord.alliance_id).is_not(None),
            col(TemplateRecord.alliance_id),
            col(TemplateRecord.version),
        )
        return list(session.exec(query.order_by(*order)))


def _published(record: TemplateRecord, *, created: bool) -> PublishedTemplate:
    assert record.id is not None
    return PublishedTemplate(
        id=record.id,
        key=record.key,
        version=record.version,
        content_hash=record.content_hash,
        title=record.title,
        created=created,
        alliance_id=record.alliance_id,
    )


def owned_by(alliance_id: int | None) -> ColumnElement[bool]:
    """A condition on `TemplateRecord`: the built-in templates (None) or one alliance's."""
    column = col(TemplateRecord.alliance_id)
    return column.is_(None) if alliance_id is None else column == alliance_id


def refuse_key_of_other_owner(session: Session, key: str, alliance_id: int | None) -> None:
    """Raise InvalidInput when `key` is taken on the other side of the built-in/alliance line.

    A built-in key would be ambiguous inside any alliance that also had it, so an alliance may
    not use one, and a new built-in template may not take a key an alliance already uses.
    """
    column = col(TemplateRecord.alliance_id)
    other = column.is_not(None) if alliance_id is None else column.is_(None)
    owners = set(
        session.exec(
            select(TemplateRecord.alliance_id).where(TemplateRecord.key == key, other)
        ).all()
    )
    if not owners:
        return
    if alliance_id is not None:
        raise InvalidInput(
            "key",
            f"{key!r} is the key of a built-in template every alliance shares; give your "
            "alliance's template its own key (to start from the built-in one, copy it under a "
            "new key)",
        )
    numbers = ", ".join(str(owner) for owner in sorted(o for o in owners if o is not None))
    raise InvalidInput(
        "key",
        f"{key!r} is already the key of a template of alliance {numbers}; a built-in template "
        "needs a key no alliance uses",
    )
