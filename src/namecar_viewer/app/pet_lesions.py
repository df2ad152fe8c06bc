"""PET lesion quantification table: uptake of each PSMA-avid lesion beside its MRI/CT size.

One row per lesion: SUVmax, SUVpeak (PERCIST 1 cm³ sphere), SUVmean and metabolic tumour volume
(MTV) inside the threshold (41 % of the lesion's SUVmax by default, EANM; or an absolute SUV),
total lesion uptake (TLU = SUVmean x MTV) and the tumour-to-background ratio (SUVmax over the
mean of a reference region the reader places: liver, blood pool or parotid).  Each row carries
the lesion identity of the read (``core.reads.model.Lesion.uid``/``label``) so the table can
show the MRI or CT size of the same lesion; with no read yet the id is free text.

VOIs are spheres in the PET's own LPS coordinates (a sphere drawn on a fused view is first
mapped through the accepted transform, see :meth:`namecar_viewer.app.pet.PetFusion.to_pet`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.app.pet import is_suv, value_unit
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.suv import (
    ReferenceRegion,
    SphereVoi,
    ThresholdKind,
    metabolic_volume,
    suv_peak,
    voi_stats,
)
from namecar_viewer.core.suv.quantify import EANM_MTV_PERCENT_OF_MAX


@dataclass(frozen=True)
class PetLesion:
    """A lesion VOI on the PET and, when known, the same lesion on MRI or CT."""

    lesion_id: str  # the read's lesion uid, or a free id until the lesion is linked
    label: str
    voi: SphereVoi
    anatomical_long_axis_mm: float | None = None
    anatomical_short_axis_mm: float | None = None
    anatomical_source: str = ""  # e.g. "MRI T2 2025-07-22"


@dataclass(frozen=True)
class ReferenceVoi:
    """A background region the reader placed."""

    region: ReferenceRegion
    voi: SphereVoi


@dataclass(frozen=True)
class Threshold:
    """MTV threshold: a percentage of the lesion's SUVmax, or an absolute SUV."""

    value: float = EANM_MTV_PERCENT_OF_MAX
    kind: ThresholdKind = ThresholdKind.PERCENT_OF_MAX

    def describe(self) -> str:
        if self.kind is ThresholdKind.PERCENT_OF_MAX:
            return f"{self.value:g} % of SUVmax"
        return f"SUV >= {self.value:g}"


@dataclass(frozen=True)
class PetLesionRow:
    """One row of the table (SUV in g/ml, volumes in ml)."""

    lesion_id: str
    label: str
    suv_max: float
    suv_peak: float
    suv_mean: float
    mtv_ml: float
    tlu: float
    tbr: float | None
    reference_region: str | None
    reference_mean: float | None
    threshold: str
    unit: str
    anatomical_long_axis_mm: float | None
    anatomical_short_axis_mm: float | None
    anatomical_source: str


def reference_mean(pet: Volume, reference: ReferenceVoi) -> float:
    """Mean SUV of the reference region (must be positive)."""
    mean = voi_stats(pet, reference.voi).suv_mean
    if mean <= 0.0:
        raise ValueError(f"The {reference.region.value} reference region has mean SUV {mean:g}.")
    return mean


def quantify(
    pet: Volume,
    lesion: PetLesion,
    threshold: Threshold = Threshold(),
    reference: ReferenceVoi | None = None,
) -> PetLesionRow:
    """Every uptake measure of one lesion; raises ValueError for a PET not in SUV."""
    if not is_suv(pet):
        raise ValueError("Lesion uptake is computed on a PET converted to SUV (load_pet_suv).")
    stats = voi_stats(pet, lesion.voi)
    peak = suv_peak(pet, lesion.voi)
    mtv = metabolic_volume(pet, lesion.voi, threshold.value, threshold.kind)
    ref_mean = reference_mean(pet, reference) if reference is not None else None
    return PetLesionRow(
        lesion_id=lesion.lesion_id,
        label=lesion.label,
        suv_max=stats.suv_max,
        suv_peak=peak.value,
        suv_mean=mtv.suv_mean,
        mtv_ml=mtv.mtv_ml,
        tlu=mtv.total_lesion_uptake,
        tbr=None if ref_mean is None else stats.suv_max / ref_mean,
        reference_region=None if reference is None else reference.region.value,
        reference_mean=ref_mean,
        threshold=threshold.describe(),
        unit=value_unit(pet),
        anatomical_long_axis_mm=lesion.anatomical_long_axis_mm,
        anatomical_short_axis_mm=lesion.anatomical_short_axis_mm,
        anatomical_source=lesion.anatomical_source,
    )


def lesion_table(
    pet: Volume,
    lesions: Sequence[PetLesion],
    threshold: Threshold = Threshold(),
    reference: ReferenceVoi | None = None,
) -> list[PetLesionRow]:
    """One row per lesion, in the given order."""
    return [quantify(pet, les, threshold, reference) for les in lesions]


# --- SUVpeak of an ROI drawn on the PET ---------------------------------------------------------
def measurement_suv_peak(
    pet: Volume, m: Measurement, matrix: npt.ArrayLike | None = None
) -> float | None:
    """PERCIST SUVpeak (1 cm³ sphere) of an ellipse or sphere drawn on the PET, or on a view
    fused with it (``matrix``: that view's LPS to the PET's LPS, a rigid transform).

    The peak sphere is centred on a PET voxel of the ROI: the voxels of a sphere VOI, or for
    an ellipse the voxels holding its pixels.  ``None`` for the other kinds or a PET not in
    SUV (its values are not uptake).
    """
    from namecar_viewer.core.measure.stats import ellipse_mask_points
    from namecar_viewer.core.suv.quantify import sphere_mask

    if not is_suv(pet) or m.kind not in (MeasurementKind.ELLIPSE, MeasurementKind.SPHERE):
        return None
    mat = np.eye(4) if matrix is None else np.asarray(matrix, dtype=np.float64)

    def to_pet(p: Any) -> npt.NDArray[np.float64]:
        q = mat @ np.append(np.asarray(p, dtype=np.float64).reshape(3), 1.0)
        return np.asarray(q[:3], dtype=np.float64)

    if m.kind is MeasurementKind.SPHERE:
        c = to_pet(m.points[0])
        voi: Any = sphere_mask(
            pet, SphereVoi((float(c[0]), float(c[1]), float(c[2])), m.radius_mm or 0.0)
        )
    else:
        if m.plane is None:
            raise ValueError(f"Ellipse {m.uid} has no plane to sample.")
        pts = ellipse_mask_points(m.points, m.plane.to_plane())
        pts_pet = (mat[:3, :3] @ pts.T).T + mat[:3, 3]
        idx = np.rint(pet.patient_to_index(pts_pet)).astype(np.int64)
        shape = np.asarray(pet.shape)
        idx = idx[np.all((idx >= 0) & (idx < shape), axis=1)]
        voi = np.zeros(pet.shape, dtype=bool)
        voi[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    if not np.any(voi):
        return None
    return float(suv_peak(pet, voi).value)


# --- the MRI-PET lesion table kept with the ancillary record -------------------------------------
LESION_TABLE_KEY = "pet/lesion_table"


@dataclass(frozen=True)
class LesionTableState:
    """What the reader set up in the MRI-PET lesion table: the lesion VOIs, the reference region
    and the MTV threshold (the values are measured again from the PET when it is reopened)."""

    lesions: tuple[PetLesion, ...] = ()
    reference: ReferenceVoi | None = None
    threshold: Threshold = Threshold()

    def to_json(self) -> str:
        def voi(v: SphereVoi) -> dict[str, Any]:
            return {"center_lps": [float(x) for x in v.center_lps], "radius_mm": v.radius_mm}

        data: dict[str, Any] = {
            "version": 1,
            "lesions": [
                {"lesion_id": les.lesion_id, "label": les.label, "voi": voi(les.voi)}
                for les in self.lesions
            ],
            "reference": None
            if self.reference is None
            else {"region": self.reference.region.value, "voi": voi(self.reference.voi)},
            "threshold": {"value": self.threshold.value, "kind": self.threshold.kind.value},
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LesionTableState:
        """Raises ValueError for a text that is not a lesion table."""
        try:
            data = json.loads(text)

            def voi(d: Mapping[str, Any]) -> SphereVoi:
                c = [float(x) for x in d["center_lps"]]
                return SphereVoi((c[0], c[1], c[2]), float(d["radius_mm"]))

            lesions = tuple(
                PetLesion(str(d["lesion_id"]), str(d["label"]), voi(d["voi"]))
                for d in data.get("lesions", [])
            )
            ref = data.get("reference")
            reference = (
                None
                if ref is None
                else ReferenceVoi(ReferenceRegion(str(ref["region"])), voi(ref["voi"]))
            )
            th = data.get("threshold") or {}
            threshold = Threshold(
                float(th.get("value", EANM_MTV_PERCENT_OF_MAX)),
                ThresholdKind(str(th.get("kind", ThresholdKind.PERCENT_OF_MAX.value))),
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"The stored MRI-PET lesion table cannot be read: {exc}") from exc
        return cls(lesions, reference, threshold)


def lesion_table_in(settings: Mapping[str, str]) -> LesionTableState | None:
    """The lesion table stored in a record's settings (None when none was saved)."""
    text = settings.get(LESION_TABLE_KEY)
    return None if not text else LesionTableState.from_json(text)


def lesion_table_command(state: LesionTableState) -> Any:
    """The undoable read setting that stores the table with the ancillary MRI-PET record."""
    from namecar_viewer.app.read_session import SetReadSetting

    return SetReadSetting(LESION_TABLE_KEY, state.to_json(), "Save the MRI-PET lesion table")


# --- the MRI or CT size of the same lesion --------------------------------------------------------
LINK_PREFIX = "same lesion as "


@dataclass(frozen=True)
class AnatomicalSize:
    """A lesion's long (and short) axis on MRI or CT and where it was measured."""

    long_axis_mm: float
    short_axis_mm: float | None
    record: str  # "ancillary" (the MRI-PET record's own measurement) or "recist"
    lesion_label: str
    timepoint_label: str


def _latest_size(read: Any, lesion_uid: str, record: str, label: str) -> AnatomicalSize | None:
    best = None
    order = {tp.uid: n for n, tp in enumerate(read.ordered_timepoints())}
    for lm in read.measurements:
        if lm.lesion_uid != lesion_uid:
            continue
        m = lm.measurement
        if m.long_axis_mm is None:
            continue
        rank = order.get(lm.timepoint_uid or "", -1)
        if best is None or rank >= best[0]:
            tp = read.timepoint(lm.timepoint_uid) if lm.timepoint_uid else None
            best = (rank, m, tp)
    if best is None:
        return None
    _, m, tp = best
    tp_label = tp.label if tp is not None and tp.label else ""
    return AnatomicalSize(float(m.long_axis_mm), m.short_axis_mm, record, label, tp_label)


def anatomical_size(
    lesion_id: str, ancillary: Any | None, recist: Any | None
) -> AnatomicalSize | None:
    """The MRI or CT size of a PET lesion: ``lesion_id`` is an ancillary lesion (its label, e.g.
    A1, or uid) or a RECIST lesion label (T1).  An ancillary lesion's own MRI diameter comes
    first; else the RECIST lesion it is the same as ("same lesion as T1 kidney") gives its
    latest CT diameter."""
    lid = lesion_id.strip()
    if not lid:
        return None
    if ancillary is not None:
        for les in ancillary.lesions:
            if lid in (les.label, les.uid):
                own = _latest_size(ancillary, les.uid, "ancillary", les.label)
                if own is not None:
                    return own
                desc = les.description or ""
                if desc.startswith(LINK_PREFIX):
                    lid = desc[len(LINK_PREFIX) :].split()[0]
                break
    if recist is not None:
        for les in recist.lesions:
            if lid in (les.label, les.uid):
                return _latest_size(recist, les.uid, "recist", les.label)
    return None
