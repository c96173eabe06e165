"""Following a cycle from the dashboard (issue 12, item 5): a member whose organisation has no
role on a cycle sees a Follow button on its page, follows and unfollows with CSRF-checked POSTs;
people whose organisation takes part, and managers, get no button; a forged form changes
nothing."""

from __future__ import annotations

from cycle_engine import CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in

NORA = "nora@ngo.example.org"


def followers(db_url: str, cycle_id: int) -> list[int]:
    with CycleEngine(db_url) as engine:
        return [f.person_id for f in engine.learning.followers(cycle_id)]


def test_member_without_a_role_follows_and_unfollows_from_the_cycle_page(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    cycle = dashboard_world.cycle_id
    with CycleEngine(db_url) as engine:
        ngo = next(
            p.organisation_id
            for p in engine.alliances.list_people(alliance_id=dashboard_world.alliance_id)
            if p.email == dashboard_world.coordinator
        )
        nora = engine.alliances.add_person("Nora Nadie", NORA, ngo).id
    client = sign_in(dashboard, NORA)
    page = client.get(f"/dashboard/cycles/{cycle}")
    assert page.status_code == 200, page.text
    assert 'id="follow-button">Follow</button>' in page.text
    token = csrf_of(page.text)

    forged = client.post(
        f"/dashboard/cycles/{cycle}/follow", data={"csrf_token": "0" * 64, "follow": "yes"}
    )
    assert forged.status_code in (400, 403) and followers(db_url, cycle) == []
    odd = client.post(
        f"/dashboard/cycles/{cycle}/follow", data={"csrf_token": token, "follow": "x"}
    )
    assert odd.status_code == 422 and "follow: must be yes or no" in odd.text
    assert followers(db_url, cycle) == []

    followed = client.post(
        f"/dashboard/cycles/{cycle}/follow", data={"csrf_token": token, "follow": "yes"}
    )
    assert followed.status_code == 303, followed.text
    assert followers(db_url, cycle) == [nora]
    after = client.get(followed.headers["location"]).text
    assert "You follow this cycle" in after and 'id="follow-button">Unfollow</button>' in after

    unfollowed = client.post(
        f"/dashboard/cycles/{cycle}/follow", data={"csrf_token": csrf_of(after), "follow": "no"}
    )
    assert unfollowed.status_code == 303 and followers(db_url, cycle) == []
    assert 'id="follow-button">Follow</button>' in client.get(f"/dashboard/cycles/{cycle}").text


def test_no_follow_button_for_organisations_with_a_role_or_for_managers(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    cycle = dashboard_world.cycle_id
    for email in (dashboard_world.partner, dashboard_world.manager):
        page = sign_in(dashboard, email).get(f"/dashboard/cycles/{cycle}")
        assert page.status_code == 200 and "follow-button" not in page.text, email
