"""Qt-free core: DICOM I/O, volumes and geometry, measurements, SUV, RECIST.

Nothing below this package may import Qt; ``tests/test_layering.py`` proves it.
"""
