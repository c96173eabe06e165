"""Moving an alliance (or one cycle) between installations as one JSON document.

    export_alliance(engine, alliance_id)   the alliance, its organisations and people, their
                                           roles and preferences, every cycle with its template,
                                           history, stage visits, timers, stall flags, work plan,
                                           participation, products' metadata, contexts and
                                           results, questions and learning
    export_cycle(engine, cycle_id)         the same for one cycle (with its alliance's members)
    import_document(engine, document)      insert it into another database, every id remapped

The document is plain JSON (`cycle-engine export alliance ID FILE`, `cycle-engine import FILE`):
rows per table with their original ids, dates as ISO 8601. Import is one transaction and refuses
an alliance, organisation or person (by email) that already exists, so it goes into an empty
database, or one that does not know these partners yet. Not carried: API keys, webhook
subscriptions (their secrets stay where they were made), dashboard sessions, the outbox (what was
sent stays in the old installation's log), and the product files themselves (copy the data
directory's files, or restore a backup; rows keep their relative `file_path`).
"""

from __future__ import annotations

from cycle_engine.transfer.document import FORMAT, FORMAT_VERSION
from cycle_engine.transfer.exporting import export_alliance, export_cycle
from cycle_engine.transfer.importing import ImportReport, import_document

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ImportReport",
    "export_alliance",
    "export_cycle",
    "import_document",
]
