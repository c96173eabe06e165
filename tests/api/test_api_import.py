"""Bulk onboarding over HTTP (issue 19, item 3): a CSV or JSON partner list is checked as a
whole, every problem named by row and column, nothing written unless all of it is right;
importing it again changes nothing; people get the alliance's language by default."""

from __future__ import annotations

from tests.api.conftest import World

GOOD = """record,name,kind,country,timezone,works_with,email,organisation,language,role
organisation,Red Norte,ngo,Nicaragua,America/Managua,,,,,
organisation,Coop El Sauce,local,Nicaragua,America/Managua,Red Norte,,,,
person,Ana Ruiz,,,,,ana@rednorte.example,Red Norte,,coordinator
person,Beto Cruz,,,,,beto@sauce.example,Coop El Sauce,fr,
"""

BAD = """record,name,kind,country,timezone,works_with,email,organisation,language,role
organisation,Red Norte,charity,Nicaragua,Mars/Base,,,,,
organisation,Coop El Sauce,local,Nicaragua,,Nobody,,,,
person,Ana Ruiz,,,,,not-an-address,Red Norte,,chief
"""


def test_a_bad_file_is_refused_row_by_row_and_writes_nothing(world: World) -> None:
    url = f"/api/v1/alliances/{world.ids['alliance_a']}/import"
    with world.client("coord_a") as client:
        refused = client.post(url, content=BAD, headers={"Content-Type": "text/csv"})
        assert refused.status_code == 422, refused.text
        problems = {(e["row"], e["column"]) for e in refused.json()["errors"]}
        assert problems == {
            ("2", "kind"),
            ("2", "timezone"),
            ("3", "works_with"),
            ("4", "email"),
            ("4", "role"),
        }
        names = [o["name"] for o in client.get("/api/v1/organisations").json()["items"]]
        assert "Red Norte" not in names
        wrong_type = client.post(url, content=GOOD, headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415


def test_import_then_again_changes_nothing_and_json_is_the_same(world: World) -> None:
    alliance = world.ids["alliance_a"]
    url = f"/api/v1/alliances/{alliance}/import"
    with world.client("coord_a") as client:
        client.patch(f"/api/v1/alliances/{alliance}", json={"language": "es"})
        checked = client.post(
            url, content=GOOD, headers={"Content-Type": "text/csv"}, params={"dry_run": "true"}
        )
        assert checked.status_code == 201 and checked.json()["people_created"] == 2
        assert "Red Norte" not in [
            o["name"] for o in client.get("/api/v1/organisations").json()["items"]
        ]
        first = client.post(url, content=GOOD, headers={"Content-Type": "text/csv"})
        assert first.status_code == 201, first.text
        result = first.json()
        assert (result["organisations_created"], result["links_set"]) == (2, 1)
        assert (result["people_created"], result["roles_granted"]) == (2, 1)
        people = {
            p["email"]: p
            for p in client.get("/api/v1/people", params={"limit": 100}).json()["items"]
        }
        assert people["ana@rednorte.example"]["language"] == "es"  # the alliance's
        assert people["beto@sauce.example"]["language"] == "fr"
        members = client.get(f"/api/v1/alliances/{alliance}/members").json()["items"]
        links = {m["organisation"]["name"]: m["works_with_id"] for m in members}
        assert links["Coop El Sauce"] == result["organisation_ids"]["Red Norte"]
        roles = client.get(f"/api/v1/alliances/{alliance}").json()["roles"]
        assert {(r["person_id"], r["role"]) for r in roles} == {
            (result["person_ids"]["ana@rednorte.example"], "coordinator")
        }
        again = client.post(url, content=GOOD, headers={"Content-Type": "text/csv"})
        assert again.status_code == 201
        assert again.json()["unchanged"] == 4
        assert again.json()["organisations_created"] == again.json()["people_created"] == 0
        document = {
            "organisations": [
                {"name": "Red Norte", "kind": "ngo", "country": "Nicaragua"},
                {
                    "name": "Coop El Sauce",
                    "kind": "local",
                    "country": "Nicaragua",
                    "works_with": "Red Norte",
                },
            ],
            "people": [
                {"name": "Ana Ruiz", "email": "ana@rednorte.example", "organisation": "Red Norte"}
            ],
        }
        as_json = client.post(url, json=document)
        assert as_json.status_code == 201 and as_json.json()["unchanged"] == 3
        bad_json = client.post(url, json={"organisations": [{"name": "X", "colour": "red"}]})
        assert bad_json.status_code == 422
        assert {(e["row"], e["column"]) for e in bad_json.json()["errors"]} == {
            ("organisations[0]", "colour")
        }
        lines = client.get(f"/api/v1/alliances/{alliance}/history").json()["items"]
        assert [e["kind"] for e in lines].count("imported") == 1
    with world.client("partner_o1") as client:
        assert (
            client.post(url, content=GOOD, headers={"Content-Type": "text/csv"}).status_code == 403
        )
    with world.client("coord_b") as client:
        assert (
            client.post(url, content=GOOD, headers={"Content-Type": "text/csv"}).status_code == 404
        )
