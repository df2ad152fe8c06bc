"""A read as CSV rows for the trial database, and as the ``recist`` command's JSON.

**CSV: one file, one rectangular table** (UTF-8, comma separated, ISO dates, ``.`` decimals,
header row first).  The first column, ``row_type``, says which kind of row it is:

* ``lesion``: one row per lesion per timepoint (every lesion at every timepoint, empty cells
  where nothing was recorded);
* ``response``: one row per timepoint with the RECIST 1.1 result of the read.

Columns (:data:`COLUMNS`; cells of the other row type are empty):

=================================  ============================================================
``row_type``                       ``lesion`` or ``response``
``subject_id``                     trial subject ID (else patient ID); the pseudonym if blinded
``read_uid``, ``reader``           the read and its reader
``read_status``                    ``signed`` or ``draft``: the row's timepoint read, from the
                                   signing model (:class:`~.status.ReadStatus`)
``signed_by``, ``signed_at_utc``   who signed that timepoint (``(blinded)`` for another reader
                                   when blinded) and when (ISO 8601 UTC ``...Z``); empty if draft
``signature_version``              the read version the signature holds (1, 2...)
``timepoint``                      timepoint label (``baseline``, ``inclusion``, ``fu03m``...)
``timepoint_role``                 ``pre_treatment_baseline``, ``inclusion``, ``follow_up``
``date``                           ISO date ``YYYY-MM-DD`` (empty when blinded)
``days_from_baseline``             whole days from the pre-treatment baseline
``lesion_label``                   ``T1``, ``NT1``, ``N1``... (lesion rows)
``lesion_role``                    ``target``, ``non_target``, ``new``
``site``, ``station``              organ from the NAMECAR list, lymph-node station
``lymph_node``, ``primary_renal``  ``true``/``false``
``long_axis_mm``                   long axis (0.1 mm), empty if not measured
``short_axis_mm``                  short axis (0.1 mm), empty for a line measurement
``recist_diameter_mm``             what RECIST sums: short axis of a node, else long axis
``status``                         present, absent, too_small, split... (empty if none)
``n_measurements``                 measurement records (2+ for a split lesion's fragments)
``sum_mm``                         sum of diameters (response rows)
``pct_change_from_baseline``       percent, one decimal
``nadir_mm``, ``pct_change_from_nadir``
``target_response``                CR, PR, SD, PD, NE (empty at baseline)
``non_target_response``            CR, Non-CR/Non-PD, PD, NE, NA
``new_lesions``                    none, equivocal, unequivocal
``overall_response``               CR, PR, SD, PD, NE, Non-CR/Non-PD
``metastatic_sum_mm``              NAMECAR: sum without the primary renal tumour
``metastatic_pct_change_from_baseline``
``eligible_cr_or_mpr``             NAMECAR eligibility: ``true``/``false``/empty
``reasons``                        the engine's reasons, joined with `` | ``
=================================  ============================================================
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from namecar_viewer.core.reads.model import Read
from namecar_viewer.core.reports.sr_export import Blinding, evaluate_read
from namecar_viewer.core.reports.status import DRAFT, SIGNED, ReadStatus, utc_iso

COLUMNS: tuple[str, ...] = (
    "row_type",
    "subject_id",
    "read_uid",
    "reader",
    "read_status",
    "signed_by",
    "signed_at_utc",
    "signature_version",
    "timepoint",
    "timepoint_role",
    "date",
    "days_from_baseline",
    "lesion_label",
    "lesion_role",
    "site",
    "station",
    "lymph_node",
    "primary_renal",
    "long_axis_mm",
    "short_axis_mm",
    "recist_diameter_mm",
    "status",
    "n_measurements",
    "sum_mm",
    "pct_change_from_baseline",
    "nadir_mm",
    "pct_change_from_nadir",
    "target_response",
    "non_target_response",
    "new_lesions",
    "overall_response",
    "metastatic_sum_mm",
    "metastatic_pct_change_from_baseline",
    "eligible_cr_or_mpr",
    "reasons",
)


def _mm(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def _bool(v: bool | None) -> str:
    return "" if v is None else ("true" if v else "false")


def _num(v: Any, digits: int = 1) -> str:
    if v is None:
        return ""
    return f"{float(v):.{digits}f}"


def blind_dates_in_text(text: str, read: Read) -> str:
    """Replace the read's calendar dates in free text by ``Day N`` (days from baseline)."""
    base = read.baseline()
    if base is None or base.date is None:
        return re.sub(r"\d{4}-\d{2}-\d{2}", "Day ?", text)
    for tp in read.timepoints:
        if tp.date is not None:
            text = text.replace(tp.date.isoformat(), f"Day {(tp.date - base.date).days}")
    return re.sub(r"\d{4}-\d{2}-\d{2}", "Day ?", text)


def subject_of(read: Read, subject_id: str | None, blinding: Blinding | None) -> str:
    sid = subject_id or read.patient_id
    if blinding is not None and blinding.enabled and sid:
        return blinding.subject(sid)
    return sid


def csv_rows(
    read: Read,
    *,
    result: Any | None = None,
    subject_id: str | None = None,
    blinding: Blinding | None = None,
    status: ReadStatus | None = None,
) -> list[dict[str, str]]:
    """The rows of the CSV (dicts keyed by :data:`COLUMNS`); ``status`` gives the signatures
    (None: every timepoint is a draft)."""
    blinded = blinding is not None and blinding.enabled
    if result is None:
        result, _ = evaluate_read(read)
    subject = subject_of(read, subject_id, blinding)
    base = read.baseline()
    ordered = list(read.ordered_timepoints())
    if base is not None and ordered and ordered[0].uid != base.uid:
        ordered.remove(base)
        ordered.insert(0, base)
    rows: list[dict[str, str]] = []

    def common(tp: Any) -> dict[str, str]:
        days = ""
        if base is not None and base.date is not None and tp.date is not None:
            days = str((tp.date - base.date).days)
        sig = None if status is None else status.of(tp.uid)
        signed = {
            "read_status": DRAFT if sig is None else SIGNED,
            "signed_by": "" if sig is None or status is None else status.signer_name(sig, blinding),
            "signed_at_utc": "" if sig is None else utc_iso(sig.signed_utc),
            "signature_version": "" if sig is None else str(sig.version),
        }
        return signed | {
            "subject_id": subject,
            "read_uid": read.uid,
            "reader": read.reader,
            "timepoint": tp.label,
            "timepoint_role": tp.role.value,
            "date": "" if blinded or tp.date is None else tp.date.isoformat(),
            "days_from_baseline": days,
        }

    for tp in ordered:
        for les in read.lesions:
            a = read.assessment(les.uid, tp.uid)
            row = dict.fromkeys(COLUMNS, "")
            row.update(common(tp))
            row.update(
                {
                    "row_type": "lesion",
                    "lesion_label": les.label,
                    "lesion_role": les.role.value,
                    "site": les.site.value,
                    "station": les.station,
                    "lymph_node": _bool(les.nodal),
                    "primary_renal": _bool(les.is_primary_renal),
                    "long_axis_mm": _mm(a.long_axis_mm),
                    "short_axis_mm": _mm(a.short_axis_mm),
                    "recist_diameter_mm": _mm(a.recist_diameter_mm),
                    "status": "" if a.status is None else a.status.value,
                    "n_measurements": str(len(a.measurements)),
                }
            )
            rows.append(row)
    if result is not None:
        by_label = {tp.label: tp for tp in read.timepoints}
        for tr in result.timepoints:
            rtp = by_label.get(tr.label)
            if rtp is None:
                continue
            row = dict.fromkeys(COLUMNS, "")
            row.update(common(rtp))
            reasons = " | ".join(tr.reasons)
            if blinded:
                reasons = blind_dates_in_text(reasons, read)
            row.update(
                {
                    "row_type": "response",
                    "sum_mm": _num(tr.sum_mm),
                    "pct_change_from_baseline": _num(tr.pct_change_from_baseline),
                    "nadir_mm": _num(tr.nadir_mm),
                    "pct_change_from_nadir": _num(tr.pct_change_from_nadir),
                    "target_response": tr.target_response.value if tr.target_response else "",
                    "non_target_response": (
                        tr.non_target_response.value if tr.non_target_response else ""
                    ),
                    "new_lesions": tr.new_lesions.value,
                    "overall_response": tr.overall_response.value if tr.overall_response else "",
                    "metastatic_sum_mm": _num(tr.metastatic_sum_mm),
                    "metastatic_pct_change_from_baseline": _num(
                        tr.metastatic_pct_change_from_baseline
                    ),
                    "eligible_cr_or_mpr": _bool(tr.eligible_cr_or_mpr),
                    "reasons": reasons,
                }
            )
            rows.append(row)
    return rows


def read_to_csv(
    read: Read,
    *,
    result: Any | None = None,
    subject_id: str | None = None,
    blinding: Blinding | None = None,
    status: ReadStatus | None = None,
) -> str:
    """The CSV text (write it with ``atomic_write_text``: UTF-8)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\r\n")
    w.writeheader()
    w.writerows(
        csv_rows(read, result=result, subject_id=subject_id, blinding=blinding, status=status)
    )
    return buf.getvalue()


def read_to_case_json(
    read: Read,
    *,
    result: Any | None = None,
    blinding: Blinding | None = None,
    status: ReadStatus | None = None,
) -> dict[str, Any]:
    """The ``recist`` command's input (the case) with its output under ``"result"``.

    ``namecar-viewer recist`` accepts the file as it is (extra keys are ignored), so a read
    exported here and a hand-written case are interchangeable.  Blinded: dates are left out
    (``days_from_baseline`` instead).  ``"read_status"`` lists each timepoint read's status:
    ``{"timepoint", "status": "signed"|"draft", "signed_by", "signed_at_utc", "version"}``.
    """
    from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
    from namecar_viewer.core.recist import case_to_json, evaluate, result_to_json

    case = read_to_recist_case(read)
    data = case_to_json(case)
    if result is None:
        result = evaluate(case)
    data["result"] = result_to_json(result)
    st = status or ReadStatus()
    data["read_status"] = []
    for tp in read.ordered_timepoints():
        sig = st.of(tp.uid)
        data["read_status"].append(
            {
                "timepoint": tp.label,
                "status": DRAFT if sig is None else SIGNED,
                "signed_by": None if sig is None else st.signer_name(sig, blinding),
                "signed_at_utc": None if sig is None else utc_iso(sig.signed_utc),
                "version": None if sig is None else sig.version,
            }
        )
    if blinding is not None and blinding.enabled:
        _blind_case_json(data, read)
    return data


def _blind_case_json(data: dict[str, Any], read: Read) -> None:
    base = read.baseline()
    days = {}
    for tp in read.timepoints:
        if base is not None and base.date is not None and tp.date is not None:
            days[tp.label] = (tp.date - base.date).days
    for tps in (data.get("timepoints", []), data.get("result", {}).get("timepoints", [])):
        for t in tps:
            t.pop("date", None)
            t["days_from_baseline"] = days.get(t.get("label"))
            if "reasons" in t:
                t["reasons"] = [blind_dates_in_text(r, read) for r in t["reasons"]]
    res = data.get("result", {})
    if res.get("first_pd_date"):
        res["first_pd_date"] = None
    if "best_overall_reason" in res:
        res["best_overall_reason"] = blind_dates_in_text(res["best_overall_reason"], read)


def columns_doc() -> Sequence[str]:
    return COLUMNS
