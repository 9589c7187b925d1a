"""A holder's lookup of its own firms: by a bank's pseudonym, to its row and its own token.

Built once per dataset (tokens) and once per asking bank (pseudonyms), then reused; a firm
not in the table simply has no entry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from node.audit.tokens import FirmTokenizer
from node.consent.store import token_keys
from node.data.uscc import normalize
from node.scoring.keys import Pseudonyms


class FirmIndex:
    """Rows, tokens and per-bank pseudonyms of one dataset's firms."""

    def __init__(self, codes: Sequence[str], tokenizer: FirmTokenizer) -> None:
        self._codes = [normalize(str(c)) for c in codes]
        self._tokenizer = tokenizer
        self.tokens = [tokenizer.token(c) for c in self._codes]
        self.hi, self.lo = token_keys(self.tokens) if self.tokens else (np.zeros(0, np.uint64),) * 2
        self._by_code = {c: i for i, c in enumerate(self._codes)}
        # per pair key: the firms' pseudonyms in row order, and the row of each pseudonym
        self._by_pseudonym: dict[bytes, tuple[list[str], dict[str, int]]] = {}
        self._lock = threading.Lock()

    @property
    def codes(self) -> list[str]:
        """The firms' normalized codes in row order (this node's own lookups only)."""
        return self._codes

    def __len__(self) -> int:
        return len(self._codes)

    def row_of_code(self, code: str) -> int:
        """Row of a firm by its code (the bank's own lookup), or -1."""
        return self._by_code.get(normalize(code), -1)

    def rows_of_codes(self, codes: Sequence[str]) -> NDArray[np.int64]:
        get = self._by_code.get
        return np.fromiter((get(normalize(c), -1) for c in codes), np.int64, len(codes))

    def _names(self, key: bytes) -> tuple[list[str], dict[str, int]]:
        held = self._by_pseudonym.get(key)
        if held is None:
            with self._lock:
                held = self._by_pseudonym.get(key)
                if held is None:
                    names = Pseudonyms(key).many(self._codes)
                    held = (names, {p: i for i, p in enumerate(names)})
                    self._by_pseudonym[key] = held
        return held

    def _table(self, key: bytes) -> dict[str, int]:
        return self._names(key)[1]

    def tokens_at(self, rows: NDArray[np.int64], codes: Sequence[str]) -> list[str]:
        """Tokens of firms at ``rows`` (this node's own lookups), computed from the code for
        a firm not in the table (row -1)."""
        tokens, token = self.tokens, self._tokenizer.token
        return [
            tokens[r] if r >= 0 else token(c) for r, c in zip(rows.tolist(), codes, strict=True)
        ]

    def pseudonyms_at(self, key: bytes, rows: NDArray[np.int64], codes: Sequence[str]) -> list[str]:
        """Pseudonyms under pair ``key`` of firms at ``rows`` (a bank naming its applicants to a
        holder), computed from the code for a firm not in the table (row -1)."""
        names, of = self._names(key)[0], Pseudonyms(key).of
        return [names[r] if r >= 0 else of(c) for r, c in zip(rows.tolist(), codes, strict=True)]

    def rows(self, key: bytes, pseudonyms: Sequence[str]) -> NDArray[np.int64]:
        """Rows of the firms a bank named under its pair ``key`` (-1: not held here)."""
        get = self._table(key).get
        return np.fromiter((get(p, -1) for p in pseudonyms), np.int64, len(pseudonyms))

    def token_of_pseudonym(self, key: bytes) -> Callable[[str], str | None]:
        table = self._table(key)

        def lookup(pseudonym: str) -> str | None:
            row = table.get(pseudonym, -1)
            return self.tokens[row] if row >= 0 else None

        return lookup
