"""Who owns a template: built-in ones are everyone's and only an administrator changes them;
an alliance's are its own, changed by its coordinators only and invisible to other alliances."""

from __future__ import annotations

import pytest

from cycle_engine import Actor, InvalidInput, TemplateNotFound
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import NotPermitted
from tests.cycle_engine.templates.conftest import ADMIN, COORDINATOR, COPY, LEARNING_CYCLE, World
from tests.cycle_engine.templates.helpers import duration, edited

MANAGER = Actor(name="Mario Manager", role="manager")


def reach_of(alliance_id: int) -> Reach:
    return Reach(alliance_ids=frozenset({alliance_id}))


def test_only_an_administrator_publishes_a_built_in_template(world: World) -> None:
    """A coordinator publishing without an alliance is refused; an administrator is not."""
    text = edited(LEARNING_CYCLE, duration("prototype", "P9W"))
    with pytest.raises(NotPermitted, match="only an administrator"):
        world.engine.templates.publish(text, actor=COORDINATOR, reach=reach_of(world.alliance))
    published = world.engine.templates.publish(text, actor=ADMIN, reach=Reach(everything=True))
    assert (published.key, published.version, published.alliance_id) == ("learning-cycle", 2, None)


def test_only_the_alliances_coordinators_change_its_templates(world: World) -> None:
    """A manager of the alliance may read but not publish; another alliance's coordinator does
    not even find it (as if it did not exist)."""
    text = edited(LEARNING_CYCLE, duration("prototype", "P9W"), key=COPY)
    with pytest.raises(NotPermitted, match="only a coordinator"):
        world.engine.templates.publish(
            text, alliance_id=world.alliance, actor=MANAGER, reach=reach_of(world.alliance)
        )
    with pytest.raises(TemplateNotFound):
        world.engine.templates.publish(
            text, alliance_id=world.alliance, actor=COORDINATOR, reach=reach_of(world.other)
        )
    with pytest.raises(TemplateNotFound):
        world.engine.templates.version(COPY, reach=reach_of(world.other))
    assert COPY not in {r.key for r in world.engine.templates.list(reach=reach_of(world.other))}
    published = world.engine.templates.publish(
        text, alliance_id=world.alliance, actor=COORDINATOR, reach=reach_of(world.alliance)
    )
    assert (published.version, published.alliance_id) == (2, world.alliance)


def test_a_key_is_unique_per_owner(world: World) -> None:
    """Two alliances may each have a template with the same key, with their own versions; a
    caller reaching both must say which one it means."""
    text = edited(LEARNING_CYCLE, key=COPY)
    theirs = world.engine.templates.publish(text, alliance_id=world.other, actor=COORDINATOR)
    assert (theirs.key, theirs.version) == (COPY, 1)
    ours, _ = world.engine.templates.version(COPY, alliance_id=world.alliance)
    assert ours.alliance_id == world.alliance and ours.id != theirs.id
    with pytest.raises(InvalidInput, match="name the alliance"):
        world.engine.templates.version(COPY)


def test_an_alliance_cannot_take_a_built_in_key(world: World) -> None:
    """The built-in key stays the built-in template's in every alliance: the error says to copy."""
    with pytest.raises(InvalidInput, match="copy it under a new key"):
        world.engine.templates.publish(
            edited(LEARNING_CYCLE), alliance_id=world.alliance, actor=COORDINATOR
        )


def test_cycles_start_only_on_templates_their_alliance_sees(world: World) -> None:
    """A cycle of the alliance starts on its own template; another alliance's cycle cannot."""
    cycle = world.engine.get_cycle(world.start("Seeds"))
    assert cycle.template_key == COPY
    with pytest.raises(TemplateNotFound):
        world.start("Wells", alliance="other")


def test_a_retired_template_starts_no_cycle_and_is_no_migration_target(world: World) -> None:
    """Retiring keeps running cycles going, refuses new ones, and refuses plans moving to it."""
    running = world.start("Seeds")
    retired = world.engine.templates.retire(COPY, alliance_id=world.alliance, actor=COORDINATOR)
    assert [r.label for r in retired] == [f"{COPY} v1"]
    with pytest.raises(InvalidInput, match="retired"):
        world.start("New one")
    with pytest.raises(InvalidInput, match="retired"):
        world.engine.migrations.create_plan(
            COPY, from_key="learning-cycle", alliance_id=world.alliance, actor=COORDINATOR
        )
    assert world.engine.get_cycle(running).status == "active"
    again = world.publish(duration("prototype", "P9W"))
    assert (
        again.version == 2 and world.engine.get_cycle(world.start("After")).template_id == again.id
    )


def test_a_copy_is_the_alliances_own(world: World) -> None:
    """Copying keeps the text (comments too) under the new key, owned by the alliance."""
    record, spec = world.engine.templates.version(COPY, alliance_id=world.alliance)
    assert record.alliance_id == world.alliance and spec.key == COPY
    assert "# The CIAT Learning Alliance learning cycle" in record.source_text
    with pytest.raises(InvalidInput, match="not a template key"):
        world.engine.templates.copy("learning-cycle", "Bad Key!", alliance_id=world.alliance)
