"""The key holder (arbiter), run by the coordinator: holds the private key, opens masked sums.

It generates the job's Paillier key pair (or reloads it from its checkpoint after a restart),
announces the public key, agrees the resume epoch with every party, and for every mini-batch
decrypts the *masked, packed* gradient each party sends and returns it to that party alone. It
never receives a partial prediction or residual: those travel party to party, sealed end to
end. It also decides when training ends, from aggregates only: the label holder's three
validation metrics per epoch (early stopping on AUC) and each party's two convergence numbers
(the largest change of its averaged weights and their largest magnitude).
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import Executor
from dataclasses import dataclass

from node.crypto.paillier import (
    generate_keypair,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_to_bytes,
)
from node.jobs.hooks import JobHooks
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage, PartyFailed
from node.training.vertical.gradients import cipher_count
from node.training.vertical.ops import CellOps, Decryptor, PaillierOps, PlainOps
from node.training.vertical.optimizer import relative_change
from node.training.vertical.party import key_message
from node.training.vertical.results import ArbiterResult, TrainingCourse
from node.training.vertical.session import Session, topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.training.vertical.state import ArbiterState
from node.training.vertical.stopping import decide
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.vertical")

KEY_CHECKPOINT = "paillier-key"


@dataclass(frozen=True)
class Keys:
    """The job's cell arithmetic, the decryptor and the announced public key."""

    ops: CellOps
    decryptor: Decryptor
    public: bytes


def _keys(hooks: JobHooks, spec: VerticalSpec) -> Keys:
    if spec.encryption.plaintext:
        return Keys(PlainOps(spec.encryption.key_bits), Decryptor(None), b"")
    saved = hooks.load_checkpoint(KEY_CHECKPOINT)
    if saved is not None:
        private = private_key_from_bytes(saved)
    else:
        _, private = generate_keypair(spec.encryption.key_bits)
        hooks.save_checkpoint(KEY_CHECKPOINT, private_key_to_bytes(private))
        hooks.record(
            "paillier_key",
            {
                "bits": spec.encryption.key_bits,
                "fingerprint": private.public_key.fingerprint[:8].hex(),
            },
        )
    public = private.public_key
    return Keys(PaillierOps(public), Decryptor(private), public_key_to_bytes(public))


class Arbiter:
    """The key holder's run over one session."""

    def __init__(
        self, session: Session, hooks: JobHooks, spec: VerticalSpec, pool: Executor | None
    ) -> None:
        self.session = session
        self.hooks = hooks
        self.spec = spec
        self.pool = pool
        self.parties = spec.parties
        self.lead = spec.label_holder.party
        self.widths = {p: len(spec.holder(p).features) for p in self.parties}
        self.widths[self.lead] += 1  # the intercept
        self.decryptions = 0

    def _open(self, party: str, name: str, reply: str, count: int, stage: str, keys: Keys) -> None:
        cells = keys.ops.load(self.session.recv(party, name, stage), party, name, count)
        opened = keys.decryptor.open(cells, self.pool)
        self.decryptions += len(cells)
        self.session.send(party, reply, wire.encode_ints(opened, keys.ops.modulus), stage)

    def _resume(self) -> tuple[int, ArbiterState]:
        """The newest epoch every party (and this arbiter) has completed, and its state."""
        latest_blob = self.hooks.load_checkpoint("latest")
        start = int(latest_blob.decode()) if latest_blob else 0
        for party in self.parties:
            name = topic("resume", "have")
            have = wire.decode_json(
                self.session.recv(party, name, "resume"), party, name, {"epoch"}
            )["epoch"]
            if not isinstance(have, int) or not 0 <= have <= self.spec.model.epochs:
                raise MalformedMessage(party, name, "epoch out of range")
            start = min(start, have)
        state = ArbiterState()
        if start:
            saved = self.hooks.load_checkpoint(f"epoch-{start}")
            if saved is None:
                raise DataMismatch(ARBITER, f"arbiter checkpoint epoch-{start} is missing")
            state = ArbiterState.from_bytes(saved)
            if state.stopped == "max_epochs" and start < self.spec.model.epochs:
                state.stopped = ""  # the job file now allows more epochs
        for party in self.parties:
            self.session.send(
                party,
                topic("resume", "from"),
                wire.encode_json({"epoch": start, "stopped": state.stopped}),
                "resume",
            )
        return start, state

    def _train_rows(self) -> int:
        name = topic("setup")
        rows = wire.decode_json(
            self.session.recv(self.lead, name, "setup"), self.lead, name, {"train_rows"}
        )["train_rows"]
        if not isinstance(rows, int) or rows < 1:
            raise MalformedMessage(self.lead, name, "train_rows must be a positive integer")
        return rows

    def _change(self, e: int) -> float:
        """The relative weight change of epoch ``e`` from the parties' reports."""
        deltas, scales = [], []
        for party in self.parties:
            name = topic(f"e{e}", "change")
            found = wire.decode_json(
                self.session.recv(party, name, "validation"), party, name, {"delta", "scale"}
            )
            values = [found["delta"], found["scale"]]
            if not all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in values):
                raise MalformedMessage(party, name, "change figures must be finite and >= 0")
            deltas.append(float(found["delta"]))
            scales.append(float(found["scale"]))
        return relative_change(deltas, scales)

    def _metrics(self, e: int) -> dict[str, float]:
        name = topic(f"e{e}", "metrics")
        found = wire.decode_json(
            self.session.recv(self.lead, name, "validation"),
            self.lead,
            name,
            {"auc", "auc_se", "ks", "loss"},
        )
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in found.values()):
            raise MalformedMessage(self.lead, name, "metrics must be finite numbers")
        return {k: float(v) for k, v in found.items()}

    def run(self) -> ArbiterResult:
        keys = _keys(self.hooks, self.spec)
        for party in self.parties:
            self.session.send(
                party,
                topic("key"),
                key_message(self.spec.encryption.plaintext, keys.public),
                "key exchange",
            )
        start, state = self._resume()
        train_rows = self._train_rows()
        if self.spec.woe_bins:
            for host in self.parties[1:]:
                count = len(self.spec.holder(host).features) * self.spec.woe_bins
                self._open(host, topic("woe", "g"), topic("woe", "m"), count, "woe", keys)
        key_bits = self.spec.encryption.key_bits
        counts = {p: cipher_count(w, key_bits) for p, w in self.widths.items()}
        batches = math.ceil(train_rows / self.spec.batch_rows(train_rows))
        last = start if state.stopped else self.spec.model.epochs
        for e in range(start + 1, last + 1):
            for b in range(batches):
                for party in self.parties:
                    self._open(
                        party,
                        topic(f"e{e}", f"b{b}", "g"),
                        topic(f"e{e}", f"b{b}", "m"),
                        counts[party],
                        "training",
                        keys,
                    )
            change = self._change(e)
            found = self._metrics(e)
            stop = decide(self.spec.model, state, e, found["auc"], found["auc_se"], change)
            for party in self.parties:
                self.session.send(
                    party,
                    topic(f"e{e}", "control"),
                    wire.encode_json(
                        {"stop": stop, "best_epoch": state.best_epoch, "reason": state.stopped}
                    ),
                    "validation",
                )
            state.epoch = e
            state.history.append({"epoch": float(e), **found, "change": change})
            self.hooks.save_checkpoint(f"epoch-{e}", state.to_bytes())
            self.hooks.save_checkpoint("latest", str(e).encode())
            self.hooks.progress(
                "epoch",
                e,
                self.spec.model.epochs,
                {"val_auc": found["auc"], "val_ks": found["ks"], "val_loss": found["loss"]},
            )
            log.info(
                "vertical job %s epoch %d: validation AUC %.4f",
                self.session.channel.job_id,
                e,
                found["auc"],
            )
            if stop:
                break
        self.hooks.record("masked_decryption", {"count": self.decryptions, "epochs": state.epoch})
        name = topic("final")
        final = wire.decode_json(
            self.session.recv(self.lead, name, "final"),
            self.lead,
            name,
            {"auc", "ks", "gini", "log_loss", "brier", "best_epoch"},
        )
        return ArbiterResult(
            course=TrainingCourse(state.best_epoch, state.epoch, state.stopped or "max_epochs"),
            history=state.history,
            final={k: float(v) for k, v in final.items()},
            decryptions=self.decryptions,
            decryptions_per_epoch=batches * sum(counts.values()),
            resumed_from=start,
        )


def run_arbiter(
    channel: PartyChannel, hooks: JobHooks, spec: VerticalSpec, pool: Executor | None = None
) -> ArbiterResult:
    """Run the key holder's side of a vertical job (the coordinator calls this).

    Raises
    ------
    PartyFailed
        A data party left or stayed silent; the error names it.
    MalformedMessage
        A party sent something that failed validation.
    """
    session = Session(channel, (*spec.parties, ARBITER), spec.timeout_s)
    try:
        return Arbiter(session, hooks, spec, pool).run()
    except PartyFailed:
        raise
    except MalformedMessage as exc:
        session.abort(exc.sender, "arbiter")
        raise
    except Exception:
        session.abort(ARBITER, "arbiter")
        raise
