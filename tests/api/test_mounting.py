"""The engine's app mounted in a host FastAPI app under `/ce`, served for real by uvicorn on
loopback: the lifespan runs through the host's, a missing lifespan gets a clear 503, a host's
engine is used and left open, and every dashboard URL (links, forms, assets, redirects, emailed
sign-in links) starts with the prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from typer.testing import CliRunner

from cycle_engine import CycleEngine, InvalidInput
from cycle_engine.api import Settings, create_app, mounted_lifespan
from cycle_engine.api.dashboard.signin import signin_link
from cycle_engine.cli import app as cli
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import World, csrf_of, seed_world
from tests.servers import LoopbackServer

SECRET = "mounting-test-secret-0123456789-abcdefghijkl"
PREFIX = "/ce"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post"}


def engine_settings(db_url: str, data_dir: Path, base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "secret_key": SECRET,
        "base_url": base_url,
        "run_worker": False,
        "run_sender": False,
        "data_dir": str(data_dir),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def host_app(engine_app: FastAPI, *, enter_lifespan: bool = True) -> FastAPI:
    """A host's own app, with its own route, the engine's app mounted under /ce."""

    @asynccontextmanager
    async def lifespan(_host: FastAPI) -> AsyncIterator[None]:
        if enter_lifespan:
            async with mounted_lifespan(engine_app):
                yield
        else:
            yield

    host = FastAPI(lifespan=lifespan)

    @host.get("/")
    def home() -> dict[str, str]:
        return {"app": "host"}

    host.mount(PREFIX, engine_app)
    return host


@pytest.fixture
def dashboard_world(db_url: str, clock: ManualClock) -> World:
    with CycleEngine(db_url, clock=clock) as engine:
        return seed_world(engine)


@pytest.fixture
def engine(
    db_url: str, clock: ManualClock, tmp_path: Path, dashboard_world: World
) -> Iterator[CycleEngine]:
    """The host's own engine on the seeded database."""
    with CycleEngine(db_url, clock=clock, data_dir=tmp_path / "data") as host_engine:
        yield host_engine


def admin_token(engine: CycleEngine) -> str:
    return engine.alliances.credentials.create_key(name="host-admin", role="admin").token


def test_mounted_app_runs_its_lifespan_through_the_host(
    db_url: str, clock: ManualClock, tmp_path: Path, dashboard_world: World
) -> None:
    """An app built without an engine, mounted under /ce: the host's lifespan enters the app's,
    which opens the engine and starts the services on start, and stops and closes on exit."""
    with CycleEngine(db_url, clock=clock) as seeding:
        token = admin_token(seeding)
    engine_app = create_app(
        engine_settings(db_url, tmp_path, "http://127.0.0.1/ce", run_worker=True), clock=clock
    )
    with LoopbackServer(lambda _url: host_app(engine_app)) as server, server.client() as client:
        assert client.get("/").json() == {"app": "host"}
        assert client.get(f"{PREFIX}/readyz").json() == {"status": "ready"}
        answer = client.get(
            f"{PREFIX}/api/v1/cycles/{dashboard_world.cycle_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["title"] == "Community seed systems"
        assert [s.name for s in engine_app.state.services.running] == ["scheduler"]
    assert engine_app.state.services.running == []
    assert not hasattr(engine_app.state, "engine")


def test_mounted_app_without_its_lifespan_says_how_to_fix_it(
    db_url: str, tmp_path: Path, dashboard_world: World
) -> None:
    """Mounted without entering its lifespan (and without an engine), the app answers 503 with
    a problem naming `mounted_lifespan`, not a 500."""
    engine_app = create_app(engine_settings(db_url, tmp_path, "http://127.0.0.1/ce"))
    with (
        LoopbackServer(lambda _url: host_app(engine_app, enter_lifespan=False)) as server,
        server.client() as client,
    ):
        answer = client.get(f"{PREFIX}/api/v1/cycles")
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert "mounted_lifespan" in answer.json()["detail"]
        assert client.get("/").status_code == 200


def test_host_engine_is_used_from_the_first_request_and_left_open(
    engine: CycleEngine, tmp_path: Path, dashboard_world: World
) -> None:
    """`create_app(engine=...)` serves the host's engine (its clock included) even before any
    lifespan ran, and the app's lifespan never closes it."""
    token = admin_token(engine)
    settings = engine_settings("sqlite:///unused.db", tmp_path, "http://127.0.0.1/ce")
    engine_app = create_app(settings, engine=engine)
    for enter in (False, True):
        with (
            LoopbackServer(lambda _url, e=enter: host_app(engine_app, enter_lifespan=e)) as server,
            server.client(headers={"Authorization": f"Bearer {token}"}) as client,
        ):
            answer = client.get(f"{PREFIX}/api/v1/cycles/{dashboard_world.cycle_id}")
            assert answer.status_code == 200, answer.text
        assert engine_app.state.engine is engine
    assert engine.get_cycle(dashboard_world.cycle_id).title == "Community seed systems"


def test_engine_and_clock_together_are_refused(engine: CycleEngine, tmp_path: Path) -> None:
    """The clock belongs to the engine: giving both to `create_app` is a clear error."""
    settings = engine_settings("sqlite:///unused.db", tmp_path, "http://127.0.0.1/ce")
    with pytest.raises(InvalidInput, match="pass the clock to the CycleEngine"):
        create_app(settings, engine=engine, clock=ManualClock())


class UrlCollector(HTMLParser):
    """Every URL-valued attribute in a page: (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.found.append((tag, name, value))


def page_urls(html: str) -> list[tuple[str, str, str]]:
    collector = UrlCollector()
    collector.feed(html)
    return [(t, a, v) for t, a, v in collector.found if not v.startswith(("#", "data:"))]


def assert_prefixed(page: str, answer: httpx.Response) -> list[str]:
    """Every URL in the page (and its Location) starts with /ce/; returns the page's assets."""
    assert answer.status_code in (200, 303, 404), (page, answer.status_code, answer.text[:300])
    if "location" in answer.headers:
        assert answer.headers["location"].startswith(f"{PREFIX}/"), (page, answer.headers)
    urls = (
        page_urls(answer.text)
        if answer.headers.get("content-type", "").startswith("text/html")
        else []
    )
    wrong = [(t, a, v) for t, a, v in urls if not v.startswith(f"{PREFIX}/")]
    assert not wrong, (page, wrong)
    return [v for t, a, v in urls if (t, a) in {("link", "href"), ("script", "src")}]


@pytest.fixture
def mounted(engine: CycleEngine, tmp_path: Path) -> Iterator[LoopbackServer]:
    """The host app with the host's engine mounted under /ce; `base_url` is the host's origin
    (without the prefix), the case the dashboard must still get right."""

    def build(url: str) -> FastAPI:
        settings = engine_settings("sqlite:///unused.db", tmp_path / "data", url)
        return host_app(create_app(settings, engine=engine))

    with LoopbackServer(build) as server:
        yield server


@contextmanager
def signed_in(server: LoopbackServer, engine: CycleEngine, email: str) -> Iterator[httpx.Client]:
    link = signin_link(engine, secret=SECRET, base_url=f"{server.url}{PREFIX}", email=email)
    assert urlsplit(link).path == f"{PREFIX}/dashboard/signin/confirm"
    with server.client(follow_redirects=False) as client:
        page = client.get(link)
        assert_prefixed("sign-in confirm", page)
        answer = client.post(
            f"{PREFIX}/dashboard/signin/confirm",
            data={"csrf_token": csrf_of(page.text), "token": link.split("token=", 1)[1]},
        )
        assert answer.status_code == 303
        assert_prefixed("after sign-in", answer)
        cookie_paths = {
            c.lower().split("path=")[1].split(";")[0] for c in answer.headers.get_list("set-cookie")
        }
        assert cookie_paths == {f"{PREFIX}/dashboard"}  # the host's own paths get no cookie
        yield client


def test_every_dashboard_url_follows_the_mount_prefix(
    mounted: LoopbackServer, engine: CycleEngine, dashboard_world: World, clock: ManualClock
) -> None:
    """Under /ce, every href, src, action, htmx URL and Location on the dashboard's pages starts
    with /ce/, and the assets they name load through the host."""
    clock.advance(timedelta(days=60))  # overdue and stalled, reminders in the mail log
    engine.run_due_timers()
    a, c = dashboard_world.alliance_id, dashboard_world.cycle_id
    assets: set[str] = set()
    with mounted.client(follow_redirects=False) as anonymous:
        for page in ("/dashboard/signin", f"/dashboard/cycles/{c}", "/dashboard/"):
            assets.update(assert_prefixed(page, anonymous.get(PREFIX + page)))
        assert (
            anonymous.get(f"{PREFIX}/dashboard/cycles/{c}")
            .headers["location"]
            .startswith(f"{PREFIX}/dashboard/signin?next=")
        )
    with signed_in(mounted, engine, dashboard_world.coordinator) as client:
        pages = [
            "/dashboard/",
            f"/dashboard/alliances/{a}",
            f"/dashboard/alliances/{a}/cycles",
            f"/dashboard/alliances/{a}/cycles?flag=overdue",
            f"/dashboard/cycles/{c}",
            f"/dashboard/alliances/{a}/stalled",
            f"/dashboard/alliances/{a}/mail",
            f"/dashboard/alliances/{a}/engagement",
            "/dashboard/my-steps",
            "/dashboard/cycles/999999",
        ]
        for page in pages:
            assets.update(assert_prefixed(page, client.get(PREFIX + page)))
        stalled = client.get(f"{PREFIX}/dashboard/alliances/{a}/stalled").text
        assert f'action="{PREFIX}/dashboard/alliances/{a}/stalled/{c}/nudge"' in stalled
        csrf = csrf_of(client.get(f"{PREFIX}/dashboard/cycles/{c}").text)
        posts = [
            (f"/dashboard/alliances/{a}/stalled/{c}/nudge", {}),
            (f"/dashboard/cycles/{c}/fire", {"trigger": "questions_agreed"}),
            ("/dashboard/signout", {}),
        ]
        for page, form in posts:
            answer = client.post(PREFIX + page, data={"csrf_token": csrf, **form})
            assert answer.status_code == 303, (page, answer.text[:300])
            assert_prefixed(page, answer)
    assert assets == {
        f"{PREFIX}/dashboard/static/dashboard.css",
        f"{PREFIX}/dashboard/static/vendor/htmx.min.js",
    }
    with mounted.client() as client:
        for asset in assets:
            assert client.get(asset).status_code == 200


def test_emailed_signin_link_follows_the_mount_prefix(
    mounted: LoopbackServer, engine: CycleEngine, dashboard_world: World
) -> None:
    """A sign-in link asked for on the mounted dashboard points under /ce (the base URL is the
    host's origin), and opening it shows the sign-in button there."""
    with mounted.client() as client:
        csrf = csrf_of(client.get(f"{PREFIX}/dashboard/signin").text)
        answer = client.post(
            f"{PREFIX}/dashboard/signin",
            data={"csrf_token": csrf, "email": dashboard_world.manager},
        )
        assert answer.status_code == 200
        with engine.db.read_session() as session:
            row = session.exec(select(OutboxRecord).where(OutboxRecord.kind == "signin")).one()
        link = str(row.context["signin_url"])
        assert link.startswith(f"{mounted.url}{PREFIX}/dashboard/signin/confirm?token=")
        page = client.get(link)
        assert page.status_code == 200
        assert f'action="{PREFIX}/dashboard/signin/confirm"' in page.text


def test_signin_link_command_points_under_the_prefix(
    mounted: LoopbackServer, db_url: str, dashboard_world: World
) -> None:
    """`cycle-engine signin-link --manager --base-url <host>/ce` prints a link that signs the
    first alliance's manager in on the mounted dashboard."""
    printed = CliRunner().invoke(
        cli,
        ["signin-link", "--manager", "--db", db_url, "--base-url", f"{mounted.url}{PREFIX}"],
        env={"CYCLE_ENGINE_SECRET_KEY": SECRET},
    )
    assert printed.exit_code == 0, printed.output
    assert f"Dashboard: {mounted.url}{PREFIX}/dashboard/" in printed.output
    assert f"Sign in as {dashboard_world.manager} " in printed.output
    link = printed.output.rsplit(": ", 1)[1].strip()
    with mounted.client(follow_redirects=False) as client:
        page = client.get(link)
        assert page.status_code == 200
        token = link.split("token=", 1)[1]
        answer = client.post(
            f"{PREFIX}/dashboard/signin/confirm",
            data={"csrf_token": csrf_of(page.text), "token": token},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{PREFIX}/dashboard/"
