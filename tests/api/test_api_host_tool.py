"""A host project-management tool with nothing but HTTP (issue 19, item 9): from an empty
database and one admin key it onboards the seed-scale alliance with the bulk import, issues a
coordinator key and a partner key, corrects a person and an agency link, walks a cycle to
completion with the partner acting as lead where the template allows, retries every command as
after a timeout (the same request with the same Idempotency-Key) and finds no duplicate and no
false conflict, and verifies every webhook delivery with the README's snippet."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.demo.data import ALLIANCE, PARTNERS, email_for
from cycle_engine.demo.seed import PARTNER_LIST
from cycle_engine.store.tables.access import WEBHOOK_EVENTS
from tests.api.conftest import ServerThread
from tests.api.test_api_webhook_events import readme_verifier
from tests.api.test_api_webhooks import _run_outbox, api_server  # noqa: F401
from tests.notifications.webhook_receiver import WebhookReceiver, running_receiver

pytestmark = pytest.mark.slow
_keys = itertools.count(1)


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


class Host:
    """The host tool's HTTP client for one key: every command is sent, then sent again with
    the same Idempotency-Key as a client does after a timeout; both answers must agree."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(path, params=params)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    def send(self, method: str, path: str, status: int = 201, **kwargs: Any) -> Any:
        headers = {"Idempotency-Key": f"host-{next(_keys)}", **kwargs.pop("headers", {})}
        first = self.http.request(method, path, headers=headers, **kwargs)
        assert first.status_code == status, (method, path, first.text)
        again = self.http.request(method, path, headers=headers, **kwargs)  # "timed out"
        assert again.status_code == status, (method, path, again.text)
        assert again.headers.get("idempotent-replayed") == "true", (method, path)
        if again.content != first.content:  # only what a creation shows once differs
            shown_once = {"token", "secret"} & set(first.json())
            assert shown_once and all(again.json()[k] is None for k in shown_once), path
            assert {k: v for k, v in again.json().items() if k not in shown_once} == {
                k: v for k, v in first.json().items() if k not in shown_once
            }
        return first.json() if first.content else None


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    opened: list[httpx.Client] = []
    yield opened
    for client in opened:
        client.close()


def test_a_host_tool_onboards_corrects_and_runs_a_cycle_over_http(
    api_server: ServerThread,  # noqa: F811
    seed_engine: CycleEngine,
    hooks: WebhookReceiver,
    clients: list[httpx.Client],
) -> None:
    def host(token: str) -> Host:
        made = Host(api_server.url, token)
        clients.append(made.http)
        return made

    admin_key = seed_engine.alliances.credentials.create_key(name="host tool", role="admin")
    admin = host(admin_key.token)
    alliance = admin.send("POST", "/alliances", json={**ALLIANCE, "weekend_days": "5,6"})["id"]
    imported = admin.send(
        "POST",
        f"/alliances/{alliance}/import",
        content=PARTNER_LIST.read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported["organisations_created"] == 76 and imported["people_created"] == 95
    assert imported["links_set"] == 57
    lead_org = imported["organisation_ids"][PARTNERS[0][0]]
    lead_person = imported["person_ids"][email_for(PARTNERS[0][4], PARTNERS[0][3])]

    made = admin.send(
        "POST",
        "/keys",
        json={"name": "Coordinación", "role": "coordinator", "alliance_id": alliance},
    )
    coordinator = host(made["token"])
    made = coordinator.send(
        "POST", "/keys", json={"name": "CEMIA", "role": "partner", "organisation_id": lead_org}
    )
    partner = host(made["token"])

    # corrections: a person's address, a local organisation's agency link
    agency = imported["organisation_ids"][PARTNERS[1][0]]
    coordinator.send("PATCH", f"/people/{lead_person}", 200, json={"name": "Lucía Ramírez G."})
    some_local = next(
        m
        for m in coordinator.get(f"/alliances/{alliance}/members", limit=100)["items"]
        if m["organisation"]["kind"] == "local"
    )
    local = some_local["organisation"]["id"]
    moved = coordinator.send(
        "PATCH", f"/alliances/{alliance}/members/{local}", 200, json={"works_with_id": agency}
    )
    assert moved["works_with_id"] == agency

    secret = coordinator.send(
        "POST",
        f"/alliances/{alliance}/webhooks",
        json={"url": hooks.url, "events": list(WEBHOOK_EVENTS)},
    )["secret"]

    cycle = coordinator.send(
        "POST",
        "/cycles",
        json={
            "template_key": "learning-cycle",
            "title": "Acceso a mercados",
            "alliance_id": alliance,
            "questions": ["¿Qué canales de mercado funcionan?"],
        },
    )["id"]
    for stage in [
        "question_workshop",
        "role_assignment",
        "work_plan",
        "good_practice_review",
        "prototype",
        "multi_context_testing",
        "documentation",
    ]:
        coordinator.send(
            "POST",
            f"/cycles/{cycle}/participation",
            json={
                "stage": stage,
                "organisation_id": lead_org,
                "level": "lead",
                "focal_point_id": lead_person,
            },
        )

    def fire(host: Host, trigger: str) -> None:
        host.send("POST", f"/cycles/{cycle}/transitions", json={"trigger": trigger})

    def product(kind: str, **extra: str) -> None:
        partner.send(
            "POST",
            f"/cycles/{cycle}/products",
            json={"kind": kind, "title": kind, "link": f"https://docs.example.org/{kind}", **extra},
        )

    fire(partner, "questions_agreed")
    fire(coordinator, "roles_assigned")
    fire(coordinator, "plan_approved")
    product("good_practice_review")
    fire(partner, "review_completed")
    product("prototype", form="tool")
    fire(partner, "prototypes_ready")
    for name in ("Quiché", "Copán", "Estelí"):
        context = coordinator.send(
            "POST",
            f"/cycles/{cycle}/contexts",
            json={
                "name": name,
                "country": "Guatemala",
                "community": name,
                "organisation_id": lead_org,
            },
        )
        partner.send(
            "POST",
            f"/cycles/{cycle}/contexts/{context['id']}/results",
            json={"summary": "Buyers came.", "rating": "strong"},
        )
    fire(partner, "testing_completed")
    questions = partner.get(f"/cycles/{cycle}/questions")
    partner.send(
        "POST",
        f"/cycles/{cycle}/questions/answers",
        200,
        json={"answers": {str(q["id"]): "Cooperatives buy in bulk." for q in questions}},
    )
    product("documented_results")
    fire(coordinator, "cycle_documented")

    detail = coordinator.get(f"/cycles/{cycle}")
    assert detail["state"] == "completed"
    history = coordinator.get(f"/cycles/{cycle}/history", limit=200)["items"]
    triggers = [e["trigger"] for e in history if e["trigger"]]
    assert len(triggers) == len(set(triggers)) == 7  # each fired once despite the retries
    assert len(coordinator.get(f"/cycles/{cycle}/products")["items"]) == 3
    assert len(coordinator.get(f"/cycles/{cycle}/contexts")["items"]) == 3
    assert len(coordinator.get("/people", limit=200)["items"]) == 95

    asyncio.run(_run_outbox(seed_engine))
    verify = readme_verifier()
    assert hooks.received, "no webhook delivery arrived"
    for headers, body in hooks.received:
        assert verify(secret, headers["x-cycleengine-signature"], body), headers
    kinds = {headers["x-cycleengine-event"] for headers, _ in hooks.received}
    assert kinds >= {
        "stage.entered",
        "participation.changed",
        "product.added",
        "context.added",
        "result.reported",
        "questions.answered",
        "cycle.completed",
    }
    deliveries = [headers["x-cycleengine-delivery"] for headers, _ in hooks.received]
    assert len(deliveries) == len(set(deliveries))  # no command's retry made a second event
