"""One request to the editor: the draft, what the coordinator sent, which side (form or text)
it changed, the resulting text, its check and its diagram, and rendering them.

The form and the YAML text are two views of one template. The page sends both, with the text
as it was rendered (`yaml_before`): if only the text changed, or the "apply the text" button was
pressed, the text wins and the form is rebuilt from it (comments and all kept in the text);
otherwise the form wins and the text is rewritten from it. If both changed, the text wins and
the coordinator is told their form changes were not applied. A text that cannot be read leaves
the form as it was, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import Locale, UnknownLocaleError
from starlette.responses import Response

from cycle_engine.api.dashboard.editor.check import Checked, check, diagram
from cycle_engine.api.dashboard.editor.fields import parse_form
from cycle_engine.api.dashboard.editor.model import (
    ANCHORS,
    KINDS,
    LATE,
    MODES,
    UNITS,
    TemplateForm,
)
from cycle_engine.api.dashboard.editor.ops import apply_op
from cycle_engine.api.dashboard.editor.text import form_text, read_text, same_template
from cycle_engine.api.dashboard.web import Visit
from cycle_engine.errors import RecordNotFound
from cycle_engine.i18n import DEFAULT_LANGUAGE
from cycle_engine.notifications.reader import current_words, speaking
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES
from cycle_engine.spec.messages import problem_message
from cycle_engine.store.tables.alliances import AllianceRecord
from cycle_engine.templates.drafts import Draft

#: Used when the guard registry carries no vocabulary (a host's bare registry).
_ROLES = ("admin", "coordinator", "manager", "lead", "active", "system")
_RECIPIENTS = ("focal_point", "deputy", "lead", "active", "informed", "coordinator", "manager")


@dataclass(frozen=True, kw_only=True)
class GuardInfo:
    """What the form offers for one guard: its description, the kind of argument, choices."""

    description: str
    kind: str
    argument: str
    choices: tuple[str, ...] = ()


def guard_infos(registry: GuardRegistry) -> dict[str, GuardInfo]:
    infos = {}
    vocabulary = getattr(registry, "vocabulary", None)
    for name, definition in sorted(registry.items()):
        kinds = (
            definition.arg_type
            if isinstance(definition.arg_type, tuple)
            else (definition.arg_type,)
        )
        kind = "bool" if bool in kinds else "int" if int in kinds else "str"
        choices: tuple[str, ...] = ()
        listed = getattr(definition, "arg_choices", None)
        if listed and vocabulary is not None:
            choices = tuple(vocabulary.choices(listed))
        argument = {"bool": "required?", "int": "at least how many"}.get(kind, "which")
        infos[name] = GuardInfo(
            description=definition.description, kind=kind, argument=argument, choices=choices
        )
    return infos


def _roles(registry: GuardRegistry) -> tuple[tuple[str, ...], tuple[str, ...]]:
    vocabulary = getattr(registry, "vocabulary", None)
    roles = tuple(getattr(vocabulary, "transition_roles", ()) or _ROLES)
    recipients = tuple(getattr(vocabulary, "recipient_roles", ()) or _RECIPIENTS)
    return roles, recipients


def _lines(text: str | None) -> str | None:
    return None if text is None else text.replace("\r\n", "\n")


@dataclass(kw_only=True)
class EditorSession:
    visit: Visit
    alliance: AllianceRecord
    draft: Draft
    registry: GuardRegistry
    form: TemplateForm = field(default_factory=TemplateForm)
    text: str = ""
    focus: str | None = None
    notice: str | None = None
    unreadable: str | None = None
    comments: int = 0
    lossy: bool = False

    @classmethod
    def open(cls, visit: Visit, alliance_id: int, draft_id: int) -> EditorSession:
        """The draft of this alliance, for a viewer who may edit it (else 404 / 403)."""
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        draft = engine.drafts.get(draft_id, actor=viewer.actor(alliance_id), reach=viewer.reach)
        if draft.alliance_id not in (alliance_id, None):  # None: built-in, admins only
            raise RecordNotFound("template draft", draft_id)
        session = cls(visit=visit, alliance=alliance, draft=draft, registry=engine.templates.guards)
        session.use_text(draft.text)
        return session

    @property
    def roles(self) -> tuple[str, ...]:
        return _roles(self.registry)[0]

    @property
    def recipients(self) -> tuple[str, ...]:
        return _roles(self.registry)[1]

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages a stage's texts are offered in beside the default (English)."""
        vocabulary = getattr(self.registry, "vocabulary", None)
        known = tuple(getattr(vocabulary, "languages", ()))
        return tuple(code for code in known if code != DEFAULT_LANGUAGE)

    def use_text(self, text: str) -> None:
        """Make `text` the template; the form follows it when it can be read."""
        self.text = text
        read = read_text(text, self.registry)
        self.comments, self.lossy = read.comments, read.lossy
        if read.form is None:
            language = self.visit.language
            self.unreadable = "; ".join(problem_message(p, language) for p in read.problems)[:500]
        else:
            self.form, self.unreadable = read.form, None

    def take(self, fields: Mapping[str, str], *, source: str | None, op: str) -> None:
        """Apply what was sent (see the module docstring); `source` forces a side."""
        roles, recipients = self.roles, self.recipients
        sent, before = _lines(fields.get("yaml")), _lines(fields.get("yaml_before"))
        has_form = "key" in fields
        submitted = parse_form(fields, roles=roles, recipients=recipients) if has_form else None
        if source is None:
            source = self._side(submitted, sent, before, op)
        if source == "yaml" and sent is not None:
            if len(sent.encode("utf-8")) > MAX_TEMPLATE_BYTES:
                self.unreadable = f"the text is larger than {MAX_TEMPLATE_BYTES // 1024} KiB"
                self.text = sent  # shown and refused as it is; never cut and stored
                return
            if submitted is not None:
                self.form = submitted
            self.use_text(sent)
            if submitted is not None and sent == before:
                self.form = submitted  # the text was kept as it is; the form stays as typed
            return
        if submitted is None:
            return
        self.focus = apply_op(submitted, op)
        self.use_text(form_text(submitted, self.registry))
        self.form = submitted  # as typed: "three weeks" keeps its unit while it is fixed

    def _side(
        self, submitted: TemplateForm | None, sent: str | None, before: str | None, op: str
    ) -> str:
        """Which side wins: the text when only it changed (or nothing changed and the button
        changes no shape, so its comments stay), else the form."""
        previous = read_text(before, self.registry).form if before is not None else None
        form_changed = submitted is not None and (
            previous is None or not same_template(submitted, previous, self.registry)
        )
        if sent is not None and sent != before:
            if form_changed:
                self.notice = self.visit.words.gettext(
                    "You changed both the form and the text: the text was kept and your "
                    "form changes since were not applied."
                )
            return "yaml"
        if not form_changed and sent is not None and op in ("refresh", "save", "publish"):
            return "yaml"
        return "form"

    def save(self, revision: int) -> None:
        viewer = self.visit.require_viewer()
        self.draft = self.visit.engine.drafts.save(
            self.draft.id,
            self.text,
            revision=revision,
            actor=viewer.actor(self.alliance.id),
            reach=viewer.reach,
        )

    def checked(self) -> Checked:
        return check(self.text, self.form, self.visit.engine.drafts.validate, self.visit.language)

    def context(self) -> dict[str, Any]:
        checked = self.checked()
        svg, flagged = diagram(self.form)
        base = self.visit.url(f"/alliances/{self.alliance.id}/editor/{self.draft.id}")
        return {
            "alliance": self.alliance,
            "draft": self.draft,
            "form": self.form,
            "keys": self.form.stage_keys(),
            "checked": checked,
            "svg": svg,
            "flagged": flagged,
            "roles": self.roles,
            "recipients": self.recipients,
            "languages": self.languages,
            "language_name": language_name,
            "guards": guard_infos(self.registry),
            "kinds": KINDS,
            "units": UNITS,
            "anchors": ANCHORS,
            "late": LATE,
            "modes": MODES,
            "focus": self.focus,
            "yaml_text": self.text,
            "yaml_comments": self.comments,
            "yaml_lossy": self.lossy,
            "yaml_unreadable": self.unreadable,
            "base": base,
            "max_kib": MAX_TEMPLATE_BYTES // 1024,
        }


def language_name(code: str) -> str:
    """`Spanish` for `es` in an English page, `español` in a Spanish one (Babel's names); the
    code itself when Babel knows none."""
    try:
        return str(Locale.parse(code).get_display_name(current_words().language) or code)
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def render_editor(
    session: EditorSession,
    *,
    notice: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The whole editor page."""
    with speaking(session.visit.words):  # the diagram is drawn in the reader's language
        context = session.context()
    return session.visit.page(
        "editor/edit.html",
        status=status,
        notice=notice or session.notice,
        problem=problem,
        **context,
    )


def _render(visit: Visit, template: str, context: dict[str, Any]) -> str:
    return visit.render(template, **context)


def render_parts(session: EditorSession, *, with_text: bool) -> dict[str, str]:
    """The parts a live check replaces: the form's fields, the check and diagram, the text's
    state, and (when the form was edited) the text itself."""
    with speaking(session.visit.words):
        context = session.context()
    parts = {
        "form-fields": _render(session.visit, "editor/fields.html", context),
        "live": _render(session.visit, "editor/live.html", context),
        "yaml-state": _render(session.visit, "editor/yaml_state.html", context),
    }
    if with_text:
        parts["text"] = session.text
    if session.notice:
        parts["notice"] = session.notice
    return parts
