"""The real app over HTTP: uvicorn serves it from a background thread on 127.0.0.1 (a free
port), against the `db_url` fixture's database, and tests talk to it with httpx.

`world` seeds two alliances, three organisations, one cycle per alliance and a key for every
role, so access tests can try each route with a key that must not reach the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.api import Settings, create_app
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.servers import LoopbackServer

SECRET = "test-secret-key-that-is-long-enough-0123456789"
COORDINATOR = Actor(name="seed", role="coordinator")


class ServerThread(LoopbackServer):
    """uvicorn serving `app` on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(lambda _url: app)

    def __enter__(self) -> ServerThread:
        super().__enter__()
        return self


def api_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "secret_key": SECRET,
        "run_worker": False,
        "run_sender": False,
        "data_dir": str(tmp_path / "data"),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def api_server(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[ServerThread]:
    """The app served over HTTP on loopback (no background worker or sender)."""
    with ServerThread(create_app(api_settings(db_url, tmp_path), clock=clock)) as server:
        yield server


@pytest.fixture
def seed_engine(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[CycleEngine]:
    """A second engine on the server's database, for seeding and checking rows directly."""
    with CycleEngine(db_url, clock=clock, data_dir=tmp_path / "data") as engine:
        engine.publish_builtin_templates()
        yield engine


@dataclass
class World:
    """Two alliances (A, B); organisations o1, o2 in A and o3 in B; a cycle in each; keys."""

    url: str
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def world(api_server: ServerThread, seed_engine: CycleEngine) -> World:
    build = WorldBuilder(seed_engine, actor=COORDINATOR)
    build.alliance("alliance_a", "Rural enterprise", "Market access")
    build.alliance("alliance_b", "Water", "Irrigation")
    build.organisation("o1", "CIAT", "research", "Colombia", member_of=["alliance_a"])
    build.organisation("o2", "FUNDAR", "ngo", "Nicaragua", member_of=["alliance_a"])
    build.organisation("o3", "AgroB", "private", "Peru", member_of=["alliance_b"])
    build.person("p1", "Ana", "ana@ciat.example", "o1")
    build.person("p3", "Luis", "luis@agrob.example", "o3")
    build.cycle(
        "cycle_a",
        "learning-cycle",
        "Market access for smallholders",
        "alliance_a",
        questions=["Which market channels work?"],
    )
    build.cycle(
        "cycle_b",
        "learning-cycle",
        "Drip irrigation",
        "alliance_b",
        questions=["Who maintains the pumps?"],
    )
    build.role("cycle_a", "question_workshop", "o1", "lead", focal_point="p1")
    build.role("cycle_a", "role_assignment", "o2", "informed")
    build.role("cycle_b", "question_workshop", "o3", "lead", focal_point="p3")
    build.key("admin", "admin")
    build.key("coord_a", "coordinator", alliance="alliance_a")
    build.key("manager_a", "manager", alliance="alliance_a")
    build.key("coord_b", "coordinator", alliance="alliance_b")
    build.key("partner_o1", "partner", organisation="o1")
    build.key("partner_o2", "partner", organisation="o2")
    build.key("partner_o3", "partner", organisation="o3")
    return World(url=api_server.url, ids=build.ids, tokens=build.tokens)
