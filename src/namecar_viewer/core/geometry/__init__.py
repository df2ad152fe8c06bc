"""Geometry in patient coordinates (DICOM LPS, millimetres)."""

from namecar_viewer.core.geometry.volume import Volume, affine_from_dicom

__all__ = ["Volume", "affine_from_dicom"]
