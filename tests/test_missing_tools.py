"""A missing optional system tool (dciodvfy, dsrdump, Orthanc, PostgreSQL, pdftoppm, openssl)
gives one clear line per test: a skip reason outside CI, a failure with CI=true; never a page
of pytest-qt hook traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testsupport import PROJECT_ROOT

INNER = textwrap.dedent(
    """
    import pytest
    from testsupport import require_tool

    @pytest.fixture
    def tool():
        return require_tool("namecar-no-such-tool", "no-such-package")

    def test_needs_it_in_a_fixture(tool):
        pass

    def test_needs_it_in_the_body():
        require_tool("namecar-no-such-tool", "no-such-package")
    """
)
LINE = "namecar-no-such-tool is not installed (Debian package no-such-package;"


def _inner_run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "tests"), *sys.path]),
        "CI": "true" if ci else "",
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["developer", "ci"])
def test_a_missing_tool_is_one_line(tmp_path: Path, ci: bool) -> None:
    proc = _inner_run(tmp_path, ci)
    out = proc.stdout + proc.stderr
    if ci:
        assert proc.returncode == 1, out
        assert "1 failed, 1 error" in out, out
        assert out.count(f"required in CI: {LINE}") >= 2, out
    else:
        assert proc.returncode == 0, out
        assert "2 skipped" in out, out
        assert out.count(LINE) == 2, out
    # no traceback: neither pytest-qt's hook nor the source lines of the test
    assert "pytestqt" not in out and "Traceback" not in out, out
    assert not [ln for ln in out.splitlines() if ln.startswith(("E   ", ">   "))], out
