"""Partners choose their level: an organisation proposes whether it leads, takes an active part
in, or is informed of a stage; the coordinator confirms the proposal or changes the level, and
the participation row follows the decision.

The history keeps both sides: the proposal row (who proposed what, when) with its decision
(confirmed, changed to which level, or declined, by whom), and a `level_proposed` and a
`level_decided` event on the cycle. A newer proposal for the same stage and organisation
withdraws an earlier one still waiting.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from cycle_engine.alliances import participation
from cycle_engine.alliances.common import (
    CycleOp,
    member_organisation,
    require_choice,
    require_organiser,
    require_work_stage,
)
from cycle_engine.alliances.participation import finished_stages
from cycle_engine.errors import ActionNotAllowed, RecordNotFound
from cycle_engine.store.tables.alliances import LEVELS, ParticipationRecord
from cycle_engine.store.tables.learning import LevelProposalRecord

PROPOSED = "proposed"


def propose_level(
    op: CycleOp,
    *,
    stage: str,
    organisation_id: int,
    level: str,
    note: str | None = None,
    source: str = "partner",
) -> LevelProposalRecord:
    """Propose `organisation_id`'s level on `stage` (a work stage not yet finished); `source`
    says where it came from ("partner": the API or the dashboard; "email": a signed link).

    Raises InvalidInput (unknown level, stage or non-member), ActionNotAllowed (finished stage
    or cycle).
    """
    op.require_active("propose a level")
    require_work_stage(op.spec, stage)
    require_choice("level", level, LEVELS)
    organisation = member_organisation(op.session, op.alliance(), organisation_id, "organisation")
    if stage in finished_stages(op.spec, op.cycle):
        raise ActionNotAllowed(
            f"propose a level for {organisation.name!r} on {stage!r}", "the stage is finished"
        )
    for waiting in _waiting(op.session, op.cycle_id, stage, organisation_id):
        waiting.status = "withdrawn"
        waiting.decided_at, waiting.decided_by = op.now, op.actor.name
        waiting.decision_note = "a newer proposal replaced it"
        op.session.add(waiting)
    proposal = LevelProposalRecord(
        cycle_id=op.cycle_id,
        stage=stage,
        organisation_id=organisation_id,
        level=level,
        status=PROPOSED,
        source=source,
        proposed_at=op.now,
        proposed_by=op.actor.name,
        decision_note=None,
    )
    op.session.add(proposal)
    op.session.flush()
    op.emit(
        "level_proposed",
        {
            "proposal_id": proposal.id,
            "stage": stage,
            "organisation_id": organisation_id,
            "organisation": organisation.name,
            "level": level,
            "source": source,
        },
        note=note,
    )
    return proposal


def decide_proposal(
    op: CycleOp,
    *,
    proposal_id: int,
    level: str | None = None,
    decline: bool = False,
    note: str | None = None,
) -> LevelProposalRecord:
    """The coordinator's decision: confirm (`level` None or the proposed one), change it to
    another `level`, or `decline`. Confirming or changing assigns the level, keeping the focal
    point and deputy the organisation already has on the stage.

    Raises RecordNotFound, ActionNotAllowed (already decided; not a coordinator).
    """
    require_organiser(op.actor, "decide a level proposal")
    proposal = op.session.get(LevelProposalRecord, proposal_id)
    if proposal is None or proposal.cycle_id != op.cycle_id:
        raise RecordNotFound("level proposal", f"{proposal_id} of cycle {op.cycle_id}")
    if proposal.status != PROPOSED:
        raise ActionNotAllowed(
            f"decide level proposal {proposal_id}", f"it is already {proposal.status}"
        )
    if decline:
        proposal.status, decided = "declined", None
    else:
        decided = level or proposal.level
        require_choice("level", decided, LEVELS)
        proposal.status = "confirmed" if decided == proposal.level else "changed"
        current = op.session.exec(
            select(ParticipationRecord).where(
                ParticipationRecord.cycle_id == op.cycle_id,
                ParticipationRecord.stage == proposal.stage,
                ParticipationRecord.organisation_id == proposal.organisation_id,
            )
        ).first()
        participation.assign(
            op,
            stage=proposal.stage,
            organisation_id=proposal.organisation_id,
            level=decided,
            focal_point_id=None if current is None else current.focal_point_id,
            deputy_id=None if current is None else current.deputy_id,
        )
    proposal.decided_level = decided
    proposal.decided_at, proposal.decided_by = op.now, op.actor.name
    proposal.decision_note = note
    op.session.add(proposal)
    op.session.flush()
    op.emit(
        "level_decided",
        {
            "proposal_id": proposal_id,
            "stage": proposal.stage,
            "organisation_id": proposal.organisation_id,
            "proposed": proposal.level,
            "decision": proposal.status,
            "level": decided,
        },
        note=note,
    )
    return proposal


def _waiting(
    session: Session, cycle_id: int, stage: str, organisation_id: int
) -> list[LevelProposalRecord]:
    return list(
        session.exec(
            select(LevelProposalRecord).where(
                LevelProposalRecord.cycle_id == cycle_id,
                LevelProposalRecord.stage == stage,
                LevelProposalRecord.organisation_id == organisation_id,
                LevelProposalRecord.status == PROPOSED,
            )
        )
    )


def proposals_of(session: Session, cycle_id: int) -> list[LevelProposalRecord]:
    """Every proposal on the cycle, oldest first (decided ones too: the history)."""
    return list(
        session.exec(
            select(LevelProposalRecord)
            .where(LevelProposalRecord.cycle_id == cycle_id)
            .order_by(col(LevelProposalRecord.id))
        )
    )
