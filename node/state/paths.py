"""Identifiers that become file names, and paths that must stay under their state directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from node.data.identifiers import contains_raw_identifier

# Letters, digits, dot, underscore and dash; no separators, no control characters, no spaces.
# 128 characters leave room for the suffixes we add ("#<attempt>", ".json", temporary-file
# prefixes) under the 255-byte name limit of common file systems.
MAX_IDENTIFIER_CHARS: Final = 128
IDENTIFIER: Final = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_IDENTIFIER_CHARS}}}")


class InvalidIdentifier(ValueError):
    """An identifier from outside (job id, node id, dataset name) is not a safe name.

    The message names the kind and the rule broken, never the value.
    """

    def __init__(self, kind: str, rule: str) -> None:
        super().__init__(f"{kind} {rule}")
        self.kind = kind


class PathEscape(ValueError):
    """A path built from parts would leave the directory it must stay under."""

    def __init__(self, base: Path) -> None:
        super().__init__(f"refusing a path outside {base}")
        self.base = base


def check_identifier(kind: str, value: str) -> str:
    """Return ``value`` if it is a safe identifier, else raise.

    The message names the kind and the rule but never repeats the value: it came from the wire
    and may hold control characters meant to split a log line.

    Raises
    ------
    InvalidIdentifier
        ``value`` is empty, too long, ``.``/``..``, holds a character outside the set, or
        looks like a raw firm or personal identifier.
    """
    if value in (".", "..") or IDENTIFIER.fullmatch(value) is None:
        raise InvalidIdentifier(
            kind,
            f"must be 1-{MAX_IDENTIFIER_CHARS} characters of letters, digits, '.', '_' or '-' "
            f"(and not '.' or '..'); got {len(value)} character(s) that are not",
        )
    if contains_raw_identifier(value):
        # Identifiers go into access logs, file names and traces, where raw codes must never
        # appear; a name that merely looks like one would make its own log entries unwritable.
        raise InvalidIdentifier(
            kind,
            "must not look like a unified social credit code or an ID number (18 characters "
            "with a valid check character); choose a descriptive name",
        )
    return value


def confined(base: Path, *parts: str) -> Path:
    """``base / parts...``, refused if the result is not strictly inside ``base``.

    A second line of defence behind ``check_identifier``: whatever reached the code that builds
    a path, the path it builds cannot name a file outside its state directory (``..``, an
    absolute part, a symlink pointing out).

    Raises
    ------
    PathEscape
        The joined path resolves outside ``base`` or to ``base`` itself.
    """
    root = base.resolve()
    path = root.joinpath(*parts).resolve()
    if path == root or not path.is_relative_to(root):
        raise PathEscape(base)
    return path
