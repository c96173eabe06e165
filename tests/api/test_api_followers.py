"""Members read and follow (issue 12 item 5): a person of a member organisation with no role on
a cycle follows it over HTTP and then gets the cycle's `stage_results` email with the informed
organisations; following changes nothing on the cycle, repeats harmlessly, and reaches only the
caller's own people (partners) or the alliance's members (coordinators); managers only read."""

from __future__ import annotations

import email
import threading
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.policy import default

from cycle_engine import CycleEngine
from cycle_engine.alliances.reach import Reach
from cycle_engine.notifications.delivery import EmailChannel
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.conftest import COORDINATOR, SECRET, World
from tests.cycle_engine.alliances.conftest import LATER_STAGES


def _member(world: World, engine: CycleEngine) -> tuple[int, int]:
    """o4 sits in alliance A with no role on cycle A; p4 is its person; partner_o4 its key."""
    o4 = engine.alliances.add_organisation("Red Rural", "local", "Honduras")
    assert o4.id is not None
    engine.alliances.join_alliance(world.ids["alliance_a"], o4.id)
    p4 = engine.alliances.add_person("Rosa Díaz", "rosa@redrural.example", o4.id)
    assert p4.id is not None
    world.tokens["partner_o4"] = engine.alliances.credentials.create_key(
        name="partner_o4", role="partner", organisation_id=o4.id
    ).token
    return o4.id, p4.id


#: What a follower's results email says of why it comes, per language (not "participant").
FOLLOWER_WORDS = {
    "en": ("You follow this cycle", "You receive this email as follower in"),
    "es": ("Usted sigue este ciclo", "Recibe este correo como seguidor(a) en"),
    "fr": ("Vous suivez ce cycle", "Vous recevez ce message en tant que abonné·e dans"),
}


def _text(row: OutboxRecord, world: World, clock: ManualClock) -> str:
    links = LinkSigner(SECRET, world.url, clock)
    channel = EmailChannel(None, Renderer(), links, "ciclos@example.org")  # type: ignore[arg-type]
    message = email.message_from_bytes(channel.compose(row, clock.now()), policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_member_follows_a_cycle_and_gets_its_results(
    world: World, seed_engine: CycleEngine, clock: ManualClock
) -> None:
    cycle = world.ids["cycle_a"]
    o4, p4 = _member(world, seed_engine)
    version = seed_engine.get_cycle(cycle).version
    with world.client("partner_o4") as client:
        first = client.post(f"/api/v1/cycles/{cycle}/followers", json={"person_id": p4})
        assert first.status_code == 201, first.text
        again = client.post(f"/api/v1/cycles/{cycle}/followers", json={"person_id": p4})
        assert again.status_code == 201 and again.json() == first.json()
        listed = client.get(f"/api/v1/cycles/{cycle}/followers").json()
        assert [f["person_id"] for f in listed] == [p4]
        assert listed[0]["followed_by"] == "key:partner_o4"
    assert seed_engine.get_cycle(cycle).version == version  # nothing changed on the cycle

    for stage in LATER_STAGES:
        seed_engine.work.assign(
            cycle, stage, world.ids["o1"], "lead", focal_point_id=world.ids["p1"], actor=COORDINATOR
        )
    for trigger in ("questions_agreed", "roles_assigned", "plan_approved"):
        seed_engine.fire(cycle, trigger, actor=COORDINATOR)
    assert not [
        r for r in seed_engine.outbox.messages(limit=200) if r.recipient == "rosa@redrural.example"
    ]
    product = seed_engine.work.add_product(
        cycle,
        "good_practice_review",
        "Market review",
        world.ids["o1"],
        file_name="review.md",
        content=b"# Review\n",
        actor=COORDINATOR,
    )
    seed_engine.fire(cycle, "review_completed", actor=COORDINATOR)
    mine = [
        r for r in seed_engine.outbox.messages(limit=200) if r.recipient == "rosa@redrural.example"
    ]
    assert [(r.kind, r.stage) for r in mine] == [("stage_results", "good_practice_review")]
    assert [p["title"] for p in mine[0].context["details"]["products"]] == ["Market review"]
    assert mine[0].context["role"] == "follower"
    for language, words in FOLLOWER_WORDS.items():  # greeted as a follower in each language
        text = _text(mine[0].model_copy(update={"language": language}), world, clock)
        assert all(w in text for w in words), text
        assert "participa" not in text.split("--")[-1]  # the footer names no other role
    assert product.id is not None  # the signed download link's reach: a member reads the file
    assert seed_engine.work.product(product.id, reach=Reach(organisation_id=o4)).id == product.id

    with world.client("partner_o4") as client:
        gone = client.delete(f"/api/v1/cycles/{cycle}/followers/{p4}")
        assert gone.status_code == 204
        assert client.delete(f"/api/v1/cycles/{cycle}/followers/{p4}").status_code == 204
        assert client.get(f"/api/v1/cycles/{cycle}/followers").json() == []


def test_who_may_make_whom_follow(world: World, seed_engine: CycleEngine) -> None:
    """Partners: their own people only (another organisation's person is not found); managers:
    refused; coordinators: any member's person, not a person outside the alliance; another
    alliance's key: the cycle is not found. A refused request adds no follower."""
    cycle = world.ids["cycle_a"]
    _, p4 = _member(world, seed_engine)
    url = f"/api/v1/cycles/{cycle}/followers"
    with world.client("partner_o4") as client:
        other = client.post(url, json={"person_id": world.ids["p1"]})
        assert (
            other.status_code == 404
            and other.json()["detail"] == f"person {world.ids['p1']} not found"
        )
    with world.client("manager_a") as client:
        refused = client.post(url, json={"person_id": p4})
        assert refused.status_code == 403 and "managers read" in refused.json()["detail"]
    with world.client("coord_b") as client:
        assert client.post(url, json={"person_id": world.ids["p3"]}).status_code == 404
    with world.client("coord_a") as client:
        outside = client.post(url, json={"person_id": world.ids["p3"]})
        assert outside.status_code == 404, outside.text
        assert client.get(url).json() == []
        added = client.post(url, json={"person_id": p4})
        assert added.status_code == 201 and added.json()["followed_by"] == "key:coord_a"
    with world.client("partner_o1") as client:  # a partner lists only its own people
        assert client.get(url).json() == []


def test_two_follows_at_once_both_answer_the_one_row(
    world: World, seed_engine: CycleEngine
) -> None:
    """Eight concurrent follows of one person (a retried request racing the first) all answer
    the same follower row; none fails on the unique key."""
    cycle = world.ids["cycle_a"]
    _, p4 = _member(world, seed_engine)
    start = threading.Barrier(8)

    def follow() -> int | None:
        start.wait()
        return seed_engine.learning.follow_cycle(cycle, p4, actor=COORDINATOR).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: follow(), range(8)))
    assert len(set(ids)) == 1 and ids[0] is not None
    assert [f.person_id for f in seed_engine.learning.followers(cycle)] == [p4]
