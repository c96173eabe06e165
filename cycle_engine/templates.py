"""`TemplateService` (`engine.templates`): validate, publish and read cycle templates.

Specs and machines come from the one cache (`store.templates.TemplateStore`), built with the
engine's own guard registry: every path that needs a cycle's spec (start, fire, the worker, stall
checks, the report, the CLI, the API, the dashboard) asks the same store, so a host guard works
wherever a template names it.
"""

from __future__ import annotations

from pathlib import Path

from cycle_engine.spec import builtin_template_paths
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import Database
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.store.templates import PublishedTemplate, TemplateStore


class TemplateService:
    """Template versions: publish (same content, same version), list, and their specs."""

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

    def publish(self, text: str, source_name: str = "<text>") -> PublishedTemplate:
        """Publish a template version (same content -> same version); raises InvalidTemplate."""
        with self.db.transaction() as session:
            return self.store.publish(session, text, source_name)

    def publish_file(self, path: str | Path) -> PublishedTemplate:
        path = Path(path)
        return self.publish(path.read_text(encoding="utf-8"), str(path))

    def publish_builtins(self) -> list[PublishedTemplate]:
        """Publish every built-in template (a no-op for versions already published)."""
        return [self.publish_file(path) for path in builtin_template_paths()]

    def list(self, key: str | None = None) -> list[TemplateRecord]:
        """Every published version (of one key), by key and version."""
        with self.db.read_session() as session:
            return self.store.list(session, key)

    def spec(self, key: str, version: int | None = None) -> TemplateSpec:
        """The spec of `key` at `version` (latest when None); raises TemplateNotFound."""
        return self.version(key, version)[1]

    def version(self, key: str, version: int | None = None) -> tuple[TemplateRecord, TemplateSpec]:
        """The published version of `key` (latest when None) and its spec; raises
        TemplateNotFound."""
        with self.db.read_session() as session:
            record = self.store.resolve(session, key, version)
            assert record.id is not None
            return record, self.store.spec(session, record.id)

    def spec_of(self, template_id: int) -> TemplateSpec:
        """The spec of a published version, by its id (a cycle's `template_id`)."""
        with self.db.read_session() as session:
            return self.store.spec(session, template_id)
