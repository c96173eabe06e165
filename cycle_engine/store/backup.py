"""Backups of the embedded default: the SQLite database and the uploaded files in one archive.

`backup` takes a consistent copy of a live database with SQLite's online backup API (one step,
so the copy is the database as of one instant; writers go on meanwhile, WAL readers never block
them), then adds the files of the data directory (uploaded products, the development mailbox,
the secret file) and a manifest with each member's size and SHA-256. The database is copied
first, so every file a copied row names was already on disk.

`restore` checks before it touches anything: the archive is this format, complete (every member
the manifest lists, with its checksum), its database is intact (`PRAGMA integrity_check`) and on a
schema revision this engine knows, and the target database is not open in another process
(unless `force`). It then writes the database through the same backup API (safe for a process
that still has it open) or moves it into place, and writes the files. PostgreSQL is backed up
with `pg_dump` (README, "Backups").
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.engine import make_url

from cycle_engine.errors import InvalidInput, SchemaTooNew
from cycle_engine.store.schema import LEGACY_VERSION_TABLE, VERSION_TABLE, known_revisions

FORMAT = "cycle-engine-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = "database.sqlite3"
FILES = "files"
#: The byte of the `-shm` file every connection to a WAL database holds a shared lock on.
_SHM_CONNECTED_BYTE = 128
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, kw_only=True)
class BackupReport:
    """What an archive holds: its schema revision, the database's size and the files."""

    archive: Path
    revision: str
    database_bytes: int
    files: int
    created_at: str


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; raises InvalidInput for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise InvalidInput(
            "database",
            f"backup and restore are for the embedded SQLite database, not "
            f"{parsed.get_backend_name()}; on PostgreSQL use pg_dump (README, Backups)",
        )
    if not parsed.database or parsed.database == ":memory:":
        raise InvalidInput("database", "an in-memory database has nothing to back up")
    return Path(parsed.database)


def database_in_use(path: Path) -> bool:
    """Whether another process has the WAL database at `path` open (it holds a lock in `-shm`).

    Probe from a process that has no connection of its own to `path`: POSIX locks belong to
    processes, so the probe cannot see this process's own connections.
    """
    shm = path.with_name(path.name + "-shm")
    if not shm.exists():
        return False
    fd = os.open(shm, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_CONNECTED_BYTE)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases the probe's lock, if it got one
    return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _revision(connection: sqlite3.Connection) -> str:
    """The engine's schema revision in a database; raises InvalidInput when it has none."""
    for table in (VERSION_TABLE, LEGACY_VERSION_TABLE):
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if exists:
            rows = [row[0] for row in connection.execute(f'SELECT version_num FROM "{table}"')]
            ours = [r for r in rows if r in known_revisions()] if table != VERSION_TABLE else rows
            if ours:
                return str(ours[0])
    raise InvalidInput("database", "has no Cycle Engine schema (run `cycle-engine init` first)")


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[tuple[Path, str]]:
    """Every regular file under `data_dir` but those in `skip`, with its archive-relative name."""
    if not data_dir.is_dir():
        return
    for path in sorted(data_dir.rglob("*")):
        resolved = path.resolve()
        if not path.is_file() or path.is_symlink() or resolved in skip:
            continue
        if any(parent in skip for parent in resolved.parents):
            continue
        yield path, path.relative_to(data_dir).as_posix()


def _entry(path: Path, name: str) -> dict[str, Any]:
    """A file's line in the manifest: its archive name, size, checksum and permissions."""
    stat = path.stat()
    return {
        "path": name,
        "bytes": stat.st_size,
        "sha256": _sha256(path),
        "mode": stat.st_mode & 0o777,
    }


def backup(url: str, archive: Path, *, data_dir: Path = Path("data")) -> BackupReport:
    """Write the database at `url` and the files under `data_dir` into `archive` (tar.gz).

    Raises InvalidInput: not a SQLite URL, no such database, or no engine schema in it.
    """
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise InvalidInput("database", f"{source_path} does not exist")
    archive = archive.resolve()
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".backup-") as work:
        copy = Path(work) / DATABASE_MEMBER
        with (
            closing(sqlite3.connect(source_path, timeout=30)) as source,
            closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)  # pages=-1: every page in one step, one instant's state
            revision = _revision(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        live = source_path.resolve()
        skip = {live, *(live.with_name(live.name + s) for s in _SIDE_FILES), archive}
        skip.add(Path(work).resolve())
        files = [(path, _entry(path, name)) for path, name in _data_files(data_dir, skip)]
        database = _entry(copy, DATABASE_MEMBER)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created,
            "revision": revision,
            "database": database,
            "files": [entry for _, entry in files],
        }
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(copy, arcname=DATABASE_MEMBER)
            for path, entry in files:
                tar.add(path, arcname=f"{FILES}/{entry['path']}", recursive=False)
        os.replace(partial, archive)
    return BackupReport(
        archive=archive,
        revision=revision,
        database_bytes=int(database["bytes"]),
        files=len(files),
        created_at=created,
    )


def _member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        handle = tar.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise InvalidInput("archive", f"is incomplete: {name} is missing")
    with handle:
        return handle.read()


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput("archive", f"names a file outside the data directory: {name!r}")
    return path


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    """The archive's manifest; raises InvalidInput when it is not a Cycle Engine backup."""
    try:
        manifest = json.loads(_member_bytes(tar, MANIFEST))
    except (ValueError, InvalidInput):
        raise InvalidInput(
            "archive", "is not a Cycle Engine backup (no readable manifest)"
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            "archive", f"is format {manifest.get('format')!r} v{manifest.get('format_version')}"
        )
    return dict(manifest)


def _checked(tar: tarfile.TarFile, name: str, entry: dict[str, Any]) -> bytes:
    content = _member_bytes(tar, name)
    if len(content) != entry["bytes"] or hashlib.sha256(content).hexdigest() != entry["sha256"]:
        raise InvalidInput("archive", f"is damaged: {name} does not match its checksum")
    return content


Member = tuple[PurePosixPath, bytes, dict[str, Any]]


def _read_archive(archive: Path) -> tuple[dict[str, Any], bytes, list[Member]]:
    """The manifest, the database and the files of `archive`, each checked against the manifest."""
    if not archive.is_file():
        raise InvalidInput("archive", f"{archive} does not exist")
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifest = read_manifest(tar)
            database = _checked(tar, DATABASE_MEMBER, manifest["database"])
            files = [
                (_safe_relative(e["path"]), _checked(tar, f"{FILES}/{e['path']}", e), e)
                for e in manifest["files"]
            ]
    except (tarfile.TarError, OSError, EOFError) as error:
        raise InvalidInput("archive", f"cannot be read: {error}") from None
    return manifest, database, files


def restore(archive: Path, url: str, *, data_dir: Path = Path("data"), force: bool = False) -> str:
    """Put the database and files of `archive` back at `url` and under `data_dir`.

    Returns the restored schema revision. Raises InvalidInput (not a backup, incomplete or
    damaged, the database is open in another process and `force` is not set) or SchemaTooNew
    (the archive comes from a newer engine); nothing is written until every check passed.
    """
    target = sqlite_path(url)
    manifest, database, files = _read_archive(archive)
    if manifest["revision"] not in known_revisions():
        raise SchemaTooNew(
            f"the backup's schema revision {manifest['revision']} is newer than this engine; "
            "restore it with the engine version that made it"
        )
    if not force and database_in_use(target):
        raise InvalidInput(
            "database",
            f"{target} is open in another process (a running serve, worker or sender); stop "
            "them first, or pass --force to overwrite it in place",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".restore-") as work:
        copy = Path(work) / DATABASE_MEMBER
        copy.write_bytes(database)
        with closing(sqlite3.connect(copy)) as restored:
            if restored.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise InvalidInput("archive", "its database fails SQLite's integrity check")
            revision = _revision(restored)
            if target.exists():
                with closing(sqlite3.connect(target, timeout=30)) as live:
                    restored.backup(live)  # under SQLite's locks: safe for open connections
        if not target.exists():
            os.replace(copy, target)
    _write_files(data_dir, files)
    return revision


def _write_files(data_dir: Path, files: list[Member]) -> None:
    for relative, content, entry in files:
        path = data_dir.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.restoring")
        partial.write_bytes(content)
        os.chmod(partial, int(entry.get("mode", 0o644)))
        os.replace(partial, path)
