"""Tools > Flag key image (K): the reader flags the slice on screen as a key image, or unflags it.

Each lesion's measured slice at each timepoint is a key image already
(:mod:`namecar_viewer.core.reports.key_images`); this adds others: the slice of the active
viewport, in its acquisition plane (a reformat is not a stored image).  A flag is a read
setting changed through the command path (``SetReadSetting``): saved with the read, audited,
undone with Ctrl+Z, exported in the KOS beside the SR and shown in the PDF.  K on a flagged
slice unflags it; on a measured slice it says which lesion makes it a key image.  A CT study
that is not a timepoint of the read yet becomes one with the flag, as a measurement makes it.

The action is checked while the active viewport shows a key image.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reports.key_images import (
    FLAGGED_SETTING,
    FlaggedImage,
    KeyImageSource,
    key_image_source,
    lesions_measured_on,
    toggle_flag,
)

FLAG_KEY = "K"


class KeyImageFlagger(QObject):
    """The Flag key image action of a main window (duck-typed: ``reads``, ``active``,
    ``viewports``, ``shortcut_rows``, the Tools menu)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction(self.tr("Flag &key image (K again unflags it)"), window)
        self.action.setObjectName("flag_key_image")
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence(FLAG_KEY))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setStatusTip(
            self.tr(
                "Flag the slice on screen as a key image of the read (exported in the KOS beside "
                "the SR and shown in the PDF); each lesion's measured slice is one already."
            )
        )
        self.action.triggered.connect(lambda _checked=False: self.toggle())
        menu = _menu(window, "menu_tools")
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.action)
            menu.aboutToShow.connect(self.refresh)
        window.addAction(self.action)
        rows = getattr(window, "shortcut_rows", None)
        if rows is not None:
            from namecar_viewer.gui.main_window import ShortcutEntry

            rows.append(ShortcutEntry("Tools", self.action.text().replace("&", ""), FLAG_KEY))
        for vp in list(getattr(window, "viewports", [])):
            vp.model.slice_changed.connect(lambda *_a: self.refresh())
            vp.model.volume_changed.connect(lambda *_a: self.refresh())
        reads = getattr(window, "reads", None)
        if reads is not None:
            reads.switched.connect(lambda *_a: self._bind())
        self._bound: Any = None
        self._bind()

    # --- state ------------------------------------------------------------------------------
    def _bind(self) -> None:
        session = self._session()
        if session is not None and session is not self._bound:
            session.changed.connect(lambda *_a: self.refresh())
            self._bound = session
        self.refresh()

    def _session(self) -> Any:
        reads = getattr(self.window, "reads", None)
        return None if reads is None else reads.session

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)

    def current(self) -> tuple[FlaggedImage, Any] | str:
        """The active viewport's slice as a flag and its volume, or why there is none."""
        vp = getattr(self.window, "active", None)
        model = getattr(vp, "model", None)
        vol = getattr(model, "volume", None)
        if model is None or vol is None:
            return self.tr("No image in the active viewport to flag as a key image.")
        k = _acquired_slice(model, vol)
        if k is None:
            return self.tr(
                "Key images are stored images: show the series in its acquisition plane to flag "
                "a slice (this view is a reformat)."
            )
        frames = vol.frame_numbers or (None,) * len(vol.sop_instance_uids)
        frame = frames[k] if k < len(frames) else None
        flag = FlaggedImage(
            ImageRef(str(vol.sop_instance_uids[k]), None if frame is None else int(frame)),
            vol.study_instance_uid,
            vol.series_instance_uid,
        )
        return flag, vol

    def refresh(self) -> None:
        """Check the action when the active viewport shows a key image."""
        session = self._session()
        got = self.current()
        on = (
            session is not None
            and not isinstance(got, str)
            and key_image_source(session.read, got[0].image) is not None
        )
        if self.action.isChecked() != on:
            self.action.setChecked(on)

    # --- the action ---------------------------------------------------------------------------
    def toggle(self) -> bool:
        """Flag or unflag the active viewport's slice; True when the read changed."""
        try:
            return self._toggle()
        finally:
            self.refresh()

    def _toggle(self) -> bool:
        from namecar_viewer.app.read_session import AddTimepoint, Batch, SetReadSetting

        reads = getattr(self.window, "reads", None)
        got = self.current()
        if reads is None:
            return False
        if isinstance(got, str):
            self._say(got)
            return False
        flag, vol = got
        session = reads.session
        if session.read_only_reason:
            from namecar_viewer.gui.i18n import app_text

            self._say(app_text(session.read_only_reason))
            return False
        read = session.read
        name = self._image_name(flag, vol)
        commands: list[Any] = []
        if read.timepoint_for_study(flag.study_instance_uid) is None:
            tp = None
            if str(vol.modality).upper() == "CT":
                tp = reads.layer.timepoint(self.window.active, read)
            if tp is None:
                self._say(
                    self.tr(
                        "This study is not a timepoint of the RECIST read: add it first "
                        "(File > Add the active study to the RECIST read as a timepoint)."
                    )
                )
                return False
            commands.append(AddTimepoint(tp))
            read = AddTimepoint(tp).apply(read)
        change = toggle_flag(read, flag)
        if change.source is KeyImageSource.MEASURED:
            self._say(
                self.tr("{image} is a key image already: {lesions} measured on it.").format(
                    image=name, lesions=", ".join(lesions_measured_on(read, flag.image))
                )
            )
            return False
        flagged = change.source is KeyImageSource.FLAGGED
        text = self.tr("Flag key image") if flagged else self.tr("Unflag key image")
        commands.append(SetReadSetting(FLAGGED_SETTING, change.value, text))
        before = session.read
        reads.undo.push_command(commands[0] if len(commands) == 1 else Batch(tuple(commands), text))
        if session.read == before:
            return False  # refused (the stack said why)
        self._say(
            (
                self.tr("Key image flagged: {image}. K again unflags it.")
                if flagged
                else self.tr("Key image unflagged: {image}.")
            ).format(image=name)
        )
        return True

    def _image_name(self, flag: FlaggedImage, vol: Any) -> str:
        """``fu03m, image 42``: the timepoint (when the study is one) and the slice number as
        the viewport's overlay shows it (Im: 42/120)."""
        read = self._session().read
        tp = read.timepoint_for_study(flag.study_instance_uid)
        model = getattr(getattr(self.window, "active", None), "model", None)
        number = int(getattr(model, "index", 0)) + 1
        text = self.tr("image {number}").format(number=number)
        return f"{tp.label}, {text}" if tp is not None else text


def _acquired_slice(model: Any, vol: Any) -> int | None:
    """The stored slice the viewport shows: its plane parallel to the acquired slices and
    within half a slice of one of them (an axial view of an axial CT too); else None."""
    import numpy as np

    plane = model.plane
    if plane is None or not vol.sop_instance_uids:
        return None
    normal = np.cross(np.asarray(plane.row_direction), np.asarray(plane.column_direction))
    normal = normal / np.linalg.norm(normal)
    if abs(float(normal @ np.asarray(vol.slice_normal, dtype=np.float64))) < 0.999:
        return None
    centre = model.slice_centre()
    if centre is None:
        return None
    k = float(vol.patient_to_index(np.asarray([centre], dtype=np.float64))[0][0])
    n = round(k)
    if abs(k - n) > 0.25 or not 0 <= n < len(vol.sop_instance_uids):
        return None
    return int(n)


def _menu(window: Any, name: str) -> Any:
    for act in window.menuBar().actions():
        m = act.menu()
        if m is not None and m.objectName() == name:
            return m
    return None


def install_key_images(window: Any) -> KeyImageFlagger:
    """Add Tools > Flag key image (K) to a main window that has its read controller."""
    return KeyImageFlagger(window)
