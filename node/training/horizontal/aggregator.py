"""The aggregator role, run by the coordinator: it holds only the public key and adds ciphertexts.

Per round and phase (``update``, then ``eval``) it waits until the round deadline for each
bank's contribution, checks it (format, key fingerprint, ciphertext count and range), adds
the accepted ones, and returns the sum — with the list of banks it covers — to every bank.
A bank that is gone, late or sends something malformed is left out of that round only. If
fewer than ``quorum`` banks were accepted the round, and the job, fail with ``QuorumNotMet``;
a bank whose local trainer failed says so at once and the job fails with ``BankFailed``.
After each round it decides, from the federated validation metrics alone, which round's model
the banks keep and whether training goes on (``node.training.selection``). The coordinator's
checkpoints hold round numbers, bank names and aggregate metrics — never a bank's update, in
any form.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from node.jobs.hooks import JobHooks
from node.training.cells import Cells
from node.training.horizontal.encoding import EvalCodec, UpdateCodec
from node.training.horizontal.evaluation import SPLITS
from node.training.horizontal.exceptions import (
    BankFailed,
    InvalidContribution,
    MalformedMessage,
    QuorumNotMet,
    UpdateRejected,
)
from node.training.horizontal.keys import scheme_for_aggregator
from node.training.horizontal.messages import (
    control_message,
    parse_failed,
    parse_metrics,
    parse_public_key_message,
    parse_resume,
    start_message,
)
from node.training.horizontal.scheme import SumScheme
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.wire import KIND_VECTOR, header_bytes, recv_vector, send_vector
from node.training.selection import Selection
from node.transport.channel import ChannelError, ChannelTimeout, PartyChannel, PartyUnavailable

_SLICE_S = 0.25

log = logging.getLogger("fedcredit.training.horizontal.aggregator")

CONTRIBUTION_FIELDS = {"round": int, "fingerprint": str, "count": int}


@dataclass
class AggregatorResult:
    """JSON-able summary of the job as the coordinator saw it."""

    start_round: int
    rounds_completed: int
    kept_round: int
    stopped: str
    history: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    final: dict[str, float]

    def summary(self) -> dict[str, Any]:
        return {
            "start_round": self.start_round,
            "rounds_completed": self.rounds_completed,
            "kept_round": self.kept_round,
            "stopped": self.stopped,
            "history": self.history,
            "rejected": self.rejected,
            "final": self.final,
        }


class _Aggregator:
    def __init__(self, channel: PartyChannel, hooks: JobHooks, spec: HorizontalSpec) -> None:
        self.channel, self.hooks, self.spec = channel, hooks, spec
        self.wait = 2 * spec.round_timeout_s + 30.0
        self.rejected: list[dict[str, Any]] = []
        self.round = 0

    def broadcast(self, make: Callable[[str], object]) -> None:
        for bank in self.spec.banks:
            try:
                make(bank)
            except ChannelError as exc:
                log.warning("could not reach %s: %s", bank, exc)

    def _await(self, bank: str, topic: str, r: int, deadline: float) -> bytes:
        """Wait for ``topic`` from ``bank`` until ``deadline``; a failure notice ends it early.

        Raises
        ------
        BankFailed
            The bank reported that its local trainer failed this round.
        ChannelTimeout, PartyUnavailable
            The deadline passed, or the bank is gone.
        """
        while True:
            # at least one short look even past the deadline: a contribution that arrived in
            # time is taken whatever order the banks are read in
            remaining = max(0.001, deadline - time.monotonic())
            try:
                return self.channel.recv(bank, topic, timeout=min(_SLICE_S, remaining))
            except ChannelTimeout:
                if time.monotonic() >= deadline:
                    raise
            try:
                notice = self.channel.recv(bank, "hfl/failed", timeout=0)
            except ChannelTimeout:
                continue
            failed_round, reason = parse_failed(notice, bank, "hfl/failed")
            raise BankFailed(bank, failed_round, reason)

    def resume(self) -> tuple[int, list[dict[str, Any]], Selection]:
        own = int(self.hooks.load_checkpoint("latest") or b"0")
        deadline = time.monotonic() + self.spec.round_timeout_s
        reported: list[int] = []
        for bank in self.spec.banks:
            try:
                payload = self.channel.recv(
                    bank, "hfl/resume", timeout=max(0.001, deadline - time.monotonic())
                )
                reported.append(parse_resume(payload, bank, "hfl/resume", self.spec.rounds))
            except (PartyUnavailable, ChannelTimeout, MalformedMessage) as exc:
                log.warning("bank %s did not report its checkpoint: %s", bank, exc)
        if len(reported) < self.spec.quorum:
            self.broadcast(lambda b: self.channel.send(b, "hfl/start", start_message(0)))
            raise QuorumNotMet(0, "resume", len(reported), self.spec.quorum)
        start = min([own, *reported])
        self.broadcast(lambda b: self.channel.send(b, "hfl/start", start_message(start)))
        history: list[dict[str, Any]] = []
        selection = Selection()
        if start > 0:
            saved = json.loads(self.hooks.load_checkpoint(f"round-{start}") or b"{}")
            history = list(saved.get("history", []))
            selection = Selection(**saved.get("selection", {}))
        self.hooks.record("horizontal_resume", {"start_round": start, "banks": len(reported)})
        return start, history, selection

    def decide(self, r: int, metrics: dict[str, float], selection: Selection) -> tuple[bool, str]:
        """Keep this round's model or not, and stop or not (``node.training.selection``).

        The score is the federated validation AUC with its standard error; a trainer that
        cannot score (a Flower client without a scorer) is judged on validation loss alone.
        """
        if "val_auc" in metrics:
            selection.observe(r, metrics["val_auc"], metrics.get("val_auc_se", 0.0))
        else:
            selection.observe(r, -metrics.get("val_loss", 0.0), 0.0)
        if self.spec.patience and selection.wait >= self.spec.patience:
            return True, "early_stopping"
        return r == self.spec.rounds, "max_rounds"

    def final(self, banks: list[str]) -> dict[str, float]:
        """The kept round's test figures, as every bank computed them from the same sums."""
        deadline = time.monotonic() + self.spec.round_timeout_s
        for bank in banks:
            try:
                payload = self.channel.recv(
                    bank, "hfl/final", timeout=max(0.001, deadline - time.monotonic())
                )
                return parse_metrics(payload, bank, "hfl/final")
            except (PartyUnavailable, ChannelTimeout, MalformedMessage) as exc:
                log.warning("no final figures from %s (%s)", bank, type(exc).__name__)
        return {}

    def phase(self, scheme: SumScheme, name: str, r: int, count: int) -> list[str]:
        deadline = time.monotonic() + self.spec.round_timeout_s
        total: Cells | None = None
        included: list[str] = []
        topic = f"hfl/{name}/{r}"
        for bank in self.spec.banks:
            try:
                head = self._await(bank, topic, r, deadline)  # or the bank's failure notice
                header, blobs = recv_vector(
                    self.channel, bank, topic, deadline, CONTRIBUTION_FIELDS, head
                )
                if header["round"] != r:
                    raise InvalidContribution("contribution is for another round")
                if header["fingerprint"] != scheme.fingerprint:
                    raise InvalidContribution("made under another public key")
                if header["count"] != count:
                    raise InvalidContribution(f"{header['count']} ciphertexts, expected {count}")
                items = scheme.load(blobs, count)
            except (PartyUnavailable, ChannelTimeout) as exc:
                log.warning("round %d %s: %s left out (%s)", r, name, bank, type(exc).__name__)
                continue
            except (MalformedMessage, InvalidContribution) as exc:
                reason = exc.problem if isinstance(exc, MalformedMessage) else exc.reason
                err = UpdateRejected(bank, r, reason)
                log.warning("%s", err)
                self.rejected.append({"round": r, "phase": name, "bank": bank, "reason": reason})
                self.hooks.record(
                    "horizontal_update_rejected", {"round": r, "phase": name, "bank": bank}
                )
                continue
            total = items if total is None else scheme.add(total, items)
            included.append(bank)
        sum_topic = f"hfl/{name}-sum/{r}"
        if total is None or len(included) < self.spec.quorum:
            self.fail(sum_topic, r, "failed", included)
            raise QuorumNotMet(r, name, len(included), self.spec.quorum)
        blobs = scheme.dump(total)
        header = {
            "round": r,
            "status": "ok",
            "banks": included,
            "count": count,
            "reported": len(included),
        }
        self.broadcast(lambda b: send_vector(self.channel, b, sum_topic, header, blobs))
        return included

    def fail(self, topic: str, r: int, status: str, included: list[str]) -> None:
        """Tell every bank waiting on ``topic`` that the round will not complete."""
        header = {
            "round": r,
            "status": status,
            "banks": included,
            "count": 0,
            "reported": len(included),
            "chunks": 0,
        }
        head = header_bytes(KIND_VECTOR, header)
        self.broadcast(lambda b: self.channel.send(b, topic, head))

    def metrics(self, r: int, banks: list[str]) -> dict[str, float]:
        deadline = time.monotonic() + self.spec.round_timeout_s
        found: dict[str, float] = {}
        for bank in banks:
            topic = f"hfl/metrics/{r}"
            try:
                payload = self.channel.recv(
                    bank, topic, timeout=max(0.001, deadline - time.monotonic())
                )
                metrics = parse_metrics(payload, bank, topic)
            except (PartyUnavailable, ChannelTimeout, MalformedMessage) as exc:
                log.warning("round %d: no metrics from %s (%s)", r, bank, type(exc).__name__)
                continue
            if not found:
                found = metrics
            elif metrics != found:
                log.warning("round %d: banks disagree on aggregate metrics", r)
        return found

    def run(self) -> AggregatorResult:
        spec = self.spec
        # the key holder's trainer gives the initial model: a failure there is reported too
        payload = self._await(spec.key_holder, "hfl/public-key", 0, time.monotonic() + self.wait)
        name, fingerprint, public, n_params = parse_public_key_message(
            payload, spec.key_holder, "hfl/public-key"
        )
        scheme = scheme_for_aggregator(spec, name, public)
        if scheme.fingerprint != fingerprint:
            raise MalformedMessage(spec.key_holder, "hfl/public-key", "fingerprint mismatch")
        start, history, selection = self.resume()
        parties = len(spec.banks)
        stopped, last, eval_banks = "max_rounds", start, list(spec.banks)
        for r in range(start + 1, spec.rounds + 1):
            update = UpdateCodec(
                n_params,
                spec.clip,
                spec.frac_bits,
                spec.max_samples_per_bank,
                parties,
                spec.key_bits,
            )
            self.round = r
            banks = self.phase(scheme, "update", r, update.plaintexts)
            evaluation = EvalCodec(
                spec.eval_bins, spec.max_samples_per_bank, parties, spec.key_bits, SPLITS
            )
            eval_banks = self.phase(scheme, "eval", r, evaluation.plaintexts)
            metrics = self.metrics(r, eval_banks)
            stop, reason = self.decide(r, metrics, selection)
            control = control_message(stop, selection.best_epoch, reason)
            topic = f"hfl/control/{r}"
            self.broadcast(partial(self.channel.send, topic=topic, payload=control))
            entry = {"round": r, "banks": banks, "eval_banks": eval_banks, **metrics}
            history.append(entry)
            state = {
                "round": r,
                "history": history,
                "fingerprint": scheme.fingerprint,
                "selection": vars(selection),
            }
            self.hooks.save_checkpoint(f"round-{r}", json.dumps(state).encode())
            self.hooks.save_checkpoint("latest", str(r).encode())
            self.hooks.record(
                "horizontal_round", {"round": r, "banks": len(banks), "eval_banks": len(eval_banks)}
            )
            self.hooks.progress("round", r, spec.rounds, metrics)
            last = r
            if stop:
                stopped = reason
                break
        return AggregatorResult(
            start_round=start,
            rounds_completed=last - start,
            kept_round=selection.best_epoch,
            stopped=stopped,
            history=history,
            rejected=self.rejected,
            final=self.final(eval_banks),
        )


def run_aggregator(
    channel: PartyChannel, hooks: JobHooks, spec: HorizontalSpec
) -> AggregatorResult:
    """Run the coordinator's side of a horizontal job (``channel.party == "coordinator"``).

    The aggregator learns from the key holder the public key and the parameter count, and
    nothing else about the model.

    Raises
    ------
    QuorumNotMet
        A round (or the resume handshake) had fewer than ``spec.quorum`` valid banks.
    MalformedMessage, KeySetupError
        The key holder's public key message was malformed or for another scheme.
    PartyUnavailable, ChannelTimeout
        The key holder never announced the public key.
    """
    agg = _Aggregator(channel, hooks, spec)
    try:
        return agg.run()
    except QuorumNotMet:
        raise
    except Exception:
        # unblock banks waiting on the current round instead of letting them time out
        if agg.round:
            for phase in ("update", "eval"):
                agg.fail(f"hfl/{phase}-sum/{agg.round}", agg.round, "aborted", [])
        raise
