"""The real app over HTTP: uvicorn serves it from a background thread on 127.0.0.1 (a free
port), against the `db_url` fixture's database, and tests talk to it with httpx.

`world` seeds two alliances, three organisations, one cycle per alliance and a key for every
role, so access tests can try each route with a key that must not reach the object.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.api import Settings, create_app
from cycle_engine.testing import ManualClock

SECRET = "test-secret-key-that-is-long-enough-0123456789"
COORDINATOR = Actor(name="seed", role="coordinator")


class ServerThread:
    """uvicorn serving `app` on a socket bound to a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                self.socket.close()
                raise RuntimeError("the API server failed to start")
            self.thread.join(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


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
    engine = seed_engine
    result = World(url=api_server.url)
    ids = result.ids
    ids["alliance_a"] = _id(engine.alliances.create_alliance("Rural enterprise", "Market access"))
    ids["alliance_b"] = _id(engine.alliances.create_alliance("Water", "Irrigation"))
    ids["o1"] = _id(engine.alliances.add_organisation("CIAT", "research", "Colombia"))
    ids["o2"] = _id(engine.alliances.add_organisation("FUNDAR", "ngo", "Nicaragua"))
    ids["o3"] = _id(engine.alliances.add_organisation("AgroB", "private", "Peru"))
    engine.alliances.join_alliance(ids["alliance_a"], ids["o1"])
    engine.alliances.join_alliance(ids["alliance_a"], ids["o2"])
    engine.alliances.join_alliance(ids["alliance_b"], ids["o3"])
    ids["p1"] = _id(engine.alliances.add_person("Ana", "ana@ciat.example", ids["o1"]))
    ids["p3"] = _id(engine.alliances.add_person("Luis", "luis@agrob.example", ids["o3"]))
    ids["cycle_a"] = _id(
        engine.start_cycle(
            "learning-cycle",
            "Market access for smallholders",
            alliance_id=ids["alliance_a"],
            actor=COORDINATOR,
            questions=["Which market channels work?"],
        )
    )
    ids["cycle_b"] = _id(
        engine.start_cycle(
            "learning-cycle",
            "Drip irrigation",
            alliance_id=ids["alliance_b"],
            actor=COORDINATOR,
            questions=["Who maintains the pumps?"],
        )
    )
    engine.work.assign(
        ids["cycle_a"],
        "question_workshop",
        ids["o1"],
        "lead",
        focal_point_id=ids["p1"],
        actor=COORDINATOR,
    )
    engine.work.assign(ids["cycle_a"], "role_assignment", ids["o2"], "informed", actor=COORDINATOR)
    engine.work.assign(
        ids["cycle_b"],
        "question_workshop",
        ids["o3"],
        "lead",
        focal_point_id=ids["p3"],
        actor=COORDINATOR,
    )
    keys = {
        "admin": {"role": "admin"},
        "coord_a": {"role": "coordinator", "alliance_id": ids["alliance_a"]},
        "manager_a": {"role": "manager", "alliance_id": ids["alliance_a"]},
        "coord_b": {"role": "coordinator", "alliance_id": ids["alliance_b"]},
        "partner_o1": {"role": "partner", "organisation_id": ids["o1"]},
        "partner_o2": {"role": "partner", "organisation_id": ids["o2"]},
        "partner_o3": {"role": "partner", "organisation_id": ids["o3"]},
    }
    for name, spec in keys.items():
        created = engine.alliances.credentials.create_key(name=name, **spec)  # type: ignore[arg-type]
        result.tokens[name] = created.token
    return result


def _id(record: object) -> int:
    ident = getattr(record, "id", None)
    assert isinstance(ident, int)
    return ident
