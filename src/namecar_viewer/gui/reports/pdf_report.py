"""The PDF response report of a read, painted with QPdfWriter/QPainter (A4 portrait).

Page 1: subject (or its pseudonym when blinded), reader, the read's status (draft / signed),
timepoints, the lesion table, the response per timepoint with its reasons and the NAMECAR
eligibility decision.  Page 2: the sum-over-time chart and the spider plot
(:mod:`namecar_viewer.gui.panels.charts`).  Then the key images
(:mod:`namecar_viewer.core.reports.key_images`): a row per lesion with a key image (every target,
a new lesion or a marked non-target too), its measured slice at each timepoint around the
lesion, windowed, with the measurement drawn from its LPS points; a lesion of 10 mm or less is
enlarged with its calipers drawn beside it (never over it), the standard view as a thumbnail.
Last, the slices the reader flagged, whole.

What is written comes from :mod:`namecar_viewer.core.reports.layout` (Qt-free) and
:func:`namecar_viewer.app.response.evaluate_read`; this module only paints.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from namecar_viewer.core.reads.model import Read


def _ensure_app() -> Any:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["namecar-viewer"])


def write_pdf_report(
    read: Read,
    out: str | Path,
    *,
    headers: Any | None = None,
    blinding: Any | None = None,
    subject_id: str | None = None,
    status: Any | None = None,
) -> list[str]:
    """Write the report atomically to ``out``; returns warnings (missing images...).

    ``status``: the read's :class:`~namecar_viewer.core.reports.status.ReadStatus` (signatures
    per timepoint); None is a draft.

    ``headers``: a :class:`~namecar_viewer.core.reports.sources.HeaderIndex` (its ``path``
    finds the source slices) or None (no key images).  Raises ``ExportError`` when the file
    cannot be written.
    """
    from namecar_viewer.core.reports.atomic import atomic_write

    _ensure_app()
    warnings: list[str] = []

    def _write(tmp: Path) -> None:
        warnings.extend(_paint(read, tmp, headers, blinding, subject_id, status))

    atomic_write(out, _write)
    return warnings


def _paint(
    read: Read,
    path: Path,
    headers: Any | None,
    blinding: Any | None,
    subject_id: str | None,
    status: Any | None = None,
) -> list[str]:
    from PySide6.QtCore import QCoreApplication, QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    from namecar_viewer.app.response import evaluate_read
    from namecar_viewer.core.reports.layout import build_key_images, report_text

    translate = QCoreApplication.translate
    blinded = blinding is not None and getattr(blinding, "enabled", False)
    if subject_id is None and headers is not None:
        subject_id = _subject_from_headers(read, headers)
    text = report_text(read, subject_id, blinding, status)
    report = evaluate_read(read)
    file_of: Callable[[str], str | None] | None = getattr(headers, "path", None)
    keys = build_key_images(read, file_of)
    warnings = list(keys.warnings)

    writer = QPdfWriter(str(path))
    writer.setResolution(150)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(12, 12, 12, 12),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(
        translate("PdfReport", "NAMECAR response report {subject}").format(subject=_subject(text))
    )
    writer.setCreator("NAMECAR Viewer")
    p = QPainter(writer)
    try:
        return _pages(p, writer, read, text, report, keys, warnings, blinded)
    finally:
        if p.isActive():
            p.end()


def _pages(
    p: Any,
    writer: Any,
    read: Read,
    text: Any,
    report: Any,
    keys: Any,
    warnings: list[str],
    blinded: bool,
) -> list[str]:
    from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPen

    from namecar_viewer.core.reports.csv_export import blind_dates_in_text
    from namecar_viewer.core.reports.layout import ordered
    from namecar_viewer.core.reports.status import DRAFT
    from namecar_viewer.gui import i18n
    from namecar_viewer.gui.app_texts import (
        enum_text,
        lesion_role_text,
        response_text,
        timepoint_role_text,
    )
    from namecar_viewer.gui.i18n import app_text
    from namecar_viewer.gui.panels.charts import RESPONSE_COLOURS, SpiderChart, SumChart
    from namecar_viewer.gui.panels.lesion_table import cell_text
    from namecar_viewer.gui.panels.response_panel import best_text, first_pd_text, row_texts

    def said(s: str) -> str:
        """A text of the lower layers, blinded first (dates found in English), then
        translated."""
        return app_text(blind_dates_in_text(s, read) if blinded else s)

    translate = QCoreApplication.translate
    page = writer.pageLayout().paintRectPixels(150)
    W, H = float(page.width()), float(page.height())

    def font(size: float, bold: bool = False) -> QFont:
        f = QFont("DejaVu Sans")
        f.setPointSizeF(size)
        f.setBold(bold)
        return f

    y = 0.0
    n_signed = text.status.count("signed by ")
    short_status = (
        translate("PdfReport", "draft")
        if text.status == DRAFT
        else translate("PdfReport", "signed {n} of {total} timepoints").format(
            n=n_signed, total=len(text.timepoints)
        )
    )
    subject = _subject(text)

    def line(s: str, size: float = 9.0, bold: bool = False, colour: str = "#000000") -> None:
        nonlocal y
        p.setFont(font(size, bold))
        p.setPen(QColor(colour))
        r = p.boundingRect(QRectF(0, y, W, 1000), int(Qt.TextFlag.TextWordWrap), s)
        p.drawText(QRectF(0, y, W, r.height()), int(Qt.TextFlag.TextWordWrap), s)
        y += r.height() + 4

    def footer(n: int) -> None:
        p.setFont(font(7))
        p.setPen(QColor("#606060"))
        p.drawText(
            QRectF(0, H - 20, W, 20),
            int(Qt.AlignmentFlag.AlignRight),
            translate("PdfReport", "{subject} - {status} - page {n}").format(
                subject=subject, status=short_status, n=n
            ),
        )

    def table(
        header: list[str],
        rows: list[list[str]],
        widths: list[float],
        size: float = 7.5,
        colours: list[list[str | None]] | None = None,
    ) -> None:
        nonlocal y
        p.setFont(font(size, True))
        fm_h = p.fontMetrics().height() + 6
        # a header may take two lines ("New / lesions"): never cut, every column labelled
        wrap = int(Qt.TextFlag.TextWordWrap)
        head_h = max(
            [fm_h - 6]
            + [
                p.boundingRect(QRectF(0, 0, w - 6, 1000), wrap, h).height()
                for w, h in zip(widths, header, strict=False)
            ]
        )
        head_h += 6
        x = 0.0
        p.fillRect(QRectF(0, y, sum(widths), head_h), QColor("#e8e8e8"))
        p.setPen(QColor("#000000"))
        for w, h in zip(widths, header, strict=False):
            p.drawText(
                QRectF(x + 3, y + 3, w - 6, head_h - 6),
                int(Qt.AlignmentFlag.AlignVCenter) | wrap,
                h,
            )
            x += w
        y += head_h
        p.setFont(font(size))
        for ri, row in enumerate(rows):
            heights = [
                p.boundingRect(QRectF(0, 0, w - 6, 1000), int(Qt.TextFlag.TextWordWrap), c).height()
                for w, c in zip(widths, row, strict=False)
            ]
            rh = max([fm_h - 6, *heights]) + 6
            x = 0.0
            for ci, (w, cell) in enumerate(zip(widths, row, strict=False)):
                colour = colours[ri][ci] if colours else None
                if colour:
                    p.fillRect(QRectF(x, y, w, rh), QColor(colour).lighter(160))
                p.setPen(QColor("#000000"))
                p.drawText(QRectF(x + 3, y + 3, w - 6, rh - 6), int(Qt.TextFlag.TextWordWrap), cell)
                x += w
            p.setPen(QPen(QColor("#c8c8c8"), 1))
            p.drawLine(QPointF(0, y + rh), QPointF(sum(widths), y + rh))
            y += rh

    # --- page 1: identification, lesions, responses, eligibility ---------------------------
    line(translate("PdfReport", "NAMECAR response report - RECIST 1.1"), 15, True)
    line(
        translate("PdfReport", "Subject: {subject}    Reader: {reader}").format(
            subject=subject, reader=text.reader
        ),
        10,
    )
    draft = text.status == DRAFT
    line(
        translate("PdfReport", "Status: draft - not signed")
        if draft
        else translate("PdfReport", "Status: {status}").format(
            status="; ".join(app_text(part) for part in text.status.split("; "))
        ),
        10,
        True,
        # green only when every timepoint is signed; a draft (or partly signed) read is amber
        "#b06000" if draft or f": {DRAFT}" in text.status else "#1b7f3b",
    )
    tp_objs = ordered(read)
    tps = "   ".join(
        f"{lbl}: {app_text(when)} ({timepoint_role_text(tp.role)})"
        for (lbl, when, _role), tp in zip(text.timepoints, tp_objs, strict=False)
    )
    line(translate("PdfReport", "Timepoints - {timepoints}").format(timepoints=tps), 8.5)
    y += 6
    line(translate("PdfReport", "Lesions (long x short axis, mm; status)"), 11, True)
    n_tp = len(text.lesion_header) - 3
    fixed = [0.07 * W, 0.09 * W, 0.16 * W]
    rest = (W - sum(fixed)) / max(n_tp, 1)
    lesion_rows = []
    for les in read.lesions:
        flags = []
        if les.nodal:
            flags.append(translate("PdfReport", "node"))
        if les.is_primary_renal:
            flags.append(translate("PdfReport", "primary"))
        site = enum_text(les.site) + (f" {les.station}" if les.station else "")
        if flags:
            site += f" ({', '.join(flags)})"
        cells = [cell_text(read.assessment(les.uid, tp.uid)) or "-" for tp in tp_objs]
        lesion_rows.append([les.label, lesion_role_text(les.role), site, *cells])
    header = [
        translate("PdfReport", "Lesion"),
        translate("PdfReport", "Role"),
        translate("PdfReport", "Site"),
        *text.lesion_header[3:],
    ]
    table(header, lesion_rows, [*fixed, *([rest] * n_tp)])
    y += 10
    line(translate("PdfReport", "Response per timepoint (RECIST 1.1)"), 11, True)
    if report.errors:
        for e in report.errors:
            line(
                translate("PdfReport", "Not evaluable: {error}").format(error=said(e)),
                8.5,
                colour="#b00000",
            )
    rows, colours = [], []
    for r in report.rows:
        when = i18n.date_text(r.date) if (r.date and not blinded) else ""
        if blinded:
            when = app_text(next((w for lbl, w, _ in text.timepoints if lbl == r.label), ""))
        reasons = "; ".join(said(x) for x in r.reasons)
        cells_ = row_texts(r)
        rows.append(
            [
                f"{r.label}\n{when}",
                cells_["sum"],
                cells_["pct_baseline"],
                cells_["nadir"] or "-",
                cells_["pct_nadir"] or "-",
                "-" if r.target_response is None else response_text(r.target_response),
                "-" if r.non_target_response is None else response_text(r.non_target_response),
                enum_text(r.new_lesions),
                "-" if r.overall_response is None else response_text(r.overall_response),
                reasons,
            ]
        )
        oc = None if r.overall_response is None else RESPONSE_COLOURS.get(r.overall_response.value)
        colours.append([None] * 8 + [oc, None])
    response_header = [
        translate("PdfReport", "Timepoint"),
        translate("PdfReport", "Sum"),
        translate("PdfReport", "vs baseline"),
        translate("PdfReport", "Nadir"),
        translate("PdfReport", "vs nadir"),
        translate("PdfReport", "Target"),
        translate("PdfReport", "Non-target"),
        translate("PdfReport", "New lesions"),
        translate("PdfReport", "Overall"),
        translate("PdfReport", "Reasons"),
    ]
    table(
        response_header,
        rows,
        column_widths(p, font, response_header, rows, W, size=6.5, flexible=9),
        size=6.5,
        colours=colours,
    )
    y += 10
    line(
        translate("PdfReport", "NAMECAR eligibility (pre-treatment baseline vs inclusion)"),
        11,
        True,
    )
    line(
        said(report.eligibility.text),
        10,
        True,
        {"eligible": "#1b7f3b", "not eligible": "#b00000"}.get(
            report.eligibility.status.value, "#606060"
        ),
    )
    if report.rows:
        best = best_text(report)
        if report.best_overall_reason:
            best += f" ({said(report.best_overall_reason)})"
        line(best, 9)
        if blinded:
            line(said(report.first_pd_text), 9)
        else:
            line(first_pd_text(report), 9)
    footer(1)

    # --- page 2: charts --------------------------------------------------------------------
    writer.newPage()
    y = 0.0
    line(translate("PdfReport", "Response over time"), 13, True)
    chart_report = report
    if blinded:
        # The charts label their x axis with dates: blinded, they plot by timepoint order.
        chart_report = dataclasses.replace(
            report, rows=tuple(dataclasses.replace(r, date=None) for r in report.rows)
        )
    for cls in (SumChart, SpiderChart):
        chart = cls()
        chart.resize(760, 420)
        chart.set_report(chart_report)
        image = chart.grab().toImage()
        target = QRectF(0, y, W, W * 420 / 760)
        p.drawImage(target, image)
        y += target.height() + 20
        chart.deleteLater()
    footer(2)

    # --- key images ------------------------------------------------------------------------
    _key_image_pages(p, writer, text, keys, n_tp, font, footer, W, H)
    return warnings


def _key_image_pages(
    p: Any,
    writer: Any,
    text: Any,
    keys: Any,
    n_tp: int,
    font: Callable[..., Any],
    footer: Callable[[int], None],
    W: float,
    H: float,
) -> None:
    """Pages 3...: a row per lesion (its key image at each timepoint), then the flagged images.

    A lesion of 10 mm or less is drawn enlarged (:func:`~namecar_viewer.core.reports.layout.
    key_image`) with its calipers beside it as dimension lines, never over it, a thumbnail of
    the standard view in the corner; larger lesions have their calipers drawn over them.
    """
    from PySide6.QtCore import QCoreApplication, QRectF, Qt
    from PySide6.QtGui import QColor

    from namecar_viewer.core.reports.layout import KeyImage
    from namecar_viewer.gui.app_texts import enum_text, lesion_role_text

    translate = QCoreApplication.translate
    n_cols = max(n_tp, 1)
    cell = min(W / n_cols, 0.19 * H)
    per_page = max(1, int((H - 80) // (cell + 46)))
    page_no = 3

    def title(s: str) -> float:
        """The page's title at the top; returns where the content starts."""
        p.setFont(font(13, True))
        p.setPen(QColor("#000000"))
        r = p.boundingRect(QRectF(0, 0, W, 1000), int(Qt.TextFlag.TextWordWrap), s)
        p.drawText(QRectF(0, 0, W, r.height()), int(Qt.TextFlag.TextWordWrap), s)
        return float(r.height()) + 8

    def caption_at(rect: Any, caption: str) -> None:
        p.setPen(QColor("#000000"))
        p.setFont(font(7))
        p.drawText(
            QRectF(rect.left(), rect.bottom() + 2, rect.width(), 16),
            int(Qt.AlignmentFlag.AlignHCenter),
            caption,
        )

    rows = keys.rows
    for start in range(0, len(rows), per_page):
        writer.newPage()
        y = title(
            translate(
                "PdfReport",
                "Key images: each lesion at each timepoint (10 mm or less: enlarged, calipers "
                "beside it)",
            )
        )
        for row in rows[start : start + per_page]:
            p.setFont(font(10, True))
            p.setPen(QColor("#000000"))
            p.drawText(
                QRectF(0, y, W, 18),
                int(Qt.AlignmentFlag.AlignVCenter),
                f"{row.lesion_label} - {lesion_role_text(row.role)}",
            )
            y += 20
            for ci, item in enumerate(row.cells[:n_cols]):
                rect = QRectF(ci * (W / n_cols) + 2, y, cell - 4, cell - 4)
                if isinstance(item, KeyImage):
                    _draw_key_image(p, rect, item, font)
                    caption = f"{item.timepoint_label}: " + _number_text(
                        item.caption.removeprefix(row.lesion_label).strip()
                    )
                else:
                    p.fillRect(rect, QColor("#000000"))
                    reason = _gap_text(item.gap)
                    if item.status is not None:
                        reason += f"\n({enum_text(item.status)})"
                    p.setPen(QColor("#d0d0d0"))
                    p.setFont(font(7))
                    p.drawText(
                        rect, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), reason
                    )
                    caption = text.timepoints[ci][0] if ci < len(text.timepoints) else ""
                caption_at(rect, caption)
            y += cell + 26
        footer(page_no)
        page_no += 1

    flagged = keys.flagged
    if not flagged:
        return
    per_row = 2  # the whole slice: two a row, larger than a lesion's crop
    big = min(W / per_row, 0.4 * H)
    rows_per_page = max(1, int((H - 80) // (big + 24)))
    per_flag_page = per_row * rows_per_page
    for start in range(0, len(flagged), per_flag_page):
        writer.newPage()
        y = title(translate("PdfReport", "Key images flagged by the reader"))
        for n, f in enumerate(flagged[start : start + per_flag_page]):
            r, ci = divmod(n, per_row)
            rect = QRectF(ci * (W / per_row) + 2, y + r * (big + 24), big - 4, big - 4)
            if isinstance(f.image, KeyImage):
                _draw_key_image(p, rect, f.image, font)
            else:
                p.fillRect(rect, QColor("#000000"))
                p.setPen(QColor("#d0d0d0"))
                p.setFont(font(7))
                p.drawText(
                    rect,
                    int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                    _gap_text(f.image.gap),
                )
            instance = f.instance
            if instance.startswith("image "):
                instance = translate("PdfReport", "image {number}").format(
                    number=instance.removeprefix("image ").replace(", frame ", ", ")
                )
            caption_at(rect, f"{f.timepoint_label}: {instance}" if f.timepoint_label else instance)
        footer(page_no)
        page_no += 1


def _number_text(s: str) -> str:
    from namecar_viewer.gui import i18n

    return i18n.localise_number_text(s)


def _gap_text(gap: Any) -> str:
    """Why a key-image cell is empty, in the reader's language."""
    from PySide6.QtCore import QCoreApplication

    from namecar_viewer.core.reports.layout import KeyImageGap

    translate = QCoreApplication.translate
    return {
        KeyImageGap.NOT_MEASURED: translate("PdfReport", "not measured"),
        KeyImageGap.IMAGE_UNKNOWN: translate("PdfReport", "source image unknown"),
        KeyImageGap.IMAGE_NOT_FOUND: translate("PdfReport", "source image not found"),
        KeyImageGap.UNREADABLE: translate("PdfReport", "image unreadable"),
        KeyImageGap.OFF_PLANE: translate("PdfReport", "drawn off the image plane"),
    }.get(gap, str(getattr(gap, "value", gap)))


_LONG_COLOUR = "#ffd000"
_SHORT_COLOUR = "#00d0ff"


def _draw_key_image(p: Any, rect: Any, item: Any, font: Callable[..., Any]) -> None:
    """One key image in ``rect``: the crop, the calipers over it (or beside it, enlarged, with
    the standard view's thumbnail, the zoom and a scale bar)."""
    from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QPen

    from namecar_viewer.gui import i18n

    translate = QCoreApplication.translate

    def qimage(arr: Any) -> Any:
        return QImage(
            arr.data, arr.shape[1], arr.shape[0], arr.strides[0], QImage.Format.Format_Grayscale8
        ).copy()

    p.fillRect(rect, QColor("#000000"))
    p.drawImage(rect, qimage(item.pixels))
    s = rect.width() / item.pixels.shape[1]

    def at(pt: Any) -> Any:
        return QPointF(rect.left() + pt[0] * s, rect.top() + pt[1] * s)

    colours = (_LONG_COLOUR, _SHORT_COLOUR)
    for li, (a, b) in enumerate(item.lines):
        p.setPen(QPen(QColor(colours[li % 2]), 2))
        p.drawLine(at(a), at(b))
    if not item.enlarged:
        return
    p.save()
    p.setClipRect(rect)
    for li, segs in enumerate(item.beside):
        pen = QPen(QColor(colours[li % 2]), 1.5)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(pen)
        for a, b in segs:
            p.drawLine(at(a), at(b))
    p.setFont(font(6, True))
    for li, (anchor, value) in enumerate(item.labels):
        c = at(anchor)
        box = QRectF(c.x() - 30, c.y() - 8, 60, 16)
        p.setPen(QColor(colours[li % 2]))
        p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), i18n.localise_number_text(value))
    # the standard view, bottom left, with the enlarged part framed
    if item.context is not None:
        side = rect.width() * 0.3
        inset = QRectF(rect.left() + 2, rect.bottom() - side - 2, side, side)
        p.drawImage(inset, qimage(item.context))
        p.setPen(QPen(QColor("#ffffff"), 1))
        p.setBrush(QBrush())
        p.drawRect(inset)
        if item.context_box is not None:
            k = side / item.context.shape[1]
            x0, y0, x1, y1 = item.context_box
            p.drawRect(
                QRectF(inset.left() + x0 * k, inset.top() + y0 * k, (x1 - x0) * k, (y1 - y0) * k)
            )
    # how much enlarged, top left
    p.setFont(font(6))
    badge = translate("PdfReport", "enlarged x{zoom}").format(
        zoom=i18n.localise_number_text(f"{item.zoom:.1f}")
    )
    box = p.boundingRect(QRectF(0, 0, rect.width(), 20), 0, badge)
    back = QRectF(rect.left() + 2, rect.top() + 2, box.width() + 6, box.height() + 2)
    p.fillRect(back, QColor(0, 0, 0, 170))
    p.setPen(QColor("#ffffff"))
    p.drawText(back, int(Qt.AlignmentFlag.AlignCenter), badge)
    # scale bar, bottom right
    if item.scale_bar_mm > 0:
        length = item.scale_bar_mm / item.mm_per_pixel * s
        x1 = rect.right() - 6
        yb = rect.bottom() - 8
        p.setPen(QPen(QColor("#ffffff"), 2))
        p.drawLine(QPointF(x1 - length, yb), QPointF(x1, yb))
        p.drawText(
            QRectF(x1 - length - 20, yb - 16, length + 20, 14),
            int(Qt.AlignmentFlag.AlignRight),
            i18n.localise_number_text(f"{item.scale_bar_mm:g} mm"),
        )
    p.restore()


def _subject(text: Any) -> str:
    """The subject as written in the report (a blinded pseudonym in the reader's language)."""
    from namecar_viewer.gui.i18n import app_text

    return app_text(text.subject)


def _subject_from_headers(read: Read, headers: Any) -> str | None:
    for lm in read.measurements:
        for ref in lm.measurement.images:
            h = headers(ref.sop_instance_uid)
            if h is not None and str(getattr(h, "ClinicalTrialSubjectID", "")):
                return str(h.ClinicalTrialSubjectID)
    return None


def column_widths(
    p: Any,
    font: Callable[..., Any],
    header: list[str],
    rows: list[list[str]],
    total: float,
    size: float,
    flexible: int,
    min_flexible: float = 0.40,
) -> list[float]:
    """Widths of a PDF table's columns: each as wide as its widest line (header in bold,
    cells in the regular font), the ``flexible`` column (the reasons) taking what is left.
    When that leaves it less than ``min_flexible`` of the page, a column narrows to its widest
    word: a word, a response ("unequivocal", "Non-CR/Non-PD") or a header word is never cut."""
    from PySide6.QtGui import QFontMetricsF

    pad = 7.0
    bold = QFontMetricsF(font(size, True), p.device())
    regular = QFontMetricsF(font(size), p.device())

    def widest(texts: list[str], fm: Any, unit: str) -> float:
        parts: list[str] = []
        for t in texts:
            for ln in t.split("\n"):
                # words break at plain spaces only: "-50,0\u00a0%" stays one word
                parts += ln.split(" ") if unit == "word" else [ln]
        return max((fm.horizontalAdvance(x) for x in parts), default=0.0)

    n = len(header)
    lines = [0.0] * n
    words = [0.0] * n
    for c in range(n):
        cells = [r[c] for r in rows if c < len(r)]
        lines[c] = max(widest([header[c]], bold, "word"), widest(cells, regular, "line")) + pad
        words[c] = max(widest([header[c]], bold, "word"), widest(cells, regular, "word")) + pad
    fixed = [c for c in range(n) if c != flexible]
    widths = list(lines)
    # narrow the columns that gain most by wrapping at words first, until the flexible
    # column has its share
    for c in sorted(fixed, key=lambda c: lines[c] - words[c], reverse=True):
        if total - sum(widths[k] for k in fixed) >= min_flexible * total:
            break
        widths[c] = words[c]
    widths[flexible] = max(total - sum(widths[c] for c in fixed), words[flexible])
    return widths
