"""Who owns a template, who may see it and who may change it.

    built-in   `alliance_id` NULL: every alliance sees it; only an administrator (or the engine
               itself) publishes, changes or retires it
    owned      one alliance's: the callers who reach that alliance see it (its coordinators,
               managers and member organisations); only its coordinators change it

Anything out of the caller's reach is not found, exactly as a key that does not exist: another
alliance's template answers 404, never 403. A caller who sees the template but may not change it
(a manager, a partner) gets `NotPermitted` (403). `reach` None is the engine itself: it sees and
may do everything, as the library and the CLI do.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach, sees_alliance
from cycle_engine.errors import InvalidInput, NotPermitted, TemplateNotFound
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.store.tables.alliances import AllianceRecord

#: Roles that may publish, copy into or retire an alliance's templates.
CHANGERS = frozenset({"system", "admin", "coordinator"})
#: Roles that may change the built-in templates.
ADMINS = frozenset({"system", "admin"})


def visible(reach: Reach | None) -> ColumnElement[bool]:
    """A condition on `TemplateRecord`: built-in templates and those of alliances in reach."""
    if reach is None or reach.everything:
        return true()
    alliances = select(AllianceRecord.id).where(reach.alliances())
    return or_(
        col(TemplateRecord.alliance_id).is_(None), col(TemplateRecord.alliance_id).in_(alliances)
    )


def sees_owner(session: Session, reach: Reach | None, alliance_id: int | None) -> bool:
    """Whether a template owned by `alliance_id` (None: built-in) is in reach."""
    if alliance_id is None or reach is None:
        return True
    return sees_alliance(session, reach, alliance_id)


def require_changer(
    session: Session, actor: Actor, reach: Reach | None, alliance_id: int | None, action: str
) -> None:
    """Refuse `action` on the templates of `alliance_id` (None: the built-in ones).

    Raises:
        TemplateNotFound: the alliance is out of reach (as for a template that does not exist).
        NotPermitted: the caller sees it but is no coordinator of it (or, for a built-in
            template, no administrator).
    """
    if alliance_id is None:
        if actor.role not in ADMINS or (reach is not None and not reach.everything):
            raise NotPermitted(
                action,
                "only an administrator changes the built-in templates every alliance shares; "
                "copy one into your alliance to change it there",
            )
        return
    if not sees_owner(session, reach, alliance_id):
        raise TemplateNotFound(f"of alliance {alliance_id}")
    if actor.role not in CHANGERS or (reach is not None and not reach.manages(alliance_id)):
        raise NotPermitted(
            action,
            f"only a coordinator of alliance {alliance_id} changes its templates "
            f"(you: {actor.role})",
        )


def find(
    session: Session,
    key: str,
    version: int | None,
    *,
    alliance_id: int | None,
    reach: Reach | None,
) -> TemplateRecord:
    """The version of `key` the caller means (latest when `version` is None).

    With `alliance_id`, among the built-in templates and that alliance's; without, among every
    template in reach, which must then be one owner's (a key two alliances use needs the
    alliance named).

    Raises:
        TemplateNotFound: no such template in reach (another alliance's is not found either).
        InvalidInput: `version` below 1, or the key is several alliances' and none was named.
    """
    if version is not None and version < 1:
        raise InvalidInput("version", f"must be 1 or more, got {version}")
    missing = TemplateNotFound(key if version is None else f"{key}@{version}")
    if alliance_id is not None:
        if not sees_owner(session, reach, alliance_id):
            raise missing
        condition = or_(
            col(TemplateRecord.alliance_id).is_(None),
            col(TemplateRecord.alliance_id) == alliance_id,
        )
    else:
        condition = visible(reach)
    query = select(TemplateRecord).where(TemplateRecord.key == key, condition)
    if version is not None:
        query = query.where(TemplateRecord.version == version)
    records = list(session.exec(query.order_by(col(TemplateRecord.version).desc())))
    owners = sorted({r.alliance_id for r in records}, key=lambda owner: owner or 0)
    if len(owners) > 1:
        if None in owners:  # a built-in key wins where an alliance's collides (never published)
            records = [r for r in records if r.alliance_id is None]
        else:
            names = ", ".join(str(owner) for owner in owners)
            raise InvalidInput(
                "alliance_id",
                f"alliances {names} each have a template {key!r}; name the alliance you mean",
            )
    if not records:
        raise missing
    return records[0]
