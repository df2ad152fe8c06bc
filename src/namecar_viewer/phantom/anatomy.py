"""Analytic body model of the demo patient, rasterised into tissue labels on any image grid.

Every structure is an ellipsoid or an elliptic cylinder in *body* coordinates: DICOM patient LPS
millimetres (x towards the patient's left, y posterior, z towards the head) of the patient lying
on the table at the reference position.  A study sees the body moved by a rigid transform
(``study_from_body``); the rasteriser maps each voxel centre back to body coordinates and paints
structures in order (later ones overwrite earlier ones), so the same model serves the axial CT,
the MRI and the rotated PET frame alike.  Tissue properties per modality live in ``TISSUES``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Tissue(enum.IntEnum):
    """Label values of the rasterised phantom; lesions use ``LESION_LABEL_BASE + index``."""

    AIR = 0
    FAT = 1
    MUSCLE = 2
    VISCERAL_FAT = 3
    MEDIASTINUM = 4
    LUNG = 5
    HEART = 6
    AORTA = 7
    IVC = 8
    LIVER = 9
    SPLEEN = 10
    KIDNEY_CORTEX = 11
    KIDNEY_MEDULLA = 12
    BONE_CORTEX = 13
    MARROW = 14
    DISC = 15
    CSF = 16
    BOWEL = 17
    BLADDER = 18


LESION_LABEL_BASE = 100


@dataclass(frozen=True)
class TissueProperties:
    """Signal of one tissue in each modality of the demo.

    ``ct_hu``: portal venous phase CT number; ``noise_hu``: its noise SD.  ``t2``: TSE signal
    (arbitrary units); ``dwi_s0`` and ``adc`` (10^-3 mm^2/s): b=0 signal and apparent diffusion
    coefficient; ``t1_pre``, ``t1_gain``, ``t1_peak_s``, ``t1_plateau``: fat-suppressed dynamic
    T1 baseline, enhancement amplitude, time to peak and fraction of the peak kept afterwards;
    ``suv``: PSMA PET uptake (SUVbw, g/ml).
    """

    ct_hu: float
    noise_hu: float
    t2: float
    dwi_s0: float
    adc: float
    t1_pre: float
    t1_gain: float
    t1_peak_s: float
    t1_plateau: float
    suv: float


TP = TissueProperties
TISSUES: dict[int, TissueProperties] = {
    Tissue.AIR: TP(-1000, 6, 0, 0, 0.0, 0, 0, 60, 1.0, 0.0),
    Tissue.FAT: TP(-100, 8, 380, 30, 0.1, 50, 5, 120, 1.0, 0.25),
    Tissue.MUSCLE: TP(50, 8, 90, 90, 1.4, 170, 60, 120, 1.0, 0.7),
    Tissue.VISCERAL_FAT: TP(-90, 8, 360, 30, 0.1, 50, 5, 120, 1.0, 0.3),
    Tissue.MEDIASTINUM: TP(20, 8, 150, 80, 1.5, 120, 40, 90, 1.0, 0.8),
    Tissue.LUNG: TP(-850, 30, 15, 8, 2.0, 10, 2, 60, 1.0, 0.3),
    Tissue.HEART: TP(160, 8, 60, 40, 3.0, 200, 500, 20, 0.45, 1.6),
    Tissue.AORTA: TP(180, 8, 30, 30, 3.0, 200, 600, 18, 0.4, 1.5),
    Tissue.IVC: TP(150, 8, 60, 40, 3.0, 190, 450, 35, 0.5, 1.5),
    Tissue.LIVER: TP(105, 8, 90, 150, 1.2, 300, 220, 70, 0.95, 5.5),
    Tissue.SPLEEN: TP(115, 8, 200, 300, 0.8, 260, 260, 40, 0.8, 6.0),
    Tissue.KIDNEY_CORTEX: TP(170, 8, 250, 420, 2.1, 220, 600, 28, 0.55, 38.0),
    Tissue.KIDNEY_MEDULLA: TP(125, 8, 320, 430, 2.3, 200, 520, 90, 0.85, 25.0),
    Tissue.BONE_CORTEX: TP(900, 25, 20, 15, 0.3, 20, 2, 120, 1.0, 0.8),
    Tissue.MARROW: TP(250, 12, 250, 60, 0.5, 120, 30, 60, 1.0, 1.2),
    Tissue.DISC: TP(80, 8, 200, 120, 1.5, 90, 10, 120, 1.0, 0.5),
    Tissue.CSF: TP(8, 8, 900, 700, 3.0, 40, 0, 60, 1.0, 0.3),
    Tissue.BOWEL: TP(35, 8, 140, 120, 1.2, 150, 120, 60, 0.9, 3.0),
    Tissue.BLADDER: TP(10, 8, 950, 650, 3.0, 40, 0, 60, 1.0, 45.0),
}


@dataclass(frozen=True)
class Ellipsoid:
    """Solid ellipsoid; ``angle_deg`` turns its first axis in the axial plane (x towards y)."""

    centre: tuple[float, float, float]
    semi_axes: tuple[float, float, float]
    label: int
    angle_deg: float = 0.0

    def bounds(self) -> tuple[FloatArray, FloatArray]:
        c = np.asarray(self.centre, dtype=np.float64)
        a, b, s = self.semi_axes
        r = max(a, b) if self.angle_deg else 0.0
        half = np.array([r or a, r or b, s])
        return c - half, c + half

    def inside(self, x: FloatArray, y: FloatArray, z: float | FloatArray) -> npt.NDArray[np.bool_]:
        cx, cy, cz = self.centre
        a, b, s = self.semi_axes
        dx, dy = x - cx, y - cy
        if self.angle_deg:
            t = np.deg2rad(self.angle_deg)
            dx, dy = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
        dz = np.asarray(z, dtype=np.float64) - cz
        return np.asarray((dx / a) ** 2 + (dy / b) ** 2 + (dz / s) ** 2 <= 1.0)


@dataclass(frozen=True)
class Cylinder:
    """Elliptic cylinder along z between ``z_min`` and ``z_max``."""

    centre_xy: tuple[float, float]
    semi_xy: tuple[float, float]
    z_min: float
    z_max: float
    label: int

    def bounds(self) -> tuple[FloatArray, FloatArray]:
        (cx, cy), (a, b) = self.centre_xy, self.semi_xy
        return np.array([cx - a, cy - b, self.z_min]), np.array([cx + a, cy + b, self.z_max])

    def inside(self, x: FloatArray, y: FloatArray, z: float | FloatArray) -> npt.NDArray[np.bool_]:
        (cx, cy), (a, b) = self.centre_xy, self.semi_xy
        zz = np.asarray(z, dtype=np.float64)
        in_z = (zz >= self.z_min) & (zz <= self.z_max)
        return np.asarray((((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0) & in_z)


Shape = Ellipsoid | Cylinder

# Cranio-caudal extent of the modelled trunk (body z, mm): lung apex to the pelvis.
TRUNK_Z = (-320.0, 120.0)
CHEST_ABDOMEN_BOUNDARY_Z = -25.0
VERTEBRA_PITCH_MM = 30.0
VERTEBRA_BODY_HEIGHT_MM = 25.0
VERTEBRA_FIRST_Z = -300.0


def vertebral_body_ranges() -> list[tuple[float, float]]:
    """(z_min, z_max) of every vertebral body; the 5 mm between two is a disc."""
    out = []
    z = VERTEBRA_FIRST_Z
    while z < TRUNK_Z[1]:
        out.append((z, z + VERTEBRA_BODY_HEIGHT_MM))
        z += VERTEBRA_PITCH_MM
    return out


def body_structures() -> list[Shape]:
    """The normal anatomy in painting order (later structures overwrite earlier ones)."""
    z0, z1 = TRUNK_Z
    t = Tissue
    s: list[Shape] = [
        Cylinder((0, 0), (165, 115), z0, z1, t.FAT),
        Cylinder((0, 0), (150, 100), z0, z1, t.MUSCLE),
        Cylinder((0, 0), (140, 90), z0, CHEST_ABDOMEN_BOUNDARY_Z, t.VISCERAL_FAT),
        Cylinder((0, 0), (140, 90), CHEST_ABDOMEN_BOUNDARY_Z, z1, t.MEDIASTINUM),
        Ellipsoid((-72, 5, 35), (55, 70, 62), t.LUNG),
        Ellipsoid((72, 5, 35), (55, 70, 62), t.LUNG),
        Ellipsoid((10, -25, 15), (48, 45, 45), t.HEART),
        Ellipsoid((-55, -15, -35), (80, 70, 60), t.LIVER),
        Ellipsoid((90, 25, -45), (30, 45, 45), t.SPLEEN),
        Ellipsoid((-70, 50, -60), (28, 30, 55), t.KIDNEY_CORTEX),
        Ellipsoid((-70, 50, -60), (17, 18, 38), t.KIDNEY_MEDULLA),
        Ellipsoid((70, 50, -60), (28, 30, 55), t.KIDNEY_CORTEX),
        Ellipsoid((70, 50, -60), (17, 18, 38), t.KIDNEY_MEDULLA),
        Cylinder((12, 15), (12, 12), -150, 40, t.AORTA),
        Cylinder((-22, 12), (11, 11), -160, 0, t.IVC),
        Cylinder((-40, 60), (15, 15), z0, -70, t.MUSCLE),
        Cylinder((40, 60), (15, 15), z0, -70, t.MUSCLE),
        Cylinder((-30, 85), (22, 20), z0, z1, t.MUSCLE),
        Cylinder((30, 85), (22, 20), z0, z1, t.MUSCLE),
        Cylinder((0, 45), (20, 20), z0, z1, t.DISC),
    ]
    for lo, hi in vertebral_body_ranges():
        s.append(Cylinder((0, 45), (20, 20), lo, hi, t.BONE_CORTEX))
        s.append(Cylinder((0, 45), (17, 17), lo + 1.5, hi - 1.5, t.MARROW))
        s.append(Cylinder((0, 77), (17, 15), lo, hi, t.BONE_CORTEX))
        s.append(Cylinder((0, 98), (4, 10), lo + 3, hi - 3, t.BONE_CORTEX))
    s += [
        Cylinder((0, 75), (9, 9), z0, z1, t.CSF),
        Ellipsoid((-20, -60, -120), (30, 20, 25), t.BOWEL),
        Ellipsoid((40, -60, -180), (35, 25, 30), t.BOWEL),
        Ellipsoid((-45, -35, -205), (30, 25, 25), t.BOWEL),
        Cylinder((-90, 30), (18, 40), -320, -200, t.BONE_CORTEX),
        Cylinder((-90, 30), (14, 36), -320, -200, t.MARROW),
        Cylinder((90, 30), (18, 40), -320, -200, t.BONE_CORTEX),
        Cylinder((90, 30), (14, 36), -320, -200, t.MARROW),
        Ellipsoid((0, -30, -275), (40, 30, 30), t.BLADDER),
    ]
    return s


@dataclass(frozen=True)
class Grid:
    """An image grid: ``shape`` (slices, rows, columns) and the (k, j, i) -> study LPS affine."""

    shape: tuple[int, int, int]
    affine: FloatArray

    @staticmethod
    def axial(
        rows: int,
        cols: int,
        spacing: float,
        z_positions: npt.ArrayLike,
        centre_xy: tuple[float, float] = (0.0, 0.0),
    ) -> Grid:
        """Axial slices (row direction +x, column direction +y) at the given z, head first."""
        z = np.asarray(z_positions, dtype=np.float64)
        step = float(z[1] - z[0]) if len(z) > 1 else -1.0
        aff = np.eye(4)
        aff[:3, 0] = (0.0, 0.0, step)
        aff[:3, 1] = (0.0, spacing, 0.0)
        aff[:3, 2] = (spacing, 0.0, 0.0)
        aff[:3, 3] = (
            centre_xy[0] - (cols - 1) / 2.0 * spacing,
            centre_xy[1] - (rows - 1) / 2.0 * spacing,
            z[0],
        )
        return Grid((len(z), rows, cols), aff)

    def position(self, k: int) -> FloatArray:
        """ImagePositionPatient of slice k (centre of its first transmitted pixel)."""
        return np.asarray(self.affine[:3, 0] * k + self.affine[:3, 3], dtype=np.float64)


def rasterise(
    shapes: Sequence[Shape],
    grid: Grid,
    study_from_body: FloatArray,
    *,
    slices: Sequence[int] | None = None,
) -> npt.NDArray[np.uint8]:
    """Paint ``shapes`` (body coordinates) onto ``grid`` (study coordinates) as uint8 labels.

    Works slice by slice.  When the combined index -> body mapping keeps columns along x, rows
    along y and slices along z (the usual axial case), each structure is evaluated only in its
    bounding window; otherwise (a rotated frame) on the full slice.
    """
    body_from_index = np.linalg.inv(study_from_body) @ grid.affine
    m = body_from_index[:3, :3]
    aligned = (
        abs(m[1, 2]) < 1e-9
        and abs(m[2, 2]) < 1e-9
        and abs(m[0, 1]) < 1e-9
        and abs(m[2, 1]) < 1e-9
        and abs(m[0, 0]) < 1e-9
        and abs(m[1, 0]) < 1e-9
    )
    ks = list(range(grid.shape[0])) if slices is None else list(slices)
    _, nj, ni = grid.shape
    out = np.zeros((len(ks), nj, ni), dtype=np.uint8)
    bounds = [sh.bounds() for sh in shapes]
    jj = np.arange(nj, dtype=np.float64)
    ii = np.arange(ni, dtype=np.float64)
    for n, k in enumerate(ks):
        origin = body_from_index[:3, 3] + m[:, 0] * k
        lab = out[n]
        if aligned:
            xs = origin[0] + m[0, 2] * ii
            ys = origin[1] + m[1, 1] * jj
            z = float(origin[2])
            for sh, (lo, hi) in zip(shapes, bounds, strict=True):
                if z < lo[2] or z > hi[2]:
                    continue
                ci = np.nonzero((xs >= lo[0]) & (xs <= hi[0]))[0]
                rj = np.nonzero((ys >= lo[1]) & (ys <= hi[1]))[0]
                if ci.size == 0 or rj.size == 0:
                    continue
                i0, i1, j0, j1 = ci[0], ci[-1] + 1, rj[0], rj[-1] + 1
                mask = sh.inside(xs[None, i0:i1], ys[j0:j1, None], z)
                lab[j0:j1, i0:i1][mask] = sh.label
        else:
            x = origin[0] + m[0, 1] * jj[:, None] + m[0, 2] * ii[None, :]
            y = origin[1] + m[1, 1] * jj[:, None] + m[1, 2] * ii[None, :]
            zz = origin[2] + m[2, 1] * jj[:, None] + m[2, 2] * ii[None, :]
            zmin, zmax = float(zz.min()), float(zz.max())
            for sh, (lo, hi) in zip(shapes, bounds, strict=True):
                if zmax < lo[2] or zmin > hi[2]:
                    continue
                lab[sh.inside(x, y, zz)] = sh.label
    return out


def rigid_transform(
    rotation_z_deg: float = 0.0, translation: Sequence[float] = (0.0, 0.0, 0.0)
) -> FloatArray:
    """4x4 homogeneous transform: rotation about the z axis, then translation (mm)."""
    t = np.deg2rad(rotation_z_deg)
    out = np.eye(4)
    # + 0.0 turns the -0.0 of a zero rotation into 0.0 (cleaner JSON).
    out[:2, :2] = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) + 0.0
    out[:3, 3] = np.asarray(translation, dtype=np.float64)
    return out
