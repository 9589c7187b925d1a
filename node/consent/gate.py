"""Which firms of a batch a use may touch: the per-firm half of a holder's gate.

The masking policy decides per field, role and purpose; this module decides per firm, from
the authorizations the holder keeps. Every path that uses named firms' data at a holder asks
it the same question: scoring (``node.scoring.holder``), a release (``node.policy.release``
with ``ReleaseFirms``), training (``TrainingFirms``) and the post-loan monitoring refresh,
whose hook is ``authorized_subset``. See docs/authorization.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.consent.store import ConsentStore, token_keys
from node.policy.model import AUTHORIZED_BASIS, DEIDENTIFIED_BASIS, TRAINING_BASES

if TYPE_CHECKING:
    from node.jobs.context import PartyContext


@dataclass(frozen=True)
class Admission:
    """The firms of a batch a use may touch, and what covered them.

    ``allowed[i]`` says whether firm ``i`` is covered; ``records`` are the covering
    authorization ids (sorted, distinct), ``withheld`` how many firms were not covered.
    """

    allowed: NDArray[np.bool_]
    records: tuple[str, ...]
    withheld: int

    @property
    def admitted(self) -> int:
        return int(self.allowed.sum())


def admission(
    store: ConsentStore,
    hi: NDArray[np.uint64],
    lo: NDArray[np.uint64],
    recipient: str,
    use: str,
    at: float | None = None,
) -> Admission:
    """Check firms given by their token halves (``token_keys``) in one vectorised pass.

    Raises
    ------
    node.consent.exceptions.InvalidAuthorization
        ``use`` has no authorization purpose (not scoring, monitoring, release or training).
    """
    allowed, covering = store.check_many(hi, lo, recipient, use, at)
    records = tuple(store.record_ids(covering[allowed]))
    return Admission(allowed, records, int((~allowed).sum()))


def authorized_subset(
    store: ConsentStore,
    tokens: Sequence[str],
    recipient: str,
    purpose: str,
    at: float | None = None,
) -> Admission:
    """The firms (this holder's tokens) that ``recipient`` may use for ``purpose`` at ``at``.

    The hook for every per-firm use that is not scoring: the post-loan monitoring refresh
    calls it with ``purpose="monitoring"`` before it reads a watched firm's rows, and drops
    (and logs as refused) the firms it leaves out; a revoked or expired firm therefore falls
    out at the next refresh. ``at`` defaults to now.

    Raises
    ------
    node.consent.exceptions.InvalidAuthorization
        A token is malformed, or ``purpose`` has no authorization purpose.
    """
    if not tokens:
        return Admission(np.zeros(0, np.bool_), (), 0)
    hi, lo = token_keys(tokens)
    return admission(store, hi, lo, recipient, purpose, time.time() if at is None else at)


@dataclass(frozen=True)
class TrainingUse:
    """Which of a job's rows a party may train on, and the basis it stated for them."""

    admission: Admission
    basis: str
    recipient: str

    def summary(self) -> dict[str, object]:
        """What the job's result records at this party (no firm is named)."""
        return {
            "basis": self.basis,
            "recipient": self.recipient,
            "firms": self.admission.admitted,
            "withheld": self.admission.withheld,
            "authorizations": len(self.admission.records),
        }


class TrainingFirms:
    """A node's training filter: its consent store, its firm tokens and its policy's basis.

    ``deidentified`` (the default): every row, under the holder's de-identified training
    basis stated in its policy file; ``authorized``: only firms whose authorization names the
    organization the model is trained for (the label holder's) and covers model development.
    Either way the job's result records the basis and the counts.
    """

    def __init__(
        self,
        store: ConsentStore,
        token: Callable[[str], str],
        basis: Callable[[], str],
    ) -> None:
        self._store = store
        self._token = token
        self._basis = basis

    def select(self, codes: Sequence[str], recipient: str) -> TrainingUse:
        """The rows (by their firms' ``codes``) training for ``recipient`` may use now.

        Raises
        ------
        ValueError
            The policy states an unknown basis (the loader refuses one, so: a bug).
        """
        basis = self._basis()
        if basis == DEIDENTIFIED_BASIS:
            everyone = Admission(np.ones(len(codes), np.bool_), (), 0)
            return TrainingUse(everyone, basis, recipient)
        if basis != AUTHORIZED_BASIS:
            raise ValueError(f"training basis must be one of {', '.join(TRAINING_BASES)}")
        tokens = [self._token(str(c)) for c in codes]
        return TrainingUse(
            authorized_subset(self._store, tokens, recipient, "training"), basis, recipient
        )


class ReleaseFirms:
    """The per-firm check of one release (``node.policy.release.FirmFilter``).

    A bulk release maps onto per-firm authorization row by row: a row is released only if
    its firm's authorization names the recipient organization and covers the release purpose
    (``loan_approval`` or ``post_loan_monitoring``); other rows are withheld and counted.
    After the call, ``released`` and ``refused`` hold the firms' tokens for the access log.
    """

    def __init__(
        self,
        store: ConsentStore,
        tokens_of: Callable[[Sequence[str]], list[str]],
        id_column: str,
        recipient: str,
        purpose: str,
    ) -> None:
        self._store = store
        self._tokens_of = tokens_of
        self._id_column = id_column
        self._recipient = recipient
        self._purpose = purpose
        self.released: tuple[str, ...] = ()
        self.refused: tuple[str, ...] = ()

    def __call__(self, frame: pd.DataFrame) -> Admission:
        tokens = self._tokens_of(frame[self._id_column].astype(str).tolist())
        admitted = authorized_subset(self._store, tokens, self._recipient, self._purpose)
        self.released = tuple(t for t, ok in zip(tokens, admitted.allowed, strict=True) if ok)
        self.refused = tuple(t for t, ok in zip(tokens, admitted.allowed, strict=True) if not ok)
        return admitted


def training_frame(
    ctx: PartyContext, frame: pd.DataFrame, id_column: str, for_party: str
) -> tuple[pd.DataFrame, dict[str, object] | None]:
    """The rows of ``frame`` a job may train on at this party, and the basis to record.

    The one call every training job type makes before aligning its rows: the node's gate
    (``PolicyGate.training_firms``) applies the policy's ``training_basis``. The summary
    (basis, recipient, counts; no firm) goes into the job's result; ``None`` when the node
    keeps no authorizations (jobs run in memory by tests).
    """
    use = ctx.gate.training_firms(frame[id_column].astype(str).tolist(), for_party)
    if use is None:
        return frame, None
    if use.admission.withheld:
        frame = frame[use.admission.allowed].reset_index(drop=True)
    summary: dict[str, object] = use.summary()
    return frame, summary
