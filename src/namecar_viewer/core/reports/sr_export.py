"""A read as a DICOM Comprehensive 3D SR with a TID 1500 Measurement Report (highdicom).

Content tree (PS3.16 TID 1500 "Measurement Report"):

* observer: the reader (TID 1002 person observer);
* Image Library (TID 1600): one entry per referenced source image (position, orientation,
  pixel spacing, slice thickness; no dates in blinded mode);
* one TID 1501 measurement group **per lesion per timepoint**:

  - Tracking Identifier = the lesion label (``T1``), Tracking Unique Identifier = the same UID for
    the lesion at every timepoint (:func:`tracking_uid`);
  - TID 1502 time point context: Time Point = the timepoint label, Time Point Type (CID 6146),
    Time Point Order, Subject Time Point Identifier = the timepoint uid, Protocol Time Point
    Identifier = the NAMECAR schedule role, and the temporal offset from baseline in days;
  - Finding (SNOMED CT: primary or metastatic neoplasm) and Finding Site (SNOMED CT organ);
  - every measurement record of the lesion at that timepoint: a bidirectional one as a *Long
    axis* and a *Short axis* NUM (mm), a line as *Length*, a sphere VOI as *Volume*, an ellipse as
    *Area*; each NUM is INFERRED FROM its coordinates: SCOORD3D in patient mm (exact) and,
    when the points lie on the referenced image, SCOORD on that image (column/row, PS3.3
    C.18.6.1.1); the record's UID is the NUM's Tracking Unique Identifier;
  - qualitative evaluations: the lesion's role (CID 6145 target / non-target, private "new"),
    its status at the timepoint (present, absent, too small ...), the lymph-node flag;
  - SUVbw max / mean / peak of a PET lesion (DCM 126401, UCUM ``{SUVbw}g/ml``, derivations
    SCT Maximum / Mean, DCM Peak Value Within ROI, method DCM 126410);

* one group per timepoint with the reader's response: Response Evaluation Method = RECIST 1.1
  (CID 6147), target and non-target response (CID 6144), new lesions, overall response, the
  NAMECAR eligibility, and the sums.

Blinding: with a policy that hides identifiers, patient name and ID become the subject's
pseudonym, birth date, accession number, institution and every calendar date of the study are
emptied (time points carry days from baseline only).  The policy is duck-typed
(:class:`Blinding`): :class:`namecar_viewer.app.blinding.BlindingPolicy` fits; ``core`` does not
import ``app``.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from namecar_viewer.core.measure.record import Measurement, MeasurementKind
from namecar_viewer.core.reads.model import Lesion, Read, ReadTimepoint
from namecar_viewer.core.reports import codes as c
from namecar_viewer.core.reports.status import HIDDEN_NAME, ReadStatus

HeaderLookup = Callable[[str], Dataset | None]
"""SOP instance UID -> the image's header (pixel data not needed), or None when unknown."""

READ_STATUS = c.private("RSTAT", "Read status")
SR_SERIES_NUMBER = 900
SR_SERIES_DESCRIPTION = "NAMECAR RECIST read (TID 1500)"
MANUFACTURER = "NAMECAR Viewer"
# A point this close to the referenced image's plane gets a 2D SCOORD on that image as well.
ON_PLANE_TOLERANCE_MM = 0.01
_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_TRACKING_NAMESPACE = uuid.UUID("2b0a3c1e-4f57-5e0c-8d2e-4e414d454341")


class Blinding(Protocol):
    """What the exports need of a blinding policy (``app.blinding.BlindingPolicy`` fits)."""

    @property
    def enabled(self) -> bool: ...

    def subject(self, subject_id: str) -> str: ...


class SrExportError(ValueError):
    """The read cannot be written as an SR (the message says why)."""


@dataclass(frozen=True)
class PetUptake:
    """SUVbw statistics of a lesion's PET VOI (from the PET lesion table)."""

    lesion_uid: str
    timepoint_uid: str | None
    suv_max: float
    suv_mean: float | None = None
    suv_peak: float | None = None


@dataclass
class SrExport:
    """The SR dataset and what could not be put in it."""

    dataset: Dataset
    warnings: list[str] = field(default_factory=list)


def is_dicom_uid(text: str) -> bool:
    return len(text) <= 64 and bool(_UID_RE.match(text))


def tracking_uid(entity_uid: str) -> str:
    """The Tracking UID of a lesion (or measurement): stable for it across timepoints and exports.

    A uid that is already a valid DICOM UID (the app's ``2.25.<uuid>`` uids) is used as it is, so
    that importing the SR and exporting it again keeps the Tracking UID (longitudinal tracking
    across systems must not drift); any other uid gives ``2.25.<uuid5(uid)>``.

    >>> tracking_uid("2.25.1234")
    '2.25.1234'
    >>> tracking_uid("L1") == tracking_uid("L1") != tracking_uid("L2")
    True
    """
    if is_dicom_uid(entity_uid):
        return entity_uid
    return "2.25." + str(uuid.uuid5(_TRACKING_NAMESPACE, entity_uid).int)


def _derived_uid(*parts: str) -> str:
    return "2.25." + str(uuid.uuid5(_TRACKING_NAMESPACE, "/".join(parts)).int)


# --- geometry -----------------------------------------------------------------------------


def _pixel_coordinates(
    header: Dataset, points: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32] | None:
    """(column, row) image coordinates of LPS points on the image's plane, else None.

    PS3.3 C.18.6.1.1: (0, 0) is the top left corner of the top left pixel, so a pixel centre
    at index (i, j) is (i + 0.5, j + 0.5).
    """
    try:
        ipp = np.asarray([float(v) for v in header.ImagePositionPatient])
        iop = np.asarray([float(v) for v in header.ImageOrientationPatient])
        spacing = [float(v) for v in header.PixelSpacing]
    except (AttributeError, TypeError, ValueError):
        return None
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    rel = points - ipp
    if np.max(np.abs(rel @ normal)) > ON_PLANE_TOLERANCE_MM:
        return None
    cols = rel @ row_dir / spacing[1] + 0.5
    rows = rel @ col_dir / spacing[0] + 0.5
    return np.column_stack([cols, rows]).astype(np.float32)


def _axes(m: Measurement) -> list[tuple[Any, float, npt.NDArray[np.float64], str]]:
    """(concept, value, points, graphic type) of each NUM of a measurement record."""
    p = m.array
    if m.kind is MeasurementKind.BIDIRECTIONAL:
        return [
            (c.LONG_AXIS, float(m.long_axis_mm or 0.0), p[0:2], "POLYLINE"),
            (c.SHORT_AXIS, float(m.short_axis_mm or 0.0), p[2:4], "POLYLINE"),
        ]
    if m.kind is MeasurementKind.LINE:
        return [(c.LENGTH, float(m.length_mm or 0.0), p[0:2], "POLYLINE")]
    if m.kind is MeasurementKind.SPHERE:
        centre, surface = p[0], p[1]
        r_vec = surface - centre
        r = float(np.linalg.norm(r_vec))
        u = r_vec / r if r > 0 else np.array([1.0, 0.0, 0.0])
        helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        v = np.cross(u, helper)
        v /= np.linalg.norm(v)
        w = np.cross(u, v)
        pts = np.array(
            [
                centre - r_vec,
                surface,
                centre - r * v,
                centre + r * v,
                centre - r * w,
                centre + r * w,
            ]
        )
        return [(c.VOLUME, float(m.volume_ml or 0.0), pts, "ELLIPSOID")]
    if m.kind is MeasurementKind.ELLIPSE:
        centre, a, b = p[0], p[1], p[2]
        pts = np.array([2 * centre - a, a, 2 * centre - b, b])
        return [(c.AREA, float(m.area_mm2 or 0.0), pts, "ELLIPSE")]
    return []


_UNITS = {
    "Long axis": c.UNIT_MM,
    "Short axis": c.UNIT_MM,
    "Length": c.UNIT_MM,
    "Volume": c.UNIT_ML,
    "Area": c.UNIT_MM2,
}


# --- the report ---------------------------------------------------------------------------


def _timepoint_context(read: Read, tp: ReadTimepoint, order: int) -> Any:
    import highdicom as hd

    base = read.baseline()
    offset = None
    if base is not None and base.date is not None and tp.date is not None:
        offset = hd.sr.LongitudinalTemporalOffsetFromEvent(
            value=float((tp.date - base.date).days), unit=c.UNIT_DAY, event_type=c.BASELINE_EVENT
        )
    return hd.sr.TimePointContext(
        time_point=tp.label,
        time_point_type=c.TIMEPOINT_TYPE[tp.role],
        time_point_order=order,
        subject_time_point_identifier=tp.uid,
        protocol_time_point_identifier=tp.role.value,
        temporal_offset_from_event=offset,
    )


def _num_with_coords(
    m: Measurement, headers: HeaderLookup, warnings: list[str], where: str
) -> list[Any]:
    import highdicom as hd

    out = []
    for concept, value, pts, graphic in _axes(m):
        coords: list[Any] = []
        for_uid = m.frame_of_reference_uid
        refs: list[Any] = []
        for ref in m.images:
            h = headers(ref.sop_instance_uid)
            if h is None:
                warnings.append(
                    f"{where}: source image {ref.sop_instance_uid} not found; referenced by its "
                    "patient coordinates only."
                )
                continue
            for_uid = for_uid or getattr(h, "FrameOfReferenceUID", None)
            frames = [ref.frame_number] if ref.frame_number else None
            refs.append(
                hd.sr.SourceImageForMeasurement(str(h.SOPClassUID), str(h.SOPInstanceUID), frames)
            )
            if graphic == "POLYLINE":
                px = _pixel_coordinates(h, pts)
                if px is not None:
                    coords.append(
                        hd.sr.CoordinatesForMeasurement(
                            graphic_type=graphic,
                            graphic_data=px,
                            source_image=hd.sr.SourceImageForRegion(
                                str(h.SOPClassUID), str(h.SOPInstanceUID), frames
                            ),
                        )
                    )
        if for_uid:
            coords.insert(
                0,
                hd.sr.CoordinatesForMeasurement3D(
                    graphic_type=graphic,
                    graphic_data=np.asarray(pts, dtype=np.float64),
                    frame_of_reference_uid=str(for_uid),
                ),
            )
        else:
            warnings.append(
                f"{where}: no frame of reference; {concept.meaning} has no coordinates."
            )
        out.append(
            hd.sr.Measurement(
                name=concept,
                value=value,
                unit=_UNITS[concept.meaning],
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=tracking_uid(m.uid), identifier=m.label or concept.meaning
                ),
                referenced_images=refs or None,
                referenced_coordinates=coords or None,
            )
        )
    if m.kind in (MeasurementKind.POINT, MeasurementKind.ARROW):
        warnings.append(f"{where}: {m.kind.value} annotation {m.uid} has no value; not exported.")
    return out


def _suv_nums(u: PetUptake) -> list[Any]:
    import highdicom as hd

    out = []
    for value, derivation in (
        (u.suv_max, c.MAXIMUM),
        (u.suv_mean, c.MEAN),
        (u.suv_peak, c.PEAK),
    ):
        if value is None:
            continue
        out.append(
            hd.sr.Measurement(
                name=c.SUVBW,
                value=float(value),
                unit=c.UNIT_SUVBW,
                derivation=derivation,
                method=c.SUV_BW_METHOD,
            )
        )
    return out


def _append_text(group: Any, name: Any, value: str) -> None:
    import highdicom as hd

    item = hd.sr.TextContentItem(name=name, value=value, relationship_type="CONTAINS")
    group[0].ContentSequence.append(item)


def _lesion_group(
    read: Read,
    lesion: Lesion,
    tp: ReadTimepoint | None,
    order: int,
    measurements: Sequence[Measurement],
    uptake: Sequence[PetUptake],
    headers: HeaderLookup,
    warnings: list[str],
) -> Any:
    import highdicom as hd

    where = f"{lesion.label} at {tp.label if tp else '(no timepoint)'}"
    nums: list[Any] = []
    for m in measurements:
        nums.extend(_num_with_coords(m, headers, warnings, where))
    for u in uptake:
        nums.extend(_suv_nums(u))
    quals = [
        hd.sr.QualitativeEvaluation(c.LESION_ROLE_NAME, c.ROLE_CODES[lesion.role]),
        hd.sr.QualitativeEvaluation(c.LYMPH_NODE_FLAG, c.YES if lesion.is_lymph_node else c.NO),
    ]
    if tp is not None:
        st = read.statuses.get((lesion.uid, tp.uid))
        if st is not None:
            quals.append(hd.sr.QualitativeEvaluation(c.LESION_STATUS_NAME, c.STATUS_CODES[st]))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=tracking_uid(lesion.uid), identifier=lesion.label
        ),
        time_point_context=None if tp is None else _timepoint_context(read, tp, order),
        finding_type=c.FINDING_PRIMARY if lesion.is_primary_renal else c.FINDING_METASTATIC,
        finding_sites=[hd.sr.FindingSite(c.SITE_CODES[lesion.site])],
        measurements=nums or None,
        qualitative_evaluations=quals,
    )
    if lesion.station:
        _append_text(group, c.STATION, lesion.station)
    if lesion.description:
        _append_text(group, c.DESCRIPTION, lesion.description)
    return group


def _free_group(
    m: Measurement,
    tp: ReadTimepoint | None,
    order: int,
    read: Read,
    headers: HeaderLookup,
    warnings: list[str],
) -> Any:
    import highdicom as hd

    nums = _num_with_coords(m, headers, warnings, f"annotation {m.label or m.uid}")
    if not nums:
        return None
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=_derived_uid("free", m.uid), identifier=m.label or "Annotation"
        ),
        time_point_context=None if tp is None else _timepoint_context(read, tp, order),
        finding_type=c.FINDING_FREE,
        measurements=nums,
    )


def _response_groups(
    read: Read,
    result: Any,
    tp_order: Mapping[str, int],
    status: ReadStatus | None = None,
    blinding: Blinding | None = None,
) -> list[Any]:
    import highdicom as hd

    by_label = {tp.label: tp for tp in read.timepoints}
    groups = []
    for tr in getattr(result, "timepoints", ()):
        tp = by_label.get(tr.label)
        if tp is None:
            continue
        quals = [hd.sr.QualitativeEvaluation(c.RESPONSE_METHOD, c.RECIST_11)]
        nums = []
        if tr.target_response is not None:
            quals.append(
                hd.sr.QualitativeEvaluation(
                    c.TARGET_RESPONSE_NAME, c.TARGET_RESPONSE[tr.target_response.value]
                )
            )
        if tr.non_target_response is not None:
            quals.append(
                hd.sr.QualitativeEvaluation(
                    c.NON_TARGET_RESPONSE_NAME, c.NON_TARGET_RESPONSE[tr.non_target_response.value]
                )
            )
        if tr.overall_response is not None:
            quals.append(
                hd.sr.QualitativeEvaluation(
                    c.OVERALL_RESPONSE_NAME, c.OVERALL_RESPONSE[tr.overall_response.value]
                )
            )
        if tr.new_lesions is not None:
            quals.append(
                hd.sr.QualitativeEvaluation(c.NEW_LESIONS_NAME, c.NEW_LESIONS[tr.new_lesions.value])
            )
        if tr.eligible_cr_or_mpr is not None:
            quals.append(
                hd.sr.QualitativeEvaluation(
                    c.ELIGIBILITY_NAME, c.YES if tr.eligible_cr_or_mpr else c.NO
                )
            )
        for name, value, unit in (
            (c.private("SUM", "Sum of diameters"), tr.sum_mm, c.UNIT_MM),
            (c.private("METSUM", "Metastatic sum of diameters"), tr.metastatic_sum_mm, c.UNIT_MM),
            (
                c.private("PCTB", "Percent change from baseline"),
                tr.pct_change_from_baseline,
                c.UNIT_PERCENT,
            ),
            (
                c.private("PCTN", "Percent change from nadir"),
                tr.pct_change_from_nadir,
                c.UNIT_PERCENT,
            ),
        ):
            if value is not None:
                nums.append(hd.sr.Measurement(name=name, value=float(value), unit=unit))
        group = hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=_derived_uid("response", read.uid, tp.uid),
                identifier=c.RESPONSE_GROUP_PREFIX + tp.label,
            ),
            time_point_context=_timepoint_context(read, tp, tp_order[tp.uid]),
            measurements=nums or None,
            qualitative_evaluations=quals,
        )
        # the timepoint read's signature as text ("signed by ... version N" or "draft")
        st = status or ReadStatus()
        _append_text(group, READ_STATUS, st.text(tp.uid, blinding))
        groups.append(group)
    return groups


def evaluate_read(read: Read) -> tuple[Any | None, str | None]:
    """The RECIST result of the read, or (None, why) when the read cannot be evaluated yet."""
    from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
    from namecar_viewer.core.recist import RecistInputError, evaluate

    try:
        return evaluate(read_to_recist_case(read)), None
    except RecistInputError as exc:
        return None, "; ".join(str(v) for v in exc.violations)
    except ValueError as exc:
        return None, str(exc)


def _procedure_codes(modalities: Iterable[str]) -> list[Any]:
    from pydicom.sr.codedict import codes

    table = {
        "CT": codes.LN.CTUnspecifiedBodyRegion,
        "PT": codes.LN.PETWholeBody,
        "MR": codes.LN.MRIUnspecifiedBodyRegion,
    }
    out = [table[m] for m in sorted(set(modalities)) if m in table]
    return out or [codes.LN.CTUnspecifiedBodyRegion]


def read_to_sr(
    read: Read,
    headers: HeaderLookup,
    *,
    result: Any | None = None,
    pet_uptake: Sequence[PetUptake] = (),
    blinding: Blinding | None = None,
    status: ReadStatus | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = SR_SERIES_NUMBER,
    instance_number: int = 1,
) -> SrExport:
    """The read as a Comprehensive 3D SR (TID 1500); see the module docstring for the tree.

    ``headers`` gives the source images' headers (for references, the image library and the
    patient/study modules). ``result`` is the RECIST result (computed from the read when None;
    a read that cannot be evaluated yet is exported without responses, with a warning).
    ``status`` gives the timepoint signatures (the signing model): when every timepoint is
    signed the SR is VERIFIED (SR Document General Module, PS3.3 C.17.2: VerificationFlag and one
    VerifyingObserverSequence item per signature, with the signer and the UTC signing time);
    otherwise UNVERIFIED.  Each timepoint's response group carries its status as text.
    Raises :class:`SrExportError` when no referenced image header is found at all.
    """
    import highdicom as hd

    warnings: list[str] = []
    if result is None:
        result, why = evaluate_read(read)
        if result is None:
            warnings.append(f"No RECIST response exported: {why}")

    ordered = list(read.ordered_timepoints())
    base = read.baseline()
    if base is not None and ordered and ordered[0].uid != base.uid:
        ordered.remove(base)
        ordered.insert(0, base)
    tp_order = {tp.uid: n + 1 for n, tp in enumerate(ordered)}

    # Evidence: headers of every referenced image, the latest timepoint's study first (the SR
    # belongs to the study being read).
    evidence: dict[str, Dataset] = {}
    for lm in read.measurements:
        for ref in lm.measurement.images:
            h = headers(ref.sop_instance_uid)
            if h is not None and str(h.SOPInstanceUID) not in evidence:
                # A copy: highdicom shares data elements with the evidence, and blinding the SR
                # must never change the caller's (cached) headers.
                evidence[str(h.SOPInstanceUID)] = copy.deepcopy(h)
    if not evidence:
        raise SrExportError(
            f"Read {read.uid}: none of its measurements' source images was found; the SR needs "
            "their headers (give the folder of the images or import them into the study browser)."
        )
    study_rank = {tp.study_instance_uid: tp_order[tp.uid] for tp in ordered}
    ev = sorted(
        evidence.values(),
        key=lambda h: (-study_rank.get(str(h.StudyInstanceUID), 0), str(h.SOPInstanceUID)),
    )

    groups: list[Any] = []
    for les in read.lesions:
        made = 0
        for tp in [*ordered, None]:
            tp_uid = None if tp is None else tp.uid
            ms = [
                lm.measurement
                for lm in read.measurements
                if lm.lesion_uid == les.uid and lm.timepoint_uid == tp_uid
            ]
            up = [u for u in pet_uptake if u.lesion_uid == les.uid and u.timepoint_uid == tp_uid]
            has_status = tp is not None and (les.uid, tp.uid) in read.statuses
            if not (ms or up or has_status):
                continue
            order = tp_order[tp.uid] if tp is not None else 0
            groups.append(_lesion_group(read, les, tp, order, ms, up, headers, warnings))
            made += 1
        if made == 0:
            groups.append(_lesion_group(read, les, None, 0, [], [], headers, warnings))
    for lm in read.measurements:
        if lm.lesion_uid is None:
            tp = read.timepoint(lm.timepoint_uid) if lm.timepoint_uid else None
            g = _free_group(
                lm.measurement, tp, tp_order.get(tp.uid, 0) if tp else 0, read, headers, warnings
            )
            if g is not None:
                groups.append(g)
    if result is not None:
        groups.extend(_response_groups(read, result, tp_order, status, blinding))

    observer = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=_person_name(read.reader or "Unknown reader")
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=_procedure_codes(str(h.Modality) for h in ev),
        imaging_measurements=groups,
        referenced_images=ev,
    )
    if blinding is None or not blinding.enabled:
        _add_study_dates(report[0], evidence)
    sr = hd.sr.Comprehensive3DSR(
        evidence=ev,
        content=report[0],
        series_instance_uid=series_instance_uid or tracking_uid(read.uid),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or hd.UID(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=False,
        is_final=False,
        is_verified=False,
    )
    sr.SeriesDescription = SR_SERIES_DESCRIPTION
    _verification(sr, read, ordered, status, blinding)
    code_scheme = Dataset()
    code_scheme.CodingSchemeDesignator = c.PRIVATE_SCHEME
    code_scheme.CodingSchemeName = c.PRIVATE_SCHEME_NAME
    code_scheme.CodingSchemeResponsibleOrganization = c.PRIVATE_SCHEME_ORGANIZATION
    sr.CodingSchemeIdentificationSequence = [code_scheme]
    subject = str(getattr(ev[0], "ClinicalTrialSubjectID", "") or read.patient_id or "")
    if blinding is not None and blinding.enabled:
        _blind(sr, blinding.subject(subject) if subject else "")
    return SrExport(sr, warnings)


def _verification(
    sr: Dataset,
    read: Read,
    ordered: Sequence[ReadTimepoint],
    status: ReadStatus | None,
    blinding: Blinding | None,
) -> None:
    """VerificationFlag VERIFIED with a VerifyingObserverSequence item per signature when every
    timepoint of the read is signed (the document as a whole is attested, complete and final),
    else UNVERIFIED (partial, preliminary as highdicom writes it)."""
    uids = [tp.uid for tp in ordered]
    if status is None or not status.all_signed(uids):
        sr.VerificationFlag = "UNVERIFIED"
        for kw in ("VerifyingObserverSequence", "VerificationDateTime"):
            if kw in sr:
                delattr(sr, kw)
        return
    items: list[Dataset] = []
    for uid in uids:
        sig = status.of(uid)
        if sig is None:  # not reached: all_signed
            continue
        when = sig.signed_utc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        item = Dataset()
        item.VerifyingObserverName = _person_name(status.signer_name(sig, blinding))
        item.VerifyingObserverIdentificationCodeSequence = []
        item.VerifyingOrganization = MANUFACTURER
        item.VerificationDateTime = when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S+0000")
        key = (str(item.VerifyingObserverName), item.VerificationDateTime)
        if key not in {(str(i.VerifyingObserverName), i.VerificationDateTime) for i in items}:
            items.append(item)
    # PS3.3 C.17.2.1: VERIFIED only with CompletionFlag COMPLETE; every timepoint signed makes
    # the read complete and final (changing it later writes a new version).
    sr.CompletionFlag = "COMPLETE"
    sr.PreliminaryFlag = "FINAL"
    sr.VerificationFlag = "VERIFIED"
    sr.VerifyingObserverSequence = items


def _add_study_dates(root: Dataset, evidence: Mapping[str, Dataset]) -> None:
    """Study Date (DCM 111060) of each image library entry: how an import recovers the dates."""
    import highdicom as hd

    for item in root.ContentSequence:
        if c.key(item.ConceptNameCodeSequence[0]) != ("DCM", "111028"):
            continue
        for group in item.get("ContentSequence", []):
            for img in group.get("ContentSequence", []):
                if img.ValueType != "IMAGE":
                    continue
                h = evidence.get(str(img.ReferencedSOPSequence[0].ReferencedSOPInstanceUID))
                date = None if h is None else str(h.get("StudyDate", "") or "")
                if not date:
                    continue
                entry = hd.sr.DateContentItem(
                    name=c.dcm("111060", "Study Date"),
                    value=dt.date(int(date[0:4]), int(date[4:6]), int(date[6:8])),
                    relationship_type="HAS ACQ CONTEXT",
                )
                if "ContentSequence" not in img:
                    img.ContentSequence = []
                img.ContentSequence.append(entry)


def _person_name(text: str) -> str:
    """A reader's display name as a DICOM PN (``Demo Reader`` -> ``Reader^Demo``)."""
    if "^" in text:
        return text
    if text == HIDDEN_NAME:
        return f"{text}^"  # one component, said so (PS3.5 6.2.1.2)
    parts = text.split()
    if len(parts) >= 2:
        return f"{parts[-1]}^{' '.join(parts[:-1])}"
    return text


_BLIND_EMPTY = (
    "PatientBirthDate",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "ReferringPhysicianName",
    "ClinicalTrialSiteID",
    "ClinicalTrialSiteName",
)
_BLIND_DELETE = (
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "OtherPatientIDs",
    "OtherPatientNames",
    "IssuerOfPatientID",
    "PatientAge",
    "SeriesDate",
    "SeriesTime",
    "StationName",
)
_DATE_ITEM_CODES = {("DCM", "111060"), ("DCM", "111061"), ("DCM", "111018"), ("DCM", "111019")}


def _blind(sr: Dataset, subject_label: str) -> None:
    """Hide identifiers in the SR: name/ID -> pseudonym, dates, accession, institution emptied."""
    sr.PatientName = subject_label
    sr.PatientID = subject_label
    if "ClinicalTrialSubjectID" in sr:
        sr.ClinicalTrialSubjectID = subject_label
    for ds in _all_datasets(sr):
        for kw in _BLIND_EMPTY:
            if kw in ds:
                setattr(ds, kw, "")
        for kw in _BLIND_DELETE:
            if kw in ds:
                delattr(ds, kw)
    _drop_date_items(sr)


def _all_datasets(ds: Dataset) -> list[Dataset]:
    out = [ds]
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                out.extend(_all_datasets(item))
    return out


def _drop_date_items(ds: Dataset) -> None:
    """Remove DATE/TIME/DATETIME content items (image library study/acquisition dates)."""
    seq = getattr(ds, "ContentSequence", None)
    if seq is None:
        return
    keep = [
        item for item in seq if getattr(item, "ValueType", "") not in ("DATE", "TIME", "DATETIME")
    ]
    if len(keep) != len(seq):
        ds.ContentSequence = keep
    for item in keep:
        _drop_date_items(item)


def write_sr(export: SrExport, path: Any) -> Any:
    """Write the SR atomically (temporary file, then rename); returns the path."""
    from namecar_viewer.core.reports.atomic import atomic_write

    def _w(tmp: Any) -> None:
        export.dataset.save_as(tmp, enforce_file_format=True)

    return atomic_write(path, _w)
