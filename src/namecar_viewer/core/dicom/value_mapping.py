"""Which numbers a pixel stands for: rescale, Real World Value Mapping, or Philips' float scale.

Three mappings from stored values exist in real files:

* The modality LUT, RescaleSlope/RescaleIntercept (0028,1053/1052): HU for CT, activity for PET,
  and for MR whatever the scanner chose ("display values").
* Real World Value Mapping (0040,9096), PS3.3 C.7.6.16.2.11: a slope and intercept from stored
  values to values in a stated unit (Measurement Units Code Sequence (0040,08EA), UCUM), for
  quantitative maps: ADC, T1, field maps in Hz.
* Philips MR "floating point" values: FP = (SV x RS + RI) / (RS x SS), with the private scale
  slope SS (2005,100E).  Philips picks RescaleSlope per image, so its display values differ
  between images of the same tissue; FP values do not, which is why dcm2niix uses them.

The choice, for MR and other modalities but never CT or PET (their rescale already gives HU and
activity, and the SUV pipeline works from those):

1. a linear Real World Value Mapping with a unit (not "1"/"no units"): its values and unit;
2. else Philips' private scale slope, when present and valid: FP values (no unit stated);
3. else a unit-less Real World Value Mapping, when not Philips;
4. else the rescale.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from namecar_viewer.core.dicom.vendor import (
    PHILIPS_MR,
    number,
    private_value,
    text,
)

RESCALE = "rescale"
REAL_WORLD = "real-world"
PHILIPS_FP = "philips-fp"
_NO_UNIT_CODES = {"", "1", "NO UNITS", "NONE", "UNITY"}
_KEEP_RESCALE_MODALITIES = {"CT", "PT", "NM"}


@dataclass(frozen=True)
class RealWorldMap:
    """One linear item of a Real World Value Mapping Sequence."""

    slope: float
    intercept: float
    unit_code: str  # UCUM code value, e.g. "Hz", "mm2/s", "1"
    unit_meaning: str
    label: str  # LUT Label (0040,9210) or LUT Explanation (0028,3003)

    @property
    def has_unit(self) -> bool:
        return (
            self.unit_code.strip().upper() not in _NO_UNIT_CODES
            or self.unit_meaning.strip().upper() not in _NO_UNIT_CODES
        ) and self.unit_meaning.strip().lower() != "no units"

    @property
    def unit(self) -> str:
        if not self.has_unit:
            return ""
        return self.unit_code.strip() or self.unit_meaning.strip()


@dataclass(frozen=True)
class ValueMap:
    """Stored value -> shown value, with the unit when the file states one."""

    slope: float
    intercept: float
    units: str = ""
    source: str = RESCALE
    description: str = ""


def real_world_maps(items: Any) -> list[RealWorldMap]:
    """The linear items of a Real World Value Mapping Sequence (LUT-data items are skipped)."""
    out: list[RealWorldMap] = []
    if not items:
        return out
    try:
        seq = list(items)
    except TypeError:
        return out
    for item in seq:
        try:
            slope = number(item.get("RealWorldValueSlope"))
            intercept = number(item.get("RealWorldValueIntercept"))
            if slope is None or slope == 0.0:
                continue
            code_value = meaning = ""
            units = item.get("MeasurementUnitsCodeSequence")
            if units:
                first = units[0]
                code_value = text(first.get("CodeValue"))
                meaning = text(first.get("CodeMeaning"))
            label = text(item.get("LUTLabel")) or text(item.get("LUTExplanation"))
        except Exception:  # noqa: BLE001 - a malformed item is ignored, the rescale stays
            continue
        out.append(RealWorldMap(slope, intercept or 0.0, code_value, meaning, label))
    return out


def philips_scale_slope(ds: Any) -> float | None:
    """Philips' private floating-point scale slope (2005,100E), when valid."""
    ss = number(private_value(ds, 0x2005, PHILIPS_MR, 0x0E, "FL"))
    if ss is None or ss == 0.0 or not math.isfinite(ss):
        return None
    return ss


def choose(
    modality: str,
    is_philips: bool,
    rescale_slope: float,
    rescale_intercept: float,
    real_world: list[RealWorldMap],
    scale_slope: float | None,
) -> ValueMap:
    """The mapping a reader should see (see the module's docstring for the order)."""
    rescale = ValueMap(rescale_slope, rescale_intercept)
    if modality.upper() in _KEEP_RESCALE_MODALITIES:
        return rescale
    with_unit = next((m for m in real_world if m.has_unit), None)
    if with_unit is not None:
        what = f"'{with_unit.label}' " if with_unit.label else ""
        return ValueMap(
            with_unit.slope,
            with_unit.intercept,
            with_unit.unit,
            REAL_WORLD,
            f"Real World Value Mapping {what}(0040,9096): values in {with_unit.unit}",
        )
    if is_philips and scale_slope is not None and rescale_slope != 0.0:
        slope = 1.0 / scale_slope
        intercept = rescale_intercept / (rescale_slope * scale_slope)
        return ValueMap(
            slope,
            intercept,
            "",
            PHILIPS_FP,
            "Philips floating-point values: (stored x RescaleSlope + RescaleIntercept) / "
            "(RescaleSlope x scale slope (2005,100E)), comparable between images; no unit stated",
        )
    if real_world and not is_philips:
        m = real_world[0]
        what = f"'{m.label}' " if m.label else ""
        return ValueMap(
            m.slope,
            m.intercept,
            "",
            REAL_WORLD,
            f"Real World Value Mapping {what}(0040,9096): no unit stated",
        )
    return rescale


RWVM_TAG = 0x00409096
_DECISIONS: dict[tuple[Any, ...], tuple[str, str]] = {}
_MAX_DECISIONS = 512


def read_real_world(src: Any, ds: Any, fast: Any) -> Any:
    """The Real World Value Mapping Sequence of a file, read again when the fast parser skipped
    it (sequences are not parsed by the fast header reader)."""
    if fast is None:
        try:
            return ds.get("RealWorldValueMappingSequence")
        except Exception:  # noqa: BLE001 - a malformed sequence counts as absent
            return None
    if RWVM_TAG not in fast.skipped_sequences:
        return None
    import io

    from pydicom import dcmread

    try:
        fp: Any = io.BytesIO(src.read_all()) if src.member is not None else src.path
        full = dcmread(fp, stop_before_pixels=True, specific_tags=[RWVM_TAG])
        return full.get("RealWorldValueMappingSequence")
    except Exception:  # noqa: BLE001 - unreadable here: the rescale stays, said by the scan
        return None


def _philips_mirror(ds: Any) -> RealWorldMap | None:
    """Philips' classic images repeat the mapping's slope and intercept in (2005,xx0A/xx09)."""
    from namecar_viewer.core.dicom.vendor import PHILIPS_MR_005

    slope = number(private_value(ds, 0x2005, PHILIPS_MR_005, 0x0A, "DS"))
    intercept = number(private_value(ds, 0x2005, PHILIPS_MR_005, 0x09, "DS"))
    if slope is None or slope == 0.0:
        return None
    return RealWorldMap(slope, intercept or 0.0, "", "", "")


@functools.lru_cache(maxsize=1024)
def _rescale_map(slope: float, intercept: float) -> ValueMap:
    """The plain rescale (immutable, so one object serves every image with these numbers)."""
    return ValueMap(slope, intercept)


def classic_value_map(
    src: Any,
    ds: Any,
    fast: Any,
    modality: str,
    rescale_slope: float,
    rescale_intercept: float,
    series_uid: str,
) -> ValueMap:
    """The value mapping of one single-frame image.

    The kind of mapping (and its unit) is decided once per series, image type and rescale
    type from the first file's Real World Value Mapping, since reading that sequence again
    costs a full header parse; each file's own slope and intercept are then used.
    """
    if modality.upper() in _KEEP_RESCALE_MODALITIES:
        return _rescale_map(rescale_slope, rescale_intercept)
    from namecar_viewer.core.dicom.mosaic import image_type
    from namecar_viewer.core.dicom.vendor import manufacturer

    philips = manufacturer(ds) == "PHILIPS"
    scale = philips_scale_slope(ds) if philips else None
    if fast is None:
        has_rwvm = bool(read_real_world(src, ds, fast))
    else:
        has_rwvm = RWVM_TAG in fast.skipped_sequences
    if not has_rwvm:
        return choose(modality, philips, rescale_slope, rescale_intercept, [], scale)
    key = (series_uid, image_type(ds), text(ds.get("RescaleType")))
    decided = _DECISIONS.get(key)
    if decided is None or fast is None:
        vm = choose(
            modality,
            philips,
            rescale_slope,
            rescale_intercept,
            real_world_maps(read_real_world(src, ds, fast)),
            scale,
        )
        if len(_DECISIONS) >= _MAX_DECISIONS:
            _DECISIONS.clear()
        _DECISIONS[key] = (vm.source, vm.units)
        return vm
    kind, unit = decided
    if kind == REAL_WORLD:
        mirror = _philips_mirror(ds) if philips else None
        if mirror is not None and unit:
            mirror = RealWorldMap(mirror.slope, mirror.intercept, unit, unit, "")
            return choose(modality, philips, rescale_slope, rescale_intercept, [mirror], scale)
        maps = real_world_maps(read_real_world(src, ds, fast))
        return choose(modality, philips, rescale_slope, rescale_intercept, maps, scale)
    if kind == PHILIPS_FP:
        return choose(modality, philips, rescale_slope, rescale_intercept, [], scale)
    return ValueMap(rescale_slope, rescale_intercept)


def frame_value_map(
    modality: str,
    is_philips: bool,
    rescale_slope: float,
    rescale_intercept: float,
    frame_fg: Any,
    shared: Any,
    philips_item: Any,
) -> ValueMap:
    """The value mapping of one frame of an enhanced object (per-frame groups, then shared)."""
    seq = None
    for source in (frame_fg, shared):
        if source is None:
            continue
        try:
            seq = source.get("RealWorldValueMappingSequence")
        except Exception:  # noqa: BLE001 - malformed: counts as absent
            seq = None
        if seq:
            break
    scale = philips_scale_slope(philips_item) if is_philips and philips_item is not None else None
    return choose(
        modality, is_philips, rescale_slope, rescale_intercept, real_world_maps(seq), scale
    )
