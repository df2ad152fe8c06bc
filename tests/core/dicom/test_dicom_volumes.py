"""The pieces behind mosaics and 4D series, on synthetic input: the CSA parser, private elements,
the volume splitter, the choice of value mapping; and a mosaic whose header cannot be used."""

from __future__ import annotations

import copy
import json
import shutil
import struct
from pathlib import Path

import pydicom
import pytest
from dicom_series_factory import write_ct_series
from pydicom.dataset import Dataset

from namecar_viewer.cli import main
from namecar_viewer.core.dicom import scan
from namecar_viewer.core.dicom.frame_keys import classic_values
from namecar_viewer.core.dicom.scan import read_header
from namecar_viewer.core.dicom.sources import iter_sources
from namecar_viewer.core.dicom.value_mapping import (
    PHILIPS_FP,
    REAL_WORLD,
    RESCALE,
    RealWorldMap,
    choose,
    real_world_maps,
)
from namecar_viewer.core.dicom.vendor import parse_csa, private_value
from namecar_viewer.core.dicom.volumes import position_clusters, split_volumes
from namecar_viewer.core.problems import Severity

DATA = Path(__file__).resolve().parents[2] / "data" / "dicom"


def _csa(tags: dict[str, list[str]], csa2: bool = True) -> bytes:
    """A CSA header as Siemens writes it (see vendor.py for the layout)."""
    out = bytearray(b"SV10\x04\x03\x02\x01" if csa2 else b"")
    out += struct.pack("<II", len(tags), 77)
    first_n = len(next(iter(tags.values()))) if tags else 0
    for name, items in tags.items():
        out += name.encode().ljust(64, b"\0")
        out += struct.pack("<i4siii", len(items), b"FD\0\0", 4, len(items), 77)
        for item in items:
            value = item.encode() + b"\0"
            length = len(value)
            x0 = length if csa2 else length + first_n
            out += struct.pack("<4i", x0, length, 77, length)
            out += value.ljust((length + 3) // 4 * 4, b"\0")
    return bytes(out)


@pytest.mark.parametrize("csa2", [True, False], ids=["CSA2", "CSA1"])
def test_csa_header_is_read(csa2: bool) -> None:
    tags = {"NumberOfImagesInMosaic": ["36"], "SliceNormalVector": ["0", "0.12", "0.99"]}
    assert parse_csa(_csa(tags, csa2)) == tags


def test_a_malformed_csa_header_gives_what_was_read_and_never_raises() -> None:
    good = _csa({"A": ["1"], "B": ["2"]})
    assert parse_csa(good[: len(good) - 6]) == {"A": ["1"]}
    assert parse_csa(b"SV10\x04\x03\x02\x01" + struct.pack("<II", 10**6, 77)) == {}
    assert parse_csa(b"") == {} and parse_csa(None) == {}
    bad_length = bytearray(good)
    struct.pack_into("<i", bad_length, 8 + 8 + 84 + 4, 10**6)  # first item's length
    assert parse_csa(bytes(bad_length)) == {}


def test_private_elements_are_found_through_their_creator(tmp_path: Path) -> None:
    """A block reserved at (0019,0011) puts its elements at (0019,11xx), not (0019,10xx)."""
    (path,) = write_ct_series(tmp_path, [(0, 0, 0)])
    ds = pydicom.dcmread(path)
    ds.add_new(0x00190010, "LO", "SOMEONE ELSE")
    ds.add_new(0x0019100C, "IS", "7")
    ds.add_new(0x00190011, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x0019110C, "IS", "1000")
    ds.add_new(0x0019110E, "FD", [0.0, 0.6, 0.8])
    ds.Manufacturer = "SIEMENS"
    ds.save_as(path)
    ds_fast, fast, _ = read_header(next(iter(iter_sources([str(path)]))))  # type: ignore[misc]
    assert fast is not None
    for header in (ds_fast, pydicom.dcmread(path)):
        assert private_value(header, 0x0019, "SIEMENS MR HEADER", 0x0C, "IS") == 1000
        values = classic_values(header)
        assert values["b"] == 1000.0 and values["direction"] == (0.0, 0.6, 0.8)


def test_ge_b_value_loses_its_bias() -> None:
    ds = Dataset()
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.add_new(0x00430010, "LO", "GEMS_PARM_01")
    ds.add_new(0x00431039, "IS", ["1000001000", "8", "0", "0"])
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    for elem, v in ((0x001910BB, "0.6"), (0x001910BC, "0"), (0x001910BD, "-0.8")):
        ds.add_new(elem, "DS", v)
    values = classic_values(ds)
    assert values["b"] == 1000.0 and values["direction"] == (0.6, 0.0, -0.8)


def _split(positions: list[float], values: list[dict], ntp: int | None = None):  # type: ignore[no-untyped-def]
    clusters = position_clusters([(0.0, 0.0, z) for z in positions], (0, 0, 1))
    return split_volumes(
        clusters,
        lambda i: values[i],
        [(float(i),) for i in range(len(positions))],
        ntp,
        lambda idx: tuple(f"f{i}" for i in idx),
    )


def test_slice_timing_orders_volumes_but_does_not_split_them() -> None:
    """Trigger times differ from slice to slice (and phase to phase): each value covers one
    position, so they only order the images; the Philips phase number splits them."""
    z = [0.0, 5.0, 10.0] * 2
    trig = [0, 30, 60, 500, 530, 560]
    vols = _split(z, [{"trigger": t} for t in trig], ntp=2)
    assert [sorted(v.members) for v in vols] == [[0, 1, 2], [3, 4, 5]]
    assert [v.label for v in vols] == ["volume 1", "volume 2"] and not vols[0].problems
    by_phase = _split(z, [{"trigger": t, "phase_number": 1 + i // 3} for i, t in enumerate(trig)])
    assert [v.label for v in by_phase] == ["Philips phase 1", "Philips phase 2"]


def test_a_time_that_ticks_over_within_each_volume_does_not_cut_volumes_into_slabs() -> None:
    """GE multiband fMRI (dcm_qa_ge SliceTiming 6, 13, 15): AcquisitionTime and ContentTime
    follow the slice, one second for the first 6 of 10 positions, the next for the other 4, in
    every volume alike; the volumes (in instance order) stay whole, labelled by their order."""
    z = [float(k) for k in range(10)] * 3
    vals = [
        {
            "acq_time": "215441" if k < 6 else "215442",
            "content_time": "215441" if k < 6 else "215442",
        }
        for k in range(10)
    ] * 3
    vols = _split(z, vals, ntp=3)
    assert [sorted(v.members) for v in vols] == [list(range(10 * v, 10 * v + 10)) for v in range(3)]
    assert [v.label for v in vols] == ["volume 1", "volume 2", "volume 3"]
    assert not vols[0].problems  # NumberOfTemporalPositions agrees


def test_a_volume_cut_short_is_still_split_off_by_its_time() -> None:
    """Two whole volumes and one of 3 of the 10 positions (an interrupted run, or the files kept
    of a series): the acquisition time still tells the three apart, each label said once."""
    z = [float(k) for k in range(10)] * 2 + [0.0, 1.0, 2.0]
    times = ["100000"] * 10 + ["100003"] * 10 + ["100006"] * 3
    vols = _split(z, [{"acq_time": t, "content_time": t} for t in times])
    assert [len(v.members) for v in vols] == [10, 10, 3]
    assert [v.label for v in vols] == ["time 100000", "time 100003", "time 100006"]


def test_an_acquisition_number_that_fills_holes_of_each_volume_does_not_split_them() -> None:
    """Philips classic DTI (dcm_qa_philips_enh 2201): in every volume a few slices carry another
    AcquisitionNumber (19 instead of 22), never the same slices twice; the volumes are told apart
    by b-value and direction, each whole."""
    z = [float(k) for k in range(8)] * 3
    holes = {0: (1, 5), 1: (2, 6), 2: (3,)}  # slices stored as acquisition 19, per volume
    semantic = [{"b": 0.0}, {"b": 1000.0, "direction": (1.0, 0.0, 0.0)}]
    semantic.append({"b": 1000.0, "direction": (0.0, 1.0, 0.0)})
    vals = [
        {"acquisition": 19 if k in holes[v] else 22, **semantic[v]}
        for v in range(3)
        for k in range(8)
    ]
    vols = _split(z, vals)
    assert [sorted(v.members) for v in vols] == [list(range(8 * v, 8 * v + 8)) for v in range(3)]
    assert [v.label for v in vols] == ["b=0", "b=1000, direction 1", "b=1000, direction 2"]


def test_two_acquisitions_that_overlap_in_part_stay_two_volumes() -> None:
    """Two stations of 10 slices overlapping over 6 (acquisition 1: z 0-9, 2: z 4-13): each
    covers most positions and neither fills the other's holes, so they stay two volumes."""
    z = [float(k) for k in range(10)] + [float(k) for k in range(4, 14)]
    vols = _split(z, [{"acquisition": 1}] * 10 + [{"acquisition": 2}] * 10)
    assert [sorted(v.members) for v in vols] == [list(range(10)), list(range(10, 20))]
    assert [v.label for v in vols] == ["acquisition 1", "acquisition 2"]


def test_an_image_without_a_position_does_not_stop_a_split() -> None:
    """Two b-values at 5 positions and one derived image with no position of its own (its own
    b-value): the b-values still split the volumes."""
    positions = [(0.0, 0.0, float(k)) for k in range(5)] * 2 + [None]
    vals = [{"b": 0.0}] * 5 + [{"b": 1000.0}] * 5 + [{"b": 500.0}]
    vols = split_volumes(
        position_clusters(positions, (0, 0, 1)),
        lambda i: vals[i],
        [(float(i),) for i in range(11)],
        None,
        lambda idx: tuple(f"f{i}" for i in idx),
    )
    assert sorted(sorted(v.members) for v in vols) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]


def test_a_few_duplicates_stay_one_volume_for_the_geometry_plan_to_name() -> None:
    vols = _split([0.0, 2.0, 2.0, 4.0, 6.0], [{}] * 5)
    assert len(vols) == 1 and len(vols[0].members) == 5


def test_uneven_repeats_are_split_by_order_and_named() -> None:
    vols = _split([0.0, 5.0, 10.0, 0.0, 5.0], [{}] * 5, ntp=2)
    assert [sorted(v.members) for v in vols] == [[0, 1, 2], [3, 4]]
    (p,) = vols[0].problems
    assert p.code == "uneven-volumes" and p.severity is Severity.WARNING
    assert p.files == ("f2",)  # the position that lacks an image


def test_semantic_labels_and_b0_without_a_b_value() -> None:
    z = [0.0, 5.0] * 3
    vals = [{"b": None}] * 2 + [{"b": 1500.0, "direction": (1.0, 0.0, 0.0)}] * 2
    vals += [{"b": 1500.0, "direction": (0.0, 1.0, 0.0)}] * 2
    vols = _split(z, vals)
    assert [v.label for v in vols] == ["b not stated", "b=1500, direction 1", "b=1500, direction 2"]


def test_value_mapping_choice() -> None:
    hz = RealWorldMap(0.2442, -500.0, "Hz", "Hz", "Philips")
    none = RealWorldMap(1.28, 0.0, "1", "no units", "Philips")
    assert choose("CT", False, 1.0, -1024.0, [hz], None).source == RESCALE  # HU stay HU
    assert choose("PT", False, 2.0, 0.0, [hz], None).slope == 2.0  # SUV works from activity
    m = choose("MR", True, 0.2442, -500.0, [hz], 4.095)
    assert (m.source, m.units, m.slope, m.intercept) == (REAL_WORLD, "Hz", 0.2442, -500.0)
    fp = choose("MR", True, 1.28, 0.0, [none], 8.4e-6)
    assert fp.source == PHILIPS_FP and fp.units == "" and fp.slope == pytest.approx(1 / 8.4e-6)
    assert choose("MR", False, 1.0, 0.0, [none], None).source == REAL_WORLD
    assert choose("MR", False, 1.0, 0.0, [], None).source == RESCALE


def test_real_world_items_with_a_lut_or_no_slope_are_skipped() -> None:
    item = Dataset()
    item.RealWorldValueSlope = 0.0
    lut = Dataset()
    lut.RealWorldValueLUTData = [1.0, 2.0]
    good = Dataset()
    good.RealWorldValueSlope = 0.001
    good.RealWorldValueIntercept = 0.0
    unit = Dataset()
    unit.CodeValue = "mm2/s"
    unit.CodeMeaning = "mm2/s"
    good.MeasurementUnitsCodeSequence = [unit]
    good.LUTLabel = "ADC"
    (m,) = real_world_maps([item, lut, good])
    assert (m.slope, m.unit, m.label) == (0.001, "mm2/s", "ADC")


def test_a_mosaic_whose_tiles_cannot_be_found_is_named_not_loaded(tmp_path: Path) -> None:
    """49 images need a 7 x 7 grid, which 384 x 384 pixels do not divide into."""
    src = DATA / "dcm_qa_mosaic" / "ep2d_Int_HF_5" / "IM-0004-0001.dcm"
    ds = pydicom.dcmread(src)
    bad = copy.deepcopy(ds)
    del bad[0x00291010]
    bad[0x0019100A].value = 49
    bad.save_as(tmp_path / "bad.dcm")
    shutil.copy(DATA / "dcm_qa_mosaic" / "ep2d_Int_HF_5" / "IM-0004-0002.dcm", tmp_path)
    report = scan([str(tmp_path)])
    (u,) = report.unreadable
    assert u.path.endswith("bad.dcm") and "7 x 7 grid" in u.reason
    (stack,) = report.stacks
    assert stack.shape == (36, 64, 64)


def test_scan_report_states_units_and_value_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    case = str(DATA / "dcm_qa_enh" / "Philips_B0_fMAP")
    assert main(["scan", "--json", case]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(s["units"] for s in doc["stacks"]) == ["", "Hz"]
    assert main(["scan", case]) == 0
    text = capsys.readouterr().out
    assert "values [Hz]: Real World Value Mapping 'Philips' (0040,9096): values in Hz" in text
    assert "values: Philips floating-point values" in text


def test_units_travel_with_a_stack_through_the_study_index() -> None:
    from namecar_viewer.core.dicom import load_stack
    from namecar_viewer.persistence.study_index import StudyIndex

    idx = StudyIndex(":memory:")
    report = scan([str(DATA / "dcm_qa_enh" / "Philips_B0_fMAP")])
    ids = {s.label: idx.add_stack(s).stack_id for s in report.stacks}
    v = load_stack(idx.stack(ids["echo 0, FIELD_MAP"]))
    assert v.metadata["units"] == "Hz" and "(0040,9096)" in v.metadata["values"]
    idx.close()


def test_a_vframe_whose_slice_count_disagrees_is_named_not_loaded(tmp_path: Path) -> None:
    src = DATA / "dcm_qa_uih" / "UIH_DTI_AP_9"
    ds = pydicom.dcmread(src / "00000001.dcm")
    ds[0x00651050].value = "21"  # 20 items of positions follow
    ds.save_as(tmp_path / "bad.dcm")
    shutil.copy(src / "00000002.dcm", tmp_path)
    report = scan([str(tmp_path)])
    (u,) = report.unreadable
    assert u.path.endswith("bad.dcm") and "(0065,1051)" in u.reason and "21" in u.reason
    (stack,) = report.stacks
    assert stack.shape == (20, 64, 64)
