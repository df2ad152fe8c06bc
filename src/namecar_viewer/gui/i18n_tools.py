"""Keep the translation catalogue in step with the sources (developers, tests; not the app).

``python -m namecar_viewer.gui.i18n_tools update``
    ``pyside6-lupdate`` over ``src/namecar_viewer/gui`` and ``src/namecar_viewer/app`` into
    ``resources/i18n/namecar_fr.ts`` (new strings arrive *unfinished*; strings gone from the
    sources are dropped), then ``release``.
``python -m namecar_viewer.gui.i18n_tools release``
    ``pyside6-lrelease`` the ``.ts`` into the ``namecar_fr.qm`` the application loads.
``python -m namecar_viewer.gui.i18n_tools check``
    Exit 1 when a string of the sources is missing from the ``.ts``, a message is unfinished, or
    the committed ``.qm`` is not the compilation of the ``.ts`` (what ``tests/gui/test_i18n.py``
    checks too).

The ``.qm`` is committed: a wheel, the frozen bundle and ``pip install -e .`` all read it from
``resources/i18n`` without running lrelease (:mod:`namecar_viewer.resources` finds the folder).
lupdate and lrelease ship with PySide6-Essentials, so a checkout can always regenerate it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import PySide6

SRC = Path(__file__).resolve().parents[1]  # src/namecar_viewer
ROOT = SRC.parents[1]
I18N_DIR = ROOT / "resources" / "i18n"
LANGUAGES = ("fr",)
SOURCES = (SRC / "gui", SRC / "app")


def ts_path(lang: str) -> Path:
    return I18N_DIR / f"namecar_{lang}.ts"


def qm_path(lang: str) -> Path:
    return I18N_DIR / f"namecar_{lang}.qm"


def tool(name: str) -> str:
    """The Qt tool ``lupdate`` / ``lrelease`` shipped inside PySide6."""
    here = Path(PySide6.__file__).resolve().parent
    for candidate in (here / name, here / f"{name}.exe", here / "Qt" / "bin" / name):
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"{name} is not in {here}: reinstall PySide6-Essentials")


def _run(args: list[str]) -> str:
    env = dict(os.environ)
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stdout}{out.stderr}")
    return out.stdout + out.stderr


def lupdate(ts: Path, *, keep_obsolete: bool = False) -> str:
    """Extract the sources' strings into ``ts`` (created or merged)."""
    args = [tool("lupdate"), "-extensions", "py", "-locations", "relative"]
    if not keep_obsolete:
        args.append("-no-obsolete")
    args += [str(p) for p in SOURCES]
    return _run([*args, "-ts", str(ts)])


def lrelease(ts: Path, qm: Path) -> str:
    return _run([tool("lrelease"), "-silent", str(ts), "-qm", str(qm)])


@dataclass(frozen=True)
class Message:
    context: str
    source: str
    translation: str
    kind: str  # "", "unfinished", "obsolete", "vanished"


def messages(ts: Path) -> list[Message]:
    """Every message of a ``.ts`` file."""
    out = []
    for ctx in ET.parse(ts).getroot().iter("context"):
        name = ctx.findtext("name") or ""
        for msg in ctx.iter("message"):
            tr = msg.find("translation")
            text = "" if tr is None else "".join(tr.itertext())
            kind = "" if tr is None else tr.get("type", "")
            out.append(Message(name, msg.findtext("source") or "", text, kind))
    return out


def problems(lang: str = "fr") -> list[str]:
    """What is out of step between the sources, the ``.ts`` and the ``.qm`` (empty: none)."""
    ts, qm = ts_path(lang), qm_path(lang)
    if not ts.is_file():
        return [f"{ts} is missing"]
    out: list[str] = []
    have = {(m.context, m.source): m for m in messages(ts)}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / ts.name
        lupdate(fresh)
        wanted = {(m.context, m.source) for m in messages(fresh)}
        for key in sorted(wanted - set(have)):
            out.append(f"not in {ts.name} (run update): [{key[0]}] {key[1]!r}")
        for key in sorted(wanted & set(have)):
            m = have[key]
            if m.kind in ("unfinished", "obsolete", "vanished") or not m.translation.strip():
                out.append(f"not translated in {ts.name}: [{key[0]}] {key[1]!r}")
        built = Path(tmp) / qm.name
        lrelease(ts, built)
        if not qm.is_file():
            out.append(f"{qm} is missing (run release)")
        elif qm.read_bytes() != built.read_bytes():
            out.append(f"{qm.name} is not the compilation of {ts.name} (run release)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    what = args[0] if args else "check"
    for lang in LANGUAGES:
        if what == "update":
            print(lupdate(ts_path(lang)).strip())
            print(lrelease(ts_path(lang), qm_path(lang)).strip() or f"wrote {qm_path(lang)}")
        elif what == "release":
            print(lrelease(ts_path(lang), qm_path(lang)).strip() or f"wrote {qm_path(lang)}")
        elif what == "check":
            found = problems(lang)
            for p in found:
                print(p)
            if found:
                return 1
            print(f"{ts_path(lang).name} and {qm_path(lang).name} are up to date")
        else:
            print("usage: python -m namecar_viewer.gui.i18n_tools [update|release|check]")
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
