"""The dashboard answers "who must act, by when, and why" (issue 14), over real HTTP.

The seeded world (conftest): Farmers' Union leads the question workshop of "Community seed
systems" with Paula Partner as focal point; Ana Coordina coordinates the alliance; everyone
is in America/Guatemala.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in

COORDINATOR = Actor(name="seed", role="coordinator")
ZONE_WORDS = re.compile(r"\b(UTC|GMT|CST|CDT|EST|EAT|CET)\b")


def _main(html: str) -> str:
    """The page's main content as text (tags dropped), where times and lists are."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def _person_id(engine: CycleEngine, email: str) -> int:
    with engine.db.read_session() as session:
        person = session.exec(select(PersonRecord).where(PersonRecord.email == email)).one()
        assert person.id is not None
        return person.id


def test_overview_names_the_focal_point_of_an_overdue_stage(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock
) -> None:
    """An overdue cycle on the overview names the lead's focal point, their organisation and
    country, the reason in words and a nudge; times carry no zone of their own, and the page
    names the viewer's zone once."""
    clock.advance(timedelta(days=30))
    page = sign_in(dashboard, dashboard_world.manager).get(
        f"/dashboard/alliances/{dashboard_world.alliance_id}"
    )
    text = _main(page.text)
    assert "Stuck cycles: who must act" in text
    assert "Community seed systems" in text
    assert "Who must act: Paula Partner" in text
    assert "focal point of the lead organisation, Farmers' Union, Guatemala" in text
    assert "“Questions agreed” can be marked now" in text
    assert f'action="/dashboard/alliances/{dashboard_world.alliance_id}/stalled/' in page.text
    assert ZONE_WORDS.search(text) is None, ZONE_WORDS.search(text)
    assert page.text.count("times in America/Guatemala") == 1
    assert "0% of stages on time" in text and "100%" not in text  # 1 overdue, none finished


def test_a_focal_point_who_left_sends_the_coordinator_and_is_marked(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock, db_url: str
) -> None:
    """When the focal point left, the coordinator must name a new one: the overview and the
    stalled page say so, mark the person who left and link to the role form; the cycle page
    marks them in "who leads each stage"."""
    with CycleEngine(db_url, clock=clock) as engine:
        engine.alliances.person_left(_person_id(engine, dashboard_world.partner))
        for _ in range(6):  # the scheduler's reminders, overdue notices and stall checks
            clock.advance(timedelta(days=5))
            engine.run_due_timers()
    client = sign_in(dashboard, dashboard_world.coordinator)
    for path in ("", "/stalled"):
        page = client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}{path}")
        text = _main(page.text)
        assert "Community seed systems" in text, path
        assert "Farmers' Union's focal point Paula Partner left on" in text
        assert "Who must act: Ana Coordina (coordinator, Coordinating NGO, Guatemala)" in text
        assert "Paula Partner (left" in text
        assert f'/dashboard/cycles/{dashboard_world.cycle_id}#roles-h"' in page.text
    html = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}").text
    cycle = _main(html)
    assert "Paula Partner (left)" in cycle
    assert "Who must act" in cycle
    # The timeline: people's actions in the open list, the scheduler's folded behind a toggle.
    people = html.split('id="people-events"', 1)[1].split("</ol>", 1)[0]
    assert "scheduler" not in people and "seed" in people
    assert "Focal point left" in people  # about a person, whoever recorded it
    folded = re.search(
        r'<details class="system-events" id="system-events"><summary>(\d+) scheduler', html
    )
    assert folded is not None and int(folded.group(1)) >= 2


def test_nudge_that_reaches_nobody_says_so(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock, db_url: str
) -> None:
    """A nudge on a step nobody takes part in is a warning naming why, not "0 email(s)"."""
    with CycleEngine(db_url, clock=clock) as engine:
        empty = engine.start_cycle(
            "learning-cycle", "Nobody here", alliance_id=dashboard_world.alliance_id
        )
    client = sign_in(dashboard, dashboard_world.manager)
    page = client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}/stalled")
    answer = client.post(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/stalled/{empty.id}/nudge",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "0 email" not in answer.text
    assert 'class="notice notice-warn"' in answer.text
    assert "Nobody was emailed about “Nobody here”" in answer.text
    assert "No organisation leads Question workshop" in answer.text
    assert "Ana Coordina (Coordinating NGO) must act" in answer.text


def test_mail_log_is_newest_first_and_says_why_a_message_waits(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock, db_url: str
) -> None:
    """Rows come newest first by the time shown (not by row id), and a message held for the
    recipient's working day says until when."""
    now = clock.now()
    with CycleEngine(db_url, clock=clock) as engine, engine.db.transaction() as session:
        for number, written, due in (
            (1, now - timedelta(hours=1), now + timedelta(hours=9)),  # newer, written first
            (2, now - timedelta(days=3), now - timedelta(days=3)),
        ):
            session.add(
                OutboxRecord(
                    kind="reminder",
                    cycle_id=dashboard_world.cycle_id,
                    stage="question_workshop",
                    recipient=f"row{number}@union.example.org",
                    dedupe_key=f"mail-log-order-{number}",
                    message_id=f"<row{number}@example.org>",
                    not_before=due,
                    next_attempt_at=due,
                    created_at=written,
                    status="pending" if number == 1 else "sent",
                    sent_at=None if number == 1 else written,
                )
            )
    page = sign_in(dashboard, dashboard_world.coordinator).get(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/mail"
    )
    text = _main(page.text)
    assert text.index("row1@union") < text.index("row2@union")
    assert "held to the recipient's working hours" in text
    assert "Question workshop" in text  # the stage's title, not its key


def test_engagement_lists_organisations_with_problems_first(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock, db_url: str
) -> None:
    """The organisation whose focal point left comes before the alphabet would put it."""
    with CycleEngine(db_url, clock=clock) as engine:
        engine.alliances.person_left(_person_id(engine, dashboard_world.partner))
    page = sign_in(dashboard, dashboard_world.coordinator).get(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/engagement"
    )
    names = re.findall(r'<th scope="row" data-label="Organisation">([^<]+)</th>', page.text)
    assert names[0] == "Farmers&#39; Union", names
    assert sorted(names[1:]) == names[1:]


def test_stored_file_downloads_and_finished_cycle_shows_its_date(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock, db_url: str
) -> None:
    """A product's stored file has a download link that serves it to whoever sees the cycle
    (and 404 to anyone else); a cancelled cycle shows when it finished."""
    with CycleEngine(db_url, clock=clock, data_dir=dashboard.settings.data_dir) as engine:
        product = engine.work.add_product(
            dashboard_world.cycle_id,
            "learning_questions",
            "Agreed questions",
            dashboard_world.partner_org,
            file_name="questions.txt",
            content=b"Which seed varieties do farmers keep?\n",
            actor=COORDINATOR,
        )
        engine.fire(dashboard_world.cycle_id, "cancel", actor=COORDINATOR, note="funding ended")
    client = sign_in(dashboard, dashboard_world.manager)
    page = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    link = f"/dashboard/products/{product.id}/file"
    assert f'href="{link}"' in page.text
    text = _main(page.text)
    assert "Finished" in text and "finished" in text
    download = client.get(link)
    assert download.status_code == 200
    assert download.content == b"Which seed varieties do farmers keep?\n"
    assert "attachment" in download.headers["content-disposition"]
    outsider = sign_in(dashboard, dashboard_world.outsider)
    assert outsider.get(link).status_code == 404
