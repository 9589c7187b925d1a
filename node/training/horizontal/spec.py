"""The ``horizontal`` section of a job file, validated once into frozen dataclasses.

Example::

    type: horizontal
    parties: {bank_a: {}, bank_b: {}, bank_c: {}}
    horizontal:
      model: {kind: mlp, hidden: [32, 16]}   # or {kind: lr}
      preprocess: robust                      # each bank fits its own, on its training rows
      optimizer: adam                         # local steps: adam or sgd
      learning_rate: 0.005                    # local rate
      algorithm: fedprox                      # or fedavg: FedProx adds a proximal term locally
      mu: 0.01                                # FedProx proximal weight
      server_optimizer: fedavg                # or fedadam / fedyogi (Reddi et al. 2021)
      rounds: 40                              # an upper bound: early stopping ends runs sooner
      patience: 5
      local_epochs: 1
      batch_size: 64
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
from node.training.preprocess import DEFAULT_MODE, MODES

MODEL_KINDS: Final = ("lr", "mlp")
ALGORITHMS: Final = ("fedavg", "fedprox")
LOCAL_OPTIMIZERS: Final = ("adam", "sgd")
SERVER_OPTIMIZERS: Final = ("fedavg", "fedadam", "fedyogi")
CALIBRATIONS: Final = ("platt", "none")
ENCRYPTIONS: Final = ("paillier", "none")
ADAPTIVE_SERVER_RATE: Final = 0.1
"""FedAdam/FedYogi server rate: Reddi et al. (2021) report their best rates around 10**-1 to
10**-1.5 with adaptive clients; 0.1 matched the pooled model on default_credit and its hard
variant (docs/model-quality.md)."""
MIN_KEY_BITS: Final = 2048
"""NIST SP 800-57 rates a 2048-bit factoring modulus at 112-bit security, the floor for new
keys; only tests may go lower (``allow_small_key``), to keep their runtime small."""


@dataclass(frozen=True)
class FlowerSpec:
    """A bank's own Flower client instead of the built-in model (see ``flower_adapter.py``).

    ``client`` names a ``ClientApp``, a ``client_fn`` or a ``NumPyClient`` as
    ``module:attribute``; ``initial`` optionally a function returning the starting weights
    (needed when the client has no ``get_parameters``); ``scorer`` optionally a function
    ``(parameters, split, context) -> (probabilities, labels) | None`` for federated AUC, KS
    and calibration; ``run_config`` reaches the client as ``context.run_config`` and inside
    every ``config``.
    """

    client: str
    initial: str | None = None
    scorer: str | None = None
    run_config: Mapping[str, bool | float | int | str] = field(default_factory=dict)


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
    optimizer, learning_rate:
        The banks' local steps: Adam at 0.005 (scale-free per coordinate, no tuning per data
        set) or plain SGD.
    server_optimizer, server_learning_rate, server_tau:
        How the banks apply the decrypted mean update (every bank runs the same deterministic
        step on the same sum): ``fedavg`` adds it (times ``server_learning_rate``, 1.0);
        ``fedadam``/``fedyogi`` treat it as a pseudo-gradient for Adam/Yogi with ``tau`` the
        adaptivity floor (Reddi et al., *Adaptive Federated Optimization*, ICLR 2021).
    rounds, patience:
        ``rounds`` is an upper bound; the coordinator ends the run when the federated
        validation AUC has fallen more than one standard error below its best for ``patience``
        rounds (0 disables) and keeps the latest round within one standard error of the best.
    preprocess, calibration:
        Each bank's local column preparation (``node.training.preprocess``), and PD
        calibration (Platt scaling fitted on the summed validation histograms).
    """

    banks: tuple[str, ...]
    model: ModelSpec = field(default_factory=ModelSpec)
    preprocess: str = DEFAULT_MODE
    optimizer: str = "adam"
    algorithm: str = "fedavg"
    mu: float = 0.0
    server_optimizer: str = "fedavg"
    server_learning_rate: float = 1.0
    server_tau: float = 1e-3
    rounds: int = 40
    patience: int = 5
    local_epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 0.005
    calibration: str = "platt"
    flower: FlowerSpec | None = None
    quorum: int = 2
    round_timeout_s: float = 120.0
    key_holder: str = ""
    key_bits: int = MIN_KEY_BITS
    encryption: str = "paillier"
    clip: float = 4.0
    frac_bits: int = 20
    max_samples_per_bank: int = 1 << 20
    eval_bins: int = 400
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


def _reference(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value.count(":") != 1 or not all(value.split(":")):
        raise JobSpecError(f"flower.{key}", "must name module:attribute, e.g. my_bank.client:app")
    return value


def _flower(section: Mapping[str, Any]) -> FlowerSpec | None:
    raw = section.get("flower")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise JobSpecError("flower", "must be a mapping like {client: my_bank.client:app}")
    unknown = set(raw) - {"client", "initial", "scorer", "run_config"}
    if unknown:
        raise JobSpecError(f"flower.{sorted(unknown)[0]}", "is not a known setting")
    client = _reference(raw, "client")
    if client is None:
        raise JobSpecError("flower.client", "is required: name the ClientApp or client_fn")
    run_config = raw.get("run_config", {})
    if not isinstance(run_config, Mapping) or not all(
        isinstance(k, str) and isinstance(v, bool | float | int | str)
        for k, v in run_config.items()
    ):
        raise JobSpecError("flower.run_config", "must map names to numbers, strings or booleans")
    return FlowerSpec(
        client, _reference(raw, "initial"), _reference(raw, "scorer"), dict(run_config)
    )


def _choice(section: Mapping[str, Any], key: str, default: str, allowed: Sequence[str]) -> str:
    value = _get(section, key, str, default)
    if value not in allowed:
        raise JobSpecError(key, f"must be one of {', '.join(allowed)}")
    return str(value)


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
    algorithm = _choice(section, "algorithm", defaults.algorithm, ALGORITHMS)
    optimizer = _choice(section, "optimizer", defaults.optimizer, LOCAL_OPTIMIZERS)
    server = _choice(section, "server_optimizer", defaults.server_optimizer, SERVER_OPTIMIZERS)
    preprocess = _choice(section, "preprocess", defaults.preprocess, MODES)
    calibration = _choice(section, "calibration", defaults.calibration, CALIBRATIONS)
    server_rate = _get(
        section,
        "server_learning_rate",
        float,
        defaults.server_learning_rate if server == "fedavg" else ADAPTIVE_SERVER_RATE,
    )
    _positive("server_learning_rate", server_rate)
    tau = _get(section, "server_tau", float, defaults.server_tau)
    _positive("server_tau", tau)
    mu = _get(section, "mu", float, 0.01 if algorithm == "fedprox" else 0.0)
    if mu < 0 or not math.isfinite(mu):
        raise JobSpecError("mu", "must be a finite number >= 0")
    if algorithm == "fedavg" and mu != 0:
        raise JobSpecError("mu", "only applies to fedprox; remove it or set algorithm: fedprox")
    ints = {
        k: _get(section, k, int, getattr(defaults, k))
        for k in (
            "rounds",
            "patience",
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
    if ints["patience"] < 0:
        raise JobSpecError("patience", "must be 0 (no early stopping) or more")
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
        preprocess=preprocess,
        optimizer=optimizer,
        algorithm=algorithm,
        mu=mu,
        server_optimizer=server,
        server_learning_rate=server_rate,
        server_tau=tau,
        calibration=calibration,
        flower=_flower(section),
        learning_rate=learning_rate,
        quorum=quorum,
        round_timeout_s=timeout,
        key_holder=key_holder,
        encryption=encryption,
        clip=clip,
        **ints,
    )
