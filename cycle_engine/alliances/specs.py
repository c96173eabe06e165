"""A cycle's template spec from a bare session, for queries that run without an engine (the
scheduler's stall reasons, the report). Specs are immutable per template version, so they are
cached by template id and content hash."""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session

from cycle_engine.errors import TemplateNotFound
from cycle_engine.spec import load_template_text
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, TemplateRecord


def cycle_spec(session: Session, cycle: CycleRecord) -> TemplateSpec:
    """The template spec `cycle` runs on; raises TemplateNotFound if its version is gone."""
    record = session.get(TemplateRecord, cycle.template_id)
    if record is None:
        raise TemplateNotFound(cycle.template_id)
    assert record.id is not None
    return _load(record.id, record.content_hash, record.source_text, record.source_name)


@lru_cache(maxsize=64)
def _load(template_id: int, content_hash: str, text: str, source_name: str) -> TemplateSpec:
    from cycle_engine.spec.guards import default_guards

    return load_template_text(text, source_name, default_guards())
