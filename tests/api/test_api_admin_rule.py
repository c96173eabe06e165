"""The rule for admins and template roles (issue 19, item 8), as the README's roles table states
it: an admin may fire any trigger and run organiser-only commands, like `--role admin` on the
CLI; everyone else only what the template's roles and their part in the stage allow, and a
refusal says who may."""

from __future__ import annotations

from tests.api.conftest import World


def test_an_admin_fires_a_trigger_the_template_gives_to_coordinators_and_leads(
    world: World,
) -> None:
    cycle = world.ids["cycle_a"]
    with world.client("manager_a") as client:
        refused = client.post(
            f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "questions_agreed"}
        )
        assert refused.status_code in (403, 409), refused.text
    with world.client("admin") as client:
        fired = client.post(
            f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "questions_agreed"}
        )
        assert fired.status_code == 201, fired.text


def test_organiser_only_commands_name_who_may(world: World) -> None:
    cycle = world.ids["cycle_a"]
    body = {"stage": "work_plan", "organisation_id": world.ids["o1"], "level": "lead"}
    with world.client("partner_o1") as client:
        refused = client.post(f"/api/v1/cycles/{cycle}/participation", json=body)
        assert refused.status_code == 403, refused.text
        assert "only a coordinator (or an admin) may do this" in refused.json()["detail"]
    with world.client("admin") as client:
        done = client.post(f"/api/v1/cycles/{cycle}/participation", json=body)
        assert done.status_code == 201, done.text
