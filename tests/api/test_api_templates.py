"""Templates over the real HTTP server: ownership across alliances (another alliance's template
is not found, a manager may read but not change), copies, diffs, and a migration plan created,
previewed and applied with the access rules."""

from __future__ import annotations

from tests.api.conftest import World
from tests.cycle_engine.templates.conftest import LEARNING_CYCLE
from tests.cycle_engine.templates.helpers import duration, edited, stage_after

YAML = {"Content-Type": "application/yaml"}
OURS = "alianza-cycle"
PLANS = f"/api/v1/templates/{OURS}/migrations"


def v2() -> str:
    return edited(
        LEARNING_CYCLE,
        duration("question_workshop", "P5W"),
        stage_after("documentation", "sharing", "Sharing", "P2W", leaving="cycle_documented"),
        key=OURS,
    )


def copy_and_change(world: World) -> None:
    with world.client("coord_a") as client:
        copied = client.post("/api/v1/templates/learning-cycle/copy", json={"key": OURS})
        assert copied.status_code == 201, copied.text
        assert (copied.json()["version"], copied.json()["alliance_id"]) == (
            1,
            world.ids["alliance_a"],
        )
        changed = client.post("/api/v1/templates", content=v2(), headers=YAML)
        assert changed.status_code == 201, changed.text
        assert changed.json()["version"] == 2


def test_an_alliances_template_is_its_own(world: World) -> None:
    """Alliance A's template: its coordinator changes it, its manager and partners read it,
    alliance B's keys find nothing (404, as for a template that does not exist)."""
    copy_and_change(world)
    a = world.ids["alliance_a"]
    for who in ("coord_a", "manager_a", "partner_o1", "admin"):
        with world.client(who) as client:
            assert client.get(f"/api/v1/templates/{OURS}").status_code == 200, who
    with world.client("coord_a") as client:
        source = client.get(f"/api/v1/templates/{OURS}/source")
        assert source.headers["content-type"].startswith("application/yaml")
        assert f"key: {OURS}" in source.text
    for who in ("coord_b", "partner_o3"):
        with world.client(who) as client:
            assert client.get(f"/api/v1/templates/{OURS}").status_code == 404, who
            listed = client.get("/api/v1/templates").json()["items"]
            assert OURS not in {t["key"] for t in listed}
            assert client.get(f"/api/v1/templates/{OURS}/diff?from=1&to=2").status_code == 404
            assert client.get(f"/api/v1/templates/{OURS}/source").status_code == 404
    with world.client("coord_b") as client:
        taken = client.post(f"/api/v1/templates?alliance_id={a}", content=v2(), headers=YAML)
        assert taken.status_code == 404
        retire = client.post(f"/api/v1/templates/{OURS}/retire")
        assert retire.status_code == 404
    with world.client("manager_a") as client:
        refused = client.post(f"/api/v1/templates?alliance_id={a}", content=v2(), headers=YAML)
        assert refused.status_code == 403


def test_only_an_admin_key_publishes_built_in_templates(world: World) -> None:
    """Without an alliance, an admin key publishes a built-in version; an alliance's template
    may not take a built-in key (422 saying to copy it)."""
    text = edited(LEARNING_CYCLE, duration("prototype", "P9W"))
    with world.client("admin") as client:
        built_in = client.post("/api/v1/templates", content=text, headers=YAML)
        assert built_in.status_code == 201
        assert (built_in.json()["alliance_id"], built_in.json()["version"]) == (None, 2)
    with world.client("coord_a") as client:
        clash = client.post("/api/v1/templates", content=text, headers=YAML)
        assert clash.status_code == 422
        assert "copy it under a new key" in clash.json()["detail"]


def test_diff_in_words(world: World) -> None:
    """GET /templates/{key}/diff says each change in a sentence."""
    copy_and_change(world)
    with world.client("manager_a") as client:
        diff = client.get(f"/api/v1/templates/{OURS}/diff", params={"from": 1, "to": 2}).json()
    assert diff["before"] == f"{OURS} v1" and diff["after"] == f"{OURS} v2"
    texts = [line["text"] for line in diff["lines"]]
    assert "“Question workshop” now lasts 5 weeks (was 3 weeks)." in texts
    assert "New stage “Sharing” (sharing), 2 weeks, after “Documentation”." in texts


def test_a_migration_plan_is_created_previewed_and_applied(world: World) -> None:
    """Coordinators of A plan, preview and apply; A's manager reads the plan but may not preview
    or apply (403); B's coordinator finds nothing (404); applying twice changes nothing."""
    copy_and_change(world)
    cycle_a = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        created = client.post(PLANS, json={"from_key": "learning-cycle"})
        assert created.status_code == 201, created.text
        plan = created.json()
        assert plan["target"] == f"{OURS} v2" and plan["alliance_id"] == world.ids["alliance_a"]
        url = f"{PLANS}/{plan['id']}"
        early = client.post(f"{url}/apply")
        assert early.status_code == 409 and "preview it first" in early.json()["detail"]
    with world.client("coord_b") as client:
        assert client.get(url).status_code == 404
        assert client.post(f"{url}/preview").status_code == 404
        assert client.post(f"{url}/apply").status_code == 404
    with world.client("manager_a") as client:
        assert client.get(url).status_code == 200
        assert client.post(f"{url}/preview").status_code == 403
        assert client.post(f"{url}/apply").status_code == 403
    with world.client("coord_a") as client:
        preview = client.post(f"{url}/preview").json()
        assert (preview["migrating"], preview["blocked"], preview["current"]) == (1, 0, 0)
        (cycle,) = preview["cycles"]
        assert cycle["cycle_id"] == cycle_a and cycle["timezone"] == "UTC"
        labels = {m["label"] for m in cycle["deadlines"]}
        assert {"deadline of Question workshop", "deadline of Sharing"} <= labels
        assert client.get(f"/api/v1/cycles/{cycle_a}").json()["template_version"] == 1
        applied = client.post(f"{url}/apply").json()
        assert (applied["migrated"], applied["skipped"]) == (1, 0)
        detail = client.get(f"/api/v1/cycles/{cycle_a}").json()
        assert (detail["template_key"], detail["template_version"]) == (OURS, 2)
        again = client.post(f"{url}/apply").json()
        assert (again["migrated"], again["skipped"]) == (0, 1)
        assert client.get(url).json()["status"] == "applied"


def test_validation_problems_follow_accept_language(world: World) -> None:
    """Over HTTP, an invalid template's problems read in French when the client asks for it,
    with the same paths and document shape as in English; English stays the default."""
    bad = LEARNING_CYCLE.replace("product: good_practice_review", "product: good_practise_review")
    assert bad != LEARNING_CYCLE
    with world.client("coord_a") as client:
        english = client.post(
            "/api/v1/templates/validate", content=bad, headers={"Content-Type": "application/yaml"}
        )
        french = client.post(
            "/api/v1/templates/validate",
            content=bad,
            headers={"Content-Type": "application/yaml", "Accept-Language": "fr-CA, en;q=0.5"},
        )
        unknown = client.post(
            "/api/v1/templates/validate",
            content=bad,
            headers={"Content-Type": "application/yaml", "Accept-Language": "de"},
        )
    assert english.status_code == french.status_code == 422
    assert french.headers["content-language"] == "fr"
    (en_problem,) = english.json()["problems"]
    (fr_problem,) = french.json()["problems"]
    assert {k: v for k, v in fr_problem.items() if k != "message"} == {
        k: v for k, v in en_problem.items() if k != "message"
    }
    assert en_problem["message"].startswith(
        "unknown product kind 'good_practise_review' for guard 'product' (did you mean "
    )
    assert fr_problem["message"].startswith(
        "type de produit 'good_practise_review' inconnu pour la condition 'product'"
        " (vouliez-vous dire 'good_practice_review' ? attendu : un parmi "
    )
    assert set(french.json()) == set(english.json())
    assert unknown.json()["problems"] == english.json()["problems"]
