"""The signing key: written owner-only and never over a file, read from a file or
the environment, the DEMO key fixed and published, verifier keys from a file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.inputs import keys
from domain.checkpoint import Checkpoint, open_checkpoint
from domain.errors import InvalidInput

DEMO_SIGNER = (
    "PRIVATE+KEY+DEMO.kofu.invalid/demo-ledger+e7982b53+"
    "AWQGqrD/F134cgExPNLu9pMX+8DCmYZBjLyX1Dj+HaoB"
)
DEMO_VERIFIER = (
    "DEMO.kofu.invalid/demo-ledger+e7982b53+"
    "AfDqw0lORmwH5Ir/PBFV4ryJ6qNxE6mXqqIwmFPf5hSH"
)


def test_a_key_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    key = keys.generate("kofu.example/ledger")
    path = tmp_path / "ledger.key"
    keys.write_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii") == f"{key}\n"
    assert keys.read_key(path) == key
    assert keys.signing_key(path) == key


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    first = keys.generate("kofu.example/ledger")
    keys.write_key(path, first)
    with pytest.raises(InvalidInput, match="never overwritten") as caught:
        keys.write_key(path, keys.generate("kofu.example/ledger"))
    assert caught.value.field == str(path)
    assert keys.read_key(path) == first


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    keys.write_key(path, keys.generate("kofu.example/ledger"))
    path.chmod(0o644)
    with pytest.raises(InvalidInput, match="0644"):
        keys.read_key(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a key\n", b"\xff\xfe", str(keys.demo_key().verifier()).encode()],
)
def test_a_key_file_that_holds_no_key(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(InvalidInput) as caught:
        keys.read_key(path)
    assert caught.value.field == str(path)


def test_the_key_from_the_environment() -> None:
    key = keys.generate("kofu.example/ledger")
    assert keys.signing_key(environ={keys.ENVIRONMENT: str(key)}) == key
    assert keys.signing_key(environ={}) is None
    with pytest.raises(InvalidInput) as caught:
        keys.signing_key(environ={keys.ENVIRONMENT: "PRIVATE+KEY+x"})
    assert caught.value.field == keys.ENVIRONMENT
    with pytest.raises(InvalidInput, match="key name"):
        keys.generate("a name with spaces")


def test_the_demo_key_is_fixed_published_and_labelled() -> None:
    demo = keys.demo_key()
    assert str(demo) == DEMO_SIGNER
    assert str(demo.verifier()) == DEMO_VERIFIER
    assert "DEMO" in demo.name
    assert keys.is_demo(demo)
    assert keys.is_demo(demo.verifier())
    assert not keys.is_demo(keys.generate("DEMO.kofu.invalid/demo-ledger"))
    docs = (Path(__file__).parents[2] / "docs" / "INTEGRITY.md").read_text("utf-8")
    assert DEMO_SIGNER in docs
    assert DEMO_VERIFIER in docs


def test_verifier_keys_from_a_file(tmp_path: Path) -> None:
    signer = keys.generate("kofu.example/ledger")
    path = tmp_path / "trusted.txt"
    path.write_text(
        f"# the ledger's key\n{signer.verifier()}\n\n{DEMO_VERIFIER}  # the DEMO\n",
        encoding="utf-8",
    )
    trusted = keys.read_verifier_keys(path)
    assert [str(k) for k in trusted] == [str(signer.verifier()), DEMO_VERIFIER]
    signed = Checkpoint("kofu.example/ledger", 1, bytes(32)).sign(signer)
    assert open_checkpoint(signed, trusted).size == 1
    path.write_text(f"{DEMO_VERIFIER}\nnot+a+key\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        keys.read_verifier_keys(path)
    assert caught.value.field == f"{path}:2"
    path.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no verifier key"):
        keys.read_verifier_keys(path)
