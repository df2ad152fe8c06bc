"""scripts/setup.sh (run by scripts/demo.sh and scripts/test.sh) runs pip only when the project's
packaging changed: a stamp in .venv holds the hash of pyproject.toml, setup.py and the Python.

Run on a copy of the script in a scratch project whose .venv/bin/python only logs its calls, with
a PATH holding no apt-get (the Debian package check is not what is tested here)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testsupport import PROJECT_ROOT

FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "Python 3.11.2"; exit 0; fi
echo "$*" >> "$(dirname "$0")/../calls.log"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name in ("python", "namecar-viewer"):
        (venv_bin / name).write_text(FAKE_PYTHON, encoding="utf-8")
        (venv_bin / name).chmod(0o755)
    tools = tmp_path / "tools"  # what the script needs, and no apt-get
    tools.mkdir()
    for name in ("cat", "sha256sum", "cut", "rm", "dirname", "id"):
        found = shutil.which(name)
        assert found, name
        (tools / name).symlink_to(found)
    return tmp_path


def _setup(project: Path) -> tuple[str, list[str]]:
    bash = shutil.which("bash")
    assert bash
    env = {"PATH": str(project / "tools"), "HOME": str(project)}
    proc = subprocess.run(
        [bash, "scripts/setup.sh"], cwd=project, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    log = project / ".venv" / "calls.log"
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    if log.exists():
        log.unlink()
    return proc.stdout, calls


def test_pip_runs_only_when_the_project_changed(project: Path) -> None:
    out, calls = _setup(project)
    assert calls == ["-m pip install -q --upgrade pip", "-m pip install -q -e .[dev]"]
    assert (project / ".venv" / ".namecar-install-stamp").is_file()

    out, calls = _setup(project)
    assert calls == [] and "up to date" in out

    (project / "src.py").write_text("x = 1\n", encoding="utf-8")  # a source edit: nothing to do
    assert _setup(project)[1] == []

    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write('dependencies = ["numpy"]\n')
    assert len(_setup(project)[1]) == 2
    assert _setup(project)[1] == []

    (project / "setup.py").write_text("# build step\n", encoding="utf-8")
    assert len(_setup(project)[1]) == 2


def test_a_failed_install_is_tried_again(project: Path) -> None:
    python = project / ".venv" / "bin" / "python"
    python.write_text(FAKE_PYTHON.replace('echo "$*"', 'echo "$*"; exit 1'), encoding="utf-8")
    bash = shutil.which("bash")
    assert bash
    env = {"PATH": str(project / "tools"), "HOME": str(project)}
    proc = subprocess.run([bash, "scripts/setup.sh"], cwd=project, env=env, capture_output=True)
    assert proc.returncode != 0
    assert not (project / ".venv" / ".namecar-install-stamp").exists()
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    assert len(_setup(project)[1]) == 2
    assert os.access(python, os.X_OK)
