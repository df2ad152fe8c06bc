"""Measurement tools on the viewports (line, bidirectional, ROI, point/arrow, sphere, semi-auto)."""
