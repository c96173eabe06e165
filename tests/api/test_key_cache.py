"""The API's key cache (`api.access.KeyCache`): a checked key answers from memory until its
check runs out on the engine's clock; a key revoked elsewhere is refused once it has; a revoke
in this process (`forget`) is at once; unknown tokens are never remembered (issue 16: every
request read its key from the database)."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.api.access import KeyCache
from cycle_engine.testing import ManualClock

LIFETIME = timedelta(seconds=5)


def test_a_checked_key_is_trusted_until_its_check_runs_out(
    engine: CycleEngine, clock: ManualClock
) -> None:
    """Cached for LIFETIME; revoked through another path, it is refused at the next check."""
    created = engine.alliances.credentials.create_key(name="ops", role="admin")
    cache = KeyCache(engine, LIFETIME)
    assert cache.cached(created.token) is None
    checked = cache.check(created.token)
    assert checked is not None and checked.access.is_admin
    assert checked.prefix == created.record.prefix
    assert cache.cached(created.token) == checked
    engine.alliances.credentials.revoke_key(created.record.prefix)
    clock.advance(LIFETIME - timedelta(seconds=1))
    assert cache.cached(created.token) == checked  # bounded staleness, by design
    clock.advance(timedelta(seconds=1))
    assert cache.cached(created.token) is None
    assert cache.check(created.token) is None


def test_forget_refuses_at_once_and_unknown_tokens_are_not_kept(engine: CycleEngine) -> None:
    """`forget` empties the cache; a token that does not check out leaves nothing behind, and
    a token differing from a cached one in its secret part is not taken for it."""
    created = engine.alliances.credentials.create_key(name="ops", role="admin")
    cache = KeyCache(engine, LIFETIME)
    assert cache.check(created.token) is not None
    cache.forget()
    assert cache.cached(created.token) is None
    assert cache.check(created.token) is not None
    forged = created.token[:-4] + ("AAAA" if not created.token.endswith("AAAA") else "BBBB")
    assert cache.cached(forged) is None and cache.check(forged) is None
    assert cache.cached(forged) is None


def test_lifetime_zero_reads_every_time(engine: CycleEngine) -> None:
    """KEY_CACHE_SECONDS=0: nothing is kept."""
    created = engine.alliances.credentials.create_key(name="ops", role="admin")
    cache = KeyCache(engine, timedelta(0))
    assert cache.check(created.token) is not None
    assert cache.cached(created.token) is None
