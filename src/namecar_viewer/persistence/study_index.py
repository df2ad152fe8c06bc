"""The local study index: which patients, studies, series and stacks the workstation knows, and
where each image file is, in SQLite (WAL) in the user data directory so it survives restarts.

SQLAlchemy Core, no ORM: five tables (patients > studies > series > stacks > instances).  An
instance row keeps every header field the loader needs (position, orientation, pixel spacing,
pixel encoding and byte offsets), so a stack is rebuilt from the index and loaded without
scanning its files again.  Identity is DICOM's: a SOP instance UID (plus frame number for
multi-frame objects) is indexed once, so importing the same files twice adds nothing twice.
Each :meth:`StudyIndex.add_stack` is one transaction: a cancelled import leaves whole stacks only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.pool import StaticPool

from namecar_viewer.core.dicom.model import InstanceRef, PixelInfo, Stack, Tile
from namecar_viewer.core.problems import Problem, Severity

APP_NAME = "namecar-viewer"
DB_FILE_NAME = "study_index.sqlite"
SCHEMA_VERSION = 1

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

patients = Table(
    "patients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String, nullable=False, unique=True),
    Column("patient_name", String, nullable=False, default=""),
    Column("birth_date", String, nullable=False, default=""),
)

studies = Table(
    "studies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_instance_uid", String, nullable=False, unique=True),
    Column("patient_fk", Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("study_date", String, nullable=False, default=""),
    Column("study_time", String, nullable=False, default=""),
    Column("description", String, nullable=False, default=""),
    Column("accession_number", String, nullable=False, default=""),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_instance_uid", String, nullable=False, unique=True),
    Column("study_fk", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("modality", String, nullable=False, default=""),
    Column("series_number", Integer),
    Column("description", String, nullable=False, default=""),
    Column("frame_of_reference_uid", String),
    Column("body_part", String, nullable=False, default=""),
)

stacks = Table(
    "stacks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_fk", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("label", String, nullable=False, default=""),
    Column("modality", String, nullable=False, default=""),
    Column("is_localizer", Boolean, nullable=False, default=False),
    Column("spacing_json", Text),
    Column("orientation_json", Text),
    Column("transfer_syntaxes_json", Text, nullable=False, default="[]"),
    Column("problems_json", Text, nullable=False, default="[]"),
    Column("header_json", Text, nullable=False, default="{}"),
    Column("thumbnail", LargeBinary),
    Column("thumbnail_rows", Integer),
    Column("thumbnail_columns", Integer),
    UniqueConstraint("series_fk", "label", name="uq_stack_series_label"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stack_fk", Integer, ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("sop_instance_uid", String, nullable=False),
    # 0 for single-frame files (NULL would make every row distinct in the unique constraint)
    Column("frame_no", Integer, nullable=False, default=0),
    Column("path", Text, nullable=False),
    Column("member", Text),
    Column("managed", Boolean, nullable=False, default=False),
    Column("instance_number", Integer),
    Column("rows", Integer, nullable=False),
    Column("columns", Integer, nullable=False),
    Column("position_json", Text),
    Column("orientation_json", Text),
    Column("pixel_spacing_json", Text),
    Column("slice_thickness", Float),
    Column("pixel_json", Text),
    UniqueConstraint("sop_instance_uid", "frame_no", name="uq_instance_sop_frame"),
)


def default_data_dir() -> Path:
    """The user data directory (platformdirs) where the index and the managed store live."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return default_data_dir() / DB_FILE_NAME


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _tuple(text: str | None) -> tuple[float, ...] | None:
    return None if text is None else tuple(float(x) for x in json.loads(text))


@dataclass(frozen=True)
class StackRow:
    """One stack as the browser and the hanging protocols see it (no instance list)."""

    id: int
    patient_id: str
    patient_name: str
    study_instance_uid: str
    study_date: str
    study_description: str
    series_instance_uid: str
    series_number: int | None
    series_description: str
    modality: str
    label: str
    frame_of_reference_uid: str | None
    is_localizer: bool
    n_images: int
    rows: int
    columns: int
    body_part: str = ""
    problems: tuple[Problem, ...] = ()

    @property
    def loadable(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    @property
    def title(self) -> str:
        return f"{self.series_description} {self.label}".strip() or self.modality


@dataclass
class StudyRow:
    """One study with its stacks, newest data from the index."""

    id: int
    patient_id: str
    patient_name: str
    study_instance_uid: str
    study_date: str
    study_time: str
    description: str
    accession_number: str
    stacks: list[StackRow] = field(default_factory=list)

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.stacks})


@dataclass(frozen=True)
class PatientRow:
    id: int
    patient_id: str
    patient_name: str
    birth_date: str


@dataclass(frozen=True)
class AddResult:
    """What one :meth:`StudyIndex.add_stack` changed."""

    stack_id: int
    new_stack: bool
    instances_added: int
    instances_existing: int


@dataclass(frozen=True)
class Thumbnail:
    """A small 8-bit grey image: ``pixels`` holds rows*columns bytes, row-major."""

    rows: int
    columns: int
    pixels: bytes


class StudyIndex:
    """The study index in one SQLite file (or in memory with ``":memory:"``).

    Examples
    --------
    >>> idx = StudyIndex(":memory:")
    >>> idx.patients()
    []
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            path = default_db_path()
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path == ":memory:":
            self.engine: Engine = create_engine(
                "sqlite://",
                connect_args={"check_same_thread": False},
                poolclass=StaticPool,
            )
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                f"sqlite:///{self.path}", connect_args={"check_same_thread": False, "timeout": 30}
            )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            row = conn.execute(select(schema_info.c.version)).first()
            if row is None:
                conn.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION))
            elif int(row[0]) > SCHEMA_VERSION:
                raise RuntimeError(
                    f"The study index {self.path} has schema version {row[0]}, newer than this "
                    f"program's {SCHEMA_VERSION}; use a newer NAMECAR Viewer."
                )

    def close(self) -> None:
        self.engine.dispose()

    def journal_mode(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    # --- writing ---------------------------------------------------------------------------
    def existing_instances(self, keys: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which (SOP instance UID, frame number or 0) pairs are indexed already."""
        wanted = list(dict.fromkeys(keys))
        found: set[tuple[str, int]] = set()
        with self.engine.connect() as conn:
            for n in range(0, len(wanted), 400):
                chunk = wanted[n : n + 400]
                uids = list({u for u, _ in chunk})
                rows = conn.execute(
                    select(instances.c.sop_instance_uid, instances.c.frame_no).where(
                        instances.c.sop_instance_uid.in_(uids)
                    )
                )
                have = {(r[0], int(r[1])) for r in rows}
                found.update(k for k in chunk if k in have)
        return found

    def add_stack(self, stack: Stack, managed: bool = False) -> AddResult:
        """Index one scanned stack in one transaction; instances already indexed are kept as is."""
        with self._lock, self.engine.begin() as conn:
            hdr = stack.header
            pid = stack.patient_id or "(no patient ID)"
            p_row = conn.execute(select(patients.c.id).where(patients.c.patient_id == pid)).first()
            if p_row is None:
                p_fk = _pk(
                    conn.execute(
                        patients.insert().values(
                            patient_id=pid,
                            patient_name=stack.patient_name,
                            birth_date=str(hdr.get("patient_birth_date", "")),
                        )
                    )
                )
            else:
                p_fk = p_row[0]
            st_uid = stack.study_instance_uid or f"(no study UID) {pid}"
            s_row = conn.execute(
                select(studies.c.id).where(studies.c.study_instance_uid == st_uid)
            ).first()
            if s_row is None:
                s_fk = _pk(
                    conn.execute(
                        studies.insert().values(
                            study_instance_uid=st_uid,
                            patient_fk=p_fk,
                            study_date=stack.study_date,
                            study_time=str(hdr.get("study_time", "")),
                            description=stack.study_description,
                            accession_number=str(hdr.get("accession_number", "")),
                        )
                    )
                )
            else:
                s_fk = s_row[0]
            se_row = conn.execute(
                select(series.c.id).where(series.c.series_instance_uid == stack.series_instance_uid)
            ).first()
            if se_row is None:
                se_fk = _pk(
                    conn.execute(
                        series.insert().values(
                            series_instance_uid=stack.series_instance_uid,
                            study_fk=s_fk,
                            modality=stack.modality,
                            series_number=stack.series_number,
                            description=stack.series_description,
                            frame_of_reference_uid=stack.frame_of_reference_uid,
                            body_part=str(hdr.get("body_part", "")),
                        )
                    )
                )
            else:
                se_fk = se_row[0]
            k_row = conn.execute(
                select(stacks.c.id).where(
                    and_(stacks.c.series_fk == se_fk, stacks.c.label == stack.label)
                )
            ).first()
            new_stack = k_row is None
            values = {
                "modality": stack.modality,
                "is_localizer": stack.is_localizer,
                "spacing_json": _dumps(list(stack.spacing_mm) if stack.spacing_mm else None),
                "orientation_json": _dumps(list(stack.orientation) if stack.orientation else None),
                "transfer_syntaxes_json": json.dumps(list(stack.transfer_syntaxes)),
                "problems_json": json.dumps([p.to_json() for p in stack.problems]),
                "header_json": json.dumps(
                    {**hdr, "_units": stack.units, "_values": stack.values}, default=str
                ),
            }
            if k_row is None:
                k_fk = _pk(
                    conn.execute(
                        stacks.insert().values(series_fk=se_fk, label=stack.label, **values)
                    )
                )
            else:
                k_fk = k_row[0]
            keys = [_instance_key(i) for i in stack.instances]
            have: set[tuple[str, int]] = set()
            for n in range(0, len(keys), 400):
                uids = list({u for u, _ in keys[n : n + 400]})
                have.update(
                    (r[0], int(r[1]))
                    for r in conn.execute(
                        select(instances.c.sop_instance_uid, instances.c.frame_no).where(
                            instances.c.sop_instance_uid.in_(uids)
                        )
                    )
                )
            rows = []
            seen: set[tuple[str, int]] = set()
            for inst, key in zip(stack.instances, keys, strict=True):
                if key in have or key in seen:
                    continue
                seen.add(key)
                rows.append(_instance_values(inst, k_fk, managed))
            if rows:
                conn.execute(instances.insert(), rows)
            if rows and not new_stack:
                # the stack grew: its problems are those of the latest scan of it
                conn.execute(stacks.update().where(stacks.c.id == k_fk).values(**values))
            return AddResult(int(k_fk), new_stack, len(rows), len(keys) - len(rows))

    def set_thumbnail(self, stack_id: int, thumb: Thumbnail) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                stacks.update()
                .where(stacks.c.id == stack_id)
                .values(
                    thumbnail=thumb.pixels,
                    thumbnail_rows=thumb.rows,
                    thumbnail_columns=thumb.columns,
                )
            )

    def remove_study(self, study_instance_uid: str) -> None:
        """Forget a study (its files are not touched)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(studies.delete().where(studies.c.study_instance_uid == study_instance_uid))

    # --- reading ---------------------------------------------------------------------------
    def patients(self, text: str = "") -> list[PatientRow]:
        q = select(patients).order_by(patients.c.patient_name, patients.c.patient_id)
        if text:
            like = f"%{text}%"
            q = q.where(or_(patients.c.patient_id.ilike(like), patients.c.patient_name.ilike(like)))
        with self.engine.connect() as conn:
            return [
                PatientRow(r.id, r.patient_id, r.patient_name, r.birth_date)
                for r in conn.execute(q)
            ]

    def series_instance_uids(self) -> set[str]:
        """Series Instance UIDs of every series in the store (a read's measurements whose series
        is not among them are kept and flagged, see ``core.reads.checks``)."""
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(select(series.c.series_instance_uid))}

    def counts(self) -> dict[str, int]:
        """Rows per table (tests and the About box)."""
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (patients, studies, series, stacks, instances)
            }

    def search(
        self,
        patient: str = "",
        date_from: str = "",
        date_to: str = "",
        modality: str = "",
    ) -> list[StudyRow]:
        """Studies with their stacks, filtered by patient (ID or name, part of it), study date
        range (``YYYYMMDD``, either end open) and modality (a study is kept when any of its
        stacks has it); ordered by patient, then study date (oldest first)."""
        c_count = (
            select(instances.c.stack_fk, func.count().label("n"))
            .group_by(instances.c.stack_fk)
            .subquery()
        )
        first = (
            select(
                instances.c.stack_fk,
                func.max(instances.c.rows).label("rows"),
                func.max(instances.c.columns).label("columns"),
            )
            .group_by(instances.c.stack_fk)
            .subquery()
        )
        q = (
            select(
                patients.c.patient_id,
                patients.c.patient_name,
                studies.c.id.label("study_id"),
                studies.c.study_instance_uid,
                studies.c.study_date,
                studies.c.study_time,
                studies.c.description.label("study_description"),
                studies.c.accession_number,
                series.c.series_instance_uid,
                series.c.series_number,
                series.c.description.label("series_description"),
                series.c.frame_of_reference_uid,
                series.c.body_part,
                stacks.c.id.label("stack_id"),
                stacks.c.label,
                stacks.c.modality,
                stacks.c.is_localizer,
                stacks.c.problems_json,
                c_count.c.n,
                first.c.rows,
                first.c.columns,
            )
            .select_from(
                patients.join(studies, studies.c.patient_fk == patients.c.id)
                .join(series, series.c.study_fk == studies.c.id)
                .join(stacks, stacks.c.series_fk == series.c.id)
                .join(c_count, c_count.c.stack_fk == stacks.c.id)
                .join(first, first.c.stack_fk == stacks.c.id)
            )
            .order_by(
                patients.c.patient_name,
                patients.c.patient_id,
                studies.c.study_date,
                studies.c.study_time,
                studies.c.study_instance_uid,
                func.coalesce(series.c.series_number, 1 << 30),
                stacks.c.id,
            )
        )
        if patient:
            like = f"%{patient}%"
            q = q.where(or_(patients.c.patient_id.ilike(like), patients.c.patient_name.ilike(like)))
        if date_from:
            q = q.where(studies.c.study_date >= date_from)
        if date_to:
            q = q.where(studies.c.study_date <= date_to)
        if modality:
            has = (
                select(series.c.study_fk)
                .join(stacks, stacks.c.series_fk == series.c.id)
                .where(stacks.c.modality == modality.upper())
            )
            q = q.where(studies.c.id.in_(has))
        out: dict[int, StudyRow] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                study = out.get(r.study_id)
                if study is None:
                    study = StudyRow(
                        r.study_id,
                        r.patient_id,
                        r.patient_name,
                        r.study_instance_uid,
                        r.study_date,
                        r.study_time,
                        r.study_description,
                        r.accession_number,
                    )
                    out[r.study_id] = study
                study.stacks.append(
                    StackRow(
                        id=r.stack_id,
                        patient_id=r.patient_id,
                        patient_name=r.patient_name,
                        study_instance_uid=r.study_instance_uid,
                        study_date=r.study_date,
                        study_description=r.study_description,
                        series_instance_uid=r.series_instance_uid,
                        series_number=r.series_number,
                        series_description=r.series_description,
                        modality=r.modality,
                        label=r.label,
                        frame_of_reference_uid=r.frame_of_reference_uid,
                        is_localizer=bool(r.is_localizer),
                        n_images=int(r.n),
                        rows=int(r.rows),
                        columns=int(r.columns),
                        body_part=r.body_part,
                        problems=_problems(r.problems_json),
                    )
                )
        return list(out.values())

    def stack_rows(self, patient_id: str | None = None) -> list[StackRow]:
        """Every stack (of one patient), in browser order."""
        rows = self.search(patient="")
        return [s for st in rows for s in st.stacks if patient_id in (None, s.patient_id)]

    def thumbnail(self, stack_id: int) -> Thumbnail | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(
                    stacks.c.thumbnail, stacks.c.thumbnail_rows, stacks.c.thumbnail_columns
                ).where(stacks.c.id == stack_id)
            ).first()
        if r is None or r[0] is None:
            return None
        return Thumbnail(int(r[1]), int(r[2]), bytes(r[0]))

    def stack(self, stack_id: int) -> Stack:
        """Rebuild the scanned :class:`Stack` (every instance, ready for ``load_stack``)."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(
                    stacks,
                    series.c.series_instance_uid,
                    series.c.series_number,
                    series.c.description.label("series_description"),
                    series.c.frame_of_reference_uid,
                    studies.c.study_instance_uid,
                    studies.c.study_date,
                    studies.c.description.label("study_description"),
                    patients.c.patient_id,
                    patients.c.patient_name,
                )
                .select_from(
                    stacks.join(series, stacks.c.series_fk == series.c.id)
                    .join(studies, series.c.study_fk == studies.c.id)
                    .join(patients, studies.c.patient_fk == patients.c.id)
                )
                .where(stacks.c.id == stack_id)
            ).first()
            if r is None:
                raise KeyError(f"no stack with id {stack_id} in the study index {self.path}")
            inst_rows = conn.execute(
                select(instances).where(instances.c.stack_fk == stack_id).order_by(instances.c.id)
            ).all()
        refs = [_instance_ref(i) for i in inst_rows]
        header = dict(json.loads(r.header_json))
        units, values = str(header.pop("_units", "") or ""), str(header.pop("_values", "") or "")
        st = Stack(
            key=f"{r.series_instance_uid}#{r.label}",
            series_instance_uid=r.series_instance_uid,
            modality=r.modality,
            label=r.label,
            instances=refs,
            patient_id=r.patient_id,
            patient_name=r.patient_name,
            study_instance_uid=r.study_instance_uid,
            study_date=r.study_date,
            study_description=r.study_description,
            series_number=r.series_number,
            series_description=r.series_description,
            frame_of_reference_uid=r.frame_of_reference_uid,
            transfer_syntaxes=list(json.loads(r.transfer_syntaxes_json)),
            problems=list(_problems(r.problems_json)),
            is_localizer=bool(r.is_localizer),
            spacing_mm=_spacing(r.spacing_json),
            orientation=_tuple(r.orientation_json),
            header=header,
            units=units,
            values=values,
        )
        st.header["index_stack_id"] = stack_id
        return st

    def files_of_stack(self, stack_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    select(instances.c.path).where(instances.c.stack_fk == stack_id).distinct()
                )
            ]


def _pk(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no primary key for an insert")
    return int(key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def _spacing(text: str | None) -> tuple[float, float, float] | None:
    t = _tuple(text)
    if t is None or len(t) != 3:
        return None
    return (t[0], t[1], t[2])


def _problems(text: str) -> tuple[Problem, ...]:
    out = []
    for p in json.loads(text or "[]"):
        out.append(
            Problem(
                str(p.get("code", "")),
                str(p.get("message", "")),
                Severity(p.get("severity", "warning")),
                tuple(p.get("files", ())),
            )
        )
    return tuple(out)


def _instance_key(inst: InstanceRef) -> tuple[str, int]:
    """(SOP instance UID, frame number or 0), or a negative key per tile of a mosaic: every
    slice cut from one mosaic image has its own row (-1 for the first tile, -2 ...)."""
    if inst.tile is not None:
        return inst.sop_instance_uid, -(inst.tile.index + 1)
    return inst.sop_instance_uid, inst.frame or 0


def _pixel_json(inst: InstanceRef) -> str | None:
    """The pixel description, and the tile of a mosaic slice (kept in the same JSON)."""
    if inst.pixel is None and inst.tile is None:
        return None
    d: dict[str, Any] = asdict(inst.pixel) if inst.pixel else {}
    if inst.tile is not None:
        d["tile"] = asdict(inst.tile)
    return _dumps(d)


def _instance_values(inst: InstanceRef, stack_fk: int, managed: bool) -> dict[str, Any]:
    return {
        "stack_fk": stack_fk,
        "sop_instance_uid": inst.sop_instance_uid,
        "frame_no": _instance_key(inst)[1],
        "path": inst.path,
        "member": inst.member,
        "managed": managed,
        "instance_number": inst.instance_number,
        "rows": inst.rows,
        "columns": inst.columns,
        "position_json": _dumps(list(inst.position) if inst.position else None),
        "orientation_json": _dumps(list(inst.orientation) if inst.orientation else None),
        "pixel_spacing_json": _dumps(list(inst.pixel_spacing) if inst.pixel_spacing else None),
        "slice_thickness": inst.slice_thickness,
        "pixel_json": _pixel_json(inst),
    }


def _instance_ref(r: Any) -> InstanceRef:
    d = dict(json.loads(r.pixel_json)) if r.pixel_json else {}
    tile = d.pop("tile", None)
    pixel = PixelInfo(**d) if d else None
    return InstanceRef(
        path=r.path,
        sop_instance_uid=r.sop_instance_uid,
        frame=r.frame_no if r.frame_no and r.frame_no > 0 else None,
        tile=Tile(**tile) if tile else None,
        position=_tuple(r.position_json),
        orientation=_tuple(r.orientation_json),
        pixel_spacing=_tuple(r.pixel_spacing_json),
        rows=int(r.rows),
        columns=int(r.columns),
        instance_number=r.instance_number,
        member=r.member,
        pixel=pixel,
        slice_thickness=r.slice_thickness,
    )


def stack_rows_of(studies_: Sequence[StudyRow]) -> list[StackRow]:
    return [s for st in studies_ for s in st.stacks]
