"""The pages behind email links speak the language of the person the link was made for, over
real HTTP: Carla reads French whatever her browser says; a link that names nobody (tampered)
falls back to the browser's Accept-Language. No English sentence of the pages' catalog is left
on a French page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI

from cycle_engine.api.routers.email_actions import email_actions_router
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from tests.notifications.conftest import World
from tests.servers import LoopbackServer

SECRET = "test-secret-key-0123456789abcdef"
CATALOG = Path(__file__).resolve().parents[2] / "notifications" / "locale"
_PIECES = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


@pytest.fixture
def site(world: World) -> Iterator[tuple[str, LinkSigner]]:
    """The email-link router served by uvicorn on a free loopback port."""

    def build(base: str) -> FastAPI:
        app = FastAPI()
        app.state.engine = world.engine
        app.state.settings = SimpleNamespace(secret_key=SECRET, base_url=base)
        app.include_router(email_actions_router())
        return app

    with LoopbackServer(build, lifespan="off") as server:
        yield server.url, LinkSigner(SECRET, server.url, world.clock)


def claim(world: World, action: str, person: str) -> ActionClaim:
    visit = world.engine.cycles.current_stage(world.cycle_id)
    assert visit is not None and visit.id is not None
    return ActionClaim(
        action=action,
        person_id=world.person(person),
        cycle_id=world.cycle_id,
        stage_visit_id=visit.id,
        nonce="lang1",
    )


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def english_left(page: str, language: str) -> list[str]:
    """English runs (12+ characters) of the pages' msgids that `language` translates, found in
    the page's text."""
    with (CATALOG / language / "LC_MESSAGES" / "pages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    text = text_of(page)
    found = set()
    for message in catalog:
        if not message.id or message.string == message.id:
            continue
        for source in [message.id] if isinstance(message.id, str) else list(message.id):
            for piece in _PIECES.split(source):
                piece = piece.strip(" .,:;()")
                if len(piece) >= 12 and piece in text:
                    found.add(piece)
    return sorted(found)


def test_french_person_reads_the_action_page_in_french(
    site: tuple[str, LinkSigner], world: World
) -> None:
    """Carla's acknowledge link opens a French page (her stage's title too) from an English
    browser; acting on it thanks her in French."""
    base, links = site
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    page = httpx.get(
        links.action_url(claim(world, "acknowledge", "carla")), headers=english_browser
    )
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    text = text_of(page.text)
    assert "Accuser réception de cette étape" in text and "Atelier des questions" in text
    assert "pour Carla Dubois" in text and "Confirmer" in text
    assert english_left(page.text, "fr") == []
    token = links.action_token(claim(world, "acknowledge", "carla"))
    done = httpx.post(
        f"{base}/email/actions/acknowledge", data={"t": token}, headers=english_browser
    )
    assert done.status_code == 200 and "C'est fait, merci." in text_of(done.text)


def test_snooze_and_preferences_pages_are_french_for_carla(
    site: tuple[str, LinkSigner], world: World
) -> None:
    """The snooze choices count days in French, and Carla's preferences page names the kinds
    of email in French."""
    _, links = site
    snooze = httpx.get(links.action_url(claim(world, "snooze", "carla")))
    assert "3 jours" in snooze.text and "Me le rappeler dans" in snooze.text
    assert english_left(snooze.text, "fr") == []
    prefs = httpx.get(links.preferences_url(world.person("carla")))
    text = text_of(prefs.text)
    assert '<html lang="fr">' in prefs.text
    assert "Préférences de notification" in text and "Résumés quotidiens" in text
    assert english_left(prefs.text, "fr") == []


def test_a_link_naming_nobody_follows_the_browser(
    site: tuple[str, LinkSigner], world: World
) -> None:
    """A tampered token names no person: the refusal reads in the browser's language, English
    without one."""
    base, links = site
    token = links.action_token(claim(world, "acknowledge", "carla"))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    french = httpx.get(
        f"{base}/email/actions/acknowledge",
        params={"t": tampered},
        headers={"Accept-Language": "fr"},
    )
    assert french.status_code == 400 and '<html lang="fr">' in french.text
    assert "Rien n'a été modifié." in text_of(french.text)
    english = httpx.get(f"{base}/email/actions/acknowledge", params={"t": tampered})
    assert '<html lang="en">' in english.text and "Nothing was changed." in english.text
