"""Rendering: every kind in every language, autoescaped HTML, strict variables, safe headers,
dates in the reader's zone with the zone named."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from jinja2 import UndefinedError

from cycle_engine.i18n import LANGUAGES
from cycle_engine.notifications.formatting import format_datetime
from cycle_engine.notifications.render import (
    KINDS,
    Attachment,
    RenderedEmail,
    Renderer,
    build_message,
    header_text,
    person_address,
)

HOSTILE = '<script>alert("x")</script>\r\nBcc: victim@example.org'
DETAILS: dict[str, dict[str, Any]] = {
    "reminder": {"rule": "week_before"},
    "due_today": {"rule": "due_today"},
    "overdue": {"overdue_days": 3, "occurrence": 1},
    "escalation": {
        "level": "deputy",
        "overdue_days": 6,
        "responsible": {"name": HOSTILE, "organisation": HOSTILE},
    },
    "stage_started": {},
    "stage_completed": {
        "products": [
            {"title": HOSTILE, "url": "javascript:alert(1)"},
            {"title": "Review", "url": "https://example.org/r"},
        ],
        "next_stage": {"key": "prototype", "title": "Prototype"},
    },
    "stage_results": {
        "products": [
            {"id": 1, "title": HOSTILE, "url": "javascript:alert(1)", "file": None},
            {
                "id": 2,
                "title": "Review",
                "url": None,
                "file": "review.md",
                "download_url": "https://cycles.example.org/email/products/2?t=x",
            },
        ],
        "contexts": [
            {
                "name": HOSTILE,
                "country": "Honduras",
                "community": HOSTILE,
                "rating": "strong",
                "summary": HOSTILE,
            }
        ],
        "report_path": "/dashboard/cycles/1/report",
        "report_url": "https://cycles.example.org/dashboard/cycles/1/report",
    },
    "stalled": {"idle_days": 15, "last_activity_at": "2026-02-01T10:00:00+00:00", "reasons": []},
    "extension_requested": {
        "requester": {"name": "Ben", "organisation": HOSTILE},
        "days": 7,
        "reason": HOSTILE,
    },
    "marked_done": {
        "by": {"name": "Ben", "organisation": "Org"},
        "product_url": "https://example.org/p",
        "note": None,
    },
    "fresh_link": {"action": "done"},
}


def sample_context(kind: str) -> dict[str, Any]:
    stage = {
        "key": "good_practice_review",
        "title": "Good-practice review",
        "description": HOSTILE,
        "visit": 1,
        "visit_id": 4,
        "due_at": "2026-03-06T22:00:00+00:00",
        "entered_at": "2026-01-20T09:00:00+00:00",
    }
    cycle = {"id": 1, "title": HOSTILE}
    base: dict[str, Any] = {
        "person": {"id": 1, "name": HOSTILE},
        "organisation": {"name": HOSTILE},
        "timezone": "America/Bogota",
        "role": "focal_point",
        "links": {"acknowledge": "https://cycles.example.org/a?t=x&y=1"},
        "preferences_url": "https://cycles.example.org/p",
        "unsubscribe_url": "https://u",
    }
    if kind == "signin":
        return {**base, "signin_url": "https://cycles.example.org/s?token=x", "minutes": 15}
    if kind == "digest":
        items = [
            {
                "id": n,
                "kind": k,
                "cycle": cycle,
                "stage": stage,
                "details": d,
                "links": {"done": "https://cycles.example.org/d"},
            }
            for n, (k, d) in enumerate(DETAILS.items())
        ]
        return {**base, "role": "person", "items": items}
    return {**base, "cycle": cycle, "stage": stage, "details": DETAILS[kind]}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_language(renderer: Renderer, kind: str, language: str) -> None:
    """Each kind renders text and HTML in en/es/fr with hostile values escaped in HTML and a
    one-line subject."""
    rendered = renderer.render(kind, language, sample_context(kind))
    assert rendered.subject and "\r" not in rendered.subject and "\n" not in rendered.subject
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert 'href="javascript:' not in rendered.html
    assert f'lang="{language}"' in rendered.html
    assert rendered.text.strip() and "<p>" not in rendered.text
    if kind not in ("stage_completed", "stage_results", "fresh_link", "marked_done", "signin"):
        assert "(America/Bogota)" in rendered.text  # dates carry the reader's zone


def test_spanish_reminder_reads_in_spanish_with_local_time(renderer: Renderer) -> None:
    """A Spanish reader gets Spanish sentences and the deadline in Bogotá time (UTC-5)."""
    rendered = renderer.render("reminder", "es-CO", sample_context("reminder"))
    assert rendered.subject.startswith("Recordatorio:")
    assert "viernes 6 de marzo de 2026, 17:00 (America/Bogota)" in rendered.text


LATE = {
    "en": ("Late: Due today:", "This message is late:", "it should have reached you on"),
    "es": ("Con retraso: Vence hoy:", "Este mensaje llega con retraso:", "debía llegarle el"),
    "fr": (
        "En retard : Échéance aujourd'hui :",
        "Ce message arrive en retard :",
        "il aurait dû vous parvenir le",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_late_email_says_it_is_late_in_the_readers_language(
    renderer: Renderer, language: str
) -> None:
    """An email rendered with `late` (the moment it was due) says so in its subject, its text
    and its HTML, in the reader's language, with that moment in the reader's zone; without it,
    nothing is said."""
    context = {**sample_context("due_today"), "late": {"due_at": "2026-03-06T22:00:00+00:00"}}
    rendered = renderer.render("due_today", language, context)
    subject, late, due = LATE[language]
    when = format_datetime("2026-03-06T22:00:00+00:00", "America/Bogota", language)
    assert rendered.subject.startswith(subject)
    assert rendered.text.startswith(f"{late} {due} {when}")
    assert f"<strong>{late}</strong> {due} {when}" in rendered.html
    on_time = renderer.render("due_today", language, sample_context("due_today"))
    assert not on_time.subject.startswith(subject.split(":")[0])
    assert late not in on_time.text and late not in on_time.html


def test_missing_variable_is_an_error(renderer: Renderer) -> None:
    """A context without a variable the template uses fails loudly, never renders a blank."""
    context = sample_context("overdue")
    del context["details"]["overdue_days"]
    with pytest.raises(UndefinedError):
        renderer.render("overdue", "en", context)


def test_unknown_kind_is_refused(renderer: Renderer) -> None:
    """Asking for a kind with no templates names the kinds that exist."""
    with pytest.raises(ValueError, match="unknown email kind 'weekly'"):
        renderer.render("weekly", "en", sample_context("reminder"))


def test_headers_cannot_be_injected() -> None:
    """CR/LF in subjects and display names become spaces; the message has no extra header."""
    assert header_text("Hi\r\nBcc: x@y") == "Hi Bcc: x@y"
    rendered = Renderer().render("reminder", "en", sample_context("reminder"))
    data = build_message(
        rendered,
        sender=person_address("Cycle Engine", "ce@example.org"),
        to=person_address(HOSTILE, "ana@example.org"),
        message_id="<1@test>",
        date=datetime(2026, 1, 5, tzinfo=UTC),
        headers={"X-Test": "a\r\nBcc: z@z"},
    )
    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block and b"\rBcc:" not in header_block
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    assert message["X-Test"] == "a Bcc: z@z"
    assert message["Subject"] == rendered.subject
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content() == rendered.text
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["ana@example.org"]
    with pytest.raises(ValueError, match="not an email address"):
        person_address("x", "ana@example.org\r\nBcc: z@z")


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 4000])
def test_parts_are_base64_in_lines_of_76_with_their_own_boundaries(size: int) -> None:
    """Each part is its content as `base64.encodebytes` writes it (lines of 76, each ending in
    CRLF); the two multiparts have different boundaries found nowhere else in the message."""
    content = bytes(range(256)) * 16
    text = "é" * (size // 2) + "a" * (size % 2)
    rendered = RenderedEmail(subject="s", text=text, html="<p>x</p>")
    data = build_message(
        rendered,
        sender=person_address("Cycle Engine", "ce@example.org"),
        to=person_address("Ana", "ana@example.org"),
        message_id="<1@test>",
        date=datetime(2026, 1, 5, tzinfo=UTC),
        attachments=[
            Attachment(filename="a.bin", content=content[:size], maintype="text", subtype="plain")
        ],
    )
    for body in (text.encode("utf-8"), content[:size]):
        encoded = base64.encodebytes(body).replace(b"\n", b"\r\n")
        assert b"\r\n\r\n" + encoded + b"\r\n--=_ce_" in data
    boundaries = re.findall(rb'boundary="(=_ce_[0-9a-f]{32})"', data)
    assert len(boundaries) == 2 and boundaries[0] != boundaries[1]
    for boundary in boundaries:  # declared, before each of its two parts, and closing
        assert data.count(boundary) == 4
    message = BytesParser(policy=policy.default).parsebytes(data)
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content() == text
    [attachment] = message.iter_attachments()
    assert attachment.get_payload(decode=True) == content[:size]


def test_dates_follow_daylight_saving_in_the_readers_zone() -> None:
    """The same UTC instant shows 17:00 in Paris in March before the change and 18:00 after."""
    assert format_datetime("2026-03-27T16:00:00+00:00", "Europe/Paris", "fr") == (
        "vendredi 27 mars 2026, 17:00 (Europe/Paris)"
    )
    assert format_datetime("2026-03-30T16:00:00+00:00", "Europe/Paris", "en") == (
        "Monday 30 March 2026, 18:00 (Europe/Paris)"
    )
