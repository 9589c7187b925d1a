"""Errors a node raises when its dataset or schema file cannot be used.

Every error names the file, the column and the row where the problem was found and says how to
fix it, but never the offending value: a bad identifier or a C3/C2 field value could leak into
logs, terminals or the coordinator through an error message, so only its position is reported.

Row numbers are **1-based data rows** (the first record after the header is row 1). For CSV
files the message also gives the file line (``line = row + 1``, the header being line 1), which
is what an editor shows, as long as no quoted field spans several lines.
"""

from __future__ import annotations

from pathlib import Path


class DatasetError(Exception):
    """Base class: the dataset at ``path`` cannot be served as it is.

    Attributes
    ----------
    path
        The dataset or schema file.
    column
        The column at fault, or ``None`` when the whole file is at fault.
    row
        1-based data row of the first offending record, or ``None``.
    line
        1-based file line of that record (CSV only), or ``None``.
    count
        How many rows share the problem (the message names only the first few).
    fix
        What the user should do about it.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        fix: str,
        *,
        column: str | None = None,
        rows: tuple[int, ...] = (),
        lines: tuple[int, ...] = (),
        count: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        self.column = column
        self.rows = rows
        self.row = rows[0] if rows else None
        self.line = lines[0] if lines else None
        self.count = count if count is not None else len(rows)
        super().__init__(self._render(lines))

    def _render(self, lines: tuple[int, ...]) -> str:
        where = [str(self.path)]
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
            label = "data row" if len(self.rows) == 1 and not more else "data rows"
            place = f"{label} {shown}{more}"
            if lines:
                place += f" (file line{'s' if len(lines) > 1 else ''} "
                place += ", ".join(str(n) for n in lines) + ")"
            where.append(place)
        return f"{': '.join(where)}: {self.problem}. Fix: {self.fix}"


class SchemaError(DatasetError):
    """The schema file or mapping is malformed (unknown type or class, missing key, ...)."""


class UnreadableFileError(DatasetError):
    """The dataset file is missing, of an unsupported format, malformed or has no data rows."""


class MissingColumnError(DatasetError):
    """A column the schema declares (the id column in particular) is not in the file."""


class UnexpectedColumnError(DatasetError):
    """The file has a column the schema does not declare; undeclared fields are never served."""


class EmptyIdError(DatasetError):
    """A record has an empty identifier."""


class DuplicateIdError(DatasetError):
    """Two or more records share an identifier (after normalisation)."""


class InvalidIdError(DatasetError):
    """An identifier is not a valid unified social credit code (GB 32100-2015 check character)."""


class WrongTypeError(DatasetError):
    """A value cannot be read as the type the schema declares for its column."""


class MissingValueError(DatasetError):
    """A required field is empty, NaN or infinite.

    Attributes
    ----------
    kind
        ``"missing"`` (empty or NaN) or ``"infinite"``.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        fix: str,
        *,
        kind: str,
        column: str | None = None,
        rows: tuple[int, ...] = (),
        lines: tuple[int, ...] = (),
        count: int | None = None,
    ) -> None:
        self.kind = kind
        super().__init__(path, problem, fix, column=column, rows=rows, lines=lines, count=count)
