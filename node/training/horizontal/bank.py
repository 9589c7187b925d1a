"""The bank role: train locally, send an encrypted update, apply the decrypted federated sum.

See ``docs/protocols/horizontal.md`` for the message flow. A bank never sends anything to the
coordinator in the clear but its latest checkpoint number, the federation's aggregate metrics
(identical at every bank, computed from sums) and, if its local trainer fails, a value-free
notice of where and what kind of error, so the job stops at once instead of at a deadline.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier.packing import PackingError
from node.jobs.hooks import JobHooks
from node.training.calibration import PlattScaling
from node.training.horizontal.encoding import DecodeError, EvalCodec, UpdateCodec
from node.training.horizontal.evaluation import (
    SPLITS,
    federated_metrics,
    histogram_calibration,
    histogram_report,
)
from node.training.horizontal.exceptions import (
    AggregateCorrupted,
    InvalidContribution,
    JobAborted,
    MalformedMessage,
    QuorumNotMet,
    TrainerError,
)
from node.training.horizontal.keys import new_scheme, scheme_for_bank
from node.training.horizontal.messages import (
    failed_message,
    key_message,
    metrics_message,
    parse_control,
    parse_key_message,
    parse_start,
    public_key_message,
    resume_message,
)
from node.training.horizontal.params import Parameters, flatten, shapes_of, unflatten
from node.training.horizontal.scheme import SumScheme
from node.training.horizontal.server import ServerOptimizer, ServerState
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.trainer import Config, EvalCounts, FitResult, LocalTrainer
from node.training.horizontal.wire import recv_vector, send_vector
from node.transport.channel import ChannelError, PartyChannel

log = logging.getLogger("fedcredit.training.horizontal.bank")

COORDINATOR = "coordinator"
AGGREGATE_FIELDS = {"round": int, "status": str, "banks": list, "count": int, "reported": int}
T = TypeVar("T")


@dataclass
class BankResult:
    """What one bank ends with. ``summary()`` is the JSON-able part for the coordinator.

    ``parameters`` are the kept round's (the latest within one standard error of the best
    federated validation AUC); ``final_metrics`` that round's test figures (validation's when no
    bank holds a test set), with the calibrated PDs' log-loss and Brier score.
    """

    start_round: int
    rounds_completed: int
    kept_round: int
    stopped: str
    history: list[dict[str, Any]]
    final_metrics: dict[str, float]
    probabilities: dict[str, Any]
    calibration: PlattScaling
    bytes_sent_per_round: list[int]
    update_bytes_per_round: list[int]
    parameters: Parameters = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "start_round": self.start_round,
            "rounds_completed": self.rounds_completed,
            "kept_round": self.kept_round,
            "stopped": self.stopped,
            "history": self.history,
            "final_metrics": self.final_metrics,
            "probabilities": self.probabilities,
            "bytes_sent_per_round": self.bytes_sent_per_round,
            "update_bytes_per_round": self.update_bytes_per_round,
        }


def _counts_to_json(counts: EvalCounts | None) -> dict[str, Any] | None:
    if counts is None:
        return None
    return {
        "pos": counts.pos.tolist(),
        "neg": counts.neg.tolist(),
        "loss_sum": counts.loss_sum,
        "n": counts.n,
    }


def _counts_from_json(raw: dict[str, Any] | None) -> EvalCounts | None:
    if raw is None:
        return None
    return EvalCounts(
        np.array(raw["pos"], dtype=np.int64),
        np.array(raw["neg"], dtype=np.int64),
        float(raw["loss_sum"]),
        int(raw["n"]),
    )


@dataclass
class BankState:
    """A bank's resumable state: the global model, the server step's state and the kept round.

    The kept round's summed validation and test counts (aggregates every bank holds) travel
    with it, since the final calibration and report come from them.
    """

    round: int
    vector: NDArray[np.float64]
    server: ServerState
    history: list[dict[str, Any]] = field(default_factory=list)
    kept_round: int = 0
    kept_vector: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    kept_counts: dict[str, EvalCounts | None] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        head = json.dumps(
            {
                "round": self.round,
                "history": self.history,
                "server": self.server.to_dict(),
                "kept_round": self.kept_round,
                "kept_counts": {k: _counts_to_json(v) for k, v in self.kept_counts.items()},
            }
        ).encode()
        vectors = np.concatenate([self.vector, self.kept_vector]).astype("<f8").tobytes()
        return len(head).to_bytes(4, "big") + head + vectors

    @classmethod
    def from_bytes(cls, blob: bytes, size: int) -> BankState:
        """Raises ``TrainerError`` when the checkpoint holds a model of another size."""
        n = int.from_bytes(blob[:4], "big")
        head = json.loads(blob[4 : 4 + n])
        vectors = np.frombuffer(blob[4 + n :], dtype="<f8").astype(np.float64)
        if vectors.size != 2 * size:
            raise TrainerError("checkpointed model has another size than the job's model")
        return cls(
            round=int(head["round"]),
            vector=vectors[:size].copy(),
            server=ServerState.from_dict(head["server"]),
            history=list(head["history"]),
            kept_round=int(head["kept_round"]),
            kept_vector=vectors[size:].copy(),
            kept_counts={k: _counts_from_json(v) for k, v in head["kept_counts"].items()},
        )


class _Bank:
    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: HorizontalSpec,
        trainer: LocalTrainer,
        pool: Executor | None,
    ) -> None:
        self.channel, self.hooks, self.spec, self.trainer, self.pool = (
            channel,
            hooks,
            spec,
            trainer,
            pool,
        )
        self.name = channel.party
        self.wait = 2 * spec.round_timeout_s + 30.0
        self.server = ServerOptimizer(
            spec.server_optimizer, spec.server_learning_rate, spec.server_tau
        )

    def _local(self, r: int, stage: str, call: Callable[[], T]) -> T:
        """Run the local trainer; on failure tell the coordinator at once, without values."""
        try:
            return call()
        except Exception as exc:
            reason = f"{stage} raised {type(exc).__name__}"
            log.warning("round %d: the local trainer failed (%s)", r, reason)
            report_failure(self.channel, r, reason)
            if isinstance(exc, TrainerError):
                raise
            raise TrainerError(reason) from exc

    def setup_keys(self) -> tuple[SumScheme, tuple[tuple[int, ...], ...], NDArray[np.float64]]:
        spec = self.spec
        if self.name == spec.key_holder:
            scheme, secret, public = new_scheme(spec, self.pool)
            initial = self._local(0, "get_parameters", self.trainer.get_parameters)
            shapes, vector = shapes_of(initial), flatten(initial)
            message = key_message(spec.encryption, secret, shapes, vector)
            for other in spec.banks:
                if other != self.name:
                    try:
                        self.channel.send(other, "hfl/key", message)
                    except ChannelError as exc:
                        log.warning("could not hand the key to %s: %s", other, exc)
            self.channel.send(
                COORDINATOR,
                "hfl/public-key",
                public_key_message(spec.encryption, scheme.fingerprint, public, vector.size),
            )
            return scheme, shapes, vector
        payload = self.channel.recv(spec.key_holder, "hfl/key", timeout=self.wait)
        name, secret, shapes, vector = parse_key_message(payload, spec.key_holder, "hfl/key")
        return scheme_for_bank(spec, name, secret, self.pool), shapes, vector

    def recv_sum(
        self, scheme: SumScheme, phase: str, r: int, count: int
    ) -> tuple[list[int], list[str]]:
        topic = f"hfl/{phase}-sum/{r}"
        header, blobs = recv_vector(
            self.channel, COORDINATOR, topic, time.monotonic() + self.wait, AGGREGATE_FIELDS
        )
        if header["round"] != r:
            raise MalformedMessage(COORDINATOR, topic, "aggregate for another round")
        if header["status"] == "aborted":
            raise JobAborted(r, phase)
        if header["status"] != "ok":
            raise QuorumNotMet(r, phase, header["reported"], self.spec.quorum)
        banks = [b for b in header["banks"] if b in self.spec.banks]
        if len(banks) != len(header["banks"]) or len(banks) < self.spec.quorum:
            raise MalformedMessage(COORDINATOR, topic, "aggregate names unknown banks or too few")
        try:
            items = scheme.load(blobs, count)
        except InvalidContribution as exc:
            raise MalformedMessage(COORDINATOR, topic, exc.reason) from None
        return scheme.open(items), banks

    def _resume(self, vector: NDArray[np.float64]) -> tuple[int, BankState]:
        latest = int(self.hooks.load_checkpoint("latest") or b"0")
        self.channel.send(COORDINATOR, "hfl/resume", resume_message(latest))
        start = parse_start(
            self.channel.recv(COORDINATOR, "hfl/start", timeout=self.wait),
            COORDINATOR,
            "hfl/start",
            latest,
        )
        if start == 0:
            state = BankState(0, vector, ServerState.start(vector.size, self.spec.server_tau))
            return 0, state
        blob = self.hooks.load_checkpoint(f"round-{start}")
        if blob is None:
            raise MalformedMessage(COORDINATOR, "hfl/start", "asks for a round never saved here")
        return start, BankState.from_bytes(blob, vector.size)

    def run(self) -> BankResult:
        spec = self.spec
        scheme, shapes, vector = self.setup_keys()
        start, state = self._resume(vector)
        codec = UpdateCodec(
            vector.size,
            spec.clip,
            spec.frac_bits,
            spec.max_samples_per_bank,
            len(spec.banks),
            spec.key_bits,
        )
        sent: list[int] = []
        update_sent: list[int] = []
        stopped = "max_rounds"
        for r in range(start + 1, spec.rounds + 1):
            config: Config = {
                "server_round": r,
                "local_epochs": spec.local_epochs,
                "batch_size": spec.batch_size,
                "learning_rate": spec.learning_rate,
                "proximal_mu": spec.mu,
            }
            params = unflatten(state.vector, shapes)
            fit: FitResult = self._local(r, "fit", partial(self.trainer.fit, params, config))
            delta = flatten(fit.parameters) - state.vector
            if delta.size != state.vector.size:
                raise TrainerError("fit returned parameters of another shape")
            try:
                plaintexts = codec.encode(delta, fit.num_examples)
            except PackingError as exc:
                raise TrainerError(f"cannot encode the update: {exc.problem}") from None
            header = {"round": r, "fingerprint": scheme.fingerprint, "count": len(plaintexts)}
            update_bytes = send_vector(
                self.channel, COORDINATOR, f"hfl/update/{r}", header, scheme.seal(plaintexts)
            )
            summed, banks = self.recv_sum(scheme, "update", r, codec.plaintexts)
            try:
                mean, _ = codec.decode(summed)
            except DecodeError:
                raise AggregateCorrupted(r, "update") from None
            state.vector = self.server.apply(state.vector, mean, state.server)
            counts, used = self.evaluate(scheme, r, state.vector, shapes)
            metrics: dict[str, float] = {}
            val = counts.get("val")
            if val is not None:
                metrics = federated_metrics(val.pos, val.neg, val.loss_sum, val.n, "val")
                metrics["val_pos"] = float(val.pos.sum())
            metrics["banks_reporting"] = float(len(banks))
            payload = metrics_message(metrics)
            self.channel.send(COORDINATOR, f"hfl/metrics/{r}", payload)
            name = f"hfl/control/{r}"
            stop, kept, reason = parse_control(
                self.channel.recv(COORDINATOR, name, timeout=self.wait), COORDINATOR, name, r
            )
            if kept == r:
                state.kept_round, state.kept_vector = r, state.vector.copy()
                state.kept_counts = dict(counts)
            state.round = r
            state.history.append({"round": r, "banks": banks, **metrics})
            self.hooks.save_checkpoint(f"round-{r}", state.to_bytes())
            self.hooks.save_checkpoint("latest", str(r).encode())
            self.hooks.progress("round", r, spec.rounds, metrics)
            self.hooks.record(
                "training_use",
                {"job_type": "horizontal", "round": r, "examples": fit.num_examples},
            )
            sent.append(update_bytes + used + len(payload))
            update_sent.append(update_bytes)
            log.info("round %d done with %d banks", r, len(banks))
            if stop:
                stopped = reason
                break
        return self._final(start, state, shapes, stopped, sent, update_sent)

    def _final(
        self,
        start: int,
        state: BankState,
        shapes: tuple[tuple[int, ...], ...],
        stopped: str,
        sent: list[int],
        update_sent: list[int],
    ) -> BankResult:
        """Calibrate on the kept round's validation sums; report on its test sums."""
        val = state.kept_counts.get("val")
        test = state.kept_counts.get("test")
        reported = test if test is not None and test.n > 0 else val
        split = "test" if reported is test else "val"
        final: dict[str, float] = {}
        probabilities: dict[str, Any] = {}
        calibration = PlattScaling()
        if reported is not None:
            final = federated_metrics(
                reported.pos, reported.neg, reported.loss_sum, reported.n, split
            )
            has_hist = val is not None and val.pos.size and reported.pos.size
            if has_hist and val is not None:
                if self.spec.calibration == "platt":
                    calibration = histogram_calibration(val.pos, val.neg)
                probabilities = histogram_report(reported.pos, reported.neg, calibration)
                final[f"{split}_log_loss"] = probabilities["log_loss"]
                final[f"{split}_brier"] = probabilities["brier"]
        self.channel.send(COORDINATOR, "hfl/final", metrics_message(final))
        return BankResult(
            start_round=start,
            rounds_completed=state.round - start,
            kept_round=state.kept_round,
            stopped=stopped,
            history=state.history,
            final_metrics=final,
            probabilities=probabilities,
            calibration=calibration,
            bytes_sent_per_round=sent,
            update_bytes_per_round=update_sent,
            parameters=unflatten(state.kept_vector, shapes),
        )

    def evaluate(
        self,
        scheme: SumScheme,
        r: int,
        vector: NDArray[np.float64],
        shapes: tuple[tuple[int, ...], ...],
    ) -> tuple[dict[str, EvalCounts | None], int]:
        """Sum every bank's validation and test counts for the round's model."""
        spec = self.spec
        codec = EvalCodec(
            spec.eval_bins, spec.max_samples_per_bank, len(spec.banks), spec.key_bits, SPLITS
        )
        params = unflatten(vector, shapes)
        counts = {
            s: self._local(r, "evaluate", partial(self.trainer.evaluate, params, s, spec.eval_bins))
            for s in SPLITS
        }
        try:
            plaintexts = codec.encode(counts)
        except PackingError as exc:
            raise TrainerError(f"cannot encode evaluation counts: {exc.problem}") from None
        header = {"round": r, "fingerprint": scheme.fingerprint, "count": len(plaintexts)}
        used = send_vector(
            self.channel, COORDINATOR, f"hfl/eval/{r}", header, scheme.seal(plaintexts)
        )
        summed, _ = self.recv_sum(scheme, "eval", r, codec.plaintexts)
        try:
            decoded = codec.decode(summed)
        except DecodeError:
            raise AggregateCorrupted(r, "eval") from None
        return {
            split: (total if contributors else None)
            for split, (total, contributors, _) in decoded.items()
        }, used


def report_failure(channel: PartyChannel, round_number: int, reason: str) -> None:
    """Tell the coordinator at once that this bank cannot go on, and why (no values)."""
    try:
        channel.send(COORDINATOR, "hfl/failed", failed_message(round_number, reason))
    except ChannelError:
        log.warning("could not tell the coordinator that the local trainer failed")


def run_bank(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: HorizontalSpec,
    trainer: LocalTrainer,
    pool: Executor | None = None,
) -> BankResult:
    """Run one bank's side of a horizontal job to the last round.

    Parameters
    ----------
    channel:
        This bank's channel; ``channel.party`` must be one of ``spec.banks``.
    trainer:
        ``TorchTrainer`` on the bank's data, or ``FlowerTrainer`` around a Flower client.
    pool:
        Worker processes for encryption and decryption (``node.compute.worker_pool()``).

    Raises
    ------
    QuorumNotMet
        The coordinator reported that a round did not reach quorum.
    TrainerError
        The local trainer failed; the coordinator was told at once (a value-free reason).
    JobAborted
        The coordinator stopped the job on an error of its own.
    AggregateCorrupted
        A decrypted sum does not unpack; the model is left at the last good round.
    MalformedMessage, KeySetupError, TrainerError
        A peer or the local trainer broke the protocol.
    PartyUnavailable, ChannelTimeout
        The coordinator or the key holder went away.
    """
    if channel.party not in spec.banks:
        raise ValueError(f"party {channel.party!r} is not a bank of this job")
    hooks.record("training_use", {"job_type": "horizontal", "stage": "start"})
    return _Bank(channel, hooks, spec, trainer, pool).run()
