"""Cycles and transitions over HTTP: start, list with filters, read with triggers and ETag,
fire with reasons on refusal, If-Match, Idempotency-Key and refused read-only fields."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.api.schemas import CycleDetail, CyclePublic, StagePublic
from cycle_engine.testing import ManualClock
from tests.api.conftest import World

PROBLEM = "application/problem+json"


def test_start_cycle_returns_detail_etag_and_location(world: World) -> None:
    """A coordinator starts a cycle in their alliance: 201, Location, ETag and its triggers."""
    with world.client("coord_a") as client:
        response = client.post(
            "/api/v1/cycles",
            json={
                "template_key": "learning-cycle",
                "title": "Seed systems",
                "alliance_id": world.ids["alliance_a"],
                "questions": ["Which seeds?"],
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["state"] == "question_workshop"
        assert response.headers["location"] == f"/api/v1/cycles/{body['id']}"
        assert response.headers["etag"] == f'"{body["version"]}"'
        assert {t["trigger"] for t in body["triggers"]} >= {"questions_agreed", "pause"}


def test_start_cycle_in_other_alliance_is_404(world: World) -> None:
    """A coordinator of alliance B cannot start a cycle in alliance A: it is not found."""
    with world.client("coord_b") as client:
        response = client.post(
            "/api/v1/cycles",
            json={
                "template_key": "learning-cycle",
                "title": "X",
                "alliance_id": world.ids["alliance_a"],
            },
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


def test_read_only_fields_are_refused_naming_the_field(world: World) -> None:
    """Sending an id, a state or a version is refused with 422 naming each field."""
    with world.client("coord_a") as client:
        response = client.post(
            "/api/v1/cycles",
            json={
                "template_key": "learning-cycle",
                "title": "X",
                "alliance_id": world.ids["alliance_a"],
                "id": 99,
                "state": "completed",
                "version": 7,
            },
        )
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"body.id", "body.state", "body.version"}
        listed = client.get("/api/v1/cycles").json()["items"]
        assert all(c["title"] != "X" for c in listed)


def test_list_filters_and_pagination(world: World, clock: ManualClock) -> None:
    """Lists filter by state, organisation and overdue, and page with next_offset."""
    with world.client("admin") as client:
        everything = client.get("/api/v1/cycles", params={"limit": 1}).json()
        assert len(everything["items"]) == 1 and everything["next_offset"] == 1
        second = client.get("/api/v1/cycles", params={"limit": 1, "offset": 1}).json()
        assert second["next_offset"] is None
        of_o3 = client.get("/api/v1/cycles", params={"organisation_id": world.ids["o3"]}).json()
        assert [c["id"] for c in of_o3["items"]] == [world.ids["cycle_b"]]
        assert client.get("/api/v1/cycles", params={"overdue": True}).json()["items"] == []
        clock.advance(timedelta(weeks=4))
        overdue = client.get("/api/v1/cycles", params={"overdue": True}).json()["items"]
        assert {c["id"] for c in overdue} == {world.ids["cycle_a"], world.ids["cycle_b"]}
        by_alliance = client.get(
            "/api/v1/cycles", params={"alliance_id": world.ids["alliance_b"]}
        ).json()
        assert [c["id"] for c in by_alliance["items"]] == [world.ids["cycle_b"]]


def test_lead_partner_fires_and_history_records_it(world: World) -> None:
    """The lead organisation's partner fires questions_agreed; history shows the transition."""
    cycle = world.ids["cycle_a"]
    with world.client("partner_o1") as client:
        detail = client.get(f"/api/v1/cycles/{cycle}").json()
        agreed = next(t for t in detail["triggers"] if t["trigger"] == "questions_agreed")
        assert agreed["allowed"] is True
        response = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "questions_agreed", "note": "agreed"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["to_state"] == "role_assignment"
        history = client.get(f"/api/v1/cycles/{cycle}/history").json()["items"]
        assert [e["kind"] for e in history][-1] == "transition"
        assert history[-1]["note"] == "agreed"


def test_blocked_trigger_is_409_with_reasons_and_allowed(world: World) -> None:
    """A guard-blocked trigger answers 409 problem+json with reasons and allowed triggers."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        response = client.post(f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "pause"})
        assert response.status_code == 409
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["reasons"] and "questions_agreed" in problem["allowed"]
        unknown = client.post(f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "fly"})
        assert unknown.status_code == 409
        assert "no trigger 'fly'" in unknown.json()["reasons"][0]


def test_partner_not_on_stage_cannot_fire(world: World) -> None:
    """An organisation that does not take part in the stage gets 409 naming that reason."""
    cycle = world.ids["cycle_a"]
    with world.client("partner_o2") as client:
        detail = client.get(f"/api/v1/cycles/{cycle}").json()
        assert not any(t["allowed"] for t in detail["triggers"])
        response = client.post(
            f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "questions_agreed"}
        )
        assert response.status_code == 409
        assert "does not take part" in response.json()["reasons"][0]


def test_if_match_stale_version_is_412(world: World) -> None:
    """If-Match with the ETag read before someone else's change answers 412 and moves nothing."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        etag = client.get(f"/api/v1/cycles/{cycle}").headers["etag"]
        moved = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "questions_agreed"},
            headers={"If-Match": etag},
        )
        assert moved.status_code == 201
        assert moved.headers["etag"] != etag
        stale = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "pause", "note": "gap"},
            headers={"If-Match": etag},
        )
        assert stale.status_code == 412
        assert stale.headers["content-type"] == PROBLEM
        assert client.get(f"/api/v1/cycles/{cycle}").json()["state"] == "role_assignment"


def test_idempotency_key_replays_the_first_result(world: World) -> None:
    """The same Idempotency-Key fires once; the repeat answers the first result."""
    cycle = world.ids["cycle_a"]
    headers = {"Idempotency-Key": "agree-1"}
    with world.client("coord_a") as client:
        first = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "questions_agreed"},
            headers=headers,
        )
        again = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "questions_agreed"},
            headers=headers,
        )
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        history = client.get(f"/api/v1/cycles/{cycle}/history").json()["items"]
        assert sum(e["trigger"] == "questions_agreed" for e in history) == 1


def test_idempotency_key_on_start_replays_and_refuses_other_body(world: World) -> None:
    """Starting twice with one key creates one cycle; reusing it for another body is 422."""
    body = {
        "template_key": "learning-cycle",
        "title": "Once",
        "alliance_id": world.ids["alliance_a"],
    }
    headers = {"Idempotency-Key": "start-once"}
    with world.client("coord_a") as client:
        first = client.post("/api/v1/cycles", json=body, headers=headers)
        again = client.post("/api/v1/cycles", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = client.post("/api/v1/cycles", json={**body, "title": "Twice"}, headers=headers)
        assert other.status_code == 422
        titles = [c["title"] for c in client.get("/api/v1/cycles").json()["items"]]
        assert titles.count("Once") == 1 and "Twice" not in titles


def test_read_answers_the_cycle_detail_of_the_engines_rows(
    world: World, seed_engine: CycleEngine
) -> None:
    """GET cycle answers exactly what `CycleDetail` makes of the cycle's row, its open visit and
    the triggers as the caller sees them (one who may act, one who may only read)."""
    cycle_id = world.ids["cycle_a"]
    record = seed_engine.cycles.get_cycle(cycle_id)
    stage = seed_engine.cycles.current_stage(cycle_id)
    assert stage is not None
    for who in ("coord_a", "partner_o2"):
        with world.client(who) as client:
            response = client.get(f"/api/v1/cycles/{cycle_id}")
            triggers = client.get(f"/api/v1/cycles/{cycle_id}/triggers").json()
        assert response.status_code == 200, response.text
        detail = CycleDetail.model_validate_json(response.content)
        assert detail.model_dump_json().encode() == response.content
        assert CyclePublic.model_validate(detail.model_dump()) == CyclePublic.of(record)
        assert detail.template_version == 1
        assert detail.stage == StagePublic.of(stage)
        assert [t.model_dump() for t in detail.triggers] == triggers
        assert response.headers["etag"] == f'"{record.version}"'
    assert any(t["allowed"] for t in triggers) is False  # partner_o2 only reads this stage
