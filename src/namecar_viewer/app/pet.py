"""PET in SUV everywhere: load a PET stack as SUVbw (g/ml), and fuse it over CT or MRI.

:func:`load_pet_suv` loads the stack, re-reads every instance's header with pydicom (the
Radiopharmaceutical Information Sequence is not in the scan index), computes per-instance SUV
factors with :mod:`namecar_viewer.core.suv` and multiplies each slice by the factor of the
instance it came from (``Volume.sop_instance_uids``).  A value SUV needs that is missing raises
:class:`SuvInputNeeded`, naming the tag and the fields the reader can enter; the values the reader
enters are passed back as :class:`~namecar_viewer.core.suv.SuvOverrides` and recorded in the
volume's metadata as reader-entered (audit comes with the review workflow).

:class:`PetFusion` holds a base (CT/MRI) volume, the SUV PET and the accepted base->PET transform;
it refuses different frames of reference without an accepted transform, resamples the PET onto
the base grid once, and answers every readout and ROI statistic on the fused view in SUV.
"""

from __future__ import annotations

import enum
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration import (
    FrameOfReferenceMismatch,
    fusion_geometry,
    resample_volume,
)
from namecar_viewer.core.suv import (
    SphereVoi,
    SuvInputError,
    SuvKind,
    SuvOverrides,
    SuvResult,
    VoiStats,
    apply_suv_factors,
    compute_suv_factors,
    voi_stats,
)

SUV_UNIT = "SUVbw g/ml"

__all__ = [
    "SUV_UNIT",
    "FrameOfReferenceMismatch",
    "PetFusion",
    "SuvField",
    "SuvInputNeeded",
    "is_suv",
    "load_pet_suv",
    "to_suv",
    "value_unit",
]


class SuvField(enum.Enum):
    """A value the reader can enter when the header lacks it (a field of SuvOverrides)."""

    WEIGHT = "patient_weight_kg"
    DOSE = "injected_dose_bq"
    INJECTION_TIME = "injection_datetime"
    HALF_LIFE = "half_life_s"

    @property
    def label(self) -> str:
        return {
            SuvField.WEIGHT: "Patient weight (kg)",
            SuvField.DOSE: "Injected activity (MBq)",
            SuvField.INJECTION_TIME: "Injection date and time",
            SuvField.HALF_LIFE: "Radionuclide half-life (s)",
        }[self]

    @property
    def tag(self) -> str:
        return {
            SuvField.WEIGHT: "PatientWeight (0010,1030)",
            SuvField.DOSE: "RadionuclideTotalDose (0018,1074)",
            SuvField.INJECTION_TIME: "RadiopharmaceuticalStartDateTime (0018,1078)",
            SuvField.HALF_LIFE: "RadionuclideHalfLife (0018,1075)",
        }[self]


# Tag keywords in core/suv's messages -> the field the reader can supply.
_KEYWORD_FIELDS: tuple[tuple[str, tuple[SuvField, ...]], ...] = (
    ("PatientWeight", (SuvField.WEIGHT,)),
    ("RadiopharmaceuticalInformationSequence", (SuvField.DOSE, SuvField.INJECTION_TIME)),
    ("RadionuclideTotalDose", (SuvField.DOSE,)),
    ("RadiopharmaceuticalStart", (SuvField.INJECTION_TIME,)),
    ("RadionuclideHalfLife", (SuvField.HALF_LIFE,)),
)


class SuvInputNeeded(Exception):
    """SUV cannot be computed from the headers; ``fields`` are what the reader may enter.

    ``fields`` is empty when no entry can help (e.g. Units not convertible): then the message
    is the whole answer.
    """

    def __init__(self, message: str, fields: Sequence[SuvField]) -> None:
        super().__init__(message)
        self.message = message
        self.fields = tuple(fields)


def fields_needed(message: str) -> tuple[SuvField, ...]:
    """Which reader-entered values could resolve a core/suv error message."""
    out: list[SuvField] = []
    for keyword, fields in _KEYWORD_FIELDS:
        if keyword in message:
            out.extend(f for f in fields if f not in out)
    return tuple(out)


def _read_header(name: str) -> Any:
    import pydicom

    if not os.path.isfile(name) and "!" in name:
        archive, member = name.split("!", 1)
        with zipfile.ZipFile(archive) as zf, zf.open(member) as fh:
            return pydicom.dcmread(fh, stop_before_pixels=True)
    return pydicom.dcmread(name, stop_before_pixels=True)


def read_pet_headers(volume: Volume) -> list[Any]:
    """The header of every distinct file of ``volume`` (pixel data not read), in slice order."""
    seen: dict[str, None] = {}
    for name in volume.files:
        if name:
            seen.setdefault(name)
    if not seen:
        raise SuvInputNeeded(
            "The PET volume does not list its files, so its SUV tags cannot be read.", ()
        )
    headers = []
    for name in seen:
        try:
            headers.append(_read_header(name))
        except Exception as exc:  # any read failure is reported with the file
            raise SuvInputNeeded(f"Cannot read the PET header of {name}: {exc}", ()) from exc
    return headers


def is_suv(volume: Volume | None) -> bool:
    """True for a PET volume converted to SUV by :func:`to_suv`."""
    return volume is not None and volume.metadata.get("unit") == SUV_UNIT


def value_unit(volume: Volume | None) -> str:
    """The unit of a volume's values as shown beside every readout and statistic."""
    if volume is None:
        return ""
    unit = volume.metadata.get("unit") or volume.metadata.get("units")
    if unit:
        return str(unit)
    return "HU" if volume.modality == "CT" else ""


def to_suv(
    volume: Volume,
    datasets: Sequence[Any] | None = None,
    overrides: SuvOverrides | None = None,
    kind: SuvKind = SuvKind.BW,
) -> Volume:
    """``volume`` (PET, values after rescale) multiplied slice by slice into SUV.

    Raises
    ------
    SuvInputNeeded
        When a header value is missing; the message names the tag, ``fields`` what to enter.
    """
    if volume.modality != "PT":
        raise SuvInputNeeded(f"Series is {volume.modality}, not PET: no SUV.", ())
    if is_suv(volume):
        return volume
    headers = list(datasets) if datasets is not None else read_pet_headers(volume)
    try:
        result: SuvResult = compute_suv_factors(headers, overrides)
        uniform = result.factors
        factors: list[float] = []
        for uid in volume.sop_instance_uids or ("",) * volume.shape[0]:
            if uid:
                factors.extend(result.slice_factors([uid], kind))
            elif uniform is not None and uniform.get(kind) is not None:
                # a blank slot (gap in the stack) holds fill values: the series factor scales it
                factors.append(float(uniform.get(kind) or 0.0))
            else:
                raise SuvInputError(
                    "a slice without its instance (gap) in a series whose SUV factors differ "
                    "per instance"
                )
    except SuvInputError as exc:
        raise SuvInputNeeded(str(exc), fields_needed(str(exc))) from exc
    out = apply_suv_factors(volume, factors)
    out.array = out.array.astype(np.float32)
    reader = {k: v.value for k, v in result.inputs.items() if v.source == "reader"}
    unit = SUV_UNIT if kind is SuvKind.BW else f"SUV{kind.value} g/ml"
    out.metadata.update(
        {
            "unit": unit,
            "units": unit,
            "suv_kind": kind.value,
            "suv_result": result,
            "suv_inputs": {k: v.to_json() for k, v in result.inputs.items()},
            "suv_warnings": list(result.warnings),
            "suv_reader_entered": reader,
            "suv_slice_factors": factors,
        }
    )
    return out


def load_pet_suv(source: Any, overrides: SuvOverrides | None = None) -> Volume:
    """Load a PET stack (a scanned ``Stack``, or paths) and convert it to SUVbw (g/ml)."""
    from namecar_viewer.core.dicom import load_series, load_stack

    if isinstance(source, str | os.PathLike) or (
        isinstance(source, Sequence) and not hasattr(source, "instances")
    ):
        paths = [source] if isinstance(source, str | os.PathLike) else list(source)
        volume = load_series(paths)
    else:
        volume = load_stack(source)
    return to_suv(volume, overrides=overrides)


# --- fusion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoiStats:
    """Statistics of a planar ROI on the PET layer of a fused view."""

    n_pixels: int
    mean: float
    sd: float
    minimum: float
    maximum: float
    unit: str


class PetFusion:
    """A base volume (CT/MRI) with a SUV PET overlaid through an accepted transform.

    ``matrix`` maps base LPS to PET LPS (``p_pet = M p_base``).  Construction raises
    :class:`FrameOfReferenceMismatch` when the frames differ and no transform was accepted.
    """

    def __init__(self, base: Volume, pet: Volume, matrix: npt.ArrayLike | None = None) -> None:
        if pet.modality == "PT" and not is_suv(pet):
            raise ValueError(
                "The PET overlay is not in SUV: convert it with load_pet_suv/to_suv first."
            )
        geometry = fusion_geometry(base, pet, matrix)
        self.base = base
        self.pet = pet
        self.matrix = geometry.matrix
        self.same_frame = geometry.same_frame
        self.overlay = resample_volume(pet, base, self.matrix)

    @property
    def unit(self) -> str:
        return value_unit(self.pet)

    def to_pet(self, point_base: npt.ArrayLike) -> npt.NDArray[np.float64]:
        p = np.append(np.asarray(point_base, dtype=np.float64).reshape(3), 1.0)
        out: npt.NDArray[np.float64] = (self.matrix @ p)[:3]
        return out

    def suv_at(self, point_base: npt.ArrayLike) -> float:
        """SUV of the stored PET voxel nearest the base point (NaN outside the PET)."""
        q = self.to_pet(point_base)
        k, j, i = (int(v) for v in np.rint(self.pet.patient_to_index(q[None, :])[0]))
        nk, nj, ni = self.pet.shape
        if not (0 <= k < nk and 0 <= j < nj and 0 <= i < ni):
            return float("nan")
        return float(self.pet.array[k, j, i])

    def sphere_stats(self, centre_base: npt.ArrayLike, radius_mm: float) -> VoiStats:
        """A sphere VOI drawn on the fused view, measured on the stored PET voxels in SUV.

        A rigid transform keeps distances, so the sphere keeps its radius in the PET frame.
        """
        c = self.to_pet(centre_base)
        return voi_stats(self.pet, SphereVoi((float(c[0]), float(c[1]), float(c[2])), radius_mm))

    def plane_roi_stats(self, overlay_pixels: npt.ArrayLike, mask: npt.ArrayLike) -> RoiStats:
        """Planar ROI statistics on the resampled PET slice of the fused view (SUV)."""
        values = np.asarray(overlay_pixels, dtype=np.float64)[np.asarray(mask, dtype=bool)]
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("The ROI holds no PET pixel.")
        return RoiStats(
            int(values.size),
            float(values.mean()),
            float(values.std()),
            float(values.min()),
            float(values.max()),
            self.unit,
        )
