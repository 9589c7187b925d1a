"""The model-part protocol: what a deployed part of a federated model must offer.

A vertical model is split across parties: each holder keeps the transform and weights of its
own columns, the label holder (the bank) also keeps the intercept and the calibration. A part
is self-contained: it scores rows of its own dataset without the training run, so a holder can
answer a scoring request alone. One implementation per model kind, registered in
``PART_KINDS`` (``logistic``; ``secureboost``, whose holders answer with split directions, not
a partial logit, and whose head at the bank walks the trees).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import pandas as pd

from node.models.exceptions import PartFormatError

FORMAT_VERSION: Final = 1


@dataclass(frozen=True)
class PartInfo:
    """Where a part came from: kind, training job, party, dataset, id column and columns."""

    kind: str
    job_id: str
    party: str
    dataset: str
    id_column: str
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "party": self.party,
            "dataset": self.dataset,
            "id_column": self.id_column,
            "features": list(self.features),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PartInfo:
        return cls(
            kind=str(raw["kind"]),
            job_id=str(raw["job_id"]),
            party=str(raw["party"]),
            dataset=str(raw["dataset"]),
            id_column=str(raw["id_column"]),
            features=tuple(str(f) for f in raw["features"]),
        )


class ModelPart(Protocol):
    """One party's deployed part.

    Constraints every implementation keeps:

    - Scoring with it MUST depend only on the part and the rows given (no training data).
    - ``to_dict`` MUST round-trip through the kind's loader to a part scoring identically.

    What a part computes is its kind's: a logistic part gives partial log-odds and their
    per-feature contributions (``LogisticPart``), a SecureBoost part the directions of rows
    at its own splits and, at the bank, walks the trees (``node.models.secureboost``).
    """

    @property
    def info(self) -> PartInfo: ...

    def to_dict(self) -> dict[str, Any]: ...


PartLoader = Callable[[Mapping[str, Any]], ModelPart]
# Filled by the kinds' modules (``node.models.logistic`` registers ``logistic``).
PART_KINDS: dict[str, PartLoader] = {}
# Job output -> part builders, by the job output's kind.
JobPartBuilder = Callable[[Mapping[str, Any], pd.DataFrame, "JobContext"], ModelPart]
JOB_KINDS: dict[str, JobPartBuilder] = {}


@dataclass(frozen=True)
class JobContext:
    """What the deploying operator states about a job output that does not say it itself."""

    dataset: str
    id_column: str
    preprocess: str = "log_standardize"


def load_part(raw: Mapping[str, Any], source: str = "model part") -> ModelPart:
    """Rebuild a deployed part from its stored form.

    Raises
    ------
    PartFormatError
        Unknown format version or kind, or a malformed body.
    """
    if raw.get("format") != FORMAT_VERSION:
        raise PartFormatError(source, f"format {raw.get('format')!r} is not {FORMAT_VERSION}")
    kind = str(raw.get("kind", ""))
    loader = PART_KINDS.get(kind)
    if loader is None:
        known = ", ".join(sorted(PART_KINDS))
        raise PartFormatError(source, f"unknown model kind {kind!r} (this node knows: {known})")
    try:
        return loader(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise PartFormatError(source, f"malformed {kind} part ({exc})") from None


def part_from_job(path: Path, frame: pd.DataFrame, context: JobContext) -> ModelPart:
    """Build a deployable part from a finished job's output at this node.

    Raises
    ------
    PartFormatError
        The file is missing, not JSON, or of a kind this node cannot deploy.
    """
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise PartFormatError(str(path), f"cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError:
        raise PartFormatError(str(path), "is not JSON") from None
    if not isinstance(raw, dict):
        raise PartFormatError(str(path), "is not a JSON object")
    kind = str(raw.get("kind", "logistic"))  # vertical_lr outputs carry no kind yet
    builder = JOB_KINDS.get(kind)
    if builder is None:
        raise PartFormatError(
            str(path),
            f"model kind {kind!r} cannot be deployed by this node yet "
            f"(deployable: {', '.join(sorted(JOB_KINDS))})",
        )
    try:
        return builder(raw, frame, context)
    except (KeyError, TypeError, ValueError) as exc:
        raise PartFormatError(str(path), f"malformed job output ({exc})") from None
