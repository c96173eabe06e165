"""`cycle-engine template migrate KEY --dry-run | --apply`: move running cycles to a version.

    cycle-engine template migrate alianza-cycle --alliance 3 --from-key learning-cycle --dry-run
    cycle-engine template migrate alianza-cycle --plan 7 --apply

`--dry-run` makes a plan (or takes `--plan`), previews it and changes nothing: per cycle its
stage before and after, each deadline and reminder that moves, appears or is cancelled (in the
alliance's time zone), the guards that would newly block it, and the cycles that cannot migrate
with the reason. `--apply` applies the plan's preview (with `--plan`, the one shown earlier;
else a fresh one), one cycle per transaction, with progress on stderr, and reports what it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cycle_engine.actors import Actor
from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    fail,
    open_engine,
    print_json,
    reports_errors,
)
from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:
    from cycle_engine.templates.forecast import CycleForecast
    from cycle_engine.templates.migrations import MigrationPreview, MigrationReport

MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="Map an old stage to a new one, as old=new (repeat for more)."),
]


def parse_map(values: list[str] | None) -> dict[str, str]:
    """`["prototype=prototyping"]` as {"prototype": "prototyping"}; raises InvalidInput."""
    mapping: dict[str, str] = {}
    for value in values or []:
        old, sep, new = value.replace(":", "=", 1).partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(
                "--map", f"write an old stage and a new one as old=new, got {value!r}"
            )
        mapping[old.strip()] = new.strip()
    return mapping


@reports_errors
def migrate(
    key: Annotated[str, typer.Argument(help="The template the cycles move to.")],
    to: Annotated[int | None, typer.Option("--to", help="Its version (default latest).")] = None,
    alliance: Annotated[int | None, typer.Option(help="Move this alliance's cycles.")] = None,
    from_key: Annotated[
        str | None, typer.Option(help="Cycles on this template (default: KEY).")
    ] = None,
    from_version: Annotated[
        int | None, typer.Option(help="Only cycles on this version (default: any).")
    ] = None,
    cycle: Annotated[
        list[int] | None, typer.Option("--cycle", help="Only this cycle (repeat for several).")
    ] = None,
    stage_map: MapOption = None,
    keep_planned_dates: Annotated[
        bool,
        typer.Option(help="Stages not entered yet keep their planned dates (default: re-plan)."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preview; change nothing.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Migrate the cycles.")] = False,
    plan: Annotated[int | None, typer.Option(help="A plan made earlier (API, dashboard).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
    actor: Annotated[str, typer.Option("--as", help="Who applies (recorded in history).")] = "cli",
) -> None:
    """Move running cycles to a template version: preview with --dry-run, then --apply."""
    if dry_run == apply:
        raise fail("choose --dry-run (preview, changes nothing) or --apply")
    operator = Actor(name=actor, role="admin")
    with open_engine(db) as engine:
        if plan is None:
            plan = engine.migrations.create_plan(
                key,
                to_version=to,
                alliance_id=alliance,
                from_key=from_key,
                from_version=from_version,
                cycle_ids=cycle or (),
                stage_map=parse_map(stage_map),
                unentered="keep" if keep_planned_dates else "replan",
                actor=operator,
            ).id
            preview = engine.migrations.preview(plan, actor=operator)
        elif engine.migrations.get(plan).target_key != key:
            raise fail(f"plan {plan} moves cycles to another template than {key}")
        elif dry_run or engine.migrations.get(plan).previewed_at is None:
            preview = engine.migrations.preview(plan, actor=operator)
        else:
            preview = None
        if dry_run:
            assert preview is not None
            _show_preview(preview, json)
            if not json:
                typer.echo(
                    f"nothing changed; to apply: template migrate {key} --plan {plan} --apply"
                )
            return
        if preview is not None and not json:
            _show_summary(preview)
        report = engine.migrations.apply(plan, actor=operator, progress=_progress)
    _show_report(report, json)


def _progress(done: int, total: int) -> None:
    step = max(1, total // 20)
    if done % step == 0 or done == total:
        typer.echo(f"  {done}/{total} cycles done", err=True)


def forecast_json(forecast: CycleForecast) -> dict[str, Any]:
    """One cycle of a preview as plain JSON (times in UTC, ISO 8601)."""
    moments = [
        {
            "what": m.what,
            "stage": m.stage,
            "rule": m.rule,
            "change": m.change,
            "before": m.before.isoformat() if m.before else None,
            "after": m.after.isoformat() if m.after else None,
            "note": m.note,
        }
        for m in (*forecast.deadlines, *forecast.timers)
    ]
    return {
        "cycle_id": forecast.cycle_id,
        "title": forecast.title,
        "version": forecast.cycle_version,
        "outcome": forecast.outcome,
        "reason": forecast.reason,
        "template_before": forecast.template_before,
        "template_after": forecast.template_after,
        "stage_before": forecast.stage_before,
        "stage_after": forecast.stage_after,
        "timezone": forecast.timezone,
        "changes": moments,
        "newly_blocking": {b.trigger: list(b.reasons) for b in forecast.newly_blocking},
        "flags_cleared": list(forecast.flags_cleared),
    }


def _show_preview(preview: MigrationPreview, json: bool) -> None:
    if json:
        print_json({"plan": preview.plan, "cycles": [forecast_json(c) for c in preview.cycles]})
        return
    plan = preview.plan
    rule = "keep their planned dates" if plan.unentered == "keep" else "are re-planned"
    typer.echo(f"plan {plan.id}: {plan.selection} -> {plan.target}")
    typer.echo(f"stages not entered yet {rule}")
    for cycle in preview.cycles:
        if cycle.outcome != "current":
            _show_cycle(cycle)
    _show_summary(preview)


def _show_cycle(cycle: CycleForecast) -> None:
    head = f"cycle {cycle.cycle_id} “{cycle.title}” ({cycle.template_before})"
    if cycle.outcome == "blocked":
        typer.echo(f"{head}: cannot migrate: {cycle.reason}")
        return
    paused = ", paused" if cycle.paused else ""
    typer.echo(
        f"{head}: {cycle.stage_before_title} -> {cycle.stage_after_title}{paused} "
        f"(times in {cycle.timezone})"
    )
    for moment in (*cycle.deadlines, *cycle.timers):
        typer.echo(f"  {moment.label}: {moment.text(cycle.timezone)}")
    for block in cycle.newly_blocking:
        typer.echo(f"  newly blocks {block.trigger}: {'; '.join(block.reasons)}")
    for text in cycle.flags_cleared:
        typer.echo(f"  {text}")
    if not (cycle.deadlines or cycle.timers or cycle.newly_blocking or cycle.flags_cleared):
        typer.echo("  no deadline or reminder changes")


def _show_summary(preview: MigrationPreview) -> None:
    typer.echo(
        f"{_cycles(len(preview.migrating))} would migrate, {len(preview.blocked)} cannot, "
        f"{len(preview.current)} already on {preview.plan.target}"
    )


def _cycles(count: int) -> str:
    return f"{count} cycle" if count == 1 else f"{count} cycles"


def _show_report(report: MigrationReport, json: bool) -> None:
    if json:
        print_json({"plan_id": report.plan_id, **report.as_json()})
        return
    typer.echo(
        f"migrated {_cycles(len(report.migrated))} to {report.target} in {report.seconds:.1f} s"
        f" (plan {report.plan_id})"
    )
    for result in report.skipped:
        typer.echo(f"  skipped cycle {result.cycle_id}: {result.reason}")
