"""The template's own title per language (`translations:` at its top level) reaches the reader's
email where the template is named: the Spanish reader gets the template's Spanish title, the
French reader (no French title given) the default. Real engine, outbox rows and rendering."""

from __future__ import annotations

import email
from email.policy import default

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import EmailChannel
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.cycle_engine.outbox.conftest import COORDINATOR
from tests.notifications.test_template_translations import _text_part

TEMPLATE = """\
key: market-cycle
title: Market access cycle
translations:
  es: {title: Ciclo de acceso a mercados}
initial: kickoff
stages:
  - {key: kickoff, title: Kickoff, duration: P1W}
  - {key: work_plan, title: Work plan, duration: P2W}
  - {key: done, title: Done, final: true}
transitions:
  - {trigger: start_plan, from: kickoff, to: work_plan}
  - {trigger: finish, from: work_plan, to: done}
"""


def test_the_template_title_reads_in_the_readers_language(
    engine: CycleEngine, clock: ManualClock
) -> None:
    engine.templates.publish(TEMPLATE, "market.yaml")
    build = WorldBuilder(engine, actor=COORDINATOR)
    build.alliance("alliance", "Rural alliance", "Rural enterprise", timezone="UTC")
    build.organisation(
        "research", "Research Centre", "research", "Colombia", member_of=["alliance"]
    )
    build.person("ana", "Ana Pérez", "ana@research.example.org", "research", language="es")
    build.person("carla", "Carla Dubois", "carla@research.example.org", "research", language="fr")
    build.cycle("cycle", "market-cycle", "Market access", "alliance")
    build.role("cycle", "work_plan", "research", "lead", focal_point="ana", deputy="carla")
    engine.fire(build.ids["cycle"], "start_plan", actor=COORDINATOR)
    rows = {
        r.recipient: r
        for r in engine.outbox.messages(limit=100)
        if r.kind == "stage_started" and r.context["stage"]["key"] == "work_plan"
    }
    stored = rows["ana@research.example.org"].context["template"]
    assert stored["title"] == "Market access cycle"
    assert stored["translations"]["es"]["title"] == "Ciclo de acceso a mercados"

    channel = EmailChannel(
        None,  # type: ignore[arg-type]
        Renderer(),
        LinkSigner("s" * 32, "https://cycles.example.org", clock),
        "ciclos@example.org",
    )

    def body(recipient: str) -> str:
        raw = channel.compose(rows[recipient], clock.now())
        return _text_part(email.message_from_bytes(raw, policy=default))

    assert "Sigue la plantilla Ciclo de acceso a mercados." in body("ana@research.example.org")
    assert "Il suit le modèle Market access cycle." in body("carla@research.example.org")
