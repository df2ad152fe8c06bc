"""The small demo patient fixtures live in tests/conftest.py, shared with other test folders."""
