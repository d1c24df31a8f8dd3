"""A dossier carries the proofs of what it shows, and an auditor checks it offline.

`kofu dossier` writes proofs.json: the trail's events and the explained runs' events
proved against a signed checkpoint, with the trees the runs' receipts name. The
standalone verifier (`--dossier`) re-hashes every file against the manifest, checks
the bundle, that every trail event is proved, and each run's output re-hashed from
its proved event against its receipt. Each kind of tampering is refused, named.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.inputs.keys import demo_key
from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.bundle import BundleError, verify_dossier
from tests.conftest import SHINJUKU, Kofu, backend_url

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kofu_verify_offline.py"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def made(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A Tokyo demo year's dossier of 新宿区, made once per backend."""
    folder = tmp_path_factory.mktemp("made")
    with backend_url(request.param, folder, "kofu_dossier") as url:
        opened = open_ledger(url)
        run_demo(opened, 2020, 11, Console(quiet=True), prefectures={"13"})
        opened.close()
        code, output = Kofu(url)(
            "dossier",
            "--entity",
            SHINJUKU,
            "--fiscal-year",
            "2020",
            "--out",
            folder / "dossier",
        )
        assert code == 0, output
        yield folder / "dossier"


@pytest.fixture
def dossier(made: Path, tmp_path: Path) -> Path:
    """A copy of the dossier this test may tamper with."""
    return Path(shutil.copytree(made, tmp_path / "dossier"))


def offline(folder: Path) -> tuple[int, str]:
    key = str(demo_key().verifier())
    done = subprocess.run(
        [sys.executable, SCRIPT, "--key", key, "--dossier", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def kofu_check(folder: Path) -> str:
    """kofu's own check of the dossier (`domain.bundle.verify_dossier`)."""
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    try:
        return verify_dossier(files, [demo_key().verifier()])
    except BundleError as exc:
        return f"invalid: {exc}"


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _save(folder: Path, name: str, content: Any) -> None:
    """Write a dossier file and its SHA-256 into the manifest (a careful forger)."""
    data = json.dumps(content).encode()
    (folder / name).write_bytes(data)
    manifest = _load(folder, "manifest.json")
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_dossier_verifies_offline(dossier: Path) -> None:
    code, verdict = offline(dossier)
    assert code == 0, verdict
    assert not kofu_check(dossier).startswith("invalid"), kofu_check(dossier)
    proofs = _load(dossier, "proofs.json")
    trail = _load(dossier, "trail.json")
    assert len(proofs["receipts"]) == 10  # five phases, two grants
    assert all(r["log_size"] and r["position"] for r in proofs["receipts"])
    assert f"{len(trail)} trail events proved" in verdict
    assert "10 runs re-hashed to their receipts" in verdict


def _edit_file(folder: Path) -> str:
    path = folder / "trail.csv"
    path.write_bytes(path.read_bytes().replace(b"13", b"14", 1))
    return "trail.csv: its SHA-256 is not the manifest's"


def _drop_a_trail_event(folder: Path) -> str:
    proofs = _load(folder, "proofs.json")
    trail = _load(folder, "trail.json")
    first = trail[0]["position"]
    events = proofs["bundle"]["events"]
    proofs["bundle"]["events"] = [e for e in events if e["position"] != first]
    _save(folder, "proofs.json", proofs)
    return f"trail.json row 0 (position {first}): not proved"


def _change_a_proved_event(folder: Path) -> str:
    proofs = _load(folder, "proofs.json")
    event = proofs["bundle"]["events"][0]
    state = json.loads(bytes.fromhex(_b64hex(event["state_b64"])))
    state["actor"] = "ministry:forger"
    event["state_b64"] = _b64(json.dumps(state).encode())
    _save(folder, "proofs.json", proofs)
    return f"position {event['position']}"


def _change_a_receipt_output(folder: Path) -> str:
    proofs = _load(folder, "proofs.json")
    proofs["receipts"][0]["output_sha256"] = "0" * 64
    _save(folder, "proofs.json", proofs)
    return "receipts[0]"


def _change_a_receipt_tree(folder: Path) -> str:
    proofs = _load(folder, "proofs.json")
    proofs["receipts"][1]["log_size"] -= 1
    _save(folder, "proofs.json", proofs)
    return "receipts[1]"


def _drop_the_receipts_checkpoint(folder: Path) -> str:
    proofs = _load(folder, "proofs.json")
    proofs["bundle"]["consistency"] = []
    receipts = proofs["receipts"]
    newest = max(r["log_size"] for r in receipts)
    number = next(i for i, r in enumerate(receipts) if r["log_size"] < newest)
    _save(folder, "proofs.json", proofs)
    return f"receipts[{number}]"


def _change_a_shown_receipt(folder: Path) -> str:
    receipts = _load(folder, "receipts.json")
    receipts[3]["output_sha256"] = "f" * 64
    _save(folder, "receipts.json", receipts)
    return "receipts.json row 3"


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _b64hex(text: str) -> str:
    import base64

    return base64.b64decode(text).hex()


TAMPERING: list[Callable[[Path], str]] = [
    _edit_file,
    _drop_a_trail_event,
    _change_a_proved_event,
    _change_a_receipt_output,
    _change_a_receipt_tree,
    _drop_the_receipts_checkpoint,
    _change_a_shown_receipt,
]


@pytest.mark.parametrize("tampering", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_a_tampered_dossier_is_refused_naming_what(
    dossier: Path, tampering: Callable[[Path], str]
) -> None:
    named = tampering(dossier)
    code, verdict = offline(dossier)
    assert code == 1, verdict
    assert named in verdict, verdict
    # kofu's check refuses it too, naming the same thing.
    assert kofu_check(dossier) == verdict.strip()
