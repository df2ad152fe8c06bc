"""The PDF's response table (issue 16, part 5): every column labelled and whole, in English and
in French, with a new lesion at the last follow-up ("unequivocal" was cut to "unequiv")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from namecar_viewer.app.read_session import CreateLesion, ReadSession, SetStatus, next_lesion
from namecar_viewer.core.reads import LesionRole, LesionStatus, Site
from namecar_viewer.gui.reports.pdf_report import write_pdf_report
from namecar_viewer.phantom.demo_read import build_demo_read
from testsupport import require_tool

SHOTS = Path("/tmp/shots/display")


def _read_with_new_lesion(demo: Path) -> object:
    read = build_demo_read(demo)
    session = ReadSession(read)
    les = next_lesion(session.read, LesionRole.NEW, Site.LIVER)
    session.execute(CreateLesion(les))
    last = session.read.ordered_timepoints()[-1]
    session.execute(SetStatus(les.uid, last.uid, LesionStatus.PRESENT))
    return session.read


def _text(pdf: Path) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    return subprocess.run(
        [tool, "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize(
    ("lang", "header", "new"),
    [
        (
            "en",
            (
                "Timepoint",
                "Sum",
                "baseline",
                "Nadir",
                "nadir",
                "Target",
                "Non-target",
                "lesions",
                "Overall",
                "Reasons",
            ),
            "unequivocal",
        ),
        ("fr", ("Évaluation", "Somme", "Nadir", "Cibles", "Globale", "Motifs"), "équivoque"),
    ],
)
def test_response_columns_whole_and_labelled(
    qapp: object, small_demo: Path, tmp_path: Path, lang: str, header: tuple[str, ...], new: str
) -> None:
    from PySide6.QtCore import QCoreApplication

    from namecar_viewer.gui import i18n

    if lang != "en":
        i18n.install(QCoreApplication.instance(), lang)
    pdf = tmp_path / f"report_{lang}.pdf"
    write_pdf_report(_read_with_new_lesion(small_demo), pdf)  # type: ignore[arg-type]
    text = _text(pdf)
    table = text.split("RECIST 1.1)\n")[-1]
    for h in header:
        assert h in table, (lang, h)
    assert new in table, table  # whole, never "unequiv"
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            require_tool("pdftoppm", "poppler-utils"),
            "-r",
            "90",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(pdf),
            str(SHOTS / f"pdf_page1_{lang}"),
        ],
        check=True,
    )
