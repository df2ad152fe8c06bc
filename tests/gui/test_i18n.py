"""French and English (issue 14): the catalogue is complete and compiled, the language follows
the system or Help > Language, numbers and dates follow the language, and under French no
visible text of the main window, its dialogs or the PDF report is left in English.

The walk is the blinding leak test's (every widget's text, tooltip, title, item model, menu
action, the viewport overlays) over the window with every dock and dialog open, in French and
blinded: a text is reported when it is the English source of a message the catalogue translates
differently, or when it still reads as English (English function words once the data shown as
it is - DICOM descriptions, file paths, user names - is taken out).  Screenshots of the windows
go to /tmp/shots/fr/.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from test_blinding_leak import Identifiers, walk_texts

from namecar_viewer.gui import i18n, i18n_tools
from namecar_viewer.gui.i18n import app_text
from read_copies import copy_read

SHOTS = Path("/tmp/shots/fr")
ROOT = Path(__file__).resolve().parents[2]

# Written as they are in French too: names, units, DICOM and imaging terms, codes.
_ALLOWED = """NAMECAR Viewer RECIST iRECIST DICOM DICOMDIR DICOMweb PACS SR TID CSV JSON PDF PNG
    UID AE
    DIMSE QIDO WADO STOW RS C-ECHO C-FIND C-GET C-MOVE C-STORE TLS SUV SUVmax SUVpeak SUVmean
    SUVbw MTV TLU TBR MIP MPR PSMA LPS OK ROI VOI CT MR PT US CR DX NM OT mm ml g s HU"""
ALLOWED_WORDS = set(_ALLOWED.split())
# English words that do not occur in French: a text holding one is still English.
_ENGLISH = """the of and is are not to with from this that for your you will cannot only every which
    what here there none yes have has been was were into than then when where after before by at
    its it no read reader lesion lesions study studies series timepoint baseline target sum shown
    loaded missing open show load save signed draft look folder file files size modified computer
    back forward"""
ENGLISH_WORDS = set(_ENGLISH.split())
DATA_KEYWORDS = (
    "SeriesDescription",
    "StudyDescription",
    "ProtocolName",
    "InstitutionName",
    "Manufacturer",
    "ManufacturerModelName",
    "ClinicalTrialSponsorName",
    "ClinicalTrialProtocolName",
    "ClinicalTrialTimePointID",
    "BodyPartExamined",
)


@pytest.fixture
def french(qapp: QApplication) -> Iterator[None]:
    assert i18n.install(qapp, "fr") == "fr"
    yield
    i18n.install(qapp, "en")


# --- the catalogue ---------------------------------------------------------------------------
def test_catalogue_is_complete_and_compiled() -> None:
    """Every string of the sources is in namecar_fr.ts, translated, and namecar_fr.qm is its
    compilation (python -m namecar_viewer.gui.i18n_tools update|release regenerates them)."""
    assert i18n_tools.problems("fr") == []


def test_translations_keep_their_placeholders() -> None:
    placeholder = re.compile(r"\{[^{}]*\}")
    bad = [
        (m.context, m.source, m.translation)
        for m in i18n_tools.messages(i18n_tools.ts_path("fr"))
        if sorted(placeholder.findall(m.source)) != sorted(placeholder.findall(m.translation))
    ]
    assert bad == []


def test_criteria_texts_list_the_shipped_criteria() -> None:
    from namecar_viewer.gui.criteria_texts import CRITERIA_TEXTS

    data = json.loads((ROOT / "resources" / "namecar_eligibility_criteria.json").read_text())
    texts = [data["wording_status"], data["trial"], data["source"]]
    texts += [c["text"] for kind in ("inclusion", "exclusion") for c in data[kind]]
    assert sorted(texts) == sorted(CRITERIA_TEXTS)


# --- which language ---------------------------------------------------------------------------
def _chosen(env: dict[str, str]) -> str:
    code = (
        "from PySide6.QtCore import QCoreApplication\n"
        "app = QCoreApplication([])\n"
        "from namecar_viewer.gui import i18n\n"
        "print(i18n.install(app), i18n.num(12.5), i18n.date_text('20250115'))\n"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "NAMECAR_"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def test_language_follows_the_system_then_the_setting(tmp_path: Path) -> None:
    settings = str(tmp_path / "settings.ini")
    assert _chosen({"LANG": "fr_FR.UTF-8", "NAMECAR_SETTINGS": settings}) == "fr 12,5 15/01/2025"
    assert _chosen({"LANG": "en_GB.UTF-8", "NAMECAR_SETTINGS": settings}) == "en 12.5 2025-01-15"
    assert _chosen({"LANG": "de_DE.UTF-8", "NAMECAR_SETTINGS": settings}).startswith("en ")
    # the choice of Help > Language wins over the system's, $NAMECAR_LANG over both
    (tmp_path / "settings.ini").write_text("[ui]\nlanguage=en\n")
    assert _chosen({"LANG": "fr_FR.UTF-8", "NAMECAR_SETTINGS": settings}).startswith("en ")
    assert _chosen(
        {"LANG": "fr_FR.UTF-8", "NAMECAR_SETTINGS": settings, "NAMECAR_LANG": "fr"}
    ).startswith("fr ")


def test_help_language_menu_saves_the_choice(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from namecar_viewer.gui.main_window import MainWindow

    monkeypatch.setenv(i18n.SETTINGS_ENV, str(tmp_path / "settings.ini"))
    w = MainWindow()
    qtbot.addWidget(w)
    acts = w.actions_by_name
    assert [acts[n].text() for n in ("language_en", "language_fr")] == ["English", "Français"]
    assert acts["language_system"].isChecked()  # nothing chosen yet: the system's
    acts["language_fr"].trigger()
    assert i18n.saved_language() == "fr"
    assert "next start" in w.statusBar().currentMessage()  # applied at the next start
    assert "language=fr" in (tmp_path / "settings.ini").read_text()
    acts["language_system"].trigger()
    assert i18n.saved_language() == ""


def test_numbers_and_dates_follow_the_language(french: None) -> None:
    assert i18n.num(12.5) == "12,5" and i18n.num(-41.06, 1, signed=True) == "-41,1"
    assert i18n.num(1234.5) == "1234,5"  # no group separator
    assert i18n.date_text(dt.date(2025, 1, 15)) == "15/01/2025"
    assert i18n.datetime_text(dt.datetime(2025, 1, 15, 9, 5)) == "15/01/2025 09:05"
    assert i18n.fmt("{x:.1f} mm", x=3.25) == "3,2 mm"
    assert app_text("PR: sum 84 mm, -50.0% from baseline 168 mm") == (
        "RP\u00a0: somme 84 mm, -50,0\u00a0% par rapport à la référence 168 mm"
    )
    assert app_text("Day 267") == "J267" and app_text("2025-10-09") == "09/10/2025"


def test_a_template_translates_only_the_texts_it_made(french: None) -> None:
    # "{response} at {label}" holds a response code: other sentences with "at" are not it
    assert app_text("PR at fu03m").startswith("RP ")
    for english in ("needs at least one fragment", "nothing listens at 10.0.0.1 port 104"):
        assert app_text(english) == english
    # "{first}; {rest}" joins known texts; an English sentence none of whose parts is known
    # keeps its English punctuation
    assert app_text("disk full; retry later") == "disk full; retry later"
    assert app_text("Move measurement; Delete lesion") != "Move measurement; Delete lesion"
    # findings joined with "; " are each translated, and a section cited keeps its number
    one = "timepoint fu03m: date missing [every timepoint needs a date (sec. 4.4.3, 4.6)]"
    two = one.replace("fu03m", "fu06m")
    french_one = app_text(one)
    assert french_one.startswith("évaluation fu03m\u00a0: ") and "(sect. 4.4.3, 4.6)]" in french_one
    assert app_text(f"{one}; {two}") == f"{french_one}\u00a0; {app_text(two)}"


def test_english_is_unchanged_by_default() -> None:
    assert i18n.language() == "en"
    assert i18n.num(12.5) == "12.5" and i18n.date_text("20250115") == "2025-01-15"
    assert app_text("PR: sum 84 mm, -50.0% from baseline 168 mm").startswith("PR: sum 84 mm")


# --- everything visible, in French -----------------------------------------------------------
class EnglishFinder:
    """Finds visible texts left in English (see the module docstring)."""

    def __init__(self, demo: Path, extra_data: Iterable[str] = ()) -> None:
        ms = i18n_tools.messages(i18n_tools.ts_path("fr"))
        # sources the catalogue writes differently in French (the same word in both is fine)
        self.sources = {_plain(m.source) for m in ms if _plain(m.source) != _plain(m.translation)}
        self.sources -= {_plain(m.translation) for m in ms}
        data: set[str] = set(extra_data)
        for folder in sorted(p for p in demo.iterdir() if p.is_dir()):
            ds = pydicom.dcmread(sorted(folder.glob("*.dcm"))[0], stop_before_pixels=True)
            values = {str(ds.get(kw)) for kw in DATA_KEYWORDS if ds.get(kw)}
            data |= values | {v.lower() for v in values}
            data.add(folder.name)
        self.data = sorted((d for d in data if d.strip()), key=len, reverse=True)

    def english(self, text: str) -> str | None:
        """Why ``text`` is English, or None."""
        t = _plain(text)
        if not t or t in self.data or t in ALLOWED_WORDS:
            return None
        if t.startswith(("{", "[")) and _is_json(t):
            return None  # a value of the audit trail, shown as it was recorded
        if t in self.sources:
            return "an English source shown as it is"
        for line in t.splitlines():
            rest = line
            for d in self.data:
                rest = rest.replace(d, " ")
            rest = re.sub(r"(/[\w.\-^]+)+/?", " ", rest)  # file paths
            if re.search(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\d-])", rest):
                return f"an ISO date in {line[:160]!r}"
            words = re.findall(r"[^\W\d_][\w'\-]*", rest)
            hits = [w for w in words if w.lower() in ENGLISH_WORDS and w not in ALLOWED_WORDS]
            if hits:
                return f"English words {hits} in {line[:160]!r}"
        return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text.removesuffix("..."))
    except ValueError:
        return text.endswith("...")  # the audit table shortens long values
    return True


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install poppler-utils", pytrace=False)
    return path


def _plain(text: str) -> str:
    return re.sub(r"&(?=\w)", "", text).replace("\u00a0", " ").strip()


def _shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def open_everything(qtbot: QtBot, demo: Path, tmp_path: Path, blinded: bool) -> dict[str, Any]:
    """The main window on the demo patient and its read with every dock and dialog open, as a
    reader who is also an administrator sees them; returns them by name."""
    from namecar_viewer.app.pet import SuvField
    from namecar_viewer.core.measure import MeasurementKind
    from namecar_viewer.gui.adjudication import AdjudicationView
    from namecar_viewer.gui.export_dialog import make_export_dialog
    from namecar_viewer.gui.fusion.suv_dialog import SuvEntryDialog
    from namecar_viewer.gui.login import LoginDialog, log_in
    from namecar_viewer.gui.main_window import MainWindow
    from namecar_viewer.persistence.reads_db import ReadsDatabase
    from namecar_viewer.phantom.demo_read import build_demo_read

    db = ReadsDatabase(tmp_path / "reads.sqlite")
    ctx, why = log_in(db, username="reader1", interactive=False)
    assert ctx is not None, why
    ctx.save_blinded(blinded)
    read = dataclasses.replace(build_demo_read(demo), reader="reader1")
    db.save_new_read(read)
    other = copy_read(read, "r2", "reader2")
    db.save_new_read(other)
    case = ctx.worklist.create_case("reader1", "NAMECAR-001", "FU03M", "NAMECAR-001")
    ctx.worklist.assign("reader1", case, "reader1")

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.set_review(ctx)
    w.show()
    w.open_paths([str(demo)])
    w.review.show_worklist().panel.open_row(0)
    said: list[str] = []  # status bar messages along the way (each is overwritten by the next)
    w.actions_by_name["protocol_recist"].trigger()
    said.append(w.statusBar().currentMessage())
    w.reading.wait_loads()
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    base = read.baseline()
    assert base is not None
    w.review.sign(base.uid)
    said.append(w.statusBar().currentMessage())
    qtbot.wait(50)
    _shot(w, "main_window_blinded" if blinded else "main_window")

    out: dict[str, Any] = {"window": w, "db": db, "ctx": ctx, "read": read, "said": said}
    # the lesion chooser: a line drawn where no lesion is expected, on the current CT
    vp = w.visible_viewports()[-1]
    w.set_active(vp)
    c = vp.rect().center()
    a = vp.screen_to_patient(QPointF(c.x() - 60, c.y() + 120))
    b = vp.screen_to_patient(QPointF(c.x() - 20, c.y() + 140))
    assert a is not None and b is not None
    w.reads.layer.add(vp, MeasurementKind.LINE, [np.asarray(a), np.asarray(b)])
    chooser = w.reads.layer.chooser
    assert chooser is not None and chooser.isVisible()
    qtbot.wait(20)
    _shot(vp, "lesion_chooser")
    _shot(chooser, "lesion_chooser_close")
    out["chooser_texts"] = walk_texts([chooser])
    chooser.accept()  # the chosen new lesion is announced with Undo
    said.append(w.statusBar().currentMessage())
    qtbot.wait(20)
    _shot(vp, "undo_toast")
    out["toast_texts"] = walk_texts([t for t in w.reads.layer.toasts.values() if t.isVisible()])

    # File > MRI-PET layout's window: fusion controls, registration, PET lesions
    from namecar_viewer.app.pet import load_pet_suv
    from namecar_viewer.core.dicom import load_stack, scan
    from namecar_viewer.gui.fusion import build_mri_pet_view

    (mr,) = scan([str(demo / "MR_2025-07-22_T2_TSE_AX")]).stacks
    pet = load_pet_suv([str(demo / "PT_2025-07-24_PSMA_Ga68")])
    mri_pet = build_mri_pet_view(load_stack(mr), pet)
    qtbot.addWidget(mri_pet)
    mri_pet.resize(1500, 950)
    mri_pet.show()
    qtbot.wait(20)
    _shot(mri_pet, "mri_pet_layout")
    out["mri_pet"] = mri_pet
    for i in range(mri_pet.side.count()):
        mri_pet.side.setCurrentIndex(i)  # every tab shown once (hidden ones are walked too)

    export = make_export_dialog(w.review)
    out["file_names"] = [export.name_edit.text()]  # a file name, not a sentence
    dialogs: dict[str, QWidget | None] = {
        "sign_dialog": w.review.show_sign_dialog(),
        "unlock_dialog": w.review.show_unlock_dialog(),
        "audit_view": w.review.show_audit_view(),
        "assign_dialog": w.review.show_assign(),
        "adjudication_view": AdjudicationView(ctx, case, read, other, w.review.policy, w),
        "shortcuts_dialog": w.show_shortcuts(),
        "import_dialog": w.reading.show_import_dialog(),
        "eligibility_view": w.response.show_eligibility(),
        "export_dialog": export,
        "login_dialog": LoginDialog(ctx.auth, w, "reader1"),
        "suv_dialog": SuvEntryDialog(
            "PatientWeight (0010,1030) is missing in file PT/1.dcm; SUVbw needs the body weight; "
            "the reader can enter it",
            (SuvField.WEIGHT, SuvField.DOSE),
            w,
        ),
        "pacs_query_dialog": w.show_pacs_dialog(),
        "pacs_nodes_dialog": w.show_pacs_nodes(),
    }
    for name, dlg in dialogs.items():
        if dlg is None:
            continue
        qtbot.addWidget(dlg)
        dlg.show()
        qtbot.wait(10)
        _shot(dlg, name)
        out[name] = dlg
    return out


@pytest.mark.parametrize("blinded", [True, False], ids=["blinded", "open"])
def test_french_windows_show_no_english(
    qtbot: QtBot,
    small_demo: Path,
    tmp_path: Path,
    french: None,
    monkeypatch: pytest.MonkeyPatch,
    blinded: bool,
) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    monkeypatch.setenv(i18n.SETTINGS_ENV, str(tmp_path / "settings.ini"))
    opened = open_everything(qtbot, small_demo, tmp_path, blinded=blinded)
    w = opened["window"]
    assert w.menu_named("menu_file").title() == "&Fichier"
    tops = [x for x in QApplication.topLevelWidgets() if x is w or x.isVisible()]
    texts = walk_texts(tops)
    for vp in w.viewports:
        texts += [(f"overlay {k}", v) for k, v in vp.overlay_texts().items()]
    for vp in opened["mri_pet"].findChildren(type(w.viewports[0])):
        texts += [(f"MRI-PET overlay {k}", v) for k, v in vp.overlay_texts().items()]
    texts += opened["chooser_texts"] + opened["toast_texts"]
    texts += [("status bar", m) for m in opened["said"]]
    texts.append(("window title", w.windowTitle()))
    assert len(texts) > 800  # the walk saw the window, its docks and every dialog
    joined = "\n".join(t for _w, t in texts)
    # clinical words as French radiologists write them, numbers with a decimal comma
    for word in ("Lésion", "cible", "non cible", "Somme", "Nadir", "Référence"):
        assert word in joined, word
    assert ("J267" in joined) if blinded else ("09/10/2025" in joined)  # fu03m
    assert re.search(r"\d,\d", joined)
    finder = EnglishFinder(
        small_demo, extra_data=("reader1", "reader2", "Demo Reader", *opened["file_names"])
    )
    english = sorted(
        {(where, text[:60], why) for where, text in texts if (why := finder.english(text))}
    )
    if os.environ.get("NAMECAR_I18N_DUMP"):
        Path(os.environ["NAMECAR_I18N_DUMP"]).write_text(
            "\n".join(f"{w}: {t!r} ({why})" for w, t, why in english), encoding="utf-8"
        )
    assert english == [], "\n".join(f"{w}: {t!r} ({why})" for w, t, why in english)
    if not blinded:
        return
    # blinded in French too: no identifier in any spelling (dd/mm/yyyy included)
    ids = Identifiers(small_demo)
    leaks = [(where, text[:120]) for where, text in texts if ids.leaks(text)]
    assert leaks == []


def test_french_pdf_report(
    qapp: QApplication, small_demo: Path, tmp_path: Path, french: None
) -> None:
    from namecar_viewer.core.reports.sources import HeaderIndex
    from namecar_viewer.gui.reports.pdf_report import write_pdf_report
    from namecar_viewer.phantom.demo_read import build_demo_read

    read = build_demo_read(small_demo)
    pdf = tmp_path / "rapport.pdf"
    assert write_pdf_report(read, pdf, headers=HeaderIndex.from_folders([small_demo])) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [_tool("pdftoppm"), "-r", "80", "-png", str(pdf), str(SHOTS / "pdf")],
        check=True,
    )
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for s in (
        "Rapport de réponse NAMECAR",
        "Sujet : NAMECAR-001",
        "Statut : brouillon - non signé",
        "Éligible : RP métastatique -77,8 %",
        "MP : somme 99 mm, +22,2 % par rapport au nadir",
        "Meilleure réponse globale : RP",
        "Première MP : 09/04/2026 (fu09m)",
        "09/04/2026",
        "rein (primitive)",
        "25,0 x 18,0",
        "Réponse au cours du temps",  # the charts below it are images (looked at)
        "Images clés",
    ):
        assert s in text.replace("\u00a0", " "), s
    finder = EnglishFinder(small_demo, extra_data=("Demo Reader",))
    english = [line for line in text.splitlines() if finder.english(line)]
    assert english == [], "\n".join(english)


def test_the_walk_finds_english_when_nothing_is_translated(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detector of the French walk, run on the English window: it must object to most of
    it (else the French test would pass by seeing nothing)."""
    from namecar_viewer.gui.main_window import MainWindow

    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_paths([str(small_demo)])
    w.reading.wait_loads()
    texts = walk_texts([w])
    finder = EnglishFinder(small_demo)
    english = [t for _where, t in texts if finder.english(t)]
    assert len(english) > 150, len(english)
    assert {"&File", "Go to lesion", "Response (RECIST 1.1)"} <= set(english)
