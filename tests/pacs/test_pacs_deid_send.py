"""The de-identified copy is what is sent: originals unchanged (hash), no profile tag keeps its
original value on the server, and the SUV of the PET received by the archive is unchanged."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pydicom
import pytest
from orthanc import OrthancServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deid"))

from checks import leaked, private_tags

from namecar_viewer.core.suv import compute_suv_factors
from namecar_viewer.deid import PATIENT_CHARACTERISTICS, Deidentifier, DeidMapping, DeidOptions
from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    Method,
    Retriever,
    StudyQuery,
    find_studies,
    send,
)


@pytest.mark.parametrize("via", ["c-store", "stow-rs"])
def test_deidentified_pet_sent_and_checked_on_server(
    via: str,
    tmp_path: Path,
    small_demo: Path,
    orthanc: OrthancServer,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
) -> None:
    pet = sorted(next(small_demo.glob("PT_*")).glob("*.dcm"))
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pet}
    subject = f"NC-SEND-{via.upper()}"
    mapping = DeidMapping(tmp_path / "map.sqlite")
    # a separate key per run: the same patient would otherwise keep its first subject ID
    deid = Deidentifier(mapping, DeidOptions(clean_descriptors=False))
    node = dimse_node if via == "c-store" else web_node
    results = send(node, local_ae, pet, deidentify=lambda ds: deid.deidentify(ds, subject))
    assert len(results) == 56 and all(r.ok for r in results), [r for r in results if not r.ok]
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pet} == before

    # what the archive holds under the subject ID is the de-identified copy
    (study,) = find_studies(dimse_node, local_ae, StudyQuery(patient_id=subject))
    store = LocalStore(tmp_path / "back")
    rep = Retriever(local_ae, store).retrieve(Method.WADO_RS, web_node, study.study_instance_uid)
    assert rep.ok, rep.error
    received = {
        int(ds.InstanceNumber): ds
        for ds in (pydicom.dcmread(f) for f in store.files(study.study_instance_uid))
    }
    originals = {int(ds.InstanceNumber): ds for ds in (pydicom.dcmread(p) for p in pet)}
    assert received.keys() == originals.keys()
    for n, orig in originals.items():
        got = received[n]
        assert leaked(orig, got, set(PATIENT_CHARACTERISTICS)) == [], n
        assert private_tags(got) == []
        assert got.PatientIdentityRemoved == "YES"
    mapping.close()

    # SUV: same factors per slice, so the same SUV for the same stored pixels
    fa = compute_suv_factors(list(originals.values()))
    fb = compute_suv_factors(list(received.values()))
    for n in originals:
        a = fa.instance_factors[str(originals[n].SOPInstanceUID)].bw
        b = fb.instance_factors[str(received[n].SOPInstanceUID)].bw
        assert a == pytest.approx(b, rel=1e-12)
        assert (received[n].pixel_array == originals[n].pixel_array).all()
