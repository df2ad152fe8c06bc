"""Bad input is named with its reason in the scan report, and the rest of the series still loads."""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import pydicom
import pytest
from dicom_series_factory import write_ct_series
from pydicom.data import get_testdata_file

from namecar_viewer.core.dicom import load_series, load_stack, scan
from namecar_viewer.core.dicom.scan import GZIP_REASON
from namecar_viewer.core.problems import DicomInputError


def _series(tmp_path: Path, n: int = 5) -> list[Path]:
    return write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(n)])


def test_non_dicom_file_is_named_and_series_loads(tmp_path: Path) -> None:
    _series(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image\n")
    report = scan([tmp_path])
    assert [(Path(u.path).name, u.reason) for u in report.unreadable] == [
        ("notes.txt", "not a DICOM file (no preamble, no DICOM tags)")
    ]
    assert load_series([tmp_path]).shape[0] == 5


def test_gzip_compressed_dicom_is_named_as_such(tmp_path: Path) -> None:
    # research sets (dcm2niix's validation repositories) store files as .dcm.gz: the reader is
    # told to decompress them, not that they are not DICOM
    files = _series(tmp_path)
    packed = tmp_path / "IM0009.dcm.gz"
    packed.write_bytes(gzip.compress(files[0].read_bytes()))
    report = scan([tmp_path])
    assert [(Path(u.path).name, u.reason) for u in report.unreadable] == [
        ("IM0009.dcm.gz", GZIP_REASON)
    ]
    assert "gunzip" in GZIP_REASON
    with pytest.raises(DicomInputError, match=re.escape("IM0009.dcm.gz: a gzip-compressed file")):
        load_series([packed])


def test_truncated_header(tmp_path: Path) -> None:
    files = _series(tmp_path)
    files[2].write_bytes(files[2].read_bytes()[:300])  # cut inside the header
    report = scan([tmp_path])
    (bad,) = report.unreadable
    assert bad.path == str(files[2]) and "truncated" in bad.reason
    v = load_series([tmp_path])
    # the missing middle slice becomes a named gap, every other slice keeps its place
    assert v.shape[0] == 5 and v.metadata["blank_slices"] == [2]


def test_truncated_pixel_data(tmp_path: Path) -> None:
    files = _series(tmp_path)
    data = files[4].read_bytes()
    files[4].write_bytes(data[:-1000])
    report = scan([tmp_path])
    (bad,) = report.unreadable
    assert bad.path == str(files[4])
    # 128 x 128 x 16 bits = 32768 bytes expected
    assert "truncated pixel data" in bad.reason and "32768 bytes" in bad.reason
    assert load_series([tmp_path]).shape[0] == 4


def test_corrupt_header_bytes(tmp_path: Path) -> None:
    files = _series(tmp_path)
    raw = bytearray(files[1].read_bytes())
    raw[140:400] = b"\xff" * 260  # garbage after the DICM prefix
    files[1].write_bytes(bytes(raw))
    report = scan([tmp_path])
    assert [u.path for u in report.unreadable] == [str(files[1])]
    assert report.unreadable[0].reason  # a reason in words
    assert len(report.stacks) == 1 and len(report.stacks[0].instances) == 4


def test_unsupported_transfer_syntax_names_the_file(tmp_path: Path) -> None:
    src = pydicom.dcmread(get_testdata_file("JPEG2000.dcm"))
    src.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no decoder here
    path = tmp_path / "mpeg.dcm"
    src.save_as(path)
    (stack,) = scan([tmp_path]).stacks
    with pytest.raises(DicomInputError) as err:
        load_stack(stack)
    assert "mpeg.dcm" in str(err.value)


def test_missing_image_position_on_every_file_loads_uncalibrated(tmp_path: Path) -> None:
    files = _series(tmp_path, 3)
    for f in files:
        ds = pydicom.dcmread(f)
        del ds.ImagePositionPatient
        ds.save_as(f)
    v = load_series([tmp_path])
    assert v.shape[0] == 3 and v.metadata["calibrated"] is False
    (p,) = v.metadata["problems"]
    assert p.code == "missing-geometry" and "ImagePositionPatient (0020,0032)" in p.message


def test_zip_with_a_bad_member(tmp_path: Path) -> None:
    files = _series(tmp_path / "src", 4)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, f"DICOM/{f.name}")
        zf.writestr("DICOM/broken.dcm", b"\0" * 128 + b"DICM" + b"\x02\x00")
    report = scan([archive])
    assert [u.path for u in report.unreadable] == [f"{archive}!DICOM/broken.dcm"]
    (stack,) = report.stacks
    v = load_stack(stack)
    assert v.shape[0] == 4
    assert v.files[0] == f"{archive}!DICOM/IM0000.dcm"


def test_not_a_zip_and_missing_path(tmp_path: Path) -> None:
    bad_zip = tmp_path / "x.zip"
    bad_zip.write_bytes(b"PK\x03\x04 not really")
    report = scan([bad_zip, tmp_path / "nowhere"])
    reasons = {Path(u.path).name: u.reason for u in report.unreadable}
    assert reasons["nowhere"] == "no such file or folder"
    assert "x.zip" in reasons


def test_dicomdir_lists_its_files() -> None:
    dicomdir = Path(pydicom.__file__).parent / "data/test_files/dicomdirtests/DICOMDIR"
    report = scan([dicomdir])
    assert len(report.stacks) >= 5
    assert any(s.modality == "CT" and s.shape[0] == 5 for s in report.stacks)  # CT5N


def test_nothing_loadable_raises_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DicomInputError, match=r"a\.txt: not a DICOM file"):
        load_series([tmp_path])


def test_a_private_object_with_image_attributes_but_no_pixels_is_not_called_truncated(
    tmp_path: Path,
) -> None:
    """Philips writes private objects (SOP class 1.3.46.670589.11.0.0.12.2, dcm_qa_philips_dwi's
    XX_0546) with Rows and Columns but no Pixel Data: listed as another object, not a truncated
    image; a CT image without its Pixel Data is still named as cut short before the pixels."""
    (ct,) = write_ct_series(tmp_path / "ct", [(0.0, 0.0, 0.0)])
    private = tmp_path / "XX_0546"
    ds = pydicom.dcmread(ct)
    del ds.PixelData
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.3.46.670589.11.0.0.12.2"
    ds.save_as(private, enforce_file_format=True)
    cut = tmp_path / "cut.dcm"
    ds = pydicom.dcmread(ct)
    del ds.PixelData
    ds.save_as(cut, enforce_file_format=True)
    report = scan([str(private), str(cut)])
    assert [(n.path, n.kind.value) for n in report.non_image] == [(str(private), "OTHER")]
    assert [(u.path, u.reason) for u in report.unreadable] == [
        (str(cut), "no Pixel Data (7FE0,0010) element: file truncated before the pixels")
    ]


def test_files_gone_since_the_scan_are_said_by_the_system_reason(tmp_path: Path) -> None:
    # an unplugged disk between the scan (the study index) and the load: the file is named with
    # the system's reason, not Python's "[Errno 2] No such file or directory: '...'"
    files = _series(tmp_path, 3)
    (stack,) = scan([tmp_path]).stacks
    files[1].unlink()
    vol = load_stack(stack)
    (p,) = [p for p in vol.metadata["problems"] if p.code == "unreadable-pixels"]
    assert p.message.endswith(f"{files[1]}: cannot be read: No such file or directory")
    for f in files:
        f.unlink(missing_ok=True)
    with pytest.raises(DicomInputError) as caught:
        load_stack(stack)
    assert "Errno" not in str(caught.value)
    assert ": cannot be read: No such file or directory" in str(caught.value)
