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

import dataclasses
import datetime as dt
import enum
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.measure.record import Measurement, MeasurementKind
from namecar_viewer.core.measure.stats import RoiStats as MeasureStats
from namecar_viewer.core.measure.stats import ellipse_stats
from namecar_viewer.core.measure.stats import sphere_stats as measure_sphere_stats
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
    "pet_display_volume",
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
    for stale in ("suv_missing", "suv_fields"):
        out.metadata.pop(stale, None)
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


def raw_unit_label(volume: Volume) -> str:
    """The unit shown for a PET left in stored values because SUV could not be computed."""
    units = str(volume.metadata.get("pet_units") or volume.metadata.get("units") or "").strip()
    return f"{units or 'stored values'} (raw, not SUV)"


def pet_display_volume(volume: Volume, overrides: SuvOverrides | None = None) -> Volume:
    """What a viewport shows for a PET: SUVbw when the headers (and ``overrides``) allow it,
    else the stored values labelled raw, with ``metadata["suv_missing"]`` (the message naming
    the tag) and ``metadata["suv_fields"]`` (the SuvField values the reader may enter).

    Other modalities and volumes already in SUV come back unchanged.  The SUV volume keeps a
    reference to the stored-value volume (``metadata["raw_volume"]``) so reader-entered values
    can be applied or withdrawn without reloading.
    """
    if volume.modality != "PT" or is_suv(volume):
        return volume
    raw = volume.metadata.get("raw_volume")
    if not isinstance(raw, Volume):
        raw = volume
    try:
        out = to_suv(_clean_raw(raw), overrides=overrides)
    except SuvInputNeeded as need:
        labelled = _clean_raw(raw)
        if not labelled.metadata.get("pet_units"):
            labelled.metadata["pet_units"] = _header_units(labelled)
        labelled.metadata.update(
            {
                "unit": raw_unit_label(labelled),
                "units": raw_unit_label(labelled),
                "suv_missing": need.message,
                "suv_fields": [f.value for f in need.fields],
                "raw_volume": raw,
                "suv_overrides_json": overrides_text(overrides),
            }
        )
        return labelled
    out.metadata["raw_volume"] = raw
    out.metadata["suv_overrides_json"] = overrides_text(overrides)
    return out


def _header_units(volume: Volume) -> str:
    """The Units tag (0054,1001) of the PET's first file ("" when unreadable)."""
    files = [f for f in volume.files if f]
    if not files:
        return ""
    try:
        return str(_read_header(files[0]).get("Units", "") or "")
    except Exception:  # noqa: BLE001 - the label falls back to "stored values"
        return ""


def _clean_raw(raw: Volume) -> Volume:
    """A shallow copy of a stored-value PET with its own metadata dict (no SUV labels)."""
    meta = dict(raw.metadata)
    for key in ("unit", "suv_missing", "suv_fields", "raw_volume", "suv_overrides_json"):
        meta.pop(key, None)
    if "pet_units" not in meta:
        meta["pet_units"] = meta.get("units", "")
    meta["units"] = meta["pet_units"]
    return dataclasses.replace(raw, metadata=meta)


# --- reader-entered SUV values and the accepted registration, stored with the read ----------

SUV_OVERRIDE_PREFIX = "pet/suv_overrides/"
REGISTRATION_PREFIX = "pet/registration/"
# Two timepoints linked by the reader clicking the same anatomy in both (a translation); kept
# with the read like a registration, so reopening the read links the timepoints again.
OFFSET_PREFIX = "link/offset/"
TIMEPOINT_OFFSET = "manual offset"
# Two CT timepoints aligned automatically (app/alignment.py): a rigid transform found by
# registration when a study of the patient opened, with its metric and per-lesion refinements.
# A manual offset or an accepted registration between the same two frames wins over it.
ALIGNMENT_PREFIX = "link/alignment/"
TIMEPOINT_ALIGNMENT = "automatic alignment"
_OVERRIDE_FIELDS = tuple(f.name for f in dataclasses.fields(SuvOverrides))


def suv_override_key(series_instance_uid: str) -> str:
    return SUV_OVERRIDE_PREFIX + series_instance_uid


def overrides_to_json(overrides: SuvOverrides) -> str:
    """The reader-entered values as JSON text (datetimes in ISO 8601), unset fields left out."""
    out: dict[str, Any] = {}
    for name in _OVERRIDE_FIELDS:
        v = getattr(overrides, name)
        if v is None:
            continue
        out[name] = v.isoformat() if isinstance(v, dt.datetime) else v
    return json.dumps(out, sort_keys=True)


def overrides_text(overrides: SuvOverrides | None) -> str:
    """JSON of the reader-entered values, "" when there are none."""
    text = overrides_to_json(overrides) if overrides is not None else ""
    return "" if text in ("", "{}") else text


def overrides_from_json(text: str) -> SuvOverrides:
    """Inverse of :func:`overrides_to_json`; a bad text raises ValueError naming it."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Stored SUV values are not valid JSON: {text[:80]!r}") from exc
    if not isinstance(d, dict):
        raise ValueError(f"Stored SUV values are not an object: {text[:80]!r}")
    kwargs: dict[str, Any] = {}
    for name in _OVERRIDE_FIELDS:
        if d.get(name) is None:
            continue
        v = d[name]
        kwargs[name] = dt.datetime.fromisoformat(v) if name == "injection_datetime" else v
    return SuvOverrides(**kwargs)


def overrides_in(settings: Mapping[str, str], series_instance_uid: str) -> SuvOverrides | None:
    """The reader-entered SUV values a read holds for a series, or None."""
    text = settings.get(suv_override_key(series_instance_uid))
    return overrides_from_json(text) if text else None


def suv_override_command(series_instance_uid: str, overrides: SuvOverrides | None) -> Any:
    """The audited, undoable read edit storing (``None``: withdrawing) reader-entered values."""
    from namecar_viewer.app.read_session import SetReadSetting

    if overrides is None:
        return SetReadSetting(
            suv_override_key(series_instance_uid), None, "Withdraw reader-entered SUV values"
        )
    names = ", ".join(k for k in _OVERRIDE_FIELDS if getattr(overrides, k) is not None)
    return SetReadSetting(
        suv_override_key(series_instance_uid),
        overrides_to_json(overrides),
        f"Reader-entered SUV values ({names})",
    )


@dataclass(frozen=True)
class RegistrationRecord:
    """An accepted rigid registration: ``p_moving = matrix @ p_fixed`` (LPS mm, 4x4)."""

    fixed_frame: str
    moving_frame: str
    matrix: tuple[tuple[float, ...], ...]
    metric: float | None
    method: str  # "automatic", "manual" or "automatic+manual"

    @classmethod
    def of(
        cls, fixed: str, moving: str, matrix: Any, metric: float | None, method: str
    ) -> RegistrationRecord:
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (4, 4) or not np.allclose(m[3], (0, 0, 0, 1)):
            raise ValueError(f"A registration needs a 4x4 homogeneous matrix, got {m.shape}.")
        if not fixed or not moving or fixed == moving:
            raise ValueError("A registration relates two different frames of reference.")
        return cls(
            fixed,
            moving,
            tuple(tuple(float(x) for x in row) for row in m),
            None if metric is None else float(metric),
            method,
        )

    @property
    def array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.matrix, dtype=np.float64)

    @property
    def key(self) -> str:
        if self.method == TIMEPOINT_OFFSET:
            return f"{OFFSET_PREFIX}{self.fixed_frame}/{self.moving_frame}"
        if self.method == TIMEPOINT_ALIGNMENT:
            return f"{ALIGNMENT_PREFIX}{self.fixed_frame}/{self.moving_frame}"
        return registration_key(self.fixed_frame, self.moving_frame)

    def to_json(self) -> str:
        return json.dumps(
            {
                "fixed_frame_of_reference_uid": self.fixed_frame,
                "moving_frame_of_reference_uid": self.moving_frame,
                "matrix": [list(r) for r in self.matrix],
                "metric": self.metric,
                "method": self.method,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> RegistrationRecord:
        try:
            d = json.loads(text)
            return cls.of(
                d["fixed_frame_of_reference_uid"],
                d["moving_frame_of_reference_uid"],
                d["matrix"],
                d.get("metric"),
                str(d.get("method", "")),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"Stored registration is not readable: {text[:80]!r}") from exc

    def command(self) -> Any:
        from namecar_viewer.app.read_session import SetReadSetting

        if self.method == TIMEPOINT_OFFSET:
            t = self.array[:3, 3]
            text = f"Link timepoints by offset ({t[0]:.1f}, {t[1]:.1f}, {t[2]:.1f}) mm"
        elif self.method == TIMEPOINT_ALIGNMENT:
            text = "Align timepoints automatically"
        else:
            text = f"Accept {self.method} registration PET -> base"
        return SetReadSetting(self.key, self.to_json(), text)


def registration_key(fixed_frame: str, moving_frame: str) -> str:
    return f"{REGISTRATION_PREFIX}{fixed_frame}/{moving_frame}"


def registrations_in(
    settings: Mapping[str, str], prefixes: tuple[str, ...] = (REGISTRATION_PREFIX,)
) -> list[RegistrationRecord]:
    """Every accepted registration a read holds (unreadable entries are skipped)."""
    out = []
    for key, text in sorted(settings.items()):
        if key.startswith(prefixes) and text:
            try:
                out.append(RegistrationRecord.from_json(text))
            except ValueError:
                continue
    return out


def frame_links_in(settings: Mapping[str, str]) -> list[RegistrationRecord]:
    """Every transform between frames of reference a read holds: registrations, offsets and
    automatic alignments, one per pair of frames: an alignment gives way to an offset or a
    registration between the same two frames (in either direction), so the reader's manual
    offset wins and withdrawing it brings the automatic alignment back."""
    links = registrations_in(settings, (REGISTRATION_PREFIX, OFFSET_PREFIX))
    linked = {frozenset((r.fixed_frame, r.moving_frame)) for r in links}
    return links + [
        r
        for r in timepoint_alignments_in(settings)
        if frozenset((r.fixed_frame, r.moving_frame)) not in linked
    ]


def timepoint_alignments_in(settings: Mapping[str, str]) -> list[RegistrationRecord]:
    """The automatic alignments of CT timepoints kept with the read (their global transform;
    ``app.alignment.AlignmentRecord`` reads the rest)."""
    return registrations_in(settings, (ALIGNMENT_PREFIX,))


def timepoint_offsets_in(settings: Mapping[str, str]) -> list[RegistrationRecord]:
    """The timepoint links the reader made by hand and kept with the read."""
    return registrations_in(settings, (OFFSET_PREFIX,))


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

    def measurement_stats(self, m: Measurement) -> MeasureStats | None:
        """An ellipse or sphere drawn on the fused view, measured on the stored PET in SUV.

        The accepted rigid transform carries the points and the ellipse's plane into the PET
        frame without changing sizes, so the ROI covers the same anatomy; the statistics are
        the ones the reader gets on the PET itself (same sampling, same sphere mask).
        ``None`` for the other kinds.
        """
        if m.kind is MeasurementKind.ELLIPSE:
            if m.plane is None:
                raise ValueError(f"Ellipse {m.uid} has no plane to sample.")
            plane = m.plane.to_plane()
            rot = self.matrix[:3, :3]
            pet_plane = dataclasses.replace(
                plane,
                origin=self.to_pet(plane.origin),
                row_direction=rot @ plane.row_direction,
                column_direction=rot @ plane.column_direction,
            )
            points = [self.to_pet(p) for p in m.points]
            return ellipse_stats(self.pet, points, pet_plane, self.unit)
        if m.kind is MeasurementKind.SPHERE:
            centre = self.to_pet(m.points[0])
            return measure_sphere_stats(self.pet, centre, m.radius_mm or 0.0, self.unit)
        return None

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
