"""RFC 6962 Merkle tree maths over raw bytes: hashes, roots, proofs and their verification.

Hashing is RFC 6962 section 2.1 exactly, so any Certificate Transparency tool can check our
logs and we can check theirs:

- leaf hash ``SHA-256(0x00 || entry bytes)``, interior node ``SHA-256(0x01 || left || right)``;
- a tree of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``;
- the empty tree's root is ``SHA-256()`` of nothing.

Proof *building* (``inclusion_proof``, ``consistency_proof``) follows the RFC 6962 ``PATH`` and
``SUBPROOF`` definitions; proof *checking* (``verify_inclusion``, ``verify_consistency``) is the
bit-walking algorithm of RFC 9162 sections 2.1.3.2 and 2.1.4.2, which needs only the proof, the
sizes and the roots. Verifiers raise ``InvalidProof`` instead of returning ``False``: ignoring a
failed check must not be possible by accident.

The builders are written over a *range* abstraction: a proof is a list of subtree hashes, each
the root of leaves ``[start, end)``; ``inclusion_ranges`` and ``consistency_ranges`` name the
ranges, and any source of subtree hashes (a list in memory, or the stored interior nodes of the
access log, see ``docs/audit-log.md``) fills them in. Every such range decomposes into at most
``log2(n)`` perfect, aligned subtrees (``perfect_subtrees``), which is what the store keeps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

from node.audit.exceptions import InvalidProof, RootMismatch

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)`` of one entry's bytes."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """Return ``k``, the largest power of two strictly smaller than ``n`` (requires ``n >= 2``).

    Raises
    ------
    ValueError
        ``n < 2``: a tree of 0 or 1 leaves has no split.
    """
    if n < 2:
        raise ValueError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of a tree whose leaf hashes are ``hashes``.

    Works left to right with a stack of perfect subtrees (a compact range), so it is linear
    and never recurses; the result equals the RFC 6962 recursive ``MTH``.
    """
    stack: list[bytes] = []
    sizes: list[int] = []
    for h in hashes:
        size = 1
        while sizes and sizes[-1] == size:
            h = node_hash(stack.pop(), h)
            sizes.pop()
            size *= 2
        stack.append(h)
        sizes.append(size)
    return fold_right(stack)


def fold_right(subtrees: Sequence[bytes]) -> bytes:
    """Combine the roots of consecutive perfect subtrees, largest first, into one root.

    RFC 6962 trees put the ragged part on the right, so the hash of leaves split into perfect
    subtrees of decreasing size is ``H(t0, H(t1, H(..., t_last)))``. An empty list is the
    empty tree.
    """
    if not subtrees:
        return EMPTY_ROOT
    h = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        h = node_hash(left, h)
    return h


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the root hash of the tree whose leaves are the entry bytes ``leaves``."""
    return root_from_hashes([leaf_hash(d) for d in leaves])


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split leaves ``[start, end)`` into aligned perfect subtrees, as ``(level, index)`` pairs.

    A subtree at ``(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``.
    Ranges produced by the RFC 6962 split (``inclusion_ranges``, ``consistency_ranges``) start
    on a boundary aligned to their size, so the split is the binary expansion of the length,
    largest part first; the range's hash is ``fold_right`` of the parts' hashes.

    Raises
    ------
    ValueError
        The range is empty or its start is not aligned to its largest part.
    """
    if end <= start or start < 0:
        raise ValueError(f"empty or negative range [{start}, {end})")
    parts: list[tuple[int, int]] = []
    pos = start
    remaining = end - start
    for level in range(remaining.bit_length() - 1, -1, -1):
        width = 1 << level
        if remaining & width:
            if pos % width:
                raise ValueError(f"range [{start}, {end}) is not aligned to RFC 6962 subtrees")
            parts.append((level, pos >> level))
            pos += width
    return parts


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes make the inclusion proof of ``index`` in ``size``.

    The order is the RFC 6962 ``PATH`` order: the leaf's sibling first, the root's child last.

    Raises
    ------
    ValueError
        Unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"inclusion proof needs 0 <= index < size, got index={index} size={size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes make the consistency proof from ``old_size``.

    Follows RFC 6962 ``SUBPROOF(m, D[n], true)``; the proof for ``old_size == new_size`` or
    ``old_size == 0`` is empty.

    Raises
    ------
    ValueError
        Unless ``0 <= old_size <= new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(
            f"consistency proof needs 0 <= old_size <= new_size, got {old_size} and {new_size}"
        )
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    ranges.reverse()
    return ranges


def _list_range_hasher(hashes: Sequence[bytes]) -> Callable[[int, int], bytes]:
    def range_hash(start: int, end: int) -> bytes:
        return root_from_hashes(hashes[start:end])

    return range_hash


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 6962 inclusion proof (audit path) of entry ``index`` among ``leaves``.

    Raises
    ------
    ValueError
        Unless ``0 <= index < len(leaves)``.
    """
    range_hash = _list_range_hasher([leaf_hash(d) for d in leaves])
    return [range_hash(s, e) for s, e in inclusion_ranges(index, len(leaves))]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the RFC 6962 consistency proof between the first ``old_size`` and all ``leaves``.

    Raises
    ------
    ValueError
        Unless ``0 <= old_size <= len(leaves)``.
    """
    range_hash = _list_range_hasher([leaf_hash(d) for d in leaves])
    return [range_hash(s, e) for s, e in consistency_ranges(old_size, len(leaves))]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.

    RFC 9162 section 2.1.3.2. Requires ``0 <= index < tree_size``.

    Raises
    ------
    InvalidProof
        The proof is malformed for this index and size (wrong length, wrong hash size,
        index out of range).
    RootMismatch
        The proof is well formed but leads to another root (a subclass of ``InvalidProof``).
    """
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf index {index} is not inside a tree of size {tree_size}")
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        _check_hash(p, "proof element")
        if sn == 0:
            raise InvalidProof(f"proof has more than the hashes needed for tree size {tree_size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(f"proof has fewer hashes than needed for tree size {tree_size}")
    if r != root:
        raise RootMismatch(expected=root, calculated=r)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 section 2.1.4.2, with the two cases it leaves to the caller made explicit: equal
    sizes need an empty proof and equal roots; an empty old tree needs an empty proof and the
    empty-tree root (every tree extends it).

    Raises
    ------
    InvalidProof
        Sizes out of order, or a proof of the wrong shape for these sizes.
    RootMismatch
        The proof does not lead to ``old_root`` or to ``new_root``.
    """
    if not 0 <= old_size <= new_size:
        raise InvalidProof(f"old size {old_size} must be between 0 and new size {new_size}")
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if old_size == new_size:
        if proof:
            raise InvalidProof("trees of equal size need an empty consistency proof")
        if old_root != new_root:
            raise RootMismatch(expected=old_root, calculated=new_root)
        return
    if old_size == 0:
        if proof:
            raise InvalidProof("a consistency proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise RootMismatch(expected=old_root, calculated=EMPTY_ROOT)
        return
    if not proof:
        raise InvalidProof(f"empty consistency proof between sizes {old_size} and {new_size}")
    path = list(proof)
    for p in path:
        _check_hash(p, "proof element")
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof has more hashes than these sizes need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof("consistency proof has fewer hashes than these sizes need")
    if fr != old_root:
        raise RootMismatch(expected=old_root, calculated=fr)
    if sr != new_root:
        raise RootMismatch(expected=new_root, calculated=sr)
