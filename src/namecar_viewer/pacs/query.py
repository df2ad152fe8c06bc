"""What the reader searches for, and the study and series records a search returns.

One query model serves C-FIND (PS3.4 C.6.2 Study Root) and QIDO-RS (PS3.18 10.6): patient ID or
name, a study date range, modality, accession number and trial subject ID
(ClinicalTrialSubjectID, 0012,0040).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.pacs.errors import PacsError

_DA_RE = re.compile(r"^\d{8}$")


def _check_da(value: str, what: str) -> str:
    v = value.strip().replace("-", "")
    if not _DA_RE.match(v):
        raise PacsError(f"{what} {value!r} is not a date: expected YYYY-MM-DD or YYYYMMDD")
    try:
        dt.date(int(v[:4]), int(v[4:6]), int(v[6:]))
    except ValueError:
        raise PacsError(f"{what} {value!r} is not a valid calendar date") from None
    return v


@dataclass
class StudyQuery:
    """Search criteria; empty fields match everything (universal matching)."""

    patient_id: str = ""
    patient_name: str = ""
    date_from: str = ""  # YYYYMMDD or YYYY-MM-DD
    date_to: str = ""
    modality: str = ""
    accession_number: str = ""
    subject_id: str = ""

    def date_range(self) -> str:
        """DICOM range matching (PS3.4 C.2.2.2.5): ``A-B``, ``A-`` or ``-B``."""
        a = _check_da(self.date_from, "start date") if self.date_from.strip() else ""
        b = _check_da(self.date_to, "end date") if self.date_to.strip() else ""
        if a and b and a > b:
            raise PacsError(f"start date {self.date_from} is after end date {self.date_to}")
        if a and b and a == b:
            return a
        return f"{a}-{b}" if (a or b) else ""

    def name_pattern(self) -> str:
        """Patient name with a trailing wildcard unless the reader typed one."""
        n = self.patient_name.strip()
        if n and "*" not in n and "?" not in n:
            n += "*"
        return n

    def identifier(self) -> Dataset:
        """The C-FIND STUDY-level identifier: criteria plus the keys we want returned."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientID = self.patient_id.strip()
        ds.PatientName = self.name_pattern()
        ds.StudyDate = self.date_range()
        ds.ModalitiesInStudy = self.modality.strip().upper()
        ds.AccessionNumber = self.accession_number.strip()
        ds.ClinicalTrialSubjectID = self.subject_id.strip()
        for kw in (
            "StudyInstanceUID",
            "StudyTime",
            "StudyDescription",
            "PatientBirthDate",
            "NumberOfStudyRelatedSeries",
            "NumberOfStudyRelatedInstances",
        ):
            setattr(ds, kw, "")
        return ds

    def qido_filters(self) -> dict[str, str]:
        """QIDO-RS query parameters (attribute keyword = value) for the given criteria."""
        f: dict[str, str] = {}
        for kw, v in (
            ("PatientID", self.patient_id.strip()),
            ("PatientName", self.name_pattern()),
            ("StudyDate", self.date_range()),
            ("ModalitiesInStudy", self.modality.strip().upper()),
            ("AccessionNumber", self.accession_number.strip()),
            ("ClinicalTrialSubjectID", self.subject_id.strip()),
        ):
            if v:
                f[kw] = v
        return f


def _s(ds: Dataset, kw: str) -> str:
    v = ds.get(kw, "")
    if v is None:
        return ""
    if isinstance(v, list | tuple) or type(v).__name__ == "MultiValue":
        return "\\".join(str(x) for x in v)
    return str(v)


def _i(ds: Dataset, kw: str) -> int | None:
    v = ds.get(kw)
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class StudyRecord:
    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_description: str
    accession_number: str
    modalities: str
    subject_id: str
    n_series: int | None
    n_instances: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> StudyRecord:
        return cls(
            study_instance_uid=_s(ds, "StudyInstanceUID"),
            patient_id=_s(ds, "PatientID"),
            patient_name=_s(ds, "PatientName"),
            study_date=_s(ds, "StudyDate"),
            study_description=_s(ds, "StudyDescription"),
            accession_number=_s(ds, "AccessionNumber"),
            modalities=_s(ds, "ModalitiesInStudy"),
            subject_id=_s(ds, "ClinicalTrialSubjectID"),
            n_series=_i(ds, "NumberOfStudyRelatedSeries"),
            n_instances=_i(ds, "NumberOfStudyRelatedInstances"),
        )


@dataclass(frozen=True)
class SeriesRecord:
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    n_instances: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset, study_uid: str = "") -> SeriesRecord:
        return cls(
            study_instance_uid=_s(ds, "StudyInstanceUID") or study_uid,
            series_instance_uid=_s(ds, "SeriesInstanceUID"),
            modality=_s(ds, "Modality"),
            series_number=_i(ds, "SeriesNumber"),
            series_description=_s(ds, "SeriesDescription"),
            n_instances=_i(ds, "NumberOfSeriesRelatedInstances"),
        )


def series_identifier(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    for kw in (
        "SeriesInstanceUID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
    ):
        setattr(ds, kw, "")
    return ds


def instance_identifier(study_uid: str, series_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = ""
    return ds


def dataset_from_json(item: dict[str, Any]) -> Dataset:
    """A QIDO-RS JSON result (PS3.18 F.2) as a pydicom Dataset (bulk data ignored)."""
    return Dataset.from_json(item, bulk_data_uri_handler=lambda *_a: b"")
