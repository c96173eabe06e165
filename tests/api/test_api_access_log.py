"""The access log never holds a credential: after every kind of link an email or the sign-in
page sends is used (actions, preferences, unsubscribe, the calendar feed, sign-in), the log
file has a line for each request and none of the tokens, which stay valid for days to a year."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cycle_engine import CycleEngine
from cycle_engine.api.dashboard.signin import signin_link
from cycle_engine.api.middleware import access_log
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from cycle_engine.testing import ManualClock
from tests.api.conftest import SECRET, World


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The access log written to a file, as a deployment would keep it."""
    path = tmp_path / "access.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    level = access_log.level
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    try:
        yield path
    finally:
        access_log.removeHandler(handler)
        access_log.setLevel(level)
        handler.close()


def _token(url: str) -> str:
    return url.split("t=", 1)[1] if "t=" in url else url.rsplit("/", 1)[1].removesuffix(".ics")


def test_links_leave_no_token_in_the_access_log(
    world: World, seed_engine: CycleEngine, clock: ManualClock, log_file: Path
) -> None:
    """Action, preferences, unsubscribe, calendar and sign-in links are used; the log shows
    their paths with *** where the token was."""
    person, cycle = world.ids["p1"], world.ids["cycle_a"]
    visit = seed_engine.cycles.current_stage(cycle)
    assert visit is not None and visit.id is not None
    links = LinkSigner(SECRET, world.url, clock)
    urls = {
        "action": links.action_url(
            ActionClaim(
                action="acknowledge",
                person_id=person,
                cycle_id=cycle,
                stage_visit_id=visit.id,
                nonce="n1",
            )
        ),
        "preferences": links.preferences_url(person),
        "unsubscribe": links.unsubscribe_url(person, "reminder"),
        "calendar": links.calendar_url(person),
        "signin": signin_link(
            seed_engine, secret=SECRET, base_url=world.url, email="ana@ciat.example"
        ),
    }
    tokens = {name: _token(url) for name, url in urls.items()}
    assert all(len(token) > 20 for token in tokens.values())
    with world.client(None) as client:
        for name, url in urls.items():
            answer = client.get(url)
            assert answer.status_code == 200, (name, answer.text[:300])
        posted = client.post(f"{world.url}/email/unsubscribe?t={tokens['unsubscribe']}")
        assert posted.status_code == 200
    log = log_file.read_text(encoding="utf-8")
    for name, token in tokens.items():
        assert token not in log, name
        assert token[:16] not in log, name
    for path in (
        "GET /email/actions/acknowledge?t=*** 200",
        "GET /email/preferences?t=*** 200",
        "GET /email/unsubscribe?t=*** 200",
        "POST /email/unsubscribe?t=*** 200",
        "GET /email/calendar/***.ics 200",
        "GET /dashboard/signin/confirm?token=*** 200",
    ):
        assert path in log, (path, log)
