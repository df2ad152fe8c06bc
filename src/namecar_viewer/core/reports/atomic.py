"""Write an export all or nothing: a temporary file in the target folder, then ``os.replace``.

A report that reaches the trial must never be half written: a full disk, a missing folder or
a permission problem leaves no file behind (and an older file of the same name untouched), and
the message says which path failed and why.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


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


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the file to ``path`` in one step.

    Raises :class:`ExportError` (no file left at ``path`` or in its folder) when anything fails.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ExportError(f"Cannot write {target}: it is a folder; give a file name.")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {_reason(exc)}.") from exc
    os.close(fd)
    tmp = Path(tmp_name)
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
