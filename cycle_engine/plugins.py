"""Host extensions loaded the same way in every process: `serve`, `worker` and the CLI.

A host package declares an entry point in the `cycle_engine.plugins` group that names an
`Extensions` object (or a callable returning one):

    [project.entry-points."cycle_engine.plugins"]
    my_host = "my_host.cycle_plugin:extensions"

`CYCLE_ENGINE_PLUGINS` (comma-separated entry-point names) limits which are loaded; unset, every
installed one is. The server's and mail commands plug into the CLI the same way, through the
`cycle_engine.cli` group, so the core installs and runs without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:  # types only: the CLI reads this module on every start
    from cycle_engine.changes import ChangeListener, ChangeSubscriber
    from cycle_engine.scheduler.firing import TimerHandler
    from cycle_engine.spec.guards import GuardDefinition

PLUGIN_GROUP = "cycle_engine.plugins"
CLI_GROUP = "cycle_engine.cli"
PLUGINS_SETTING = "CYCLE_ENGINE_PLUGINS"


@dataclass(frozen=True, kw_only=True)
class Extensions:
    """What a host adds to an engine: the keyword arguments `CycleEngine` takes for them."""

    guards: Sequence[GuardDefinition] = ()
    listeners: Sequence[ChangeListener] = ()
    subscribers: Sequence[ChangeSubscriber] = ()
    timer_handlers: Mapping[str, TimerHandler] = field(default_factory=dict)

    def __add__(self, other: Extensions) -> Extensions:
        return Extensions(
            guards=[*self.guards, *other.guards],
            listeners=[*self.listeners, *other.listeners],
            subscribers=[*self.subscribers, *other.subscribers],
            timer_handlers={**self.timer_handlers, **other.timer_handlers},
        )

    def engine_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `CycleEngine(url, **...)`."""
        return {
            "guards": list(self.guards),
            "listeners": list(self.listeners),
            "subscribers": list(self.subscribers),
            "timer_handlers": dict(self.timer_handlers),
        }


def load_extensions(names: Sequence[str] | None = None) -> Extensions:
    """Every installed plugin's extensions (only `names`, or `$CYCLE_ENGINE_PLUGINS`, if given).

    Raises InvalidInput naming a plugin that is not installed or does not give `Extensions`.
    """
    if names is None:
        setting = os.environ.get(PLUGINS_SETTING, "").strip()
        names = [n.strip() for n in setting.split(",") if n.strip()] if setting else None
    found = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    if names is not None:
        missing = sorted(set(names) - set(found))
        if missing:
            raise InvalidInput(
                PLUGINS_SETTING,
                f"no installed plugin named {', '.join(missing)} "
                f"(installed: {', '.join(sorted(found)) or 'none'})",
            )
        chosen = [found[name] for name in names]
    else:
        chosen = [found[name] for name in sorted(found)]
    total = Extensions()
    for entry in chosen:
        total = total + _extensions_of(entry)
    return total


def _extensions_of(entry: EntryPoint) -> Extensions:
    loaded = entry.load()
    value = loaded() if callable(loaded) and not isinstance(loaded, Extensions) else loaded
    if not isinstance(value, Extensions):
        raise InvalidInput(
            PLUGINS_SETTING,
            f"plugin {entry.name!r} ({entry.value}) gives {type(value).__name__}, not Extensions",
        )
    return value


def cli_commands() -> list[Callable[[Any], None]]:
    """The `register(app)` functions of every package that adds commands to `cycle-engine`."""
    return [ep.load() for ep in sorted(entry_points(group=CLI_GROUP), key=lambda ep: ep.name)]
