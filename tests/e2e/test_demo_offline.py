"""The standalone verifier agrees with `kofu verify` on a national demo year.

A bundle of every event of the year, proved against the newest signed checkpoint,
is accepted by kofu's check and by the standalone verifier while `kofu verify` says
intact; so is a dossier of the year. After one stored event is changed (as someone
with the database in hand would), `kofu verify` and both checks of a new bundle
fail, each naming that event's position; the bundle made before still verifies
(it proves the history as it was signed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.inputs.keys import demo_key
from adapters.kofu import Kofu as Facade
from domain.bundle import BundleError, verify_bundle
from tests.conftest import SHINJUKU, Kofu, backend_url
from tests.support.tamper import tamper

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kofu_verify_offline.py"
KEY = demo_key().verifier()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def national(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("national")
    with backend_url(request.param, folder, "kofu_national") as url:
        code, output = Kofu(url)("demo", "--fiscal-year", "2020", "--seed", "3")
        assert code == 0, output
        yield url


def offline(*args: str | Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, SCRIPT, "--key", str(KEY), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def every_event(url: str, path: Path) -> tuple[dict[str, object], int]:
    """A bundle of every stored event, written to `path`; and how many."""
    with Facade(url) as kofu:
        positions, start = [], 0
        while notes := kofu.ledger.recorder.select_notifications(
            start=start, limit=1000, inclusive_of_start=False
        ):
            positions += [n.id for n in notes]
            start = notes[-1].id
        bundle = kofu.prove(positions)
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return bundle, len(positions)


def test_the_offline_verifier_agrees_with_kofu_verify_on_a_national_year(
    national: str, tmp_path: Path
) -> None:
    kofu = Kofu(national)
    code, output = kofu("verify")
    assert code == 0, output
    before, count = every_event(national, tmp_path / "before.json")
    assert count > 10_000
    assert len(verify_bundle(before, [KEY]).positions) == count
    code, verdict = offline(tmp_path / "before.json")
    assert code == 0, verdict
    assert f"{count} events included" in verdict
    folder = tmp_path / "dossier"
    code, output = kofu(
        "dossier", "--entity", SHINJUKU, "--fiscal-year", "2020", "--out", folder
    )
    assert code == 0, output
    code, verdict = offline("--dossier", folder)
    assert code == 0, verdict

    # One stored event of 新宿区's trail changed in the database.
    trail = json.loads((folder / "trail.json").read_text(encoding="utf-8"))
    position = int(trail[len(trail) // 2]["position"])
    rewrite = (
        "UPDATE EVENTS SET state = CAST(CAST(state AS TEXT) || ' ' AS BLOB) "
        if national.startswith("sqlite")
        else "UPDATE EVENTS SET state = state || '\\x20'::bytea "
    )
    tamper(national, [rewrite + f"WHERE ID = {position}"])
    code, output = kofu("verify")
    assert code == 1, output
    assert f"position {position}" in output
    after, _ = every_event(national, tmp_path / "after.json")
    with pytest.raises(BundleError, match=f"position {position}\\)"):
        verify_bundle(after, [KEY])
    code, verdict = offline(tmp_path / "after.json")
    assert code == 1, verdict
    assert f"(position {position})" in verdict
    # The bundle made before still proves the history as it was signed.
    assert offline(tmp_path / "before.json")[0] == 0
