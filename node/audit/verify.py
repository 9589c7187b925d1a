"""Full verification of a stored log against a signed checkpoint, with tampering located.

``verify_log`` re-reads every entry, re-hashes it and rebuilds the RFC 6962 tree from scratch;
the signed checkpoint is the only thing it trusts. What it checks, in order:

1. the anchor checkpoint's signature (the auditor's own copy, or the newest one stored);
2. every checkpoint stored in the log: signature, then root against the recomputed tree of its
   size (a stored checkpoint that disagrees with the entries is a rewrite after signing);
3. each entry row: its index has no gap (deletion), its bytes hash to the leaf hash stored
   when it was appended (edit), and the position it claims (``seq``) is where it sits
   (insertion, deletion with renumbering, reordering);
4. the log still holds at least the checkpoint's size (truncation), and the recomputed root
   equals the signed root;
5. the stored interior nodes (from which proofs are served) agree with the recomputed tree;
6. the search index (the ``time``/``actor``/``action``/``job``/``dataset`` columns and the
   ``subjects`` rows, which the tree does not cover) says exactly what each entry's hashed
   bytes say, so a rewritten column cannot hide an entry from ``search`` or misplace it.

When the root differs but no row-level check fired (an attacker who also rewrote the stored
hashes), the damage is located two ways: by descending the stored tree to the lowest subtree
whose stored hash differs from the recomputed one, and by the stored checkpoint history (the
first signed checkpoint the entries no longer match bounds the range).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.audit.checkpoint import SignedCheckpoint
from node.audit.entry import peek_index
from node.audit.exceptions import (
    CheckpointSignatureError,
    InvalidCheckpoint,
    LogCorruptError,
    TamperDetected,
)
from node.audit.merkle import (
    HASH_SIZE,
    fold_right,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_from_hashes,
)
from node.audit.reader import LogReader

MAX_FINDINGS: Final = 1000


@dataclass(frozen=True)
class Finding:
    """One verification failure: what kind, at which entry position, and a safe description.

    ``kind`` is one of ``checkpoint_signature``, ``checkpoint_origin``, ``stored_checkpoint``,
    ``missing``, ``edited``, ``out_of_place``, ``malformed``, ``truncated``, ``root_mismatch``,
    ``diverges``, ``stored_tree``, ``search_index`` or ``key_mismatch``. ``position`` is the
    first affected entry index, or ``None`` when the finding is not about one entry.
    """

    kind: str
    position: int | None
    detail: str

    def to_json_obj(self) -> dict[str, object]:
        """Return the finding as a JSON-ready dict (for ``--format json``)."""
        return {"kind": self.kind, "position": self.position, "detail": self.detail}


@dataclass
class VerifyReport:
    """What ``verify_log`` checked and found.

    ``anchored`` is true when the checkpoint came from outside the log (the witness's, or
    one the auditor kept). An unanchored report only says the log agrees with its own
    newest checkpoint, which a truncation back to an older checkpoint, or a rewrite by
    someone holding the node's key, keeps true.
    """

    origin: str
    checkpoint_size: int
    checkpoint_time: str
    anchored: bool = False
    log_size: int = 0
    entries_checked: int = 0
    checkpoints_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    @property
    def unsigned_tail(self) -> int:
        """Entries appended after the anchor checkpoint: present, but not yet provable."""
        return max(0, self.log_size - self.checkpoint_size)

    def add(self, kind: str, position: int | None, detail: str) -> None:
        """Record a finding (at most ``MAX_FINDINGS``; the rest are summarized)."""
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(kind, position, detail))

    def to_json_obj(self) -> dict[str, object]:
        """Return the report as a JSON-ready dict."""
        return {
            "ok": self.ok,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_time": self.checkpoint_time,
            "anchored": self.anchored,
            "log_size": self.log_size,
            "entries_checked": self.entries_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "unsigned_tail": self.unsigned_tail,
            "findings": [f.to_json_obj() for f in self.findings],
        }


class _Rebuild:
    """Leaf hashes and roots recomputed from the entry rows alone."""

    def __init__(self, wanted_sizes: set[int]) -> None:
        self.leaves = bytearray()
        self.count = 0
        self.parts: list[tuple[int, bytes]] = []
        self.roots: dict[int, bytes] = {}
        self._wanted = wanted_sizes

    def push(self, leaf: bytes) -> None:
        self.leaves += leaf
        level, h = 0, leaf
        parts = self.parts
        while parts and parts[-1][0] == level:
            h = node_hash(parts.pop()[1], h)
            level += 1
        parts.append((level, h))
        self.count += 1
        if self.count in self._wanted:
            self.roots[self.count] = fold_right([x for _, x in parts])

    def leaf(self, index: int) -> bytes:
        return bytes(self.leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def subtree(self, level: int, index: int) -> bytes:
        start, end = index << level, (index + 1) << level
        view = self.leaves[start * HASH_SIZE : end * HASH_SIZE]
        step = HASH_SIZE
        return root_from_hashes([bytes(view[i : i + step]) for i in range(0, len(view), step)])


def _signed_by_one(cp: SignedCheckpoint, keys: Sequence[Ed25519PublicKey]) -> bool:
    for key in keys:
        try:
            cp.verify(key)
        except CheckpointSignatureError:
            continue
        return True
    return False


def _key_hint(keys: Sequence[Ed25519PublicKey], origin: str) -> str:
    raw = [k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) for k in keys]
    shown = ", ".join(hashlib.sha256(r).hexdigest()[:16] for r in raw)
    return (
        f"no checkpoint of log {origin!r} verifies under the key(s) given "
        f"(SHA-256 {shown}): they are not this node's checkpoint key(s) "
        f"key; pass the certificate the federation CA issued to {origin!r} "
        f"(e.g. {origin}.crt), or its Ed25519 key, and after a key rotation the old one too. "
        "If that is what you gave, every checkpoint in the log was forged"
    )


_COLUMNS: Final = ("time", "actor", "action", "job", "dataset")


def _check_columns(
    report: VerifyReport, index: int, stored: tuple[object, ...], implied: tuple[str, ...]
) -> None:
    """Compare an entry's stored search columns with what its hashed bytes say."""
    wrong = [
        name
        for name, have, want in zip(_COLUMNS, stored, implied, strict=True)
        if not (isinstance(have, str) and have == want)
    ]
    if wrong:
        report.add(
            "search_index",
            index,
            f"entry {index}'s search column(s) {', '.join(wrong)} differ from its hashed bytes "
            "(search would hide or misplace it)",
        )


def _subject_digest(index: int, tokens: Iterable[object]) -> int:
    """An order-free digest of one entry's (index, token) rows, to compare without sorting."""
    total = 0
    for token in tokens:
        raw = f"{index}\x00{token}".encode() if isinstance(token, str) else b"\xff"
        total += int.from_bytes(hashlib.blake2b(raw, digest_size=16).digest(), "big")
    return total


def _check_subjects(reader: LogReader, expected: dict[int, int], report: VerifyReport) -> None:
    """The firm-token index must hold exactly each entry's tokens, nothing more or less."""
    found: dict[int, int] = {}
    for index, token in reader.store.iter_subjects():
        key = index if isinstance(index, int) else -1
        found[key] = found.get(key, 0) + _subject_digest(key, [token])
    for index in sorted(set(expected) | set(found)):
        if expected.get(index) != found.get(index):
            where = None if index < 0 else index
            report.add(
                "search_index",
                where,
                f"the firm-token index of entry {index} differs from its hashed bytes "
                "(a token search would hide or misplace it)"
                if where is not None
                else "the firm-token index holds rows for no entry",
            )


def _descend(reader: LogReader, rebuilt: _Rebuild, size: int, report: VerifyReport) -> bool:
    """Locate the lowest stored subtrees of ``[0, size)`` that disagree with the rebuild."""
    found = False
    todo = perfect_subtrees(0, size)
    while todo and len(report.findings) < MAX_FINDINGS:
        try:
            stored = reader.store.subtree_hashes(todo)
        except LogCorruptError:
            report.add("stored_tree", None, "stored tree nodes are missing; cannot descend")
            return found
        nxt: list[tuple[int, int]] = []
        for (level, index), h in zip(todo, stored, strict=True):
            if h == rebuilt.subtree(level, index):
                continue
            if level == 0:
                found = True
                report.add(
                    "edited",
                    index,
                    f"entry {index} differs from the leaf the stored tree was built from",
                )
                continue
            left, right = (level - 1, 2 * index), (level - 1, 2 * index + 1)
            try:
                below = reader.store.subtree_hashes([left, right])
            except LogCorruptError:
                below = [b"", b""]
            bad = [c for c, x in zip((left, right), below, strict=True) if x != rebuilt.subtree(*c)]
            if bad:
                nxt += bad
            else:  # both children match but their parent does not: the children were rewritten
                found = True
                first, last = index << level, ((index + 1) << level) - 1
                report.add(
                    "edited",
                    first,
                    f"one of entries {first}..{last} was rewritten together with its stored hash",
                )
        todo = nxt
    return found


def verify_log(
    reader: LogReader,
    public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    checkpoint: SignedCheckpoint | None = None,
) -> VerifyReport:
    """Recompute the whole log from its entries and check it against a signed checkpoint.

    Parameters
    ----------
    reader
        The log to check (``LogReader.open(directory)``).
    public_key
        The node's Ed25519 public key, obtained independently of the log; after a key
        rotation, every key the node has used (each checkpoint must verify under one).
    checkpoint
        The checkpoint to trust, e.g. one the auditor kept or fetched from the witness.
        Defaults to the newest checkpoint stored in the log, and the report is then
        *unanchored*: an attacker who truncated the log back to an earlier stored checkpoint
        (dropping the later entries, tree nodes and checkpoints), or who holds the node's key,
        leaves it consistent; the witness's copy cannot be rolled back like that.

    Returns
    -------
    VerifyReport
        Only when nothing was found; ``unsigned_tail`` counts entries newer than the anchor.

    Raises
    ------
    TamperDetected
        Anything failed; ``findings`` lists each problem with its position.
    """
    anchor = checkpoint
    if anchor is None:
        try:
            anchor = reader.latest_checkpoint()
        except InvalidCheckpoint:
            anchor = None
    if anchor is None:
        report = VerifyReport(reader.origin, 0, "")
        report.add("checkpoint_signature", None, "no checkpoint to verify against")
        raise TamperDetected(report.findings, report)
    report = VerifyReport(anchor.origin, anchor.size, anchor.time, anchored=checkpoint is not None)
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    anchor_signed = _signed_by_one(anchor, keys)
    if reader.origin and anchor.origin != reader.origin:
        report.add("checkpoint_origin", None, "the checkpoint is for another log")

    stored: list[SignedCheckpoint] = []
    unsigned = 0
    for raw in reader.store.checkpoints():
        report.checkpoints_checked += 1
        try:
            cp = SignedCheckpoint.from_bytes(raw)
        except InvalidCheckpoint:
            unsigned += 1
            continue
        if not _signed_by_one(cp, keys):
            unsigned += 1
            continue
        stored.append(cp)
    if not anchor_signed and not stored:
        # Not one signature verifies: far more likely the wrong key than a forged history.
        report.add("key_mismatch", None, _key_hint(keys, reader.origin or anchor.origin))
    else:
        if not anchor_signed:
            report.add("checkpoint_signature", None, "the anchor checkpoint's signature is invalid")
        for _ in range(unsigned):
            report.add("stored_checkpoint", None, "a stored checkpoint is malformed or unsigned")

    rebuilt = _Rebuild({anchor.size} | {cp.size for cp in stored})
    subjects: dict[int, int] = {}
    expected = 0
    for index, data, stored_leaf, *columns in reader.store.iter_rows():
        if index != expected:
            report.add("missing", expected, f"entries {expected}..{index - 1} were deleted")
            expected = index
        leaf = leaf_hash(data)
        if leaf != stored_leaf:
            report.add("edited", index, f"entry {index} no longer matches its stored leaf hash")
        implied = peek_index(data)
        if implied is None:
            report.add("malformed", index, f"entry {index} is not a readable entry")
        else:
            if implied.seq != rebuilt.count:
                report.add(
                    "out_of_place",
                    rebuilt.count,
                    f"entry at position {rebuilt.count} was appended as entry {implied.seq} "
                    "(inserted, deleted or reordered)",
                )
            _check_columns(report, index, tuple(columns), implied.row())
            if implied.subjects:
                subjects[index] = _subject_digest(index, implied.subjects)
        rebuilt.push(leaf)
        expected += 1
    report.log_size = rebuilt.count
    report.entries_checked = rebuilt.count
    located = bool(report.findings)

    if rebuilt.count < anchor.size:
        report.add(
            "truncated",
            rebuilt.count,
            f"log holds {rebuilt.count} entries, the checkpoint commits to {anchor.size}",
        )
    elif rebuilt.roots.get(anchor.size, fold_right([])) != anchor.root:
        report.add("root_mismatch", None, "recomputed root differs from the checkpoint's root")
        if not located:
            located = _descend(reader, rebuilt, anchor.size, report)
    previous = 0
    for cp in sorted(stored, key=lambda c: c.size):
        if cp.size > rebuilt.count:
            continue
        if rebuilt.roots.get(cp.size, fold_right([])) != cp.root:
            report.add(
                "diverges",
                previous,
                f"entries {previous}..{cp.size - 1} differ from the checkpoint signed at {cp.time}",
            )
            break
        previous = cp.size
    _check_subjects(reader, subjects, report)
    if not report.findings and anchor.size:
        try:
            served = reader.store.range_hashes([(0, anchor.size)])[0]
        except LogCorruptError:
            served = b""
        if served != anchor.root:
            report.add("stored_tree", None, "stored tree nodes disagree: proofs would not verify")
    if report.findings:
        raise TamperDetected(report.findings, report)
    return report
