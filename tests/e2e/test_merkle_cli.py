"""`kofu keys`, `kofu checkpoint` and `kofu prove` (issue 15, part 2).

The key file is made once (0600, never overwritten); the writer without a key refuses
to sign and says how to make one; a proof bundle from `kofu prove` is accepted by the
standalone verifier, as an auditor runs it, with the verifier key `keys show` prints.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from adapters.cli.main import app
from tests.conftest import SHINJUKU, SIGNING_KEY, Kofu

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kofu_verify_offline.py"


def _cli(url: str, *args: str | Path, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, [str(a) for a in args], env={"KOFU_DATABASE_URL": url, **env}
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _offline(key: str, bundle: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, SCRIPT, "--key", key, bundle],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_keys_init_writes_a_private_file_once(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.key"
    code, output = _cli(
        database_url, "keys", "init", "--key-file", path, "--origin", "kofu.test/l"
    )
    assert code == 0, output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    verifier = output.split("verifier key (give it to readers): ")[1].split()[0]
    assert verifier.startswith("kofu.test/l+")
    code, shown = _cli(database_url, "keys", "show", KOFU_SIGNING_KEY_FILE=str(path))
    assert code == 0, shown
    assert shown.split()[0] == verifier
    before = path.read_bytes()
    code, output = _cli(
        database_url, "keys", "init", "--key-file", path, "--origin", "kofu.test/l"
    )
    assert code == 2
    assert "never overwritten" in output
    assert path.read_bytes() == before


def test_without_a_key_writes_are_unsigned_and_verify_says_so(
    database_url: str, tmp_path: Path
) -> None:
    world = tmp_path / "world"
    from tests.conftest import write_world

    code, output = _cli(database_url, "load", *write_world(world), KOFU_SIGNING_KEY="")
    assert code == 0, output
    code, output = _cli(database_url, "checkpoint", KOFU_SIGNING_KEY="")
    assert code == 2
    assert "kofu keys init" in output
    code, output = _cli(database_url, "verify")
    assert code == 1
    assert "no signed checkpoint covers them" in output
    # The writer with its key signs; then the same ledger verifies.
    code, output = _cli(database_url, "checkpoint")
    assert code == 0, output
    assert output.startswith("test.kofu.invalid/ledger\n")
    assert _cli(database_url, "verify")[0] == 0
    # A reader that trusts another key only does not accept the signature.
    other = "other.invalid/x+00000000+" + "A" * 43 + "="
    code, output = _cli(database_url, "verify", "--key", other)
    assert code in {1, 2}, output


def _submit(world: Kofu, tmp_path: Path) -> None:
    """新宿区 answers one item (the writer seals and signs)."""
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps(
            [
                {
                    "entity": SHINJUKU,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "answers": {"I-1-a": True},
                }
            ]
        ),
        encoding="utf-8",
    )
    assert world("submit", answers)[0] == 0


def test_a_proof_from_kofu_prove_verifies_offline(world: Kofu, tmp_path: Path) -> None:
    _submit(world, tmp_path)
    key = str(SIGNING_KEY.verifier())
    code, output = world("prove", "--position", "3", "--position", "7")
    assert code == 0, output
    bundle = tmp_path / "bundle.json"
    bundle.write_text(output, encoding="utf-8")
    assert [e["position"] for e in json.loads(output)["events"]] == [3, 7]
    code, verdict = _offline(key, bundle)
    assert code == 0, verdict
    code, output = world("prove", "--entity", SHINJUKU, "--fiscal-year", "2020")
    assert code == 0, output
    document = json.loads(output)
    assert document["events"]
    bundle.write_text(output, encoding="utf-8")
    assert _offline(key, bundle)[0] == 0
    # Tampered: an event's version changed in the bundle; the auditor's verifier refuses.
    document["events"][0]["originator_version"] += 1
    bundle.write_text(json.dumps(document), encoding="utf-8")
    assert _offline(key, bundle)[0] != 0
    code, output = world("prove", "--position", "999999")
    assert code == 2
    assert "position" in output


def _checkpoint_sizes(url: str) -> list[int]:
    from adapters.storage.bootstrap import open_ledger
    from adapters.storage.merkle_log import MerkleLog

    opened = open_ledger(url)
    try:
        return [size for size, _ in MerkleLog(opened).checkpoints()]
    finally:
        opened.close()


def test_kofu_prove_from_size_gives_a_consistency_proof_both_verifiers_accept(
    world: Kofu, tmp_path: Path
) -> None:
    from domain.bundle import verify_bundle

    older = _checkpoint_sizes(world.url)
    _submit(world, tmp_path)
    sizes = _checkpoint_sizes(world.url)
    assert len(sizes) > len(older)
    old, new = older[-1], sizes[-1]
    code, output = world("prove", "--from-size", str(old))
    assert code == 0, output
    document = json.loads(output)
    assert document["events"] == []
    assert len(document["consistency"]) == 1
    verified = verify_bundle(document, [SIGNING_KEY.verifier()])
    assert (verified.checkpoint.size, verified.extends) == (new, (old,))
    bundle = tmp_path / "consistency.json"
    bundle.write_text(output, encoding="utf-8")
    code, verdict = _offline(str(SIGNING_KEY.verifier()), bundle)
    assert code == 0, verdict
    assert "1 older checkpoints extended" in verdict
    # Against an older signed tree (--to-size), with an event inside it.
    code, output = world("prove", "--to-size", str(old), "--position", "1")
    assert code == 0, output
    assert verify_bundle(json.loads(output), [SIGNING_KEY.verifier()]).positions == (1,)
    # A forged proof (one hash changed) is refused by both.
    document["consistency"][0]["proof"][0] = "A" * 43 + "="
    bundle.write_text(json.dumps(document), encoding="utf-8")
    code, verdict = _offline(str(SIGNING_KEY.verifier()), bundle)
    assert code == 1
    assert "consistency[0]" in verdict


def test_kofu_prove_refuses_sizes_with_no_signed_checkpoint_naming_the_option(
    world: Kofu,
) -> None:
    sizes = _checkpoint_sizes(world.url)
    unsigned = sizes[-1] - 1
    assert unsigned not in sizes
    for args, option in [
        (("--from-size", str(unsigned)), "--from-size"),
        (("--to-size", str(unsigned), "--position", "1"), "--to-size"),
        (("--from-size", "-1"), "--from-size"),
        (("--from-size", str(2**64)), "--from-size"),
        (("--to-size", "1" + "0" * 40), "--to-size"),
        (("--from-size", str(sizes[-1] + 1)), "--from-size"),
        (("--from-size", str(sizes[-1]), "--to-size", "1"), "--to-size"),
    ]:
        code, output = world("prove", *args)
        assert code == 2, (args, output)
        assert option in output, (args, output)
        assert "Traceback" not in output
