"""Where DICOM files come from: folders (recursive), DICOMDIR files, zip archives.

A ``Source`` names one candidate file; zip members are read into memory on demand and never
extracted, so the archive the site sent stays untouched.
"""

from __future__ import annotations

import errno
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from namecar_viewer.core.dicom.model import UnreadableFile

HEAD_BYTES = 16384
NO_SUCH_FILE = "no such file or folder"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
# Not DICOM, and not a problem: the answer key ``namecar-viewer demo`` writes among the demo
# patient's series.  Known by its name and its first key, so that any other file of that name
# is still reported as not DICOM.
DEMO_GROUND_TRUTH_NAME = "ground_truth.json"
DEMO_GENERATOR = "namecar_viewer.phantom"
_DEMO_GROUND_TRUTH_MARK = f'"generator": "{DEMO_GENERATOR}"'.encode()


@dataclass(frozen=True)
class Source:
    """One candidate file on disk, or a member of a zip archive.

    ``maybe_zip``: a file named in a list, not yet told from a zip archive: whoever reads its
    head checks (``looks_like_zip``) and expands it (``zip_members``);
    ``maybe_folder``: a name of a list not yet looked at (no ``os.stat``: opening it tells):
    it may be missing (``size_and_head`` raises ``FileNotFoundError``) or a folder
    (``IsADirectoryError``; whoever reads it walks it with ``folder_sources``).
    """

    path: str
    member: str | None = None
    maybe_zip: bool = field(default=False, compare=False)
    maybe_folder: bool = field(default=False, compare=False)

    @property
    def display(self) -> str:
        return self.path if self.member is None else f"{self.path}!{self.member}"

    def size(self) -> int:
        if self.member is None:
            return os.path.getsize(self.path)
        with zipfile.ZipFile(self.path) as zf:
            return zf.getinfo(self.member).file_size

    def size_and_head(self, n: int) -> tuple[int, bytes]:
        """File size and its first ``n`` bytes with one open (a file on disk only)."""
        fd = os.open(self.path, _OPEN_FLAGS)
        try:
            st = os.fstat(fd)  # of the open file: no second lookup of its name
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a folder", self.path)
            return st.st_size, os.read(fd, n)
        finally:
            os.close(fd)

    def read_head(self, n: int) -> bytes:
        if self.member is None:
            with open(self.path, "rb") as f:
                return f.read(n)
        return self.read_all()[:n]

    def read_all(self) -> bytes:
        if self.member is None:
            with open(self.path, "rb") as f:
                return f.read()
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(self.member)


def is_demo_ground_truth(src: Source) -> bool:
    """Whether ``src`` is the demo patient's ground_truth.json (left out of scans, unreported)."""
    if os.path.basename(src.member or src.path) != DEMO_GROUND_TRUTH_NAME:
        return False
    try:
        head = src.read_head(256)
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return head.lstrip().startswith(b"{") and _DEMO_GROUND_TRUTH_MARK in head


def dicomdir_files(path: Path) -> tuple[list[Path], list[UnreadableFile]]:
    """Files a DICOMDIR references (PS3.10 ReferencedFileID), checked to exist."""
    from pydicom import dcmread

    found: list[Path] = []
    bad: list[UnreadableFile] = []
    try:
        ds = dcmread(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported, not raised
        return [], [UnreadableFile(str(path), f"DICOMDIR cannot be read: {exc}")]
    root = path.parent
    for record in ds.get("DirectoryRecordSequence", []):
        ref = record.get("ReferencedFileID")
        if not ref:
            continue
        parts = [ref] if isinstance(ref, str) else list(ref)
        candidate = root.joinpath(*parts)
        if not candidate.exists():
            # ISO 9660 media often change case; try a case-insensitive match
            alt = _case_insensitive(root, parts)
            if alt is None:
                bad.append(UnreadableFile(str(candidate), "referenced by DICOMDIR but missing"))
                continue
            candidate = alt
        found.append(candidate)
    return found, bad


def _case_insensitive(root: Path, parts: list[str]) -> Path | None:
    cur = root
    for part in parts:
        try:
            match = next((p for p in cur.iterdir() if p.name.upper() == part.upper()), None)
        except OSError:
            return None
        if match is None:
            return None
        cur = match
    return cur


def iter_sources(
    paths: Iterable[str | os.PathLike[str]],
    defer_checks: bool = False,
    seen: set[tuple[str, str | None]] | None = None,
) -> Iterator[Source | UnreadableFile]:
    """Expand folders, DICOMDIRs and zips into candidate files; yield problems as they come.

    ``defer_checks``: a name in ``paths`` is yielded unopened and not even looked at
    (``maybe_zip``, ``maybe_folder``) for the caller, which opens it anyway, to tell a missing
    file, a folder or a zip archive from a DICOM file (a stat of each of 400 files cost a
    tenth of a scan); else it is told here.  ``seen``: the names already yielded, shared with
    a later ``folder_sources`` of a folder so found.
    """
    listed: set[tuple[str, str | None]] = set() if seen is None else seen

    def emit(src: Source) -> Iterator[Source]:
        if _unseen(src, listed):
            yield src

    for raw in paths:
        name = _path_text(raw)
        dicomdir = os.path.basename(name).upper() == "DICOMDIR"
        if defer_checks and not dicomdir:
            # a name of a list (a PACS retrieve): no Path object, no generator, no stat
            src = Source(name, maybe_zip=True, maybe_folder=True)
            if _unseen(src, listed):
                yield src
            continue
        try:
            st = os.stat(name)
        except (FileNotFoundError, NotADirectoryError):
            yield UnreadableFile(name, NO_SUCH_FILE)
            continue
        except OSError as exc:  # a loop of links, a folder we may not enter...
            yield UnreadableFile(name, f"cannot be read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(name, emit)
        elif dicomdir:
            files, bad = dicomdir_files(Path(name))
            yield from bad
            for f in files:
                yield from emit(Source(str(f)))
        elif _is_zip(name):
            yield from _zip_sources(Path(name), emit)
        elif _unseen(src := Source(name), listed):
            yield src


def folder_sources(folder: str, seen: set[tuple[str, str | None]]) -> list[Source | UnreadableFile]:
    """The files of a folder named in a list (``maybe_folder``), as ``iter_sources`` walks
    folders, leaving out those in ``seen`` (the names the list gave)."""

    def emit(src: Source) -> Iterator[Source]:
        if _unseen(src, seen):
            yield src

    return list(_walk(folder, emit))


def _unseen(src: Source, seen: set[tuple[str, str | None]]) -> bool:
    """Whether ``src`` is new to ``seen`` (then added) and not the demo's answer key."""
    key = (os.path.abspath(src.path), src.member)
    if key in seen or is_demo_ground_truth(src):
        return False
    seen.add(key)
    return True


def _walk(folder: str, emit):  # type: ignore[no-untyped-def]
    """Every file under ``folder`` in name order, zip archives by their members."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            if fname.upper() == "DICOMDIR":
                continue  # the files it references are walked anyway
            full = os.path.join(dirpath, fname)
            if fname.lower().endswith(".zip"):
                yield from _zip_sources(Path(full), emit)
            else:
                yield from emit(Source(full))


def _path_text(raw: str | os.PathLike[str]) -> str:
    """``str(Path(raw))`` (the name reports show), without building a Path for plain names."""
    s = os.fspath(raw)
    if (
        isinstance(s, str)
        and os.sep == "/"
        and s not in ("", ".")
        and "//" not in s
        and "/./" not in s
        and not s.startswith("./")
        and not s.endswith(("/", "/."))
    ):
        return s
    return str(Path(s))


def looks_like_zip(src: Source, head: bytes) -> bool:
    """Whether a ``maybe_zip`` source, whose first bytes are ``head``, is a zip archive."""
    return src.maybe_zip and head[128:132] != b"DICM" and zipfile.is_zipfile(src.path)


def zip_members(src: Source) -> list[Source | UnreadableFile]:
    """The members of a zip archive named in a list, as ``iter_sources`` lists them."""
    seen: set[str] = set()

    def emit(member: Source) -> Iterator[Source]:
        if member.member not in seen and not is_demo_ground_truth(member):
            seen.add(str(member.member))
            yield member

    return list(_zip_sources(Path(src.path), emit))


def _is_zip(p: str | Path) -> bool:
    """Whether a file named in the list is a zip archive, not a DICOM file.

    A DICOM file says so with DICM at byte 128 and is never a zip: one read of 132 bytes
    tells, where ``zipfile.is_zipfile`` reads the file's end and, finding no end record there,
    its last 64 KiB (a PACS retrieve of 400 files paid 36 ms for it).  Anything else
    (no preamble, not DICOM at all) is asked of ``zipfile.is_zipfile`` as before.
    """
    try:
        fd = os.open(p, os.O_RDONLY)
        try:
            head = os.pread(fd, 132, 0)
        finally:
            os.close(fd)
    except OSError:
        return False  # the scan reads it and names the reason
    if head[128:132] == b"DICM":
        return False
    return zipfile.is_zipfile(p)


def _zip_sources(p: Path, emit):  # type: ignore[no-untyped-def]
    try:
        with zipfile.ZipFile(p) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        yield UnreadableFile(str(p), f"zip archive cannot be opened: {exc}")
        return
    for info in sorted(infos, key=lambda i: i.filename):
        if Path(info.filename).name.upper() == "DICOMDIR":
            continue
        yield from emit(Source(str(p), info.filename))
