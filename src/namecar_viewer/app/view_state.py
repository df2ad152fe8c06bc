"""Evented display state shared by the viewports, free of Qt so it runs and tests headless.

Each viewport owns a :class:`ViewportModel` (which volume, plane, slice and window it shows);
one :class:`ViewState` holds what viewports share: the crosshair point in patient LPS mm, the
blinded flag and the list of viewports, so cross-reference lines and linked navigation go through
this model and never from one widget to another (the napari model/view split).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import (
    Plane,
    Slice,
    SliceGeometry,
    SliceOrientation,
    WindowLevel,
    WindowPreset,
    default_display,
    preset_window,
    reslice,
    slice_geometry,
)


class Event:
    """A list of callbacks called in order with the emitted arguments."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for cb in list(self._callbacks):
            cb(*args)


class ViewportModel:
    """What one viewport shows: a volume in a plane at a slice, with its window.

    Events: ``volume_changed()``, ``slice_changed(index)``, ``window_changed(window, invert)``,
    ``navigated(index)`` (the slice changed by navigation, not by loading: linked scrolling
    follows this one).  A viewport that cannot show its stack carries ``error`` (the reason,
    shown as text).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.shown = True  # False while its widget is hidden by the layout (no reference line)
        self.volume: Volume | None = None
        self.error: str | None = None
        self.title = ""
        self.orientation = SliceOrientation.ACQUISITION
        self.geometry: SliceGeometry | None = None
        self.index = 0
        self.window = WindowLevel(400.0, 40.0)
        self.invert = False
        self.volume_changed = Event()
        self.slice_changed = Event()
        self.window_changed = Event()
        self.navigated = Event()
        self._slice: Slice | None = None
        self._plane: tuple[SliceGeometry, int, Plane] | None = None

    # --- content ---------------------------------------------------------------------------
    def set_volume(
        self,
        volume: Volume | None,
        orientation: SliceOrientation = SliceOrientation.ACQUISITION,
        title: str = "",
    ) -> None:
        """Show ``volume`` in ``orientation`` at its middle slice with its modality's window."""
        self.volume = volume
        self.error = None
        self.title = title
        self.orientation = orientation
        self._slice = None
        if volume is None:
            self.geometry = None
        else:
            self.geometry = slice_geometry(volume, orientation)
            self.index = self.geometry.count // 2
            self.window, self.invert = default_display(volume)
        self.volume_changed.emit()
        self.slice_changed.emit(self.index)
        self.window_changed.emit(self.window, self.invert)

    def set_error(self, message: str, title: str = "") -> None:
        """Show ``message`` instead of an image (a stack that cannot load)."""
        self.volume = None
        self.geometry = None
        self._slice = None
        self.error = message
        self.title = title
        self.volume_changed.emit()

    def set_orientation(self, orientation: SliceOrientation) -> None:
        """Change plane, keeping the point at the centre of the current slice in view."""
        if self.volume is None:
            self.orientation = orientation
            return
        centre = self.slice_centre()
        self.orientation = orientation
        self.geometry = slice_geometry(self.volume, orientation)
        self._slice = None
        self.index = self.geometry.index_of(centre) if centre is not None else 0
        self.volume_changed.emit()
        self.slice_changed.emit(self.index)

    # --- navigation ------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self.geometry.count if self.geometry is not None else 0

    def set_index(self, index: int) -> None:
        if self.geometry is None:
            return
        index = min(max(int(index), 0), self.geometry.count - 1)
        if index != self.index or self._slice is None:
            moved = index != self.index
            self.index = index
            self._slice = None
            self.slice_changed.emit(index)
            if moved:
                self.navigated.emit(index)

    def scroll(self, delta: int) -> None:
        self.set_index(self.index + delta)

    def move_to_point(self, point: npt.ArrayLike) -> None:
        """Go to the slice nearest to an LPS point."""
        if self.geometry is not None:
            self.set_index(self.geometry.index_of(point))

    def current_slice(self) -> Slice | None:
        """The displayed slice (cached until the slice or plane changes)."""
        if self.volume is None or self.geometry is None:
            return None
        if self._slice is None or self._slice.index != self.index:
            self._slice = reslice(self.volume, self.orientation, self.index, self.geometry)
        return self._slice

    @property
    def plane(self) -> Plane | None:
        geo = self.geometry
        if geo is None:
            return None
        # one Plane per slice shown: a frame asks for it several times (image, lines, overlays)
        cached = self._plane
        if cached is not None and cached[0] is geo and cached[1] == self.index:
            return cached[2]
        plane = geo.plane(self.index)
        self._plane = (geo, self.index, plane)
        return plane

    def position_mm(self) -> float | None:
        return self.geometry.position_mm(self.index) if self.geometry is not None else None

    def slice_centre(self) -> npt.NDArray[np.float64] | None:
        plane = self.plane
        if plane is None:
            return None
        rows, cols = plane.shape
        return plane.pixel_to_patient([[(rows - 1) / 2.0, (cols - 1) / 2.0]])[0]

    @property
    def frame_of_reference_uid(self) -> str | None:
        return self.volume.frame_of_reference_uid if self.volume is not None else None

    # --- window ----------------------------------------------------------------------------
    def set_window(self, window: WindowLevel, invert: bool | None = None) -> None:
        self.window = window
        if invert is not None:
            self.invert = invert
        self.window_changed.emit(self.window, self.invert)

    def set_invert(self, invert: bool) -> None:
        self.set_window(self.window, invert)

    def apply_preset(self, preset: WindowPreset) -> None:
        if self.volume is None:
            return
        self.set_window(preset_window(preset, self.volume), preset.invert)


# Two slice normals closer than this (|cos|) count as parallel for linked scrolling.
PARALLEL_COS = 0.999


def translation(offset: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """A 4x4 homogeneous transform moving LPS points by ``offset`` mm."""
    m = np.eye(4)
    m[:3, 3] = np.asarray(offset, dtype=np.float64).reshape(3)
    return m


class ViewState:
    """State shared by all viewports: crosshair in patient mm, blinded mode, the viewport list,
    and the transforms that relate frames of reference.

    Viewports in one frame of reference are linked directly.  Different frames of reference
    (another timepoint, another study) are linked once a transform is known between them:
    ``set_transform(for_a, for_b, m)`` stores the 4x4 homogeneous matrix ``m`` with
    ``p_b = m @ p_a`` (LPS mm); a manual offset is a pure translation, a rigid registration
    (the PET/MRI work) plugs in the same way.  Transforms chain (A->B and B->C give A->C).

    Events: ``crosshair_changed(point, frame_of_reference_uid)``, ``planes_changed()`` (any
    viewport changed slice or plane, so cross-reference lines move), ``display_changed()``
    (blinded mode, overlay or reference-line visibility), ``transforms_changed()``.
    """

    def __init__(self) -> None:
        self.viewports: list[ViewportModel] = []
        self.crosshair: npt.NDArray[np.float64] | None = None
        self.crosshair_frame_of_reference: str | None = None
        self.blinded = False
        self.show_overlays = True
        self.show_reference_lines = True
        self.show_crosshair = True
        self.link_scrolling = True
        self.crosshair_changed = Event()
        self.planes_changed = Event()
        self.display_changed = Event()
        self.transforms_changed = Event()
        self._transforms: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
        self._syncing = False

    def add_viewport(self, model: ViewportModel) -> None:
        self.viewports.append(model)
        model.slice_changed.connect(self._on_plane_change)
        model.volume_changed.connect(self._on_plane_change)
        model.navigated.connect(lambda _i, m=model: self._on_navigated(m))

    def _on_plane_change(self, *_: Any) -> None:
        self.planes_changed.emit()

    # --- frames of reference -----------------------------------------------------------------
    def set_transform(self, for_a: str, for_b: str, matrix: npt.ArrayLike) -> None:
        """Relate two frames of reference: ``p_b = matrix @ p_a`` (4x4, LPS mm)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (4, 4) or not np.allclose(m[3], (0, 0, 0, 1)):
            raise ValueError(
                f'Argument "matrix" must be a 4x4 homogeneous transform, got shape {m.shape}.'
            )
        if for_a == for_b:
            raise ValueError("A transform relates two different frames of reference.")
        self._transforms[(for_a, for_b)] = m
        self._transforms[(for_b, for_a)] = np.asarray(np.linalg.inv(m), dtype=np.float64)
        self.transforms_changed.emit()

    def set_offset_from_points(
        self, for_a: str, point_a: npt.ArrayLike, for_b: str, point_b: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """A manual offset: the same anatomy at ``point_a`` (in ``for_a``) and ``point_b``."""
        pa = np.asarray(point_a, dtype=np.float64).reshape(3)
        pb = np.asarray(point_b, dtype=np.float64).reshape(3)
        m = translation(pb - pa)
        self.set_transform(for_a, for_b, m)
        return m

    def clear_transform(self, for_a: str, for_b: str) -> None:
        self._transforms.pop((for_a, for_b), None)
        self._transforms.pop((for_b, for_a), None)
        self.transforms_changed.emit()

    def transform(self, for_a: str | None, for_b: str | None) -> npt.NDArray[np.float64] | None:
        """The 4x4 taking ``for_a`` points to ``for_b`` (identity when equal), or None."""
        if for_a is None or for_b is None:
            return None
        if for_a == for_b:
            return np.eye(4)
        direct = self._transforms.get((for_a, for_b))
        if direct is not None:
            return direct
        # breadth-first through the known pairs: the shortest chain of transforms
        prev: dict[str, tuple[str, npt.NDArray[np.float64]]] = {}
        frontier = [for_a]
        seen = {for_a}
        while frontier:
            nxt = []
            for node in frontier:
                for (a, b), m in self._transforms.items():
                    if a == node and b not in seen:
                        seen.add(b)
                        prev[b] = (a, m)
                        nxt.append(b)
            frontier = nxt
            if for_b in seen:
                break
        if for_b not in prev:
            return None
        out = np.eye(4)
        node = for_b
        while node != for_a:
            a, m = prev[node]
            out = out @ m
            node = a
        return out

    def map_point(
        self, point: npt.ArrayLike, for_a: str | None, for_b: str | None
    ) -> npt.NDArray[np.float64] | None:
        """``point`` (LPS mm in ``for_a``) in ``for_b``, or None when they are not related."""
        m = self.transform(for_a, for_b)
        if m is None:
            return None
        p = np.append(np.asarray(point, dtype=np.float64).reshape(3), 1.0)
        out: npt.NDArray[np.float64] = (m @ p)[:3]
        return out

    def crosshair_in(self, frame_of_reference_uid: str | None) -> npt.NDArray[np.float64] | None:
        """The crosshair point expressed in another frame of reference (None if unrelated)."""
        if self.crosshair is None:
            return None
        return self.map_point(
            self.crosshair, self.crosshair_frame_of_reference, frame_of_reference_uid
        )

    def linked(self, model: ViewportModel) -> list[ViewportModel]:
        """Other viewports in the same frame of reference as ``model``."""
        uid = model.frame_of_reference_uid
        if uid is None:
            return []
        return [
            v
            for v in self.viewports
            if v is not model and v.shown and v.frame_of_reference_uid == uid
        ]

    def set_crosshair(self, point: npt.ArrayLike, frame_of_reference_uid: str | None) -> None:
        """Place the crosshair at an LPS point; every viewport in that frame (or related to it by
        a transform) moves to it."""
        p = np.asarray(point, dtype=np.float64).reshape(3)
        self.crosshair = p
        self.crosshair_frame_of_reference = frame_of_reference_uid
        if frame_of_reference_uid is not None:
            self._syncing = True
            try:
                for v in self.viewports:
                    q = self.map_point(p, frame_of_reference_uid, v.frame_of_reference_uid)
                    if q is not None:
                        v.move_to_point(q)
            finally:
                self._syncing = False
        self.crosshair_changed.emit(p, frame_of_reference_uid)

    def set_link_scrolling(self, on: bool) -> None:
        self.link_scrolling = on
        self.display_changed.emit()

    def _on_navigated(self, source: ViewportModel) -> None:
        """Linked scrolling: viewports with parallel planes follow to the same position."""
        if self._syncing or not self.link_scrolling or source.geometry is None:
            return
        centre = source.slice_centre()
        if centre is None:
            return
        self._syncing = True
        try:
            for v in self.viewports:
                if v is source or not v.shown or v.geometry is None:
                    continue
                m = self.transform(source.frame_of_reference_uid, v.frame_of_reference_uid)
                if m is None:
                    continue
                normal = m[:3, :3] @ source.geometry.normal
                if abs(float(np.dot(normal, v.geometry.normal))) < PARALLEL_COS * float(
                    np.linalg.norm(normal)
                ):
                    continue
                v.move_to_point((m @ np.append(centre, 1.0))[:3])
        finally:
            self._syncing = False

    def set_blinded(self, blinded: bool) -> None:
        self.blinded = blinded
        self.display_changed.emit()

    def set_flags(
        self,
        *,
        overlays: bool | None = None,
        reference_lines: bool | None = None,
        crosshair: bool | None = None,
    ) -> None:
        if overlays is not None:
            self.show_overlays = overlays
        if reference_lines is not None:
            self.show_reference_lines = reference_lines
        if crosshair is not None:
            self.show_crosshair = crosshair
        self.display_changed.emit()
