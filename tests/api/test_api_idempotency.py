"""One Idempotency-Key rule for every command (issue 19, item 5): the same key and request replay
the first answer whatever the cycle's version is now (the key is looked up before If-Match),
another request with the key answers 422 everywhere, uploads included, and the answer is stored
in the command's own transaction."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.api.access import Access
from cycle_engine.api.idempotency import fingerprint, run_once
from cycle_engine.api.schemas_domain import PersonPublic
from cycle_engine.store.tables.access import ApiIdempotencyRecord
from tests.api.conftest import World

REUSED = "urn:cycle-engine:problem:idempotency-key-reused"


def _etag(client: object, url: str, cycle: int) -> str:
    response = client.get(f"/api/v1/cycles/{cycle}")  # type: ignore[attr-defined]
    return str(response.headers["etag"])


def test_product_retry_with_its_first_if_match_replays_after_the_cycle_moved(
    world: World,
) -> None:
    """The issue's 412: a product POST retried with its key and its first If-Match replays."""
    cycle = world.ids["cycle_a"]
    body = {
        "kind": "learning_questions",
        "title": "Agreed",
        "link": "https://example.org/q",
        "author_organisation_id": world.ids["o1"],
    }
    with world.client("coord_a") as client:
        tag = _etag(client, world.url, cycle)
        headers = {"Idempotency-Key": "product-1", "If-Match": tag}
        first = client.post(f"/api/v1/cycles/{cycle}/products", json=body, headers=headers)
        assert first.status_code == 201, first.text
        moved = client.post(
            f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "questions_agreed"}
        )
        assert moved.status_code == 201, moved.text
        again = client.post(f"/api/v1/cycles/{cycle}/products", json=body, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        listed = client.get(f"/api/v1/cycles/{cycle}/products").json()["items"]
        assert [p["id"] for p in listed] == [first.json()["id"]]
        other = client.post(
            f"/api/v1/cycles/{cycle}/products", json={**body, "title": "Else"}, headers=headers
        )
        assert other.status_code == 422 and other.json()["type"] == REUSED


def test_transition_retry_replays_and_another_body_with_the_key_is_422(world: World) -> None:
    """Transitions follow the same rule: a different note with the same key is refused."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        tag = _etag(client, world.url, cycle)
        headers = {"Idempotency-Key": "agree", "If-Match": tag}
        body = {"trigger": "questions_agreed", "note": "agreed"}
        first = client.post(f"/api/v1/cycles/{cycle}/transitions", json=body, headers=headers)
        assert first.status_code == 201, first.text
        again = client.post(f"/api/v1/cycles/{cycle}/transitions", json=body, headers=headers)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["etag"] == first.headers["etag"]
        other = client.post(
            f"/api/v1/cycles/{cycle}/transitions",
            json={**body, "note": "something else"},
            headers=headers,
        )
        assert other.status_code == 422, other.text
        assert other.json()["type"] == REUSED
        history = client.get(f"/api/v1/cycles/{cycle}/history").json()["items"]
        assert sum(e["trigger"] == "questions_agreed" for e in history) == 1


def test_upload_retry_replays_without_a_second_file(world: World) -> None:
    """A retried upload with its key adds one product; another file with the key is 422."""
    cycle = world.ids["cycle_a"]
    url = f"/api/v1/cycles/{cycle}/products/files"
    data = {"kind": "learning_questions", "title": "Questions"}
    headers = {"Idempotency-Key": "upload-1"}
    with world.client("partner_o1") as client:
        first = client.post(
            url, files={"file": ("q.txt", b"one\n", "text/plain")}, data=data, headers=headers
        )
        assert first.status_code == 201, first.text
        again = client.post(
            url, files={"file": ("q.txt", b"one\n", "text/plain")}, data=data, headers=headers
        )
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
        other = client.post(
            url, files={"file": ("q.txt", b"two\n", "text/plain")}, data=data, headers=headers
        )
        assert other.status_code == 422 and other.json()["type"] == REUSED
        listed = client.get(f"/api/v1/cycles/{cycle}/products").json()["items"]
        assert len(listed) == 1


def test_a_failed_first_attempt_keeps_nothing_and_the_key_stays_free(world: World) -> None:
    """A refused command stores no answer: the corrected request with the key runs."""
    organisation = world.ids["o1"]
    headers = {"Idempotency-Key": "person-1"}
    body = {"name": "Rosa", "email": "rosa@ciat.example", "organisation_id": organisation}
    with world.client("coord_a") as client:
        bad = client.post("/api/v1/people", json={**body, "timezone": "Mars/Base"}, headers=headers)
        assert bad.status_code == 422
        good = client.post("/api/v1/people", json=body, headers=headers)
        assert good.status_code == 201, good.text
        again = client.post("/api/v1/people", json=body, headers=headers)
        assert again.json() == good.json()


def test_the_answer_is_stored_in_the_commands_transaction(seed_engine: CycleEngine) -> None:
    """A command whose answer cannot be stored is undone with it: a person added inside a unit
    that then fails is not there, and no answer is kept."""
    engine = seed_engine
    organisation = engine.alliances.add_organisation("Org", "ngo", "Peru")
    assert organisation.id is not None
    admin = engine.alliances.credentials.create_key(name="admin", role="admin")
    caller = Access(actor_name="key:admin", role="admin", key_id=admin.record.id)

    def command() -> PersonPublic:
        person = engine.alliances.add_person("Ada", "ada@org.example", organisation.id or 0)
        raise RuntimeError(f"the answer for {person.id} could not be written")

    with pytest.raises(RuntimeError):
        run_once(engine, caller, "k", fingerprint("POST", "/people", "x"), 201, command)
    assert engine.alliances.list_people() == []
    with engine.db.read_session() as session:
        assert session.exec(select(ApiIdempotencyRecord)).all() == []

    def works() -> PersonPublic:
        return PersonPublic.model_validate(
            engine.alliances.add_person("Ada", "ada@org.example", organisation.id or 0)
        )

    answer = run_once(engine, caller, "k", fingerprint("POST", "/people", "x"), 201, works)
    replay = run_once(engine, caller, "k", fingerprint("POST", "/people", "x"), 201, works)
    assert answer.body == replay.body and replay.headers["idempotent-replayed"] == "true"
    assert len(engine.alliances.list_people()) == 1


def test_two_racing_requests_with_one_key_run_once(seed_engine: CycleEngine) -> None:
    """Eight threads send the same command with the same key at once: one person is added, and
    every thread gets the same answer (no conflict from the others' effects)."""
    engine = seed_engine
    organisation = engine.alliances.add_organisation("Org", "ngo", "Peru")
    admin = engine.alliances.credentials.create_key(name="admin", role="admin")
    caller = Access(actor_name="key:admin", role="admin", key_id=admin.record.id)
    start = threading.Barrier(8)

    def command() -> PersonPublic:
        return PersonPublic.model_validate(
            engine.alliances.add_person("Ada", "ada@org.example", organisation.id or 0)
        )

    def send() -> tuple[int, bytes]:
        start.wait()
        answer = run_once(engine, caller, "race", fingerprint("POST", "/people", "x"), 201, command)
        return answer.status_code, bytes(answer.body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send(), range(8)))
    assert len(set(answers)) == 1 and answers[0][0] == 201
    assert len(engine.alliances.list_people()) == 1
