"""Independent checks of a de-identified copy against its original (used by deid and pacs tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.deid import PROFILE


def walk(ds: Dataset, path: str = "") -> Iterator[tuple[str, Any, Dataset]]:
    """(path, element, parent dataset) for every element, sequence items included."""
    for elem in ds:
        p = f"{path}{elem.keyword or elem.tag}"
        yield p, elem, ds
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                yield from walk(item, f"{p}[{i}].")


def find(ds: Dataset, path: str) -> Any:
    """The element at a path made by ``walk``, or None when it is gone."""
    cur: Any = ds
    parts = path.split(".")
    for n, part in enumerate(parts):
        if "[" in part:
            kw, idx = part[:-1].split("[")
            if kw not in cur or len(cur[kw].value or []) <= int(idx):
                return None
            cur = cur[kw].value[int(idx)]
        else:
            if part not in cur:
                return None
            return cur[part] if n == len(parts) - 1 else None
    return None


def leaked(original: Dataset, deid: Dataset, retained: set[str]) -> list[str]:
    """Elements of the profile's table that keep their original, non-empty value.

    ``retained`` lists keywords an option keeps on purpose (e.g. patient characteristics).
    Times of day (TM) are kept on purpose too: dates move by whole days, so intervals in days
    and uptake times stay exact, and a time without its true date identifies no one.
    """
    out = []
    for path, elem, _parent in walk(original):
        if int(elem.tag) not in PROFILE or elem.VR in ("SQ", "TM") or elem.value in (None, "", b""):
            continue
        if elem.keyword in retained:
            continue
        new = find(deid, path)
        if new is not None and new.value == elem.value:
            out.append(f"{path} = {elem.value!r}")
    return out


def private_tags(ds: Dataset) -> list[str]:
    return [p for p, elem, _ in walk(ds) if elem.tag.is_private]
