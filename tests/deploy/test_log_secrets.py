"""No secret reaches a log line. A full run of real processes (serve with debug logging, a worker,
a sender with a real SMTP server and webhook receiver) uses an API key (in the header, and
pasted into a query string by mistake), a dashboard sign-in link, the action, preferences,
unsubscribe and calendar links of a delivered email, and a webhook subscription whose secret
signs a delivery; then every log line of every process is searched for every one of those
secrets, and each line is one JSON event."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.testing import WorldBuilder
from tests.notifications.webhook_receiver import running_receiver

from .processes import (
    METRICS_TOKEN,
    SECRET,
    Process,
    free_port,
    settings_env,
    smtp_env,
    smtp_server,
    start,
    start_serve,
    wait_until,
)

pytestmark = pytest.mark.process
LINK = re.compile(r"https?://[^\s\"'<>]+")


def seed(url: str) -> dict[str, object]:
    with CycleEngine(url) as engine:
        engine.publish_builtin_templates()
        build = WorldBuilder(engine, actor=Actor(name="cora", role="coordinator"))
        build.alliance(
            "alliance",
            "Secrets alliance",
            "Seeds",
            working_hours_start=0,
            working_hours_end=24,
            weekend_days="",
        )
        build.organisation(
            "research", "Research Centre", "research", "Peru", member_of=["alliance"]
        )
        build.person(
            "ana", "Ana", "ana@research.example.org", "research", roles={"alliance": "coordinator"}
        )
        build.cycle("cycle", "learning-cycle", "Seed systems", "alliance", questions=["Which?"])
        build.role("cycle", "question_workshop", "research", "lead", focal_point="ana")
        token = build.key("admin", "admin")
    return {"token": token, **build.ids}


def email_text(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()) + str(message.get("List-Unsubscribe", ""))


def test_a_full_run_logs_no_secret(sqlite_url: str, tmp_path: Path) -> None:
    """Every secret the run used is absent from every process's log."""
    world = seed(sqlite_url)
    token = str(world["token"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secrets: set[str] = {SECRET, METRICS_TOKEN, token, token.split("_", 2)[2]}
    processes: list[Process] = []
    with smtp_server() as (smtp, smtp_port), running_receiver() as receiver:
        env = settings_env(
            sqlite_url,
            tmp_path / "data",
            CYCLE_ENGINE_BASE_URL=base,
            CYCLE_ENGINE_WEBHOOK_ALLOW="127.0.0.1",
            **smtp_env(smtp_port),
        )
        try:
            serve = start_serve("serve", env, tmp_path, "--log-level", "debug", port=port)
            processes.append(serve)
            processes.append(start("worker", ["worker", "--interval", "0.5"], env, tmp_path))
            processes.append(
                start("sender", ["mail", "send", "--forever", "--interval", "0.2"], env, tmp_path)
            )
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
            with api:
                assert api.get("/api/v1/cycles").status_code == 200
                assert httpx.get(f"{base}/api/v1/cycles?api_key={token}").status_code == 401
                created = api.post(
                    f"/api/v1/alliances/{world['alliance']}/webhooks",
                    json={"url": receiver.url, "events": ["stage.entered"]},
                )
                assert created.status_code == 201, created.text
                secrets.add(created.json()["secret"])

                wait_until(lambda: smtp.received, 30, "the kickoff email")
                text = email_text(next(iter(smtp.bodies.values())))
                for link in LINK.findall(text):
                    query = parse_qs(urlsplit(link).query)
                    secrets.update(v for values in query.values() for v in values if len(v) > 16)
                    if "/email/calendar/" in link:
                        secrets.add(urlsplit(link).path.rsplit("/", 1)[1].removesuffix(".ics"))
                    assert httpx.get(link.rstrip(">")).status_code in (200, 404)
                action = next(link for link in LINK.findall(text) if "/email/actions/" in link)
                form = {"t": parse_qs(urlsplit(action).query)["t"][0]}
                done = httpx.post(action.split("?")[0], data=form)
                assert done.status_code == 200

                signin = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "cycle_engine",
                        "signin-link",
                        "ana@research.example.org",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                )
                assert signin.returncode == 0, signin.stderr
                link = LINK.findall(signin.stdout)[-1]
                signin_token = parse_qs(urlsplit(link).query)["token"][0]
                secrets.add(signin_token)
                assert httpx.get(link).status_code == 200
                dashboard = httpx.Client(base_url=base)
                with dashboard:
                    page = dashboard.get(link)
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
                    fields = {"token": signin_token, **({"csrf": csrf.group(1)} if csrf else {})}
                    dashboard.post("/dashboard/signin/confirm", data=fields)

                fired = api.post(
                    f"/api/v1/cycles/{world['cycle']}/transitions",
                    json={"trigger": "questions_agreed", "note": "agreed"},
                )
                assert fired.status_code == 201, fired.text
                wait_until(lambda: receiver.received, 30, "the signed webhook delivery")
        finally:
            for process in processes:
                process.stop()
    logs = {process.name: process.output() for process in processes}
    logs["signin-link"] = signin.stderr
    # the secret key, the metrics token, the API key and its secret part, the webhook secret,
    # the email's one token (it carries every action of the email), its calendar token, and
    # the sign-in token
    assert len(secrets) >= 7, secrets
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"{name} logged a secret ({secret[:6]}...)"
    events = [line for line in logs["serve"].splitlines() if line.startswith("{")]
    assert events and all(json.loads(line)["message"] for line in events)
    assert any(json.loads(line).get("request_id") for line in events)
    assert not [
        line
        for line in logs["serve"].splitlines()
        if line and not line.startswith("{") and not line.startswith("Cycle Engine:")
    ]
