"""``namecar-viewer suv``: folder walk, grouping by series, JSON keys, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from suv_testdata import as_file, make_pet

from namecar_viewer.cli import main
from testsupport import ACRIN_PET

ACRIN = ACRIN_PET
KEYS = {
    "series_instance_uid",
    "units",
    "suv_bw_factor",
    "suv_lbm_factor",
    "suv_bsa_factor",
    "suv_ibw_factor",
    "inputs",
    "warnings",
}


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    rc = main(["suv", *argv, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_acrin_folder_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for f in ACRIN.glob("*.dcm"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "notes.txt").write_text("not DICOM")
    rc, out = _run_json(capsys, str(tmp_path))
    assert rc == 0
    by_uid = {s["series_instance_uid"]: s for s in out["series"]}
    assert len(by_uid) == 2
    for s in by_uid.values():
        assert set(s) == KEYS
    # Slice 1: 69734.4 g / (178340011.59668 Bq * 2^(-3976.921 s / 6586.2 s)) = 5.9425e-4.
    s1 = by_uid["1.3.6.1.4.1.14519.5.2.1.7009.2401.156320467167446933671661793694"]
    assert s1["suv_bw_factor"] == pytest.approx(
        69734.4 / (178340011.59668 * 2 ** (-3976.921 / 6586.2)), rel=1e-9
    )
    assert s1["suv_lbm_factor"] is None  # no PatientSize in the file
    assert s1["inputs"]["patient_weight_kg"]["source"] == "PatientWeight (0010,1030)"


def test_groups_instances_of_one_series_and_reader_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two instances of one series without PatientWeight: error naming the tag, exit 1;
    # with --weight 80 the default header gives 80000 / (2e8 / 2) = 8e-4 and source "reader".
    for n in (1, 2):
        ds = as_file(make_pet(sop_uid=f"1.2.826.0.1.3680043.8.498.9.{n}", PatientWeight=None))
        ds.save_as(tmp_path / f"pet{n}.dcm", enforce_file_format=True)
    rc, out = _run_json(capsys, str(tmp_path))
    assert rc == 1
    (series,) = out["series"]
    assert set(series) == KEYS
    assert series["suv_bw_factor"] is None
    assert "PatientWeight (0010,1030)" in series["warnings"][0]
    rc, out = _run_json(capsys, str(tmp_path), "--weight", "80")
    assert rc == 0
    (series,) = out["series"]
    assert series["suv_bw_factor"] == pytest.approx(8e-4, rel=1e-9)
    assert series["inputs"]["patient_weight_kg"] == {"value": 80.0, "source": "reader"}


def test_no_pet_exit_code_and_text_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suv", str(tmp_path)]) == 2
    capsys.readouterr()
    shutil.copy(ACRIN / "acrin_flt_breast_PT_2.dcm", tmp_path / "a.dcm")
    assert main(["suv", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "SUVbw" in text and "0.000473549" in text
    assert "RadionuclideTotalDose (0018,1074)" in text
