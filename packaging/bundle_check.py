"""Self-check of the frozen bundle: the libraries that are loaded lazily or found at run time work.

    namecar-viewer --bundle-self-check DICOM_FILE     (the bundle only: packaging/launcher.py)
    .venv/bin/python packaging/bundle_check.py DICOM_FILE

DICOM_FILE is an uncompressed single-frame image (the smoke test takes one of ``demo --small``).
It is re-encoded with each lossless codec the app decodes (RLE, JPEG-LS and JPEG 2000 by
pydicom's encoders, HTJ2K and JPEG Lossless (process 14) by imagecodecs) and each copy is
loaded by the app's own ``load_series``: its voxels must equal the original's.  SimpleITK must
load and filter an image, pylibjpeg find its plugins, Alembic its migrations, and every resource
must be found.  One line per check; exit status 1 if any failed.  Not a user command: it only
proves that the bundle is complete.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _checks(source: Path, tmp: Path) -> list[tuple[str, Callable[[], str]]]:
    import numpy as np
    import pydicom
    from pydicom.uid import (
        HTJ2KLossless,
        JPEG2000Lossless,
        JPEGLossless,
        JPEGLSLossless,
        RLELossless,
    )

    from namecar_viewer.core.dicom import load_series

    reference = load_series([source]).array

    def via_pydicom(uid: Any, plugin: str) -> Callable[[], str]:
        def check() -> str:
            ds = pydicom.dcmread(source)
            ds.compress(uid, encoding_plugin=plugin)
            out = tmp / f"{uid.name.replace(' ', '_')}.dcm"
            ds.save_as(out)
            return _same(out, uid.name)

        return check

    def via_imagecodecs(uid: Any, encode: str) -> Callable[[], str]:
        def check() -> str:
            import imagecodecs
            from pydicom.encaps import encapsulate

            ds = pydicom.dcmread(source)
            pixels = ds.pixel_array
            if encode == "ljpeg_encode":  # the bits as stored, unsigned
                frame = imagecodecs.ljpeg_encode(
                    pixels.view(f"u{pixels.itemsize}"), bitspersample=int(ds.BitsStored)
                )
            else:
                frame = getattr(imagecodecs, encode)(pixels, level=0)
            ds.PixelData = encapsulate([frame])
            ds["PixelData"].VR = "OB"
            ds.file_meta.TransferSyntaxUID = uid
            out = tmp / f"{encode}.dcm"
            ds.save_as(out, enforce_file_format=True)
            return _same(out, f"{uid.name} ({encode})")

        return check

    def _same(path: Path, what: str) -> str:
        if pydicom.dcmread(path).file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian:
            raise AssertionError(f"{what}: the file was not compressed")
        got = load_series([path]).array
        if got.shape != reference.shape or not np.array_equal(got, reference):
            raise AssertionError(f"{what}: voxels differ from the uncompressed original")
        return f"{what}: {got.shape[-2]}x{got.shape[-1]} decoded, equal"

    def simpleitk() -> str:
        import SimpleITK as sitk

        image = sitk.Image(16, 16, 16, sitk.sitkFloat32)
        image[8, 8, 8] = 1000.0
        smooth = sitk.SmoothingRecursiveGaussian(image, 1.0)
        peak = float(sitk.GetArrayViewFromImage(smooth).max())
        if not 0.0 < peak < 1000.0:
            raise AssertionError(f"SimpleITK: unexpected filter result {peak}")
        return f"SimpleITK {sitk.Version.VersionString()}: Gaussian filter ran"

    def pylibjpeg_plugins() -> str:
        from pylibjpeg.utils import get_pixel_data_decoders

        found = sorted(get_pixel_data_decoders())
        if not found:
            raise AssertionError("pylibjpeg found no decoder plugin (entry points missing?)")
        return f"pylibjpeg plugins for {len(found)} transfer syntaxes"

    def resources() -> str:
        from namecar_viewer import resources as r

        names = [r.ICON_SVG, r.DESKTOP_ENTRY, r.ELIGIBILITY_CRITERIA, r.CASE_SCHEMA]
        names += [r.icon_png(s) for s in r.ICON_SIZES]
        for name in names:
            r.resource_path(name)
        return f"{len(names)} resources in {r.resources_dir()}"

    def migrations() -> str:
        from namecar_viewer.persistence import migrations

        return f"Alembic head {migrations.head_revision()} read from {migrations.HERE}"

    return [
        ("RLE", via_pydicom(RLELossless, "pylibjpeg")),
        ("JPEG-LS", via_pydicom(JPEGLSLossless, "pyjpegls")),
        ("JPEG 2000", via_pydicom(JPEG2000Lossless, "pylibjpeg")),
        ("HTJ2K", via_imagecodecs(HTJ2KLossless, "htj2k_encode")),
        ("JPEG Lossless", via_imagecodecs(JPEGLossless, "ljpeg_encode")),
        ("SimpleITK", simpleitk),
        ("pylibjpeg", pylibjpeg_plugins),
        ("resources", resources),
        ("migrations", migrations),
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: namecar-viewer --bundle-self-check UNCOMPRESSED_DICOM_FILE", file=sys.stderr)
        return 2
    failed = 0
    with tempfile.TemporaryDirectory(prefix="namecar-selfcheck-") as tmp:
        for name, check in _checks(Path(argv[0]), Path(tmp)):
            try:
                print(f"ok    {check()}")
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then the next
                failed += 1
                print(f"FAIL  {name}: {type(exc).__name__}: {exc}")
                traceback.print_exc(limit=3)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
