"""Rendering: one Jinja2 environment turns an outbox row's context into a safe email.

Templates live in `templates/email/<language>/<kind>.txt|.html` (whole sentences per language,
so translators control word order), each extending that language's `_layout`. HTML templates
are autoescaped, text templates are not; a variable the template needs but the context lacks is
an error (StrictUndefined), never a blank. Subjects and display names pass through
`header_text`, which removes CR/LF so no value can add a header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from cycle_engine.notify.enqueue import EMAIL_KINDS
from notifications.formatting import format_date, format_datetime, pick_language

TEMPLATES = Path(__file__).with_name("templates")

#: Every kind of email the engine sends (each has text + HTML templates in every language).
KINDS = EMAIL_KINDS

_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str, limit: int = 200) -> str:
    """`value` made safe for a header: control characters (CR, LF, ...) become spaces."""
    cleaned = " ".join(_UNSAFE_HEADER.sub(" ", value).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True, kw_only=True)
class RenderedEmail:
    """The parts of one email, before headers."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file attached to an email (e.g. the stage's calendar entry)."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: Mapping[str, str] | None = None


def safe_url(value: Any) -> str:
    """Only http(s) links survive into an href; anything else (javascript:, data:) becomes "#"."""
    text = str(value).strip()
    return text if text.lower().startswith(("https://", "http://")) else "#"


@pass_context
def _when(context: Context, value: Any) -> str:
    return format_datetime(value, context.get("timezone"), context.get("language", "en"))


@pass_context
def _day(context: Context, value: Any) -> str:
    return format_date(value, context.get("timezone"), context.get("language", "en"))


def build_environment(directory: Path = TEMPLATES) -> Environment:
    """The one Jinja2 environment for emails and pages: strict, autoescaped for .html."""
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False,
                                     default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["safe_url"] = safe_url
    return env


class Renderer:
    """Renders email kinds in a person's language, and the pages behind action links."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = build_environment(directory)
        self._cache: dict[tuple[str, str, str], Template] = {}

    def _template(self, kind: str, language: str, part: str) -> Template:
        key = (kind, language, part)
        template = self._cache.get(key)
        if template is None:
            template = self.env.get_template(f"email/{language}/{kind}.{part}")
            self._cache[key] = template
        return template

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render `kind` in `language` (falls back to English for unshipped languages).

        Raises:
            ValueError: unknown kind.
            jinja2.UndefinedError: the context lacks a variable the template uses.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown email kind {kind!r}; expected one of {', '.join(KINDS)}")
        lang = pick_language(language)
        variables = {**context, "language": lang}
        text_template = self._template(kind, lang, "txt")
        subject = header_text(
            "".join(text_template.blocks["subject"](text_template.new_context(variables)))
        )
        variables["subject"] = subject
        return RenderedEmail(
            subject=subject,
            text=text_template.render(variables),
            html=self._template(kind, lang, "html").render(variables),
        )

    def page(self, name: str, /, **context: Any) -> str:
        """Render `templates/pages/<name>.html` (autoescaped) for the action-link pages."""
        language = pick_language(str(context.pop("language", "en")))
        return self.env.get_template(f"pages/{name}.html").render(language=language, **context)


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Address,
    to: Address,
    message_id: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
    cc: Sequence[Address] = (),
) -> EmailMessage:
    """An RFC 5322 message (text + HTML alternative) with the fixed Message-ID.

    `headers` values are cleaned of CR/LF like the subject.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = list(cc)
    message["Subject"] = header_text(rendered.subject)
    message["Message-ID"] = message_id
    message["Date"] = rfc2822_date(date)
    for name, value in (headers or {}).items():
        message[name] = header_text(value, limit=900)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        message.add_attachment(
            attachment.content, maintype=attachment.maintype, subtype=attachment.subtype,
            filename=attachment.filename, params=dict(attachment.params or {}),
        )
    return message


def person_address(name: str, address: str) -> Address:
    """An address with a display name that cannot smuggle header lines."""
    user, _, domain = address.strip().rpartition("@")
    if not user or not domain or _UNSAFE_HEADER.search(address):
        raise ValueError(f"not an email address: {address!r}")
    return Address(display_name=header_text(name, limit=100), username=user, domain=domain)

