"""The status of a read as every export states it: per timepoint, *signed* (by whom, when, which
version) or *draft*, from the signing model (``app.signing``: signatures that are not revoked).

The exports (PDF header, CSV ``read_status``/``signed_by``/``signed_at_utc`` columns, the SR's
VerificationFlag and VerifyingObserverSequence) all take a :class:`ReadStatus`; without one a
read is a draft.  Qt-free, and ``core`` does not import ``app``: signatures are duck-typed (any
object with ``timepoint_uid``, ``username``, ``signed_utc`` and ``version`` fits, such as
``app.signing.Signature``).

Blinding: a signer's name is a reader's name, and a blinded reader sees only their own
(``BlindingPolicy.may_see_reader_result(viewer, owner)``); anyone else's is shown as
``(blinded)``.

>>> import datetime as dt
>>> s = TimepointSignature("tp1", "reader1", dt.datetime(2025, 3, 1, 9, 5, tzinfo=dt.UTC), 2)
>>> ReadStatus((s,)).text("tp1")
'signed by reader1 on 2025-03-01 09:05 UTC, version 2'
>>> ReadStatus((s,)).text("tp2")
'draft'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

DRAFT = "draft"
SIGNED = "signed"
HIDDEN_NAME = "(blinded)"


def utc_text(when: dt.datetime) -> str:
    """``2025-03-01 09:05 UTC`` (naive datetimes from SQLite are UTC already)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return f"{when:%Y-%m-%d %H:%M} UTC"


def utc_iso(when: dt.datetime) -> str:
    """``2025-03-01T09:05:07Z`` (whole seconds), for the CSV."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


@dataclass(frozen=True)
class TimepointSignature:
    """An active electronic signature of one timepoint read."""

    timepoint_uid: str
    signer: str
    signed_utc: dt.datetime
    version: int


@dataclass(frozen=True)
class ReadStatus:
    """Signatures of a read's timepoints, and who is looking (for blinding the signer's name)."""

    signatures: tuple[TimepointSignature, ...] = ()
    viewer: str | None = None

    @classmethod
    def from_signatures(cls, signatures: Iterable[Any], viewer: str | None = None) -> ReadStatus:
        """From ``app.signing.Signature`` objects (or anything with the same attributes)."""
        return cls(
            tuple(
                TimepointSignature(
                    str(s.timepoint_uid), str(s.username), s.signed_utc, int(s.version)
                )
                for s in signatures
            ),
            viewer,
        )

    def of(self, timepoint_uid: str) -> TimepointSignature | None:
        """The timepoint's signature (the latest version when several are active)."""
        hits = [s for s in self.signatures if s.timepoint_uid == timepoint_uid]
        return max(hits, key=lambda s: s.version) if hits else None

    def signer_name(self, sig: TimepointSignature, blinding: Any | None = None) -> str:
        """The signer as this viewer may see them under ``blinding``."""
        if blinding is None or not getattr(blinding, "enabled", False):
            return sig.signer
        may = getattr(blinding, "may_see_reader_result", None)
        if may is not None:
            allowed = self.viewer is not None and bool(may(self.viewer, sig.signer))
        else:
            allowed = self.viewer == sig.signer
        return sig.signer if allowed else HIDDEN_NAME

    def text(self, timepoint_uid: str, blinding: Any | None = None) -> str:
        """``signed by <reader> on <UTC time>, version N`` or ``draft``."""
        s = self.of(timepoint_uid)
        if s is None:
            return DRAFT
        return (
            f"signed by {self.signer_name(s, blinding)} on {utc_text(s.signed_utc)}, "
            f"version {s.version}"
        )

    def all_signed(self, timepoint_uids: Sequence[str]) -> bool:
        return bool(timepoint_uids) and all(self.of(u) is not None for u in timepoint_uids)

    def summary(self, timepoints: Sequence[tuple[str, str]], blinding: Any | None = None) -> str:
        """One line for a report header, from (uid, label) pairs in timepoint order:
        ``draft`` when nothing is signed, else each timepoint's status."""
        if not any(self.of(uid) for uid, _label in timepoints):
            return DRAFT
        return "; ".join(f"{label}: {self.text(uid, blinding)}" for uid, label in timepoints)
