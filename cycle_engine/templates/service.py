"""`TemplateService` (`engine.templates`): validate, publish, copy, retire, read and compare
cycle templates, each owned by an alliance or built-in (see `templates.ownership`).

Specs and machines come from the one cache (`store.templates.TemplateStore`), built with the
engine's own guard registry: every path that needs a cycle's spec (start, fire, the worker, stall
checks, the report, the CLI, the API, the dashboard) asks the same store, so a host guard works
wherever a template names it. Every command takes the caller's `actor` and `reach` (None: the
engine itself, as the library and the CLI act) and checks them in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from sqlalchemy import or_
from sqlmodel import col

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import InvalidInput, TemplateNotFound
from cycle_engine.spec import builtin_template_paths
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.spec.validate import TEMPLATE_KEY
from cycle_engine.store.db import Database
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.store.tables.templates import RETIRED
from cycle_engine.store.templates import PublishedTemplate, TemplateStore, owned_by
from cycle_engine.templates import ownership
from cycle_engine.templates.diff import TemplateDiff, diff_templates

_KEY_LINE = re.compile(r"^key:[^\n]*$", re.MULTILINE)


class TemplateService:
    """Template versions: publish (same content, same version), copy, retire, list, diff."""

    def __init__(self, *, db: Database, store: TemplateStore) -> None:
        self.db = db
        self.store = store

    @property
    def guards(self) -> GuardRegistry:
        """The guards templates of this engine may name (built-in and the host's)."""
        return self.store.guards

    def validate(self, text: str, source_name: str = "<text>") -> TemplateSpec:
        """Load and validate a template; raises InvalidTemplate naming every problem."""
        return self.store.validate(text, source_name)

    def publish(
        self,
        text: str,
        source_name: str = "<text>",
        *,
        alliance_id: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> PublishedTemplate:
        """Publish a template version, built-in (`alliance_id` None) or of one alliance.

        The same content under the same owner is the same version; changed content is the
        owner's next version. Raises InvalidTemplate, InvalidInput (the key is another owner's),
        TemplateNotFound (the alliance is out of reach) and NotPermitted (not its coordinator;
        for a built-in template, no administrator).
        """
        with self.db.transaction() as session:
            action = (
                "publish a template" if alliance_id is not None else "publish a built-in template"
            )
            ownership.require_changer(session, actor, reach, alliance_id, action)
            return self.store.publish(
                session, text, source_name, alliance_id=alliance_id, published_by=actor.name
            )

    def publish_file(
        self,
        path: str | Path,
        *,
        alliance_id: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> PublishedTemplate:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        return self.publish(text, str(path), alliance_id=alliance_id, actor=actor, reach=reach)

    def publish_builtins(self) -> list[PublishedTemplate]:
        """Publish every built-in template (a no-op for versions already published)."""
        return [self.publish_file(path) for path in builtin_template_paths()]

    def copy(
        self,
        key: str,
        new_key: str,
        *,
        alliance_id: int,
        version: int | None = None,
        from_alliance_id: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> PublishedTemplate:
        """Copy a template the caller sees (a built-in one, or one of its alliances') into
        `alliance_id` under `new_key`, as that alliance's own to change.

        Raises TemplateNotFound, InvalidInput (a bad or taken key) and NotPermitted.
        """
        if not TEMPLATE_KEY.match(new_key or "") or len(new_key) > 100:
            raise InvalidInput(
                "new_key",
                f"{new_key!r} is not a template key (kebab-case or lower_snake_case, at most 100)",
            )
        with self.db.transaction() as session:
            ownership.require_changer(session, actor, reach, alliance_id, "copy a template")
            source = ownership.find(
                session, key, version, alliance_id=from_alliance_id, reach=reach
            )
            text = with_key(source.source_text, new_key)
            name = f"{new_key}.yaml"
            return self.store.publish(
                session, text, name, alliance_id=alliance_id, published_by=actor.name
            )

    def retire(
        self,
        key: str,
        *,
        alliance_id: int | None = None,
        version: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> list[TemplateRecord]:
        """Retire one version of a template, or every version (`version` None): no new cycle
        starts on it and no plan moves cycles to it; cycles already on it run on.

        Returns the versions retired now. Raises TemplateNotFound and NotPermitted.
        """
        with self.db.transaction() as session:
            record = ownership.find(session, key, version, alliance_id=alliance_id, reach=reach)
            owner = record.alliance_id
            ownership.require_changer(session, actor, reach, owner, f"retire template {key!r}")
            versions = self.store.list(session, key, where=owned_by(owner))
            chosen = [r for r in versions if version is None or r.version == version]
            retired = []
            for row in chosen:
                if row.status != RETIRED:
                    row.status = RETIRED
                    session.add(row)
                    retired.append(row)
            session.flush()
            return retired

    def list(
        self,
        key: str | None = None,
        *,
        alliance_id: int | None = None,
        reach: Reach | None = None,
    ) -> list[TemplateRecord]:
        """Every version in reach (of one key; with `alliance_id`, the built-in templates and
        that alliance's), by key, owner and version."""
        with self.db.read_session() as session:
            where = ownership.visible(reach)
            if alliance_id is not None:
                if not ownership.sees_owner(session, reach, alliance_id):
                    return []
                where = or_(
                    col(TemplateRecord.alliance_id).is_(None),
                    col(TemplateRecord.alliance_id) == alliance_id,
                )
            return self.store.list(session, key, where=where)

    def spec(
        self,
        key: str,
        version: int | None = None,
        *,
        alliance_id: int | None = None,
        reach: Reach | None = None,
    ) -> TemplateSpec:
        """The spec of `key` at `version` (latest when None); raises TemplateNotFound."""
        return self.version(key, version, alliance_id=alliance_id, reach=reach)[1]

    def version(
        self,
        key: str,
        version: int | None = None,
        *,
        alliance_id: int | None = None,
        reach: Reach | None = None,
    ) -> tuple[TemplateRecord, TemplateSpec]:
        """The version of `key` the caller means (latest when None) and its spec; see
        `ownership.find`. Raises TemplateNotFound, InvalidInput."""
        with self.db.read_session() as session:
            record = ownership.find(session, key, version, alliance_id=alliance_id, reach=reach)
            assert record.id is not None
            return record, self.store.spec(session, record.id)

    def spec_of(self, template_id: int) -> TemplateSpec:
        """The spec of a published version, by its id (a cycle's `template_id`)."""
        with self.db.read_session() as session:
            return self.store.spec(session, template_id)

    def record_of(self, template_id: int) -> TemplateRecord:
        """The published version with this id (its key, version and owner); raises
        TemplateNotFound."""
        with self.db.read_session() as session:
            record = session.get(TemplateRecord, template_id)
            if record is None:
                raise TemplateNotFound(template_id)
            return record

    def diff(
        self,
        key: str,
        from_version: int,
        to_version: int,
        *,
        from_key: str | None = None,
        alliance_id: int | None = None,
        renames: Mapping[str, str] | None = None,
        reach: Reach | None = None,
    ) -> TemplateDiff:
        """What changed from `from_key` (default `key`) at `from_version` to `key` at
        `to_version`, in words; `renames` maps old stage keys to new ones.

        Raises TemplateNotFound, InvalidInput (a mapping naming a stage neither has).
        """
        before_record, before = self.version(
            from_key or key, from_version, alliance_id=alliance_id, reach=reach
        )
        after_record, after = self.version(key, to_version, alliance_id=alliance_id, reach=reach)
        renames = dict(renames or {})
        check_renames(renames, before, after)
        return TemplateDiff(
            before=before_record.label,
            after=after_record.label,
            renames=renames,
            lines=tuple(diff_templates(before, after, renames=renames)),
        )


def check_renames(renames: Mapping[str, str], before: TemplateSpec, after: TemplateSpec) -> None:
    """Raise InvalidInput for a mapping whose old stage `before` lacks or whose new stage
    `after` lacks."""
    for old, new in renames.items():
        if not before.has_stage(old):
            raise InvalidInput(
                "stage_map", f"{old!r} is not a stage of {before.key} (mapping {old}: {new})"
            )
        if not after.has_stage(new):
            raise InvalidInput(
                "stage_map", f"{new!r} is not a stage of {after.key} (mapping {old}: {new})"
            )


def with_key(text: str, key: str) -> str:
    """The template `text` with its top-level `key:` set to `key` (comments kept)."""
    if _KEY_LINE.search(text):
        return _KEY_LINE.sub(f"key: {key}", text, count=1)
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise InvalidInput("template", "the template to copy is not a YAML mapping")
    document["key"] = key
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
