"""Templates as coordinators use them: who owns each one, what changed between two versions, and
moving running cycles to a new version with a preview first.

    service.py     `TemplateService` (engine.templates): publish, copy, retire, read, diff
    ownership.py   built-in or an alliance's: who sees a template and who may change it
    diff.py        what changed between two versions, in words; words.py says rules in words
    plans.py       migration plans: the target version, which cycles, stage mapping, the rule
                   for stages not entered yet; stored so the API can create, preview and apply
    forecast.py    what migrating one cycle does: its stage, deadlines, timers, newly blocking
                   guards, or why it cannot migrate; snapshot.py reads what it looks at,
                   deadlines.py its dates and work plan, timers.py which timers stay, move,
                   appear or are cancelled, blocking.py the guards that would newly block
    apply.py       doing it for one locked cycle, in its own transaction
    migrations.py  `MigrationService` (engine.migrations): create, preview, apply, read plans

The package sits above the scheduler and the cycles in the layers (pyproject.toml): a migration
needs the scheduler's timer rules, the cycles' fast write path and the alliances' work plan.
"""

from __future__ import annotations

from cycle_engine.templates.service import TemplateService

__all__ = ["TemplateService"]
