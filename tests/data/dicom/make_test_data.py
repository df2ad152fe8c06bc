"""Rebuild tests/data/dicom from dcm2niix's validation sets (a developer's tool, not a test).

    python tests/data/dicom/make_test_data.py /path/to/checkouts [CASE ...]

``/path/to/checkouts`` holds the repositories named in README.md (dcm_qa_mosaic, dcm_qa_nih,
...), each as cloned.  For every case below this copies the few DICOM files the tests use and
writes ``<set>/Ref/<case>.json``: the reference NIfTI's 348-byte header (base64) and sampled
voxel values (already scaled by scl_slope/scl_inter) of the reference volumes and slices that
the kept files cover, so the tests need not carry the reference images themselves.  Which
reference voxels are covered is found by loading the kept files; the values sampled are the
reference's own.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "core" / "dicom"))

from nifti_ref import align, locate, read_header, read_volumes  # noqa: E402

SAMPLES_PER_SLICE = 12
# reference files copied as they are (small text files)
EXTRA = {"Toshiba_DTI_7006": ["Ref/7006_DTI_ortho.bval", "Ref/7006_DTI_ortho.bvec"]}

# case: (set, source folder in the set, files kept (None: all), reference NIfTI files)
# a reference kept in another validation set of the same checkout folder: "@set/path"
OTHER_SET = "@"
CASES: dict[str, tuple[str, str, list[str] | None, list[str]]] = {
    "ep2d_Int_HF_5": (
        "dcm_qa_mosaic",
        "In/ep2d_Int_HF_5",
        ["IM-0004-0001.dcm", "IM-0004-0002.dcm"],
        ["Ref/5_ep2d_Int_HF.nii"],
    ),
    "Si_EPI_PE_AP_3": (
        "dcm_qa_nih",
        "In/20180918Si/mr_0003",
        ["epi_pe_ap-00001.dcm", "epi_pe_ap-00002.dcm"],
        ["Ref/EPI_PE=AP_3.nii"],
    ),
    "GE_EPI_4": (
        "dcm_qa_nih",
        "In/20180918GE/mr_0004",
        [
            f"axial_epi_fmri_interleaved_i_to_s-{n:05d}.dcm"
            for n in (1, 2, 3, 16, 17, 18, 31, 32, 33)
        ],
        ["Ref/DCM2NIIX_regression_test_4.nii"],
    ),
    "UIH_DTI_AP_9": (
        "dcm_qa_uih",
        "In/DTI_134434/dti_tra_dir16_AP_SaveBySlc__140028",
        ["00000001.dcm", "00000002.dcm", "00000003.dcm"],
        ["Ref/dti_tra_dir16_AP_9_134431.nii"],
    ),
    "Philips_B0_fMAP": (
        "dcm_qa_enh",
        "In/Philips",
        ["IM_0027_fMAP.dcm"],
        ["Ref/Philips_WIP_B0_NS_801_e1.nii", "Ref/Philips_WIP_B0_NS_801_e2_fieldmaphz.nii"],
    ),
    "Siemens_XA10_SMS": (
        "dcm_qa_enh",
        "In/Siemens/XA10",
        ["6_1.dcm", "6_2.dcm"],
        ["Ref/Siemens_REST1_w_SMS_PF7-8_6.nii"],
    ),
    "Philips_pCASL_402": (
        "dcm_qa_philips_asl",
        "In/Classic/402_SOURCE_-_3D_pCASL_6mm",
        ["0001.dcm", "0002.dcm", "0003.dcm", "0015.dcm", "0016.dcm", "0017.dcm"],
        ["Ref/402_SOURCE_-_3D_pCASL_6mm_classic.nii"],
    ),
    "Philips_ASL_MultiPhase_301": (
        "dcm_qa_philips_asl",
        "In/Classic/301_ASL_MultiPhase",
        [f"{n:04d}.dcm" for n in range(1, 17)],
        # the classic set's own reference carries one extra factor (1/ScaleSlope of its first
        # image) on every volume; the enhanced export of the same acquisition has the values
        [
            f"{OTHER_SET}dcm_qa_philips_asl_enh/Ref/301_ASL_MultiPhase_enhanced_real_t{t}.nii"
            for t in (300, 550, 800, 1050, 1300, 1550, 1800, 2050)
        ],
    ),
    "Philips_pCASL_402_enhanced": (
        "dcm_qa_philips_asl_enh",
        "In/Enhanced",
        ["402_SOURCE_-_3D_pCASL_6mm.dcm.gz"],
        ["Ref/402_SOURCE_-_3D_pCASL_6mm_enhanced.nii"],
    ),
    # AcquisitionTime per slice, one second for the first 2 of 48 slices and the next for the
    # rest, in every volume: it must not cut the volumes into slabs
    "GE_fMRI_HB3_15": (
        "dcm_qa_ge",
        "In/SliceTiming/15_Ax_fMRI_HB3_48sl_seq_asc",
        [f"{n:04d}.dcm" for n in (1, 2, 3, 4, 5, 49, 50, 51, 52, 53)],
        ["Ref/Ax_fMRI_HB3_48sl_seq_asc_15.nii"],
    ),
    "Toshiba_DTI_7006": (
        "dcm_qa_toshiba",
        "In/Galan/7006_DTI_ortho",
        ["0001.dcm", "0002.dcm", "0041.dcm", "0042.dcm", "0081.dcm", "0082.dcm"],
        [],  # the reference NIfTI (over 4 MiB) is not in the snapshot: b-values from Ref/*.bval
    ),
    # GE epi_pepolar, mode 2 (reversed then forward): volumes 1 and 3 are stored upside down;
    # dcm2niix writes them, rows put back, as series 1006
    "GE_pepolar_6": (
        "dcm_qa_polar",
        "In/6_FM_cv12_2_3mm",
        [f"{n:03d}.dcm" for n in (1, 2, 61, 62, 121, 122, 181, 182)],
        ["Ref/6_FM_cv12_2_3mm.nii", "Ref/1006_FM_cv12_2_3mm.nii"],
    ),
}


def _load_case(folder: Path) -> list[object]:
    from namecar_viewer.core.dicom import load_stack, scan

    paths = []
    for p in sorted(folder.iterdir()):
        if p.suffix == ".gz":
            out = Path("/tmp") / p.stem
            out.write_bytes(gzip.decompress(p.read_bytes()))
            paths.append(str(out))
        elif p.suffix == ".dcm":
            paths.append(str(p))
    report = scan(paths)
    return [load_stack(s) for s in report.stacks]


def main(root: Path, only: list[str]) -> None:
    rng = np.random.default_rng(15)
    for case, (qa_set, source, keep, refs) in CASES.items():
        if only and case not in only:
            continue
        src = root / qa_set / source
        dest = HERE / qa_set / case
        dest.mkdir(parents=True, exist_ok=True)
        for name in keep or sorted(p.name for p in src.iterdir()):
            shutil.copyfile(src / name, dest / name)
        volumes = _load_case(dest)
        out = {"case": case, "set": qa_set, "source": source, "references": []}
        for ref_name in refs:
            ref_path = (
                root / ref_name.removeprefix(OTHER_SET)
                if ref_name.startswith(OTHER_SET)
                else Path(os.path.normpath(root / qa_set / ref_name))
            )
            header, data = read_volumes(ref_path)
            raw = ref_path.read_bytes()[:348]
            samples: list[list[float]] = []
            for v in volumes:
                al = align(v.affine, v.array.shape, header)  # type: ignore[attr-defined]
                offset, err = locate(al, header, v.array.shape)  # type: ignore[attr-defined]
                assert err < 1e-3, (case, err)
                ours = al.to_reference(v.array.astype(np.float64))  # type: ignore[attr-defined]
                for t in range(data.shape[3]):
                    block = data[
                        offset[0] : offset[0] + ours.shape[0],
                        offset[1] : offset[1] + ours.shape[1],
                        offset[2] : offset[2] + ours.shape[2],
                        t,
                    ]
                    if block.shape != ours.shape or not np.allclose(
                        block, ours, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(block).max()))
                    ):
                        continue
                    for k in range(ours.shape[2]):
                        plane = block[:, :, k]
                        bright = np.argsort(plane, axis=None)[-SAMPLES_PER_SLICE // 2 :]
                        rand = rng.choice(plane.size, SAMPLES_PER_SLICE // 2, replace=False)
                        for flat in (*bright, *rand):
                            i, j = np.unravel_index(int(flat), plane.shape)
                            samples.append(
                                [
                                    t,
                                    int(i) + offset[0],
                                    int(j) + offset[1],
                                    k + offset[2],
                                    float(plane[i, j]),
                                ]
                            )
            out["references"].append(
                {
                    "file": Path(ref_name).name,
                    "header": base64.b64encode(raw).decode("ascii"),
                    "dim": list(read_header(raw).dim),
                    "samples": samples,
                }
            )
        (HERE / qa_set / "Ref").mkdir(exist_ok=True)
        for extra in EXTRA.get(case, []):
            shutil.copyfile(root / qa_set / extra, HERE / qa_set / extra)
        (HERE / qa_set / "Ref" / f"{case}.json").write_text(json.dumps(out) + "\n")
        print(case, len(volumes), "volumes;", [len(r["samples"]) for r in out["references"]])


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])  # then case names: rebuild only those
