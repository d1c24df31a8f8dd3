"""Writing the files a command writes (`--out`, `--output`, `--export`).

`write_file` never replaces an existing file or follows a symbolic link unless told to
(`--force`), and any failure is a bad-input error naming the path and the reason.
It lives below the read side (`adapters/reports/output.py` re-exports it) so that the
tamper-evidence chain's export (`adapters/storage/integrity.py`) needs nothing above it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from domain.errors import InvalidInput


def _cannot(path: Path, exc: OSError) -> InvalidInput:
    if exc.errno == errno.EEXIST:
        reason = "it already exists (give --force to replace it)"
    elif exc.errno == errno.ELOOP:
        reason = "it is a symbolic link (give --force to replace the link itself)"
    else:
        reason = exc.strerror or type(exc).__name__
    return InvalidInput(f"cannot write: {reason}", field=str(path))


def check_target(path: Path, *, force: bool = False, folder: bool = False) -> None:
    """Refuse, before anything is done, a place `write_file` would refuse.

    A command that records something (a seal, a chain extension) before it writes
    its file checks the place first, so that a bad path writes nothing at all.
    `write_file` still opens the file exclusively: this check is not what protects.

    Raises:
        InvalidInput: something that may not be replaced is there, or (`folder`)
            a file that is not a folder.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        if not folder and not path.parent.is_dir():
            msg = f"cannot write: no such folder {path.parent}"
            raise InvalidInput(msg, field=str(path)) from None
        return
    except OSError as exc:
        raise _cannot(path, exc) from None
    except ValueError:  # a NUL in the path: no file can have that name
        msg = "cannot write: the path holds a NUL character"
        raise InvalidInput(msg, field=repr(str(path))) from None
    if folder:
        if not stat.S_ISDIR(path.stat().st_mode):
            msg = "cannot write: it exists and is not a folder"
            raise InvalidInput(msg, field=str(path))
        return
    if stat.S_ISLNK(mode) and not force:
        raise _cannot(path, OSError(errno.ELOOP, "symbolic link"))
    if stat.S_ISLNK(mode) and _links_to_special(path):
        # e.g. /dev/stdout: replacing that link would break the system's own.
        msg = (
            "cannot write: a symbolic link to a device, pipe or folder, or one of "
            "the system's in /dev or /proc (not replaced, not followed)"
        )
        raise InvalidInput(msg, field=str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        msg = "cannot write: not a regular file (a folder, device or pipe)"
        raise InvalidInput(msg, field=str(path))
    if not force:
        raise _cannot(path, OSError(errno.EEXIST, "exists"))


_SYSTEM_FOLDERS = ("/dev/", "/proc/")


def _links_to_special(path: Path) -> bool:
    """Whether the link `path` is one of the system's or leads to no regular file.

    /dev/stdout (a link in /dev to /proc/self/fd/1) is the example: replacing it
    would break the system's own link, whatever fd 1 is at the moment.
    """
    try:
        text = str(path.readlink())
        folder = str(path.parent.resolve()) + "/"
    except OSError:
        return False
    if folder.startswith(_SYSTEM_FOLDERS) or text.startswith(_SYSTEM_FOLDERS):
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False  # a dangling link (or a loop): replacing it harms nothing


def write_file(
    path: Path, data: bytes, *, force: bool = False, mode: int = 0o644
) -> None:
    """Write a new file at `path`; with `force`, replace what is there.

    Without `force` the file is created with O_CREAT|O_EXCL|O_NOFOLLOW: an existing
    file, a symbolic link (even a dangling one), a device or a folder there is left
    alone and refused. With `force`, the bytes go to a new file beside it that then
    takes the name (`os.replace`): a symbolic link is replaced, never followed, and
    something that is not a regular file or a link (a device, a folder) is refused,
    as is a link to one or a link of the system's (/dev/stdout). A path with a NUL
    is refused by name.
    A file left half-written by a failure is removed. `mode`: the new file's.

    Raises:
        InvalidInput: it cannot be written (names the path and the reason).
    """
    check_target(path, force=force)
    if force:
        _replace(path, data, mode)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as target:
            target.write(data)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise _cannot(path, exc) from None


def _replace(path: Path, data: bytes, mode: int = 0o644) -> None:
    try:
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                msg = "cannot write: not a regular file (a folder, device or pipe)"
                raise InvalidInput(msg, field=str(path))
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent
        )
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as target:
            target.write(data)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise _cannot(path, exc) from None


def write_files(folder: Path, files: dict[str, bytes], *, force: bool = False) -> None:
    """Write several files into `folder` (made if missing), all or, on failure, none.

    Raises:
        InvalidInput: the folder or a file cannot be written; the files this call
            created are removed again (with `force`, the ones it replaced stay).
    """
    check_target(folder, folder=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot(folder, exc) from None
    written: list[Path] = []
    try:
        for name, content in files.items():
            target = folder / name
            existed = target.is_symlink() or target.exists()
            write_file(target, content, force=force)
            if not existed:
                written.append(target)
    except InvalidInput:
        for target in written:
            with contextlib.suppress(OSError):
                target.unlink()
        raise
