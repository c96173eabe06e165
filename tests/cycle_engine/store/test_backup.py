"""`cycle-engine backup` and `restore` on the embedded SQLite database: a backup taken by a real
process while writer threads commit holds every row committed before it began and only whole
transactions; restore puts the database and the uploaded files back, refuses an archive that is
incomplete, damaged or from a newer engine, and a database another process has open."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from cycle_engine import CycleEngine
from cycle_engine.errors import InvalidInput, SchemaTooNew
from cycle_engine.store.backup import MANIFEST, backup, restore

pytestmark = pytest.mark.process

WRITERS = 4


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cycle_engine", *args], capture_output=True, text=True, timeout=120
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with uploaded files in it (nested, one private)."""
    directory = tmp_path / "data"
    (directory / "products" / "7").mkdir(parents=True)
    (directory / "products" / "7" / "review.pdf").write_bytes(b"%PDF-1.7 review" * 1000)
    (directory / "secret.key").write_text("a-secret-that-stays-private-0123456789\n")
    (directory / "secret.key").chmod(0o600)
    return directory


def test_backup_while_writers_commit_then_restore_finds_every_committed_row(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """Four threads start cycles (one transaction each: cycle, visit, event, timers) while a
    `cycle-engine backup` process runs; the restored database has every cycle committed
    before the backup began, nothing that was not committed by its end, and each whole."""
    committed: list[tuple[float, int]] = []
    stop = threading.Event()
    with CycleEngine(sqlite_url) as engine:
        engine.publish_builtin_templates()

        def write(n: int) -> None:
            while not stop.is_set():
                cycle = engine.start_cycle("rapid-cycle", f"writer {n} cycle", standalone=True)
                assert cycle.id is not None
                committed.append((time.monotonic(), cycle.id))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        try:
            while len(committed) < 200:  # writers well under way
                time.sleep(0.01)
            began = time.monotonic()
            archive = tmp_path / "backups" / "cycle-engine.tar.gz"
            made = cli("backup", str(archive), "--db", sqlite_url, "--data-dir", str(data_dir))
            ended = time.monotonic()
            assert made.returncode == 0, made.stderr
            at_end = len(committed)
            while len(committed) < at_end + 50:  # and the writers went on after it
                time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    before = {cycle_id for at, cycle_id in committed if at < began}
    by_end = {cycle_id for at, cycle_id in committed if at <= ended + 1}
    restored_url = f"sqlite:///{tmp_path / 'restored' / 'cycles.db'}"
    out = cli("restore", str(archive), "--db", restored_url, "--data-dir", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    with CycleEngine(restored_url) as restored:
        found: set[int | None] = set()
        while page := restored.cycles.list_cycles(limit=1000, offset=len(found)):
            found |= {c.id for c in page}  # every page: a loaded machine commits thousands
        assert before <= found <= by_end, (len(before), len(found), len(by_end))
        for cycle_id in found:
            assert cycle_id is not None
            assert [e.kind for e in restored.history(cycle_id)] == ["started"]
            assert len(restored.cycles.stage_visits(cycle_id)) == 1
            assert restored.timers.list_timers(cycle_id)
    for name in ("products/7/review.pdf", "secret.key"):
        assert digest(tmp_path / "r" / name) == digest(data_dir / name)
    assert (tmp_path / "r" / "secret.key").stat().st_mode & 0o777 == 0o600
    print(f"backup during {len(committed)} commits: {len(before)} before, {len(found)} restored")


def test_restore_refuses_a_database_another_process_has_open_unless_forced(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """While a process holds the database, restore refuses it; with --force it writes through
    SQLite's locks, and the open connection reads the restored rows."""
    archive = tmp_path / "before.tar.gz"
    with CycleEngine(sqlite_url) as engine:
        engine.publish_builtin_templates()
        kept = engine.start_cycle("rapid-cycle", "kept by the backup", standalone=True)
        backup(sqlite_url, archive, data_dir=data_dir)
        engine.start_cycle("rapid-cycle", "after the backup", standalone=True)
        assert len(engine.cycles.list_cycles()) == 2  # this process has the database open
        refused = cli("restore", str(archive), "--db", sqlite_url, "--data-dir", str(data_dir))
        assert refused.returncode == 1
        assert "is open in another process" in refused.stderr
        assert len(engine.cycles.list_cycles()) == 2
        forced = cli(
            "restore", str(archive), "--db", sqlite_url, "--data-dir", str(data_dir), "--force"
        )
        assert forced.returncode == 0, forced.stderr
        assert [c.id for c in engine.cycles.list_cycles()] == [kept.id]


def _rewrite(
    archive: Path,
    target: Path,
    *,
    manifest: dict[str, object] | None = None,
    drop: str | None = None,
) -> Path:
    """A copy of `archive` with its manifest replaced and/or one member left out."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            if member.name == drop:
                continue
            content = source.extractfile(member)
            assert content is not None
            data = content.read()
            if member.name == MANIFEST and manifest is not None:
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return target


def test_restore_checks_the_archive_before_writing_anything(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """A missing file, a damaged member, an unknown (newer) schema revision, a truncated
    archive and a PostgreSQL URL are each refused with the reason; the target is untouched."""
    archive = tmp_path / "good.tar.gz"
    with CycleEngine(sqlite_url) as engine:
        engine.publish_builtin_templates()
    backup(sqlite_url, archive, data_dir=data_dir)
    target = tmp_path / "target" / "cycles.db"
    target_url = f"sqlite:///{target}"
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    missing = _rewrite(archive, tmp_path / "missing.tar.gz", drop="files/products/7/review.pdf")
    with pytest.raises(InvalidInput, match=r"incomplete: files/products/7/review.pdf is missing"):
        restore(missing, target_url, data_dir=tmp_path / "out")
    damaged_manifest = {**manifest, "files": [{**f, "sha256": "0" * 64} for f in manifest["files"]]}
    damaged = _rewrite(archive, tmp_path / "damaged.tar.gz", manifest=damaged_manifest)
    with pytest.raises(InvalidInput, match="does not match its checksum"):
        restore(damaged, target_url, data_dir=tmp_path / "out")
    newer = _rewrite(archive, tmp_path / "newer.tar.gz", manifest={**manifest, "revision": "9999"})
    with pytest.raises(SchemaTooNew, match="9999 is newer"):
        restore(newer, target_url, data_dir=tmp_path / "out")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(InvalidInput, match="archive"):
        restore(truncated, target_url, data_dir=tmp_path / "out")
    with pytest.raises(InvalidInput, match="pg_dump"):
        restore(archive, "postgresql+psycopg://postgres@127.0.0.1/x", data_dir=tmp_path / "out")
    assert not target.exists() and not (tmp_path / "out").exists()
    assert restore(archive, target_url, data_dir=tmp_path / "out") == manifest["revision"]
    assert digest(tmp_path / "out" / "products/7/review.pdf") == digest(
        data_dir / "products/7/review.pdf"
    )
