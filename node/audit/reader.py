"""Read access to a stored log: entries, roots, proofs, checkpoints and search.

``LogReader`` is what auditors' tools open (read-only, beside a running node, since SQLite in
WAL mode lets readers work while the writer appends); ``AccessLog`` extends it with appends
and signing. Proofs are built from the stored perfect subtrees (``LogStore.range_hashes``), so
their cost grows with ``log2(n)``, not with ``n``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from node.audit.checkpoint import SignedCheckpoint
from node.audit.entry import AccessEntry, decode
from node.audit.exceptions import InvalidEntry, ProofRangeError, SearchIndexMismatch
from node.audit.merkle import EMPTY_ROOT, consistency_ranges, inclusion_ranges
from node.audit.search import SearchQuery
from node.audit.store import LogStore


class LogReader:
    """A view of one access log. Thread-safe.

    Use ``LogReader.open(directory)`` for a read-only view.
    """

    def __init__(self, store: LogStore) -> None:
        self._store = store

    @classmethod
    def open(cls, directory: Path | str) -> LogReader:
        """Open the log in ``directory`` read-only.

        Raises
        ------
        FileNotFoundError
            There is no access log in ``directory``.
        """
        return cls(LogStore(Path(directory), readonly=True))

    @property
    def origin(self) -> str:
        """The log's origin: the node id its checkpoints name (empty if never set)."""
        return self._store.get_meta("origin") or ""

    def size(self) -> int:
        """Return the number of durable entries (one past the highest stored index).

        Gaps left by deleted rows are not looked for here; ``verify_log`` reports them.
        """
        return self._store.size()

    def _check_size(self, size: int) -> None:
        limit = self.size()
        if not 0 <= size <= limit:
            raise ProofRangeError("tree size", size, limit)

    def entry_bytes(self, index: int) -> bytes:
        """Return the canonical bytes of entry ``index``.

        Raises
        ------
        ProofRangeError
            No durable entry has that index.
        """
        data = self._store.entry(index) if index >= 0 else None
        if data is None:
            raise ProofRangeError("entry index", index, self.size())
        return data

    def entry(self, index: int) -> AccessEntry:
        """Return entry ``index`` decoded.

        Raises
        ------
        ProofRangeError
            No durable entry has that index.
        InvalidEntry
            The stored bytes are not a canonical entry (the store was altered).
        """
        return decode(self.entry_bytes(index))

    def root_at(self, size: int) -> bytes:
        """Return the root hash of the first ``size`` entries.

        Raises
        ------
        ProofRangeError
            ``size`` exceeds the durable size.
        """
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._store.range_hashes([(0, size)])[0]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of entry ``index`` in the tree of ``size`` entries.

        ``size`` defaults to the current durable size; auditors pass a checkpoint's size.

        Raises
        ------
        ProofRangeError
            ``size`` exceeds the durable size, or ``index >= size``.
        """
        size = self.size() if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofRangeError("entry index", index, size)
        return self._store.range_hashes(inclusion_ranges(index, size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the consistency proof between the trees of ``old_size`` and ``new_size``.

        Raises
        ------
        ProofRangeError
            ``new_size`` exceeds the durable size, or ``old_size`` exceeds ``new_size``.
        """
        new_size = self.size() if new_size is None else new_size
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ProofRangeError("old tree size", old_size, new_size)
        return self._store.range_hashes(consistency_ranges(old_size, new_size))

    def checkpoints(self) -> list[SignedCheckpoint]:
        """Return every checkpoint the log signed, oldest first (signatures not checked).

        Raises
        ------
        InvalidCheckpoint
            A stored checkpoint does not parse (the store was altered).
        """
        return [SignedCheckpoint.from_bytes(b) for b in self._store.checkpoints()]

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """Return the newest stored checkpoint, or ``None`` if none was signed yet.

        Raises
        ------
        InvalidCheckpoint
            The stored checkpoint does not parse (the store was altered).
        """
        data = self._store.latest_checkpoint()
        return None if data is None else SignedCheckpoint.from_bytes(data)

    def search(self, query: SearchQuery, *, scan: bool = False) -> list[tuple[int, AccessEntry]]:
        """Return ``(index, entry)`` for entries matching ``query``, oldest first.

        By default candidates come from the store's search columns, which the Merkle tree
        does not cover; each is decoded and re-checked on its hashed bytes, and a candidate
        that fails the re-check proves the columns were rewritten, so the search stops with
        ``SearchIndexMismatch`` instead of quietly dropping it. A rewritten column can still
        hide an entry from an index search: ``verify`` checks every column, and ``scan=True``
        ignores the columns and matches every entry's hashed bytes (slower, complete).

        Raises
        ------
        SearchIndexMismatch
            Index search only: candidate rows whose columns disagree with their bytes.
        """
        if scan:
            found: list[tuple[int, AccessEntry]] = []
            for index, data, _ in self._store.iter_entries():
                try:
                    entry = decode(data)
                except InvalidEntry:
                    continue  # verify reports undecodable entries
                if query.matches(entry):
                    found.append((index, entry))
                    if len(found) >= query.limit:
                        break
            return found
        hits: list[tuple[int, AccessEntry]] = []
        lies: list[int] = []
        for index, data in self._store.search(query):
            try:
                entry = decode(data)
            except InvalidEntry:
                lies.append(index)
                continue
            if query.matches(entry):
                hits.append((index, entry))
            else:
                lies.append(index)
        if lies:
            raise SearchIndexMismatch(lies)
        return hits

    @property
    def store(self) -> LogStore:
        """The underlying store (for ``verify`` and ``export``, which stream raw rows)."""
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        self._store.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
