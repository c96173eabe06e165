"""Running a command on a cycle from a request: If-Match, Idempotency-Key, and the new ETag.

The ETag of a cycle is its version (strong, e.g. `"7"`): every change to a cycle bumps it. A
command sent with `If-Match: "7"` hands 7 to the engine command as `expected_version`, which the
engine compares on the locked cycle inside the command's own transaction, together with the
caller's reach and its part in the current stage (`api.access`); a stale version answers 412 and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.api.access import Access
from cycle_engine.api.deps import CurrentKey, EngineDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=16,
        pattern=r'^(\*|"?[0-9]{1,12}"?)$',
        description='The cycle\'s ETag from a GET (`"7"`), or `*`; a stale one answers 412.',
    ),
]


def etag_of(version: int) -> str:
    return f'"{version}"'


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


@dataclass(frozen=True, kw_only=True)
class CycleCommands:
    """A request's way to run commands on a cycle: the engine, the caller, and the headers that
    make a command conditional (If-Match) and safe to repeat (Idempotency-Key)."""

    engine: CycleEngine
    key: Access
    if_match: str | None
    idempotency_key: str | None

    @property
    def expected_version(self) -> int | None:
        """The version the command expects (from If-Match); 412 for a malformed header."""
        return expected_version(self.if_match)

    @property
    def reach(self) -> Reach:
        return self.key.reach

    @property
    def actor(self) -> Actor:
        return self.key.actor()

    def run(
        self,
        cycle_id: int,
        *,
        payload: BaseModel | bytes | None,
        action: str,
        command: Callable[[], BaseModel],
        status: int = 201,
    ) -> JSONResponse:
        """Run one command on a cycle, once per Idempotency-Key; the answer carries the cycle's
        new ETag. The command passes `expected_version` and `reach` to the engine, which
        decides who may run it (`alliances.reach`: managers never, partners on the stages they
        carry, organiser-only commands coordinators), exactly as for the dashboard's forms.
        """
        expected_version(self.if_match)  # a malformed If-Match is refused before anything runs
        response = run_once(
            self.engine,
            self.key,
            self.idempotency_key,
            fingerprint("POST", f"/cycles/{cycle_id}/{action}", payload),
            status,
            command,
        )
        response.headers["ETag"] = etag_of(self.engine.get_cycle(cycle_id).version)
        return response


def cycle_commands(
    engine: EngineDep,
    key: CurrentKey,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> CycleCommands:
    return CycleCommands(engine=engine, key=key, if_match=if_match, idempotency_key=idempotency_key)


CycleCommandsDep = Annotated[CycleCommands, Depends(cycle_commands)]
