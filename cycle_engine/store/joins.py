"""An inner join whose left side is read first, on every database.

A short list walked from an index (the open visits by deadline, the active stall flags by age)
must be read in that index's order and reach each cycle by primary key, so its LIMIT stops the
walk after a page of rows. PostgreSQL chooses that plan from its statistics once the join is
a plain key lookup. SQLite's statistics are sampled (`PRAGMA analysis_limit`) and taken when the
server starts, so it may believe "cycles of this alliance" is a few rows and read them all
first: at 1,000,000 cycles the overview's lists took 1.2 s each. SQLite's documented way to
fix the order of a join is CROSS JOIN, whose left table is always the outer loop; `driving_join`
renders that on SQLite and a plain JOIN elsewhere.

Public SQLAlchemy only: a `Join` subclass and `sqlalchemy.ext.compiler.compiles`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FromClause, Join


class DrivingJoin(Join):
    """An inner join read from its left side (a CROSS JOIN on SQLite)."""

    inherit_cache = True


def driving_join(left: Any, right: Any, onclause: ColumnElement[bool]) -> DrivingJoin:
    """`left JOIN right ON onclause`, with `left` read first; `left` may itself be one."""
    return DrivingJoin(_from(left), _from(right), onclause)


def _from(entity: Any) -> FromClause:
    """The FROM clause of a table, an ORM class or an ORM alias."""
    return inspect(entity).selectable  # type: ignore[no-any-return]


@compiles(DrivingJoin)
def _plain_join(join: DrivingJoin, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.visit_join(join, **kw)  # type: ignore[no-untyped-call,no-any-return]


@compiles(DrivingJoin, "sqlite")
def _cross_join(join: DrivingJoin, compiler: SQLCompiler, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(join.left, **kw)
    right = compiler.process(join.right, **kw)
    assert join.onclause is not None  # `driving_join` always names one
    on = compiler.process(join.onclause, **{**kw, "asfrom": False})
    return f"{left} CROSS JOIN {right} ON {on}"
