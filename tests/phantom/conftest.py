"""The small demo patient fixtures live in tests/conftest.py, shared with the DICOM and GUI tests."""
