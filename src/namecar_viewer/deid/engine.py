"""De-identification by the DICOM PS3.15 Basic Application Level Confidentiality Profile.

Options a trial needs (PS3.15 E.3): Retain Longitudinal Temporal Information with Modified Dates
(every date of a patient moved back by the same per-patient whole number of days, times of day
kept, so follow-up intervals in days, uptake times and SUV are exact), Retain Patient
Characteristics (sex, age, size and weight, which SUV needs), Clean Descriptors, Clean
Structured Content (for our SRs), and Retain Safe Private limited to the Philips PET SUV scale
factors (group 7053). The result carries PatientIdentityRemoved = YES, DeidentificationMethod
and its code sequence (CID 7050).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag

from namecar_viewer.core.dicom.header_checks import PYDICOM_READ_FAILURES
from namecar_viewer.deid.mapping import DeidMapping, MappingError
from namecar_viewer.deid.profile_table import REPEATING_GROUP_REMOVALS, basic_profile

PROFILE = basic_profile()

# PS3.15 E.3.7 Retain Patient Characteristics: the ones SUV (and SUL/SUVbsa) need.
PATIENT_CHARACTERISTICS = frozenset({"PatientSex", "PatientAge", "PatientSize", "PatientWeight"})
# Never shifted, even with modified dates: they identify, and the age is kept instead.
NEVER_SHIFTED = frozenset({"PatientBirthDate", "PatientBirthTime"})
# PS3.15 E.3.5 Clean Descriptors: free-text descriptions kept once cleaned of identifiers.
DESCRIPTORS = frozenset(
    {
        "StudyDescription",
        "SeriesDescription",
        "ProtocolName",
        "ImageComments",
        "AcquisitionComments",
        "AcquisitionProtocolDescription",
        "AdditionalPatientHistory",
        "DerivationDescription",
        "FrameComments",
        "PerformedProcedureStepDescription",
        "RequestedProcedureDescription",
        "ScheduledProcedureStepDescription",
        "AdmittingDiagnosesDescription",
        "ImagePresentationComments",
        "ContrastBolusAgent",
        "AcquisitionDeviceProcessingDescription",
        "ClinicalTrialSeriesDescription",
        "ClinicalTrialTimePointDescription",
    }
)
# Modalities whose images often carry burned-in identifying text.
BURNED_IN_MODALITIES = frozenset({"US", "XA", "RF", "ES", "SC", "OT", "XC", "GM", "DOC"})
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
PHILIPS_PET_CREATOR = "Philips PET Private Group"
PHILIPS_PET_GROUP = 0x7053

# CID 7050 De-identification Method (DCM codes).
CODE_BASIC = ("113100", "Basic Application Confidentiality Profile")
CODE_CLEAN_STRUCTURED = ("113104", "Clean Structured Content Option")
CODE_CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")
CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
CODE_PATIENT_CHARS = ("113108", "Retain Patient Characteristics Option")
CODE_SAFE_PRIVATE = ("113111", "Retain Safe Private Option")

DUMMY_TEXT = "DEIDENTIFIED"
_DUMMY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class DeidOptions:
    """Profile options; the defaults are those of sending NAMECAR images to central review."""

    retain_modified_dates: bool = True
    retain_patient_characteristics: bool = True
    clean_descriptors: bool = True
    clean_structured_content: bool = True
    keep_philips_suv_private: bool = False
    keep_encapsulated_document: bool = False
    # Set after de-identification, e.g. {"ClinicalTrialProtocolID": "NCT06882486"}
    trial_attributes: dict[str, str] = field(default_factory=dict)

    def method_codes(self) -> list[tuple[str, str]]:
        codes = [CODE_BASIC]
        if self.clean_structured_content:
            codes.append(CODE_CLEAN_STRUCTURED)
        if self.clean_descriptors:
            codes.append(CODE_CLEAN_DESCRIPTORS)
        if self.retain_modified_dates:
            codes.append(CODE_MODIFIED_DATES)
        if self.retain_patient_characteristics:
            codes.append(CODE_PATIENT_CHARS)
        if self.keep_philips_suv_private:
            codes.append(CODE_SAFE_PRIVATE)
        return codes


@dataclass
class DeidResult:
    dataset: Dataset
    subject_id: str
    warnings: list[str] = field(default_factory=list)


class DeidError(Exception):
    """The dataset cannot be de-identified (no patient identity, mapping conflict)."""


# ---------------------------------------------------------------------------- date shifting
_TM_RE = re.compile(r"^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.(\d{1,6}))?$")
_DT_RE = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
)


def _parse_tm(text: str) -> tuple[dt.time, int, int] | None:
    """Time, number of components given (1-3) and fraction digits."""
    m = _TM_RE.match(text.strip())
    if not m:
        return None
    hh, mm, ss, frac = m.groups()
    parts = 1 + (mm is not None) + (ss is not None)
    us = int((frac or "0").ljust(6, "0")[:6])
    sec = min(int(ss or 0), 59)  # leap second 60 folded
    return dt.time(int(hh), int(mm or 0), sec, us), parts, len(frac or "")


def _fmt_tm(t: dt.time, parts: int, frac_digits: int) -> str:
    s = f"{t.hour:02d}"
    if parts >= 2:
        s += f"{t.minute:02d}"
    if parts >= 3:
        s += f"{t.second:02d}"
        if frac_digits:
            s += "." + f"{t.microsecond:06d}"[:frac_digits]
    return s


def _parse_da(text: str) -> dt.date | None:
    t = text.strip().replace(".", "")
    if len(t) != 8 or not t.isdigit():
        return None
    try:
        return dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
    except ValueError:
        return None


def shift_da(text: str, offset: dt.timedelta) -> str | None:
    d = _parse_da(text)
    if d is None:
        return None
    return (dt.datetime.combine(d, dt.time()) + offset).strftime("%Y%m%d")


def shift_tm(text: str, offset: dt.timedelta) -> str | None:
    p = _parse_tm(text)
    if p is None:
        return None
    t, parts, frac = p
    moved = (dt.datetime.combine(dt.date(2000, 1, 1), t) + offset).time()
    return _fmt_tm(moved, parts, frac)


def shift_da_tm(date: str, time: str, offset: dt.timedelta) -> tuple[str, str] | None:
    d = _parse_da(date)
    p = _parse_tm(time)
    if d is None or p is None:
        return None
    t, parts, frac = p
    moved = dt.datetime.combine(d, t) + offset
    return moved.strftime("%Y%m%d"), _fmt_tm(moved.time(), parts, frac)


def shift_dt(text: str, offset: dt.timedelta) -> str | None:
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    if mo is None or d is None:
        return None  # year or year-month only: cannot be shifted by a day offset
    try:
        value = dt.datetime(
            int(y),
            int(mo),
            int(d),
            int(hh or 0),
            int(mi or 0),
            min(int(ss or 0), 59),
            int((frac or "0").ljust(6, "0")[:6]),
        )
    except ValueError:
        return None
    moved = value + offset
    s = moved.strftime("%Y%m%d")
    if hh is not None:
        s += f"{moved.hour:02d}"
    if mi is not None:
        s += f"{moved.minute:02d}"
    if ss is not None:
        s += f"{moved.second:02d}"
        if frac:
            s += "." + f"{moved.microsecond:06d}"[: len(frac)]
    return s + (tz or "")


# ---------------------------------------------------------------------------- values
def _dummy(vr: str) -> Any:
    if vr in ("LO", "SH", "PN", "ST", "LT", "UT", "UC", "AE"):
        return DUMMY_TEXT
    if vr == "CS":
        return DUMMY_TEXT
    if vr == "DA":
        return "19000101"
    if vr == "TM":
        return "000000"
    if vr == "DT":
        return "19000101000000"
    if vr == "AS":
        return "000Y"
    if vr in ("IS", "DS"):
        return "0"
    if vr in ("US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"):
        return 0
    if vr == "UR":
        return "urn:deidentified"
    return b"\x00\x00"


def _identifying_strings(ds: Dataset) -> list[str]:
    """Values whose appearance in free text would identify (for Clean Descriptors)."""
    out: list[str] = []
    for kw in (
        "PatientName",
        "OtherPatientNames",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "PatientBirthName",
        "PatientMotherBirthName",
    ):
        v = ds.get(kw)
        if v is None:
            continue
        for item in v if isinstance(v, list | tuple) or type(v).__name__ == "MultiValue" else [v]:
            out.extend(p for p in re.split(r"[\^=\s,]+", str(item)) if len(p) >= 2)
    for kw in (
        "PatientID",
        "OtherPatientIDs",
        "AccessionNumber",
        "InstitutionName",
        "InstitutionAddress",
        "StationName",
        "IssuerOfPatientID",
        "StudyID",
        "ClinicalTrialSubjectID",
    ):
        v = ds.get(kw)
        if v:
            out.append(str(v))
    bd = str(ds.get("PatientBirthDate", "") or "")
    if len(bd) == 8:
        out += [
            bd,
            f"{bd[:4]}-{bd[4:6]}-{bd[6:]}",
            f"{bd[6:]}.{bd[4:6]}.{bd[:4]}",
            f"{bd[4:6]}/{bd[6:]}/{bd[:4]}",
            f"{bd[6:]}/{bd[4:6]}/{bd[:4]}",
        ]
    return sorted({s.strip() for s in out if len(s.strip()) >= 2}, key=len, reverse=True)


_DATE_IN_TEXT = re.compile(r"\b(\d{4}[-/.]?\d{2}[-/.]?\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})\b")


def clean_text(text: str, identifying: list[str]) -> str:
    """Remove identifying values and anything that looks like a date from a descriptor."""
    out = text
    for s in identifying:
        out = re.sub(re.escape(s), "*", out, flags=re.IGNORECASE)
    out = _DATE_IN_TEXT.sub("*", out)
    return re.sub(r"\s{2,}", " ", out).strip()


# ---------------------------------------------------------------------------- engine
def _has(ds: Dataset, keyword: str) -> bool:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    return tag is not None and tag in ds


def _keyword(elem: DataElement) -> str:
    return str(elem.keyword or "")


def _in_repeating_removal(tag: BaseTag) -> bool:
    for base, mask, element in REPEATING_GROUP_REMOVALS:
        if (
            (tag.group & mask) == base
            and tag.group % 2 == 0
            and (element is None or tag.element == element)
        ):
            return True
    return False


def _safe_private_tags(ds: Dataset, keep_philips: bool) -> set[BaseTag]:
    """Private tags of the safe list: the Philips PET SUV block of group 7053 when asked."""
    keep: set[BaseTag] = set()
    if not keep_philips:
        return keep
    for elem in ds:
        t = elem.tag
        is_creator = t.group == PHILIPS_PET_GROUP and 0x0010 <= t.element <= 0x00FF
        if not is_creator or str(elem.value).strip() != PHILIPS_PET_CREATOR:
            continue
        keep.add(t)
        block = t.element << 8
        for i in range(256):
            member = BaseTag((PHILIPS_PET_GROUP << 16) | (block + i))
            if member in ds:
                keep.add(member)
    return keep


class Deidentifier:
    """Applies the profile to datasets of one or several patients, with a stored mapping."""

    def __init__(self, mapping: DeidMapping, options: DeidOptions | None = None) -> None:
        self.mapping = mapping
        self.options = options or DeidOptions()

    # -- public
    def deidentify(self, ds: Dataset, subject_id: str | None = None) -> DeidResult:
        """Return a de-identified deep copy of ``ds`` (the input is left untouched)."""
        opts = self.options
        patient_id = str(ds.get("PatientID", "") or "").strip()
        issuer = str(ds.get("IssuerOfPatientID", "") or "").strip()
        if not patient_id and not subject_id:
            raise DeidError(
                "the dataset has no PatientID and no trial subject ID was given: cannot map it"
            )
        key = f"{issuer}|{patient_id}" if patient_id else f"subject|{subject_id}"
        try:
            subject, offset_s = self.mapping.subject_for(key, subject_id)
        except MappingError as exc:
            raise DeidError(f"patient {patient_id!r}: {exc}") from None
        # whole days only: mappings made when a part of a day was added keep their day count
        offset = dt.timedelta(days=int(offset_s / 86400))  # toward zero: -400.6 d -> -400 d
        warnings = self._warnings(ds)
        identifying = _identifying_strings(ds) if opts.clean_descriptors else []

        out = copy.deepcopy(ds)
        self._clean(out, subject, offset, identifying, warnings, top=True)
        if hasattr(out, "file_meta") and "MediaStorageSOPInstanceUID" in out.file_meta:
            out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        self._stamp(out, subject)
        return DeidResult(out, subject, warnings)

    # -- internals
    def _warnings(self, ds: Dataset) -> list[str]:
        w: list[str] = []
        modality = str(ds.get("Modality", "") or "").upper()
        burned = str(ds.get("BurnedInAnnotation", "") or "").upper()
        name = f"instance {ds.get('SOPInstanceUID', '?')}"
        if burned == "YES":
            w.append(
                f"{name}: BurnedInAnnotation is YES: the pixels carry text that this profile "
                "does not remove; check the images before sending"
            )
        elif modality in BURNED_IN_MODALITIES or str(ds.get("SOPClassUID", "")).startswith(
            SECONDARY_CAPTURE_PREFIX
        ):
            w.append(
                f"{name}: modality {modality or 'secondary capture'} often has burned-in text "
                f"(BurnedInAnnotation is {burned or 'absent'}); check the images before sending"
            )
        if "EncapsulatedDocument" in ds and self.options.keep_encapsulated_document:
            w.append(
                f"{name}: the encapsulated document is sent as is; its content is not "
                "de-identified (render reports in blinded mode)"
            )
        return w

    def _action(self, elem: DataElement) -> str:
        o = self.options
        kw = _keyword(elem)
        vr = elem.VR
        table = PROFILE.get(int(elem.tag))
        if o.retain_patient_characteristics and kw in PATIENT_CHARACTERISTICS:
            return "K"
        if kw == "EncapsulatedDocument":
            return "K" if o.keep_encapsulated_document else "PDF"
        if o.retain_modified_dates and vr in ("DA", "DT", "TM") and kw not in NEVER_SHIFTED:
            return "SHIFT"
        if o.clean_descriptors and kw in DESCRIPTORS and vr not in ("SQ",):
            return "CLEAN"
        if table is None:
            return "SQ" if vr == "SQ" else "K"
        if table == "Z/D":
            return "D" if vr in ("DA", "TM", "DT") else "Z"
        if table in ("X/Z", "X/Z/D"):
            return "Z"
        if table == "X/D":
            return "D"
        if table == "X/Z/U*":
            return "SQ"
        if vr == "SQ" and table == "D":
            return "SQ" if (kw == "ContentSequence" and o.clean_structured_content) else "Z"
        return table

    def _clean(
        self,
        ds: Dataset,
        subject: str,
        offset: dt.timedelta,
        identifying: list[str],
        warnings: list[str],
        top: bool = False,
    ) -> None:
        keep_private = _safe_private_tags(ds, self.options.keep_philips_suv_private)
        shifted_pairs: set[str] = set()
        for tag in list(ds.keys()):
            if tag not in ds:
                continue
            elem = ds[tag]
            t = BaseTag(tag)
            if t.is_private:
                if t not in keep_private:
                    del ds[t]
                continue
            if _in_repeating_removal(t):
                del ds[t]
                continue
            action = self._action(elem)
            if action == "K":
                continue
            if action == "X":
                del ds[t]
            elif action == "Z":
                elem.value = (
                    [] if elem.VR == "SQ" else (b"" if elem.VR in ("OB", "OW", "UN") else "")
                )
            elif action == "D":
                if _keyword(elem) in ("PatientID", "ClinicalTrialSubjectID"):
                    elem.value = subject
                else:
                    elem.value = _dummy(elem.VR)
            elif action == "U":
                self._replace_uids(elem, subject)
            elif action == "SQ":
                for item in elem.value or []:
                    self._clean(item, subject, offset, identifying, warnings)
            elif action == "CLEAN":
                elem.value = clean_text(str(elem.value or ""), identifying)
            elif action == "PDF":
                elem.value = _DUMMY_PDF
                if "EncapsulatedDocumentLength" in ds:
                    ds.EncapsulatedDocumentLength = len(_DUMMY_PDF)
            elif action == "SHIFT":
                self._shift(ds, elem, offset, shifted_pairs, warnings)
        if top:
            # PS3.15 E.1: the trial subject replaces the patient's identity.
            ds.PatientName = subject
            ds.PatientID = subject
            ds.ClinicalTrialSubjectID = subject

    def _replace_uids(self, elem: DataElement, subject: str) -> None:
        if elem.VR != "UI":
            return
        v = elem.value
        if v is None or v == "":
            return
        if isinstance(v, str):
            elem.value = self.mapping.uid(v, subject)
        else:
            elem.value = [self.mapping.uid(str(x), subject) for x in v]

    def _shift(
        self,
        ds: Dataset,
        elem: DataElement,
        offset: dt.timedelta,
        done: set[str],
        warnings: list[str],
    ) -> None:
        kw = _keyword(elem)
        if kw in done or elem.value in (None, ""):
            return
        values = elem.value if not isinstance(elem.value, str) else [elem.value]
        new: list[str | None]
        if elem.VR == "DA" and kw.endswith("Date") and len(values) == 1:
            tkw = kw[: -len("Date")] + "Time"
            if (
                tkw in ds
                and ds[tkw].VR == "TM"
                and isinstance(ds[tkw].value, str)
                and ds[tkw].value
            ):
                pair = shift_da_tm(str(values[0]), str(ds[tkw].value), offset)
                if pair is not None:
                    elem.value, ds[tkw].value = pair
                    done.update({kw, tkw})
                    return
        if elem.VR == "TM" and kw.endswith("Time") and len(values) == 1:
            dkw = kw[: -len("Time")] + "Date"
            if _has(ds, dkw) and ds[dkw].VR == "DA" and ds[dkw].value and dkw not in done:
                pair = shift_da_tm(str(ds[dkw].value), str(values[0]), offset)
                if pair is not None:
                    ds[dkw].value, elem.value = pair
                    done.update({kw, dkw})
                    return
        fn: Callable[[str, dt.timedelta], str | None] = {
            "DA": shift_da,
            "TM": shift_tm,
            "DT": shift_dt,
        }[elem.VR]
        new = [fn(str(v), offset) for v in values]
        if any(n is None for n in new):
            warnings.append(
                f"{kw or elem.tag}: value {elem.value!r} is not a valid {elem.VR}; replaced by "
                "a dummy value"
            )
            elem.value = _dummy(elem.VR)
        else:
            elem.value = new[0] if len(new) == 1 else new
        done.add(kw)

    def _stamp(self, ds: Dataset, subject: str) -> None:
        o = self.options
        ds.PatientIdentityRemoved = "YES"
        codes = o.method_codes()
        text = "NAMECAR Viewer PS3.15 " + "+".join(c for c, _m in codes)
        ds.DeidentificationMethod = text[:64]
        seq = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            seq.append(item)
        ds.DeidentificationMethodCodeSequence = DicomSequence(seq)
        ds.LongitudinalTemporalInformationModified = (
            "MODIFIED" if o.retain_modified_dates else "REMOVED"
        )
        for kw, value in o.trial_attributes.items():
            setattr(ds, kw, value)


@dataclass
class FileProblem:
    """A file of a batch that was not de-identified, and why (in words)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class DeidBatch:
    """What :func:`deidentify_files` did: files written, per-file warnings, the DICOM files that
    could not be de-identified (``failed``: damaged, cut short, no patient identity...) and the
    files that are not DICOM at all (``skipped``)."""

    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: list[FileProblem] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)


class _NotDicom(Exception):
    """Not a DICOM file (no DICM marker): skipped, not a failure."""


class _Damaged(Exception):
    """A DICOM file that cannot be used as it is: cut short, corrupt, an instance without its
    identifying UIDs."""


# Identifying UIDs an instance needs to be stored (and which a cut file loses first).
_REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def _cut_short(data: bytes) -> str | None:
    """Why a file is incomplete, from its element lengths (pydicom reads a cut file silently)."""
    import struct

    from namecar_viewer.core.dicom.fastheader import (
        NeedMoreBytes,
        TruncatedFile,
        parse_fast_header,
    )

    try:
        fast = parse_fast_header(data, len(data))
    except TruncatedFile as exc:
        return f"the file is cut short: {exc}"
    except NeedMoreBytes:
        return f"the file is cut short: it ends at byte {len(data)}, inside its header"
    except (RecursionError, ValueError, struct.error, IndexError):
        return None  # damaged otherwise: pydicom's reading names it
    if fast is None:
        return None
    for tag, _start, _value, end in fast.layout:
        if end > len(data):
            return (
                f"the file is cut short: it ends at byte {len(data)}, inside element "
                f"({tag >> 16:04X},{tag & 0xFFFF:04X}) that needs {end} bytes"
            )
    offset, length = fast.pixel_offset, fast.pixel_length
    if offset is not None and length is not None and offset + length > len(data):
        return (
            f"the file is cut short: its Pixel Data needs {length} bytes, the file holds "
            f"{max(len(data) - offset, 0)}"
        )
    return None


def read_for_deid(path: Path) -> Dataset:
    """The whole dataset of a file to de-identify; raises ``_NotDicom`` or ``_Damaged``."""
    import io
    import warnings

    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Damaged(f"cannot be read: {exc.strerror or exc}") from None
    if not data:
        raise _NotDicom("empty file")
    why = _cut_short(data)
    if why is not None:
        raise _Damaged(why)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = dcmread(io.BytesIO(data))
        except InvalidDicomError:
            raise _NotDicom("not a DICOM file (no 'DICM' marker after the preamble)") from None
        except PYDICOM_READ_FAILURES as exc:
            raise _Damaged(f"damaged DICOM file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in _REQUIRED_UIDS if not str(ds.get(k, "") or "").strip()]
    if missing:
        raise _Damaged(
            f"damaged or incomplete DICOM file: no {', '.join(missing)} (cut short, or not an "
            "image or document of a study)"
        )
    return ds


def deidentify_files(
    paths: list[Path],
    out_dir: Path,
    deidentifier: Deidentifier,
    subject_id: str | None,
) -> DeidBatch:
    """De-identify files into ``out_dir/<Study UID>/<Series UID>/<SOP UID>.dcm`` (new UIDs).

    Every file is tried: one that cannot be de-identified (cut short, damaged, no patient
    identity, a mapping conflict) is named in ``failed`` with the reason and the others are
    still written; files that are not DICOM are listed in ``skipped``.  Input files are only
    read.
    """
    from namecar_viewer.pacs.errors import PacsError
    from namecar_viewer.pacs.local_store import LocalStore

    store = LocalStore(out_dir)
    batch = DeidBatch()
    for p in paths:
        p = Path(p)
        try:
            ds = read_for_deid(p)
        except _NotDicom as exc:
            batch.skipped.append(FileProblem(p, str(exc)))
            continue
        except _Damaged as exc:
            batch.failed.append(FileProblem(p, str(exc)))
            continue
        try:
            result = deidentifier.deidentify(ds, subject_id)
            written = store.write(result.dataset)
        except (DeidError, PacsError) as exc:
            batch.failed.append(FileProblem(p, str(exc)))
            continue
        except OSError as exc:
            batch.failed.append(FileProblem(p, f"cannot be written: {exc.strerror or exc}"))
            continue
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # a value the profile cannot process (pydicom decodes it on first use)
            batch.failed.append(FileProblem(p, f"cannot be de-identified: {exc}"))
            continue
        batch.warnings.extend(f"{p}: {w}" for w in result.warnings)
        batch.written.append(written)
    return batch
