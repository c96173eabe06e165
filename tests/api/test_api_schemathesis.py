"""Schemathesis against the app's own OpenAPI document, over HTTP to the real server: every
operation, with generated valid and invalid inputs, never answers a server error (5xx)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api.conftest import World

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 5


def test_no_server_errors_for_generated_requests(world: World) -> None:
    """Generated requests (admin and partner keys) to every operation never get a 5xx."""
    schema = schemathesis.openapi.from_url(f"{world.url}/openapi.json")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _exercise(operation, world, failures)
    assert operations >= 50
    assert failures == []


def _exercise(operation: Any, world: World, failures: list[str]) -> None:
    who = st.sampled_from([world.tokens["admin"], world.tokens["partner_o1"]])

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), token=who)
    def run(case: Any, token: str) -> None:
        response = case.call(
            base_url=world.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]} (body {case.body!r:.200})"
            )

    run()
