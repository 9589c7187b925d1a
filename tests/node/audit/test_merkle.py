"""RFC 6962 maths: reference vectors, a slow RFC-text reference, and every corrupted proof."""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest

from node.audit import merkle
from node.audit.exceptions import InvalidProof, RootMismatch

# -- a slow, obviously correct reference written straight from RFC 6962 section 2.1 --------


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_consistency(m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else ref_subproof(m, d, True)


def leaves_of(vectors: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(x) for x in vectors["leaves"]]


def flip(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ (1 << bit)]) + out[i][1:]
    return out


# -- vectors --------------------------------------------------------------------------------


def test_hasher_matches_rfc6962_vectors(rfc6962_vectors: dict[str, Any]) -> None:
    # prepare
    hv = rfc6962_vectors["hasher"]

    # execute / assert
    assert merkle.EMPTY_ROOT.hex() == hv["empty_root"]
    assert merkle.root([]).hex() == hv["empty_root"]
    for case in hv["leaf"]:
        assert merkle.leaf_hash(case["data_utf8"].encode()).hex() == case["want"]
    for case in hv["node"]:
        got = merkle.node_hash(case["left_utf8"].encode(), case["right_utf8"].encode())
        assert got.hex() == case["want"]


def test_roots_of_sizes_0_to_8_match_ct_vectors(rfc6962_vectors: dict[str, Any]) -> None:
    # prepare
    leaves = leaves_of(rfc6962_vectors)

    # execute
    roots = [merkle.root(leaves[:n]).hex() for n in range(9)]

    # assert
    assert roots == rfc6962_vectors["roots"]


def test_larger_golden_roots(rfc6962_vectors: dict[str, Any]) -> None:
    # prepare
    golden = rfc6962_vectors["golden_u16le"]["roots_b64"]

    for size, want in golden.items():
        leaves = [bytes([i & 0xFF, (i >> 8) & 0xFF]) for i in range(int(size))]
        # execute / assert
        assert merkle.root(leaves) == base64.b64decode(want)


def test_inclusion_and_consistency_vectors(rfc6962_vectors: dict[str, Any]) -> None:
    # prepare
    leaves = leaves_of(rfc6962_vectors)

    for case in rfc6962_vectors["inclusion"]:
        # execute
        proof = merkle.inclusion_proof(leaves[: case["size"]], case["index"])
        # assert
        assert [p.hex() for p in proof] == case["proof"]
    for case in rfc6962_vectors["consistency"]:
        proof = merkle.consistency_proof(leaves[: case["new"]], case["old"])
        assert [p.hex() for p in proof] == case["proof"]


# -- every proof of sizes 0..8, and its corruptions ----------------------------------------


def _shape(index: int, size: int) -> list[bool]:
    """Whether each sibling on the audit path lies to the right of the leaf."""
    return [start > index for start, _ in merkle.inclusion_ranges(index, size)]


def _inclusion_corruptions(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, Callable[[], None]]]:
    def call(
        i: int, n: int, p: list[bytes], r: bytes = root, lf: bytes = leaf
    ) -> Callable[[], None]:
        return lambda: merkle.verify_inclusion(lf, i, n, p, r)

    cases = [
        ("index - 1", call(index - 1, size, proof)),
        ("index + 1", call(index + 1, size, proof)),
        ("index ^ 2", call(index ^ 2, size, proof)),
        ("size * 2", call(index, size * 2, proof)),
        ("size / 2", call(index, size // 2, proof)),
        ("wrong leaf", call(index, size, proof, lf=merkle.leaf_hash(b"WrongLeaf"))),
        ("empty root", call(index, size, proof, r=merkle.EMPTY_ROOT)),
        ("padded with root", call(index, size, [*proof, root])),
        ("padded with zeros", call(index, size, [*proof, b"\0" * 32])),
        ("preceded by root", call(index, size, [root, *proof])),
        ("short element", call(index, size, [*proof[:-1], proof[-1][:31]] if proof else [b""])),
    ]
    # A neighbouring size whose audit path has the same shape (e.g. leaf 0 of 3 and of 4)
    # accepts the same proof by design: the signed root, not the proof, pins the size. Only
    # sizes with a different shape are corruptions.
    for wrong in (size - 1, size + 1):
        if not 0 <= index < wrong or _shape(index, wrong) != _shape(index, size):
            cases.append((f"size {wrong}", call(index, wrong, proof)))
    for i in range(len(proof)):
        for bit in (0, 3, 7):
            cases.append((f"proof[{i}] bit {bit}", call(index, size, flip(proof, i, bit))))
    if proof:
        cases.append(("truncated", call(index, size, proof[:-1])))
        cases.append(("first removed", call(index, size, proof[1:])))
    if len(proof) > 1:
        cases.append(("swapped", call(index, size, [proof[1], proof[0], *proof[2:]])))
    return cases


@pytest.mark.parametrize("size", range(1, 9))
def test_every_inclusion_proof_verifies_and_every_corruption_fails(
    rfc6962_vectors: dict[str, Any], size: int
) -> None:
    # prepare
    leaves = leaves_of(rfc6962_vectors)[:size]
    root = merkle.root(leaves)
    assert root == ref_mth(leaves)

    for index in range(size):
        # execute
        proof = merkle.inclusion_proof(leaves, index)
        leaf = merkle.leaf_hash(leaves[index])

        # assert
        assert proof == ref_path(index, leaves)
        merkle.verify_inclusion(leaf, index, size, proof, root)
        for desc, bad in _inclusion_corruptions(index, size, proof, root, leaf):
            with pytest.raises(InvalidProof):
                bad()
                pytest.fail(f"corruption {desc!r} of ({index}, {size}) was accepted")


def test_inclusion_in_empty_tree_is_refused() -> None:
    # execute / assert
    with pytest.raises(InvalidProof):
        merkle.verify_inclusion(merkle.leaf_hash(b""), 0, 0, [], merkle.EMPTY_ROOT)
    with pytest.raises(ValueError):
        merkle.inclusion_proof([], 0)


def test_root_mismatch_carries_both_roots(rfc6962_vectors: dict[str, Any]) -> None:
    # prepare
    leaves = leaves_of(rfc6962_vectors)
    proof = merkle.inclusion_proof(leaves, 3)

    # execute
    with pytest.raises(RootMismatch) as err:
        merkle.verify_inclusion(merkle.leaf_hash(b"x"), 3, 8, proof, merkle.root(leaves))

    # assert
    assert err.value.expected == merkle.root(leaves)
    assert err.value.calculated != err.value.expected


def _cshape(old: int, new: int) -> list[bool]:
    """Whether each range of the consistency proof lies inside the old tree."""
    return [start < old for start, _ in merkle.consistency_ranges(old, new)]


def _consistency_corruptions(
    old: int, new: int, proof: list[bytes], r1: bytes, r2: bytes
) -> list[tuple[str, Callable[[], None]]]:
    def call(m: int, n: int, p: list[bytes], a: bytes = r1, b: bytes = r2) -> Callable[[], None]:
        return lambda: merkle.verify_consistency(m, n, a, b, p)

    other = hashlib.sha256(b"other").digest()
    cases = [
        ("wrong old root", call(old, new, proof, a=other)),
        # An empty old tree is a prefix of every tree: its (empty) proof cannot bind new_root.
        ("wrong new root", call(old, new, proof, b=other)) if old > 0 else None,
        ("roots swapped", call(old, new, proof, a=r2, b=r1)) if r1 != r2 else None,
        ("padded", call(old, new, [*proof, r2])),
        ("preceded", call(old, new, [r1, *proof])),
    ]
    if old > 0:  # every tree is consistent with the empty one, so size changes need old > 0
        cases += [
            ("old + 1", call(old + 1, new, proof)) if old + 1 <= new else None,
            ("old - 1", call(old - 1, new, proof)),
        ]
        # As for inclusion: a new size whose proof has the same shape accepts the same
        # hashes by design (the signed roots pin the sizes); other sizes must fail.
        for wrong in (new - 1, new + 1):
            if wrong < old or _cshape(old, wrong) != _cshape(old, new):
                cases.append((f"new {wrong}", call(old, wrong, proof)))
    for i in range(len(proof)):
        for bit in (0, 3, 7):
            cases.append((f"proof[{i}] bit {bit}", call(old, new, flip(proof, i, bit))))
    if proof:
        cases.append(("truncated", call(old, new, proof[:-1])))
        cases.append(("first removed", call(old, new, proof[1:])))
        cases.append(("short element", call(old, new, [*proof[:-1], proof[-1][:31]])))
    return [c for c in cases if c is not None]


@pytest.mark.parametrize("new", range(0, 9))
def test_every_consistency_proof_verifies_and_every_corruption_fails(
    rfc6962_vectors: dict[str, Any], new: int
) -> None:
    # prepare
    leaves = leaves_of(rfc6962_vectors)[:new]
    r2 = merkle.root(leaves)

    for old in range(0, new + 1):
        r1 = merkle.root(leaves[:old])
        # execute
        proof = merkle.consistency_proof(leaves, old)

        # assert
        assert proof == ref_consistency(old, leaves)
        merkle.verify_consistency(old, new, r1, r2, proof)
        for desc, bad in _consistency_corruptions(old, new, proof, r1, r2):
            with pytest.raises(InvalidProof):
                bad()
                pytest.fail(f"corruption {desc!r} of ({old}, {new}) was accepted")


def test_consistency_with_sizes_out_of_order_is_refused() -> None:
    # execute / assert
    with pytest.raises(InvalidProof):
        merkle.verify_consistency(3, 2, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    with pytest.raises(ValueError):
        merkle.consistency_ranges(3, 2)


def test_random_trees_agree_with_reference() -> None:
    # prepare
    rng = random.Random(6962)
    leaves = [rng.randbytes(rng.randrange(0, 12)) for _ in range(70)]

    for _ in range(60):
        n = rng.randrange(1, 70)
        i = rng.randrange(n)
        m = rng.randrange(0, n + 1)
        # execute / assert
        assert merkle.root(leaves[:n]) == ref_mth(leaves[:n])
        assert merkle.inclusion_proof(leaves[:n], i) == ref_path(i, leaves[:n])
        assert merkle.consistency_proof(leaves[:n], m) == ref_consistency(m, leaves[:n])


def test_proof_sizes_follow_the_log_of_the_tree_size() -> None:
    """Lengths equal the closed forms of transparency-dev (inner + border hashes)."""
    # prepare
    rng = random.Random(9162)

    for _ in range(2000):
        n = rng.randrange(2, 1 << 40)
        i = rng.randrange(n)
        m = rng.randrange(1, n)
        inner = (i ^ (n - 1)).bit_length()
        want_incl = inner + bin(i >> inner).count("1")
        shift = (m & -m).bit_length() - 1
        inner_c = ((m - 1) ^ (n - 1)).bit_length()
        want_cons = (0 if m == 1 << shift else 1) + inner_c - shift
        want_cons += bin((m - 1) >> inner_c).count("1")

        # execute / assert
        assert len(merkle.inclusion_ranges(i, n)) == want_incl <= (n - 1).bit_length()
        assert len(merkle.consistency_ranges(m, n)) == want_cons


def test_perfect_subtrees_cover_ranges_exactly() -> None:
    # prepare
    rng = random.Random(1)
    for _ in range(300):
        n = rng.randrange(2, 5000)
        i = rng.randrange(n)
        for start, end in merkle.inclusion_ranges(i, n) + merkle.consistency_ranges(
            rng.randrange(1, n), n
        ):
            # execute
            parts = merkle.perfect_subtrees(start, end)
            # assert
            covered = [(idx << lv, (idx + 1) << lv) for lv, idx in parts]
            assert covered[0][0] == start and covered[-1][1] == end
            assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))


def test_misaligned_range_is_refused() -> None:
    # execute / assert
    with pytest.raises(ValueError):
        merkle.perfect_subtrees(1, 5)
    with pytest.raises(ValueError):
        merkle.split_point(1)
