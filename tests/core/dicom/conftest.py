"""Lets the DICOM tests import their series factory."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
