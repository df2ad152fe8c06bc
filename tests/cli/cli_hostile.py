"""Helpers of the hostile-input tests: run a command in-process under a time limit, and seeded
mutations of valid files (truncation, byte flips, huge numbers, deep nesting, wrong types,
encodings) that reproduce from their seed."""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import random
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from namecar_viewer.cli import main


class RunTimeout(Exception):
    """The command ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`RunTimeout` in the code under test after ``seconds`` (SIGALRM, main thread).

    A hang inside one C call (a huge integer power) cannot be interrupted by a signal handler:
    as a backstop faulthandler dumps every thread's stack and ends the process after
    ``4 * seconds + 10`` s, so a regression fails loudly instead of hanging the suite.
    """
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise RunTimeout(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 4 + 10, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        faulthandler.cancel_dump_traceback_later()


@dataclass
class Run:
    """What one in-process run of the command line gave."""

    code: int
    out: str
    err: str
    seconds: float
    peak_bytes: int


def run_cli(argv: list[str], seconds: float = 5.0, trace_memory: bool = False) -> Run:
    """``namecar-viewer ARGV`` in this process, its output captured, under a time limit.

    An exception escaping ``main`` (a traceback for a user) propagates to the test.
    """
    out, err = io.StringIO(), io.StringIO()
    if trace_memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        with (
            time_limit(seconds),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(argv)
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    finally:
        if trace_memory:
            tracemalloc.stop()
    return Run(code, out.getvalue(), err.getvalue(), time.perf_counter() - start, peak)


# --- mutations ---------------------------------------------------------------------------------

HUGE_NUMBERS = [
    "1e26",
    "1e28",
    "-1e400",
    "1e99999999",
    "1e-99999999",
    "1" * 5000,
    "-" + "9" * 400,
    "0." + "0" * 5000 + "1",
    "123456789012345678901234567890.5",
    "NaN",
    "Infinity",
    "-Infinity",
    "1E+308",
    "4.9e-324",
    "12345678.25",
]


def _replace_numbers(text: str, rng: random.Random) -> str:
    import re

    spans = [m.span() for m in re.finditer(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]
    if not spans:
        return text + rng.choice(HUGE_NUMBERS)
    for a, b in rng.sample(spans, min(len(spans), rng.randint(1, 3)))[::-1]:
        text = text[:a] + rng.choice(HUGE_NUMBERS) + text[b:]
    return text


def _nested(rng: random.Random) -> str:
    depth = rng.choice([40, 200, 990, 5000, 100000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def _random_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            3.5,
            "",
            "x" * rng.choice([1, 10, 300]),
            "too_small",
            [],
            [1, "a", None],
            {},
            {"id": 1},
            [[[]]],
            "2024-02-30",
            "target",
        ]
    )


def _wrong_types(doc: Any, rng: random.Random) -> Any:
    """Replace one to three random nodes of the document by values of another type."""
    for _ in range(rng.randint(1, 3)):
        nodes: list[tuple[Any, Any]] = []
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                nodes.extend((node, k) for k in node)
                stack.extend(node.values())
            elif isinstance(node, list):
                nodes.extend((node, i) for i in range(len(node)))
                stack.extend(node)
        if not nodes:
            return _random_value(rng)
        parent, key = rng.choice(nodes)
        if isinstance(parent, dict) and rng.random() < 0.2:
            parent[rng.choice(["id", "kind", "zzz", "date", "label"])] = _random_value(rng)
        elif isinstance(parent, dict) and rng.random() < 0.2:
            del parent[key]
        else:
            parent[key] = _random_value(rng)
    return doc


def mutate_json(valid: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutant of a valid JSON case file and the name of its mutation class."""
    text = valid.decode("utf-8")
    kind = rng.choice(
        ["truncate", "flip", "numbers", "nesting", "types", "encoding", "duplicate", "bigstring"]
    )
    if kind == "truncate":
        return kind, valid[: rng.randrange(len(valid))]
    if kind == "flip":
        data = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "numbers":
        return kind, _replace_numbers(text, rng).encode("utf-8")
    if kind == "nesting":
        doc = json.loads(text)
        where = rng.choice(["lesions", "timepoints", "imaging", "protocol", "root"])
        nested = _nested(rng)
        if where == "root":
            return kind, nested.encode()
        doc[where] = "@NESTED@"
        return kind, json.dumps(doc).replace('"@NESTED@"', nested).encode()
    if kind == "types":
        return kind, json.dumps(_wrong_types(json.loads(text), rng)).encode()
    if kind == "encoding":
        enc = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "utf-8-sig", "bad-utf8"])
        accented = text.replace("liver", "foie \u00e9\u00e8").replace("lung", "poumon \u00e7")
        if enc == "bad-utf8":
            data = bytearray(accented.encode("utf-8"))
            data.insert(rng.randrange(len(data)), rng.choice([0xFF, 0xC3, 0x80, 0xED]))
            return f"{kind}:{enc}", bytes(data)
        return f"{kind}:{enc}", accented.encode(enc, errors="replace")
    if kind == "duplicate":
        doc = json.loads(text)
        for tp in doc.get("timepoints", []):
            tp["label"] = "same"
        doc["lesions"] = doc.get("lesions", []) * rng.randint(2, 60)
        return kind, json.dumps(doc).encode()
    # bigstring: a very long id, label or organ
    doc = json.loads(text)
    big = "L" * rng.choice([129, 10_000, 1_000_000])
    if doc.get("lesions"):
        doc["lesions"][0][rng.choice(["id", "organ"])] = big
    if doc.get("timepoints"):
        doc["timepoints"][-1]["label"] = big
    return kind, json.dumps(doc).encode()


def mutate_bytes(valid: bytes, rng: random.Random) -> bytes:
    """Truncation or byte flips of a binary file."""
    if rng.random() < 0.5:
        return valid[: rng.randrange(len(valid))]
    data = bytearray(valid)
    for _ in range(rng.randint(1, 16)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


# --- SR mutations ------------------------------------------------------------------------------

DEFLATED = "1.2.840.10008.1.2.1.99"


def _content_items(ds: Any) -> list[Any]:
    """Every content item of an SR dataset, depth first (iteratively)."""
    out = []
    stack = list(ds.get("ContentSequence", []))
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(item.get("ContentSequence", []))
    return out


# A Numeric Value (DS, 16 bytes) that the mutant's bytes replace after writing: pydicom cannot
# hold an invalid DS, a file can.
_PLACEHOLDER = "7777777.77777777"
BAD_DS = ["NaN", "inf", "-inf", "1e999", "abc", "", "1.5.5"]


def _nested_container_bytes(depth: int) -> bytes:
    """(0040,A730) Content Sequence of ``depth`` nested CONTAINER items, explicit VR little
    endian, undefined lengths (what a tool that recurses would write)."""
    import struct

    def element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value

    item_start = struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end = struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    seq_start = struct.pack("<HH", 0x0040, 0xA730) + b"SQ\0\0" + struct.pack("<L", 0xFFFFFFFF)
    seq_end = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    head = (
        item_start
        + element(0x0040, 0xA010, b"CS", b"CONTAINS")
        + element(0x0040, 0xA040, b"CS", b"CONTAINER")
        + seq_start
    )
    return seq_start + head * depth + (seq_end + item_end) * depth + seq_end


def _mutate_sr_dataset(ds: Any, rng: random.Random) -> str:
    """Change the dataset in place; the name of the change."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    items = _content_items(ds)
    kind = rng.choice(
        [
            "no-valuetype",
            "num-value",
            "timepoint-order",
            "graphicdata",
            "drop-element",
            "empty-sequence",
            "wrong-type",
            "modality",
            "no-content",
        ]
    )
    if kind == "no-valuetype":
        for item in rng.sample(items, min(len(items), rng.randint(1, 4))):
            if "ValueType" in item:
                del item.ValueType
    elif kind == "num-value":
        nums = [i for i in items if i.get("MeasuredValueSequence")]
        for item in rng.sample(nums, min(len(nums), rng.randint(1, 3))):
            mv = item.MeasuredValueSequence[0]
            choice = rng.choice(["bad", "bad", "delete", "empty-seq"])
            if choice == "delete":
                del mv.NumericValue
            elif choice == "empty-seq":
                item.MeasuredValueSequence = Sequence([Dataset()])
            else:
                mv.NumericValue = _PLACEHOLDER
    elif kind == "timepoint-order":
        nums = [
            i
            for i in items
            if i.get("ConceptNameCodeSequence")
            and i.ConceptNameCodeSequence[0].get("CodeValue") == "126073"
            and i.get("MeasuredValueSequence")
        ]
        for item in nums:
            item.MeasuredValueSequence[0].NumericValue = _PLACEHOLDER
    elif kind == "graphicdata":
        coords = [i for i in items if "GraphicData" in i]
        for item in rng.sample(coords, min(len(coords), rng.randint(1, 3))):
            value = rng.choice([[], [1.0], [1.0, 2.0, 3.0, 4.0], [float("nan")] * 6, "delete"])
            if value == "delete":
                del item.GraphicData
            else:
                item.GraphicData = value
    elif kind == "drop-element":
        for item in rng.sample(items, min(len(items), rng.randint(1, 6))):
            keys = [e.keyword for e in item if e.keyword]
            if keys:
                delattr(item, rng.choice(keys))
    elif kind == "empty-sequence":
        for item in rng.sample(items, min(len(items), rng.randint(1, 6))):
            seqs = [e.keyword for e in item if e.VR == "SQ" and e.keyword]
            if seqs:
                setattr(item, rng.choice(seqs), Sequence([]))
    elif kind == "wrong-type":
        for item in rng.sample(items, min(len(items), rng.randint(1, 4))):
            item.ValueType = rng.choice(["NUM", "CODE", "TEXT", "IMAGE", "SCOORD", "SCOORD3D", "X"])
    elif kind == "modality":
        ds.Modality = "CT"
    else:
        del ds.ContentSequence
    return kind


def dataset_start(data: bytes) -> int:
    """Where the data set begins after the file meta information (its group length)."""
    import struct

    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00"
    return 144 + int(struct.unpack_from("<L", data, 140)[0])


def with_transfer_syntax(data: bytes, uid: str, body: bytes | None = None) -> bytes:
    """The file with its meta information declaring ``uid`` (the data set bytes unchanged, or
    ``body`` instead)."""
    import pydicom
    from pydicom.filewriter import write_file_meta_info

    meta = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta
    meta.TransferSyntaxUID = uid
    out = io.BytesIO()
    out.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    out.write(data[dataset_start(data) :] if body is None else body)
    return out.getvalue()


def mutate_sr(valid: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutant of a valid SR file and its mutation class."""
    import pydicom

    kind = rng.choice(["truncate", "flip", "dataset", "dataset", "dataset", "deflate", "nested"])
    if kind in ("truncate", "flip"):
        if kind == "truncate":
            return kind, valid[: rng.randrange(len(valid))]
        data = bytearray(valid)
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    ds = pydicom.dcmread(io.BytesIO(valid))
    if kind == "nested":
        # the document's content replaced by 50 to 4000 nested containers
        depth = rng.choice([50, 400, 4000])
        del ds.ContentSequence
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        return f"{kind}:{depth}", buf.getvalue() + _nested_container_bytes(depth)
    if kind == "deflate":
        buf = io.BytesIO()
        if rng.random() < 0.5:
            # declares Deflated Explicit VR Little Endian, holds the data set as it is
            ds.save_as(buf, enforce_file_format=True)
            return f"{kind}:not-deflated", with_transfer_syntax(buf.getvalue(), DEFLATED)
        # deflated, then damaged in the middle of the compressed stream
        ds.file_meta.TransferSyntaxUID = DEFLATED
        ds.save_as(buf, enforce_file_format=True)
        data = bytearray(buf.getvalue())
        start = len(data) // 2
        data[start : start + 64] = bytes(rng.randrange(256) for _ in range(64))
        return f"{kind}:damaged", bytes(data)
    what = _mutate_sr_dataset(ds, rng)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    while _PLACEHOLDER.encode() in data:
        data = data.replace(_PLACEHOLDER.encode(), rng.choice(BAD_DS).ljust(16).encode(), 1)
    return f"{kind}:{what}", data
