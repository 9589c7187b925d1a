"""The loop both kinds of data party run: key, resume, setup, mini-batches, validation, final.

The label holder and the feature holders differ only in who forms the encrypted residual and
who scores the validation rows; everything else (encrypted gradients, masking, updates,
checkpoints) is the same code. See ``docs/protocols/vertical-lr.md`` for the message flow.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import Executor

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode, public_key_from_bytes
from node.crypto.paillier.exceptions import InvalidKey
from node.jobs.hooks import JobHooks
from node.training import metrics as m
from node.training.vertical import wire
from node.training.vertical.exceptions import DataMismatch, MalformedMessage, PartyFailed
from node.training.vertical.local import (
    PartyState,
    apply_gradient,
    epoch_batches,
    load_features,
    load_labels,
    pair_masks,
    stratified_split,
)
from node.training.vertical.ops import CellOps, PaillierOps, PlainOps
from node.training.vertical.results import FeatureHolderResult, LabelHolderResult, PartyModel
from node.training.vertical.session import Session, topic
from node.training.vertical.spec import ARBITER, VerticalSpec
from node.training.vertical.woe import (
    WoeTable,
    assign_bins,
    bin_indicators,
    min_bin_rows,
    quantile_edges,
    woe_from_counts,
)
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.training.vertical")

WOE_CHUNK = 2048
"""Encrypted labels per message: 2048 x 512 bytes (x 1024 for 4096-bit keys) stays under 4 MiB."""


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-z))


def log_loss(y: NDArray[np.int8], scores: NDArray[np.float64]) -> float:
    """Mean logistic loss of logits ``scores``."""
    p = np.clip(_sigmoid(scores), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def key_message(plaintext: bool, public: bytes) -> bytes:
    """The arbiter's announcement of the job's scheme and public key."""
    return wire.encode_json({"scheme": "plain" if plaintext else "paillier", "key": public.hex()})


class DataParty:
    """One data party's run; ``label`` says whether it holds the labels."""

    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: VerticalSpec,
        frame: pd.DataFrame,
        pool: Executor | None,
        label: bool,
    ) -> None:
        self.spec = spec
        self.hooks = hooks
        self.pool = pool
        self.is_label = label
        self.me = channel.party
        self.data = spec.holder(self.me)
        self.session = Session(channel, (*spec.parties, ARBITER), spec.timeout_s)
        self.hosts = tuple(h.party for h in spec.feature_holders)
        self.lead = spec.label_holder.party
        enc = spec.encryption
        self.frac = enc.residual_frac_bits
        self.feature_frac = enc.feature_frac_bits
        self.rows = len(frame)
        self.frame = frame
        self.woe_tables: dict[str, WoeTable] | None = None
        self.last_scores: NDArray[np.float64] | None = None
        self.best_scores: NDArray[np.float64] | None = None
        try:
            self.features = load_features(
                self.me, frame, self.data.features, self.feature_frac, label
            )
            self.y = (
                load_labels(self.me, frame, self.data.label) if label and self.data.label else None
            )
        except DataMismatch:
            self.session.abort(self.me, "loading data")  # the others stop now, not at timeout
            raise
        self.ciphertexts_sent = 0
        self.pair_seeds: list[tuple[bytes, int]] = []  # (seed, +1 add / -1 subtract)
        self.stopped = False  # early stopping already ended training before a restart

    # -- set-up ----------------------------------------------------------------------------
    def _ops(self) -> CellOps:
        blob = self.session.recv(ARBITER, topic("key"), "key exchange")
        obj = wire.decode_json(blob, ARBITER, topic("key"), {"scheme", "key"})
        plaintext = self.spec.encryption.plaintext
        if obj["scheme"] != ("plain" if plaintext else "paillier"):
            raise MalformedMessage(ARBITER, topic("key"), "scheme differs from the job file")
        if plaintext:
            return PlainOps()
        try:
            pk = public_key_from_bytes(bytes.fromhex(str(obj["key"])))
        except (InvalidKey, ValueError):
            raise MalformedMessage(ARBITER, topic("key"), "public key does not parse") from None
        if pk.n_bits < self.spec.encryption.key_bits:
            raise MalformedMessage(ARBITER, topic("key"), "public key is shorter than the job's")
        return PaillierOps(pk)

    def _resume(self) -> PartyState:
        width = len(self.features.names)
        latest_blob = self.hooks.load_checkpoint("latest")
        latest = int(latest_blob.decode()) if latest_blob else 0
        self.session.send(
            ARBITER, topic("resume", "have"), wire.encode_json({"epoch": latest}), "resume"
        )
        blob = self.session.recv(ARBITER, topic("resume", "from"), "resume")
        told = wire.decode_json(blob, ARBITER, topic("resume", "from"), {"epoch", "stopped"})
        start = told["epoch"]
        if not isinstance(start, int) or not 0 <= start <= latest:
            raise MalformedMessage(ARBITER, topic("resume", "from"), "epoch out of range")
        self.stopped = bool(told["stopped"])
        if start == 0:
            zeros = np.zeros(width)
            return PartyState(0, zeros, zeros.copy(), 0, {"history": []})
        saved = self.hooks.load_checkpoint(f"epoch-{start}")
        if saved is None:
            raise DataMismatch(self.me, f"checkpoint epoch-{start} is missing")
        return PartyState.from_bytes(self.me, saved, width)

    def _split(self) -> NDArray[np.bool_]:
        if self.is_label:
            assert self.y is not None
            valid = stratified_split(self.y, self.spec.validation_fraction, self.spec.seed)
            for host in self.hosts:
                self.session.send(host, topic("setup"), wire.encode_bits(valid), "setup")
            self.session.send(
                ARBITER,
                topic("setup"),
                wire.encode_json({"train_rows": int((~valid).sum())}),
                "setup",
            )
            return valid
        blob = self.session.recv(self.lead, topic("setup"), "setup")
        try:
            return wire.decode_bits(blob, self.lead, topic("setup"), self.rows)
        except MalformedMessage:
            raise DataMismatch(self.me, "the label holder has a different number of rows") from None

    def _pair(self) -> None:
        mine = self.hosts.index(self.me)
        for other in self.hosts[mine + 1 :]:
            seed = secrets.token_bytes(32)
            self.session.send(other, topic("pair"), seed, "setup")
            self.pair_seeds.append((seed, 1))
        for other in self.hosts[:mine]:
            seed = self.session.recv(other, topic("pair"), "setup")
            if len(seed) != 32:
                raise MalformedMessage(other, topic("pair"), "seed is not 32 bytes")
            self.pair_seeds.append((seed, -1))

    # -- optional WOE binning ------------------------------------------------------------
    def _woe(self, ops: CellOps, valid: NDArray[np.bool_]) -> None:
        """Replace every column by the WOE of its quantile bin (see ``woe.py``)."""
        bins = self.spec.woe_bins
        assert bins is not None
        train = ~valid
        names = list(self.data.features)
        columns = {n: self.frame[n].to_numpy(dtype=np.float64) for n in names}
        n_train = int(train.sum())
        floor = min_bin_rows(n_train)
        layout = []
        for name in names:
            edges = quantile_edges(columns[name][train], bins)
            assigned = assign_bins(columns[name][train], edges)
            sizes = np.bincount(assigned, minlength=bins)
            layout.append((name, edges, assigned, sizes, sizes >= floor))
        if self.is_label:
            assert self.y is not None
            y = self.y[train].astype(np.int64)
            positives = [
                np.bincount(a, weights=y, minlength=bins).astype(np.int64)
                for _, _, a, _, _ in layout
            ]
            if self.hosts:
                cells = ops.encrypt(y.tolist(), self.pool)
                for k in range(0, len(cells), WOE_CHUNK):
                    payload = ops.dump(cells[k : k + WOE_CHUNK])
                    for host in self.hosts:
                        self.session.send(host, topic("woe", "y", k // WOE_CHUNK), payload, "woe")
                    self.ciphertexts_sent += len(self.hosts) * min(WOE_CHUNK, len(cells) - k)
        else:
            cells = []
            for k in range(0, n_train, WOE_CHUNK):
                name = topic("woe", "y", k // WOE_CHUNK)
                blob = self.session.recv(self.lead, name, "woe")
                cells += ops.load(blob, self.lead, name, min(WOE_CHUNK, n_train - k))
            scalars = np.hstack([bin_indicators(a, bins, ok) for _, _, a, _, ok in layout])
            sums = ops.inner(cells, scalars, self.pool)
            masks = ops.random_masks(len(sums))
            self.session.send(ARBITER, topic("woe", "g"), ops.dump(ops.mask(sums, masks)), "woe")
            self.ciphertexts_sent += len(sums)
            name = topic("woe", "m")
            opened = wire.decode_ints(
                self.session.recv(ARBITER, name, "woe"), ops.modulus, ARBITER, name, len(masks)
            )
            flat = np.array([ops.signed(o - r) for o, r in zip(opened, masks, strict=True)])
            positives = [flat[i * bins : (i + 1) * bins] for i in range(len(names))]
            for pos, (_, _, _, sizes, _) in zip(positives, layout, strict=True):
                if (pos < 0).any() or (pos > sizes).any():
                    raise MalformedMessage(ARBITER, name, "a bin count is out of range")
        self.woe_tables = {
            name: WoeTable(edges, woe_from_counts(pos, sizes, ok))
            for (name, edges, _, sizes, ok), pos in zip(layout, positives, strict=True)
        }
        woe_frame = pd.DataFrame(
            {name: table.apply(columns[name]) for name, table in self.woe_tables.items()}
        )
        self.features = load_features(
            self.me, woe_frame, names, self.feature_frac, intercept=self.is_label
        )
        self.hooks.record("woe_binning", {"fields": names, "bins": bins})

    # -- one mini-batch --------------------------------------------------------------------
    def _residual(
        self, ops: CellOps, e: int, b: int, rows: NDArray[np.int64], w: NDArray[np.float64]
    ) -> list[int]:
        """The encrypted residual ``d`` of the batch's rows (see the protocol doc).

        ``d_i = sigmoid(a_i) - y_i + s_i * h_i``: the logistic loss linearised around the label
        holder's own partial logit ``a_i`` (known to it in the clear), with slope ``s_i =
        sigmoid'(a_i)`` applied to the encrypted sum ``h_i`` of the feature holders' partial
        logits. It carries ``residual_frac_bits + slope_frac_bits`` fractional bits.
        """
        partial = self.features.values[rows] @ w
        name_u, name_d = topic(f"e{e}", f"b{b}", "u"), topic(f"e{e}", f"b{b}", "d")
        if not self.is_label:
            cells = ops.encrypt(encode(partial, self.frac).tolist(), self.pool)
            self.session.send(self.lead, name_u, ops.dump(cells), "training")
            self.ciphertexts_sent += len(cells)
            blob = self.session.recv(self.lead, name_d, "training")
            return ops.load(blob, self.lead, name_d, len(rows))
        assert self.y is not None
        total: list[int] | None = None
        for host in self.hosts:
            cells = ops.load(self.session.recv(host, name_u, "training"), host, name_u, len(rows))
            total = cells if total is None else ops.add(total, cells)
        assert total is not None
        p = _sigmoid(partial)
        slope_bits = self.spec.encryption.slope_frac_bits
        # at least 1: a zero slope would leave a trivially decryptable g^m
        slopes = np.maximum(1, np.rint(p * (1 - p) * 2.0**slope_bits)).astype(np.int64)
        own = encode(p - self.y[rows], self.frac + slope_bits).tolist()
        residual = ops.add_plain(ops.scale(total, slopes.tolist(), self.pool), own)
        if len(self.hosts) == 1:
            # the only feature holder knows its own ciphertexts; without fresh randomness it
            # could divide them out (trying the few possible slopes) and read sigmoid(a) - y
            residual = ops.rerandomize(residual, self.pool)
        payload = ops.dump(residual)
        for host in self.hosts:
            self.session.send(host, name_d, payload, "training")
            self.ciphertexts_sent += len(residual)
        return residual

    def _step(
        self, ops: CellOps, e: int, b: int, rows: NDArray[np.int64], w: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        residual = self._residual(ops, e, b, rows, w)
        sums = ops.inner(residual, self.features.scalars[rows], self.pool)
        masks = ops.random_masks(len(sums))
        masked = ops.mask(sums, masks)
        self.session.send(ARBITER, topic(f"e{e}", f"b{b}", "g"), ops.dump(masked), "training")
        self.ciphertexts_sent += len(masked)
        name = topic(f"e{e}", f"b{b}", "m")
        blob = self.session.recv(ARBITER, name, "training")
        opened = wire.decode_ints(blob, ops.modulus, ARBITER, name, len(masks))
        exact = [ops.signed(o - r) for o, r in zip(opened, masks, strict=True)]
        model = self.spec.model
        return apply_gradient(
            w,
            exact,
            self.frac + self.spec.encryption.slope_frac_bits + self.feature_frac,
            len(rows),
            model.learning_rate,
            model.l2,
            intercept=self.is_label,
        )

    # -- validation ------------------------------------------------------------------------
    def _validate(
        self, e: int, valid: NDArray[np.bool_], w: NDArray[np.float64]
    ) -> dict[str, float] | None:
        partial = self.features.values[valid] @ w
        name = topic(f"e{e}", "valid")
        if not self.is_label:
            q = encode(partial, self.frac).view(np.uint64)
            for seed, sign in self.pair_seeds:
                mask = pair_masks(seed, e, len(q))
                q = q + mask if sign > 0 else q - mask
            self.session.send(self.lead, name, wire.encode_u64(q), "validation")
            return None
        assert self.y is not None
        total = np.zeros(int(valid.sum()), dtype=np.uint64)
        for host in self.hosts:
            total += wire.decode_u64(
                self.session.recv(host, name, "validation"), host, name, len(total)
            )
        scores = partial + total.view(np.int64) / 2.0**self.frac
        self.last_scores = scores
        y = self.y[valid]
        found = {"auc": m.auc(y, scores), "ks": m.ks(y, scores), "loss": log_loss(y, scores)}
        self.session.send(ARBITER, topic(f"e{e}", "metrics"), wire.encode_json(found), "validation")
        return found

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> LabelHolderResult | FeatureHolderResult:
        """Run to the end; on any failure, tell the others and raise."""
        try:
            return self._run()
        except PartyFailed:
            raise
        except MalformedMessage as exc:
            self.session.abort(exc.sender, f"a message on {exc.topic}")
            raise
        except Exception as exc:
            self.session.abort(self.me, type(exc).__name__)
            raise

    def _run(self) -> LabelHolderResult | FeatureHolderResult:
        self.hooks.record(
            "training_use",
            {
                "job_id": self.session.channel.job_id,
                "dataset": self.data.dataset,
                "fields": list(self.data.features)
                + ([self.data.label] if self.is_label and self.data.label else []),
                "rows": self.rows,
                "purpose": "training",
            },
        )
        ops = self._ops()
        state = self._resume()
        valid = self._split()
        if not self.is_label:
            self._pair()
        if self.spec.woe_bins:
            self._woe(ops, valid)
        train = np.flatnonzero(~valid)
        history: list[dict[str, float]] = list(state.extra.get("history", []))
        model = self.spec.model
        w = state.weights
        epochs_run = state.epoch
        last = state.epoch if self.stopped else model.epochs
        for e in range(state.epoch + 1, last + 1):
            for b, rows in enumerate(epoch_batches(train, self.spec.seed, e, model.batch_size)):
                w = self._step(ops, e, b, rows, w)
            found = self._validate(e, valid, w)
            blob = self.session.recv(ARBITER, topic(f"e{e}", "control"), "validation")
            control = wire.decode_json(
                blob, ARBITER, topic(f"e{e}", "control"), {"stop", "best_epoch"}
            )
            if not isinstance(control["stop"], bool) or control["best_epoch"] not in range(
                1, e + 1
            ):
                raise MalformedMessage(ARBITER, topic(f"e{e}", "control"), "invalid decision")
            if found is not None:
                history.append({"epoch": e, **found})
            if control["best_epoch"] == e:
                self.best_scores = self.last_scores
                state.best_weights, state.best_epoch = w.copy(), e
            state.epoch, state.weights = e, w
            state.extra["history"] = history
            self.hooks.save_checkpoint(f"epoch-{e}", state.to_bytes())
            self.hooks.save_checkpoint("latest", str(e).encode())
            self.hooks.progress("epoch", e, model.epochs, found or {})
            epochs_run = e
            if control["stop"]:
                break
        return self._final(ops, valid, state, history, epochs_run)

    def _final(
        self,
        ops: CellOps,
        valid: NDArray[np.bool_],
        state: PartyState,
        history: list[dict[str, float]],
        epochs_run: int,
    ) -> LabelHolderResult | FeatureHolderResult:
        best = state.best_weights
        part = self.features.values[valid] @ best
        model = PartyModel(
            self.me, self.features.names, tuple(float(x) for x in best), self.woe_tables
        )
        if not self.is_label:
            self.session.send(
                self.lead,
                topic("final"),
                wire.encode_json({"score_std": float(np.std(part))}),
                "final",
            )
            return FeatureHolderResult(
                model, state.best_epoch, epochs_run, self.ciphertexts_sent, self.session.bytes_sent
            )
        assert self.y is not None
        spreads = {self.me: float(np.std(part))}
        for host in self.hosts:
            obj = wire.decode_json(
                self.session.recv(host, topic("final"), "final"),
                host,
                topic("final"),
                {"score_std"},
            )
            spreads[host] = float(obj["score_std"])
        total = sum(spreads.values()) or 1.0
        contribution = {p: s / total for p, s in spreads.items()}
        best_metrics = next((h for h in history if h["epoch"] == state.best_epoch), history[-1])
        metrics = {
            "auc": best_metrics["auc"],
            "ks": best_metrics["ks"],
            "gini": 2 * best_metrics["auc"] - 1,
            "loss": best_metrics["loss"],
        }
        own_auc = m.auc(self.y[valid], part)
        self.session.send(
            ARBITER,
            topic("final"),
            wire.encode_json({**metrics, "best_epoch": state.best_epoch}),
            "final",
        )
        card, extra = None, {}
        if self.spec.scorecard is not None:
            card = self.spec.scorecard.describe()
            if self.best_scores is not None:  # not after a resume past the best epoch
                points = self.spec.scorecard.points(self.best_scores)
                extra["validation_points"] = {
                    "p10": float(np.percentile(points, 10)),
                    "median": float(np.median(points)),
                    "p90": float(np.percentile(points, 90)),
                }
        return LabelHolderResult(
            model,
            state.best_epoch,
            epochs_run,
            metrics,
            history,
            contribution,
            own_auc,
            card,
            self.ciphertexts_sent,
            self.session.bytes_sent,
            int(valid.sum()),
            int((~valid).sum()),
            extra,
        )
