"""The ``horizontal`` section of a job file, validated once into frozen dataclasses.

Example::

    type: horizontal
    parties: {bank_a: {}, bank_b: {}, bank_c: {}}
    horizontal:
      model: {kind: mlp, hidden: [32, 16]}   # or {kind: lr}
      algorithm: fedprox                      # or fedavg
      mu: 0.01                                # FedProx proximal weight
      rounds: 10
      local_epochs: 1
      batch_size: 64
      learning_rate: 0.05
      quorum: 2                               # banks needed for a round to count
      round_timeout_s: 120

Every field has a default that is safe and works; see ``docs/protocols/horizontal.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from node.training.horizontal.exceptions import JobSpecError

MODEL_KINDS: Final = ("lr", "mlp")
ALGORITHMS: Final = ("fedavg", "fedprox")
ENCRYPTIONS: Final = ("paillier", "none")
MIN_KEY_BITS: Final = 2048
"""NIST SP 800-57 rates a 2048-bit factoring modulus at 112-bit security, the floor for new
keys; only tests may go lower (``allow_small_key``), to keep their runtime small."""


@dataclass(frozen=True)
class ModelSpec:
    """Which torch model every bank trains: logistic regression or a small MLP."""

    kind: str = "lr"
    hidden: tuple[int, ...] = (32, 16)


@dataclass(frozen=True)
class HorizontalSpec:
    """Everything the banks and the aggregator agree on for one horizontal job.

    Attributes
    ----------
    banks:
        The job's parties, in job-file order; all of them train.
    key_holder:
        The bank that generates the shared Paillier key pair (default: the first bank).
    quorum:
        Minimum banks whose update must arrive for a round to complete. Never below 2: a
        "sum" of one bank would hand that bank's update in the clear to the others.
    round_timeout_s:
        Per-phase deadline at the aggregator; a bank that misses it is left out of the round.
    clip, frac_bits, max_samples_per_bank:
        The fixed-point budget: each update value is clipped to ``[-clip, clip]``, carries
        ``frac_bits`` fractional bits and is weighted by a sample count of at most
        ``max_samples_per_bank``; slot widths are derived from these and ``len(banks)``.
    encryption:
        ``paillier`` (the default) or ``none`` — the same protocol with plaintext sums, for
        benchmarks only: the aggregator then sees every bank's update.
    """

    banks: tuple[str, ...]
    model: ModelSpec = field(default_factory=ModelSpec)
    algorithm: str = "fedavg"
    mu: float = 0.0
    rounds: int = 10
    local_epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 0.05
    quorum: int = 2
    round_timeout_s: float = 120.0
    key_holder: str = ""
    key_bits: int = MIN_KEY_BITS
    encryption: str = "paillier"
    clip: float = 4.0
    frac_bits: int = 20
    max_samples_per_bank: int = 1 << 20
    eval_bins: int = 200
    seed: int = 0

    @property
    def encrypted(self) -> bool:
        return self.encryption == "paillier"


def _get(section: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise JobSpecError(key, f"must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _positive(key: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise JobSpecError(key, "must be a positive finite number")


def _model(section: Mapping[str, Any]) -> ModelSpec:
    raw = section.get("model", {"kind": "lr"})
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, Mapping):
        raise JobSpecError("model", "must be a mapping like {kind: lr} or {kind: mlp}")
    kind = raw.get("kind", "lr")
    if kind not in MODEL_KINDS:
        raise JobSpecError("model.kind", f"must be one of {', '.join(MODEL_KINDS)}")
    hidden = raw.get("hidden", [32, 16])
    if (
        not isinstance(hidden, Sequence)
        or isinstance(hidden, str)
        or not hidden
        or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden)
    ):
        raise JobSpecError("model.hidden", "must be a non-empty list of positive layer widths")
    return ModelSpec(kind=kind, hidden=tuple(hidden))


def parse_horizontal_spec(
    section: Mapping[str, Any] | None, banks: Sequence[str], *, allow_small_key: bool = False
) -> HorizontalSpec:
    """Validate the ``horizontal`` section of a job file against the job's parties.

    Parameters
    ----------
    section:
        The mapping under ``horizontal:`` (``None`` means all defaults).
    banks:
        The job's parties in job-file order (``JobFile.parties``).
    allow_small_key:
        Accept ``key_bits`` below 2048 — tests only.

    Raises
    ------
    JobSpecError
        A field has the wrong type or range, a name is not a party, or the quorum cannot be
        met by the parties listed.
    """
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise JobSpecError("", "the 'horizontal' section must be a mapping")
    unknown = set(section) - {f for f in HorizontalSpec.__dataclass_fields__ if f != "banks"}
    if unknown:
        raise JobSpecError(sorted(unknown)[0], "is not a known setting; check the spelling")
    names = tuple(str(b) for b in banks)
    if len(names) < 2 or len(set(names)) != len(names):
        raise JobSpecError("parties", "a horizontal job needs at least two distinct banks")
    defaults = HorizontalSpec(banks=names)
    algorithm = _get(section, "algorithm", str, defaults.algorithm)
    if algorithm not in ALGORITHMS:
        raise JobSpecError("algorithm", f"must be one of {', '.join(ALGORITHMS)}")
    mu = _get(section, "mu", float, 0.01 if algorithm == "fedprox" else 0.0)
    if mu < 0 or not math.isfinite(mu):
        raise JobSpecError("mu", "must be a finite number >= 0")
    if algorithm == "fedavg" and mu != 0:
        raise JobSpecError("mu", "only applies to fedprox; remove it or set algorithm: fedprox")
    ints = {
        k: _get(section, k, int, getattr(defaults, k))
        for k in (
            "rounds",
            "local_epochs",
            "batch_size",
            "key_bits",
            "frac_bits",
            "max_samples_per_bank",
            "eval_bins",
            "seed",
        )
    }
    for key in ("rounds", "local_epochs", "batch_size", "max_samples_per_bank", "eval_bins"):
        if ints[key] < 1:
            raise JobSpecError(key, "must be a positive integer")
    if not 0 <= ints["frac_bits"] <= 40:
        raise JobSpecError("frac_bits", "must be between 0 and 40")
    if ints["key_bits"] < MIN_KEY_BITS and not allow_small_key:
        raise JobSpecError("key_bits", f"must be at least {MIN_KEY_BITS} (112-bit security)")
    learning_rate = _get(section, "learning_rate", float, defaults.learning_rate)
    _positive("learning_rate", learning_rate)
    clip = _get(section, "clip", float, defaults.clip)
    _positive("clip", clip)
    timeout = _get(section, "round_timeout_s", float, defaults.round_timeout_s)
    _positive("round_timeout_s", timeout)
    quorum = _get(section, "quorum", int, max(2, len(names) // 2 + 1))
    if not 2 <= quorum <= len(names):
        raise JobSpecError(
            "quorum",
            f"must be between 2 and the number of banks ({len(names)}); a sum of one "
            "bank would reveal its update",
        )
    key_holder = _get(section, "key_holder", str, names[0])
    if key_holder not in names:
        raise JobSpecError("key_holder", "must be one of the job's parties")
    encryption = _get(section, "encryption", str, defaults.encryption)
    if encryption not in ENCRYPTIONS:
        raise JobSpecError("encryption", f"must be one of {', '.join(ENCRYPTIONS)}")
    return HorizontalSpec(
        banks=names,
        model=_model(section),
        algorithm=algorithm,
        mu=mu,
        learning_rate=learning_rate,
        quorum=quorum,
        round_timeout_s=timeout,
        key_holder=key_holder,
        encryption=encryption,
        clip=clip,
        **ints,
    )
