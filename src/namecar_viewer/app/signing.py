"""Electronic signature of a timepoint read (21 CFR 11.50/11.200 in spirit): password again,
the meaning "I confirm this assessment", the reader and UTC time; the signed timepoint is then
locked in the :class:`~namecar_viewer.app.read_session.ReadSession`.

Changing a signed timepoint needs :meth:`SigningService.unlock` with a reason: the signature is
revoked (kept, with the reason), the read as signed stays in ``read_versions``, and signing again
writes a new version.  Sign and unlock are audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.core.reads.diff import diff_reads, unwrap
from namecar_viewer.core.reads.json_io import read_to_json
from namecar_viewer.core.reads.model import Read
from namecar_viewer.persistence.audit import AuditAction, NewEntry, append
from namecar_viewer.persistence.review import signatures_table, versions_table
from namecar_viewer.persistence.users import User

SIGNATURE_MEANING = "I confirm this assessment"


class SigningError(ValueError):
    """A signature or unlock refused, with the reason to show."""


@dataclass(frozen=True)
class Signature:
    uid: str
    read_uid: str
    timepoint_uid: str
    username: str
    meaning: str
    signed_utc: dt.datetime
    version: int
    content_hash: str


def read_hash(read: Read) -> str:
    text = json.dumps(read_to_json(read), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def touched_timepoints(before: Read, after: Read) -> set[str]:
    """Timepoint uids whose recorded assessment an edit changes (lesion edits touch every
    timepoint where that lesion has a measurement or status)."""
    out: set[str] = set()
    for c in diff_reads(before, after).changes:
        for v in (c.old, c.new):
            e = unwrap(v) if v is not None else None
            if c.table == "timepoints":
                out.add(c.key)
            elif c.table == "measurements" and e is not None and e.timepoint_uid:
                out.add(e.timepoint_uid)
            elif c.table == "statuses":
                out.add(c.key.split("|", 1)[1])
            elif c.table == "lesions" and c.old is not None:
                for read in (before, after):
                    out.update(
                        lm.timepoint_uid
                        for lm in read.measurements
                        if lm.lesion_uid == c.key and lm.timepoint_uid
                    )
                    out.update(t for (lu, t) in read.statuses if lu == c.key)
    return out


class SigningService:
    def __init__(self, auth: AuthService) -> None:
        self.auth = auth
        self.engine = auth.engine

    def active_signatures(self, read_uid: str) -> list[Signature]:
        t = signatures_table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(and_(t.c.read_uid == read_uid, t.c.revoked_utc.is_(None)))
            ).all()
        return [
            Signature(
                r.uid,
                r.read_uid,
                r.timepoint_uid,
                r.username,
                r.meaning,
                r.signed_utc,
                r.version,
                r.content_hash,
            )
            for r in rows
        ]

    def versions(self, read_uid: str) -> list[tuple[int, str, str, Read]]:
        """Kept versions: (version, user, reason, read as signed)."""
        from namecar_viewer.core.reads.json_io import read_from_json

        t = versions_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.read_uid == read_uid).order_by(t.c.version))
            return [
                (r.version, r.username, r.reason, read_from_json(json.loads(r.read_json)))
                for r in rows
            ]

    def protect(self, session: ReadSession) -> None:
        """Make ``session`` refuse edits of its signed timepoints."""
        signed = {s.timepoint_uid: s for s in self.active_signatures(session.read.uid)}

        def guard(before: Read, after: Read) -> str | None:
            hit = touched_timepoints(before, after) & set(signed)
            if not hit:
                return None
            labels = []
            for uid in sorted(hit):
                try:
                    labels.append(before.timepoint(uid).label)
                except KeyError:
                    labels.append(uid)
            s = signed[sorted(hit)[0]]
            return (
                f"The {', '.join(labels)} read is signed by {s.username} "
                f"({s.signed_utc:%Y-%m-%d %H:%M} UTC) and locked. To change it, unlock it "
                "with a reason (Review > Unlock signed timepoint); a new version is kept."
            )

        session.guard = guard if signed else None

    def sign(
        self,
        session: ReadSession,
        timepoint_uid: str,
        user: User,
        password: str | None,
        meaning: str = SIGNATURE_MEANING,
        unread_earlier: Sequence[str] = (),
        reason: str = "",
    ) -> Signature:
        """Sign one timepoint of the session's read (everything pending must be saved).

        ``unread_earlier``: labels of the patient's earlier CT timepoints the read has not
        assessed (``app/reading_order.py``); signing then needs a ``reason``, kept in the audit
        trail, because the nadir this timepoint is compared with may be wrong.
        """
        read = session.read
        tp = read.timepoint(timepoint_uid)
        if meaning != SIGNATURE_MEANING:
            raise SigningError(f'The signature meaning must be "{SIGNATURE_MEANING}".')
        reason = reason.strip()
        if unread_earlier and not reason:
            raise SigningError(
                f"{', '.join(unread_earlier)} (before {tp.label}) "
                f"{'is' if len(unread_earlier) == 1 else 'are'} not read, so the nadir may be "
                "wrong: read them first, or say why you sign anyway."
            )
        if user.username != read.reader and read.reader:
            raise SigningError(
                f"Only the read's reader ({read.reader}) can sign it; {user.username} cannot."
            )
        if session.pending and not session.retry_save():
            raise SigningError("The read is not saved yet; it cannot be signed until it is.")
        self.auth.reauthenticate(user, password)
        if any(s.timepoint_uid == timepoint_uid for s in self.active_signatures(read.uid)):
            raise SigningError(f"The {tp.label} read is already signed.")
        now = dt.datetime.now(dt.UTC)
        h = read_hash(read)
        sig_uid = f"2.25.{uuid.uuid4().int}"
        with self.engine.begin() as conn:
            last = conn.execute(
                select(func.max(versions_table.c.version)).where(
                    versions_table.c.read_uid == read.uid
                )
            ).scalar()
            version = int(last or 0) + 1
            conn.execute(
                versions_table.insert().values(
                    read_uid=read.uid,
                    version=version,
                    created_utc=now,
                    username=user.username,
                    reason=f"signed {tp.label}" + (f"; {reason}" if reason else ""),
                    read_json=json.dumps(read_to_json(read)),
                )
            )
            conn.execute(
                signatures_table.insert().values(
                    uid=sig_uid,
                    read_uid=read.uid,
                    timepoint_uid=timepoint_uid,
                    username=user.username,
                    meaning=meaning,
                    signed_utc=now,
                    version=version,
                    content_hash=h,
                )
            )
            append(
                conn,
                [
                    NewEntry(
                        user.username,
                        AuditAction.SIGN,
                        "timepoint",
                        timepoint_uid,
                        None,
                        {
                            "meaning": meaning,
                            "version": version,
                            "sha256": h,
                            "label": tp.label,
                            **({"unread_earlier": list(unread_earlier)} if unread_earlier else {}),
                        },
                        reason=reason,
                        read_uid=read.uid,
                    )
                ],
            )
        session.clear_history()
        self.protect(session)
        return Signature(sig_uid, read.uid, timepoint_uid, user.username, meaning, now, version, h)

    def unlock(self, session: ReadSession, timepoint_uid: str, user: User, reason: str) -> None:
        """Revoke the signature of a timepoint so it can be changed; the reason is required."""
        reason = reason.strip()
        if not reason:
            raise SigningError(
                "A signed read can only be changed with a reason: say why it must change."
            )
        sigs = [
            s for s in self.active_signatures(session.read.uid) if s.timepoint_uid == timepoint_uid
        ]
        if not sigs:
            raise SigningError("This timepoint is not signed.")
        s = sigs[0]
        if user.username != s.username:
            from namecar_viewer.persistence.users import Role

            if not user.has(Role.ADMINISTRATOR):
                raise SigningError(
                    f"Only {s.username} (who signed) or an administrator can unlock it."
                )
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(
                signatures_table.update()
                .where(signatures_table.c.uid == s.uid)
                .values(revoked_utc=now, revoke_reason=reason)
            )
            append(
                conn,
                [
                    NewEntry(
                        user.username,
                        AuditAction.UNLOCK,
                        "timepoint",
                        timepoint_uid,
                        {"signed_by": s.username, "version": s.version},
                        None,
                        reason=reason,
                        read_uid=s.read_uid,
                    )
                ],
            )
        self.protect(session)
