"""Response panel (gui/panels/response_panel.py) on the demo read, live through the session.

Expected values by hand (see tests/app/test_response.py): baseline 168 mm; inclusion 84 mm
-50.0 % PR; metastatic 108 -> 24 mm -77.8 % eligible; fu09m 99 mm, nadir 81 mm, +22.2 %,
+18 mm PD.  Inclusion re-baseline: fu09m +17.9 % from 84 mm, still PD from the nadir 81 mm.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from test_response_demo_read import demo_read

from namecar_viewer.app.read_session import ReadSession, SetMeasurementPoints
from namecar_viewer.app.response import RecistBaseline
from namecar_viewer.gui.panels.charts import RESPONSE_COLOURS, SumPlot, nice_ticks
from namecar_viewer.gui.panels.response_panel import ResponsePanel
from namecar_viewer.gui.undo import ReadUndoStack

SHOTS = Path("/tmp/shots")


@pytest.fixture
def panel(qtbot: QtBot, ground_truth: dict[str, Any]) -> ResponsePanel:
    session = ReadSession(demo_read(ground_truth))
    undo = ReadUndoStack(session)
    p = ResponsePanel(undo)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    return p


def test_panel_shows_demo_rows_in_colour(panel: ResponsePanel) -> None:
    text = panel.text()
    assert "NAMECAR eligibility: Eligible: metastatic PR -77.8%, primary excluded" in text
    assert "baseline (baseline) | 2025-01-15 | 168 mm | baseline" in text
    assert "inclusion | 2025-07-10 | 84 mm | -50.0% | 168 mm | -50.0% | PR | Non-CR/Non-PD" in text
    assert (
        "fu09m | 2026-04-09 | 99 mm | -41.1% | 81 mm | +22.2% | PD | Non-CR/Non-PD | none | PD"
        " | PD: sum 99 mm, +22.2% from nadir 81 mm, +18 mm" in text
    )
    assert "Best overall response: PR" in text and "First PD: 2026-04-09 (fu09m)" in text
    overall = panel.cell("fu09m", "Overall")
    assert overall.background().color() == QColor(RESPONSE_COLOURS["PD"])
    assert panel.cell("inclusion", "Overall").background().color() == QColor(RESPONSE_COLOURS["PR"])
    assert "PD: sum 99 mm, +22.2% from nadir 81 mm, +18 mm" in overall.toolTip()
    panel.reasons_button.setChecked(True)
    assert panel.reasons_text.isVisible()
    assert "Overall PD (RECIST 1.1 Table 1)" in panel.reasons_text.toPlainText()
    SHOTS.mkdir(exist_ok=True)
    panel.grab().save(str(SHOTS / "response_panel.png"))
    panel.tabs.setCurrentIndex(1)
    panel.grab().save(str(SHOTS / "response_panel_charts.png"))


def test_measurement_edit_updates_panel_without_refresh(panel: ResponsePanel) -> None:
    session = panel.undo.session
    m = session.read.measurement("M-T4-fu09m").measurement
    c = [(a + b) / 2 for a, b in zip(m.points[0], m.points[1], strict=True)]
    # T4 at fu09m 24 -> 14 mm: sum 89 mm, 8/81 = +9.9 % from the nadir, SD? no: PR vs baseline
    # (89 - 168) / 168 = -47.0 % -> PR
    pts = ((c[0] - 7, c[1], c[2]), (c[0] + 7, c[1], c[2]), m.points[2], m.points[3])
    session.execute(SetMeasurementPoints("M-T4-fu09m", pts))
    row = panel.cell("fu09m", "Sum")
    assert row.text() == "89 mm"
    assert panel.cell("fu09m", "vs nadir").text() == "+9.9%"
    assert panel.cell("fu09m", "vs baseline").text() == "-47.0%"
    assert panel.cell("fu09m", "Overall").text() == "PR"
    assert "No progression" in panel.summary_label.text()
    session.undo()
    assert panel.cell("fu09m", "Overall").text() == "PD"


def test_baseline_switch_through_undo_stack(panel: ResponsePanel) -> None:
    panel.set_baseline(RecistBaseline.INCLUSION)
    assert panel.undo.count() == 1 and panel.undo.undoText() == "RECIST baseline: inclusion"
    assert panel.baseline_label.text().startswith("inclusion (inclusion, 2025-07-10)")
    assert panel.cell("fu09m", "vs baseline").text() == "+17.9%"
    assert panel.cell("fu09m", "Nadir").text() == "81 mm"
    assert panel.cell("fu06m", "vs baseline").text() == "-3.6%"
    assert panel.cell("fu06m", "Overall").text() == "SD"
    assert panel.table.rowCount() == 4
    assert "Note: T2: long axis 6 mm is below 10 mm" in panel.text()
    # eligibility unchanged: it always uses the pre-treatment baseline
    assert "Eligible: metastatic PR -77.8%" in panel.eligibility_label.text()
    SHOTS.mkdir(exist_ok=True)
    panel.tabs.setCurrentIndex(1)
    panel.grab().save(str(SHOTS / "response_panel_inclusion.png"))
    panel.undo.undo()
    assert panel.baseline_combo.currentData() is RecistBaseline.PRE_TREATMENT
    assert panel.table.rowCount() == 5


def test_refused_read_is_a_message_not_an_exception(panel: ResponsePanel) -> None:
    session = panel.undo.session
    m = session.read.measurement("M-T5-baseline").measurement
    c = [(a + b) / 2 for a, b in zip(m.points[2], m.points[3], strict=True)]
    # node T5 short axis 18 -> 12 mm at baseline: below the 15 mm of a nodal target
    pts = (m.points[0], m.points[1], (c[0], c[1] - 6, c[2]), (c[0], c[1] + 6, c[2]))
    session.execute(SetMeasurementPoints("M-T5-baseline", pts))
    assert panel.table.rowCount() == 0
    msg = panel.message_label.text()
    assert msg.startswith("Cannot evaluate: lesion T5, timepoint baseline: nodal target short")
    assert "sec. 3.1.1" in msg
    panel.grab()  # the charts paint their "not evaluable" text without raising


def test_sum_chart_nadir_and_ticks(panel: ResponsePanel) -> None:
    chart: SumPlot = panel.sum_chart
    assert chart.nadir_index() == 3  # fu06m, 81 mm
    assert nice_ticks(0, 104.76) == [0, 20, 40, 60, 80, 100, 120]
    assert nice_ticks(-85, 30) == [-100, -80, -60, -40, -20, 0, 20, 40]
