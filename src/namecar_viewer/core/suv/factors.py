"""SUV scale factors from PET headers, so that no vendor's SUV is silently wrong.

A factor ``f`` turns the stored value after rescale (``stored * RescaleSlope + RescaleIntercept``)
into SUV: ``SUV = f * value``.  The logic follows the QIBA vendor-neutral SUV pseudo-code
(QIBA wiki, "Standardized Uptake Value (SUV)"), extended to every DecayCorrection mode:

* ``Units`` BQML: ``SUVbw = value * W[g] / D(t_ref)`` with the injected dose ``D`` decayed from the
  injection time to the time the pixel values refer to:

  - ``DecayCorrection`` START: values are decay-corrected to the series reference time
    ``t_ref`` = SeriesDate/SeriesTime, or the earliest AcquisitionDate/Time of the series when the
    series time is later (a post-processed series).  ``D(t_ref) = D * 2**(-(t_ref - t_inj)/T½)``.
  - ADMIN: values are already decay-corrected to the injection, so ``D(t_ref) = D``.
  - NONE: values are the mean activity during each frame, not decay-corrected.  For an instance
    whose frame starts at ``t_i`` (its AcquisitionDate/Time) and lasts ``Δ`` (ActualFrameDuration),
    the activity at ``t_i`` is ``value * λΔ / (1 - exp(-λΔ))`` with ``λ = ln 2 / T½``, hence
    ``f_i = W / (D * exp(-λ (t_i - t_inj))) * λΔ / (1 - exp(-λΔ))``.  Without AcquisitionTime the
    instance's FrameReferenceTime (ms after the series time, the moment the pixel values occurred)
    gives ``t_i`` directly and the frame-average term is 1.

* ``Units`` CNTS (Philips): ``SUVbw = value * (7053,1000)`` (SUV Scale Factor).  When only
  (7053,1009) (Activity Concentration Scale Factor) is present, ``value * (7053,1009)`` is in Bq/ml
  and the BQML rule above applies.
* ``Units`` GML: the values are SUVbw already (factor 1); QIBA assumes body weight.

SUL, SUVbsa and SUVibw are the SUVbw factor times ``LBM/W``, ``BSA[cm²]/W[g]`` and ``IBW/W``.

The injection time is RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime on the
date of the reference time, on the day before when that time of day is later than the reference
time of day (an injection before midnight, a scan after).  Date-times carrying a UTC offset are
compared in UTC; naive ones take the dataset's TimezoneOffsetFromUTC when present.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from namecar_viewer.core.problems import DicomInputError
from namecar_viewer.core.suv.body import LbmFormula, bsa_dubois, ibw_devine, lean_body_mass
from namecar_viewer.core.suv.dicom_time import parse_da, parse_dt, parse_offset, parse_tm

READER = "reader"
PHILIPS_CREATOR = "Philips PET Private Group"
PHILIPS_SUV_SCALE_TAG = (0x7053, 0x1000)
PHILIPS_ACTIVITY_SCALE_TAG = (0x7053, 0x1009)
# Philips' two private factors describe the same physics; beyond this relative disagreement the
# reader is warned (the SUV Scale Factor is still used, as QIBA prescribes).
PHILIPS_CROSS_CHECK_TOLERANCE = 0.02
# Relative difference under which per-instance factors count as one series factor.
FACTOR_EQUALITY_RTOL = 1e-9
# Plausibility bounds that only raise warnings (values outside are more likely a unit error).
PLAUSIBLE_WEIGHT_KG = (2.0, 350.0)
PLAUSIBLE_HEIGHT_M = (0.4, 2.5)
PLAUSIBLE_DOSE_BQ = (1.0e6, 5.0e10)
PLAUSIBLE_UPTAKE_S = (0.0, 24 * 3600.0)


class SuvInputError(DicomInputError):
    """A header value SUV needs is missing or unusable; the message names the tag and file."""


class PetUnits(enum.Enum):
    """PET Units (0054,1001) this module converts to SUV."""

    BQML = "BQML"
    CNTS = "CNTS"
    GML = "GML"


class DecayCorrection(enum.Enum):
    """DecayCorrection (0054,1102): the time the pixel values were decay-corrected to."""

    START = "START"
    ADMIN = "ADMIN"
    NONE = "NONE"


class SuvKind(enum.Enum):
    """SUV normalisation: body weight, lean body mass (SUL), body surface area, ideal weight."""

    BW = "bw"
    LBM = "lbm"
    BSA = "bsa"
    IBW = "ibw"


@dataclass(frozen=True)
class SuvOverrides:
    """Values the reader entered (audited) that replace or supply header values.

    ``injection_datetime`` may be naive (then read as the series' local clock) or timezone-aware.
    """

    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    patient_sex: str | None = None
    injected_dose_bq: float | None = None
    injection_datetime: dt.datetime | None = None
    half_life_s: float | None = None


@dataclass(frozen=True)
class InputValue:
    """One value SUV used and where it came from: a tag, ``"reader"`` or a derivation."""

    value: Any
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"value": _jsonable(self.value), "source": self.source}


@dataclass(frozen=True)
class SuvFactors:
    """Multipliers from rescaled stored values to SUVbw, SUL (g/ml), SUVbsa (cm²/ml), SUVibw."""

    bw: float
    lbm: float | None = None
    bsa: float | None = None
    ibw: float | None = None

    def get(self, kind: SuvKind) -> float | None:
        return {
            SuvKind.BW: self.bw,
            SuvKind.LBM: self.lbm,
            SuvKind.BSA: self.bsa,
            SuvKind.IBW: self.ibw,
        }[kind]

    def close_to(self, other: SuvFactors) -> bool:
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if (a is None) != (b is None):
                return False
            if a is not None and not math.isclose(a, b, rel_tol=FACTOR_EQUALITY_RTOL):
                return False
        return True


@dataclass
class SuvResult:
    """SUV factors of one PET series with every input and its provenance."""

    series_instance_uid: str
    units: PetUnits
    decay_correction: DecayCorrection
    instance_factors: dict[str, SuvFactors]
    inputs: dict[str, InputValue]
    warnings: list[str] = field(default_factory=list)
    lbm_formula: LbmFormula = LbmFormula.JANMAHASATIAN

    @property
    def is_uniform(self) -> bool:
        """True when every instance has the same factors (then ``factors`` is not None)."""
        values = list(self.instance_factors.values())
        return all(v.close_to(values[0]) for v in values[1:])

    @property
    def factors(self) -> SuvFactors | None:
        """The series factors, or None when they differ per instance."""
        if not self.instance_factors or not self.is_uniform:
            return None
        return next(iter(self.instance_factors.values()))

    def factor_for(self, sop_instance_uid: str, kind: SuvKind = SuvKind.BW) -> float | None:
        """Factor for one instance; raises KeyError for an instance not in the series."""
        return self.instance_factors[sop_instance_uid].get(kind)

    def slice_factors(
        self, sop_instance_uids: Sequence[str], kind: SuvKind = SuvKind.BW
    ) -> list[float]:
        """One factor per slice of a volume built from this series (by SOPInstanceUID).

        Raises
        ------
        SuvInputError
            When a slice's instance is not in this result or the factor kind is unavailable.
        """
        out: list[float] = []
        for uid in sop_instance_uids:
            factors = self.instance_factors.get(uid)
            if factors is None:
                raise SuvInputError(
                    f"instance {uid} is not in PET series {self.series_instance_uid}"
                )
            value = factors.get(kind)
            if value is None:
                raise SuvInputError(
                    f"SUV{kind.value} is unavailable for series {self.series_instance_uid}: "
                    + "; ".join(self.warnings)
                )
            out.append(value)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``namecar-viewer suv --json`` record: a number per factor, or {SOP UID: number}."""

        def factor(kind: SuvKind) -> Any:
            uniform = self.factors
            if uniform is not None:
                return uniform.get(kind)
            return {uid: f.get(kind) for uid, f in self.instance_factors.items()}

        return {
            "series_instance_uid": self.series_instance_uid,
            "units": self.units.value,
            "suv_bw_factor": factor(SuvKind.BW),
            "suv_lbm_factor": factor(SuvKind.LBM),
            "suv_bsa_factor": factor(SuvKind.BSA),
            "suv_ibw_factor": factor(SuvKind.IBW),
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "warnings": list(self.warnings),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def tag_label(keyword: str) -> str:
    """``"PatientWeight (0010,1030)"``: how every message and provenance names a tag."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return keyword
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _file_of(ds: Dataset) -> str:
    name = getattr(ds, "filename", None)
    return str(name) if name else f"instance {ds.get('SOPInstanceUID', '<no SOPInstanceUID>')}"


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _float(ds: Dataset, keyword: str) -> float | None:
    text = _text(ds, keyword)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise SuvInputError(
            f"{tag_label(keyword)} has the non-numeric value {text!r} in file {_file_of(ds)}"
        ) from exc


def _radiopharm_item(ds: Dataset) -> Dataset | None:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None
    item: Dataset = seq[0]
    return item


def _private_float(ds: Dataset, element_offset: int, literal_tag: tuple[int, int]) -> float | None:
    """Read a Philips PET private value by its creator, else at its usual literal tag."""
    elem = None
    try:
        block = ds.private_block(0x7053, PHILIPS_CREATOR)
        if element_offset in block:
            elem = block[element_offset]
    except KeyError:
        elem = None
    if elem is None and literal_tag in ds:
        elem = ds[literal_tag]
    if elem is None or elem.value is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        # Implicit-VR files carry unknown private elements as UN bytes: DS text, rarely FD.
        text = value.decode("ascii", errors="replace").strip("\x00 ")
        try:
            return float(text)
        except ValueError:
            if len(value) == 8:
                return float(struct.unpack("<d", value)[0])
            raise SuvInputError(
                f"Philips private tag ({literal_tag[0]:04X},{literal_tag[1]:04X}) has the "
                f"unreadable value {value!r} in file {_file_of(ds)}"
            ) from None
    if isinstance(value, list | tuple):
        value = value[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SuvInputError(
            f"Philips private tag ({literal_tag[0]:04X},{literal_tag[1]:04X}) has the "
            f"non-numeric value {value!r} in file {_file_of(ds)}"
        ) from None


def _dataset_tz(ds: Dataset, warnings: list[str]) -> dt.timezone | None:
    text = _text(ds, "TimezoneOffsetFromUTC")
    if text is None:
        return None
    try:
        return parse_offset(text)
    except ValueError as exc:
        warnings.append(f"{tag_label('TimezoneOffsetFromUTC')} ignored in {_file_of(ds)}: {exc}")
        return None


def _attach_tz(value: dt.datetime, tz: dt.timezone | None) -> dt.datetime:
    if value.tzinfo is None and tz is not None:
        return value.replace(tzinfo=tz)
    return value


def _date_time(
    ds: Dataset, date_kw: str, time_kw: str, tz: dt.timezone | None
) -> dt.datetime | None:
    date_text, time_text = _text(ds, date_kw), _text(ds, time_kw)
    if date_text is None or time_text is None:
        return None
    try:
        value = dt.datetime.combine(parse_da(date_text), parse_tm(time_text))
    except ValueError as exc:
        raise SuvInputError(
            f"{tag_label(date_kw)}/{tag_label(time_kw)} unreadable in file {_file_of(ds)}: {exc}"
        ) from exc
    return _attach_tz(value, tz)


def _acquisition_datetime(ds: Dataset, tz: dt.timezone | None) -> tuple[dt.datetime, str] | None:
    text = _text(ds, "AcquisitionDateTime")
    if text is not None:
        try:
            return _attach_tz(parse_dt(text), tz), tag_label("AcquisitionDateTime")
        except ValueError as exc:
            raise SuvInputError(
                f"{tag_label('AcquisitionDateTime')} unreadable in file {_file_of(ds)}: {exc}"
            ) from exc
    value = _date_time(ds, "AcquisitionDate", "AcquisitionTime", tz)
    if value is None:
        return None
    return value, f"{tag_label('AcquisitionDate')} + {tag_label('AcquisitionTime')}"


def _seconds_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds()


def _same_clock(
    a: dt.datetime, b: dt.datetime, warnings: list[str]
) -> tuple[dt.datetime, dt.datetime]:
    """Make two datetimes comparable; a naive one is read in the other's offset, with a warning."""
    if (a.tzinfo is None) == (b.tzinfo is None):
        return a, b
    aware = a if a.tzinfo is not None else b
    msg = (
        f"one time carries a UTC offset ({aware.isoformat()}) and the other none, and "
        f"{tag_label('TimezoneOffsetFromUTC')} is absent: the naive time was taken in the same "
        "offset"
    )
    if msg not in warnings:
        warnings.append(msg)
    if a.tzinfo is None:
        return a.replace(tzinfo=b.tzinfo), b
    return a, b.replace(tzinfo=a.tzinfo)


def _check_series_consistency(datasets: Sequence[Dataset]) -> None:
    first = datasets[0]
    for keyword in (
        "SeriesInstanceUID",
        "Units",
        "DecayCorrection",
        "PatientWeight",
        "PatientSize",
        "SeriesDate",
        "SeriesTime",
    ):
        ref = _text(first, keyword)
        for ds in datasets[1:]:
            other = _text(ds, keyword)
            if other != ref:
                raise SuvInputError(
                    f"{tag_label(keyword)} differs within the series: {ref!r} in file "
                    f"{_file_of(first)} but {other!r} in file {_file_of(ds)}"
                )
    ref_item = _radiopharm_item(first)
    for ds in datasets[1:]:
        item = _radiopharm_item(ds)
        for keyword in ("RadionuclideTotalDose", "RadionuclideHalfLife"):
            a = _text(ref_item, keyword) if ref_item is not None else None
            b = _text(item, keyword) if item is not None else None
            if a != b:
                raise SuvInputError(
                    f"{tag_label(keyword)} differs within the series: {a!r} in file "
                    f"{_file_of(first)} but {b!r} in file {_file_of(ds)}"
                )


class _Inputs:
    """Collects values with provenance; a missing required one raises, naming the tag."""

    def __init__(self, first: Dataset, overrides: SuvOverrides) -> None:
        self.first = first
        self.overrides = overrides
        self.values: dict[str, InputValue] = {}
        self.warnings: list[str] = []

    def record(self, name: str, value: Any, source: str) -> None:
        self.values[name] = InputValue(value, source)

    def numeric(
        self,
        name: str,
        override: float | None,
        keyword: str,
        read: Callable[[], float | None],
        *,
        required: bool,
        why: str,
    ) -> float | None:
        tag_value = read()
        if override is not None:
            if tag_value is not None and not math.isclose(tag_value, override, rel_tol=1e-9):
                self.warnings.append(
                    f"{name}: reader-entered {override:g} replaces {tag_label(keyword)} = "
                    f"{tag_value:g}"
                )
            self.record(name, float(override), READER)
            return float(override)
        if tag_value is None or tag_value <= 0.0:
            state = "missing" if tag_value is None else f"not positive ({tag_value:g})"
            msg = f"{tag_label(keyword)} is {state} in file {_file_of(self.first)}; {why}"
            if required:
                raise SuvInputError(msg + "; the reader can enter it")
            self.warnings.append(msg)
            return None
        self.record(name, tag_value, tag_label(keyword))
        return tag_value


def compute_suv_factors(
    datasets: Sequence[Dataset],
    overrides: SuvOverrides | None = None,
    lbm_formula: LbmFormula = LbmFormula.JANMAHASATIAN,
) -> SuvResult:
    """Compute SUV factors for every instance of one PET series from its headers.

    Parameters
    ----------
    datasets
        Every instance of one series (headers suffice: ``dcmread(f, stop_before_pixels=True)``).
        All are needed for a START series, whose reference time may be the earliest acquisition.
    overrides
        Reader-entered values; each is recorded with source ``"reader"``.
    lbm_formula
        Lean body mass estimate for SUL (Janmahasatian by default, as PERCIST).

    Raises
    ------
    SuvInputError
        When a value SUVbw needs (weight, dose, a time, the half-life, a Philips factor) is
        missing and not entered by the reader; the message names the tag and the file.
    """
    if not datasets:
        raise ValueError('Argument "datasets" must hold at least one PET instance.')
    ov = overrides or SuvOverrides()
    _check_series_consistency(datasets)
    first = datasets[0]
    inp = _Inputs(first, ov)
    warnings = inp.warnings
    series_uid = _text(first, "SeriesInstanceUID") or ""
    modality = _text(first, "Modality")
    if modality not in (None, "PT"):
        raise SuvInputError(
            f"{tag_label('Modality')} is {modality!r}, not PT, in file {_file_of(first)}"
        )

    units_text = _text(first, "Units")
    if units_text is None:
        raise SuvInputError(f"{tag_label('Units')} is missing in file {_file_of(first)}")
    try:
        units = PetUnits(units_text.upper())
    except ValueError:
        raise SuvInputError(
            f"{tag_label('Units')} is {units_text!r} in file {_file_of(first)}; SUV is computed "
            "only from BQML, CNTS (Philips) or GML"
        ) from None
    inp.record("units", units.value, tag_label("Units"))

    decay_text = _text(first, "DecayCorrection")
    if decay_text is None:
        raise SuvInputError(f"{tag_label('DecayCorrection')} is missing in file {_file_of(first)}")
    try:
        decay = DecayCorrection(decay_text.upper())
    except ValueError:
        raise SuvInputError(
            f"{tag_label('DecayCorrection')} is {decay_text!r} in file {_file_of(first)}; "
            "expected START, ADMIN or NONE"
        ) from None
    inp.record("decay_correction", decay.value, tag_label("DecayCorrection"))

    corrected = [str(v).upper() for v in (first.get("CorrectedImage") or [])]
    if corrected:
        inp.record("corrected_image", corrected, tag_label("CorrectedImage"))
        if "ATTN" not in corrected:
            warnings.append(
                f"{tag_label('CorrectedImage')} lacks ATTN: the images are not attenuation "
                "corrected and SUV is not quantitative"
            )
        if "DECY" not in corrected and decay is not DecayCorrection.NONE:
            warnings.append(
                f"{tag_label('CorrectedImage')} lacks DECY although DecayCorrection is "
                f"{decay.value}"
            )
    else:
        warnings.append(f"{tag_label('CorrectedImage')} is missing; attenuation correction unknown")

    item = _radiopharm_item(first)
    bw_factors = _bw_factors(datasets, units, decay, item, inp)
    weight = inp.values.get("patient_weight_kg")
    weight_kg = None if weight is None else float(weight.value)
    if weight_kg is None and units is not PetUnits.BQML:
        weight_kg = inp.numeric(
            "patient_weight_kg",
            ov.patient_weight_kg,
            "PatientWeight",
            lambda: _float(first, "PatientWeight"),
            required=False,
            why="SUL, SUVbsa and SUVibw need it",
        )
    ratios = _body_ratios(first, inp, weight_kg, lbm_formula)

    instance_factors: dict[str, SuvFactors] = {}
    for ds, bw in zip(datasets, bw_factors, strict=True):
        uid = _text(ds, "SOPInstanceUID") or _file_of(ds)
        instance_factors[uid] = SuvFactors(
            bw=bw,
            lbm=None if ratios[0] is None else bw * ratios[0],
            bsa=None if ratios[1] is None else bw * ratios[1],
            ibw=None if ratios[2] is None else bw * ratios[2],
        )
    return SuvResult(
        series_instance_uid=series_uid,
        units=units,
        decay_correction=decay,
        instance_factors=instance_factors,
        inputs=inp.values,
        warnings=warnings,
        lbm_formula=lbm_formula,
    )


def _body_ratios(
    first: Dataset, inp: _Inputs, weight_kg: float | None, formula: LbmFormula
) -> tuple[float | None, float | None, float | None]:
    """LBM/W, BSA[cm²]/W[g] and IBW/W, or None with a warning when height or sex is unknown."""
    ov = inp.overrides
    height = inp.numeric(
        "patient_height_m",
        ov.patient_height_m,
        "PatientSize",
        lambda: _float(first, "PatientSize"),
        required=False,
        why="SUL, SUVbsa and SUVibw need it",
    )
    if height is not None and not PLAUSIBLE_HEIGHT_M[0] <= height <= PLAUSIBLE_HEIGHT_M[1]:
        inp.warnings.append(
            f"{tag_label('PatientSize')} = {height:g} m is implausible (is it in cm?)"
        )
    sex: str | None
    if ov.patient_sex is not None:
        sex = ov.patient_sex.strip().upper()
        inp.record("patient_sex", sex, READER)
    else:
        sex = (_text(first, "PatientSex") or "").upper() or None
        if sex in ("M", "F"):
            inp.record("patient_sex", sex, tag_label("PatientSex"))
    if sex not in ("M", "F"):
        inp.warnings.append(
            f"{tag_label('PatientSex')} is {sex or 'missing'!s} in file {_file_of(first)}; "
            "SUL and SUVibw need M or F"
        )
        sex = None
    if weight_kg is None:
        return None, None, None
    lbm_ratio = bsa_ratio = ibw_ratio = None
    if height is not None:
        bsa = bsa_dubois(weight_kg, height)
        inp.record("bsa_m2", bsa, "derived: Du Bois 1916 from patient_weight_kg, patient_height_m")
        bsa_ratio = bsa * 1.0e4 / (weight_kg * 1000.0)
        if sex is not None:
            lbm = lean_body_mass(weight_kg, height, sex, formula)
            inp.record(
                "lbm_kg",
                lbm,
                f"derived: {formula.value} from patient_weight_kg, patient_height_m, patient_sex",
            )
            ibw = ibw_devine(height, sex)
            inp.record("ibw_kg", ibw, "derived: Devine 1974 from patient_height_m, patient_sex")
            if lbm <= 0.0 or ibw <= 0.0:
                inp.warnings.append(
                    f"lean body mass {lbm:.1f} kg / ideal body weight {ibw:.1f} kg not positive; "
                    "SUL and SUVibw not computed"
                )
            else:
                lbm_ratio = lbm / weight_kg
                ibw_ratio = ibw / weight_kg
    return lbm_ratio, bsa_ratio, ibw_ratio


def _bw_factors(
    datasets: Sequence[Dataset],
    units: PetUnits,
    decay: DecayCorrection,
    item: Dataset | None,
    inp: _Inputs,
) -> list[float]:
    """SUVbw factor of each instance."""
    first = datasets[0]
    if units is PetUnits.GML:
        inp.warnings.append(
            "Units GML: values taken as SUVbw already (QIBA); the normalisation the scanner used "
            "is not recorded in the header"
        )
        return [1.0] * len(datasets)
    if units is PetUnits.CNTS:
        suv_scales = [_private_float(ds, 0x00, PHILIPS_SUV_SCALE_TAG) for ds in datasets]
        act_scales = [_private_float(ds, 0x09, PHILIPS_ACTIVITY_SCALE_TAG) for ds in datasets]
        if all(s is not None and s > 0 for s in suv_scales):
            scales = [float(s) for s in suv_scales if s is not None]
            inp.record(
                "philips_suv_scale_factor",
                scales[0] if len(set(scales)) == 1 else scales,
                f"{PHILIPS_CREATOR} (7053,1000)",
            )
            if all(a is not None and a > 0 for a in act_scales):
                _philips_cross_check(datasets, decay, item, inp, scales, act_scales)
            return scales
        if all(a is not None and a > 0 for a in act_scales):
            acts = [float(a) for a in act_scales if a is not None]
            inp.record(
                "philips_activity_concentration_scale_factor",
                acts[0] if len(set(acts)) == 1 else acts,
                f"{PHILIPS_CREATOR} (7053,1009)",
            )
            bq = _bqml_factors(datasets, decay, item, inp)
            return [a * b for a, b in zip(acts, bq, strict=True)]
        raise SuvInputError(
            f"Units CNTS in file {_file_of(first)} but neither Philips SUV Scale Factor "
            "(7053,1000) "
            "nor Activity Concentration Scale Factor (7053,1009) is present in every instance; "
            "counts cannot be converted to SUV"
        )
    return _bqml_factors(datasets, decay, item, inp)


def _philips_cross_check(
    datasets: Sequence[Dataset],
    decay: DecayCorrection,
    item: Dataset | None,
    inp: _Inputs,
    suv_scales: list[float],
    act_scales: list[float | None],
) -> None:
    """Warn when (7053,1000) disagrees with (7053,1009) times the BQML factor from the tags."""
    probe = _Inputs(datasets[0], inp.overrides)
    try:
        bq = _bqml_factors(datasets, decay, item, probe)
    except SuvInputError:
        return
    for ds, s, a, b in zip(datasets, suv_scales, act_scales, bq, strict=True):
        if a is None:
            continue
        expected = a * b
        if not math.isclose(s, expected, rel_tol=PHILIPS_CROSS_CHECK_TOLERANCE):
            inp.warnings.append(
                f"Philips SUV Scale Factor (7053,1000) = {s:.6g} but (7053,1009) x weight/decayed "
                f"dose = {expected:.6g} in file {_file_of(ds)}; (7053,1000) used"
            )
            return


def _bqml_factors(
    datasets: Sequence[Dataset],
    decay: DecayCorrection,
    item: Dataset | None,
    inp: _Inputs,
) -> list[float]:
    """W[g] / decayed dose for Bq/ml values, one per instance (see the module docstring)."""
    first = datasets[0]
    ov = inp.overrides
    weight = inp.numeric(
        "patient_weight_kg",
        ov.patient_weight_kg,
        "PatientWeight",
        lambda: _float(first, "PatientWeight"),
        required=True,
        why="SUVbw needs the body weight",
    )
    assert weight is not None
    if not PLAUSIBLE_WEIGHT_KG[0] <= weight <= PLAUSIBLE_WEIGHT_KG[1]:
        inp.warnings.append(f"{tag_label('PatientWeight')} = {weight:g} kg is implausible")
    if item is None and ov.injected_dose_bq is None:
        raise SuvInputError(
            f"{tag_label('RadiopharmaceuticalInformationSequence')} is missing in file "
            f"{_file_of(first)}; SUV needs the injected dose and time; the reader can enter them"
        )
    dose = inp.numeric(
        "injected_dose_bq",
        ov.injected_dose_bq,
        "RadionuclideTotalDose",
        lambda: None if item is None else _float(item, "RadionuclideTotalDose"),
        required=True,
        why="SUV needs the injected activity",
    )
    assert dose is not None
    if not PLAUSIBLE_DOSE_BQ[0] <= dose <= PLAUSIBLE_DOSE_BQ[1]:
        inp.warnings.append(
            f"{tag_label('RadionuclideTotalDose')} = {dose:g} Bq is implausible (MBq entered?)"
        )
    grams = weight * 1000.0
    if decay is DecayCorrection.ADMIN:
        # Values are decay-corrected to the administration: the dose needs no decay.
        return [grams / dose] * len(datasets)

    half_life = inp.numeric(
        "half_life_s",
        ov.half_life_s,
        "RadionuclideHalfLife",
        lambda: None if item is None else _float(item, "RadionuclideHalfLife"),
        required=True,
        why="decay correction needs the radionuclide half-life",
    )
    assert half_life is not None
    lam = math.log(2.0) / half_life
    tz = _dataset_tz(first, inp.warnings)
    if tz is not None:
        inp.record("timezone_offset_from_utc", str(tz), tag_label("TimezoneOffsetFromUTC"))

    series_dt = _date_time(first, "SeriesDate", "SeriesTime", tz)
    acquisitions = [_acquisition_datetime(ds, tz) for ds in datasets]
    known = [a for a in acquisitions if a is not None]
    earliest = min(known, key=lambda a: _comparable(a[0])) if known else None
    if series_dt is None and earliest is None:
        raise SuvInputError(
            f"{tag_label('SeriesDate')}/{tag_label('SeriesTime')} and "
            f"{tag_label('AcquisitionDate')}/{tag_label('AcquisitionTime')} are missing in file "
            f"{_file_of(first)}; the reference time for decay is unknown"
        )
    ref_source = f"{tag_label('SeriesDate')} + {tag_label('SeriesTime')}"
    reference: dt.datetime
    if series_dt is None:
        assert earliest is not None
        reference, ref_source = earliest[0], f"earliest {earliest[1]} (series time missing)"
        inp.warnings.append("SeriesTime missing: the earliest acquisition time is the reference")
    else:
        reference = series_dt
        if earliest is not None:
            s, e = _same_clock(series_dt, earliest[0], inp.warnings)
            if s > e:
                reference = earliest[0]
                ref_source = f"earliest {earliest[1]} of the series"
                inp.warnings.append(
                    f"SeriesTime ({series_dt.isoformat()}) is later than the earliest acquisition "
                    f"({earliest[0].isoformat()}): a post-processed series; the acquisition start "
                    "is the decay reference"
                )
    inp.record("reference_datetime", reference, ref_source)

    injection = _injection_datetime(first, item, reference, tz, inp)
    reference_c, injection_c = _same_clock(reference, injection, inp.warnings)

    if decay is DecayCorrection.START:
        uptake = _seconds_between(reference_c, injection_c)
        _check_uptake(uptake, inp)
        inp.record("decay_time_s", uptake, "derived: reference_datetime - injection_datetime")
        return [grams / (dose * math.exp(-lam * uptake))] * len(datasets)

    # NONE: each instance at its own frame time.
    factors: list[float] = []
    times: dict[str, float] = {}
    for ds, acq in zip(datasets, acquisitions, strict=True):
        uid = _text(ds, "SOPInstanceUID") or _file_of(ds)
        frame_average = 1.0
        if acq is not None:
            start_c, inj_c = _same_clock(acq[0], injection, inp.warnings)
            elapsed = _seconds_between(start_c, inj_c)
            duration_ms = _float(ds, "ActualFrameDuration")
            if duration_ms is not None and duration_ms > 0:
                x = lam * duration_ms / 1000.0
                frame_average = x / -math.expm1(-x)
            else:
                inp.warnings.append(
                    f"{tag_label('ActualFrameDuration')} missing in file {_file_of(ds)}: decay "
                    "during the frame is not corrected"
                )
        else:
            frt = _float(ds, "FrameReferenceTime")
            if frt is None or series_dt is None:
                raise SuvInputError(
                    f"{tag_label('AcquisitionTime')} and {tag_label('FrameReferenceTime')} are "
                    f"missing in file {_file_of(ds)}; DecayCorrection NONE needs the frame time"
                )
            ser_c, inj_c = _same_clock(series_dt, injection, inp.warnings)
            elapsed = _seconds_between(ser_c, inj_c) + frt / 1000.0
        _check_uptake(elapsed, inp)
        times[uid] = elapsed
        factors.append(grams * frame_average / (dose * math.exp(-lam * elapsed)))
    inp.record(
        "frame_decay_times_s",
        times,
        f"derived: per instance {tag_label('AcquisitionDate')} + {tag_label('AcquisitionTime')} "
        f"(else series time + {tag_label('FrameReferenceTime')}) - injection_datetime, "
        f"with {tag_label('ActualFrameDuration')} for decay during the frame",
    )
    return factors


def _comparable(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def _check_uptake(seconds: float, inp: _Inputs) -> None:
    if seconds < PLAUSIBLE_UPTAKE_S[0]:
        inp.warnings.append(
            f"the scan reference time is {-seconds:.0f} s BEFORE the injection: check the "
            "injection date and time"
        )
    elif seconds > PLAUSIBLE_UPTAKE_S[1]:
        inp.warnings.append(f"injection-to-scan time of {seconds / 3600:.1f} h is implausible")


def _injection_datetime(
    first: Dataset,
    item: Dataset | None,
    reference: dt.datetime,
    tz: dt.timezone | None,
    inp: _Inputs,
) -> dt.datetime:
    ov = inp.overrides
    if ov.injection_datetime is not None:
        value = ov.injection_datetime
        inp.record("injection_datetime", value, READER)
        return _attach_tz(value, tz)
    dt_text = None if item is None else _text(item, "RadiopharmaceuticalStartDateTime")
    if dt_text is not None:
        try:
            value = _attach_tz(parse_dt(dt_text), tz)
        except ValueError as exc:
            raise SuvInputError(
                f"{tag_label('RadiopharmaceuticalStartDateTime')} unreadable in file "
                f"{_file_of(first)}: {exc}"
            ) from exc
        inp.record("injection_datetime", value, tag_label("RadiopharmaceuticalStartDateTime"))
        return value
    tm_text = None if item is None else _text(item, "RadiopharmaceuticalStartTime")
    if tm_text is None:
        raise SuvInputError(
            f"{tag_label('RadiopharmaceuticalStartDateTime')} and "
            f"{tag_label('RadiopharmaceuticalStartTime')} are missing in file {_file_of(first)}; "
            "SUV needs the injection time; the reader can enter it"
        )
    try:
        tod = parse_tm(tm_text)
    except ValueError as exc:
        raise SuvInputError(
            f"{tag_label('RadiopharmaceuticalStartTime')} unreadable in file {_file_of(first)}: "
            f"{exc}"
        ) from exc
    day = reference.date()
    source = f"{tag_label('RadiopharmaceuticalStartTime')} on the reference date"
    if tod > reference.time().replace(tzinfo=None):
        day -= dt.timedelta(days=1)
        source = f"{tag_label('RadiopharmaceuticalStartTime')} on the day before the reference date"
        inp.warnings.append(
            "injection time of day is later than the scan reference time: the injection was taken "
            "to be on the previous day (midnight crossing)"
        )
    value = dt.datetime.combine(day, tod).replace(tzinfo=reference.tzinfo)
    inp.record("injection_datetime", value, source)
    return value
