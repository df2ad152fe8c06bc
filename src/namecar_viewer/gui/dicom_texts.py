"""The messages of the DICOM input layer, in the reader's language.

``core.dicom`` cannot import Qt: the problems, unreadable-file reasons and ``DicomInputError``
messages it writes are plain English.  Each is listed here as its English template (``{name}``
for a value) in the ``dicom`` context, so ``pyside6-lupdate`` puts it in the catalogue and
``gui.i18n.pattern_text`` recognises a message made from it (its values translated in turn, so
a reason nested in a prefix is translated too).  DICOM keywords and tags stay as they are: where
the core writes ``header_checks.named(keyword)`` ("Rows (0028,0010)") the template has a
``{element}`` slot.  A message the core changes must change here too.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

# core.problems.Severity values
SEVERITY_WORDS = (
    QT_TRANSLATE_NOOP("Severity", "info"),
    QT_TRANSLATE_NOOP("Severity", "warning"),
    QT_TRANSLATE_NOOP("Severity", "error"),
)

DICOM_PATTERNS = (
    # --- scan.read_header, _header_problem, _pixel_problem, _scan: why a file is unreadable
    QT_TRANSLATE_NOOP("dicom", "empty file"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "a gzip-compressed file, not DICOM itself: decompress it (gunzip) and load what it holds",
    ),
    QT_TRANSLATE_NOOP("dicom", "truncated file: {why}"),
    QT_TRANSLATE_NOOP("dicom", "the file ends at byte {size}, inside its header"),
    QT_TRANSLATE_NOOP("dicom", "not a DICOM file (no preamble, no DICOM tags)"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "corrupt DICOM header: no SOPClassUID (0008,0016) nor image attributes could be read "
        "({warning})",
    ),
    QT_TRANSLATE_NOOP("dicom", "corrupt DICOM header: {why}"),
    QT_TRANSLATE_NOOP("dicom", "cannot be read: {why}"),
    QT_TRANSLATE_NOOP("dicom", "SOPClassUID (0008,0016) cannot be read"),
    QT_TRANSLATE_NOOP("dicom", "corrupt DICOM header: the SOP class {value} is not a UID"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "corrupt DICOM header: neither SOPClassUID (0008,0016) nor Modality (0008,0060) nor "
        "Rows (0028,0010) could be read",
    ),
    QT_TRANSLATE_NOOP("dicom", "corrupt header: {why}"),
    QT_TRANSLATE_NOOP("dicom", "image header not understood: {why}"),
    QT_TRANSLATE_NOOP(
        "dicom", "no Pixel Data (7FE0,0010) element: file truncated before the pixels"
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "truncated pixel data: Rows {rows} x Columns {columns} x {bits} bits x {frames} "
        "frame(s) needs {expected} bytes, the file holds {available}",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "a zip archive with no DICOM file in it: none of its {count} files can be read (the "
        "first, {member}: {reason})",
    ),
    # --- fastheader: where a truncated file ends (after "truncated file: ")
    QT_TRANSLATE_NOOP("dicom", "the file ends inside an element header at byte {offset}"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "the file ends at byte {size} inside element ({group},{element}), whose value needs "
        "{length} bytes from byte {offset}",
    ),
    # --- sources: folders, DICOMDIRs, zip archives
    QT_TRANSLATE_NOOP("dicom", "no such file or folder"),
    QT_TRANSLATE_NOOP("dicom", "is a folder"),
    QT_TRANSLATE_NOOP("dicom", "DICOMDIR cannot be read: {why}"),
    QT_TRANSLATE_NOOP("dicom", "referenced by DICOMDIR but missing"),
    QT_TRANSLATE_NOOP("dicom", "zip archive cannot be opened: {why}"),
    # what the system and zipfile say, passed on by the reasons above
    QT_TRANSLATE_NOOP("dicom", "Permission denied"),
    QT_TRANSLATE_NOOP("dicom", "No such file or directory"),
    QT_TRANSLATE_NOOP("dicom", "Is a directory"),
    QT_TRANSLATE_NOOP("dicom", "Input/output error"),
    QT_TRANSLATE_NOOP("dicom", "File is not a zip file"),
    # --- header_checks: header values refused before anything is computed from them
    QT_TRANSLATE_NOOP("dicom", "{element} cannot be read ({why})"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}, not a number"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}, not a finite number"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}, not a whole number"),
    QT_TRANSLATE_NOOP(
        "dicom", "{element} {frames} frames need {needed} bytes of pixels; the file has {size}"
    ),
    QT_TRANSLATE_NOOP("dicom", "{element} {frames} frames cannot fit in a {size}-byte file"),
    QT_TRANSLATE_NOOP("dicom", "an image without {element}: the header is cut short or damaged"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "an image without {element} and {other_element}: the header is cut short or damaged",
    ),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: an image needs 1 to {maximum}"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: 1 to {maximum} expected"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: 1, 8, 16, 32 or 64 expected"),
    # the second element is written out: with a slot this template matched any text holding
    # " is " and " with " (it is always BitsAllocated)
    QT_TRANSLATE_NOOP("dicom", "{element} is {value} with BitsAllocated (0028,0100) {bits}"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: 0 or 1 expected"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: 1, 3 or 4 expected"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{rows_element} {rows} x {columns_element} {columns} x {frames} frame(s) x {samples} "
        "sample(s) x {bits} bits is {size} GiB of pixels, beyond the {budget} GiB budget of "
        "one file",
    ),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: not unit direction cosines"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: rows and columns not orthogonal"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: beyond {maximum} mm"),
    QT_TRANSLATE_NOOP("dicom", "{element} is {value}: beyond +/-{maximum}, not a modality value"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{file}: the compressed frame declares {height} x {width} pixels, the header "
        "{rows_element} x {columns_element} says {rows} x {columns}: not decoded",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{file}: the compressed frame declares {height} x {width} pixels, the header "
        "{rows_element} x {columns_element} says {rows} x {columns}: not decoded (frame {frame})",
    ),
    QT_TRANSLATE_NOOP("dicom", "no DICM prefix"),
    QT_TRANSLATE_NOOP("dicom", "the File Meta group does not end"),
    QT_TRANSLATE_NOOP("dicom", "{file}: no DICM prefix"),
    QT_TRANSLATE_NOOP("dicom", "{file}: the File Meta group does not end"),
    QT_TRANSLATE_NOOP("dicom", "{file}: no deflated transfer syntax in the File Meta group"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{file}: the deflated data inflates beyond {cap} MiB ({size} bytes in the file): "
        "refused as a decompression bomb",
    ),
    # --- scan: how the images of a series become stacks
    QT_TRANSLATE_NOOP(
        "dicom",
        "images repeating slice positions could not be told apart ({why}): kept as one stack",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "the images of this stack map their stored values differently ({kinds}): values may "
        "not be comparable between slices",
    ),
    QT_TRANSLATE_NOOP("dicom", "series mixes image sizes {sizes}: split into one stack per size"),
    QT_TRANSLATE_NOOP(
        "dicom", "the {count} images of this series could not be put together ({error})"
    ),
    QT_TRANSLATE_NOOP("dicom", "grouping"),  # the scan's last progress step
    # an image named by its file and its frame or mosaic tile
    QT_TRANSLATE_NOOP("dicom", "{file} (frame {frame})"),
    QT_TRANSLATE_NOOP("dicom", "{file} (tile {tile})"),
    # --- geometry_plan: slice order, gaps, spacing, tilt
    QT_TRANSLATE_NOOP("dicom", "a stack needs at least one image"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) missing: images "
        "shown in acquisition order with a nominal geometry; distances are in pixel spacing "
        "units only",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) missing: images "
        "shown in acquisition order with a nominal geometry; distances are in pixel spacing "
        "units only (PixelSpacing missing or not positive: 1 mm assumed)",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{count} image(s) lack ImagePositionPatient (0020,0032) or ImageOrientationPatient "
        "(0020,0037) and were left out of the volume",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "PixelSpacing (0028,0030) missing: 1 mm assumed, distances are not calibrated",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "PixelSpacing (0028,0030) {spacing}, not positive: 1 mm assumed, distances are not "
        "calibrated",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{count} image(s) repeat a slice position already present; the first (lowest "
        "InstanceNumber) was kept",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "slices are sheared (gantry tilt {tilt} degrees): loaded exactly through a sheared affine",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "gap of {gap} mm between slice positions {start} and {end} mm ({count} missing slice(s) "
        "at {spacing} mm): shown as blank slices",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "slice spacing varies ({gaps}): resampled linearly every {spacing} mm, {why}: {images} "
        "images became {slices} slices",
    ),
    QT_TRANSLATE_NOOP("dicom", "the smallest gap"),
    QT_TRANSLATE_NOOP("dicom", "the smallest usual gap (a lone {gap} mm gap left out)"),
    QT_TRANSLATE_NOOP(
        "dicom", "the median gap (a smaller one would make over {factor}x the slices)"
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "a grid of {slices} slices over the whole extent (even the median gap would make over "
        "{factor}x the slices)",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "SliceThickness (0018,0050) {thickness} mm differs from the spacing between slice "
        "positions {spacing} mm (overlapping); the positions are used",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "SliceThickness (0018,0050) {thickness} mm differs from the spacing between slice "
        "positions {spacing} mm (with gaps between slices); the positions are used",
    ),
    # --- volumes: images repeating positions split into volumes
    QT_TRANSLATE_NOOP(
        "dicom",
        "slice positions hold {fewest} to {most} images each and nothing in the headers tells "
        "their volumes apart: split into {most} volumes by acquisition order; the volumes after "
        "a missing image may mix time points",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{count} images at each slice position and nothing in the headers tells their volumes "
        "apart: split by acquisition order, although NumberOfTemporalPositions (0020,0105) says "
        "{stated}",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "{count} images at each slice position and nothing in the headers tells their volumes "
        "apart: split into volumes by acquisition order",
    ),
    # --- vendor: GE epi_pepolar
    QT_TRANSLATE_NOOP(
        "dicom",
        "GE epi_pepolar image without a known polarity mode in UserData12 (0019,10B3): volumes "
        "of reversed phase encoding, stored upside down, cannot be told; shown as stored",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity}): without "
        "TemporalPositionIdentifier (0020,0100) the volumes of reversed phase encoding, stored "
        "upside down, cannot be told; shown as stored",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({polarity}): this volume, of reversed "
        "phase encoding, is stored with its rows in reverse order, which the header does not "
        "say; its rows are put back in the header's order, as dcm2niix does",
    ),
    QT_TRANSLATE_NOOP("dicom", "forward"),
    QT_TRANSLATE_NOOP("dicom", "reversed"),
    QT_TRANSLATE_NOOP("dicom", "reversed then forward"),
    QT_TRANSLATE_NOOP("dicom", "forward then reversed"),
    # --- mosaic: Siemens MOSAIC, UIH VFRAME
    QT_TRANSLATE_NOOP(
        "dicom",
        "ImageType says MOSAIC but NumberOfImagesInMosaic (CSA image header (0029,1010) or "
        "(0019,100A)) is missing or invalid",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "a mosaic of {count} images needs a {grid} x {grid} grid, but Rows {rows} x Columns "
        "{columns} do not divide into it",
    ),
    QT_TRANSLATE_NOOP("dicom", "Rows {rows} x Columns {columns} cannot hold {count} tiles"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "ImageType says VFRAME but the per-slice positions (0065,1051) are missing or disagree "
        "with the number of slices (0065,1050) {count}",
    ),
    QT_TRANSLATE_NOOP("dicom", "VFRAME slice {slice} has no ImagePositionPatient in (0065,1051)"),
    QT_TRANSLATE_NOOP("dicom", "Siemens mosaic: {note}"),
    QT_TRANSLATE_NOOP("dicom", "UIH VFRAME: {note}"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "SliceNormalVector missing from the CSA header: slices assumed in the direction of row "
        "x column",
    ),
    QT_TRANSLATE_NOOP("dicom", "no SpacingBetweenSlices nor SliceThickness: 1 mm assumed"),
    QT_TRANSLATE_NOOP("dicom", "SpacingBetweenSlices missing: SliceThickness used as the spacing"),
    # --- value_mapping: how stored values become the values shown
    QT_TRANSLATE_NOOP("dicom", "Real World Value Mapping '{label}' (0040,9096): values in {unit}"),
    QT_TRANSLATE_NOOP("dicom", "Real World Value Mapping (0040,9096): values in {unit}"),
    QT_TRANSLATE_NOOP(
        "dicom",
        "Philips floating-point values: (stored x RescaleSlope + RescaleIntercept) / "
        "(RescaleSlope x scale slope (2005,100E)), comparable between images; no unit stated",
    ),
    QT_TRANSLATE_NOOP("dicom", "Real World Value Mapping '{label}' (0040,9096): no unit stated"),
    QT_TRANSLATE_NOOP("dicom", "Real World Value Mapping (0040,9096): no unit stated"),
    # --- loader: decoding the pixels of a stack
    QT_TRANSLATE_NOOP("dicom", "{file}: no pixel data"),
    QT_TRANSLATE_NOOP("dicom", "{file}: cannot be read: {why}"),  # the system's reason
    QT_TRANSLATE_NOOP("dicom", "{file}: pixel data cannot be decoded ({error})"),
    QT_TRANSLATE_NOOP("dicom", "{file}: truncated pixel data ({read} of {needed} bytes)"),
    QT_TRANSLATE_NOOP("dicom", "stack {stack} is not loadable: {reasons}"),
    # the reasons above: str(Problem) of its errors, joined by "; "
    QT_TRANSLATE_NOOP("dicom", "error: {message} [{files}]"),
    QT_TRANSLATE_NOOP("dicom", "error: {message} [{files}]; {more}"),
    QT_TRANSLATE_NOOP("dicom", "pixel data cannot be decoded: {reason}"),
    QT_TRANSLATE_NOOP("dicom", "no image of stack {stack} could be decoded: {reason}"),
    QT_TRANSLATE_NOOP(
        "dicom", "{file}: decoded mosaic size {size} differs from Rows/Columns {expected}"
    ),
    QT_TRANSLATE_NOOP("dicom", "{file}: decoded size {size} differs from Rows/Columns {expected}"),
    QT_TRANSLATE_NOOP("dicom", "no loadable image stack found"),
    QT_TRANSLATE_NOOP("dicom", "no loadable image stack found: {reasons}"),
    # load_series names the first five unreadable files, "{file}: {reason}" joined by "; "
    QT_TRANSLATE_NOOP("dicom", "no loadable image stack found: {file}: {reason}"),
    QT_TRANSLATE_NOOP(
        "dicom", "no loadable image stack found: {file}: {reason}; {file2}: {reason2}"
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: {reason3}",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: "
        "{reason3}; {file4}: {reason4}",
    ),
    QT_TRANSLATE_NOOP(
        "dicom",
        "no loadable image stack found: {file}: {reason}; {file2}: {reason2}; {file3}: "
        "{reason3}; {file4}: {reason4}; {file5}: {reason5}",
    ),
    QT_TRANSLATE_NOOP("dicom", "{count} other stack(s) found and not loaded: {stacks}"),
    QT_TRANSLATE_NOOP("dicom", "{count} other stack(s) found and not loaded: "),  # no names
)


def register() -> None:
    """Let ``gui.i18n.pattern_text`` recognise the messages of ``core.dicom``."""
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("dicom", DICOM_PATTERNS)
