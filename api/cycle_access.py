"""What a key may do on one cycle, beyond seeing it: a partner acts only on stages its
organisation takes part in (lead or active), and commands may carry `If-Match` with the ETag.

The ETag of a cycle is its version (strong, e.g. `"7"`): every change to a cycle bumps it, so a
client that read version 7 and sends `If-Match: "7"` gets 412 if anyone changed the cycle since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from cycle_engine.api.auth import Principal, stage_levels, visible_cycle
from cycle_engine.api.deps import CurrentKey, EngineDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import ActionNotAllowed, TransitionNotAllowed
from cycle_engine.store.tables import CycleRecord

ACTING_LEVELS = frozenset({"lead", "active"})
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=100, description="The cycle's ETag from a GET.")
]


def etag_of(cycle: CycleRecord) -> str:
    return f'"{cycle.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version named by an If-Match header (`"7"`), None when absent or `*`.

    Raises:
        ApiProblem: 412 when the header names no version this API ever sent.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    if tag.startswith("W/"):
        raise ApiProblem(412, "If-Match needs the strong ETag from a GET (weak tags never match)")
    tag = tag.strip('"')
    if not tag.isdigit() or len(tag) > 12:
        raise ApiProblem(412, f"If-Match {if_match!r} is not an ETag of this cycle")
    return int(tag)


def check_if_match(cycle: CycleRecord, if_match: str | None) -> None:
    """412 when If-Match names another version than the cycle's current one."""
    expected = expected_version(if_match)
    if expected is not None and expected != cycle.version:
        problem = ApiProblem(
            412,
            f"the cycle is at version {cycle.version}, not {expected}; "
            "read it again before changing it",
            expected_version=expected,
            current_version=cycle.version,
        )
        problem.headers["ETag"] = etag_of(cycle)
        raise problem


def blocked_for_partner(session: Session, principal: Principal, cycle: CycleRecord) -> str | None:
    """Why a partner key may not act on the cycle's current stage, or None when it may."""
    if principal.role != "partner":
        return None
    assert cycle.id is not None
    if cycle.current_stage_id is None:
        return None
    if stage_levels(session, principal, cycle.id, cycle.state) & ACTING_LEVELS:
        return None
    return (
        f"organisation {principal.organisation_id} does not take part in stage "
        f"{cycle.state!r} (lead or active)"
    )


def require_partner_stage(
    session: Session,
    principal: Principal,
    cycle: CycleRecord,
    trigger: str,
) -> None:
    """Raise TransitionNotAllowed (409) when a partner's organisation is not on the stage."""
    reason = blocked_for_partner(session, principal, cycle)
    if reason is not None:
        raise TransitionNotAllowed(trigger, cycle.state, [reason], [])


def prepare_cycle_command(
    engine: CycleEngine,
    principal: Principal,
    cycle_id: int,
    if_match: str | None,
    action: str,
    *,
    partner_acts: bool = True,
) -> CycleRecord:
    """Reach (404), role (403: managers read, they fire only the triggers templates give
    them), If-Match (412) and, for partners, stage participation (409) checks.

    `partner_acts=False` refuses partner keys outright (403) for organiser-only commands.
    """
    with engine.db.read_session() as session:
        cycle = visible_cycle(session, principal, cycle_id)
        if principal.role == "manager":
            raise ApiProblem(403, f"a manager key may not {action}", role=principal.role)
        check_if_match(cycle, if_match)
        if principal.role == "partner":
            if not partner_acts:
                raise ApiProblem(403, f"a partner key may not {action}", role=principal.role)
            reason = blocked_for_partner(session, principal, cycle)
            if reason is not None:
                raise ActionNotAllowed(action, reason)
    return cycle


@dataclass(frozen=True, kw_only=True)
class CycleCommands:
    """A request's way to run commands on a cycle: the engine, the caller, and the headers that
    make a command conditional (If-Match) and safe to repeat (Idempotency-Key)."""

    engine: CycleEngine
    key: Principal
    if_match: str | None
    idempotency_key: str | None

    def run(
        self,
        cycle_id: int,
        *,
        payload: BaseModel | None,
        action: str,
        command: Callable[[], BaseModel],
        status: int = 201,
        partner_acts: bool = True,
    ) -> JSONResponse:
        """Run one command on a cycle with every check, once per Idempotency-Key; the answer
        carries the cycle's new ETag."""
        prepare_cycle_command(
            self.engine, self.key, cycle_id, self.if_match, action, partner_acts=partner_acts
        )
        response = run_once(
            self.engine,
            self.key,
            self.idempotency_key,
            fingerprint("POST", f"/cycles/{cycle_id}/{action}", payload),
            status,
            command,
        )
        response.headers["ETag"] = etag_of(self.engine.get_cycle(cycle_id))
        return response


def cycle_commands(
    engine: EngineDep,
    key: CurrentKey,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> CycleCommands:
    return CycleCommands(engine=engine, key=key, if_match=if_match, idempotency_key=idempotency_key)


CycleCommandsDep = Annotated[CycleCommands, Depends(cycle_commands)]
