"""Real series from dcm2niix's validation sets load into the volumes of dcm2niix's references.

Each case keeps a few files of a real series (tests/data/dicom/README.md); its reference JSON
holds the reference NIfTI's header and values sampled from it.  For every volume the scan finds:
the affine matches the reference's within 1e-3 mm (after the RAS/LPS flip, wherever the kept
slices sit in the reference), its values match the reference's samples (scaling included), and
every reference volume the kept files cover is found once: none is dropped or merged.  No
problem is reported beyond the true ones listed per case.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from nifti_ref import align, locate, read_header

from namecar_viewer.core.dicom import Stack, load_series, load_stack, scan
from namecar_viewer.core.problems import Severity

DATA = Path(__file__).resolve().parents[2] / "data" / "dicom"
TRUE_FACTS = {"thickness-spacing-mismatch"}  # slices thinner than their spacing: true, INFO


@dataclass(frozen=True)
class Case:
    set: str
    name: str
    shape: tuple[int, int, int]
    labels: list[str]
    problems: set[str] = field(default_factory=set)  # codes expected besides TRUE_FACTS


CASES = [
    Case(
        "dcm_qa_mosaic",
        "ep2d_Int_HF_5",
        (36, 64, 64),
        ["acquisition 1", "acquisition 2"],
    ),
    Case("dcm_qa_nih", "Si_EPI_PE_AP_3", (5, 72, 72), ["acquisition 1", "acquisition 2"]),
    # 3 of the 10 volumes kept: NumberOfTemporalPositions (10) disagrees, and that is said
    Case(
        "dcm_qa_nih",
        "GE_EPI_4",
        (3, 64, 64),
        ["volume 1", "volume 2", "volume 3"],
        {"volumes-by-order"},
    ),
    Case(
        "dcm_qa_uih",
        "UIH_DTI_AP_9",
        (20, 64, 64),
        ["b=0", "b=1000, direction 1", "b=1000, direction 2"],
    ),
    Case(
        "dcm_qa_enh",
        "Philips_B0_fMAP",
        (32, 64, 64),
        ["echo 1.52, M", "echo 0, FIELD_MAP"],
    ),
    Case("dcm_qa_enh", "Siemens_XA10_SMS", (6, 64, 64), ["phase 1", "phase 2"]),
    Case("dcm_qa_philips_asl", "Philips_pCASL_402", (3, 80, 80), ["CONTROL", "LABEL"]),
    Case(
        "dcm_qa_philips_asl",
        "Philips_ASL_MultiPhase_301",
        (2, 80, 80),
        [f"Philips phase {n}" for n in range(1, 9)],
    ),
    # GE epi_pepolar, mode 2: volumes 1 and 3 stored upside down (dcm2niix's series 1006)
    Case(
        "dcm_qa_polar",
        "GE_pepolar_6",
        (2, 128, 128),
        [f"phase {n}" for n in range(1, 5)],
        {"rows-reversed"},
    ),
    Case(
        "dcm_qa_philips_asl_enh",
        "Philips_pCASL_402_enhanced",
        (14, 80, 80),
        [f"{kind}, phase {n}" for n in range(1, 9) for kind in ("CONTROL", "LABEL")],
    ),
]


def _files(case_dir: Path, tmp_path: Path) -> list[str]:
    out = []
    for p in sorted(case_dir.iterdir()):
        if p.suffix == ".gz":
            target = tmp_path / p.stem
            target.write_bytes(gzip.decompress(p.read_bytes()))
            out.append(str(target))
        else:
            out.append(str(p))
    return out


def _reference(case: Case) -> dict:
    return json.loads((DATA / case.set / "Ref" / f"{case.name}.json").read_text())


def _check_problems(stacks: list[Stack], expected: set[str]) -> None:
    for s in stacks:
        codes = {p.code for p in s.problems}
        assert codes <= TRUE_FACTS | expected, (s.label, [str(p) for p in s.problems])
        assert not any(p.severity is Severity.ERROR for p in s.problems)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_volumes_match_dcm2niix_references(case: Case, tmp_path: Path) -> None:
    report = scan(_files(DATA / case.set / case.name, tmp_path))
    assert not report.unreadable
    stacks = report.stacks
    assert [s.label for s in stacks] == case.labels
    assert all(s.shape == case.shape for s in stacks)
    _check_problems(stacks, case.problems)
    refs = _reference(case)["references"]
    found: dict[tuple[str, int], str] = {}
    wanted = {(r["file"], int(smp[0])) for r in refs for smp in r["samples"]}
    for n in range(len(stacks)):
        volume = load_stack(stacks[n])
        assert volume.shape == case.shape
        for ref in refs:
            header = read_header(base64.b64decode(ref["header"]))
            alignment = align(volume.affine, volume.array.shape, header)
            offset, error = locate(alignment, header, volume.array.shape)
            assert error < 1e-3, f"{stacks[n].label}: affine {error:.2e} mm from {ref['file']}"
            ours = alignment.to_reference(volume.array.astype(np.float64))
            by_volume: dict[int, list[list[float]]] = {}
            for smp in ref["samples"]:
                by_volume.setdefault(int(smp[0]), []).append(smp)
            for t, samples in by_volume.items():
                idx = np.array([s[1:4] for s in samples], dtype=int) - np.array(offset)
                inside = np.all((idx >= 0) & (idx < np.array(ours.shape)), axis=1)
                if not inside.all():
                    continue  # samples of slices these files do not hold
                want = np.array([s[4] for s in samples])
                got = ours[idx[:, 0], idx[:, 1], idx[:, 2]]
                tol = 1e-5 * max(1.0, float(np.abs(want).max()))
                if np.allclose(got, want, rtol=1e-5, atol=tol):
                    assert (ref["file"], t) not in found, f"two volumes match {ref['file']}[{t}]"
                    found[(ref["file"], t)] = stacks[n].label
    assert set(found) == wanted, f"reference volumes not found: {wanted - set(found)}"
    assert len(set(found.values())) == len(found)  # each volume matches one reference volume


def test_ge_multiband_volumes_are_not_cut_where_the_acquisition_time_ticks_over(
    tmp_path: Path,
) -> None:
    """GE multiband fMRI writes AcquisitionTime and ContentTime per slice: here 220356 for the
    first 2 of 48 slices and 220357 for the rest, in every volume.  The 5 slices kept of 2
    volumes load as 2 whole volumes (by acquisition order, which NumberOfTemporalPositions
    60, the series' full length, is said to disagree with), not as slabs of 2 and 3 slices.
    dcm2niix's reference holds the same pixels in every volume (a test phantom), so each of
    ours is checked against its first: placed within 1e-3 mm, values equal."""
    case = Case("dcm_qa_ge", "GE_fMRI_HB3_15", (5, 64, 64), ["volume 1", "volume 2"])
    report = scan(_files(DATA / case.set / case.name, tmp_path))
    assert not report.unreadable
    assert [s.label for s in report.stacks] == case.labels
    assert [s.shape for s in report.stacks] == [case.shape] * 2
    assert [[Path(i.path).name for i in s.instances] for s in report.stacks] == [
        ["0001.dcm", "0002.dcm", "0003.dcm", "0004.dcm", "0005.dcm"],
        ["0049.dcm", "0050.dcm", "0051.dcm", "0052.dcm", "0053.dcm"],
    ]
    _check_problems(report.stacks, {"volumes-by-order"})
    (ref,) = _reference(case)["references"]
    header = read_header(base64.b64decode(ref["header"]))
    samples = [smp for smp in ref["samples"] if int(smp[0]) == 0]
    assert samples
    for stack in report.stacks:
        volume = load_stack(stack)
        alignment = align(volume.affine, volume.array.shape, header)
        offset, error = locate(alignment, header, volume.array.shape)
        assert error < 1e-3
        ours = alignment.to_reference(volume.array.astype(np.float64))
        idx = np.array([smp[1:4] for smp in samples], dtype=int) - np.array(offset)
        got = ours[idx[:, 0], idx[:, 1], idx[:, 2]]
        np.testing.assert_allclose(got, [smp[4] for smp in samples], rtol=1e-5)


def test_philips_field_map_reads_in_hertz_and_says_so(tmp_path: Path) -> None:
    """Real World Value Mapping with a unit (Hz) gives the values and the unit; the magnitude
    has none and reads as Philips floating-point values (private scale slope)."""
    case = DATA / "dcm_qa_enh" / "Philips_B0_fMAP"
    report = scan(_files(case, tmp_path))
    by_label = {s.label: s for s in report.stacks}
    field_map, magnitude = by_label["echo 0, FIELD_MAP"], by_label["echo 1.52, M"]
    assert field_map.units == "Hz" and "Real World Value Mapping" in field_map.values
    assert magnitude.units == "" and "Philips floating-point" in magnitude.values
    assert report.to_json()["stacks"][1]["units"] in ("Hz", "")
    v = load_stack(field_map)
    assert v.metadata["units"] == "Hz" and "(0040,9096)" in v.metadata["values"]
    assert float(v.array.min()) >= -500.0 and float(v.array.max()) <= 500.0
    assert "units" not in load_stack(magnitude).metadata


def test_enhanced_asl_keeps_every_label_and_control_frame(tmp_path: Path) -> None:
    """The 224 frames (14 slices x 8 dynamics x control/label) are all in some volume, once."""
    report = scan(_files(DATA / "dcm_qa_philips_asl_enh" / "Philips_pCASL_402_enhanced", tmp_path))
    frames = [i.frame for s in report.stacks for i in s.instances]
    assert sorted(frames) == list(range(1, 225))
    assert sum("LABEL" in s.label for s in report.stacks) == 8


def test_toshiba_dti_splits_gradient_directions_in_bval_order(tmp_path: Path) -> None:
    """Toshiba writes DiffusionGradientOrientation per image and no b-value on b=0 images."""
    case = DATA / "dcm_qa_toshiba" / "Toshiba_DTI_7006"
    report = scan(_files(case, tmp_path))
    assert [s.label for s in report.stacks] == [
        "b not stated",
        "b=1500, direction 1",
        "b=1500, direction 2",
    ]
    assert all(s.shape == (2, 64, 64) for s in report.stacks)
    _check_problems(report.stacks, set())
    bvals = [
        float(b)
        for b in (DATA / "dcm_qa_toshiba" / "Ref" / "7006_DTI_ortho.bval").read_text().split()
    ]
    assert [s.header["volume"]["b"] or 0.0 for s in report.stacks] == bvals[:3]
    directions = [s.header["volume"]["direction"] for s in report.stacks[1:]]
    assert directions[0] != directions[1]
    for s in report.stacks:
        v = load_stack(s)
        assert v.shape == (2, 64, 64) and float(v.array.max()) > 0


def test_load_series_of_a_4d_series_loads_one_volume_and_names_the_others(tmp_path: Path) -> None:
    src = DATA / "dcm_qa_nih" / "GE_EPI_4"
    for p in src.iterdir():
        shutil.copy(p, tmp_path / p.name)
    v = load_series([tmp_path])
    assert v.shape == (3, 64, 64) and v.metadata["label"] == "volume 1"
    (other,) = [p for p in v.metadata["problems"] if p.code == "other-stacks"]
    assert "2 other stack(s)" in other.message
    (order,) = [p for p in v.metadata["problems"] if p.code == "volumes-by-order"]
    assert "NumberOfTemporalPositions (0020,0105) says 10" in order.message


def _pepolar_copy(tmp_path: Path, mode: str | None, **standard: object) -> Path:
    """The kept epi_pepolar files with UserData12 (0019,10B3) set to ``mode`` (None: the
    element removed) and standard attributes set (None: removed)."""
    from pydicom import dcmread

    out = tmp_path / f"mode_{mode}"
    out.mkdir()
    for p in sorted((DATA / "dcm_qa_polar" / "GE_pepolar_6").iterdir()):
        ds = dcmread(p)
        block = ds.private_block(0x0019, "GEMS_ACQU_01")
        if mode is None:
            del ds[block.get_tag(0xB3)]
        else:
            block[0xB3].value = mode
        for keyword, value in standard.items():
            if value is None:
                delattr(ds, keyword)
            else:
                setattr(ds, keyword, value)
        ds.save_as(out / p.name)
    return out


def _by_label(folder: Path) -> dict[str, tuple[np.ndarray, set[str]]]:
    return {
        s.label: (load_stack(s).array, {p.code for p in s.problems})
        for s in scan([str(folder)]).stacks
    }


def test_ge_pepolar_modes_put_back_the_rows_of_reversed_volumes(tmp_path: Path) -> None:
    """UserData12: 0 every volume forward, 1 every one reversed, 2 odd volumes reversed, 3 even
    ones (dcm_qa_polar's README).  Against the files loaded as stored (mode 0), a reversed
    volume is the same array with its rows in reverse order, and its stack says so (INFO)."""
    stored = _by_label(_pepolar_copy(tmp_path, "0"))
    assert len(stored) == 4 and all(codes == set() for _, codes in stored.values())
    for mode, reversed_phases in (("1", {1, 2, 3, 4}), ("2", {1, 3}), ("3", {2, 4})):
        got = _by_label(_pepolar_copy(tmp_path, mode))
        assert set(got) == set(stored)
        for t in range(1, 5):
            array, codes = got[f"phase {t}"]
            want = stored[f"phase {t}"][0]
            if t in reversed_phases:
                assert np.array_equal(array, want[:, ::-1, :]), (mode, t)
                assert codes == {"rows-reversed"}
            else:
                assert np.array_equal(array, want), (mode, t)
                assert codes == set()
    assert not np.array_equal(stored["phase 1"][0], stored["phase 1"][0][:, ::-1, :])


def test_ge_pepolar_rows_are_put_back_in_compressed_files_and_through_the_study_index(
    tmp_path: Path,
) -> None:
    """The same volumes when the files are RLE-compressed (decoded by pydicom, not read in
    place) and when the stacks are opened from the study index (its stored pixel description)."""
    from pydicom import dcmread
    from pydicom.uid import RLELossless

    from namecar_viewer.app.importer import import_paths
    from namecar_viewer.persistence.study_index import StudyIndex

    native = _by_label(DATA / "dcm_qa_polar" / "GE_pepolar_6")
    rle = tmp_path / "rle"
    rle.mkdir()
    for p in sorted((DATA / "dcm_qa_polar" / "GE_pepolar_6").iterdir()):
        ds = dcmread(p)
        ds.compress(RLELossless)
        ds.save_as(rle / p.name)
    compressed = _by_label(rle)
    assert set(compressed) == set(native)
    for label, (array, codes) in native.items():
        assert np.array_equal(compressed[label][0], array) and compressed[label][1] == codes
    idx = StudyIndex(":memory:")
    import_paths(idx, [DATA / "dcm_qa_polar" / "GE_pepolar_6"])
    rows = idx.stack_rows()
    assert sorted(r.label for r in rows) == sorted(native)
    for row in rows:
        assert np.array_equal(load_stack(idx.stack(row.id)).array, native[row.label][0])


def test_ge_pepolar_that_cannot_be_told_is_shown_as_stored_and_said(tmp_path: Path) -> None:
    """No mode, or mode 2 without TemporalPositionIdentifier: nothing is flipped and a WARNING
    says which images may be upside down; another vendor's images are never flipped."""
    stored = _by_label(_pepolar_copy(tmp_path, "0"))
    flat = np.concatenate([stored[k][0] for k in sorted(stored)])
    no_mode = _by_label(_pepolar_copy(tmp_path, None))
    assert np.array_equal(np.concatenate([no_mode[k][0] for k in sorted(no_mode)]), flat)
    assert all(codes == {"rows-order"} for _, codes in no_mode.values())
    report = scan([str(_pepolar_copy(tmp_path, "2", TemporalPositionIdentifier=None))])
    loaded = [(load_stack(s).array, {p.code for p in s.problems}) for s in report.stacks]
    assert sorted(a.shape[0] for a, _ in loaded) == [2, 2, 2, 2]  # still four volumes
    assert all("rows-order" in codes for _, codes in loaded)
    assert all(any(np.array_equal(a, v) for v, _ in stored.values()) for a, _ in loaded)
    other = tmp_path / "other"
    other.mkdir()
    siemens = _pepolar_copy(other, "1", Manufacturer="SIEMENS")
    assert {k: v[1] for k, v in _by_label(siemens).items()} == {k: set() for k in stored}
