"""Which images are key images: each lesion's measured slice at each timepoint (a new lesion's
too), and the reader's flags (a read setting), flagged and unflagged.

Expected slices come from the phantom's ground truth (the instance number of the slice through
each lesion centre), not from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydicom
import pytest

from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind
from namecar_viewer.core.reads import Lesion, LesionMeasurement, LesionRole, Read, Site
from namecar_viewer.core.reports.key_images import (
    FLAGGED_SETTING,
    FlaggedImage,
    KeyImageSource,
    add_flags,
    flagged_images,
    key_image_source,
    key_images,
    lesions_measured_on,
    measured_key_images,
    toggle_flag,
    unique_images,
)
from namecar_viewer.core.reports.sources import HeaderIndex


def _slice_uid(small_demo: Path, folder: str, instance_number: int) -> str:
    for f in sorted((small_demo / folder).glob("*.dcm")):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        if int(ds.InstanceNumber) == instance_number:
            return str(ds.SOPInstanceUID)
    raise AssertionError(f"no instance {instance_number} in {folder}")


def test_each_lesion_measured_slice_at_each_timepoint(
    demo_read: Read, small_demo: Path, ground_truth: dict[str, Any]
) -> None:
    items = measured_key_images(demo_read)
    labels = {les.uid: les.label for les in demo_read.lesions}
    tps = {tp.uid: tp.label for tp in demo_read.timepoints}
    folders = {t["label"]: t["folder"] for t in ground_truth["ct_timepoints"]}
    got = {(labels[k.lesion_uid or ""], tps[k.timepoint_uid or ""]): k for k in items}
    assert len(items) == 25  # T1-T5 at 5 timepoints; NT1 has statuses only
    for les in ground_truth["lesions"]:
        if les["role"] != "target":
            continue
        for tp, truth in les["ct"].items():
            k = got[(les["id"], tp)]
            assert k.source is KeyImageSource.MEASURED
            assert k.image.sop_instance_uid == _slice_uid(
                small_demo, folders[tp], truth["instance_number"]
            )
    # T1 and T5 lie on the same slice at every timepoint (ground truth: same slice index):
    # one key image each time, 20 distinct images
    assert len(unique_images(items)) == 20
    shared = got[("T1", "baseline")].image
    assert lesions_measured_on(demo_read, shared) == ["T1", "T5"]


def test_a_new_lesion_marked_by_a_point_gets_a_key_image(demo_read: Read) -> None:
    fu = next(tp for tp in demo_read.timepoints if tp.label == "fu09m")
    new = Lesion("new-1", "N1", LesionRole.NEW, Site.LIVER)
    point = Measurement.create(
        MeasurementKind.POINT,
        [(10.0, 20.0, -37.5)],
        uid="p1",
        images=(ImageRef("1.2.3.4.5"),),
        study_instance_uid=fu.study_instance_uid,
    )
    read = demo_read.with_lesion(new).with_measurement(LesionMeasurement(point, "new-1", fu.uid))
    (k,) = [k for k in measured_key_images(read) if k.lesion_uid == "new-1"]
    assert (k.image, k.timepoint_uid, k.measurement_uid) == (ImageRef("1.2.3.4.5"), fu.uid, "p1")
    assert key_image_source(read, ImageRef("1.2.3.4.5")) is KeyImageSource.MEASURED


def test_flag_unflag_and_a_measured_slice(demo_read: Read, small_demo: Path) -> None:
    other = _slice_uid(small_demo, "CT_2025-10-09_fu03m", 40)
    fu03 = next(tp for tp in demo_read.timepoints if tp.label == "fu03m")
    flag = FlaggedImage(ImageRef(other), fu03.study_instance_uid, "1.2.840.99")

    change = toggle_flag(demo_read, flag)
    assert change.changed and change.source is KeyImageSource.FLAGGED
    flagged = demo_read.with_setting(FLAGGED_SETTING, change.value)
    assert flagged_images(flagged) == (flag,)
    (k,) = [k for k in key_images(flagged) if k.source is KeyImageSource.FLAGGED]
    assert (k.image.sop_instance_uid, k.timepoint_uid) == (other, fu03.uid)

    again = toggle_flag(flagged, flag)
    assert again.changed and again.source is None and again.value is None  # setting removed

    measured = measured_key_images(demo_read)[0].image
    refused = toggle_flag(demo_read, FlaggedImage(measured))
    assert not refused.changed and refused.source is KeyImageSource.MEASURED
    assert refused.value == demo_read.settings.get(FLAGGED_SETTING)


def test_bad_setting_entries_are_left_out(demo_read: Read) -> None:
    raw = json.dumps(
        [
            {"sop_instance_uid": "1.2.3", "frame_number": 2},
            {"sop_instance_uid": ""},
            {"frame_number": 1},
            "1.2.4",
            {"sop_instance_uid": "1.2.5", "frame_number": "x"},
            {"sop_instance_uid": "1.2.3", "frame_number": 2},  # duplicate
        ]
    )
    read = demo_read.with_setting(FLAGGED_SETTING, raw)
    assert flagged_images(read) == (FlaggedImage(ImageRef("1.2.3", 2)),)
    assert flagged_images(demo_read.with_setting(FLAGGED_SETTING, "{not json")) == ()


def test_add_flags_skips_measured_and_known(demo_read: Read) -> None:
    measured = measured_key_images(demo_read)[0].image
    a, b = FlaggedImage(ImageRef("1.2.3")), FlaggedImage(ImageRef("1.2.4", 3))
    value, added = add_flags(demo_read, [a, FlaggedImage(measured), b, a])
    assert added == [a, b]
    read = demo_read.with_setting(FLAGGED_SETTING, value)
    assert flagged_images(read) == (a, b)
    assert add_flags(read, [b]) == (value, [])


def test_headers_of_every_measured_key_image_are_found(
    demo_read: Read, demo_headers: HeaderIndex
) -> None:
    for image in unique_images(key_images(demo_read)):
        assert demo_headers(image.sop_instance_uid) is not None
    assert flagged_images(demo_read) == ()  # the demo read has no flag


@pytest.mark.parametrize("kind", [MeasurementKind.ARROW, MeasurementKind.ELLIPSE])
def test_a_non_target_marked_without_a_diameter_gets_a_key_image(
    demo_read: Read, kind: MeasurementKind
) -> None:
    nt1 = next(les for les in demo_read.lesions if les.label == "NT1")
    tp = demo_read.timepoints[0]
    pts = {
        MeasurementKind.ARROW: [(0.0, 0.0, 0.0), (5.0, 5.0, 0.0)],
        MeasurementKind.ELLIPSE: [(0.0, 0.0, 0.0), (5.0, 0.0, 0.0), (0.0, 3.0, 0.0)],
    }[kind]
    m = Measurement.create(kind, pts, uid="m-nt", images=(ImageRef("9.8.7"),))
    read = demo_read.with_measurement(LesionMeasurement(m, nt1.uid, tp.uid))
    assert [k.image for k in measured_key_images(read) if k.lesion_uid == nt1.uid] == [
        ImageRef("9.8.7")
    ]
