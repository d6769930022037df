"""Server error codes and ``CommandError``, the exception a command raises to answer ``ok: 0``."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]

INTERNAL_ERROR = 1
BAD_VALUE = 2
FAILED_TO_PARSE = 9
UNAUTHORIZED = 13
TYPE_MISMATCH = 14
ILLEGAL_OPERATION = 20
NAMESPACE_NOT_FOUND = 26
INDEX_NOT_FOUND = 27
CURSOR_NOT_FOUND = 43
NAMESPACE_EXISTS = 48
COMMAND_NOT_FOUND = 59
IMMUTABLE_FIELD = 66
INVALID_OPTIONS = 72
INVALID_NAMESPACE = 73
INDEX_OPTIONS_CONFLICT = 85
INDEX_KEY_SPECS_CONFLICT = 86
COMMAND_NOT_SUPPORTED = 115
DUPLICATE_KEY = 11000

CODE_NAMES: dict[int, str] = {
    INTERNAL_ERROR: "InternalError",
    BAD_VALUE: "BadValue",
    FAILED_TO_PARSE: "FailedToParse",
    UNAUTHORIZED: "Unauthorized",
    TYPE_MISMATCH: "TypeMismatch",
    ILLEGAL_OPERATION: "IllegalOperation",
    NAMESPACE_NOT_FOUND: "NamespaceNotFound",
    INDEX_NOT_FOUND: "IndexNotFound",
    CURSOR_NOT_FOUND: "CursorNotFound",
    NAMESPACE_EXISTS: "NamespaceExists",
    COMMAND_NOT_FOUND: "CommandNotFound",
    IMMUTABLE_FIELD: "ImmutableField",
    INVALID_OPTIONS: "InvalidOptions",
    INVALID_NAMESPACE: "InvalidNamespace",
    INDEX_OPTIONS_CONFLICT: "IndexOptionsConflict",
    INDEX_KEY_SPECS_CONFLICT: "IndexKeySpecsConflict",
    COMMAND_NOT_SUPPORTED: "CommandNotSupported",
    DUPLICATE_KEY: "DuplicateKey",
}


def code_name(code: int) -> str:
    """The server's codeName for ``code`` (``"Location<code>"`` when unnamed, as mongod does)."""
    return CODE_NAMES.get(code, f"Location{code}")


class CommandError(Exception):
    """A command failed; ``reply()`` is the ``{ok: 0, errmsg, code, codeName}`` answer."""

    def __init__(self, code: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.extra = extra

    def reply(self) -> Document:
        return {
            "ok": 0.0,
            "errmsg": self.errmsg,
            "code": self.code,
            "codeName": code_name(self.code),
            **self.extra,
        }


__all__ = ["CODE_NAMES", "CommandError", "code_name"]
