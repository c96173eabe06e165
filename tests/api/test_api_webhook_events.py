"""Webhooks a stranger can verify (issue 19, item 6): the README's standard-library snippet,
taken from the README itself, verifies every real delivery; the events for participation,
contexts, questions, learning, due-date moves, departures and cancellation are delivered with
the payload the OpenAPI document's `webhooks` section describes; the secret is shown once."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cycle_engine import CycleEngine
from cycle_engine.api.webhook_docs import WebhookDelivery
from cycle_engine.store.tables.access import WEBHOOK_EVENTS
from tests.api.conftest import World
from tests.api.test_api_webhooks import _run_outbox, api_server  # noqa: F401
from tests.notifications.webhook_receiver import WebhookReceiver, running_receiver

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


def readme_verifier() -> Any:
    """The `verify` function of the README's webhooks section, run as a reader would paste it."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("#### Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README's webhooks section has no Python snippet"
    assert all(
        line.split()[1] in {"hashlib", "hmac", "time"}
        for line in code.group(1).splitlines()
        if line.startswith("import ")
    ), "the snippet uses the standard library only"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    return namespace["verify"]


def test_every_delivery_verifies_with_the_readme_snippet(
    world: World, seed_engine: CycleEngine, hooks: WebhookReceiver
) -> None:
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        headers = {"Idempotency-Key": "hook-1"}
        created = client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": hooks.url, "events": list(WEBHOOK_EVENTS)},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        replay = client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": hooks.url, "events": list(WEBHOOK_EVENTS)},
            headers=headers,
        )
        assert replay.json()["id"] == created.json()["id"] and replay.json()["secret"] is None
        steps = [
            (
                "participation",
                {
                    "stage": "role_assignment",
                    "organisation_id": world.ids["o1"],
                    "level": "lead",
                    "focal_point_id": world.ids["p1"],
                },
            ),
            (
                "contexts",
                {
                    "name": "Estelí",
                    "country": "Nicaragua",
                    "community": "San Juan",
                    "organisation_id": world.ids["o2"],
                },
            ),
            ("questions", {"texts": ["Who buys?"]}),
            (
                "learning",
                {
                    "kind": "organisational_learning",
                    "title": "Buyers",
                    "text": "Cooperatives buy in bulk.",
                    "organisation_ids": [world.ids["o1"]],
                },
            ),
            (
                "due-dates",
                {
                    "stage": "role_assignment",
                    "due": (date(2026, 11, 30) + timedelta(days=60)).isoformat(),
                    "reason": "the partners asked for more time",
                },
            ),
        ]
        for path, body in steps:
            answer = client.post(f"/api/v1/cycles/{cycle}/{path}", json=body)
            assert answer.status_code in (200, 201), (path, answer.text)
        left = client.post(f"/api/v1/people/{world.ids['p1']}/departure", json={})
        assert left.status_code == 201, left.text
        cancelled = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={"trigger": "cancel", "note": "funding ended"},
        )
        assert cancelled.status_code == 201, cancelled.text
    outcomes = asyncio.run(_run_outbox(seed_engine))
    verify = readme_verifier()
    events = []
    for headers, body in hooks.received:
        signature = headers["x-cycleengine-signature"]
        assert verify(secret, signature, body), headers["x-cycleengine-event"]
        assert not verify(secret, signature, body + b" ")
        assert not verify("not-the-secret", signature, body)
        document = WebhookDelivery.model_validate_json(body)
        assert document.event == headers["x-cycleengine-event"]
        assert document.delivery_id == headers["x-cycleengine-delivery"]
        events.append(document.event)
    assert outcomes == {"delivered": len(events)}
    assert set(events) >= {
        "participation.changed",
        "context.added",
        "question.added",
        "learning.added",
        "due_date.moved",
        "person.left",
        "cycle.cancelled",
    }
    assert "cycle.completed" not in events
    cancel = next(
        json.loads(body)
        for headers, body in hooks.received
        if headers["x-cycleengine-event"] == "cycle.cancelled"
    )
    assert cancel["cycle"]["state"] == "cancelled"


def test_the_document_lists_every_event_with_its_payload(world: World) -> None:
    with world.client(None) as client:
        document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert sorted(document["webhooks"]) == sorted(WEBHOOK_EVENTS)
    for event, item in document["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/WebhookDelivery"}
        headers = {p["name"]: p["schema"] for p in item["post"]["parameters"]}
        assert headers["X-CycleEngine-Event"]["enum"] == [event]
        assert "X-CycleEngine-Signature" in headers
    delivery = document["components"]["schemas"]["WebhookDelivery"]
    assert delivery["properties"]["event"]["enum"] == list(WEBHOOK_EVENTS)
