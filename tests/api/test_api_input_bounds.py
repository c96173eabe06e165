"""No input reaches the database or the template loader unchecked: ids beyond the databases'
integer range, dates neither database nor the plan can hold, NUL characters in any text (which
PostgreSQL refuses and SQLite would keep), and templates with absurd durations, nesting or size
all answer 422 naming what was wrong, on both databases, and change nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.errors import InvalidInput
from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES
from tests.api.conftest import COORDINATOR, World

HUGE = 36893488147419103232  # 2**65: the alliance_id


def _integer_parameters(client: httpx.Client) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer path and query parameter in the document."""
    found = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
                if "integer" in types:
                    found.append((method, path, parameter["in"], parameter["name"]))
    return found


def test_every_integer_parameter_is_bounded(world: World) -> None:
    """2**65 and -5 in every integer path or query parameter answer 422 (the issue's
    `GET /cycles?alliance_id=36893488147419103232` was a 500, `alliance_id=-5` a 200)."""
    with world.client("admin") as client:
        parameters = _integer_parameters(client)
        assert len(parameters) >= 40
        for bad in (HUGE, -5):
            for method, path, where, name in parameters:
                url = path.replace("{" + name + "}", str(bad)) if where == "path" else path
                params: dict[str, Any] = {} if where == "path" else {name: bad}
                url = url.replace("{key}", "learning-cycle").replace("{fmt}", "markdown")
                url = re.sub(r"\{[a-z_]+\}", "1", url)
                answer = client.request(method.upper(), url, params=params, json={})
                assert answer.status_code == 422, (method, url, params, answer.text)


def test_due_dates_are_bounded_on_every_path_in(world: World, seed_engine: CycleEngine) -> None:
    """A due date of 9999-12-31 (a day or a moment) answers 422 from the API (500 before); the
    engine refuses any date more than ten years away (409 over HTTP) for every caller."""
    cycle = world.ids["cycle_a"]
    plan = [p.planned_due for p in seed_engine.work.work_plan(cycle)]
    with world.client("coord_a") as client:
        for due, status in {
            "9999-12-31": 422,  # outside the dates the schema allows
            "9999-12-31T23:00:00-05:00": 422,
            "0001-01-01": 422,
            "2050-01-01": 409,  # allowed by the schema; too far from the cycle's plan
        }.items():
            answer = client.post(
                f"/api/v1/cycles/{cycle}/due-dates",
                json={"stage": "work_plan", "due": due, "reason": "why not"},
            )
            assert answer.status_code == status, (due, answer.text)
            assert "due" in answer.json()["field"], answer.text
    assert [p.planned_due for p in seed_engine.work.work_plan(cycle)] == plan
    with pytest.raises(InvalidInput, match="more than ten years"):
        seed_engine.work.move_due_date(
            cycle, "work_plan", date(9999, 12, 31), reason="x", actor=COORDINATOR
        )


#: A valid body of every command that stores text, and where it goes.
COMMANDS: list[tuple[str, str, dict[str, Any]]] = [
    ("admin", "/api/v1/alliances", {"name": "Alianza", "theme": "Seeds"}),
    (
        "admin",
        "/api/v1/organisations",
        {"name": "Semillas", "kind": "ngo", "country": "Peru"},
    ),
    (
        "coord_a",
        "/api/v1/people",
        {"name": "Rosa", "email": "rosa@ciat.example", "organisation_id": "o1"},
    ),
    (
        "coord_a",
        "/api/v1/cycles",
        {
            "template_key": "learning-cycle",
            "title": "Seeds",
            "alliance_id": "alliance_a",
            "topic": "Seed fairs",
            "note": "Started",
            "questions": ["Who keeps seed?"],
        },
    ),
    ("coord_a", "/api/v1/cycles/{cycle_a}/questions", {"texts": ["Which prices hold?"]}),
    (
        "coord_a",
        "/api/v1/cycles/{cycle_a}/products",
        {
            "kind": "learning_questions",
            "title": "Questions",
            "link": "https://example.org/q",
            "author_organisation_id": "o1",
        },
    ),
    (
        "coord_a",
        "/api/v1/cycles/{cycle_a}/contexts",
        {
            "name": "Jinotega",
            "country": "Nicaragua",
            "community": "El Cua",
            "organisation_id": "o1",
        },
    ),
    (
        "coord_a",
        "/api/v1/cycles/{cycle_a}/learning",
        {"kind": "knowledge_capacity", "title": "T", "text": "Learnt", "organisation_ids": ["o1"]},
    ),
    (
        "coord_a",
        "/api/v1/cycles/{cycle_a}/due-dates",
        {"stage": "work_plan", "due": "2026-06-01", "reason": "holidays"},
    ),
    ("coord_a", "/api/v1/cycles/{cycle_a}/transitions", {"trigger": "x", "note": "Agreed"}),
    ("coord_a", "/api/v1/people/{p1}/departure", {"note": "Moved on"}),
    (
        "coord_a",
        "/api/v1/alliances/{alliance_a}/webhooks",
        {"url": "https://hooks.example.org/in", "events": ["stage.entered"]},
    ),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return ids[value] if isinstance(value, str) and value in ids else value


def test_nul_characters_are_refused_in_every_text_field(
    world: World, seed_engine: CycleEngine
) -> None:
    """A NUL inserted into any text of any command answers 422 naming the field, on both
    databases, and stores nothing (the cycle's history is as it was)."""
    history = len(seed_engine.history(world.ids["cycle_a"]))
    tried = 0
    for who, path, body in COMMANDS:
        url = path.format(**{k: v for k, v in world.ids.items()})
        body = {k: _fill(v, world.ids) for k, v in body.items()}
        with world.client(who) as client:
            for field, value in body.items():
                texts = value if isinstance(value, list) else [value]
                if not all(isinstance(t, str) for t in texts):
                    continue
                poisoned = [t[:1] + "\x00" + t[1:] for t in texts]
                sent = {**body, field: poisoned if isinstance(value, list) else poisoned[0]}
                answer = client.post(url, json=sent)
                assert answer.status_code == 422, (url, field, answer.text)
                assert field in answer.json()["detail"], (url, field, answer.text)
                tried += 1
    assert tried >= 25
    assert len(seed_engine.history(world.ids["cycle_a"])) == history
    with world.client("admin") as client:
        for url in (
            "/api/v1/cycles?state=work%00plan",
            "/api/v1/templates/learning%00cycle",
            "/api/v1/outbox?status=sent%00",
        ):
            answer = client.get(url)
            assert answer.status_code == 422, (url, answer.text)
        patched = client.patch("/api/v1/webhooks/1", json={"url": "https://a.example.org/\x00"})
        assert patched.status_code == 422


TEMPLATE = """
key: bounded
title: Bounded
initial: work
stages:
  - key: work
    title: Work
    duration: {duration}
  - key: done
    title: Done
    final: true
transitions:
  - trigger: finish
    from: work
    to: done
"""


@pytest.mark.parametrize(
    "text",
    [
        TEMPLATE.format(duration="P99999999999W"),
        TEMPLATE.format(duration="P100000000W"),
        "[" * 5000 + "]" * 5000,
        "a:\n" + "".join(" " * n + "b:\n" for n in range(1, 200)),
    ],
    ids=["overflowing-duration", "hundred-million-weeks", "nested-flow", "nested-block"],
)
def test_templates_out_of_bounds_answer_422(world: World, text: str) -> None:
    """The templates that answered 500 (or published, then broke every new cycle) are refused
    by validate and publish with the problem's path; nothing is published."""
    with world.client("admin") as client:
        before = client.get("/api/v1/templates").json()["items"]
        for path in ("/api/v1/templates/validate", "/api/v1/templates"):
            answer = client.post(
                path, content=text.encode(), headers={"Content-Type": "application/yaml"}
            )
            assert answer.status_code == 422, (path, answer.text[:300])
            assert answer.json()["problems"], answer.text[:300]
        assert client.get("/api/v1/templates").json()["items"] == before


def test_a_template_over_the_size_bound_is_refused(world: World) -> None:
    """A template larger than the loader's bound (but within the body limit) answers 422."""
    text = TEMPLATE.format(duration="P1W") + "#" * MAX_TEMPLATE_BYTES
    with world.client("admin") as client:
        answer = client.post(
            "/api/v1/templates/validate",
            content=text.encode(),
            headers={"Content-Type": "application/yaml"},
        )
    assert answer.status_code == 422
    assert "at most" in answer.json()["problems"][0]["message"]
