"""Schemathesis hooks for tests/api/test_api_schemathesis.py (loaded by the CLI through
`SCHEMATHESIS_HOOKS`): a client sends a fresh Idempotency-Key with every new request, as real
clients do; reusing one for a different request is refused by design (422)."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    for headers in (case.headers or {}, kwargs.get("headers") or {}):
        for name in list(headers):
            if name.lower() == "idempotency-key":
                headers[name] = uuid.uuid4().hex
