"""One signed token per email carries all its links (issue 16: six signatures per email were
most of the cost of composing one). Each action page still acts once, only for the actions
the email offered for that stage; the person pages still open; action links still expire after
30 days (and offer a fresh one) while preferences and unsubscribe last a year; links signed
one per link before the change still work."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cycle_engine.errors import ExpiredLink, InvalidLink
from cycle_engine.notifications.links import EmailItem, LinkSigner
from tests.notifications import test_email_links_http
from tests.notifications.test_email_links_http import SECRET, Site

site = test_email_links_http.site  # the email-link pages over HTTP, as there
ALL = ("acknowledge", "done", "extend", "snooze")


def _email(site: Site, actions: tuple[str, ...] = ALL, nonce: str = "m7") -> tuple[int, str]:
    """(Ana's id, the token of one reminder email to her about the cycle's current stage)."""
    claim = site.claim("acknowledge", nonce=nonce)
    item = EmailItem(
        cycle_id=claim.cycle_id, stage_visit_id=claim.stage_visit_id, nonce=nonce, actions=actions
    )
    links = site.links.email_links(claim.person_id, "reminder", [item])
    return claim.person_id, links.token


def test_every_link_of_an_email_carries_its_one_token(site: Site) -> None:
    """Action, preferences, unsubscribe and calendar links share one token, which reads back
    as each action's claim and as the person (with the email's kind, to unsubscribe)."""
    ana, token = _email(site)
    item = EmailItem(cycle_id=1, stage_visit_id=2, nonce="m7", actions=ALL)
    links = site.links.email_links(ana, "reminder", [item])
    urls = [links.action_url(a) for a in ALL]
    urls += [links.preferences_url, links.unsubscribe_url, links.calendar_url]
    tokens = {parse_qs(urlsplit(u).query).get("t", [None])[0] for u in urls[:-1]}
    assert tokens == {links.token} and links.calendar_url.endswith(f"/{links.token}.ics")
    for action in ALL:
        claim = site.links.read_action(action, token)
        assert (claim.action, claim.person_id, claim.nonce) == (action, ana, "m7")
    for purpose in ("preferences", "unsubscribe", "calendar"):
        assert site.links.read_person(purpose, token) == (ana, "reminder")
    with pytest.raises(InvalidLink):  # product downloads sign their own links
        site.links.read_person("product", token)


def test_an_action_the_email_did_not_offer_is_refused(site: Site) -> None:
    """A token from an email offering only "done" opens no "acknowledge" page and acts on
    nothing; a tampered token is refused."""
    _, token = _email(site, actions=("done",))
    before = site.events()
    posted = httpx.post(f"{site.base}/email/actions/acknowledge", data={"t": token})
    assert posted.status_code == 400
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert httpx.post(f"{site.base}/email/actions/done", data={"t": tampered}).status_code == 400
    assert site.events() == before


def test_action_pages_act_once_through_the_email_token(site: Site) -> None:
    """GET shows, POST acknowledges once, a replay says it was already done; the same token
    then marks the step done (another action of the same email)."""
    _, token = _email(site)
    before = site.events()
    shown = httpx.get(f"{site.base}/email/actions/acknowledge", params={"t": token})
    assert shown.status_code == 200 and site.events() == before
    for _ in range(2):
        posted = httpx.post(f"{site.base}/email/actions/acknowledge", data={"t": token})
        assert posted.status_code == 200
    assert "ya estaba hecho" in posted.text  # in Ana's language
    done = httpx.post(f"{site.base}/email/actions/done", data={"t": token})
    assert done.status_code == 200
    assert site.events() - before == Counter({"action_acknowledged": 1, "marked_done": 1})


def test_actions_expire_after_30_days_person_pages_after_a_year(site: Site) -> None:
    """Past 30 days the action page says expired and offers a fresh link for that action;
    preferences still open; past a year they do not."""
    ana, token = _email(site)
    site.world.clock.advance(timedelta(days=31))
    posted = httpx.post(f"{site.base}/email/actions/done", data={"t": token})
    assert posted.status_code == 410 and "Enviarme un nuevo enlace" in posted.text
    fresh = httpx.post(f"{site.base}/email/actions/done/refresh", data={"t": token})
    assert fresh.status_code == 200 and "va en camino" in fresh.text
    assert site.links.read_person("preferences", token) == (ana, "reminder")
    site.world.clock.advance(timedelta(days=340))
    with pytest.raises(ExpiredLink):
        site.links.read_person("preferences", token)


def test_digest_links_name_their_item(site: Site) -> None:
    """A digest's one token names each item's cycle, visit and nonce by place (`~i`)."""
    ana = site.world.person("ana")
    items = [
        EmailItem(cycle_id=c, stage_visit_id=v, nonce=f"m{n}", actions=("acknowledge",))
        for n, (c, v) in enumerate([(1, 10), (2, 20), (3, 30)])
    ]
    links = site.links.email_links(ana, "digest", items)
    for place, (cycle, visit) in enumerate([(1, 10), (2, 20), (3, 30)]):
        query = parse_qs(urlsplit(links.action_url("acknowledge", place)).query)
        claim = site.links.read_action("acknowledge", query["t"][0])
        assert (claim.cycle_id, claim.stage_visit_id, claim.nonce) == (cycle, visit, f"m{place}")
    with pytest.raises(InvalidLink):
        site.links.read_action("acknowledge", f"{links.token}~3")


def test_links_signed_one_per_link_still_work(site: Site) -> None:
    """Old per-link tokens keep their meaning: one action each, person pages by purpose."""
    old = LinkSigner(SECRET, site.base, site.world.clock)
    token = old.action_token(site.claim("snooze"))
    assert site.links.read_action("snooze", token).action == "snooze"
    with pytest.raises(InvalidLink):
        site.links.read_action("done", token)
    ana = site.world.person("ana")
    assert site.links.read_person("unsubscribe", old.person_token("unsubscribe", ana, "overdue"))
    assert site.links.read_person("preferences", old.person_token("preferences", ana))[0] == ana
