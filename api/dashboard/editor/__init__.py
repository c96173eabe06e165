"""The template editor: coordinators design a cycle template in the browser (issue 18).

    routes.py   the pages and forms (registered by `dashboard.create_dashboard_router`)
    session.py  one editor request: form or text, the check, the diagram, rendering
    model.py    the form's model of a template, to and from the YAML document
    fields.py   reading the POSTed form;  ops.py  add, remove and move rows
    text.py     the YAML text: writing, reading (bounded), comments the form would drop
    check.py    the engine's validation, each problem placed beside its field; the diagram

Drafts are the engine's (`engine.drafts`, `cycle_engine.templates.drafts`); validation is the
loader and validator the CLI uses; the diagram is the cycle page's SVG (`dashboard.svg`).
"""

from __future__ import annotations

from cycle_engine.api.dashboard.editor.routes import register

__all__ = ["register"]
