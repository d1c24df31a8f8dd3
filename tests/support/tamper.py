"""Tampering with the stored events directly, as an attacker with the database's keys.

Shared by tests/integration/test_integrity.py and tests/integration/test_replay.py.
"""

from __future__ import annotations

import sqlite3

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql


def tamper(url: str, statements: list[str]) -> None:
    """Run SQL against the ledger's own tables, bypassing kofu."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        for statement in statements:
            con.execute(
                statement.replace("EVENTS", "stored_events").replace("ID", "rowid")
            )
        con.commit()
        con.close()
        return
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        # An attacker with superuser rights can switch the immutability triggers off.
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in statements:
            conn.execute(
                statement.replace("EVENTS", "kofu_events").replace(
                    "ID", "notification_id"
                )
            )  # type: ignore[arg-type]


def insert_event(url: str, stored: StoredEvent) -> int:
    """A plain INSERT of one stored event, around kofu's recorder; its position."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            cursor = con.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, "
                "state) VALUES (?, ?, ?, ?)",
                (
                    stored.originator_id.hex,  # type: ignore[union-attr]
                    stored.originator_version,
                    stored.topic,
                    stored.state,
                ),
            )
            con.commit()
            return int(cursor.lastrowid or 0)
        finally:
            con.close()
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute(
            sql.SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state) "
                "VALUES (%s, %s, %s, %s) RETURNING notification_id"
            ).format(sql.Identifier(schema, "kofu_events")),
            (
                stored.originator_id,
                stored.originator_version,
                stored.topic,
                stored.state,
            ),
        ).fetchone()
        assert row is not None
        return int(row[0])
