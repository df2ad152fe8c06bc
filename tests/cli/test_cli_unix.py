"""The command line behaves like a Unix tool: ``--version`` everywhere, a closed output pipe
ends a command quietly (exit 141, nothing on stderr), ``suv`` reads zips and folders as ``scan``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from namecar_viewer import __version__
from namecar_viewer.cli import EXIT_BROKEN_PIPE, SUBCOMMANDS, main

CASES = Path(__file__).resolve().parents[1] / "data" / "recist_cases"
DIRTESTS = Path(get_testdata_file("CT_small.dcm")).parent / "dicomdirtests"


def test_version_on_the_top_level_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"namecar-viewer {__version__}"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_version_after_any_subcommand(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"namecar-viewer {__version__}"


class _ClosedPipe(io.TextIOBase):
    """A stdout whose reader has gone: every write fails as a closed pipe does."""

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_pipe_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["recist", str(CASES / "example_pd.json")]) == EXIT_BROKEN_PIPE
    assert err.getvalue() == ""
    # stdout now goes to the null device: the interpreter's last flush cannot fail
    print("after the pipe closed")


def _closed_pipe_run(*argv: str) -> tuple[int, str]:
    """Run the console entry point with its stdout pipe closed before it writes anything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "namecar_viewer", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode("utf-8", "replace")
    return proc.wait(timeout=120), err


@pytest.mark.parametrize(
    "argv",
    [
        ["recist", str(CASES / "example_pd.json")],
        ["scan", "--json", str(DIRTESTS / "98892001" / "CT5N")],
        ["suv", "--json", get_testdata_file("CT_small.dcm")],
        ["import-sr", get_testdata_file("test-SR.dcm"), "--dry-run"],
    ],
    ids=["recist", "scan", "suv", "import-sr"],
)
def test_closed_pipe_ends_quietly(argv: list[str]) -> None:
    code, err = _closed_pipe_run(*argv)
    assert err == ""
    assert code == EXIT_BROKEN_PIPE


def test_suv_reads_a_zip_and_a_folder_like_scan(
    small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pet = next(small_demo.glob("PT_*"))
    archive = tmp_path / "pet.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(pet.iterdir()):
            zf.write(f, f"{pet.name}/{f.name}")
    assert main(["scan", str(archive)]) == 0
    assert "PT " in capsys.readouterr().out
    assert main(["suv", "--json", str(archive)]) == 0
    from_zip = capsys.readouterr().out
    assert main(["suv", "--json", str(pet)]) == 0
    from_folder = capsys.readouterr().out
    assert '"suv_bw_factor"' in from_zip
    assert from_zip == from_folder
    # a zip inside a folder is read too, as scan does
    assert main(["suv", "--json", str(tmp_path)]) == 0
    assert capsys.readouterr().out == from_zip


def test_suv_names_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suv", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}: no such file or folder" in err
