"""Dockable panels of the reading window (lesion table)."""
