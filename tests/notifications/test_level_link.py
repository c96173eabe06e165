"""Partners choose their organisation's level from an email (issue 12, item 6), over real SMTP
(aiosmtpd) and the real app over HTTP: the kickoff email carries the link, its page lists the
stages in the reader's language, the POST records proposals as the API does, the coordinator
confirms one and changes another, and the history holds both; a tampered, expired or replayed
link changes nothing."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from cycle_engine.api import create_app
from cycle_engine.notifications.reader import Words
from cycle_engine.notifications.render import LOCALE, PAGES_DOMAIN
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings
from cycle_engine.outbox.level_choice import offers_level_choice
from tests.api.conftest import SECRET, ServerThread, api_settings
from tests.cycle_engine.outbox.conftest import COORDINATOR
from tests.notifications.conftest import SmtpServer, World

LINK_LABELS = {
    "en": "Choose your organisation's level for each stage",
    "es": "Elegir el nivel de su organización en cada etapa",
    "fr": "Choisir le niveau de votre organisation pour chaque étape",
}


@pytest.fixture
def site(world: World, tmp_path: Path) -> Iterator[ServerThread]:
    """The whole app on the world's engine, over real HTTP."""
    settings = api_settings(world.engine.db.url, tmp_path)
    with ServerThread(create_app(settings, engine=world.engine)) as server:
        yield server


def deliver(world: World, smtp_server: SmtpServer, site: ServerThread, tmp_path: Path) -> None:
    settings = MailSettings(
        smtp=smtp_server.settings(), secret_key=SECRET, base_url=site.url, data_dir=tmp_path
    )
    sender = build_outbox_sender(world.engine, settings, mailer=smtp_server.sender())

    async def run() -> None:
        try:
            await sender.run_until_idle()
        finally:
            await sender.close()

    asyncio.run(run())


def texts_by_recipient(smtp_server: SmtpServer) -> dict[str, str]:
    texts: dict[str, str] = {}
    for received in smtp_server.handler.received:
        message = received.message
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        texts[received.rcpt_tos[0]] = texts.get(received.rcpt_tos[0], "") + body.get_content()
    return texts


def level_link(text: str, language: str) -> str:
    found = re.search(rf"- {re.escape(LINK_LABELS[language])}: (\S+)", text)
    assert found is not None, text
    return found.group(1)


def history(world: World) -> Counter[str]:
    return Counter(e.kind for e in world.engine.history(world.cycle_id))


def test_kickoff_email_link_proposes_levels_and_the_coordinator_decides(
    world: World, smtp_server: SmtpServer, site: ServerThread, tmp_path: Path
) -> None:
    engine, cycle = world.engine, world.cycle_id
    engine.run_due_timers()  # the kickoff: "stage started" to every organisation of the stage
    deliver(world, smtp_server, site, tmp_path)
    texts = texts_by_recipient(smtp_server)
    # focal points, the deputy and the informed partner each get the link, in their language
    for address, language in (
        ("ana@research.example.org", "es"),
        ("ben@research.example.org", "en"),
        ("dario@farmers.example.org", "es"),
        ("eve@donor.example.org", "en"),
    ):
        assert LINK_LABELS[language] in texts[address], address
    url = level_link(texts["dario@farmers.example.org"], "es")
    assert url.startswith(f"{site.url}/email/actions/level?t=")
    before = history(world)

    spanish = Words.of(LOCALE, PAGES_DOMAIN, "es")  # Dario reads Spanish
    recorded = spanish.gettext(
        "Thank you. Your proposals were recorded; the coordinator will confirm them."
    )
    used = spanish.gettext("This link was already used. Nothing was changed.")
    assert recorded != "Thank you. Your proposals were recorded; the coordinator will confirm them."
    assert used != "This link was already used. Nothing was changed."
    page = httpx.get(url)  # a scanner's GET shows the stages and changes nothing
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="es">' in page.text
    assert "Taller de preguntas" in page.text and "Farmers Network" in page.text
    spec = engine.templates.spec_of(engine.cycles.get_cycle(cycle).template_id)
    for stage in spec.work_stages:
        assert f'name="level.{stage.key}"' in page.text
    assert history(world) == before and engine.learning.proposals(cycle) == []

    token = url.split("?t=", 1)[1]
    posted = httpx.post(
        f"{site.url}/email/actions/level",
        data={
            "t": token,
            "level.prototype": "lead",
            "level.multi_context_testing": "active",
            "level.documentation": "",
            "note": "We have field staff in Petén",
        },
    )
    assert posted.status_code == 200, posted.text
    assert "Sus propuestas se registraron" in posted.text  # the page speaks Dario's Spanish
    proposals = engine.learning.proposals(cycle)
    farmers = world.organisations["farmers"]
    assert [(p.stage, p.level, p.organisation_id, p.source, p.status) for p in proposals] == [
        ("prototype", "lead", farmers, "email", "proposed"),
        ("multi_context_testing", "active", farmers, "email", "proposed"),
    ]
    assert {p.proposed_by for p in proposals} == {"Dario López (email)"}

    replay = httpx.post(
        f"{site.url}/email/actions/level", data={"t": token, "level.prototype": "informed"}
    )
    assert replay.status_code == 200 and "ya se usó" in replay.text
    assert "ya se usó" in httpx.get(url).text
    assert len(engine.learning.proposals(cycle)) == 2

    first, second = proposals
    assert first.id is not None and second.id is not None
    engine.learning.decide_proposal(cycle, first.id, actor=COORDINATOR)
    engine.learning.decide_proposal(cycle, second.id, level="informed", actor=COORDINATOR)
    decided = {p.stage: (p.status, p.decided_level) for p in engine.learning.proposals(cycle)}
    assert decided == {
        "prototype": ("confirmed", "lead"),
        "multi_context_testing": ("changed", "informed"),
    }
    levels = {(p.stage, p.organisation_id): p.level for p in engine.work.participants(cycle)}
    assert levels[("prototype", farmers)] == "lead"
    assert levels[("multi_context_testing", farmers)] == "informed"
    events = [e for e in engine.history(cycle) if e.kind.startswith("level_")]
    assert [(e.kind, e.actor) for e in events] == [
        ("level_proposed", "Dario López (email)"),
        ("level_proposed", "Dario López (email)"),
        ("level_decided", COORDINATOR.name),
        ("level_decided", COORDINATOR.name),
    ]
    assert events[0].note == "We have field staff in Petén"


def test_tampered_expired_and_bad_choices_change_nothing(
    world: World, smtp_server: SmtpServer, site: ServerThread, tmp_path: Path
) -> None:
    engine, cycle = world.engine, world.cycle_id
    engine.run_due_timers()
    deliver(world, smtp_server, site, tmp_path)
    token = level_link(texts_by_recipient(smtp_server)["eve@donor.example.org"], "en").split(
        "?t=", 1
    )[1]
    post = f"{site.url}/email/actions/level"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "not-a-token"):
        shown = httpx.get(post, params={"t": bad})
        posted = httpx.post(post, data={"t": bad, "level.prototype": "lead"})
        assert shown.status_code == posted.status_code == 400
        assert "Nothing was changed" in posted.text
    # a link made for another action's page is no level link
    acknowledge = httpx.get(f"{site.url}/email/actions/acknowledge", params={"t": token})
    assert acknowledge.status_code == 400
    # nothing chosen, an unknown level or stage: refused with the field named
    for form, problem in (
        ({}, "choose a level for at least one stage"),
        ({"level.prototype": "boss"}, "level.prototype: must be one of lead, active, informed"),
        ({"level.harvest": "lead"}, "harvest"),
    ):
        refused = httpx.post(post, data={"t": token, **form})
        assert refused.status_code == 422 and problem in refused.text, refused.text
    # a stage already finished is refused too, and the link stays usable
    engine.fire(cycle, "questions_agreed", actor=COORDINATOR)
    finished = httpx.post(post, data={"t": token, "level.question_workshop": "lead"})
    assert finished.status_code == 409 and "the stage is finished" in finished.text
    assert 'name="level.question_workshop"' not in httpx.get(post, params={"t": token}).text
    world.clock.advance(timedelta(days=31))
    expired = httpx.post(post, data={"t": token, "level.prototype": "lead"})
    assert expired.status_code == 410 and "expired" in expired.text
    assert engine.learning.proposals(cycle) == []
    assert not [k for k in history(world) if k.startswith("level_")]


def test_the_link_comes_when_a_cycle_starts_and_at_role_assignment(world: World) -> None:
    """Learning-cycle: its first stage and role assignment; rapid-cycle: its kickoff."""
    engine = world.engine
    learning = engine.templates.spec_of(engine.cycles.get_cycle(world.cycle_id).template_id)
    offered = [s.key for s in learning.work_stages if offers_level_choice(learning, s.key)]
    assert offered == ["question_workshop", "role_assignment"]
    engine.run_due_timers()
    rows = [r for r in engine.outbox.messages(limit=100) if r.kind == "stage_started"]
    assert {r.recipient: "level" in r.context["actions"] for r in rows} == {
        "ana@research.example.org": True,
        "ben@research.example.org": True,
        "dario@farmers.example.org": True,
        "eve@donor.example.org": True,
    }
    # a reminder later in the stage carries no level link
    world.clock.advance(timedelta(days=15))
    engine.run_due_timers()
    later = [r for r in engine.outbox.messages(limit=100) if r.kind == "reminder"]
    assert later and all("level" not in r.context["actions"] for r in later)
