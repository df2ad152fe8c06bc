"""The study index keeps what the scan found of real vendor series (issue 15): every tile of a
Siemens mosaic has its own row (one slice each), and a quantitative map keeps its unit, so the
series opened from the study browser loads as ``load_stack`` of a fresh scan does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from namecar_viewer.app.importer import import_paths
from namecar_viewer.app.view_state import ViewportModel
from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.persistence.study_index import StudyIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "dicom"


def _through_index(folder: Path) -> dict[str, tuple[tuple[int, ...], dict[str, str]]]:
    idx = StudyIndex(":memory:")
    import_paths(idx, [folder])
    out = {}
    for row in idx.stack_rows():
        vol = load_stack(idx.stack(row.id))
        out[row.label] = (vol.shape, {k: vol.metadata.get(k, "") for k in ("units", "values")})
    return out


def _direct(folder: Path) -> dict[str, tuple[tuple[int, ...], dict[str, str]]]:
    out = {}
    for st in scan([str(folder)]).stacks:
        vol = load_stack(st)
        out[st.label] = (vol.shape, {k: vol.metadata.get(k, "") for k in ("units", "values")})
    return out


def test_mosaic_tiles_each_have_their_row(tmp_path: Path) -> None:
    folder = DATA / "dcm_qa_mosaic" / "ep2d_Int_HF_5"
    via_index = _through_index(folder)
    assert via_index == _direct(folder)
    # two mosaic files of 36 tiles each: two volumes of 36 x 64 x 64 (dcm2niix's reference)
    assert sorted(via_index.values())[0][0] == (36, 64, 64)
    assert len(via_index) == 2


def test_a_map_keeps_its_unit_through_the_index(tmp_path: Path) -> None:
    from namecar_viewer.gui.viewport import modality_unit

    folder = DATA / "dcm_qa_enh" / "Philips_B0_fMAP"
    via_index = _through_index(folder)
    assert via_index == _direct(folder)
    units = {meta["units"] for _shape, meta in via_index.values()}
    assert "Hz" in units  # the field map, in hertz (Real World Value Mapping)
    idx = StudyIndex(":memory:")
    import_paths(idx, [folder])
    row = next(r for r in idx.stack_rows() if _unit_of(idx, r.id) == "Hz")
    m = ViewportModel()
    m.set_volume(load_stack(idx.stack(row.id)), SliceOrientation.AXIAL)
    assert modality_unit(m) == "Hz"  # the readout and the ROI statistics say it
    assert np.isfinite(m.volume.array).all()


def _unit_of(idx: StudyIndex, stack_id: int) -> str:
    return idx.stack(stack_id).units
