"""The volumes of a 4D series (phases, b-values, echoes) in one viewport: the next or previous
one, or all of them played in a loop, each at the slice the reader is on (the viewport's loader
keeps the patient position within a frame of reference)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from namecar_viewer.gui.viewport import SliceViewport
from namecar_viewer.persistence.study_index import StackRow

if TYPE_CHECKING:
    from namecar_viewer.gui.reading import ReadingController

STATUS_HINT_MS = 4000  # how long a status bar hint stays
PLAY_MS = 500  # a volume shown this long while playing (a load is never skipped)


class SeriesVolumes(QObject):
    """Steps (Ctrl+Right / Ctrl+Left) and plays (Ctrl+Shift+C) the volumes of a series."""

    def __init__(self, reading: ReadingController) -> None:
        super().__init__(reading)
        self.reading = reading
        self._timer = QTimer(self)
        self._timer.setInterval(PLAY_MS)
        self._timer.timeout.connect(self._tick)
        # viewport, series UID, its stacks (read once: the index is not searched every tick)
        self._playing: tuple[SliceViewport, str, list[StackRow]] | None = None

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def siblings(
        self, vp: SliceViewport, rows: list[StackRow] | None = None
    ) -> tuple[list[StackRow], int | None]:
        """The stacks of the series shown in ``vp`` in browser order (``rows`` if known), and
        which one is shown."""
        vol = vp.model.volume
        if vol is None:
            return [], None
        if rows is None:
            rows = [
                r
                for r in self.reading.index.stack_rows()
                if r.series_instance_uid == vol.series_instance_uid
            ]
        label = vol.metadata.get("label", "")
        return rows, next((k for k, r in enumerate(rows) if r.label == label), None)

    def step(
        self,
        vp: SliceViewport,
        step: int,
        wrap: bool = False,
        rows: list[StackRow] | None = None,
    ) -> bool:
        """Show the next (``step`` 1) or previous (-1) volume of the series shown in ``vp``
        (after the last, the first if ``wrap``); False, said in the status bar, when there is
        none."""
        rows, here = self.siblings(vp, rows)
        there = None if here is None else here + step
        if there is not None and wrap and len(rows) > 1:
            there %= len(rows)
        if there is None or not 0 <= there < len(rows) or there == here:
            self._say(
                self.tr("This series has no next volume")
                if step > 0
                else self.tr("This series has no previous volume")
            )
            return False
        self.reading.load_into(vp, rows[there].id, vp.model.orientation)
        browser = self.reading.w.browser
        item = browser.item_of_stack(rows[there].id)
        if item is not None:
            browser.tree.setCurrentItem(item)  # the browser shows which one it is
        return True

    def toggle_play(self, vp: SliceViewport) -> bool:
        """Play the volumes of the series shown in ``vp`` in a loop, or stop; True if playing."""
        if self.playing:
            self.stop()
            return False
        rows, here = self.siblings(vp)
        vol = vp.model.volume
        if vol is None or here is None or len(rows) < 2:
            self._say(self.tr("This series has one volume: nothing to play"))
            return False
        self._playing = (vp, vol.series_instance_uid, rows)
        self._timer.start()
        self._say(self.tr("Playing the volumes of the series (Ctrl+Shift+C stops)"))
        return True

    def stop(self) -> None:
        self._timer.stop()
        self._playing = None

    def _tick(self) -> None:
        if self._playing is None:
            self.stop()
            return
        vp, series, rows = self._playing
        vol = vp.model.volume
        if not vp.isVisible() or vol is None or vol.series_instance_uid != series:
            self.stop()  # the reader opened something else there, or another layout
            return
        if self.reading.loader_of(vp).busy:
            return  # the last volume is still loading: show it before the next
        if not self.step(vp, 1, wrap=True, rows=rows):
            self.stop()

    def _say(self, text: str) -> None:
        self.reading.w.statusBar().showMessage(text, STATUS_HINT_MS)
