"""A holder's answer to a score request, as columns: what travels sealed and what records keep.

One answer covers every firm of a request (row i is firm i). Every kind of part answers with
each firm's status (``engine.STATUSES``), a detail index for refusals and its coded flags;
then, by the part's kind:

- ``logistic``: ``score`` (the partial log-odds) and its top adverse reason categories
  (``reason_codes`` into the header's ``categories``, ``reason_values``);
- ``secureboost``: ``directions``, per firm one bit per split the holder owns (left = 1),
  packed eight to a byte, in the order of the header's ``records``; with
  ``record_categories`` (the reason category of each split's column, an index into
  ``categories``). No threshold, no value, no score: the bank walks the trees.

Header keys: ``id``, ``error``, ``version`` (``name@version`` that answered), ``kind``,
``details``, ``flag_codes``, ``categories`` and, for trees, ``records`` and
``record_categories``. Arrays all have one row per firm, so a shared envelope's answer is
split back to its callers by slicing rows (``Answer.rows``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.scoring import columns
from node.scoring.engine import STATUSES, HolderReplies

LOGISTIC: Final = "logistic"
SECUREBOOST: Final = "secureboost"
_COMMON: Final = ("status", "detail", "flags")
_BY_KIND: Final = {
    LOGISTIC: ("score", "reason_codes", "reason_values"),
    SECUREBOOST: ("directions",),
}


class MalformedAnswer(ValueError):
    """An answer that does not fit its request; nothing of it is used."""


@dataclass(frozen=True)
class Answer:
    """One holder's answer (header and per-firm columns), or its error."""

    header: Mapping[str, Any]
    arrays: Mapping[str, NDArray[Any]]

    @property
    def error(self) -> str:
        return str(self.header.get("error", ""))

    @property
    def kind(self) -> str:
        return str(self.header.get("kind", ""))

    @property
    def version(self) -> str:
        return str(self.header.get("version", ""))

    def __len__(self) -> int:
        return len(self.arrays["status"]) if "status" in self.arrays else 0

    def rows(self, start: int, end: int) -> Answer:
        """The answer for firms ``start`` to ``end`` (an error stays the whole answer)."""
        if self.error:
            return self
        return Answer(self.header, {k: v[start:end] for k, v in self.arrays.items()})

    def to_bytes(self) -> bytes:
        return columns.pack(self.header, self.arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> Answer:
        """Raises ``MalformedAnswer`` for anything that is not a well-formed answer."""
        try:
            header, arrays = columns.unpack(data)
        except columns.MalformedColumns as exc:
            raise MalformedAnswer(str(exc)) from None
        answer = cls(header, arrays)
        if not answer.error:
            answer.check()
        return answer

    @classmethod
    def failed(cls, request_id: str, error: str) -> Answer:
        return cls({"id": request_id, "error": error}, {})

    def check(self, n: int | None = None) -> None:
        """Raises ``MalformedAnswer`` unless every column is there, of one row per firm
        (``n`` if given), with codes in range and finite scores."""
        kind = self.kind
        if kind not in _BY_KIND:
            raise MalformedAnswer(f"unknown answer kind {kind!r}")
        missing = [k for k in (*_COMMON, *_BY_KIND[kind]) if k not in self.arrays]
        if missing:
            raise MalformedAnswer(f"missing {', '.join(missing)}")
        rows = len(self.arrays["status"])
        if n is not None and rows != n:
            raise MalformedAnswer(f"{rows} answers for {n} firms")
        if any(len(a) != rows for a in self.arrays.values()):
            raise MalformedAnswer("columns of different lengths")
        a, h = self.arrays, self.header
        if a["status"].dtype != np.uint8 or (a["status"] >= len(STATUSES)).any():
            raise MalformedAnswer("status codes out of range")
        if (a["detail"] >= len(h.get("details", ()))).any():
            raise MalformedAnswer("detail codes out of range")
        if a["flags"].ndim != 2 or a["flags"].shape[1] != len(h.get("flag_codes", ())):
            raise MalformedAnswer("flags do not match their codes")
        if kind == LOGISTIC:
            if not np.isfinite(a["score"]).all() or not np.isfinite(a["reason_values"]).all():
                raise MalformedAnswer("a score is not finite")
            if (a["reason_codes"] >= len(h.get("categories", ()))).any():
                raise MalformedAnswer("reason codes out of range")
        else:
            width = (len(h.get("records", ())) + 7) // 8
            if a["directions"].ndim != 2 or a["directions"].shape[1] != width:
                raise MalformedAnswer("directions do not match the records")
            if len(h.get("record_categories", ())) != len(h.get("records", ())):
                raise MalformedAnswer("a record without its category")

    def directions(self) -> NDArray[np.bool_]:
        """Per firm and record (header order): does the firm go left there (trees only)."""
        records = len(self.header["records"])
        bits = np.unpackbits(self.arrays["directions"], axis=1, count=records)
        return bits.astype(np.bool_)

    def common(self, party: str, score: NDArray[np.float64]) -> HolderReplies:
        """``HolderReplies`` with this answer's statuses and flags, no reasons yet."""
        h, a = self.header, self.arrays
        n = len(self)
        return HolderReplies(
            party,
            self.version,
            np.asarray(a["status"], np.uint8),
            score,
            np.full((n, 0), -1, np.int16),
            np.zeros((n, 0)),
            (),
            np.asarray(a["flags"], np.bool_),
            tuple(h.get("flag_codes", ())),
            np.asarray(a["detail"], np.int16),
            tuple(h.get("details", ())),
        )

    def replies(self, party: str) -> HolderReplies:
        """A logistic answer as the engine's columns."""
        a = self.arrays
        return replace(
            self.common(party, np.asarray(a["score"], np.float64)),
            reason_codes=np.asarray(a["reason_codes"], np.int16),
            reason_values=np.asarray(a["reason_values"], np.float64),
            categories=tuple(self.header.get("categories", ())),
        )
