"""`kofu tokens` and `kofu publish`: secrets shown once and kept only hashed;
publication only by the ministry, once."""

from __future__ import annotations

import hashlib

import pytest

from adapters.kofu import Kofu as Facade
from adapters.storage.bootstrap import open_ledger
from adapters.storage.projecting import catch_up
from adapters.storage.rebuilding import open_store
from tests.conftest import Api, Kofu

RUN = "FY2020-promotion-municipal-reference-1"


@pytest.fixture
def tokyo(api: Api) -> Kofu:
    """The CLI on the module's demo ledger (Tokyo and Kanagawa, FY2020)."""
    return Kofu(api.url)


def test_an_issued_secret_is_printed_once_and_only_its_hash_is_recorded(
    tokyo: Kofu,
) -> None:
    code, output = tokyo(
        "tokens", "issue", "--role", "insurer", "--entity", "131041", "--name", "x"
    )
    assert code == 0, output
    secret = output.strip().splitlines()[-1]
    assert secret.startswith("kofu_")
    opened = open_ledger(tokyo.url)
    try:
        token = Facade(ledger=opened).authenticate(secret)
        assert token is not None
        assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert (token.role, token.scope) == ("insurer", ("131041",))
        stored = opened.recorder.select_notifications(start=1, limit=100_000)
        assert not any(secret.encode() in bytes(n.state) for n in stored)
    finally:
        opened.close()
    code, listing = tokyo("tokens", "list", "--format", "json")
    assert code == 0
    assert token.token_id in listing
    assert secret not in listing


def test_a_revoked_token_no_longer_authenticates(tokyo: Kofu) -> None:
    _, output = tokyo("tokens", "issue", "--role", "auditor", "--name", "boa")
    secret = output.strip().splitlines()[-1]
    token_id = secret.split("_")[1]
    code, _ = tokyo("tokens", "revoke", token_id)
    assert code == 0
    opened = open_ledger(tokyo.url)
    try:
        assert Facade(ledger=opened).authenticate(secret) is None
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--role", "king", "--name", "x"], "role"),
        (["--role", "insurer", "--name", "x"], "entity"),
        (["--role", "insurer", "--entity", "130001", "--name", "x"], "entity"),
        (["--role", "ministry", "--entity", "131041", "--name", "x"], "entity"),
        (["--role", "reader", "--name", "has space"], "name"),
    ],
)
def test_a_token_that_does_not_fit_its_role_is_refused_and_nothing_is_written(
    tokyo: Kofu, args: list[str], field: str
) -> None:
    before = tokyo.events()
    code, output = tokyo("tokens", "issue", *args)
    assert code == 2
    assert field in output
    assert tokyo.events() == before


def test_only_the_ministry_publishes_and_publishing_twice_records_once(
    tokyo: Kofu,
) -> None:
    before = tokyo.events()
    code, output = tokyo("publish", RUN, "--actor", "insurer:131041")
    assert code == 1
    assert "only ministry staff" in output
    assert tokyo.events() == before
    code, output = tokyo(
        "publish", RUN, "--actor", "ministry:yamada", "--announced-on", "2020-01-10"
    )
    assert code == 0, output
    assert tokyo.events() == before + 1
    code, output = tokyo("publish", RUN, "--actor", "ministry:sato")
    assert code == 0
    assert "nothing new" in output
    assert tokyo.events() == before + 1
    opened = open_ledger(tokyo.url)
    try:
        published = opened.run(RUN).published
        assert published is not None
        assert (published.actor, str(published.published_on)) == (
            "ministry:yamada",
            "2020-01-10",
        )
        # and downstream readers find it in the publications read model
        store = open_store(opened)
        catch_up(opened, store)
        rows = store.rows("run_publications", {"run_id": RUN}, ["run_id"])
        assert [
            (r["phase"], r["published_on"], r["actor"], r["grant_year"]) for r in rows
        ] == [("reference", "2020-01-10", "ministry:yamada", 2020)]
        everything = store.rows("run_publications", {}, ["run_id"])
        assert len({r["run_id"] for r in everything}) == len(everything) >= 1
    finally:
        opened.close()


def test_an_unknown_run_cannot_be_published(tokyo: Kofu) -> None:
    code, output = tokyo("publish", "FY2020-nothing", "--actor", "ministry:yamada")
    assert code == 2
    assert "no allocation run" in output


def test_allocation_is_refused_to_anyone_but_the_ministry(tokyo: Kofu) -> None:
    before = tokyo.events()
    code, output = tokyo(
        "allocate", "-y", "2020", "--phase", "reference", "--actor", "insurer:131041"
    )
    assert code == 1
    assert "only ministry staff allocate" in output
    assert tokyo.events() == before
