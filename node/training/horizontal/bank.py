"""The bank role: train locally, send an encrypted update, apply the decrypted federated sum.

See ``docs/protocols/horizontal.md`` for the message flow. A bank never sends anything to the
coordinator in the clear but its latest checkpoint number and the federation's aggregate
metrics (identical at every bank, computed from sums).
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier.packing import PackingError
from node.jobs.hooks import JobHooks
from node.training.horizontal.encoding import DecodeError, EvalCodec, UpdateCodec
from node.training.horizontal.evaluation import federated_metrics
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
    key_message,
    metrics_message,
    parse_key_message,
    parse_start,
    public_key_message,
    resume_message,
)
from node.training.horizontal.params import Parameters, flatten, shapes_of, unflatten
from node.training.horizontal.scheme import SumScheme
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.trainer import LocalTrainer
from node.training.horizontal.wire import recv_vector, send_vector
from node.transport.channel import ChannelError, PartyChannel

log = logging.getLogger("fedcredit.training.horizontal.bank")

COORDINATOR = "coordinator"
AGGREGATE_FIELDS = {"round": int, "status": str, "banks": list, "count": int, "reported": int}


@dataclass
class BankResult:
    """What one bank ends with. ``summary()`` is the JSON-able part for the coordinator."""

    start_round: int
    rounds_completed: int
    history: list[dict[str, Any]]
    final_metrics: dict[str, float]
    bytes_sent_per_round: list[int]
    update_bytes_per_round: list[int]
    parameters: Parameters = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "start_round": self.start_round,
            "rounds_completed": self.rounds_completed,
            "history": self.history,
            "final_metrics": self.final_metrics,
            "bytes_sent_per_round": self.bytes_sent_per_round,
            "update_bytes_per_round": self.update_bytes_per_round,
        }


def _checkpoint(
    round_number: int, vector: NDArray[np.float64], history: list[dict[str, Any]]
) -> bytes:
    head = json.dumps({"round": round_number, "history": history}).encode()
    return len(head).to_bytes(4, "big") + head + vector.astype("<f8").tobytes()


def _restore(blob: bytes, size: int) -> tuple[NDArray[np.float64], list[dict[str, Any]]]:
    n = int.from_bytes(blob[:4], "big")
    head = json.loads(blob[4 : 4 + n])
    vector = np.frombuffer(blob[4 + n :], dtype="<f8").astype(np.float64)
    if vector.size != size:
        raise TrainerError("checkpointed model has another size than the job's model")
    return vector, list(head["history"])


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

    def setup_keys(self) -> tuple[SumScheme, tuple[tuple[int, ...], ...], NDArray[np.float64]]:
        spec = self.spec
        if self.name == spec.key_holder:
            scheme, secret, public = new_scheme(spec, self.pool)
            initial = self.trainer.get_parameters()
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

    def run(self) -> BankResult:
        spec = self.spec
        scheme, shapes, vector = self.setup_keys()
        latest = int(self.hooks.load_checkpoint("latest") or b"0")
        self.channel.send(COORDINATOR, "hfl/resume", resume_message(latest))
        start = parse_start(
            self.channel.recv(COORDINATOR, "hfl/start", timeout=self.wait),
            COORDINATOR,
            "hfl/start",
            latest,
        )
        history: list[dict[str, Any]] = []
        if start > 0:
            blob = self.hooks.load_checkpoint(f"round-{start}")
            if blob is None:
                raise MalformedMessage(
                    COORDINATOR, "hfl/start", "asks for a round never saved here"
                )
            vector, history = _restore(blob, vector.size)
        parties = len(spec.banks)
        codec = UpdateCodec(
            vector.size,
            spec.clip,
            spec.frac_bits,
            spec.max_samples_per_bank,
            parties,
            spec.key_bits,
        )
        final: dict[str, float] = {}
        sent: list[int] = []
        update_sent: list[int] = []
        for r in range(start + 1, spec.rounds + 1):
            bytes_sent = 0
            fit = self.trainer.fit(
                unflatten(vector, shapes),
                {
                    "server_round": r,
                    "local_epochs": spec.local_epochs,
                    "batch_size": spec.batch_size,
                    "learning_rate": spec.learning_rate,
                    "proximal_mu": spec.mu,
                },
            )
            delta = flatten(fit.parameters) - vector
            if delta.size != vector.size:
                raise TrainerError("fit returned parameters of another shape")
            try:
                plaintexts = codec.encode(delta, fit.num_examples)
            except PackingError as exc:
                raise TrainerError(f"cannot encode the update: {exc.problem}") from None
            header = {"round": r, "fingerprint": scheme.fingerprint, "count": len(plaintexts)}
            update_bytes = send_vector(
                self.channel, COORDINATOR, f"hfl/update/{r}", header, scheme.seal(plaintexts)
            )
            bytes_sent += update_bytes
            summed, banks = self.recv_sum(scheme, "update", r, codec.plaintexts)
            try:
                mean, _ = codec.decode(summed)
            except DecodeError:
                raise AggregateCorrupted(r, "update") from None
            vector = vector + mean
            metrics, used = self.evaluate(scheme, r, vector, shapes)
            bytes_sent += used
            metrics["banks_reporting"] = float(len(banks))
            payload = metrics_message(metrics)
            self.channel.send(COORDINATOR, f"hfl/metrics/{r}", payload)
            bytes_sent += len(payload)
            history.append({"round": r, "banks": banks, **metrics})
            self.hooks.save_checkpoint(f"round-{r}", _checkpoint(r, vector, history))
            self.hooks.save_checkpoint("latest", str(r).encode())
            self.hooks.progress("round", r, spec.rounds, metrics)
            self.hooks.record(
                "training_use",
                {"job_type": "horizontal", "round": r, "examples": fit.num_examples},
            )
            sent.append(bytes_sent)
            update_sent.append(update_bytes)
            final = {k: v for k, v in metrics.items() if k.startswith("test_")}
            log.info("round %d done with %d banks", r, len(banks))
        return BankResult(
            start_round=start,
            rounds_completed=spec.rounds - start,
            history=history,
            final_metrics=final,
            bytes_sent_per_round=sent,
            update_bytes_per_round=update_sent,
            parameters=unflatten(vector, shapes),
        )

    def evaluate(
        self, scheme: SumScheme, r: int, vector: NDArray[np.float64], shapes: Any
    ) -> tuple[dict[str, float], int]:
        spec = self.spec
        splits = ("val", "test") if r == spec.rounds else ("val",)
        codec = EvalCodec(
            spec.eval_bins, spec.max_samples_per_bank, len(spec.banks), spec.key_bits, splits
        )
        params = unflatten(vector, shapes)
        counts = {s: self.trainer.evaluate(params, s, spec.eval_bins) for s in splits}
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
        metrics: dict[str, float] = {}
        for split, (total, _contributors, _with_hist) in decoded.items():
            metrics.update(federated_metrics(total.pos, total.neg, total.loss_sum, total.n, split))
        return metrics, used


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
