"""The standalone verifier and kofu agree on every shipped vector, valid or not.

`scripts/kofu_verify_offline.py` is run as an auditor would run it (a subprocess,
keys on the command line); `domain.bundle.verify_bundle` is kofu's check. Both
must accept every valid vector and reject every invalid one. The script imports
only the standard library and `cryptography`; the vectors are the ones
`tests/support/vectors.py` makes (byte for byte).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from domain.bundle import BundleError, verify_bundle, verify_dossier
from domain.checkpoint import VerifierKey
from tests.support import vectors

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "kofu_verify_offline.py"
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.json"))


def offline(*args: str | Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def kofu_verdict(vector: dict[str, Any]) -> str:
    keys = [VerifierKey.parse(k) for k in vector["trusted_keys"]]
    try:
        if "dossier" in vector:
            files = {k: v.encode() for k, v in vector["dossier"].items()}
            verify_dossier(files, keys)
        else:
            verify_bundle(vector["bundle"], keys)
    except BundleError:
        return "invalid"
    return "valid"


def test_the_script_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    assert "cryptography" in imported
    assert imported - {"cryptography"} <= set(sys.stdlib_module_names), imported


def test_the_vectors_are_the_ones_the_code_makes() -> None:
    built = vectors.build()
    assert sorted(p.stem for p in VECTORS) == sorted(built)
    for path in VECTORS:
        assert path.read_text(encoding="utf-8") == vectors.render(built[path.stem])
    kinds = {name.split("-")[0] for name in built}
    assert kinds == {"valid", "invalid"}


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_kofu_and_the_standalone_verifier_agree(path: Path, tmp_path: Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    assert vector["expect"] == path.stem.split("-")[0]
    keys = [x for k in vector["trusted_keys"] for x in ("--key", k)]
    if "dossier" in vector:
        folder = tmp_path / "dossier"
        folder.mkdir()
        for name, text in vector["dossier"].items():
            (folder / name).write_text(text, encoding="utf-8")
        code, out, err = offline(*keys, "--dossier", folder)
    else:
        bundle = tmp_path / "bundle.json"
        bundle.write_text(json.dumps(vector["bundle"]), encoding="utf-8")
        code, out, err = offline(*keys, bundle)
    assert err == ""
    assert code == (0 if vector["expect"] == "valid" else 1), out
    assert out.startswith(f"{vector['expect']}: ")
    assert kofu_verdict(vector) == vector["expect"]


def test_without_the_ledger_key_nothing_verifies(tmp_path: Path) -> None:
    vector = json.loads(
        (ROOT / "tests/vectors/valid-events-and-consistency.json").read_text("utf-8")
    )
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(vector["bundle"]), encoding="utf-8")
    other = str(vectors.OTHER.verifier())
    code, out, _ = offline("--key", other, bundle)
    assert code == 1
    assert "no trusted key" in out
    keys = tmp_path / "trusted.txt"
    keys.write_text(f"# mine\n{vector['trusted_keys'][0]}\n", encoding="utf-8")
    assert offline("--keys", keys, bundle)[0] == 0
    note = tmp_path / "checkpoint.txt"
    note.write_text(vector["bundle"]["checkpoint"], encoding="utf-8")
    code, out, _ = offline("--keys", keys, "--checkpoint", note)
    assert (code, out) == (0, "valid: checkpoint kofu.test/vectors at tree size 11\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "not-a-key", "BUNDLE"], "malformed verifier key"),
        (["BUNDLE"], "give the verifier keys"),
        (["--key", "KEY", "MISSING"], "cannot read"),
        (["--key", "KEY", "NOTJSON"], "not JSON"),
    ],
)
def test_unreadable_input_exits_2_without_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text("{}", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    replace = {
        "BUNDLE": str(bundle),
        "MISSING": str(tmp_path / "missing.json"),
        "NOTJSON": str(tmp_path / "bad.json"),
        "KEY": str(vectors.LEDGER.verifier()),
    }
    code, out, err = offline(*[replace.get(a, a) for a in args])
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
