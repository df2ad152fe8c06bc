"""Worklist prefetch against the real Orthanc: the next cases' studies arrive in the background,
the oldest study is evicted first when the disk budget is full, and a study of an open or
unsigned read is never evicted (the prefetch pauses instead)."""

from __future__ import annotations

from pathlib import Path

import pytest
from orthanc import OrthancServer
from synthetic_study import SyntheticStudy, make_study

from namecar_viewer.app import prefetch as pf
from namecar_viewer.app.prefetch import Prefetcher, PrefetchStatus, StudyCache
from namecar_viewer.pacs import DicomWebNode, DimseNode, LocalAe, LocalStore


@pytest.fixture(scope="module")
def patients(
    tmp_path_factory: pytest.TempPathFactory, orthanc: OrthancServer
) -> dict[str, SyntheticStudy]:
    """Four patients of one small CT study each (1 series x 12 slices of 128x128)."""
    out: dict[str, SyntheticStudy] = {}
    base = tmp_path_factory.mktemp("prefetch")
    for i, pid in enumerate(("PF-A", "PF-B", "PF-C", "PF-D")):
        st = make_study(base / pid, n_series=1, n_slices=12, size=128, patient_id=pid, seed=i)
        orthanc.upload(st.files)
        out[pid] = st
    return out


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_prefetch_evicts_oldest_first_never_an_open_or_unsigned_read(
    protocol: str,
    tmp_path: Path,
    patients: dict[str, SyntheticStudy],
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = web_node if protocol == "dicomweb" else dimse_node
    one = patients["PF-A"].nbytes
    monkeypatch.setattr(pf, "BYTES_PER_INSTANCE_GUESS", one // 12 + 1)
    store = LocalStore(tmp_path / "cache")
    evicted: list[str] = []
    cache = StudyCache(store, int(2.5 * one), on_evict=evicted.append)
    protected: set[str] = set()
    statuses: list[PrefetchStatus] = []
    p = Prefetcher(
        node,
        local_ae,
        cache,
        protected=lambda: (set(protected), set()),
        on_status=statuses.append,
    )
    uid = {pid: st.study_instance_uid for pid, st in patients.items()}
    try:
        # the reader's next cases: A then B, both arrive
        p.set_queue(["PF-A", "PF-B"])
        assert p.wait_idle(120)
        assert cache.is_complete(uid["PF-A"], 12) and cache.is_complete(uid["PF-B"], 12)
        assert {s.state for s in statuses} >= {"fetching", "done"}
        assert any(s.total == 12 and s.done == 12 for s in statuses)
        assert p.local_folders("PF-A") and not evicted

        # A is the open read (and the oldest), B was signed: C evicts B, never A
        protected.clear()
        protected.add("PF-A")
        p.set_queue(["PF-C"])
        assert p.wait_idle(120)
        assert evicted == [uid["PF-B"]]
        assert len(store.files(uid["PF-A"])) == 12 and store.files(uid["PF-B"]) == []
        assert cache.is_complete(uid["PF-C"], 12)
        assert cache.used() <= cache.budget

        # A open and C unsigned: nothing may go, D waits ("budget full"), nothing evicted
        protected.add("PF-C")
        statuses.clear()
        p.set_queue(["PF-D"])
        deadline_ok = False
        import time

        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            if any(s.state == "budget full" for s in statuses):
                deadline_ok = True
                break
            time.sleep(0.1)
        assert deadline_ok, [s.state for s in statuses]
        assert evicted == [uid["PF-B"]]
        assert len(store.files(uid["PF-A"])) == 12 and len(store.files(uid["PF-C"])) == 12
        assert store.files(uid["PF-D"]) == []

        # the reader opens D's case: fetched now, the oldest unprotected study makes room
        protected.discard("PF-C")  # C signed meanwhile
        folders: list[Path] = []
        assert p.fetch_now("PF-D", on_study=lambda rep: folders.extend(rep.folders))
        assert len(store.files(uid["PF-D"])) == 12 and folders
        assert uid["PF-C"] in evicted and uid["PF-A"] not in evicted
        assert len(store.files(uid["PF-A"])) == 12
    finally:
        p.stop()

    # the ledger survives a restart: the same studies, A still the oldest
    again = StudyCache(store, int(2.5 * one))
    assert set(again.studies) == set(cache.studies)
    assert again.studies[uid["PF-A"]].patient_id == "PF-A"


def test_settings_prefetch_node(
    tmp_path: Path, dimse_node: DimseNode, web_node: DicomWebNode
) -> None:
    from namecar_viewer.pacs import NodeSettings
    from namecar_viewer.pacs.nodes import PrefetchSettings

    s = NodeSettings(dimse=[dimse_node], dicomweb=[web_node])
    assert s.prefetch_node() is web_node
    s.prefetch = PrefetchSettings(node=dimse_node.name, budget_gb=2, cases_ahead=1)
    back = NodeSettings.load(s.save(tmp_path / "n.json"))
    assert back.prefetch_node() == dimse_node and back.prefetch.budget_gb == 2
    back.prefetch.enabled = False
    assert back.prefetch_node() is None
