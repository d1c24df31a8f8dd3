"""Composition root: build the ledger on the configured storage."""

from __future__ import annotations

import psycopg
from psycopg import sql

from adapters.settings import Database, database
from domain.ledger import Ledger


class StorageUnavailableError(Exception):
    """The database cannot be reached (exit code 3)."""


def prepare_storage(db: Database) -> None:
    """Create what the library will not: the PostgreSQL schema (idempotent)."""
    if db.backend == "sqlite":
        assert db.sqlite_path is not None  # noqa: S101
        if db.sqlite_path.parent and not db.sqlite_path.parent.exists():
            db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return
    try:
        with psycopg.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password or None,
            dbname=db.dbname,
            connect_timeout=10,
            autocommit=True,
        ) as conn:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(db.schema)
                )
            )
    except psycopg.OperationalError as exc:
        msg = f"cannot reach {db.describe()}: {str(exc).strip()}"
        raise StorageUnavailableError(msg) from exc


def open_ledger(url: str | None = None) -> Ledger:
    """The ledger on the database named by `url` or `KOFU_DATABASE_URL`."""
    db = database(url)
    prepare_storage(db)
    try:
        return Ledger(env=db.env())
    except Exception as exc:
        if _is_unavailable(exc):
            msg = f"cannot reach {db.describe()}: {exc}"
            raise StorageUnavailableError(msg) from exc
        raise


def _is_unavailable(exc: BaseException) -> bool:
    from eventsourcing.persistence import InterfaceError, OperationalError  # noqa: PLC0415

    return isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError)
