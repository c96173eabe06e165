"""Every value list in the OpenAPI document is the engine's own (issue 19, item 4): organisation
kinds, product kinds and forms, context statuses, ratings, learning kinds, languages, levels,
roles, webhook events and problem types appear as enumerations equal to the tuples the engine
checks against, in requests and answers alike; documented defaults are accepted."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from cycle_engine.alliances.contexts import CONTEXT_STATUSES, RATINGS
from cycle_engine.alliances.learning import LEARNING_KINDS
from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KINDS
from cycle_engine.api import create_app, schemas, schemas_admin, schemas_domain
from cycle_engine.api.problems import PROBLEM_TYPE_PREFIX, PROBLEM_TYPES
from cycle_engine.store.tables.access import KEY_ROLES, WEBHOOK_EVENTS
from cycle_engine.store.tables.alliances import (
    ALLIANCE_ROLES,
    LANGUAGES,
    LEVELS,
    ORGANISATION_KINDS,
)
from cycle_engine.store.tables.history import ALLIANCE_EVENT_KINDS
from tests.api.conftest import api_settings

EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("OrganisationCreate", "kind"): ORGANISATION_KINDS,
    ("OrganisationUpdate", "kind"): ORGANISATION_KINDS,
    ("OrganisationPublic", "kind"): ORGANISATION_KINDS,
    ("ProductCreate", "kind"): PRODUCT_KINDS,
    ("ProductCreate", "form"): PRODUCT_FORMS,
    ("ProductPublic", "kind"): PRODUCT_KINDS,
    ("ProductPublic", "form"): PRODUCT_FORMS,
    ("ContextPublic", "status"): CONTEXT_STATUSES,
    ("ContextReport", "rating"): RATINGS,
    ("ContextResultPublic", "rating"): RATINGS,
    ("LearningCreate", "kind"): LEARNING_KINDS,
    ("LearningPublic", "kind"): LEARNING_KINDS,
    ("AllianceCreate", "language"): LANGUAGES,
    ("AlliancePublic", "language"): LANGUAGES,
    ("AllianceUpdate", "language"): LANGUAGES,
    ("PersonCreate", "language"): LANGUAGES,
    ("PersonPublic", "language"): LANGUAGES,
    ("PersonUpdate", "language"): LANGUAGES,
    ("ParticipationPublic", "level"): LEVELS,
    ("RoleGrant", "role"): ALLIANCE_ROLES,
    ("RoleGrantPublic", "role"): ALLIANCE_ROLES,
    ("KeyCreate", "role"): KEY_ROLES,
    ("KeyPublic", "role"): KEY_ROLES,
    ("WebhookCreate", "events"): WEBHOOK_EVENTS,
    ("WebhookPublic", "events"): WEBHOOK_EVENTS,
    ("WebhookCreated", "events"): WEBHOOK_EVENTS,
    ("AllianceEventPublic", "kind"): ALLIANCE_EVENT_KINDS,
    ("Problem", "type"): tuple(PROBLEM_TYPE_PREFIX + kind for kind in PROBLEM_TYPES),
}


def _enum(schema: dict[str, Any]) -> list[str] | None:
    """The enumeration a property states: on itself, on its non-null branch, or on its items."""
    if "enum" in schema:
        return list(schema["enum"])
    for branch in schema.get("anyOf", []):
        found = _enum(branch)
        if found is not None:
            return found
    if "items" in schema:
        return _enum(schema["items"])
    return None


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    app = create_app(api_settings(f"sqlite:///{tmp / 'doc.db'}", tmp))
    return app.openapi()


@pytest.mark.parametrize(("schema", "field"), sorted(EXPECTED))
def test_value_list_in_the_document_is_the_engines(
    document: dict[str, Any], schema: str, field: str
) -> None:
    properties = document["components"]["schemas"][schema]["properties"]
    assert _enum(properties[field]) == list(EXPECTED[(schema, field)])


def _models(*modules: ModuleType) -> set[str]:
    return {
        name
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }


def test_every_engine_value_list_is_checked_somewhere(document: dict[str, Any]) -> None:
    """No string property named like a value list is left without its enumeration (in the
    alliance, cycle and administration bodies)."""
    listed_names = {"kind", "form", "rating", "language", "level", "role", "events"}
    ours = _models(schemas, schemas_domain, schemas_admin) - {"EventPublic", "OutboxPublic"}
    missing = []
    for name, schema in document["components"]["schemas"].items():
        if name not in ours:
            continue  # history and mail kinds are open sets
        for field, spec in (schema.get("properties") or {}).items():
            if field in listed_names and _enum(spec) is None:
                missing.append(f"{name}.{field}")
    assert missing == []


def test_documented_defaults_are_ones_the_server_accepts(document: dict[str, Any]) -> None:
    """A default the document states is a value the field's own schema allows."""
    for name, schema in document["components"]["schemas"].items():
        for field, spec in (schema.get("properties") or {}).items():
            if "default" not in spec or spec["default"] is None:
                continue
            allowed = _enum(spec)
            if allowed is not None and not isinstance(spec["default"], list):
                assert spec["default"] in allowed, f"{name}.{field}"
            if isinstance(spec["default"], list):
                assert len(spec["default"]) >= spec.get("minItems", 0), f"{name}.{field}"
