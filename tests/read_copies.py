"""A read copied with fresh identities: a second reader's read of the same patient in tests."""

from __future__ import annotations

import dataclasses

from namecar_viewer.core.reads.model import Read


def copy_read(read: Read, tag: str, reader: str) -> Read:
    """The same read with fresh identities (uids are unique across the database)."""

    def m(uid: str) -> str:
        return f"{uid}.{tag}"

    return Read(
        uid=m(read.uid),
        patient_id=read.patient_id,
        reader=reader,
        lesions=tuple(dataclasses.replace(x, uid=m(x.uid)) for x in read.lesions),
        timepoints=tuple(dataclasses.replace(t, uid=m(t.uid)) for t in read.timepoints),
        measurements=tuple(
            dataclasses.replace(
                lm,
                measurement=dataclasses.replace(lm.measurement, uid=m(lm.measurement.uid)),
                lesion_uid=m(lm.lesion_uid) if lm.lesion_uid else None,
                timepoint_uid=m(lm.timepoint_uid) if lm.timepoint_uid else None,
            )
            for lm in read.measurements
        ),
        statuses={(m(a), m(b)): s for (a, b), s in read.statuses.items()},
        settings=dict(read.settings),
    )
