"""Health, authentication and templates over the real HTTP server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import ServerThread, World

BUILTIN = Path(__file__).parents[2] / "workflows" / "rapid_cycle.yaml"


def test_health_needs_no_key(api_server: ServerThread) -> None:
    """/healthz and /readyz answer without a key; readiness checks the database schema."""
    with httpx.Client(base_url=api_server.url) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}


def test_missing_or_unknown_key_is_401_problem(world: World) -> None:
    """Calls without a key, or with a made-up one, get 401 problem+json and WWW-Authenticate."""
    with world.client(None) as client:
        response = client.get("/api/v1/cycles")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        forged = client.get("/api/v1/cycles", headers={"Authorization": "Bearer ce_abcd1234_x"})
        assert forged.status_code == 401


def test_templates_list_show_diagram(world: World) -> None:
    """Any key lists templates, reads one with its stages and draws its diagram."""
    with world.client("partner_o1") as client:
        listed = client.get("/api/v1/templates").json()
        assert {t["key"] for t in listed["items"]} >= {"learning-cycle"}
        detail = client.get("/api/v1/templates/learning-cycle").json()
        assert detail["initial"] == "question_workshop"
        assert any(t["trigger"] == "questions_agreed" for t in detail["transitions"])
        diagram = client.get(
            "/api/v1/templates/learning-cycle/diagram",
            params={"format": "dot", "highlight": "prototype"},
        ).json()
        assert diagram["diagram"].startswith("digraph")
        assert client.get("/api/v1/templates/nope").status_code == 404


def test_publish_yaml_then_json_and_validate(world: World) -> None:
    """A coordinator publishes YAML (201), the same again is 200, and JSON uploads work too."""
    text = BUILTIN.read_text().replace("key: rapid-cycle", "key: api-rapid")
    with world.client("coord_a") as client:
        first = client.post(
            "/api/v1/templates", content=text, headers={"Content-Type": "application/yaml"}
        )
        assert first.status_code == 201, first.text
        assert first.json()["version"] == 1
        again = client.post(
            "/api/v1/templates", content=text, headers={"Content-Type": "application/yaml"}
        )
        assert again.status_code == 200
        import yaml

        document = yaml.safe_load(text)
        document["title"] = "Rapid, as JSON"
        second = client.post("/api/v1/templates", json=document)
        assert second.status_code == 201
        assert second.json()["version"] == 2
        versions = client.get("/api/v1/templates/api-rapid/versions").json()
        assert [v["version"] for v in versions["items"]] == [1, 2]
        valid = client.post(
            "/api/v1/templates/validate", content=text, headers={"Content-Type": "text/yaml"}
        )
        assert valid.json()["valid"] is True


def test_invalid_template_lists_problems_and_publishes_nothing(world: World) -> None:
    """An invalid template answers 422 with each problem's path, and no version appears."""
    bad = "key: broken\ntitle: Broken\ninitial: nowhere\nstages: []\ntransitions: []\n"
    with world.client("coord_a") as client:
        response = client.post(
            "/api/v1/templates", content=bad, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["problems"]
        assert client.get("/api/v1/templates/broken").status_code == 404
        wrong_type = client.post(
            "/api/v1/templates", content=b"x", headers={"Content-Type": "image/png"}
        )
        assert wrong_type.status_code == 415


def test_partner_may_not_publish(world: World) -> None:
    """Publishing needs a coordinator or admin key: a partner gets 403."""
    with world.client("partner_o1") as client:
        response = client.post(
            "/api/v1/templates", content="key: x\n", headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 403
