"""The editor's buttons that change the form's shape: add, remove and reorder stages,
transitions, guards and reminders, and add the usual pause/resume and cancel.

Each button is a submit button named `op` (`remove-stage-2`), so they work without JavaScript:
the page is re-rendered from the changed form. An unknown or out-of-range op changes nothing.
"""

from __future__ import annotations

import re

from cycle_engine.api.dashboard.editor.model import (
    GuardForm,
    ReminderForm,
    RulesForm,
    StageForm,
    TemplateForm,
    TransitionForm,
)
from cycle_engine.spec.specs import ANY_ACTIVE, PREVIOUS

_OP = re.compile(
    r"^(?P<verb>add|remove|up|down)-(?P<what>stage|transition|guard|reminder)"
    r"(?:-(?P<owner>defaults|stage-\d{1,3}|\d{1,3}))?(?:-(?P<index>\d{1,3}))?$"
)


def _rules(form: TemplateForm, owner: str | None) -> RulesForm | None:
    if owner == "defaults":
        return form.defaults
    if owner and owner.startswith("stage-"):
        index = int(owner.removeprefix("stage-"))
        return form.stages[index].rules if index < len(form.stages) else None
    return None


def apply_op(form: TemplateForm, op: str) -> str | None:
    """Apply the button `op` to `form` in place; returns the id of the field to focus next."""
    if op == "add-pause":
        return _add_pause(form)
    if op == "add-cancel":
        return _add_cancel(form)
    match = _OP.match(op)
    if match is None:
        return None
    verb, what, owner = match["verb"], match["what"], match["owner"]
    index = int(match["index"]) if match["index"] is not None else None
    if what in ("stage", "transition") and index is None and owner and owner.isdigit():
        index = int(owner)  # `remove-stage-2`: the number is the row, not an owner
    if what == "stage":
        return _stage_op(form, verb, index)
    if what == "transition":
        return _transition_op(form, verb, index)
    if what == "guard" and owner is not None and owner.isdigit():
        return _guard_op(form, verb, int(owner), index)
    if what == "reminder":
        return _reminder_op(form, verb, owner, index)
    return None


def _stage_op(form: TemplateForm, verb: str, index: int | None) -> str | None:
    if verb == "add":
        form.stages.append(StageForm())
        return f"stage-{len(form.stages) - 1}-key"
    if index is None or index >= len(form.stages):
        return None
    if verb == "remove":
        del form.stages[index]
        return "add-stage"
    step = -1 if verb == "up" else 1
    if 0 <= index + step < len(form.stages):
        stages = form.stages
        stages[index], stages[index + step] = stages[index + step], stages[index]
        return f"stage-{index + step}-key"
    return None


def _transition_op(form: TemplateForm, verb: str, index: int | None) -> str | None:
    if verb == "add":
        form.transitions.append(TransitionForm())
        return f"transition-{len(form.transitions) - 1}-trigger"
    if index is None or index >= len(form.transitions):
        return None
    if verb == "remove":
        del form.transitions[index]
        return "add-transition"
    step = -1 if verb == "up" else 1
    if 0 <= index + step < len(form.transitions):
        items = form.transitions
        items[index], items[index + step] = items[index + step], items[index]
        return f"transition-{index + step}-trigger"
    return None


def _guard_op(form: TemplateForm, verb: str, t: int, index: int | None) -> str | None:
    if t >= len(form.transitions):
        return None
    guards = form.transitions[t].guards
    if verb == "add":
        guards.append(GuardForm())
        return f"transition-{t}-guard-{len(guards) - 1}-name"
    if verb == "remove" and index is not None and index < len(guards):
        del guards[index]
        return f"add-guard-{t}"
    return None


def _reminder_op(form: TemplateForm, verb: str, owner: str | None, index: int | None) -> str | None:
    rules = _rules(form, owner)
    if rules is None:
        return None
    if verb == "add":
        rules.reminders.append(ReminderForm())
        rules.reminders_mode = "own"
        return f"{owner}-reminder-{len(rules.reminders) - 1}-name"
    if verb == "remove" and index is not None and index < len(rules.reminders):
        del rules.reminders[index]
    return None


def _add_pause(form: TemplateForm) -> str:
    keys = form.stage_keys()
    if "paused" not in keys:
        form.stages.append(
            StageForm(
                key="paused",
                title="Paused",
                description="The cycle is on hold; resuming returns it to where it paused.",
                kind="hold",
            )
        )
    triggers = {t.trigger for t in form.transitions}
    if "pause" not in triggers:
        form.transitions.append(
            TransitionForm(
                trigger="pause",
                sources=[ANY_ACTIVE],
                dest="paused",
                roles=["coordinator", "manager"],
                guards=[GuardForm(name="note", arg="true")],
                description="Put the cycle on hold; the note says why.",
            )
        )
    if "resume" not in triggers:
        form.transitions.append(
            TransitionForm(
                trigger="resume",
                sources=["paused"],
                dest=PREVIOUS,
                roles=["coordinator", "manager"],
                description="Take the cycle up again where it paused.",
            )
        )
    return "add-cancel"


def _add_cancel(form: TemplateForm) -> str:
    keys = form.stage_keys()
    if "cancelled" not in keys:
        form.stages.append(
            StageForm(
                key="cancelled",
                title="Cancelled",
                description="The cycle was stopped before completion; the note says why.",
                kind="final",
            )
        )
    if "cancel" not in {t.trigger for t in form.transitions}:
        sources = [ANY_ACTIVE, *(["paused"] if "paused" in keys else [])]
        form.transitions.append(
            TransitionForm(
                trigger="cancel",
                sources=sources,
                dest="cancelled",
                roles=["coordinator", "manager"],
                guards=[GuardForm(name="note", arg="true")],
                description="Stop the cycle for good; the note says why.",
            )
        )
    return "add-transition"
