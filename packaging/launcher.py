"""Entry point of the frozen bundle: the same ``namecar-viewer`` command as the installed one."""

import multiprocessing
import sys

from namecar_viewer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the command line
    sys.exit(main())
