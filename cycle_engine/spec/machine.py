"""Template spec -> `transitions.Machine`, one per template version, shared by every cycle on it.

No machine object lives per cycle: a fire puts the cycle's state on a tiny throwaway model and
asks the shared machine's event to move it, so transitions' own semantics (ordered candidate
transitions, conditions, final states) decide. Guards are explained by the same functions that
decide them, giving `available_triggers` its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from transitions import EventData, Machine

from cycle_engine.spec.guards import GuardContext, GuardRegistry
from cycle_engine.spec.specs import PREVIOUS, TemplateSpec, TransitionSpec

ALL_POWERFUL_ROLES = frozenset({"system", "admin"})


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One concrete transition the machine may take for a trigger (after `@previous` expansion)."""

    spec: TransitionSpec
    source: str
    dest: str


@dataclass(frozen=True, kw_only=True)
class TriggerOption:
    """A trigger from the cycle's stage: where it leads and, when blocked, why."""

    trigger: str
    dest: str
    allowed: bool
    reasons: tuple[str, ...]
    roles: tuple[str, ...]
    description: str = ""


class _StateHolder:
    """The throwaway model transitions moves; carries only the state name."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CycleMachine:
    """The compiled state machine of one template version."""

    def __init__(self, spec: TemplateSpec, guards: GuardRegistry) -> None:
        self.spec = spec
        self._guards = guards
        self._candidates: dict[tuple[str, str], list[Candidate]] = {}
        self.machine = Machine(
            model=None,
            states=[{"name": s.key, "final": s.final} for s in spec.stages],
            initial=spec.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for candidate in self._expand(spec):
            self._candidates.setdefault((candidate.source, candidate.spec.trigger), []).append(
                candidate
            )
            self.machine.add_transition(
                candidate.spec.trigger,
                candidate.source,
                candidate.dest,
                conditions=[partial(self._passes, candidate)],
            )

    @staticmethod
    def _expand(spec: TemplateSpec) -> list[Candidate]:
        """Concrete transitions; `@previous` becomes one transition per stage it may return to."""
        returnable = [s.key for s in spec.work_stages]
        result: list[Candidate] = []
        for transition in spec.transitions:
            for source in transition.sources:
                if transition.dest == PREVIOUS:
                    result.extend(
                        Candidate(spec=transition, source=source, dest=dest) for dest in returnable
                    )
                else:
                    result.append(Candidate(spec=transition, source=source, dest=transition.dest))
        return result

    def _passes(self, candidate: Candidate, event: EventData) -> bool:
        ctx: GuardContext = event.kwargs["ctx"]
        return not self.blocking_reasons(candidate, ctx)

    def blocking_reasons(self, candidate: Candidate, ctx: GuardContext) -> list[str]:
        """Every reason `candidate` cannot be taken now (empty when it can)."""
        if candidate.spec.dest == PREVIOUS and ctx.cycle.resume_state != candidate.dest:
            return [f"the cycle returns to {ctx.cycle.resume_state!r}, not {candidate.dest!r}"]
        reasons: list[str] = []
        for guard in candidate.spec.guards:
            reasons.extend(self._guards[guard.name].check(ctx, guard.arg))
        return reasons

    def candidates(self, state: str, trigger: str) -> list[Candidate]:
        return self._candidates.get((state, trigger), [])

    def triggers_from(self, state: str) -> list[str]:
        return [t for t in self.spec.triggers() if (state, t) in self._candidates]

    def options(self, ctx: GuardContext, role_reasons: dict[str, list[str]]) -> list[TriggerOption]:
        """Every trigger from the cycle's stage with allowed/blocked and the reasons.

        `role_reasons` maps a trigger to reasons the caller's role blocks it (computed by the
        engine, which knows the actor).
        """
        options: list[TriggerOption] = []
        for trigger in self.triggers_from(ctx.cycle.state):
            options.append(self._option(ctx, trigger, role_reasons.get(trigger, [])))
        return options

    def _option(self, ctx: GuardContext, trigger: str, role_block: list[str]) -> TriggerOption:
        candidates = self.candidates(ctx.cycle.state, trigger)
        reasons_by_candidate = [(c, self.blocking_reasons(c, ctx)) for c in candidates]
        # the candidate transitions would pick: the first that passes, else the most relevant
        relevant = [(c, r) for c, r in reasons_by_candidate if not _is_wrong_return(c, ctx)]
        chosen, reasons = next(
            ((c, r) for c, r in relevant if not r),
            relevant[0] if relevant else reasons_by_candidate[0],
        )
        all_reasons = tuple([*role_block, *reasons])
        return TriggerOption(
            trigger=trigger,
            dest=chosen.dest,
            allowed=not all_reasons,
            reasons=all_reasons,
            roles=chosen.spec.roles,
            description=chosen.spec.description,
        )

    def fire(self, state: str, trigger: str, ctx: GuardContext) -> str | None:
        """Run `trigger` through transitions: the new state, or None when every candidate
        transition's guards blocked it (each candidate's guards run once, in order)."""
        holder = _StateHolder(state)
        moved = self.machine.events[trigger].trigger(holder, ctx=ctx)
        return holder.state if moved else None


def _is_wrong_return(candidate: Candidate, ctx: GuardContext) -> bool:
    return candidate.spec.dest == PREVIOUS and ctx.cycle.resume_state != candidate.dest


def role_allows(role: str, allowed_roles: tuple[str, ...], extra_roles: frozenset[str]) -> bool:
    """Whether an actor with `role` (plus roles derived from participation) may fire."""
    if role in ALL_POWERFUL_ROLES or not allowed_roles:
        return True
    return role in allowed_roles or bool(extra_roles.intersection(allowed_roles))
