"""Node settings: remote DIMSE and DICOMweb nodes, our AE title and C-STORE receiver port."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.pacs.worker import Task, start
from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    NodeConfigError,
    NodeSettings,
    TlsSettings,
    WebAuth,
    test_connection,
)

DIMSE_COLS = [
    QT_TRANSLATE_NOOP("NodesDialog", "Name"),
    QT_TRANSLATE_NOOP("NodesDialog", "AE title"),
    QT_TRANSLATE_NOOP("NodesDialog", "Host"),
    QT_TRANSLATE_NOOP("NodesDialog", "Port"),
    "TLS",
]
WEB_COLS = [
    QT_TRANSLATE_NOOP("NodesDialog", "Name"),
    QT_TRANSLATE_NOOP("NodesDialog", "Base URL"),
    QT_TRANSLATE_NOOP("NodesDialog", "Auth"),
    QT_TRANSLATE_NOOP("NodesDialog", "User"),
    QT_TRANSLATE_NOOP("NodesDialog", "Password / token"),
]
# pacs.nodes.WebAuth values, as shown
_AUTH = (
    QT_TRANSLATE_NOOP("NodesDialog", "none"),
    QT_TRANSLATE_NOOP("NodesDialog", "basic"),
    QT_TRANSLATE_NOOP("NodesDialog", "bearer"),
)


class NodesDialog(QDialog):
    """Edit nodes in tables; Test connection runs C-ECHO or a QIDO probe in the background."""

    def __init__(
        self, settings: NodeSettings, path: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("PACS nodes"))
        self.settings = settings
        self.path = path
        self._tasks: list[Task] = []
        lay = QVBoxLayout(self)

        own = QGroupBox(self.tr("This workstation"))
        f = QFormLayout(own)
        self.our_aet = QLineEdit(settings.local.ae_title)
        self.receiver_port = QSpinBox()
        self.receiver_port.setRange(1, 65535)
        self.receiver_port.setValue(settings.local.receiver_port)
        f.addRow(self.tr("Our AE title"), self.our_aet)
        f.addRow(self.tr("C-STORE receiver port (C-MOVE destination)"), self.receiver_port)
        lay.addWidget(own)

        self.dimse = QTableWidget(0, len(DIMSE_COLS))
        self.dimse.setHorizontalHeaderLabels([self.tr(c) for c in DIMSE_COLS])
        for n in settings.dimse:
            self._add_dimse_row(n)
        self.web = QTableWidget(0, len(WEB_COLS))
        self.web.setHorizontalHeaderLabels([self.tr(c) for c in WEB_COLS])
        for w in settings.dicomweb:
            self._add_web_row(w)
        for title, table, add in (
            (
                self.tr("DIMSE nodes (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE)"),
                self.dimse,
                self._add_dimse_row,
            ),
            (
                self.tr("DICOMweb nodes (QIDO-RS, WADO-RS, STOW-RS)"),
                self.web,
                self._add_web_row,
            ),
        ):
            box = QGroupBox(title)
            b = QVBoxLayout(box)
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            stretch = 1 if table is self.web else 2
            table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
            table.setColumnWidth(0, 130)
            table.setColumnWidth(1 if table is self.dimse else 4, 140)
            b.addWidget(table)
            row = QHBoxLayout()
            add_btn = QPushButton(self.tr("Add"))
            add_btn.clicked.connect(lambda _=False, add=add: add(None))
            rm = QPushButton(self.tr("Remove"))
            rm.clicked.connect(lambda _=False, t=table: t.removeRow(t.currentRow()))
            test = QPushButton(self.tr("Test connection"))
            test.clicked.connect(lambda _=False, t=table: self.test_selected(t))
            for btn in (add_btn, rm, test):
                row.addWidget(btn)
            row.addStretch(1)
            b.addLayout(row)
            lay.addWidget(box)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(820, 560)

    def _add_dimse_row(self, n: DimseNode | None) -> None:
        r = self.dimse.rowCount()
        self.dimse.insertRow(r)
        vals = (
            [n.name, n.ae_title, n.host, str(n.port)]
            if n
            else [self.tr("new"), "", "127.0.0.1", "104"]
        )
        for c, v in enumerate(vals):
            self.dimse.setItem(r, c, QTableWidgetItem(v))
        tls = QComboBox()
        tls.addItem(self.tr("off"), False)
        tls.addItem(self.tr("on"), True)
        tls.setCurrentIndex(1 if n and n.tls.enabled else 0)
        self.dimse.setCellWidget(r, 4, tls)

    def _add_web_row(self, w: DicomWebNode | None) -> None:
        r = self.web.rowCount()
        self.web.insertRow(r)
        vals = [w.name, w.base_url] if w else [self.tr("new"), "http://127.0.0.1:8042/dicom-web"]
        for c, v in enumerate(vals):
            self.web.setItem(r, c, QTableWidgetItem(v))
        auth = QComboBox()
        for a in WebAuth:
            auth.addItem(self.tr(a.value), a)
        auth.setCurrentIndex(max(0, auth.findData(w.auth if w else WebAuth("none"))))
        self.web.setCellWidget(r, 2, auth)
        self.web.setItem(r, 3, QTableWidgetItem(w.username if w else ""))
        secret = QLineEdit((w.token or w.password) if w else "")
        secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.web.setCellWidget(r, 4, secret)

    def _text(self, t: QTableWidget, r: int, c: int) -> str:
        it = t.item(r, c)
        return it.text().strip() if it is not None else ""

    def collect(self) -> NodeSettings:
        """The settings as edited; raises NodeConfigError naming the bad field."""
        s = NodeSettings()
        s.local.ae_title = self.our_aet.text()
        s.local.receiver_port = self.receiver_port.value()
        for r in range(self.dimse.rowCount()):
            port_text = self._text(self.dimse, r, 3)
            if not port_text.isdigit():
                raise NodeConfigError(
                    self.tr("DIMSE row {row}: port {port} is not a number").format(
                        row=r + 1, port=repr(port_text)
                    )
                )
            tls = self.dimse.cellWidget(r, 4)
            s.dimse.append(
                DimseNode(
                    self._text(self.dimse, r, 0),
                    self._text(self.dimse, r, 1),
                    self._text(self.dimse, r, 2),
                    int(port_text),
                    TlsSettings(enabled=isinstance(tls, QComboBox) and bool(tls.currentData())),
                )
            )
        for r in range(self.web.rowCount()):
            auth_w = self.web.cellWidget(r, 2)
            data = auth_w.currentData() if isinstance(auth_w, QComboBox) else None
            auth = data if isinstance(data, WebAuth) else WebAuth("none")
            secret_w = self.web.cellWidget(r, 4)
            secret = secret_w.text() if isinstance(secret_w, QLineEdit) else ""
            s.dicomweb.append(
                DicomWebNode(
                    self._text(self.web, r, 0),
                    self._text(self.web, r, 1),
                    auth,
                    self._text(self.web, r, 3),
                    secret if auth is WebAuth.BASIC else "",
                    secret if auth is WebAuth.BEARER else "",
                )
            )
        return s.validate()

    def test_selected(self, table: QTableWidget) -> None:
        try:
            s = self.collect()
        except NodeConfigError as exc:
            self.status.setText(
                self.tr("Invalid settings: {problem}").format(problem=error_text(exc))
            )
            return
        r = max(table.currentRow(), 0)
        nodes = s.dimse if table is self.dimse else s.dicomweb
        if r >= len(nodes):
            self.status.setText(self.tr("Add a node first."))
            return
        node = nodes[r]
        self.status.setText(self.tr("Testing {node}...").format(node=node.name))
        task = Task(lambda _p: test_connection(node, s.local))
        task.signals.done.connect(
            lambda msg: self.status.setText(self.tr("OK: {message}").format(message=app_text(msg)))
        )
        task.signals.failed.connect(
            lambda msg: self.status.setText(
                self.tr("Failed: {message}").format(message=app_text(msg))
            )
        )
        self._tasks.append(task)
        start(task)

    def save(self) -> None:
        try:
            s = self.collect()
            s.save(self.path)
        except (NodeConfigError, OSError) as exc:
            QMessageBox.warning(
                self,
                self.tr("PACS nodes"),
                self.tr("Not saved: {problem}").format(problem=error_text(exc)),
            )
            return
        self.settings = s
        self.accept()
