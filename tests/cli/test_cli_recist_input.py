"""``namecar-viewer recist`` on hostile case files: one line per problem naming the file and the
key, exit 2, bounded in time; the input documented in ``--help`` and ``case.schema.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_hostile import run_cli
from jsonschema import Draft202012Validator

from namecar_viewer.cli.recist import EXAMPLE
from namecar_viewer.core.recist import LesionKind, NewLesions, NonTargetStatus, case_schema
from namecar_viewer.core.recist.case_json import MAX_CASE_BYTES, parse_case_bytes

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "data" / "recist_cases"
EXAMPLE_PD = (CASES / "example_pd.json").read_text(encoding="utf-8")


def _recist(tmp_path: Path, data: bytes, seconds: float = 5.0) -> tuple[int, str, Path]:
    path = tmp_path / "case.json"
    path.write_bytes(data)
    r = run_cli(["recist", str(path)], seconds=seconds)
    assert r.out == "" or r.code == 0
    assert "Traceback" not in r.err
    return r.code, r.err, path


def _one_line(err: str, path: Path, *needles: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"namecar-viewer recist: {path}: "), err
    for n in needles:
        assert n in lines[0], err
    return lines[0]


@pytest.mark.parametrize(
    ("encoding", "needle"),
    [
        ("utf-16", "UTF-16 text (byte order mark FF FE)"),
        ("utf-16-be", "looks like UTF-16 or UTF-32"),
        ("utf-32", "UTF-32 text"),
    ],
)
def test_utf16_and_utf32_files(tmp_path: Path, encoding: str, needle: str) -> None:
    code, err, path = _recist(tmp_path, EXAMPLE_PD.encode(encoding))
    assert code == 2
    _one_line(err, path, needle, "save it as UTF-8")


def test_invalid_utf8_names_the_byte_and_line(tmp_path: Path) -> None:
    data = EXAMPLE_PD.replace('"bone"', '"os \xe9"').encode("latin-1")
    code, err, path = _recist(tmp_path, data)
    assert code == 2
    offset = data.index(b"\xe9")
    assert data[:offset].count(b"\n") + 1 == 6
    _one_line(err, path, f"not UTF-8 text: byte 0xE9 at offset {offset} (line 6)")


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    code, err, _ = _recist(tmp_path, b"\xef\xbb\xbf" + EXAMPLE_PD.encode())
    assert (code, err) == (0, "")


@pytest.mark.parametrize("value", ["1e26", "1e28", "-1e400", "1E+308", "1e99999999", "1e-99999999"])
def test_numbers_out_of_range(tmp_path: Path, value: str) -> None:
    code, err, path = _recist(tmp_path, EXAMPLE_PD.replace("30.0", value, 1).encode())
    assert code == 2
    _one_line(
        err,
        path,
        "timepoints[0].target_measurements_mm.T1 (lesion T1, timepoint baseline)",
        f"number {value} refused: out of range",
    )


def test_a_5000_digit_integer(tmp_path: Path) -> None:
    code, err, path = _recist(tmp_path, EXAMPLE_PD.replace("30.0", "7" * 5000, 1).encode())
    assert code == 2
    _one_line(err, path, "target_measurements_mm.T1", "(5000 chars) refused: out of range")


def test_a_long_decimal_fraction(tmp_path: Path) -> None:
    code, err, path = _recist(
        tmp_path, EXAMPLE_PD.replace("30.0", "30." + "0" * 5000 + "1", 1).encode()
    )
    assert code == 2
    _one_line(err, path, "target_measurements_mm.T1", "more than 40 characters")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity(tmp_path: Path, literal: str) -> None:
    code, err, path = _recist(tmp_path, EXAMPLE_PD.replace("2.5", literal, 1).encode())
    assert code == 2
    _one_line(err, path, "imaging.slice_thickness_mm", f"number {literal} refused", "not JSON")


def test_diameter_above_the_schema_maximum(tmp_path: Path) -> None:
    code, err, path = _recist(tmp_path, EXAMPLE_PD.replace("30.0", "123456789", 1).encode())
    assert code == 2
    _one_line(err, path, "target_measurements_mm.T1", "123456789 is not a diameter in mm")


@pytest.mark.parametrize("depth", [100, 990, 100_000])
def test_deep_nesting(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    data = EXAMPLE_PD.replace('{"slice_thickness_mm": 2.5}', nested).encode()
    code, err, path = _recist(tmp_path, data)
    assert code == 2
    _one_line(err, path, "nested deeper than 32 levels")


def test_too_large_a_file(tmp_path: Path) -> None:
    code, err, path = _recist(tmp_path, b" " * (MAX_CASE_BYTES + 1))
    assert code == 2
    _one_line(err, path, f"a case file is at most {MAX_CASE_BYTES} bytes")


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    r = run_cli(["recist", str(tmp_path)])
    assert r.code == 2
    _one_line(r.err, tmp_path, "cannot read it")


def _doc() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE_PD)
    return data


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda d: d["lesions"][1].update(is_lymphnode=True),
            'lesions[1] (lesion T2): unknown key "is_lymphnode" (allowed: id, kind, organ,',
        ),
        (
            lambda d: d["lesions"][0].update(kind="tumour"),
            'lesions[0].kind (lesion T1): "tumour" is not one of "target", "non_target"',
        ),
        (
            lambda d: d["timepoints"][1].update(date="2024/03/04"),
            "timepoints[1].date (timepoint TP1): \"2024/03/04\" is not a date 'YYYY-MM-DD'",
        ),
        (
            lambda d: d["timepoints"][2]["target_measurements_mm"].update(T2="big"),
            'timepoints[2].target_measurements_mm.T2 (lesion T2, timepoint TP2): "big" is not '
            "a diameter in mm",
        ),
        (
            lambda d: d.update(protocol={"min_sd_duration_days": 4.5}),
            "protocol.min_sd_duration_days: 4.5 is not a whole number",
        ),
        (lambda d: d.pop("timepoints"), "(the document): 'timepoints' is missing (required)"),
        (lambda d: d.update(lesions="T1"), 'lesions: "T1" is not a JSON array'),
    ],
)
def test_schema_messages_name_the_key(tmp_path: Path, edit: Any, needle: str) -> None:
    doc = _doc()
    edit(doc)
    code, err, path = _recist(tmp_path, json.dumps(doc).encode())
    assert code == 2
    _one_line(err, path, needle)


def test_clinical_rules_still_apply_after_the_schema(tmp_path: Path) -> None:
    doc = _doc()
    doc["timepoints"][0]["target_measurements_mm"]["N1"] = 12.0  # a node under 15 mm
    code, err, path = _recist(tmp_path, json.dumps(doc).encode())
    assert code == 2
    _one_line(err, path, "lesion N1, timepoint baseline", "nodal target needs short axis >= 15")


def test_help_documents_the_input_with_a_valid_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from namecar_viewer.cli import main

    with pytest.raises(SystemExit):
        main(["recist", "--help"])
    text = capsys.readouterr().out
    assert EXAMPLE in text
    for key in ("target_measurements_mm", "non_target_status", "new_lesions", "too_small"):
        assert key in text
    assert "case.schema.json" in text and "Exit status" in text
    assert "issue 5" not in text
    code, err, _ = _recist(tmp_path, EXAMPLE.encode())
    assert (code, err) == (0, "")


def test_schema_is_draft_2020_12_and_matches_the_engine() -> None:
    schema = json.loads((ROOT / "resources" / "case.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    assert defs["lesion"]["properties"]["kind"]["enum"] == [k.value for k in LesionKind]
    tp = defs["timepoint"]["properties"]
    assert tp["new_lesions"]["enum"] == [k.value for k in NewLesions]
    statuses = tp["non_target_status"]["additionalProperties"]["enum"]
    assert statuses == [k.value for k in NonTargetStatus]
    for case in CASES.glob("*.json"):  # every sample case conforms
        parse_case_bytes(case.read_bytes(), str(case))


def test_schema_found_in_the_checkout_and_package_data_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert case_schema.schema_location() == str(ROOT / "resources" / "case.schema.json")
    assert json.loads(case_schema.schema_text())["title"] == "NAMECAR Viewer RECIST case"
    packaged = tmp_path / "_resources" / "case.schema.json"
    packaged.parent.mkdir()
    packaged.write_text('{"title": "packaged copy"}', encoding="utf-8")
    monkeypatch.setattr(case_schema.resources, "files", lambda package: tmp_path)
    assert case_schema.schema_location() == str(packaged)
    assert json.loads(case_schema.schema_text()) == {"title": "packaged copy"}


def test_missing_schema_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from namecar_viewer import resources as app_resources

    monkeypatch.setattr(app_resources, "CHECKOUT", tmp_path / "nowhere")
    case_schema.case_schema.cache_clear()
    case_schema._validator.cache_clear()
    try:
        r = run_cli(["recist", str(CASES / "example_pd.json")])
    finally:
        case_schema.case_schema.cache_clear()
        case_schema._validator.cache_clear()
    assert r.code == 2
    assert "the case schema case.schema.json is missing" in r.err
    assert "Traceback" not in r.err


def test_an_endless_device_is_read_to_the_limit_only() -> None:
    r = run_cli(["recist", "/dev/zero"], trace_memory=True)
    assert r.code == 2
    _one_line(r.err, Path("/dev/zero"), f"more than {MAX_CASE_BYTES} bytes")
    assert r.peak_bytes < 4 * MAX_CASE_BYTES
