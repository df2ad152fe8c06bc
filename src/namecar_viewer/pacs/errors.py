"""Errors of PACS connectivity: each message names the node, the address and what went wrong."""

from __future__ import annotations


class PacsError(Exception):
    """A query, retrieve or send failed; the message is meant for the user as is."""


class NodeConfigError(PacsError):
    """A node's settings are invalid (AE title, host, port, URL, authentication)."""


class TransferCancelled(PacsError):
    """The user cancelled a retrieve or send."""
