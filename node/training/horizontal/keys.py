"""Building the job's ``SumScheme`` on each side: key holder, other banks, aggregator."""

from __future__ import annotations

from concurrent.futures import Executor

from node.training.horizontal.exceptions import KeySetupError
from node.training.horizontal.scheme import PlainScheme, SumScheme
from node.training.horizontal.spec import HorizontalSpec


def new_scheme(
    spec: HorizontalSpec, pool: Executor | None = None
) -> tuple[SumScheme, bytes, bytes]:
    """Key holder: a fresh scheme plus its secret (for the banks) and public (for the
    aggregator) serializations."""
    if not spec.encrypted:
        return PlainScheme(spec.key_bits), b"", b""
    from node.training.horizontal.paillier_scheme import PaillierScheme

    scheme = PaillierScheme.generate(spec.key_bits, pool)
    return scheme, scheme.secret_bytes(), scheme.public_bytes()


def scheme_for_bank(
    spec: HorizontalSpec, name: str, secret: bytes, pool: Executor | None = None
) -> SumScheme:
    """Other banks: the scheme from the key holder's secret.

    Raises
    ------
    KeySetupError
        The scheme named by the key holder is not the job's, or the key does not parse.
    """
    if name != spec.encryption:
        raise KeySetupError(
            f"key holder uses scheme {name!r}, the job file says {spec.encryption!r}"
        )
    if not spec.encrypted:
        return PlainScheme(spec.key_bits)
    from node.training.horizontal.paillier_scheme import PaillierScheme

    return PaillierScheme.from_secret(secret, spec.key_bits, pool)


def scheme_for_aggregator(spec: HorizontalSpec, name: str, public: bytes) -> SumScheme:
    """Aggregator: the scheme from the public key only (it cannot open sums)."""
    if name != spec.encryption:
        raise KeySetupError(
            f"key holder uses scheme {name!r}, the job file says {spec.encryption!r}"
        )
    if not spec.encrypted:
        return PlainScheme(spec.key_bits)
    from node.training.horizontal.paillier_scheme import PaillierScheme

    return PaillierScheme.from_public(public, spec.key_bits)
