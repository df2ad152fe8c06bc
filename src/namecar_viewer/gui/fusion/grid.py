"""PET in the main window's viewport grid: SUV everywhere, reader-entered SUV values kept with the
read, the accepted registration restored from the read, and the FUSION and MIP protocol slots.

:class:`PetGrid` is created by the :class:`~namecar_viewer.gui.reading.ReadingController`:

* Every viewport loader converts a PET to SUVbw in the background (``app.pet.pet_display_volume``)
  with the reader-entered values the open read holds for that series.  When a weight, dose or
  time is missing the viewport shows the stored values labelled raw, a banner naming the tag and
  an *Enter missing SUV values* button (the dialog of ``suv_dialog``).
* Entered values go into the read with a ``SetReadSetting`` (``pet/suv_overrides/<series UID>``):
  undoable, committed at once, audited.  Whenever the read changes or another read opens, the
  PET viewports and the view state's transforms are brought in line with what the read holds.
* ``slot_renderers[FUSION]`` embeds a :class:`FusedViewport` (MRI + SUV PET, mouse nudge) in the
  slot with a *PET registration* dock; ``slot_renderers[MIP]`` embeds a :class:`MipViewport`.
  Both are built from the volumes the protocol's MRI and PET slots load; different frames of
  reference are not fused until a registration is accepted (stored with the read, audited).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QDialog, QDockWidget, QPushButton, QVBoxLayout, QWidget

from namecar_viewer.app.hanging_protocols import ProtocolResult, SlotKind, ViewportAssignment
from namecar_viewer.app.pet import (
    RegistrationRecord,
    SuvField,
    frame_links_in,
    is_suv,
    overrides_in,
    overrides_text,
    pet_display_volume,
    suv_override_command,
)
from namecar_viewer.app.view_state import ViewportModel
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.core.suv import SuvOverrides
from namecar_viewer.gui.fusion.mip_view import MipViewport
from namecar_viewer.gui.fusion.registration_panel import RegistrationPanel
from namecar_viewer.gui.fusion.viewports import FusedViewport
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.viewport import SliceViewport

if TYPE_CHECKING:
    from namecar_viewer.gui.reading import ReadingController

translate = QCoreApplication.translate
# how the registration came about (RegistrationRecord.method), as shown
_METHODS = {
    "automatic": QT_TRANSLATE_NOOP("PetGrid", "automatic"),
    "manual": QT_TRANSLATE_NOOP("PetGrid", "manual"),
    "automatic+manual": QT_TRANSLATE_NOOP("PetGrid", "automatic+manual"),
}


def method_text(method: str) -> str:
    return translate("PetGrid", _METHODS.get(method, method))


WAITING_TEXT = QT_TRANSLATE_NOOP("PetGrid", "Fusion: waiting for the MRI and the PET to load...")


def suv_missing(volume: Volume | None) -> str:
    """The reason a PET is shown raw ("" when it is in SUV or not a PET)."""
    if volume is None or volume.modality != "PT":
        return ""
    return str(volume.metadata.get("suv_missing") or "")


class SuvBanner:
    """Overlay layer: on a raw PET, says which tag is missing (and places the entry button)."""

    def __init__(self, buttons: dict[SliceViewport, QPushButton]) -> None:
        self.buttons = buttons

    def paint(self, vp: SliceViewport, p: QPainter) -> None:
        vol = vp.model.volume
        why = suv_missing(vol)
        btn = self.buttons.get(vp)
        if not why or vol is None:
            return
        text = translate("PetGrid", "PET NOT IN SUV - shown in stored values ({units})").format(
            units=app_text(str(vol.metadata.get("units") or ""))
        )
        text += f"\n{app_text(why)}"
        rect = QRectF(vp.rect()).adjusted(12, 44, -12, -12)
        p.setFont(vp._font)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        box = p.boundingRect(rect, flags, text).adjusted(-6, -4, 6, 4)
        p.fillRect(box, QColor(60, 10, 10, 210))
        p.setPen(QColor(255, 170, 150))
        p.drawText(rect, flags, text)
        if btn is not None:
            btn.adjustSize()
            btn.move(int(vp.width() / 2 - btn.width() / 2), int(box.bottom() + 6))


class _Slot:
    """A derived view (fusion or MIP) embedded in a grid viewport; rebuilt from its sources."""

    def __init__(self, grid: PetGrid, host: SliceViewport, widget: QWidget) -> None:
        self.grid = grid
        self.host = host
        self.widget = widget
        self.sources: list[SliceViewport] = []
        self._hooks: list[tuple[Any, Callable[..., Any]]] = []

    def hook(self, event: Any, callback: Callable[..., Any]) -> None:
        event.connect(callback)
        self._hooks.append((event, callback))

    def source_volume(self, vp: SliceViewport | None) -> Volume | None:
        """The fully loaded volume of a source viewport (not its preview slice)."""
        if vp is None or self.grid.reading.loader_of(vp).busy:
            return None
        return vp.model.volume

    def refresh(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for event, cb in self._hooks:
            event.disconnect(cb)
        self._hooks.clear()
        self.widget.hide()


class FusionSlot(_Slot):
    widget: FusedViewport

    def __init__(
        self,
        grid: PetGrid,
        host: SliceViewport,
        widget: FusedViewport,
        mri_vp: SliceViewport | None,
        pet_vp: SliceViewport | None,
        title: str,
    ) -> None:
        super().__init__(grid, host, widget)
        self.mri_vp, self.pet_vp, self.title = mri_vp, pet_vp, title
        self.panel: RegistrationPanel | None = None
        for vp in (mri_vp, pet_vp):
            if vp is not None:
                self.hook(vp.model.volume_changed, self.refresh)
        self.hook(grid.w.state.transforms_changed, self.refresh)

    def refresh(self) -> None:
        fused = self.widget
        mri, pet = self.source_volume(self.mri_vp), self.source_volume(self.pet_vp)
        if mri is None or pet is None:
            fused.empty_text = translate("PetGrid", WAITING_TEXT)
            if fused.model.volume is not None:
                fused.model.set_volume(None, SliceOrientation.AXIAL, self.title)
            fused.set_pet(None)
            return
        if fused.model.volume is not mri:
            fused.model.set_volume(mri, SliceOrientation.AXIAL, self.title)
        a, b = mri.frame_of_reference_uid, pet.frame_of_reference_uid
        matrix = None if a and a == b else self.grid.w.state.transform(a, b)
        if self.panel is not None and self.panel.candidate is not None:
            fused.set_pet(pet, self.panel.candidate, candidate=True)
        else:
            fused.set_pet(pet, matrix)
        if self.panel is None or self.panel.base is not mri or self.panel.pet is not pet:
            self.panel = RegistrationPanel(mri, pet, self.grid.w.state)
            self.panel.store = self.grid.store_registration
            self.panel.candidate_changed.connect(self._on_candidate)
            self.panel.accepted.connect(lambda _m: self.refresh())
            fused.nudge_panel = self.panel
            self.grid.show_registration(self.panel)

    def _on_candidate(self, matrix: Any) -> None:
        pet = self.source_volume(self.pet_vp)
        if matrix is None or pet is None:
            self.refresh()
        else:
            self.widget.set_pet(pet, matrix, candidate=True)

    def close(self) -> None:
        super().close()
        self.widget.nudge_panel = None
        self.grid.hide_registration()


class MipSlot(_Slot):
    widget: MipViewport

    def __init__(
        self, grid: PetGrid, host: SliceViewport, widget: MipViewport, pet_vp: SliceViewport | None
    ) -> None:
        super().__init__(grid, host, widget)
        self.pet_vp = pet_vp
        if pet_vp is not None:
            self.hook(pet_vp.model.volume_changed, self.refresh)

    def refresh(self) -> None:
        pet = self.source_volume(self.pet_vp)
        # the MIP's grey scale is an SUV window: a raw PET is not drawn (its viewport says why)
        want = pet if pet is not None and is_suv(pet) else None
        if self.widget.volume is not want:
            self.widget.set_volume(want)


class PetGrid(QObject):
    """PET hooks of one main window's reading controller (see the module docstring)."""

    def __init__(self, reading: ReadingController) -> None:
        super().__init__(reading)
        self.reading = reading
        self.w = reading.w
        reading.slot_renderers[SlotKind.FUSION] = self.render_fusion
        reading.slot_renderers[SlotKind.MIP] = self.render_mip
        for loader in reading.loaders:
            loader.suv_overrides = self.overrides_for
        self.buttons: dict[SliceViewport, QPushButton] = {}
        self.banner = SuvBanner(self.buttons)
        for vp in self.w.viewports:
            btn = QPushButton(self.tr("Enter missing SUV values..."), vp)
            btn.setToolTip(
                self.tr("Weight, injected activity or injection time from the injection record")
            )
            btn.clicked.connect(functools.partial(self._ask_clicked, vp))
            btn.hide()
            self.buttons[vp] = btn
            vp.overlay_layers.append(self.banner)
            vp.model.volume_changed.connect(functools.partial(self._on_volume, vp))
        self.slots: dict[SliceViewport, _Slot] = {}
        self._fused: dict[SliceViewport, FusedViewport] = {}
        self._mips: dict[SliceViewport, MipViewport] = {}
        self.registration_dock: QDockWidget | None = None
        self._restored: set[tuple[str, str]] = set()
        self._watched: Any = None
        self.last_message = ""

    # --- the read -------------------------------------------------------------------------
    def _reads(self) -> Any:
        return getattr(self.w, "reads", None)

    def bind_reads(self, reads: Any) -> None:
        """Follow the read of the window's read controller (called once it exists)."""
        reads.switched.connect(lambda _undo: self._on_switched())
        for fused in self._fused.values():
            reads.host(fused)
        self._on_switched()

    def _settings(self) -> dict[str, str]:
        """The RECIST read's settings (timepoint offsets) and the ancillary MRI-PET record's
        (SUV values entered by the reader, accepted PET registrations) together."""
        reads = self._reads()
        if reads is None:
            return {}
        out = dict(reads.session.read.settings)
        ancillary = getattr(reads, "ancillary_session", None)
        if ancillary is not None:
            out.update(ancillary.read.settings)
        return out

    def _sessions(self) -> tuple[Any, ...]:
        reads = self._reads()
        if reads is None:
            return ()
        return tuple(
            s for s in (reads.session, getattr(reads, "ancillary_session", None)) if s is not None
        )

    def _on_switched(self) -> None:
        sessions = self._sessions()
        if not sessions:
            return
        if sessions != self._watched:
            self._watched = sessions
            for session in sessions:
                session.changed.connect(lambda events, s=session: self._on_changed(s, events))
        self.sync_from_read()

    def _on_changed(self, session: Any, events: Any) -> None:
        if session not in self._sessions():
            return
        if any(getattr(e, "entity", "") == "settings" for e in events):
            self.sync_from_read()

    def overrides_for(self, series_instance_uid: str) -> SuvOverrides | None:
        """Reader-entered SUV values the open read holds for a series."""
        try:
            return overrides_in(self._settings(), series_instance_uid)
        except ValueError as exc:
            self._say(app_text(str(exc)))
            return None

    def sync_from_read(self) -> None:
        """Transforms and PET viewports as the open read says (after open, edit, undo)."""
        settings = self._settings()
        state = self.w.state
        now: set[tuple[str, str]] = set()
        for rec in frame_links_in(settings):
            pair = (rec.fixed_frame, rec.moving_frame)
            now.add(pair)
            current = state._transforms.get(pair)
            if current is None or not (current == rec.array).all():
                state.set_transform(rec.fixed_frame, rec.moving_frame, rec.array)
        # a pair kept in the other direction now (an offset replacing an alignment) stays
        kept = {frozenset(p) for p in now}
        for pair in self._restored - now:
            if frozenset(pair) not in kept:
                state.clear_transform(*pair)
        self._restored = now
        for vp in self.w.viewports:
            self._reapply_suv(vp)

    def _reapply_suv(self, vp: SliceViewport) -> None:
        vol = vp.model.volume
        if vol is None or vol.modality != "PT" or self.reading.loader_of(vp).busy:
            return
        raw = vol.metadata.get("raw_volume")
        if not isinstance(raw, Volume):
            return
        ov = self.overrides_for(vol.series_instance_uid or "")
        if overrides_text(ov) == vol.metadata.get("suv_overrides_json", ""):
            return
        self._replace_volume(vp, pet_display_volume(raw, ov))

    @staticmethod
    def _replace_volume(vp: SliceViewport, new: Volume) -> None:
        m = vp.model
        orientation, index, title = m.orientation, m.index, m.title
        m.set_volume(new, orientation, title)
        m.set_index(index)

    # --- reader-entered SUV values ---------------------------------------------------------
    def _on_volume(self, vp: SliceViewport) -> None:
        btn = self.buttons.get(vp)
        if btn is None:
            return
        # a load started before the patient's read was open: apply the read's values now
        self._reapply_suv(vp)
        vol = vp.model.volume
        why = suv_missing(vol)
        fields = vol.metadata.get("suv_fields") if why and vol is not None else None
        btn.setVisible(bool(why and fields))
        if why:
            self._say(
                self.tr("PET shown in stored values, not SUV: {reason}").format(
                    reason=app_text(why.splitlines()[0])
                )
            )

    def _ask_clicked(self, vp: SliceViewport, _checked: bool = False) -> None:
        self.ask_suv_values(vp)

    def ask_suv_values(self, vp: SliceViewport) -> bool:
        """The entry dialog for the missing values of the viewport's PET."""
        from namecar_viewer.gui.fusion.suv_dialog import SuvEntryDialog

        vol = vp.model.volume
        why = suv_missing(vol)
        if not why or vol is None:
            return False
        fields = tuple(SuvField(f) for f in vol.metadata.get("suv_fields") or ())
        dlg = SuvEntryDialog(why, fields, self.w)
        self.dialog = dlg
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return False
        return self.enter_suv_values(vp, dlg.values())

    def enter_suv_values(self, vp: SliceViewport, values: dict[str, Any]) -> bool:
        """Store reader-entered values (SuvOverrides field -> value) with the read (audited,
        undoable) and show the viewport's PET in SUV with them.  False when nothing changed."""
        vol = vp.model.volume
        if vol is None or vol.modality != "PT" or not values:
            return False
        uid = vol.series_instance_uid or ""
        base = self.overrides_for(uid) or SuvOverrides()
        try:
            ov = dataclasses.replace(base, **values)
        except TypeError as exc:
            self._say(self.tr("Not an SUV input: {reason}").format(reason=exc))
            return False
        reads = self._reads()
        if reads is None:
            raw = vol.metadata.get("raw_volume")
            if isinstance(raw, Volume):
                self._replace_volume(vp, pet_display_volume(raw, ov))
            return True
        # the ancillary MRI-PET record holds them: PET work never changes the RECIST read
        record = reads.ancillary_session
        before = record.read.settings.get(f"pet/suv_overrides/{uid}")
        reads.ancillary_undo.push_command(suv_override_command(uid, ov))  # sync follows
        stored = bool(record.read.settings.get(f"pet/suv_overrides/{uid}") != before)
        if stored:
            self._reapply_suv(vp)  # when the read did not change (same values) nothing moves
            still = suv_missing(vp.model.volume)
            self._say(
                self.tr("Reader-entered SUV values stored with the MRI-PET record.")
                + (
                    self.tr(" Still missing: {what}").format(what=app_text(still.splitlines()[0]))
                    if still
                    else ""
                )
            )
        return stored

    # --- the accepted registration ---------------------------------------------------------
    def store_registration(self, record: RegistrationRecord) -> bool:
        """Accept: the transform goes into the read (audited, undoable); True when stored."""
        reads = self._reads()
        if reads is None:
            return True
        reads.ancillary_undo.push_command(record.command())
        ok = bool(reads.ancillary_session.read.settings.get(record.key) == record.to_json())
        if ok:
            self._say(
                self.tr(
                    "Registration ({method}) accepted and stored with the MRI-PET record; "
                    "every linked view uses it."
                ).format(method=method_text(record.method))
            )
        return ok

    # --- FUSION and MIP slots --------------------------------------------------------------
    def _source_vp(self, result: ProtocolResult, slot: str) -> SliceViewport | None:
        visible = self.w.visible_viewports()
        for i, a in enumerate(result.assignments):
            if a.slot == slot and i < len(visible):
                return visible[i]
        return None

    @staticmethod
    def _embed(host: SliceViewport, widget: QWidget) -> None:
        lay = host.layout()
        if lay is None:
            lay = QVBoxLayout(host)
            lay.setContentsMargins(0, 0, 0, 0)
        if lay.indexOf(widget) < 0:
            lay.addWidget(widget)
        widget.show()

    def _prepare_host(self, vp: SliceViewport, a: ViewportAssignment) -> None:
        vp.empty_text = a.reason
        vp.model.set_volume(None, a.orientation, a.title)

    def render_fusion(
        self, vp: SliceViewport, a: ViewportAssignment, result: ProtocolResult
    ) -> None:
        self._prepare_host(vp, a)
        fused = self._fused.get(vp)
        if fused is None:
            fused = FusedViewport(ViewportModel(f"{vp.model.name} fusion"), self.w.state)
            fused.colour = vp.colour
            fused.empty_text = translate("PetGrid", WAITING_TEXT)
            self._fused[vp] = fused
            self.w.embedded_viewports.append(fused)
            reads = self._reads()
            if reads is not None:
                reads.host(fused)  # ellipses and spheres drawn on the fusion read SUV
        if fused.model not in self.w.state.viewports:
            self.w.state.add_viewport(fused.model)
        fused.model.shown = True
        self._embed(vp, fused)
        slot = FusionSlot(
            self, vp, fused, self._source_vp(result, "mri"), self._source_vp(result, "pet"), a.title
        )
        self.slots[vp] = slot
        slot.refresh()

    def render_mip(self, vp: SliceViewport, a: ViewportAssignment, result: ProtocolResult) -> None:
        self._prepare_host(vp, a)
        mip = self._mips.get(vp)
        if mip is None:
            mip = MipViewport(self.w.state)
            self._mips[vp] = mip
        self._embed(vp, mip)
        slot = MipSlot(self, vp, mip, self._source_vp(result, "pet"))
        self.slots[vp] = slot
        slot.refresh()

    def clear_slot(self, vp: SliceViewport) -> None:
        """A series replaces the derived view in ``vp`` (protocol change, drop, double-click)."""
        slot = self.slots.pop(vp, None)
        if slot is None:
            return
        slot.close()
        if isinstance(slot, FusionSlot):
            model = slot.widget.model
            model.set_volume(None)
            model.shown = False
            if model in self.w.state.viewports:
                self.w.state.viewports.remove(model)
        elif isinstance(slot, MipSlot):
            slot.widget.set_volume(None)
        vp.update()

    def fusion_slot(self) -> FusionSlot | None:
        return next((s for s in self.slots.values() if isinstance(s, FusionSlot)), None)

    def mip_slot(self) -> MipSlot | None:
        return next((s for s in self.slots.values() if isinstance(s, MipSlot)), None)

    def show_registration(self, panel: RegistrationPanel) -> None:
        if self.registration_dock is None:
            dock = QDockWidget(self.tr("PET registration"), self.w)
            dock.setObjectName("pet_registration_dock")
            self.w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.registration_dock = dock
        old = self.registration_dock.widget()
        self.registration_dock.setWidget(panel)
        if old is not None and old is not panel:
            old.deleteLater()
        self.registration_dock.show()

    def hide_registration(self) -> None:
        if self.registration_dock is not None:
            self.registration_dock.hide()

    def _say(self, text: str) -> None:
        self.last_message = text
        self.w.statusBar().showMessage(text, 15000)
