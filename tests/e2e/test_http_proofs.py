"""Proofs over HTTP (issue 15, part 3): the newest signed checkpoint, inclusion proofs
by position and by entity and year, consistency proofs between signed sizes.

Every bundle the API gives is accepted by kofu's check (`verify_bundle`) and by the
standalone verifier as an auditor runs it; a wrong role is 403, a size or a list out
of bounds 422 naming the field; nothing is written, signed or sealed by a proof.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.inputs.keys import demo_key
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain.bundle import verify_bundle
from domain.checkpoint import open_checkpoint
from tests.conftest import SHINJUKU, SIGNING_KEY, Api

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kofu_verify_offline.py"
KEYS = (SIGNING_KEY.verifier(), demo_key().verifier())


def _offline(document: object, folder: Path) -> tuple[int, str]:
    bundle = folder / "bundle.json"
    bundle.write_text(json.dumps(document), encoding="utf-8")
    keys = [arg for key in KEYS for arg in ("--key", str(key))]
    done = subprocess.run(
        [sys.executable, SCRIPT, *keys, bundle],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def _signed_sizes(api: Api, origin: str | None = None) -> list[int]:
    """The signed sizes (of one origin: the ledger's key signs after the DEMO's)."""
    opened = open_ledger(api.url)
    try:
        return [
            size
            for size, note in MerkleLog(opened).checkpoints()
            if origin is None or note.startswith(origin + "\n")
        ]
    finally:
        opened.close()


def _log_state(api: Api) -> tuple[int, int, list[int]]:
    opened = open_ledger(api.url)
    try:
        log = MerkleLog(opened)
        return opened.count_events(), log.size(), [s for s, _ in log.checkpoints()]
    finally:
        opened.close()


def test_the_newest_signed_checkpoint_is_served_as_a_signed_note(api: Api) -> None:
    response = api.call("reader", "GET", "/api/checkpoint")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    checkpoint = open_checkpoint(response.text, KEYS)
    assert checkpoint.size == _signed_sizes(api)[-1]


def test_an_insurer_proves_its_own_entitys_events_and_both_verifiers_agree(
    api: Api, tmp_path: Path
) -> None:
    before = _log_state(api)
    response = api.call(
        "insurer", "GET", f"/api/proofs?entity={SHINJUKU}&fiscal_year=2020"
    )
    assert response.status_code == 200, response.text
    document = response.json()
    verified = verify_bundle(document, KEYS)
    assert len(verified.positions) >= 5
    code, verdict = _offline(document, tmp_path)
    assert code == 0, verdict
    # One stored byte of one event changed in the bundle: both refuse, naming it.
    document["events"][2]["state_b64"] = document["events"][1]["state_b64"]
    position = document["events"][2]["position"]
    with pytest.raises(ValueError, match=f"position {position}"):
        verify_bundle(document, KEYS)
    code, verdict = _offline(document, tmp_path)
    assert code == 1
    assert f"position {position}" in verdict
    assert _log_state(api) == before  # a proof writes, seals and signs nothing


def test_overseers_prove_positions_and_consistency_between_signed_sizes(
    api: Api, tmp_path: Path
) -> None:
    demo = _signed_sizes(api, demo_key().name)
    sizes = _signed_sizes(api, SIGNING_KEY.name)
    assert len(demo) >= 2
    assert sizes
    # The demo's checkpoints were signed by the DEMO key, then the ledger's key
    # signed: another log's checkpoint is refused, naming the size.
    response = api.call("auditor", "GET", f"/api/proofs?from_size={demo[0]}")
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "from_size"
    assert "another log" in response.text
    old, new = sizes[0], sizes[-1]
    response = api.call(
        "auditor", "GET", f"/api/proofs?position=1&position=2&from_size={old}"
    )
    assert response.status_code == 200, response.text
    document = response.json()
    verified = verify_bundle(document, KEYS)
    assert (verified.positions, verified.extends) == ((1, 2), (old,))
    assert verified.checkpoint.size == new
    assert _offline(document, tmp_path)[0] == 0
    # Consistency alone, between two older signed sizes: any token holder.
    response = api.call(
        "insurer", "GET", f"/api/proofs?from_size={demo[0]}&to_size={demo[1]}"
    )
    assert response.status_code == 200, response.text
    verified = verify_bundle(response.json(), KEYS)
    assert (verified.checkpoint.size, verified.extends) == (demo[1], (demo[0],))


@pytest.mark.parametrize(
    ("who", "query", "status", "field"),
    [
        ("insurer", "position=1", 403, "position"),
        ("prefecture", "position=1", 403, "position"),
        ("other_insurer", f"entity={SHINJUKU}&fiscal_year=2020", 403, "entity"),
        ("other_prefecture", f"entity={SHINJUKU}&fiscal_year=2020", 403, "entity"),
        ("reader", f"entity={SHINJUKU}&fiscal_year=2020", 403, "Authorization"),
        ("ministry", "from_size=-1", 422, "from_size"),
        ("ministry", f"from_size={2**63}", 422, "from_size"),
        ("ministry", "to_size=" + "9" * 40, 422, "to_size"),
        ("ministry", "position=0", 422, "position.0"),
        ("ministry", "position=" + "9" * 30, 422, "position.0"),
        ("ministry", "&".join(["position=1"] * 1001), 422, "position"),
        ("ministry", f"entity={SHINJUKU}", 422, "fiscal_year"),
        ("ministry", "", 422, "position"),
        ("ministry", "position=99999999", 422, "position"),
    ],
)
def test_wrong_roles_are_403_and_bad_sizes_422_naming_the_field(
    api: Api, who: str, query: str, status: int, field: str
) -> None:
    response = api.call(who, "GET", f"/api/proofs?{query}")
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_a_size_with_no_signed_checkpoint_is_422_naming_it(api: Api) -> None:
    sizes = _signed_sizes(api)
    unsigned = next(s for s in range(sizes[-1], 0, -1) if s not in sizes)
    for name in ("from_size", "to_size"):
        query = f"position=1&{name}={unsigned}"
        response = api.call("ministry", "GET", f"/api/proofs?{query}")
        assert response.status_code == 422, response.text
        assert response.json()["field"] == name
        assert f"no signed checkpoint at tree size {unsigned}" in response.text
