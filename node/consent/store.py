"""A party's authorization store: durable in SQLite, checked from a sorted in-memory index.

Records are keyed by the party's own token of the firm (``ft:`` + 128 bits), never the code.
Every check on the scoring path is a binary search over the tokens' first 64 bits and a scan
of the few records of that firm, so one check costs microseconds with a million records, and
``check_many`` does the same for a whole batch with numpy. Records whose firm this party does
not hold (it cannot compute its token) are kept under the sender's pseudonym as *pending*
and join the index once the firm appears (``resolve_pending``). Revocation is a record too:
it stamps the grant with the revocation's id and time and never deletes it, so an auditor can
still see what covered a use before it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.audit.tokens import is_token
from node.consent.exceptions import InvalidAuthorization, UnknownAuthorization
from node.consent.record import Authorization, Evidence, needed_mask, purpose_mask
from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS authorizations (
    record_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,          -- this party's firm token, or 'pending:<pseudonym>'
    recipient TEXT NOT NULL,
    purposes TEXT NOT NULL,
    valid_from REAL NOT NULL,
    valid_to REAL NOT NULL,
    evidence TEXT NOT NULL,
    registered_at REAL NOT NULL,
    revoked_at REAL,
    revocation_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS authorizations_subject ON authorizations (subject);
"""
PENDING: Final = "pending:"
_U64: Final = np.uint64


def token_key(token: str) -> tuple[int, int]:
    """The two 64-bit halves of a firm token (``ft:`` and 32 hex digits)."""
    return int(token[3:19], 16), int(token[19:35], 16)


def token_keys(tokens: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """``token_key`` for many tokens at once, as two arrays."""
    hexes = np.array([t[3:35] for t in tokens], dtype="S32")
    raw = np.frombuffer(bytes.fromhex(b"".join(hexes.tolist()).decode()), dtype=">u8")
    pairs = raw.reshape(-1, 2).astype(_U64)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: the covering record, or why none covers."""

    allowed: bool
    record_id: str
    reason: str  # "" when allowed; else no_authorization | expired | revoked | not_yet_valid


class _Columns:
    """Growable numpy columns, one row per stored grant (its position is its ``rec``)."""

    def __init__(self) -> None:
        self.n = 0
        self.hi = np.zeros(0, _U64)
        self.lo = np.zeros(0, _U64)
        self.rid = np.zeros(0, _U64)
        self.recipient = np.zeros(0, np.int32)
        self.mask = np.zeros(0, np.uint8)
        self.start = np.zeros(0, np.float64)
        self.end = np.zeros(0, np.float64)
        self.revoked = np.zeros(0, np.float64)

    def grow(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.hi):
            return
        size = max(need, 2 * len(self.hi), 1024)
        for name in ("hi", "lo", "rid", "recipient", "mask", "start", "end", "revoked"):
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)


class ConsentStore:
    """The authorizations one party keeps. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_db(path, _SCHEMA)
        self._lock = threading.RLock()
        self._cols = _Columns()
        self._rec_of: dict[str, int] = {}
        self._recipients: dict[str, int] = {}
        # (first token halves in ascending order, each one's row): replaced as one value, so
        # a check running beside an ``add`` sees either index whole, never a mix
        self._index: tuple[NDArray[np.uint64], NDArray[np.int64]] = (
            np.zeros(0, _U64),
            np.zeros(0, np.int64),
        )
        self._load()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # loading and indexing --------------------------------------------------------------

    def _recipient_id(self, org: str) -> int:
        rid = self._recipients.get(org)
        if rid is None:
            rid = self._recipients[org] = len(self._recipients) + 1
        return rid

    def _append_rows(
        self, rows: Sequence[tuple[str, str, str, str, float, float, float | None]]
    ) -> None:
        """Add (record_id, subject, recipient, purposes_json, from, to, revoked_at) rows."""
        rows = [r for r in rows if is_token(r[1])]
        cols = self._cols
        cols.grow(len(rows))
        n = cols.n
        for i, (record_id, subject, recipient, purposes, start, end, revoked) in enumerate(rows):
            k = n + i
            cols.hi[k], cols.lo[k] = token_key(subject)
            cols.rid[k] = int(record_id[5:], 16)
            cols.recipient[k] = self._recipient_id(recipient)
            cols.mask[k] = purpose_mask(json.loads(purposes))
            cols.start[k], cols.end[k] = start, end
            cols.revoked[k] = math.inf if revoked is None else revoked
            self._rec_of[record_id] = k
        cols.n = n + len(rows)
        self._reindex()

    def _reindex(self) -> None:
        n = self._cols.n
        hi = self._cols.hi[:n]
        order = np.argsort(hi, kind="stable")
        self._index = (hi[order], order)

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT record_id, subject, recipient, purposes, valid_from, valid_to, revoked_at "
            "FROM authorizations"
        ).fetchall()
        self._append_rows(rows)

    # writing ---------------------------------------------------------------------------

    def add(self, records: Iterable[Authorization], now: float | None = None) -> list[str]:
        """Store new grants; return the ids that were new (a known id is left as it is)."""
        stamp = time.time() if now is None else now
        fresh: list[tuple[str, str, str, str, float, float, float | None]] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for r in records:
                    if r.record_id in self._rec_of or self._exists(r.record_id):
                        continue
                    purposes = json.dumps(list(r.purposes))
                    evidence = json.dumps(
                        [r.evidence.document_sha256, r.evidence.collector, r.evidence.collected_at]
                    )
                    self._db.execute(
                        "INSERT INTO authorizations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                        (
                            r.record_id,
                            r.subject,
                            r.recipient,
                            purposes,
                            r.valid_from,
                            r.valid_to,
                            evidence,
                            stamp,
                            r.revoked_at,
                        ),
                    )
                    fresh.append(
                        (
                            r.record_id,
                            r.subject,
                            r.recipient,
                            purposes,
                            r.valid_from,
                            r.valid_to,
                            r.revoked_at,
                        )
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._append_rows(fresh)
        return [f[0] for f in fresh]

    def _exists(self, record_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM authorizations WHERE record_id = ?", (record_id,)
        ).fetchone()
        return row is not None

    def revoke(self, record_id: str, revocation_id: str, at: float | None = None) -> Authorization:
        """End a grant from ``at`` on (now by default); a second revocation keeps the first.

        Raises
        ------
        UnknownAuthorization
            No such record here.
        """
        when = time.time() if at is None else at
        with self._lock:
            current = self.get(record_id)
            if current.revoked_at is None:
                self._db.execute(
                    "UPDATE authorizations SET revoked_at = ?, revocation_id = ? "
                    "WHERE record_id = ?",
                    (when, revocation_id, record_id),
                )
                rec = self._rec_of.get(record_id)
                if rec is not None:
                    self._cols.revoked[rec] = when
        return self.get(record_id)

    def resolve_pending(self, token_of: Callable[[str], str | None]) -> int:
        """File pending records under this party's token once it holds the firm; return how many."""
        with self._lock:
            rows = self._db.execute(
                "SELECT record_id, subject FROM authorizations WHERE subject LIKE 'pending:%'"
            ).fetchall()
            moved = [(tok, rid) for rid, subj in rows if (tok := token_of(subj[len(PENDING) :]))]
            if not moved:
                return 0
            self._db.executemany("UPDATE authorizations SET subject = ? WHERE record_id = ?", moved)
            placed = self._db.execute(
                "SELECT record_id, subject, recipient, purposes, valid_from, valid_to, revoked_at "
                f"FROM authorizations WHERE record_id IN ({','.join('?' * len(moved))})",
                [rid for _, rid in moved],
            ).fetchall()
            self._append_rows(placed)
        return len(moved)

    # reading ---------------------------------------------------------------------------

    @staticmethod
    def _row(row: tuple[object, ...]) -> Authorization:
        doc, collector, collected = json.loads(str(row[6]))
        return Authorization(
            record_id=str(row[0]),
            subject=str(row[1]),
            recipient=str(row[2]),
            purposes=tuple(json.loads(str(row[3]))),
            valid_from=float(row[4]),  # type: ignore[arg-type]
            valid_to=float(row[5]),  # type: ignore[arg-type]
            evidence=Evidence(doc, collector, float(collected)),
            revoked_at=None if row[8] is None else float(row[8]),  # type: ignore[arg-type]
            revocation_id=str(row[9]),
        )

    _COLUMNS: Final = (
        "record_id, subject, recipient, purposes, valid_from, valid_to, evidence, "
        "registered_at, revoked_at, revocation_id"
    )

    def get(self, record_id: str) -> Authorization:
        """Raises ``UnknownAuthorization`` when no such record is held."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM authorizations WHERE record_id = ?", (record_id,)
            ).fetchone()
        if row is None:
            raise UnknownAuthorization(record_id)
        return self._row(row)

    def for_subject(self, subject: str) -> list[Authorization]:
        """Every record (grants, revoked or not) filed under ``subject``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM authorizations WHERE subject = ? "
                "ORDER BY registered_at, record_id",
                (subject,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM authorizations").fetchone()
        return int(n)

    # checks ----------------------------------------------------------------------------

    def check(self, token: str, recipient: str, use: str, at: float | None = None) -> Verdict:
        """May ``recipient`` use the firm's data for ``use`` (a policy purpose) at ``at``?

        Raises
        ------
        InvalidAuthorization
            ``token`` is not a firm token, or ``use`` has no authorization purpose.
        """
        if not is_token(token):
            raise InvalidAuthorization("subject", "checks take a firm token, never a code")
        when = time.time() if at is None else at
        need = needed_mask(use)
        hi, lo = token_key(token)
        cols = self._cols
        rid = self._recipients.get(recipient, -1)
        reason = "no_authorization"
        sorted_hi, order = self._index
        j = int(np.searchsorted(sorted_hi, _U64(hi)))
        while j < len(sorted_hi) and int(sorted_hi[j]) == hi:
            k = int(order[j])
            j += 1
            if int(cols.lo[k]) != lo or int(cols.recipient[k]) != rid or not cols.mask[k] & need:
                continue
            if when >= cols.revoked[k]:
                reason = "revoked"
            elif when >= cols.end[k]:
                reason = "expired" if reason != "revoked" else reason
            elif when < cols.start[k]:
                reason = "not_yet_valid" if reason == "no_authorization" else reason
            else:
                return Verdict(True, f"auth-{int(cols.rid[k]):016x}", "")
        return Verdict(False, "", reason)

    def check_many(
        self,
        hi: NDArray[np.uint64],
        lo: NDArray[np.uint64],
        recipient: str,
        use: str,
        at: float | None = None,
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """``check`` for many firms (token halves from ``token_keys``): (allowed, rec) where
        ``rec`` is the covering record's index for ``record_id`` (-1 when refused)."""
        when = time.time() if at is None else at
        need = needed_mask(use)
        rid = self._recipients.get(recipient, -1)
        cols = self._cols
        sorted_hi, order = self._index
        size = len(sorted_hi)
        # the firms are looked up in key order: numpy's binary search then starts each search
        # where the previous one ended, and the rows it touches are near each other (in the
        # caller's order a batch pays a cache miss per probe, about 30 times slower)
        asked = np.argsort(hi, kind="stable")
        keys, lows = hi[asked], lo[asked]
        pos = np.searchsorted(sorted_hi, keys)
        allowed = np.zeros(len(hi), np.bool_)
        covering = np.full(len(hi), -1, np.int64)
        live = np.ones(len(hi), np.bool_)
        while size:  # one pass per record of the same firm (usually one or two)
            probe = np.minimum(pos, size - 1)
            live &= (pos < size) & (sorted_hi[probe] == keys)
            if not live.any():
                break
            k = order[probe]
            ok = (
                live
                & (cols.lo[k] == lows)
                & (cols.recipient[k] == rid)
                & ((cols.mask[k] & need) != 0)
                & (cols.start[k] <= when)
                & (when < cols.end[k])
                & (when < cols.revoked[k])
            )
            allowed[asked[ok]] = True
            covering[asked[ok]] = k[ok]
            live &= ~ok
            pos += 1
        return allowed, covering

    def record_id(self, rec: int) -> str:
        """The id of the record at index ``rec`` (from ``check_many``)."""
        return f"auth-{int(self._cols.rid[rec]):016x}"

    def record_ids(self, recs: NDArray[np.int64]) -> list[str]:
        """The distinct ids of the records at ``recs`` (from ``check_many``), sorted."""
        return [f"auth-{r:016x}" for r in np.unique(self._cols.rid[recs]).tolist()]


def parse_window(valid_from: float, valid_to: float) -> tuple[float, float]:
    """Check a validity window given as Unix times.

    Raises
    ------
    InvalidAuthorization
        Not finite, or the end is not after the start.
    """
    if not (math.isfinite(valid_from) and math.isfinite(valid_to)) or valid_to <= valid_from:
        raise InvalidAuthorization("valid_to", "must be a time after valid_from")
    return valid_from, valid_to
