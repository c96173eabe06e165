"""Results reach informed partners (issue 12): when a stage completes with products, an informed
organisation's person gets a `stage_results` email in their language, with a signed link that
downloads the stored file from the real app, and a link to the cycle report."""

from __future__ import annotations

import email
import re
from email.message import Message
from email.policy import default

import httpx

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import EmailChannel
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.testing import ManualClock
from tests.api.conftest import COORDINATOR, SECRET, World
from tests.cycle_engine.alliances.conftest import LATER_STAGES


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def test_informed_partner_receives_results_with_a_signed_download(
    world: World, seed_engine: CycleEngine, clock: ManualClock
) -> None:
    """The informed person's email is Spanish (stage titles from the gettext catalog too), lists
    the product, and its link downloads the file; the link altered for another product is 404."""
    cycle = world.ids["cycle_a"]
    for stage in LATER_STAGES:
        seed_engine.work.assign(
            cycle, stage, world.ids["o1"], "lead", focal_point_id=world.ids["p1"], actor=COORDINATOR
        )
    for trigger in ("questions_agreed", "roles_assigned", "plan_approved"):
        seed_engine.fire(cycle, trigger, actor=COORDINATOR)
    marta = seed_engine.alliances.add_person(
        "Marta Ruiz", "marta@fundar.example", world.ids["o2"], language="es"
    )
    seed_engine.work.assign(
        cycle, "good_practice_review", world.ids["o2"], "informed", actor=COORDINATOR
    )
    product = seed_engine.work.add_product(
        cycle,
        "good_practice_review",
        "Preguntas acordadas",
        world.ids["o1"],
        file_name="preguntas.md",
        content=b"# Preguntas\n",
        actor=COORDINATOR,
    )
    seed_engine.fire(cycle, "review_completed", actor=COORDINATOR)
    rows = [r for r in seed_engine.outbox.messages(limit=100) if r.kind == "stage_results"]
    assert {r.recipient for r in rows} >= {"marta@fundar.example"}
    row = next(r for r in rows if r.recipient == "marta@fundar.example")
    assert row.language == "es"
    assert row.context["details"]["products"] == [
        {"id": product.id, "title": "Preguntas acordadas", "url": None, "file": "preguntas.md"}
    ]
    links = LinkSigner(SECRET, world.url, clock)
    channel = EmailChannel(None, Renderer(), links, "ciclos@example.org")  # type: ignore[arg-type]
    message = email.message_from_bytes(channel.compose(row, clock.now()), policy=default)
    title = "Market access for smallholders"
    assert message["Subject"] == f"Resultados compartidos: Revisión de buenas prácticas ({title})"
    text = _text_part(message)
    url = re.search(r"Preguntas acordadas: (\S+)", text)
    assert url is not None, text
    assert f"{world.url}/dashboard/cycles/{cycle}/report" in text
    downloaded = httpx.get(url.group(1))
    assert (downloaded.status_code, downloaded.content) == (200, b"# Preguntas\n")
    forged = url.group(1).replace(f"/products/{product.id}?", f"/products/{(product.id or 0) + 1}?")
    assert httpx.get(forged).status_code == 404
    completed = next(
        r
        for r in seed_engine.outbox.messages(limit=100)
        if r.kind == "stage_completed" and r.recipient == "marta@fundar.example"
    )
    notice = email.message_from_bytes(channel.compose(completed, clock.now()), policy=default)
    assert notice["Subject"] == f"Resultados: Revisión de buenas prácticas ha concluido ({title})"
    assert "El ciclo continúa ahora con Prototipo." in _text_part(notice)
    assert marta.id is not None
