"""Rendering: one Jinja2 environment turns an outbox row's context into a safe email.

Templates live in `templates/email/<language>/<kind>.txt|.html` (whole sentences per language,
so translators control word order), each extending that language's `_layout`, which also says,
when the context has `late` (the moment it was due), that the email arrives late;
`_late_subject.txt` says so in the subject. HTML templates
are autoescaped, text templates are not; a variable the template needs but the context lacks is
an error (StrictUndefined), never a blank. Subjects and display names pass through
`header_text`, which removes CR/LF so no value can add a header.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr
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

from cycle_engine.i18n import pick_language
from cycle_engine.notifications.formatting import format_date, format_datetime
from cycle_engine.notifications.reader import Words, install, speaking
from cycle_engine.outbox.enqueue import EMAIL_KINDS

TEMPLATES = Path(__file__).with_name("templates")
#: The pages' words (`pages.po` per language); emails keep whole templates per language.
LOCALE = Path(__file__).with_name("locale")
PAGES_DOMAIN = "pages"

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
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Words are marked with `_()`/`{% trans %}`; pages install the reader's catalog per render.
    install(env)  # the pages render inside `speaking(...)`; emails read in English words
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
        if "late" in context:  # sent long after it was due: the subject says so too
            late = self._template("_late_subject", lang, "txt")
            subject = header_text(late.render({**variables, "subject": subject}))
        variables["subject"] = subject
        return RenderedEmail(
            subject=subject,
            text=text_template.render(variables),
            html=self._template(kind, lang, "html").render(variables),
        )

    def page(self, name: str, /, **context: Any) -> str:
        """Render `templates/pages/<name>.html` (autoescaped) for the action-link pages."""
        language = pick_language(str(context.pop("language", "en")))
        with speaking(Words.of(LOCALE, PAGES_DOMAIN, language)):
            return self.env.get_template(f"pages/{name}.html").render(language=language, **context)


def build_message(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    message_id: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """An RFC 5322 message (text + HTML alternative, attachments) as bytes, CRLF line endings.

    Built directly rather than through `email.message.EmailMessage`, whose header objects
    dominate the cost of an email; `sender` and `to` come from `person_address` (already
    safe), every other header value is cleaned of control characters and RFC 2047-encoded
    when it is not ASCII. Bodies are UTF-8 in base64, valid on any SMTP server.
    """
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {_encoded(rendered.subject, 200)}",
        f"Message-ID: {header_text(message_id, 250)}",
        f"Date: {rfc2822_date(date)}",
        "MIME-Version: 1.0",
    ]
    lines += [f"{name}: {_encoded(value, 900)}" for name, value in (headers or {}).items()]
    alternative = _multipart(
        "alternative",
        [
            _part('text/plain; charset="utf-8"', rendered.text.encode("utf-8")),
            _part('text/html; charset="utf-8"', rendered.html.encode("utf-8")),
        ],
    )
    body = alternative
    if attachments:
        body = _multipart(
            "mixed",
            [
                alternative,
                *(
                    _part(
                        _content_type(a),
                        a.content,
                        _disposition(a.filename),
                    )
                    for a in attachments
                ),
            ],
        )
    return ("\r\n".join(lines) + "\r\n").encode("ascii") + body


def _encoded(value: str, limit: int) -> str:
    """A header value: cleaned, and as RFC 2047 base64 encoded-words (folded) when not ASCII."""
    text = header_text(value, limit)
    if text.isascii():
        return text
    words, chunk, size = [], "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > 45:  # 45 bytes -> 60 base64 characters: each word stays under 76
            words.append(chunk)
            chunk, size = "", 0
        chunk += char
        size += width
    words.append(chunk)
    return "\r\n ".join(
        f"=?utf-8?b?{base64.b64encode(word.encode('utf-8')).decode('ascii')}?=" for word in words
    )


def _disposition(filename: str) -> str:
    return f'Content-Disposition: attachment; filename="{header_text(filename, 100)}"'


def _content_type(attachment: Attachment) -> str:
    params = "".join(f'; {k}="{header_text(v, 100)}"' for k, v in (attachment.params or {}).items())
    return f'{attachment.maintype}/{attachment.subtype}; charset="utf-8"{params}'


def _part(content_type: str, content: bytes, extra: str = "") -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n"
    if extra:
        head += extra + "\r\n"
    encoded = base64.b64encode(content)  # in lines of 76 (RFC 2045), as encodebytes does but
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]  # without its slow loop
    lines.append(b"")  # every line ends with CRLF
    return (head + "\r\n").encode("ascii") + b"\r\n".join(lines)


#: Draws the MIME boundaries. A boundary only has to differ from every line of its parts (base64
#: lines and our own headers never contain "=_"), so it needs no system call: `uuid.uuid4` read
#: os.urandom for each, which gave up the interpreter lock in the composing thread and then
#: waited for the event loop to hand it back, once per email.
_BOUNDARIES = random.Random()


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    boundary = f"=_ce_{_BOUNDARIES.getrandbits(128):032x}"
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
    separator = f"--{boundary}\r\n".encode("ascii")
    return (
        head
        + b"".join(separator + part + b"\r\n" for part in parts)
        + f"--{boundary}--\r\n".encode("ascii")
    )


def person_address(name: str, address: str) -> str:
    """`Name <user@domain>` for a header, with a display name that cannot smuggle header lines
    (control characters removed, RFC 2047 when not ASCII); raises ValueError for a bad address."""
    address = address.strip()
    user, _, domain = address.rpartition("@")
    if (
        not user
        or not domain
        or _UNSAFE_HEADER.search(address)
        or any(c in address for c in ' <>",;')
    ):
        raise ValueError(f"not an email address: {address!r}")
    return formataddr((header_text(name, limit=100), address), charset="utf-8")
