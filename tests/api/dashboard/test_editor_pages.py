"""The template editor over real HTTP, without JavaScript: a coordinator starts a template from
nothing, builds four stages and their transitions field by field, sees each problem beside its
field and gone once fixed, watches the diagram mark a stage no one can reach, switches to the
YAML text and back, saves, publishes after the preview and starts a cycle on it. Two
coordinators saving the same revision get a conflict, not a lost change; managers and other
alliances' coordinators are refused; text is escaped; the size bound is the loader's."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in
from tests.api.dashboard.test_editor_forms import form_fields

STAGES = [  # key, title, weeks, kind
    ("plan", "Plan the work", "2", "work"),
    ("build", "Build the prototype", "3", "work"),
    ("test", "Test it", "2", "work"),
    ("done", "Done", "", "final"),
]


def start_draft(client: httpx.Client, alliance_id: int, key: str, from_key: str = "") -> str:
    page = client.get(f"/dashboard/alliances/{alliance_id}/editor")
    assert page.status_code == 200, page.text
    started = client.post(
        f"/dashboard/alliances/{alliance_id}/editor",
        data={"csrf_token": csrf_of(page.text), "key": key, "from_key": from_key},
    )
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


def press(client: httpx.Client, url: str, html: str, op: str, **changes: str) -> httpx.Response:
    """Submit the editor's form as the browser would after editing `changes`, with button `op`."""
    fields = form_fields(html)
    fields.update(changes)
    return client.post(url, data={**fields, "op": op})


def revision_of(html: str) -> str:
    match = re.search(r'name="revision" value="(\d+)"', html)
    assert match is not None
    return match.group(1)


def problem_in(html: str, slot: str) -> str:
    match = re.search(rf'<span class="problem" id="problem-{slot}"[^>]*>(.*?)</span>', html, re.S)
    assert match is not None, f"no problem slot {slot}"
    return match.group(1)


def build_four_stages(client: httpx.Client, url: str) -> str:
    html = client.get(url).text
    for index, (key, title, weeks, kind) in enumerate(STAGES):
        html = press(client, url, html, "add-stage").text
        assert f'id="stage-{index}-key"' in html
        fields = {
            f"stage-{index}-key": key,
            f"stage-{index}-title": title,
            f"stage-{index}-kind": kind,
        }
        if weeks:
            fields[f"stage-{index}-duration-amount"] = weeks
            fields[f"stage-{index}-duration-unit"] = "W"
        html = press(client, url, html, "refresh", **fields).text
    html = press(client, url, html, "refresh", title="Quick pilot", initial="stage:0").text
    for index, (trigger, source, dest) in enumerate(
        [("planned", 0, 1), ("built", 1, 2), ("tested", 2, 3)]
    ):
        html = press(client, url, html, "add-transition").text
        html = press(
            client,
            url,
            html,
            "refresh",
            **{
                f"transition-{index}-trigger": trigger,
                f"transition-{index}-from-{source}": "on",
                f"transition-{index}-to": f"stage:{dest}",
                f"transition-{index}-role-coordinator": "on",
            },
        ).text
    return html


@pytest.mark.slow
def test_coordinator_builds_publishes_and_starts_a_cycle(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    a = dashboard_world.alliance_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    assert 'id="editor-link"' in client.get(f"/dashboard/alliances/{a}/templates").text
    url = start_draft(client, a, "quick-pilot")
    html = client.get(url).text
    assert "No stages yet" in html and 'name="csrf_token"' in html
    html = build_four_stages(client, url)
    assert 'id="check-status">No problems' in html, re.findall(r'class="problem"[^<]*<', html)
    assert "publish-button" in html and "disabled" not in html.split('id="publish-button"')[1][:30]
    yaml_text = form_fields(html)["yaml"]
    assert "duration: P3W" in yaml_text and "to: build" in yaml_text
    assert 'data-stage="test"' in html and "data-problem" not in html

    # a bad duration: the problem appears beside the field, publishing is disabled
    bad = press(client, url, html, "refresh", **{"stage-1-duration-amount": "three"}).text
    assert "expected an ISO 8601 duration" in problem_in(bad, "stage-1-duration")
    assert 'aria-invalid="true"' in bad and "disabled" in bad.split('id="publish-button"')[1][:30]
    fixed = press(client, url, bad, "refresh", **{"stage-1-duration-amount": "4"}).text
    assert problem_in(fixed, "stage-1-duration") == ""
    assert "duration: P4W" in form_fields(fixed)["yaml"]

    # dropping "built" leaves "test" unreachable: the validator says so, the diagram marks it
    cut = press(client, url, fixed, "remove-transition-1").text
    assert "cannot be reached" in problem_in(cut, "stage-2")
    assert re.search(r'data-stage="test" data-problem="Test it cannot be reached', cut)
    assert "no way leads from Build the prototype to a final stage" in cut

    # the text wins when it alone changed; the form follows
    text = form_fields(fixed)["yaml"].replace("title: Test it", "title: Field test")
    fields = {**form_fields(fixed), "yaml": "# our pilot\n" + text}
    synced = client.post(url, data={**fields, "op": "refresh"}).text
    assert form_fields(synced)["stage-2-title"] == "Field test"
    assert "1 comment" in synced and "drops it" in synced

    saved = press(client, url, synced, "save")
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "Saved revision" in page and "# our pilot" in form_fields(page)["yaml"]
    assert re.search(
        r"Revision 2, person:ana@ngo.example.org, <time[^>]*>[^<]*</time>: "
        r"Title set to &#39;Quick pilot&#39;.*added stage plan, build, test, done",
        page,
    )
    download = client.get(url + "/download")
    assert (
        download.text.startswith("# our pilot")
        and "attachment" in download.headers["content-disposition"]
    )

    to_preview = press(client, url, page, "publish")
    assert to_preview.status_code == 303
    preview = client.get(to_preview.headers["location"]).text
    assert "quick-pilot v1 is a new template" in preview
    confirm = client.post(
        url + "/publish",
        data={"csrf_token": csrf_of(preview), "revision": form_fields(page)["revision"]},
    )
    assert confirm.status_code == 303, confirm.text
    index = client.get(confirm.headers["location"]).text
    assert "Published quick-pilot v1." in index
    started = client.post(
        f"/dashboard/alliances/{a}/editor/cycles",
        data={"csrf_token": csrf_of(index), "key": "quick-pilot", "title": "Seed fairs"},
    )
    assert started.status_code == 303
    cycle = client.get(started.headers["location"]).text
    assert "Seed fairs" in cycle and "quick-pilot v1" in cycle and "Plan the work" in cycle


@pytest.mark.slow
def test_publish_preview_shows_the_diff_and_running_cycles(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """A new version of the alliance's own template: the diff, and the running cycle's forecast."""
    a = dashboard_world.alliance_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, a, "alianza-cycle", from_key="learning-cycle")
    html = client.get(url).text
    published = press(client, url, html, "publish")
    preview = client.get(published.headers["location"]).text
    confirm = client.post(
        url + "/publish", data={"csrf_token": csrf_of(preview), "revision": revision_of(preview)}
    )
    assert confirm.status_code == 303
    index = client.get(confirm.headers["location"]).text
    client.post(
        f"/dashboard/alliances/{a}/editor/cycles",
        data={"csrf_token": csrf_of(index), "key": "alianza-cycle", "title": "Seed banks"},
    )
    url = start_draft(client, a, "alianza-cycle", from_key="alianza-cycle")
    html = client.get(url).text
    longer = press(client, url, html, "publish", **{"stage-0-duration-amount": "5"})
    preview = client.get(longer.headers["location"]).text
    assert "What changes from alianza-cycle v1" in preview
    assert "now lasts 5 weeks (was 3 weeks)" in preview
    assert "1 running cycle" in preview and "deadline of Question workshop" in preview
    assert (
        'id="confirm-publish"' in preview
        and "disabled" not in preview.split('id="confirm-publish"')[1][:20]
    )


def test_two_coordinators_get_a_conflict_not_a_lost_change(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    a = dashboard_world.alliance_id
    ana = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(ana, a, "shared-draft")
    other = sign_in(dashboard, dashboard_world.coordinator)
    mine, theirs = ana.get(url).text, other.get(url).text
    first = press(ana, url, mine, "save", title="Ana's title")
    assert first.status_code == 303
    second = press(other, url, theirs, "save", title="Other title")
    assert second.status_code == 409
    assert "saved this draft (revision 2)" in second.text and "not saved" in second.text
    assert form_fields(second.text)["title"] == "Other title"  # their work is still in the form
    assert form_fields(ana.get(url).text)["title"] == "Ana's title"


def test_only_the_alliances_coordinators_edit(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    a, other = dashboard_world.alliance_id, dashboard_world.other_alliance_id
    coordinator = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(coordinator, a, "private-draft")
    manager = sign_in(dashboard, dashboard_world.manager)
    assert manager.get(f"/dashboard/alliances/{a}/editor").status_code == 403
    assert manager.get(url).status_code == 403
    assert "editor-link" not in manager.get(f"/dashboard/alliances/{a}/templates").text
    outsider = sign_in(dashboard, dashboard_world.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/dashboard/alliances/{a}/editor").status_code == 404
    assert coordinator.get(f"/dashboard/alliances/{other}/editor").status_code == 404
    page = coordinator.get(url).text
    refused = coordinator.post(url, data={**form_fields(page), "csrf_token": "x", "op": "save"})
    assert refused.status_code == 403 and "security token" in refused.text


def test_text_is_escaped_and_bounded(dashboard: DashboardServer, dashboard_world: World) -> None:
    a = dashboard_world.alliance_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, a, "escaped")
    html = press(client, url, client.get(url).text, "add-stage").text
    evil = '<script>alert("x")</script>'
    html = press(client, url, html, "refresh", **{"stage-0-key": "one", "stage-0-title": evil}).text
    assert evil not in html and "&lt;script&gt;alert(" in html
    assert re.search(
        r"<text [^>]*>&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt;</text>", html
    )
    huge = "key: escaped\ntitle: big\ndescription: " + "x" * (256 * 1024) + "\n"
    fields = {**form_fields(html), "yaml": huge, "op": "save"}
    refused = client.post(url, data=fields)
    assert refused.status_code == 422 and "at most 262144" in refused.text
    assert "Revision 1," in client.get(url).text


def test_live_check_and_import_follow_the_side_that_changed(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """The live check answers JSON parts: a form change rewrites the text, a text change
    rebuilds the form and leaves the text alone; an imported file fills the editor unsaved."""
    a = dashboard_world.alliance_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, a, "live")
    fields = form_fields(client.get(url).text)
    parts = client.post(url + "/check", data={**fields, "title": "Live title"}).json()
    assert "title: Live title" in parts["text"] and 'value="Live title"' in parts["form-fields"]
    assert "a template needs at least one transition" in parts["live"]
    text = "# kept\nkey: live\ntitle: From text\nstages: []\ntransitions: []\n"
    answer = client.post(
        url + "/check", data={**fields, "yaml": text}, headers={"X-Editor-Source": "yaml"}
    )
    parts = answer.json()
    assert "text" not in parts and 'value="From text"' in parts["form-fields"]
    assert "1 comment" in parts["yaml-state"]
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.get(url).text
    imported = client.post(
        url + "/import",
        data={"csrf_token": csrf_of(page), "revision": "1"},
        files={"file": ("mine.yaml", text.encode(), "text/yaml")},
    )
    assert (
        imported.status_code == 200 and "Imported into the editor (not saved yet)" in imported.text
    )
    assert form_fields(imported.text)["title"] == "From text"
    assert "Revision 1," in client.get(url).text
    bad = client.post(
        url + "/import",
        data={"csrf_token": csrf_of(page), "revision": "1"},
        files={"file": ("bin.yaml", b"\xff\xfe", "text/yaml")},
    )
    assert bad.status_code == 422 and "not UTF-8 text" in bad.text
