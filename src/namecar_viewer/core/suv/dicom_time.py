"""DICOM DA/TM/DT parsing with UTC offsets, so that decay times are never off by an hour.

pydicom returns these VRs as strings unless a global switch is set; parsing here keeps the
rest of the package independent of that switch and tolerant of the partial forms the
standard allows (PS3.5 6.2: ``HH``, ``HHMM``, ``HHMMSS.FFFFFF``; DT with ``&ZZXX`` offset).

Examples
--------
>>> parse_dt("20240301101500.5+0100").isoformat()
'2024-03-01T10:15:00.500000+01:00'
>>> parse_tm("0930").isoformat()
'09:30:00'
"""

from __future__ import annotations

import datetime as dt
import re

_DT_RE = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<f>\d{1,6}))?(?P<tz>[+-]\d{4})?$"
)
_TM_RE = re.compile(r"^(?P<h>\d{2})(?P<mi>\d{2})?(?P<s>\d{2})?(?:\.(?P<f>\d{1,6}))?$")


def parse_offset(text: str) -> dt.timezone:
    """Parse a ``+HHMM``/``-HHMM`` UTC offset (TimezoneOffsetFromUTC, DT suffix)."""
    t = text.strip()
    if not re.fullmatch(r"[+-]\d{4}", t):
        raise ValueError(f"UTC offset {text!r} is not of the form +HHMM or -HHMM")
    sign = 1 if t[0] == "+" else -1
    hours, minutes = int(t[1:3]), int(t[3:5])
    if hours > 14 or minutes > 59:
        raise ValueError(f"UTC offset {text!r} is out of range")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _fraction(f: str | None) -> int:
    return int((f or "0").ljust(6, "0"))


def parse_da(text: str) -> dt.date:
    """Parse a DA value (``YYYYMMDD``; the retired ``YYYY.MM.DD`` form is accepted)."""
    t = text.strip().replace(".", "")
    if not re.fullmatch(r"\d{8}", t):
        raise ValueError(f"date {text!r} is not of the form YYYYMMDD")
    return dt.date(int(t[:4]), int(t[4:6]), int(t[6:8]))


def parse_tm(text: str) -> dt.time:
    """Parse a TM value; the retired ``HH:MM:SS`` form is accepted."""
    t = text.strip().replace(":", "")
    m = _TM_RE.match(t)
    if not m:
        raise ValueError(f"time {text!r} is not of the form HHMMSS.FFFFFF")
    second = int(m["s"] or 0)
    if second == 60:  # leap second allowed by PS3.5; clamp rather than fail
        second = 59
    return dt.time(int(m["h"]), int(m["mi"] or 0), second, _fraction(m["f"]))


def parse_dt(text: str) -> dt.datetime:
    """Parse a DT value; the result is timezone-aware only when the value carries an offset."""
    t = text.strip()
    m = _DT_RE.match(t)
    if not m:
        raise ValueError(f"date-time {text!r} is not of the form YYYYMMDDHHMMSS.FFFFFF&ZZXX")
    second = min(int(m["s"] or 0), 59)
    value = dt.datetime(
        int(m["y"]),
        int(m["mo"] or 1),
        int(m["d"] or 1),
        int(m["h"] or 0),
        int(m["mi"] or 0),
        second,
        _fraction(m["f"]),
    )
    if m["tz"]:
        value = value.replace(tzinfo=parse_offset(m["tz"]))
    return value
