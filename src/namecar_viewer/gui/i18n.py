"""The workstation in the reader's language: French or English.

Every visible string of the GUI goes through Qt's translation system (``self.tr`` in QObject
subclasses, ``QCoreApplication.translate(context, text)`` elsewhere, ``QT_TRANSLATE_NOOP`` for
tables); ``resources/i18n/namecar_fr.ts`` holds the French, compiled to ``namecar_fr.qm`` by
``pyside6-lrelease`` (``python -m namecar_viewer.gui.i18n_tools update`` regenerates both; a test
checks the committed ``.qm`` is the compilation of the ``.ts`` and that the ``.ts`` has every
string of the sources, translated).

The language is, first found: ``$NAMECAR_LANG`` (``en`` or ``fr``), the choice of Help >
Language (QSettings, ``ui/language``), the system's (``QLocale.system()``, i.e. ``LANG``);
anything but French gives English.  It is applied when the application starts (:func:`install`,
called by ``run_gui`` before the window is built): a choice made in the menu takes effect at the
next start, as rebuilding every open window in place is not worth its risk for a setting chosen
once.

Numbers and dates shown to the reader follow the language: a decimal comma and ``15/01/2025`` in
French, a decimal point and ISO ``2025-01-15`` in English (unambiguous for readers of any
country, as the workstation always wrote them).  No group separator in either (``1234,5``), so
values stay easy to read back.  Exports (CSV, JSON, DICOM SR) never use any of this.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QDate,
    QLibraryInfo,
    QLocale,
    QSettings,
    QTranslator,
)

LANGUAGE_ENV = "NAMECAR_LANG"
SETTINGS_ENV = "NAMECAR_SETTINGS"
SETTINGS_KEY = "ui/language"
# language code -> its name written in that language (the menu shows each in its own)
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
DEFAULT = "en"
CATALOGUE = "namecar"  # namecar_fr.qm

_language = DEFAULT
_translators: list[QTranslator] = []


# --- where things are ------------------------------------------------------------------------
def translation_dirs() -> list[Path]:
    """Folders that may hold ``namecar_<lang>.qm``: ``resources/i18n`` where
    :mod:`namecar_viewer.resources` finds the resources (the package's copy in a wheel or
    bundle, else the source checkout's, for ``pip install -e .``)."""
    from namecar_viewer import resources

    try:
        return [resources.resources_dir() / resources.I18N]
    except FileNotFoundError:
        return []


def catalogue_path(lang: str) -> Path | None:
    for d in translation_dirs():
        p = d / f"{CATALOGUE}_{lang}.qm"
        if p.is_file():
            return p
    return None


def settings() -> QSettings:
    """The workstation's own settings (``$NAMECAR_SETTINGS``, else the user's config folder)."""
    path = os.environ.get(SETTINGS_ENV)
    if not path:
        import platformdirs

        folder = platformdirs.user_config_dir("namecar-viewer", appauthor=False)
        path = str(Path(folder) / "settings.ini")
    return QSettings(path, QSettings.Format.IniFormat)


# Qt's own French catalogue (qtbase_fr) lags behind some strings of the Qt it ships with (the
# file dialog of Review > Export read shows them); the workstation's catalogue, searched first,
# supplies them.
_QT_SUPPLEMENT = (
    QT_TRANSLATE_NOOP("QFileDialog", "Files of &type:"),
    QT_TRANSLATE_NOOP("QFileDialog", "&Look in:"),
)


def _qt_supplement_with_comments() -> tuple[str, ...]:  # pragma: no cover - lupdate reads it
    return (
        QCoreApplication.translate("QAbstractFileIconProvider", "Folder", "All other platforms"),
        QCoreApplication.translate("QAbstractFileIconProvider", "File", "All other platforms"),
    )


# --- which language --------------------------------------------------------------------------
def _supported(code: str | None) -> str | None:
    c = (code or "").strip().lower().replace("-", "_").split("_")[0]
    return c if c in LANGUAGES else None


def system_language() -> str:
    """The system's language (``LANG``, ``LC_ALL``... through ``QLocale.system()``)."""
    loc = QLocale.system()
    return "fr" if loc.language() is QLocale.Language.French else DEFAULT


def saved_language() -> str:
    """The language chosen in Help > Language, ``""`` for the system's."""
    value = settings().value(SETTINGS_KEY, "")
    return _supported(str(value or "")) or ""


def save_language(lang: str) -> None:
    """Remember the language for the next start (``""``: follow the system)."""
    s = settings()
    s.setValue(SETTINGS_KEY, _supported(lang) or "")
    s.sync()


def chosen_language() -> str:
    """``$NAMECAR_LANG``, else the saved choice, else the system's language."""
    return _supported(os.environ.get(LANGUAGE_ENV)) or saved_language() or system_language()


def language() -> str:
    """The language the GUI is shown in now (``en`` until :func:`install` says otherwise)."""
    return _language


_LOCALE_NAMES = {"fr": "fr_FR", "en": "en_GB"}
_locales: dict[str, QLocale] = {}


def ui_locale(lang: str | None = None) -> QLocale:
    """The locale numbers and dates are written with in ``lang`` (no group separators)."""
    lang = lang or _language
    loc = _locales.get(lang)
    if loc is None:
        loc = QLocale(_LOCALE_NAMES.get(lang, "en_GB"))
        loc.setNumberOptions(QLocale.NumberOption.OmitGroupSeparator)
        _locales[lang] = loc
    return loc


def install(app: QCoreApplication | None = None, lang: str | None = None) -> str:
    """Show the GUI in ``lang`` (default :func:`chosen_language`): the workstation's catalogue
    and Qt's own (``qtbase_fr``: standard buttons, file dialogs, undo texts) on ``app``, and the
    locale of numbers and dates.  Returns the language in use (English when a catalogue is
    missing).  Call before the windows are built."""
    global _language
    app = app or QCoreApplication.instance()
    want = _supported(lang) or chosen_language()
    if app is not None:
        for t in _translators:
            app.removeTranslator(t)
    _translators.clear()
    _language = DEFAULT
    if want != DEFAULT and app is not None:
        own = catalogue_path(want)
        if own is None:
            return _finish(DEFAULT)
        t = QTranslator(app)
        if not t.load(str(own)):
            return _finish(DEFAULT)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        qt = QTranslator(app)
        if qt.load(f"qtbase_{want}", qt_dir):
            app.installTranslator(qt)
            _translators.append(qt)
        app.installTranslator(t)
        _translators.append(t)
        _language = want
    return _finish(_language)


def _finish(lang: str) -> str:
    global _language
    _language = lang
    QLocale.setDefault(ui_locale(lang))
    return lang


# --- numbers and dates -----------------------------------------------------------------------
def decimal_point() -> str:
    return ui_locale().decimalPoint()


def num(value: float | int, decimals: int = 1, signed: bool = False) -> str:
    """``12,5`` in French, ``12.5`` in English; ``signed``: ``+22,2`` / ``-41,1``."""
    text = f"{float(value):{'+' if signed else ''}.{decimals}f}"
    return text.replace(".", decimal_point())


def localise_number_text(text: str) -> str:
    """A text with numbers written by Python (``"12.5 mm"``) with the locale's decimal mark.

    Only free-standing decimals change: the dots of UIDs (``1.2.840.10008``), file names and
    versions are kept, and so are the values of a bracketed list (``[1.0, 0.0, 0.0]``, a header
    value as stored), where a decimal comma would read as a separator, and the numbers of a
    section cited (``sec. 4.6``).
    """
    point = decimal_point()
    if point == ".":
        return text
    pieces = _KEPT_AS_WRITTEN.split(text)
    lists = _KEPT_AS_WRITTEN.findall(text)
    out = [_DECIMAL.sub(rf"\1{point}\2", pieces[0])]
    for listed, piece in zip(lists, pieces[1:], strict=True):
        out += [listed, _DECIMAL.sub(rf"\1{point}\2", piece)]
    return re.sub(r"(?<=\d)%", "\u00a0%", "".join(out))  # French writes 22,2 %


# a decimal not inside a UID, a path, a name or a version: no word character, dot, slash or
# backslash just before it, no word character just after, nor a dot that goes on (a sentence's
# final dot does not)
_DECIMAL = re.compile(r"(?<![\w./\\])(\d+)\.(\d+)(?!\w|\.\w)")
_KEPT_AS_WRITTEN = re.compile(
    r"\[[^\[\]]*\]|\b(?:sect?\.|sections?|§)\s*\d+(?:\.\d+)*(?:,\s*\d+(?:\.\d+)*)*"
)


class Num(float):
    """A number formatted by a translated template (``{x:.1f}``) with the locale's decimal mark."""

    def __format__(self, spec: str) -> str:
        return format(float(self), spec).replace(".", decimal_point())


class Int(int):
    def __format__(self, spec: str) -> str:
        return format(int(self), spec).replace(".", decimal_point())


def localised(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Num(value)
    if isinstance(value, int):
        return Int(value)
    return value


def fmt(template: str, **values: Any) -> str:
    """``template.format(**values)`` with numbers written as the locale writes them."""
    return template.format(**{k: localised(v) for k, v in values.items()})


def _as_date(value: _dt.date | str | None) -> _dt.date | None:
    if value is None or isinstance(value, _dt.date):
        return value.date() if isinstance(value, _dt.datetime) else value
    s = str(value).strip().replace("-", "")
    try:
        return _dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
    except (ValueError, IndexError):
        return None


def date_text(value: _dt.date | str | None) -> str:
    """``15/01/2025`` in French, ``2025-01-15`` in English; a DICOM ``YYYYMMDD`` or ISO string
    is read too (anything else is returned as it is)."""
    d = _as_date(value)
    if d is None:
        return "" if value is None else str(value)
    if _language == DEFAULT:
        return d.isoformat()
    return ui_locale().toString(QDate(d.year, d.month, d.day), "dd/MM/yyyy")


def month_text(value: _dt.date) -> str:
    """``01/2025`` in French, ``2025-01`` in English (chart ticks)."""
    return value.strftime("%Y-%m") if _language == DEFAULT else value.strftime("%m/%Y")


def datetime_text(value: _dt.datetime, seconds: bool = False) -> str:
    """``15/01/2025 14:03`` in French, ``2025-01-15 14:03`` in English."""
    time = value.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{date_text(value.date())} {time}"


# --- application-layer texts -----------------------------------------------------------------
def app_text(text: Any) -> str:
    """An application-layer text in the reader's language.

    The application layer cannot import Qt: it marks its messages with its own
    ``QT_TRANSLATE_NOOP(context, template)`` (``namecar_viewer.app.i18n``), whose result
    remembers the context, the English template and the values it was formatted with; here the
    template is looked up in the catalogue and formatted again with the same values, numbers
    written as the locale writes them.  A plain string is looked up in the ``app`` context
    (tables of fixed texts registered in ``gui/app_texts.py``) and returned unchanged when
    there is no translation.
    """
    if text is None:
        return ""
    context = getattr(text, "context", None)
    source = getattr(text, "source", None)
    if context and source:
        translated = QCoreApplication.translate(context, source)
        if not hasattr(text, "values"):
            return translated
        values: Mapping[str, Any] = text.values or {}
        try:
            return fmt(translated, **{k: _translate_value(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError):
            return str(text)
    s = str(text)
    if not s:
        return s
    if _ISO_DATE.match(s):
        return date_text(s)
    translated = QCoreApplication.translate("app", s)
    if translated != s or _language == DEFAULT:
        return translated
    return pattern_text(s)


# --- texts of the lower layers, recognised by their English template --------------------------
_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = []


@functools.cache
def _slot_values() -> dict[str, str]:
    """Slots that hold one of a few known values, matched only by them: ``"{response} at
    {label}"`` must not read "needs at least one" as a response at a timepoint."""
    from namecar_viewer.core.recist.model import Response

    codes = sorted((r.value for r in Response), key=len, reverse=True)
    # a finding and the rule it breaks, cited in brackets, hold none: "{finding} [{rule}]"
    # cannot swallow the next violation of a list joined with "; "
    plain = r"[^\[\]]+?"
    label = r"[^\[\]:;]+?"  # a lesion's or a timepoint's label: no brackets, colons, semicolons
    return {
        "response": "|".join(map(re.escape, codes)),
        "rule": plain,
        "finding": plain,
        "lesion": label,
        "timepoint": label,
    }


def template_regex(template: str) -> re.Pattern[str]:
    """``"{label} is not read"`` as a regex capturing ``label`` (a repeated name must repeat;
    a slot of :func:`_slot_values` captures only its values)."""
    out, seen = [], set()
    typed = _slot_values()
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            out.append(re.escape(part))
        elif part in seen:
            out.append(f"(?P={part})")
        else:
            seen.add(part)
            out.append(f"(?P<{part}>{typed[part]})" if part in typed else f"(?P<{part}>.+?)")
    return re.compile("".join(out), re.S)


def register_patterns(context: str, templates: Iterable[str]) -> None:
    """Texts written by layers below the GUI (``core``, unmarked ``app`` messages) that the GUI
    shows: each English template (``{name}`` for a value) is listed in the catalogue under
    ``context`` (by ``QT_TRANSLATE_NOOP`` where it is registered), and :func:`pattern_text`
    recognises a text made from it and writes it from the translated template, its values
    translated in turn.  Templates are tried from the most fixed text to the least."""
    known = {(c, t) for c, t, _r in _PATTERNS}
    for t in templates:
        if (context, t) not in known:
            _PATTERNS.append((context, t, template_regex(t)))
    # the most specific first: a template with more fixed words wins over a general one
    # ("Not eligible: metastatic sum {pct} ..." before "Not eligible: {why}")
    _PATTERNS.sort(key=lambda p: -len(_fixed(p[1])))


def _fixed(template: str) -> str:
    """The fixed text of a template, its slots taken out."""
    return re.sub(r"\{\w+\}", "", template)


def pattern_text(text: str) -> str:
    """``text`` in the reader's language when it was made from a registered template (values
    kept, their numbers written with the locale's decimal mark), else unchanged."""
    if _language == DEFAULT:
        return text
    if not _PATTERNS:
        import namecar_viewer.gui.app_texts  # noqa: F401 - registers the lower layers' templates
    for context, template, rx in _PATTERNS:
        m = rx.fullmatch(text)
        if m is None:
            continue
        # a template written the same in French ("{finding} [{rule}]") still translates its parts
        translated = QCoreApplication.translate(context, template)
        captured = m.groupdict()
        values = {k: _captured_text(v) for k, v in captured.items()}
        if values == captured and (
            translated == template or not re.search(r"[^\W\d_]", _fixed(template))
        ):
            # nothing to translate here; and a template of punctuation alone ("{first}; {rest}")
            # translates only its parts: an English sentence none of whose parts is known stays
            continue
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _captured_text(value: str) -> str:
    if _ISO_DATE.match(value):
        return date_text(value)
    translated = QCoreApplication.translate("app", value)
    if translated != value:
        return translated
    return iso_dates_text(localise_number_text(pattern_text(value)))


# a date on its own: not inside a name or a path (CT_2025-01-15_baseline) nor a timestamp
# (2025-01-15T10:20:00)
_ISO_IN_TEXT = re.compile(r"(?<![\w/.\-])(\d{4})-(\d{2})-(\d{2})(?![\w\-])")


def iso_dates_text(text: str) -> str:
    """The ISO dates (``2025-01-15``) inside ``text`` as the reader's language writes them."""
    if _language == DEFAULT:
        return text
    return _ISO_IN_TEXT.sub(lambda m: date_text(m.group(0)), text)


_DAY = re.compile(r"\bDay (\d+|\?)")


def days_text(text: str) -> str:
    """``Day 182`` (what blinding writes for a date, in English) as the reader's language
    writes it, wherever it is in ``text``; for texts blinded after their translation."""
    if _language == DEFAULT or "Day " not in text:
        return text
    return _DAY.sub(lambda m: app_text(m.group(0)), text)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _translate_value(value: Any) -> Any:
    if isinstance(value, _dt.date):
        return date_text(value)
    if getattr(value, "context", None) and getattr(value, "source", None):
        return app_text(value)
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        return type(value)(_translate_value(v) for v in value)
    return value


def app_texts(texts: Iterable[Any]) -> list[str]:
    return [app_text(t) for t in texts]


def error_text(exc: BaseException) -> str:
    """An exception's message in the reader's language when the application marked it (its
    first argument is then a marked message), else as it is."""
    first = exc.args[0] if len(exc.args) == 1 else None
    if first is not None and getattr(first, "context", None):
        return app_text(first)
    return app_text(str(exc))


# --- problems of the input (core.problems.Problem), as the scan and the loader report them ----
_SEVERITY_LINE = re.compile(r"(info|warning|error): (.*?)( \[[^\[\]]*\])?", re.S)


def problem_text(problem: Any) -> str:
    """A :class:`~namecar_viewer.core.problems.Problem` as ``str(problem)`` writes it (severity,
    message, files), the severity and the message in the reader's language."""
    text = str(problem)
    files = text[len(f"{problem.severity.value}: {problem.message}") :]
    return _problem_line(problem.severity.value, problem.message, files)


def reason_text(reason: str) -> str:
    """A reason a load or a scan gave in English, in the reader's language, line by line: a
    line written as ``str(problem)`` has its severity and message translated, its files kept."""
    lines = []
    for line in str(reason).split("\n"):
        m = _SEVERITY_LINE.fullmatch(line)
        if m is None:
            lines.append(app_text(line))
            continue
        lines.append(_problem_line(m.group(1), m.group(2), m.group(3) or ""))
    return "\n".join(lines)


def _problem_line(severity: str, message: str, files: str) -> str:
    return (
        fmt(
            QCoreApplication.translate("ProblemText", "{severity}: {message}"),
            severity=QCoreApplication.translate("Severity", severity),
            message=app_text(message),
        )
        + files
    )
