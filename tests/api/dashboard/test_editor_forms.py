"""Reading an HTML form as a browser without JavaScript would submit it: every named input,
checked checkbox, selected option and textarea of the form with a given id (and the controls
outside it that name it with `form=`). Used by the editor's HTTP tests to edit a template the
way a coordinator does, field by field, without guessing the field names."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False
        self.textarea: str | None = None
        self.text: list[str] = []

    def _ours(self, attrs: dict[str, str | None]) -> bool:
        return self.inside or attrs.get("form") == self.form_id

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self._ours(attrs):
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value") or "on"
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
        elif tag == "option" and self.select is not None:
            value = attrs.get("value") or ""
            if self.select_first is None:
                self.select_first = value
                self.fields[self.select] = value
            if "selected" in attrs and not self.select_chosen:
                self.fields[self.select], self.select_chosen = value, True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            self.fields[self.textarea] = text[1:] if text.startswith("\n") else text
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)


def form_fields(html: str, form_id: str = "editor-form") -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.fields


def test_reader_sends_what_a_browser_sends() -> None:
    html = (
        '<form id="f"><input name="a" value="1"><input type="checkbox" name="b" value="on">'
        '<input type="checkbox" name="c" value="x" checked><select name="s"><option value="p">'
        '</option><option value="q" selected></option></select><textarea name="t">\nhi &amp; '
        'bye</textarea><button name="op" value="go"></button></form>'
        '<button form="f" name="op2"></button><input form="f" name="d" value="2">'
    )
    assert form_fields(html, "f") == {"a": "1", "c": "x", "s": "q", "t": "hi & bye", "d": "2"}
