"""PostgreSQL least privilege: a role for the running application (`kofu init`).

The owner of the ledger's tables (whoever runs `kofu init`) protects the events
and the Merkle log's rows with triggers it owns (`integrity.protect`), then
`grant_app_role` makes a role for the running application that can record and
read but not change or remove what is stored:

* the events (`kofu_events`): SELECT, INSERT, and the privilege the library's
  `LOCK TABLE … IN EXCLUSIVE MODE` needs. On PostgreSQL 15 and 16 a lock mode
  stronger than ROW EXCLUSIVE needs table-level UPDATE, DELETE or TRUNCATE (the
  `LOCK` page, "Notes"); UPDATE is granted and every UPDATE is refused by the
  owner's row trigger. From PostgreSQL 17 the MAINTAIN privilege allows any lock
  mode, and it is granted instead of UPDATE;
* the log's leaves, nodes and checkpoints: SELECT and INSERT only (the writer
  never updates or deletes them);
* the schema: USAGE and CREATE (the read models' tables, which the application
  creates, rebuilds and drops, are its own);
* the old hash chain (`kofu_chain`, `kofu_chain_checkpoints`): SELECT, INSERT,
  DELETE (a chain checkpoint is replaced); it is not protected (docs/INTEGRITY.md);
* every other table already in the schema (read models made before) and every
  sequence: handed over to the role (ALTER … OWNER), so rebuilding works.

The role cannot drop, alter, disable or replace the owner's triggers or their
function (not the owner), and `session_replication_role` (which skips triggers)
is a superuser's setting. The role is created (LOGIN, no password: set one, or
use the server's authentication) if it does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from adapters.storage.integrity import PROTECTED
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.ledger import Ledger

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CHAIN = ("kofu_chain", "kofu_chain_checkpoints")
MAINTAIN_FROM = 170000
"""The server version from which MAINTAIN allows `LOCK TABLE … IN EXCLUSIVE MODE`."""


def owner_only_file(ledger: Ledger) -> list[Path]:
    """SQLite: make the database file (and its WAL files) owner-only (0600).

    SQLite has no roles: whoever can write the file can change anything in it,
    triggers included. What kofu does there is keep the file to its owner; the
    seal and the signed checkpoints show what changed. Nothing on PostgreSQL.
    """
    datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
    if (
        not isinstance(datastore, SQLiteDatastore)
        or datastore.pool.is_sqlite_memory_mode
    ):
        return []
    main = Path(datastore.pool.db_name)
    changed = []
    for path in (main, Path(f"{main}-wal"), Path(f"{main}-shm")):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
            changed.append(path)
    return changed


def grant_app_role(ledger: Ledger, role: str) -> list[str]:
    """Create (if needed) and grant the application's role; the statements run.

    Run by the owner of the ledger's tables, after `integrity.protect`.

    Raises:
        InvalidInput: not PostgreSQL, or not a lower-case role name.
    """
    datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
    if not isinstance(datastore, PostgresDatastore):
        msg = "--app-role is for PostgreSQL (SQLite: protect the file's permissions)"
        raise InvalidInput(msg, field="--app-role")
    if not _ROLE.fullmatch(role):
        msg = f"a role name is a lower-case SQL identifier, got {role!r}"
        raise InvalidInput(msg, field="--app-role")
    ran: list[str] = []
    with datastore.transaction(commit=True) as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        exists = cursor.fetchone() is not None
        cursor.execute("SHOW server_version_num")
        row: Any = cursor.fetchone()
        version = int(next(iter(row.values())) if isinstance(row, dict) else row[0])
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s",
            (datastore.schema,),
        )
        tables = sorted(
            str(r["tablename"] if isinstance(r, dict) else r[0])
            for r in cursor.fetchall()
        )
        for statement in _statements(
            datastore.schema, role, tables, version, create=not exists
        ):
            cursor.execute(statement)
            ran.append(statement.as_string(cursor))
    return ran


def _statements(
    schema: str, role: str, tables: list[str], version: int, *, create: bool
) -> list[sql.Composed]:
    who = sql.Identifier(role)

    def on(table: str) -> sql.Identifier:
        return sql.Identifier(schema, table)

    lock = "MAINTAIN" if version >= MAINTAIN_FROM else "UPDATE"
    found: list[sql.Composed] = []
    if create:
        found.append(sql.SQL("CREATE ROLE {} LOGIN").format(who))
    found.append(
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
            sql.Identifier(schema), who
        )
    )
    for table in PROTECTED:
        found.append(
            sql.SQL(
                "REVOKE ALL ON {} FROM {}"  # a grant made before is taken back
            ).format(on(table), who)
        )
        privileges = "SELECT, INSERT" + (f", {lock}" if table == "kofu_events" else "")
        found.append(
            sql.SQL(f"GRANT {privileges} ON {{}} TO {{}}").format(on(table), who)
        )
    found.extend(
        sql.SQL("GRANT SELECT, INSERT, DELETE ON {} TO {}").format(on(table), who)
        for table in CHAIN
        if table in tables
    )
    found.extend(
        sql.SQL("ALTER TABLE {} OWNER TO {}").format(on(table), who)
        for table in tables
        if table not in PROTECTED and table not in CHAIN
    )
    found.append(
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
            sql.Identifier(schema), who
        )
    )
    return found
