"""NAMECAR Viewer: the imaging review workstation of the NAMECAR trial (NCT06882486)."""

__version__ = "0.1.0"
