"""The dashboard speaks the reader's language over real HTTP: the browser's Accept-Language for a
visitor, the signed-in person's own language, and above both the language switch (`?lang=`,
remembered in a cookie). Pages read in Spanish carry no English chrome: none of the dashboard
catalog's English sentences is left in them, only partners' own words and the engine's."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from cycle_engine import CycleEngine
from cycle_engine.alliances.reach import EVERYTHING
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory, SqliteFactory
from tests.api.dashboard.conftest import (
    COORDINATOR,
    DashboardServer,
    World,
    csrf_of,
    seed_world,
    sign_in,
)

LOCALE = Path(__file__).resolve().parents[3] / "api" / "dashboard" / "locale"
SPANISH_GUATEMALA = "es-GT,es;q=0.9,en;q=0.5"
_PIECES = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


def english_sentences(language: str) -> list[str]:
    """Runs of at least 12 characters of the catalog's English msgids that `language` renders
    differently (placeholders and markup cut out), as a page would show them."""
    with (LOCALE / language / "LC_MESSAGES" / "dashboard.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    pieces = set()
    for message in catalog:
        if not message.id or not message.string or message.string == message.id:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        for source in sources:
            for piece in _PIECES.split(source):
                piece = piece.strip(" .,:;()—·")
                if len(piece) >= 12:
                    pieces.add(piece)
    return sorted(pieces)


def visible_text(page: str) -> str:
    """The page's text as read (markup gone, entities decoded, blanks folded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def english_left(page: str, language: str = "es") -> list[str]:
    text = visible_text(page)
    return [piece for piece in english_sentences(language) if piece in text]


def speak(db_url: str, email: str, language: str) -> None:
    """Set the language of the person with `email`, as a correction through the engine does."""
    with CycleEngine(db_url) as engine:
        [person] = [p for p in engine.alliances.list_people() if p.email == email]
        assert person.id is not None
        engine.alliances.corrections.update_person(
            person.id, {"language": language}, actor=COORDINATOR, reach=EVERYTHING
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reading_room(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
) -> Iterator[tuple[DashboardServer, World]]:
    """One server and seeded world per backend for this module's tests that change nothing on
    the server (they read pages, sign in with their own client, or have a form refused), with
    the coordinator's language set to Spanish; tests that fire or edit get their own."""
    if request.param == "sqlite":
        url = sqlite_factory.new(tmp_path_factory.mktemp("languages"))
    elif postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL to run on PostgreSQL")
    else:
        url = postgres_factory.new()
    clock = ManualClock()
    try:
        with CycleEngine(url, clock=clock) as engine:
            world = seed_world(engine)
        speak(url, world.coordinator, "es")
        with DashboardServer(url, clock, tmp_path_factory.mktemp("languages-data")) as server:
            yield server, world
    finally:
        if postgres_factory is not None and request.param == "postgresql":
            postgres_factory.drop(url)


def test_visitor_gets_the_browsers_language(
    reading_room: tuple[DashboardServer, World],
) -> None:
    """The sign-in page answers Accept-Language (es-GT reads Spanish, fr French) and says so in
    `<html lang>`; without the header it stays English."""
    client = reading_room[0].client()
    spanish = client.get("/dashboard/signin", headers={"Accept-Language": SPANISH_GUATEMALA})
    assert spanish.status_code == 200
    assert '<html lang="es">' in spanish.text
    assert "Enviarme un enlace de acceso" in spanish.text and "Correo electrónico" in spanish.text
    assert english_left(spanish.text) == []
    french = client.get("/dashboard/signin", headers={"Accept-Language": "fr-SN, en;q=0.3"})
    assert '<html lang="fr">' in french.text and "M'envoyer un lien de connexion" in html.unescape(
        french.text
    )
    english = client.get("/dashboard/signin")
    assert '<html lang="en">' in english.text and "Email me a sign-in link" in english.text


@pytest.fixture
def spanish_coordinator(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> httpx.Client:
    """The coordinator, whose language is Spanish, signed in from an English browser (on a
    server of the test's own, for tests that change something)."""
    speak(db_url, dashboard_world.coordinator, "es")
    client = sign_in(dashboard, dashboard_world.coordinator)
    client.headers["Accept-Language"] = "en-US,en;q=0.9"
    return client


@pytest.fixture
def reading_coordinator(reading_room: tuple[DashboardServer, World]) -> httpx.Client:
    """The Spanish-speaking coordinator signed in from an English browser on the shared server."""
    server, world = reading_room
    client = sign_in(server, world.coordinator)
    client.headers["Accept-Language"] = "en-US,en;q=0.9"
    return client


def test_spanish_coordinator_reads_the_pages_in_spanish(
    reading_coordinator: httpx.Client, reading_room: tuple[DashboardServer, World]
) -> None:
    """The person's language beats the browser's: the overview, stalled steps, cycle list, cycle
    page, my steps, templates and the template editor read in Spanish, stage titles included,
    with no English chrome left."""
    client = reading_coordinator
    dashboard_world = reading_room[1]
    alliance = f"/dashboard/alliances/{dashboard_world.alliance_id}"
    expected = {
        alliance: ["Ciclos detenidos: quién debe actuar", "Resumen", "Pasos estancados"],
        f"{alliance}/stalled": ["Nada está estancado. Bien.", "Quién debe actuar y por qué"],
        f"{alliance}/cycles": ["Filtrar", "Taller de preguntas"],
        f"/dashboard/cycles/{dashboard_world.cycle_id}": [
            "Avanzar el ciclo",
            "Diagrama de estados",
            "Quién lidera cada etapa",
            "Taller de preguntas",
            "Cronología",
        ],
        "/dashboard/my-steps": ["Mis pasos", "Abiertos ahora"],
        f"{alliance}/templates": ["Mover los ciclos en curso a una nueva versión"],
        f"{alliance}/editor": ["Editor de plantillas", "Empezar una plantilla"],
    }
    for path, words in expected.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<html lang="es">' in page.text, path
        text = visible_text(page.text)
        for word in words:
            assert word in text, (path, word)
        assert english_left(page.text) == [], path
        assert "Sign out" not in text and "Salir" in text, path


def test_editor_and_flash_messages_speak_spanish(
    spanish_coordinator: httpx.Client, dashboard_world: World
) -> None:
    """A draft opened in the editor shows its form in Spanish, and the notices Python writes
    after a form (a fired trigger) are Spanish too."""
    client = spanish_coordinator
    alliance = f"/dashboard/alliances/{dashboard_world.alliance_id}"
    index = client.get(f"{alliance}/editor")
    started = client.post(
        f"{alliance}/editor",
        data={"csrf_token": csrf_of(index.text), "key": "nuestro-ciclo", "from_key": ""},
    )
    assert started.status_code == 303, started.text
    editor = client.get(started.headers["location"])
    assert editor.status_code == 200
    text = visible_text(editor.text)
    assert "Editar la plantilla nuestro-ciclo" in text and "Añadir una etapa" in text
    assert "Guardar borrador" in text
    assert english_left(editor.text) == []

    cycle = f"/dashboard/cycles/{dashboard_world.cycle_id}"
    page = client.get(cycle)
    fired = client.post(
        f"{cycle}/fire",
        data={"csrf_token": csrf_of(page.text), "trigger": "questions_agreed", "note": "listo"},
    )
    assert fired.status_code == 303
    after = visible_text(client.get(fired.headers["location"]).text)
    assert "Se ejecutó «Preguntas acordadas»." in after


def test_language_switch_overrides_and_is_remembered(
    reading_coordinator: httpx.Client, reading_room: tuple[DashboardServer, World]
) -> None:
    """`?lang=fr` turns the Spanish person's overview French, a cookie keeps it French on the
    next page, and `?lang=en` brings English back; the switch is plain links."""
    client = reading_coordinator
    dashboard_world = reading_room[1]
    overview = f"/dashboard/alliances/{dashboard_world.alliance_id}"
    spanish = client.get(overview)
    assert f'href="{overview}?lang=fr"' in spanish.text and 'hreflang="fr"' in spanish.text
    french = client.get(overview, params={"lang": "fr"})
    assert '<html lang="fr">' in french.text
    assert "Cycles bloqués : qui doit agir" in visible_text(french.text)
    assert english_left(french.text, "fr") == []
    assert "ce_lang=fr" in french.headers["set-cookie"]
    later = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    assert '<html lang="fr">' in later.text and "Faire avancer le cycle" in later.text
    english = client.get(overview, params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Stuck cycles: who must act" in english.text
    assert '<html lang="en">' in client.get(overview).text


def test_error_pages_follow_the_visitors_language(
    reading_room: tuple[DashboardServer, World],
) -> None:
    """A refused form (no CSRF token) is explained in the browser's language."""
    answer = (
        reading_room[0]
        .client()
        .post(
            "/dashboard/signin", data={"email": "x@example.org"}, headers={"Accept-Language": "fr"}
        )
    )
    assert answer.status_code == 403
    assert '<html lang="fr">' in answer.text and "Formulaire expiré" in answer.text


def test_a_page_answering_a_form_switches_language_through_a_get(
    reading_room: tuple[DashboardServer, World],
) -> None:
    """A page rendered as the answer to a POST (a refused sign-in form) offers the switch as
    links to the dashboard's home, which a GET reaches, not to the form's POST-only address."""
    client = reading_room[0].client()
    form = client.get("/dashboard/signin", headers={"Accept-Language": "es"})
    refused = client.post(
        "/dashboard/signin",
        data={"csrf_token": csrf_of(form.text), "email": "not-an-address"},
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 422
    assert "Escriba el correo electrónico que usa en la alianza" in refused.text
    assert 'href="/dashboard/?lang=fr"' in refused.text
    assert client.get("/dashboard/?lang=fr").status_code in (200, 303)


def test_trigger_words_and_transition_descriptions_follow_the_reader(
    spanish_coordinator: httpx.Client, dashboard_world: World
) -> None:
    """The cycle page's trigger buttons, forms, diagram and timeline name a built-in trigger and
    describe its transition through the template texts' catalog, in the reader's language;
    English reads as before (the diagram keeps the trigger's key)."""
    client = spanish_coordinator
    cycle = f"/dashboard/cycles/{dashboard_world.cycle_id}"
    page = client.get(cycle)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Nota para «Preguntas acordadas» (hacia Asignación de roles)" in text
    assert "Los socios acordaron las preguntas de aprendizaje." in text
    assert '<button type="submit" data-trigger="questions_agreed">Preguntas acordadas</button>' in (
        page.text
    )
    assert "Poner el ciclo en espera (por ejemplo, durante una falta de financiamiento)" in text
    assert ">Preguntas acordadas</text>" in page.text  # the diagram's edge
    for english in ("Questions agreed", "The partners agreed the learning questions", "on hold"):
        assert english not in text, english

    fired = client.post(
        f"{cycle}/fire",
        data={"csrf_token": csrf_of(page.text), "trigger": "questions_agreed", "note": "listo"},
    )
    assert fired.status_code == 303
    after = client.get(cycle)
    timeline = after.text[after.text.index('id="timeline-h"') :]
    assert "“Preguntas acordadas”" in visible_text(timeline)
    assert 'aria-describedby="why-roles_assigned">Roles asignados</button>' in after.text

    french = visible_text(client.get(cycle, params={"lang": "fr"}).text)
    assert "“Questions convenues”" in french and "Rôles attribués" in french
    assert "Mettre le cycle en attente (par exemple pendant un manque de financement)" in french

    english = client.get(cycle, params={"lang": "en"})
    words = visible_text(english.text)
    assert "Note for “Pause” (to Paused): Put the cycle on hold (for example during a" in words
    assert "“Questions agreed”: Question workshop → Role assignment" in words
    assert 'aria-describedby="why-roles_assigned">Roles assigned</button>' in english.text
    assert ">Questions agreed</text>" in english.text  # the diagram names it as buttons do
    assert ">questions_agreed</text>" not in english.text
