"""Signed notes and checkpoints: the published vectors and every way to fail.

Vectors: C2SP signed-note.md's example (a verifier key and a signed message) and
golang.org/x/mod/sumdb/note's package documentation (a signer key, its verifier
key and the exact signature line it makes).
"""

from __future__ import annotations

import base64

import pytest

from domain.checkpoint import (
    Checkpoint,
    InvalidSignatureError,
    MalformedNoteError,
    SignerKey,
    UnverifiedNoteError,
    VerifierKey,
    key_id,
    open_checkpoint,
    open_note,
    parse_note,
    sign_note,
)

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZ"
    "XsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
GO_SKEY = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_LINE = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_c2sp_example_verifies() -> None:
    key = VerifierKey.parse(C2SP_VKEY)
    assert (key.name, key.key_id) == ("example.com/foo", 0x530D903A)
    assert str(key) == C2SP_VKEY
    note = open_note(C2SP_NOTE, [key])
    assert note.text == "This is an example message.\n"
    assert [s.name for s in note.verified] == ["example.com/foo"]


def test_the_note_go_signing_vector() -> None:
    signer = SignerKey.parse(GO_SKEY)
    assert str(signer) == GO_SKEY
    assert str(signer.verifier()) == GO_VKEY
    signed = sign_note(GO_TEXT, signer)
    assert signed == GO_TEXT + "\n" + GO_LINE
    assert open_note(signed, [VerifierKey.parse(GO_VKEY)]).text == GO_TEXT


def test_key_id_is_the_hash_of_name_newline_type_and_key() -> None:
    key = VerifierKey.parse(GO_VKEY)
    assert key_id("PeterNeumann", b"\x01" + key.public) == 0xC74F20A3
    assert key_id("PeterNeumann2", b"\x01" + key.public) != 0xC74F20A3


def test_a_tampered_text_fails() -> None:
    tampered = C2SP_NOTE.replace("example message", "example massage")
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        open_note(tampered, [VerifierKey.parse(C2SP_VKEY)])


def test_a_wrong_key_under_the_same_name_and_id_fails() -> None:
    # Another public key presented under example.com/foo's name and key ID.
    other = SignerKey("example.com/foo", bytes(range(32))).verifier()
    impostor = VerifierKey("example.com/foo", 0x530D903A, other.public)
    with pytest.raises(InvalidSignatureError):
        open_note(C2SP_NOTE, [impostor])


def test_unknown_keys_are_ignored_but_one_known_is_needed() -> None:
    go_key = VerifierKey.parse(GO_VKEY)
    with pytest.raises(UnverifiedNoteError, match="no trusted key"):
        open_note(C2SP_NOTE, [go_key])
    with pytest.raises(UnverifiedNoteError):
        open_note(C2SP_NOTE, [])
    # The Go note signed again by another key: the unknown one is ignored.
    extra = SignerKey.generate("EnochRoot")
    doubly = GO_TEXT + "\n" + GO_LINE + sign_note(GO_TEXT, extra).split("\n\n")[1]
    note = open_note(doubly, [go_key])
    assert [s.name for s in note.verified] == ["PeterNeumann"]
    assert [s.name for s in note.unverified] == ["EnochRoot"]
    note = open_note(doubly, [go_key, extra.verifier()])
    assert len(note.verified) == 2


def test_one_failing_known_signature_rejects_the_note() -> None:
    go_key = VerifierKey.parse(GO_VKEY)
    extra = SignerKey.generate("EnochRoot")
    bad_line = sign_note("other text\n", extra).split("\n\n")[1]
    with pytest.raises(InvalidSignatureError, match="EnochRoot"):
        open_note(GO_TEXT + "\n" + GO_LINE + bad_line, [go_key, extra.verifier()])


def test_a_wrong_key_id_is_another_key() -> None:
    raw = base64.b64decode(GO_LINE.split(" ")[2])
    wrong = base64.b64encode(b"\x00\x00\x00\x01" + raw[4:]).decode()
    note = GO_TEXT + "\n— PeterNeumann " + wrong + "\n"
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [VerifierKey.parse(GO_VKEY)])
    with pytest.raises(MalformedNoteError, match="key ID does not match"):
        VerifierKey.parse(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
    with pytest.raises(MalformedNoteError, match="key ID does not match"):
        SignerKey.parse(GO_SKEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + GO_LINE,  # no blank line
        GO_TEXT + "\n" + GO_LINE.rstrip("\n"),  # no final newline
        GO_TEXT + "\n" + GO_LINE.replace("—", "-"),  # not an em dash
        GO_TEXT + "\n" + GO_LINE.replace("x08go", "x08g!"),  # bad base64
        GO_TEXT + "\n" + GO_LINE.replace("AM=", "AM"),  # bad padding
        GO_TEXT + "\n" + GO_LINE.replace("AM=", "AN="),  # not canonical
        GO_TEXT + "\n— PeterNeumann\n",  # no signature
        GO_TEXT + "\n— PeterNeumann AAAA\n",  # too short
        GO_TEXT.replace("answer", "an\tswer") + "\n" + GO_LINE,  # control character
        GO_TEXT + "\n" + GO_LINE * 101,  # too many signatures
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(note, [VerifierKey.parse(GO_VKEY)])


def test_a_note_must_be_utf8() -> None:
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        parse_note(b"\xff\n\n" + GO_LINE.encode())


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys(key: str) -> None:
    with pytest.raises(MalformedNoteError):
        VerifierKey.parse(key)


def test_malformed_signer_keys() -> None:
    with pytest.raises(MalformedNoteError, match="PRIVATE"):
        SignerKey.parse(GO_VKEY)
    with pytest.raises(MalformedNoteError):
        SignerKey("bad name", bytes(32))
    with pytest.raises(MalformedNoteError):
        SignerKey("name", bytes(31))
    assert "AYEK" not in repr(SignerKey.parse(GO_SKEY))


def test_a_checkpoint_round_trips_and_verifies() -> None:
    signer = SignerKey.generate("kofu.example/ledger")
    checkpoint = Checkpoint("kofu.example/ledger", 22003, bytes(range(32)))
    assert checkpoint.text() == (
        "kofu.example/ledger\n22003\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    )
    note = checkpoint.sign(signer)
    assert open_checkpoint(note, [signer.verifier()]) == checkpoint
    assert open_checkpoint(note, [signer.verifier()], "kofu.example/ledger")
    with pytest.raises(MalformedNoteError, match="not 'other'"):
        open_checkpoint(note, [signer.verifier()], "other")
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(note.replace("22003", "22004"), [signer.verifier()])
    empty = Checkpoint("o", 0, bytes(32), ("extension",))
    assert Checkpoint.parse(empty.text()) == empty


@pytest.mark.parametrize(
    "text",
    [
        "origin\n12\n",
        "origin\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "origin\n1_2\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "origin\n１２\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "origin\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "origin\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",
        "origin\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "origin\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
    ],
)
def test_malformed_checkpoints(text: str) -> None:
    with pytest.raises(MalformedNoteError):
        Checkpoint.parse(text)
