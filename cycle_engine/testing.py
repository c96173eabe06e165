"""Test helpers shipped with the library so that embedders can test their own code too:
`ManualClock`, a clock that moves only when told to, and `WorldBuilder`, the alliances,
organisations, people, roles, cycles and API keys a test starts from.

`WorldBuilder` makes them through the engine's public services and names each by a short key of
your choosing:

    from cycle_engine import Actor
    from cycle_engine.testing import WorldBuilder

    engine.publish_builtin_templates()
    world = WorldBuilder(engine, actor=Actor(name="cora", role="coordinator"))
    world.alliance("alliance", "Alianza Test", "Market access", timezone="America/Guatemala")
    world.organisation("research", "Research Centre", "research", "Colombia",
                       member_of=["alliance"])
    world.organisation("farmers", "Farmers Network", "local", "Guatemala",
                       member_of=["alliance"])
    world.person("ana", "Ana Pérez", "ana@research.example.org", "research",
                 language="es", roles={"alliance": "coordinator"})
    world.cycle("market", "learning-cycle", "Market access", "alliance",
                questions=["Which market channels pay smallholders best?"])
    world.role("market", "question_workshop", "research", "lead", focal_point="ana")
    world.role("market", "question_workshop", "farmers", "informed")
    world.key("cora's key", "coordinator", alliance="alliance")

    world.ids["market"]           # the cycle's id
    world.tokens["cora's key"]    # the key's bearer token

Each method makes one thing, keeps its id in `ids` under the key given (a key names one thing:
using it twice is an error) and returns the id; `key` keeps and returns the token instead, under
the key's name. Later calls name what they refer to by those keys. Cycles and stage roles are
made by the builder's `actor`; memberships and people join on `joined_on` (the engine's today
when not given).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cycle_engine.actors import Actor

if TYPE_CHECKING:  # annotations only: importing ManualClock does not load SQLAlchemy
    from cycle_engine.engine import CycleEngine

BUILDER = Actor(name="world builder", role="coordinator")


class ManualClock:
    """A clock that only moves when told to; never sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware datetime")
        self._now = moment.astimezone(UTC)
        return self._now


class WorldBuilder:
    """Builds test data through `engine`'s public services; see the module docstring."""

    def __init__(
        self, engine: CycleEngine, *, actor: Actor = BUILDER, joined_on: date | None = None
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.joined_on = joined_on
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}

    def alliance(self, key: str, name: str, theme: str, **options: Any) -> int:
        """An alliance; `options` are `create_alliance`'s (timezone, language, working hours,
        weekend days)."""
        return self._keep(key, self.engine.alliances.create_alliance(name, theme, **options).id)

    def organisation(
        self,
        key: str,
        name: str,
        kind: str,
        country: str,
        *,
        member_of: Iterable[str] = (),
        timezone: str = "UTC",
        works_with: str | None = None,
    ) -> int:
        """An organisation, seated in each alliance of `member_of` (working with the
        organisation `works_with` there, when given)."""
        record = self.engine.alliances.add_organisation(name, kind, country, timezone=timezone)
        organisation_id = self._keep(key, record.id)
        for alliance in member_of:
            self.join(key, alliance, works_with=works_with)
        return organisation_id

    def join(self, organisation: str, alliance: str, *, works_with: str | None = None) -> None:
        """Seat an organisation made earlier in one more alliance."""
        self.engine.alliances.join_alliance(
            self[alliance],
            self[organisation],
            joined_on=self.joined_on,
            works_with_id=self._optional(works_with),
        )

    def person(
        self,
        key: str,
        name: str,
        email: str,
        organisation: str,
        *,
        language: str = "en",
        timezone: str | None = None,
        roles: Mapping[str, str] | None = None,
    ) -> int:
        """A person in `organisation` (in its time zone unless `timezone` is given), holding
        `roles`: alliance key -> "coordinator" or "manager"."""
        record = self.engine.alliances.add_person(
            name,
            email,
            self[organisation],
            joined_on=self.joined_on,
            language=language,
            timezone=timezone,
        )
        person_id = self._keep(key, record.id)
        for alliance, role in (roles or {}).items():
            self.engine.alliances.grant_role(self[alliance], person_id, role)
        return person_id

    def cycle(
        self,
        key: str,
        template: str,
        title: str,
        alliance: str | None = None,
        *,
        questions: Sequence[str] = (),
        topic: str | None = None,
    ) -> int:
        """A cycle on the latest version of `template`, in its first stage (standalone when
        `alliance` is None)."""
        record = self.engine.start_cycle(
            template,
            title,
            alliance_id=self._optional(alliance),
            actor=self.actor,
            topic=topic,
            questions=questions,
            standalone=alliance is None,
        )
        return self._keep(key, record.id)

    def role(
        self,
        cycle: str,
        stage: str,
        organisation: str,
        level: str,
        *,
        focal_point: str | None = None,
        deputy: str | None = None,
    ) -> None:
        """An organisation's part in a stage of a cycle: "lead", "active" or "informed"."""
        self.engine.work.assign(
            self[cycle],
            stage,
            self[organisation],
            level,
            focal_point_id=self._optional(focal_point),
            deputy_id=self._optional(deputy),
            actor=self.actor,
        )

    def key(
        self, name: str, role: str, *, alliance: str | None = None, organisation: str | None = None
    ) -> str:
        """An API key named `name` for `role` (admin; coordinator or manager of an alliance;
        partner of an organisation); returns its token, also kept in `tokens[name]`."""
        if name in self.tokens:
            raise ValueError(f"this world already has a key named {name!r}")
        created = self.engine.alliances.credentials.create_key(
            name=name,
            role=role,
            alliance_id=self._optional(alliance),
            organisation_id=self._optional(organisation),
        )
        self.tokens[name] = created.token
        return created.token

    def __getitem__(self, key: str) -> int:
        """The id kept under `key`."""
        try:
            return self.ids[key]
        except KeyError:
            known = ", ".join(sorted(self.ids)) or "nothing yet"
            raise KeyError(f"this world has no {key!r} (it has {known})") from None

    def _optional(self, key: str | None) -> int | None:
        return None if key is None else self[key]

    def _keep(self, key: str, ident: int | None) -> int:
        if key in self.ids:
            raise ValueError(f"this world already has {key!r}")
        if ident is None:
            raise RuntimeError(f"{key!r} was made but has no id")
        self.ids[key] = ident
        return ident
