"""PET fusion GUI: fused viewport, registration, rotating MIP, lesion table, MRI-PET layout."""

from namecar_viewer.gui.fusion.layout import MriPetView, build_mri_pet_view, open_mri_pet_layout

__all__ = ["MriPetView", "build_mri_pet_view", "open_mri_pet_layout"]
