"""Stage texts a template gives per language (`translations:`) reach the reader's email: the
template's own Spanish title first, then the gettext catalog (French here), then the default
text (English). Real engine on both databases, real outbox rows, real rendering."""

from __future__ import annotations

import email
from email.message import Message
from email.policy import default

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import EmailChannel
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.template_texts import catalog
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.cycle_engine.outbox.conftest import COORDINATOR

OWN_TITLE = "Plan de trabajo de la alianza"
OWN_DESCRIPTION = "Cada organización dice qué hará y cuándo."
TEMPLATE = f"""\
key: plan-cycle
title: Plan cycle
initial: kickoff
stages:
  - key: kickoff
    title: Kickoff
    duration: P1W
  - key: work_plan
    title: Work plan
    description: Each organisation says what it will do and when.
    duration: P2W
    translations:
      es: {{title: {OWN_TITLE}, description: {OWN_DESCRIPTION}}}
  - key: done
    title: Done
    final: true
transitions:
  - {{trigger: start_plan, from: kickoff, to: work_plan}}
  - {{trigger: finish, from: work_plan, to: done}}
"""


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def test_stage_started_email_uses_the_template_translation_then_the_catalog(
    engine: CycleEngine, clock: ManualClock
) -> None:
    assert catalog("es")["Work plan"] != OWN_TITLE  # the template's text, not the catalog's
    engine.templates.publish(TEMPLATE, "plan.yaml")
    build = WorldBuilder(engine, actor=COORDINATOR)
    build.alliance("alliance", "Rural alliance", "Rural enterprise", timezone="UTC")
    member = ["alliance"]
    build.organisation("research", "Research Centre", "research", "Colombia", member_of=member)
    build.organisation("farmers", "Farmers Network", "local", "Guatemala", member_of=member)
    build.person("ana", "Ana Pérez", "ana@research.example.org", "research", language="es")
    build.person("carla", "Carla Dubois", "carla@research.example.org", "research", language="fr")
    build.person("ben", "Ben Okafor", "ben@farmers.example.org", "farmers", language="en")
    build.person("cora", "Cora", "cora@example.org", "research", roles={"alliance": "coordinator"})
    build.cycle("cycle", "plan-cycle", "Market access", "alliance")
    build.role("cycle", "work_plan", "research", "lead", focal_point="ana", deputy="carla")
    build.role("cycle", "work_plan", "farmers", "active", focal_point="ben")
    engine.fire(build.ids["cycle"], "start_plan", actor=COORDINATOR)

    rows = {
        r.recipient: r
        for r in engine.outbox.messages(limit=100)
        if r.kind == "stage_started" and r.context["stage"]["key"] == "work_plan"
    }
    assert set(rows) >= {
        "ana@research.example.org",
        "carla@research.example.org",
        "ben@farmers.example.org",
    }
    stored = rows["ana@research.example.org"].context["stage"]
    assert stored["title"] == "Work plan"  # the default is kept; the reader's language is chosen
    assert stored["translations"]["es"]["title"] == OWN_TITLE  # when the email is composed

    channel = EmailChannel(
        None,  # type: ignore[arg-type]
        Renderer(),
        LinkSigner("s" * 32, "https://cycles.example.org", clock),
        "ciclos@example.org",
    )

    def compose(recipient: str) -> Message:
        raw = channel.compose(rows[recipient], clock.now())
        return email.message_from_bytes(raw, policy=default)

    spanish = compose("ana@research.example.org")
    assert spanish["Subject"] == f"Nuevo paso: {OWN_TITLE} (Market access)"
    assert OWN_DESCRIPTION in _text_part(spanish)
    assert "Work plan" not in _text_part(spanish)
    french = compose("carla@research.example.org")
    assert french["Subject"] == f"Nouvelle étape : {catalog('fr')['Work plan']} (Market access)"
    english = compose("ben@farmers.example.org")
    assert "Work plan" in english["Subject"]
    assert "Each organisation says what it will do and when." in _text_part(english)
