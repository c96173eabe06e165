"""The test helpers shipped for embedders (`cycle_engine.testing`): the world builder's documented
example runs as written, and it refuses a key used twice or one it never made."""

from __future__ import annotations

from typing import Any

import pytest

import cycle_engine.testing
from cycle_engine import CycleEngine
from cycle_engine.testing import WorldBuilder


def documented_example() -> str:
    """The indented lines of the module docstring: its example, as code."""
    doc = cycle_engine.testing.__doc__ or ""
    return "\n".join(line[4:] for line in doc.splitlines() if line.startswith("    "))


def test_documented_example_builds_what_it_names(builtin_engine: CycleEngine) -> None:
    """The module docstring's example runs as written and every key names what was made."""
    namespace: dict[str, Any] = {"engine": builtin_engine}
    exec(documented_example(), namespace)
    world: WorldBuilder = namespace["world"]
    cycle = builtin_engine.get_cycle(world.ids["market"])
    assert cycle.title == "Market access" and cycle.alliance_id == world.ids["alliance"]
    assert cycle.state == "question_workshop"
    roles = builtin_engine.alliances.alliance_roles_of(world.ids["ana"])
    assert [(r.alliance_id, r.role) for r in roles] == [(world.ids["alliance"], "coordinator")]
    assert list(world.tokens) == ["cora's key"] and world.tokens["cora's key"]


def test_key_used_twice_or_never_made_is_refused(builtin_engine: CycleEngine) -> None:
    """A key names one thing: making a second under it, or naming one never made, is an error
    that says which key (and what the world has)."""
    world = WorldBuilder(builtin_engine)
    world.alliance("alliance", "Alianza Test", "Market access")
    with pytest.raises(ValueError, match="already has 'alliance'"):
        world.alliance("alliance", "Another Alliance", "Water")
    with pytest.raises(KeyError, match="no 'research' \\(it has alliance\\)"):
        world.person("ana", "Ana Pérez", "ana@research.example.org", "research")
    world.key("admin", "admin")
    with pytest.raises(ValueError, match="already has a key named 'admin'"):
        world.key("admin", "admin")
