"""Every valid image of pydicom's and pydicom-data's test files loads; compressed twins match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from namecar_viewer.core.dicom import load_series, load_stack, scan
from namecar_viewer.core.problems import DicomInputError

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _pydicom_data_dir() -> Path:
    import data_store  # the pydicom-data package

    return Path(data_store.__file__).parent / "data"


# Files their own READMEs describe as deliberately broken, with what is wrong.
BROKEN = {
    "JPEG-lossy.dcm": "misplaced marker",  # NEMA NM1_JPLY: invalid JPEG stream
    "JPEG2000-embedded-sequence-delimiter.dcm": "J2K",  # 4 codestream bytes overwritten
    "emri_small_jpeg_2k_lossless_too_short.dcm": "",  # codestream cut short
}
NOT_DICOM_OR_TRUNCATED = {
    "MR_truncated.dcm",  # pixel data shorter than Rows x Columns
    "no_meta.dcm",  # begins with a stray byte: no element boundary can be found
    "rtplan_truncated.dcm",  # RT Plan cut short inside its header
}


def all_files() -> list[Path]:
    files = [p for p in sorted(PYDICOM_FILES.glob("*")) if p.is_file()]
    files += [p for p in sorted(_pydicom_data_dir().glob("*")) if p.is_file()]
    return files


@pytest.mark.parametrize("path", all_files(), ids=lambda p: p.name)
def test_every_image_file_loads(path: Path) -> None:
    report = scan([path])
    if path.name in BROKEN:
        (stack,) = report.stacks
        with pytest.raises(DicomInputError) as err:
            load_stack(stack)
        assert path.name in str(err.value)  # the message names the file
        assert BROKEN[path.name] in str(err.value)
        return
    if path.name in NOT_DICOM_OR_TRUNCATED:
        assert [u.path for u in report.unreadable] == [str(path)]
        return
    for u in report.unreadable:
        assert path.suffix != ".dcm", f"{path.name} reported unreadable: {u.reason}"
    for stack in report.stacks:
        v = load_stack(stack)
        assert v.shape[0] >= 1 and v.array.size > 0
        assert not any(p.code == "unreadable-pixels" for p in v.metadata["problems"])


def _reference(name: str) -> np.ndarray:
    ds = pydicom.dcmread(get_testdata_file(name))
    return ds.pixel_array


MR_SMALL_VARIANTS = [
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
]


@pytest.mark.parametrize("name", MR_SMALL_VARIANTS)
def test_mr_small_variants_equal_uncompressed(name: str) -> None:
    twin = load_series([get_testdata_file("MR_small.dcm")])
    v = load_series([get_testdata_file(name)])
    np.testing.assert_array_equal(v.array, twin.array)
    np.testing.assert_array_equal(v.affine, twin.affine)


EMRI_VARIANTS = [
    "emri_small_big_endian.dcm",
    "emri_small_RLE.dcm",
    "emri_small_jpeg_2k_lossless.dcm",
    "emri_small_jpeg_ls_lossless.dcm",
]


@pytest.mark.parametrize("name", EMRI_VARIANTS)
def test_enhanced_mr_variants_equal_uncompressed(name: str) -> None:
    twin = load_series([get_testdata_file("emri_small.dcm")])
    v = load_series([get_testdata_file(name)])
    assert v.shape == twin.shape and v.shape[0] > 1  # multi-frame: one slice per frame
    np.testing.assert_array_equal(v.array, twin.array)
    np.testing.assert_allclose(v.affine, twin.affine)


def test_enhanced_ct_frames_use_per_frame_geometry(real_data: Path) -> None:
    # dcmqi's 23x38x3: the same 3 slices as classic CT files and as one Enhanced CT object.
    classic = load_series([real_data / "dcmqi" / "23x38x3" / "image"])
    enhanced = load_series([real_data / "dcmqi" / "23x38x3" / "multiframe"])
    np.testing.assert_allclose(enhanced.affine, classic.affine, atol=1e-6)
    np.testing.assert_array_equal(enhanced.array, classic.array)


def test_ct_values_are_int16_hu_and_pet_float(real_data: Path) -> None:
    ct = load_series([get_testdata_file("CT_small.dcm")])
    assert ct.array.dtype == np.int16
    pet_path = real_data / "pet_tcia_acrin_flt_breast" / "acrin_flt_breast_PT_1.dcm"
    pet = load_series([pet_path])
    ds = pydicom.dcmread(pet_path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert pet.array.dtype == np.float32
    np.testing.assert_allclose(pet.array[0], expected, rtol=1e-6)


def test_htj2k_lossless_equals_uncompressed(tmp_path: Path) -> None:
    # No HTJ2K file ships with pydicom: encode MR_small's pixels with imagecodecs' HTJ2K codec,
    # encapsulate them per PS3.5 A.4 and check the decoded volume against the original.
    import imagecodecs
    from pydicom.encaps import encapsulate

    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    pixels = ds.pixel_array
    ds.PixelData = encapsulate([imagecodecs.htj2k_encode(pixels, level=0)])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"  # HTJ2K lossless
    path = tmp_path / "mr_htj2k.dcm"
    ds.save_as(path, enforce_file_format=True)
    v = load_series([path])
    twin = load_series([get_testdata_file("MR_small.dcm")])
    np.testing.assert_array_equal(v.array, twin.array)
