"""The one reach model over HTTP (`api.access`): a key of one alliance sees and changes nothing of
another's, and the checks that guard a command (reach, If-Match, the partner's stage) run inside
the command's own transaction, so a refused command changes nothing."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.testing import ManualClock
from tests.api.conftest import COORDINATOR, World

PRODUCT = {
    "kind": "learning_questions",
    "title": "Agreed questions",
    "link": "https://example.org/questions",
}


def test_key_of_one_alliance_sees_nothing_of_another(
    world: World, seed_engine: CycleEngine, clock: ManualClock
) -> None:
    """A coordinator key of alliance A lists, reads and reports only A's cycles; every read of
    and command on B's cycle answers 404, even with a valid If-Match, and B's cycle stays put."""
    other = world.ids["cycle_b"]
    before = seed_engine.get_cycle(other).version
    clock.advance(timedelta(weeks=4))  # both cycles overdue now
    with world.client("coord_a") as client:
        listed = [c["id"] for c in client.get("/api/v1/cycles").json()["items"]]
        assert listed == [world.ids["cycle_a"]]
        by_alliance = client.get("/api/v1/cycles", params={"alliance_id": world.ids["alliance_b"]})
        assert by_alliance.json()["items"] == []
        overdue = client.get("/api/v1/reports/overdue").json()["items"]
        assert [r["cycle_id"] for r in overdue] == [world.ids["cycle_a"]]
        for tail in ("", "/triggers", "/stages", "/history", "/participation", "/plan", "/report"):
            assert client.get(f"/api/v1/cycles/{other}{tail}").status_code == 404, tail
        fired = client.post(
            f"/api/v1/cycles/{other}/transitions",
            json={"trigger": "questions_agreed"},
            headers={"If-Match": f'"{before}"'},
        )
        assert fired.status_code == 404
        added = client.post(
            f"/api/v1/cycles/{other}/products",
            json={**PRODUCT, "author_organisation_id": world.ids["o3"]},
            headers={"If-Match": f'"{before}"'},
        )
        assert added.status_code == 404
    assert seed_engine.get_cycle(other).version == before
    assert seed_engine.work.cycle_products(other) == []


def test_stale_if_match_is_412_and_changes_nothing(world: World, seed_engine: CycleEngine) -> None:
    """Commands sent with the ETag read before someone else's change answer 412 with the current
    ETag, and add nothing; the same commands with the current ETag succeed."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        stale = client.get(f"/api/v1/cycles/{cycle}").headers["etag"]
    seed_engine.work.add_questions(cycle, ["Who buys the harvest?"], actor=COORDINATOR)
    current = seed_engine.get_cycle(cycle).version
    questions = len(seed_engine.work.learning_questions(cycle))
    commands = {
        "products": {**PRODUCT, "author_organisation_id": world.ids["o1"]},
        "questions": {"texts": ["Which prices hold?"]},
        "participation": {
            "stage": "work_plan",
            "organisation_id": world.ids["o2"],
            "level": "active",
        },
        "due-dates": {"stage": "work_plan", "due": "2026-06-01", "reason": "holidays"},
        "transitions": {"trigger": "questions_agreed"},
    }
    with world.client("coord_a") as client:
        for path, body in commands.items():
            answer = client.post(
                f"/api/v1/cycles/{cycle}/{path}", json=body, headers={"If-Match": stale}
            )
            assert answer.status_code == 412, (path, answer.text)
            assert answer.headers["etag"] == f'"{current}"'
        assert seed_engine.get_cycle(cycle).version == current
        assert seed_engine.work.cycle_products(cycle) == []
        assert len(seed_engine.work.learning_questions(cycle)) == questions
        added = client.post(
            f"/api/v1/cycles/{cycle}/products",
            json=commands["products"],
            headers={"If-Match": f'"{current}"'},
        )
        assert added.status_code == 201, added.text
        assert added.headers["etag"] == f'"{seed_engine.get_cycle(cycle).version}"'


def test_partner_acts_only_on_the_stage_it_carries_now(
    world: World, seed_engine: CycleEngine
) -> None:
    """The lead partner of the question workshop adds a product there; once the cycle moved to a
    stage its organisation is not on, the same command is refused (409) and adds nothing."""
    cycle = world.ids["cycle_a"]
    with world.client("partner_o1") as client:
        assert client.post(f"/api/v1/cycles/{cycle}/products", json=PRODUCT).status_code == 201
        seed_engine.fire(cycle, "questions_agreed", actor=COORDINATOR)
        refused = client.post(f"/api/v1/cycles/{cycle}/products", json=PRODUCT)
        assert refused.status_code == 409
        assert "does not take part" in refused.json()["reasons"][0]
        triggers = client.get(f"/api/v1/cycles/{cycle}/triggers").json()
        assert triggers and not any(t["allowed"] for t in triggers)
    assert len(seed_engine.work.cycle_products(cycle)) == 1
