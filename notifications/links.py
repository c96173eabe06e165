"""Signed, expiring links: the only credential a partner needs to act from an email.

Every action, preferences, unsubscribe and calendar link of one email carries the same token
(`LinkSigner.email_links`): one itsdangerous `URLSafeTimedSerializer` signature (salt
"cycle-engine.email") over the person, the email's kind and, per item (the email's stage, or
each stage of a digest), the cycle, the stage visit, a nonce (the outbox message it came in,
which decides single use) and the actions it offers. An action page accepts it for an action
the item offers, for ACTION_MAX_AGE; the preferences, unsubscribe and calendar pages accept it
for PERSON_MAX_AGE, for its person (and, to unsubscribe, its kind). Signing once per email
instead of once per link was most of the cost of composing one.

Links signed one per link (a salt per purpose: one per action, and one each for preferences,
unsubscribe, the calendar feed and product downloads) are still made (`person_token`, for the
pages' own links) and read, with the same ages and the same single-use keys. Signing time
comes from the engine's clock, so tests can expire a link without sleeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from cycle_engine.clock import Clock
from cycle_engine.errors import ExpiredLink, InvalidLink
from cycle_engine.outbox.commands import EMAIL_ACTIONS

ACTIONS = EMAIL_ACTIONS
ACTION_MAX_AGE = timedelta(days=30)
PERSON_MAX_AGE = timedelta(days=365)
#: The per-person pages an email's token opens (not product downloads: those sign their own).
EMAIL_PURPOSES = ("preferences", "unsubscribe", "calendar")
#: Separates an email token from the index of the digest item a link acts on (not a character
#: of URL-safe base64 or of itsdangerous's separators, and unreserved in URLs).
ITEM_MARK = "~"
_EMAIL = "email"
PERSON_PURPOSES = ("preferences", "unsubscribe", "calendar", "product")


@dataclass(frozen=True, kw_only=True)
class ActionClaim:
    """What an action link stands for."""

    action: str
    person_id: int
    cycle_id: int
    stage_visit_id: int
    nonce: str = ""

    @property
    def use_key(self) -> str:
        """Single-use key: "done" counts once per person and step; other actions once per email."""
        scope = "" if self.action == "done" else self.nonce
        return f"{self.action}:{self.person_id}:{self.cycle_id}:{self.stage_visit_id}:{scope}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.action,
            "p": self.person_id,
            "c": self.cycle_id,
            "s": self.stage_visit_id,
            "n": self.nonce,
        }


@dataclass(frozen=True, kw_only=True)
class EmailItem:
    """One stage an email is about, and the actions its links offer there."""

    cycle_id: int
    stage_visit_id: int
    nonce: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class EmailLinks:
    """Every link of one email, all carrying its one token; item `i` of a digest is named by
    `~i` after the token."""

    base_url: str
    token: str

    def action_url(self, action: str, item: int = 0) -> str:
        suffix = f"{ITEM_MARK}{item}" if item else ""
        return f"{self.base_url}/email/actions/{action}?t={self.token}{suffix}"

    @property
    def preferences_url(self) -> str:
        return f"{self.base_url}/email/preferences?t={self.token}"

    @property
    def unsubscribe_url(self) -> str:
        return f"{self.base_url}/email/unsubscribe?t={self.token}"

    @property
    def calendar_url(self) -> str:
        return f"{self.base_url}/email/calendar/{self.token}.ics"


def _claim_from(data: Any, action: str) -> ActionClaim:
    if not isinstance(data, dict) or data.get("a") != action:
        raise InvalidLink()
    try:
        return ActionClaim(
            action=action,
            person_id=int(data["p"]),
            cycle_id=int(data["c"]),
            stage_visit_id=int(data["s"]),
            nonce=str(data.get("n", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidLink() from None


class LinkSigner:
    """Makes and reads the links in emails.

    Args:
        secret_key: the application's secret (CYCLE_ENGINE_SECRET_KEY).
        base_url: where the API serves the action pages, e.g. "https://cycles.example.org".
        clock: the engine's clock (signing and expiry use it).
    """

    def __init__(
        self,
        secret_key: str,
        base_url: str,
        clock: Clock,
        *,
        action_max_age: timedelta = ACTION_MAX_AGE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.action_max_age = action_max_age
        self._secret = secret_key
        self._serializers: dict[str, URLSafeTimedSerializer] = {}
        self._person_tokens: dict[tuple[str, int, str], tuple[int, str]] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            clock = self.clock

            class ClockSigner(TimestampSigner):
                def get_timestamp(self) -> int:
                    return int(clock.now().timestamp())

            serializer = URLSafeTimedSerializer(
                self._secret, salt=f"cycle-engine.{purpose}", signer=ClockSigner
            )
            self._serializers[purpose] = serializer
        return serializer

    # -- one token per email ----------------------------------------------------------------

    def email_links(self, person_id: int, kind: str, items: Sequence[EmailItem]) -> EmailLinks:
        """The links of one email to `person_id`: one signature for all of them."""
        for item in items:
            unknown = [a for a in item.actions if a not in ACTIONS]
            if unknown:
                raise ValueError(f"unknown action {unknown[0]!r}")
        payload = {
            "p": person_id,
            "k": kind,
            "x": [[i.cycle_id, i.stage_visit_id, i.nonce, list(i.actions)] for i in items],
        }
        return EmailLinks(self.base_url, str(self._serializer(_EMAIL).dumps(payload)))

    def _read_email(self, token: str) -> tuple[dict[str, Any], datetime] | None:
        """The payload and signing time of an email token; None when `token` is not one (a
        per-link token, or garbage). Raises ExpiredLink past PERSON_MAX_AGE."""
        serializer = self._serializer(_EMAIL)
        try:
            data, signed = serializer.loads(
                token, max_age=int(PERSON_MAX_AGE.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as expired:
            data = serializer.load_payload(bytes(expired.payload or b""))
            raise ExpiredLink({"p": data.get("p") if isinstance(data, dict) else None}) from None
        except BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("p"), int):
            raise InvalidLink()
        return data, signed

    @staticmethod
    def _email_claim(action: str, data: dict[str, Any], item_text: str) -> ActionClaim:
        try:
            cycle_id, visit_id, nonce, actions = data["x"][int(item_text or 0)]
            claim = ActionClaim(
                action=action,
                person_id=int(data["p"]),
                cycle_id=int(cycle_id),
                stage_visit_id=int(visit_id),
                nonce=str(nonce),
            )
        except (KeyError, IndexError, TypeError, ValueError):
            raise InvalidLink() from None
        if not isinstance(actions, list) or action not in actions:
            raise InvalidLink(f"this email has no {action!r} link for that stage")
        return claim

    # -- actions ----------------------------------------------------------------------------

    def action_token(self, claim: ActionClaim) -> str:
        if claim.action not in ACTIONS:
            raise ValueError(f"unknown action {claim.action!r}")
        return str(self._serializer(f"action.{claim.action}").dumps(claim.as_dict()))

    def action_url(self, claim: ActionClaim) -> str:
        return f"{self.base_url}/email/actions/{claim.action}?t={quote(self.action_token(claim))}"

    def read_action(self, action: str, token: str) -> ActionClaim:
        """The claim behind an action token.

        Raises:
            InvalidLink: unknown action, or the token was altered or made for something else.
            ExpiredLink: genuine but older than the allowed age (carries the claim's fields).
        """
        if action not in ACTIONS:
            raise InvalidLink(f"unknown action {action!r}")
        body, _, item_text = token.partition(ITEM_MARK)
        email = self._read_email(body)
        if email is not None:
            data, signed = email
            claim = self._email_claim(action, data, item_text)
            if self.clock.now() - signed > self.action_max_age:
                raise ExpiredLink(claim.as_dict())
            return claim
        serializer = self._serializer(f"action.{action}")
        try:
            data = serializer.loads(token, max_age=int(self.action_max_age.total_seconds()))
        except SignatureExpired as expired:
            claim = _claim_from(serializer.load_payload(bytes(expired.payload or b"")), action)
            raise ExpiredLink(claim.as_dict()) from None
        except BadData:
            raise InvalidLink() from None
        return _claim_from(data, action)

    def fresh_claim(self, expired: ExpiredLink, action: str) -> ActionClaim:
        """The claim carried by an expired link (to send its person a new one)."""
        return _claim_from(expired.claims, action)

    # -- per-person pages -------------------------------------------------------------------

    def person_token(self, purpose: str, person_id: int, kind: str = "") -> str:
        """A long-lived per-person token; the same one is reused within a minute (signing is
        the costliest part of composing an email)."""
        if purpose not in PERSON_PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        minute = int(self.clock.now().timestamp()) // 60
        key = (purpose, person_id, kind)
        cached = self._person_tokens.get(key)
        if cached is not None and cached[0] == minute:
            return cached[1]
        if len(self._person_tokens) > 10_000:
            self._person_tokens.clear()
        token = str(self._serializer(purpose).dumps({"p": person_id, "k": kind}))
        self._person_tokens[key] = (minute, token)
        return token

    def read_person(self, purpose: str, token: str) -> tuple[int, str]:
        """(person id, kind) behind a preferences/unsubscribe/calendar token.

        Raises InvalidLink, or ExpiredLink (its claims carry the person id).
        """
        email = self._read_email(token) if purpose in EMAIL_PURPOSES else None
        if email is not None:
            return int(email[0]["p"]), str(email[0].get("k", ""))
        serializer = self._serializer(purpose)
        try:
            data = serializer.loads(token, max_age=int(PERSON_MAX_AGE.total_seconds()))
        except SignatureExpired as expired:
            data = serializer.load_payload(bytes(expired.payload or b""))
            raise ExpiredLink({"p": data.get("p") if isinstance(data, dict) else None}) from None
        except BadData:
            raise InvalidLink() from None
        if not isinstance(data, dict) or not isinstance(data.get("p"), int):
            raise InvalidLink()
        return int(data["p"]), str(data.get("k", ""))

    def preferences_url(self, person_id: int) -> str:
        token = quote(self.person_token("preferences", person_id))
        return f"{self.base_url}/email/preferences?t={token}"

    def unsubscribe_url(self, person_id: int, kind: str) -> str:
        token = quote(self.person_token("unsubscribe", person_id, kind))
        return f"{self.base_url}/email/unsubscribe?t={token}"

    def product_url(self, person_id: int, product_id: int) -> str:
        """A signed link to download a product's stored file (in a `stage_results` email)."""
        token = quote(self.person_token("product", person_id, str(product_id)))
        return f"{self.base_url}/email/products/{product_id}?t={token}"

    def calendar_url(self, person_id: int) -> str:
        return f"{self.base_url}/email/calendar/{self.person_token('calendar', person_id)}.ics"
