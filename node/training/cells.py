"""What the training protocols compute on: Paillier ciphertexts, or the plaintext twin's residues.

The vertical, SecureBoost and horizontal roles are written once and run either encrypted or as
the insecure plaintext twin (benchmarks and the equivalence tests that pin the encrypted run to
bit-identical results). ``Cells`` names both: a ``Ciphertexts`` batch bound to the job's public
key, or a ``Residues`` batch bound to the twin's modulus. Role code only passes them between the
arithmetic object of its job (which refuses the other kind, and another key, at run time) and
the wire; mypy keeps plain integer lists out of both places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from node.crypto.paillier import Ciphertexts


@dataclass(frozen=True, slots=True, repr=False)
class Residues:
    """The twin's stand-in for a ciphertext batch: plaintext residues modulo ``modulus``.

    ``repr`` shows the count only (they are plaintexts).
    """

    modulus: int
    values: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: slice) -> Residues:
        return Residues(self.modulus, self.values[index])

    def __repr__(self) -> str:
        return f"Residues(count={len(self.values)})"

    def take(self, positions: Iterable[int]) -> Residues:
        """The residues at ``positions``, in that order."""
        values = self.values
        return Residues(self.modulus, tuple([values[i] for i in positions]))


Cells = Ciphertexts | Residues


def ciphertexts_of(cells: Cells) -> Ciphertexts:
    """``cells`` as ciphertexts, for the encrypted run's arithmetic.

    Raises
    ------
    TypeError
        ``cells`` are the twin's plaintext residues.
    """
    if not isinstance(cells, Ciphertexts):
        raise TypeError("plaintext twin residues were passed where ciphertexts are expected")
    return cells


def residues_of(cells: Cells, modulus: int | None) -> Residues:
    """``cells`` as the twin's residues modulo ``modulus`` (``None``: any modulus).

    Raises
    ------
    TypeError
        ``cells`` are ciphertexts, or residues of another modulus.
    """
    if not isinstance(cells, Residues) or modulus not in (None, cells.modulus):
        raise TypeError("the plaintext twin was given cells that are not its own residues")
    return cells
