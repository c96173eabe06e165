"""Products of each stage, as the method names them: learning questions, a good-practice review,
prototypes (a method, tool or approach), adapted versions, documented results and answers to
the learning questions. Each has a link, a stored file, or both.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, exists
from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    CycleOp,
    active_stage,
    member_organisation,
    require_choice,
    require_text,
    require_work_stage,
)
from cycle_engine.alliances.files import StoredFile
from cycle_engine.errors import InvalidInput
from cycle_engine.store.prepared import Prepared, fetch
from cycle_engine.store.tables.alliances import ProductRecord

PRODUCT_KINDS = (
    "learning_questions",
    "good_practice_review",
    "prototype",
    "adapted_version",
    "documented_results",
    "answers",
)
PRODUCT_KIND_TITLES = {
    "learning_questions": "Learning questions",
    "good_practice_review": "Good-practice review",
    "prototype": "Prototype",
    "adapted_version": "Adapted version",
    "documented_results": "Documented results",
    "answers": "Answers to the learning questions",
}
#: What a prototype or an adapted version is.
PRODUCT_FORMS = ("method", "tool", "approach")


def _check_link(link: str | None) -> str | None:
    if link is None or not link.strip():
        return None
    link = link.strip()
    if not link.startswith(("https://", "http://")) or len(link) > 1000:
        raise InvalidInput(
            "link", f"must be an http(s) address of at most 1000 characters: {link!r}"
        )
    return link


def add_product(
    op: CycleOp,
    *,
    kind: str,
    title: str,
    author_organisation_id: int,
    stage: str | None = None,
    link: str | None = None,
    form: str | None = None,
    stored: StoredFile | None = None,
) -> ProductRecord:
    """Record a product (the file, if any, is already stored and checked)."""
    op.require_active("add a product")
    require_choice("kind", kind, PRODUCT_KINDS)
    title = require_text("title", title)
    link = _check_link(link)
    if link is None and stored is None:
        raise InvalidInput("product", "give a link, a file, or both")
    if form is not None:
        require_choice("form", form, PRODUCT_FORMS)
        if kind not in ("prototype", "adapted_version"):
            raise InvalidInput(
                "form", f"only prototypes and adapted versions have a form, not {kind}"
            )
    stage = require_work_stage(op.spec, stage or active_stage(op.cycle) or "")
    author = member_organisation(op.session, op.alliance(), author_organisation_id, "author")
    product = ProductRecord(
        cycle_id=op.cycle_id,
        stage=stage,
        kind=kind,
        form=form,
        title=title,
        link=link,
        file_path=stored.path if stored else None,
        file_name=stored.name if stored else None,
        content_type=stored.content_type if stored else None,
        size_bytes=stored.size if stored else None,
        sha256=stored.sha256 if stored else None,
        author_organisation_id=author_organisation_id,
        created_at=op.now,
        created_by=op.actor.name,
    )
    op.session.add(product)
    op.session.flush()
    op.emit(
        "product_added",
        {
            "product_id": product.id,
            "kind": kind,
            "stage": stage,
            "title": title,
            "author_organisation_id": author_organisation_id,
            "author": author.name,
            "file": stored.name if stored else None,
            "link": link,
        },
    )
    return product


def products_of(session: Session, cycle_id: int, kind: str | None = None) -> list[ProductRecord]:
    query = select(ProductRecord).where(ProductRecord.cycle_id == cycle_id)
    if kind is not None:
        query = query.where(ProductRecord.kind == kind)
    return list(session.exec(query.order_by(col(ProductRecord.id))))


#: Whether a cycle has a product of a kind (through `ix_products_cycle_id`): one statement built
#: once, so the product guard on every read of a cycle does not load the products.
_HAS_KIND = Prepared(
    select(
        exists().where(
            col(ProductRecord.cycle_id) == bindparam("cycle_id", type_=Integer()),
            col(ProductRecord.kind) == bindparam("kind", type_=String()),
        )
    )
)


def has_product(session: Session, cycle_id: int, kind: str) -> bool:
    ((found,),) = fetch(session, _HAS_KIND, {"cycle_id": cycle_id, "kind": kind})
    return bool(found)
