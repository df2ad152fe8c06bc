"""Build step of the wheel: copy the top-level resources/ into the package as _resources/.

Everything else is in pyproject.toml.  The copy is made only in the build folder, never in src/:
a source checkout (and ``pip install -e .``) reads resources/ where it is; see
resources/README.md and src/namecar_viewer/resources.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns("README.md", "__pycache__", "*.pyc", ".*")


class BuildPyWithResources(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's resources/ in place
        target = Path(self.build_lib) / "namecar_viewer" / "_resources"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "resources", target, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithResources})
