"""Write a party's alignment to disk atomically: a file is either complete or absent."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from node.psi.result import PsiResult

FORMAT = "fedcredit-psi-alignment/1"


def write_alignment(result: PsiResult, path: Path) -> None:
    """Write ``result``'s rows and sizes to ``path`` (JSON), replacing it in one step.

    The file is written beside its destination and renamed into place, so a crash or a
    failed run never leaves a half-written alignment that later training could pick up.

    Raises
    ------
    ValueError
        ``result`` is cardinality-only: there are no rows to write.
    """
    if result.rows is None:
        raise ValueError("a cardinality-only result has no rows to write; keep its summary")
    document = {
        "format": FORMAT,
        **result.summary(),
        "rows": result.rows.tolist(),
        "subsets": {n: r.tolist() for n, r in result.subsets.items() if r is not None},
        "invalid_rows": list(result.invalid_rows),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
