"""PACS dialogs: Query/Retrieve and the node settings (thin views over namecar_viewer.pacs)."""

from namecar_viewer.gui.pacs.nodes_dialog import NodesDialog
from namecar_viewer.gui.pacs.qr_dialog import QueryRetrieveDialog

__all__ = ["NodesDialog", "QueryRetrieveDialog"]
