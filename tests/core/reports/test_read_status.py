"""The read's status in every export comes from its signatures: "signed by <reader> on <UTC>,
version N" for a signed timepoint read, "draft" otherwise; the SR is VERIFIED (with a
VerifyingObserverSequence item per signature) only when every timepoint is signed; blinded, a
signer other than the viewer is hidden."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from namecar_viewer.app.blinding import BLINDED_POLICY, OPEN_POLICY
from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.csv_export import read_to_case_json, read_to_csv
from namecar_viewer.core.reports.layout import report_text
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.core.reports.sr_export import read_to_sr, write_sr
from namecar_viewer.core.reports.sr_import import sr_to_read
from namecar_viewer.core.reports.status import ReadStatus, TimepointSignature
from testsupport import require_tool

T0 = dt.datetime(2025, 3, 1, 9, 5, 7, tzinfo=dt.UTC)


@dataclass
class _Sig:  # the attributes of app.signing.Signature that ReadStatus reads
    timepoint_uid: str
    username: str
    signed_utc: dt.datetime
    version: int


def _all_signed(read: Read, signer: str = "Demo Reader", viewer: str | None = None) -> ReadStatus:
    tps = read.ordered_timepoints()
    return ReadStatus.from_signatures(
        [_Sig(tp.uid, signer, T0 + dt.timedelta(hours=n), n + 1) for n, tp in enumerate(tps)],
        viewer=viewer,
    )


def _label_uid(read: Read, label: str) -> str:
    return next(tp.uid for tp in read.timepoints if tp.label == label)


def test_text_and_blinding_of_the_signer() -> None:
    s = TimepointSignature("tp1", "reader1", T0, 3)
    st = ReadStatus((s,), viewer="reader1")
    assert st.text("tp1") == "signed by reader1 on 2025-03-01 09:05 UTC, version 3"
    assert st.text("tp2") == "draft"
    # blinded: the signer sees their own name; anyone else (or nobody known) sees "(blinded)"
    assert st.text("tp1", BLINDED_POLICY).startswith("signed by reader1 on")
    other = ReadStatus((s,), viewer="reader2")
    assert other.text("tp1", BLINDED_POLICY).startswith("signed by (blinded) on 2025-03-01")
    assert other.text("tp1", OPEN_POLICY).startswith("signed by reader1")
    assert ReadStatus((s,)).text("tp1", BLINDED_POLICY).startswith("signed by (blinded)")
    # naive datetimes (SQLite) are UTC; aware ones are converted: 11:05+02:00 is 09:05 UTC
    cet = dt.timezone(dt.timedelta(hours=2))
    s2 = TimepointSignature("tp1", "r", dt.datetime(2025, 3, 1, 11, 5, tzinfo=cet), 1)
    assert "09:05 UTC" in ReadStatus((s2,)).text("tp1")


def test_csv_columns_signed_and_draft(demo_read: Read) -> None:
    fu03 = _label_uid(demo_read, "fu03m")
    st = ReadStatus.from_signatures([_Sig(fu03, "Demo Reader", T0, 2)], viewer="Demo Reader")
    rows = list(csv.DictReader(io.StringIO(read_to_csv(demo_read, status=st))))
    signed = [r for r in rows if r["timepoint"] == "fu03m"]
    draft = [r for r in rows if r["timepoint"] != "fu03m"]
    assert len(signed) == 6 + 1  # 6 lesions + the response row
    assert {r["read_status"] for r in signed} == {"signed"}
    assert {r["signed_by"] for r in signed} == {"Demo Reader"}
    assert {r["signed_at_utc"] for r in signed} == {"2025-03-01T09:05:07Z"}
    assert {r["signature_version"] for r in signed} == {"2"}
    assert {r["read_status"] for r in draft} == {"draft"}
    assert {r["signed_by"] + r["signed_at_utc"] for r in draft} == {""}
    # no status at all: every row is a draft
    plain = list(csv.DictReader(io.StringIO(read_to_csv(demo_read))))
    assert {r["read_status"] for r in plain} == {"draft"}
    # blinded export made by another user: the signer is hidden, the time is not a study date
    other = ReadStatus.from_signatures([_Sig(fu03, "Demo Reader", T0, 2)], viewer="reader2")
    rows_b = list(
        csv.DictReader(io.StringIO(read_to_csv(demo_read, status=other, blinding=BLINDED_POLICY)))
    )
    assert {r["signed_by"] for r in rows_b if r["timepoint"] == "fu03m"} == {"(blinded)"}


def test_json_read_status(demo_read: Read) -> None:
    data = read_to_case_json(demo_read, status=_all_signed(demo_read))
    got = {x["timepoint"]: x for x in data["read_status"]}
    assert list(got) == ["baseline", "inclusion", "fu03m", "fu06m", "fu09m"]
    assert got["fu03m"] == {
        "timepoint": "fu03m",
        "status": "signed",
        "signed_by": "Demo Reader",
        "signed_at_utc": "2025-03-01T11:05:07Z",  # third timepoint: T0 + 2 h
        "version": 3,
    }
    assert read_to_case_json(demo_read)["read_status"][0]["status"] == "draft"


def test_report_header_status(demo_read: Read) -> None:
    assert report_text(demo_read).status == "draft"
    fu03 = _label_uid(demo_read, "fu03m")
    st = ReadStatus.from_signatures([_Sig(fu03, "Demo Reader", T0, 1)], viewer="Demo Reader")
    text = report_text(demo_read, status=st).status
    assert "fu03m: signed by Demo Reader on 2025-03-01 09:05 UTC, version 1" in text
    assert "baseline: draft" in text


def _sr_texts(ds: object) -> list[str]:
    out = []
    for item in ds.iterall():  # type: ignore[attr-defined]
        if item.keyword == "TextValue":
            out.append(str(item.value))
    return out


def test_sr_verified_only_when_every_timepoint_is_signed(
    demo_read: Read, demo_headers: HeaderIndex
) -> None:
    draft = read_to_sr(demo_read, demo_headers).dataset
    assert draft.VerificationFlag == "UNVERIFIED" and "VerifyingObserverSequence" not in draft
    assert _sr_texts(draft).count("draft") == 5  # one response group per timepoint

    fu03 = _label_uid(demo_read, "fu03m")
    part = ReadStatus.from_signatures([_Sig(fu03, "Demo Reader", T0, 1)], viewer="Demo Reader")
    partial = read_to_sr(demo_read, demo_headers, status=part).dataset
    assert partial.VerificationFlag == "UNVERIFIED"
    assert "signed by Demo Reader on 2025-03-01 09:05 UTC, version 1" in _sr_texts(partial)

    full = read_to_sr(demo_read, demo_headers, status=_all_signed(demo_read)).dataset
    assert full.VerificationFlag == "VERIFIED"
    obs = full.VerifyingObserverSequence
    assert len(obs) == 5  # five signatures at five different times
    assert str(obs[0].VerifyingObserverName) == "Reader^Demo"
    assert obs[0].VerificationDateTime == "20250301090507+0000"
    assert obs[4].VerificationDateTime == "20250301130507+0000"  # T0 + 4 h
    assert all(o.VerifyingOrganization for o in obs)
    # the status texts do not disturb the import: the round trip still gives the same read
    back = sr_to_read(full).read
    assert [x.label for x in back.lesions] == [x.label for x in demo_read.lesions]
    assert len(back.measurements) == len(demo_read.measurements)

    # blinded, exported by someone else: the verifying observer is hidden
    other = _all_signed(demo_read, viewer="reader2")
    blinded = read_to_sr(demo_read, demo_headers, status=other, blinding=BLINDED_POLICY).dataset
    assert {str(o.VerifyingObserverName) for o in blinded.VerifyingObserverSequence} == {
        "(blinded)^"
    }


def test_verified_sr_passes_dciodvfy_and_dsrdump(
    demo_read: Read, demo_headers: HeaderIndex, tmp_path: Path
) -> None:
    out = tmp_path / "verified.dcm"
    write_sr(read_to_sr(demo_read, demo_headers, status=_all_signed(demo_read)), out)
    exe = require_tool("dciodvfy", "dicom3tools")
    dsrdump = require_tool("dsrdump", "dcmtk")
    proc = subprocess.run([exe, str(out)], capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    assert [ln for ln in text.splitlines() if ln.startswith("Error")] == [], text
    others = [ln for ln in text.splitlines() if ln.startswith("Warning") and "99NAMECAR" not in ln]
    assert others == [], text
    dump = subprocess.run([dsrdump, str(out)], capture_output=True, text=True, check=True).stdout
    assert "VERIFIED" in dump and "Reader^Demo" in dump
    assert highdicom_sr(out).VerificationFlag == "VERIFIED"


def highdicom_sr(path: Path) -> Any:
    import highdicom as hd

    return hd.sr.srread(path)
