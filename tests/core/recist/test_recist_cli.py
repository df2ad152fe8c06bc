"""``namecar-viewer recist CASE.json``: result JSON on stdout, exit code 2 on invalid input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from namecar_viewer.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "recist_cases"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recist", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_example_pd_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DATA / "example_pd.json"))
    assert code == 0
    result = json.loads(out)
    base, tp1, tp2 = result["timepoints"]
    # baseline 30 + 20 + 18 + 42 (primary) = 110 mm; metastatic 30 + 20 + 18 = 68 mm
    assert (base["sum_mm"], base["metastatic_sum_mm"]) == (110.0, 68.0)
    assert base["target_response"] is None and base["overall_response"] is None
    # TP1: 12 + 5 (too small) + 9 + 40 = 66; (66 - 110) / 110 = -40.0% -> PR;
    # metastatic 12 + 5 + 9 = 26; (26 - 68) / 68 = -61.76% -> -61.8, not eligible
    assert tp1["sum_mm"] == 66.0
    assert tp1["pct_change_from_baseline"] == -40.0
    assert tp1["target_response"] == "PR"
    assert tp1["non_target_response"] == "Non-CR/Non-PD"
    assert tp1["overall_response"] == "PR"
    assert tp1["metastatic_pct_change_from_baseline"] == -61.8
    assert tp1["eligible_cr_or_mpr"] is False
    # TP2: 14 + 6 (split) + 8 + 12 + 41 = 81; nadir 66: +15 mm, 15 / 66 = +22.73% -> PD
    assert tp2["sum_mm"] == 81.0
    assert tp2["nadir_mm"] == 66.0
    assert tp2["pct_change_from_nadir"] == 22.7
    assert tp2["pct_change_from_baseline"] == -26.4  # (81 - 110) / 110 = -26.36%
    assert tp2["overall_response"] == "PD"
    assert tp2["reasons"][0] == "PD: sum 81 mm, +22.7% from nadir 66 mm, +15 mm"
    assert result["best_overall_response"] == "PR"
    assert result["first_pd_date"] == "2024-04-29"


def test_eligible_case_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DATA / "eligible_mpr.json"))
    assert code == 0
    tp1 = json.loads(out)["timepoints"][1]
    # metastatic 40 + 20 = 60 -> 8 + 5 = 13: (13 - 60) / 60 = -78.33%
    assert tp1["metastatic_pct_change_from_baseline"] == -78.3
    assert tp1["eligible_cr_or_mpr"] is True
    assert "Eligible: metastatic PR -78.3%, primary excluded" in tp1["reasons"]
    # all targets 8 + 5 + 65 = 78 vs 130: -40.0%, non-target gone -> PR (Table 1: CR needs all)
    assert tp1["overall_response"] == "PR"


def test_equivocal_confirmed_dates_progression_back(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(DATA / "equivocal_confirmed.json"))
    assert code == 0
    result = json.loads(out)
    assert [t["overall_response"] for t in result["timepoints"]] == [None, "PD", "PD"]
    assert result["first_pd_date"] == "2024-03-04"


def test_irecist_criteria(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "irecist_pseudoprogression.json")
    code, out, _ = run(capsys, path, "--criteria", "irecist")
    assert code == 0
    result = json.loads(out)
    # 50 -> 65 (+30%, +15 mm: iUPD) -> 40 (-20% from nadir 50: reset, iSD) -> 30 (-40%: iPR)
    assert [t["overall_response"] for t in result["timepoints"]] == [None, "iUPD", "iSD", "iPR"]
    assert result["best_overall_response"] == "iPR"
    assert result["first_pd_date"] is None
    code, out, _ = run(capsys, path)
    assert json.loads(out)["best_overall_response"] == "PD"


def test_invalid_case_exit_2_names_lesion_timepoint_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, str(DATA / "invalid_node_too_small.json"))
    assert code == 2
    assert out == ""
    assert "lesion N1, timepoint baseline" in err
    assert "nodal target needs short axis >= 15 mm (sec. 3.1.1)" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        (
            json.dumps(
                {"lesions": [{"id": "T1", "kind": "tumour", "organ": "liver"}], "timepoints": []}
            ),
            "lesion T1",
        ),
        (
            json.dumps(
                {
                    "lesions": [{"id": "T1", "kind": "target", "organ": "liver"}],
                    "timepoints": [
                        {
                            "label": "baseline",
                            "date": "2024-01-08",
                            "target_measurements_mm": {"T1": "big"},
                        }
                    ],
                }
            ),
            "lesion T1, timepoint baseline",
        ),
        (
            json.dumps(
                {
                    "lesions": [{"id": "T1", "kind": "target", "organ": "liver"}],
                    "timepoints": [
                        {
                            "label": "baseline",
                            "date": "2024-01-08",
                            "target_measurements_mm": {"T1": 20},
                        },
                        {
                            "label": "TP1",
                            "date": "2024-03-04",
                            "target_measurements_mm": {"T9": 20},
                        },
                    ],
                }
            ),
            "lesion T9, timepoint TP1",
        ),
    ],
)
def test_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    path = tmp_path / "case.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert needle in err


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.json"))
    assert code == 2
    assert "cannot read" in err
