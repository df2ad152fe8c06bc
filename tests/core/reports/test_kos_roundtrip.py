"""Key Object Selection document (TID 2010) of a read: dciodvfy, dsrdump, highdicom, the
evidence of every study, blinding, and the round trip (export, import: the flags come back).

Expected images are the demo read's measured slices (checked against the phantom's ground truth
in test_key_images.py) and the two slices this test flags.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from pydicom.dataset import Dataset

from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.key_images import (
    FLAGGED_SETTING,
    FlaggedImage,
    flagged_images,
    key_images,
    unique_images,
)
from namecar_viewer.core.reports.kos_export import (
    KosExportError,
    kos_path_beside,
    read_to_kos,
    write_kos,
)
from namecar_viewer.core.reports.kos_import import (
    KosImportError,
    flags_for_read,
    import_kos_file,
    kos_from_dataset,
)
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.core.reports.sr_export import read_to_sr, write_sr
from testsupport import require_tool


class _Blinded:
    enabled = True

    def subject(self, subject_id: str) -> str:
        return "Subject XYZ123"


def _slice(small_demo: Path, folder: str, number: int) -> Dataset:
    for f in sorted((small_demo / folder).glob("*.dcm")):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        if int(ds.InstanceNumber) == number:
            return ds
    raise AssertionError(f"no instance {number} in {folder}")


@pytest.fixture(scope="module")
def flagged_read(demo_read: Read, small_demo: Path) -> Read:
    """The demo read with two flagged slices: fu03m image 40 and baseline image 5."""
    flags = []
    for folder, number in (("CT_2025-10-09_fu03m", 40), ("CT_2025-01-15_baseline", 5)):
        ds = _slice(small_demo, folder, number)
        flags.append(
            FlaggedImage(
                ImageRef(str(ds.SOPInstanceUID)), str(ds.StudyInstanceUID), ds.SeriesInstanceUID
            )
        )
    value = "[" + ", ".join(json.dumps(f.to_json(), sort_keys=True) for f in flags)
    return demo_read.with_setting(FLAGGED_SETTING, value + "]")


@pytest.fixture(scope="module")
def demo_kos(
    tmp_path_factory: pytest.TempPathFactory, flagged_read: Read, demo_headers: HeaderIndex
) -> Path:
    export = read_to_kos(flagged_read, demo_headers)
    assert export.warnings == []
    out = tmp_path_factory.mktemp("kos") / "demo_read_kos.dcm"
    write_kos(export, out)
    return out


def test_it_references_every_key_image_with_its_evidence(
    demo_kos: Path, flagged_read: Read
) -> None:
    ds = pydicom.dcmread(demo_kos)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.59" and ds.Modality == "KO"
    title = ds.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator) == ("113020", "DCM")
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "2010"
    want = [i.sop_instance_uid for i in unique_images(key_images(flagged_read))]
    assert len(want) == 22  # 20 measured slices (T1 and T5 share theirs) + 2 flagged
    got = [
        it.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for it in ds.ContentSequence
        if it.ValueType == "IMAGE"
    ]
    assert got == want
    evidence = {
        inst.ReferencedSOPInstanceUID: study.StudyInstanceUID
        for study in ds.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for inst in series.ReferencedSOPSequence
    }
    assert set(evidence) == set(want)
    studies = {tp.study_instance_uid for tp in flagged_read.timepoints}
    assert set(evidence.values()) == studies  # five timepoints, five studies
    # the document belongs to the latest timepoint's study, as the SR does
    latest = flagged_read.ordered_timepoints()[-1]
    assert ds.StudyInstanceUID == latest.study_instance_uid
    assert ds.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID == ds.StudyInstanceUID


def test_dciodvfy_reports_no_error_or_warning(demo_kos: Path) -> None:
    exe = require_tool("dciodvfy", "dicom3tools")
    proc = subprocess.run([exe, str(demo_kos)], capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert "KeyObjectSelectionDocument" in out
    assert [ln for ln in out.splitlines() if ln.startswith(("Error", "Warning"))] == [], out


def test_dsrdump_reads_it(demo_kos: Path, flagged_read: Read) -> None:
    exe = require_tool("dsrdump", "dcmtk")
    proc = subprocess.run(
        [exe, "+Pu", "+Pl", str(demo_kos)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "Key Object Selection Document" in text
    assert '<CONTAINER:(,,"For Report Attachment")=CONTINUOUS>' in text
    assert '"Person Observer Name")="Reader^Demo"' in text
    assert text.count("<contains IMAGE:") == 22
    uids = re.findall(r'\(CT image,"([0-9.]+)"\)', text)
    assert uids == [i.sop_instance_uid for i in unique_images(key_images(flagged_read))]
    assert f"NAMECAR read {flagged_read.uid}" in text


def test_highdicom_parses_it(demo_kos: Path, flagged_read: Read) -> None:
    doc = hd.ko.KeyObjectSelectionDocument.from_dataset(pydicom.dcmread(demo_kos))
    refs = doc.content.get_references()
    assert len(refs) == 22
    fu03 = next(tp for tp in flagged_read.timepoints if tp.label == "fu03m")
    flag = flagged_images(flagged_read)[0]
    assert flag.study_instance_uid == fu03.study_instance_uid
    study, series, _ = doc.resolve_reference(flag.image.sop_instance_uid)
    assert (study, series) == (fu03.study_instance_uid, flag.series_instance_uid)


def test_round_trip_gives_the_flags_back(demo_kos: Path, flagged_read: Read) -> None:
    kos = import_kos_file(demo_kos)
    assert kos.read_uid == flagged_read.uid
    assert kos.title == "For Report Attachment" and kos.observer == "Reader^Demo"
    assert kos.problems == []
    unflagged = flagged_read.with_setting(FLAGGED_SETTING, None)
    match = flags_for_read(unflagged, kos)
    assert len(match.measured) == 20 and match.not_in_kos == [] and match.outside == []
    assert match.added == list(flagged_images(flagged_read))
    back = unflagged.with_setting(FLAGGED_SETTING, match.value)
    assert flagged_images(back) == flagged_images(flagged_read)
    assert unique_images(key_images(back)) == unique_images(key_images(flagged_read))
    # imported again: nothing new
    again = flags_for_read(back, kos)
    assert not again.changed and len(again.already) == 2


def test_images_outside_the_read_are_listed_not_flagged(demo_kos: Path, demo_read: Read) -> None:
    kos = import_kos_file(demo_kos)
    base = next(tp for tp in demo_read.timepoints if tp.label == "baseline")
    fewer = dataclasses.replace(
        demo_read,
        timepoints=tuple(tp for tp in demo_read.timepoints if tp.uid != base.uid),
        measurements=tuple(lm for lm in demo_read.measurements if lm.timepoint_uid != base.uid),
        statuses={k: v for k, v in demo_read.statuses.items() if k[1] != base.uid},
    )
    match = flags_for_read(fewer, kos)
    assert {i.study_instance_uid for i in match.outside} == {base.study_instance_uid}
    assert len(match.outside) == 5  # the 4 baseline measured slices + the flagged image 5
    assert [f.study_instance_uid for f in match.added] == [
        next(tp for tp in demo_read.timepoints if tp.label == "fu03m").study_instance_uid
    ]


def test_blinded_kos_hides_identifiers(
    flagged_read: Read, demo_headers: HeaderIndex, tmp_path: Path
) -> None:
    out = tmp_path / "blinded_kos.dcm"
    write_kos(read_to_kos(flagged_read, demo_headers, blinding=_Blinded()), out)
    raw = out.read_bytes()
    for value in (b"NAMECAR^DEMO", b"NAMECAR-001", b"19630412", b"NCDEMO000", b"Demo site"):
        assert value not in raw, value
    for tp in flagged_read.timepoints:
        assert tp.date is not None
        assert tp.date.strftime("%Y%m%d").encode() not in raw
    ds = pydicom.dcmread(out)
    assert str(ds.PatientName) == "Subject XYZ123" and ds.PatientID == "Subject XYZ123"
    dciodvfy = require_tool("dciodvfy", "dicom3tools")
    proc = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True, check=False)
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("Error")]


def test_frames_of_a_multi_frame_image(demo_read: Read, demo_headers: HeaderIndex) -> None:
    """A flagged frame of a multi-frame image is referenced with its frame number."""
    measured = key_images(demo_read)[0].image.sop_instance_uid
    base = demo_headers(measured)
    assert base is not None
    mf = Dataset()
    for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID"):
        setattr(mf, kw, base.get(kw))
    for kw in ("AccessionNumber", "StudyID", "StudyDate", "StudyTime", "Modality"):
        setattr(mf, kw, base.get(kw))
    mf.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT
    mf.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    mf.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    mf.Rows = mf.Columns = 4
    mf.NumberOfFrames = 8
    flags = [
        FlaggedImage(ImageRef(mf.SOPInstanceUID, n), base.StudyInstanceUID, mf.SeriesInstanceUID)
        for n in (3, 7)
    ]
    read = demo_read.with_setting(
        FLAGGED_SETTING, "[" + ",".join(json.dumps(f.to_json()) for f in flags) + "]"
    )

    def headers(uid: str) -> Dataset | None:
        return mf if uid == mf.SOPInstanceUID else demo_headers(uid)

    ds = read_to_kos(read, headers).dataset
    (item,) = [
        it
        for it in ds.ContentSequence
        if it.ValueType == "IMAGE"
        and it.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == mf.SOPInstanceUID
    ]
    assert [int(v) for v in item.ReferencedSOPSequence[0].ReferencedFrameNumber] == [3, 7]
    back = kos_from_dataset(ds)
    assert [i.image for i in back.images if i.image.sop_instance_uid == mf.SOPInstanceUID] == [
        f.image for f in flags
    ]


def test_missing_headers_warn_and_none_found_refuses(
    flagged_read: Read, demo_headers: HeaderIndex
) -> None:
    flag = flagged_images(flagged_read)[0].image.sop_instance_uid

    def some(uid: str) -> Dataset | None:
        return None if uid == flag else demo_headers(uid)

    export = read_to_kos(flagged_read, some)
    assert export.warnings == [f"Key image {flag} not found; not in the KOS."]
    assert flag not in [i.sop_instance_uid for i in export.images]
    with pytest.raises(KosExportError, match="none of its key images was found"):
        read_to_kos(flagged_read, lambda uid: None)
    with pytest.raises(KosExportError, match="has no key image"):
        read_to_kos(Read.new(patient_id="P"), demo_headers)


def test_not_a_kos_and_rejection_notes_are_refused(
    demo_read: Read, demo_headers: HeaderIndex, demo_kos: Path, tmp_path: Path
) -> None:
    sr = tmp_path / "sr.dcm"
    write_sr(read_to_sr(demo_read, demo_headers), sr)
    with pytest.raises(KosImportError, match="not a Key Object Selection document"):
        import_kos_file(sr)
    ds = pydicom.dcmread(demo_kos)
    ds.ConceptNameCodeSequence[0].CodeValue = "113001"
    ds.ConceptNameCodeSequence[0].CodeMeaning = "Rejected for Quality Reasons"
    with pytest.raises(KosImportError, match="rejection note"):
        kos_from_dataset(ds, "note.dcm")
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    with pytest.raises(KosImportError, match=r"junk\.dcm"):
        import_kos_file(junk)
    with pytest.raises(KosImportError, match="no such file"):
        import_kos_file(tmp_path / "missing.dcm")


def test_kos_goes_beside_the_sr() -> None:
    assert kos_path_beside(Path("/x/NAMECAR-001_reader1_2025-10-09.dcm")) == Path(
        "/x/NAMECAR-001_reader1_2025-10-09_kos.dcm"
    )
