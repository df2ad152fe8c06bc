"""The slices of a load are shared by its reading threads one at a time, not in fixed halves."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dicom_series_factory import write_ct_series

from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.dicom import loader as loader_module


def test_a_held_up_worker_leaves_the_other_slices_to_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first thread to read a slice is held up 0.3 s on it (as a core the host stalls):
    the other thread reads the rest meanwhile, and every slice is read once and is right."""
    n = 24
    write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(n)])
    stack = scan([str(tmp_path)]).stacks[0]
    monkeypatch.setattr(loader_module, "_workers", lambda: 2)
    read = loader_module._read_native_into
    readers: list[int] = []
    slow: list[int] = []
    guard = threading.Lock()

    def held_up(inst: Any, dest: np.ndarray, scratch: Any) -> tuple[float, float]:
        me = threading.get_ident()
        with guard:
            if not slow:
                slow.append(me)
            readers.append(me)
        if me == slow[0]:
            time.sleep(0.3)
        return read(inst, dest, scratch)

    monkeypatch.setattr(loader_module, "_read_native_into", held_up)
    volume = load_stack(stack)
    assert len(readers) == n, "each slice read once"
    assert readers.count(slow[0]) <= 2, "the held-up thread must not keep a fixed half"
    # HU = stored - 1024, slice k stored 1024 + 10 k (dicom_series_factory)
    assert [int(volume.array[k, 3, 3]) for k in range(n)] == [10 * k for k in range(n)]
