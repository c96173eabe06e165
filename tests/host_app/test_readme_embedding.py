"""The README's "Embedding" section and the budget desk say the same thing: every line of its
code examples (but imports, elisions and comments) is a line of the desk's code, so the section
cannot drift from the host app that tests it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.host_app.conftest import PROJECT

README = Path(__file__).resolve().parents[2] / "README.md"


def embedding_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Embedding\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def code_lines(language: str) -> list[str]:
    blocks = re.findall(rf"```{language}\n(.*?)```", embedding_section(), flags=re.DOTALL)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            code = line.split("  # ", 1)[0].strip()
            if code and "..." not in code and not code.startswith(("from ", "import ")):
                lines.append(code)
    return lines


def project_lines(pattern: str) -> set[str]:
    return {
        line.strip()
        for path in PROJECT.glob(pattern)
        for line in path.read_text(encoding="utf-8").splitlines()
    }


def test_python_examples_are_the_desks_code() -> None:
    """Each line of the section's Python examples is in the desk's package or its tests."""
    desk = project_lines("api/*.py") | project_lines("tests/*.py")
    lines = code_lines("python")
    assert len(lines) > 30
    assert [line for line in lines if line not in desk] == []


def test_entry_point_example_is_the_desks() -> None:
    """The section's plugin entry point is the one the desk's pyproject.toml declares."""
    assert code_lines("toml")
    assert set(code_lines("toml")) <= project_lines("pyproject.toml")


def test_engine_imports_in_the_examples_resolve() -> None:
    """Every `from cycle_engine... import ...` line of the section imports public names."""
    blocks = re.findall(r"```python\n(.*?)```", embedding_section(), flags=re.DOTALL)
    imports = [
        line for block in blocks for line in block.splitlines() if line.startswith("from cycle_")
    ]
    assert len(imports) >= 3
    for line in imports:
        exec(line, {})
