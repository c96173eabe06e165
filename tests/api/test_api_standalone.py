"""A cycle belongs to an alliance unless it is started standalone on purpose (issue 14): a
cycle started with no alliance used to be invisible to managers and never notified anyone."""

from __future__ import annotations

import pytest

from cycle_engine import CycleEngine
from cycle_engine.errors import InvalidInput
from tests.api.conftest import World


def test_library_refuses_a_cycle_without_alliance_unless_standalone(
    seed_engine: CycleEngine,
) -> None:
    """No alliance and no `standalone=True` is refused naming the field; the flag works; both
    an alliance and the flag is a contradiction, refused too."""
    with pytest.raises(InvalidInput, match="alliance_id: name the alliance"):
        seed_engine.start_cycle("learning-cycle", "Seed systems")
    assert seed_engine.cycles.list_cycles() == []
    alone = seed_engine.start_cycle("learning-cycle", "Seed systems", standalone=True)
    assert alone.alliance_id is None
    with pytest.raises(InvalidInput, match="standalone: a standalone cycle has no alliance"):
        seed_engine.start_cycle("learning-cycle", "X", alliance_id=alone.id, standalone=True)


def test_api_cycle_names_its_alliance_or_says_standalone(world: World) -> None:
    """Neither, or both, is a 422 naming the rule (the OpenAPI schema states it too); a
    coordinator's standalone cycle is a 403: only administrators start one."""
    body = {"template_key": "learning-cycle", "title": "Loose"}
    with world.client("coord_a") as http:
        for extra in ({}, {"alliance_id": world.ids["alliance_a"], "standalone": True}):
            answer = http.post("/api/v1/cycles", json={**body, **extra})
            assert answer.status_code == 422, answer.text
            assert "alliance_id" in answer.text
        refused = http.post("/api/v1/cycles", json={**body, "standalone": True})
        assert refused.status_code == 403, refused.text
        assert "only administrators" in refused.text
        schema = http.get("/openapi.json").json()["components"]["schemas"]["CycleCreate"]
        assert len(schema["anyOf"]) == 2


def test_admin_starts_a_standalone_cycle_only_admins_see(world: World) -> None:
    """An admin's explicit standalone cycle is listed for admins with no alliance and stays
    out of every alliance's reach."""
    with world.client("admin") as admin:
        started = admin.post(
            "/api/v1/cycles",
            json={"template_key": "learning-cycle", "title": "Alone", "standalone": True},
        )
        assert started.status_code == 201, started.text
        cycle_id = started.json()["id"]
        assert started.json()["alliance_id"] is None
        listed = admin.get("/api/v1/cycles", params={"limit": 100}).json()
        items = listed["items"] if isinstance(listed, dict) else listed
        assert any(c["id"] == cycle_id and c["alliance_id"] is None for c in items)
    with world.client("manager_a") as manager:
        assert manager.get(f"/api/v1/cycles/{cycle_id}").status_code == 404
