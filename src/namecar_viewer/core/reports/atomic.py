"""Write an export all or nothing: a temporary file in the target folder, then ``os.replace``.

A report that reaches the trial must never be half written: a full disk, a missing folder or
a permission problem leaves no file behind (and an older file of the same name untouched), and
the message says which path failed and why.

The file gets the permissions of any file the user creates: ``0666`` less the umask (``0644``
with the usual ``022``), not the ``0600`` of :func:`tempfile.mkstemp`.  The temporary file is
created with that mode by the kernel itself (``os.open(..., 0o666)`` applies the umask), so
the umask is never read or changed (``os.umask`` would change it for every thread).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class ExportError(RuntimeError):
    """An export that could not be written; the message names the path and the reason."""


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (the folder is not writable)"
    if isinstance(exc, FileNotFoundError):
        return "the folder does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    return exc.strerror or str(exc)


def _new_temporary(folder: Path, name: str) -> Path:
    """A new empty file ``.NAME.XXXXXXXX.part`` in ``folder``, mode 0666 less the umask."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, _CREATE_FLAGS, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the file to ``path`` in one step.

    Raises :class:`ExportError` (no file left at ``path`` or in its folder) when anything fails.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ExportError(f"Cannot write {target}: it is a folder; give a file name.")
    try:
        tmp = _new_temporary(folder, target.name)
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {_reason(exc)}.") from exc
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ExportError(f"Cannot write {target}: {_reason(exc)}.") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write text (UTF-8 by default) atomically; see :func:`atomic_write`."""

    def _w(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, _w)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    def _w(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, _w)
