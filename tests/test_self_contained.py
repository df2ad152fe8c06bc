"""The repository is self-contained: every file a test reads is inside it (tests/data/README.md).

``.ci/run`` proves it end to end (a clone with nothing beside it runs the whole suite); these
checks name the culprit at once when a test starts reading from outside the checkout again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testsupport import ACRIN_PET, DCMQI, PROJECT_ROOT, REAL_DATA, TEST_DATA

TESTS = PROJECT_ROOT / "tests"
# Spelled in two parts so that this file does not match itself.
FORBIDDEN = ["shared" + "/testdata", "/work" + "/", "'" + ".." + "/", '"' + ".." + "/"]
# Path(__file__).resolve().parents[N] followed by any number of .parent
FILE_PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parents\[\d+\])?(?:\.parent)*)")


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(PROJECT_ROOT.resolve())


def test_data_locations_are_inside_the_repository(real_data: Path) -> None:
    for path in (real_data, REAL_DATA, DCMQI, ACRIN_PET, TEST_DATA):
        assert _inside(path), f"{path} is outside the repository {PROJECT_ROOT}"
        assert path.is_dir(), path
    files = [p for p in REAL_DATA.rglob("*") if p.is_file()]
    assert len(files) >= 19
    outside = [p for p in files if not _inside(p)]  # a symlink out of the checkout
    assert outside == []


def _climb(path: Path, chain: str) -> Path:
    m = re.match(r"\.parents\[(\d+)\]", chain)
    if m:
        path = path.parents[int(m.group(1))]
        chain = chain[m.end() :]
    for _ in range(chain.count(".parent")):
        path = path.parent
    return path


def test_no_test_source_points_outside_the_repository() -> None:
    problems = []
    for src in sorted(TESTS.rglob("*.py")):
        if ".venv" in src.parts:
            continue
        text = src.read_text(encoding="utf-8")
        rel = src.relative_to(PROJECT_ROOT)
        problems += [f"{rel}: {bad!r}" for bad in FORBIDDEN if bad in text]
        for m in FILE_PARENTS.finditer(text):
            target = _climb(src.resolve(), m.group(1))
            if not _inside(target):
                problems.append(f"{rel}: {m.group(0)} is {target}, outside the repository")
    assert problems == []


def test_every_real_file_is_documented_and_committed() -> None:
    readme = (TEST_DATA / "README.md").read_text(encoding="utf-8")
    files = sorted(p for p in REAL_DATA.rglob("*") if p.is_file())
    undocumented = [
        str(p.relative_to(REAL_DATA))
        for p in files
        if p.name not in readme and f"{p.parent.relative_to(REAL_DATA)}/" not in readme
    ]
    assert undocumented == [], "add a row for each to tests/data/README.md"
    git = shutil.which("git")
    if git is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to compare with")
    tracked = subprocess.run(
        [git, "ls-files", "-z", "--", str(REAL_DATA)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    tracked_paths = {(PROJECT_ROOT / t.decode()).resolve() for t in tracked if t}
    untracked = [
        str(p.relative_to(PROJECT_ROOT)) for p in files if p.resolve() not in tracked_paths
    ]
    assert untracked == [], "commit them: a clone would not have them"
