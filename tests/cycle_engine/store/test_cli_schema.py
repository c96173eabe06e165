"""`cycle-engine init` and `migrate` install and upgrade the engine in a schema of the host's
choosing (`--schema`, or CYCLE_ENGINE_DATABASE_SCHEMA), beside the host's own tables."""

from __future__ import annotations

import pytest
from alembic.config import Config
from typer.testing import CliRunner

from cycle_engine.cli import app

from .host import SCHEMA, query, tables_in


@pytest.mark.postgres
def test_cli_init_and_migrate_take_the_schema(host_url: tuple[str, Config]) -> None:
    """`cycle-engine init --schema` installs the tables and the built-in templates there;
    `migrate` reads the schema from CYCLE_ENGINE_DATABASE_SCHEMA too."""
    url, _config = host_url
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--db", url, "--schema", SCHEMA])
    assert result.exit_code == 0, result.output
    assert f"(schema {SCHEMA})" in result.output
    assert query(url, f"SELECT count(*) FROM {SCHEMA}.templates")[0][0] == 2
    result = runner.invoke(
        app, ["migrate", "--db", url], env={"CYCLE_ENGINE_DATABASE_SCHEMA": SCHEMA}
    )
    assert result.exit_code == 0, result.output
    assert f"schema up to date: {url} (schema {SCHEMA})" in result.output
    assert tables_in(url, "public") == {"alembic_version", "people"}
