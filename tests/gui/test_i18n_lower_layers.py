"""What the layers below the GUI say reaches a French reader in French.

The scan and the loader (``core.dicom``, no Qt), the import, the PACS layer and the others
write their messages in English; the GUI recognises each from its template
(``gui/dicom_texts.py``, ``pet_import_texts.py``, ``reading_texts.py``, ``pacs_texts.py``) and
shows it translated, element names, tags, values, hosts and file names kept.  The messages are
not listed by hand here: they are made the way a reader meets them, by scanning and loading
real vendor series (tests/data/dicom), series with irregular geometry, files that are not
DICOM and the seeded mutants of the fuzz tests, by importing a report beside a CT, and by
asking a PACS node that does not answer, so a message that changes in its layer and no longer
matches its template fails here.
"""

from __future__ import annotations

import gzip
import re
import shutil
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.importer import import_paths
from namecar_viewer.core.dicom import load_series, load_stack, scan
from namecar_viewer.core.problems import DicomInputError, Problem
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text, problem_text, reason_text
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.study_index import StudyIndex

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "core" / "dicom"))

from dicom_mutants import MUTATIONS, write_case  # noqa: E402
from dicom_series_factory import write_ct_series  # noqa: E402

REAL = ROOT / "tests" / "data" / "dicom"
SHOTS = Path("/tmp/shots/fr")
# English words a French message cannot hold once DICOM keywords, tags, values and paths are out
_ENGLISH = """the of and is are not to with from this that for cannot only every which no none
    file files slice slices missing shown kept left between needs holds says split found
    loaded read could be was were into than by at its it"""
ENGLISH = set(_ENGLISH.split())


# what pydicom and the codecs say of a file they cannot decode: passed on as they wrote it
LIBRARY_TEXTS = re.compile(
    r"\b\w*(Error|Exception):.*|The number of bytes of pixel data.*|Missing required element.*"
    r"|Unable to decode.*|No suitable Palette.*",
    re.S,
)


def _words_left(text: str, data: set[str]) -> list[str]:
    """The English words of ``text`` once the series' own names (``data``), file paths, DICOM
    keywords (CamelCase) and the texts other libraries wrote (``LIBRARY_TEXTS``) are taken out."""
    for name in sorted(data, key=len, reverse=True):
        text = text.replace(name, " ")
    text = LIBRARY_TEXTS.sub(" ", text)
    text = re.sub(r"(/[\w.\-+]+)+/?", " ", text)
    text = re.sub(r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+\b", " ", text)
    return [w for w in re.findall(r"[A-Za-z']+", text) if w.lower() in ENGLISH]


def _series(folder: Path, positions: list[tuple[float, float, float]], **kw: object) -> Path:
    write_ct_series(folder, positions, **kw)  # type: ignore[arg-type]
    return folder


def _z(values: list[float]) -> list[tuple[float, float, float]]:
    return [(0.0, 0.0, z) for z in values]


def _inputs(tmp: Path) -> Iterator[list[Path]]:
    """Folders and files that make the DICOM layer say something."""
    for case in sorted(p for p in REAL.glob("*/*") if p.is_dir() and p.name != "Ref"):
        yield [case]
    yield [_series(tmp / "gap", _z([0, 2, 4, 10, 12]))]
    yield [_series(tmp / "irregular", _z([0, 2, 4, 7, 9, 11, 16]))]
    yield [_series(tmp / "thin", _z([0, 5, 10, 15]), thickness=2.0)]
    yield [_series(tmp / "overlap", _z([0, 1, 2, 3]), thickness=2.5)]
    yield [_series(tmp / "duplicate", _z([0, 2, 2, 4]), instance_numbers=[1, 2, 3, 4])]
    tilt = [(0.0, 0.5 * k, 2.0 * k) for k in range(5)]
    yield [_series(tmp / "tilt", tilt)]
    yield [_series(tmp / "spacing", _z([0, 2, 4]), pixel_spacing=(0.0, 0.0))]
    notes = tmp / "notes.txt"
    notes.write_text("not an image\n")
    empty = tmp / "empty.dcm"
    empty.write_bytes(b"")
    first = sorted((tmp / "gap").iterdir())[0]
    packed = tmp / "IM0001.dcm.gz"
    packed.write_bytes(gzip.compress(first.read_bytes()))
    cut = tmp / "cut.dcm"
    cut.write_bytes(first.read_bytes()[:300])
    office = tmp / "report.docx"
    with zipfile.ZipFile(office, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    for path in (notes, empty, packed, cut, office, tmp / "no-such-file.dcm"):
        yield [path]
    base = sorted((tmp / "gap").iterdir())
    for n, mutation in enumerate(MUTATIONS):
        folder = tmp / f"mutant{n:02d}"
        yield [Path(write_case(base, folder, 1, mutation, seed=n)).parent]


Said = tuple[list[str], list[Problem], set[str]]


def _messages(tmp: Path) -> Said:
    """Every reason and problem the scan and the loader give for the inputs, and the series'
    descriptions (data, shown as written in any language)."""
    reasons: list[str] = []
    problems: list[Problem] = []
    names: set[str] = set()
    for paths in _inputs(tmp):
        report = scan([str(p) for p in paths])
        reasons += [u.reason for u in report.unreadable]
        for stack in report.stacks:
            problems += stack.problems
            names.add(stack.series_description)
            if stack.loadable and len(stack.instances) <= 64:
                try:
                    problems += load_stack(stack).metadata["problems"]
                except DicomInputError as exc:
                    reasons.append(str(exc))
        try:
            problems += load_series([str(p) for p in paths]).metadata["problems"]
        except DicomInputError as exc:
            reasons.append(str(exc))
    return reasons, problems, {n for n in names if n}


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory) -> Said:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pydicom, writing the mutants
        return _messages(tmp_path_factory.mktemp("said"))


@pytest.fixture
def french(qapp: QApplication) -> Iterator[None]:
    assert i18n.install(qapp, "fr") == "fr"
    yield
    i18n.install(qapp, "en")


def test_the_inputs_make_the_dicom_layer_say_many_things(said: Said) -> None:
    reasons, problems, _ = said
    codes = {p.code for p in problems}
    # the cases above are the ones readers meet: if they stop producing these, the test below
    # would pass on nothing
    for code in (
        "gap",
        "non-uniform-spacing",
        "thickness-spacing-mismatch",
        "duplicate-position",
        "gantry-tilt",
        "volumes-by-order",
        "rows-reversed",
        "missing-pixel-spacing",
        "unreadable-file",
    ):
        assert code in codes, code
    assert any(r.startswith("not a DICOM file") for r in reasons)
    assert any(r.startswith("truncated") for r in reasons)
    assert len(set(reasons)) >= 25, sorted(set(reasons))


def test_every_message_of_the_dicom_layer_reads_in_french(said: Said, french: None) -> None:
    reasons, problems, names = said
    left: list[str] = []
    for reason in sorted(set(reasons)):
        shown = reason_text(reason)
        if shown == reason or _words_left(shown, names):
            left.append(f"{reason!r} -> {shown!r}")
    seen: set[str] = set()
    for p in problems:
        if p.message in seen:
            continue
        seen.add(p.message)
        shown = problem_text(p)
        if app_text(p.message) == p.message or _words_left(shown, names):
            left.append(f"{p.code}: {p.message!r} -> {shown!r}")
    assert not left, "\n".join(left)


def test_problem_lines_keep_their_files_and_name_the_severity(french: None) -> None:
    from namecar_viewer.core.problems import Severity

    p = Problem(
        "unreadable-file",
        "not a DICOM file (no preamble, no DICOM tags)",
        Severity.WARNING,
        ("/data/a.dcm", "/data/b.dcm"),
    )
    shown = problem_text(p)
    assert shown.endswith(" [/data/a.dcm, /data/b.dcm]")
    assert not shown.startswith("warning") and "DICOM" in shown
    # the same line as the load worker sends it (str of the problem), one line of several
    assert reason_text(f"{p}\n{p}") == f"{shown}\n{shown}"


def test_english_messages_are_shown_as_written(said: Said) -> None:
    reasons, problems, _ = said
    assert i18n.language() == "en"
    for reason in set(reasons):
        assert reason_text(reason) == reason
    for p in problems[:50]:
        assert problem_text(p) == str(p)


def test_a_french_reader_meets_the_problems_in_the_browser_and_the_viewport(
    qtbot: QtBot, tmp_path: Path, french: None
) -> None:
    """Real clicks: the browser's tooltip of a series with a missing slice, then a double-click
    on a series whose files are gone, whose reason shows in the viewport, both in French."""
    gap = _series(tmp_path / "gap", _z([0, 2, 4, 10, 12]))
    gone = _series(tmp_path / "gone", _z([0, 3, 6]), thickness=3.0)
    idx = StudyIndex(":memory:")
    import_paths(idx, [gap, gone], thumbnails=False)
    shutil.rmtree(gone)  # an unplugged disk
    w = MainWindow(index=idx)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.browser.refresh()
    rows = {r.n_images: r for r in idx.stack_rows()}
    tip = w.browser.item_of_stack(rows[5].id).toolTip(0)
    assert "avertissement\u00a0: écart de 6,00 mm entre les positions de coupe" in tip, tip
    assert str(gap / "IM0002.dcm") in tip  # the files named, as they are
    item = w.browser.item_of_stack(rows[3].id)
    tree = w.browser.tree
    at = tree.visualItemRect(item).center()
    loader = w.reading.loader_of(w.active)
    with qtbot.waitSignal(loader.failed, timeout=30000):
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
    shown = w.active.model.error
    assert shown.startswith("aucune image de la pile"), shown
    assert str(gone) in shown and "Errno" not in shown
    assert "illisible\u00a0: Fichier ou dossier introuvable" in shown, shown
    assert not _words_left(shown, set())
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(SHOTS / "dicom_problem_fr.png"))


def test_decimal_commas_leave_uids_paths_and_stored_values_alone(french: None) -> None:
    f = i18n.localise_number_text
    assert f("gap of 6.00 mm, -50.0%.") == "gap of 6,00 mm, -50,0\u00a0%."
    assert f("stack 1.2.826.0.1.3680043#1") == "stack 1.2.826.0.1.3680043#1"
    assert f("/data/1.2.840.113619/IM1.5.dcm v1.5") == "/data/1.2.840.113619/IM1.5.dcm v1.5"
    # a header value as stored: a decimal comma would read as a separator
    assert f("is [1.0, 0.0, 0.0] at 2.5 mm") == "is [1.0, 0.0, 0.0] at 2,5 mm"


def test_an_import_with_a_report_beside_the_images_reads_in_french(
    tmp_path: Path, french: None
) -> None:
    # a CT export holds a dose report or a key object beside the images: the import says it
    # was left out, in the reader's language
    from pydicom.data import get_testdata_file

    from namecar_viewer.gui.study_browser import summary_text

    _series(tmp_path / "ct", _z([0, 2, 4]))
    shutil.copy(get_testdata_file("test-SR.dcm"), tmp_path / "ct" / "SR.dcm")
    summary = import_paths(StudyIndex(":memory:"), [tmp_path / "ct"], thumbnails=False)
    (skipped,) = summary.skipped
    assert "no image to show" in skipped.reason
    text = summary_text(summary)
    assert "aucune image à afficher, non indexé comme pile" in text, text
    description = {"Demonstration of SR Features"}  # the report's own title: data
    assert not _words_left(text.replace(str(tmp_path), " "), description), text


def _french_errors(*calls: Callable[[], object]) -> list[str]:
    """The messages of the errors ``calls`` raise (each must raise), each checked to read in
    French (translated, no English word left)."""
    said: list[str] = []
    for call in calls:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the message is what is tested
            said.append(str(exc))
    assert len(said) == len(calls), said
    for english in said:
        shown = app_text(english)
        assert shown != english and not _words_left(shown, set()), (english, shown)
    return said


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pacs_messages_read_in_french(french: None) -> None:
    """What the PACS layer says of a node that does not answer, of bad settings and of a bad
    date range (no server needed), in French, hosts and AE titles kept."""
    from namecar_viewer.pacs import DicomWebNode, DimseNode, LocalAe, StudyQuery, echo
    from namecar_viewer.pacs import test_connection as connection_test

    closed = _free_port()
    down = DimseNode("PACS1", "ARCHIVE", "127.0.0.1", closed)
    here = LocalAe("NAMECAR", _free_port())
    said = _french_errors(
        lambda: echo(down, here),
        lambda: connection_test(DicomWebNode("WEB1", f"http://127.0.0.1:{closed}/x"), here),
        DimseNode("PACS1", "BAD\\AE", "h", 104).validate,
        DimseNode("PACS1", "AE", "h", 70000).validate,
        StudyQuery(date_from="2025-03-01", date_to="2025-02-01").date_range,
    )
    assert app_text(said[0]).startswith(f"PACS1\u00a0: rien n'écoute sur 127.0.0.1:{closed}")


def test_save_export_and_account_messages_read_in_french(tmp_path: Path, french: None) -> None:
    """A read edited in two windows, an export to a missing folder, a bad user name."""
    import dataclasses

    from namecar_viewer.app.auth import AuthService
    from namecar_viewer.core.reads import Read, ReadTimepoint, TimepointRole, diff_reads
    from namecar_viewer.core.reports.atomic import atomic_write_text
    from namecar_viewer.persistence.reads_db import ReadsDatabase

    path = tmp_path / "CT_2025-01-15_reads.sqlite"  # a date in a name stays as written
    tp = ReadTimepoint("tp1", "fu03m", None, None, TimepointRole.FOLLOW_UP)
    read = Read.new(patient_id="P1", reader="alice", uid="2.25.7").with_timepoint(tp)
    ReadsDatabase(path).save_new_read(read)
    a, b = ReadsDatabase(path), ReadsDatabase(path)
    ra, rb = a.load_read("2.25.7"), b.load_read("2.25.7")
    a.apply(ra.uid, diff_reads(ra, ra.with_timepoint(dataclasses.replace(tp, label="fu03a"))))
    tp_b = dataclasses.replace(tp, label="fu03b")
    said = _french_errors(
        lambda: b.apply(rb.uid, diff_reads(rb, rb.with_timepoint(tp_b))),
        lambda: atomic_write_text(tmp_path / "missing" / "out.csv", "x"),
        lambda: AuthService._check_name("-bad"),
    )
    assert str(path) in app_text(said[0])
