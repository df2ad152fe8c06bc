"""Problems found in input data, reported with the file and the reason instead of raised."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NamecarWarning(UserWarning):
    """Base class of warnings this package emits (tests turn them into errors)."""


class Severity(enum.Enum):
    """How bad a problem is for the reader: INFO is shown, ERROR stops that stack loading."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, named so a reader can act on it."""

    code: str
    message: str
    severity: Severity = Severity.WARNING
    files: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "files": list(self.files),
        }

    def __str__(self) -> str:
        where = (
            f" [{', '.join(self.files[:3])}{' ...' if len(self.files) > 3 else ''}]"
            if self.files
            else ""
        )
        return f"{self.severity.value}: {self.message}{where}"


class DicomInputError(Exception):
    """Raised when input cannot be used at all; the message names the file and the problem."""
