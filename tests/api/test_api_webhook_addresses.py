"""Webhooks reach public addresses only (`cycle_engine.outbox.addresses`): a URL naming a
loopback, private, link-local, multicast or reserved address, in any spelling, or carrying
credentials, or not http(s), or too long, is refused when stored (POST and PATCH answer 422 and
store nothing), and a name that resolves to such an address is refused when sent. The
allowlist (`CYCLE_ENGINE_WEBHOOK_ALLOW`) lets a deployment name its internal receivers."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from typing import Any

import pytest

from cycle_engine import CycleEngine
from cycle_engine.api import Settings
from cycle_engine.errors import InvalidInput
from cycle_engine.notifications.delivery import OutboxSender
from cycle_engine.notifications.webhooks import WebhookChannel
from cycle_engine.outbox.addresses import (
    MAX_URL_LENGTH,
    PUBLIC_ONLY,
    AddressPolicy,
    AddressRefused,
    literal_address,
)
from cycle_engine.store.tables.outbox import WEBHOOK
from tests.api.conftest import COORDINATOR, SECRET, World
from tests.notifications.webhook_receiver import running_receiver

#: The URLs the issue saw accepted with 201, and their relatives in other encodings.
REFUSED = [
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:5432/",
    "http://localhost:22/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://2130706433:5432/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::10.0.0.1]/",
    "http://[2002:a00:1::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://224.0.0.251/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.10/",
    "http://metadata/",
    "http://printer.local/",
    "http://db.internal/",
    "http://user:secret@hooks.example.org/",
    "http://user@hooks.example.org/",
    "ftp://hooks.example.org/",
    "file:///etc/passwd",
    "gopher://hooks.example.org/",
    "https://hooks.example.org/" + "a" * MAX_URL_LENGTH,
    "http://hooks example.org/",
    "http://1.2.3.4.5/",
]
ACCEPTED = [
    "https://hooks.example.org/cycle-engine",
    "http://receiver.example.com:8080/in?alliance=1",
    "https://8.8.8.8/hook",
    "https://[2001:4860:4860::8888]/hook",
    "https://xn--bcher-kva.example/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_stored_url_must_reach_a_public_address(url: str) -> None:
    """Every refused form of an internal address or a bad URL raises AddressRefused (422)."""
    with pytest.raises(AddressRefused) as refused:
        PUBLIC_ONLY.check_url(url)
    assert refused.value.field == "url"


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_urls_are_stored(url: str) -> None:
    """Public names and addresses pass the stored-URL check unchanged."""
    assert PUBLIC_ONLY.check_url(url) == url


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("example.org", None),
    ],
)
def test_addresses_are_read_in_every_encoding(host: str, address: str | None) -> None:
    """Hosts are read as resolvers read them: decimal, octal and hex parts, short forms."""
    found = literal_address(host)
    assert (str(found) if found else None) == address


def test_allowlist_lets_named_internal_receivers_in() -> None:
    """Allowed host names and networks pass; everything else internal is still refused."""
    policy = AddressPolicy.from_setting(" hooks.intranet , 10.20.0.0/16, ::1,127.0.0.1 ")
    for url in (
        "http://hooks.intranet/in",
        "http://10.20.3.4:8080/",
        "http://[::1]:9/",
        "http://127.0.0.1:9/hooks",
        "http://2130706433:9/",
    ):
        assert policy.check_url(url) == url
    for url in ("http://10.21.0.1/", "http://169.254.169.254/", "http://localhost/"):
        with pytest.raises(AddressRefused):
            policy.check_url(url)
    with pytest.raises(AddressRefused):
        policy.check_url("http://user:pw@hooks.intranet/")  # credentials: never
    with pytest.raises(InvalidInput) as bad:
        AddressPolicy.from_setting("hooks.intranet, not a host!")
    assert bad.value.field == "CYCLE_ENGINE_WEBHOOK_ALLOW"


def test_settings_read_the_allowlist_once_and_refuse_a_bad_one() -> None:
    """CYCLE_ENGINE_WEBHOOK_ALLOW becomes the app's address policy; a bad entry stops start-up."""
    env = {"CYCLE_ENGINE_SECRET_KEY": SECRET, "CYCLE_ENGINE_WEBHOOK_ALLOW": "127.0.0.1"}
    settings = Settings.from_env(env)
    assert settings.webhook_addresses.check_url("http://127.0.0.1:9/")
    assert Settings.from_env({"CYCLE_ENGINE_SECRET_KEY": SECRET}).webhook_addresses == PUBLIC_ONLY
    with pytest.raises(InvalidInput):
        Settings.from_env({**env, "CYCLE_ENGINE_WEBHOOK_ALLOW": "10.0.0.0/33"})


def _dns(policy: AddressPolicy, *addresses: str) -> AddressPolicy:
    """`policy` with a resolver whose every answer is `addresses` (getaddrinfo's shape)."""
    return replace(policy, lookup=_answer(*addresses))


def _answer(*addresses: str) -> Any:
    """A lookup standing for a DNS answer with `addresses` (what getaddrinfo returns)."""

    def lookup(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return lookup


def test_names_resolving_to_internal_addresses_are_refused_when_sent() -> None:
    """At send time every address a name resolves to must be public (a name that passed when
    stored and now points inside, as in DNS rebinding, is refused)."""
    for answer in (("127.0.0.1",), ("93.184.216.34", "10.0.0.7"), ("::ffff:169.254.169.254",)):
        with pytest.raises(AddressRefused):
            _dns(PUBLIC_ONLY, *answer).resolve("https://hooks.example.org/in")
    allowed = AddressPolicy.allowing("hooks.intranet")
    target = _dns(allowed, "10.0.0.7").resolve("http://hooks.intranet/in")
    assert target.url == "http://10.0.0.7/in"


def test_requests_go_to_the_address_that_was_checked() -> None:
    """The pinned target names the checked address; Host and the TLS name keep the host name."""
    target = _dns(PUBLIC_ONLY, "93.184.216.34").resolve("https://hooks.example.org:8443/in?x=1")
    assert target.url == "https://93.184.216.34:8443/in?x=1"
    assert target.headers == {"Host": "hooks.example.org:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.org"}
    v6 = _dns(PUBLIC_ONLY, "2606:2800:220:1::1").resolve("http://hooks.example.org/in")
    assert v6.url == "http://[2606:2800:220:1::1]/in"


ISSUE_URLS = [*REFUSED[:5], "http://10.0.0.1/", "http://2130706433:5432/", *REFUSED[33:35]]


def test_api_refuses_internal_webhook_urls_on_create_and_update(
    world: World, seed_engine: CycleEngine
) -> None:
    """POST and PATCH of an internal or credential-bearing URL answer 422 naming the field and
    store nothing; the same subscription with a public URL is accepted (201, then 200)."""
    alliance = world.ids["alliance_a"]
    with world.client("coord_a") as client:
        for url in ISSUE_URLS:
            answer = client.post(
                f"/api/v1/alliances/{alliance}/webhooks",
                json={"url": url, "events": ["stage.entered"]},
            )
            assert answer.status_code == 422, (url, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        assert seed_engine.outbox.subscriptions.of_alliance(alliance) == []
        created = client.post(
            f"/api/v1/alliances/{alliance}/webhooks",
            json={"url": "https://hooks.example.org/in", "events": ["stage.entered"]},
        )
        assert created.status_code == 201, created.text
        hook = created.json()["id"]
        for url in ISSUE_URLS:
            answer = client.patch(f"/api/v1/webhooks/{hook}", json={"url": url})
            assert answer.status_code == 422, (url, answer.text)
        moved = client.patch(f"/api/v1/webhooks/{hook}", json={"url": "https://x.example.org/"})
        assert moved.status_code == 200, moved.text
    assert [s.url for s in seed_engine.outbox.subscriptions.of_alliance(alliance)] == [
        "https://x.example.org/"
    ]


def _send_webhooks(engine: CycleEngine, addresses: AddressPolicy) -> dict[str, int]:
    """One pass of the outbox sender with only the webhook channel, under `addresses`."""

    async def run() -> dict[str, int]:
        channel = WebhookChannel(engine.db, addresses=addresses)
        sender = OutboxSender(engine.db, engine.clock, {WEBHOOK: channel})
        try:
            return (await sender.run_until_idle()).outcomes
        finally:
            await sender.close()

    return asyncio.run(run())


def test_sender_checks_the_resolved_address_before_each_post(
    world: World, seed_engine: CycleEngine
) -> None:
    """A public name stored for a subscription that now resolves to loopback is refused when
    sent: the delivery fails for good and the receiver gets nothing. A deployment that allows
    the name delivers the next one, to the checked address, with the name as Host."""
    with running_receiver() as receiver:
        port = receiver.server_address[1]
        url = f"http://hooks.example.org:{port}/hooks"
        seed_engine.outbox.subscriptions.subscribe(
            world.ids["alliance_a"], url, ["stage.entered"], created_by="test"
        )
        seed_engine.fire(world.ids["cycle_a"], "questions_agreed", actor=COORDINATOR)
        assert _send_webhooks(seed_engine, _dns(PUBLIC_ONLY, "127.0.0.1")) == {"failed": 1}
        assert receiver.received == []
        [row] = seed_engine.outbox.messages(channel=WEBHOOK)
        assert row.last_error is not None and "loopback" in row.last_error
        seed_engine.start_cycle(
            "learning-cycle", "Seed systems", alliance_id=world.ids["alliance_a"], questions=["?"]
        )
        allowed = _dns(AddressPolicy.allowing("hooks.example.org"), "127.0.0.1")
        assert _send_webhooks(seed_engine, allowed) == {"delivered": 1}
        [(headers, _)] = receiver.received
        assert headers["host"] == f"hooks.example.org:{port}"
