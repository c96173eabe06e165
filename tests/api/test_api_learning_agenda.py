"""Shared learning above the cycle over HTTP (issue 12), through the one reach model: members
read their alliance's agenda and report, partners act for their own organisation, coordinators
decide; another alliance's key gets 404."""

from __future__ import annotations

from cycle_engine import CycleEngine
from tests.api.conftest import World


def test_partner_proposes_level_and_coordinator_confirms(
    world: World, seed_engine: CycleEngine
) -> None:
    """A partner proposes for its organisation only; the coordinator's decision assigns it."""
    cycle = world.ids["cycle_a"]
    with world.client("partner_o2") as partner:
        made = partner.post(
            f"/api/v1/cycles/{cycle}/level-proposals",
            json={"stage": "prototype", "organisation_id": world.ids["o2"], "level": "active"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "proposed"
        other = partner.post(
            f"/api/v1/cycles/{cycle}/level-proposals",
            json={"stage": "prototype", "organisation_id": world.ids["o1"], "level": "lead"},
        )
        assert other.status_code == 403, other.text
        refused = partner.post(
            f"/api/v1/cycles/{cycle}/level-proposals/{made.json()['id']}/decision", json={}
        )
        assert refused.status_code == 403
    with world.client("coord_b") as stranger:
        assert stranger.get(f"/api/v1/cycles/{cycle}/level-proposals").status_code == 404
    with world.client("coord_a") as coordinator:
        decided = coordinator.post(
            f"/api/v1/cycles/{cycle}/level-proposals/{made.json()['id']}/decision",
            json={"note": "Welcome"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "confirmed"
        assert decided.headers["ETag"] == f'"{seed_engine.get_cycle(cycle).version}"'
    levels = {(p.stage, p.organisation_id): p.level for p in seed_engine.work.participants(cycle)}
    assert levels[("prototype", world.ids["o2"])] == "active"


def test_agenda_follow_on_and_report_over_http(world: World) -> None:
    """A coordinator raises a question, starts a follow-on, and every member reads the report."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        raised = client.post(
            f"/api/v1/cycles/{cycle}/raised-questions",
            json={"text": "Who sets prices?", "reason": "Asked at the fair."},
        )
        assert raised.status_code == 201, raised.text
        assert raised.json()["status"] == "open"
        bad = client.post(
            f"/api/v1/cycles/{cycle}/questions/{raised.json()['question_id']}/status",
            json={"status": "carried_forward"},
        )
        assert bad.status_code == 422, bad.text
        follow = client.post(f"/api/v1/cycles/{cycle}/follow-on", json={"title": "Prices II"})
        assert follow.status_code == 201, follow.text
        new = follow.json()["cycle_id"]
        links = client.get(f"/api/v1/cycles/{new}/links").json()
        assert [(x["from_cycle_id"], x["to_cycle_id"]) for x in links["links"]] == [(cycle, new)]
        alliance = world.ids["alliance_a"]
        mapped = client.get(f"/api/v1/alliances/{alliance}/cycle-map").json()
        assert mapped["links"] == [{"from_cycle_id": cycle, "to_cycle_id": new}]
    with world.client("partner_o2") as member:
        agenda = member.get(f"/api/v1/alliances/{alliance}/agenda")
        assert agenda.status_code == 200
        assert [q["text"] for q in agenda.json()] == [
            "Which market channels work?",
            "Who sets prices?",
        ]
        report = member.get(f"/api/v1/alliances/{alliance}/learning-report/markdown")
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/markdown")
        assert "## Table 1: the alliance's learning" in report.text
        assert "| 1. Market access for smallholders | active |" in report.text
        data = member.get(f"/api/v1/alliances/{alliance}/learning-report").json()
        assert [c["fed"] for c in data["cycles"]] == [[new], []]
        leaving = member.post(
            f"/api/v1/alliances/{alliance}/departures",
            json={"organisation_id": world.ids["o2"], "reason": "Funding ended"},
        )
        assert leaving.status_code == 403
    with world.client("partner_o3") as stranger:
        for tail in ("agenda", "learning-report", "learning-report/html", "cycle-map"):
            assert stranger.get(f"/api/v1/alliances/{alliance}/{tail}").status_code == 404, tail


def test_missing_alliance_is_404_even_for_an_admin(world: World) -> None:
    """An admin reaches every alliance, not missing ones: reads and writes answer 404 (a
    regression: raising an agenda question on a missing alliance was a 500)."""
    with world.client("admin") as admin:
        raised = admin.post(
            "/api/v1/alliances/999999/agenda", json={"text": "Why?", "reason": "Because."}
        )
        assert raised.status_code == 404, raised.text
        for tail in ("agenda", "cycle-map", "adoptions", "outcomes", "departures"):
            assert admin.get(f"/api/v1/alliances/999999/{tail}").status_code == 404, tail
