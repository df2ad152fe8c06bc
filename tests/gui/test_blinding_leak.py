"""Blinding leak test: the demo patient and its read in the main window in blinded mode, every
dock, panel and dialog open; no widget text, item model, viewport overlay or blinded export
(CSV, JSON, SR, PDF) may contain the demo's identifying values, read from its DICOM headers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QPlainTextEdit,
    QStatusBar,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from namecar_viewer.gui.adjudication import AdjudicationView
from namecar_viewer.gui.login import log_in
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import build_demo_read
from read_copies import copy_read as _copy
from testsupport import require_tool

# The trial's own name is part of the demo's PatientName (NAMECAR^DEMO) and of the product's
# name ("NAMECAR Viewer", "NAMECAR eligibility"); it identifies nobody, so only the other name
# part is searched for as a word on its own.
TRIAL_WORD = "NAMECAR"
DATE_KEYWORDS = ("PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
TEXT_KEYWORDS = (
    "PatientID",
    "InstitutionName",
    "AccessionNumber",
    "OtherPatientIDs",
    "ClinicalTrialSiteID",  # where the patient was scanned, as telling as the institution
    "ClinicalTrialSiteName",
)
# The same for every patient of the trial (the sponsor, the software that wrote the images):
# identifying nobody, they may be carried whole, although the phantom spells them with "demo".
SHARED_KEYWORDS = ("ClinicalTrialSponsorName", "ManufacturerModelName")


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")


class Identifiers:
    """What must not appear, from one header of every series folder of the demo patient."""

    def __init__(self, demo: Path) -> None:
        self.values: set[str] = set()
        self.words: set[str] = set()
        self.dates: set[dt.date] = set()
        self.allowed: set[str] = set()
        for folder in sorted(p for p in demo.iterdir() if p.is_dir()):
            ds = pydicom.dcmread(sorted(folder.glob("*.dcm"))[0], stop_before_pixels=True)
            name = str(ds.PatientName)
            self.values |= {name, name.replace("^", " ").strip(), name.replace("^", ", ")}
            self.words |= {p for p in name.split("^") if p and p.upper() != TRIAL_WORD}
            self.allowed |= {str(ds.get(kw)) for kw in SHARED_KEYWORDS if ds.get(kw)}
            for kw in TEXT_KEYWORDS:
                if ds.get(kw):
                    self.values.add(str(ds.get(kw)))
            for kw in DATE_KEYWORDS:
                v = str(ds.get(kw, "") or "")
                if len(v) == 8 and v.isdigit():
                    self.dates.add(dt.date(int(v[:4]), int(v[4:6]), int(v[6:])))
        for d in self.dates:
            self.values |= {
                d.strftime("%Y%m%d"),
                d.isoformat(),
                d.strftime("%d.%m.%Y"),
                d.strftime("%d/%m/%Y"),
                d.strftime("%m/%d/%Y"),
                d.strftime("%d %b %Y"),
                d.strftime("%b %d, %Y"),
            }
        self._words = [
            re.compile(rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])", re.I) for w in self.words
        ]

    def leaks(self, text: str) -> list[str]:
        if text.strip() in self.allowed:
            return []
        low = text.lower()
        found = [v for v in self.values if v.lower() in low]
        found += [p.pattern for p in self._words if p.search(text)]
        return found


def _columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    try:
        return max(1, model.columnCount(parent))
    except TypeError:  # PySide: list models keep columnCount private
        return 1


def _model_texts(model: QAbstractItemModel) -> Iterator[str]:
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    for orient in (Qt.Orientation.Horizontal, Qt.Orientation.Vertical):
        top = QModelIndex()
        n = _columns(model, top) if orient is Qt.Orientation.Horizontal else model.rowCount(top)
        for s in range(n):
            for role in roles:
                v = model.headerData(s, orient, role)
                if v is not None:
                    yield str(v)
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        for r in range(model.rowCount(parent)):
            for c in range(_columns(model, parent)):
                idx = model.index(r, c, parent)
                for role in roles:
                    v = model.data(idx, role)
                    if v is not None:
                        yield str(v)
                if c == 0 and model.rowCount(idx) > 0:
                    stack.append(idx)


def walk_texts(roots: Iterable[QWidget]) -> list[tuple[str, str]]:
    """(where, text) of every text a user can see or hover in these windows."""
    out: list[tuple[str, str]] = []
    models: dict[int, QAbstractItemModel] = {}
    for root in roots:
        widgets = [root, *root.findChildren(QWidget)]
        for w in widgets:
            where = f"{type(w).__name__}({w.objectName()})"
            for getter in (
                "text",
                "windowTitle",
                "toolTip",
                "placeholderText",
                "statusTip",
                "whatsThis",
                "title",
                "currentMessage",
                "toPlainText",
            ):
                fn = getattr(w, getter, None)
                if callable(fn):
                    try:
                        v = fn()
                    except TypeError:
                        continue
                    if isinstance(v, str) and v:
                        out.append((f"{where}.{getter}", v))
            if isinstance(w, QAbstractItemView) and w.model() is not None:
                models[id(w.model())] = w.model()
            if isinstance(w, QComboBox):
                models[id(w.model())] = w.model()
            if isinstance(w, QTabBar):
                out += [(f"{where}.tab", w.tabText(i)) for i in range(w.count())]
            if isinstance(w, (QTextEdit, QPlainTextEdit)):
                out.append((f"{where}.plain", w.toPlainText()))
            if isinstance(w, QStatusBar):
                out.append((f"{where}.message", w.currentMessage()))
        for m in root.findChildren(QAbstractItemModel):
            models[id(m)] = m
        for a in root.findChildren(QAction):
            out += [(f"QAction.{k}", getattr(a, k)()) for k in ("text", "toolTip", "statusTip")]
    for m in models.values():
        out += [(f"model {type(m).__name__}", t) for t in _model_texts(m)]
    return out


def _sr_strings(ds: Any) -> Iterator[str]:
    for elem in ds.iterall():
        if elem.VR == "SQ":
            continue
        values = (
            elem.value
            if isinstance(elem.value, (list, tuple)) or (type(elem.value).__name__ == "MultiValue")
            else [elem.value]
        )
        for v in values:
            if isinstance(v, (str, pydicom.valuerep.PersonName)) or elem.VR in ("DA", "DT", "TM"):
                yield str(v)
    for kw in ("PatientName", "PatientID", "StudyDate"):
        if kw in ds:
            yield str(ds.data_element(kw).value)


def test_nothing_identifying_is_shown_or_exported(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, shots_dir: str
) -> None:
    ids = Identifiers(small_demo)
    # the values really are in the demo's headers (so an empty search cannot pass by accident)
    assert "NAMECAR^DEMO" in ids.values and "DEMO" in ids.words
    assert "20250115" in ids.values and "2025-01-15" in ids.values and len(ids.dates) >= 6

    db = ReadsDatabase(tmp_path / "reads.sqlite")
    ctx, _ = log_in(db, username="reader1", interactive=False)
    assert ctx is not None
    ctx.save_blinded(True)  # the reader's own setting: the window opens blinded
    read = dataclasses.replace(build_demo_read(small_demo), reader="reader1")
    db.save_new_read(read)
    other = _copy(read, "r2", "reader2")
    db.save_new_read(other)
    case = ctx.worklist.create_case("reader1", "NAMECAR-001", "FU03M", "NAMECAR-001")
    ctx.worklist.assign("reader1", case, "reader1")

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.set_review(ctx)
    w.show()
    assert w.state.blinded and w.actions_by_name["blinded"].isChecked()
    w.open_paths([str(small_demo)])
    dock = w.review.show_worklist()
    dock.panel.open_row(0)
    assert w.reads.session.read.uid == read.uid
    w.actions_by_name["protocol_recist"].trigger()
    w.reading.wait_loads()
    qtbot.wait(50)
    base = read.baseline()
    assert base is not None
    w.review.sign(base.uid)
    qtbot.wait(50)  # the status bar lays out the lock label
    w.grab().save(f"{shots_dir}/blinded_main_window.png")

    opened: list[QWidget] = [
        w.review.show_sign_dialog(),
        w.review.show_unlock_dialog(),
        w.review.show_audit_view(),
        w.review.show_assign(),
        AdjudicationView(ctx, case, read, other, w.review.policy, w),
        w.show_shortcuts(),
        w.reading.show_import_dialog(),
    ]
    for name in ("eligibility",):
        if name in w.actions_by_name:
            w.actions_by_name[name].trigger()
    for fn in (w.show_pacs_dialog, w.show_pacs_nodes):
        dlg = fn()
        if dlg is not None:
            opened.append(dlg)
    for d in opened:
        assert d is not None
        qtbot.addWidget(d)
    qtbot.wait(50)
    tops = [
        x
        for x in QApplication.topLevelWidgets()
        if x is w or x.parent() is w or x in opened or x.isVisible()
    ]
    texts = walk_texts(tops)
    for vp in w.viewports:
        texts += [(f"overlay {k}", v) for k, v in vp.overlay_texts().items()]
    texts.append(("window title", w.windowTitle()))
    assert len(texts) > 500  # the walk saw the window, its docks and the dialogs
    joined = "\n".join(t for _w, t in texts)
    assert "Day 267" in joined or "day 267" in joined  # fu03m shown as days from baseline
    leaks = [(where, text[:120], ids.leaks(text)) for where, text in texts if ids.leaks(text)]
    assert leaks == [], "\n".join(f"{w}: {t!r} -> {f}" for w, t, f in leaks)

    # every export, from Review > Export of the blinded window (the policy is passed along)
    out = {
        fmt: tmp_path / f"read.{ext}"
        for fmt, ext in (("csv", "csv"), ("json", "json"), ("sr", "dcm"), ("pdf", "pdf"))
    }
    for fmt, path in out.items():
        w.review.export_read(path, fmt)
    csv_text = out["csv"].read_text(encoding="utf-8")
    assert "T1" in csv_text and ids.leaks(csv_text) == []
    json_text = out["json"].read_text(encoding="utf-8")
    assert json.loads(json_text) and ids.leaks(json_text) == []
    sr = pydicom.dcmread(out["sr"])
    sr_strings = list(_sr_strings(sr))
    assert len(sr_strings) > 50 and "T1" in sr_strings  # lesion tracking identifiers
    assert [(x, ids.leaks(x)) for x in sr_strings if ids.leaks(x)] == []
    pdf_text = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-layout", str(out["pdf"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "T1" in pdf_text and ids.leaks(pdf_text) == []
    exports = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.EXPORT))
    assert [json.loads(e.new_value or "{}")["format"] for e in exports] == list(out)
    assert all(json.loads(e.new_value or "{}")["blinded"] for e in exports)
    db.close()


def test_site_blinding_is_required_for_readers(qtbot: QtBot, tmp_path: Path) -> None:
    """The site's blinded default binds readers (View > Blinded cannot turn it off); an
    administrator may unblind."""
    from namecar_viewer.app.auth import AuthService
    from namecar_viewer.gui.login import ReviewContext
    from namecar_viewer.persistence.users import Role

    db = ReadsDatabase(tmp_path / "reads.sqlite")
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, "correct horse 42")
    auth.create_user(admin, "reader1", {Role.READER}, "correct horse 42")
    ReviewContext.for_user(db, auth, admin).save_blinded(True, site=True)
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", "correct horse 42"))
    ctx.save_blinded(False)  # a reader's own preference cannot undo the site's rule
    ctx = ReviewContext.for_user(db, auth, ctx.user)
    assert ctx.blinding_required and ctx.blinded
    w = MainWindow()
    qtbot.addWidget(w)
    w.set_review(ctx)
    assert w.state.blinded
    w.actions_by_name["blinded"].trigger()
    assert w.state.blinded and w.actions_by_name["blinded"].isChecked()
    assert "required at this reading centre" in w.statusBar().currentMessage()
    actx = ReviewContext.for_user(db, auth, auth.login("admin", "correct horse 42"))
    assert not actx.blinding_required and actx.blinded  # the site default, not forced
    wa = MainWindow()
    qtbot.addWidget(wa)
    wa.set_review(actx)
    wa.actions_by_name["blinded"].trigger()
    assert not wa.state.blinded
    db.close()
