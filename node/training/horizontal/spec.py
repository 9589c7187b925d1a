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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from node.jobs.exceptions import JobSpecError
from node.training.preprocess import DEFAULT_MODE, MODES
from node.validation import FileModel, Invalid, OneOf, validate

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


# --- the section as written in the job file (docs/reference/horizontal.md is generated
# from these models); ``parse_horizontal_spec`` turns it into the dataclasses above ---------


def _reference(value: str) -> str:
    if value.count(":") != 1 or not all(value.split(":")):
        raise Invalid("must name module:attribute", "e.g. my_bank.client:app")
    return value


Reference = Annotated[str, AfterValidator(_reference)]
"""``module:attribute`` of a bank's own code."""


class FlowerFile(FileModel):
    """A bank's own Flower client instead of the built-in model (see `flower_adapter.py`)."""

    client: Reference = Field(
        description="The ClientApp, client_fn or NumPyClient.", examples=["my_bank.client:app"]
    )
    initial: Reference | None = Field(None, description="A function returning start weights.")
    scorer: Reference | None = Field(
        None, description="`(parameters, split, context) -> (probabilities, labels) | None`."
    )
    run_config: dict[str, Any] = Field(
        default_factory=dict,
        description="Names to numbers, strings or booleans; the client's `context.run_config`.",
    )

    @model_validator(mode="after")
    def _scalar_run_config(self) -> FlowerFile:
        if not all(isinstance(v, bool | float | int | str) for v in self.run_config.values()):
            raise Invalid(
                "must map names to numbers, strings or booleans",
                "e.g. {epochs: 2}",
                key="run_config",
            )
        return self

    def to_spec(self) -> FlowerSpec:
        return FlowerSpec(self.client, self.initial, self.scorer, dict(self.run_config))


def _model_kind(value: object) -> object:
    """``model: mlp`` is short for ``model: {kind: mlp}``."""
    return {"kind": value} if isinstance(value, str) else value


class ModelFile(FileModel):
    """Which torch model every bank trains: logistic regression or a small MLP."""

    kind: Annotated[str, OneOf(MODEL_KINDS)] = Field(
        ModelSpec.kind, description="Logistic regression or a multilayer perceptron."
    )
    hidden: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: list(ModelSpec.hidden),
        min_length=1,
        description="Layer widths of the MLP.",
    )


class HorizontalFile(FileModel):
    """The `horizontal` section of a `horizontal` job file; every bank of `parties` trains."""

    model: Annotated[ModelFile, BeforeValidator(_model_kind)] = Field(
        default_factory=ModelFile, description="`{kind: lr}`, `{kind: mlp, hidden: [..]}`, or `lr`."
    )
    preprocess: Annotated[str, OneOf(MODES)] = Field(
        HorizontalSpec.preprocess, description="Each bank's own column preparation."
    )
    optimizer: Annotated[str, OneOf(LOCAL_OPTIMIZERS)] = Field(
        HorizontalSpec.optimizer, description="The banks' local steps."
    )
    learning_rate: float = Field(HorizontalSpec.learning_rate, gt=0, description="Local rate.")
    algorithm: Annotated[str, OneOf(ALGORITHMS)] = Field(
        HorizontalSpec.algorithm, description="FedProx adds a proximal term to local steps."
    )
    mu: float | None = Field(
        None, ge=0, description="FedProx proximal weight; default 0.01 with fedprox (else 0)."
    )
    server_optimizer: Annotated[str, OneOf(SERVER_OPTIMIZERS)] = Field(
        HorizontalSpec.server_optimizer,
        description="How the banks apply the mean update (Reddi et al., ICLR 2021).",
    )
    server_learning_rate: float | None = Field(
        None, gt=0, description=f"Default 1.0 with fedavg, {ADAPTIVE_SERVER_RATE} otherwise."
    )
    server_tau: float = Field(HorizontalSpec.server_tau, gt=0, description="Adaptivity floor.")
    rounds: int = Field(HorizontalSpec.rounds, ge=1, description="Upper bound on the rounds.")
    patience: int = Field(
        HorizontalSpec.patience, ge=0, description="Early stopping; 0 disables it."
    )
    local_epochs: int = Field(HorizontalSpec.local_epochs, ge=1, description="Per round.")
    batch_size: int = Field(HorizontalSpec.batch_size, ge=1, description="Local rows a step.")
    calibration: Annotated[str, OneOf(CALIBRATIONS)] = Field(
        HorizontalSpec.calibration, description="Platt scaling on the summed validation scores."
    )
    flower: FlowerFile | None = Field(None, description="A bank's own Flower client.")
    quorum: int | None = Field(
        None,
        description="Banks whose update a round needs: 2 to all; default a majority (at least 2).",
    )
    round_timeout_s: float = Field(
        HorizontalSpec.round_timeout_s, gt=0, description="Per-phase deadline of a round."
    )
    key_holder: str | None = Field(
        None, description="The bank that makes the shared key; default the first bank."
    )
    key_bits: int = Field(HorizontalSpec.key_bits, description=f"At least {MIN_KEY_BITS}.")
    encryption: Annotated[str, OneOf(ENCRYPTIONS)] = Field(
        HorizontalSpec.encryption, description="`none` is for benchmarks only."
    )
    clip: float = Field(HorizontalSpec.clip, gt=0, description="Update values clipped to ±clip.")
    frac_bits: int = Field(
        HorizontalSpec.frac_bits, ge=0, le=40, description="Fixed-point bits of an update value."
    )
    max_samples_per_bank: int = Field(
        HorizontalSpec.max_samples_per_bank, ge=1, description="Cap on a bank's sample weight."
    )
    eval_bins: int = Field(
        HorizontalSpec.eval_bins, ge=1, description="Score histogram bins of federated AUC."
    )
    seed: int = Field(HorizontalSpec.seed, description="Seed of the job's random draws.")

    @model_validator(mode="after")
    def _fits_the_banks(self, info: ValidationInfo) -> HorizontalFile:
        banks: tuple[str, ...] = info.context["banks"] if info.context else ()
        if self.algorithm == "fedavg" and self.mu not in (None, 0):
            raise Invalid(
                "only applies to fedprox", "remove it or set algorithm: fedprox", key="mu"
            )
        if self.quorum is not None and not 2 <= self.quorum <= len(banks):
            raise Invalid(
                f"must be between 2 and the number of banks ({len(banks)}); a sum of one bank "
                "would reveal its update",
                "e.g. a majority of the banks",
                key="quorum",
            )
        if self.key_holder is not None and self.key_holder not in banks:
            raise Invalid("must be one of the job's parties", "name a bank", key="key_holder")
        small_ok = bool(info.context and info.context.get("allow_small_key"))
        if self.key_bits < MIN_KEY_BITS and not small_ok:
            raise Invalid(
                f"must be at least {MIN_KEY_BITS} (112-bit security)", "use 2048", key="key_bits"
            )
        return self


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
    names = tuple(str(b) for b in banks)
    if len(names) < 2 or len(set(names)) != len(names):
        raise JobSpecError(
            "job file",
            "a horizontal job needs at least two distinct banks",
            key="parties",
            fix="list every bank once",
        )
    raw = validate(
        HorizontalFile,
        section,
        source="job file",
        key="horizontal",
        context={"banks": names, "allow_small_key": allow_small_key},
        error=JobSpecError,
    )
    adaptive = raw.server_optimizer != "fedavg"
    values = raw.model_dump(exclude={"model", "flower"})
    values.update(
        banks=names,
        model=ModelSpec(raw.model.kind, tuple(raw.model.hidden)),
        flower=raw.flower.to_spec() if raw.flower is not None else None,
        mu=raw.mu if raw.mu is not None else (0.01 if raw.algorithm == "fedprox" else 0.0),
        server_learning_rate=raw.server_learning_rate
        or (ADAPTIVE_SERVER_RATE if adaptive else HorizontalSpec.server_learning_rate),
        quorum=raw.quorum if raw.quorum is not None else max(2, len(names) // 2 + 1),
        key_holder=raw.key_holder or names[0],
    )
    return HorizontalSpec(**values)
