"""PDF and other Qt-painted reports."""
