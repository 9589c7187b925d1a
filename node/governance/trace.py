"""Name the release a leaked table came from, with a bound and the access-log evidence.

``trace_table`` tests the table against every fingerprinted release the node recorded
(``fingerprint.detect``), and also compares the file's SHA-256 with the recorded hashes (an
unchanged copy is then certain). Each accused release comes back with its recipient
(organization, node, role, certificate), time, query and policy version, the probability
bound that an innocent release would have scored as high, and its access-log entry proven
against a witnessed checkpoint (``evidence.Prover``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from node.governance.evidence import EntryProof, Prover
from node.governance.fingerprint import (
    DEFAULT_MAX_FALSE_ACCUSATION,
    Candidate,
    Score,
    SuspectTable,
    Verdict,
    judge,
)
from node.governance.registry import RegisteredRelease
from node.governance.tabular import read_table

KeyOf = Callable[[str], bytes]
# A byte-identical copy: the chance another file has the same SHA-256 is 2^-256.
EXACT_COPY_LOG10_BOUND = -256 * math.log10(2)


@dataclass(frozen=True)
class Match:
    """An accused release: its record, how the table scored, the bound and the evidence."""

    release: RegisteredRelease
    score: Score | None  # None for an exact (byte-identical) copy of a release without marks
    log10_bound: float
    evidence: EntryProof | None
    exact_copy: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain form for ``--format json`` and incident reports."""
        s = self.score
        return {
            "release": self.release.to_dict(),
            "exact_copy": self.exact_copy,
            "pairs_compared": s.pairs if s else 0,
            "pairs_agreeing": s.agree if s else 0,
            "columns_read": list(s.columns) if s else [],
            "false_accusation_bound": 10.0**self.log10_bound,
            "log10_false_accusation_bound": self.log10_bound,
            "evidence": self.evidence.to_dict() if self.evidence else None,
        }


@dataclass(frozen=True)
class TraceReport:
    """What ``trace`` found for one suspect table."""

    source: str
    rows: int
    columns: tuple[str, ...]
    sha256: str
    verdict: Verdict
    matches: tuple[Match, ...]

    @property
    def traced(self) -> bool:
        """Whether at least one release is accused."""
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        """Plain form for ``--format json``."""
        best = self.verdict.scores[0] if self.verdict.scores else None
        return {
            "source": self.source,
            "rows": self.rows,
            "columns": list(self.columns),
            "sha256": self.sha256,
            "releases_tested": self.verdict.tested,
            "max_false_accusation": self.verdict.max_false_accusation,
            "traced": self.traced,
            "matches": [m.to_dict() for m in self.matches],
            "best_score": None
            if best is None
            else {
                "release_id": best.release_id,
                "pairs_compared": best.pairs,
                "agreement": round(best.agreement, 4),
                "log10_false_accusation_bound": self.verdict.log10_bound(best),
            },
        }


def bound_text(log10_bound: float) -> str:
    """A probability given as its base-10 logarithm, readable at any size."""
    return f"{10**log10_bound:.1e}" if log10_bound > -300 else f"1e{log10_bound:.0f}"


def _candidates(releases: Iterable[RegisteredRelease], key_of: KeyOf) -> list[Candidate]:
    out = []
    for r in releases:
        spec = r.fingerprint
        if spec is not None:
            out.append(Candidate(r.record.release_id, spec, key_of(r.record.release_id)))
    return out


def trace_table(
    table: pd.DataFrame,
    releases: Iterable[RegisteredRelease],
    key_of: KeyOf,
    *,
    prover: Prover | None = None,
    sha256: str = "",
    source: str = "",
    max_false_accusation: float = DEFAULT_MAX_FALSE_ACCUSATION,
) -> TraceReport:
    """Test ``table`` against ``releases``; accuse those beyond ``max_false_accusation``.

    ``sha256`` is the hash of the file as found: a release with the same hash is an exact
    copy and is reported whatever its fingerprint says. Without ``prover`` no evidence is
    attached (the benchmark measures detection alone).

    Raises
    ------
    ValueError
        ``max_false_accusation`` is not in (0, 1).
    """
    by_id = {r.record.release_id: r for r in releases}
    candidates = _candidates(by_id.values(), key_of)
    carriers = {name for c in candidates for name in c.spec.steps}
    verdict = judge(SuspectTable(table, carriers), candidates, max_false_accusation)
    matches: list[Match] = []
    seen: set[str] = set()

    def evidence(r: RegisteredRelease) -> EntryProof | None:
        if prover is None or r.log_index is None:
            return None
        return prover.prove(r.log_index)

    for s in verdict.accused:
        r = by_id[s.release_id]
        exact = bool(sha256) and sha256 == r.record.sha256
        matches.append(Match(r, s, verdict.log10_bound(s), evidence(r), exact))
        seen.add(s.release_id)
    for r in by_id.values():
        if sha256 and r.record.sha256 == sha256 and r.record.release_id not in seen:
            matches.append(Match(r, None, EXACT_COPY_LOG10_BOUND, evidence(r), True))
    return TraceReport(source, len(table), tuple(map(str, table.columns)), sha256, verdict,
                       tuple(matches))  # fmt: skip


def trace_file(
    path: Path,
    releases: Iterable[RegisteredRelease],
    key_of: KeyOf,
    *,
    prover: Prover | None = None,
    max_false_accusation: float = DEFAULT_MAX_FALSE_ACCUSATION,
) -> TraceReport:
    """``trace_table`` on a file in any supported format.

    Raises
    ------
    UnreadableTable
        The file is not a CSV, Parquet, Excel or JSON table.
    """
    table = read_table(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return trace_table(
        table,
        releases,
        key_of,
        prover=prover,
        sha256=digest,
        source=str(path),
        max_false_accusation=max_false_accusation,
    )
