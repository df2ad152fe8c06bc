"""CSV and JSON export of the demo read: columns and values from the phantom's ground truth."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from namecar_viewer.core.reads import Read
from namecar_viewer.core.recist import case_from_json, evaluate, result_to_json
from namecar_viewer.core.reports.atomic import ExportError, atomic_write_text
from namecar_viewer.core.reports.csv_export import COLUMNS, read_to_case_json, read_to_csv


class _Blinded:
    enabled = True

    def subject(self, subject_id: str) -> str:
        return "Subject ABC"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_columns_are_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    for col in COLUMNS:
        assert f"`{col}`" in readme, col


def test_lesion_rows_match_the_ground_truth(demo_read: Read, ground_truth: dict[str, Any]) -> None:
    text = read_to_csv(demo_read)
    rows = _rows(text)
    assert list(rows[0].keys()) == list(COLUMNS)
    lesion_rows = [r for r in rows if r["row_type"] == "lesion"]
    assert len(lesion_rows) == 6 * 5  # T1-T5, NT1 at 5 timepoints
    gt = {les["id"]: les for les in ground_truth["lesions"]}
    dates = {t["label"]: t["date"] for t in ground_truth["ct_timepoints"]}
    for r in lesion_rows:
        les = gt[r["lesion_label"]]
        at = les["ct"][r["timepoint"]]
        assert r["subject_id"] == "NAMECAR-001"
        assert r["date"] == dates[r["timepoint"]]
        assert r["reader"] == "Demo Reader"
        assert r["site"] == les["organ"]
        assert r["lymph_node"] == ("true" if les["is_lymph_node"] else "false")
        assert r["primary_renal"] == ("true" if les["is_primary_renal"] else "false")
        if les["role"] == "target":
            assert r["lesion_role"] == "target"
            assert float(r["long_axis_mm"]) == at["long_axis_mm"]
            assert float(r["short_axis_mm"]) == at["short_axis_mm"]
            assert float(r["recist_diameter_mm"]) == at["recist_diameter_mm"]
            assert r["status"] == ""
        else:
            assert (r["lesion_role"], r["status"], r["long_axis_mm"]) == (
                "non_target",
                "present",
                "",
            )
    t5 = next(r for r in lesion_rows if r["lesion_label"] == "T5" and r["timepoint"] == "baseline")
    # node: 25 x 18 mm, RECIST uses the short axis
    assert (t5["long_axis_mm"], t5["short_axis_mm"], t5["recist_diameter_mm"]) == (
        "25.0",
        "18.0",
        "18.0",
    )


def test_response_rows(demo_read: Read) -> None:
    rows = {r["timepoint"]: r for r in _rows(read_to_csv(demo_read)) if r["row_type"] == "response"}
    assert list(rows) == ["baseline", "inclusion", "fu03m", "fu06m", "fu09m"]
    # Ground truth: 168 mm at baseline (metastatic 108); inclusion 84 (metastatic 24 = -77.8 %,
    # eligible); fu09m 99 mm vs nadir 81 mm = +22.2 % and +18 mm -> PD.
    assert rows["baseline"]["sum_mm"] == "168.0" and rows["baseline"]["overall_response"] == ""
    inc = rows["inclusion"]
    assert (inc["sum_mm"], inc["metastatic_sum_mm"]) == ("84.0", "24.0")
    assert inc["metastatic_pct_change_from_baseline"] == "-77.8"  # (24-108)/108
    assert inc["eligible_cr_or_mpr"] == "true" and inc["overall_response"] == "PR"
    pd_ = rows["fu09m"]
    assert (pd_["sum_mm"], pd_["nadir_mm"], pd_["pct_change_from_nadir"]) == (
        "99.0",
        "81.0",
        "22.2",
    )
    assert (pd_["target_response"], pd_["overall_response"]) == ("PD", "PD")
    assert pd_["days_from_baseline"] == "449"  # 2025-01-15 -> 2026-04-09
    assert "PD: sum 99 mm" in pd_["reasons"]


def test_blinded_csv_has_no_identifiers_or_dates(demo_read: Read) -> None:
    text = read_to_csv(demo_read, blinding=_Blinded())
    assert "NAMECAR-001" not in text
    for tp in demo_read.timepoints:
        assert tp.date is not None and tp.date.isoformat() not in text
    rows = _rows(text)
    assert {r["subject_id"] for r in rows} == {"Subject ABC"}
    assert {r["date"] for r in rows} == {""}


def test_json_is_what_the_recist_command_reads(demo_read: Read, tmp_path: Path) -> None:
    data = read_to_case_json(demo_read)
    path = tmp_path / "case.json"
    atomic_write_text(path, json.dumps(data))
    again = json.loads(path.read_text(encoding="utf-8"))
    assert result_to_json(evaluate(case_from_json(again))) == data["result"]
    assert data["timepoints"][0]["target_measurements_mm"] == {
        "T1": 60,
        "T2": 30,
        "T3": 20,
        "T4": 40,
        "T5": 18,
    }


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write: chmod 500, or /sys when running as root."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_unwritable_folder_leaves_nothing(tmp_path: Path) -> None:
    folder = unwritable_folder(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ExportError, match=r"Cannot write .*out\.csv: permission denied"):
        atomic_write_text(folder / "out.csv", "a,b\n")
    assert sorted(p.name for p in folder.iterdir()) == before


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="the folder does not exist"):
        atomic_write_text(tmp_path / "nope" / "out.csv", "x")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    from namecar_viewer.core.reports.atomic import atomic_write

    target = tmp_path / "report.csv"
    target.write_text("old", encoding="utf-8")

    def broken(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="No space left"):
        atomic_write(target, broken)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
