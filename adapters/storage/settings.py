"""Configuration: `KOFU_DATABASE_URL` (docs/INTERFACE.md) to eventsourcing's env.

`sqlite:///PATH` (default `sqlite:///kofu.db`, in the working directory) or
`postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]`. One setting switches
the whole ledger between the embedded default and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.utils import get_topic
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
from adapters.storage.read_store import PostgresReadStore, SQLiteReadStore
from adapters.storage.recorders import PostgresLedgerRecorder, SQLiteLedgerRecorder
from domain.errors import InvalidInput

DEFAULT_URL = "sqlite:///kofu.db"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Settings(BaseSettings):
    """Settings read from the environment (prefix `KOFU_`)."""

    model_config = SettingsConfigDict(env_prefix="KOFU_")

    database_url: str = DEFAULT_URL


@dataclass(frozen=True)
class Database:
    """Where the ledger lives."""

    url: str
    backend: str  # "sqlite" | "postgres"
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"

    def describe(self) -> str:
        """A description without the password."""
        if self.backend == "sqlite":
            return f"SQLite file {self.sqlite_path}"
        where = f"{self.user}@{self.host}:{self.port}/{self.dbname}"
        return f"PostgreSQL {where} schema {self.schema}"

    def env(self) -> dict[str, str]:
        """The eventsourcing environment for the ledger application."""
        common = {
            "MAPPER_TOPIC": get_topic(PydanticMapper),
            "TRANSCODER_TOPIC": get_topic(CanonicalJSONTranscoder),
        }
        if self.backend == "sqlite":
            return common | {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLedgerRecorder),
                "TRACKING_RECORDER_TOPIC": get_topic(SQLiteReadStore),
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return common | {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
            "TRACKING_RECORDER_TOPIC": get_topic(PostgresReadStore),
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # Keep the table lock: DB functions mode breaks notification order.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }


def parse_database_url(url: str) -> Database:
    """Parse a `KOFU_DATABASE_URL`.

    Raises:
        InvalidInput: the URL is not one of the two documented forms.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = unquote(url[len("sqlite://") :])
        if not raw.startswith("/") or raw == "/":
            msg = f"expected sqlite:///PATH, got {url!r}"
            raise InvalidInput(msg, field="KOFU_DATABASE_URL")
        # sqlite:///kofu.db is relative, sqlite:////abs/kofu.db absolute.
        path = Path(raw[1:])
        return Database(url=url, backend="sqlite", sqlite_path=path)
    if parts.scheme in {"postgresql", "postgres"}:
        dbname = parts.path.lstrip("/")
        if not parts.hostname or not dbname or not parts.username:
            msg = (
                f"expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME, got {url!r}"
            )
            raise InvalidInput(msg, field="KOFU_DATABASE_URL")
        schema = parse_qs(parts.query).get("schema", ["public"])[0]
        if not _SCHEMA.fullmatch(schema):
            msg = f"schema must be a lower-case SQL identifier, got {schema!r}"
            raise InvalidInput(msg, field="KOFU_DATABASE_URL")
        return Database(
            url=url,
            backend="postgres",
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            dbname=unquote(dbname),
            schema=schema,
        )
    msg = f"KOFU_DATABASE_URL must start sqlite:/// or postgresql://, got {url!r}"
    raise InvalidInput(msg, field="KOFU_DATABASE_URL")


def database(url: str | None = None) -> Database:
    """The configured database (an explicit URL wins over the environment)."""
    return parse_database_url(url or Settings().database_url)
