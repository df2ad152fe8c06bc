"""Messages of the application layer, written in English and shown translated by the GUI.

The application layer never imports Qt, yet some of its texts reach the reader (the lesion
chooser's options, the reading-order warnings, undo texts...).  They are marked with
:func:`QT_TRANSLATE_NOOP`, a name ``pyside6-lupdate`` recognises, so the English template goes
into the translation catalogue under its context::

    QT_TRANSLATE_NOOP("reading_order", "{labels} not read").format(labels="fu03m")

The result is an ordinary ``str`` holding the English text (the command line, logs, exports and
tests see exactly what they saw before) that also remembers its context, its template and the
values it was formatted with, so ``gui/i18n.app_text`` can look the template up and format it
again in the reader's language.  Joining such texts with ``+`` or ``join`` gives a plain string:
mark the whole sentence instead.  Copies and pickles are plain strings too.
"""

from __future__ import annotations

from typing import Any


class Source(str):
    """An English template marked for translation, with its context."""

    context: str

    def __new__(cls, context: str, text: str) -> Source:
        obj = super().__new__(cls, text)
        obj.context = context
        return obj

    @property
    def source(self) -> str:
        return str.__str__(self)

    def format(self, *args: Any, **values: Any) -> Message:  # type: ignore[override]
        if args:
            raise TypeError("marked templates take named values only")
        return Message(self.context, self.source, values)

    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (str(self),))


class Message(str):
    """The English text of a template formatted with ``values`` (which it remembers)."""

    context: str
    source: str
    values: dict[str, Any]

    def __new__(cls, context: str, source: str, values: dict[str, Any]) -> Message:
        obj = super().__new__(cls, source.format(**values))
        obj.context = context
        obj.source = source
        obj.values = dict(values)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (str(self),))


def QT_TRANSLATE_NOOP(context: str, text: str) -> Source:
    """Mark ``text`` for translation in ``context``; it stays English here."""
    return Source(context, text)
