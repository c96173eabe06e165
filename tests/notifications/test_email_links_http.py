"""Email links over real HTTP (uvicorn on loopback): GET shows, POST acts once; tampered,
expired, replayed and scanner-fetched links change nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from cycle_engine.api.routers.email_actions import email_actions_router
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from tests.notifications.conftest import World
from tests.servers import LoopbackServer

SECRET = "test-secret-key-0123456789abcdef"


@dataclass
class Site:
    base: str
    links: LinkSigner
    world: World

    def claim(self, action: str, person: str = "ana", nonce: str = "m1") -> ActionClaim:
        visit = self.world.engine.cycles.current_stage(self.world.cycle_id)
        assert visit is not None and visit.id is not None
        return ActionClaim(
            action=action,
            person_id=self.world.person(person),
            cycle_id=self.world.cycle_id,
            stage_visit_id=visit.id,
            nonce=nonce,
        )

    def events(self) -> Counter[str]:
        return Counter(e.kind for e in self.world.engine.history(self.world.cycle_id))


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    """The email-link router in a FastAPI app served by uvicorn on a free loopback port."""

    def build(base: str) -> FastAPI:
        app = FastAPI()
        app.state.engine = world.engine
        app.state.settings = SimpleNamespace(secret_key=SECRET, base_url=base)
        app.include_router(email_actions_router())
        return app

    with LoopbackServer(build, lifespan="off") as server:
        yield Site(base=server.url, links=LinkSigner(SECRET, server.url, world.clock), world=world)


def test_get_shows_post_acts_once_and_replay_changes_nothing(site: Site) -> None:
    """A scanner's GET changes nothing; the POST acknowledges once; a second POST and a later
    GET say it was already done."""
    url = site.links.action_url(site.claim("acknowledge"))
    before = site.events()
    page = httpx.get(url)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert site.events() == before
    token = site.links.action_token(site.claim("acknowledge"))
    done = httpx.post(f"{site.base}/email/actions/acknowledge", data={"t": token})
    assert done.status_code == 200 and "Hecho, gracias" in done.text  # Ana reads Spanish
    again = httpx.post(f"{site.base}/email/actions/acknowledge", data={"t": token})
    assert again.status_code == 200 and "ya estaba hecho" in again.text
    assert "ya estaba hecho" in httpx.get(url).text
    assert site.events() - before == Counter({"action_acknowledged": 1})


def test_tampered_or_misused_links_change_nothing(site: Site) -> None:
    """An altered token, or a token for another action, is refused and nothing happens."""
    token = site.links.action_token(site.claim("acknowledge"))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    before = site.events()
    for action, value in (("acknowledge", tampered), ("done", token)):
        shown = httpx.get(f"{site.base}/email/actions/{action}", params={"t": value})
        posted = httpx.post(f"{site.base}/email/actions/{action}", data={"t": value})
        assert shown.status_code == posted.status_code == 400
        assert "not valid" in posted.text
    assert site.events() == before


def test_expired_link_offers_a_fresh_one_by_email(site: Site) -> None:
    """After 30 days a link says it expired, acts on nothing, and can email a new link."""
    token = site.links.action_token(site.claim("done"))
    site.world.clock.advance(timedelta(days=31))
    before = site.events()
    posted = httpx.post(f"{site.base}/email/actions/done", data={"t": token})
    assert posted.status_code == 410 and "Enviarme un nuevo enlace" in posted.text
    assert site.events() == before
    fresh = httpx.post(f"{site.base}/email/actions/done/refresh", data={"t": token})
    assert fresh.status_code == 200 and "va en camino" in fresh.text
    [row] = [r for r in site.world.engine.outbox.messages() if r.kind == "fresh_link"]
    assert row.recipient == "ana@research.example.org" and row.context["actions"] == ["done"]


def test_extension_and_done_reach_the_coordinator(site: Site) -> None:
    """Asking for more time and marking done record events and email the coordinator; a bad
    number of days is refused with its field named."""
    extend = site.links.action_token(site.claim("extend"))
    bad = httpx.post(f"{site.base}/email/actions/extend", data={"t": extend, "days": "500"})
    assert bad.status_code == 422 and "days: must be between 1 and 90" in bad.text
    ok = httpx.post(
        f"{site.base}/email/actions/extend",
        data={"t": extend, "days": "10", "reason": "Rainy season <b>floods</b>"},
    )
    assert ok.status_code == 200
    done = site.links.action_token(site.claim("done", person="dario"))
    httpx.post(
        f"{site.base}/email/actions/done",
        data={"t": done, "product_url": "https://example.org/questions.pdf"},
    )
    rows = {
        r.kind: r for r in site.world.engine.outbox.messages() if r.recipient.startswith("cora")
    }
    assert rows["extension_requested"].context["details"]["days"] == 10
    assert rows["marked_done"].context["details"]["product_url"] == (
        "https://example.org/questions.pdf"
    )
    assert site.events()["extension_requested"] == 1 and site.events()["marked_done"] == 1


def test_unsubscribe_needs_a_post_and_preferences_save(site: Site) -> None:
    """GET on the unsubscribe link only asks; the RFC 8058 one-click POST switches the kind
    off; the preferences page switches to a daily digest."""
    ana = site.world.person("ana")
    engine = site.world.engine
    url = site.links.unsubscribe_url(ana, "reminder")
    assert httpx.get(url).status_code == 200
    assert engine.outbox.notification_preferences(ana).unsubscribed == []
    posted = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200
    assert engine.outbox.notification_preferences(ana).unsubscribed == ["reminder"]
    prefs_url = site.links.preferences_url(ana)
    assert "Preferencias de notificación" in httpx.get(prefs_url).text
    token = site.links.person_token("preferences", ana)
    saved = httpx.post(
        f"{site.base}/email/preferences",
        data={"t": token, "mode": "digest", "digest_hour": "6", "receive": ["reminder", "overdue"]},
    )
    assert saved.status_code == 200 and "Guardado." in saved.text
    prefs = engine.outbox.notification_preferences(ana)
    assert (prefs.mode, prefs.digest_hour) == ("digest", 6)
    assert "reminder" not in prefs.unsubscribed and "stalled" in prefs.unsubscribed


def test_calendar_feed_lists_the_persons_deadlines(site: Site) -> None:
    """The signed feed lists the open step Ana carries; a forged feed token gets nothing."""
    ana = site.world.person("ana")
    feed = httpx.get(site.links.calendar_url(ana))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "SUMMARY:Question workshop due (Market access for smallholders)" in feed.text
    assert "DTSTART;TZID=America/Bogota:20260126T190000" in feed.text  # Ana's local time
    assert "BEGIN:VTIMEZONE" in feed.text and feed.text.endswith("END:VCALENDAR\r\n")
    assert httpx.get(f"{site.base}/email/calendar/forged.ics").status_code == 404
