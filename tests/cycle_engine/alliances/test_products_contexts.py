"""Products (links and stored files, checked and size-limited) and multi-context testing
(contexts, results per round, the guards that need them, looping back on weak results)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle_engine import InvalidInput, TransitionNotAllowed
from cycle_engine.errors import ActionNotAllowed

from .conftest import COORDINATOR, World

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"


def _to_review(world: World) -> int:
    cycle = world.start()
    world.fire(cycle, "questions_agreed")
    world.assign_leads(cycle)
    world.fire(cycle, "roles_assigned", "plan_approved")
    return cycle


def _to_testing(world: World) -> int:
    cycle = _to_review(world)
    world.engine.work.add_product(
        cycle,
        "good_practice_review",
        "Review",
        world.research,
        link="https://docs.example.org/review",
        actor=COORDINATOR,
    )
    world.fire(cycle, "review_completed")
    world.engine.work.add_product(
        cycle,
        "prototype",
        "Tool",
        world.ngo,
        form="tool",
        link="https://docs.example.org/tool",
        actor=COORDINATOR,
    )
    for organisation in (world.ngo, world.farmers):  # they run testing contexts (distinct rule)
        world.engine.work.assign(
            cycle, "multi_context_testing", organisation, "active", actor=COORDINATOR
        )
    world.fire(cycle, "prototypes_ready")
    return cycle


def test_product_guard_names_the_missing_kind(world: World) -> None:
    """Leaving the review stage needs a good_practice_review product; the reason says so."""
    cycle = _to_review(world)
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "review_completed")
    assert blocked.value.reasons == ("no product “Good-practice review” recorded yet",)
    world.engine.work.add_product(
        cycle,
        "good_practice_review",
        "Review of market channels",
        world.research,
        file_name="review.pdf",
        content=PDF,
        actor=COORDINATOR,
    )
    world.fire(cycle, "review_completed")
    assert world.engine.get_cycle(cycle).state == "prototype"


def test_product_file_is_stored_under_the_data_directory(world: World, tmp_path: Path) -> None:
    """A file product is written under data_dir with its type, size and hash recorded."""
    cycle = world.start()
    product = world.engine.work.add_product(
        cycle,
        "learning_questions",
        "Agreed questions",
        world.ngo,
        file_name="questions.pdf",
        content=PDF,
        actor=COORDINATOR,
    )
    assert (product.stage, product.content_type, product.size_bytes) == (
        "question_workshop",
        "application/pdf",
        len(PDF),
    )
    path = world.engine.work.product_file(product.id or 0)
    assert path.is_relative_to(tmp_path / "data")
    assert path.read_bytes() == PDF
    event = world.engine.history(cycle)[-1]
    assert (event.kind, event.data["file"]) == ("product_added", "questions.pdf")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.pdf", PDF + b"x" * 2048, "big.pdf is 2,077 bytes; the limit is 2,048 bytes"),
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "fake.pdf does not look like application/pdf"),
        ("tool.exe", b"MZ\x90\x00", "file type '.exe' is not accepted"),
        ("notes.txt", b"\xff\xfe\x00bad", "notes.txt is not UTF-8 text"),
    ],
)
def test_refused_files_leave_neither_row_nor_file(
    world: World, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """An oversized or mistyped file is refused; nothing is stored on disk or in the database."""
    world.engine.work.files.max_bytes = 2048
    cycle = world.start()
    with pytest.raises(InvalidInput, match=message):
        world.engine.work.add_product(
            cycle,
            "learning_questions",
            "Questions",
            world.ngo,
            file_name=name,
            content=content,
            actor=COORDINATOR,
        )
    assert world.engine.work.cycle_products(cycle) == []
    assert not list((tmp_path / "data").rglob("*.*"))


def test_file_is_removed_when_the_row_is_refused(world: World, tmp_path: Path) -> None:
    """A good file for a product the database refuses (outside author) is not left behind."""
    cycle = world.start()
    with pytest.raises(InvalidInput, match=r"Kenya Seeds.*not a member"):
        world.engine.work.add_product(
            cycle,
            "learning_questions",
            "Questions",
            world.outsider,
            file_name="q.pdf",
            content=PDF,
            actor=COORDINATOR,
        )
    assert not list((tmp_path / "data").rglob("*.pdf"))


def test_product_needs_a_link_or_file_and_a_known_kind(world: World) -> None:
    """A product without link or file, with an unknown kind or a form on a review fails."""
    cycle = world.start()
    e = world.engine
    with pytest.raises(InvalidInput, match="give a link, a file, or both"):
        e.work.add_product(cycle, "prototype", "Tool", world.ngo, actor=COORDINATOR)
    with pytest.raises(InvalidInput, match="kind: must be one of learning_questions"):
        e.work.add_product(cycle, "poster", "P", world.ngo, link="https://x.example.org")
    with pytest.raises(InvalidInput, match="only prototypes and adapted versions have a form"):
        e.work.add_product(
            cycle, "good_practice_review", "R", world.ngo, form="tool", link="https://x.example.org"
        )
    with pytest.raises(InvalidInput, match="link: must be an http"):
        e.work.add_product(cycle, "prototype", "Tool", world.ngo, link="ftp://x")


def test_testing_needs_three_reported_contexts(world: World) -> None:
    """`contexts_reported: 3` counts contexts that reported this round and names them."""
    cycle = _to_testing(world)
    e = world.engine
    ids = [
        e.work.add_context(cycle, name, country, site, org, actor=COORDINATOR).id or 0
        for name, country, site, org in [
            ("Quiché", "Guatemala", "Santa Cruz del Quiché", world.research),
            ("Intibucá", "Honduras", "La Esperanza", world.ngo),
            ("Jalapa", "Guatemala", "San Pedro Pinula", world.farmers),
        ]
    ]
    e.work.report_context(cycle, ids[0], "Three groups found buyers.", "strong", actor=COORDINATOR)
    e.work.report_context(cycle, ids[1], "Useful, needs translation.", "mixed", actor=COORDINATOR)
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "testing_completed")
    assert blocked.value.reasons == (
        "3 contexts must report results; 2 have: Intibucá, Quiché",
        "contexts in 3 distinct communities must report; 2 did: "
        "la esperanza (honduras), santa cruz del quiché (guatemala)",
    )
    e.work.report_context(cycle, ids[2], "Women's group adopted it.", "strong", actor=COORDINATOR)
    world.fire(cycle, "testing_completed")
    assert [c.status for c in e.work.testing_contexts(cycle)] == ["reported"] * 3


def test_weak_results_send_the_cycle_back_and_the_next_round_starts_afresh(world: World) -> None:
    """Weak results loop back to prototype with the reason; round 2 needs fresh reports."""
    cycle = _to_testing(world)
    e = world.engine
    ids = [
        e.work.add_context(cycle, f"Site {i}", "Honduras", f"Community {i}", world.ngo).id or 0
        for i in range(3)
    ]
    for context_id in ids:
        e.work.report_context(cycle, context_id, "Farmers did not use it.", "weak")
    with pytest.raises(TransitionNotAllowed, match="a note is required"):
        world.fire(cycle, "results_weak")
    world.fire(cycle, "results_weak", note="The tool is too long for field use")
    assert world.engine.history(cycle)[-1].note == "The tool is too long for field use"
    world.fire(cycle, "prototypes_ready")
    with pytest.raises(TransitionNotAllowed, match="in testing round 2; 0 have"):
        world.fire(cycle, "testing_completed")
    for context_id in ids:
        e.work.report_context(cycle, context_id, "Shorter version works.", "strong")
    world.fire(cycle, "testing_completed")
    assert [r.visit for r in e.work.context_results(cycle)] == [1, 1, 1, 2, 2, 2]


def test_context_rules_are_enforced(world: World) -> None:
    """Results outside testing, duplicate names, outside partners and withdrawn contexts fail."""
    cycle = world.start()
    e = world.engine
    context = e.work.add_context(cycle, "Quiché", "Guatemala", "Nebaj", world.research)
    with pytest.raises(ActionNotAllowed, match="results are reported during testing"):
        e.work.report_context(cycle, context.id or 0, "Early", "strong")
    with pytest.raises(ActionNotAllowed, match="already has it"):
        e.work.add_context(cycle, "Quiché", "Guatemala", "Nebaj", world.research)
    with pytest.raises(InvalidInput, match="not a member"):
        e.work.add_context(cycle, "Nairobi", "Kenya", "Kibera", world.outsider)
    withdrawn = e.work.set_context_status(cycle, context.id or 0, "withdrawn")
    assert withdrawn.status == "withdrawn"
    assert e.history(cycle)[-1].kind == "context_updated"


def test_a_pause_is_not_a_testing_round_but_a_loop_back_is(world: World) -> None:
    """Issue 19 item 8: pausing and resuming testing continues the round (reports from before
    the pause still count, the report shows one round); looping back to prototype starts
    round 2 (fresh reports needed, even across another pause)."""
    cycle = _to_testing(world)
    e = world.engine
    ids = [
        e.work.add_context(cycle, f"Site {i}", "Honduras", f"Community {i}", world.ngo).id or 0
        for i in range(3)
    ]
    e.work.report_context(cycle, ids[0], "Before the pause.", "weak")
    world.fire(cycle, "pause", note="Funding gap")
    world.fire(cycle, "resume")
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "testing_completed")
    assert blocked.value.reasons == (
        "3 contexts must report results; 1 have: Site 0",
        "contexts in 3 distinct communities must report; 1 did: community 0 (honduras)",
    )
    for context_id in ids[1:]:
        e.work.report_context(cycle, context_id, "After the pause.", "weak")
    world.fire(cycle, "results_weak", note="Too long for field use")
    # the results email of the round carries its three reports, one from before the pause
    emails = [
        r
        for r in e.outbox.messages(cycle_id=cycle, limit=500)
        if r.kind == "stage_results" and r.stage == "multi_context_testing"
    ]
    assert emails
    assert {len(r.context["details"]["contexts"]) for r in emails} == {3}
    world.fire(cycle, "prototypes_ready")
    world.fire(cycle, "pause", note="Elections")
    world.fire(cycle, "resume")
    with pytest.raises(TransitionNotAllowed, match="in testing round 2; 0 have"):
        world.fire(cycle, "testing_completed")
    for context_id in ids:
        e.work.report_context(cycle, context_id, "Shorter version works.", "strong")
    world.fire(cycle, "testing_completed")
    report = e.work.cycle_report(cycle)
    testing = next(s for s in report.stages if s.key == "multi_context_testing")
    assert testing.visits == 2  # rounds: the two pauses are not counted
    rounds = [r["round"] for c in report.contexts for r in c["results"]]  # type: ignore[union-attr]
    assert sorted(rounds) == [1, 1, 1, 2, 2, 2]
    assert "2 rounds" in e.work.render_report(cycle)
    assert "3 rounds" not in e.work.render_report(cycle)
