"""HTTP behaviour around the resources: body size limits, request logs without secrets,
settings that refuse weak secrets, and the `key` and `serve` commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cycle_engine.api import Settings, create_app
from cycle_engine.api.settings import secret_from_file
from cycle_engine.cli import app as cli
from cycle_engine.errors import InvalidInput
from cycle_engine.testing import ManualClock
from tests.api.conftest import ServerThread, World, api_settings


@pytest.fixture
def small_server(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[ServerThread]:
    settings = api_settings(db_url, tmp_path, max_body_bytes=2048, max_upload_bytes=4096)
    with ServerThread(create_app(settings, clock=clock)) as server:
        yield server


def test_bodies_over_the_limit_get_413(small_server: ServerThread) -> None:
    """Declared and streamed bodies over the limit get 413 problem+json before any work."""
    with httpx.Client(base_url=small_server.url) as client:
        declared = client.post(
            "/api/v1/cycles", content=b"x" * 5000, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        streamed = client.post(
            "/api/v1/templates/validate",
            content=chunks(),
            headers={"Content-Type": "application/yaml"},
        )
        assert streamed.status_code in (401, 413)  # auth may answer first; never a 2xx/5xx
        upload = client.post(
            "/api/v1/cycles/1/products/files", files={"file": ("a.txt", b"z" * 8000, "text/plain")}
        )
        assert upload.status_code == 413


def test_request_log_has_no_secrets(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Access log lines name the key's prefix, never its token or secret query values."""
    token = world.tokens["coord_a"]
    with (
        caplog.at_level(logging.INFO, logger="cycle_engine.api.access"),
        world.client("coord_a") as client,
    ):
        client.get("/api/v1/cycles", params={"token": "hush", "state": "prototype"})
    lines = [r.getMessage() for r in caplog.records if r.name == "cycle_engine.api.access"]
    assert any("/api/v1/cycles" in line and "state=prototype" in line for line in lines)
    assert all(token not in line and "hush" not in line for line in lines)
    assert any(f"key={token.split('_')[1]}" in line for line in lines)


def test_settings_refuse_weak_secrets_outside_dev_mode(tmp_path: Path) -> None:
    """A missing or short secret is refused naming the variable; dev mode generates one."""
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_SECRET_KEY"):
        Settings.from_env({})
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_SECRET_KEY"):
        Settings.from_env({"CYCLE_ENGINE_SECRET_KEY": "changethis"})
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_RUN_WORKER"):
        Settings.from_env({"CYCLE_ENGINE_DEV_MODE": "1", "CYCLE_ENGINE_RUN_WORKER": "maybe"})
    assert len(Settings.from_env({"CYCLE_ENGINE_DEV_MODE": "true"}).secret_key) >= 32
    stored = secret_from_file(tmp_path / "secret.key")
    assert secret_from_file(tmp_path / "secret.key") == stored
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_key_commands_create_list_revoke(world: World, db_url: str, clock: ManualClock) -> None:
    """`key create` shows a token once; `key revoke` (another process's engine) makes it answer
    401 in the serving process once the key's cached check has run out (KEY_CACHE_SECONDS)."""
    runner = CliRunner()
    created = runner.invoke(
        cli, ["key", "create", "--name", "ops", "--role", "admin", "--db", db_url]
    )
    assert created.exit_code == 0, created.output
    token = created.output.split("store it now): ")[1].strip()
    with httpx.Client(base_url=world.url, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/cycles").status_code == 200
        listed = runner.invoke(cli, ["key", "list", "--db", db_url])
        assert "ops" in listed.output and token not in listed.output
        prefix = token.split("_")[1]
        assert runner.invoke(cli, ["key", "revoke", prefix, "--db", db_url]).exit_code == 0
        assert c.get("/api/v1/cycles").status_code == 200  # still trusted from its last check
        clock.advance(timedelta(seconds=Settings.key_cache_seconds))
        assert c.get("/api/v1/cycles").status_code == 401
    bad = runner.invoke(cli, ["key", "create", "--name", "p", "--role", "partner", "--db", db_url])
    assert bad.exit_code == 1 and "organisation" in bad.output
