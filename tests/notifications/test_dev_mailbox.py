"""Without SMTP settings, mail lands in a development Maildir that `cycle-engine mail` reads."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycle_engine.cli import app
from cycle_engine.errors import InvalidInput
from cycle_engine.notifications.senders.mailbox import list_mailbox
from cycle_engine.notifications.settings import load_mail_settings
from tests.notifications.conftest import World
from tests.notifications.test_smtp_delivery import SECRET, deliver


def test_no_smtp_means_the_development_mailbox(world: World, tmp_path: Path, db_url: str) -> None:
    """With no CYCLE_ENGINE_SMTP_HOST every email is stored, marked sent, and readable with
    `cycle-engine mail list` and `mail show`."""
    from cycle_engine.notifications.service import build_outbox_sender

    settings = load_mail_settings({}, data_dir=tmp_path)
    assert settings.smtp is None and (tmp_path / "secret.key").exists()
    world.engine.run_due_timers()
    deliver(build_outbox_sender(world.engine, settings))
    entries = list_mailbox(tmp_path / "mailbox")
    rows = world.engine.outbox.messages()
    assert sorted(e.message_id for e in entries) == sorted(r.message_id for r in rows)
    assert {r.status for r in rows} == {"sent"}
    runner = CliRunner()
    env = {"CYCLE_ENGINE_DATA_DIR": str(tmp_path)}
    listed = runner.invoke(app, ["mail", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    ana = next(e for e in entries if "ana@" in e.to)
    assert ana.key in listed.output and "Nuevo paso" in listed.output
    shown = runner.invoke(app, ["mail", "show", ana.key], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Hola Ana" in shown.output and "attachments: deadline.ics" in shown.output
    outbox = runner.invoke(app, ["mail", "outbox", "--db", db_url])
    assert outbox.exit_code == 0 and "stage_started" in outbox.output


def test_bad_mail_settings_name_the_variable(tmp_path: Path) -> None:
    """A wrong TLS mode or port is refused with the variable's name."""
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_SMTP_TLS"):
        load_mail_settings(
            {"CYCLE_ENGINE_SMTP_HOST": "mail", "CYCLE_ENGINE_SMTP_TLS": "yes"}, data_dir=tmp_path
        )
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_SMTP_PORT"):
        load_mail_settings(
            {"CYCLE_ENGINE_SMTP_HOST": "mail", "CYCLE_ENGINE_SMTP_PORT": "x"}, data_dir=tmp_path
        )
    with pytest.raises(InvalidInput, match="TLS is required"):
        load_mail_settings(
            {
                "CYCLE_ENGINE_SMTP_HOST": "mail",
                "CYCLE_ENGINE_SMTP_TLS": "none",
                "CYCLE_ENGINE_SMTP_USERNAME": "u",
            },
            data_dir=tmp_path,
        )


def test_mailbox_creates_missing_folders(world: World, tmp_path: Path) -> None:
    """A fresh install has no `data/` yet: the first email creates it, the Maildir and its
    folders, and every row is stored once and marked sent."""
    from cycle_engine.notifications.service import build_outbox_sender

    data = tmp_path / "fresh" / "data"
    settings = load_mail_settings({"CYCLE_ENGINE_SECRET_KEY": SECRET}, data_dir=data)
    world.engine.run_due_timers()
    deliver(build_outbox_sender(world.engine, settings))
    rows = world.engine.outbox.messages()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    stored = Counter(e.message_id for e in list_mailbox(data / "mailbox"))
    assert stored == Counter(r.message_id for r in rows) and len(rows) == 4


def test_mailbox_that_cannot_be_written_keeps_the_mail_waiting(
    world: World, tmp_path: Path
) -> None:
    """Where the Maildir should be there is a file: nothing can be stored, so every row waits
    (a temporary failure naming the path); once the path is free the mail is delivered."""
    from cycle_engine.notifications.service import build_outbox_sender

    settings = load_mail_settings({"CYCLE_ENGINE_SECRET_KEY": SECRET}, data_dir=tmp_path)
    blocker = tmp_path / "mailbox"
    blocker.write_text("not a folder")
    world.engine.run_due_timers()
    deliver(build_outbox_sender(world.engine, settings))
    rows = world.engine.outbox.messages()
    assert {r.status for r in rows} == {"pending"}
    assert all(f"cannot store the message in {blocker}" in (r.last_error or "") for r in rows)
    blocker.unlink()
    world.clock.advance(timedelta(hours=1))
    deliver(build_outbox_sender(world.engine, settings))
    assert {r.status for r in world.engine.outbox.messages()} == {"sent"}
    assert len(list_mailbox(blocker)) == 4
