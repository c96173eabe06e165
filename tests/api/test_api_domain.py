"""The Learning Alliance resources over HTTP: alliances, organisations, people, participation,
the work plan, products (with file upload), contexts, questions, learning, the report, the
overdue and stalled reports and the outbox, each as the roles that use them."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine.testing import ManualClock
from tests.api.conftest import World


def test_alliances_organisations_and_people(world: World) -> None:
    """Admins create alliances; coordinators seat new organisations and register people."""
    with world.client("admin") as admin:
        created = admin.post("/api/v1/alliances", json={"name": "Coffee", "theme": "Quality"})
        assert created.status_code == 201, created.text
    with world.client("coord_a") as client:
        assert client.post("/api/v1/alliances", json={"name": "X", "theme": "Y"}).status_code == 403
        names = [a["name"] for a in client.get("/api/v1/alliances").json()["items"]]
        assert names == ["Rural enterprise"]
        refused = client.post(
            "/api/v1/organisations", json={"name": "Nitlapan", "kind": "research", "country": "NI"}
        )
        assert refused.status_code == 422 and refused.json()["field"] == "body.alliance_id"
        org = client.post(
            "/api/v1/organisations",
            json={
                "name": "Nitlapan",
                "kind": "research",
                "country": "Nicaragua",
                "alliance_id": world.ids["alliance_a"],
            },
        )
        assert org.status_code == 201, org.text
        members = client.get(f"/api/v1/alliances/{world.ids['alliance_a']}/members").json()
        assert "Nitlapan" in {m["organisation"]["name"] for m in members["items"]}
        person = client.post(
            "/api/v1/people",
            json={
                "name": "Rosa",
                "email": "rosa@nitlapan.example",
                "organisation_id": org.json()["id"],
            },
        )
        assert person.status_code == 201, person.text
        assert client.get(f"/api/v1/people/{person.json()['id']}").json()["name"] == "Rosa"
        left = client.post(f"/api/v1/people/{world.ids['p1']}/departure", json={"note": "moved"})
        assert left.status_code == 201, left.text
        assert str(world.ids["cycle_a"]) in left.json()["stages_needing_focal_point"]
    with world.client("partner_o1") as client:
        own = client.post(
            "/api/v1/people",
            json={"name": "Juan", "email": "juan@ciat.example", "organisation_id": world.ids["o1"]},
        )
        assert own.status_code == 201
        assert {p["organisation_id"] for p in client.get("/api/v1/people").json()["items"]} == {
            world.ids["o1"]
        }


def test_participation_and_work_plan(world: World) -> None:
    """A coordinator assigns a stage role and moves a due date; the plan is re-planned."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        assigned = client.post(
            f"/api/v1/cycles/{cycle}/participation",
            json={
                "stage": "question_workshop",
                "organisation_id": world.ids["o2"],
                "level": "active",
            },
        )
        assert assigned.status_code == 201, assigned.text
        assert "etag" in assigned.headers
        levels = {
            (p["stage"], p["organisation_id"]): p["level"]
            for p in client.get(f"/api/v1/cycles/{cycle}/participation").json()["items"]
        }
        assert levels[("question_workshop", world.ids["o2"])] == "active"
        plan = client.get(f"/api/v1/cycles/{cycle}/plan").json()
        work_plan = next(p for p in plan if p["stage"] == "work_plan")
        moved = client.post(
            f"/api/v1/cycles/{cycle}/due-dates",
            json={"stage": "work_plan", "due": "2026-04-30", "reason": "Holy week"},
        )
        assert moved.status_code == 200, moved.text
        after = next(p for p in moved.json() if p["stage"] == "work_plan")
        assert after["planned_due"] != work_plan["planned_due"] and after["changes"] == 1
        blank = client.post(
            f"/api/v1/cycles/{cycle}/due-dates",
            json={"stage": "work_plan", "due": "2026-05-30", "reason": ""},
        )
        assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "body.reason"
    with world.client("partner_o2") as client:
        detail = client.get(f"/api/v1/cycles/{cycle}").json()  # now on the stage, as active
        reasons = [r for t in detail["triggers"] for r in t["reasons"]]
        assert not any("does not take part" in r for r in reasons)
        assert any("only coordinator, lead may fire" in r for r in reasons)


def test_products_with_file_upload_and_download(world: World) -> None:
    """The lead partner uploads a product file; anyone in reach downloads the same bytes."""
    cycle = world.ids["cycle_a"]
    content = b"1. Which market channels work for smallholders?\n"
    with world.client("partner_o1") as client:
        uploaded = client.post(
            f"/api/v1/cycles/{cycle}/products/files",
            files={"file": ("questions.txt", content, "text/plain")},
            data={"kind": "learning_questions", "title": "Agreed questions"},
        )
        assert uploaded.status_code == 201, uploaded.text
        product = uploaded.json()
        assert product["author_organisation_id"] == world.ids["o1"]
        assert product["size_bytes"] == len(content)
        other = client.post(
            f"/api/v1/cycles/{cycle}/products",
            json={
                "kind": "learning_questions",
                "title": "X",
                "link": "https://example.org/x",
                "author_organisation_id": world.ids["o2"],
            },
        )
        assert other.status_code == 403
    with world.client("manager_a") as client:
        download = client.get(f"/api/v1/products/{product['id']}/file")
        assert download.status_code == 200 and download.content == content
        listed = client.get(f"/api/v1/cycles/{cycle}/products").json()["items"]
        assert [p["id"] for p in listed] == [product["id"]]


def test_contexts_questions_learning_and_report(world: World) -> None:
    """Contexts, questions, learning entries and the report work; results outside testing 409."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        context = client.post(
            f"/api/v1/cycles/{cycle}/contexts",
            json={
                "name": "Matagalpa",
                "country": "Nicaragua",
                "community": "Waslala",
                "organisation_id": world.ids["o2"],
            },
        )
        assert context.status_code == 201, context.text
        too_early = client.post(
            f"/api/v1/cycles/{cycle}/contexts/{context.json()['id']}/results",
            json={"summary": "Good uptake", "rating": "strong"},
        )
        assert too_early.status_code == 409 and too_early.json()["reasons"]
        questions = client.post(f"/api/v1/cycles/{cycle}/questions", json={"texts": ["Who buys?"]})
        assert questions.status_code == 201, questions.text
        assert len(client.get(f"/api/v1/cycles/{cycle}/questions").json()) == 2
        learnt = client.post(
            f"/api/v1/cycles/{cycle}/learning",
            json={
                "kind": "knowledge_capacity",
                "title": "Buyers",
                "text": "Buyers want volume.",
                "organisation_ids": [world.ids["o1"]],
            },
        )
        assert learnt.status_code == 201, learnt.text
        entries = client.get(f"/api/v1/cycles/{cycle}/learning").json()["items"]
        assert entries[0]["organisation_ids"] == [world.ids["o1"]]
        report = client.get(f"/api/v1/cycles/{cycle}/report").json()
        assert report["title"] == "Market access for smallholders"
        markdown = client.get(f"/api/v1/cycles/{cycle}/report/markdown")
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert "Market access for smallholders" in markdown.text


def test_overdue_stalled_and_outbox_reports(world: World, clock: ManualClock) -> None:
    """Overdue stages show only within reach; the outbox is for coordinators and managers."""
    clock.advance(timedelta(weeks=4))
    with world.client("coord_a") as client:
        overdue = client.get("/api/v1/reports/overdue").json()["items"]
        assert [o["cycle_id"] for o in overdue] == [world.ids["cycle_a"]]
        assert client.get("/api/v1/reports/stalled").status_code == 200
        assert client.get("/api/v1/outbox").status_code == 200
        assert "counts" in client.get("/api/v1/outbox/summary").json()
    with world.client("partner_o1") as client:
        assert client.get("/api/v1/outbox").status_code == 403
        mine = client.get("/api/v1/reports/overdue").json()["items"]
        assert [o["cycle_id"] for o in mine] == [world.ids["cycle_a"]]
