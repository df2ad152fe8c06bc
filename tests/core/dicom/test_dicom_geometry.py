"""Slice order, spacing and affine against values worked out by hand from the DICOM tags.

The rule (PS3.3 C.7.6.2.1.1): voxel (k, j, i) sits at IPP_k + j * PixelSpacing[0] * colcos +
i * PixelSpacing[1] * rowcos, slices ordered along rowcos x colcos, never by InstanceNumber.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_series_factory import write_ct_series
from pydicom.data import get_testdata_file

from namecar_viewer.core.dicom import load_series, load_stack, scan
from namecar_viewer.core.dicom.geometry_plan import plan_geometry

DIRTESTS = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"


def codes(volume_or_stack) -> list[str]:  # type: ignore[no-untyped-def]
    problems = getattr(volume_or_stack, "problems", None)
    if problems is None:
        problems = volume_or_stack.metadata["problems"]
    return [p.code for p in problems]


def test_ct5n_order_spacing_affine() -> None:
    # Files and their z (ImagePositionPatient[2]): 2062 8.7625 (InstanceNumber 6), 2392 6.2625,
    # 2693 3.7625, 3023 1.2625, 3353 -1.2375 (InstanceNumber 10). Normal (0,0,1): ascending z.
    v = load_series([DIRTESTS / "98892001" / "CT5N"])
    assert v.shape == (5, 16, 16)
    assert [Path(f).name for f in v.files] == ["3353", "3023", "2693", "2392", "2062"]
    expected = np.array(
        [
            [0.0, 0.0, 0.488281, -72.199997],
            [0.0, 0.488281, 0.0, -143.0],
            [2.5, 0.0, 0.0, -1.2375],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(v.affine, expected, atol=1e-6)
    assert v.spacing == pytest.approx((2.5, 0.488281, 0.488281))
    # Last voxel: x = -72.2 + 15 * 0.488281 = -64.875785, y = -143 + 15 * 0.488281, z = 8.7625
    last = v.index_to_patient([[4, 15, 15]])[0]
    np.testing.assert_allclose(last, [-64.875782, -135.675785, 8.7625], atol=1e-5)
    assert v.array.dtype == np.int16
    assert codes(v) == []


def test_ct5n_sop_uids_follow_slice_order() -> None:
    v = load_series([DIRTESTS / "98892001" / "CT5N"])
    for k, path in enumerate(v.files):
        assert (
            pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID == v.sop_instance_uids[k]
        )


def test_mr700_radial_slices_split_by_orientation() -> None:
    report = scan([DIRTESTS / "98892003" / "MR700"])
    assert len(report.stacks) == 7  # seven radial slices, seven orientations
    for stack in report.stacks:
        v = load_stack(stack)
        ds = pydicom.dcmread(stack.files[0], stop_before_pixels=True)
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        ps = np.array(ds.PixelSpacing, dtype=float)
        ipp = np.array(ds.ImagePositionPatient, dtype=float)
        # column step = column cosine * row spacing; row step = row cosine * column spacing
        np.testing.assert_allclose(v.affine[:3, 1], iop[3:] * ps[0], atol=1e-9)
        np.testing.assert_allclose(v.affine[:3, 2], iop[:3] * ps[1], atol=1e-9)
        np.testing.assert_allclose(v.affine[:3, 3], ipp, atol=1e-9)
    # One worked by hand: file 4528, IOP row (0.9592.., 0.2828.., 0.0005..), spacing 0.390625.
    v = load_series([DIRTESTS / "98892003" / "MR700" / "4528"])
    assert v.affine[0, 2] == pytest.approx(0.95918 * 0.390625, abs=1e-4)
    assert v.affine[2, 1] == pytest.approx(-1.0 * 0.390625, abs=1e-4)


def test_ct2_gap_is_reported_and_filled_with_blank_slices() -> None:
    # z: -99.48 (file 17106), 103.02, 104.27, 105.52; spacing 1.25 mm; the gap of 202.5 mm
    # is 162 steps, i.e. 161 missing slices; the volume keeps every real slice exactly in place.
    report = scan([DIRTESTS / "77654033" / "CT2"])
    (stack,) = report.stacks
    gap = [p for p in stack.problems if p.code == "gap"]
    assert len(gap) == 1
    assert "202.50 mm" in gap[0].message and "161 missing" in gap[0].message
    assert any(f.endswith("17106") for f in gap[0].files)
    v = load_stack(stack)
    assert v.shape[0] == 165
    assert v.metadata["blank_slices"] == list(range(1, 162))
    z = v.index_to_patient([[0, 0, 0], [162, 0, 0], [164, 0, 0]])[:, 2]
    np.testing.assert_allclose(z, [-99.48, 103.02, 105.52], atol=1e-4)
    assert Path(v.files[162]).name == "17136"
    assert v.sop_instance_uids[50] == ""


def test_ct_3slice_thickness_differs_from_spacing(real_data: Path) -> None:
    # GE slices 1.25 mm thick, positions 1 mm apart (overlapping reconstruction).
    v = load_series([real_data / "dcmqi" / "ct-3slice"])
    assert v.shape == (3, 512, 512)
    assert v.spacing[0] == pytest.approx(1.0, abs=1e-4)
    (p,) = [p for p in v.metadata["problems"] if p.code == "thickness-spacing-mismatch"]
    assert "1.25 mm" in p.message and "overlapping" in p.message
    assert p.severity.value == "info"


def test_gantry_tilt_is_loaded_through_a_sheared_affine(tmp_path: Path) -> None:
    # Each slice moves 2.5 mm along z and 0.5 mm along y: tilt = atan(0.5 / 2.5) = 11.31 degrees.
    pos = [(0.0, 0.5 * k, 2.5 * k) for k in range(5)]
    write_ct_series(tmp_path, pos)
    v = load_series([tmp_path])
    np.testing.assert_allclose(v.affine[:3, 0], [0.0, 0.5, 2.5], atol=1e-9)
    assert v.is_sheared
    np.testing.assert_allclose(v.index_to_patient([[4, 0, 0]])[0], [0.0, 2.0, 10.0], atol=1e-9)
    (p,) = [p for p in v.metadata["problems"] if p.code == "gantry-tilt"]
    assert "11.31 degrees" in p.message


def test_order_ignores_instance_number_and_file_name(tmp_path: Path) -> None:
    pos = [(0.0, 0.0, z) for z in (4.0, 0.0, 8.0, 2.0, 6.0)]
    write_ct_series(
        tmp_path,
        pos,
        instance_numbers=[1, 2, 3, 4, 5],
        values=[1064, 1024, 1104, 1044, 1084],
        names=["a.dcm", "b.dcm", "c.dcm", "d.dcm", "e.dcm"],
    )
    v = load_series([tmp_path])
    # HU = stored - 1024 and each slice's value is 10 * z / 2: 0, 20, 40, 60, 80 in z order
    assert [int(v.array[k, 0, 0]) for k in range(5)] == [0, 20, 40, 60, 80]
    assert v.affine[2, 3] == 0.0 and v.affine[2, 0] == 2.0


def test_duplicate_positions_keep_first_and_name_the_others(tmp_path: Path) -> None:
    pos = [(0.0, 0.0, z) for z in (0.0, 2.0, 2.0, 4.0)]
    files = write_ct_series(tmp_path, pos)
    v = load_series([tmp_path])
    assert v.shape[0] == 3
    (p,) = [p for p in v.metadata["problems"] if p.code == "duplicate-position"]
    assert p.files == (str(files[2]),)


def test_missing_slice_leaves_a_blank_slice_in_its_place(tmp_path: Path) -> None:
    pos = [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0, 8.0, 10.0)]
    write_ct_series(tmp_path, pos)
    v = load_series([tmp_path])
    assert v.shape[0] == 6 and v.metadata["blank_slices"] == [3]
    assert v.affine[2, 0] == pytest.approx(2.0)
    (p,) = [p for p in v.metadata["problems"] if p.code == "gap"]
    assert "1 missing slice" in p.message


def test_non_uniform_spacing_is_resampled_linearly(tmp_path: Path) -> None:
    # z = 0, 2, 4.5, 6 with HU 0, 10, 20, 30: resampled at the smallest step 1.5 mm:
    # z=1.5 -> 0 + 0.75*10 = 7.5; z=3 -> 10 + (1/2.5)*10 = 14; z=4.5 -> 20; z=6 -> 30
    pos = [(0.0, 0.0, z) for z in (0.0, 2.0, 4.5, 6.0)]
    write_ct_series(tmp_path, pos)
    v = load_series([tmp_path])
    assert v.shape[0] == 5
    np.testing.assert_allclose(v.array[:, 0, 0], [0.0, 7.5, 14.0, 20.0, 30.0], atol=1e-4)
    assert v.affine[2, 0] == pytest.approx(1.5)
    assert "non-uniform-spacing" in codes(v)


def test_missing_position_in_one_file_leaves_it_out_and_names_it(tmp_path: Path) -> None:
    files = write_ct_series(tmp_path, [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0, 6.0)])
    ds = pydicom.dcmread(files[3])
    del ds.ImagePositionPatient
    ds.save_as(files[3])
    v = load_series([tmp_path])
    assert v.shape[0] == 3
    (p,) = [p for p in v.metadata["problems"] if p.code == "missing-position"]
    assert p.files == (str(files[3]),) and "ImagePositionPatient (0020,0032)" in p.message


@pytest.mark.parametrize(
    "positions",
    [
        [(0.0, 0.0, z) for z in (4.0, 0.0, 8.0, 2.0, 6.0)],  # files not in slice order
        [(0.0, 0.5 * k, 2.5 * k) for k in range(5)],  # gantry tilt
        [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0, 8.0, 10.0)],  # a gap
        [(0.0, 0.0, z) for z in (0.0, 2.0, 4.5, 6.0)],  # irregular spacing, resampled
        [(0.0, 0.0, z) for z in (0.0, 2.0, 2.0, 4.0)],  # a duplicate left out
    ],
)
def test_a_load_reuses_the_scans_geometry_plan(tmp_path: Path, positions: list) -> None:
    """The scan's plan of a stack, kept with it, is the plan a load would make again."""
    write_ct_series(tmp_path, positions)
    (stack,) = scan([tmp_path]).stacks
    assert stack.planned is not None and stack.planned[0] is stack.instances
    kept, fresh = stack.planned[1], plan_geometry(stack.instances)
    assert kept.order == fresh.order == list(range(len(stack.instances)))
    assert (kept.n_slices, kept.slots, kept.calibrated) == (
        fresh.n_slices,
        fresh.slots,
        fresh.calibrated,
    )
    assert kept.slice_spacing == fresh.slice_spacing
    np.testing.assert_array_equal(kept.affine, fresh.affine)
    reused = load_stack(stack)
    stack.planned = None  # planned afresh
    again = load_stack(stack)
    np.testing.assert_array_equal(reused.array, again.array)
    np.testing.assert_array_equal(reused.affine, again.affine)
    stack.instances = list(reversed(stack.instances))  # another list: never the kept plan
    np.testing.assert_array_equal(load_stack(stack).array, again.array)


def test_mixed_sizes_split_into_stacks(tmp_path: Path) -> None:
    uid = pydicom.uid.generate_uid()
    write_ct_series(tmp_path / "a", [(0.0, 0.0, z) for z in (0.0, 2.0)], series_uid=uid)
    files = write_ct_series(tmp_path / "b", [(0.0, 0.0, 10.0)], series_uid=uid)
    ds = pydicom.dcmread(files[0])
    ds.Rows = 64
    ds.Columns = 64
    ds.PixelData = np.zeros((64, 64), "<u2").tobytes()
    ds.save_as(files[0])
    report = scan([tmp_path])
    assert sorted(s.shape for s in report.stacks) == [(1, 64, 64), (2, 128, 128)]
    assert all("mixed-sizes" in codes(s) for s in report.stacks)


def test_localizer_set_aside(tmp_path: Path) -> None:
    files = write_ct_series(tmp_path, [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0)])
    ds = pydicom.dcmread(files[0])
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.save_as(files[0])
    report = scan([tmp_path])
    loc = [s for s in report.stacks if s.is_localizer]
    assert len(loc) == 1 and loc[0].files == [str(files[0])] and loc[0].label == "localizer"
    assert load_series([tmp_path]).shape[0] == 2  # the axial stack, not the scout


def test_single_ct_small(tmp_path: Path) -> None:
    v = load_series([get_testdata_file("CT_small.dcm")])
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    np.testing.assert_array_equal(v.array[0], hu)


def test_repeated_acquisitions_and_echoes_split_into_stacks(tmp_path: Path) -> None:
    uid = pydicom.uid.generate_uid()
    pos = [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0)]
    first = write_ct_series(tmp_path / "a1", pos, series_uid=uid)
    second = write_ct_series(tmp_path / "a2", pos, series_uid=uid)
    for n, files in ((1, first), (2, second)):
        for f in files:
            ds = pydicom.dcmread(f)
            ds.AcquisitionNumber = n
            ds.save_as(f)
    report = scan([tmp_path])
    assert sorted(s.label for s in report.stacks) == ["acquisition 1", "acquisition 2"]
    assert all(s.shape[0] == 3 and not s.problems for s in report.stacks)
    for f in second:  # same positions again, now as a second echo instead
        ds = pydicom.dcmread(f)
        ds.AcquisitionNumber = 1
        ds.EchoNumbers = 2
        ds.save_as(f)
    for f in first:
        ds = pydicom.dcmread(f)
        ds.EchoNumbers = 1
        ds.save_as(f)
    assert sorted(s.label for s in scan([tmp_path]).stacks) == ["echo 1", "echo 2"]


def test_radial_stacks_get_distinct_labels() -> None:
    labels = [s.label for s in scan([DIRTESTS / "98892003" / "MR700"]).stacks]
    assert len(set(labels)) == 7
    assert "sagittal #1" in labels and "coronal #2" in labels
