"""Trust II on the command line and in the token store (issue 12), on SQLite and
PostgreSQL: file outputs never replace a file or follow a link without --force,
every failure to write is exit 2 naming the path; one rule for hidden characters;
tokens expire and unknown ids take the same path as wrong secrets."""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.inputs.tokens import digest, issue
from adapters.kofu import Kofu as Facade
from adapters.storage.bootstrap import open_ledger
from adapters.storage.mapper import PydanticMapper
from domain import clock as ledger_clock
from domain.base import HIDDEN_CHARACTERS, printable
from domain.tokens import LEGACY_TOKEN_DAYS, AccessToken
from tests.conftest import SHINJUKU, Api, Kofu, correction


@pytest.fixture
def demo(api: Api) -> Kofu:
    """The CLI on the module's demo ledger (Tokyo and Kanagawa, FY2020)."""
    return Kofu(api.url)


DOSSIER = ["dossier", "--entity", SHINJUKU, "--fiscal-year", "2020", "--out"]
VERIFY = ["verify", "--export"]
WORKBOOK = ["workbook", "--entity", SHINJUKU, "--fiscal-year", "2020", "--output"]
RESULTS = ["export", "results", "--fiscal-year", "2020", "--output"]
AMOUNTS = ["export", "allocations", "--fiscal-year", "2020", "--output"]


def _existing(tmp: Path, name: str) -> Path:
    target = tmp / name
    target.write_bytes(b"keep me")
    return target


def _planted_link(tmp: Path, name: str) -> Path:
    # A link planted where the output goes, pointing at a file it must not touch.
    victim = tmp / "victim.txt"
    victim.write_bytes(b"keep me")
    folder = tmp / "out"
    folder.mkdir()
    (folder / name).symlink_to(victim)
    return folder


# name, arguments (tmp -> list), the text the message must hold
OUTPUTS: list[tuple[str, Any, str]] = [
    ("dossier into a file", lambda t: [*DOSSIER, _existing(t, "f")], "not a folder"),
    ("dossier into /proc/1", lambda _: [*DOSSIER, "/proc/1"], "/proc/1"),
    (
        "dossier over a planted link",
        lambda t: [*DOSSIER, _planted_link(t, "index.html")],
        "symbolic link",
    ),
    ("verify --export /dev/full", lambda _: [*VERIFY, "/dev/full"], "/dev/full"),
    (
        "verify --export /dev/full --force",
        lambda _: [*VERIFY, "/dev/full", "--force"],
        "not a regular file",
    ),
    (
        "verify --export over a file",
        lambda t: [*VERIFY, _existing(t, "c.json")],
        "already exists",
    ),
    (
        "verify --export into a missing folder",
        lambda t: [*VERIFY, t / "missing" / "c.json"],
        "no such folder",
    ),
    (
        "workbook over a file",
        lambda t: [*WORKBOOK, _existing(t, "w.xlsx")],
        "already exists",
    ),
    (
        "workbook over a link",
        lambda t: [*WORKBOOK, _planted_link(t, "w.xlsx") / "w.xlsx"],
        "symbolic link",
    ),
    (
        "export results over a file",
        lambda t: [*RESULTS, _existing(t, "r.xlsx")],
        "already exists",
    ),
    (
        "export allocations to a folder",
        lambda t: [*AMOUNTS, t],
        "not a regular file",
    ),
]


@pytest.mark.parametrize(
    ("name", "arguments", "reason"), OUTPUTS, ids=[o[0] for o in OUTPUTS]
)
def test_an_output_that_would_replace_or_follow_is_exit_2_naming_the_path(
    demo: Kofu, tmp_path: Path, name: str, arguments: Any, reason: str
) -> None:
    args = [str(a) for a in arguments(tmp_path)]
    before = demo.events()
    victim = tmp_path / "victim.txt"
    code, output = demo(*args)
    assert code == 2, (name, output)
    assert "Traceback" not in output
    option = next(a for a in args if a in {"--out", "--export", "--output"})
    path = args[args.index(option) + 1]
    assert path in output, output
    assert reason in output, output
    assert demo.events() == before
    if victim.exists():
        assert victim.read_bytes() == b"keep me"
    for existing in tmp_path.glob("*"):
        if existing.is_file() and not existing.is_symlink():
            assert existing.read_bytes() == b"keep me", existing


def test_force_replaces_the_link_itself_never_its_target(
    demo: Kofu, tmp_path: Path
) -> None:
    folder = _planted_link(tmp_path, "index.html")
    code, output = demo(*DOSSIER, folder, "--force")
    assert code == 0, output
    assert (tmp_path / "victim.txt").read_bytes() == b"keep me"
    written = folder / "index.html"
    assert not written.is_symlink()
    assert written.read_bytes().startswith(b"<!")
    code, output = demo(*DOSSIER, folder)
    assert code == 2
    assert "already exists" in output


def test_a_refused_dossier_leaves_no_file_behind(demo: Kofu, tmp_path: Path) -> None:
    folder = tmp_path / "dossier"
    folder.mkdir()
    (folder / "receipts.json").write_bytes(b"keep me")
    code, output = demo(*DOSSIER, folder)
    assert code == 2, output
    assert sorted(p.name for p in folder.iterdir()) == ["receipts.json"]


def test_outputs_written_once_are_whole(demo: Kofu, tmp_path: Path) -> None:
    export = tmp_path / "c.json"
    code, output = demo(*VERIFY, export)
    assert code == 0, output
    assert orjson.loads(export.read_bytes())["chain"] == "kofu ledger chain v1"
    assert export.stat().st_mode & 0o777 == 0o644 & ~_umask()
    code, _ = demo(*VERIFY, export, "--force")
    assert code == 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- one text rule

HIDDEN = [
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    "\u061c",
    "\u202e",
    "\u2066",
    "\x1b",
    "\x85",
]


@pytest.mark.parametrize("ch", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_one_rule_refuses_hidden_characters_on_every_path(
    demo: Kofu, tmp_path: Path, ch: str
) -> None:
    before = demo.events()
    # The command line.
    code, output = demo(*correction(**{"--reason": f"根拠{ch}なし"}))
    assert code == 2, output
    assert "reason" in output
    assert f"U+{ord(ch):04X}" in output
    # A JSON file.
    answers = tmp_path / "answers.json"
    answers.write_text(
        orjson.dumps(
            [
                {
                    "entity": SHINJUKU,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "answers": {"I-1-a": True},
                    "note": f"x{ch}",
                }
            ]
        ).decode()
    )
    code, output = demo("submit", answers)
    assert code == 2, output
    assert str(answers) in output
    assert demo.events() == before


def test_the_rule_is_the_documented_set_and_lets_tabs_and_newlines_through() -> None:
    for code in range(0x110000):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        refused = True
        try:
            printable(ch)
            refused = False
        except ValueError:
            pass
        expected = (
            (code < 0x20 and ch not in "\t\n")
            or 0x7F <= code <= 0x9F
            or code in {0x061C, 0x200E, 0x200F, 0x2028, 0x2029}
            or 0x202A <= code <= 0x202E
            or 0x2066 <= code <= 0x2069
        )
        assert refused == expected, f"U+{code:04X}"
    assert "\u200e" in HIDDEN_CHARACTERS


# ---------------------------------------------------------------- tokens


def test_tokens_expire_when_issued_and_the_list_shows_it(demo: Kofu) -> None:
    code, output = demo(
        "tokens", "issue", "--role", "auditor", "--name", "short", "--expires-in", "2"
    )
    assert code == 0, output
    assert "expires" in output
    secret = output.strip().splitlines()[-1]
    opened = open_ledger(demo.url)
    try:
        token = Facade(ledger=opened).authenticate(secret)
        assert token is not None
        left = token.expires_at - ledger_clock.now()  # the ledger's clock decides
        assert timedelta(days=1) < left <= timedelta(days=2)
        assert Facade(ledger=opened).authenticate(secret, at=token.expires_at) is None
    finally:
        opened.close()
    code, listing = demo("tokens", "list", "--format", "json")
    assert code == 0
    row = next(r for r in orjson.loads(listing) if r["token_id"] == token.token_id)
    assert row["expired"] is False
    assert row["expires_at"].startswith(token.expires_at.date().isoformat())


@pytest.mark.parametrize("days", ["0", "-1", "100000", "soon"])
def test_a_bad_expiry_is_refused_and_nothing_is_written(demo: Kofu, days: str) -> None:
    before = demo.events()
    code, output = demo(
        "tokens", "issue", "--role", "auditor", "--name", "x", "--expires-in", days
    )
    assert code == 2
    assert "--expires-in" in output
    assert demo.events() == before


def test_a_version_1_token_is_read_as_expiring_after_the_legacy_days() -> None:
    issued_at = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
    state = {
        "timestamp": issued_at.isoformat(),
        "originator_topic": "kofu.AccessToken",
        "token_id": "0123456789ab",
        "name": "old",
        "role": "auditor",
        "scope": [],
        "secret_sha256": "0" * 64,
        "actor": "system:cli",
    }
    from uuid import uuid4

    from eventsourcing.persistence import StoredEvent

    from adapters.storage.mapper import CanonicalJSONTranscoder

    mapper = PydanticMapper(transcoder=CanonicalJSONTranscoder())
    stored = StoredEvent(
        originator_id=uuid4(),
        originator_version=1,
        topic="kofu.AccessToken.Issued",
        state=orjson.dumps(state),
    )
    event = mapper.to_domain_event(stored)
    assert isinstance(event, AccessToken.Issued)
    assert event.expires_at == issued_at + timedelta(days=LEGACY_TOKEN_DAYS)
    again = mapper.to_stored_event(event)
    assert orjson.loads(again.state)["class_version"] == 2


def test_unknown_ids_and_wrong_secrets_take_the_same_comparison(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    opened = open_ledger(api.url)
    try:
        known = api.secrets["auditor"]
        token_id = known.split("_")[1]
        wrong = f"kofu_{token_id}_{'A' * 43}"
        unknown = f"kofu_{'f' * 12}_{'A' * 43}"
        for secret, found in [(known, True), (wrong, False), (unknown, False)]:
            calls.clear()
            assert (Facade(ledger=opened).authenticate(secret) is not None) is found
            assert len(calls) == 1, secret
            assert calls[0][1] == digest(secret)
        # The unknown id was compared with a dummy hash of the same length.
        assert len(calls[0][0]) == 64
        assert calls[0][0] != digest(unknown)
        calls.clear()
        assert Facade(ledger=opened).authenticate("not a token") is None
        assert calls == []  # a malformed text is refused from its shape alone
    finally:
        opened.close()


def test_issue_refuses_a_lifetime_out_of_range(api: Api) -> None:
    from domain.errors import InvalidInput

    opened = open_ledger(api.url)
    try:
        with pytest.raises(InvalidInput, match="days"):
            issue(opened, "auditor", (), "x", "system:test", days=0)
    finally:
        opened.close()
