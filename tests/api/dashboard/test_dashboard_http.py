"""The dashboard over real HTTP: sign-in links, sessions, CSRF, reach, forms and paging."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import (
    DashboardServer,
    Inbox,
    World,
    csrf_of,
    deliver_mail,
    sign_in,
)


def test_anonymous_visitor_is_sent_to_sign_in(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """A page of the dashboard without a session redirects to the sign-in form."""
    answer = dashboard.client().get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/signin?next=")


def test_signin_link_works_once(dashboard: DashboardServer, dashboard_world: World) -> None:
    """A sign-in link opens a session once; a replay of the same link is refused."""
    client = dashboard.client()
    link = dashboard.link(dashboard_world.manager)
    page = client.get(link)
    token = link.split("token=", 1)[1]
    form = {"csrf_token": csrf_of(page.text), "token": token}
    first = client.post("/dashboard/signin/confirm", data=form, follow_redirects=False)
    assert first.status_code == 303
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}").status_code == 200
    replay = dashboard.client()
    page = replay.get(link)
    again = replay.post(
        "/dashboard/signin/confirm", data={"csrf_token": csrf_of(page.text), "token": token}
    )
    assert again.status_code == 400
    assert "already used" in again.text


def test_expired_or_tampered_link_is_refused(
    dashboard: DashboardServer, dashboard_world: World, clock: ManualClock
) -> None:
    """A link older than 15 minutes, or with a changed signature, signs nobody in."""
    link = dashboard.link(dashboard_world.manager)
    token = link.split("token=", 1)[1]
    clock.advance(timedelta(minutes=16))
    client = dashboard.client()
    csrf = csrf_of(client.get(link).text)
    expired = client.post("/dashboard/signin/confirm", data={"csrf_token": csrf, "token": token})
    assert expired.status_code == 400 and "expired" in expired.text
    tampered = client.post(
        "/dashboard/signin/confirm", data={"csrf_token": csrf, "token": token[:-2] + "xx"}
    )
    assert tampered.status_code == 400 and "not valid" in tampered.text
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """A form POST without (or with a wrong) CSRF token gets 403 and the cycle stays put."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    for data in (
        {"trigger": "questions_agreed"},
        {"trigger": "questions_agreed", "csrf_token": "0" * 64},
    ):
        answer = client.post(f"/dashboard/cycles/{dashboard_world.cycle_id}/fire", data=data)
        assert answer.status_code == 403
        assert "security token" in answer.text
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(dashboard_world.cycle_id).state == "question_workshop"


def test_coordinator_fires_trigger_from_form(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """The fire form moves the cycle and the page then shows the new stage and the event."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    page = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    assert 'data-trigger="questions_agreed"' in page.text
    answer = client.post(
        f"/dashboard/cycles/{dashboard_world.cycle_id}/fire",
        data={
            "csrf_token": csrf_of(page.text),
            "trigger": "questions_agreed",
            "note": "agreed at the workshop",
        },
    )
    assert answer.status_code == 303
    after = client.get(answer.headers["location"])
    assert "Role assignment" in after.text and "agreed at the workshop" in after.text
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(dashboard_world.cycle_id).state == "role_assignment"


def test_blocked_trigger_shows_reasons_and_changes_nothing(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """A trigger a guard blocks shows disabled with its reasons; posting it anyway is a 409."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    page = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    assert 'aria-describedby="why-pause"' in page.text
    assert "note is required" in page.text
    answer = client.post(
        f"/dashboard/cycles/{dashboard_world.cycle_id}/fire",
        data={"csrf_token": csrf_of(page.text), "trigger": "pause"},
    )
    assert answer.status_code == 409
    assert "a note is required" in answer.text
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(dashboard_world.cycle_id).state == "question_workshop"


def test_partner_sees_only_own_organisations_cycles(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """A partner opens cycles their organisation takes part in; others are 404, like the API."""
    client = sign_in(dashboard, dashboard_world.partner)
    assert client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}").status_code == 200
    assert client.get(f"/dashboard/cycles/{dashboard_world.other_cycle_id}").status_code == 404
    assert (
        client.get(f"/dashboard/alliances/{dashboard_world.other_alliance_id}").status_code == 404
    )
    assert (
        client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}/engagement").status_code
        == 404
    )
    assert client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}/mail").status_code == 404
    steps = client.get("/dashboard/my-steps")
    assert "Community seed systems" in steps.text and "lead" in steps.text
    outsider = sign_in(dashboard, dashboard_world.outsider)
    assert outsider.get(f"/dashboard/cycles/{dashboard_world.cycle_id}").status_code == 404


def test_signout_ends_the_session(dashboard: DashboardServer, dashboard_world: World) -> None:
    """After signing out, the old session cookie no longer opens any page."""
    client = sign_in(dashboard, dashboard_world.manager)
    stolen = dict(client.cookies)
    page = client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}")
    assert (
        client.post("/dashboard/signout", data={"csrf_token": csrf_of(page.text)}).status_code
        == 303
    )
    replay = dashboard.client(cookies=stolen)
    assert replay.get(f"/dashboard/alliances/{dashboard_world.alliance_id}").status_code == 303


def test_signin_email_goes_through_outbox_and_smtp(
    dashboard: DashboardServer, dashboard_world: World, smtp: tuple[Inbox, int], db_url: str
) -> None:
    """Asking for a link queues a "signin" email that the real sender delivers over SMTP;
    an unknown address gets the same answer and no email."""
    inbox, port = smtp
    client = dashboard.client()
    form = client.get("/dashboard/signin")
    for email in (dashboard_world.manager, "nobody@example.org"):
        answer = client.post(
            "/dashboard/signin", data={"csrf_token": csrf_of(form.text), "email": email}
        )
        assert answer.status_code == 200 and "is on its way" in answer.text
    with CycleEngine(db_url) as engine:
        rows = [r for r in engine.outbox.messages(limit=1000) if r.kind == "signin"]
    assert [r.recipient for r in rows] == [dashboard_world.manager]
    deliver_mail(dashboard, port)
    links = inbox.links()
    assert len(links) == 1
    page = client.get(links[0])
    token = links[0].split("token=", 1)[1]
    done = client.post(
        "/dashboard/signin/confirm",
        data={"csrf_token": csrf_of(page.text), "token": token},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Alianza Test" in done.text
    with CycleEngine(db_url) as engine:
        sent = engine.outbox.message(rows[0].id or 0)
    assert sent.status == "sent" and isinstance(sent, OutboxRecord)


def test_nudge_queues_reminders_once(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """A manager's nudge emails the step's people; a second nudge right after is refused."""
    client = sign_in(dashboard, dashboard_world.manager)
    page = client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}/stalled")
    with CycleEngine(db_url) as engine:
        before = len(engine.outbox.messages(cycle_id=dashboard_world.cycle_id, limit=1000))
    stalled = f"/dashboard/alliances/{dashboard_world.alliance_id}/stalled"
    url = f"{stalled}/{dashboard_world.cycle_id}/nudge"
    first = client.post(url, data={"csrf_token": csrf_of(page.text)}, follow_redirects=True)
    assert "Nudged:" in first.text
    with CycleEngine(db_url) as engine:
        after = engine.outbox.messages(cycle_id=dashboard_world.cycle_id, limit=1000)
        assert len(after) > before
        assert any(e.kind == "nudged" for e in engine.history(dashboard_world.cycle_id))
    second = client.post(url, data={"csrf_token": csrf_of(page.text)}, follow_redirects=True)
    assert "Not nudged" in second.text
    partner = sign_in(dashboard, dashboard_world.partner)
    assert (
        partner.post(
            url, data={"csrf_token": csrf_of(partner.get("/dashboard/my-steps").text)}
        ).status_code
        == 404
    )


def test_mail_log_shows_the_servers_reply_and_expired_messages(
    dashboard: DashboardServer, dashboard_world: World, db_url: str, clock: ManualClock
) -> None:
    """A permanently failed email shows the server's reply, an expired one its status, and a
    re-send after a crash is marked."""
    with CycleEngine(db_url, clock=clock) as engine:
        clock.advance(timedelta(days=60))  # reminders and overdue notices fall due
        engine.run_due_timers()
        rows = engine.outbox.messages(alliance_id=dashboard_world.alliance_id, limit=3)
        assert len(rows) >= 3
        with engine.db.transaction() as session:
            for row, values in zip(
                rows,
                (
                    {"status": "failed", "reply": "550 5.1.1 <x@example.org>: mailbox unknown"},
                    {"status": "expired", "last_error": "past its deadline"},
                    {"status": "sent", "possible_duplicate": True},
                ),
                strict=True,
            ):
                stored = session.get(OutboxRecord, row.id)
                assert stored is not None
                for name, value in values.items():
                    setattr(stored, name, value)
    client = sign_in(dashboard, dashboard_world.manager)
    page = client.get(f"/dashboard/alliances/{dashboard_world.alliance_id}/mail")
    assert page.status_code == 200
    assert "server replied: 550 5.1.1 &lt;x@example.org&gt;: mailbox unknown" in page.text
    assert ">expired</span>" in page.text and "past its deadline" in page.text
    assert "(re-sent after a crash)" in page.text
