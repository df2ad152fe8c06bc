"""The attributes that tell the volumes of a series apart, read from one image or frame.

Keys are those of ``volumes.VOLUME_KEYS``.  Standard attributes come first; the vendors'
private ones fill in where the standard is silent (older software):

* b-value: DiffusionBValue (0018,9087); Siemens B_value (0019,xx0C) or its CSA image header;
  GE (0043,xx39) first value (less its 10^9 bias); Philips (2001,xx03); UIH (0065,xx0A).
* gradient direction: DiffusionGradientOrientation (0018,9089); Siemens (0019,xx0E) or the CSA
  DiffusionGradientDirection; GE (0019,xxBB-BD); Philips (2005,xxB0-B2); UIH (0065,xx37).
* Philips label type (2005,xx29 of "Philips MR Imaging DD 005"): CONTROL or LABEL in ASL.
"""

from __future__ import annotations

from typing import Any

from namecar_viewer.core.dicom.mosaic import image_type
from namecar_viewer.core.dicom.vendor import (
    GE_ACQU,
    GE_PARAMS,
    PHILIPS_IMAGING,
    PHILIPS_MR,
    PHILIPS_MR_005,
    SIEMENS_CSA,
    SIEMENS_MR,
    UIH_IMAGE,
    csa_float,
    csa_floats,
    ge_b_value,
    manufacturer,
    number,
    numbers,
    parse_csa,
    private_value,
    text,
)

DIRECTION_DECIMALS = 4


def _direction(value: Any) -> tuple[float, ...] | None:
    v = numbers(value, 3)
    if v is None:
        return None
    return tuple(round(x, DIRECTION_DECIMALS) + 0.0 for x in v)


def _time(value: Any) -> str | None:
    s = text(value)
    return s or None


def private_b_and_direction(
    ds: Any, vendor: str, csa: dict[str, list[str]] | None = None
) -> tuple[float | None, tuple[float, ...] | None]:
    """b-value and gradient direction from a vendor's private elements (None when absent)."""
    b: float | None = None
    d: tuple[float, ...] | None = None
    if vendor == "SIEMENS":
        b = number(private_value(ds, 0x0019, SIEMENS_MR, 0x0C, "IS"))
        d = _direction(private_value(ds, 0x0019, SIEMENS_MR, 0x0E, "FD"))
        if b is None or d is None:
            if csa is None:
                csa = parse_csa(private_value(ds, 0x0029, SIEMENS_CSA, 0x10, "OB"))
            if b is None:
                b = csa_float(csa, "B_value")
            if d is None:
                d = _direction(csa_floats(csa, "DiffusionGradientDirection"))
    elif vendor == "GE":
        b = ge_b_value(private_value(ds, 0x0043, GE_PARAMS, 0x39, "IS"))
        parts = [number(private_value(ds, 0x0019, GE_ACQU, e, "DS")) for e in (0xBB, 0xBC, 0xBD)]
        if all(p is not None for p in parts):
            d = _direction(parts)
    elif vendor == "PHILIPS":
        b = number(private_value(ds, 0x2001, PHILIPS_IMAGING, 0x03, "FL"))
        parts = [number(private_value(ds, 0x2005, PHILIPS_MR, e, "FL")) for e in (0xB0, 0xB1, 0xB2)]
        if all(p is not None for p in parts):
            d = _direction(parts)
    elif vendor == "UIH":
        b = number(private_value(ds, 0x0065, UIH_IMAGE, 0x0A, "FD"))
        d = _direction(private_value(ds, 0x0065, UIH_IMAGE, 0x37, "FD"))
    return b, d


def classic_values(ds: Any, csa: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The volume keys of a single-frame (or mosaic) image."""
    vendor = manufacturer(ds)
    b = number(ds.get("DiffusionBValue"))
    d = _direction(ds.get("DiffusionGradientOrientation"))
    if b is None or d is None:
        pb, pd = private_b_and_direction(ds, vendor, csa)
        b = pb if b is None else b
        d = pd if d is None else d
    echo = number(ds.get("EchoNumbers"))
    if echo is None:
        echo = number(ds.get("EchoTime"))
    label_type = phase_number = None
    if vendor == "PHILIPS":
        label_type = text(private_value(ds, 0x2005, PHILIPS_MR_005, 0x29, "CS")) or None
        phase_number = number(private_value(ds, 0x2001, PHILIPS_IMAGING, 0x08, "IS"))
    return {
        "time": number(ds.get("TemporalPositionIdentifier")),
        "trigger": number(ds.get("TriggerTime")),
        "phase_number": phase_number,
        "acq_time": _time(ds.get("AcquisitionTime")),
        "acquisition": number(ds.get("AcquisitionNumber")),
        "content_time": _time(ds.get("ContentTime")),
        "b": b,
        "direction": d,
        "echo": echo,
        "label_type": label_type,
        "image_type": image_type(ds) or None,
        "dims": None,
    }


def _item(frame_fg: Any, shared: Any, keyword: str) -> Any:
    for source in (frame_fg, shared):
        if source is None:
            continue
        try:
            seq = source.get(keyword)
            if seq:
                return seq[0]
        except Exception:  # noqa: BLE001 - a malformed item counts as absent
            continue
    return None


_FRAME_TYPE_SEQUENCES = (
    "MRImageFrameTypeSequence",
    "CTImageFrameTypeSequence",
    "PETFrameTypeSequence",
    "MRSpectroscopyFrameTypeSequence",
    "UltrasoundImageFrameTypeSequence",
)


def philips_frame_item(frame_fg: Any) -> Any:
    """Philips' per-frame private item (2005,xx0F of "Philips MR Imaging DD 005"), or None."""
    seq = private_value(frame_fg, 0x2005, PHILIPS_MR_005, 0x0F, "SQ") if frame_fg else None
    if seq is None or isinstance(seq, bytes):
        return None
    try:
        return seq[0] if len(seq) else None
    except TypeError:
        return None


def enhanced_values(
    frame_fg: Any, shared: Any, dims: tuple[int, ...] | None, vendor: str
) -> dict[str, Any]:
    """The volume keys of one frame of an enhanced multi-frame object."""
    content = _item(frame_fg, None, "FrameContentSequence")
    diffusion = _item(frame_fg, shared, "MRDiffusionSequence")
    echo_item = _item(frame_fg, shared, "MREchoSequence")
    cardiac = _item(frame_fg, shared, "CardiacSynchronizationSequence")
    b = number(diffusion.get("DiffusionBValue")) if diffusion is not None else None
    d = None
    if diffusion is not None:
        direction = _item(diffusion, None, "DiffusionGradientDirectionSequence")
        if direction is not None:
            d = _direction(direction.get("DiffusionGradientOrientation"))
    frame_type = None
    for kw in _FRAME_TYPE_SEQUENCES:
        item = _item(frame_fg, shared, kw)
        if item is not None and item.get("FrameType") is not None:
            frame_type = image_type({"ImageType": item.get("FrameType")}) or None
            break
    label_type = phase_number = None
    if vendor == "PHILIPS":
        private = philips_frame_item(frame_fg)
        if private is not None:
            label_type = text(private_value(private, 0x2005, PHILIPS_MR_005, 0x29, "CS")) or None
            phase_number = number(private_value(private, 0x2001, PHILIPS_IMAGING, 0x08, "IS"))
    return {
        "time": number(content.get("TemporalPositionIndex")) if content is not None else None,
        "trigger": (
            number(cardiac.get("NominalCardiacTriggerDelayTime")) if cardiac is not None else None
        ),
        "phase_number": phase_number,
        "acq_time": _time(content.get("FrameAcquisitionDateTime")) if content is not None else None,
        "acquisition": (
            number(content.get("FrameAcquisitionNumber")) if content is not None else None
        ),
        "content_time": None,
        "b": b,
        "direction": d,
        "echo": number(echo_item.get("EffectiveEchoTime")) if echo_item is not None else None,
        "label_type": label_type,
        "image_type": frame_type,
        "dims": dims,
    }


_SPATIAL_DIMENSIONS = {
    0x00209056,  # StackID: stacks are split apart already
    0x00209057,  # InStackPositionNumber
    0x00200032,  # ImagePositionPatient
    0x00201041,  # SliceLocation
}


def volume_dimensions(ds: Any) -> list[int]:
    """Indices into DimensionIndexValues of the dimensions that are not slice positions."""
    try:
        seq = ds.get("DimensionIndexSequence") or []
        out = []
        for k, item in enumerate(seq):
            pointer = item.get("DimensionIndexPointer")
            if pointer is None or int(pointer) not in _SPATIAL_DIMENSIONS:
                out.append(k)
        return out
    except Exception:  # noqa: BLE001 - a malformed dimension module: no dimension keys
        return []


def frame_dims(content: Any, keep: list[int]) -> tuple[int, ...] | None:
    """The non-spatial Dimension Index Values (0020,9157) of one frame."""
    if content is None or not keep:
        return None
    try:
        values = content.get("DimensionIndexValues")
        if values is None:
            return None
        seq = [values] if isinstance(values, int) else list(values)
        return tuple(int(seq[k]) for k in keep if k < len(seq))
    except (TypeError, ValueError):
        return None
