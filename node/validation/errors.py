"""The one error of every file format: which file, where in it, what is wrong, what to do."""

from __future__ import annotations


class SpecError(ValueError):
    """A job file, a configuration or a policy file breaks its format.

    Every format's own error (``JobSpecError``, ``ConfigError``, ``PolicyFileError``) is a
    subclass, so a caller that reads any file catches this one class, and every message has
    the same shape: ``"<source>[:<line>] <key>: <problem>; <fix>"``.

    Attributes
    ----------
    source:
        The file read (its path, or ``"job file"`` for a submitted job).
    key:
        The offending key's dotted path inside it (``"vertical.model.learning_rate"``,
        ``"datasets.loans.schema"``), or ``""`` for the file as a whole.
    problem:
        What is wrong; never a data value.
    fix:
        What to do about it, or ``""`` when the problem already says.
    line:
        The 1-based line of the key, where the reader knows it.
    """

    def __init__(
        self, source: str, problem: str, *, key: str = "", fix: str = "", line: int | None = None
    ) -> None:
        where = source if line is None else f"{source}:{line}"
        where = f"{where} {key}" if key else where
        super().__init__(f"{where}: {problem}" + (f"; {fix}" if fix else ""))
        self.source = source
        self.key = key
        self.problem = problem
        self.fix = fix
        self.line = line
