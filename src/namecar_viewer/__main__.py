"""Allows ``python -m namecar_viewer``."""

import sys

from namecar_viewer.cli import main

sys.exit(main())
