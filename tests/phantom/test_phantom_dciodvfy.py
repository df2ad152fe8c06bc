"""Every series of the demo passes dicom3tools' dciodvfy without an Error line."""

from __future__ import annotations

import subprocess

from testsupport import require_tool


def test_dciodvfy_no_errors(small_demo):
    dciodvfy = require_tool("dciodvfy", "dicom3tools")
    checked = 0
    for folder in sorted(p for p in small_demo.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.dcm"))
        # First, middle and last file of each series (DWI b=0/800, dynamic phases 1 and 6).
        for f in {files[0], files[len(files) // 2], files[-1]}:
            out = subprocess.run([dciodvfy, str(f)], capture_output=True, text=True, check=False)
            text = out.stdout + out.stderr
            errors = [line for line in text.splitlines() if line.startswith("Error")]
            assert not errors, f"{folder.name}/{f.name}: {errors}"
            assert text.strip(), "dciodvfy printed nothing"
            checked += 1
    assert checked >= 9 * 2
