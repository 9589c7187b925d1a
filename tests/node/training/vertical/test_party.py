"""End-to-end runs of the vertical protocol over a ``MemoryHub``: maths, traffic, failures."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest

from node.compute import worker_pool
from node.crypto.paillier import ciphertexts_from_bytes, private_key_from_bytes
from node.jobs.hooks import MemoryHooks
from node.training.preprocess import fit_transform
from node.training.vertical import (
    ArbiterResult,
    DataMismatch,
    LabelHolderResult,
    MalformedMessage,
    PartyFailed,
    run_arbiter,
    run_feature_holder,
    run_label_holder,
    spec_from_job,
    wire,
)
from node.training.vertical.arbiter import KEY_CHECKPOINT
from node.training.vertical.linearization import Linearization
from node.training.vertical.local import epoch_batches, quantize, stratified_split
from node.training.vertical.ops import PlainOps
from node.training.vertical.optimizer import Optimizer, OptimizerState
from node.training.vertical.party import key_message
from node.training.vertical.simulate import run_in_memory
from node.transport.memory import MemoryHub

from .conftest import allow_all, section

CT_HEADER = 6  # vertical wire header (version, kind, count)
CORE_HEADER = 15  # Paillier core blob header


def _reference_weights(
    frames: dict[str, pd.DataFrame], raw: dict[str, Any]
) -> list[dict[str, np.ndarray]]:
    """Centralized training under the same linearised loss and schedule, in plain floats.

    Slow and obviously correct: stacks every party's (fixed-point) columns and runs the same
    mini-batches, bands and optimizer steps. Returns each party's epoch weights.
    """
    spec = spec_from_job(raw, allow_all)
    enc = spec.encryption
    y = frames["bank"]["y"].to_numpy().astype(np.int8)
    split = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed)
    parts = {}
    for holder in (spec.label_holder, *spec.feature_holders):
        frame = frames[holder.party]
        matrix = fit_transform(frame, holder.features, spec.preprocess, split.train).apply(frame)
        parts[holder.party] = quantize(
            holder.party, holder.features, matrix, enc.feature_frac_bits, holder.label is not None
        ).values
    optimizers = {
        p: Optimizer(spec.model.optimizer, spec.model.learning_rate, spec.model.l2, p == "bank")
        for p in parts
    }
    start = np.zeros(parts["bank"].shape[1])
    rate = y[split.train].mean()
    start[-1] = np.log(rate / (1 - rate))
    states = {
        p: OptimizerState.start(start if p == "bank" else np.zeros(x.shape[1]))
        for p, x in parts.items()
    }
    lin = Linearization.tangent()
    train = np.flatnonzero(split.train)
    out = []
    for e in range(1, spec.model.epochs + 1):
        for state in states.values():
            state.begin_epoch()
        for rows in epoch_batches(train, spec.seed, e, spec.batch_rows(len(train))):
            a = parts["bank"][rows] @ states["bank"].weights
            hosts = (
                sum(
                    np.rint(x[rows] @ states[p].weights * 2**enc.residual_frac_bits)
                    for p, x in parts.items()
                    if p != "bank"
                )
                / 2**enc.residual_frac_bits
            )
            prob, slope, center = lin.coefficients(a)
            s = np.maximum(1, np.rint(slope * 2**enc.slope_frac_bits)) / 2**enc.slope_frac_bits
            d = prob - y[rows] - s * center + s * hosts
            for p, x in parts.items():
                optimizers[p].step(states[p], x[rows].T @ d / len(rows), e)
        weights = {p: optimizers[p].epoch_weights(states[p]) for p in parts}
        a_v = parts["bank"][split.valid] @ weights["bank"]
        h_v = (
            sum(
                np.rint(x[split.valid] @ weights[p] * 2**enc.residual_frac_bits)
                for p, x in parts.items()
                if p != "bank"
            )
            / 2**enc.residual_frac_bits
        )
        if spec.model.linearization == "moment_matched":
            lin = Linearization.fit(a_v, h_v)
        out.append(weights)
    return out


def _run(
    frames: dict[str, pd.DataFrame], raw: dict[str, Any], **kwargs: Any
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    return run_in_memory(spec_from_job(raw, allow_all), frames, **kwargs)


@pytest.mark.parametrize(
    ("plaintext", "settings"),
    [
        (True, {}),
        (False, {}),
        (True, {"optimizer": "sgd", "linearization": "tangent"}),
    ],
)
def test_federated_weights_match_central_training(
    credit_frames: dict[str, pd.DataFrame], plaintext: bool, settings: dict[str, str]
) -> None:
    # prepare
    raw = section(
        plaintext=plaintext, epochs=3, three_party=True, early_stopping=False, tolerance=0.0
    )
    raw["model"].update(settings)
    reference = _reference_weights(credit_frames, raw)
    # execute
    results, errors = _run(credit_frames, raw)
    # assert
    assert errors == {}
    bank = results["bank"]
    assert isinstance(bank, LabelHolderResult)
    expected = reference[bank.course.best_epoch - 1]
    np.testing.assert_allclose(
        (*bank.model.weights, bank.model.intercept), expected["bank"], atol=1e-6
    )
    for party in ("gov", "third"):
        got = np.array(results[party].model.weights)
        # residuals carry 24 fractional bits: agreement to ~1e-6 is fixed-point precision
        np.testing.assert_allclose(got, expected[party], atol=1e-6)
        assert np.abs(got).max() > 1e-3  # the model did move


def test_encrypted_run_equals_plaintext_twin_bit_for_bit(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # execute
    plain, e1 = _run(credit_frames, section(plaintext=True, three_party=True))
    cipher, e2 = _run(credit_frames, section(plaintext=False, three_party=True))
    # assert
    assert e1 == {} and e2 == {}
    for party in ("bank", "gov", "third"):
        assert plain[party].model.weights == cipher[party].model.weights
    assert plain["bank"].model.intercept == cipher["bank"].model.intercept
    assert plain["bank"].splits == cipher["bank"].splits


def test_single_host_run_on_workers_equals_twin_and_its_residuals_cannot_be_stripped(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    """Randomness drawn ahead on worker processes: same bits, and every residual the host
    receives carries randomness it did not make (else dividing out its own E(H)^S for each
    possible slope S would expose a trivially readable g^own — the residual, i.e. labels)."""
    # prepare
    hub = MemoryHub("vertical-one-host")
    hooks = {"coordinator": MemoryHooks()}
    # execute
    plain, e1 = _run(credit_frames, section(plaintext=True))
    with worker_pool(2) as pool:
        cipher, e2 = _run(credit_frames, section(plaintext=False), pool=pool, hub=hub, hooks=hooks)
    # assert
    assert e1 == {} and e2 == {}
    for party in ("bank", "gov"):
        assert plain[party].model.weights == cipher[party].model.weights
    assert plain["bank"].splits == cipher["bank"].splits
    pk = private_key_from_bytes(hooks["coordinator"].checkpoints[KEY_CHECKPOINT]).public_key
    sent = {
        m.topic: ciphertexts_from_bytes(pk, m.payload[CT_HEADER:])
        for m in hub.captured
        if m.payload[1:2] == b"C"
    }
    everything = [c for cells in sent.values() for c in cells]
    assert len(set(everything)) == len(everything)  # no ciphertext sent twice
    nsquare = pk.nsquare
    for u, d in zip(sent["vlr/e1/b0/u"][:20], sent["vlr/e1/b0/d"][:20], strict=True):
        inverse, stripped = pow(u, -1, nsquare), d
        for _slope in range(1, 1 << 10):
            stripped = stripped * inverse % nsquare  # d / u^slope
            assert stripped % pk.n != 1


def test_traffic_holds_no_plaintext_and_arbiter_sees_only_masked_gradients(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    hub = MemoryHub("vertical-traffic")
    hooks = {"coordinator": MemoryHooks()}
    y = credit_frames["bank"]["y"].to_numpy()
    # execute
    _, errors = _run(
        credit_frames, section(plaintext=False, epochs=1, three_party=True), hub=hub, hooks=hooks
    )
    # assert
    assert errors == {}
    sk = private_key_from_bytes(hooks["coordinator"].checkpoints[KEY_CHECKPOINT])
    pk = sk.public_key
    label_bytes = [y.astype(np.int8).tobytes(), np.packbits(y.astype(bool)).tobytes()]
    feature_bytes = [credit_frames["gov"]["x0"].to_numpy()[:4].tobytes()]
    to_arbiter_topics = set()
    for msg in hub.captured:
        for secret in (*label_bytes, *feature_bytes):
            assert secret[:16] not in msg.payload
        if msg.payload[1:2] == b"C":  # ciphertext vectors: all randomised, none trivial
            cells = ciphertexts_from_bytes(pk, msg.payload[CT_HEADER:])
            assert all(c % pk.n != 1 for c in cells)
            assert msg.topic.endswith(("/u", "/d", "/g"))
        if msg.recipient == "coordinator":
            to_arbiter_topics.add(msg.topic.rsplit("/", 1)[-1])
            if msg.topic.endswith("/g"):
                cells = ciphertexts_from_bytes(pk, msg.payload[CT_HEADER:])
                # a packed true gradient is below 2^720 in magnitude (10 slots of 72 bits at
                # 768 bits); masked ones are uniform mod n
                for m in (sk.decrypt_signed(c) for c in cells):
                    assert abs(m) > 2**740
    assert to_arbiter_topics <= {"have", "setup", "g", "change", "metrics", "final", "abort"}
    assert "g" in to_arbiter_topics


def test_validation_scores_of_two_hosts_reach_the_bank_masked(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    hub = MemoryHub("vertical-valid")
    # execute
    _, errors = _run(credit_frames, section(epochs=1, three_party=True), hub=hub)
    # assert: each host's vector alone looks uniform (huge values), their sum is small
    assert errors == {}
    vectors = [
        np.frombuffer(m.payload, dtype=">u8", offset=CT_HEADER).astype(np.uint64)
        for m in hub.captured
        if m.topic.endswith("/valid")
    ]
    assert len(vectors) == 2
    for v in vectors:
        assert np.median(np.abs(v.view(np.int64).astype(np.float64))) > 2.0**50
    total = (vectors[0] + vectors[1]).view(np.int64)
    assert np.abs(total).max() < 2**40


def test_resume_after_restart_continues_from_last_checkpoint(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: an uninterrupted 3-epoch run, and a 2-epoch run whose hooks survive a restart
    hooks = {p: MemoryHooks() for p in ("bank", "gov", "coordinator")}
    settings = {"early_stopping": False, "tolerance": 0.0}
    full, e0 = _run(credit_frames, section(epochs=3, **settings))
    _, e1 = _run(credit_frames, section(epochs=2, **settings), hooks=hooks)
    # execute: restart with the job's real length
    resumed, e2 = _run(credit_frames, section(epochs=3, **settings), hooks=hooks)
    # assert
    assert e0 == e1 == e2 == {}
    arbiter = resumed["coordinator"]
    assert isinstance(arbiter, ArbiterResult)
    assert arbiter.resumed_from == 2 and arbiter.epochs_run == 3
    assert "epoch-3" in hooks["bank"].checkpoints
    for party in ("bank", "gov"):
        np.testing.assert_allclose(
            resumed[party].model.weights, full[party].model.weights, atol=1e-12
        )


def test_party_leaving_fails_every_other_party_naming_it(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: "third" never starts and is dropped from the hub
    spec = spec_from_job(section(three_party=True), allow_all)
    hub = MemoryHub("vertical-drop")
    hub.drop("third")
    errors: dict[str, BaseException] = {}

    def role(name: str) -> None:
        try:
            channel = hub.channel(name)
            if name == "coordinator":
                run_arbiter(channel, MemoryHooks(), spec)
            elif name == "bank":
                run_label_holder(channel, MemoryHooks(), spec, credit_frames["bank"])
            else:
                run_feature_holder(channel, MemoryHooks(), spec, credit_frames[name])
        except BaseException as exc:
            errors[name] = exc

    threads = [threading.Thread(target=role, args=(n,)) for n in ("coordinator", "bank", "gov")]
    # execute
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # assert
    assert not any(t.is_alive() for t in threads)
    assert set(errors) == {"coordinator", "bank", "gov"}
    for exc in errors.values():
        assert isinstance(exc, PartyFailed) and exc.party == "third"


def test_malformed_residual_is_refused_by_name(credit_frames: dict[str, pd.DataFrame]) -> None:
    # prepare: a fake arbiter and bank feed the host a residual of the wrong length
    spec = spec_from_job(section(), allow_all)
    hub = MemoryHub("vertical-bad")
    arbiter, bank = hub.channel("coordinator"), hub.channel("bank")
    arbiter.send("gov", "vlr/key", key_message(True, b""))
    arbiter.send("gov", "vlr/resume/from", wire.encode_json({"epoch": 0, "stopped": ""}))
    bits = np.zeros(2 * len(credit_frames["gov"]), dtype=bool)
    bits[::7] = True  # some validation rows, no test rows
    bank.send("gov", "vlr/setup", wire.encode_bits(bits))
    bank.send("gov", "vlr/e1/b0/d", PlainOps(768).dump(PlainOps(768).encrypt([1, 2, 3], None)))
    # execute
    with pytest.raises(MalformedMessage) as info:
        run_feature_holder(hub.channel("gov"), MemoryHooks(), spec, credit_frames["gov"])
    # assert
    assert info.value.sender == "bank" and info.value.topic == "vlr/e1/b0/d"
    assert any(m.topic == "vlr/abort" for m in hub.captured if m.sender == "gov")


def test_results_summaries_carry_no_weights_or_scores(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    raw = section(epochs=1)
    raw["scorecard"] = {
        "base_points": 600,
        "base_odds": 50,
        "points_to_double_odds": 20,
        "odds": "good_to_bad",
    }
    # execute
    results, errors = _run(credit_frames, raw)
    # assert
    assert errors == {}
    bank = results["bank"]
    points = bank.summary()["points"]
    assert points["p10"] < points["median"] < points["p90"]
    assert bank.scorecard.startswith("600 points")
    summary = repr(bank.summary()) + repr(results["gov"].summary())
    summary += repr(results["coordinator"].summary())
    for w in (*bank.model.weights, *results["gov"].model.weights):
        assert repr(w) not in summary
    assert 0.5 < bank.metrics["auc"] < 1.0
    assert bank.metrics["gini"] == pytest.approx(2 * bank.metrics["auc"] - 1)
    assert set(bank.contribution) == {"bank", "gov"}
    assert sum(bank.contribution.values()) == pytest.approx(1.0)


def test_bad_local_data_stops_everyone_promptly(credit_frames: dict[str, pd.DataFrame]) -> None:
    # prepare: the host's dataset lacks a column the job names
    frames = dict(credit_frames)
    frames["gov"] = credit_frames["gov"].drop(columns=["x4"])
    # execute
    _, errors = _run(frames, section())
    # assert
    assert isinstance(errors["gov"], DataMismatch)
    assert isinstance(errors["bank"], PartyFailed) and errors["bank"].party == "gov"
    assert isinstance(errors["coordinator"], PartyFailed)
    assert errors["coordinator"].party == "gov"


def test_restart_after_early_stop_does_not_train_further(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: patience 1 with a huge min_delta stops after epoch 2
    hooks = {p: MemoryHooks() for p in ("bank", "gov", "coordinator")}
    raw = section(epochs=5, early_stopping={"patience": 1, "min_delta": 0.5}, tolerance=0.0)
    first, e1 = _run(credit_frames, raw, hooks=hooks)
    # execute
    again, e2 = _run(credit_frames, raw, hooks=hooks)
    # assert
    assert e1 == e2 == {}
    assert first["coordinator"].epochs_run == 2
    assert first["coordinator"].course.stopped == "early_stopping"
    assert again["coordinator"].epochs_run == 2 and again["coordinator"].resumed_from == 2
    assert again["bank"].course.stopped == "early_stopping"
    assert again["bank"].model.weights == first["bank"].model.weights


def test_log_lines_hold_no_values(
    credit_frames: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # prepare
    caplog.set_level(logging.DEBUG, logger="fedcredit")
    frames = dict(credit_frames)
    frames["gov"] = credit_frames["gov"].drop(columns=["x4"])  # forces the failure paths too
    # execute
    results, _ = _run(credit_frames, section(plaintext=False, epochs=1))
    _run(frames, section(epochs=1))
    # assert
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "vertical job" in text  # the failure path did log
    for w in results["bank"].model.weights:
        assert f"{w:.4f}" not in text
    for value in credit_frames["gov"]["x0"].to_numpy()[:20]:
        assert f"{value:.6f}" not in text


def test_test_rows_never_choose_the_epoch_or_the_calibration(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: the same job twice, the second with the test rows' features shuffled among
    # themselves at every party (labels, and therefore the split, stay as they are)
    raw = section(epochs=4, tolerance=0.0)
    spec = spec_from_job(raw, allow_all)
    y = credit_frames["bank"]["y"].to_numpy().astype(np.int8)
    test_rows = np.flatnonzero(
        stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed).test
    )
    order = np.arange(len(y))
    order[test_rows] = np.random.default_rng(5).permutation(test_rows)
    shuffled = {}
    for party, frame in credit_frames.items():
        features = [c for c in frame.columns if c.startswith("x")]
        moved = frame.copy()
        moved[features] = frame[features].to_numpy()[order]
        shuffled[party] = moved
    # execute
    first, e1 = _run(credit_frames, raw)
    second, e2 = _run(shuffled, raw)
    # assert: training, epoch choice and calibration ignore the test rows; the report does not
    assert e1 == e2 == {}
    a, b = first["bank"], second["bank"]
    assert a.metrics_split == "test" and a.splits["test"]["rows"] == len(test_rows)
    assert a.history == b.history and a.course == b.course
    assert a.model.weights == b.model.weights and a.model.calibration == b.model.calibration
    assert a.splits["validation"] == b.splits["validation"]
    assert a.metrics["auc"] != b.metrics["auc"]
