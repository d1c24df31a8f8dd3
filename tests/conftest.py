"""Fixtures: every persistence test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KOFU_TEST_POSTGRES_URL (default: the machine's server, database
`test`); each test gets a schema of its own, dropped afterwards. Nothing is skipped:
if PostgreSQL is down the PostgreSQL half fails (scripts/test starts it first).
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from adapters.cli.main import app
from adapters.inputs.keys import demo_key
from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain import clock as ledger_clock
from domain.checkpoint import SignerKey
from domain.clock import JST, SimulatedClock
from domain.ledger import Ledger

SIGNING_KEY = SignerKey.generate("test.kofu.invalid/ledger")
"""The writer's key of this test session (made per session; never a real one)."""
os.environ["KOFU_SIGNING_KEY"] = str(SIGNING_KEY)
os.environ.pop("KOFU_SIGNING_KEY_FILE", None)
# Readers trust the session's key, and the published DEMO key the demo signs with.
os.environ["KOFU_VERIFIER_KEYS"] = f"{SIGNING_KEY.verifier()} {demo_key().verifier()}"

PG_BASE = os.environ.get(
    "KOFU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
WORLD_PREFECTURES = ("13", "14")
SHINJUKU = "131041"


IN_WINDOW = datetime(2019, 10, 10, 10, tzinfo=JST)
"""The default time of a test: inside the FY2020 submission window (10:00 JST)."""


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[SimulatedClock]:
    """The ledger's clock for one test: simulated, in this process, never a caller's.

    Starts inside the FY2020 submission window; a test moves it forward with
    `clock.set_day(...)`. A test on the module-scoped `api` ledger keeps that
    ledger's own simulated clock.
    """
    current = ledger_clock.current()
    if "api" in request.fixturenames and isinstance(current, SimulatedClock):
        yield current
        return
    with ledger_clock.installed(SimulatedClock(IN_WINDOW)) as installed:
        assert isinstance(installed, SimulatedClock)
        yield installed


def _drop_schema(schema: str) -> None:
    conninfo = PG_BASE.split("?")[0]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@contextmanager
def backend_url(backend: str, folder: Path, prefix: str) -> Iterator[str]:
    """A fresh, empty ledger location on one backend (also for module fixtures).

    SQLite: `kofu.db` in `folder`; PostgreSQL: a schema of its own named after
    `prefix`, dropped afterwards.
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'kofu.db'}"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_BASE.split('?')[0]}?schema={schema}"
    finally:
        _drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger location on each backend."""
    with backend_url(request.param, tmp_path, "kofu_test") as url:
        yield url


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """A ledger on a fresh database (closed afterwards)."""
    opened = open_ledger(database_url)
    yield opened
    opened.close()


class Kofu:
    """Runs the `kofu` command line in-process against one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str | Path) -> tuple[int, str]:
        result = self.runner.invoke(
            app, [str(a) for a in args], env={"KOFU_DATABASE_URL": self.url}
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def events(self) -> int:
        opened = open_ledger(self.url)
        try:
            return opened.count_events()
        finally:
            opened.close()


@pytest.fixture
def kofu(database_url: str) -> Kofu:
    """The CLI bound to a fresh database."""
    return Kofu(database_url)


def write_world(folder: Path) -> list[Path]:
    """Reference files for a small world: Tokyo and Kanagawa, FY2020."""
    reference = data_dir() / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("prefectures.csv", "municipalities.csv", "designated_city_wards.csv"):
        with (reference / name).open(encoding="utf-8") as source:
            rows = list(csv.reader(source))
        kept = [rows[0]] + [r for r in rows[1:] if r[0] in WORLD_PREFECTURES]
        target = folder / name
        with target.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(kept)
        paths.append(target)
    paths.append(data_dir() / "programmes" / "fy2020.yaml")
    paths.extend(
        data_dir() / "catalogues" / f"fy2020-{tier}-v1.yaml"
        for tier in ("municipal", "prefectural")
    )
    return paths


@pytest.fixture
def world(kofu: Kofu, tmp_path: Path) -> Kofu:
    """The small world loaded into a fresh database through `kofu load`."""
    code, output = kofu("load", *write_world(tmp_path / "world"))
    assert code == 0, output
    return kofu


def submission(**overrides: object) -> dict[str, object]:
    """A valid FY2020 submission by 新宿区 (fields overridable)."""
    base: dict[str, object] = {
        "entity": SHINJUKU,
        "grant_year": 2020,
        "tier": "municipal",
        "answers": {"I-1-a": True},
    }
    base.update(overrides)
    return base


def correction(**overrides: str) -> list[str]:
    """`kofu correct` arguments for a valid ministry correction (overridable)."""
    options = {
        "--entity": SHINJUKU,
        "--fiscal-year": "2020",
        "--item": "I-1-a",
        "--value": "false",
        "--reason": "根拠資料なし",
        "--basis": "老認発第1号",
        "--actor": "ministry:yamada",
    } | overrides
    return ["correct", *[x for pair in options.items() for x in pair]]


# ---------------------------------------------------------------- HTTP API

PUBLISHED_RUN = "FY2020-promotion-municipal-settlement-1"
UNPUBLISHED_RUN = "FY2020-promotion-municipal-expected-1"
TOKEN_HOLDERS = {
    "insurer": ("insurer", ("131041",), "shinjuku"),
    "other_insurer": ("insurer", ("131016",), "chiyoda"),
    "prefecture": ("prefecture", ("130001",), "tokyo"),
    "other_prefecture": ("prefecture", ("140007",), "kanagawa"),
    "ministry": ("ministry", (), "yamada"),
    "auditor": ("auditor", (), "boa"),
    "reader": ("reader", (), "press"),
    "revoked": ("ministry", (), "retired"),
}


class Api:
    """The HTTP API on a demo ledger (Tokyo and Kanagawa, FY2020), with tokens."""

    def __init__(self, client: object, url: str, secrets: dict[str, str]) -> None:
        from fastapi.testclient import TestClient

        assert isinstance(client, TestClient)
        self.client = client
        self.url = url
        self.secrets = secrets

    def headers(self, who: str | None, **more: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.secrets[who]}"} if who else {}
        return auth | more

    def events(self) -> int:
        service = self.client.app.state.service  # type: ignore[attr-defined]
        return int(service.ledger.count_events())

    def call(
        self,
        who: str | None,
        method: str,
        path: str,
        json: object = None,
        **headers: str,
    ) -> httpx.Response:
        return self.client.request(
            method, path, json=json, headers=self.headers(who, **headers)
        )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A demo year of two prefectures, one run published, a token per holder."""
    from fastapi.testclient import TestClient
    from rich.console import Console

    from adapters.http.app import create_app
    from adapters.inputs.tokens import MAX_TOKEN_DAYS, issue
    from adapters.kofu import Kofu as KofuFacade
    from adapters.kofu import run_demo
    from domain.commands import PublishRun, RevokeToken

    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'kofu.db'}"
    else:
        schema = f"kofu_api_{uuid.uuid4().hex[:12]}"
        url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    simulated = SimulatedClock(datetime(2019, 9, 1, tzinfo=JST))
    with ledger_clock.installed(simulated):
        opened = open_ledger(url)
        run_demo(opened, 2020, 5, Console(quiet=True), prefectures=WORLD)
        simulated.set_day(API_SETUP_DAY)
        _open_fy2024(opened)
        simulated.set_day(API_DAY)
        # The longest tokens: `kofu serve` child processes read them on the
        # machine's clock, years after this ledger's simulated test day.
        secrets = {
            holder: issue(
                opened,
                role,  # type: ignore[arg-type]
                scope,
                name,
                "system:test",
                days=MAX_TOKEN_DAYS,
            ).secret
            for holder, (role, scope, name) in TOKEN_HOLDERS.items()
        }
        token_id = secrets["revoked"].split("_")[1]
        opened.revoke_token(RevokeToken(token_id=token_id, actor="system:test"))
        opened.publish(PublishRun(run_id=PUBLISHED_RUN, actor="ministry:yamada"))
        # Written through the ledger directly: the writer (this fixture) signs.
        KofuFacade(ledger=opened).checkpoint()
        opened.close()
        with TestClient(create_app(url), raise_server_exceptions=False) as client:
            yield Api(client, url, secrets)
    if schema:
        _drop_schema(schema)


WORLD = set(WORLD_PREFECTURES)
API_SETUP_DAY = date(2021, 7, 1)
"""After the FY2020 demo's settlement: the `api` ledger loads FY2024."""
API_DAY = date(2023, 10, 10)
"""The `api` ledger's tokens, publication and tests: FY2024's submission window is
open, FY2020's deadline long past (so FY2020 corrections are allowed)."""


def _open_fy2024(opened: Ledger) -> None:
    """Load the FY2024 programme and catalogues, so that a window is open."""
    from rich.console import Console

    from adapters.inputs.loading import load_reference

    files = [data_dir() / "programmes" / "fy2024.yaml"] + [
        data_dir() / "catalogues" / f"fy2024-{tier}-v1.yaml"
        for tier in ("municipal", "prefectural")
    ]
    for _ in load_reference(opened, files, "system:test", Console(quiet=True)):
        pass
