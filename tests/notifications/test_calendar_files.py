"""Calendar files are made with the `icalendar` library and read back by it: every deadline
attached to a delivered "stage started" email and every person's feed (at the same
`/email/calendar/<token>.ics` URLs as before) parses, shows the deadline at its instant in the
person's own time zone with that zone's VTIMEZONE, and keeps its UID; a deadline after a
daylight-saving change keeps its local hour."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar, Event, Timezone

from cycle_engine.api import create_app
from cycle_engine.notifications.ics import calendar, stage_entry
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings
from tests.api.conftest import SECRET, ServerThread, api_settings
from tests.notifications.conftest import SmtpServer, World


@pytest.fixture
def site(world: World, tmp_path: Path) -> Iterator[ServerThread]:
    """The whole app on the world's engine, over real HTTP."""
    settings = api_settings(world.engine.db.url, tmp_path)
    with ServerThread(create_app(settings, engine=world.engine)) as server:
        yield server


def read(data: bytes) -> tuple[Calendar, list[Event]]:
    parsed = Calendar.from_ical(data)
    assert isinstance(parsed, Calendar)
    return parsed, [c for c in parsed.walk("VEVENT") if isinstance(c, Event)]


def zones(parsed: Calendar) -> set[str]:
    return {str(c["TZID"]) for c in parsed.walk("VTIMEZONE") if isinstance(c, Timezone)}


def check_deadline(event: Event, parsed: Calendar, zone: str, due_at: datetime) -> None:
    """The event's start is `due_at`, written in `zone`, whose VTIMEZONE the file carries."""
    start = event.decoded("DTSTART")
    assert isinstance(start, datetime) and start.astimezone(UTC) == due_at
    assert str(start.tzinfo) == zone and event["DTSTART"].params["TZID"] == zone
    assert zone in zones(parsed)
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)


def test_every_attachment_and_feed_parses_back(
    world: World, smtp_server: SmtpServer, site: ServerThread, tmp_path: Path
) -> None:
    """Each participant's stage-started email carries the deadline in their zone, and the feed
    of each who carries the step, at the URL format the emails always used, lists it the same
    way (an informed partner's feed parses, empty)."""
    engine = world.engine
    engine.run_due_timers()
    settings = MailSettings(
        smtp=smtp_server.settings(), secret_key=SECRET, base_url=site.url, data_dir=tmp_path
    )
    sender = build_outbox_sender(engine, settings, mailer=smtp_server.sender())

    async def deliver() -> None:
        try:
            await sender.run_until_idle()
        finally:
            await sender.close()

    asyncio.run(deliver())
    visit = engine.cycles.current_stage(world.cycle_id)
    assert visit is not None and visit.due_at is not None
    uid = f"cycle-{world.cycle_id}-visit-{visit.id}@cycle-engine"
    attached: dict[str, bytes] = {}
    for received in smtp_server.handler.received:
        for part in received.message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                attached[received.rcpt_tos[0]] = part.get_payload(decode=True)
    assert len(attached) >= 3  # the lead's focal point and deputy, the active partner's
    links = LinkSigner(SECRET, site.url, engine.clock)
    feeds = 0
    for address, data in attached.items():
        person = next(p for p in engine.alliances.list_people() if p.email == address)
        assert person.id is not None
        parsed, [event] = read(data)
        check_deadline(event, parsed, person.timezone, visit.due_at)
        assert str(event["UID"]) == uid
        feed_url = links.calendar_url(person.id)
        assert feed_url.startswith(f"{site.url}/email/calendar/") and feed_url.endswith(".ics")
        feed = httpx.get(feed_url)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        parsed, events = read(feed.content)
        carried = engine.outbox.upcoming_deadlines(person.id)  # not an informed partner's
        assert [str(e["UID"]) for e in events] == [uid] * len(carried)
        for event in events:
            check_deadline(event, parsed, person.timezone, visit.due_at)
        feeds += len(events)
    assert feeds >= 3


def test_a_deadline_after_a_dst_change_keeps_its_local_hour() -> None:
    """09:00 in Paris in July (summer time) and in January (winter time) are both 09:00 local,
    at different UTC hours, and the zone's rules travel in the file."""
    paris = ZoneInfo("Europe/Paris")
    summer = datetime(2026, 7, 1, 9, 0, tzinfo=paris)
    winter = datetime(2026, 1, 15, 9, 0, tzinfo=paris)
    entries = [
        stage_entry(1, "Cycle", "Prototype", 10, summer.astimezone(UTC), timezone="Europe/Paris"),
        stage_entry(1, "Cycle", "Testing", 11, winter.astimezone(UTC), timezone="Europe/Paris"),
        stage_entry(2, "Cycle; two", "Review, final", 12, summer.astimezone(UTC)),
    ]
    data = calendar(entries, datetime(2026, 1, 5, tzinfo=UTC), name="Deadlines")
    parsed, events = read(data)
    starts = [e.decoded("DTSTART") for e in events]
    assert [s.hour for s in starts[:2]] == [9, 9]
    assert [s.astimezone(UTC).hour for s in starts[:2]] == [7, 8]
    assert starts[2] == summer.astimezone(UTC) and str(starts[2].tzinfo) == "UTC"
    assert str(events[2]["SUMMARY"]) == "Review, final due (Cycle; two)"  # escaped and back
    [zone] = parsed.walk("VTIMEZONE")
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert b"\r\n" in data and all(len(line) <= 75 for line in data.split(b"\r\n"))
