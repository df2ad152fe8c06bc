"""The core, persistence and app layers import and work where Qt cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "namecar_viewer"
QT_FREE = ["core", "persistence", "app", "phantom"]


def test_qt_free_layers_import_without_pyside6() -> None:
    modules = sorted(
        ".".join(("namecar_viewer", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for layer in QT_FREE
        for p in (SRC / layer).rglob("*.py")
        # Alembic runs migration scripts itself (env.py needs alembic's running context); they
        # are still covered by the import-statement check below.
        if "migrations" not in p.parts
    )
    code = textwrap.dedent(
        f"""
        import importlib, importlib.abc, sys

        class BlockQt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"):
                    raise ImportError(f"Qt is blocked in this test: {{name}}")
                return None

        sys.meta_path.insert(0, BlockQt())
        for m in {modules!r}:
            importlib.import_module(m)
        # and they work: scan and load a real file
        from pydicom.data import get_testdata_file
        from namecar_viewer.core.dicom import load_series
        v = load_series([get_testdata_file("CT_small.dcm")])
        assert v.shape == (1, 128, 128)
        assert not any(k.startswith(("PySide6", "shiboken6")) for k in sys.modules)
        print("ok", len({modules!r}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
    assert len(modules) > 20


def test_no_qt_import_statements_in_qt_free_layers() -> None:
    offenders = []
    for layer in QT_FREE:
        for p in (SRC / layer).rglob("*.py"):
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                s = line.strip()
                if s.startswith(("import PySide6", "from PySide6", "import shiboken6")):
                    offenders.append(f"{p}:{n}")
    assert offenders == []
