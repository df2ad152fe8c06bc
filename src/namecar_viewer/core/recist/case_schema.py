"""The JSON Schema of the case input (``case.schema.json``, draft 2020-12) and its messages.

The schema is a resource of the application, kept once in the repository's top-level
``resources/`` folder (see its README).  :func:`schema_text` reads it from

1. the package data, through :mod:`importlib.resources`: ``namecar_viewer/_resources/`` that a
   wheel (``setup.py`` ``build_py``) or the frozen bundle (``packaging/namecar-viewer.spec``)
   carries;
2. else the source checkout's ``resources/`` folder (run in place, ``pip install -e .``), as
   :mod:`namecar_viewer.resources` finds it.

:func:`schema_problems` checks a parsed document against it and returns one message per problem,
each naming the key (``timepoints[1].target_measurements_mm.T1: ...``).  The clinical rules
(measurability, number of targets, date order...) stay in :mod:`.validation`.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_NAME = "case.schema.json"
PACKAGE_DATA = "_resources"  # inside the namecar_viewer package, made by a build
MAX_PROBLEMS = 20


class SchemaMissingError(RuntimeError):
    """The schema cannot be used: not in the package data nor the checkout, or no jsonschema."""


def _packaged() -> Any | None:
    try:
        item = resources.files("namecar_viewer").joinpath(PACKAGE_DATA, SCHEMA_NAME)
        return item if item.is_file() else None
    except (ModuleNotFoundError, OSError):
        return None


def _checkout() -> Path:
    from namecar_viewer import resources as app_resources

    return app_resources.CHECKOUT / SCHEMA_NAME


def schema_location() -> str:
    """Where the schema is read from (for messages and ``--help``)."""
    item = _packaged()
    return str(item) if item is not None else str(_checkout())


def schema_text() -> str:
    """The schema's text: package data first, else the repository's ``resources/`` folder."""
    item = _packaged()
    if item is not None:
        return str(item.read_text(encoding="utf-8"))
    path = _checkout()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaMissingError(
            f"the case schema {SCHEMA_NAME} is missing: not in the installed package "
            f"(namecar_viewer/{PACKAGE_DATA}) nor at {path} ({exc.strerror or exc}); "
            "reinstall the application"
        ) from exc


@functools.lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    """The parsed schema (read once)."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    try:
        from jsonschema import Draft202012Validator
    except ImportError as exc:
        raise SchemaMissingError(
            f"the jsonschema package is missing ({exc}); reinstall the application"
        ) from exc

    schema = case_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(parts: Any) -> str:
    """``timepoints[1].target_measurements_mm.T1`` for the path ``timepoints/1/...``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}" if out else p
        else:
            out += f"[{json.dumps(str(p))}]"
    return out or "(the document)"


def short(value: Any, limit: int = 60) -> str:
    """A JSON-like rendering of a value, cut to ``limit`` characters."""
    if isinstance(value, Decimal):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TYPE_WORDS = {
    "object": "a JSON object",
    "array": "a JSON array",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def _message(error: Any) -> str:
    kind = error.validator
    value = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    got = short(error.instance)
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        names = ", ".join(short(k) for k in extra)
        return f"unknown key {names} (allowed: {', '.join(allowed)})"
    if kind == "required":
        return str(error.message).replace("is a required property", "is missing (required)")
    if kind in ("anyOf", "oneOf", "pattern") and schema.get("description"):
        return f"{got} is not {schema['description']}"
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        return f"{got} is not " + " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    if kind == "enum":
        return f"{got} is not one of " + ", ".join(short(v) for v in value)
    if kind == "minimum":
        return f"{got} is below the minimum {value}"
    if kind == "maximum":
        return f"{got} is above the maximum {value}"
    if kind in ("maxItems", "maxProperties", "maxLength"):
        return f"too long: at most {value} {'characters' if kind == 'maxLength' else 'entries'}"
    if kind in ("minItems", "minLength"):
        return f"too short: at least {value} {'characters' if kind == 'minLength' else 'entries'}"
    return str(error.message)


def _context(document: Any, path: list[Any]) -> str:
    """``lesion T1, timepoint baseline`` for a path inside that lesion or timepoint."""
    lesion = timepoint = None
    if len(path) >= 2 and isinstance(document, dict) and isinstance(path[1], int):
        items = document.get(path[0])
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        if isinstance(item, dict):
            if path[0] == "lesions" and isinstance(item.get("id"), str):
                lesion = item["id"]
            elif path[0] == "timepoints" and isinstance(item.get("label"), str):
                timepoint = item["label"]
        if (
            path[0] == "timepoints"
            and len(path) >= 4
            and path[2] in ("target_measurements_mm", "non_target_status")
        ):
            lesion = str(path[3])
    parts = [f"lesion {short(lesion, 40)}" if lesion is not None else ""]
    parts.append(f"timepoint {short(timepoint, 40)}" if timepoint is not None else "")
    text = ", ".join(p.replace('"', "") for p in parts if p)
    return f" ({text})" if text else ""


def where(document: Any, path: Any) -> str:
    """The key's path and the lesion and timepoint it belongs to."""
    parts = list(path)
    return f"{json_path(parts)}{_context(document, parts)}"


def schema_problems(document: Any) -> list[str]:
    """One message per schema violation, naming the key (and the lesion and timepoint it is
    in); empty when the document conforms."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: json_path(e.absolute_path))
    out = [f"{where(document, e.absolute_path)}: {_message(e)}" for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        out.append(f"... and {len(errors) - MAX_PROBLEMS} more problems")
    return out
