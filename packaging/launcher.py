"""Entry point of the frozen bundle: the same ``namecar-viewer`` command as the installed one.

``--bundle-self-check DICOM_FILE`` as the only arguments runs packaging/bundle_check.py inside
the bundle instead (the smoke test's proof that codecs, SimpleITK and resources are complete).
"""

import multiprocessing
import sys

from namecar_viewer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the command line
    if sys.argv[1:2] == ["--bundle-self-check"]:
        import bundle_check

        sys.exit(bundle_check.main(sys.argv[2:]))
    sys.exit(main())
