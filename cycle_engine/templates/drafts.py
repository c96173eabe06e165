"""`DraftService` (`engine.drafts`): templates being edited, saved as drafts of an alliance.

    draft = engine.drafts.start(alliance_id=3, key="our-cycle", actor=ana, reach=ana_reach)
    draft = engine.drafts.save(draft.id, text, revision=draft.revision, actor=ana, reach=...)
    preview = engine.drafts.publish_preview(draft.id, actor=ana, reach=...)
    published = engine.drafts.publish(draft.id, revision=draft.revision, actor=ana, reach=...)

A draft is text (the template's YAML, comments and all) with a revision number; no cycle can
run on it, since cycles only name published versions. Saving names the revision the editor
started from: if someone saved in between, `DraftConflict` says who and when, and nothing is
overwritten. Every save records who changed what (in words) and when. Only coordinators of the
owning alliance (administrators, for a draft of a built-in template) see or change a draft;
everyone else does not find it. Publishing validates with the same validator as the CLI,
publishes through the template store and removes the draft, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.clock import Clock
from cycle_engine.errors import InputConflict, InvalidInput, NotFound, NotPermitted, RecordNotFound
from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.spec.validate import TEMPLATE_KEY
from cycle_engine.store.db import Database
from cycle_engine.store.tables.drafts import TemplateDraftChangeRecord, TemplateDraftRecord
from cycle_engine.store.templates import PublishedTemplate, TemplateStore
from cycle_engine.templates import ownership
from cycle_engine.templates.draft_preview import PublishPreview, preview_publish
from cycle_engine.templates.draft_words import describe_change, document_key, document_title
from cycle_engine.templates.service import with_key

#: What a template started from nothing holds: the smallest text that names its key.
EMPTY_TEMPLATE = "key: {key}\ntitle: ''\nstages: []\ntransitions: []\n"


class DraftConflict(InputConflict):
    """The draft was saved by someone else since the editor read it; nothing was overwritten."""

    def __init__(self, draft: TemplateDraftRecord, expected: int) -> None:
        self.current = draft
        self.expected = expected
        super().__init__(
            "revision",
            f"{draft.updated_by} saved this draft (revision {draft.revision}) at "
            f"{draft.updated_at:%Y-%m-%d %H:%M} UTC after you opened revision {expected}; "
            "your changes were not saved",
        )


@dataclass(frozen=True, kw_only=True)
class DraftChange:
    revision: int
    changed_by: str
    changed_at: datetime
    summary: str


@dataclass(frozen=True, kw_only=True)
class Draft:
    """A draft as the editor shows it, with its history (newest first)."""

    id: int
    alliance_id: int | None
    key: str
    title: str
    text: str
    revision: int
    based_on_id: int | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    changes: tuple[DraftChange, ...] = ()


def check_size(text: str) -> None:
    """Refuse a template text larger than the loader accepts (InvalidInput, nothing stored)."""
    size = len(text.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidInput(
            "yaml", f"the template is {size} bytes; a template is at most {MAX_TEMPLATE_BYTES}"
        )


class DraftService:
    """Drafts of one database: start, read, list, save (with a revision check), publish."""

    def __init__(self, *, db: Database, clock: Clock, store: TemplateStore) -> None:
        self.db = db
        self.clock = clock
        self.store = store

    def validate(self, text: str, source_name: str = "<draft>") -> TemplateSpec:
        """The draft's spec; raises InvalidTemplate listing every problem (the CLI's checks)."""
        return self.store.validate(text, source_name)

    def start(
        self,
        *,
        alliance_id: int | None,
        key: str,
        from_key: str | None = None,
        from_version: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> Draft:
        """A new draft of `alliance_id` (None: a built-in template, for administrators) under
        `key`: a copy of `from_key` (a template the caller sees) or an empty template.

        Raises InvalidInput (a bad key), TemplateNotFound, NotPermitted.
        """
        if not TEMPLATE_KEY.match(key or "") or len(key) > 100:
            raise InvalidInput(
                "key",
                f"{key!r} is not a template key (kebab-case or lower_snake_case, at most 100)",
            )
        now = self.clock.now()
        with self.db.transaction() as session:
            ownership.require_changer(session, actor, reach, alliance_id, "edit a template")
            based_on = None
            text = EMPTY_TEMPLATE.format(key=key)
            if from_key:
                source = ownership.find(
                    session, from_key, from_version, alliance_id=alliance_id, reach=reach
                )
                text, based_on = with_key(source.source_text, key), source.id
            check_size(text)
            record = TemplateDraftRecord(
                alliance_id=alliance_id,
                key=key,
                title=document_title(text)[:200],
                source_text=text,
                revision=1,
                based_on_id=based_on,
                created_by=actor.name,
                created_at=now,
                updated_by=actor.name,
                updated_at=now,
            )
            session.add(record)
            session.flush()
            assert record.id is not None
            origin = f"copied from {from_key}" if from_key else "started from nothing"
            _log(session, record, actor, now, f"Draft {origin}.")
            return _draft(session, record)

    def get(self, draft_id: int, *, actor: Actor = SYSTEM, reach: Reach | None = None) -> Draft:
        """The draft with its history; raises RecordNotFound (also when out of reach),
        NotPermitted (the caller sees the alliance but does not coordinate it)."""
        with self.db.read_session() as session:
            record = _find(session, draft_id, actor, reach)
            return _draft(session, record)

    def list(
        self, *, alliance_id: int | None, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> list[Draft]:
        """The drafts of `alliance_id` (None: of built-in templates), newest change first;
        empty for a caller who may not edit them."""
        with self.db.read_session() as session:
            if not _may_edit(session, actor, reach, alliance_id):
                return []
            column = col(TemplateDraftRecord.alliance_id)
            owner = column.is_(None) if alliance_id is None else column == alliance_id
            query = select(TemplateDraftRecord).where(owner)
            records = session.exec(query.order_by(col(TemplateDraftRecord.updated_at).desc()))
            return [_draft(session, r, history=False) for r in records]

    def save(
        self,
        draft_id: int,
        text: str,
        *,
        revision: int,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> Draft:
        """Store `text` as the draft's next revision, if the draft is still at `revision`.

        The text need not be valid (a draft is work in progress) but is bounded in size.
        Raises DraftConflict (someone saved since), InvalidInput (too large), RecordNotFound,
        NotPermitted. Saving unchanged text changes nothing.
        """
        check_size(text)
        now = self.clock.now()
        with self.db.transaction() as session:
            record = _find(session, draft_id, actor, reach, lock=True)
            if record.revision != revision:
                raise DraftConflict(record, revision)
            if record.source_text == text:
                return _draft(session, record)
            summary = describe_change(record.source_text, text)
            record.source_text = text
            record.key = document_key(text) or record.key
            record.title = document_title(text)[:200]
            record.revision += 1
            record.updated_by, record.updated_at = actor.name, now
            session.add(record)
            session.flush()
            _log(session, record, actor, now, summary)
            return _draft(session, record)

    def publish_preview(
        self, draft_id: int, *, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> PublishPreview:
        """What publishing the draft now would do (see `draft_preview`); writes nothing."""
        with self.db.read_session() as session:
            record = _find(session, draft_id, actor, reach)
            return preview_publish(session, self.store, record, self.clock.now())

    def publish(
        self,
        draft_id: int,
        *,
        revision: int,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> PublishedTemplate:
        """Publish the draft as its owner's next version of its key and remove the draft.

        Raises DraftConflict (someone saved since the preview), InvalidTemplate (the draft
        has problems), InvalidInput (the key is another owner's), RecordNotFound, NotPermitted.
        """
        with self.db.transaction() as session:
            record = _find(session, draft_id, actor, reach, lock=True)
            if record.revision != revision:
                raise DraftConflict(record, revision)
            ownership.require_changer(
                session, actor, reach, record.alliance_id, "publish a template"
            )
            published = self.store.publish(
                session,
                record.source_text,
                f"{record.key}.yaml",
                alliance_id=record.alliance_id,
                published_by=actor.name,
            )
            _remove(session, record)
            return published

    def discard(
        self, draft_id: int, *, revision: int, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> None:
        """Delete the draft (if still at `revision`); raises DraftConflict, RecordNotFound."""
        with self.db.transaction() as session:
            record = _find(session, draft_id, actor, reach, lock=True)
            if record.revision != revision:
                raise DraftConflict(record, revision)
            _remove(session, record)


def _may_edit(session: Session, actor: Actor, reach: Reach | None, alliance_id: int | None) -> bool:
    try:
        ownership.require_changer(session, actor, reach, alliance_id, "edit a template")
    except (NotPermitted, NotFound):
        return False
    return True


def _find(
    session: Session, draft_id: int, actor: Actor, reach: Reach | None, *, lock: bool = False
) -> TemplateDraftRecord:
    query = select(TemplateDraftRecord).where(TemplateDraftRecord.id == draft_id)
    if lock:
        query = query.with_for_update()
    record = session.exec(query).first()
    if record is None or not ownership.sees_owner(session, reach, record.alliance_id):
        raise RecordNotFound("template draft", draft_id)
    ownership.require_changer(session, actor, reach, record.alliance_id, "edit a template")
    return record


def _remove(session: Session, record: TemplateDraftRecord) -> None:
    session.execute(
        delete(TemplateDraftChangeRecord).where(
            col(TemplateDraftChangeRecord.draft_id) == record.id
        )
    )
    session.delete(record)
    session.flush()


def _log(
    session: Session, record: TemplateDraftRecord, actor: Actor, now: datetime, summary: str
) -> None:
    assert record.id is not None
    session.add(
        TemplateDraftChangeRecord(
            draft_id=record.id,
            revision=record.revision,
            changed_by=actor.name,
            changed_at=now,
            summary=summary[:4000],
        )
    )
    session.flush()


def _draft(session: Session, record: TemplateDraftRecord, *, history: bool = True) -> Draft:
    assert record.id is not None
    changes: tuple[DraftChange, ...] = ()
    if history:
        query = (
            select(TemplateDraftChangeRecord)
            .where(TemplateDraftChangeRecord.draft_id == record.id)
            .order_by(col(TemplateDraftChangeRecord.revision).desc())
            .limit(50)
        )
        changes = tuple(
            DraftChange(
                revision=c.revision,
                changed_by=c.changed_by,
                changed_at=c.changed_at,
                summary=c.summary,
            )
            for c in session.exec(query)
        )
    return Draft(
        id=record.id,
        alliance_id=record.alliance_id,
        key=record.key,
        title=record.title,
        text=record.source_text,
        revision=record.revision,
        based_on_id=record.based_on_id,
        created_by=record.created_by,
        created_at=record.created_at,
        updated_by=record.updated_by,
        updated_at=record.updated_at,
        changes=changes,
    )
