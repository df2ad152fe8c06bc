"""PACS connectivity without Qt: nodes, C-ECHO/C-FIND/C-GET/C-MOVE/C-STORE (pynetdicom) and
QIDO-RS/WADO-RS/STOW-RS (dicomweb-client), retrieve with resume into a local store, send."""

from namecar_viewer.pacs.dimse import CancelToken, InstanceResult, StoreReceiver, echo, find
from namecar_viewer.pacs.errors import NodeConfigError, PacsError, TransferCancelled
from namecar_viewer.pacs.local_store import LocalStore, default_import_hook
from namecar_viewer.pacs.nodes import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    NodeSettings,
    TlsSettings,
    WebAuth,
)
from namecar_viewer.pacs.query import SeriesRecord, StudyQuery, StudyRecord
from namecar_viewer.pacs.retrieve import (
    Method,
    Retriever,
    RetrieveReport,
    SeriesProgress,
    SeriesStatus,
    list_instances,
    list_series,
)
from namecar_viewer.pacs.search import find_studies, test_connection
from namecar_viewer.pacs.send import send

__all__ = [
    "CancelToken",
    "DicomWebNode",
    "DimseNode",
    "InstanceResult",
    "LocalAe",
    "LocalStore",
    "Method",
    "NodeConfigError",
    "NodeSettings",
    "PacsError",
    "RetrieveReport",
    "Retriever",
    "SeriesProgress",
    "SeriesRecord",
    "SeriesStatus",
    "StoreReceiver",
    "StudyQuery",
    "StudyRecord",
    "TlsSettings",
    "TransferCancelled",
    "WebAuth",
    "default_import_hook",
    "echo",
    "find",
    "find_studies",
    "list_instances",
    "list_series",
    "send",
    "test_connection",
]
