"""One entry for study search and "test connection" whatever the node's protocol."""

from __future__ import annotations

from namecar_viewer.pacs import dimse, web
from namecar_viewer.pacs.nodes import DicomWebNode, DimseNode, LocalAe
from namecar_viewer.pacs.query import StudyQuery, StudyRecord


def find_studies(
    node: DimseNode | DicomWebNode, local: LocalAe, query: StudyQuery
) -> list[StudyRecord]:
    """C-FIND (Study Root, STUDY level) or QIDO-RS study search."""
    if isinstance(node, DicomWebNode):
        return web.find_studies(node, query)
    return [StudyRecord.from_dataset(d) for d in dimse.find(node, local, query.identifier())]


def test_connection(node: DimseNode | DicomWebNode, local: LocalAe) -> str:
    """C-ECHO or a one-result QIDO-RS search; returns a sentence for the user, raises PacsError."""
    if isinstance(node, DicomWebNode):
        n = web.test_connection(node)
        return (
            f"{node.name}: QIDO-RS answered at {node.base_url} ({n} result for a one-study probe)"
        )
    ms = dimse.echo(node, local)
    return f"{node.name}: C-ECHO to {node.address} succeeded in {ms:.0f} ms"


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
