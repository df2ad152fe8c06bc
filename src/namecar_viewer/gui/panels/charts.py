"""Response charts: on screen through pyqtgraph (values on hover), in the PDF through QPainter.

* :class:`SumPlot` / :class:`SumChart`: sum of target diameters (mm) against the scan date, each
  point coloured by its overall response, the nadir ringed and labelled, the PD threshold of
  each follow-up (nadir + max(20 %, 5 mm), RECIST 1.1 sec. 4.3.1) as a dashed red step and the
  PR threshold (baseline - 30 %) as a dashed line.
* :class:`SpiderPlot` / :class:`SpiderChart`: each target's percent change from its baseline
  diameter against the scan date, with the -30 % and +20 % reference lines; the primary renal
  tumour dashed.

The response panel shows the pyqtgraph plots (:class:`SumPlot`, :class:`SpiderPlot`: a
maintained plotting library, PySide6-Essentials having no QtCharts): hovering a point shows its
timepoint, date and value beside it, colours follow the theme.  The PDF report keeps the
QPainter charts (:class:`SumChart`, :class:`SpiderChart`, white background for print), grabbed
into the page as it always was.  All take a :class:`~namecar_viewer.app.response.ResponseReport`;
x is the date (days), or the timepoint order when a date is missing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from namecar_viewer.app.response import ResponseReport
from namecar_viewer.core.recist import Response
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import response_text

translate = QCoreApplication.translate

RESPONSE_COLOURS: dict[str, str] = {
    "CR": "#2e9d4f",  # green
    "PR": "#16a3a0",  # blue-green
    "SD": "#e0a100",  # amber
    "PD": "#d93025",  # red
    "NE": "#8a8a8a",  # grey
    "Non-CR/Non-PD": "#c7a64a",
    "NA": "#b0b0b0",
}
TARGET_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#9c755f", "#e15759", "#76b7b2")
BG = QColor("#ffffff")
AXIS = QColor("#404040")
GRID = QColor("#e4e4e4")


def response_colour(r: Response | None) -> QColor:
    return QColor(RESPONSE_COLOURS.get(r.value, "#8a8a8a") if r is not None else "#606060")


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 x 10^k steps)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


class _Chart(QWidget):
    """Axes, ticks and the date mapping shared by both charts."""

    title = ""
    y_label = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: ResponseReport | None = None
        self.setMinimumSize(220, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.margins = (52, 26, 34, 40)  # left, top, right, bottom
        # blinded mode: how a date is written under its tick ("Day 182"), else year-month
        self.date_label: Callable[[object], str] | None = None

    def sizeHint(self) -> QSize:
        return QSize(380, 230)

    def set_report(self, report: ResponseReport) -> None:
        self.report = report
        self.update()

    # x positions: days since the first row, or the row order when any date is missing
    def x_values(self) -> list[float]:
        assert self.report is not None
        rows = self.report.rows
        if rows and all(r.date is not None for r in rows):
            d0 = rows[0].date
            assert d0 is not None
            return [float((r.date - d0).days) for r in rows if r.date is not None]
        return [float(i) for i in range(len(rows))]

    def plot_rect(self) -> QRectF:
        left, top, right, bottom = self.margins
        return QRectF(left, top, self.width() - left - right, self.height() - top - bottom)

    def y_range(self) -> tuple[float, float]:
        raise NotImplementedError

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), BG)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        p.setFont(small)
        p.setPen(AXIS)
        p.drawText(
            QRectF(0, 2, self.width(), 18),
            Qt.AlignmentFlag.AlignHCenter,
            translate("_Chart", self.title),
        )
        rep = self.report
        if rep is None or not rep.rows:
            msg = translate("_Chart", "No response to chart yet")
            if rep is not None and rep.errors:
                msg = translate("_Chart", "Not evaluable: see the message above")
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, msg)
            p.end()
            return
        xs = self.x_values()
        lo, hi = self.y_range()
        ticks = nice_ticks(lo, hi, max(2, min(6, int(self.plot_rect().height() // 28))))
        lo, hi = ticks[0], ticks[-1]
        r = self.plot_rect()
        x0, x1 = min(xs), max(xs)
        span = (x1 - x0) or 1.0

        def X(x: float) -> float:
            return r.left() + 8 + (x - x0) / span * (r.width() - 16)

        def Y(y: float) -> float:
            return r.bottom() - (y - lo) / (hi - lo) * r.height()

        self._X, self._Y = X, Y
        fm = p.fontMetrics()
        # grid, y ticks and labels
        for t in ticks:
            y = Y(t)
            p.setPen(QPen(GRID, 1))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(AXIS)
            p.drawLine(QPointF(r.left() - 4, y), QPointF(r.left(), y))
            text = i18n.localise_number_text(f"{t:g}")
            p.drawText(
                QRectF(0, y - 8, r.left() - 6, 16),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                text,
            )
        # x ticks at each timepoint: label and date
        for row, x in zip(rep.rows, xs, strict=False):
            px = X(x)
            p.setPen(AXIS)
            p.drawLine(QPointF(px, r.bottom()), QPointF(px, r.bottom() + 4))
            w = 70
            p.drawText(
                QRectF(px - w / 2, r.bottom() + 4, w, 14), Qt.AlignmentFlag.AlignHCenter, row.label
            )
            if row.date is not None:
                p.drawText(
                    QRectF(px - w / 2, r.bottom() + 17, w, 14),
                    Qt.AlignmentFlag.AlignHCenter,
                    self.date_label(row.date) if self.date_label else i18n.month_text(row.date),
                )
        p.setPen(QPen(AXIS, 1))
        p.drawLine(r.bottomLeft(), r.bottomRight())
        p.drawLine(r.bottomLeft(), r.topLeft())
        # y axis label, rotated
        p.save()
        p.translate(11, r.center().y())
        p.rotate(-90)
        p.drawText(
            QRectF(-r.height() / 2, -8, r.height(), 16),
            Qt.AlignmentFlag.AlignCenter,
            translate("_Chart", self.y_label),
        )
        p.restore()
        self.draw_data(p, xs, fm.height())
        p.end()

    def draw_data(self, p: QPainter, xs: Sequence[float], text_h: int) -> None:
        raise NotImplementedError


def _f(v: Fraction | None) -> float | None:
    return None if v is None else float(v)


def nadir_index(report: ResponseReport) -> int | None:
    """Row holding the smallest complete sum (the nadir the last follow-up refers to)."""
    best = None
    for i, r in enumerate(report.rows):
        if r.sum_mm is None or r.targets_not_evaluated:
            continue
        if best is None or r.sum_mm < report.rows[best].sum_mm:  # type: ignore[operator]
            best = i
    return best


def x_values(report: ResponseReport) -> list[float]:
    """Days since the first row, or the row order when any date is missing."""
    rows = report.rows
    if rows and all(r.date is not None for r in rows):
        d0 = rows[0].date
        assert d0 is not None
        return [float((r.date - d0).days) for r in rows if r.date is not None]
    return [float(i) for i in range(len(rows))]


class SumChart(_Chart):
    """Sum of diameters over time with the nadir and the PD / PR thresholds."""

    title = QT_TRANSLATE_NOOP("_Chart", "Sum of target diameters")
    y_label = "mm"

    def y_range(self) -> tuple[float, float]:
        assert self.report is not None
        vals = [float(r.sum_mm) for r in self.report.rows if r.sum_mm is not None]
        vals += [float(t) for r in self.report.rows if (t := r.pd_threshold_mm) is not None]
        return 0.0, max(vals, default=10.0) * 1.08

    def nadir_index(self) -> int | None:
        """Row holding the smallest complete sum (the nadir the last follow-up refers to)."""
        assert self.report is not None
        return nadir_index(self.report)

    def draw_data(self, p: QPainter, xs: Sequence[float], text_h: int) -> None:
        rep = self.report
        assert rep is not None
        X, Y = self._X, self._Y
        r = self.plot_rect()
        # PR threshold: baseline - 30 %
        pr = _f(rep.pr_threshold_mm)
        if pr is not None:
            p.setPen(QPen(QColor(RESPONSE_COLOURS["PR"]), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(r.left(), Y(pr)), QPointF(r.right(), Y(pr)))
            p.drawText(
                QPointF(r.left() + 4, Y(pr) - 3),
                i18n.fmt(
                    translate("_Chart", "{response} \u2264 {mm:.1f} mm (-30%)"),
                    response=response_text("PR"),
                    mm=float(pr),
                ),
            )
        # PD threshold step: each follow-up's threshold from the previous scan to this one
        pen = QPen(QColor(RESPONSE_COLOURS["PD"]), 1.4, Qt.PenStyle.DashLine)
        p.setPen(pen)
        path = QPainterPath()
        started = False
        last_label = None
        for i, row in enumerate(rep.rows):
            t = _f(row.pd_threshold_mm)
            if t is None or i == 0:
                continue
            a, b = X(xs[i - 1]), X(xs[i])
            if not started:
                path.moveTo(a, Y(t))
                started = True
            else:
                path.lineTo(a, Y(t))
            path.lineTo(b, Y(t))
            last_label = (b, Y(t), t)
        p.drawPath(path)
        if last_label is not None:
            bx, by, t = last_label
            p.drawText(
                QRectF(bx - 150, by - 16, 146, 14),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom),
                i18n.fmt(
                    translate("_Chart", "{response} \u2265 {mm:.1f} mm"),
                    response=response_text("PD"),
                    mm=float(t),
                ),
            )
        # the sum line, points coloured by overall response
        pts = [
            (X(x), Y(float(row.sum_mm)), row)
            for x, row in zip(xs, rep.rows, strict=False)
            if row.sum_mm is not None
        ]
        p.setPen(QPen(QColor("#303030"), 1.6))
        for (ax, ay, _), (bx, by, _) in itertools.pairwise(pts):
            p.drawLine(QPointF(ax, ay), QPointF(bx, by))
        for px, py, row in pts:
            c = response_colour(row.overall_response) if not row.is_baseline else QColor("#303030")
            p.setPen(QPen(QColor("#202020"), 1))
            p.setBrush(c)
            p.drawEllipse(QPointF(px, py), 4.5, 4.5)
            p.setPen(AXIS)
            p.drawText(
                QPointF(px + 6, py - 6),
                i18n.localise_number_text(f"{float(row.sum_mm):g}"),  # type: ignore[arg-type]
            )
        p.setBrush(Qt.BrushStyle.NoBrush)
        n = self.nadir_index()
        if n is not None and rep.rows[n].sum_mm is not None:
            nx, ny = X(xs[n]), Y(float(rep.rows[n].sum_mm))  # type: ignore[arg-type]
            p.setPen(QPen(QColor("#1a56c4"), 1.6))
            p.drawEllipse(QPointF(nx, ny), 8, 8)
            p.drawText(QPointF(nx - 20, ny + 22), translate("_Chart", "nadir"))


class SpiderChart(_Chart):
    """Percent change of each target from its baseline diameter."""

    title = QT_TRANSLATE_NOOP("_Chart", "Spider plot: change of each target from baseline")
    y_label = QT_TRANSLATE_NOOP("_Chart", "% from baseline")

    def y_range(self) -> tuple[float, float]:
        assert self.report is not None
        vals = [float(v) for t in self.report.targets for v in t.pct_from_baseline if v is not None]
        return min([-40.0, *vals]), max([30.0, *vals])

    def draw_data(self, p: QPainter, xs: Sequence[float], text_h: int) -> None:
        rep = self.report
        assert rep is not None
        X, Y = self._X, self._Y
        r = self.plot_rect()
        for level, ref_colour, text in (
            (0.0, "#606060", ""),
            (-30.0, RESPONSE_COLOURS["PR"], "-30%"),
            (20.0, RESPONSE_COLOURS["PD"], "+20%"),
        ):
            p.setPen(
                QPen(QColor(ref_colour), 1, Qt.PenStyle.DashLine if text else Qt.PenStyle.SolidLine)
            )
            p.drawLine(QPointF(r.left(), Y(level)), QPointF(r.right(), Y(level)))
            if text:
                p.drawText(QPointF(r.right() - 34, Y(level) - 3), text)
        legend_x = r.left() + 6
        end_labels: list[tuple[float, float, str, QColor]] = []
        for k, t in enumerate(rep.targets):
            colour = QColor(TARGET_COLOURS[k % len(TARGET_COLOURS)])
            style = Qt.PenStyle.DashLine if t.is_primary_renal else Qt.PenStyle.SolidLine
            p.setPen(QPen(colour, 1.8, style))
            pts = [
                QPointF(X(x), Y(float(v)))
                for x, v in zip(xs, t.pct_from_baseline, strict=False)
                if v is not None
            ]
            for a, b in itertools.pairwise(pts):
                p.drawLine(a, b)
            p.setBrush(colour)
            for q in pts:
                p.drawEllipse(q, 3, 3)
            p.setBrush(Qt.BrushStyle.NoBrush)
            if pts:
                end_labels.append((pts[-1].y() + 4, pts[-1].x() + 5, t.label, colour))
            # legend along the top of the plot
            name = t.label + (translate("_Chart", " (primary)") if t.is_primary_renal else "")
            p.drawLine(QPointF(legend_x, r.top() + 6), QPointF(legend_x + 14, r.top() + 6))
            p.drawText(QPointF(legend_x + 17, r.top() + 10), name)
            legend_x += 24 + p.fontMetrics().horizontalAdvance(name)
        # end-of-line labels pushed apart so close lines stay readable
        end_labels.sort()
        last_y = -1e9
        for y, x, label, colour in end_labels:
            y = max(y, last_y + text_h - 2)
            p.setPen(colour)
            p.drawText(QPointF(x, y), label)
            last_y = y


# --- on screen: pyqtgraph -------------------------------------------------------------------
HOVER_PX = 12.0  # how close the mouse must be to a point for its value to show


class _Plot(QWidget):
    """A pyqtgraph plot of a response report with the value of the point under the mouse."""

    title = ""
    y_label = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        from namecar_viewer.gui import theme

        self.report: ResponseReport | None = None
        # blinded mode: how a date is written under its tick ("Day 182"), else year-month
        self.date_label: Callable[[object], str] | None = None
        self.setMinimumSize(220, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plot = pg.PlotWidget(self, background=theme.colour("chart_bg"))
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.item = self.plot.getPlotItem()
        # (scene-independent) data points the hover looks for: x, y, text
        self.points: list[tuple[float, float, str]] = []
        self.hover_text = ""
        self._tip = pg.TextItem("")
        self._message = pg.TextItem("", anchor=(0.5, 0.5))
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        from PySide6.QtWidgets import QVBoxLayout

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        # a bound slot: Qt drops the connection when the plot is destroyed
        theme.notifier.changed.connect(self._on_theme)
        self.redraw()

    def _on_theme(self, _name: str) -> None:
        self.redraw()

    def sizeHint(self) -> QSize:
        return QSize(380, 230)

    def set_report(self, report: ResponseReport) -> None:
        self.report = report
        self.redraw()

    # --- drawing ---------------------------------------------------------------------------
    def _pen(self, colour: str, width: float = 1.5, dashed: bool = False) -> object:
        import pyqtgraph as pg

        return pg.mkPen(
            colour, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        )

    def redraw(self) -> None:
        import pyqtgraph as pg

        from namecar_viewer.gui import theme

        fg = theme.colour("chart_fg")
        self.plot.setBackground(theme.colour("chart_bg"))
        item = self.item
        item.clear()
        item.setTitle(translate("_Chart", self.title), color=fg, size="9pt")
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        item.setLabel("left", translate("_Chart", self.y_label), color=fg)
        item.showGrid(x=False, y=True, alpha=0.18)
        self.points = []
        self._tip = pg.TextItem(
            "", anchor=(0, 1), color=fg, fill=pg.mkBrush(theme.colour("chart_bg")), border=fg
        )
        self._tip.setZValue(100)
        self._tip.setVisible(False)
        self.hover_text = ""
        item.addItem(self._tip, ignoreBounds=True)
        rep = self.report
        if rep is None or not rep.rows:
            msg = translate("_Chart", "No response to chart yet")
            if rep is not None and rep.errors:
                msg = translate("_Chart", "Not evaluable: see the message above")
            self._message.setText(msg, color=fg)
            item.addItem(self._message, ignoreBounds=True)
            item.getAxis("bottom").setTicks(None)
            item.setXRange(0, 1)
            item.setYRange(0, 1)
            self._message.setPos(0.5, 0.5)
            return
        xs = x_values(rep)
        ticks = []
        for row, x in zip(rep.rows, xs, strict=False):
            text = row.label
            if row.date is not None:
                text += "\n" + (
                    self.date_label(row.date) if self.date_label else i18n.month_text(row.date)
                )
            ticks.append((x, text))
        item.getAxis("bottom").setTicks([ticks, []])
        item.getAxis("bottom").setHeight(44)
        self.draw_data(xs)
        span = (max(xs) - min(xs)) or 1.0
        item.setXRange(min(xs) - 0.14 * span, max(xs) + 0.14 * span, padding=0)

    def draw_data(self, xs: Sequence[float]) -> None:
        raise NotImplementedError

    def _label(
        self, x: float, y: float, text: str, colour: str, anchor: tuple[float, float]
    ) -> None:
        import pyqtgraph as pg

        t = pg.TextItem(text, color=colour, anchor=anchor)
        t.setPos(x, y)
        self.item.addItem(t)

    # --- hover -----------------------------------------------------------------------------
    def point_at(self, scene_pos: QPointF) -> tuple[float, float, str] | None:
        """The data point within :data:`HOVER_PX` of a scene position (the nearest), or None."""
        vb = self.item.getViewBox()
        best, best_d = None, HOVER_PX
        for x, y, text in self.points:
            sp = vb.mapViewToScene(QPointF(x, y))
            d = math.hypot(sp.x() - scene_pos.x(), sp.y() - scene_pos.y())
            if d <= best_d:
                best, best_d = (x, y, text), d
        return best

    def scene_pos_of(self, index: int) -> QPointF:
        """Scene position of data point ``index`` (tests move the mouse there)."""
        x, y, _ = self.points[index]
        return QPointF(self.item.getViewBox().mapViewToScene(QPointF(x, y)))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self.point_at(scene_pos)
        text = hit[2] if hit is not None else ""
        if text == self.hover_text:
            return
        self.hover_text = text
        from namecar_viewer.gui import theme

        self._tip.setText(text, color=theme.colour("chart_fg"))
        self._tip.setVisible(bool(text))
        if hit is not None:
            # beside the point, towards the middle of the plot so the text stays inside it
            (x0, x1), (y0, y1) = self.item.getViewBox().viewRange()
            right = hit[0] > (x0 + x1) / 2.0
            high = hit[1] > y0 + 0.7 * (y1 - y0)
            self._tip.setAnchor((1.0 if right else 0.0, 0.0 if high else 1.0))
            self._tip.setPos(hit[0], hit[1])
        self._tip.update()


class SumPlot(_Plot):
    """Sum of diameters over time with the nadir and the PD / PR thresholds (pyqtgraph)."""

    title = SumChart.title
    y_label = SumChart.y_label

    def nadir_index(self) -> int | None:
        assert self.report is not None
        return nadir_index(self.report)

    def draw_data(self, xs: Sequence[float]) -> None:
        import pyqtgraph as pg

        from namecar_viewer.gui import theme

        rep = self.report
        assert rep is not None
        item = self.item
        ys = [float(r.sum_mm) for r in rep.rows if r.sum_mm is not None]
        ys += [float(t) for r in rep.rows if (t := r.pd_threshold_mm) is not None]
        item.setYRange(0.0, max(ys, default=10.0) * 1.12, padding=0)
        pr = _f(rep.pr_threshold_mm)
        if pr is not None:
            item.addItem(
                pg.InfiniteLine(pr, angle=0, pen=self._pen(RESPONSE_COLOURS["PR"], 1, True))
            )
            self._label(
                xs[-1] - 0.45 * ((xs[-1] - xs[0]) or 1.0),
                pr,
                i18n.fmt(
                    translate("_Chart", "{response} \u2264 {mm:.1f} mm (-30%)"),
                    response=response_text("PR"),
                    mm=float(pr),
                ),
                RESPONSE_COLOURS["PR"],
                (0, 0),
            )
        # PD threshold step: each follow-up's threshold from the previous scan to this one
        sx: list[float] = []
        sy: list[float] = []
        for i, row in enumerate(rep.rows):
            t = _f(row.pd_threshold_mm)
            if t is None or i == 0:
                continue
            sx += [xs[i - 1], xs[i]]
            sy += [t, t]
        if sx:
            item.plot(sx, sy, pen=self._pen(RESPONSE_COLOURS["PD"], 1.4, True))
            self._label(
                sx[-2],
                sy[-1],
                i18n.fmt(
                    translate("_Chart", "{response} \u2265 {mm:.1f} mm"),
                    response=response_text("PD"),
                    mm=float(sy[-1]),
                ),
                RESPONSE_COLOURS["PD"],
                (0, 1),
            )
        pts = [
            (x, float(row.sum_mm), row)
            for x, row in zip(xs, rep.rows, strict=False)
            if row.sum_mm is not None
        ]
        line = theme.colour("chart_line")
        item.plot([p[0] for p in pts], [p[1] for p in pts], pen=self._pen(line, 1.6))
        brushes = [
            pg.mkBrush(line if row.is_baseline else response_colour(row.overall_response).name())
            for _x, _y, row in pts
        ]
        item.addItem(
            pg.ScatterPlotItem(
                [p[0] for p in pts],
                [p[1] for p in pts],
                size=10,
                brush=brushes,
                pen=pg.mkPen("#202020"),
            )
        )
        for x, y, row in pts:
            self._label(x, y, i18n.localise_number_text(f"{y:g}"), theme.colour("chart_fg"), (0, 1))
            when = self._when(row)
            resp = "" if row.overall_response is None else response_text(row.overall_response)
            text = i18n.fmt(
                translate("_Chart", "{label}{when}: sum {mm:.1f} mm"),
                label=row.label,
                when=f" ({when})" if when else "",
                mm=float(y),
            )
            if resp and not row.is_baseline:
                text += f", {resp}"
            self.points.append((x, y, text))
        n = self.nadir_index()
        if n is not None and rep.rows[n].sum_mm is not None:
            nx, ny = xs[n], float(rep.rows[n].sum_mm)  # type: ignore[arg-type]
            item.addItem(
                pg.ScatterPlotItem(
                    [nx], [ny], size=20, brush=None, pen=self._pen("#4f8ff0", 1.8), symbol="o"
                )
            )
            self._label(nx, ny, translate("_Chart", "nadir"), "#4f8ff0", (0.5, -0.4))

    def _when(self, row: object) -> str:
        date = getattr(row, "date", None)
        if date is None:
            return ""
        return self.date_label(date) if self.date_label else i18n.date_text(date)


class SpiderPlot(_Plot):
    """Percent change of each target from its baseline diameter (pyqtgraph)."""

    title = SpiderChart.title
    y_label = SpiderChart.y_label

    def draw_data(self, xs: Sequence[float]) -> None:
        import pyqtgraph as pg

        from namecar_viewer.gui import theme

        rep = self.report
        assert rep is not None
        item = self.item
        vals = [float(v) for t in rep.targets for v in t.pct_from_baseline if v is not None]
        lo, hi = min([-40.0, *vals]) - 5, max([30.0, *vals]) + 5
        # room above the data for the legend's row
        item.setYRange(lo, hi + 0.22 * (hi - lo), padding=0)
        for level, colour, text in (
            (0.0, theme.colour("muted"), ""),
            (-30.0, RESPONSE_COLOURS["PR"], "-30%"),
            (20.0, RESPONSE_COLOURS["PD"], "+20%"),
        ):
            item.addItem(pg.InfiniteLine(level, angle=0, pen=self._pen(colour, 1, bool(text))))
            if text:
                self._label(xs[0], level, i18n.localise_number_text(text), colour, (0, 1))
        if item.legend is None:
            item.addLegend(offset=(4, 2), horSpacing=12)
        assert item.legend is not None
        item.legend.clear()
        item.legend.setLabelTextColor(theme.colour("chart_fg"))
        item.legend.setColumnCount(max(1, min(len(rep.targets), 4)))
        for k, t in enumerate(rep.targets):
            colour = TARGET_COLOURS[k % len(TARGET_COLOURS)]
            pts = [
                (x, float(v))
                for x, v in zip(xs, t.pct_from_baseline, strict=False)
                if v is not None
            ]
            name = t.label + (translate("_Chart", " (primary)") if t.is_primary_renal else "")
            item.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                pen=self._pen(colour, 1.8, t.is_primary_renal),
                symbol="o",
                symbolSize=6,
                symbolBrush=colour,
                symbolPen=colour,
                name=name,
            )
            labels = [r.label for r in rep.rows]
            for (x, v), i in zip(pts, [xs.index(p[0]) for p in pts], strict=False):
                self.points.append(
                    (
                        x,
                        v,
                        i18n.fmt(
                            translate("_Chart", "{lesion} at {label}: {pct:+.1f}% from baseline"),
                            lesion=t.label,
                            label=labels[i],
                            pct=float(v),
                        ),
                    )
                )


__all__ = [
    "RESPONSE_COLOURS",
    "SpiderChart",
    "SpiderPlot",
    "SumChart",
    "SumPlot",
    "nadir_index",
    "nice_ticks",
    "response_colour",
]
