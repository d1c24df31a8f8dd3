"""Composition root: build the ledger on the configured storage."""

from __future__ import annotations

import psycopg
from psycopg import sql

from adapters.storage.merkle_log import CHECKPOINTS, LEAVES, NODES
from adapters.storage.settings import Database, database
from domain.ledger import Ledger

TABLES = ("kofu_events", LEAVES, NODES, CHECKPOINTS)
"""The tables whose absence makes `open_ledger` create what is missing."""


class StorageUnavailableError(Exception):
    """The database cannot be reached (exit code 3)."""


def _connect(db: Database) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password or None,
            dbname=db.dbname,
            connect_timeout=10,
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        msg = f"cannot reach {db.describe()}: {str(exc).strip()}"
        raise StorageUnavailableError(msg) from exc


def open_ledger(url: str | None = None) -> Ledger:
    """The ledger on the database named by `url` or `KOFU_DATABASE_URL`.

    Creates what is missing: the PostgreSQL schema (the library never creates one)
    and the library's tables. PostgreSQL's `CREATE ... IF NOT EXISTS` fails when
    several processes run it at once ("tuple concurrently updated"), so there the
    creation runs under an advisory lock, and only when one of `TABLES` is missing
    (a ledger made before the Merkle log gets the log's tables).
    """
    db = database(url)
    if db.backend == "sqlite":
        assert db.sqlite_path is not None  # noqa: S101
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return _construct(db, db.env())
    lock = f"kofu:{db.schema}"
    with _connect(db) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
        try:
            schema = sql.Identifier(db.schema).as_string(conn)
            found = conn.execute(
                "SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest(%s::text[]) t",
                ([f"{schema}.{table}" for table in TABLES],),
            ).fetchone()
            missing = not (found and found[0])
            if missing:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(db.schema)
                    )
                )
            ledger = _construct(db, db.env() | {"CREATE_TABLE": "n"})
            if missing:
                ledger.recorder.create_table()  # type: ignore[attr-defined]
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))
    return ledger


def _construct(db: Database, env: dict[str, str]) -> Ledger:
    try:
        return Ledger(env=env)
    except Exception as exc:
        if storage_unavailable(exc):
            msg = f"cannot reach {db.describe()}: {exc}"
            raise StorageUnavailableError(msg) from exc
        raise


def storage_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached (exit 3, HTTP 503)."""
    from eventsourcing.persistence import InterfaceError, OperationalError  # noqa: PLC0415

    kinds = StorageUnavailableError | OperationalError | InterfaceError
    return isinstance(exc, kinds | psycopg.OperationalError)
