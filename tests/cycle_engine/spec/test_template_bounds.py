"""Templates are bounded before and while they are read: size (from the file's size, before
reading), nesting depth and node count (from the parser's events, before composing), each
duration and the stages' total (ten years at most), and text without control characters. Every
breach is an InvalidTemplate naming the file and the path, never an OverflowError, a
RecursionError or a traceback from the CLI; memory stays small whatever the file holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate
from cycle_engine.spec import load_template, load_template_text
from cycle_engine.spec.loader import MAX_DEPTH, MAX_NODES, MAX_TEMPLATE_BYTES

GUARDS = default_guards()


def template(duration: str = "P2W", *, stages: int = 1, title: str = "Work") -> str:
    """A valid template of `stages` work stages of `duration` each, then a final stage."""
    lines = ["key: bounded", "title: Bounded", "initial: s0", "stages:"]
    for n in range(stages):
        lines += [
            f"  - key: s{n}",
            f"    title: {json.dumps(title, ensure_ascii=False)}",
            f"    duration: {duration}",
        ]
    lines += ["  - key: done", "    title: Done", "    final: true", "transitions:"]
    for n in range(stages):
        after = f"s{n + 1}" if n + 1 < stages else "done"
        lines += [f"  - trigger: next{n}", f"    from: s{n}", f"    to: {after}"]
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(InvalidTemplate) as refused:
        load_template_text(text, "bounded.yaml", GUARDS)
    return [str(p) for p in refused.value.problems]


def test_a_valid_template_loads() -> None:
    """The helper's template is valid, so each refusal below is about its one change."""
    assert load_template_text(template(), "bounded.yaml", GUARDS).key == "bounded"


@pytest.mark.parametrize(
    "duration", ["P99999999999W", "P100000000W", "P522W", "P" + "9" * 5000 + "D"]
)
def test_durations_longer_than_ten_years_are_refused(duration: str) -> None:
    """The durations that overflowed (500, CLI traceback) or published and then broke every
    new cycle are refused at the path of the duration."""
    [problem] = problems_of(template(duration))
    assert problem.startswith("bounded.yaml: stages[0].duration: ")
    assert "longer than ten years" in problem
    assert len(problem) < 200


def test_stages_together_last_at_most_ten_years() -> None:
    """Eleven stages of a year each are each fine, but not together."""
    [problem] = problems_of(template("P52W", stages=11))
    assert problem.startswith("bounded.yaml: stages: the stages last P572W together")
    assert load_template_text(template("P52W", stages=10), "ok.yaml", GUARDS).stages


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "1" + "}" * 3000,
        "".join(" " * n + "k:\n" for n in range(140)) + " " * 140 + "v",
        "- " * 5000 + "x",
    ],
)
def test_deeply_nested_documents_are_refused_before_composing(text: str) -> None:
    """10 KB of nesting (flow, block mappings, block sequences) is refused, no RecursionError."""
    [problem] = problems_of(text)
    assert f"nests deeper than {MAX_DEPTH} levels" in problem


def test_documents_with_too_many_nodes_are_refused() -> None:
    """A flat list of more nodes than any template has is refused from the event stream."""
    [problem] = problems_of("[" + "1," * MAX_NODES + "1]")
    assert f"more than {MAX_NODES} nodes" in problem


def test_text_larger_than_the_bound_is_refused() -> None:
    """Text in memory (an API upload) larger than the bound is refused before parsing."""
    [problem] = problems_of(template() + "#" * MAX_TEMPLATE_BYTES)
    assert f"at most {MAX_TEMPLATE_BYTES} bytes" in problem


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A 50 MB file is refused from its size: loading it allocates almost nothing."""
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.write(template().encode())
        handle.truncate(50 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidTemplate, match="a template is at most"):
            load_template(huge, guards=GUARDS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_memory_stays_small_on_the_largest_template_accepted_for_parsing() -> None:
    """The worst document within the bounds (as many nodes as allowed) parses in little memory."""
    text = "key: x\ntitle: t\nstages:\n" + "- a\n" * (MAX_NODES - 10)
    tracemalloc.start()
    try:
        problems_of(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_control_characters_in_text_are_refused() -> None:
    """A NUL byte (which PostgreSQL cannot store) or another control character in a title is
    refused at its path; line breaks and tabs in descriptions are fine."""
    [problem] = problems_of(template(title="Work\x00"))
    assert problem.startswith("bounded.yaml: stages[0].title: ")
    text = template().replace("title: Bounded", 'title: Bounded\ndescription: "a\\n\\tb"')
    assert load_template_text(text, "ok.yaml", GUARDS).description == "a\n\tb"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give one problem naming the byte, not a decoding traceback."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(template(title="Revisión").encode("latin-1"))
    with pytest.raises(InvalidTemplate, match=r"not UTF-8 text \(invalid .* at byte \d+\)"):
        load_template(path, guards=GUARDS)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CYCLE_ENGINE_DATABASE_URL": f"sqlite:///{cwd / 'cli.db'}"}
    env.pop("CYCLE_ENGINE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "cycle_engine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.mark.process
def test_cli_reports_each_bound_in_one_line(tmp_path: Path) -> None:
    """`template validate` and `template publish` end in one line and status 1 for an
    overflowing duration, deep nesting, a huge file and a file that is not UTF-8."""
    files = {
        "overflow.yaml": template("P99999999999W").encode(),
        "deep.yaml": ("[" * 5000 + "]" * 5000).encode(),
        "latin1.yaml": template(title="Revisión").encode("latin-1"),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with (tmp_path / "huge.yaml").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    assert _cli("init", cwd=tmp_path).returncode == 0
    for name in [*files, "huge.yaml"]:
        for command in ("validate", "publish"):
            done = _cli("template", command, str(tmp_path / name), cwd=tmp_path)
            assert done.returncode == 1, (name, command, done.stderr)
            assert done.stdout == ""
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (name, command, lines)
            assert "Traceback" not in done.stderr
