"""The key holder (arbiter), run by the coordinator: holds the private key, opens masked sums.

It generates the job's Paillier key pair (or reloads it from its checkpoint after a restart),
announces the public key, agrees the resume epoch with every party, and for every mini-batch
decrypts the *masked* gradient sums each party sends and returns them to that party alone. It
never receives a partial prediction or residual: those travel party to party, sealed end to
end. It also decides early stopping from the aggregate validation metrics the label holder
reports (AUC, KS, loss — three numbers per epoch).
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import Executor
from typing import Any

from node.crypto.paillier import (
    generate_keypair,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_to_bytes,
)
from node.jobs.hooks import JobHooks
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage, PartyFailed
from node.training.vertical.ops import CellOps, Decryptor, PaillierOps, PlainOps
from node.training.vertical.party import key_message
from node.training.vertical.results import ArbiterResult
from node.training.vertical.session import Session, topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.vertical")

KEY_CHECKPOINT = "paillier-key"
_STATE_VERSION = 1


def _keys(hooks: JobHooks, spec: VerticalSpec) -> tuple[CellOps, Decryptor, bytes]:
    if spec.encryption.plaintext:
        return PlainOps(), Decryptor(None), b""
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
    return PaillierOps(public), Decryptor(private), public_key_to_bytes(public)


def _state_bytes(state: dict[str, Any]) -> bytes:
    return bytes([_STATE_VERSION]) + json.dumps(state).encode()


def _state_from(blob: bytes | None) -> dict[str, Any] | None:
    if not blob or blob[0] != _STATE_VERSION:
        return None
    return dict(json.loads(blob[1:]))


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
        return _run(session, hooks, spec, pool)
    except PartyFailed:
        raise
    except MalformedMessage as exc:
        session.abort(exc.sender, "arbiter")
        raise
    except Exception:
        session.abort(ARBITER, "arbiter")
        raise


def _run(
    session: Session, hooks: JobHooks, spec: VerticalSpec, pool: Executor | None
) -> ArbiterResult:
    ops, decryptor, public = _keys(hooks, spec)
    parties = spec.parties
    lead = spec.label_holder.party
    for party in parties:
        session.send(
            party, topic("key"), key_message(spec.encryption.plaintext, public), "key exchange"
        )
    # resume: the newest epoch every party (and this arbiter) has completed
    latest_blob = hooks.load_checkpoint("latest")
    start = int(latest_blob.decode()) if latest_blob else 0
    for party in parties:
        name = topic("resume", "have")
        have = wire.decode_json(session.recv(party, name, "resume"), party, name, {"epoch"})[
            "epoch"
        ]
        if not isinstance(have, int) or not 0 <= have <= spec.model.epochs:
            raise MalformedMessage(party, name, "epoch out of range")
        start = min(start, have)
    state = _state_from(hooks.load_checkpoint(f"epoch-{start}")) if start else None
    if start and state is None:
        raise DataMismatch(ARBITER, f"arbiter checkpoint epoch-{start} is missing")
    state = state or {
        "epoch": 0,
        "best_auc": None,
        "best_epoch": 0,
        "wait": 0,
        "history": [],
        "stopped": False,
    }
    stopped = bool(state.get("stopped", False))
    for party in parties:
        session.send(
            party,
            topic("resume", "from"),
            wire.encode_json({"epoch": start, "stopped": stopped}),
            "resume",
        )
    decryptions = 0
    name = topic("setup")
    train_rows = wire.decode_json(session.recv(lead, name, "setup"), lead, name, {"train_rows"})[
        "train_rows"
    ]
    if not isinstance(train_rows, int) or train_rows < 1:
        raise MalformedMessage(lead, name, "train_rows must be a positive integer")
    if spec.woe_bins:
        for host in parties[1:]:
            name = topic("woe", "g")
            count = len(spec.holder(host).features) * spec.woe_bins
            cells = ops.load(session.recv(host, name, "woe"), host, name, count)
            session.send(
                host,
                topic("woe", "m"),
                wire.encode_ints(decryptor.open(cells, pool), ops.modulus),
                "woe",
            )
            decryptions += len(cells)
    widths = {p: len(spec.holder(p).features) for p in parties}
    widths[lead] += 1  # the intercept
    batches = math.ceil(train_rows / spec.model.batch_size)
    stopping = spec.model.early_stopping
    for e in range(start + 1, (start if stopped else spec.model.epochs) + 1):
        for b in range(batches):
            for party in parties:
                name = topic(f"e{e}", f"b{b}", "g")
                cells = ops.load(session.recv(party, name, "training"), party, name, widths[party])
                opened = decryptor.open(cells, pool)
                decryptions += len(cells)
                session.send(
                    party,
                    topic(f"e{e}", f"b{b}", "m"),
                    wire.encode_ints(opened, ops.modulus),
                    "training",
                )
        name = topic(f"e{e}", "metrics")
        found = wire.decode_json(
            session.recv(lead, name, "validation"), lead, name, {"auc", "ks", "loss"}
        )
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in found.values()):
            raise MalformedMessage(lead, name, "metrics must be finite numbers")
        auc = float(found["auc"])
        min_delta = stopping.min_delta if stopping else 0.0
        if state["best_auc"] is None or auc > state["best_auc"] + min_delta:
            state["best_auc"], state["best_epoch"], state["wait"] = auc, e, 0
        else:
            state["wait"] += 1
        early = bool(stopping and state["wait"] >= stopping.patience)
        stop = early or e == spec.model.epochs
        for party in parties:
            session.send(
                party,
                topic(f"e{e}", "control"),
                wire.encode_json({"stop": stop, "best_epoch": state["best_epoch"]}),
                "validation",
            )
        state["epoch"], state["stopped"] = e, early
        state["history"].append({"epoch": e, **{k: float(v) for k, v in found.items()}})
        hooks.save_checkpoint(f"epoch-{e}", _state_bytes(state))
        hooks.save_checkpoint("latest", str(e).encode())
        hooks.progress(
            "epoch",
            e,
            spec.model.epochs,
            {"val_auc": auc, "val_ks": float(found["ks"]), "val_loss": float(found["loss"])},
        )
        log.info("vertical job %s epoch %d: validation AUC %.4f", session.channel.job_id, e, auc)
        if stop:
            break
    hooks.record("masked_decryption", {"count": decryptions, "epochs": int(state["epoch"])})
    name = topic("final")
    final = wire.decode_json(
        session.recv(lead, name, "final"), lead, name, {"auc", "ks", "gini", "loss", "best_epoch"}
    )
    return ArbiterResult(
        int(state["best_epoch"]),
        int(state["epoch"]),
        list(state["history"]),
        {k: float(v) for k, v in final.items()},
        decryptions,
        start,
    )
