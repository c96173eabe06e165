"""The desk's plugin: what `cycle-engine serve`, `worker` and every CLI command load, through the
entry point in pyproject.toml, so a cycle on the desk's template works in every process."""

from __future__ import annotations

from cycle_engine import Extensions

from api.audit import AuditTrail
from api.budgets import BUDGET_APPROVED


def extensions() -> Extensions:
    return Extensions(guards=[BUDGET_APPROVED], listeners=[AuditTrail()])
