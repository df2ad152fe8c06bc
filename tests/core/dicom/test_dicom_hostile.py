"""Hostile and damaged DICOM files (issue 15): every mutant gives a named reason, bounded in time
and memory, and its good neighbours still load.

Each case is one slice of a 5-slice CT, MR or PET series of the demo phantom replaced by a
mutant (``dicom_mutants``); the folder is scanned and every loadable stack loaded in a child
process limited to 2 GiB of address space and 20 s.  The mutations cover what the issue saw
(a NaN position, NumberOfFrames inf and 1e9, Rows written as DS 'abc', RescaleIntercept 1e10,
a file cut before Rows, a 6 KB lossless JPEG declaring 65000 x 65000, a 0.6 GiB deflate bomb)
and more; the random ones (truncation, flipped header bytes) are seeded.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dicom_mutants import (
    MUTATIONS,
    SLOW_MUTATIONS,
    _flip_header_bytes,
    _truncate,
    run_case,
    write_case,
)

SERIES = {
    "CT": ("CT_2025-01-15_baseline", 40),
    "MR": ("MR_2025-07-22_T2_TSE_AX", 10),
    "PT": ("PT_2025-07-24_PSMA_Ga68", 20),
}
SEEDS = range(12)
DATA = Path(__file__).resolve().parents[2] / "data" / "dicom"


def _series(demo: Path, modality: str) -> list[Path]:
    folder, start = SERIES[modality]
    return sorted((demo / folder).glob("*.dcm"))[start : start + 5]


@pytest.mark.parametrize("modality", sorted(SERIES))
def test_every_mutation_is_named_and_the_neighbours_load(
    small_demo: Path, tmp_path: Path, modality: str
) -> None:
    series = _series(small_demo, modality)
    bad = []
    for i, mutation in enumerate(MUTATIONS):
        folder = tmp_path / f"m{i}"
        mutant = write_case(series, folder, 2, mutation, seed=i)
        outcome = run_case(folder, mutant, mutation.__name__)
        if not outcome.ok:
            bad.append(f"{mutation.__name__}: {outcome.kind} {outcome.detail.strip()[-300:]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("mutation", [_truncate, _flip_header_bytes], ids=["truncate", "flip"])
def test_seeded_random_damage(small_demo: Path, tmp_path: Path, mutation) -> None:  # type: ignore[no-untyped-def]
    bad = []
    for modality in sorted(SERIES):
        series = _series(small_demo, modality)
        for seed in SEEDS:
            folder = tmp_path / f"{modality}{seed}"
            mutant = write_case(series, folder, 2, mutation, seed=seed)
            outcome = run_case(folder, mutant, f"{modality} seed {seed}")
            if not outcome.ok:
                bad.append(f"{outcome.mutation}: {outcome.kind} {outcome.detail.strip()[-300:]}")
    assert not bad, "\n".join(bad)


GROUPING_VALUES = [
    "SeriesNumber as IS b'inf '",
    "InstanceNumber as IS b'nan '",
    "AcquisitionNumber as IS b'-inf'",
    "TemporalPositionIdentifier as IS b'inf '",
    "NumberOfTemporalPositions as IS b'nan '",
]


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_values_read_when_grouping_a_series_never_stop_the_scan(
    small_demo: Path, tmp_path: Path, modality: str
) -> None:
    """The first file of a series gives the stack its description (SeriesNumber...), read
    after the per-file checks: an IS value int() cannot take (inf, nan) there stopped the whole
    scan with OverflowError (a seeded fuzz of a Philips ASL file).  Here the mutant is the
    first file; its series still loads."""
    series = _series(small_demo, modality)
    bad = []
    for i, name in enumerate(GROUPING_VALUES):
        mutation = next(m for m in MUTATIONS if m.__name__ == name)
        folder = tmp_path / f"g{i}"
        mutant = write_case(series, folder, 0, mutation, seed=i)
        outcome = run_case(folder, mutant, name)
        if not (outcome.ok and outcome.kind in ("loaded", "reported")):
            bad.append(f"{name}: {outcome.kind} {outcome.detail.strip()[-300:]}")
    assert not bad, "\n".join(bad)


def _one(small_demo: Path, tmp_path: Path, name: str, modality: str = "CT"):  # type: ignore[no-untyped-def]
    mutation = next(m for m in MUTATIONS + SLOW_MUTATIONS if m.__name__ == name)
    folder = tmp_path / "case"
    mutant = write_case(_series(small_demo, modality), folder, 2, mutation, seed=0)
    t0 = time.perf_counter()
    outcome = run_case(folder, mutant, name)
    return outcome, time.perf_counter() - t0


@pytest.mark.parametrize(
    ("name", "element"),
    [
        ("ImagePositionPatient=['nan', 'nan', 'nan']", "ImagePositionPatient (0020,0032)"),
        ("NumberOfFrames as IS b'inf '", "NumberOfFrames (0028,0008)"),
        ("NumberOfFrames='1000000000'", "NumberOfFrames (0028,0008)"),
        ("Rows as DS b'abc '", "Rows (0028,0010)"),
        ("_truncate_before_rows", "Rows (0028,0010)"),
    ],
)
def test_what_the_issue_saw_is_refused_by_name(
    small_demo: Path, tmp_path: Path, name: str, element: str
) -> None:
    outcome, seconds = _one(small_demo, tmp_path, name)
    assert outcome.kind == "reported" and outcome.neighbours_loaded, outcome
    assert element in outcome.detail
    assert seconds < 10.0  # the frame count of a billion no longer hangs the scan


def test_bombs_are_refused_within_the_memory_limit(small_demo: Path, tmp_path: Path) -> None:
    # a 6 KB lossless JPEG declaring 65000 x 65000, and a 0.6 GiB deflate bomb: each refused
    # (reported) with the 2 GiB address-space limit of the child, the neighbours loaded
    for name in ("_jpeg_sof_bomb", "_deflate_bomb"):
        outcome, _seconds = _one(small_demo, tmp_path / name, name)
        assert outcome.kind == "reported" and outcome.neighbours_loaded, outcome


def test_huge_rescale_intercept_loads_as_float(small_demo: Path, tmp_path: Path) -> None:
    from namecar_viewer.core.dicom import load_series

    series = _series(small_demo, "CT")
    mutation = next(m for m in MUTATIONS if m.__name__ == "RescaleIntercept='1e10'")
    write_case(series, tmp_path / "c", 2, mutation, seed=0)
    vol = load_series([tmp_path / "c"])
    # no int16 with such an offset: float32, the mutant's values near 1e10, the others HU
    assert vol.array.dtype.kind == "f" and vol.shape[0] == 5
    assert float(vol.array[2].max()) > 9e9 and float(vol.array[0].max()) < 5000


# 21 bytes of the RLE segments of pydicom-data's emri_small_RLE.dcm changed (a seeded fuzz):
# pylibjpeg-rle, written in Rust, panics ("index out of bounds"), and its PanicException is a
# BaseException, which no ``except Exception`` caught
RLE_PANIC_BYTES = [
    (7556, 168), (7757, 188), (8717, 214), (8837, 244), (8893, 161), (9101, 141), (9139, 221),
    (9343, 188), (9418, 61), (9737, 150), (9759, 8), (9777, 55), (9806, 199), (10005, 139),
    (10153, 86), (10330, 126), (10365, 203), (10948, 86), (10952, 10), (11007, 231),
    (11779, 55),
]  # fmt: skip


def test_a_decoder_panic_is_the_file_s_named_problem(tmp_path: Path) -> None:
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    from namecar_viewer.core.dicom import load_stack, scan
    from namecar_viewer.core.problems import DicomInputError

    source = Path(get_testdata_file("emri_small_RLE.dcm"))
    data = bytearray(source.read_bytes())
    for at, value in RLE_PANIC_BYTES:
        data[at] = value
    (tmp_path / "mutant.dcm").write_bytes(bytes(data))
    other = dcmread(source)
    other.SeriesInstanceUID = other.SeriesInstanceUID + ".2"  # a good neighbour series
    other.SOPInstanceUID = other.SOPInstanceUID + ".2"
    other.save_as(tmp_path / "neighbour.dcm")
    report = scan([str(tmp_path / "mutant.dcm"), str(tmp_path / "neighbour.dcm")])
    by_file = {Path(s.instances[0].path).name: s for s in report.stacks}
    with pytest.raises(DicomInputError, match=r"mutant\.dcm.*PanicException"):
        load_stack(by_file["mutant.dcm"])
    good = load_stack(by_file["neighbour.dcm"])
    assert good.shape == (10, 64, 64) and float(good.array.max()) > 0


@pytest.mark.parametrize(
    "position", [["0", "inf", "-inf"], ["9999999999999999", "1", "1"]], ids=["inf", "1e16"]
)
def test_an_enhanced_frame_at_an_impossible_position_does_not_stop_the_scan(
    tmp_path: Path, position: list[str]
) -> None:
    """The per-frame position of an enhanced file is read after the per-file checks: 0\\inf\\-inf
    in one frame stopped the geometry plan of its series with ValueError, 1e16 mm made it ask
    for 511 GiB (seeded fuzzes of the Philips enhanced files).  A position out of the range the
    checks allow a classic image is no position: the frame is left out, the series loads."""
    import gzip

    from pydicom import dcmread

    from namecar_viewer.core.dicom import load_stack, scan

    case = DATA / "dcm_qa_philips_asl_enh" / "Philips_pCASL_402_enhanced"
    raw = gzip.decompress(next(case.glob("*.dcm.gz")).read_bytes())
    (tmp_path / "good.dcm").write_bytes(raw)
    ds = dcmread(tmp_path / "good.dcm")
    frame = ds.PerFrameFunctionalGroupsSequence[5]
    frame.PlanePositionSequence[0].ImagePositionPatient = position
    ds.save_as(tmp_path / "bad.dcm")
    before = scan([str(tmp_path / "good.dcm")])
    report = scan([str(tmp_path / "bad.dcm")])
    assert len(report.stacks) == len(before.stacks)
    frames = sorted(i.frame or 0 for s in report.stacks for i in s.instances)
    assert 6 not in frames and len(frames) == 223  # the frame without a position, left out
    for s in report.stacks:
        assert load_stack(s).array.shape[1:] == (80, 80)


def test_a_series_that_cannot_be_put_together_is_said_and_the_others_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever value no check foresaw, a failure while grouping one series makes that series
    one unloadable stack with an ERROR naming its files; the scan goes on."""
    import importlib

    from dicom_series_factory import write_ct_series

    from namecar_viewer.core.dicom import load_stack, scan

    scan_module = importlib.import_module("namecar_viewer.core.dicom.scan")

    a = write_ct_series(tmp_path / "a", [(0.0, 0.0, 2.0 * k) for k in range(3)])
    write_ct_series(tmp_path / "b", [(0.0, 0.0, 2.0 * k) for k in range(4)])
    real = scan_module.plan_geometry

    def failing(instances):  # type: ignore[no-untyped-def]
        if len(instances) == 3:
            raise ValueError("cannot convert float NaN to integer")
        return real(instances)

    monkeypatch.setattr(scan_module, "plan_geometry", failing)
    report = scan([str(tmp_path)])
    bad = [s for s in report.stacks if not s.loadable]
    good = [s for s in report.stacks if s.loadable]
    assert len(bad) == 1 and len(good) == 1
    (problem,) = bad[0].problems
    assert problem.code == "series-not-understood" and "ValueError" in problem.message
    assert str(a[0]) in problem.files
    assert load_stack(good[0]).shape == (4, 128, 128)


def test_an_element_pydicom_cannot_decode_names_the_file_and_element(tmp_path: Path) -> None:
    """A header the fast reader declines is read by pydicom, which decodes each value on first
    access and raises then: an unknown VR (NotImplementedError) or a value of odd length for
    US (BytesLengthException) escaped the scan.  Now the file is unreadable by that element and
    its neighbours load."""
    from dicom_series_factory import write_ct_series

    from namecar_viewer.core.dicom import load_stack, scan

    files = write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(4)])
    raw = files[0].read_bytes()
    modality = b"\x08\x00\x60\x00CS"
    assert raw.count(modality) == 1
    files[0].write_bytes(raw.replace(modality, b"\x08\x00\x60\x00C\x00"))
    raw = files[1].read_bytes()
    high_bit = b"\x28\x00\x02\x01US\x02\x00"  # HighBit, US, 2 bytes: said to be 1 byte
    assert raw.count(high_bit) == 1
    files[1].write_bytes(raw.replace(high_bit, b"\x28\x00\x02\x01US\x01\x00", 1))
    report = scan([str(tmp_path)])
    reasons = {Path(u.path).name: u.reason for u in report.unreadable}
    assert "(0008,0060) Modality" in reasons[files[0].name]
    assert "(0028,0102) HighBit" in reasons[files[1].name]
    (stack,) = report.stacks
    assert load_stack(stack).shape == (2, 128, 128)


def test_a_resampled_grid_with_fewer_slices_than_images_loads_consistently(
    tmp_path: Path,
) -> None:
    """Images at -1, 52 and 57 mm: resampled every 53 mm (the lone 5 mm gap left out), so 3
    images make 2 slices.  The plan once counted as 'direct' (every slot one image), the load
    kept 3 slices and the volume refused 2 UIDs for them (ValueError, found by a seeded fuzz)."""
    from dicom_series_factory import write_ct_series

    from namecar_viewer.core.dicom import load_stack, scan

    write_ct_series(tmp_path, [(0.0, 0.0, z) for z in (-1.0, 52.0, 57.0)])
    (stack,) = scan([str(tmp_path)]).stacks
    volume = load_stack(stack)
    assert volume.shape == (2, 128, 128) and len(volume.sop_instance_uids) == 2
    assert "non-uniform-spacing" in {p.code for p in volume.metadata["problems"]}


def test_a_late_frame_declaring_a_huge_size_is_refused_before_decoding(tmp_path: Path) -> None:
    """Frame 14 of pydicom's 30-frame baseline JPEG examples_ybr_color.dcm made to declare
    65535 x 65535 in its SOF: 12 GiB to decode.  Only the first four frames were checked, so a
    seeded fuzz found the load taking all the memory; every frame is checked now."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file
    from pydicom.encaps import generate_frames

    from namecar_viewer.core.dicom import load_stack, scan
    from namecar_viewer.core.problems import DicomInputError

    source = Path(get_testdata_file("examples_ybr_color.dcm"))
    raw = bytearray(source.read_bytes())
    ds = dcmread(source)
    frame = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))[13]
    at = raw.find(frame)
    sof = frame.find(b"\xff\xc0")
    assert at > 0 and sof > 0
    raw[at + sof + 5 : at + sof + 9] = b"\xff\xff\xff\xff"  # Y and X of SOF0
    (tmp_path / "bomb.dcm").write_bytes(bytes(raw))
    (stack,) = scan([str(tmp_path / "bomb.dcm")]).stacks
    t0 = time.perf_counter()
    with pytest.raises(DicomInputError, match=r"65535 x 65535.*\(frame 14\)"):
        load_stack(stack)
    assert time.perf_counter() - t0 < 10.0


def test_one_position_far_from_the_others_never_makes_millions_of_slices(tmp_path: Path) -> None:
    """Images at 0, 0.01, 0.02 and 50000 mm (within the range a header may state): resampled
    at the median gap that would be 5 million slices.  The grid is bounded: at most 3 slices
    an image, and the message says which grid was used."""
    from dicom_series_factory import write_ct_series

    from namecar_viewer.core.dicom import load_stack, scan

    write_ct_series(tmp_path, [(0.0, 0.0, z) for z in (0.0, 0.01, 0.02, 50000.0)])
    (stack,) = scan([str(tmp_path)]).stacks
    volume = load_stack(stack)
    assert volume.shape == (12, 128, 128)
    (said,) = [p for p in volume.metadata["problems"] if p.code == "non-uniform-spacing"]
    assert "a grid of 12 slices over the whole extent" in said.message


def test_one_colour_slice_among_grey_ones_is_its_own_stack(tmp_path: Path) -> None:
    """A stack's pixel layout is its first image's: one slice said PALETTE COLOR (with no
    table) once made the whole stack undecodable, its grey neighbours with it (a seeded fuzz).
    Colour images are now a stack of their own ("palette color"); the grey ones load."""
    from dicom_series_factory import write_ct_series
    from pydicom import dcmread

    from namecar_viewer.core.dicom import load_stack, scan
    from namecar_viewer.core.problems import DicomInputError

    files = write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(4)])
    ds = dcmread(files[0])
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.save_as(files[0])
    report = scan([str(tmp_path)])
    by_label = {s.label: s for s in report.stacks}
    assert set(by_label) == {"", "palette color"}
    assert load_stack(by_label[""]).shape == (3, 128, 128)
    assert [Path(i.path).name for i in by_label["palette color"].instances] == [files[0].name]
    with pytest.raises(DicomInputError, match=files[0].name):
        load_stack(by_label["palette color"])
