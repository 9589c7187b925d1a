"""End-to-end tests of the bank and aggregator roles over an in-memory hub."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from node.jobs.hooks import MemoryHooks
from node.training.horizontal import BankData, TorchTrainer
from node.training.horizontal.encoding import UpdateCodec
from node.training.horizontal.exceptions import AggregateCorrupted, QuorumNotMet
from node.training.horizontal.params import flatten
from node.training.horizontal.trainer import Config, FitResult
from node.transport.channel import PartyChannel
from node.transport.memory import MemoryHub

from .conftest import BANKS, run_job, small_spec


class RecordingTrainer(TorchTrainer):
    """Our trainer, remembering every local result so tests can look for it on the wire."""

    def __init__(self, *args: Any, before_fit: Callable[[int], None] | None = None) -> None:
        super().__init__(*args)
        self.fits: list[FitResult] = []
        self.deltas: list[np.ndarray] = []
        self.before_fit = before_fit

    def fit(self, parameters: Any, config: Config) -> FitResult:
        if self.before_fit:
            self.before_fit(int(config["server_round"]))
        result = super().fit(parameters, config)
        self.fits.append(result)
        self.deltas.append(flatten(result.parameters) - flatten(parameters))
        return result


def _trainers(spec: Any, data: dict[str, BankData], **hooks: Callable[[int], None]) -> dict:
    return {b: RecordingTrainer(spec, data[b], before_fit=hooks.get(b)) for b in BANKS}


def test_encrypted_and_plaintext_runs_end_with_identical_models(bank_data: dict) -> None:
    # prepare
    encrypted, plain = small_spec(), small_spec(encryption="none")
    # execute
    enc_run = run_job(encrypted, _trainers(encrypted, bank_data))
    plain_run = run_job(plain, _trainers(plain, bank_data))
    # assert: Paillier sums decode to exactly the plaintext sums, at every bank
    assert not enc_run.errors and not plain_run.errors
    reference = flatten(plain_run.results["guest"].parameters)
    for bank in BANKS:
        np.testing.assert_array_equal(flatten(enc_run.results[bank].parameters), reference)
    history = enc_run.results["coordinator"].history
    assert [h["banks"] for h in history] == [list(BANKS)] * 3
    assert history[-1]["val_loss"] > 0
    final = enc_run.results["coordinator"].final
    assert final["test_auc"] > 0.6 and final == plain_run.results["coordinator"].final
    assert history == plain_run.results["coordinator"].history


@pytest.mark.parametrize(("encryption", "exposed"), [("paillier", False), ("none", True)])
def test_coordinator_traffic_and_state_hold_no_plaintext_update(
    bank_data: dict, encryption: str, exposed: bool
) -> None:
    # prepare; the unencrypted run is the control showing the needles would be found
    spec = small_spec(encryption=encryption)
    trainers = _trainers(spec, bank_data)
    coordinator_hooks = MemoryHooks()
    # execute
    run = run_job(spec, trainers, {"coordinator": coordinator_hooks})
    # assert
    assert not run.errors
    seen = b"".join(run.to_coordinator())
    state = b"".join(coordinator_hooks.checkpoints.values())
    state += repr(coordinator_hooks.records).encode()
    codec = UpdateCodec(24, spec.clip, spec.frac_bits, spec.max_samples_per_bank, 3, 1024)
    packed, floats = [], []
    for trainer in trainers.values():
        for fit, delta in zip(trainer.fits, trainer.deltas, strict=True):
            floats += [p.tobytes()[:16] for p in fit.parameters]  # float32 weights
            floats.append(delta.tobytes()[:16])  # float64 update
        # round 1 starts from float32 weights, so the bank's packed update is exactly this one
        first, fit = trainer.deltas[0], trainer.fits[0]
        packed += [p.to_bytes(128, "big") for p in codec.encode(first, fit.num_examples)]
    assert len(packed) == 3 * codec.plaintexts
    for needle in floats:
        assert needle not in seen and needle not in state
    assert all((needle in seen) == exposed for needle in packed)
    assert not any(needle in state for needle in packed)
    topics = {c.topic.split("/")[1] for c in run.hub.captured if c.recipient == "coordinator"}
    assert topics <= {"public-key", "resume", "update", "eval", "metrics", "final"}
    kinds = {c.payload[1] for c in run.hub.captured if c.recipient == "coordinator"}
    assert 1 not in kinds  # the private-key message never goes to the coordinator


def test_bank_killed_mid_round_leaves_round_completed_with_quorum(bank_data: dict) -> None:
    # prepare: host_2 dies while training round 2
    spec = small_spec()
    hub = MemoryHub(timeout=30.0)

    def die(round_number: int) -> None:
        if round_number == 2:
            hub.drop("host_2")
            raise RuntimeError("bank process killed")

    # execute
    run = run_job(spec, _trainers(spec, bank_data, host_2=die), hub=hub)
    # assert
    assert set(run.errors) == {"host_2"}
    history = run.results["coordinator"].history
    assert [h["banks"] for h in history] == [list(BANKS), ["guest", "host_1"], ["guest", "host_1"]]
    assert run.results["guest"].history[1]["banks_reporting"] == 2.0
    np.testing.assert_array_equal(
        flatten(run.results["guest"].parameters), flatten(run.results["host_1"].parameters)
    )


@pytest.mark.slow  # three rounds, one of them closed by its real 6 s deadline
def test_late_bank_is_left_out_of_one_round_and_rejoins(bank_data: dict) -> None:
    # prepare: host_1 misses round 2's deadline: it trains round 2 only once the guest has
    # started round 3, that is once the coordinator has closed round 2 without it. The
    # deadline holds for every round, so it leaves a loaded machine room for rounds 1 and 3
    # (at 2 s, a cold first round under load once closed with no bank at all)
    spec = small_spec(round_timeout_s=6.0)
    round_2_closed = threading.Event()

    def stall(round_number: int) -> None:
        if round_number == 2:
            assert round_2_closed.wait(60), "round 2 never closed without host_1"

    def watch(round_number: int) -> None:
        if round_number == 3:
            round_2_closed.set()

    # execute
    run = run_job(spec, _trainers(spec, bank_data, host_1=stall, guest=watch))
    # assert
    assert not run.errors
    banks = [h["banks"] for h in run.results["coordinator"].history]
    assert banks == [list(BANKS), ["guest", "host_2"], list(BANKS)]


def test_round_without_quorum_fails_everywhere_with_a_clear_error(bank_data: dict) -> None:
    # prepare: two of three banks die in round 2, quorum is 2
    spec = small_spec()
    hub = MemoryHub(timeout=30.0)

    def die(name: str) -> Callable[[int], None]:
        def hook(round_number: int) -> None:
            if round_number == 2:
                hub.drop(name)
                raise RuntimeError("bank process killed")

        return hook

    # execute
    run = run_job(
        spec, _trainers(spec, bank_data, host_1=die("host_1"), host_2=die("host_2")), hub=hub
    )
    # assert
    for party in ("coordinator", "guest"):
        assert isinstance(run.errors[party], QuorumNotMet)
        assert run.errors[party].round == 2 and run.errors[party].reported == 1
    assert "quorum is 2" in str(run.errors["coordinator"])


class _Crash(Exception):
    pass


class CrashingHooks(MemoryHooks):
    """Coordinator hooks that kill the coordinator once round ``crash_after`` is checkpointed."""

    def __init__(self, hub: MemoryHub, crash_after: int) -> None:
        super().__init__()
        self.hub, self.crash_after = hub, crash_after

    def save_checkpoint(self, name: str, data: bytes) -> None:
        super().save_checkpoint(name, data)
        if name == "latest" and data == str(self.crash_after).encode():
            self.crash_after = -1
            self.hub.drop("coordinator")
            raise _Crash


def test_coordinator_restart_resumes_from_the_last_round(bank_data: dict) -> None:
    # prepare: a first run whose coordinator dies after checkpointing round 2
    spec = small_spec()
    first_hub = MemoryHub(timeout=30.0)
    coordinator_hooks = CrashingHooks(first_hub, crash_after=2)
    bank_hooks = {b: MemoryHooks() for b in BANKS}
    first = run_job(
        spec,
        _trainers(spec, bank_data),
        {"coordinator": coordinator_hooks, **bank_hooks},
        hub=first_hub,
    )
    assert isinstance(first.errors["coordinator"], _Crash)
    # execute: everyone restarts with the same durable hooks
    second = run_job(
        spec, _trainers(spec, bank_data), {"coordinator": coordinator_hooks, **bank_hooks}
    )
    # assert: resumed at round 3 and ends exactly where an uninterrupted run ends
    assert not second.errors
    assert second.results["coordinator"].start_round == 2
    assert [h["round"] for h in second.results["coordinator"].history] == [1, 2, 3]
    assert all(second.results[b].start_round == 2 for b in BANKS)
    assert all(p[1] == 3 for p in coordinator_hooks.progress_log[-1:])
    straight = run_job(spec, _trainers(spec, bank_data))
    np.testing.assert_array_equal(
        flatten(second.results["guest"].parameters), flatten(straight.results["guest"].parameters)
    )


class TamperingChannel(PartyChannel):
    """A bank's channel that rewrites one outgoing payload, as a faulty or hostile bank would."""

    def __init__(self, inner: PartyChannel, topic: str, rewrite: Callable[[bytes], bytes]) -> None:
        super().__init__(inner.party, inner.job_id)
        self.inner, self.topic, self.rewrite = inner, topic, rewrite

    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        if topic == self.topic:
            payload = self.rewrite(payload)
        self.inner.send(recipient, topic, payload)

    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        return self.inner.recv(sender, topic, timeout)


def _tampering_hub(topic: str, rewrite: Callable[[bytes], bytes]) -> MemoryHub:
    hub = MemoryHub(timeout=30.0)
    plain_channel = hub.channel

    def channel(party: str) -> PartyChannel:
        inner = plain_channel(party)
        return TamperingChannel(inner, topic, rewrite) if party == "host_2" else inner

    hub.channel = channel  # type: ignore[method-assign]
    return hub


WIDTH = 256  # bytes of one ciphertext under the tests' 1024-bit key (n^2 has 2048 bits)


@pytest.mark.parametrize(
    ("rewrite", "reason"),
    [
        (lambda p: p[:2] + b"\xff" * (len(p) - 2), "unknown format version"),
        (lambda p: p[:-WIDTH] + b"\xff" * WIDTH, "outside (0, n^2)"),
        (lambda p: p[:-WIDTH] + b"\x00" * WIDTH, "outside (0, n^2)"),
        (lambda p: p[:-1], "length does not match"),
    ],
    ids=["garbage", "too-large", "zero", "truncated"],
)
def test_malformed_ciphertext_is_rejected_and_does_not_poison_the_sum(
    bank_data: dict, rewrite: Callable[[bytes], bytes], reason: str
) -> None:
    # prepare: host_2's round-2 update chunk is replaced by bytes that are no valid ciphertext
    spec = small_spec()
    hub = _tampering_hub("hfl/update/2/0", rewrite)
    # execute
    run = run_job(spec, _trainers(spec, bank_data), hub=hub)
    # assert: round 2 summed guest and host_1 only, decoded cleanly, job finished
    assert not run.errors
    coordinator = run.results["coordinator"]
    assert [r["bank"] for r in coordinator.rejected] == ["host_2"]
    assert coordinator.rejected[0]["round"] == 2
    assert reason in coordinator.rejected[0]["reason"]
    assert coordinator.history[1]["banks"] == ["guest", "host_1"]
    assert coordinator.history[2]["banks"] == list(BANKS)


def test_contribution_under_another_key_is_rejected(bank_data: dict) -> None:
    # prepare: host_2 announces another key's fingerprint for its round-1 update
    spec = small_spec()

    def other_key(payload: bytes) -> bytes:
        return payload.replace(b'"fingerprint":"', b'"fingerprint":"0')

    hub = _tampering_hub("hfl/update/1", other_key)
    # execute
    run = run_job(spec, _trainers(spec, bank_data), hub=hub)
    # assert
    assert not run.errors
    rejected = run.results["coordinator"].rejected
    assert rejected == [
        {"round": 1, "phase": "update", "bank": "host_2", "reason": "made under another public key"}
    ]
    assert run.results["coordinator"].history[0]["banks"] == ["guest", "host_1"]


def test_well_formed_ciphertext_of_another_key_is_caught_by_the_banks(bank_data: dict) -> None:
    # prepare: host_2 forges the job's fingerprints around a ciphertext it did not make under
    # the job key (2 is a valid element of Z*_{n^2}); the aggregator cannot tell, the banks can
    spec = small_spec(round_timeout_s=2.0)
    hub = _tampering_hub("hfl/update/2/0", lambda p: p[:-WIDTH] + (2).to_bytes(WIDTH, "big"))
    # execute
    run = run_job(spec, _trainers(spec, bank_data), hub=hub)
    # assert: no bank applies the garbage sum; the job stops with named errors
    for bank in BANKS:
        assert isinstance(run.errors[bank], AggregateCorrupted)
        assert run.errors[bank].round == 2
    assert isinstance(run.errors["coordinator"], QuorumNotMet)


def test_the_test_split_chooses_nothing(bank_data: dict) -> None:
    # prepare: the same job twice, the second with the guest's test labels reversed
    spec = small_spec(encryption="none", rounds=4, patience=1, round_timeout_s=120.0)
    guest = bank_data["guest"]
    assert guest.y_test is not None
    flipped = {**bank_data, "guest": replace(guest, y_test=1 - guest.y_test)}
    # execute
    runs = [run_job(spec, _trainers(spec, data)) for data in (bank_data, flipped)]
    # assert: rounds, kept round and every validation figure are the same; only test moved
    assert not runs[0].errors and not runs[1].errors
    first, second = (r.results["coordinator"] for r in runs)
    assert first.history == second.history and first.kept_round == second.kept_round
    assert not any(k.startswith("test_") for h in first.history for k in h)
    assert abs(first.final["test_auc"] + second.final["test_auc"] - 1.0) < 0.02
